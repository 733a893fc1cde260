//! The tracker's TLS side: the handshakes of encrypted sessions' connections, and
//! the data connections of sessions whose announcements are encrypted.
//!
//! Hooks called from the tracker ([`super::Tracker`]), each one line there:
//! * [`Tracker::tls_control_bytes`]: the TLS bytes of a control connection;
//! * [`Tracker::tls_open`]: a new connection no announcement explains: the data
//!   connection of an encrypted session (between its two control peers, while it
//!   is open: matched by timing and peers, [`MatchKind::Timing`]), or implicit FTPS
//!   on port [`IMPLICIT_PORT`];
//! * [`Tracker::tls_data_bytes`]: the bytes of such a data connection;
//! * [`Tracker::tls_attach`]: when the session ends, the facts go into the model
//!   (`Session::tls_info`, `DataChannel::tls`) and resumption is traced back to
//!   the connection whose session was resumed.
//!
//! Bounds: one [`TlsConn`] per connection of an open session (dropped when the
//! session ends); inferred data channels stop once the session's transcript weight
//! is spent, like announced ones.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::{DataFacts, MAX_SESSION_WEIGHT, Role, Tracker};
use crate::i18n::Tr;
use crate::model::tls::TlsInfo;
use crate::model::{DataChannel, DataMode, MatchKind, Outcome, Session};
use crate::tcp::{ConnId, ConnInfo, Meta, Mode};
use crate::tls::{KeyLog, TlsConn};

/// The IANA port of implicit FTPS (`ftps`): a session whose TLS starts at once.
pub const IMPLICIT_PORT: u16 = 990;

/// TLS state of the open sessions' connections.
#[derive(Default)]
pub(super) struct TlsTable {
    conns: FxHashMap<ConnId, TlsConn>,
    /// Encrypted open sessions by (client address, server address).
    by_peers: FxHashMap<(IpAddr, IpAddr), Vec<usize>>,
}

impl Tracker {
    /// TLS bytes of session `si`'s control connection, in order per direction;
    /// returns the plaintext they decrypted to (empty without secrets).
    pub(super) fn tls_control_bytes(
        &mut self,
        si: usize,
        from_client: bool,
        b: &[u8],
        meta: Meta,
    ) -> Vec<u8> {
        let st = &self.sessions[si];
        let id = st.s.control_conn;
        let keys = self.cfg.tls_keys.clone();
        let t = self.tls.conns.entry(id).or_insert_with(|| {
            let key = (st.s.client.ip(), st.s.server.ip());
            let v = self.tls.by_peers.entry(key).or_default();
            if !v.contains(&si) {
                v.push(si);
            }
            TlsConn::logging_records().with_keys(keys, true)
        });
        t.set_time(meta.ts);
        t.feed(from_client, b, meta.frame);
        t.take_plain(from_client)
    }

    /// A source that ended the TLS of connection `conn` itself (the proxy's
    /// `--tls-intercept`) hands over its plaintext from here on; `info` is its
    /// handshake. A control connection is read as in clear again (after the
    /// 234 the tracker had switched it to TLS records), a data connection keeps
    /// `info` as its TLS facts.
    pub fn source_tls(&mut self, conn: ConnId, info: TlsInfo) {
        match self.conns.get(&conn) {
            Some(&Role::Control { session, .. }) if self.sessions.contains(session) => {
                self.tls.conns.remove(&conn);
                let st = &mut self.sessions[session];
                st.encrypted = false;
                st.tls_left = [0, 0];
                st.s.tls = true;
                st.s.tls_info = Some(Box::new(info));
            }
            Some(&Role::Data {
                session, channel, ..
            }) if self.sessions.contains(session) => {
                self.tls.conns.remove(&conn);
                if let Some(d) = self.sessions[session].s.data_channels.get_mut(channel) {
                    d.tls = Some(Box::new(info));
                }
            }
            _ => {}
        }
    }

    /// The source saw one side of the control connection `conn`, whose TLS it
    /// ended itself ([`Tracker::source_tls`]), end: with close_notify or not.
    pub fn source_tls_closed(&mut self, conn: ConnId, client_side: bool, notified: bool) {
        let Some(&Role::Control { session, .. }) = self.conns.get(&conn) else {
            return;
        };
        if !self.sessions.contains(session) {
            return;
        }
        if let Some(info) = self.sessions[session].s.tls_info.as_deref_mut() {
            let side = if client_side {
                &mut info.close_notify.client
            } else {
                &mut info.close_notify.server
            };
            *side = Some(notified);
        }
    }

