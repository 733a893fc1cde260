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

/// A ClientHello with a server name and the TLS 1.2 versions, as a record.
fn client_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0xc0, 0x30, 1, 0]);
    let name = b"ftp.example.test";
    let mut sni = vec![0, 0];
    let entry_len = 3 + name.len();
    let list_len = entry_len as u16;
    let ext_len = (2 + entry_len) as u16;
    sni.extend_from_slice(&ext_len.to_be_bytes());
    sni.extend_from_slice(&list_len.to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    body.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    body.extend_from_slice(&sni);
    let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut r = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
    r.extend_from_slice(&hs);
    r
}

#[test]
fn implicit_ftps_on_port_990_and_on_a_named_port() {
    for (port, named) in [(990, false), (2990, true)] {
        let mut p = Pcap::new();
        let mut c = p.open(sa("192.0.2.10:40000"), sa(&format!("198.51.100.1:{port}")));
        p.send_a(&mut c, &client_hello());
        p.send_b(&mut c, &record(22, 900));
        p.close(&mut c);
        let mut cfg = TrackerConfig::default();
        if named {
            cfg.ftp_ports.push(port);
        }
        let cap = ftpscope::engine::analyze_reader(&p.bytes()[..], cfg, None).expect("analyse");
        assert_eq!(cap.sessions.len(), 1, "port {port}");
        let t = cap.sessions[0].tls_info.as_deref().expect("tls facts");
        assert_eq!(t.mode, "implicit");
        assert_eq!(t.sni.as_deref(), Some("ftp.example.test"));
    }
    // Not named, not 990: a ClientHello alone is not FTP.
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:2990"));
    p.send_a(&mut c, &client_hello());
    p.close(&mut c);
    assert!(run(&p).sessions.is_empty());
}

/// A TLS 1.2 ServerHello choosing ECDHE-RSA-AES256-GCM, then Certificate-less
/// ServerHelloDone (a full handshake), as one record.
fn server_hello_12() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9; 32]);
    body.push(32);
    body.extend_from_slice(&[4; 32]);
    body.extend_from_slice(&[0xc0, 0x30, 0, 0, 0]);
    let mut hs = vec![2, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    let mut r = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
    r.extend_from_slice(&hs);
    r
}

#[test]
fn an_upload_closed_without_close_notify_is_an_unclean_shutdown() {
    for clean in [false, true] {
        let mut p = Pcap::new();
        let mut c = encrypted_session(&mut p);
        let mut d = p.open(sa("192.0.2.10:40100"), sa("198.51.100.1:50000"));
        p.send_a(&mut d, &client_hello());
        p.send_b(&mut d, &server_hello_12());
        p.send_a(&mut d, &[record(20, 1), record(22, 40)].concat());
        p.send_b(&mut d, &[record(20, 1), record(22, 40)].concat());
        for _ in 0..8 {
            p.send_a(&mut d, &record(23, 4096));
        }
        if clean {
            p.send_a(&mut d, &record(21, 26));
        }
        p.close(&mut d);
        p.send_b(&mut c, &record(23, 40));
        p.close(&mut c);
        let cap = run(&p);
        let s = &cap.sessions[0];
        let t = s.data_channels[0].tls.as_deref().expect("tls facts");
        assert_eq!(t.handshake, "complete");
        assert_eq!(t.resumed, Some(false));
        assert_eq!(t.close_notify.client, Some(clean));
        // 8 records of 4096 B, less 24 B each (GCM nonce and tag).
        assert_eq!(t.records.client.plaintext_estimate, Some(8 * (4096 - 24)));
        let f = s.findings.iter().find(|f| f.id == "tls-unclean-shutdown");
        if clean {
            assert!(f.is_none(), "{:?}", f.map(|f| &f.summary));
        } else {
            let f = f.expect("tls-unclean-shutdown");
            assert_eq!(f.severity, ftpscope::model::Severity::Warning);
            assert!(f.summary.contains("upload"), "{}", f.summary);
        }
    }
}

#[test]
fn a_cleartext_client_on_the_implicit_port_is_a_mismatch() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:990"));
    p.send_a(&mut c, b"USER alice\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let f = cap.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "tls-implicit-explicit-mismatch")
        .expect("mismatch finding");
    assert!(f.summary.contains("implicit FTPS"), "{}", f.summary);
}
