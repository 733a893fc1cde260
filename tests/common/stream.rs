//! A capture written packet by packet straight to a file, for the big cases (the
//! [`super::builder::Pcap`] builder keeps every packet in memory). Ethernet/IPv4/TCP
//! built with etherparse, written by the one capture writer
//! (`ftpscope::capture::write`: pcap, nanosecond times); each TCP direction's
//! sequence numbers are kept here. `pcap_header`/`pcap_record` write raw headers
//! with any values, for malformed files.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use ftpscope::capture::write::{Format, Header, LINKTYPE_ETHERNET, Writer};
use ftpscope::time::Ts;

use super::builder::{ACK, FIN, PSH, Pcap, SYN};

/// A pcap file header (little-endian, microseconds).
pub fn pcap_header(snaplen: u32, linktype: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&linktype.to_le_bytes());
    v
}

/// A pcap record header claiming `caplen` bytes captured, `orig` on the wire.
pub fn pcap_record(v: &mut Vec<u8>, ts_us: u64, caplen: u32, orig: u32) {
    v.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    v.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    v.extend_from_slice(&caplen.to_le_bytes());
    v.extend_from_slice(&orig.to_le_bytes());
}

/// An Ethernet/IPv4/TCP frame, built by the shared builder.
pub fn frame(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    Pcap::new().tcp_frame(src, dst, seq, ack, flags, payload)
}

pub struct PcapFile {
    out: Writer<std::io::BufWriter<std::fs::File>>,
    pub ts_us: u64,
    /// Next sequence number per (from, to).
    seq: HashMap<(SocketAddr, SocketAddr), u32>,
}

impl PcapFile {
    pub fn create(path: &Path) -> PcapFile {
        let f = std::fs::File::create(path).expect("create a capture file");
        let header = Header {
            linktype: LINKTYPE_ETHERNET,
            snaplen: 65535,
            interface: None,
            application: "ftpscope tests",
        };
        let out = Writer::new(
            std::io::BufWriter::with_capacity(1 << 20, f),
            Format::Pcap,
            &header,
        )
        .expect("write");
        PcapFile {
            out,
            ts_us: 1_700_000_000_000_000,
            seq: HashMap::new(),
        }
    }

    /// One segment with explicit numbers; 10 µs after the previous packet.
    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let f = frame(src, dst, seq, ack, flags, payload);
        self.ts_us += 10;
        let ts = Ts(self.ts_us as i64 * 1000);
        self.out.packet(ts, &f, f.len() as u32).expect("write");
    }

    fn next(&self, a: SocketAddr, b: SocketAddr) -> u32 {
        self.seq.get(&(a, b)).copied().unwrap_or(1)
    }

    /// Three-way handshake from `client` to `server`.
    pub fn open(&mut self, client: SocketAddr, server: SocketAddr) {
        self.segment(client, server, 0, 0, SYN, b"");
        self.segment(server, client, 0, 1, SYN | ACK, b"");
        self.segment(client, server, 1, 1, ACK, b"");
        self.seq.insert((client, server), 1);
        self.seq.insert((server, client), 1);
    }

    /// `data` from `a` to `b` in segments of at most 1400 bytes.
    pub fn send(&mut self, a: SocketAddr, b: SocketAddr, data: &[u8]) {
        for part in data.chunks(1400) {
            let (s, r) = (self.next(a, b), self.next(b, a));
            self.segment(a, b, s, r, ACK | PSH, part);
            self.seq.insert((a, b), s.wrapping_add(part.len() as u32));
        }
    }

    /// FIN from each side, then the last ACK.
    pub fn close(&mut self, a: SocketAddr, b: SocketAddr) {
        let (s, r) = (self.next(a, b), self.next(b, a));
        self.segment(a, b, s, r, FIN | ACK, b"");
        self.segment(b, a, r, s.wrapping_add(1), FIN | ACK, b"");
        self.segment(a, b, s.wrapping_add(1), r.wrapping_add(1), ACK, b"");
    }

    pub fn finish(mut self) {
        self.out.flush().expect("flush");
    }
}
