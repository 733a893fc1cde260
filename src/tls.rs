//! TLS without keys: the record layer and the clear-text handshake of one TCP
//! connection, read incrementally from both directions (pure: no I/O, no clock).
//!
//! [`TlsConn::feed`] takes a direction's bytes in order, in any chunking; the
//! facts go into a [`TlsInfo`](crate::model::tls::TlsInfo). Records are walked by
//! their 5-byte headers; only handshake records before the keys change are
//! buffered, and a handshake message longer than [`MAX_HANDSHAKE`] is reported and
//! skipped, never buffered (memory per connection: at most [`MAX_HANDSHAKE`] plus
//! one record per direction, and nothing once the handshake is over). Bytes that
//! are not TLS records stop the walk of that direction (noted), and are counted.
//!
//! Why by hand and not with `tls-parser`: the few fields read here (hello fields,
//! four extensions, the first certificate, alerts) take a couple of hundred lines
//! whose every length is checked before use ([`Reader`] never panics: a short
//! read is `None`), the reassembly of handshake messages across records and
//! segments has to be ours anyway (with our bound), and one more nom-based
//! dependency tree buys nothing for it. Certificates are decoded with
//! `x509-parser` (DER is not worth redoing).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::model::tls::{Alert, Certificate, Decryption, MAX_RECORD_LOG, RecordNote, TlsInfo};

pub mod decrypt;
pub mod keylog;

use decrypt::{DirKeys, Suite};
pub use keylog::KeyLog;

/// Plaintext of a control connection held until the tracker takes it (it does
/// after every feed; this bounds a peer that sends without line ends).
pub const MAX_PLAIN_HELD: usize = 1 << 20;
use crate::time::Ts;
use crate::tr;

/// Longest handshake message read (a certificate chain fits easily); longer ones
/// are noted and skipped.
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Alerts (and notes) kept per connection (the rest of the alerts are counted in the notes).
pub const MAX_ALERTS: usize = 16;
/// Largest record body TLS allows (2^14 plus expansion).
const MAX_RECORD: usize = (1 << 14) + 2048;

