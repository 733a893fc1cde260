use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;
use crate::capture::decode::{ACK, FIN, PSH, RST, SYN, Segment};

#[derive(Default)]
struct Rec {
    mode: Option<Mode>,
    data: [Vec<u8>; 2],
    counted: [u64; 2],
    gaps: [u64; 2],
    cuts: [u64; 2],
    events: Vec<String>,
}

impl ConnSink for Rec {
    fn open(&mut self, _m: Meta, info: &ConnInfo) -> Mode {
        self.events.push(format!(
            "open {} hs={}",
            info.responder, info.handshake_seen
        ));
        self.mode.unwrap_or(Mode::Stream)
    }
    fn event(&mut self, _m: Meta, _c: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        match ev {
            ConnEvent::Data { dir, bytes } => self.data[dir.idx()].extend_from_slice(bytes),
            ConnEvent::Count { dir, len } => self.counted[dir.idx()] += len,
            ConnEvent::Gap { dir, len } => {
                self.gaps[dir.idx()] += len;
                self.events.push(format!("gap {len}"));
            }
            ConnEvent::Cut { dir, len } => self.cuts[dir.idx()] += len,
            other => self.events.push(format!("{other:?}")),
        }
        None
    }
}

fn a() -> SocketAddr {
    "10.0.0.1:40000".parse().unwrap()
}
fn b() -> SocketAddr {
    "10.0.0.2:21".parse().unwrap()
}

fn seg<'x>(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &'x [u8],
) -> Segment<'x> {
    Segment {
        src,
        dst,
        seq,
        ack,
        flags,
        urgent: 0,
        payload,
        wire_len: payload.len() as u32,
        window: 65535,
        syn_options: None,
        ip_id: None,
    }
}

fn m() -> Meta {
    Meta::default()
}

#[test]
fn handshake_data_fin() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    t.segment(m(), &seg(b(), a(), 500, 101, SYN | ACK, b""), &mut r);
    t.segment(
        m(),
        &seg(b(), a(), 501, 101, ACK | PSH, b"220 hi\r\n"),
        &mut r,
    );
    t.segment(
        m(),
        &seg(a(), b(), 101, 509, ACK | PSH, b"USER x\r\n"),
        &mut r,
    );
    t.segment(m(), &seg(a(), b(), 109, 509, ACK | FIN, b""), &mut r);
    assert_eq!(r.data[0], b"USER x\r\n");
    assert_eq!(r.data[1], b"220 hi\r\n");
    assert!(r.events.iter().any(|e| e == "Accepted"));
    assert!(r.events.iter().any(|e| e.contains("Fin")));
}

#[test]
fn refused_and_retried_syn() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    // The kernel retries a SYN a second later.
    t.segment(at(1.0), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    t.segment(at(1.1), &seg(b(), a(), 0, 101, RST | ACK, b""), &mut r);
    assert_eq!(
        r.events[1..],
        ["SynRetry".to_string(), "Refused".to_string()]
    );
}

fn at(secs: f64) -> Meta {
    Meta {
        ts: crate::time::Ts::from_secs_nanos(0, (secs * 1e9) as i64),
        frame: 0,
    }
}

/// The same SYN twice at once is one packet captured twice (two capture points),
/// not a retransmission.
#[test]
fn duplicated_packets_count_once() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    for p in [
        seg(a(), b(), 100, 0, SYN, b""),
        seg(b(), a(), 500, 101, SYN | ACK, b""),
        seg(b(), a(), 501, 101, ACK | PSH, b"220 hi\r\n"),
    ] {
        t.segment(m(), &p, &mut r);
        t.segment(m(), &p, &mut r);
    }
    assert!(!r.events.iter().any(|e| e == "SynRetry"), "{:?}", r.events);
    assert_eq!(r.data[1], b"220 hi\r\n");
    assert_eq!(t.stats.duplicates, 3);
    // A retransmission a second later is not a duplicate.
    t.segment(
        at(1.0),
        &seg(b(), a(), 501, 101, ACK | PSH, b"220 hi\r\n"),
        &mut r,
    );
    assert_eq!(t.stats.duplicates, 3);
    // Nor are duplicate ACKs, TCP's own: the other side's segments come between.
    t.segment(at(1.1), &seg(a(), b(), 101, 509, ACK, b""), &mut r);
    t.segment(
        at(1.1),
        &seg(b(), a(), 520, 101, ACK | PSH, b"x\r\n"),
        &mut r,
    );
    t.segment(at(1.1), &seg(a(), b(), 101, 509, ACK, b""), &mut r);
    assert_eq!(t.stats.duplicates, 3);
    // A bare ACK right after itself is a copy.
    t.segment(at(1.1), &seg(a(), b(), 101, 509, ACK, b""), &mut r);
    assert_eq!(t.stats.duplicates, 4);
}

