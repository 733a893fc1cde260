//! Link layers: from a captured frame to the network-layer bytes it carries.
//!
//! Every capture starts with some link-layer header, and real ones nest: VLAN
//! tags (802.1Q, QinQ), an MPLS label stack on a provider's link, PPPoE on a DSL
//! line, 802.11 with a radiotap header from a monitor-mode capture, the Linux
//! netfilter log (`tcpdump -i nflog:N`), Cisco HDLC and PPP from router captures,
//! Apple's PKTAP (`tcpdump -k` on macOS). [`peel`] walks these down to an
//! EtherType and its bytes; IP and what follows are the decoder's. Every field is
//! read through a bounds check, every loop over tags or labels is bounded: a
//! hostile frame ends as [`Link::Malformed`] with the layer named, never a panic.

use super::reader::linktype;

/// Link types read here besides the ones the decoder's fast path knows (values
/// from the tcpdump LINKTYPE registry).
pub mod more {
    /// PPP (RFC 1661), with or without the HDLC address and control bytes.
    pub const PPP: u32 = 9;
    /// PPP in HDLC-like framing (RFC 1662).
    pub const PPP_HDLC: u32 = 50;
    /// PPPoE (RFC 2516) session frames without the Ethernet header.
    pub const PPP_ETHER: u32 = 51;
    /// Cisco HDLC: address, control, then an EtherType.
    pub const C_HDLC: u32 = 104;
    /// 802.11 frames as received, no radio header.
    pub const IEEE802_11: u32 = 105;
    /// 802.11 behind a Prism monitor-mode header (144 bytes).
    pub const IEEE802_11_PRISM: u32 = 119;
    /// 802.11 behind a radiotap header (the usual monitor-mode capture).
    pub const IEEE802_11_RADIOTAP: u32 = 127;
    /// 802.11 behind an AVS monitor-mode header.
    pub const IEEE802_11_AVS: u32 = 163;
    /// Per-Packet Information header, then the link type it names.
    pub const PPI: u32 = 192;
    /// An MPLS label stack, no link header before it.
    pub const MPLS: u32 = 219;
    /// Linux netfilter log messages (`tcpdump -i nflog:N`).
    pub const NFLOG: u32 = 239;
    /// Apple's packet tap: a header naming the interface's own link type.
    pub const PKTAP: u32 = 258;
}

/// EtherTypes walked through.
mod ether {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tags still sent by some switches.
    pub const QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Cisco MetaData (TrustSec security group tag on SPAN ports).
    pub const CISCO_METADATA: u16 = 0x8909;
    /// Cisco VN-Tag (fabric extenders).
    pub const VN_TAG: u16 = 0x8926;
    /// IEEE 802.1BR E-Tag (port extenders).
    pub const E_TAG: u16 = 0x893f;
    /// IEEE 802.1ah provider backbone bridging: an I-TAG, then the customer frame.
    pub const PBB: u16 = 0x88e7;
    /// Below this, the field is an 802.3 length and an LLC header follows.
    pub const MIN_TYPE: u16 = 0x0600;
}

/// Headers nested inside one frame at most (VLAN tags, MPLS labels, and the
/// encapsulations that contain one another): real frames use a handful.
pub const MAX_LAYERS: usize = 24;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link<'a> {
    /// Network-layer bytes and their EtherType (IPv4, IPv6, ARP, anything).
    Net(u16, &'a [u8]),
    /// A frame that carries no network packet we could read: 802.11 management
    /// and control frames, encrypted 802.11 data, PPP's own control protocols,
    /// netfilter messages without a payload.
    NoPacket,
    /// A link type not read here.
    Unsupported(u32),
    /// The frame ended inside a header; the reason names which.
    Malformed(&'static str),
}

/// The network-layer bytes of one frame of link type `link`.
pub fn peel(link: u32, data: &[u8]) -> Link<'_> {
    peel_at(link, data, 0)
}

