//! A small builder of synthetic captures for tests that need a situation no lab run
//! produces on demand (every byte in its own segment, NAT-rewritten addresses, IP
//! fragments, VLAN tags...). Packets are well-formed Ethernet/IPv4/IPv6/TCP, built
//! by `ftpscope::capture::write` (its segments are checked against etherparse's
//! builder there; IP fragments here are built with etherparse; no checksum code here).
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

use etherparse::{IpFragOffset, IpNumber, Ipv4Header, Ipv6Header};
pub use ftpscope::capture::write::{ACK, FIN, PSH, RST, SYN};
use ftpscope::capture::write::{tcp_packet, tcp_segment};

#[derive(Default)]
pub struct Pcap {
    pub records: Vec<(u64, Vec<u8>)>,
    pub ts_us: u64,
    /// 802.1Q tags to put on every frame.
    pub vlans: Vec<u16>,
    /// Add an IPv6 hop-by-hop extension header.
    pub v6_hop_by_hop: bool,
}

pub struct Flow {
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub seq_a: u32,
    pub seq_b: u32,
}

/// A TCP header and `payload`, its checksum right for `src` to `dst`
/// (from [`ftpscope::capture::write`], checked against etherparse there): for a segment put in IP
/// fragments by [`Pcap::ip_frame`].
pub fn tcp_bytes(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    tcp_segment(src, dst, seq, ack, flags, payload)
}

impl Pcap {
    pub fn new() -> Self {
        Pcap {
            ts_us: 1_700_000_000_000_000,
            ..Default::default()
        }
    }