/// A file holding the same connection twice (concatenated: time goes back): the
/// second copy is dropped, not taken for a new connection.
#[test]
fn replayed_connection_is_dropped() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    let conn = [
        (0.0, seg(a(), b(), 100, 0, SYN, b"")),
        (0.1, seg(b(), a(), 500, 101, SYN | ACK, b"")),
        (0.2, seg(b(), a(), 501, 101, ACK | PSH, b"220 hi\r\n")),
        (0.3, seg(a(), b(), 101, 509, ACK | FIN, b"")),
        (0.4, seg(b(), a(), 509, 102, ACK | FIN, b"")),
    ];
    for (ts, p) in &conn {
        t.segment(at(*ts), p, &mut r);
    }
    for (ts, p) in &conn {
        t.segment(at(*ts), p, &mut r);
    }
    let opens = r.events.iter().filter(|e| e.starts_with("open")).count();
    assert_eq!(opens, 1, "{:?}", r.events);
    assert_eq!(t.stats.replayed_connections, 1);
    // A new connection on the same ports later (a new ISN) is a new connection.
    t.segment(at(5.0), &seg(a(), b(), 90_000, 0, SYN, b""), &mut r);
    let opens = r.events.iter().filter(|e| e.starts_with("open")).count();
    assert_eq!(opens, 2, "{:?}", r.events);
}

#[test]
fn ack_past_a_hole_reports_gap_and_resumes() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    t.segment(m(), &seg(b(), a(), 500, 101, SYN | ACK, b""), &mut r);
    t.segment(m(), &seg(a(), b(), 101, 501, ACK, b"AAAA"), &mut r);
    // 105..109 missing
    t.segment(m(), &seg(a(), b(), 109, 501, ACK, b"CCCC"), &mut r);
    assert_eq!(r.data[0], b"AAAA");
    t.segment(m(), &seg(b(), a(), 501, 113, ACK, b""), &mut r);
    assert_eq!(r.data[0], b"AAAACCCC");
    assert_eq!(r.gaps[0], 4);
}

#[test]
fn snaplen_cut_is_reported_not_delivered() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    let mut s = seg(a(), b(), 101, 0, ACK, b"USER");
    s.wire_len = 10;
    t.segment(m(), &s, &mut r);
    t.segment(m(), &seg(a(), b(), 111, 0, ACK, b"PWD\r\n"), &mut r);
    assert_eq!(r.data[0], b"USERPWD\r\n");
    assert_eq!(r.cuts[0], 6);
}

#[test]
fn count_mode_counts_sequence_space_once() {
    let mut t = FlowTable::new();
    let mut r = Rec {
        mode: Some(Mode::Count),
        ..Default::default()
    };
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    t.segment(m(), &seg(a(), b(), 101, 0, ACK, &[0; 1000]), &mut r);
    t.segment(m(), &seg(a(), b(), 2101, 0, ACK, &[0; 1000]), &mut r);
    t.segment(m(), &seg(a(), b(), 1101, 0, ACK, &[0; 1000]), &mut r);
    t.segment(m(), &seg(a(), b(), 101, 0, ACK, &[0; 1000]), &mut r);
    assert_eq!(r.counted[0], 3000);
    assert!(r.data[0].is_empty());
}

#[test]
fn midstream_guesses_roles_by_port() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(b(), a(), 7000, 0, ACK, b"230 ok\r\n"), &mut r);
    assert_eq!(r.events[0], "open 10.0.0.2:21 hs=false");
    assert_eq!(r.data[1], b"230 ok\r\n");
}

