//! TCP flow table and per-direction stream reassembly.
//!
//! Every TCP connection in a capture gets a [`ConnId`] and a [`Mode`] chosen by the
//! consumer (the session tracker) when the connection first appears:
//!
//! * [`Mode::Stream`]: the bytes of each direction are delivered in order, once,
//!   as [`ConnEvent::Data`]. Retransmissions and overlaps are trimmed; segments that
//!   arrive early wait in a bounded out-of-order list ([`MAX_OOO_SEGMENTS`],
//!   [`MAX_OOO_BYTES`] per direction). A hole is given up on, and reported as
//!   [`ConnEvent::Gap`], when the peer acknowledges past it (the receiver got bytes
//!   the capture missed), when the out-of-order list is full, or at the end.
//!   Bytes the snaplen cut off are reported as [`ConnEvent::Cut`], never delivered.
//! * [`Mode::Count`]: payload is only counted ([`ConnEvent::Count`]), by sequence
//!   space covered, so memory does not depend on the transfer size.
//! * [`Mode::Ignore`]: nothing but the connection-level events.
//!
//! Sequence numbers are unwrapped to 64-bit offsets relative to the first byte of
//! each direction, by signed distance from the next expected byte, so streams of
//! more than 4 GiB and sequence wrap-around are handled.
//!
//! The same [`ConnEvent`]s are what the proxy emits, so one tracker serves both.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::capture::decode::{ACK, FIN, RST, SYN, Segment};
use crate::time::Ts;

pub(crate) mod analysis;

pub const MAX_OOO_SEGMENTS: usize = 256;
pub const MAX_OOO_BYTES: usize = 512 * 1024;
/// Connections tracked at once (about 600 bytes each with the tracker's entry,
/// so at most about 160 MB); beyond it the least recently active half is swept
/// (closed as at the end of the capture).
pub const MAX_CONNS: usize = 1 << 18;

pub type ConnId = u64;

/// Direction of bytes on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the side that opened the connection (sent the SYN).
    FromInitiator,
    /// From the side that accepted it.
    FromResponder,
}

impl Dir {
    pub fn idx(self) -> usize {
        match self {
            Dir::FromInitiator => 0,
            Dir::FromResponder => 1,
        }
    }
    pub fn other(self) -> Dir {
        match self {
            Dir::FromInitiator => Dir::FromResponder,
            Dir::FromResponder => Dir::FromInitiator,
        }
    }
}

/// Where an event happened: the time, and the frame number in the capture (0 when
/// the source is not a capture file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    pub ts: Ts,
    pub frame: u64,
}

/// A connection as first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: ConnId,
    pub initiator: SocketAddr,
    pub responder: SocketAddr,
    /// The opening SYN (or SYN-ACK) was seen; when false the roles are a guess
    /// (the endpoint with the higher port is taken as the initiator).
    pub handshake_seen: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Stream,
    Count,
    Ignore,
}

/// What happened on a connection.
#[derive(Debug)]
pub enum ConnEvent<'a> {
    /// The initiator sent its SYN again (no answer yet).
    SynRetry,
    /// The responder accepted (SYN-ACK).
    Accepted,
    /// The responder answered the SYN with RST.
    Refused,
    /// An ICMP "destination unreachable" error answered the initiator's SYN (the
    /// responder has not accepted). The connection stays open: a client may try
    /// again, and a later SYN-ACK still counts.
    Unreachable(crate::model::IcmpRejection),
    /// In-order bytes (Stream mode).
    Data { dir: Dir, bytes: &'a [u8] },
    /// New payload bytes (Count mode).
    Count { dir: Dir, len: u64 },
    /// Bytes that were on the wire but are not in the capture.
    Gap { dir: Dir, len: u64 },
    /// Bytes the capture's snaplen cut off.
    Cut { dir: Dir, len: u64 },
    /// (Stream mode) A segment of `len` bytes, all delivered already: the sender
    /// sent them again (a retransmission; a keep-alive probe is not one).
    Resent { dir: Dir, len: u64 },
    /// Orderly end of one direction.
    Fin { dir: Dir },
    /// RST from one side.
    Reset { dir: Dir },
}

