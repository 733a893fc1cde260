//! `--record FILE.pcapng`: the proxy's connections written as a packet capture.
//!
//! Every logical connection the proxy reports to the tracker (the control
//! connection between the client and the upstream server, each data connection
//! between its real peers) is written as synthesised TCP over raw IPv4 or IPv6
//! (pcapng, one interface of link type 101 `LINKTYPE_RAW`, nanosecond
//! timestamps): a three-way handshake, payload segments with consistent sequence
//! and acknowledgement numbers, FIN or RST. ftpscope and tshark open the file and
//! decode it as FTP like any capture. Packets and the file format come from
//! [`crate::capture::write`], as for `live -w` and the tests' captures.
//!
//! Invariants: sequence numbers always advance by the bytes the connection
//! carried, so bytes that were relayed but not recorded (observations dropped
//! under load, see [`super::observe`]) show as a hole, exactly as a capture that
//! lost packets would. IP and TCP checksums are correct. A connection whose
//! endpoints are of two families (client over IPv6, server over IPv4) is written
//! as IPv6 with the IPv4 address mapped (`::ffff:a.b.c.d`).

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::capture::write::{self, ACK, FIN, PSH, RST, SYN, tcp_headers};
use crate::tcp::{ConnId, Dir};
use crate::time::Ts;

/// Largest TCP payload per synthesised segment (fits an IPv4 total length).
pub const MAX_SEGMENT: usize = 32 * 1024;

#[derive(Debug)]
struct RecConn {
    /// Endpoints: initiator, responder (families made equal).
    ends: [SocketAddr; 2],
    /// Next sequence number to send, per direction.
    next: [u32; 2],
    accepted: bool,
    fin: [bool; 2],
    /// The connection's bytes as they travelled on the client's leg (TLS the
    /// proxy intercepted): from the first of them on, the plaintext the relay
    /// observes is not recorded.
    wire: bool,
}

/// A pcapng writer of synthesised TCP connections (packets and file format from
/// [`crate::capture::write`]).
pub struct Recorder<W: Write> {
    out: write::Writer<W>,
    conns: FxHashMap<ConnId, RecConn>,
    /// Packets written.
    pub packets: u64,
    /// Bytes relayed but not recorded (they show as holes).
    pub skipped_bytes: u64,
    /// Key log lines waiting for the next packet ([`Recorder::secrets`]).
    secrets: String,
    /// Responders of connections about to open, as the client's leg had them
    /// ([`Recorder::leg_address`]).
    leg_responder: FxHashMap<ConnId, SocketAddr>,
    /// The IP and TCP headers of the segment being written (reused).
    head: Vec<u8>,
}

fn isn(conn: ConnId, dir: Dir) -> u32 {
    let base = (conn as u32).wrapping_mul(0x9E37_79B1).wrapping_add(0x1000);
    match dir {
        Dir::FromInitiator => base,
        Dir::FromResponder => base.rotate_left(16) ^ 0x5A5A_0000,
    }
}

fn to_v6(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    }
}

impl<W: Write> Recorder<W> {
    /// Start a capture: section header and one raw-IP interface with nanosecond time.
    pub fn new(out: W) -> io::Result<Self> {
        let app = format!("ftpscope {} proxy", env!("CARGO_PKG_VERSION"));
        let header = write::Header {
            linktype: write::LINKTYPE_RAW,
            snaplen: 0,
            interface: None,
            application: &app,
        };
        Ok(Recorder {
            out: write::Writer::new(out, write::Format::Pcapng, &header)?,
            conns: FxHashMap::default(),
            packets: 0,
            skipped_bytes: 0,
            secrets: String::new(),
            leg_responder: FxHashMap::default(),
            head: Vec::with_capacity(64),
        })
    }

    fn send(
        &mut self,
        ts: Ts,
        conn: ConnId,
        dir: Dir,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        let (s, r) = match dir {
            Dir::FromInitiator => (0, 1),
            Dir::FromResponder => (1, 0),
        };
        let seq = c.next[s];
        let ack = c.next[r];
        let mut head = std::mem::take(&mut self.head);
        head.clear();
        tcp_headers(&mut head, c.ends[s], c.ends[r], seq, ack, flags, payload);
        let mut adv = payload.len() as u32;
        if flags & (SYN | FIN) != 0 {
            adv += 1;
        }
        c.next[s] = seq.wrapping_add(adv);
        if !self.secrets.is_empty() {
            self.out.secrets(&self.secrets)?;
            self.secrets.clear();
        }
        // One pcapng block, one vectored write (see [`RecordFile`]): headers and
        // payload are not gathered into one packet first.
        let res = self.out.packet_parts(ts, &head, payload);
        self.head = head;
        res?;
        self.packets += 1;
        Ok(())
    }