    /// Key log text from the capture (a Decryption Secrets Block).
    pub fn add_tls_secrets(&mut self, text: &str) {
        let mut k = self
            .cfg
            .tls_keys
            .as_deref()
            .map(KeyLog::copy_secrets)
            .unwrap_or_default();
        k.add_text(text);
        let k = std::sync::Arc::new(k);
        for t in self.tls.conns.values_mut() {
            t.offer_keys(&k);
        }
        self.cfg.tls_keys = Some(k);
    }

    /// A data connection of a decrypted session: its TLS is followed (and
    /// decrypted when the key log has its secrets).
    pub(super) fn tls_data_conn(&mut self, conn: ConnId) {
        // With --extract the plaintext is kept (a piece at a time) for the file.
        let keep = self.cfg.extract.is_some();
        let t = TlsConn::new().with_keys(self.cfg.tls_keys.clone(), keep);
        self.tls.conns.insert(conn, t);
    }

    /// The plaintext a data connection decrypted since the last call (kept only
    /// with `--extract`).
    pub(super) fn tls_take_plain(&mut self, conn: ConnId, from_client: bool) -> Vec<u8> {
        self.tls
            .conns
            .get_mut(&conn)
            .map(|t| t.take_plain(from_client))
            .unwrap_or_default()
    }

    /// A new connection no announcement explains: an encrypted session's data
    /// connection, or an implicit FTPS control connection. `None`: not ours.
    pub(super) fn tls_open(&mut self, meta: Meta, info: &ConnInfo) -> Option<Mode> {
        let (ii, ri) = (info.initiator.ip(), info.responder.ip());
        let rp = info.responder.port();
        let live = |si: &usize| self.sessions.contains(*si);
        // Passive: client to server, not to the control port; a passive range is
        // above 1023 (this keeps HTTPS and the like to the same server out).
        let passive = self
            .tls
            .by_peers
            .get(&(ii, ri))
            .into_iter()
            .flatten()
            .filter(|si| live(si))
            .filter(|&&si| {
                rp != self.sessions[si].s.server.port()
                    && rp >= 1024
                    && rp != IMPLICIT_PORT
                    && !self.cfg.ftp_ports.contains(&rp)
            })
            .max_by_key(|&&si| self.sessions[si].s.end)
            .map(|&si| (si, DataMode::Passive));
        // Active: the server connects back to the client.
        let active = || {
            self.tls
                .by_peers
                .get(&(ri, ii))
                .into_iter()
                .flatten()
                .filter(|si| live(si))
                .filter(|&&si| rp != self.sessions[si].s.client.port())
                .max_by_key(|&&si| self.sessions[si].s.end)
                .map(|&si| (si, DataMode::Active))
        };
        if let Some((si, mode)) = passive.or_else(active) {
            if self.sessions[si].text_bytes <= MAX_SESSION_WEIGHT {
                self.tls_channel(si, mode, meta, info);
                return Some(Mode::Stream);
            }
        }
        if rp == IMPLICIT_PORT && !self.cfg.ftp_ports.contains(&rp) {
            let si = self.new_session(
                meta,
                info.id,
                info.initiator,
                info.responder,
                info.handshake_seen,
                crate::model::DetectedBy::Port,
            );
            self.conns.insert(
                info.id,
                Role::Control {
                    session: si,
                    client_is_initiator: true,
                },
            );
            return Some(Mode::Stream);
        }
        None
    }

