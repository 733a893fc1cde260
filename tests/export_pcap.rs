//! Exporting a session's packets (`report --session N --write-pcap FILE`, the
//! TUI's `x`): tshark reads the written file and finds exactly the packets that
//! filtering the original capture by the session's connections finds.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use ftpscope::capture::extract::session_connections;
use ftpscope::session::TrackerConfig;

/// A tshark display filter for one TCP connection, both directions.
fn conn_filter(a: SocketAddr, b: SocketAddr) -> String {
    let ip = |s: SocketAddr| if s.is_ipv4() { "ip" } else { "ipv6" };
    let one = |x: SocketAddr, y: SocketAddr| {
        format!(
            "({}.src=={} && tcp.srcport=={} && {}.dst=={} && tcp.dstport=={})",
            ip(x),
            x.ip(),
            x.port(),
            ip(y),
            y.ip(),
            y.port()
        )
    };
    format!("{} || {}", one(a, b), one(b, a))
}

/// Frame times (as tshark prints them) of the packets matching `filter`.
fn tshark_times(file: &Path, filter: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file);
    if let Some(f) = filter {
        cmd.args(["-Y", f]);
    }
    cmd.args(["-T", "fields", "-e", "frame.time_epoch"]);
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn write_pcap_has_exactly_the_sessions_packets() {
    if !common::require_tool("tshark", "write_pcap_has_exactly_the_sessions_packets") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (capture, session) in [
        ("multi-session.pcap", 3),
        ("passive-refused.pcap", 1),
        ("active-port.pcap", 1),
        ("epsv-upload.pcap", 1),
    ] {
        let path = common::repo().join("captures").join(capture);
        let c = ftpscope::engine::analyze_file(&path, TrackerConfig::default()).expect("analyse");
        let s = c
            .sessions
            .iter()
            .find(|s| s.id == session)
            .expect("the session");
        let conns = session_connections(s);
        assert!(
            conns.len() >= 2 || capture == "passive-refused.pcap",
            "{capture}: {conns:?}"
        );
        let out = dir.path().join(format!("{capture}-{session}.pcapng"));
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .args(["report", "--session", &session.to_string(), "--write-pcap"])
            .arg(&out)
            .arg(&path)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{capture}: {err}");
        assert!(
            o.stdout.is_empty(),
            "{capture}: no report with --write-pcap"
        );
        let filter = conns
            .iter()
            .map(|&(a, b)| conn_filter(a, b))
            .collect::<Vec<_>>()
            .join(" || ");
        let want = tshark_times(&path, Some(&filter));
        let got = tshark_times(&out, None);
        assert!(!want.is_empty(), "{capture}");
        assert_eq!(got, want, "{capture}: the packets of {conns:?}");
        assert!(
            err.contains(&format!(
                "wrote {} packets of session {session}",
                want.len()
            )),
            "{capture}: {err}"
        );
        // Nothing else: the same count with the filter applied to the new file.
        assert_eq!(tshark_times(&out, Some(&filter)).len(), want.len());
    }
}

#[test]
fn write_pcap_needs_a_session_that_exists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("x.pcapng");
    let capture = common::repo().join("captures/multi-session.pcap");
    let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args(["report", "--write-pcap"])
        .arg(&out)
        .arg(&capture)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--session"));
    let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args(["report", "--session", "99", "--write-pcap"])
        .arg(&out)
        .arg(&capture)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no session 99"));
    // Standard input cannot be read twice: said before anything is read.
    let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args(["report", "--session", "1", "--write-pcap"])
        .arg(&out)
        .arg("-")
        .stdin(std::fs::File::open(&capture).expect("capture"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("save standard input to a file"));
}