    /// Connection `conn`, about to open, is recorded as the client's leg had
    /// it: the client connected to `responder` (the proxy's address).
    pub fn leg_address(&mut self, conn: ConnId, responder: SocketAddr) {
        if self.leg_responder.len() < 4096 {
            self.leg_responder.insert(conn, responder);
        }
    }

    /// A connection attempt: the initiator's SYN.
    pub fn open(
        &mut self,
        ts: Ts,
        conn: ConnId,
        initiator: SocketAddr,
        responder: SocketAddr,
    ) -> io::Result<()> {
        let responder = self.leg_responder.remove(&conn).unwrap_or(responder);
        let ends = if initiator.is_ipv4() && responder.is_ipv4() {
            [initiator, responder]
        } else {
            [to_v6(initiator), to_v6(responder)]
        };
        let next = [isn(conn, Dir::FromInitiator), isn(conn, Dir::FromResponder)];
        self.conns.insert(
            conn,
            RecConn {
                ends,
                next,
                accepted: false,
                fin: [false, false],
                wire: false,
            },
        );
        self.send(ts, conn, Dir::FromInitiator, SYN, &[])
    }

    /// SYN-ACK and the initiator's ACK.
    pub fn accepted(&mut self, ts: Ts, conn: ConnId) -> io::Result<()> {
        match self.conns.get_mut(&conn) {
            Some(c) if !c.accepted => c.accepted = true,
            _ => return Ok(()),
        }
        self.send(ts, conn, Dir::FromResponder, SYN | ACK, &[])?;
        self.send(ts, conn, Dir::FromInitiator, ACK, &[])
    }

    /// The SYN answered by RST.
    pub fn refused(&mut self, ts: Ts, conn: ConnId) -> io::Result<()> {
        self.send(ts, conn, Dir::FromResponder, RST | ACK, &[])
    }

    /// Payload from one side, cut into segments.
    pub fn data(&mut self, ts: Ts, conn: ConnId, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        for seg in bytes.chunks(MAX_SEGMENT) {
            self.send(ts, conn, dir, PSH | ACK, seg)?;
        }
        Ok(())
    }

    /// Plaintext the relay observed: recorded unless the connection's bytes are
    /// recorded as they travelled ([`Recorder::wire`]).
    pub fn plain(&mut self, ts: Ts, conn: ConnId, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        if self.is_wire(conn) {
            return Ok(());
        }
        self.data(ts, conn, dir, bytes)
    }

    /// Is `conn` recorded as it travelled (TLS bytes, see [`Recorder::wire`])?
    pub fn is_wire(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.wire)
    }

    /// Bytes as they travelled on the client's leg (the TLS records of an
    /// intercepted connection), `lost_before` of them not observed before these.
    pub fn wire(
        &mut self,
        ts: Ts,
        conn: ConnId,
        dir: Dir,
        bytes: &[u8],
        lost_before: u64,
    ) -> io::Result<()> {
        match self.conns.get_mut(&conn) {
            Some(c) => c.wire = true,
            None => return Ok(()),
        }
        self.skip(conn, dir, lost_before);
        self.data(ts, conn, dir, bytes)
    }

    /// TLS key log lines, written as one Decryption Secrets Block before the
    /// next packet (a handshake's lines come together: one block for them).
    pub fn secrets(&mut self, keylog: &str) -> io::Result<()> {
        self.secrets.push_str(keylog);
        Ok(())
    }

    /// Bytes that were relayed but are not recorded: the sequence number moves on.
    pub fn skip(&mut self, conn: ConnId, dir: Dir, len: u64) {
        if len == 0 {
            return;
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            let i = dir.idx();
            c.next[i] = c.next[i].wrapping_add(len as u32);
            self.skipped_bytes += len;
        }
    }

    /// Orderly end of one direction: FIN, acknowledged by the peer.
    pub fn fin(&mut self, ts: Ts, conn: ConnId, dir: Dir) -> io::Result<()> {
        match self.conns.get_mut(&conn) {
            Some(c) if !c.fin[dir.idx()] => c.fin[dir.idx()] = true,
            _ => return Ok(()),
        }
        self.send(ts, conn, dir, FIN | ACK, &[])?;
        self.send(ts, conn, dir.other(), ACK, &[])
    }

    /// RST from one side.
    pub fn reset(&mut self, ts: Ts, conn: ConnId, dir: Dir) -> io::Result<()> {
        self.send(ts, conn, dir, RST | ACK, &[])
    }

    /// No more packets for this connection.
    pub fn closed(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.secrets.is_empty() {
            self.out.secrets(&self.secrets)?;
            self.secrets.clear();
        }
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner()
    }

    pub fn writer_mut(&mut self) -> &mut W {
        self.out.get_mut()
    }
}