/// Split `stream` into segments, shuffle, duplicate and overlap them: the
/// delivered stream must equal the original, whatever the order and the ISN.
fn check_permutation(stream: &[u8], cuts: &[usize], order: &[usize], dups: &[usize], isn: u32) {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.push(0);
    bounds.push(stream.len());
    bounds.sort_unstable();
    bounds.dedup();
    let mut pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    // Overlapping retransmissions: a piece spanning two neighbours.
    let base = pieces.len();
    for d in dups {
        if base > 1 {
            let i = d % (base - 1);
            pieces.push((pieces[i].0, pieces[i + 1].1));
        }
    }
    let n = pieces.len();
    let mut idx: Vec<usize> = (0..n).collect();
    for (i, o) in order.iter().enumerate() {
        if n > 0 {
            idx.swap(i % n, o % n);
        }
    }
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), isn, 0, SYN, b""), &mut r);
    for i in idx {
        let (s, e) = pieces[i];
        let seq = isn.wrapping_add(1).wrapping_add(s as u32);
        t.segment(m(), &seg(a(), b(), seq, 0, PSH, &stream[s..e]), &mut r);
    }
    t.finish(m(), &mut r);
    assert_eq!(r.data[0], stream);
    assert_eq!(r.gaps[0], 0);
}

proptest! {
    #[test]
    fn any_permutation_reassembles(
        stream in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        order in proptest::collection::vec(any::<usize>(), 0..40),
        dups in proptest::collection::vec(any::<usize>(), 0..5),
        isn in prop_oneof![any::<u32>(), Just(u32::MAX - 10), Just(u32::MAX)],
    ) {
        check_permutation(&stream, &cuts, &order, &dups, isn);
    }
}

#[test]
fn fin_after_wrap() {
    check_permutation(&[7u8; 100], &[30, 60], &[2, 0], &[], u32::MAX - 40);
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), u32::MAX - 1, 0, SYN, b""), &mut r);
    t.segment(m(), &seg(a(), b(), u32::MAX, 0, 0, b"ab"), &mut r);
    t.segment(m(), &seg(a(), b(), 1, 0, FIN, b"cd"), &mut r);
    assert_eq!(r.data[0], b"abcd");
    assert!(r.events.iter().any(|e| e.contains("Fin")));
}

/// What a direction delivered, in order: data and gaps, adjacent pieces merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Data(Vec<u8>),
    Gap(u64),
}

fn push_piece(out: &mut Vec<Piece>, p: Piece) {
    match (out.last_mut(), p) {
        (Some(Piece::Data(d)), Piece::Data(more)) => d.extend_from_slice(&more),
        (Some(Piece::Gap(g)), Piece::Gap(more)) => *g += more,
        (_, p) => out.push(p),
    }
}

/// Records the initiator's direction as ordered pieces.
#[derive(Default)]
struct Ordered {
    pieces: Vec<Piece>,
}

impl ConnSink for Ordered {
    fn open(&mut self, _m: Meta, _info: &ConnInfo) -> Mode {
        Mode::Stream
    }
    fn event(&mut self, _m: Meta, _c: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        match ev {
            ConnEvent::Data {
                dir: Dir::FromInitiator,
                bytes,
            } => push_piece(&mut self.pieces, Piece::Data(bytes.to_vec())),
            ConnEvent::Gap {
                dir: Dir::FromInitiator,
                len,
            } => push_piece(&mut self.pieces, Piece::Gap(len)),
            _ => {}
        }
        None
    }
}

/// The naive model: one flag per byte of the stream. A byte is delivered when every
/// byte before it was delivered or given up; an ACK from the peer gives up every
/// hole before the acknowledged offset; the end of input gives up the holes before
/// the last byte received.
struct Naive<'s> {
    stream: &'s [u8],
    have: Vec<bool>,
    next: usize,
    out: Vec<Piece>,
}

impl<'s> Naive<'s> {
    fn new(stream: &'s [u8]) -> Self {
        Naive {
            stream,
            have: vec![false; stream.len()],
            next: 0,
            out: Vec::new(),
        }
    }
    fn give(&mut self, i: usize) {
        let p = if self.have[i] {
            Piece::Data(vec![self.stream[i]])
        } else {
            Piece::Gap(1)
        };
        push_piece(&mut self.out, p);
    }
    fn drain(&mut self) {
        while self.next < self.stream.len() && self.have[self.next] {
            self.give(self.next);
            self.next += 1;
        }
    }
    fn segment(&mut self, s: usize, e: usize) {
        for i in s.max(self.next)..e {
            self.have[i] = true;
        }
        self.drain();
    }
    fn ack(&mut self, upto: usize) {
        while self.next < upto {
            self.give(self.next);
            self.next += 1;
        }
        self.drain();
    }
    fn finish(&mut self) {
        let last = self.have.iter().rposition(|&h| h).map_or(0, |i| i + 1);
        self.ack(last);
    }
}