    fn ether(&self, ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        for (i, v) in self.vlans.iter().enumerate() {
            let tpid: u16 = if i == 0 && self.vlans.len() > 1 {
                0x88a8
            } else {
                0x8100
            };
            p.extend_from_slice(&tpid.to_be_bytes());
            p.extend_from_slice(&v.to_be_bytes());
        }
        p.extend_from_slice(&ethertype.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// IPv6 packet `ip` with a hop-by-hop extension header (next header TCP,
    /// length 0, PadN) put after its fixed header, when asked for.
    fn hop_by_hop(&self, mut ip: Vec<u8>) -> Vec<u8> {
        if !self.v6_hop_by_hop || ip[0] >> 4 != 6 {
            return ip;
        }
        let len = u16::from_be_bytes([ip[4], ip[5]]) + 8;
        ip[4..6].copy_from_slice(&len.to_be_bytes());
        ip[6] = 0;
        ip.splice(40..40, [6, 0, 1, 4, 0, 0, 0, 0]);
        ip
    }

    /// An IP packet carrying `l4` (protocol 6) from src to dst, as an Ethernet
    /// frame; `frag`: (offset, more fragments) of an IP fragment. Headers are
    /// etherparse's (IPv4 checksum included).
    pub fn ip_frame(
        &self,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
        ident: u16,
        frag: Option<(usize, bool)>,
    ) -> Vec<u8> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut h =
                    Ipv4Header::new(l4.len() as u16, 64, IpNumber::TCP, s.octets(), d.octets())
                        .expect("the payload fits an IPv4 packet");
                h.identification = ident;
                let (off, more) = frag.unwrap_or((0, false));
                h.dont_fragment = frag.is_none();
                h.more_fragments = more;
                h.fragment_offset =
                    IpFragOffset::try_new((off / 8) as u16).expect("a fragment offset");
                h.header_checksum = h.calc_header_checksum();
                let mut ip = h.to_bytes().to_vec();
                ip.extend_from_slice(l4);
                self.ether(0x0800, &ip)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let h = Ipv6Header {
                    payload_length: l4.len() as u16,
                    next_header: IpNumber::TCP,
                    hop_limit: 64,
                    source: s.octets(),
                    destination: d.octets(),
                    ..Default::default()
                };
                let mut ip = h.to_bytes().to_vec();
                ip.extend_from_slice(l4);
                let ip = self.hop_by_hop(ip);
                self.ether(0x86dd, &ip)
            }
            _ => panic!("mixed address families"),
        }
    }

    pub fn push(&mut self, frame: Vec<u8>) {
        self.ts_us += 100;
        self.records.push((self.ts_us, frame));
    }

    /// One TCP segment, built by [`ftpscope::capture::write::tcp_packet`]
    /// (checksums right), in an Ethernet frame with the tags asked for.
    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let f = self.tcp_frame(src, dst, seq, ack, flags, payload);
        self.push(f);
    }

    /// The frame [`segment`](Self::segment) adds.
    pub fn tcp_frame(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let ip = self.hop_by_hop(tcp_packet(src, dst, seq, ack, flags, payload));
        let ethertype = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        self.ether(ethertype, &ip)
    }

    pub fn open(&mut self, a: SocketAddr, b: SocketAddr) -> Flow {
        self.segment(a, b, 1000, 0, SYN, b"");
        self.segment(b, a, 5000, 1001, SYN | ACK, b"");
        self.segment(a, b, 1001, 5001, ACK, b"");
        Flow {
            a,
            b,
            seq_a: 1001,
            seq_b: 5001,
        }
    }

    /// A connection attempt answered by RST.
    pub fn refused(&mut self, a: SocketAddr, b: SocketAddr) {
        self.segment(a, b, 1000, 0, SYN, b"");
        self.segment(b, a, 0, 1001, RST | ACK, b"");
    }

    pub fn send_a(&mut self, f: &mut Flow, data: &[u8]) {
        self.segment(f.a, f.b, f.seq_a, f.seq_b, ACK | PSH, data);
        f.seq_a = f.seq_a.wrapping_add(data.len() as u32);
        self.segment(f.b, f.a, f.seq_b, f.seq_a, ACK, b"");
    }

    pub fn send_b(&mut self, f: &mut Flow, data: &[u8]) {
        self.segment(f.b, f.a, f.seq_b, f.seq_a, ACK | PSH, data);
        f.seq_b = f.seq_b.wrapping_add(data.len() as u32);
        self.segment(f.a, f.b, f.seq_a, f.seq_b, ACK, b"");
    }

    /// Every byte in its own segment.
    pub fn trickle_a(&mut self, f: &mut Flow, data: &[u8]) {
        for b in data {
            self.send_a(f, &[*b]);
        }
    }

    pub fn trickle_b(&mut self, f: &mut Flow, data: &[u8]) {
        for b in data {
            self.send_b(f, &[*b]);
        }
    }

    pub fn close(&mut self, f: &mut Flow) {
        self.segment(f.a, f.b, f.seq_a, f.seq_b, FIN | ACK, b"");
        self.segment(f.b, f.a, f.seq_b, f.seq_a + 1, FIN | ACK, b"");
        self.segment(f.a, f.b, f.seq_a + 1, f.seq_b + 1, ACK, b"");
    }

    /// The file: pcap, microseconds, little-endian, Ethernet.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (ts, p) in &self.records {
            v.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
            v.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
            v.extend_from_slice(&(p.len() as u32).to_le_bytes());
            v.extend_from_slice(&(p.len() as u32).to_le_bytes());
            v.extend_from_slice(p);
        }
        v
    }

    /// The same packets as big-endian pcap with nanosecond timestamps.
    pub fn bytes_be_nanos(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_3c4du32.to_be_bytes());
        v.extend_from_slice(&2u16.to_be_bytes());
        v.extend_from_slice(&4u16.to_be_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_be_bytes());
        v.extend_from_slice(&1u32.to_be_bytes());
        for (ts, p) in &self.records {
            v.extend_from_slice(&((ts / 1_000_000) as u32).to_be_bytes());
            v.extend_from_slice(&(((ts % 1_000_000) * 1000) as u32).to_be_bytes());
            v.extend_from_slice(&(p.len() as u32).to_be_bytes());
            v.extend_from_slice(&(p.len() as u32).to_be_bytes());
            v.extend_from_slice(p);
        }
        v
    }
}

pub fn sa(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}