const CT_CCS: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APP: u8 = 23;

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Does `b` start with a plausible TLS record header (any content type, TLS
/// 1.0-1.3 record version, a length TLS allows)?
pub fn is_record_start(b: &[u8]) -> bool {
    b.len() >= 5
        && (CT_CCS..=CT_APP).contains(&b[0])
        && b[1] == 3
        && b[2] <= 4
        && (1..=MAX_RECORD).contains(&usize::from(u16::from_be_bytes([b[3], b[4]])))
}

/// Does `b` start with a handshake record holding a ClientHello?
pub fn is_client_hello(b: &[u8]) -> bool {
    is_record_start(b) && b[0] == CT_HANDSHAKE && b.get(5) == Some(&1)
}

#[derive(Debug, Default)]
struct DirState {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Body bytes of the current record still to come, its type and length.
    left: usize,
    ctype: u8,
    len: usize,
    /// The current record's first bytes (alerts: 2 bytes).
    head: Vec<u8>,
    /// Handshake bytes not yet parsed (only before the keys change).
    hs: Vec<u8>,
    /// Bytes of an over-long handshake message still to skip.
    hs_skip: usize,
    /// Records after ChangeCipherSpec (TLS <= 1.2) are encrypted.
    encrypted: bool,
    /// Application data sent by this side.
    app: bool,
    /// Not TLS framing: stop walking.
    broken: bool,
    /// The capture lost bytes across a record header: the next record header is
    /// looked for in what follows.
    resync: bool,
    /// Bytes seen at all, and whether the direction's first bytes were TLS.
    seen: u64,
    first_plain: bool,
    /// The last complete record: type, body length, whether it was an alert read as close_notify.
    last: Option<(u8, usize)>,
    last_close_notify: bool,
    /// The current record's body, when it is to be decrypted.
    rec: Vec<u8>,
    /// The current alert was decrypted: `head` holds its two bytes.
    alert_decrypted: bool,
}

/// What the hellos said that decryption needs.
#[derive(Debug, Default)]
struct Hellos {
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: u16,
    /// The version the ServerHello chose.
    version: u16,
    offered_sid: Vec<u8>,
    server_sid: Vec<u8>,
    /// Both hellos carried encrypt_then_mac (RFC 7366).
    etm_offered: bool,
    etm: bool,
}

/// Decryption state of a connection with secrets.
#[derive(Debug)]
struct Dec {
    tls13: bool,
    /// Each direction's current keys (`None`: stopped).
    keys: [Option<DirKeys>; 2],
    /// TLS 1.3: the application keys each side switches to after its Finished.
    app: [Option<DirKeys>; 2],
    /// TLS 1.3: decrypted handshake bytes not yet parsed, per direction.
    hs: [Vec<u8>; 2],
    /// Switch keys after the current record (Finished or KeyUpdate seen).
    switch: [Option<DirKeys>; 2],
}

/// One TCP connection's TLS, both directions. Index 0 is the client's direction.
#[derive(Debug, Default)]
pub struct TlsConn {
    dirs: [DirState; 2],
    pub info: TlsInfo,
    /// The server's handshake so far (TLS <= 1.2): a Certificate or ServerHelloDone
    /// means a full handshake.
    server_full: bool,
    tls13: bool,
    /// TLS 1.3: application-data records of the handshake (the server's flight
    /// before the client's Finished, and that Finished), per direction.
    hs_app: [(u64, u64); 2],
    dropped_alerts: u64,
    /// Calls of [`TlsConn::feed`] so far: one per segment from a capture, one per
    /// read in the proxy (whose bytes carry no frame number).
    feeds: u64,
    /// TLS 1.3: the feed that brought the client's first application-data record
    /// (its Finished; records completed by the same segment are its flight).
    client_finished_feed: Option<u64>,
    /// Keep [`TlsInfo::record_log`] (control connections).
    log_records: bool,
    /// The time of the bytes being fed.
    ts: Ts,
    /// Secrets to decrypt with, the hellos' facts, and the decryption state.
    keylog: Option<Arc<KeyLog>>,
    hellos: Hellos,
    dec: Option<Box<Dec>>,
    /// Keep the decrypted application data for [`TlsConn::take_plain`] (control
    /// connections); otherwise it is only counted.
    keep_plain: bool,
    plain: [Vec<u8>; 2],
}

fn hash(b: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    b.hash(&mut h);
    h.finish()
}

impl TlsConn {
    pub fn new() -> Self {
        TlsConn::default()
    }

    /// A control connection's TLS: its application-data records are logged.
    pub fn logging_records() -> Self {
        TlsConn {
            log_records: true,
            ..TlsConn::default()
        }
    }

    /// Decrypt with these secrets; `keep_plain`: hold the plaintext for
    /// [`TlsConn::take_plain`] (a control connection) rather than only counting it.
    pub fn with_keys(mut self, keys: Option<Arc<KeyLog>>, keep_plain: bool) -> Self {
        self.keylog = keys;
        self.keep_plain = keep_plain;
        self
    }

    /// Secrets that arrived after this connection began (a Decryption Secrets
    /// Block written after its ClientHello, as a recording proxy writes them):
    /// taken if the ServerHello, where decryption is set up, is still to come.
    pub fn offer_keys(&mut self, keys: &Arc<KeyLog>) {
        if self.hellos.server_random.is_none() && self.info.decryption.is_none() {
            self.keylog = Some(keys.clone());
        }
    }

    /// Decrypted application data of one direction since the last call.
    pub fn take_plain(&mut self, from_client: bool) -> Vec<u8> {
        std::mem::take(&mut self.plain[usize::from(!from_client)])
    }

    /// Is this connection being decrypted (secrets found and every record so far
    /// authenticated)?
    pub fn decrypting(&self) -> bool {
        self.dec.is_some()
    }

    /// Were secrets given to this connection?
    pub fn had_keys(&self) -> bool {
        self.keylog.is_some()
    }

    /// Does this direction's byte count come from decryption: secrets were given,
    /// the direction is TLS, and decryption has not been ruled out (before the
    /// ServerHello it is not known yet: the handshake's bytes count as none)?
    pub fn counts_plaintext(&self, from_client: bool) -> bool {
        self.keylog.is_some()
            && !self.plain(from_client)
            && self
                .info
                .decryption
                .as_ref()
                .is_none_or(|d| d.status == "decrypted")
    }

    /// Plaintext application bytes decrypted so far from this direction.
    pub fn plaintext(&self, from_client: bool) -> u64 {
        self.info.decryption.as_ref().map_or(0, |d| {
            if from_client {
                d.plaintext_client
            } else {
                d.plaintext_server
            }
        })
    }

    /// The time of the bytes fed next (for the record log).
    pub fn set_time(&mut self, ts: Ts) {
        self.ts = ts;
    }

    /// Did this direction's bytes start as something other than TLS records?
    pub fn plain(&self, from_client: bool) -> bool {
        self.dirs[usize::from(!from_client)].first_plain
    }

    /// Bytes this direction sent.
    pub fn seen(&self, from_client: bool) -> u64 {
        self.dirs[usize::from(!from_client)].seen
    }

    /// Bytes of one direction, in order.
    /// The capture lost `len` bytes of this direction (a gap): a gap inside the
    /// current record's body is skipped in it; one that reaches a record header
    /// makes the walk look for the next header in the bytes that follow, so one
    /// lost segment does not end the count of a connection's records. A connection
    /// being decrypted is left as it was (its records cannot be decrypted past a
    /// hole).
    pub fn gap(&mut self, from_client: bool, len: u64) {
        if self.dec.is_some() {
            return;
        }
        let st = &mut self.dirs[usize::from(!from_client)];
        st.seen += len;
        if st.broken || len == 0 {
            return;
        }
        if st.hdr_len == 0 && (st.left as u64) > len {
            st.left -= len as usize;
            return;
        }
        st.resync = true;
        st.hdr_len = 0;
        st.left = 0;
    }

    pub fn feed(&mut self, from_client: bool, mut b: &[u8], frame: u64) {
        let d = usize::from(!from_client);
        self.feeds += 1;
        if self.dirs[d].seen == 0 && !b.is_empty() && !is_record_start(b) && b.len() >= 5 {
            self.dirs[d].first_plain = true;
        }
        self.dirs[d].seen += b.len() as u64;
        while !b.is_empty() {
            let st = &mut self.dirs[d];
            if st.broken {
                return;
            }
            if st.resync {
                // After a hole: the next plausible header of the same record
                // version as the connection's (ciphertext rarely looks like one).
                let Some(at) = (0..b.len().saturating_sub(4))
                    .find(|&i| is_record_start(&b[i..]) && b[i] == CT_APP && b[i + 2] >= 1)
                else {
                    return;
                };
                b = &b[at..];
                st.resync = false;
            }
            if st.left == 0 {
                // A record header, perhaps split across segments.
                let k = (5 - st.hdr_len).min(b.len());
                st.hdr[st.hdr_len..st.hdr_len + k].copy_from_slice(&b[..k]);
                st.hdr_len += k;
                b = &b[k..];
                if st.hdr_len < 5 {
                    return;
                }
                st.hdr_len = 0;
                if !is_record_start(&st.hdr) {
                    st.broken = true;
                    let who = if from_client { "client" } else { "server" };
                    self.info.notes.push(format!(
                        "frame {frame}: bytes from the {who} that are not a TLS record; not read further"
                    ));
                    return;
                }
                st.ctype = st.hdr[0];
                st.len = usize::from(u16::from_be_bytes([st.hdr[3], st.hdr[4]]));
                st.left = st.len;
                st.head.clear();
                let r = if from_client {
                    &mut self.info.records.client
                } else {
                    &mut self.info.records.server
                };
                r.count += 1;
                r.bytes += st.len as u64;
                if st.ctype == CT_APP {
                    r.app_records += 1;
                    r.app_bytes += st.len as u64;
                }
                continue;
            }
            let k = st.left.min(b.len());
            let body = &b[..k];
            b = &b[k..];
            st.left -= k;
            if self.dec.is_some() && self.to_decrypt(d) {
                let st = &mut self.dirs[d];
                st.rec.extend_from_slice(body);
                if st.left == 0 {
                    self.decrypt_record(d, frame);
                }
            }
            let st = &mut self.dirs[d];
            match st.ctype {
                CT_HANDSHAKE if !st.encrypted => {
                    self.handshake_bytes(d, body, frame);
                }
                CT_ALERT => {
                    let st = &mut self.dirs[d];
                    let room = 2usize.saturating_sub(st.head.len()).min(body.len());
                    st.head.extend_from_slice(&body[..room]);
                }
                _ => {}
            }
            let st = &mut self.dirs[d];
            if st.left == 0 {
                let (ctype, len) = (st.ctype, st.len);
                st.last = Some((ctype, len));
                st.last_close_notify = false;
                match ctype {
                    CT_CCS => {
                        if !self.tls13 {
                            st.encrypted = true;
                            if d == 1
                                && self.info.resumed.is_none()
                                && self.info.server_hello_frame.is_some()
                            {
                                // The server's keys change: after a Certificate it was a
                                // full handshake, straight after the ServerHello an
                                // abbreviated (resumed) one.
                                self.info.resumed = Some(!self.server_full);
                            }
                        }
                    }
                    CT_APP => {
                        // TLS 1.3: the client's first flight of such records (its
                        // Finished, perhaps a Certificate before it: one segment) ends
                        // the handshake; the server's records before it are its
                        // encrypted handshake.
                        let handshake = self.tls13
                            && (!self.dirs[0].app
                                || (d == 0 && self.client_finished_feed == Some(self.feeds)));
                        if handshake {
                            self.hs_app[d].0 += 1;
                            self.hs_app[d].1 += len as u64;
                            if d == 0 {
                                self.client_finished_feed = Some(self.feeds);
                            }
                        }
                        let past_handshake = !handshake;
                        if self.log_records
                            && past_handshake
                            && self.info.record_log.len() < MAX_RECORD_LOG
                        {
                            self.info.record_log.push(RecordNote {
                                from: if d == 0 { "client" } else { "server" },
                                ts: self.ts,
                                frame,
                                len: len as u64,
                                likely: if d == 0 {
                                    "command"
                                } else if self.tls13
                                    && !self.info.record_log.iter().any(|r| r.from == "client")
                                {
                                    "session ticket"
                                } else {
                                    "reply"
                                },
                            });
                        }
                        let st = &mut self.dirs[d];
                        if !st.app {
                            st.hs = Vec::new();
                            st.app = true;
                            if self.info.first_app_data_frame.is_none() && (d == 0 || !self.tls13) {
                                self.info.first_app_data_frame = Some(frame);
                            }
                        }
                    }
                    CT_ALERT => self.alert(d, frame),
                    _ => {}
                }
            }
        }
    }

    fn alert(&mut self, d: usize, frame: u64) {
        let peer_app = self.dirs[1 - d].app;
        let st = &mut self.dirs[d];
        let readable = st.head.len() == 2 && ((!st.encrypted && st.len == 2) || st.alert_decrypted);
        st.alert_decrypted = false;
        // Application data from the peer ends the handshake for TLS 1.2 and older
        // even when the capture lost this side's ChangeCipherSpec and Finished
        // (in TLS 1.3 every encrypted record looks like application data).
        let during_handshake = !(st.app || (st.encrypted && peer_app) || (!self.tls13 && peer_app));
        let st = &mut self.dirs[d];
        let (level, description) = if readable {
            let level = match st.head[0] {
                1 => Some("warning"),
                2 => Some("fatal"),
                _ => None,
            };
            if st.head[1] == 0 {
                st.last_close_notify = true;
            }
            (level, alert_name(st.head[1]))
        } else {
            (None, "encrypted".to_string())
        };
        if self.info.alerts.len() >= MAX_ALERTS {
            self.dropped_alerts += 1;
            return;
        }
        self.info.alerts.push(Alert {
            from: if d == 0 { "client" } else { "server" },
            level,
            description,
            during_handshake,
            frame,
        });
    }

    fn handshake_bytes(&mut self, d: usize, mut body: &[u8], frame: u64) {
        let st = &mut self.dirs[d];
        if st.hs_skip > 0 {
            let k = st.hs_skip.min(body.len());
            st.hs_skip -= k;
            body = &body[k..];
        }
        st.hs.extend_from_slice(body);
        loop {
            let st = &mut self.dirs[d];
            if st.hs_skip > 0 {
                // The rest of an over-long message arrived with this record.
                let k = st.hs_skip.min(st.hs.len());
                st.hs.drain(..k);
                st.hs_skip -= k;
                if st.hs_skip > 0 {
                    return;
                }
            }
            if st.hs.len() < 4 {
                return;
            }
            let mlen = (usize::from(st.hs[1]) << 16)
                | (usize::from(st.hs[2]) << 8)
                | usize::from(st.hs[3]);
            if mlen > MAX_HANDSHAKE {
                let who = if d == 0 { "client" } else { "server" };
                let t = st.hs[0];
                if self.info.notes.len() < MAX_ALERTS {
                    self.info.notes.push(format!(
                        "frame {frame}: handshake message type {t} from the {who} of {mlen} bytes, over the {MAX_HANDSHAKE}-byte cap: skipped"
                    ));
                }
                let st = &mut self.dirs[d];
                let have = st.hs.len() - 4;
                st.hs.clear();
                st.hs_skip = mlen.saturating_sub(have);
                if st.hs_skip == 0 {
                    continue;
                }
                return;
            }
            if st.hs.len() < 4 + mlen {
                return;
            }
            let msg: Vec<u8> = st.hs.drain(..4 + mlen).collect();
            self.message(d, msg[0], &msg[4..], frame);
        }
    }

    fn message(&mut self, d: usize, t: u8, m: &[u8], frame: u64) {
        match (d, t) {
            (0, 1) => self.client_hello(m, frame),
            (1, 2) => self.server_hello(m, frame),
            (1, 11) if !self.tls13 => {
                // A Certificate: a full handshake (known before the keys change).
                self.server_full = true;
                self.info.resumed.get_or_insert(false);
                self.certificate(m);
            }
            (1, 13) if !self.tls13 => self.info.client_certificate_requested = true,
            (1, 14) if !self.tls13 => {
                self.server_full = true;
                self.info.resumed.get_or_insert(false);
            }
            (1, 4) if !self.tls13 => {
                // NewSessionTicket (TLS <= 1.2, before the server's ChangeCipherSpec):
                // lifetime u32, ticket<0..2^16-1>.
                let mut r = Reader(m);
                if r.take(4).is_some() {
                    if let Some(t) = r.vec16() {
                        if self.info.keys.issued_tickets.len() < 8 {
                            self.info.keys.issued_tickets.push(hash(t));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn client_hello(&mut self, m: &[u8], frame: u64) {
        let second = self.info.client_hello_frame.is_some();
        if !second {
            self.info.client_hello_frame = Some(frame);
        }
        let mut r = Reader(m);
        let Some(legacy) = r.u16() else { return };
        let random = r.take(32);
        let sid = r.vec8().unwrap_or_default();
        let _suites = r.vec16();
        let _comp = r.vec8();
        if let Some(cr) = random.and_then(|x| <[u8; 32]>::try_from(x).ok()) {
            self.hellos.client_random = Some(cr);
        }
        self.hellos.offered_sid = sid.to_vec();
        let i = &mut self.info;
        if !second {
            i.offered.session_id = !sid.is_empty();
            i.keys.offered_session_id = (!sid.is_empty()).then(|| hash(sid));
        }
        let mut versions = Vec::new();
        if let Some(exts) = r.vec16() {
            let mut e = Reader(exts);
            while let (Some(typ), Some(data)) = (e.u16(), e.vec16()) {
                let mut x = Reader(data);
                match typ {
                    0 => {
                        // server_name: list<name_type u8, name<u16>>, host_name = 0.
                        if let Some(list) = x.vec16() {
                            let mut l = Reader(list);
                            while let (Some(kind), Some(name)) = (l.u8(), l.vec16()) {
                                if kind == 0 {
                                    i.sni = Some(crate::text::escape(&name[..name.len().min(255)]));
                                    break;
                                }
                            }
                        }
                    }
                    16 => {
                        if let Some(list) = x.vec16() {
                            let mut l = Reader(list);
                            i.alpn_offered.clear();
                            while let Some(p) = l.vec8() {
                                if i.alpn_offered.len() < 8 {
                                    i.alpn_offered.push(crate::text::escape(p));
                                }
                            }
                        }
                    }
                    43 => {
                        if let Some(list) = x.vec8() {
                            let mut l = Reader(list);
                            while let Some(v) = l.u16() {
                                if let Some(n) = version_name(v) {
                                    if !versions.contains(&n) {
                                        versions.push(n);
                                    }
                                }
                            }
                        }
                    }
                    22 => self.hellos.etm_offered = true,
                    35 if !data.is_empty() => {
                        i.offered.ticket = true;
                        i.keys.offered_ticket = Some(hash(data));
                    }
                    41 => {
                        // pre_shared_key: identities<identity<u16>, age u32>, binders.
                        i.offered.psk = true;
                        if let Some(ids) = x.vec16() {
                            if let Some(id) = Reader(ids).vec16() {
                                i.keys.psk_identity = Some(hash(id));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if versions.is_empty() {
            versions.extend(version_name(legacy));
        }
        if !second || i.versions_offered.is_empty() {
            i.versions_offered = versions;
        }
    }

    fn server_hello(&mut self, m: &[u8], frame: u64) {
        let mut r = Reader(m);
        let Some(legacy) = r.u16() else { return };
        let Some(random) = r.take(32) else { return };
        let sid = r.vec8().unwrap_or_default();
        let Some(suite) = r.u16() else { return };
        let _comp = r.u8();
        let mut version = legacy;
        let mut psk = false;
        let mut alpn = None;
        let mut etm = false;
        if let Some(exts) = r.vec16() {
            let mut e = Reader(exts);
            while let (Some(typ), Some(data)) = (e.u16(), e.vec16()) {
                let mut x = Reader(data);
                match typ {
                    43 => {
                        if let Some(v) = x.u16() {
                            version = v;
                        }
                    }
                    41 => psk = true,
                    22 => etm = true,
                    16 => {
                        if let Some(list) = x.vec16() {
                            alpn = Reader(list).vec8().map(crate::text::escape);
                        }
                    }
                    _ => {}
                }
            }
        }
        let i = &mut self.info;
        i.cipher_suite = Some(cipher_name(suite));
        i.version = version_name(version);
        if random == HRR_RANDOM {
            // Only TLS 1.3 retries: the ChangeCipherSpec records that follow on
            // both sides are for middlebox compatibility, not a change of keys.
            i.hello_retry = true;
            self.tls13 = true;
            return;
        }
        i.server_hello_frame = Some(frame);
        i.alpn = alpn;
        if version == 0x0304 {
            self.tls13 = true;
            i.resumed = Some(psk);
        } else {
            i.keys.server_session_id = (!sid.is_empty()).then(|| hash(sid));
            // An echoed, non-empty session id resumes it (RFC 5246 §7.4.1.3).
            if !sid.is_empty() && i.keys.offered_session_id == Some(hash(sid)) {
                i.resumed = Some(true);
            }
        }
        let h = &mut self.hellos;
        h.server_random = <[u8; 32]>::try_from(random).ok();
        h.suite = suite;
        h.version = version;
        h.server_sid = sid.to_vec();
        h.etm = etm && h.etm_offered;
        if self.keylog.is_some() {
            self.setup_decryption();
        }
    }

    /// After the ServerHello: find this handshake's secrets and derive the keys.
    fn setup_decryption(&mut self) {
        let Some(kl) = self.keylog.clone() else {
            return;
        };
        let mut d = Decryption {
            status: "no-secrets",
            ..Decryption::default()
        };
        let h = &self.hellos;
        let (Some(cr), Some(sr)) = (h.client_random, h.server_random) else {
            d.status = "no-handshake";
            self.info.decryption = Some(d);
            return;
        };
        if !self.tls13 && h.version < 0x0303 {
            // TLS 1.0/1.1 derive their keys with another PRF (MD5 and SHA-1).
            d.status = "unsupported";
            d.detail = Some(match version_name(h.version) {
                Some(v) => tr!(
                    "{v} is not decrypted (TLS 1.2 and 1.3 are)",
                    "{v} 不解密（只解密 TLS 1.2 和 1.3）"
                ),
                None => tr!(
                    "this TLS version is not decrypted (TLS 1.2 and 1.3 are)",
                    "此 TLS 版本不解密（只解密 TLS 1.2 和 1.3）"
                ),
            });
            self.info.decryption = Some(d);
            return;
        }
        let Some(suite) = Suite::from_id(h.suite, self.tls13) else {
            d.status = "unsupported";
            let c = cipher_name(h.suite);
            d.detail = Some(tr!(
                "cipher suite {c} is not one ftpscope decrypts",
                "ftpscope 不解密密码套件 {c}"
            ));
            self.info.decryption = Some(d);
            return;
        };
        let secrets = kl.get(&cr);
        let dec = if self.tls13 {
            let s = secrets.filter(|s| {
                s.client_handshake.is_some()
                    && s.server_handshake.is_some()
                    && s.client_app.is_some()
                    && s.server_app.is_some()
            });
            let Some(s) = s else {
                d.detail = Some(tr!(
                    "the key log has no complete set of TLS 1.3 traffic secrets for this handshake's client random",
                    "密钥日志中没有与此握手的 client random 对应的完整 TLS 1.3 流量密钥"
                ));
                self.info.decryption = Some(d);
                return;
            };
            let k = |x: &Option<Vec<u8>>| x.as_deref().and_then(|x| DirKeys::tls13(suite, x));
            d.secret = Some("keylog");
            Dec {
                tls13: true,
                keys: [k(&s.client_handshake), k(&s.server_handshake)],
                app: [k(&s.client_app), k(&s.server_app)],
                hs: Default::default(),
                switch: Default::default(),
            }
        } else {
            // TLS 1.2: the master secret of this handshake, or of the session it
            // resumed by id (learned from an earlier connection).
            let resumed_sid = (!h.server_sid.is_empty() && h.server_sid == h.offered_sid)
                .then_some(h.server_sid.as_slice());
            let (master, from) = match secrets.and_then(|s| s.master.clone()) {
                Some(m) => (m, "keylog"),
                None => match resumed_sid.and_then(|sid| kl.learned(sid)) {
                    Some(m) => (m, "resumed-session"),
                    None => {
                        d.detail = Some(tr!(
                            "the key log has no CLIENT_RANDOM line for this handshake",
                            "密钥日志中没有此握手的 CLIENT_RANDOM 行"
                        ));
                        self.info.decryption = Some(d);
                        return;
                    }
                },
            };
            kl.learn(&h.server_sid, &master);
            d.secret = Some(from);
            let (c, s) = DirKeys::tls12(suite, &master, &cr, &sr, h.etm);
            Dec {
                tls13: false,
                keys: [Some(c), Some(s)],
                app: Default::default(),
                hs: Default::default(),
                switch: Default::default(),
            }
        };
        d.status = "decrypted";
        self.info.decryption = Some(d);
        self.dec = Some(Box::new(dec));
    }

    /// Is the current record of direction `d` one to decrypt?
    fn to_decrypt(&self, d: usize) -> bool {
        let st = &self.dirs[d];
        if self.tls13 {
            st.ctype == CT_APP
        } else {
            st.encrypted && matches!(st.ctype, CT_ALERT | CT_HANDSHAKE | CT_APP)
        }
    }

    /// The current record of direction `d` is complete in `rec`: decrypt it.
    fn decrypt_record(&mut self, d: usize, frame: u64) {
        let st = &mut self.dirs[d];
        // Decrypted in place; the buffer goes back for the next record.
        let mut body = std::mem::take(&mut st.rec);
        let hdr = st.hdr;
        let Some(dec) = self.dec.as_deref_mut() else {
            return;
        };
        let Some(keys) = dec.keys[d].as_mut() else {
            return;
        };
        let r = if dec.tls13 {
            keys.open13(&hdr, &mut body)
        } else {
            keys.open12_in_place(&hdr, &mut body).map(|()| hdr[0])
        };
        let (inner, plain) = match r.map(|t| (t, body)) {
            Ok(x) => x,
            Err(e) => {
                let who = if d == 0 {
                    tr!("client", "客户端")
                } else {
                    tr!("server", "服务器")
                };
                let detail = match e {
                    decrypt::DecryptError::Short => tr!(
                        "frame {frame}: a record from the {who} is too short for its cipher",
                        "帧 {frame}：{who}的一个记录对其加密算法来说太短";
                        who = who
                    ),
                    decrypt::DecryptError::Auth => tr!(
                        "frame {frame}: a record from the {who} did not authenticate (the key log's secrets are not this connection's, or the capture damaged the record)",
                        "帧 {frame}：{who}的一个记录未通过认证（密钥日志中的密钥不属于这个连接，或抓包损坏了该记录）";
                        who = who
                    ),
                };
                if let Some(x) = self.info.decryption.as_mut() {
                    x.status = "failed";
                    x.detail = Some(detail);
                }
                self.dec = None;
                return;
            }
        };
        if let Some(x) = self.info.decryption.as_mut() {
            x.records += 1;
        }
        match inner {
            CT_APP => {
                if let Some(x) = self.info.decryption.as_mut() {
                    if d == 0 {
                        x.plaintext_client += plain.len() as u64;
                    } else {
                        x.plaintext_server += plain.len() as u64;
                    }
                }
                if self.keep_plain && self.plain[d].len() + plain.len() <= MAX_PLAIN_HELD {
                    self.plain[d].extend_from_slice(&plain);
                }
            }
            CT_ALERT if plain.len() >= 2 => {
                if self.tls13 {
                    // Inside an application-data record: the walk does not see it
                    // as an alert, so it is listed here.
                    if plain[1] == 0 {
                        self.dirs[d].last_close_notify = true;
                    }
                    if self.info.alerts.len() < MAX_ALERTS {
                        self.info.alerts.push(Alert {
                            from: if d == 0 { "client" } else { "server" },
                            level: match plain[0] {
                                1 => Some("warning"),
                                2 => Some("fatal"),
                                _ => None,
                            },
                            description: alert_name(plain[1]),
                            during_handshake: !self.dirs[d].app,
                            frame,
                        });
                    }
                } else {
                    let st = &mut self.dirs[d];
                    st.head.clear();
                    st.head.extend_from_slice(&plain[..2]);
                    st.alert_decrypted = true;
                }
            }
            CT_HANDSHAKE if self.tls13 => self.handshake13(d, &plain, frame),
            _ => {}
        }
        let mut plain = plain;
        plain.clear();
        self.dirs[d].rec = plain;
        if let Some(dec) = self.dec.as_deref_mut() {
            if let Some(next) = dec.switch[d].take() {
                dec.keys[d] = Some(next);
            }
        }
    }

    /// TLS 1.3 handshake messages, decrypted: the server's certificate, tickets,
    /// and the key changes (Finished, KeyUpdate).
    fn handshake13(&mut self, d: usize, plain: &[u8], frame: u64) {
        let Some(dec) = self.dec.as_deref_mut() else {
            return;
        };
        if dec.hs[d].len() + plain.len() > MAX_HANDSHAKE + 4 {
            // Larger than any message read: dropped (the keys change anyway only
            // after small messages, which stay readable).
            dec.hs[d].clear();
            return;
        }
        dec.hs[d].extend_from_slice(plain);
        loop {
            let Some(dec) = self.dec.as_deref_mut() else {
                return;
            };
            let hs = &mut dec.hs[d];
            if hs.len() < 4 {
                return;
            }
            let mlen = (usize::from(hs[1]) << 16) | (usize::from(hs[2]) << 8) | usize::from(hs[3]);
            if hs.len() < 4 + mlen {
                return;
            }
            let msg: Vec<u8> = hs.drain(..4 + mlen).collect();
            match msg[0] {
                // Finished: this side's application keys from the next record on.
                20 => dec.switch[d] = dec.app[d].take(),
                // KeyUpdate: the next generation of this side's keys.
                24 => {
                    dec.switch[d] = dec.keys[d].as_ref().and_then(DirKeys::update);
                }
                11 if d == 1 => {
                    // Certificate (TLS 1.3): context<u8>, then the list of
                    // entries <cert_data<u24>, extensions<u16>>.
                    let mut r = Reader(&msg[4..]);
                    if r.vec8().is_some() {
                        if let Some(list) = r.vec24() {
                            let mut v = Vec::with_capacity(list.len() + 3);
                            v.extend_from_slice(&(list.len() as u32).to_be_bytes()[1..]);
                            v.extend_from_slice(list);
                            self.certificate(&v);
                        }
                    }
                }
                4 if d == 1 => {
                    // NewSessionTicket: lifetime, age_add, nonce<u8>, ticket<u16>.
                    let mut r = Reader(&msg[4..]);
                    if r.take(8).is_some() && r.vec8().is_some() {
                        if let Some(t) = r.vec16() {
                            if self.info.keys.issued_tickets.len() < 8 {
                                self.info.keys.issued_tickets.push(hash(t));
                            }
                        }
                    }
                }
                _ => {}
            }
            let _ = frame;
        }
    }

    fn certificate(&mut self, m: &[u8]) {
        if self.info.certificate.is_some() {
            return;
        }
        let mut r = Reader(m);
        let Some(list) = r.vec24() else { return };
        let Some(der) = Reader(list).vec24() else {
            return;
        };
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => {
                let subject = cert.subject().to_string();
                let issuer = cert.issuer().to_string();
                let v = cert.validity();
                self.info.certificate = Some(Certificate {
                    self_signed: subject == issuer,
                    subject,
                    issuer,
                    not_before: rfc3339(&v.not_before),
                    not_after: rfc3339(&v.not_after),
                });
            }
            Err(e) => {
                if self.info.notes.len() < MAX_ALERTS {
                    self.info
                        .notes
                        .push(format!("server certificate not readable: {e}"));
                }
            }
        }
    }

    /// The connection ended (`ended`: FIN or RST seen) or the input did: settle
    /// what depends on the end (handshake state, close_notify, estimates).
    pub fn finish(&mut self, ended: bool) -> TlsInfo {
        let mut i = std::mem::take(&mut self.info);
        let [c, s] = &self.dirs;
        i.handshake = if c.seen == 0 && s.seen == 0 {
            "none"
        } else if i.client_hello_frame.is_none() && i.server_hello_frame.is_none() {
            if c.first_plain || s.first_plain {
                "none"
            } else {
                "not-seen"
            }
        } else if (c.app || c.encrypted) && (s.app || s.encrypted)
            || (!self.tls13 && (c.app || s.app))
        {
            "complete"
        } else if i.alerts.iter().any(|a| a.during_handshake) || ended {
            "failed"
        } else {
            "incomplete"
        };
        if i.handshake == "complete"
            && i.resumed.is_none()
            && i.server_hello_frame.is_some()
            && !self.tls13
        {
            i.resumed = Some(!self.server_full);
        }
        if ended {
            let known = self.tls13 || i.server_hello_frame.is_some();
            let close = |st: &DirState| -> Option<bool> {
                match st.last {
                    // An encrypted alert (longer than the two bytes of a clear
                    // one) ending the stream is taken as close_notify, even when
                    // the capture lost the ChangeCipherSpec before it.
                    Some((CT_ALERT, len)) => Some(st.last_close_notify || st.encrypted || len != 2),
                    // TLS 1.3: an alert is an application-data record of 2 bytes,
                    // its type byte and a 16-byte AEAD tag.
                    Some((CT_APP, 19)) if self.tls13 => Some(true),
                    // The version is not known (the capture starts inside TLS): a
                    // TLS 1.3 close_notify cannot be told from data.
                    Some((CT_APP, _)) if !known => None,
                    _ => Some(false),
                }
            };
            i.close_notify.client = close(c);
            i.close_notify.server = close(s);
        }
        let overhead = i
            .cipher_suite
            .as_deref()
            .and_then(|n| record_overhead(n, self.tls13));
        for (r, (n, b)) in [
            (&mut i.records.client, self.hs_app[0]),
            (&mut i.records.server, self.hs_app[1]),
        ] {
            let (records, bytes) = (r.app_records - n, r.app_bytes - b);
            r.plaintext_estimate = overhead.map(|o| bytes.saturating_sub(records * o));
        }
        if self.dropped_alerts > 0 {
            i.notes
                .push(format!("{} more alerts not listed", self.dropped_alerts));
        }
        if i.decryption
            .as_ref()
            .is_some_and(|d| d.status == "decrypted")
        {
            // The records' content is in the transcript: their sizes say nothing more.
            i.record_log.clear();
        }
        i
    }
}

/// A certificate time as RFC 3339 UTC (`2036-11-30T15:48:07Z`).
fn rfc3339(t: &x509_parser::time::ASN1Time) -> String {
    chrono::DateTime::from_timestamp(t.timestamp(), 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

/// Per-record expansion of AEAD suites: explicit nonce and tag (TLS 1.2), tag and
/// inner content type (TLS 1.3).
fn record_overhead(name: &str, tls13: bool) -> Option<u64> {
    if tls13 {
        return Some(if name.contains("CCM_8") { 9 } else { 17 });
    }
    if name.contains("CHACHA20") {
        Some(16)
    } else if name.contains("GCM") || (name.contains("CCM") && !name.contains("CCM_8")) {
        Some(24)
    } else if name.contains("CCM_8") {
        Some(16)
    } else {
        None
    }
}

/// Bounded reads over a byte slice: every read checks its length first.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
    fn vec24(&mut self) -> Option<&'a [u8]> {
        let b = self.take(3)?;
        let n = (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]);
        self.take(n)
    }
}

pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => return None,
    })
}

/// IANA names of the cipher suites seen in practice; others as hex.
pub fn cipher_name(v: u16) -> String {
    let n = match v {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccaa => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0x009e => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xc028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x0067 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x006b => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        _ => return format!("0x{v:04x}"),
    };
    n.to_string()
}

/// Alert descriptions (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_name(d: u8) -> String {
    let n = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => return format!("alert {d}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests;
