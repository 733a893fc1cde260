//! Link, IP and TCP decoding.
//!
//! Link layers are stripped here; IP headers are read with `etherparse`'s lax
//! slicer (it keeps what parsed when a packet is cut short). The TCP header is
//! validated (data offset within the bytes present) before any field is read.
//! A packet whose payload the snaplen cut keeps its declared length in
//! [`Segment::wire_len`], so the bytes that are missing are known and never
//! mistaken for data.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket};

use super::frag::{FragKey, FragPool};
use super::link::{self, Link};
use super::reader::linktype;
use crate::time::Ts;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

/// One TCP segment as seen on the wire.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub urgent: u16,
    /// Payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload length the packet had on the wire (>= `payload.len()`).
    pub wire_len: u32,
    /// The advertised receive window as written in the header (not scaled).
    pub window: u16,
    /// Options of a SYN or SYN-ACK (read only on those: they are negotiated there).
    pub syn_options: Option<SynOptions>,
    /// The IPv4 header's identification (None for IPv6): a copy of a packet made
    /// by the capture (a SPAN port seeing it twice) keeps it, a retransmission by
    /// the sender's TCP gets a new one from most stacks.
    pub ip_id: Option<u16>,
}

/// What a SYN or SYN-ACK offers (RFC 9293 MSS, RFC 7323 window scale and
/// timestamps, RFC 2018 SACK permitted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynOptions {
    pub mss: Option<u16>,
    /// Shift count offered (capped at 14, as RFC 7323 says a receiver must).
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

/// Read the options of a SYN. A malformed option list ends the walk; what was read
/// before it stays.
pub fn syn_options(opts: &[u8]) -> SynOptions {
    let mut o = SynOptions::default();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            kind => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = len as usize;
                if len < 2 || i + len > opts.len() {
                    break;
                }
                let body = &opts[i + 2..i + len];
                match (kind, body.len()) {
                    (2, 2) => o.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                    (3, 1) => o.window_scale = Some(body[0].min(14)),
                    (4, 0) => o.sack_permitted = true,
                    (8, 8) => o.timestamps = true,
                    _ => {}
                }
                i += len;
            }
        }
    }
    o
}

impl Segment<'_> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    /// Bytes of payload the snaplen cut off.
    pub fn missing(&self) -> u32 {
        self.wire_len - self.payload.len() as u32
    }
}

/// An ICMP or ICMPv6 error that quotes a TCP segment: "destination unreachable"
/// (ICMP type 3, ICMPv6 type 1: a firewall's REJECT rule, a router with no way on,
/// a host with nothing on a port), or a path-MTU message ("fragmentation needed",
/// ICMP type 3 code 4; "packet too big", ICMPv6 type 2), which does not stop a
/// connection but tells its sender to send smaller segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// Who sent the error: the destination's host itself, or a router on the path.
    pub from: IpAddr,
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    pub code: u8,
    /// A path-MTU message, with the next hop's MTU it names (0 when it names none,
    /// as routers before RFC 1191 did); None for "destination unreachable".
    pub too_big: Option<u32>,
    /// The segment it quotes, as its sender sent it.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The quoted segment's sequence number, when the quote holds it.
    pub seq: Option<u32>,
}

/// What a packet turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// An IP fragment, held until its datagram is complete.
    FragmentHeld,
    /// An ICMP or ICMPv6 error about a TCP segment.
    Icmp(IcmpError),
    /// Valid, but not TCP over IP (ARP, UDP, other ICMP, ...).
    NotTcp,
    /// A link type we do not decode.
    UnsupportedLink(u32),
    /// The packet could not be decoded; the reason says where it stopped.
    Malformed(&'static str),
}

/// Tunnels decoded inside one another at most (IP-in-IP, 6in4, GRE, VXLAN):
/// deeper nesting is hostile or broken input and is reported as malformed.
pub const MAX_TUNNEL_DEPTH: usize = 4;

/// GRE protocol types (IEEE 802 EtherTypes) we follow.
mod gre_proto {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    /// Transparent Ethernet bridging (NVGRE, GRETAP).
    pub const ETHERNET: u16 = 0x6558;
    /// ERSPAN type I (no GRE sequence number) and II (with one).
    pub const ERSPAN_2: u16 = 0x88be;
    pub const ERSPAN_3: u16 = 0x22eb;
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// PPP, in PPTP's enhanced GRE (version 1).
    pub const PPP: u16 = 0x880b;
}

/// The UDP port IANA assigned to VXLAN (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;

/// Stateful decoder (it owns the fragment pool).
#[derive(Default)]
pub struct Decoder {
    pub frags: FragPool,
    /// One buffer per tunnel level for datagrams rebuilt from fragments (a
    /// fragmented tunnel may carry fragmented packets).
    reassembled: [Vec<u8>; MAX_TUNNEL_DEPTH + 1],
    /// Packets whose TCP segment was found inside a tunnel.
    pub tunnelled: u64,
}

impl Decoder {
    pub fn decode<'a>(&'a mut self, link: u32, data: &'a [u8], ts: Ts) -> Decoded<'a> {
        let mut cx = Cx {
            frags: &mut self.frags,
            tunnelled: false,
        };
        let d = decode_link(&mut cx, &mut self.reassembled, link, data, ts, 0);
        if cx.tunnelled && matches!(d, Decoded::Tcp(_)) {
            self.tunnelled += 1;
        }
        d
    }
}

/// What every level of the decoding shares.
struct Cx<'p> {
    frags: &'p mut FragPool,
    /// The packet went through at least one tunnel.
    tunnelled: bool,
}

