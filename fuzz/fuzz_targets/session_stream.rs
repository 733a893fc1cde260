//! The session tracker driven through the flow table by structured traffic: two
//! control connections on port 21, data connections on the ports a fuzzer-written
//! PASV/EPSV/PORT/EPRT would announce, handshakes, gaps, snaplen cuts, FIN and RST
//! anywhere. The payload bytes come straight from the input, so the fuzzer writes
//! the FTP dialogue itself. Then diagnosis and both reports, in both languages.
//!
//! Input: records `[op] [len] [len bytes of payload]`:
//! * op bits 0-2: connection (of 8), bit 3: from the responder;
//! * op bits 4-6: 0-3 data, 4 handshake, 5 FIN, 6 RST, 7 skip `len` bytes (a gap);
//! * op bit 7: the snaplen cut the second half of the payload.
#![no_main]

use std::net::SocketAddr;

use ftpscope::capture::decode::{ACK, FIN, PSH, RST, SYN, Segment};
use ftpscope::ftp::catalog::Lang;
use ftpscope::model::Capture;
use ftpscope::report::{self, ViewOptions};
use ftpscope::session::{Tracker, TrackerConfig};
use ftpscope::tcp::{FlowTable, Meta};
use ftpscope::time::Ts;
use libfuzzer_sys::fuzz_target;

/// (initiator, responder) of each connection.
const CONNS: [(&str, &str); 8] = [
    ("10.0.0.1:40000", "10.0.0.2:21"),
    ("10.0.0.1:40001", "10.0.0.2:21"),
    // Passive data: PASV (10,0,0,2,4,1) / EPSV (|||1025|).
    ("10.0.0.1:40100", "10.0.0.2:1025"),
    ("10.0.0.1:40101", "10.0.0.2:50000"),
    // Active data: the server connects from port 20 to PORT 10,0,0,1,4,2.
    ("10.0.0.2:20", "10.0.0.1:1026"),
    ("10.0.0.2:20", "10.0.0.1:40000"),
    // IPv6 control and data (EPRT |2|2001:db8::1|1027|).
    ("[2001:db8::1]:40002", "[2001:db8::2]:21"),
    ("[2001:db8::2]:20", "[2001:db8::1]:1027"),
];

struct Wire {
    flows: FlowTable,
    tracker: Tracker,
    frame: u64,
}

impl Wire {
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        wire: usize,
    ) {
        self.frame += 1;
        let seg = Segment {
            src,
            dst,
            seq,
            ack,
            flags,
            urgent: 0,
            payload,
            wire_len: wire as u32,
            window: 65535,
            syn_options: None,
            ip_id: None,
        };
        let meta = Meta {
            ts: Ts(1_700_000_000_000_000_000 + self.frame as i64 * 1_000_000),
            frame: self.frame,
        };
        self.flows.segment(meta, &seg, &mut self.tracker);
    }
}

fuzz_target!(|data: &[u8]| {
    let conns: Vec<(SocketAddr, SocketAddr)> = CONNS
        .iter()
        .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
        .collect();
    // Next sequence number per connection and direction.
    let mut seq = [[1000u32, 7000u32]; 8];
    let cfg = TrackerConfig {
        show_passwords: data.first().is_some_and(|b| b & 1 == 1),
        ..TrackerConfig::default()
    };
    let mut sessions = Vec::new();
    let mut rest = data.get(1..).unwrap_or_default();
    let mut w = Wire {
        flows: FlowTable::new(),
        tracker: Tracker::new(cfg),
        frame: 0,
    };
    while rest.len() >= 2 {
        let op = rest[0];
        let len = (rest[1] as usize).min(rest.len() - 2);
        let payload = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let c = (op & 7) as usize;
        let from_resp = op & 8 != 0;
        let (ini, resp) = conns[c];
        let (src, dst) = if from_resp { (resp, ini) } else { (ini, resp) };
        let (d, o) = if from_resp { (1, 0) } else { (0, 1) };
        match (op >> 4) & 7 {
            0..=3 => {
                let present = if op & 0x80 != 0 {
                    &payload[..len / 2]
                } else {
                    payload
                };
                let s = seq[c][d];
                w.send(src, dst, s, seq[c][o], ACK | PSH, present, len);
                seq[c][d] = s.wrapping_add(len as u32);
            }
            4 => {
                seq[c] = [1000 + w.frame as u32, 7000 + w.frame as u32];
                let (a, b) = (seq[c][0], seq[c][1]);
                w.send(ini, resp, a.wrapping_sub(1), 0, SYN, &[], 0);
                if len % 4 == 1 {
                    // Refused.
                    w.send(resp, ini, 0, a, RST | ACK, &[], 0);
                } else {
                    w.send(resp, ini, b.wrapping_sub(1), a, SYN | ACK, &[], 0);
                    w.send(ini, resp, a, b, ACK, &[], 0);
                }
            }
            5 => {
                let s = seq[c][d];
                w.send(src, dst, s, seq[c][o], FIN | ACK, &[], 0);
                seq[c][d] = s.wrapping_add(1);
            }
            6 => {
                w.send(src, dst, seq[c][d], seq[c][o], RST | ACK, &[], 0);
            }
            _ => {
                seq[c][d] = seq[c][d].wrapping_add(len as u32);
            }
        }
        if w.tracker.has_finished() {
            sessions.extend(w.tracker.take_finished());
        }
    }
    let Wire {
        mut flows,
        mut tracker,
        ..
    } = w;
    flows.finish(Meta::default(), &mut tracker);
    tracker.finish();
    sessions.extend(tracker.take_finished());
    assert_eq!(tracker.open_sessions(), 0);
    sessions.sort_by_key(|s| s.id);
    let failed: Vec<_> = tracker.failed_logins.iter().copied().collect();
    let capture = Capture {
        sessions,
        stats: Default::default(),
        findings: ftpscope::diagnose::capture(&failed),
    };
    let mut out = Vec::new();
    for lang in [Lang::En, Lang::Zh] {
        let opts = ViewOptions {
            lang,
            explain: true,
        };
        report::text::write(&mut out, &capture, "fuzz", opts).unwrap();
        out.clear();
        report::json::write(&mut out, &capture, lang).unwrap();
    }
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<serde_json::Value>(line).expect("each JSON line parses");
    }
});
