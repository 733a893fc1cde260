//! Data-channel address parsers on any bytes; whatever parses must format and
//! parse back to the same address. The first 19 bytes, read as an address, must
//! also survive format -> parse for every format.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use ftpscope::ftp::address::*;
use libfuzzer_sys::fuzz_target;

fn lprt_228(a: SocketAddr) -> String {
    format!("228 Entering Long Passive Mode ({})", format_lprt(a))
}

fn round_trips(a4: SocketAddrV4, a: SocketAddr) {
    assert_eq!(parse_port_arg(format_port_arg(a4).as_bytes()), Some(a4));
    assert_eq!(parse_227(format_227(a4).as_bytes()), Some(a4));
    assert_eq!(parse_eprt(format_eprt(a).as_bytes()), Some(a));
    assert_eq!(parse_lprt(format_lprt(a).as_bytes()), Some(a));
    assert_eq!(parse_228(lprt_228(a).as_bytes()), Some(a));
    if a.port() != 0 {
        assert_eq!(parse_229(format_229(a.port()).as_bytes()), Some(a.port()));
    }
    let _ = is_private(a.ip());
}

fuzz_target!(|data: &[u8]| {
    if let Some(a) = parse_port_arg(data) {
        assert_eq!(parse_port_arg(format_port_arg(a).as_bytes()), Some(a));
    }
    if let Some(a) = parse_227(data) {
        assert_eq!(parse_227(format_227(a).as_bytes()), Some(a));
    }
    if let Some(a) = parse_eprt(data) {
        assert_eq!(parse_eprt(format_eprt(a).as_bytes()), Some(a));
        let _ = is_private(a.ip());
    }
    if let Some(p) = parse_229(data) {
        assert_ne!(p, 0);
        assert_eq!(parse_229(format_229(p).as_bytes()), Some(p));
    }
    if let Some(a) = parse_lprt(data) {
        assert_eq!(parse_lprt(format_lprt(a).as_bytes()), Some(a));
    }
    if let Some(a) = parse_228(data) {
        assert_eq!(parse_228(lprt_228(a).as_bytes()), Some(a));
    }
    if data.len() >= 19 {
        let mut v6 = [0u8; 16];
        v6.copy_from_slice(&data[..16]);
        let port = u16::from_be_bytes([data[16], data[17]]);
        let v4 = Ipv4Addr::new(data[0], data[1], data[2], data[3]);
        let a4 = SocketAddrV4::new(v4, port);
        let a = if data[18] & 1 == 0 {
            SocketAddr::V4(a4)
        } else {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(v6)), port)
        };
        round_trips(a4, a);
    }
});
