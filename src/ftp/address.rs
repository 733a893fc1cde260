//! Data-channel addresses: PORT / 227 (RFC 959), EPRT / 229 (RFC 2428),
//! LPRT / 228 (RFC 1639). Parsers take bytes off the wire and never panic;
//! formatters write what the same parsers read back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let e = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(a, |i| i + 1);
    &s[a..e.max(a)]
}

/// `h1,h2,h3,h4,p1,p2` exactly (surrounding spaces allowed).
pub fn parse_port_arg(arg: &[u8]) -> Option<SocketAddrV4> {
    let parts: Vec<&[u8]> = trim(arg).split(|&b| b == b',').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut n = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        let v = num(trim(p))?;
        n[i] = u8::try_from(v).ok()?;
    }
    Some(SocketAddrV4::new(
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from(n[4]) * 256 + u16::from(n[5]),
    ))
}

/// The six numbers of a 227 reply, wherever they stand in the text (servers vary:
/// `(a,b,c,d,p1,p2)`, `=a,b,c,d,p1,p2`, no parentheses at all).
pub fn parse_227(text: &[u8]) -> Option<SocketAddrV4> {
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() && (i == 0 || !text[i - 1].is_ascii_digit()) {
            let end = text[i..]
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b',' || *b == b' '))
                .map_or(text.len(), |p| i + p);
            let cand = trim(&text[i..end]);
            let cand = cand.strip_suffix(b",").unwrap_or(cand);
            if let Some(a) = parse_port_arg(cand) {
                return Some(a);
            }
            // A longer run may hold the six numbers at its end? No: try the next start.
        }
        i += 1;
    }
    None
}

