//! `tcp::FlowTable` fed segments built from the input: any order, overlaps,
//! duplicates, sequence wrap-around, SYN/FIN/RST anywhere, snaplen cuts, mode
//! switches by the sink.
//!
//! Oracle: every payload byte carries the low byte of its own sequence number, so
//! whatever the reassembler delivers for one direction (data, gaps and cuts in
//! order) must be one contiguous run of sequence space: each delivered byte must be
//! the previous one plus one (mod 256), counting the bytes of gaps and cuts. No
//! byte is delivered twice or out of order, and each direction ends (Fin) at most
//! once; every connection opened is closed exactly once.
//!
//! A record whose flags have URG, ECE and CWR all set is an ICMP error instead
//! (about the segment the record describes; "packet too big" when its length byte
//! is odd): an `Unreachable` event may only come for a connection not accepted.
//!
//! Input: records of 10 bytes:
//! `[endpoints] [flags] [seq: 4] [ack: 2] [len] [cut]`
//! endpoints: bits 0-1 source, bits 2-3 destination (of 4 addresses), bit 4 seq is
//! absolute, bit 5 ack is absolute, bits 6-7 mode change requested by the sink.
#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;

use ftpscope::capture::decode::{IcmpError, SYN, Segment};
use ftpscope::tcp::{ConnEvent, ConnId, ConnInfo, ConnSink, FlowTable, Meta, Mode};
use ftpscope::time::Ts;
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Half {
    /// Sequence number (low byte) the next delivered byte must carry; unknown at first.
    expect: Option<u8>,
    fin: bool,
}

#[derive(Default)]
struct Sink {
    modes: Vec<Mode>,
    next_mode: usize,
    halves: HashMap<(ConnId, usize), Half>,
    open: HashMap<ConnId, Mode>,
    closed: Vec<ConnId>,
    accepted: std::collections::HashSet<ConnId>,
    events: u64,
}

impl Sink {
    fn mode(&mut self) -> Option<Mode> {
        if self.modes.is_empty() {
            return None;
        }
        self.next_mode += 1;
        self.modes
            .get(self.next_mode % (self.modes.len() * 4))
            .copied()
    }
}

impl ConnSink for Sink {
    fn open(&mut self, _m: Meta, info: &ConnInfo) -> Mode {
        assert!(!self.open.contains_key(&info.id), "conn id reused");
        assert_ne!(info.initiator, info.responder);
        let m = self.mode().unwrap_or(Mode::Stream);
        self.open.insert(info.id, m);
        m
    }

    fn event(&mut self, _m: Meta, c: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        assert!(self.open.contains_key(&c), "event on a connection not open");
        self.events += 1;
        let mode = self.open[&c];
        match ev {
            ConnEvent::Data { dir, bytes } => {
                assert_eq!(mode, Mode::Stream, "data delivered outside stream mode");
                assert!(!bytes.is_empty());
                // Bytes beyond a FIN are still delivered (a hostile or broken peer
                // sent them); they must be in order all the same.
                let h = self.halves.entry((c, dir.idx())).or_default();
                let mut e = h.expect.unwrap_or(bytes[0]);
                for &b in bytes {
                    assert_eq!(b, e, "delivered bytes are not contiguous");
                    e = e.wrapping_add(1);
                }
                h.expect = Some(e);
            }
            ConnEvent::Gap { dir, len } | ConnEvent::Cut { dir, len } => {
                assert!(len > 0);
                let h = self.halves.entry((c, dir.idx())).or_default();
                h.expect = h.expect.map(|e| e.wrapping_add(len as u8));
            }
            ConnEvent::Count { dir, len } => {
                assert!(len > 0);
                let h = self.halves.entry((c, dir.idx())).or_default();
                // Counting loses the position: restart the oracle when back to streaming.
                h.expect = None;
            }
            ConnEvent::Fin { dir } => {
                let h = self.halves.entry((c, dir.idx())).or_default();
                assert!(!h.fin, "two fins");
                h.fin = true;
            }
            ConnEvent::Accepted => {
                self.accepted.insert(c);
            }
            ConnEvent::Unreachable(_) => {
                assert!(!self.accepted.contains(&c), "ICMP rejection after acceptance");
            }
            _ => {}
        }
        let m = self.mode();
        if let Some(m) = m {
            self.open.insert(c, m);
            if m != Mode::Stream {
                for d in 0..2 {
                    if let Some(h) = self.halves.get_mut(&(c, d)) {
                        h.expect = None;
                    }
                }
            }
        }
        m
    }

