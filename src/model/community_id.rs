//! Community ID v1 (<https://github.com/corelight/community-id-spec>): a short hash of
//! a connection's endpoints and transport that Zeek, Suricata and others compute the
//! same way, so records of one connection from different tools can be joined.
//!
//! `1:` then the base64 of SHA-1 over: the seed (2 bytes, big endian), the two
//! addresses and two ports in a canonical order (the smaller endpoint first:
//! address bytes, then port), the protocol number, one zero byte, then the ports
//! (2 bytes each, big endian). Both directions of a connection give the same ID.
//! Pure: no I/O, cannot panic.

use std::net::{IpAddr, SocketAddr};

use sha1::{Digest, Sha1};

/// IANA protocol number of TCP.
pub const TCP: u8 = 6;

/// The Community ID v1 of a TCP connection between `a` and `b`, seed 0 (the default
/// everywhere). Endpoints of different address families have no ID (`None`): no
/// connection joins an IPv4 and an IPv6 address.
pub fn tcp(a: SocketAddr, b: SocketAddr) -> Option<String> {
    community_id_v1(0, TCP, a, b)
}

/// The Community ID v1 of a flow of a port-based protocol (`proto`: TCP 6, UDP 17,
/// SCTP 132) between `a` and `b`, with `seed`.
pub fn community_id_v1(seed: u16, proto: u8, a: SocketAddr, b: SocketAddr) -> Option<String> {
    let (ka, kb) = (key(a.ip()), key(b.ip()));
    if ka.len() != kb.len() {
        return None;
    }
    let (first, second) = if (ka.as_slice(), a.port()) <= (kb.as_slice(), b.port()) {
        ((ka, a.port()), (kb, b.port()))
    } else {
        ((kb, b.port()), (ka, a.port()))
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(&first.0);
    h.update(&second.0);
    h.update([proto, 0]);
    h.update(first.1.to_be_bytes());
    h.update(second.1.to_be_bytes());
    let digest = h.finalize();
    Some(format!("1:{}", base64(&digest)))
}

/// An address as the bytes the hash takes (4 for IPv4, 16 for IPv6). An IPv4-mapped
/// IPv6 address stays IPv6, as it was on the wire.
fn key(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Standard base64 (RFC 4648 section 4) with `=` padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(ip: &str, port: u16) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), port)
    }

    /// Vectors from the spec's baseline/baseline_deflt.json (seed 0), written out by
    /// hand: each flow in both directions gives the one ID.
    #[test]
    fn spec_baseline_vectors_seed_0() {
        let cases: &[(u8, &str, u16, &str, u16, &str)] = &[
            (
                6,
                "128.232.110.120",
                34855,
                "66.35.250.204",
                80,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                63943,
                "2607:f8b0:400c:c03::1a",
                25,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                17,
                "192.168.1.52",
                54585,
                "8.8.8.8",
                53,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                132,
                "192.168.170.8",
                7,
                "192.168.170.56",
                7,
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
        ];
        for &(proto, s, sp, d, dp, want) in cases {
            let (a, b) = (sa(s, sp), sa(d, dp));
            assert_eq!(community_id_v1(0, proto, a, b).as_deref(), Some(want));
            assert_eq!(community_id_v1(0, proto, b, a).as_deref(), Some(want));
        }
        assert_eq!(
            tcp(sa("66.35.250.204", 80), sa("128.232.110.120", 34855)).as_deref(),
            Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        );
    }

    #[test]
    fn the_seed_changes_the_id() {
        let (a, b) = (sa("128.232.110.120", 34855), sa("66.35.250.204", 80));
        assert_ne!(community_id_v1(1, TCP, a, b), community_id_v1(0, TCP, a, b));
    }

    #[test]
    fn mixed_families_have_no_id() {
        assert_eq!(tcp(sa("10.0.0.1", 1), sa("::1", 2)), None);
    }

    #[test]
    fn base64_pads_as_rfc_4648_says() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