/// Segments of `stream` (some dropped: the capture missed them), sent in a shuffled
/// order with duplicates and overlapping retransmissions, interleaved with ACKs from
/// the peer (which give up holes). The reassembler must deliver what the naive
/// model delivers, data and gaps alike.
fn check_against_model(
    stream: &[u8],
    cuts: &[usize],
    order: &[usize],
    dups: &[(usize, usize)],
    drops: &[usize],
    acks: &[(usize, usize)],
    isn: u32,
) {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.push(0);
    bounds.push(stream.len());
    bounds.sort_unstable();
    bounds.dedup();
    let mut pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let base = pieces.len();
    // Retransmissions spanning several neighbours, starting where one of them starts.
    for &(i, span) in dups {
        if base > 0 {
            let i = i % base;
            let j = (i + span % 4).min(base - 1);
            pieces.push((pieces[i].0, pieces[j].1));
        }
    }
    let n = pieces.len();
    let mut idx: Vec<usize> = (0..n).collect();
    for (i, o) in order.iter().enumerate() {
        if n > 0 {
            idx.swap(i % n, o % n);
        }
    }
    let dropped: Vec<usize> = drops.iter().filter(|_| n > 0).map(|d| d % n).collect();
    // Actions: send piece idx[k], then perhaps an ACK.
    let mut t = FlowTable::new();
    let mut r = Ordered::default();
    let mut model = Naive::new(stream);
    t.segment(m(), &seg(a(), b(), isn, 0, SYN, b""), &mut r);
    t.segment(
        m(),
        &seg(b(), a(), 9000, isn.wrapping_add(1), SYN | ACK, b""),
        &mut r,
    );
    for (k, &i) in idx.iter().enumerate() {
        if !dropped.contains(&i) {
            let (s, e) = pieces[i];
            let seq = isn.wrapping_add(1).wrapping_add(s as u32);
            t.segment(
                m(),
                &seg(a(), b(), seq, 9001, ACK | PSH, &stream[s..e]),
                &mut r,
            );
            model.segment(s, e);
        }
        for &(at, upto) in acks {
            if n > 0 && at % n == k {
                let upto = upto % (stream.len() + 1);
                let ack = isn.wrapping_add(1).wrapping_add(upto as u32);
                t.segment(m(), &seg(b(), a(), 9001, ack, ACK, b""), &mut r);
                model.ack(upto);
            }
        }
    }
    t.finish(m(), &mut r);
    model.finish();
    assert_eq!(r.pieces, model.out);
}

proptest! {
    #[test]
    fn reassembly_with_drops_and_acks_matches_naive_model(
        stream in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
        order in proptest::collection::vec(any::<usize>(), 0..30),
        dups in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..6),
        drops in proptest::collection::vec(any::<usize>(), 0..5),
        acks in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..5),
        isn in prop_oneof![any::<u32>(), Just(u32::MAX - 10), Just(u32::MAX)],
    ) {
        check_against_model(&stream, &cuts, &order, &dups, &drops, &acks, isn);
    }
}

/// Regression: an early segment waiting for a hole was replaced by a shorter
/// retransmission starting at the same offset, and its tail was reported as a gap.
#[test]
fn shorter_retransmission_does_not_replace_a_waiting_segment() {
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    // 101..105 missing for now; 105..113 arrives, then a shorter copy of its start.
    t.segment(m(), &seg(a(), b(), 105, 0, PSH, b"CCCCDDDD"), &mut r);
    t.segment(m(), &seg(a(), b(), 105, 0, PSH, b"CCCC"), &mut r);
    t.segment(m(), &seg(a(), b(), 101, 0, PSH, b"AAAA"), &mut r);
    t.finish(m(), &mut r);
    assert_eq!(r.data[0], b"AAAACCCCDDDD");
    assert_eq!(r.gaps[0], 0);
}

#[test]
fn closed_connections_are_remembered_in_few_bytes() {
    // Tens of thousands are kept; the table's pages are a cost (issue 23).
    assert!(std::mem::size_of::<(super::PackedKey, super::ClosedRange)>() <= 80);
    let a: SocketAddr = "10.0.0.1:21".parse().unwrap();
    let b: SocketAddr = "[a00:1::]:21".parse().unwrap();
    let c: SocketAddr = "10.0.0.2:21".parse().unwrap();
    // IPv4 and the IPv6 address with the same first bytes stay apart.
    assert_ne!(super::PackedKey::of(&(a, c)), super::PackedKey::of(&(b, c)));
}