fn peel_at(link: u32, data: &[u8], layers: usize) -> Link<'_> {
    if layers > MAX_LAYERS {
        return Link::Malformed("link-layer headers nested too deep");
    }
    match link {
        linktype::ETHERNET => ethernet(data, layers),
        linktype::LINUX_SLL => match data.get(16..) {
            Some(rest) => ether_payload(be16(data, 14), rest, layers),
            None => Link::Malformed("linux cooked header cut short"),
        },
        linktype::LINUX_SLL2 => match data.get(20..) {
            Some(rest) => ether_payload(be16(data, 0), rest, layers),
            None => Link::Malformed("linux cooked v2 header cut short"),
        },
        linktype::NULL | linktype::LOOP => {
            let Some(h) = data.get(..4) else {
                return Link::Malformed("loopback header cut short");
            };
            let h = [h[0], h[1], h[2], h[3]];
            let family = if link == linktype::LOOP {
                bsd_family(u32::from_be_bytes(h))
            } else {
                bsd_family(u32::from_le_bytes(h)).or_else(|| bsd_family(u32::from_be_bytes(h)))
            };
            match family {
                Some(et) => Link::Net(et, &data[4..]),
                None => Link::NoPacket,
            }
        }
        linktype::RAW | linktype::RAW_OLD | linktype::RAW_OLD2 => ip_by_version(data),
        linktype::IPV4 => Link::Net(ether::IPV4, data),
        linktype::IPV6 => Link::Net(ether::IPV6, data),
        more::PPP | more::PPP_HDLC => ppp(data, layers),
        more::PPP_ETHER => pppoe(data, layers),
        more::C_HDLC => match data.get(4..) {
            Some(rest) => ether_payload(be16(data, 2), rest, layers),
            None => Link::Malformed("Cisco HDLC header cut short"),
        },
        more::IEEE802_11
        | more::IEEE802_11_RADIOTAP
        | more::IEEE802_11_PRISM
        | more::IEEE802_11_AVS => match radio(link, data) {
            Ok(frame) => ieee802_11(frame, layers + 1),
            Err(why) => Link::Malformed(why),
        },
        more::PPI => {
            // Version, flags, header length (LE 16), then the inner link type (LE 32).
            let Some(h) = data.get(..8) else {
                return Link::Malformed("PPI header cut short");
            };
            let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
            let inner = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            match data.get(len.max(8)..) {
                Some(rest) => peel_at(inner, rest, layers + 1),
                None => Link::Malformed("PPI header cut short"),
            }
        }
        more::MPLS => mpls(data, layers),
        more::NFLOG => nflog(data),
        more::PKTAP => {
            // Header length, record type (1: a packet), then the interface's link
            // type, all in the writer's (little-endian) order.
            let Some(h) = data.get(..12) else {
                return Link::Malformed("PKTAP header cut short");
            };
            let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            let (len, kind, inner) = (word(0), word(4), word(8));
            if kind != 1 {
                return Link::NoPacket;
            }
            match usize::try_from(len)
                .ok()
                .filter(|&l| l >= 12)
                .and_then(|l| data.get(l..))
            {
                Some(rest) if inner != more::PKTAP => peel_at(inner, rest, layers + 1),
                _ => Link::Malformed("PKTAP header cut short"),
            }
        }
        other => Link::Unsupported(other),
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(x) => u16::from_be_bytes([x[0], x[1]]),
        None => 0,
    }
}

/// The address families BSD loopback headers use for IPv4 and IPv6 (IPv6 differs
/// between the BSDs and Darwin).
fn bsd_family(family: u32) -> Option<u16> {
    match family {
        2 => Some(ether::IPV4),
        10 | 24 | 28 | 30 => Some(ether::IPV6),
        _ => None,
    }
}

/// Raw IP: the version nibble says which.
fn ip_by_version(data: &[u8]) -> Link<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Link::Net(ether::IPV4, data),
        Some(6) => Link::Net(ether::IPV6, data),
        // Left to the IP decoder, which says what is wrong with it.
        _ => Link::Net(ether::IPV4, data),
    }
}

/// An Ethernet II (or 802.3 with LLC/SNAP) frame.
pub fn ethernet(data: &[u8], layers: usize) -> Link<'_> {
    match data.get(14..) {
        Some(rest) => ether_payload(be16(data, 12), rest, layers),
        None => Link::Malformed("ethernet header cut short"),
    }
}

