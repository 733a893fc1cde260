//! FTPS situations built packet by packet: what an encrypted session's data
//! connections look like when they fail, and what must not be taken for one.

mod common;

use common::builder::{Pcap, sa};
use ftpscope::model::{Capture, MatchKind, Outcome};
use ftpscope::session::TrackerConfig;

fn run(p: &Pcap) -> Capture {
    ftpscope::engine::analyze_reader(&p.bytes()[..], TrackerConfig::default(), None)
        .expect("analyse")
}

/// A record header and `n` opaque bytes.
fn record(ct: u8, n: usize) -> Vec<u8> {
    let mut v = vec![ct, 3, 3, (n >> 8) as u8, n as u8];
    v.resize(5 + n, 0x5a);
    v
}

/// An explicit FTPS session's start: greeting, AUTH TLS, 234, then records both ways.
fn encrypted_session(p: &mut Pcap) -> common::builder::Flow {
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    p.send_b(&mut c, b"220 ready\r\n");
    p.send_a(&mut c, b"AUTH TLS\r\n");
    p.send_b(&mut c, b"234 go ahead\r\n");
    p.send_a(&mut c, &record(22, 200));
    p.send_b(&mut c, &record(22, 900));
    p.send_a(&mut c, &record(23, 40));
    p.send_b(&mut c, &record(23, 60));
    c
}

#[test]
fn a_refused_data_connection_of_an_encrypted_session_is_its_data_channel() {
    let mut p = Pcap::new();
    let mut c = encrypted_session(&mut p);
    p.refused(sa("192.0.2.10:40100"), sa("198.51.100.1:50000"));
    p.send_b(&mut c, &record(23, 70));
    p.close(&mut c);
    let cap = run(&p);
    let s = &cap.sessions[0];
    assert_eq!(s.data_channels.len(), 1, "{:?}", s.data_channels);
    let d = &s.data_channels[0];
    assert_eq!(d.outcome, Outcome::Refused);
    assert_eq!(d.match_kind, Some(MatchKind::Timing));
    assert_eq!(d.via, "encrypted");
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "passive-data-refused")
        .unwrap_or_else(|| {
            panic!(
                "no passive-data-refused: {:?}",
                s.findings.iter().map(|f| f.id).collect::<Vec<_>>()
            )
        });
    assert!(
        f.summary.contains("the announcement is encrypted")
            && !f.summary.contains("announced by encrypted"),
        "{}",
        f.summary
    );
}

#[test]
fn other_connections_between_the_peers_are_not_data_channels() {
    let mut p = Pcap::new();
    let mut c = encrypted_session(&mut p);
    // HTTPS to the same server, and a second control connection.
    let mut h = p.open(sa("192.0.2.10:40200"), sa("198.51.100.1:443"));
    p.send_a(&mut h, &record(22, 300));
    p.close(&mut h);
    let mut c2 = p.open(sa("192.0.2.10:40300"), sa("198.51.100.1:21"));
    p.send_b(&mut c2, b"220 ready\r\n");
    p.close(&mut c2);
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(cap.sessions.len(), 2);
    assert!(cap.sessions.iter().all(|s| s.data_channels.is_empty()));
}

#[test]
fn a_plain_session_gets_no_data_channel_by_timing() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    p.send_b(&mut c, b"220 ready\r\n");
    let mut d = p.open(sa("192.0.2.10:40100"), sa("198.51.100.1:50000"));
    p.send_b(&mut d, &record(23, 100));
    p.close(&mut d);
    p.close(&mut c);
    let cap = run(&p);
    assert!(cap.sessions[0].data_channels.is_empty());
    assert!(cap.sessions[0].tls_info.is_none());
}