fn decode_link<'a>(
    cx: &mut Cx<'_>,
    bufs: &'a mut [Vec<u8>],
    link: u32,
    data: &'a [u8],
    ts: Ts,
    depth: usize,
) -> Decoded<'a> {
    match plain_tcp(link, data) {
        Some(d) => d,
        None => decode_general(cx, bufs, link, data, ts, depth),
    }
}

/// Any packet of the link types read: headers sliced by etherparse.
fn decode_general<'a>(
    cx: &mut Cx<'_>,
    bufs: &'a mut [Vec<u8>],
    link: u32,
    data: &'a [u8],
    ts: Ts,
    depth: usize,
) -> Decoded<'a> {
    match link::peel(link, data) {
        Link::Net(et, bytes) => {
            let sliced = LaxSlicedPacket::from_ether_type(EtherType(et), bytes);
            decode_sliced(cx, bufs, sliced, ts, depth)
        }
        Link::NoPacket => Decoded::NotTcp,
        Link::Unsupported(other) => Decoded::UnsupportedLink(other),
        Link::Malformed(why) => Decoded::Malformed(why),
    }
}

/// The common case read straight from the bytes: TCP in an IPv4 header (options
/// allowed) or a fixed IPv6 header, whole (not cut by the snaplen, not a fragment),
/// behind Ethernet without VLAN tags, a Linux cooked header or nothing. Anything
/// else, or anything irregular, is `None` and goes to the general decoding, which
/// gives the same answer for these packets (a test checks it on every capture).
fn plain_tcp(link: u32, data: &[u8]) -> Option<Decoded<'_>> {
    let (ip, version) = match link {
        linktype::ETHERNET => (data.get(14..)?, ether_ip(data.get(12..14)?)?),
        linktype::LINUX_SLL => (data.get(16..)?, ether_ip(data.get(14..16)?)?),
        linktype::LINUX_SLL2 => (data.get(20..)?, ether_ip(data.get(..2)?)?),
        linktype::RAW
        | linktype::RAW_OLD
        | linktype::RAW_OLD2
        | linktype::IPV4
        | linktype::IPV6 => (data, *data.first()? >> 4),
        _ => return None,
    };
    if ip.first()? >> 4 != version {
        return None;
    }
    let be16 = |i: usize| u16::from_be_bytes([ip[i], ip[i + 1]]) as usize;
    match version {
        4 => {
            let ihl = (ip[0] & 0x0f) as usize * 4;
            if ip.len() < 20 || ihl < 20 || ip[9] != 6 || be16(6) & 0x3fff != 0 {
                return None;
            }
            let total = be16(2);
            if total < ihl || total > ip.len() {
                return None;
            }
            let src = std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            let tcp = &ip[ihl..total];
            let mut d = parse_tcp(src.into(), dst.into(), tcp, tcp.len());
            if let Decoded::Tcp(seg) = &mut d {
                seg.ip_id = Some(be16(4) as u16);
            }
            Some(d)
        }
        6 => {
            if ip.len() < 40 || ip[6] != 6 {
                return None;
            }
            let len = be16(4);
            if len == 0 || 40 + len > ip.len() {
                return None;
            }
            let addr = |i: usize| {
                let b: [u8; 16] = ip[i..i + 16].try_into().expect("16 bytes");
                IpAddr::from(b)
            };
            let tcp = &ip[40..40 + len];
            Some(parse_tcp(addr(8), addr(24), tcp, tcp.len()))
        }
        _ => None,
    }
}

/// The IP version an EtherType names.
fn ether_ip(et: &[u8]) -> Option<u8> {
    match et {
        [0x08, 0x00] => Some(4),
        [0x86, 0xdd] => Some(6),
        _ => None,
    }
}

fn decode_sliced<'a>(
    cx: &mut Cx<'_>,
    bufs: &'a mut [Vec<u8>],
    sliced: LaxSlicedPacket<'a>,
    ts: Ts,
    depth: usize,
) -> Decoded<'a> {
    let net = match &sliced.net {
        Some(n) => n,
        None => {
            return if sliced.stop_err.is_some() {
                Decoded::Malformed("IP header invalid or cut short")
            } else {
                Decoded::NotTcp
            };
        }
    };
    let mut ip_id = None;
    let (src, dst, declared, frag) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            ip_id = Some(h.identification());
            let hdr_len =
                h.ihl() as usize * 4 + v4.extensions().auth.map_or(0, |a| a.slice().len());
            let declared = (h.total_len() as usize).saturating_sub(hdr_len);
            let frag = if v4.is_payload_fragmented() {
                Some((
                    FragKey {
                        src: IpAddr::V4(h.source_addr()),
                        dst: IpAddr::V4(h.destination_addr()),
                        id: h.identification() as u32,
                        proto: v4.payload().ip_number.0,
                    },
                    h.fragments_offset().value() as usize * 8,
                    h.more_fragments(),
                ))
            } else {
                None
            };
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                declared,
                frag,
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let declared =
                (h.payload_length() as usize).saturating_sub(v6.extensions().slice().len());
            let mut frag = None;
            if v6.is_payload_fragmented() {
                let exts = v6.extensions();
                if let Some((id, offset, more)) =
                    ipv6_fragment(exts.first_header().map(|n| n.0), exts.slice())
                {
                    frag = Some((
                        FragKey {
                            src: IpAddr::V6(h.source_addr()),
                            dst: IpAddr::V6(h.destination_addr()),
                            id,
                            proto: v6.payload().ip_number.0,
                        },
                        offset,
                        more,
                    ));
                }
                if frag.is_none() {
                    return Decoded::Malformed("IPv6 fragment without a fragment header");
                }
            }
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                declared,
                frag,
            )
        }
        LaxNetSlice::Arp(_) => return Decoded::NotTcp,
    };
    let payload = match net.ip_payload_ref() {
        Some(p) => p,
        None => return Decoded::NotTcp,
    };
    let Some((mine, deeper)) = bufs.split_first_mut() else {
        return Decoded::Malformed("tunnels nested too deep");
    };
    if let Some((key, offset, more)) = frag {
        if payload.incomplete {
            return Decoded::Malformed("IP fragment cut short by the snaplen");
        }
        return match cx.frags.insert(key, offset, more, payload.payload, ts) {
            Some(whole) => {
                *mine = whole;
                let whole: &'a [u8] = mine;
                let declared = whole.len();
                ip_payload(cx, deeper, src, dst, key.proto, whole, declared, ts, depth)
            }
            None => Decoded::FragmentHeld,
        };
    }
    let declared = if payload.incomplete {
        declared.max(payload.payload.len())
    } else {
        payload.payload.len()
    };
    let mut d = ip_payload(
        cx,
        deeper,
        src,
        dst,
        payload.ip_number.0,
        payload.payload,
        declared,
        ts,
        depth,
    );
    // The segment's own IP header (not a tunnel's: a tunnelled segment got its
    // inner header's from the call above).
    if let Decoded::Tcp(seg) = &mut d
        && seg.ip_id.is_none()
        && seg.src.ip() == src
    {
        seg.ip_id = ip_id;
    }
    d
}

