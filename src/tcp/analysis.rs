//! TCP figures of one connection, in one pass over its segments with bounded memory.
//!
//! What a TCP expert reads off a data connection: the round trip, what each side
//! negotiated, how much was in flight against the advertised window, what was sent
//! twice, when a receiver closed its window, and when the sender had nothing to send.
//! No packet is stored: counters, two log-scale histograms per side, a small queue of
//! segments awaiting their ACK (for round-trip samples) and a throughput series whose
//! buckets widen when it would grow past [`SERIES_MAX`].
//!
//! The sequence analysis follows the classification Wireshark's TCP dissector
//! documents (keep-alive, fast retransmission, out-of-order, spurious retransmission,
//! retransmission, duplicate ACK, zero window), so counts can be compared with
//! `tcp.analysis.*` fields; it is our own code.

use crate::capture::decode::{ACK, FIN, RST, SYN, Segment, SynOptions};
use crate::model::{Episodes, Spread, TcpEnd, TcpFigures, ThroughputSeries, WindowScale};
use crate::time::Ts;

use super::{Dir, MAX_UNSEEN_TAIL};

/// Throughput series buckets at most (their width doubles when it would grow past).
pub const SERIES_MAX: usize = 256;
/// First width of a throughput bucket.
const BUCKET_NS: i64 = 100_000_000;
/// Segments awaiting their ACK for round-trip samples (more are not sampled).
const RTT_PENDING: usize = 32;
/// A fast retransmission follows the duplicate ACKs within this time (as Wireshark).
const FAST_RETRANS_NS: i64 = 20_000_000;
/// Out-of-order threshold when the handshake's round trip is unknown (as Wireshark).
const OOO_DEFAULT_NS: i64 = 3_000_000;
/// An idle gap (nothing in flight, nothing sent) is at least this long, and at least
/// two round trips.
const IDLE_MIN_NS: i64 = 50_000_000;

/// Handshake facts, kept inline for every connection (a few dozen bytes).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Handshake {
    syn: Option<Ts>,
    synack: Option<Ts>,
    /// The initiator's first ACK after the SYN-ACK, when it acknowledges the
    /// SYN-ACK itself (one acknowledging the responder's data came later: the
    /// capture lost the handshake's ACK, and the time would not be a round trip).
    ack: Option<Ts>,
    /// The SYN-ACK's sequence number, and whether the initiator's first ACK after
    /// it acknowledged more (the handshake's own ACK lost).
    synack_seq: u32,
    ack_lost: bool,
    /// Options offered: initiator's SYN, responder's SYN-ACK.
    opts: [Option<SynOptions>; 2],
}

impl Handshake {
    pub(crate) fn segment(&mut self, ts: Ts, dir: Dir, seg: &Segment<'_>) {
        let syn = seg.has(SYN);
        let ackf = seg.has(ACK);
        match dir {
            Dir::FromInitiator if syn && !ackf => {
                self.syn.get_or_insert(ts);
                if self.opts[0].is_none() {
                    self.opts[0] = seg.syn_options;
                }
            }
            Dir::FromResponder if syn && ackf => {
                if self.synack.is_none() {
                    self.synack_seq = seg.seq;
                }
                self.synack.get_or_insert(ts);
                if self.opts[1].is_none() {
                    self.opts[1] = seg.syn_options;
                }
            }
            Dir::FromInitiator
                if ackf
                    && !syn
                    && self.synack.is_some()
                    && self.ack.is_none()
                    && !self.ack_lost =>
            {
                // Only the first such ACK counts, and only if it is the handshake's.
                if seg.ack == self.synack_seq.wrapping_add(1) {
                    self.ack = Some(ts);
                } else {
                    self.ack_lost = true;
                }
            }
            _ => {}
        }
    }

    /// SYN to the ACK of the SYN-ACK: one full round trip wherever the capture was
    /// taken (near the client the SYN-ACK takes it, near the server the last ACK).
    fn rtt_ns(&self) -> Option<i64> {
        match (self.syn, self.synack, self.ack) {
            (Some(s), Some(sa), Some(a)) if s <= sa && sa <= a => Some(a.0 - s.0),
            _ => None,
        }
    }

    /// The most payload one packet of side `s` (0 initiator, 1 responder) can carry
    /// on the wire: the MSS the other side offered, less the 12 bytes the timestamp
    /// option takes in every segment when both offered it (RFC 7323). Segments
    /// captured larger than this were cut later by the sender's NIC (TSO/GSO) or
    /// merged by the receiver's (GRO, LRO): the capture was taken on an endpoint.
    fn wire_payload(&self, s: usize) -> Option<u32> {
        let mss = u32::from(self.opts[1 - s]?.mss?);
        let ts = self.opts[0].is_some_and(|o| o.timestamps)
            && self.opts[1].is_some_and(|o| o.timestamps);
        Some(mss.saturating_sub(if ts { 12 } else { 0 }).max(1))
    }