/// Bytes of whole blocks a [`RecordFile`] keeps waiting while its file cannot be
/// written; past it the oldest blocks are given up (counted).
pub const RECORD_WAITING_BYTES: usize = 4 << 20;
/// Bytes gathered before a write to the file.
const RECORD_CHUNK: usize = 1 << 20;

/// What happened to a [`RecordFile`] since it was last asked.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordEvent {
    /// The first failed write after good ones.
    Failed(String),
    /// Written again after failures; `lost` packets could not wait.
    Recovered { lost: u64 },
}

/// The `--record` file: whole pcapng blocks are gathered and written in chunks;
/// when a write fails (disk full) the file is cut back to its last good length,
/// so it never ends in half a block, the blocks wait (up to
/// [`RECORD_WAITING_BYTES`], then the oldest are given up and counted) and the
/// write is tried again as more come: recording resumes when space returns. A
/// write to it never fails; [`RecordFile::take_event`] tells what happened.
pub struct RecordFile {
    file: std::fs::File,
    /// Whole blocks not yet in the file.
    buf: Vec<u8>,
    /// Where each block in `buf` ends (to give up whole blocks).
    ends: std::collections::VecDeque<usize>,
    /// File length after the last good write.
    good_len: u64,
    failing: Option<String>,
    lost: u64,
    /// `buf` length at the last failed attempt (retry after more has come).
    tried_at: usize,
    event: Option<RecordEvent>,
}

impl RecordFile {
    pub fn new(file: std::fs::File) -> io::Result<RecordFile> {
        let good_len = file.metadata()?.len();
        Ok(RecordFile {
            file,
            buf: Vec::with_capacity(RECORD_CHUNK),
            ends: std::collections::VecDeque::new(),
            good_len,
            failing: None,
            lost: 0,
            tried_at: 0,
            event: None,
        })
    }

    /// What happened since the last call: a first failure, or a recovery.
    pub fn take_event(&mut self) -> Option<RecordEvent> {
        self.event.take()
    }

    /// Still failing, with the error.
    pub fn failing(&self) -> Option<&str> {
        self.failing.as_deref()
    }

    fn try_write(&mut self) {
        use std::io::{Seek, SeekFrom};
        if self.buf.is_empty() {
            return;
        }
        let res = self
            .file
            .seek(SeekFrom::Start(self.good_len))
            .and_then(|_| self.file.write_all(&self.buf));
        match res {
            Ok(()) => {
                self.good_len += self.buf.len() as u64;
                self.buf.clear();
                self.ends.clear();
                self.tried_at = 0;
                if self.failing.take().is_some() {
                    self.event = Some(RecordEvent::Recovered {
                        lost: std::mem::take(&mut self.lost),
                    });
                }
            }
            Err(e) => {
                let _ = self.file.set_len(self.good_len);
                if self.failing.is_none() {
                    self.event = Some(RecordEvent::Failed(e.to_string()));
                }
                self.failing = Some(e.to_string());
                // Give up the oldest whole blocks past the budget.
                let mut cut = 0;
                while self.buf.len() - cut > RECORD_WAITING_BYTES && self.ends.len() > 1 {
                    if let Some(end) = self.ends.pop_front() {
                        cut = end;
                        self.lost += 1;
                    }
                }
                if cut > 0 {
                    self.buf.drain(..cut);
                    for e in self.ends.iter_mut() {
                        *e -= cut;
                    }
                }
                self.tried_at = self.buf.len();
            }
        }
    }
}