    fn closed(&mut self, _m: Meta, c: ConnId) {
        assert!(
            self.open.remove(&c).is_some(),
            "closed twice or never opened"
        );
        self.halves.remove(&(c, 0));
        self.halves.remove(&(c, 1));
        self.closed.push(c);
    }
}

fn addr(i: u8) -> SocketAddr {
    match i & 3 {
        0 => "10.0.0.1:40000".parse().unwrap(),
        1 => "10.0.0.2:21".parse().unwrap(),
        2 => "[2001:db8::1]:21".parse().unwrap(),
        _ => "10.0.0.1:21".parse().unwrap(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut t = FlowTable::new();
    let mut sink = Sink::default();
    // Mode schedule from the first byte: mostly streaming.
    if data.first().is_some_and(|m| m & 0x80 != 0) {
        sink.modes = vec![Mode::Stream, Mode::Count, Mode::Ignore];
    }
    let mut payload = Vec::new();
    // Last sequence number sent, per (src, dst).
    let mut last: HashMap<(u8, u8), u32> = HashMap::new();
    let mut frame = 0;
    for r in data.get(1..).unwrap_or_default().chunks_exact(10) {
        let (s, d) = (r[0] & 3, (r[0] >> 2) & 3);
        let (src, dst) = (addr(s), addr(d));
        if src == dst || src.is_ipv4() != dst.is_ipv4() {
            continue;
        }
        let flags = r[1];
        let raw = u32::from_le_bytes([r[2], r[3], r[4], r[5]]);
        let base = *last.get(&(s, d)).unwrap_or(&1000);
        let seq = if r[0] & 0x10 != 0 {
            raw
        } else {
            // A small step back or forth from the last segment.
            base.wrapping_add((raw as i16) as i32 as u32)
        };
        let back = *last.get(&(d, s)).unwrap_or(&5000);
        let a16 = u16::from_le_bytes([r[6], r[7]]);
        let ack = if r[0] & 0x20 != 0 {
            u32::from(a16) << 16
        } else {
            back.wrapping_add((a16 as i16) as i32 as u32)
        };
        if flags & 0xe0 == 0xe0 {
            frame += 1;
            let e = IcmpError {
                from: if r[9] & 1 == 0 { dst.ip() } else { src.ip() },
                v6: src.is_ipv6(),
                code: r[9] >> 1,
                too_big: (r[8] & 1 == 1).then_some(raw),
                src,
                dst,
                seq: (r[9] & 2 == 0).then_some(seq),
            };
            let meta = Meta {
                ts: Ts(frame as i64 * 1000),
                frame,
            };
            t.icmp(meta, &e, &mut sink);
            continue;
        }
        let len = r[8] as usize * 3;
        let cut = r[9] as u32;
        // Each byte is the low byte of its sequence number (SYN takes one).
        let first = if flags & SYN != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        payload.clear();
        payload.extend((0..len as u32).map(|k| first.wrapping_add(k) as u8));
        let present = len.saturating_sub(cut as usize);
        let seg = Segment {
            src,
            dst,
            seq,
            ack,
            flags,
            urgent: 0,
            payload: &payload[..present],
            // Invariant of the decoder: wire_len >= payload.len().
            wire_len: len as u32,
            window: 65535,
            syn_options: None,
            ip_id: None,
        };
        last.insert((s, d), first.wrapping_add(len as u32));
        frame += 1;
        t.segment(
            Meta {
                ts: Ts(frame as i64 * 1000),
                frame,
            },
            &seg,
            &mut sink,
        );
        assert!(t.len() <= 6);
    }
    t.finish(Meta::default(), &mut sink);
    assert!(t.is_empty());
    assert!(sink.open.is_empty(), "a connection was never closed");
    let _ = t.stats;
});