/// What follows an EtherType field: VLAN tags, switch tags (Cisco MetaData,
/// VN-Tag, E-Tag), 802.1ah, MPLS labels and PPPoE walked through until a
/// network protocol.
pub fn ether_payload(mut et: u16, mut rest: &[u8], mut layers: usize) -> Link<'_> {
    loop {
        layers += 1;
        if layers > MAX_LAYERS {
            return Link::Malformed("link-layer headers nested too deep");
        }
        match et {
            t if t == ether::VLAN || t == ether::QINQ || ether::QINQ_OLD.contains(&t) => {
                let Some(next) = rest.get(4..) else {
                    return Link::Malformed("VLAN tag cut short");
                };
                et = be16(rest, 2);
                rest = next;
            }
            // Tags that end with the next EtherType: (tag length before it).
            ether::CISCO_METADATA | ether::VN_TAG | ether::E_TAG => {
                let skip = if et == ether::VN_TAG { 4 } else { 6 };
                let Some(next) = rest.get(skip + 2..) else {
                    return Link::Malformed("switch tag cut short");
                };
                et = be16(rest, skip);
                rest = next;
            }
            ether::PBB => {
                return match rest.get(4..) {
                    Some(frame) => ethernet(frame, layers),
                    None => Link::Malformed("802.1ah I-TAG cut short"),
                };
            }
            ether::MPLS | ether::MPLS_MULTICAST => return mpls(rest, layers),
            ether::PPPOE_SESSION => return pppoe(rest, layers),
            t if t < ether::MIN_TYPE => {
                // 802.3: LLC with a SNAP header carries an EtherType; other LLC
                // (spanning tree, NetBIOS) is no IP packet.
                return match llc_snap(rest) {
                    Some((t, next)) => ether_payload(t, next, layers),
                    None => Link::NoPacket,
                };
            }
            _ => return Link::Net(et, rest),
        }
    }
}

/// LLC with SNAP and the zero OUI (RFC 1042): the EtherType and what follows.
fn llc_snap(b: &[u8]) -> Option<(u16, &[u8])> {
    let h = b.get(..8)?;
    (h[..6] == [0xaa, 0xaa, 0x03, 0, 0, 0] || h[..6] == [0xaa, 0xaa, 0x03, 0, 0, 0xf8])
        .then(|| (u16::from_be_bytes([h[6], h[7]]), &b[8..]))
}

/// An MPLS label stack (RFC 3032), then what the bottom label carries. MPLS does
/// not say: IPv4 and IPv6 are told by their version nibble; an Ethernet frame
/// (RFC 4448) by a plausible EtherType where the frame's would be, right after
/// the stack or after a pseudowire control word (RFC 4385, first nibble zero);
/// anything else is no packet we read.
fn mpls(data: &[u8], layers: usize) -> Link<'_> {
    let mut at = 0;
    for _ in 0..MAX_LAYERS {
        let Some(label) = data.get(at..at + 4) else {
            return Link::Malformed("MPLS label stack cut short");
        };
        at += 4;
        if label[2] & 0x01 != 0 {
            let rest = &data[at..];
            let Some(first) = rest.first() else {
                return Link::Malformed("MPLS payload missing");
            };
            return match first >> 4 {
                4 => Link::Net(ether::IPV4, rest),
                6 => Link::Net(ether::IPV6, rest),
                _ if plausible_ether_type(be16(rest, 12)) => ethernet(rest, layers + 1),
                0 if plausible_ether_type(be16(rest, 16)) => ethernet(&rest[4..], layers + 1),
                _ => Link::NoPacket,
            };
        }
    }
    Link::Malformed("MPLS label stack without a bottom label")
}

/// An EtherType an Ethernet frame inside a pseudowire would likely carry.
fn plausible_ether_type(et: u16) -> bool {
    matches!(
        et,
        ether::IPV4
            | ether::IPV6
            | 0x0806
            | ether::VLAN
            | ether::QINQ
            | ether::MPLS
            | ether::PPPOE_SESSION
    )
}