/// Where a source's note belongs (the proxy's rewrites, refusals, injected
/// faults): the tracker attaches it to that part of the session named by its
/// control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteTarget {
    /// The session as a whole (shown with its anomalies, prefixed `proxy:`).
    Session,
    /// The next line the control connection delivers in this direction: the
    /// command it makes, or the reply it starts. Sent just before that line's
    /// [`ConnEvent::Data`].
    Line(Dir),
    /// The data channel the tracker tied to this connection.
    Conn(ConnId),
    /// The newest data channel announced with this address so far.
    Announced(SocketAddr),
}

/// The consumer of connection events.
pub trait ConnSink {
    /// A new connection appeared: choose how its payload is handled.
    fn open(&mut self, meta: Meta, info: &ConnInfo) -> Mode;
    /// A connection first seen by a packet without payload or SYN (an ACK, a FIN, a
    /// reset: it was idle when the capture began): `Some` tracks it in that mode,
    /// `None` (the default) ignores the packet.
    fn open_bare(&mut self, _meta: Meta, _info: &ConnInfo) -> Option<Mode> {
        None
    }
    /// An event on a connection; return a new mode to switch (e.g. Stream -> Count).
    fn event(&mut self, meta: Meta, conn: ConnId, ev: ConnEvent<'_>) -> Option<Mode>;
    /// The connection is over (both FINs delivered, a RST, or the end of input); no
    /// more events come for it.
    fn closed(&mut self, _meta: Meta, _conn: ConnId) {}
    /// A packet of this connection was a copy of one just seen; it was dropped.
    fn duplicate(&mut self, _conn: ConnId) {}
    /// The TCP figures of a connection in Count mode (a data connection), or in
    /// Stream mode when [`ConnSink::stream_figures`] asked for them, just before
    /// [`ConnSink::closed`]; the initiator is taken as the client.
    fn figures(&mut self, _conn: ConnId, _figures: crate::model::TcpFigures) {}
    /// Whether a connection the sink chose [`Mode::Stream`] for gets TCP figures
    /// too (asked once, when it opens): an encrypted session's data connection is
    /// reassembled for its TLS records and still moves a file.
    fn stream_figures(&mut self, _conn: ConnId) -> bool {
        false
    }
    /// A note from the source about the session whose control connection is
    /// `control`, in order with the other events (see [`NoteTarget`]). Captures
    /// have none; the proxy says what it changed.
    fn note(&mut self, _meta: Meta, _control: ConnId, _target: NoteTarget, _text: String) {}
}

/// Two copies of one packet arrive within this many seconds (two capture points, a
/// SPAN of both directions, a file merged with itself); a retransmission takes longer.
const DUP_WINDOW_SECS: f64 = 0.001;
/// Bytes at most that an ACK or FIN past the last segment the capture saw counts
/// as sent and lost before the capture point (more is not a lost tail but a
/// peer, or a capture, that lies).
const MAX_UNSEEN_TAIL: u64 = 16 << 20;
/// Closed connections remembered to recognise a second copy of the same traffic.
const MAX_CLOSED: usize = 1 << 16;

#[derive(Debug, Default)]
struct Half {
    /// Sequence number of relative offset `next`.
    next_seq: u32,
    /// Sequence number of relative offset 0.
    first_seq: u32,
    /// Relative offset of the next byte expected.
    next: u64,
    known: bool,
    /// Highest relative end seen (Count mode).
    max_end: u64,
    /// Segments past a hole, by offset, with the packet that brought each.
    ooo: BTreeMap<u64, (Meta, Vec<u8>)>,
    ooo_bytes: usize,
    fin_at: Option<u64>,
    fin_done: bool,
}

impl Half {
    fn start(&mut self, first_seq: u32) {
        self.first_seq = first_seq;
        self.next_seq = first_seq;
        self.next = 0;
        self.known = true;
    }
    /// Relative offset of `seq`.
    fn rel(&self, seq: u32) -> i64 {
        self.next as i64 + seq.wrapping_sub(self.next_seq) as i32 as i64
    }
    fn advance_to(&mut self, rel: u64) {
        let d = rel.saturating_sub(self.next);
        self.next_seq = self.next_seq.wrapping_add(d as u32);
        self.next = rel;
    }
}

#[derive(Debug)]
struct Conn {
    info: ConnInfo,
    mode: Mode,
    halves: [Half; 2],
    isn: Option<u32>,
    accepted: bool,
    reset: bool,
    last: Ts,
    /// The last segments (fingerprint, time), to drop copies of them.
    recent: [(u64, Ts); 4],
    recent_at: usize,
    first: Ts,
    /// Time of the last payload handed to the sink, either direction: bytes held
    /// past a hole are handed over no earlier than it.
    data_at: Ts,
    handshake: analysis::Handshake,
    /// Running for connections in Count mode (data connections).
    analysis: Option<Box<analysis::Analysis>>,
}

/// Sequence space a closed connection covered, per endpoint. Kept small (40
/// bytes, and a 38-byte key): tens of thousands are remembered, and a larger table
/// costs its pages.
#[derive(Debug, Clone, Copy)]
struct ClosedRange {
    /// (first, end) sequence numbers per direction (initiator, responder), when
    /// `seen` has the direction's bit (1, 2).
    range: [(u32, u32); 2],
    seen: u8,
    /// The initiator is the first endpoint of the connection's [`key`].
    initiator_first: bool,
    /// When it ended.
    end: Ts,
}

impl ClosedRange {
    fn of(c: &Conn, k: &(SocketAddr, SocketAddr)) -> Self {
        let r = |h: &Half| (h.first_seq.wrapping_sub(1), h.next_seq.wrapping_add(1));
        ClosedRange {
            range: [r(&c.halves[0]), r(&c.halves[1])],
            seen: u8::from(c.halves[0].known) | (u8::from(c.halves[1].known) << 1),
            initiator_first: c.info.initiator == k.0,
            end: c.last,
        }
    }
    /// Does this segment fall inside what the closed connection already carried?
    fn holds(&self, k: &(SocketAddr, SocketAddr), seg: &Segment<'_>) -> bool {
        let initiator = if self.initiator_first { k.0 } else { k.1 };
        let i = usize::from(seg.src != initiator);
        let (a, b) = self.range[i];
        self.seen & (1 << i) != 0
            && b.wrapping_sub(a) > 1
            && seg.seq.wrapping_sub(a) <= b.wrapping_sub(a)
    }
}

/// A connection's [`key`] packed for the table of closed connections: both
/// addresses in 16 bytes each (IPv4 in the first 4, marked in `v6`), both ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PackedKey {
    ips: [u8; 32],
    ports: [u16; 2],
    /// Bit 0: the first address is IPv6; bit 1: the second.
    v6: u8,
}