/// An IP payload of protocol `proto`: TCP, or a tunnel to open.
#[allow(clippy::too_many_arguments)]
fn ip_payload<'a>(
    cx: &mut Cx<'_>,
    bufs: &'a mut [Vec<u8>],
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    bytes: &'a [u8],
    declared: usize,
    ts: Ts,
    depth: usize,
) -> Decoded<'a> {
    match proto {
        6 => parse_tcp(src, dst, bytes, declared),
        1 if src.is_ipv4() => icmp_error(src, false, bytes),
        58 if src.is_ipv6() => icmp_error(src, true, bytes),
        // IP-in-IP (RFC 2003) and IPv6-in-IPv4 (6in4, RFC 4213): an IP header follows.
        4 | 41 => {
            let Some(depth) = enter(cx, depth) else {
                return Decoded::Malformed("tunnels nested too deep");
            };
            match LaxSlicedPacket::from_ip(bytes) {
                Ok(s) => decode_sliced(cx, bufs, s, ts, depth),
                Err(_) => Decoded::Malformed("tunnelled IP header invalid or cut short"),
            }
        }
        47 => match gre(bytes) {
            Ok(Some((inner, ethernet))) => {
                let Some(depth) = enter(cx, depth) else {
                    return Decoded::Malformed("tunnels nested too deep");
                };
                inner_packet(cx, bufs, inner, ethernet, ts, depth)
            }
            Ok(None) => Decoded::NotTcp,
            Err(why) => Decoded::Malformed(why),
        },
        17 => match vxlan(bytes) {
            Ok(Some(inner)) => {
                let Some(depth) = enter(cx, depth) else {
                    return Decoded::Malformed("tunnels nested too deep");
                };
                inner_packet(cx, bufs, inner, Inner::Ethernet, ts, depth)
            }
            Ok(None) => Decoded::NotTcp,
            Err(why) => Decoded::Malformed(why),
        },
        _ => Decoded::NotTcp,
    }
}

/// An ICMP or ICMPv6 message: an error quoting a TCP segment (its IP header and
/// at least the ports, RFC 792 and RFC 4443), or nothing of ours.
fn icmp_error(from: IpAddr, v6: bool, bytes: &[u8]) -> Decoded<'_> {
    let (Some(&ty), Some(&code), Some(quoted)) = (bytes.first(), bytes.get(1), bytes.get(8..))
    else {
        return Decoded::NotTcp;
    };
    let be = |r: std::ops::Range<usize>| bytes[r].iter().fold(0u32, |a, b| a << 8 | u32::from(*b));
    let too_big = match (v6, ty, code) {
        (false, 3, 4) => Some(be(6..8)),
        (false, 3, _) | (true, 1, _) => None,
        (true, 2, _) => Some(be(4..8)),
        _ => return Decoded::NotTcp,
    };
    let (qsrc, qdst, tcp): (IpAddr, IpAddr, &[u8]) = match (v6, quoted.first().map(|b| b >> 4)) {
        (false, Some(4)) => {
            let ihl = (quoted[0] & 0x0f) as usize * 4;
            if ihl < 20 || quoted.len() < ihl || quoted[9] != 6 {
                return Decoded::NotTcp;
            }
            let a =
                |i: usize| IpAddr::from([quoted[i], quoted[i + 1], quoted[i + 2], quoted[i + 3]]);
            (a(12), a(16), &quoted[ihl..])
        }
        (true, Some(6)) => {
            if quoted.len() < 40 || quoted[6] != 6 {
                return Decoded::NotTcp;
            }
            let a = |i: usize| {
                let b: [u8; 16] = quoted[i..i + 16].try_into().expect("16 bytes");
                IpAddr::from(b)
            };
            (a(8), a(24), &quoted[40..])
        }
        _ => return Decoded::NotTcp,
    };
    let Some(ports) = tcp.get(..4) else {
        return Decoded::NotTcp;
    };
    let port = |i: usize| u16::from_be_bytes([ports[i], ports[i + 1]]);
    Decoded::Icmp(IcmpError {
        from,
        v6,
        code,
        too_big,
        src: SocketAddr::new(qsrc, port(0)),
        dst: SocketAddr::new(qdst, port(2)),
        seq: tcp
            .get(4..8)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes"))),
    })
}

