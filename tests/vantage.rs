//! One FTP session seen on both sides of a NAT (`nat-both-sides`): a capture on
//! the NAT, or the client's and the server's captures merged. It must be paired
//! when it is one session, and never when it is two.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::builder::{Pcap, sa};
use ftpscope::model::{Capture, Finding};
use ftpscope::session::TrackerConfig;

fn analyse(bytes: &[u8]) -> Capture {
    ftpscope::engine::analyze_reader(bytes, TrackerConfig::default(), None).expect("analyse")
}

fn pairs(cap: &Capture) -> Vec<&Finding> {
    cap.findings
        .iter()
        .filter(|f| f.id == "nat-both-sides")
        .collect()
}

/// The lab's active-mode session behind a NAT, captured on the client's side and
/// on the server's side in the same run (captures/make/nat-client-active.sh),
/// merged as a capture on the NAT would hold it.
#[test]
fn the_two_halves_of_a_natted_session_are_paired() {
    if !common::require_tool("mergecap", "the_two_halves_of_a_natted_session_are_paired") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let merged = d.path().join("both.pcap");
    let c = common::repo().join("captures");
    let ok = Command::new("mergecap")
        .args(["-F", "pcap", "-w"])
        .arg(&merged)
        .arg(c.join("nat-client-active-client-side.pcap"))
        .arg(c.join("nat-client-active-server-side.pcap"))
        .status()
        .expect("mergecap runs");
    assert!(ok.success());
    let cap = analyse(&std::fs::read(&merged).unwrap());
    assert_eq!(cap.sessions.len(), 2, "two halves");
    let p = pairs(&cap);
    assert_eq!(p.len(), 1, "paired once: {:#?}", cap.findings);
    let f = p[0];
    assert!(
        f.summary
            .contains("the client 10.0.1.10:48710 appears outside as 203.0.113.1:48710"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("does not rewrite"), "{}", f.summary);
    assert!(
        f.evidence.iter().any(|e| e
            .what
            .contains("passed \"PORT 10,0,1,10,195,171\" unchanged")),
        "{:#?}",
        f.evidence
    );
    assert!(f.remedy.contains("passive mode"), "{}", f.remedy);
    // Either half alone is not paired.
    for half in [
        "nat-client-active-client-side.pcap",
        "nat-client-active-server-side.pcap",
    ] {
        let cap = analyse(&std::fs::read(c.join(half)).unwrap());
        assert!(pairs(&cap).is_empty(), "{half}");
    }
}

/// A NAT with an FTP helper: the PORT command is rewritten on its way out. Built
/// packet by packet: the inside half (10.0.0.2) and the outside half
/// (203.0.113.9, same port), 40 µs apart, the PORT argument rewritten.
#[test]
fn a_rewritten_port_is_named_as_an_alg() {
    let mut p = Pcap::new();
    let inside = (sa("10.0.0.2:40001"), sa("198.51.100.5:21"));
    let outside = (sa("203.0.113.9:40001"), sa("198.51.100.5:21"));
    let mut fi = p.open(inside.0, inside.1);
    let mut fo = p.open(outside.0, outside.1);
    let lines: [(&[u8], &[u8], &[u8]); 4] = [
        (b"", b"220 ready\r\n", b"220 ready\r\n"),
        (b"USER a\r\n", b"331 pw\r\n", b"331 pw\r\n"),
        (b"PASS b\r\n", b"230 ok\r\n", b"230 ok\r\n"),
        (b"NOOP\r\n", b"200 ok\r\n", b"200 ok\r\n"),
    ];
    for (cmd, r1, r2) in lines {
        if !cmd.is_empty() {
            p.send_a(&mut fi, cmd);
            p.send_a(&mut fo, cmd);
        }
        p.send_b(&mut fi, r1);
        p.send_b(&mut fo, r2);
    }
    p.send_a(&mut fi, b"PORT 10,0,0,2,156,64\r\n");
    p.send_a(&mut fo, b"PORT 203,0,113,9,156,64\r\n");
    p.send_b(&mut fi, b"200 PORT ok\r\n");
    p.send_b(&mut fo, b"200 PORT ok\r\n");
    p.close(&mut fi);
    p.close(&mut fo);
    let cap = analyse(&p.bytes());
    let f = pairs(&cap);
    assert_eq!(f.len(), 1, "{:#?}", cap.findings);
    assert!(
        f[0].summary.contains("rewrites the addresses"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.what.contains("an FTP helper (ALG)")),
        "{:#?}",
        f[0].evidence
    );
}

/// Two clients running the same script against one server at the same moment
/// are two sessions: different ports, nothing kept by a NAT. Nor are sessions
/// one after another, nor the same session twice on identical addresses.
#[test]
fn identical_scripts_from_two_clients_are_not_paired() {
    let mut p = Pcap::new();
    let server = sa("198.51.100.5:21");
    let clients: Vec<SocketAddr> = (0..6)
        .map(|i| sa(&format!("10.0.0.{}:{}", 2 + i, 40000 + i)))
        .collect();
    let mut flows: Vec<_> = clients.iter().map(|c| p.open(*c, server)).collect();
    for f in flows.iter_mut() {
        p.send_b(f, b"220 ready\r\n");
    }
    for cmd in [&b"USER a\r\n"[..], b"PASS b\r\n", b"PWD\r\n", b"QUIT\r\n"] {
        for f in flows.iter_mut() {
            p.send_a(f, cmd);
            p.send_b(f, b"200 fine\r\n");
        }
    }
    for f in flows.iter_mut() {
        p.close(f);
    }
    let cap = analyse(&p.bytes());
    assert_eq!(cap.sessions.len(), 6);
    assert!(pairs(&cap).is_empty(), "{:#?}", cap.findings);
}

/// Of the committed captures only those taken on the NAT router
/// (captures/make/nat-router.sh) hold both sides of a session: each is paired
/// once, every other capture never.
#[test]
fn only_the_router_captures_are_paired() {
    for path in common::committed_captures() {
        let cap = ftpscope::engine::analyze_file(&path, TrackerConfig::default()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let want = usize::from(name.starts_with("nat-router-"));
        assert_eq!(pairs(&cap).len(), want, "{name}: {:#?}", pairs(&cap));
    }
}

/// suricata-verify's ftp-ippair-leak-5204 replays one session ten times with
/// rewritten addresses (both ends), one after another: not a NAT.
#[test]
fn a_replay_with_rewritten_addresses_is_not_a_nat() {
    let Some(dir) = common::public_captures("a_replay_with_rewritten_addresses_is_not_a_nat")
    else {
        return;
    };
    let path = dir.join("suricata-verify/ftp/ftp-ippair-leak-5204/input.pcap");
    let cap = ftpscope::engine::analyze_file(&path, TrackerConfig::default()).unwrap();
    assert!(cap.sessions.len() >= 10, "{} sessions", cap.sessions.len());
    assert!(pairs(&cap).is_empty(), "{:#?}", pairs(&cap));
}