    fn tls_channel(&mut self, si: usize, mode: DataMode, meta: Meta, info: &ConnInfo) {
        self.other_conns += 1;
        let st = &mut self.sessions[si];
        let ci = st.s.data_channels.len();
        let mut notes = vec![crate::tr!(
            "the session's announcements are encrypted: matched by peers and timing (a connection between the two control peers while the session was open)",
            "会话的通告是加密的：按两端和时间匹配（会话打开期间两个控制连接端点之间的连接）"
        )];
        if !info.handshake_seen {
            notes.push(super::no_handshake_note());
        }
        st.s.data_channels.push(DataChannel {
            outcome: Outcome::Open,
            connector: Some(info.initiator),
            listener: Some(info.responder),
            match_kind: Some(MatchKind::Timing),
            syns: u32::from(info.handshake_seen),
            start: Some(meta.ts),
            end: Some(meta.ts),
            frame_syn: Some(meta.frame),
            notes,
            conn: Some(info.id),
            ..DataChannel::announced(
                crate::model::Via::Encrypted,
                mode,
                Some(info.responder),
                st.s.exchanges.len().saturating_sub(1),
                meta.ts,
                meta.frame,
            )
        });
        st.facts.push(DataFacts {
            attempted: true,
            established: !info.handshake_seen,
            ..DataFacts::default()
        });
        st.open_data += 1;
        self.count_text(
            si,
            std::mem::size_of::<DataChannel>() + std::mem::size_of::<DataFacts>() + 256,
        );
        self.conns.insert(
            info.id,
            Role::Data {
                session: si,
                channel: ci,
                client_is_initiator: mode == DataMode::Passive,
            },
        );
        self.tls_data_conn(info.id);
    }

    /// Bytes of a data connection of an encrypted session (no-op for others). With
    /// secrets for it: the plaintext bytes they held (`None`: not decrypted, the
    /// bytes themselves count).
    /// Is this data connection read as TLS (its records walked or decrypted)?
    pub(super) fn tls_conn_known(&self, conn: ConnId) -> bool {
        self.tls.conns.contains_key(&conn)
    }

    /// The capture lost `len` bytes of a data connection read as TLS.
    pub(super) fn tls_data_gap(&mut self, conn: ConnId, from_client: bool, len: u64) {
        if let Some(t) = self.tls.conns.get_mut(&conn) {
            t.gap(from_client, len);
        }
    }

    pub(super) fn tls_data_bytes(
        &mut self,
        conn: ConnId,
        from_client: bool,
        b: &[u8],
        frame: u64,
    ) -> Option<u64> {
        let t = self.tls.conns.get_mut(&conn)?;
        let before = t.plaintext(from_client);
        t.feed(from_client, b, frame);
        t.counts_plaintext(from_client)
            .then(|| t.plaintext(from_client) - before)
    }

    /// A data connection closed: its TLS facts are settled now and its parser
    /// state dropped, so a session with many data connections holds one
    /// [`TlsInfo`] per closed connection, counted in its transcript budget.
    pub(super) fn tls_data_closed(&mut self, si: usize, ci: usize, conn: ConnId) {
        let Some(mut t) = self.tls.conns.remove(&conn) else {
            return;
        };
        let info = data_info(&mut t, true);
        if let Some(d) = self.sessions[si].s.data_channels.get_mut(ci) {
            raw_counts(d, &t, &info);
            d.tls = Some(Box::new(info));
            self.count_text(si, std::mem::size_of::<TlsInfo>() + 256);
        }
    }

    /// Session `s` (control connection `control`) ends: its TLS facts go into the
    /// model, and its connections' TLS state is dropped.
    pub(super) fn tls_attach(&mut self, si: usize, control: ConnId, s: &mut Session) {
        let key = (s.client.ip(), s.server.ip());
        if let Some(v) = self.tls.by_peers.get_mut(&key) {
            v.retain(|&x| x != si);
            if v.is_empty() {
                self.tls.by_peers.remove(&key);
            }
        }
        let control_ended = s.closed != "open";
        if let Some(mut t) = self.tls.conns.remove(&control) {
            let mut info = t.finish(control_ended);
            let after_auth = s.tls_after_auth();
            info.mode = if after_auth {
                "explicit"
            } else if info.client_hello_frame.is_some() && !s.capture.mid_session {
                "implicit"
            } else {
                "mid-session"
            };
            s.tls_info = Some(Box::new(info));
        } else if s.tls && s.tls_info.is_none() {
            s.tls_info = Some(Box::new(TlsInfo {
                mode: "mid-session",
                handshake: "not-seen",
                ..TlsInfo::default()
            }));
        }
        for ci in 0..s.data_channels.len() {
            let Some(id) = s.data_channels[ci].conn else {
                continue;
            };
            // Still open: settle it now (closed ones were settled as they closed).
            if let Some(mut t) = self.tls.conns.remove(&id) {
                let ended = s.data_channels[ci].ended_by.is_some();
                let info = data_info(&mut t, ended);
                raw_counts(&mut s.data_channels[ci], &t, &info);
                s.data_channels[ci].tls = Some(Box::new(info));
            }
            let Some(mut info) = s.data_channels[ci].tls.take() else {
                continue;
            };
            if info.resumed == Some(true) {
                resumed_from(s, ci, &mut info);
            }
            let d = &mut s.data_channels[ci];
            // A reset after both directions' close_notify ends a finished transfer:
            // one side closed and the other's late close_notify met a closed socket
            // (pure-ftpd resets the client's close_notify after its own FIN).
            if d.outcome == Outcome::Reset
                && info.close_notify.client == Some(true)
                && info.close_notify.server == Some(true)
            {
                d.outcome = Outcome::Completed;
                let by = Tr::verbatim(d.ended_by.map_or("?", |e| e.as_str()))
                    .map(|x, l| crate::i18n::state(x, l).to_string());
                d.notes.push(crate::tr!(
                    "the reset ({by}) came after both sides' close_notify: the TLS stream was complete",
                    "重置（{by}）发生在双方的 close_notify 之后：TLS 流是完整的";
                    by = by
                ));
            }
            // Matched by timing: no announcement time to measure the set-up from
            // (one that was read, decrypted or after CCC, keeps its set-up time).
            if d.match_kind == Some(MatchKind::Timing) {
                d.setup_time = None;
            }
            d.tls = Some(info);
        }
    }
}