/// `EPRT |1|132.235.1.2|6275|` or `|2|1080::8:800:200C:417A|5282|`; any delimiter
/// in 33..=126 (RFC 2428 §2).
pub fn parse_eprt(arg: &[u8]) -> Option<SocketAddr> {
    let arg = trim(arg);
    let d = *arg.first()?;
    if !(33..=126).contains(&d) {
        return None;
    }
    let parts: Vec<&[u8]> = arg.split(|&b| b == d).collect();
    if parts.len() != 5 || !parts[0].is_empty() || !parts[4].is_empty() {
        return None;
    }
    let addr = std::str::from_utf8(parts[2]).ok()?;
    let port = u16::try_from(num(parts[3])?).ok()?;
    let ip: IpAddr = match parts[1] {
        b"1" => IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?),
        b"2" => IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The port of a 229 reply: `(|||6446|)`, any delimiter repeated.
pub fn parse_229(text: &[u8]) -> Option<u16> {
    let open = text.iter().position(|&b| b == b'(')?;
    let rest = &text[open + 1..];
    let close = rest.iter().position(|&b| b == b')')?;
    let inner = &rest[..close];
    let d = *inner.first()?;
    if !(33..=126).contains(&d) || d.is_ascii_digit() {
        return None;
    }
    // "", net-prt, net-addr, port, "": five parts, the last empty.
    let mut parts = inner.split(|&b| b == d);
    let port = parts.nth(3)?;
    if parts.next().is_none_or(|last| !last.is_empty()) || parts.next().is_some() {
        return None;
    }
    u16::try_from(num(port)?).ok().filter(|p| *p != 0)
}

/// LPRT argument / 228 reply body: `af,hal,h1,...,pal,p1,p2` (RFC 1639).
pub fn parse_lprt(arg: &[u8]) -> Option<SocketAddr> {
    let nums: Option<Vec<u8>> = trim(arg)
        .split(|&b| b == b',')
        .map(|p| num(trim(p)).and_then(|v| u8::try_from(v).ok()))
        .collect();
    let n = nums?;
    let (&af, rest) = n.split_first()?;
    let (&hal, rest) = rest.split_first()?;
    let hal = hal as usize;
    if rest.len() != hal + 3 {
        return None;
    }
    let host = &rest[..hal];
    let pal = rest[hal] as usize;
    let port = &rest[hal + 1..];
    if pal != 2 || port.len() != 2 {
        return None;
    }
    let port = u16::from(port[0]) * 256 + u16::from(port[1]);
    let ip = match (af, hal) {
        (4, 4) => IpAddr::V4(Ipv4Addr::new(host[0], host[1], host[2], host[3])),
        (6, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(host);
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The address in a 228 reply: the LPRT form inside parentheses.
pub fn parse_228(text: &[u8]) -> Option<SocketAddr> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = open + text[open..].iter().position(|&b| b == b')')?;
    parse_lprt(&text[open + 1..close])
}

pub fn format_port_arg(a: SocketAddrV4) -> String {
    let o = a.ip().octets();
    format!(
        "{},{},{},{},{},{}",
        o[0],
        o[1],
        o[2],
        o[3],
        a.port() >> 8,
        a.port() & 0xff
    )
}

pub fn format_227(a: SocketAddrV4) -> String {
    format!("227 Entering Passive Mode ({}).", format_port_arg(a))
}

pub fn format_eprt(a: SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(ip) => format!("|1|{ip}|{}|", a.port()),
        IpAddr::V6(ip) => format!("|2|{ip}|{}|", a.port()),
    }
}

pub fn format_229(port: u16) -> String {
    format!("229 Entering Extended Passive Mode (|||{port}|)")
}

pub fn format_lprt(a: SocketAddr) -> String {
    let (af, host): (u8, Vec<u8>) = match a.ip() {
        IpAddr::V4(ip) => (4, ip.octets().to_vec()),
        IpAddr::V6(ip) => (6, ip.octets().to_vec()),
    };
    let mut parts = vec![af.to_string(), host.len().to_string()];
    parts.extend(host.iter().map(u8::to_string));
    parts.push("2".into());
    parts.push((a.port() >> 8).to_string());
    parts.push((a.port() & 0xff).to_string());
    parts.join(",")
}

/// A number of 1 to `max_digits` ASCII digits, nothing else (no sign, no space).
fn strict_num(s: &[u8], max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

fn strict_byte(s: &[u8]) -> Option<u8> {
    u8::try_from(strict_num(s, 3)?).ok()
}

/// `h1,h2,h3,h4,p1,p2` and nothing else: six fields of 1-3 digits, no spaces,
/// signs or extra fields. For a relay that must not pass on what it cannot
/// read exactly ([`parse_port_arg`] is the lenient reader for analysis).
pub fn parse_port_arg_strict(arg: &[u8]) -> Option<SocketAddrV4> {
    let mut n = [0u8; 6];
    let mut fields = arg.split(|&b| b == b',');
    for v in &mut n {
        *v = strict_byte(fields.next()?)?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(SocketAddrV4::new(
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from(n[4]) * 256 + u16::from(n[5]),
    ))
}

/// `<d>1<d>dotted-quad<d>port<d>` or `<d>2<d>IPv6<d>port<d>` exactly (RFC 2428):
/// a delimiter in 33..=126 that is not a letter, digit, `.` or `:`, an address in
/// its standard text form (no short IPv4 forms, no leading zeros, no zone), a
/// port of 1-5 digits in 1..=65535, nothing before or after.
pub fn parse_eprt_strict(arg: &[u8]) -> Option<SocketAddr> {
    let d = *arg.first()?;
    if !(33..=126).contains(&d) || d.is_ascii_alphanumeric() || d == b'.' || d == b':' {
        return None;
    }
    let parts: Vec<&[u8]> = arg.split(|&b| b == d).collect();
    let [first, af, host, port, last] = parts[..] else {
        return None;
    };
    if !first.is_empty() || !last.is_empty() {
        return None;
    }
    let port = u16::try_from(strict_num(port, 5)?)
        .ok()
        .filter(|p| *p != 0)?;
    let host = std::str::from_utf8(host).ok()?;
    let ip = match af {
        b"1" => IpAddr::V4(host.parse::<Ipv4Addr>().ok()?),
        b"2" => IpAddr::V6(host.parse::<Ipv6Addr>().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// `af,hal,h1,...,pal,p1,p2` exactly (RFC 1639): fields of 1-3 digits, af 4
/// with 4 address bytes or af 6 with 16, a port length of 2, no extra fields.
pub fn parse_lprt_strict(arg: &[u8]) -> Option<SocketAddr> {
    let n: Vec<u8> = arg
        .split(|&b| b == b',')
        .map(strict_byte)
        .collect::<Option<_>>()?;
    let ip = match n[..] {
        [4, 4, a, b, c, d, 2, _, _] => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        [6, 16, ref rest @ ..] if rest.len() == 16 + 3 && rest[16] == 2 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&rest[..16]);
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    let port = u16::from(n[n.len() - 2]) * 256 + u16::from(n[n.len() - 1]);
    Some(SocketAddr::new(ip, port))
}

/// Is this an address that cannot be reached from the public Internet?
/// RFC 1918, RFC 6598 (carrier-grade NAT), loopback, link-local, unspecified,
/// IPv6 unique-local and link-local.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            v.is_loopback()
                || v.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped()
                    .is_some_and(|m| is_private(IpAddr::V4(m)))
        }
    }
}

/// The private network block an address is in (RFC 1918, shared CGNAT space of
/// RFC 6598, link-local, IPv6 unique-local), None for any other address. Two
/// private addresses in different blocks (a container's 172.17.0.2 and its
/// host's 192.168.1.5) are most often two networks with a NAT between them.
pub fn private_block(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v) => match v.octets() {
            [10, ..] => Some("10.0.0.0/8"),
            [172, b, ..] if (16..32).contains(&b) => Some("172.16.0.0/12"),
            [192, 168, ..] => Some("192.168.0.0/16"),
            [100, b, ..] if (64..128).contains(&b) => Some("100.64.0.0/10"),
            [169, 254, ..] => Some("169.254.0.0/16"),
            _ => None,
        },
        IpAddr::V6(v) => {
            let s = v.segments();
            if (s[0] & 0xfe00) == 0xfc00 {
                Some("fc00::/7")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("fe80::/10")
            } else {
                v.to_ipv4_mapped()
                    .and_then(|m| private_block(IpAddr::V4(m)))
            }
        }
    }
}

/// The private blocks of `a` and `b` when both are private and in different
/// blocks: two private networks, most often with a NAT between them.
pub fn private_networks_apart(a: IpAddr, b: IpAddr) -> Option<(&'static str, &'static str)> {
    match (private_block(a), private_block(b)) {
        (Some(x), Some(y)) if x != y => Some((x, y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn private_blocks() {
        let b = |s: &str| private_block(s.parse().unwrap());
        assert_eq!(b("10.1.2.3"), Some("10.0.0.0/8"));
        assert_eq!(b("172.17.0.2"), Some("172.16.0.0/12"));
        assert_eq!(b("172.32.0.1"), None);
        assert_eq!(b("192.168.1.5"), Some("192.168.0.0/16"));
        assert_eq!(b("100.64.0.1"), Some("100.64.0.0/10"));
        assert_eq!(b("100.128.0.1"), None);
        assert_eq!(b("169.254.1.1"), Some("169.254.0.0/16"));
        assert_eq!(b("203.0.113.7"), None);
        assert_eq!(b("fd00::1"), Some("fc00::/7"));
        assert_eq!(b("::ffff:192.168.1.5"), Some("192.168.0.0/16"));
        assert_eq!(b("2001:db8::1"), None);
        // Every address with a block is private.
        for a in [
            "10.0.0.0",
            "172.31.255.255",
            "192.168.0.0",
            "100.127.255.255",
            "169.254.0.1",
        ] {
            assert!(is_private(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn the_classic_227() {
        let a = parse_227(b"Entering Passive Mode (60,165,133,154,13,31)").unwrap();
        assert_eq!(a.to_string(), "60.165.133.154:3359");
        assert_eq!(
            parse_227(b"Entering Passive Mode 10,0,0,5,195,80")
                .unwrap()
                .port(),
            50000
        );
        assert_eq!(parse_227(b"=127,0,0,1,4,1").unwrap().port(), 1025);
        assert!(parse_227(b"Entering Passive Mode (300,1,1,1,1,1)").is_none());
        assert!(parse_227(b"Entering Passive Mode").is_none());
    }

    #[test]
    fn port_eprt_229_lprt() {
        assert_eq!(
            parse_port_arg(b"10,1,0,2,200,10").unwrap().to_string(),
            "10.1.0.2:51210"
        );
        assert!(parse_port_arg(b"114,115").is_none());
        assert_eq!(
            parse_eprt(b"|2|2001:db8::2|5282|").unwrap().to_string(),
            "[2001:db8::2]:5282"
        );
        assert_eq!(
            parse_eprt(b"!1!10.0.0.1!21!").unwrap().to_string(),
            "10.0.0.1:21"
        );
        assert!(parse_eprt(b"|3|x|1|").is_none());
        assert!(parse_eprt(b"|1|10.0.0.1|99999|").is_none());
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (!!!6446!)"),
            Some(6446)
        );
        assert_eq!(parse_229(b"(|||0|)"), None);
        assert_eq!(
            parse_lprt(b"4,4,10,0,0,1,2,4,1").unwrap().to_string(),
            "10.0.0.1:1025"
        );
        assert_eq!(
            parse_228(
                b"Entering Long Passive Mode (6,16,32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1,2,0,21)"
            )
            .unwrap()
            .to_string(),
            "[2001:db8::1]:21"
        );
    }

    #[test]
    fn private_ranges() {
        for p in [
            "10.0.0.5",
            "172.16.1.1",
            "192.168.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "0.0.0.0",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in [
            "203.0.113.7",
            "60.165.133.154",
            "2001:db8::1",
            "100.128.0.1",
        ] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse(o in any::<[u8; 4]>(), v6 in any::<[u8; 16]>(), port in 1u16..) {
            let a4 = SocketAddrV4::new(Ipv4Addr::from(o), port);
            prop_assert_eq!(parse_port_arg(format_port_arg(a4).as_bytes()), Some(a4));
            prop_assert_eq!(parse_227(format_227(a4).as_bytes()), Some(a4));
            let a6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(v6)), port);
            prop_assert_eq!(parse_eprt(format_eprt(a6).as_bytes()), Some(a6));
            prop_assert_eq!(parse_eprt(format_eprt(SocketAddr::V4(a4)).as_bytes()), Some(SocketAddr::V4(a4)));
            prop_assert_eq!(parse_229(format_229(port).as_bytes()), Some(port));
            prop_assert_eq!(parse_lprt(format_lprt(a6).as_bytes()), Some(a6));
            prop_assert_eq!(parse_port_arg_strict(format_port_arg(a4).as_bytes()), Some(a4));
            prop_assert_eq!(parse_eprt_strict(format_eprt(a6).as_bytes()), Some(a6));
            prop_assert_eq!(parse_eprt_strict(format_eprt(SocketAddr::V4(a4)).as_bytes()), Some(SocketAddr::V4(a4)));
            prop_assert_eq!(parse_lprt_strict(format_lprt(a6).as_bytes()), Some(a6));
            prop_assert_eq!(parse_lprt_strict(format_lprt(SocketAddr::V4(a4)).as_bytes()), Some(SocketAddr::V4(a4)));
        }
    }
}
