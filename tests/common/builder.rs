//! A small builder of synthetic captures for tests that need a situation no lab run
//! produces on demand (every byte in its own segment, NAT-rewritten addresses, IP
//! fragments, VLAN tags...). Packets are well-formed Ethernet/IPv4/IPv6/TCP.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH: u8 = 0x08;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;

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

fn csum(h: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in h.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub fn tcp_header(src: u16, dst: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&src.to_be_bytes());
    t[2..4].copy_from_slice(&dst.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t
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

    /// An IP packet carrying `l4` (protocol 6) from src to dst, as an Ethernet frame.
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
                let mut ip = vec![0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
                ip[4..6].copy_from_slice(&ident.to_be_bytes());
                let (off, more) = frag.unwrap_or((0, false));
                let fo = (off / 8) as u16
                    | if more { 0x2000 } else { 0 }
                    | if frag.is_none() { 0x4000 } else { 0 };
                ip[6..8].copy_from_slice(&fo.to_be_bytes());
                ip[8] = 64;
                ip[9] = 6;
                ip[12..16].copy_from_slice(&s.octets());
                ip[16..20].copy_from_slice(&d.octets());
                let c = csum(&ip);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                ip.extend_from_slice(l4);
                self.ether(0x0800, &ip)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut ext = Vec::new();
                let mut next = 6u8;
                if self.v6_hop_by_hop {
                    // Hop-by-hop: next header TCP, length 0 (8 bytes), PadN.
                    ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
                    next = 0;
                }
                let mut ip = vec![0u8; 40];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&((ext.len() + l4.len()) as u16).to_be_bytes());
                ip[6] = next;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&s.octets());
                ip[24..40].copy_from_slice(&d.octets());
                ip.extend_from_slice(&ext);
                ip.extend_from_slice(l4);
                self.ether(0x86dd, &ip)
            }
            _ => panic!("mixed address families"),
        }
    }

    pub fn push(&mut self, frame: Vec<u8>) {
        self.ts_us += 100;
        self.records.push((self.ts_us, frame));
    }

    pub fn segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut l4 = tcp_header(src.port(), dst.port(), seq, ack, flags);
        l4.extend_from_slice(payload);
        let f = self.ip_frame(src.ip(), dst.ip(), &l4, 1, None);
        self.push(f);
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