/// A PPPoE session header (RFC 2516: version/type, code, session id, length),
/// then PPP.
fn pppoe(data: &[u8], layers: usize) -> Link<'_> {
    let Some(h) = data.get(..6) else {
        return Link::Malformed("PPPoE header cut short");
    };
    if h[0] != 0x11 || h[1] != 0 {
        return Link::NoPacket;
    }
    ppp(&data[6..], layers + 1)
}

/// A PPP frame: the HDLC address and control bytes when present, the protocol
/// field (one byte when compressed, RFC 1661 §6.5), then the packet.
pub fn ppp(data: &[u8], layers: usize) -> Link<'_> {
    let b = match data.get(..2) {
        Some([0xff, 0x03]) => &data[2..],
        Some(_) => data,
        None => return Link::Malformed("PPP header cut short"),
    };
    let Some(&first) = b.first() else {
        return Link::Malformed("PPP header cut short");
    };
    let (proto, rest) = if first & 1 == 1 {
        (u16::from(first), &b[1..])
    } else {
        match b.get(2..) {
            Some(rest) => (be16(b, 0), rest),
            None => return Link::Malformed("PPP header cut short"),
        }
    };
    match proto {
        0x0021 => Link::Net(ether::IPV4, rest),
        0x0057 => Link::Net(ether::IPV6, rest),
        0x0281 | 0x0283 => mpls(rest, layers + 1),
        _ => Link::NoPacket,
    }
}

/// The 802.11 frame behind a monitor-mode radio header (radiotap, Prism, AVS),
/// or the frame itself for link type 105.
fn radio(link: u32, data: &[u8]) -> Result<&[u8], &'static str> {
    match link {
        more::IEEE802_11_RADIOTAP => {
            // Version 0, pad, then the whole header's length (little-endian).
            let Some(h) = data.get(..4) else {
                return Err("radiotap header cut short");
            };
            match data.get(usize::from(u16::from_le_bytes([h[2], h[3]]))..) {
                Some(rest) if h[0] == 0 => Ok(rest),
                _ => Err("radiotap header cut short"),
            }
        }
        more::IEEE802_11_PRISM => data.get(144..).ok_or("Prism header cut short"),
        more::IEEE802_11_AVS => {
            // Big-endian header length after a 4-byte version field.
            let len = data
                .get(4..8)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            len.and_then(|l| data.get(usize::try_from(l).ok()?..))
                .ok_or("AVS header cut short")
        }
        more::PPI => {
            let Some(h) = data.get(..8) else {
                return Err("PPI header cut short");
            };
            let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
            let inner = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            match data.get(len.max(8)..) {
                Some(rest) if inner == more::IEEE802_11 => Ok(rest),
                _ => Err("PPI header cut short"),
            }
        }
        _ => Ok(data),
    }
}

/// What an 802.11 data frame's body holds.
enum Body<'a> {
    /// One packet behind an LLC/SNAP header.
    One(&'a [u8]),
    /// An A-MSDU: several subframes, each an 802.3 header and one packet.
    Aggregate(&'a [u8]),
}

/// The body of an 802.11 data frame; `Err` with what to answer for anything else:
/// management, control, null (no body), fragmented and encrypted (WEP/WPA) frames
/// carry nothing readable.
fn dot11_body(data: &[u8]) -> Result<Body<'_>, Link<'_>> {
    let Some(fc) = data.get(..2) else {
        return Err(Link::Malformed("802.11 header cut short"));
    };
    let (kind, subtype, flags) = ((fc[0] >> 2) & 0x3, fc[0] >> 4, fc[1]);
    if fc[0] & 0x3 != 0 || kind != 2 || subtype & 0x4 != 0 {
        // Another protocol version, not a data frame, or a null (no body) frame.
        return Err(Link::NoPacket);
    }
    let (to_ds, from_ds, more_frags, protected, order) = (
        flags & 0x01 != 0,
        flags & 0x02 != 0,
        flags & 0x04 != 0,
        flags & 0x40 != 0,
        flags & 0x80 != 0,
    );
    let qos = subtype & 0x8 != 0;
    let len = 24
        + if to_ds && from_ds { 6 } else { 0 }
        + if qos { 2 } else { 0 }
        + if qos && order { 4 } else { 0 };
    let Some(rest) = data.get(len..) else {
        return Err(Link::Malformed("802.11 header cut short"));
    };
    // Sequence control: fragment number in the low four bits.
    let fragment = data.get(22).is_some_and(|b| b & 0x0f != 0);
    if protected || more_frags || fragment {
        return Err(Link::NoPacket);
    }
    // QoS control bit 7: an A-MSDU (several packets in one frame).
    let aggregate = qos
        && data
            .get(len - 2 - if order { 4 } else { 0 })
            .is_some_and(|b| b & 0x80 != 0);
    Ok(if aggregate {
        Body::Aggregate(rest)
    } else {
        Body::One(rest)
    })
}

/// An 802.11 frame holding one packet: its LLC/SNAP payload. An A-MSDU holds
/// several and is read by [`aggregate`] instead.
fn ieee802_11(data: &[u8], layers: usize) -> Link<'_> {
    match dot11_body(data) {
        Ok(Body::One(rest)) => match llc_snap(rest) {
            Some((et, next)) => ether_payload(et, next, layers + 1),
            None => Link::NoPacket,
        },
        Ok(Body::Aggregate(_)) => Link::NoPacket,
        Err(answer) => answer,
    }
}