/// An ICMP error answers a connection attempt only when it quotes the opening
/// SYN (its sequence number, when quoted) of a connection not accepted yet, sent
/// by the initiator.
#[test]
fn icmp_errors_answer_only_the_opening_syn() {
    use crate::capture::decode::IcmpError;
    let err = |src: SocketAddr, dst: SocketAddr, seq: Option<u32>| IcmpError {
        from: "192.0.2.9".parse().unwrap(),
        v6: false,
        code: 13,
        too_big: None,
        src,
        dst,
        seq,
    };
    let unreachable = |r: &Rec| {
        r.events
            .iter()
            .filter(|e| e.starts_with("Unreachable"))
            .count()
    };
    let mut t = FlowTable::new();
    let mut r = Rec::default();
    // Before any SYN: no connection to answer.
    t.icmp(m(), &err(a(), b(), Some(100)), &mut r);
    assert_eq!(r.events.len(), 0);
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    // Another sequence number, the other direction: not about this SYN.
    t.icmp(m(), &err(a(), b(), Some(7)), &mut r);
    t.icmp(m(), &err(b(), a(), Some(100)), &mut r);
    assert_eq!(unreachable(&r), 0, "{:?}", r.events);
    // The SYN's own number, or no number quoted.
    t.icmp(m(), &err(a(), b(), Some(100)), &mut r);
    t.icmp(m(), &err(a(), b(), None), &mut r);
    assert_eq!(unreachable(&r), 2, "{:?}", r.events);
    assert!(
        r.events.iter().any(|e| e.contains("code: 13")),
        "{:?}",
        r.events
    );
    // Accepted after all (a SYN sent again got through): later errors are stale.
    t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut r);
    t.segment(m(), &seg(b(), a(), 500, 101, SYN | ACK, b""), &mut r);
    t.icmp(m(), &err(a(), b(), Some(100)), &mut r);
    assert_eq!(unreachable(&r), 2, "{:?}", r.events);
    assert!(r.events.iter().any(|e| e == "Accepted"), "{:?}", r.events);
}

/// Path-MTU messages about a data connection's segments are counted for the side
/// that sent them (the smallest MTU named kept, an unnamed one ignored), and
/// reach the connection's figures only when they are about its sender.
#[test]
fn path_mtu_messages_are_counted_in_the_figures() {
    use crate::capture::decode::IcmpError;
    #[derive(Default)]
    struct Figs(Vec<crate::model::TcpFigures>);
    impl ConnSink for Figs {
        fn open(&mut self, _m: Meta, _i: &ConnInfo) -> Mode {
            Mode::Count
        }
        fn event(&mut self, _m: Meta, _c: ConnId, _e: ConnEvent<'_>) -> Option<Mode> {
            None
        }
        fn figures(&mut self, _c: ConnId, f: crate::model::TcpFigures) {
            self.0.push(f);
        }
    }
    let too_big = |src: SocketAddr, dst: SocketAddr, mtu: u32| IcmpError {
        from: "10.0.9.1".parse().unwrap(),
        v6: false,
        code: 4,
        too_big: Some(mtu),
        src,
        dst,
        seq: Some(501),
    };
    let run = |about_sender: bool| {
        let mut t = FlowTable::new();
        let mut s = Figs::default();
        let data = vec![7u8; 1400];
        t.segment(m(), &seg(a(), b(), 100, 0, SYN, b""), &mut s);
        t.segment(m(), &seg(b(), a(), 500, 101, SYN | ACK, b""), &mut s);
        t.segment(m(), &seg(a(), b(), 101, 501, ACK, b""), &mut s);
        t.segment(m(), &seg(b(), a(), 501, 101, ACK, &data), &mut s);
        let (src, dst) = if about_sender { (b(), a()) } else { (a(), b()) };
        for mtu in [1400, 1000, 0, 1200] {
            t.icmp(m(), &too_big(src, dst, mtu), &mut s);
        }
        t.finish(m(), &mut s);
        s.0.pop().expect("figures")
    };
    let f = run(true);
    let tb = f.too_big.expect("counted");
    assert_eq!((tb.messages, tb.mtu), (4, 1000));
    assert_eq!(tb.from, "10.0.9.1".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(run(false).too_big, None, "about the receiver's segments");
}