impl RecordFile {
    /// A whole block has been appended to `buf`: mark its end, write when due.
    fn took_block(&mut self) {
        self.ends.push_back(self.buf.len());
        let due = if self.failing.is_some() {
            // Retry after another 64 KiB, not at every packet.
            self.buf.len() >= self.tried_at + (64 << 10)
        } else {
            self.buf.len() >= RECORD_CHUNK
        };
        if due {
            self.try_write();
        }
    }
}

impl Write for RecordFile {
    /// Takes the whole block: never fails (see the type's documentation).
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        self.took_block();
        Ok(b.len())
    }

    /// Takes every slice, together one whole block (as
    /// [`write::Writer::packet_parts`] hands it over): never fails.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut n = 0;
        for b in bufs {
            self.buf.extend_from_slice(b);
            n += b.len();
        }
        self.took_block();
        Ok(n)
    }

    /// Write what waits; an error when the file still cannot take it.
    fn flush(&mut self) -> io::Result<()> {
        self.try_write();
        match &self.failing {
            None => self.file.flush(),
            Some(e) => Err(io::Error::other(format!(
                "{} bytes of the record could not be written: {e}",
                self.buf.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_session_reads_back_as_ftp() {
        let mut rec = Recorder::new(Vec::new()).unwrap();
        let c: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let s: SocketAddr = "192.0.2.2:21".parse().unwrap();
        let t = |ms: i64| Ts(1_700_000_000_000_000_000 + ms * 1_000_000);
        rec.open(t(0), 1, c, s).unwrap();
        rec.accepted(t(1), 1).unwrap();
        rec.data(t(2), 1, Dir::FromResponder, b"220 hi\r\n")
            .unwrap();
        rec.data(t(3), 1, Dir::FromInitiator, b"USER a\r\n")
            .unwrap();
        rec.data(t(4), 1, Dir::FromResponder, b"331 pw\r\n")
            .unwrap();
        rec.data(t(5), 1, Dir::FromInitiator, b"QUIT\r\n").unwrap();
        rec.data(t(6), 1, Dir::FromResponder, b"221 bye\r\n")
            .unwrap();
        rec.fin(t(7), 1, Dir::FromResponder).unwrap();
        rec.fin(t(8), 1, Dir::FromInitiator).unwrap();
        let bytes = rec.into_inner();
        let cap = crate::engine::analyze_reader(
            &bytes[..],
            crate::session::TrackerConfig::default(),
            None,
        )
        .unwrap();
        assert_eq!(cap.sessions.len(), 1);
        let s = &cap.sessions[0];
        let verbs: Vec<_> = s
            .exchanges
            .iter()
            .filter_map(|e| e.verb().map(str::to_string))
            .collect();
        assert_eq!(verbs, ["USER", "QUIT"]);
        assert!(!s.capture.mid_session);
        assert_eq!(s.capture.gap_bytes, [0, 0]);
    }

    #[test]
    fn skipped_bytes_are_a_hole() {
        let mut rec = Recorder::new(Vec::new()).unwrap();
        let c: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let s: SocketAddr = "192.0.2.2:21".parse().unwrap();
        let t = |ms: i64| Ts(1_700_000_000_000_000_000 + ms * 1_000_000);
        rec.open(t(0), 1, c, s).unwrap();
        rec.accepted(t(1), 1).unwrap();
        rec.data(t(2), 1, Dir::FromResponder, b"220 hi\r\n")
            .unwrap();
        rec.skip(1, Dir::FromInitiator, 8);
        rec.data(t(4), 1, Dir::FromResponder, b"331 pw\r\n")
            .unwrap();
        rec.data(t(5), 1, Dir::FromInitiator, b"QUIT\r\n").unwrap();
        rec.fin(t(7), 1, Dir::FromResponder).unwrap();
        rec.fin(t(8), 1, Dir::FromInitiator).unwrap();
        assert_eq!(rec.skipped_bytes, 8);
        let bytes = rec.into_inner();
        let cap = crate::engine::analyze_reader(
            &bytes[..],
            crate::session::TrackerConfig::default(),
            None,
        )
        .unwrap();
        assert_eq!(cap.sessions[0].capture.gap_bytes[0], 8);
    }
}