/// The subframes of an 802.11 A-MSDU (802.11n aggregation: several packets in one
/// frame, common in monitor-mode captures of fast networks), each an 802.3 frame
/// (destination, source, length, LLC/SNAP, packet) for [`ethernet`]; `None` for any
/// other frame. The last subframe may be cut by the snaplen; what is there is given.
pub fn aggregate(link: u32, data: &[u8]) -> Option<Subframes<'_>> {
    if !may_aggregate(link) {
        return None;
    }
    match dot11_body(radio(link, data).ok()?) {
        Ok(Body::Aggregate(rest)) => Some(Subframes { rest }),
        _ => None,
    }
}

/// Link types whose frames may be A-MSDUs (802.11, bare or behind a radio
/// header): the only ones [`aggregate`] has to look at.
#[inline]
pub fn may_aggregate(link: u32) -> bool {
    matches!(
        link,
        more::IEEE802_11
            | more::IEEE802_11_RADIOTAP
            | more::IEEE802_11_PRISM
            | more::IEEE802_11_AVS
            | more::PPI
    )
}

/// See [`aggregate`].
pub struct Subframes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Subframes<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.len() < 14 {
            return None;
        }
        let end = (14 + usize::from(be16(self.rest, 12))).min(self.rest.len());
        let frame = &self.rest[..end];
        // Subframes but the last are padded to a multiple of four bytes.
        let next = end.next_multiple_of(4).min(self.rest.len());
        self.rest = &self.rest[next..];
        Some(frame)
    }
}

/// A netfilter log message: a 4-byte header (address family, version, group),
/// then type-length-value attributes (lengths and types in host order, which is
/// little-endian on the machines that write these captures), padded to four
/// bytes; the packet is the payload attribute (type 9), from its IP header on.
fn nflog(data: &[u8]) -> Link<'_> {
    let Some(h) = data.get(..4) else {
        return Link::Malformed("NFLOG header cut short");
    };
    let family = h[0];
    let mut at = 4;
    while let Some(tlv) = data.get(at..at + 4) {
        let len = usize::from(u16::from_le_bytes([tlv[0], tlv[1]]));
        // The top two bits are netlink flags (nested, network byte order).
        let kind = u16::from_le_bytes([tlv[2], tlv[3]]) & 0x3fff;
        if len < 4 {
            return Link::Malformed("NFLOG attribute length below 4");
        }
        let Some(value) = data.get(at + 4..at + len) else {
            return Link::Malformed("NFLOG attribute cut short");
        };
        if kind == 9 {
            return match family {
                2 => Link::Net(ether::IPV4, value),
                10 => Link::Net(ether::IPV6, value),
                _ => ip_by_version(value),
            };
        }
        at += (len + 3) & !3;
    }
    Link::NoPacket
}

#[cfg(test)]
mod tests;