impl PackedKey {
    fn of(k: &(SocketAddr, SocketAddr)) -> Self {
        let mut p = PackedKey {
            ips: [0; 32],
            ports: [k.0.port(), k.1.port()],
            v6: 0,
        };
        for (i, a) in [k.0, k.1].iter().enumerate() {
            let at = &mut p.ips[i * 16..i * 16 + 16];
            match a.ip() {
                std::net::IpAddr::V4(v4) => at[..4].copy_from_slice(&v4.octets()),
                std::net::IpAddr::V6(v6) => {
                    at.copy_from_slice(&v6.octets());
                    p.v6 |= 1 << i;
                }
            }
        }
        p
    }
}

fn fingerprint(seg: &Segment<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    // The window too: a window update repeats an ACK but is not a copy of it. And
    // the IPv4 identification: a copy made by the capture keeps it, a segment the
    // sender's TCP sent again (a spurious retransmission arriving right after the
    // first copy) gets a new one from most stacks.
    (
        seg.src,
        seg.seq,
        seg.ack,
        seg.flags,
        seg.wire_len,
        seg.window,
        seg.ip_id,
    )
        .hash(&mut h);
    seg.payload[..seg.payload.len().min(64)].hash(&mut h);
    h.finish() | 1
}

impl Conn {
    fn new(info: ConnInfo, mode: Mode, ts: Ts) -> Self {
        Conn {
            info,
            mode,
            halves: [Half::default(), Half::default()],
            isn: None,
            accepted: false,
            reset: false,
            last: ts,
            recent: [(0, ts); 4],
            recent_at: 0,
            first: ts,
            data_at: ts,
            handshake: analysis::Handshake::default(),
            analysis: None,
        }
    }

    /// Hand the connection's TCP figures to the sink (Count-mode connections, and
    /// Stream-mode ones the sink asked figures for).
    fn conclude<S: ConnSink>(&mut self, sink: &mut S) {
        let f = match self.analysis.take() {
            Some(a) => a.figures(&self.handshake, self.first, self.last),
            None if self.mode == Mode::Count => {
                let f = analysis::handshake_figures(&self.handshake);
                if f.rtt_ms.is_none() && f.mss.is_none() {
                    return;
                }
                f
            }
            None => return,
        };
        sink.figures(self.info.id, f);
    }
    fn closed(&self) -> bool {
        self.reset || (self.halves[0].fin_done && self.halves[1].fin_done)
    }
}