/// A data connection followed with secrets that did not decrypt after all (none
/// for its handshake, a suite not decrypted, a record that failed): its bytes are
/// the connection's, as without secrets.
fn raw_counts(d: &mut DataChannel, t: &TlsConn, info: &TlsInfo) {
    let Some(x) = &info.decryption else {
        return;
    };
    if x.status == "decrypted" || !t.had_keys() {
        return;
    }
    // `from_client` is the FTP client's side.
    let (c, s) = (t.seen(true), t.seen(false));
    d.bytes_to_server = c;
    d.bytes_to_client = s;
    d.bytes = c + s;
}

/// A data connection's facts, with its mode.
fn data_info(t: &mut TlsConn, ended: bool) -> TlsInfo {
    let mut info = t.finish(ended);
    info.mode = if info.handshake == "none" && (t.plain(true) || t.plain(false)) {
        // PROT C: plain data, nothing of TLS to say.
        info.notes.clear();
        info.close_notify = Default::default();
        "clear"
    } else if info.handshake == "none" {
        "unknown"
    } else {
        "protected"
    };
    info
}

/// Which earlier connection's session a resumed handshake used.
fn resumed_from(s: &Session, ci: usize, info: &mut TlsInfo) {
    let k = &info.keys;
    let control = s.tls_info.as_deref();
    let earlier = s.data_channels[..ci]
        .iter()
        .enumerate()
        .filter_map(|(j, d)| d.tls.as_deref().map(|t| (format!("data {}", j + 1), t)));
    let candidates: Vec<(String, &TlsInfo)> = control
        .map(|c| ("control".to_string(), c))
        .into_iter()
        .chain(earlier)
        .collect();
    let found = |pred: &dyn Fn(&TlsInfo) -> bool| {
        candidates
            .iter()
            .find(|(_, t)| pred(t))
            .map(|(n, _)| n.clone())
    };
    let by = if let Some(id) = k
        .offered_session_id
        .filter(|_| info.version != Some("TLS 1.3"))
    {
        found(&|t| t.keys.server_session_id == Some(id)).map(|n| (n, "session-id"))
    } else {
        None
    }
    .or_else(|| {
        let tk = k.offered_ticket?;
        found(&|t| t.keys.issued_tickets.contains(&tk)).map(|n| (n, "ticket"))
    })
    .or_else(|| {
        // The same PSK identity on an earlier data connection: the same ticket.
        let id = k.psk_identity?;
        candidates
            .iter()
            .skip(1)
            .find(|(_, t)| t.keys.psk_identity == Some(id))
            .map(|(_, t)| (t.resumed_from.clone(), "psk-identity"))
            .and_then(|(n, by)| n.map(|n| (n, by)))
    })
    .or_else(|| {
        // A TLS 1.3 ticket arrives encrypted: the client's only TLS session with
        // this server before this connection is the control connection's.
        (k.psk_identity.is_some() && control.is_some()).then(|| ("control".to_string(), "psk"))
    });
    if let Some((n, b)) = by {
        info.resumed_from = Some(n);
        info.resumed_by = Some(b);
    }
}
