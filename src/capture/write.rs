//! Writing captures: the one pcap/pcapng writer (`live -w`, the proxy's
//! `--record`, test fixtures) and synthesised TCP packets (the tests check them
//! against etherparse's packet builder).
//!
//! Invariants: [`Writer::packet`] hands each packet to the underlying writer in
//! one `write_all` call (a whole pcap record or pcapng block), and
//! [`Writer::packet_parts`] in `write_vectored` calls of all its parts, so a
//! writer that keeps whole blocks and takes every slice of a vectored write (the
//! proxy's `RecordFile`) never sees half of one. Times are
//! written with nanosecond resolution (pcap magic `a1b23c4d`, pcapng `if_tsresol`
//! 9). The engine never writes: this is for sources and tests.

use std::io::{self, IoSlice, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;

use super::reader::{DSB_TYPE, SECRETS_TLS_KEYLOG};
use crate::time::Ts;

pub use super::decode::{ACK, FIN, PSH, RST, SYN};

/// `LINKTYPE_RAW`: packets begin with the IP header.
pub const LINKTYPE_RAW: u32 = 101;
/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Format of a capture [`Writer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// pcapng, nanosecond timestamps (`if_tsresol` 9).
    Pcapng,
    /// Classic pcap with nanosecond timestamps (magic `a1b23c4d`).
    Pcap,
}

impl Format {
    /// pcap when the name ends in `.pcap`, pcapng otherwise.
    pub fn for_path(p: &Path) -> Format {
        match p.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcap") => Format::Pcap,
            _ => Format::Pcapng,
        }
    }
}

/// What a [`Writer`] puts in its file header.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    /// The file's link type (`LINKTYPE_*`, not a libpcap DLT).
    pub linktype: u32,
    /// Longest packet kept (longer ones are cut); 0: no limit.
    pub snaplen: u32,
    /// pcapng `if_name`, when known.
    pub interface: Option<&'a str>,
    /// pcapng `shb_userappl`, e.g. `ftpscope 0.1.0 live`.
    pub application: &'a str,
}

/// Writes packets to a pcap or pcapng file as they come (one interface).
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    snaplen: u32,
    buf: Vec<u8>,
    /// Packets written.
    packets: u64,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

fn push_opt(b: &mut Vec<u8>, code: u16, val: &[u8]) {
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(val.len() as u16).to_le_bytes());
    b.extend_from_slice(val);
    b.extend(std::iter::repeat_n(0u8, pad4(val.len())));
}

/// Wrap a block body into a pcapng block (type, total length, body, total length).
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

impl<W: Write> Writer<W> {
    /// Write the file header (pcap header, or pcapng section header and one
    /// interface description).
    pub fn new(mut out: W, format: Format, header: &Header<'_>) -> io::Result<Self> {
        let mut h = Vec::with_capacity(128);
        match format {
            Format::Pcap => {
                h.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes());
                h.extend_from_slice(&2u16.to_le_bytes());
                h.extend_from_slice(&4u16.to_le_bytes());
                h.extend_from_slice(&0i32.to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes());
                let snaplen = if header.snaplen == 0 {
                    262_144
                } else {
                    header.snaplen
                };
                h.extend_from_slice(&snaplen.to_le_bytes());
                h.extend_from_slice(&header.linktype.to_le_bytes());
            }
            Format::Pcapng => {
                let mut shb = Vec::with_capacity(64);
                shb.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
                shb.extend_from_slice(&1u16.to_le_bytes());
                shb.extend_from_slice(&0u16.to_le_bytes());
                shb.extend_from_slice(&(-1i64).to_le_bytes());
                push_opt(&mut shb, 4, header.application.as_bytes()); // shb_userappl
                push_opt(&mut shb, 0, &[]);
                block(&mut h, 0x0a0d_0d0a, &shb);
                let mut idb = Vec::with_capacity(64);
                idb.extend_from_slice(&(header.linktype as u16).to_le_bytes());
                idb.extend_from_slice(&0u16.to_le_bytes());
                idb.extend_from_slice(&header.snaplen.to_le_bytes());
                if let Some(name) = header.interface {
                    push_opt(&mut idb, 2, name.as_bytes()); // if_name
                }
                push_opt(&mut idb, 9, &[9]); // if_tsresol: 10^-9 s
                push_opt(&mut idb, 0, &[]);
                block(&mut h, 1, &idb);
            }
        }
        out.write_all(&h)?;
        Ok(Writer {
            out,
            format,
            snaplen: header.snaplen,
            buf: Vec::with_capacity(1 << 16),
            packets: 0,
        })
    }

    /// One packet whose bytes are `head` then `payload` (synthesised headers and
    /// a relayed payload), written without gathering them into one buffer: the
    /// record header and `head`, `payload`, the padding and trailer go to the
    /// writer as one vectored write (repeated only if it takes less). No snap
    /// length applies (the writer's must be 0).
    pub fn packet_parts(&mut self, ts: Ts, head: &[u8], payload: &[u8]) -> io::Result<()> {
        debug_assert_eq!(self.snaplen, 0, "packet_parts cuts nothing");
        let len = head.len() + payload.len();
        self.buf.clear();
        let (tail, tail_len) = self.record_head(ts, len, len as u32);
        self.buf.extend_from_slice(head);
        let mut parts = [
            IoSlice::new(&self.buf),
            IoSlice::new(payload),
            IoSlice::new(&tail[..tail_len]),
        ];
        let mut parts = &mut parts[..];
        while !parts.is_empty() {
            match self.out.write_vectored(parts) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut parts, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.packets += 1;
        Ok(())
    }

    /// Append one packet seen at `ts`, `orig_len` bytes long on the wire (at least
    /// the bytes given), cut to the snaplen. One `write_all` per packet.
    pub fn packet(&mut self, ts: Ts, data: &[u8], orig_len: u32) -> io::Result<()> {
        let data = if self.snaplen == 0 {
            data
        } else {
            &data[..data.len().min(self.snaplen as usize)]
        };
        self.buf.clear();
        let (tail, tail_len) = self.record_head(ts, data.len(), orig_len);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(&tail[..tail_len]);
        self.out.write_all(&self.buf)?;
        self.packets += 1;
        Ok(())
    }

    /// Append to `buf` the header of a record of `caplen` captured bytes
    /// (`orig_len` on the wire, at least `caplen`); returns what follows the
    /// data (pcapng: padding to 4 bytes and the block's total length; pcap:
    /// nothing) and its length.
    fn record_head(&mut self, ts: Ts, caplen: usize, orig_len: u32) -> ([u8; 8], usize) {
        let cap = caplen as u32;
        let orig = orig_len.max(cap);
        let mut tail = [0u8; 8];
        match self.format {
            Format::Pcap => {
                let secs = ts.0.div_euclid(1_000_000_000);
                let nanos = ts.0.rem_euclid(1_000_000_000);
                self.buf.extend_from_slice(&(secs as u32).to_le_bytes());
                self.buf.extend_from_slice(&(nanos as u32).to_le_bytes());
                self.buf.extend_from_slice(&cap.to_le_bytes());
                self.buf.extend_from_slice(&orig.to_le_bytes());
                (tail, 0)
            }
            Format::Pcapng => {
                let t = ts.0.max(0) as u64;
                let pad = pad4(caplen);
                let total = (32 + caplen + pad) as u32;
                self.buf.extend_from_slice(&6u32.to_le_bytes());
                self.buf.extend_from_slice(&total.to_le_bytes());
                self.buf.extend_from_slice(&0u32.to_le_bytes()); // interface 0
                self.buf
                    .extend_from_slice(&((t >> 32) as u32).to_le_bytes());
                self.buf.extend_from_slice(&(t as u32).to_le_bytes());
                self.buf.extend_from_slice(&cap.to_le_bytes());
                self.buf.extend_from_slice(&orig.to_le_bytes());
                tail[pad..pad + 4].copy_from_slice(&total.to_le_bytes());
                (tail, pad + 4)
            }
        }
    }

    /// Append a Decryption Secrets Block holding TLS key log lines (pcapng only;
    /// a pcap file has no place for them: an error). Readers apply the secrets
    /// to the packets that follow it.
    pub fn secrets(&mut self, keylog: &str) -> io::Result<()> {
        if self.format != Format::Pcapng {
            return Err(io::Error::other(
                "a pcap file cannot hold TLS secrets (pcapng can)",
            ));
        }
        let text = keylog.as_bytes();
        let mut body = Vec::with_capacity(8 + text.len() + 4);
        body.extend_from_slice(&SECRETS_TLS_KEYLOG.to_le_bytes());
        body.extend_from_slice(&(text.len() as u32).to_le_bytes());
        body.extend_from_slice(text);
        body.extend(std::iter::repeat_n(0u8, pad4(text.len())));
        self.buf.clear();
        block(&mut self.buf, DSB_TYPE, &body);
        self.out.write_all(&self.buf)
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v) => v.to_ipv6_mapped(),
        IpAddr::V6(v) => v,
    }
}

/// Largest TCP payload [`tcp_headers`] takes: an IPv4 total length, or an IPv6
/// payload length, must fit 16 bits.
pub const MAX_TCP_PAYLOAD: usize = 65535 - 20 - 20;

/// Ones' complement sum of `data` read as big-endian 16-bit words (an odd last
/// byte padded with zero), added to `acc`, not complemented. The bulk is summed
/// as little-endian 32-bit words into a 64-bit total (a loop the compiler
/// vectorises): 65536 is 1 modulo 65535, so 32-bit words fold to the sum of
/// their 16-bit halves, and a sum of byte-swapped words is the byte-swapped sum
/// (RFC 1071), put right once at the end. Exact for `data` under 16 GiB.
fn ones_sum(data: &[u8], acc: u64) -> u64 {
    let (words, rest) = data.as_chunks::<4>();
    let mut swapped = 0u64;
    for w in words {
        swapped += u64::from(u32::from_le_bytes(*w));
    }
    let mut acc = acc + u64::from(fold(swapped).swap_bytes());
    let (pairs, last) = rest.as_chunks::<2>();
    for w in pairs {
        acc += u64::from(u16::from_be_bytes(*w));
    }
    if let [last] = last {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// A ones' complement sum folded to 16 bits.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Fold a [`ones_sum`] to 16 bits and complement it: the Internet checksum.
fn checksum(acc: u64) -> u16 {
    !fold(acc)
}

/// Append the IP and TCP headers of one segment carrying `payload` to `out`
/// (IPv4 when both ends are IPv4, else IPv6 with IPv4 ends mapped): TTL/hop
/// limit 64, IPv4 identification 0 with don't-fragment, TCP window 65535 and
/// no options, the acknowledgement number only with ACK, both checksums
/// computed (the TCP one over the payload, which the caller writes after the
/// headers). Panics when `payload` is longer than [`MAX_TCP_PAYLOAD`].
pub fn tcp_headers(
    out: &mut Vec<u8>,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) {
    assert!(
        payload.len() <= MAX_TCP_PAYLOAD,
        "a TCP segment of {} bytes does not fit one IP packet",
        payload.len()
    );
    let tcp_len = 20 + payload.len();
    let pseudo = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + tcp_len) as u16;
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[6] = 0x40; // don't fragment
            ip[8] = 64;
            ip[9] = 6;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let sum = checksum(ones_sum(&ip, 0));
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&ip);
            ones_sum(&ip[12..20], 6 + tcp_len as u64)
        }
        (s, d) => {
            let (s, d) = (v6(s).octets(), v6(d).octets());
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            out.extend_from_slice(&[6, 64]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
            ones_sum(&d, ones_sum(&s, 6 + tcp_len as u64))
        }
    };
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&src.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    if flags & ACK != 0 {
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    }
    tcp[12] = 5 << 4;
    tcp[13] = flags & (FIN | SYN | RST | PSH | ACK);
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    let sum = checksum(ones_sum(payload, ones_sum(&tcp, pseudo)));
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&tcp);
}

/// One TCP segment in a raw IP packet (see [`tcp_headers`]).
pub fn tcp_packet(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(60 + payload.len());
    tcp_headers(&mut out, src, dst, seq, ack, flags, payload);
    out.extend_from_slice(payload);
    out
}

/// The TCP header and payload of [`tcp_packet`] without the IP header (its
/// checksum computed over the pseudo-header of `src` and `dst`): for a test that
/// puts a segment in IP fragments itself.
pub fn tcp_segment(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let p = tcp_packet(src, dst, seq, ack, flags, payload);
    let ip_len = if p[0] >> 4 == 4 {
        usize::from(p[0] & 0x0f) * 4
    } else {
        40
    };
    p[ip_len..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::decode;
    use crate::capture::reader::CaptureReader;

    /// The same segment built by etherparse's packet builder (an independent
    /// implementation of the headers and checksums).
    fn etherparse_packet(
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        use etherparse::{IpNumber, Ipv4Header, PacketBuilder, TcpHeader};
        let mut tcp = TcpHeader::new(src.port(), dst.port(), seq, 65535);
        tcp.fin = flags & FIN != 0;
        tcp.syn = flags & SYN != 0;
        tcp.rst = flags & RST != 0;
        tcp.psh = flags & PSH != 0;
        tcp.ack = flags & ACK != 0;
        if tcp.ack {
            tcp.acknowledgment_number = ack;
        }
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut ip = Ipv4Header::new(0, 64, IpNumber::TCP, s.octets(), d.octets()).unwrap();
                ip.dont_fragment = true;
                PacketBuilder::ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
            }
            (s, d) => PacketBuilder::ipv6(v6(s).octets(), v6(d).octets(), 64),
        }
        .tcp_header(tcp);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn segments_are_byte_identical_to_etherparse_ones() {
        let ends: [(SocketAddr, SocketAddr); 3] = [
            (
                "192.0.2.1:40000".parse().unwrap(),
                "198.51.100.7:21".parse().unwrap(),
            ),
            (
                "[2001:db8::1]:50000".parse().unwrap(),
                "[2001:db8::ff]:2121".parse().unwrap(),
            ),
            (
                "203.0.113.9:1".parse().unwrap(),
                "[2001:db8:0:ffff::2]:65535".parse().unwrap(),
            ),
        ];
        // Lengths around the eight-byte steps, odd ones, carries of all-ones bytes.
        let mut state = 0x1234_5678_u32;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                })
                .collect()
        };
        let mut payloads: Vec<Vec<u8>> = [
            0,
            1,
            2,
            3,
            7,
            8,
            9,
            15,
            16,
            17,
            1459,
            32768,
            MAX_TCP_PAYLOAD - 20,
        ]
        .iter()
        .map(|&n| noise(n))
        .collect();
        payloads.push(vec![0xff; 4097]);
        payloads.push(vec![0; 33]);
        for (a, b) in ends {
            for flags in [SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, RST] {
                for p in &payloads {
                    let (seq, ack) = (0xfedc_ba98 ^ p.len() as u32, 0x0102_0304);
                    assert_eq!(
                        tcp_packet(a, b, seq, ack, flags, p),
                        etherparse_packet(a, b, seq, ack, flags, p),
                        "{a} -> {b}, flags {flags:#x}, {} bytes",
                        p.len()
                    );
                }
            }
        }
    }

    #[test]
    fn a_packet_in_parts_is_the_same_record_as_a_whole_one() {
        for format in [Format::Pcapng, Format::Pcap] {
            let header = Header {
                linktype: LINKTYPE_RAW,
                snaplen: 0,
                interface: None,
                application: "test",
            };
            let mut whole = Writer::new(Vec::new(), format, &header).unwrap();
            let mut parts = Writer::new(Vec::new(), format, &header).unwrap();
            for n in [0usize, 1, 2, 3, 4, 5, 1000] {
                let head: Vec<u8> = (0..40u8).collect();
                let payload = vec![0xa5; n];
                let mut all = head.clone();
                all.extend_from_slice(&payload);
                let ts = Ts(1_700_000_000_000_000_001 + n as i64);
                whole.packet(ts, &all, all.len() as u32).unwrap();
                parts.packet_parts(ts, &head, &payload).unwrap();
            }
            assert_eq!(whole.packets(), parts.packets());
            assert_eq!(whole.into_inner(), parts.into_inner(), "{format:?}");
        }
    }

    fn roundtrip(format: Format, linktype: u32) -> Vec<(Ts, u32, u32, Vec<u8>)> {
        let header = Header {
            linktype,
            snaplen: 100,
            interface: Some("lo"),
            application: "test",
        };
        let mut w = Writer::new(Vec::new(), format, &header).unwrap();
        w.packet(Ts(1_700_000_000_123_456_789), &[1, 2, 3, 4, 5], 5)
            .unwrap();
        w.packet(Ts(1_700_000_001_000_000_001), &[9; 150], 1500)
            .unwrap();
        assert_eq!(w.packets(), 2);
        let bytes = w.into_inner();
        let mut r = CaptureReader::new(&bytes[..]).unwrap();
        let mut out = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            out.push((p.ts, p.linktype, p.orig_len, p.data.to_vec()));
        }
        out
    }

    /// A Decryption Secrets Block between two packets reaches the reader with
    /// the packet after it (the one that needs it), whole and only once; a pcap
    /// file refuses secrets.
    #[test]
    fn secrets_between_packets_come_with_the_next_packet() {
        let header = Header {
            linktype: LINKTYPE_RAW,
            snaplen: 0,
            interface: None,
            application: "test",
        };
        let mut w = Writer::new(Vec::new(), Format::Pcapng, &header).unwrap();
        w.packet(Ts(1), &[0x45; 20], 20).unwrap();
        let line = "CLIENT_RANDOM 00 11\n";
        w.secrets(line).unwrap();
        w.packet(Ts(2), &[0x45; 20], 20).unwrap();
        w.packet(Ts(3), &[0x45; 20], 20).unwrap();
        let bytes = w.into_inner();
        let mut r = CaptureReader::new(&bytes[..]).unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            got.push(p.secrets.as_deref().map(|t| t.trim_end().to_string()));
        }
        assert_eq!(got, [None, Some(line.trim_end().to_string()), None]);
        let mut p = Writer::new(Vec::new(), Format::Pcap, &header).unwrap();
        assert!(p.secrets(line).is_err());
    }

    #[test]
    fn pcapng_and_pcap_keep_nanoseconds_lengths_and_linktype() {
        for format in [Format::Pcapng, Format::Pcap] {
            let p = roundtrip(format, 113);
            assert_eq!(p.len(), 2, "{format:?}");
            assert_eq!(p[0].0, Ts(1_700_000_000_123_456_789), "{format:?}");
            assert_eq!(p[0].1, 113);
            assert_eq!(p[0].3, [1, 2, 3, 4, 5]);
            assert_eq!(p[1].0, Ts(1_700_000_001_000_000_001));
            assert_eq!((p[1].2, p[1].3.len()), (1500, 100), "cut to the snaplen");
        }
    }

    #[test]
    fn every_packet_is_one_write() {
        struct Writes(Vec<usize>);
        impl Write for Writes {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.push(b.len());
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for format in [Format::Pcapng, Format::Pcap] {
            let header = Header {
                linktype: LINKTYPE_RAW,
                snaplen: 0,
                interface: None,
                application: "test",
            };
            let mut w = Writer::new(Writes(Vec::new()), format, &header).unwrap();
            w.get_mut().0.clear();
            w.packet(Ts(1), &[0; 7], 7).unwrap();
            w.packet(Ts(2), &[0; 40_000], 40_000).unwrap();
            let want = match format {
                Format::Pcapng => [32 + 8, 32 + 40_000],
                Format::Pcap => [16 + 7, 16 + 40_000],
            };
            assert_eq!(w.get_mut().0, want, "{format:?}");
        }
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::for_path(Path::new("a.pcap")), Format::Pcap);
        assert_eq!(Format::for_path(Path::new("a.PCAP")), Format::Pcap);
        assert_eq!(Format::for_path(Path::new("a.pcapng")), Format::Pcapng);
        assert_eq!(Format::for_path(Path::new("a")), Format::Pcapng);
    }

    /// Ones' complement sum over `data`, folded: 0xffff when a checksum within
    /// `data` (plus `acc`, a pseudo-header) is right.
    fn sum(data: &[u8], mut acc: u32) -> u16 {
        for c in data.chunks(2) {
            acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn packets_decode_with_their_flags_and_right_checksums() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:21".parse().unwrap();
        let p = tcp_packet(a, b, 1, 2, PSH | ACK, b"USER x\r\n");
        assert_eq!(p.len(), 20 + 20 + 8);
        assert_eq!(sum(&p[..20], 0), 0xffff, "IPv4 header checksum");
        assert_eq!(p[6] & 0x40, 0x40, "don't fragment");
        let pseudo = sum(&p[12..20], 6 + (p.len() - 20) as u32);
        assert_eq!(sum(&p[20..], u32::from(pseudo)), 0xffff, "TCP checksum");
        assert_eq!(tcp_segment(a, b, 1, 2, PSH | ACK, b"USER x\r\n"), p[20..]);

        let a6: SocketAddr = "[2001:db8::1]:40000".parse().unwrap();
        let p6 = tcp_packet(a6, b, 7, 9, SYN, b"");
        assert_eq!(p6[0] >> 4, 6);
        let mapped = std::net::Ipv4Addr::new(10, 0, 0, 2).to_ipv6_mapped();
        assert_eq!(p6[24..40], mapped.octets(), "IPv4 mapped into IPv6");
        let pseudo = sum(&p6[8..40], 6 + (p6.len() - 40) as u32);
        assert_eq!(sum(&p6[40..], u32::from(pseudo)), 0xffff, "TCP checksum");

        let mut d = decode::Decoder::default();
        let decode::Decoded::Tcp(seg) = d.decode(LINKTYPE_RAW, &p, Ts(0)) else {
            panic!("a TCP segment");
        };
        assert_eq!((seg.src, seg.dst, seg.seq, seg.ack), (a, b, 1, 2));
        assert_eq!(seg.flags, PSH | ACK);
        assert_eq!(seg.payload, b"USER x\r\n");
        let decode::Decoded::Tcp(seg) = d.decode(LINKTYPE_RAW, &p6, Ts(0)) else {
            panic!("a TCP segment");
        };
        assert_eq!(seg.flags, SYN);
        assert_eq!(seg.ack, 0, "no acknowledgement number without ACK");
    }
}