/// One tunnel level deeper, if allowed.
fn enter(cx: &mut Cx<'_>, depth: usize) -> Option<usize> {
    cx.tunnelled = true;
    (depth < MAX_TUNNEL_DEPTH).then_some(depth + 1)
}

/// What a tunnel carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inner {
    Ethernet,
    Ip(EtherType),
    Ppp,
}

fn inner_packet<'a>(
    cx: &mut Cx<'_>,
    bufs: &'a mut [Vec<u8>],
    bytes: &'a [u8],
    kind: Inner,
    ts: Ts,
    depth: usize,
) -> Decoded<'a> {
    let peeled = match kind {
        Inner::Ethernet => link::ethernet(bytes, depth),
        Inner::Ip(et) => link::ether_payload(et.0, bytes, depth),
        Inner::Ppp => link::ppp(bytes, depth),
    };
    match peeled {
        Link::Net(et, bytes) => {
            let sliced = LaxSlicedPacket::from_ether_type(EtherType(et), bytes);
            decode_sliced(cx, bufs, sliced, ts, depth)
        }
        Link::Malformed("ethernet header cut short") => {
            Decoded::Malformed("tunnelled ethernet header cut short")
        }
        Link::Malformed(why) => Decoded::Malformed(why),
        Link::NoPacket | Link::Unsupported(_) => Decoded::NotTcp,
    }
}

/// A GRE packet (RFC 2784 with RFC 2890's key and sequence number, version 0):
/// the encapsulated bytes and what they are, `None` for a protocol we do not
/// follow; PPTP's enhanced GRE (version 1) carries PPP. ERSPAN (Cisco's
/// mirroring over GRE) is opened to the mirrored Ethernet frame: type I has no
/// header of its own, type II an 8-byte one, type III 12 bytes (20 with its
/// platform-specific subheader).
fn gre(b: &[u8]) -> Result<Option<(&[u8], Inner)>, &'static str> {
    let Some(h) = b.get(..4) else {
        return Err("GRE header cut short");
    };
    let flags = u16::from_be_bytes([h[0], h[1]]);
    let proto = u16::from_be_bytes([h[2], h[3]]);
    let version = flags & 0x7;
    if version == 1 && proto == gre_proto::PPP {
        return pptp(b, flags);
    }
    if version != 0 {
        return Ok(None);
    }
    // RFC 1701's routing field (R bit) is deprecated and rare: not followed.
    if flags & 0x4000 != 0 {
        return Ok(None);
    }
    let checksum = flags & 0x8000 != 0;
    let key = flags & 0x2000 != 0;
    let seq = flags & 0x1000 != 0;
    let len = 4 + 4 * (usize::from(checksum) + usize::from(key) + usize::from(seq));
    let Some(rest) = b.get(len..) else {
        return Err("GRE header cut short");
    };
    let (skip, inner) = match proto {
        gre_proto::IPV4 => (0, Inner::Ip(EtherType::IPV4)),
        gre_proto::IPV6 => (0, Inner::Ip(EtherType::IPV6)),
        gre_proto::ETHERNET => (0, Inner::Ethernet),
        gre_proto::MPLS | gre_proto::MPLS_MULTICAST => (0, Inner::Ip(EtherType(proto))),
        gre_proto::ERSPAN_2 => (if seq { 8 } else { 0 }, Inner::Ethernet),
        gre_proto::ERSPAN_3 => {
            let Some(e) = rest.get(..12) else {
                return Err("ERSPAN header cut short");
            };
            // O flag (last bit of the header): a platform-specific subheader follows.
            (if e[11] & 0x01 != 0 { 20 } else { 12 }, Inner::Ethernet)
        }
        _ => return Ok(None),
    };
    match rest.get(skip..) {
        Some(inner_bytes) => Ok(Some((inner_bytes, inner))),
        None => Err("ERSPAN header cut short"),
    }
}

/// PPTP's enhanced GRE (RFC 2637 §4.1): payload length and call id, then the
/// sequence and acknowledgement numbers when flagged, then a PPP frame (none in
/// an acknowledgement-only packet).
fn pptp(b: &[u8], flags: u16) -> Result<Option<(&[u8], Inner)>, &'static str> {
    let seq = flags & 0x1000 != 0;
    let ack = flags & 0x0080 != 0;
    let len = 8 + 4 * (usize::from(seq) + usize::from(ack));
    let Some(rest) = b.get(len..) else {
        return Err("GRE header cut short");
    };
    let payload = usize::from(u16::from_be_bytes([b[4], b[5]]));
    if payload == 0 {
        return Ok(None);
    }
    Ok(Some((rest.get(..payload).unwrap_or(rest), Inner::Ppp)))
}

/// A UDP datagram to the VXLAN port: the encapsulated Ethernet frame, or `None`
/// for any other UDP.
fn vxlan(b: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    let Some(udp) = b.get(..8) else {
        return Ok(None);
    };
    if u16::from_be_bytes([udp[2], udp[3]]) != VXLAN_PORT {
        return Ok(None);
    }
    // 8 bytes of VXLAN header (flags, VNI), then the frame. The I flag says the
    // VNI is valid; Wireshark decodes the frame either way, and so do we.
    match b.get(16..) {
        Some(frame) => Ok(Some(frame)),
        None => Err("VXLAN header cut short"),
    }
}