    /// Shift counts in force per side; none unless both sides offered one (RFC 7323).
    fn scale(&self) -> Option<[u8; 2]> {
        let a = self.opts[0]?.window_scale?;
        let b = self.opts[1]?.window_scale?;
        Some([a, b])
    }
}

/// A log-scale histogram: four buckets per power of two (about 19 % wide).
#[derive(Debug, Clone)]
struct Hist {
    counts: [u32; 4 * 40],
    n: u64,
    min: u64,
    max: u64,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            counts: [0; 160],
            n: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl Hist {
    fn index(v: u64) -> usize {
        if v < 4 {
            return v as usize;
        }
        let o = 63 - v.leading_zeros() as usize;
        let sub = ((v >> (o - 2)) & 3) as usize;
        (o * 4 + sub).min(159)
    }
    /// The smallest value of a bucket and the next bucket's.
    fn bounds(i: usize) -> (u64, u64) {
        if i < 4 {
            return (i as u64, i as u64 + 1);
        }
        let (o, sub) = (i / 4, (i % 4) as u64);
        let lo = (4 + sub) << (o - 2);
        (lo, lo + (1u64 << (o - 2)))
    }
    fn add(&mut self, v: u64) {
        let i = Self::index(v);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    /// The median, as the middle of its bucket (clamped to what was seen).
    fn median(&self) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let half = self.n.div_ceil(2);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= half {
                let (lo, hi) = Self::bounds(i);
                return Some((lo + (hi - lo) / 2).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// What one side sent and advertised.
#[derive(Debug, Default, Clone)]
struct Side {
    /// Path-MTU messages addressed to this side about its segments.
    too_big: Option<crate::model::TooBig>,
    /// One past the highest sequence number sent (Wireshark's "next sequence").
    next: Option<u32>,
    /// When `next` last moved.
    next_at: Ts,
    /// Highest acknowledgement this side sent.
    last_ack: Option<u32>,
    last_ack_at: Ts,
    /// Window field of this side's previous segment (raw).
    last_window: Option<u16>,
    /// Duplicate ACKs in a row for `last_ack`.
    dup_run: u32,

    payload: u64,
    /// Sequence of the first payload byte seen, and one past the highest.
    data_first: Option<u32>,
    data_end: u32,
    /// Bytes from `data_first` to `data_end`, unwrapped (sequence numbers wrap
    /// every 4 GiB).
    data_span: u64,
    /// Bytes skipped by a segment starting past `next`: sent, but lost before the
    /// capture point (or not captured).
    hole_bytes: u64,
    data_segments: u64,
    /// Largest payload sent, and retransmissions of segments that large (on the
    /// wire: see `wire_segment`).
    max_segment: u32,
    full_size_retransmissions: u64,
    /// Largest payload a packet of this side carried on the wire: segments larger
    /// than the peer's MSS (segmentation offload) count as the MSS.
    wire_segment: u32,
    /// Some segment was larger than the peer's MSS allows.
    offloaded: bool,
    first_retransmission_at: Option<Ts>,
    /// Last segment this side sent (any kind).
    last_seen: Ts,
    retransmissions: u64,
    retransmitted_bytes: u64,
    fast_retransmissions: u64,
    spurious: u64,
    out_of_order: u64,
    keepalives: u64,
    duplicate_acks: u64,

    zero_since: Option<Ts>,
    /// When this side's last zero-window episode ended.
    zero_ended: Option<Ts>,
    zero_episodes: u64,
    zero_total_ns: i64,
    zero_longest_ns: i64,

    /// Advertised window (scaled when scaling is in force).
    window: Hist,
    /// Bytes in flight when this side sent new data.
    in_flight: Hist,

    /// This side's segments awaiting the other side's ACK: (end sequence, time).
    pending: std::collections::VecDeque<(u32, Ts)>,
    srtt_ns: Option<f64>,
    rtt_min_ns: Option<i64>,
    rtt_samples: u64,

    /// First and last time this side sent new data.
    first_data_at: Option<Ts>,
    last_data_at: Option<Ts>,
    /// Last time this side sent payload again (a retransmission of any kind).
    last_resent_at: Option<Ts>,
    /// When a segment without payload first showed this side's sequence number
    /// ahead of every byte seen: bytes sent that never reached the capture.
    unseen_proved_at: Option<Ts>,
    idle_gaps: u64,
    idle_total_ns: i64,
    idle_longest_ns: i64,

    fin_at: Option<Ts>,
    rst_at: Option<Ts>,
}

/// `a < b` in sequence space.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Throughput over time: bytes per bucket, buckets widening to stay bounded.
#[derive(Debug, Clone, Default)]
struct Series {
    start: Option<Ts>,
    width_ns: i64,
    bytes: Vec<u64>,
    /// The current 100 ms bucket and the largest one (peak rate).
    cur_index: i64,
    cur_bytes: u64,
    peak: u64,
    /// The time range of the current 100 ms bucket and of the current series
    /// bucket (`index`): segments inside both need no division.
    fine_range: (i64, i64),
    coarse_range: (i64, i64),
    index: usize,
}

impl Series {
    fn add(&mut self, ts: Ts, n: u64) {
        // Most segments fall in the buckets of the one before.
        let t = ts.0;
        if self.start.is_some()
            && (self.fine_range.0..self.fine_range.1).contains(&t)
            && (self.coarse_range.0..self.coarse_range.1).contains(&t)
        {
            self.cur_bytes += n;
            self.peak = self.peak.max(self.cur_bytes);
            self.bytes[self.index] += n;
            return;
        }
        let start = *self.start.get_or_insert(ts);
        if self.width_ns == 0 {
            self.width_ns = BUCKET_NS;
        }
        let since = (ts.0 - start.0).max(0);
        let fine = since / BUCKET_NS;
        if fine != self.cur_index {
            self.cur_index = fine;
            self.cur_bytes = 0;
        }
        self.cur_bytes += n;
        self.peak = self.peak.max(self.cur_bytes);
        let mut i = (since / self.width_ns) as usize;
        while i >= SERIES_MAX {
            // Merge pairs: the series keeps its span with half the resolution.
            let merged: Vec<u64> = self.bytes.chunks(2).map(|c| c.iter().sum()).collect();
            self.bytes = merged;
            self.width_ns *= 2;
            i = (since / self.width_ns) as usize;
        }
        if self.bytes.len() <= i {
            self.bytes.resize(i + 1, 0);
        }
        self.bytes[i] += n;
        self.index = i;
        let w = self.width_ns;
        // Times near the end of the representable range (a hostile capture's)
        // saturate rather than wrap.
        let at = |k: i64, width: i64| start.0.saturating_add(k.saturating_mul(width));
        self.fine_range = (at(fine, BUCKET_NS), at(fine + 1, BUCKET_NS));
        self.coarse_range = (at(i as i64, w), at(i as i64 + 1, w));
    }
}

/// The running analysis of a data connection, created at its first payload byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct Analysis {
    sides: [Side; 2],
    series: Series,
}

impl Analysis {
    pub(crate) fn segment(&mut self, hs: &Handshake, ts: Ts, dir: Dir, seg: &Segment<'_>) {
        let (s, o) = (dir.idx(), dir.other().idx());
        let syn = seg.has(SYN);
        let fin = seg.has(FIN);
        let rst = seg.has(RST);
        let len = seg.wire_len;
        let seglen = len + u32::from(syn) + u32::from(fin);
        let seq = seg.seq;
        let ooo_ns = hs.rtt_ns().unwrap_or(OOO_DEFAULT_NS);
        // The most one packet of this side carries on the wire (None: MSS unknown).
        let wire_max = hs.wire_payload(s);

        // A segment without payload (an ACK) whose sequence number is ahead of
        // the handshake while none of its side's data reached the capture: that
        // side sent bytes the capture never saw (seen from the receiver, all of
        // them lost before the capture point, as in a path-MTU black hole where
        // only small packets get through). Once some data was seen, later data,
        // the FIN and the peer's ACK say where a lost tail ended (a FIN lost with
        // it would make a bare ACK's number one past the data).
        if seglen == 0 && !rst {
            let me = &mut self.sides[s];
            if me.data_first.is_none()
                && let Some(next) = me.next
                && before(next, seq)
                && u64::from(seq.wrapping_sub(next)) <= MAX_UNSEEN_TAIL
            {
                let unseen = seq.wrapping_sub(next);
                me.hole_bytes += u64::from(unseen);
                me.data_first = Some(next);
                me.data_end = seq;
                me.data_span = u64::from(unseen);
                me.next = Some(seq);
                me.unseen_proved_at.get_or_insert(ts);
            }
        }

        // Sequence: is this segment new, or something sent before?
        let mut new_bytes = 0u64;
        if seglen > 0 {
            let (me, other) = two(&mut self.sides, s, o);
            match me.next {
                Some(next) if before(seq, next) => {
                    if len <= 1 && !syn && !fin && !rst && seq == next.wrapping_sub(1) {
                        me.keepalives += 1;
                    } else {
                        let since_dup = ts.0 - other.last_ack_at.0;
                        if other.dup_run >= 2
                            && other.last_ack == Some(seq)
                            && since_dup < FAST_RETRANS_NS
                        {
                            me.fast_retransmissions += 1;
                            me.retransmissions += 1;
                            me.retransmitted_bytes += u64::from(len);
                        } else if ts.0 - me.next_at.0 < ooo_ns && next != seq.wrapping_add(seglen) {
                            me.out_of_order += 1;
                            // It fills a hole counted as lost before the capture
                            // point: it was not lost, only late (or reordered).
                            let filled = u64::from(len).min(me.hole_bytes);
                            me.hole_bytes -= filled;
                            new_bytes = filled;
                        } else if len > 0
                            && other
                                .last_ack
                                .is_some_and(|a| !before(a, seq.wrapping_add(len)))
                        {
                            me.spurious += 1;
                            me.retransmitted_bytes += u64::from(len);
                        } else {
                            me.retransmissions += 1;
                            me.retransmitted_bytes += u64::from(len);
                        }
                        // Karn: no round-trip sample across a retransmission.
                        me.pending.clear();
                        me.first_retransmission_at.get_or_insert(ts);
                        if len > 0 {
                            me.last_resent_at = Some(ts);
                        }
                        // Full size on the wire: as large as the largest packet
                        // so far, or larger (an offloaded segment is several).
                        let wire = wire_max.map_or(len, |w| len.min(w));
                        if wire >= 576 && wire >= me.wire_segment {
                            me.full_size_retransmissions += 1;
                        }
                    }
                    let end = seq.wrapping_add(seglen);
                    if before(next, end) {
                        new_bytes = u64::from(end.wrapping_sub(next).min(len));
                        me.next = Some(end);
                        me.next_at = ts;
                    }
                }
                Some(_) | None => {
                    // In order, or past a hole (bytes not in the capture).
                    if let Some(next) = me.next {
                        // Ahead of `next` (not before it): less than 2 GiB.
                        me.hole_bytes += u64::from(seq.wrapping_sub(next));
                    }
                    new_bytes = u64::from(len);
                    me.next = Some(seq.wrapping_add(seglen));
                    me.next_at = ts;
                }
            }
        }

        // Acknowledgement and window: what this side says about the other's data.
        let scale = hs.scale();
        {
            let (me, other) = two(&mut self.sides, s, o);
            me.last_seen = ts;
            me.max_segment = me.max_segment.max(len);
            match wire_max {
                Some(w) if len > w => {
                    me.offloaded = true;
                    me.wire_segment = me.wire_segment.max(w);
                }
                _ => me.wire_segment = me.wire_segment.max(len),
            }
            if seg.has(ACK) {
                let dup = len == 0
                    && seg.window != 0
                    && me.last_window == Some(seg.window)
                    && me.next.is_none_or(|n| n == seq)
                    && me.last_ack == Some(seg.ack)
                    && !syn
                    && !fin
                    && !rst;
                if dup {
                    me.duplicate_acks += 1;
                    me.dup_run += 1;
                    me.last_ack_at = ts;
                }
                let advanced = me.last_ack.is_none_or(|a| before(a, seg.ack));
                if advanced {
                    me.last_ack = Some(seg.ack);
                    me.last_ack_at = ts;
                    me.dup_run = 0;
                    // Round-trip sample: the newest of the other side's segments
                    // this ACK covers.
                    let mut sample = None;
                    // New data goes out in sequence order: the covered ones are
                    // at the front.
                    while let Some(&(end, at)) = other.pending.front() {
                        if before(seg.ack, end) {
                            break;
                        }
                        sample = Some(sample.map_or(at, |s: Ts| s.max(at)));
                        other.pending.pop_front();
                    }
                    if let Some(at) = sample {
                        let r = ts.0 - at.0;
                        if r >= 0 {
                            other.rtt_samples += 1;
                            other.rtt_min_ns = Some(other.rtt_min_ns.map_or(r, |m| m.min(r)));
                            other.srtt_ns = Some(match other.srtt_ns {
                                None => r as f64,
                                Some(x) => x + (r as f64 - x) / 8.0,
                            });
                        }
                    }
                }
            }
            if !syn && !rst {
                let raw = u64::from(seg.window);
                let scaled = scale.map_or(raw, |sc| raw << sc[s]);
                me.window.add(scaled);
                if seg.window == 0 && !fin {
                    if me.zero_since.is_none() {
                        me.zero_since = Some(ts);
                        me.zero_episodes += 1;
                    }
                } else if seg.window != 0 {
                    me.close_zero(ts);
                }
            }
            me.last_window = Some(seg.window);
            if fin {
                me.fin_at.get_or_insert(ts);
                // The FIN's place ends what the sender sent: bytes between the last
                // data the capture saw and it were sent and lost before the capture
                // point (counted as a hole above), and belong in the span as a hole
                // in the middle does.
                let fin_pos = seq.wrapping_add(len);
                if me.data_first.is_some()
                    && before(me.data_end, fin_pos)
                    && u64::from(fin_pos.wrapping_sub(me.data_end)) <= MAX_UNSEEN_TAIL
                {
                    me.data_span += u64::from(fin_pos.wrapping_sub(me.data_end));
                    me.data_end = fin_pos;
                }
            }
            if rst {
                me.rst_at.get_or_insert(ts);
            }
        }

        // New data: in flight, idle time before it, throughput, round-trip sample.
        if new_bytes > 0 && len > 0 {
            let rtt = hs
                .rtt_ns()
                .or(self.sides[s].srtt_ns.map(|x| x as i64))
                .unwrap_or(0);
            let (me, other) = two(&mut self.sides, s, o);
            let prev_end = me.next.map(|n| n.wrapping_sub(seglen));
            let acked_all = match (prev_end, other.last_ack) {
                (Some(p), Some(a)) => !before(a, p),
                _ => false,
            };
            if let Some(last) = me.last_data_at {
                let quiet_from = if acked_all {
                    last.max(other.last_ack_at)
                } else {
                    last
                };
                let gap = ts.0 - quiet_from.0;
                // A receiver with a closed window held the sender back: not idle.
                let receiver_closed =
                    other.zero_since.is_some() || other.zero_ended.is_some_and(|e| e > quiet_from);
                if acked_all && !receiver_closed && gap >= IDLE_MIN_NS.max(rtt.saturating_mul(2)) {
                    me.idle_gaps += 1;
                    me.idle_total_ns = me.idle_total_ns.saturating_add(gap);
                    me.idle_longest_ns = me.idle_longest_ns.max(gap);
                }
            }
            me.first_data_at.get_or_insert(ts);
            me.last_data_at = Some(ts);
            me.payload += new_bytes;
            let end = seq.wrapping_add(len);
            if me.data_first.is_none() {
                me.data_first = Some(seq);
                me.data_end = end;
                me.data_span = u64::from(len);
            } else if before(me.data_end, end) {
                // Counted as it advances: the span goes past 4 GiB, the
                // sequence numbers wrap.
                me.data_span += u64::from(end.wrapping_sub(me.data_end));
                me.data_end = end;
            } else if let Some(first) = me.data_first.filter(|&f| before(seq, f)) {
                // An earlier segment that came late (the first one reordered).
                me.data_span += u64::from(first.wrapping_sub(seq));
                me.data_first = Some(seq);
            }
            me.data_segments += 1;
            if let (Some(n), Some(a)) = (me.next, other.last_ack) {
                me.in_flight.add(u64::from(n.wrapping_sub(a).min(1 << 30)));
            }
            if me.pending.len() < RTT_PENDING {
                me.pending.push_back((seq.wrapping_add(len), ts));
            }
            self.series.add(ts, new_bytes);
        }
    }

    /// An ICMP "fragmentation needed" / "packet too big" message (at `meta`) to the
    /// side that sent in `dir`, from `from`, naming `mtu`.
    pub(crate) fn too_big(
        &mut self,
        meta: super::Meta,
        dir: Dir,
        from: std::net::IpAddr,
        mtu: u32,
    ) {
        let t = self.sides[dir.idx()]
            .too_big
            .get_or_insert(crate::model::TooBig {
                messages: 0,
                mtu,
                from,
                ts: meta.ts,
                frame: meta.frame,
            });
        t.messages += 1;
        if mtu > 0 && (t.mtu == 0 || mtu < t.mtu) {
            t.mtu = mtu;
        }
    }

    /// The figures, with the initiator as the client (see [`TcpFigures::swap_sides`]).
    pub(crate) fn figures(&self, hs: &Handshake, start: Ts, end: Ts) -> TcpFigures {
        // Read in place (a side is large: cloning both cost more than the rest).
        let sides = &self.sides;
        // Zero-window episodes still open at the end count up to it.
        let zero = sides.each_ref().map(|s| s.zero_closed_at(end));
        // The side that sent more, bytes the capture never saw included (a
        // receiver's capture of a black hole sees none of the sender's).
        let sent = |x: &Side| x.payload.max(x.data_span);
        let snd = usize::from(sent(&sides[1]) > sent(&sides[0]));
        let (tx, rx) = (&sides[snd], &sides[1 - snd]);
        let mut f = handshake_figures(hs);
        let who = |i: usize| if i == 0 { "client" } else { "server" };
        f.sender = (sent(tx) > 0).then(|| who(snd));
        f.unseen_proved_at = tx.unseen_proved_at.filter(|_| tx.data_segments == 0);
        f.too_big = tx.too_big.clone();
        f.ack_rtt_ms = tx.srtt_ns.map(ms);
        f.ack_rtt_min_ms = tx.rtt_min_ns.map(|x| ms(x as f64));
        f.data_segments = sides.iter().map(|s| s.data_segments).sum();
        f.retransmissions = sides.iter().map(|s| s.retransmissions).sum();
        f.fast_retransmissions = sides.iter().map(|s| s.fast_retransmissions).sum();
        f.spurious_retransmissions = sides.iter().map(|s| s.spurious).sum();
        f.retransmitted_bytes = sides.iter().map(|s| s.retransmitted_bytes).sum();
        f.out_of_order = sides.iter().map(|s| s.out_of_order).sum();
        f.duplicate_acks = sides.iter().map(|s| s.duplicate_acks).sum();
        f.keepalives = sides.iter().map(|s| s.keepalives).sum();
        f.zero_window = Episodes {
            episodes: sides.iter().map(|s| s.zero_episodes).sum(),
            total_s: secs(zero[0].0.saturating_add(zero[1].0)),
            longest_s: secs(zero[0].1.max(zero[1].1)),
        };
        f.bytes_in_flight = Spread {
            min: (tx.in_flight.n > 0).then_some(tx.in_flight.min),
            median: tx.in_flight.median(),
            max: (tx.in_flight.n > 0).then_some(tx.in_flight.max),
        };
        f.receive_window = Spread {
            min: (rx.window.n > 0).then_some(rx.window.min),
            median: rx.window.median(),
            max: (rx.window.n > 0).then_some(rx.window.max),
        };
        f.idle = Episodes {
            episodes: tx.idle_gaps,
            total_s: secs(tx.idle_total_ns),
            longest_s: secs(tx.idle_longest_ns),
        };
        f.sending_s = tx
            .first_data_at
            .zip(tx.last_data_at)
            .map(|(a, b)| a.secs_until(b));
        // Until the last payload sent, a retransmission of a lost tail included
        // (seen from the sender's side it comes after the last new byte).
        let data_end = match (tx.last_data_at, tx.last_resent_at) {
            (Some(l), Some(r)) => Some(l.max(r)),
            (l, r) => l.or(r),
        };
        let span = self
            .series
            .start
            .zip(data_end)
            .map(|(a, b)| a.secs_until(b))
            .unwrap_or(0.0);
        // Every byte the sender sent once, retransmitted or not (the sequence span):
        // a segment lost before the capture point is seen only as its retransmission.
        f.payload_bytes = tx.data_span.max(tx.payload);
        f.lost_before_capture_bytes = tx.hole_bytes;
        // The sender's last segment lost before the capture with its FIN (which
        // ends a stream-mode transfer, and often rides on the last data): the
        // receiver's ACK past the last byte seen says how far the data went, the
        // FIN taking one number.
        let mut acked_past = false;
        if tx.fin_at.is_none()
            && let (Some(_), Some(k)) = (tx.data_first, rx.last_ack)
            && before(tx.data_end, k)
            && u64::from(k.wrapping_sub(tx.data_end)) <= MAX_UNSEEN_TAIL + 1
        {
            let unseen = u64::from(k.wrapping_sub(tx.data_end)) - 1;
            f.payload_bytes += unseen;
            f.lost_before_capture_bytes += unseen;
            acked_past = true;
        }
        f.max_segment = tx.max_segment;
        f.wire_segment = tx.offloaded.then_some(tx.wire_segment);
        f.resent_until = tx
            .last_resent_at
            .filter(|r| tx.last_data_at.is_none_or(|l| *r > l));
        f.full_size_retransmissions = tx.full_size_retransmissions;
        // From the end back (what is not acknowledged yet is less than 2 GiB),
        // so a transfer past 4 GiB counts right.
        f.acked_bytes = match (tx.data_first, rx.last_ack) {
            (Some(_), Some(k)) if before(k, tx.data_end) => tx
                .data_span
                .saturating_sub(u64::from(tx.data_end.wrapping_sub(k))),
            (Some(_), Some(_)) if acked_past => f.payload_bytes,
            (Some(_), Some(_)) => tx.data_span,
            _ => 0,
        }
        .min(f.payload_bytes);
        f.receiver_heard_after_retransmission =
            tx.first_retransmission_at.map(|t| rx.last_seen > t);
        f.throughput_bps.average =
            (span > 0.0).then(|| (f.payload_bytes as f64 * 8.0 / span).round());
        // The busiest 100 ms, for transfers that lasted that long.
        f.throughput_bps.peak_100ms =
            (self.series.peak > 0 && span >= 0.1).then_some(self.series.peak as f64 * 80.0);
        f.series = ThroughputSeries {
            bucket_ms: (self.series.width_ns / 1_000_000) as u64,
            bytes: self.series.bytes.clone(),
        };
        f.end = ends(sides, start);
        f
    }
}

impl Side {
    /// The zero-window total and longest episode (ns) with an episode still open
    /// closed at `ts`, without changing the side.
    fn zero_closed_at(&self, ts: Ts) -> (i64, i64) {
        match self.zero_since {
            Some(since) => {
                let d = (ts.0 - since.0).max(0);
                (
                    self.zero_total_ns.saturating_add(d),
                    self.zero_longest_ns.max(d),
                )
            }
            None => (self.zero_total_ns, self.zero_longest_ns),
        }
    }

    fn close_zero(&mut self, ts: Ts) {
        if let Some(since) = self.zero_since.take() {
            self.zero_ended = Some(ts);
            let d = (ts.0 - since.0).max(0);
            self.zero_total_ns = self.zero_total_ns.saturating_add(d);
            self.zero_longest_ns = self.zero_longest_ns.max(d);
        }
    }
}

fn ends(sides: &[Side; 2], start: Ts) -> TcpEnd {
    let rel = |t: Option<Ts>| t.map(|t| secs(t.0 - start.0));
    let (c, l) = (&sides[0], &sides[1]);
    TcpEnd {
        fin_client_s: rel(c.fin_at),
        fin_server_s: rel(l.fin_at),
        rst_client_s: rel(c.rst_at),
        rst_server_s: rel(l.rst_at),
    }
}

/// What the handshake alone tells (for a connection that carried no data, too).
pub(crate) fn handshake_figures(hs: &Handshake) -> TcpFigures {
    let (c, l) = (hs.opts[0], hs.opts[1]);
    let both = |f: fn(&SynOptions) -> bool| match (hs.opts[0], hs.opts[1]) {
        (Some(a), Some(b)) => Some(f(&a) && f(&b)),
        _ => None,
    };
    TcpFigures {
        rtt_ms: hs.rtt_ns().map(|n| ms(n as f64)),
        mss: match (
            hs.opts[0].and_then(|o| o.mss),
            hs.opts[1].and_then(|o| o.mss),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        window_scale: WindowScale {
            client: c.and_then(|o| o.window_scale),
            server: l.and_then(|o| o.window_scale),
        },
        window_scaling: both(|o| o.window_scale.is_some()),
        sack: both(|o| o.sack_permitted),
        timestamps: both(|o| o.timestamps),
        ..TcpFigures::default()
    }
}

/// Nanoseconds as milliseconds, to the microsecond.
fn ms(ns: f64) -> f64 {
    (ns / 1e3).round() / 1e3
}

/// Nanoseconds as seconds, to the microsecond.
fn secs(ns: i64) -> f64 {
    (ns as f64 / 1e3).round() / 1e6
}

/// Two distinct sides, mutably.
fn two(sides: &mut [Side; 2], a: usize, b: usize) -> (&mut Side, &mut Side) {
    let [x, y] = sides;
    if a == 0 && b == 1 { (x, y) } else { (y, x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_median_is_within_a_bucket() {
        let mut h = Hist::default();
        for v in [1000u64, 1000, 1000, 50_000, 2] {
            h.add(v);
        }
        let m = h.median().unwrap();
        assert!((850..=1200).contains(&m), "median {m}");
        assert_eq!(h.max, 50_000);
        assert_eq!(h.min, 2);
        for v in [0u64, 1, 3, 4, 5, 7, 8, 100, 1 << 40, u64::MAX] {
            let i = Hist::index(v);
            let (lo, hi) = Hist::bounds(i);
            if i < 159 {
                assert!(lo <= v && v < hi, "{v} not in bucket {i} [{lo},{hi})");
            }
        }
    }

    /// Segments at times anywhere in the representable range (a capture may
    /// claim any timestamp), in any order, with any flags: no arithmetic
    /// overflows (test builds check it) and the figures come out. Found by the
    /// pipeline fuzzer: a handshake whose round trip spanned most of the range
    /// doubled it past `i64::MAX`.
    #[test]
    fn extreme_times_do_not_overflow() {
        let times = [
            0,
            1,
            1_000_000,
            i64::MAX / 2,
            i64::MAX / 2 + 7,
            i64::MAX - 1,
            i64::MAX,
        ];
        let flags = [SYN, SYN | ACK, ACK, ACK, ACK | FIN, ACK, RST | ACK];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let payload = [0u8; 1400];
        for _round in 0..200 {
            let mut hs = Handshake::default();
            let mut a = Analysis::default();
            let mut seq = [1000u32, 5000];
            let mut last = Ts(0);
            let (mut fed, mut data_segments) = (0u64, 0u64);
            for k in 0..40 {
                let ts = Ts(times[next(times.len())]);
                last = last.max(ts);
                let d = if next(2) == 0 {
                    Dir::FromInitiator
                } else {
                    Dir::FromResponder
                };
                let fl = if k < 3 {
                    flags[k]
                } else {
                    flags[next(flags.len())]
                };
                let len = if fl & SYN != 0 {
                    0
                } else {
                    [0, 1, 1400][next(3)]
                };
                let i = d.idx();
                let seg = Segment {
                    src: ([10, 0, 0, 1], 1).into(),
                    dst: ([10, 0, 0, 2], 2).into(),
                    seq: seq[i],
                    ack: seq[1 - i],
                    flags: fl,
                    urgent: 0,
                    payload: &payload[..len],
                    wire_len: len as u32,
                    window: [0, 1, 65535][next(3)] as u16,
                    syn_options: (fl & SYN != 0).then_some(SynOptions {
                        mss: Some(1460),
                        window_scale: Some(7),
                        sack_permitted: true,
                        timestamps: false,
                    }),
                    ip_id: None,
                };
                hs.segment(ts, d, &seg);
                a.segment(&hs, ts, d, &seg);
                fed += len as u64;
                data_segments += u64::from(len > 0);
                // Sometimes a retransmission (same sequence number again).
                if next(4) != 0 {
                    seq[i] = seq[i].wrapping_add(len as u32 + u32::from(fl & (SYN | FIN) != 0));
                }
            }
            let f = a.figures(&hs, Ts(0), last);
            // What the sender sent anew is at most what was fed.
            assert!(f.payload_bytes <= fed, "{} > {fed}", f.payload_bytes);
            assert!(f.data_segments <= data_segments);
            assert!(f.rtt_ms.is_none_or(|r| r >= 0.0 && r.is_finite()));
        }
    }

    /// A sender with segmentation offload, captured on it: 7240-byte segments
    /// in the capture, 1448-byte packets on the wire (MSS 1460, timestamps), and
    /// 1448-byte retransmissions never acknowledged. They are full size on the
    /// wire; without offload (1448-byte segments) the figures say the same, and
    /// no `wire_segment` is given.
    #[test]
    fn offloaded_segments_count_as_wire_packets() {
        let opts = Some(SynOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: true,
        });
        let payload = vec![0u8; 7240];
        let run = |big: usize| {
            let mut hs = Handshake::default();
            let mut a = Analysis::default();
            let seg = |from: Dir, seq: u32, ack: u32, flags: u8, len: usize| Segment {
                src: if from == Dir::FromInitiator {
                    ([10, 0, 0, 1], 40000).into()
                } else {
                    ([10, 0, 0, 2], 20).into()
                },
                dst: if from == Dir::FromInitiator {
                    ([10, 0, 0, 2], 20).into()
                } else {
                    ([10, 0, 0, 1], 40000).into()
                },
                seq,
                ack,
                flags,
                urgent: 0,
                payload: &payload[..len],
                wire_len: len as u32,
                window: 1000,
                syn_options: if flags & SYN != 0 { opts } else { None },
                ip_id: None,
            };
            let mut t = 1_000_000_000i64;
            let mut feed = |d: Dir, s: Segment<'_>| {
                t += 1_000_000;
                hs.segment(Ts(t), d, &s);
                a.segment(&hs, Ts(t), d, &s);
            };
            let (c, l) = (Dir::FromInitiator, Dir::FromResponder);
            feed(c, seg(c, 100, 0, SYN, 0));
            feed(l, seg(l, 5000, 101, SYN | ACK, 0));
            feed(c, seg(c, 101, 5001, ACK, 0));
            // The responder sends 14480 bytes in segments of `big`, none arrive.
            let mut seq = 5001u32;
            while seq < 5001 + 14480 {
                feed(l, seg(l, seq, 101, ACK, big));
                seq += big as u32;
            }
            // The initiator keeps acknowledging nothing; the first packet is sent
            // again four times, one wire packet each time.
            for _ in 0..4 {
                feed(c, seg(c, 101, 5001, ACK, 0));
                feed(l, seg(l, 5001, 101, ACK, 1448));
            }
            a.figures(&hs, Ts(0), Ts(t))
        };
        let offloaded = run(7240);
        assert_eq!(offloaded.max_segment, 7240);
        assert_eq!(offloaded.wire_segment, Some(1448));
        assert_eq!(offloaded.full_size_retransmissions, 4);
        assert_eq!(offloaded.retransmitted_bytes, 4 * 1448);
        let plain = run(1448);
        assert_eq!(plain.max_segment, 1448);
        assert_eq!(plain.wire_segment, None);
        assert_eq!(plain.full_size_retransmissions, 4);
        // Loss weighed in wire packets: one captured 2896-byte retransmission of
        // an offloading sender is two packets.
        let mut f = offloaded.clone();
        f.retransmissions = 1;
        f.retransmitted_bytes = 2896;
        assert_eq!(crate::diagnose::speed::wire_retransmissions(&f), 2);
        f.wire_segment = None;
        assert_eq!(crate::diagnose::speed::wire_retransmissions(&f), 1);
    }

    #[test]
    fn series_stays_bounded_and_keeps_every_byte() {
        let mut s = Series::default();
        let mut total = 0;
        for k in 0..100_000i64 {
            s.add(Ts(k * 7_000_000), 1000);
            total += 1000;
        }
        assert!(s.bytes.len() <= SERIES_MAX);
        assert_eq!(s.bytes.iter().sum::<u64>(), total);
        // 100 ms holds 15 segments at most (7 ms apart).
        assert_eq!(s.peak, 15_000);
    }
}
