//! Community ID v1 against the reference implementation (PyPI `communityid`, by the
//! spec's authors): every control connection and every data connection of every
//! committed capture, both directions. Skipped with a message when the module is
//! missing, unless CI is set.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use ftpscope::model::community_id;
use ftpscope::session::TrackerConfig;

const SCRIPT: &str = r#"
import sys, communityid
cid = communityid.CommunityID()
for line in sys.stdin:
    a, pa, b, pb = line.split()
    print(cid.calc(communityid.FlowTuple.make_tcp(a, b, int(pa), int(pb))))
"#;

#[test]
fn community_ids_equal_the_reference_implementation() {
    let have = Command::new("python3")
        .args(["-c", "import communityid"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            !common::in_ci(),
            "python3's communityid module is required when CI is set (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED community_ids_equal_the_reference_implementation: python3's communityid module is missing"
        );
        return;
    }
    let mut pairs: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    for p in common::committed_captures() {
        let cap = ftpscope::engine::analyze_file(&p, TrackerConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        for s in &cap.sessions {
            pairs.push((s.client, s.server));
            for d in &s.data_channels {
                if let (Some(c), Some(l)) = (d.connector, d.listener) {
                    pairs.push((c, l));
                }
            }
        }
    }
    pairs.sort();
    pairs.dedup();
    // Both directions: the ID must not depend on which side is first.
    let flows: Vec<(SocketAddr, SocketAddr)> = pairs
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .filter(|(a, b)| a.is_ipv4() == b.is_ipv4())
        .collect();
    let mut input = String::new();
    for (a, b) in &flows {
        input.push_str(&format!(
            "{} {} {} {}\n",
            a.ip(),
            a.port(),
            b.ip(),
            b.port()
        ));
    }
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(theirs.len(), flows.len());
    let v6 = flows.iter().filter(|(a, _)| a.is_ipv6()).count();
    let mut diffs = Vec::new();
    for ((a, b), want) in flows.iter().zip(&theirs) {
        let ours = community_id::tcp(*a, *b);
        if ours.as_deref() != Some(want.as_str()) {
            diffs.push(format!("{a} -> {b}: ours {ours:?}, reference {want}"));
        }
    }
    eprintln!(
        "{} of {} flows (both directions of {} connections, {v6} IPv6) equal the reference",
        flows.len() - diffs.len(),
        flows.len(),
        pairs.len()
    );
    assert!(pairs.len() > 100, "too few connections to mean anything");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