/// Counters for the capture-level summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpStats {
    pub segments: u64,
    pub connections: u64,
    pub retransmitted_segments: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Packets dropped as copies of one already seen (see [`DUP_WINDOW_SECS`]), and
    /// whole connections seen a second time after they closed.
    pub duplicates: u64,
    pub replayed_connections: u64,
}

/// The flow table.
#[derive(Default)]
pub struct FlowTable {
    /// Boxed: a table that grows, and a connection that ends, move a pointer.
    conns: FxHashMap<(SocketAddr, SocketAddr), Box<Conn>>,
    next_id: ConnId,
    pub stats: TcpStats,
    /// Recently closed connections' sequence space (a second copy of the traffic).
    closed: FxHashMap<PackedKey, ClosedRange>,
}

fn key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    // The order of `SocketAddr` (address, then port), compared as integers for the
    // common IPv4 pair.
    let first = match (a, b) {
        (SocketAddr::V4(x), SocketAddr::V4(y)) => {
            (u32::from(*x.ip()), x.port()) <= (u32::from(*y.ip()), y.port())
        }
        _ => a <= b,
    };
    if first { (a, b) } else { (b, a) }
}

impl FlowTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Feed one segment.
    pub fn segment<S: ConnSink>(&mut self, meta: Meta, seg: &Segment<'_>, sink: &mut S) {
        self.stats.segments += 1;
        let k = key(seg.src, seg.dst);
        let syn = seg.has(SYN);
        let ack = seg.has(ACK);
        // The common case, a segment of a known connection: one lookup.
        if let Some(c) = self.conns.get_mut(&k) {
            // A new SYN on a finished connection starts a new one.
            let restart = syn && !ack && c.closed() && c.isn != Some(seg.seq);
            if !restart {
                if Self::feed(c, &mut self.stats, meta, seg, sink) {
                    self.forget(meta, k, sink);
                }
                return;
            }
            self.conns.remove(&k);
        }
        // A packet of a connection that already ended, from its sequence space, and
        // not later than its end: a second copy of the same traffic (files
        // concatenated, time going backwards). Stray packets after the end (a last
        // ACK, a retransmitted FIN) come later and are only ignored.
        if let Some(r) = self.closed.get(&PackedKey::of(&k)) {
            if r.holds(&k, seg) {
                if meta.ts < r.end {
                    self.stats.duplicates += 1;
                    if syn && !ack {
                        self.stats.replayed_connections += 1;
                    }
                }
                return;
            }
        }
        let bare = !syn && seg.wire_len == 0;
        let (initiator, responder, handshake_seen) = if syn && !ack {
            (seg.src, seg.dst, true)
        } else if syn && ack {
            (seg.dst, seg.src, true)
        } else if seg.src.port() > seg.dst.port() {
            (seg.src, seg.dst, false)
        } else if seg.src.port() < seg.dst.port() {
            (seg.dst, seg.src, false)
        } else {
            (seg.src, seg.dst, false)
        };
        let info = ConnInfo {
            id: self.next_id + 1,
            initiator,
            responder,
            handshake_seen,
        };
        let mode = if bare {
            // A lone ACK, FIN or RST for a connection we never saw (or one already
            // closed and forgotten): tracked only when the sink asks (an idle
            // control connection when the capture began).
            if self.conns.len() >= MAX_CONNS {
                return;
            }
            match sink.open_bare(meta, &info) {
                Some(m) => m,
                None => return,
            }
        } else {
            if self.conns.len() >= MAX_CONNS {
                self.sweep(meta, sink);
            }
            sink.open(meta, &info)
        };
        self.next_id += 1;
        self.stats.connections += 1;
        let mut c = Box::new(Conn::new(info, mode, meta.ts));
        if mode == Mode::Stream && sink.stream_figures(info.id) {
            c.analysis = Some(Box::default());
        }
        if syn && !ack {
            c.isn = Some(seg.seq);
        }
        let c = self.conns.entry(k).insert_entry(c).into_mut();
        if Self::feed(c, &mut self.stats, meta, seg, sink) {
            self.forget(meta, k, sink);
        }
    }

    /// An ICMP error quoting a segment. "Destination unreachable": when it names
    /// the opening SYN of a connection not accepted yet, the sink hears of it;
    /// errors about anything else (a data segment, a connection long gone, a
    /// segment the capture never saw) are no answer to a connection attempt. A
    /// path-MTU message about a connection's segments is counted in its TCP
    /// figures (connections that have them: data connections).
    pub fn icmp<S: ConnSink>(
        &mut self,
        meta: Meta,
        e: &crate::capture::decode::IcmpError,
        sink: &mut S,
    ) {
        let Some(c) = self.conns.get_mut(&key(e.src, e.dst)) else {
            return;
        };
        if let Some(mtu) = e.too_big {
            let dir = if e.src == c.info.initiator {
                Dir::FromInitiator
            } else {
                Dir::FromResponder
            };
            if let Some(a) = &mut c.analysis {
                a.too_big(meta, dir, e.from, mtu);
            }
            return;
        }
        let about_syn = c.isn.is_some() && e.seq.is_none_or(|s| Some(s) == c.isn);
        if c.info.initiator != e.src || c.accepted || c.reset || !about_syn {
            return;
        }
        let r = crate::model::IcmpRejection {
            from: e.from,
            v6: e.v6,
            code: e.code,
            ts: meta.ts,
            frame: meta.frame,
        };
        emit(c, sink, meta, ConnEvent::Unreachable(r));
    }

    /// One segment of a tracked connection; true when it closed the connection.
    fn feed<S: ConnSink>(
        c: &mut Conn,
        stats: &mut TcpStats,
        meta: Meta,
        seg: &Segment<'_>,
        sink: &mut S,
    ) -> bool {
        // A copy of a segment just seen: drop it (editcap -d does the same). Bare
        // ACKs are left alone: duplicate ACKs are TCP's own, and harmless.
        let fp = fingerprint(seg);
        let counts = seg.wire_len > 0 || seg.flags & (SYN | FIN | RST) != 0;
        // A bare ACK is a copy only when it repeats the very packet before it (TCP's
        // duplicate ACKs have the other side's segments between them).
        let prev = (c.recent_at + c.recent.len() - 1) % c.recent.len();
        let copy = |&(f, t): &(u64, Ts)| f == fp && t.secs_until(meta.ts) <= DUP_WINDOW_SECS;
        if (counts && c.recent.iter().any(copy)) || copy(&c.recent[prev]) {
            stats.duplicates += 1;
            sink.duplicate(c.info.id);
            return false;
        }
        c.recent[c.recent_at] = (fp, meta.ts);
        c.recent_at = (c.recent_at + 1) % c.recent.len();
        c.last = meta.ts;
        let dir = if seg.src == c.info.initiator {
            Dir::FromInitiator
        } else {
            Dir::FromResponder
        };
        c.handshake.segment(meta.ts, dir, seg);
        if c.analysis.is_none() && c.mode == Mode::Count {
            c.analysis = Some(Box::default());
        }
        let analysed = if let Some(a) = &mut c.analysis {
            a.segment(&c.handshake, meta.ts, dir, seg);
            true
        } else {
            false
        };
        process(c, meta, dir, seg, sink, stats);
        // The sink switched to counting on this segment (its first bytes told a
        // waiting connection is a data connection): it counts as the first.
        if !analysed && c.mode == Mode::Count {
            let mut a = Box::<analysis::Analysis>::default();
            a.segment(&c.handshake, meta.ts, dir, seg);
            c.analysis = Some(a);
        }
        if c.closed() {
            c.conclude(sink);
            return true;
        }
        false
    }

    /// Both FINs delivered, or a RST: the connection is over. Forget it now, so
    /// memory holds open connections only; stray packets after this are ignored.
    fn forget<S: ConnSink>(&mut self, meta: Meta, k: (SocketAddr, SocketAddr), sink: &mut S) {
        let Some(c) = self.conns.remove(&k) else {
            return;
        };
        if self.closed.len() >= MAX_CLOSED {
            self.closed.clear();
        }
        self.closed
            .insert(PackedKey::of(&k), ClosedRange::of(&c, &k));
        sink.closed(meta, c.info.id);
    }

    /// Remove closed connections (their model lives on in the sink).
    /// The table is full: forget the least recently active half.
    fn sweep<S: ConnSink>(&mut self, meta: Meta, sink: &mut S) {
        let mut times: Vec<Ts> = self.conns.values().map(|c| c.last).collect();
        times.sort_unstable();
        let cut = times[times.len() / 2];
        let mut gone = Vec::new();
        self.conns.retain(|_, c| {
            let keep = c.last > cut;
            if !keep {
                c.conclude(sink);
                gone.push(c.info.id);
            }
            keep
        });
        for id in gone {
            sink.closed(meta, id);
        }
    }

    /// End of input: give up on every hole and deliver what is buffered.
    pub fn finish<S: ConnSink>(&mut self, meta: Meta, sink: &mut S) {
        let mut ids: Vec<(ConnId, (SocketAddr, SocketAddr))> =
            self.conns.iter().map(|(k, c)| (c.info.id, *k)).collect();
        ids.sort_unstable();
        for (_, k) in ids {
            if let Some(c) = self.conns.get_mut(&k) {
                for dir in [Dir::FromInitiator, Dir::FromResponder] {
                    let mut stats = self.stats;
                    flush(c, meta, dir, u64::MAX, sink, &mut stats);
                    self.stats = stats;
                }
                c.conclude(sink);
                sink.closed(meta, c.info.id);
            }
        }
        self.conns.clear();
    }
}