/// The (last) fragment header among IPv6 extension headers: (identification,
/// offset in bytes, more fragments). The headers are walked here, reading only
/// inside `exts`: etherparse 0.21's `Ipv6ExtensionSliceIter` trusts the chain and,
/// when the lax parser stopped inside it (a hop-by-hop header after the first
/// header, a header cut short), reads past the end of the slice (found by the
/// `decode` fuzz target under AddressSanitizer).
fn ipv6_fragment(first: Option<u8>, exts: &[u8]) -> Option<(u32, usize, bool)> {
    let mut next = first?;
    let mut p = 0;
    let mut found = None;
    while let Some(h) = exts.get(p..p + 8) {
        let len = match next {
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => (h[1] as usize + 1) * 8,
            // Fragment: 8 bytes; offset in 8-byte units, M flag in bit 0.
            44 => {
                let off = u16::from_be_bytes([h[2], h[3]]);
                let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                found = Some((id, (off >> 3) as usize * 8, off & 1 == 1));
                8
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => (h[1] as usize + 2) * 4,
            _ => break,
        };
        next = h[0];
        p += len;
    }
    found
}

/// Parse a TCP header from `bytes` (the IP payload present), `declared` being the
/// IP payload length on the wire.
pub fn parse_tcp<'a>(src: IpAddr, dst: IpAddr, bytes: &'a [u8], declared: usize) -> Decoded<'a> {
    if bytes.len() < 20 {
        return Decoded::Malformed("TCP header cut short");
    }
    let off = (bytes[12] >> 4) as usize * 4;
    if off < 20 {
        return Decoded::Malformed("TCP data offset below 20 bytes");
    }
    if off > declared.max(20) {
        return Decoded::Malformed("TCP data offset past the end of the segment");
    }
    // The snaplen cut into the options (tcpdump -s 60 with timestamps): the
    // fixed header is whole, so the segment counts, its payload all cut.
    let off_present = off.min(bytes.len());
    let sport = u16::from_be_bytes([bytes[0], bytes[1]]);
    let dport = u16::from_be_bytes([bytes[2], bytes[3]]);
    let seq = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let ack = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let flags = bytes[13];
    let urgent = u16::from_be_bytes([bytes[18], bytes[19]]);
    let window = u16::from_be_bytes([bytes[14], bytes[15]]);
    let syn_options = (flags & SYN != 0).then(|| syn_options(&bytes[20..off_present]));
    let payload = &bytes[off_present..];
    let wire_len = declared
        .saturating_sub(off)
        .max(payload.len())
        .min(u32::MAX as usize) as u32;
    Decoded::Tcp(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        ack,
        flags,
        urgent,
        payload,
        wire_len,
        window,
        syn_options,
        ip_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path gives what the general decoding gives, on every packet of the
    /// lab captures and on each of them cut short at every length and with each
    /// header byte changed.
    #[test]
    fn plain_tcp_agrees_with_the_general_decoding() {
        fn general(link: u32, data: &[u8]) -> String {
            let mut frags = FragPool::default();
            let mut cx = Cx {
                frags: &mut frags,
                tunnelled: false,
            };
            let mut bufs: [Vec<u8>; MAX_TUNNEL_DEPTH + 1] = Default::default();
            format!(
                "{:?}",
                decode_general(&mut cx, &mut bufs, link, data, Ts::default(), 0)
            )
        }
        let mut fast = 0;
        let mut check = |link: u32, data: &[u8]| {
            if let Some(d) = plain_tcp(link, data) {
                fast += 1;
                assert_eq!(format!("{d:?}"), general(link, data), "{data:02x?}");
            }
        };
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
        let mut files = 0;
        for entry in std::fs::read_dir(dir).expect("captures/") {
            let path = entry.expect("entry").path();
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                continue;
            }
            files += 1;
            let file = std::fs::File::open(&path).expect("open");
            let mut r = super::super::reader::CaptureReader::new(std::io::BufReader::new(file))
                .expect("capture");
            let mut n = 0;
            while let Ok(Some(p)) = r.next_packet() {
                let (link, data) = (p.linktype, p.data.to_vec());
                check(link, &data);
                // The first packets of each file, mangled.
                if n < 20 {
                    for cut in 0..data.len().min(80) {
                        check(link, &data[..cut]);
                    }
                    for i in 0..data.len().min(80) {
                        for v in [0x00, 0x01, 0x06, 0x20, 0x45, 0x60, 0x86, 0xdd, 0xff] {
                            let mut m = data.clone();
                            m[i] = v;
                            check(link, &m);
                        }
                    }
                }
                n += 1;
            }
        }
        assert!(files > 20, "lab captures read: {files}");
        assert!(fast > 10_000, "packets on the fast path: {fast}");
    }

    /// IPv4 + TCP packet from 10.0.0.1:1024 to 10.0.0.2:21 with payload "USER a\r\n".
    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 20 + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            6,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        p.extend_from_slice(&[
            0x04, 0x00, 0x00, 0x15, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        p.extend_from_slice(payload);
        p
    }

    /// An ICMPv6 message of `ty`/`code` from 2001:db8::9 around `quoted`.
    fn ipv6_icmp(ty: u8, code: u8, quoted: &[u8]) -> Vec<u8> {
        let plen = 8 + quoted.len();
        let mut p = vec![0x60, 0, 0, 0, (plen >> 8) as u8, plen as u8, 58, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[ty, code, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(quoted);
        p
    }

    #[test]
    fn icmp_errors_quoting_tcp_are_read() {
        let mut d = Decoder::default();
        let icmp = |ty: u8, code: u8, quoted: &[u8]| {
            let mut m = vec![ty, code, 0, 0, 0, 0, 0, 0];
            m.extend_from_slice(quoted);
            ipv4_around(1, &m)
        };
        // Port unreachable quoting the IP header and the first 8 bytes of TCP.
        let syn = ipv4_tcp(b"");
        let p = icmp(3, 3, &syn[..28]);
        match d.decode(linktype::RAW, &p, Ts(0)) {
            Decoded::Icmp(u) => {
                assert_eq!(u.from, "192.0.2.1".parse::<IpAddr>().unwrap());
                assert_eq!(u.src, "10.0.0.1:1024".parse().unwrap());
                assert_eq!(u.dst, "10.0.0.2:21".parse().unwrap());
                assert_eq!(
                    (u.v6, u.code, u.seq, u.too_big),
                    (false, 3, Some(100), None)
                );
            }
            other => panic!("{other:?}"),
        }
        // Only the ports quoted: no sequence number.
        match d.decode(linktype::RAW, &icmp(3, 13, &syn[..24]), Ts(0)) {
            Decoded::Icmp(u) => assert_eq!((u.code, u.seq), (13, None)),
            other => panic!("{other:?}"),
        }
        // Fragmentation needed, with the next hop's MTU.
        let mut frag = icmp(3, 4, &syn[..28]);
        frag[20 + 6..20 + 8].copy_from_slice(&1000u16.to_be_bytes());
        match d.decode(linktype::RAW, &frag, Ts(0)) {
            Decoded::Icmp(u) => assert_eq!((u.code, u.too_big, u.seq), (4, Some(1000), Some(100))),
            other => panic!("{other:?}"),
        }
        // Not about TCP, or cut short: nothing of ours.
        for p in [
            icmp(11, 0, &syn[..28]), // time exceeded
            icmp(0, 0, &syn[..28]),  // echo reply
            icmp(3, 3, &syn[..22]),  // ports cut
            icmp(3, 3, &syn[..19]),  // IP header cut
            icmp(3, 3, &ipv4_around(17, &[0; 8])),
            icmp(3, 3, &ipv6_tcp(b"")[..48]), // an IPv6 quote in ICMP (v4)
            icmp(3, 3, &[]),
            ipv4_around(1, &[3, 3]),
        ] {
            let got = d.decode(linktype::RAW, &p, Ts(0));
            assert!(matches!(got, Decoded::NotTcp), "{got:?}");
        }
        // ICMPv6 administratively prohibited; packet too big is not a rejection.
        let syn6 = ipv6_tcp(b"");
        match d.decode(linktype::RAW, &ipv6_icmp(1, 1, &syn6[..48]), Ts(0)) {
            Decoded::Icmp(u) => {
                assert_eq!(u.src, "[2001:db8::1]:1024".parse().unwrap());
                assert_eq!(u.dst, "[2001:db8::2]:21".parse().unwrap());
                assert_eq!((u.v6, u.code, u.seq), (true, 1, Some(100)));
                assert_eq!(u.from, "2001:db8::9".parse::<IpAddr>().unwrap());
            }
            other => panic!("{other:?}"),
        }
        // Packet too big names a 32-bit MTU.
        let mut big = ipv6_icmp(2, 0, &syn6[..48]);
        big[40 + 4..40 + 8].copy_from_slice(&1280u32.to_be_bytes());
        match d.decode(linktype::RAW, &big, Ts(0)) {
            Decoded::Icmp(u) => assert_eq!((u.v6, u.too_big), (true, Some(1280))),
            other => panic!("{other:?}"),
        }
        for p in [
            ipv6_icmp(3, 0, &syn6[..48]),
            ipv6_icmp(128, 0, &syn6[..48]),
            ipv6_icmp(1, 4, &syn6[..43]),
            ipv6_icmp(1, 4, &ipv4_tcp(b"")[..28]),
        ] {
            let got = d.decode(linktype::RAW, &p, Ts(0));
            assert!(matches!(got, Decoded::NotTcp), "{got:?}");
        }
    }

    #[test]
    fn every_link_type_reaches_tcp() {
        let ip = ipv4_tcp(b"USER a\r\n");
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]); // one VLAN tag
        eth.extend_from_slice(&ip);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        let mut lo = 2u32.to_be_bytes().to_vec();
        lo.extend_from_slice(&ip);
        let mut d = Decoder::default();
        for (lt, bytes) in [
            (1, &eth),
            (113, &sll),
            (276, &sll2),
            (0, &null),
            (108, &lo),
            (101, &ip),
        ] {
            match d.decode(lt, bytes, Ts(0)) {
                Decoded::Tcp(s) => {
                    assert_eq!(s.payload, b"USER a\r\n", "link type {lt}");
                    assert_eq!(s.dst.port(), 21);
                    assert_eq!(s.seq, 100);
                }
                other => panic!("link type {lt}: {other:?}"),
            }
        }
        assert!(matches!(
            d.decode(999, &ip, Ts(0)),
            Decoded::UnsupportedLink(999)
        ));
    }

    #[test]
    fn snaplen_cut_keeps_declared_length() {
        let ip = ipv4_tcp(&[b'x'; 100]);
        let mut d = Decoder::default();
        match d.decode(101, &ip[..60], Ts(0)) {
            Decoded::Tcp(s) => {
                assert_eq!(s.payload.len(), 20);
                assert_eq!(s.wire_len, 100);
                assert_eq!(s.missing(), 80);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            d.decode(101, &ip[..30], Ts(0)),
            Decoded::Malformed(_)
        ));
    }

    /// Regression (fuzz target `decode`, AddressSanitizer heap-buffer-overflow in
    /// etherparse): a fragmenting IPv6 fragment header followed by a hop-by-hop
    /// header, which the lax parser refuses, left the extension iterator reading
    /// past the end of the packet.
    #[test]
    fn ipv6_fragment_header_followed_by_invalid_chain() {
        let mut p = vec![0x60, 0, 0, 0, 0, 16, 44, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Fragment header: next header 0 (hop-by-hop: not allowed here), offset 0,
        // more fragments, identification 0x01020304.
        p.extend_from_slice(&[0, 0, 0, 1, 1, 2, 3, 4]);
        p.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(linktype::RAW, &p, Ts(0)),
            Decoded::FragmentHeld | Decoded::Malformed(_) | Decoded::NotTcp
        ));
        assert_eq!(
            ipv6_fragment(Some(44), &p[40..48]),
            Some((0x0102_0304, 0, true))
        );
        // Walked by hand: a hop-by-hop header, then a fragment at offset 1480.
        let exts = [44, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0x05, 0xc8, 0, 0, 0, 9];
        assert_eq!(ipv6_fragment(Some(0), &exts), Some((9, 1480, false)));
        // Cut short or absent: nothing, and nothing read out of bounds.
        assert_eq!(ipv6_fragment(Some(0), &exts[..12]), None);
        assert_eq!(ipv6_fragment(Some(0), &[0, 255, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(ipv6_fragment(None, &exts), None);
    }

    #[test]
    fn ipv4_fragments_are_reassembled() {
        let whole = ipv4_tcp(b"RETR some-file.bin\r\n");
        let l4 = &whole[20..];
        let mk = |off: usize, more: bool, part: &[u8]| {
            let total = 20 + part.len();
            let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
            let mut p = vec![
                0x45,
                0,
                (total >> 8) as u8,
                total as u8,
                0x12,
                0x34,
                (fo >> 8) as u8,
                fo as u8,
                64,
                6,
                0,
                0,
                10,
                0,
                0,
                1,
                10,
                0,
                0,
                2,
            ];
            p.extend_from_slice(part);
            p
        };
        let a = mk(0, true, &l4[..24]);
        let b = mk(24, false, &l4[24..]);
        let mut d = Decoder::default();
        assert!(matches!(d.decode(101, &b, Ts(0)), Decoded::FragmentHeld));
        match d.decode(101, &a, Ts(1)) {
            Decoded::Tcp(s) => assert_eq!(s.payload, b"RETR some-file.bin\r\n"),
            other => panic!("{other:?}"),
        }
    }

    /// An IPv4 header (no options) carrying `proto`, around `inner`.
    fn ipv4_around(proto: u8, inner: &[u8]) -> Vec<u8> {
        let total = 20 + inner.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            2,
            0x40,
            0,
            64,
            proto,
            0,
            0,
            192,
            0,
            2,
            1,
            192,
            0,
            2,
            2,
        ];
        p.extend_from_slice(inner);
        p
    }

    /// IPv6 + TCP from 2001:db8::1 port 1024 to 2001:db8::2 port 21.
    fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
        let plen = 20 + payload.len();
        let mut p = vec![0x60, 0, 0, 0, (plen >> 8) as u8, plen as u8, 6, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[
            0x04, 0x00, 0x00, 0x15, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        p.extend_from_slice(payload);
        p
    }

    fn ethernet(ethertype: u16, inner: &[u8]) -> Vec<u8> {
        let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        e.extend_from_slice(&ethertype.to_be_bytes());
        e.extend_from_slice(inner);
        e
    }

    fn gre(flags: u16, proto: u16, extra: &[u8], inner: &[u8]) -> Vec<u8> {
        let mut g = flags.to_be_bytes().to_vec();
        g.extend_from_slice(&proto.to_be_bytes());
        g.extend_from_slice(extra);
        g.extend_from_slice(inner);
        g
    }

    fn udp(dport: u16, inner: &[u8]) -> Vec<u8> {
        let len = 8 + inner.len();
        let mut u = vec![0xc0, 0x00];
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&(len as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(inner);
        u
    }

    fn tcp_payload(d: &mut Decoder, link: u32, bytes: &[u8]) -> Result<(Vec<u8>, u16), String> {
        match d.decode(link, bytes, Ts(0)) {
            Decoded::Tcp(s) => Ok((s.payload.to_vec(), s.dst.port())),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn ftp_inside_tunnels_is_decoded_as_untunnelled() {
        let v4 = ipv4_tcp(b"USER a\r\n");
        let v6 = ipv6_tcp(b"USER a\r\n");
        let eth_v4 = ethernet(0x0800, &v4);
        let vxlan_hdr = [0x08, 0, 0, 0, 0, 0, 42, 0];
        let mut vx = vxlan_hdr.to_vec();
        vx.extend_from_slice(&eth_v4);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("ip-in-ip", ipv4_around(4, &v4)),
            ("6in4", ipv4_around(41, &v6)),
            ("gre ipv4", ipv4_around(47, &gre(0, 0x0800, &[], &v4))),
            ("gre ipv6", ipv4_around(47, &gre(0, 0x86dd, &[], &v6))),
            (
                "gre checksum+key+seq",
                ipv4_around(47, &gre(0xb000, 0x0800, &[0; 12], &v4)),
            ),
            (
                "gre key",
                ipv4_around(47, &gre(0x2000, 0x0800, &[0, 0, 0, 7], &v4)),
            ),
            ("gretap", ipv4_around(47, &gre(0, 0x6558, &[], &eth_v4))),
            ("erspan I", ipv4_around(47, &gre(0, 0x88be, &[], &eth_v4))),
            (
                "erspan II",
                ipv4_around(
                    47,
                    &gre(
                        0x1000,
                        0x88be,
                        &[0, 0, 0, 1, 0x10, 0, 0, 1, 0, 0, 0, 0],
                        &eth_v4,
                    ),
                ),
            ),
            (
                "erspan III",
                ipv4_around(
                    47,
                    &gre(
                        0x1000,
                        0x22eb,
                        &[0, 0, 0, 1, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                        &eth_v4,
                    ),
                ),
            ),
            ("vxlan", ipv4_around(17, &udp(VXLAN_PORT, &vx))),
            (
                "gre mpls",
                ipv4_around(47, &gre(0, 0x8847, &[0, 1, 0x01, 64], &v4)),
            ),
            (
                // Enhanced GRE with sequence and acknowledgement numbers, then PPP.
                "pptp",
                ipv4_around(
                    47,
                    &gre(
                        0x3081,
                        0x880b,
                        &[
                            &((v4.len() + 4) as u16).to_be_bytes()[..],
                            &[0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0x21],
                        ]
                        .concat(),
                        &v4,
                    ),
                ),
            ),
            // Nested: VXLAN inside GRE inside IP-in-IP.
            (
                "nested",
                ipv4_around(
                    4,
                    &ipv4_around(
                        47,
                        &gre(0, 0x0800, &[], &ipv4_around(17, &udp(VXLAN_PORT, &vx))),
                    ),
                ),
            ),
        ];
        let mut d = Decoder::default();
        for (name, ip) in &cases {
            for (link, bytes) in [
                (linktype::RAW, ip.clone()),
                (linktype::ETHERNET, ethernet(0x0800, ip)),
            ] {
                assert_eq!(
                    tcp_payload(&mut d, link, &bytes),
                    Ok((b"USER a\r\n".to_vec(), 21)),
                    "{name} over link {link}"
                );
            }
        }
        assert_eq!(d.tunnelled, 2 * cases.len() as u64);
    }

    #[test]
    fn bad_tunnel_headers_are_notes_not_panics() {
        let v4 = ipv4_tcp(b"USER a\r\n");
        let mut d = Decoder::default();
        // Cut short GRE and ERSPAN headers, a VXLAN header cut short.
        for bad in [
            ipv4_around(47, &[0x00]),
            ipv4_around(47, &gre(0xb000, 0x0800, &[0; 4], &[])),
            ipv4_around(47, &gre(0x1000, 0x22eb, &[0; 4], &[0; 6])),
            ipv4_around(17, &udp(VXLAN_PORT, &[8, 0, 0])),
            ipv4_around(4, &[0x45, 0]),
        ] {
            assert!(
                matches!(d.decode(linktype::RAW, &bad, Ts(0)), Decoded::Malformed(_)),
                "{bad:02x?}"
            );
        }
        // GRE version 1 (PPTP), routing present, an unknown protocol, other UDP:
        // not TCP, nothing to say.
        for other in [
            ipv4_around(47, &gre(0x0001, 0x880b, &[0; 4], &v4)),
            ipv4_around(47, &gre(0x4000, 0x0800, &[0; 4], &v4)),
            ipv4_around(47, &gre(0, 0x1234, &[], &v4)),
            ipv4_around(17, &udp(53, &v4)),
        ] {
            assert!(matches!(
                d.decode(linktype::RAW, &other, Ts(0)),
                Decoded::NotTcp
            ));
        }
        // Nesting deeper than allowed: refused, whatever the depth.
        let mut p = v4.clone();
        for _ in 0..MAX_TUNNEL_DEPTH {
            p = ipv4_around(4, &p);
        }
        assert!(matches!(
            d.decode(linktype::RAW, &p, Ts(0)),
            Decoded::Tcp(_)
        ));
        let deeper = ipv4_around(4, &p);
        assert!(matches!(
            d.decode(linktype::RAW, &deeper, Ts(0)),
            Decoded::Malformed(_)
        ));
        let mut deep = v4;
        for _ in 0..200 {
            deep = ipv4_around(47, &gre(0, 0x0800, &[], &deep));
        }
        assert!(matches!(
            d.decode(linktype::RAW, &deep[..1500], Ts(0)),
            Decoded::Malformed(_)
        ));
    }

    #[test]
    fn a_fragmented_tunnel_is_reassembled_then_opened() {
        let inner = ipv4_tcp(b"RETR some-file.bin\r\n");
        let outer = ipv4_around(4, &inner);
        let l4 = &outer[20..];
        let frag = |off: usize, more: bool, part: &[u8]| {
            let mut p = ipv4_around(4, part);
            let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
            p[4..6].copy_from_slice(&[0x55, 0x66]);
            p[6..8].copy_from_slice(&fo.to_be_bytes());
            p
        };
        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(101, &frag(0, true, &l4[..16]), Ts(0)),
            Decoded::FragmentHeld
        ));
        assert_eq!(
            tcp_payload(&mut d, 101, &frag(16, false, &l4[16..])),
            Ok((b"RETR some-file.bin\r\n".to_vec(), 21))
        );
    }
}