#[inline(always)]
fn process<S: ConnSink>(
    c: &mut Conn,
    meta: Meta,
    dir: Dir,
    seg: &Segment<'_>,
    sink: &mut S,
    stats: &mut TcpStats,
) {
    let syn = seg.has(SYN);
    let ackf = seg.has(ACK);
    let i = dir.idx();
    if syn {
        if dir == Dir::FromInitiator && !ackf {
            if c.halves[i].known {
                if !c.accepted {
                    emit(c, sink, meta, ConnEvent::SynRetry);
                }
            } else {
                c.halves[i].start(seg.seq.wrapping_add(1));
            }
        } else if dir == Dir::FromResponder && ackf {
            if !c.halves[i].known {
                c.halves[i].start(seg.seq.wrapping_add(1));
            }
            if !c.accepted {
                c.accepted = true;
                emit(c, sink, meta, ConnEvent::Accepted);
            }
        } else if !c.halves[i].known {
            c.halves[i].start(seg.seq.wrapping_add(1));
        }
    }
    if seg.has(RST) {
        if !c.reset {
            c.reset = true;
            // Hand over what is buffered before the reset.
            flush(c, meta, Dir::FromInitiator, u64::MAX, sink, stats);
            flush(c, meta, Dir::FromResponder, u64::MAX, sink, stats);
            if dir == Dir::FromResponder
                && !c.accepted
                && c.info.handshake_seen
                && !c.halves[1].known
            {
                emit(c, sink, meta, ConnEvent::Refused);
            } else {
                emit(c, sink, meta, ConnEvent::Reset { dir });
            }
        }
        return;
    }
    // Mid-stream: the first segment we see of this direction sets its origin.
    if !c.halves[i].known && (seg.wire_len > 0 || seg.has(FIN)) {
        c.halves[i].start(seg.seq);
    }
    // Any data or ACK from the responder after a SYN means it accepted; so does a
    // plain ACK from the initiator (it acknowledges a SYN-ACK the capture missed:
    // a one-sided capture).
    let initiator_acked = dir == Dir::FromInitiator && ackf && !syn && c.halves[i].known;
    if (initiator_acked || (dir == Dir::FromResponder && !syn && c.halves[i].known))
        && !c.accepted
        && c.info.handshake_seen
    {
        c.accepted = true;
        emit(c, sink, meta, ConnEvent::Accepted);
    }
    // The peer's ACK tells us what the other direction delivered: bytes the
    // capture missed (a gap) or holds out of order up to there were sent before
    // this segment, so they are handed over before its own payload (a reply is
    // not read before the command it acknowledges).
    if ackf {
        let o = dir.other().idx();
        // Counted: an ACK past what the capture saw of the other side (its last
        // segments lost before the capture point) counts those bytes as sent; the
        // last number it covers is taken as the FIN that ends a stream-mode
        // transfer (counted when seen), so at worst one byte is counted late.
        let h = &c.halves[o];
        if h.known && h.fin_at.is_none() {
            let end = h.rel(seg.ack) - 1;
            if end > 0 {
                count_unseen_tail(c, meta, dir.other(), end as u64, sink);
            }
        }
        if c.halves[o].known && c.mode == Mode::Stream {
            let mut acked = c.halves[o].rel(seg.ack);
            if let Some(f) = c.halves[o].fin_at {
                acked = acked.min(f as i64);
            }
            if acked > c.halves[o].next as i64 {
                flush(c, meta, dir.other(), acked as u64, sink, stats);
            }
        }
    }
    if seg.wire_len > 0 && c.halves[i].known {
        let seq = if syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        data(
            c,
            meta,
            dir,
            seq,
            seg.payload,
            seg.wire_len as u64,
            sink,
            stats,
        );
    }
    if seg.has(FIN) && c.halves[i].known {
        let seq = if syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let at = c.halves[i].rel(seq) + seg.wire_len as i64;
        if at >= 0 && c.halves[i].fin_at.is_none() {
            c.halves[i].fin_at = Some(at as u64);
            // Counted: the FIN's place ends the sequence span, so bytes the capture
            // lost just before it (the last segments) are counted as sent, as a
            // hole before a later segment is.
            count_unseen_tail(c, meta, dir, at as u64, sink);
        }
        check_fin(c, meta, dir, sink);
    }
}

/// A counted connection's `dir` sent up to `end` (relative), past what the capture
/// saw of it (a FIN's place, or one short of the peer's ACK): the bytes between
/// are counted as sent and lost before the capture point, as a hole before a later
/// segment is; up to [`MAX_UNSEEN_TAIL`], and only once some data was seen.
fn count_unseen_tail<S: ConnSink>(c: &mut Conn, meta: Meta, dir: Dir, end: u64, sink: &mut S) {
    let h = &mut c.halves[dir.idx()];
    if c.mode != Mode::Count || h.max_end == 0 || end <= h.max_end {
        return;
    }
    let len = end - h.max_end;
    if len > MAX_UNSEEN_TAIL {
        return;
    }
    h.max_end = end;
    if end > h.next {
        h.advance_to(end);
    }
    emit(c, sink, meta, ConnEvent::Count { dir, len });
}

fn emit<S: ConnSink>(c: &mut Conn, sink: &mut S, meta: Meta, ev: ConnEvent<'_>) {
    if let Some(m) = sink.event(meta, c.info.id, ev) {
        c.mode = m;
        if m != Mode::Stream {
            for h in &mut c.halves {
                h.ooo.clear();
                h.ooo_bytes = 0;
                h.max_end = h.max_end.max(h.next);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn data<S: ConnSink>(
    c: &mut Conn,
    meta: Meta,
    dir: Dir,
    seq: u32,
    present: &[u8],
    wire: u64,
    sink: &mut S,
    stats: &mut TcpStats,
) {
    let i = dir.idx();
    let start = c.halves[i].rel(seq);
    let end = start + wire as i64;
    match c.mode {
        Mode::Ignore => {}
        Mode::Count => {
            let h = &mut c.halves[i];
            if end > h.max_end as i64 {
                // Sequence space covered, holes included: what the peers moved.
                let from = h.max_end;
                let len = end as u64 - from;
                h.max_end = end as u64;
                if (end as u64) > h.next {
                    h.advance_to(end as u64);
                }
                emit(c, sink, meta, ConnEvent::Count { dir, len });
            } else {
                stats.retransmitted_segments += 1;
            }
        }
        Mode::Stream => {
            let next = c.halves[i].next as i64;
            if end <= next {
                stats.retransmitted_segments += 1;
                // A keep-alive probe repeats the byte before `next` (or none).
                if !(wire <= 1 && end == next) {
                    emit(c, sink, meta, ConnEvent::Resent { dir, len: wire });
                }
                return;
            }
            if start > next {
                // Early: keep it (bounded), the hole may still be filled.
                let h = &mut c.halves[i];
                let keep = present.len().min(wire as usize);
                if h.ooo.len() >= MAX_OOO_SEGMENTS || h.ooo_bytes + keep > MAX_OOO_BYTES {
                    let first = *h.ooo.keys().next().unwrap_or(&(start as u64));
                    flush(c, meta, dir, first.min(start as u64), sink, stats);
                    // After giving up the hole, this segment may now be in order.
                    return data(c, meta, dir, seq, present, wire, sink, stats);
                }
                // A segment already waiting at the same offset with at least as many
                // bytes holds all of this one: replacing it by a shorter
                // retransmission would lose its tail.
                if h.ooo
                    .get(&(start as u64))
                    .is_some_and(|o| o.1.len() >= keep)
                {
                    stats.retransmitted_segments += 1;
                    return;
                }
                let mut v = present.to_vec();
                if (wire as usize) > present.len() {
                    // Remember the cut part by length only: store a marker segment.
                    v.truncate(present.len());
                }
                let prev = h.ooo.insert(start as u64, (meta, v));
                h.ooo_bytes += keep;
                if let Some((_, p)) = prev {
                    h.ooo_bytes -= p.len();
                }
                return;
            }
            // In order, perhaps overlapping what we already have.
            let skip = (next - start) as usize;
            let body = if skip < present.len() {
                &present[skip..]
            } else {
                &[][..]
            };
            let new_end = end as u64;
            let cut = (end - next) as u64 - body.len() as u64;
            c.halves[i].advance_to(new_end);
            if !body.is_empty() {
                c.data_at = c.data_at.max(meta.ts);
                emit(c, sink, meta, ConnEvent::Data { dir, bytes: body });
            }
            if cut > 0 {
                emit(c, sink, meta, ConnEvent::Cut { dir, len: cut });
            }
            drain(c, meta, dir, sink, false);
            check_fin(c, meta, dir, sink);
        }
    }
}

/// Deliver buffered segments that are now in order: at `meta` when a segment
/// just filled the hole before them (they became readable now), or, with
/// `own_time` (the hole was given up as a gap: they were readable when they
/// came), each at the packet that brought it, times never going backwards.
fn drain<S: ConnSink>(c: &mut Conn, meta: Meta, dir: Dir, sink: &mut S, own_time: bool) {
    let i = dir.idx();
    let mut last = Ts(i64::MIN);
    loop {
        if c.mode != Mode::Stream {
            return;
        }
        let h = &mut c.halves[i];
        let Some((&start, _)) = h.ooo.iter().next() else {
            return;
        };
        if start > h.next {
            return;
        }
        let (came, seg) = h.ooo.remove(&start).unwrap_or_default();
        h.ooo_bytes -= seg.len();
        let end = start + seg.len() as u64;
        if end <= h.next {
            continue;
        }
        let skip = (h.next - start) as usize;
        h.advance_to(end);
        let body = seg[skip..].to_vec();
        let at = if own_time {
            last = last.max(came.ts).max(c.data_at);
            Meta {
                ts: last,
                frame: came.frame,
            }
        } else {
            meta
        };
        c.data_at = c.data_at.max(at.ts);
        emit(c, sink, at, ConnEvent::Data { dir, bytes: &body });
    }
}

/// Give up on everything before `upto` (relative offset): report the holes as gaps
/// and deliver the buffered segments in between.
fn flush<S: ConnSink>(
    c: &mut Conn,
    meta: Meta,
    dir: Dir,
    upto: u64,
    sink: &mut S,
    stats: &mut TcpStats,
) {
    let i = dir.idx();
    if !c.halves[i].known || c.mode != Mode::Stream {
        return;
    }
    loop {
        drain(c, meta, dir, sink, true);
        if c.mode != Mode::Stream {
            return;
        }
        let h = &mut c.halves[i];
        // The gap is said where the bytes after it came (the capture's order).
        let (target, at) = match h.ooo.iter().next() {
            Some((&s, (came, _))) if s <= upto => (
                s,
                Meta {
                    ts: came.ts.min(meta.ts),
                    ..*came
                },
            ),
            _ if upto != u64::MAX && upto > h.next => (upto, meta),
            _ => break,
        };
        let len = target - h.next;
        if len == 0 {
            break;
        }
        h.advance_to(target);
        stats.gaps += 1;
        stats.gap_bytes += len;
        emit(c, sink, at, ConnEvent::Gap { dir, len });
    }
    check_fin(c, meta, dir, sink);
}

fn check_fin<S: ConnSink>(c: &mut Conn, meta: Meta, dir: Dir, sink: &mut S) {
    let h = &mut c.halves[dir.idx()];
    if h.fin_done {
        return;
    }
    if let Some(f) = h.fin_at {
        let reached = match c.mode {
            Mode::Stream => h.next >= f,
            _ => true,
        };
        if reached {
            h.fin_done = true;
            emit(c, sink, meta, ConnEvent::Fin { dir });
        }
    }
}

#[cfg(test)]
mod tests;
