//! The binary as a user runs it: exit codes, error lines, explain, diagnose.

mod common;

use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpscope"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(common::repo())
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_inputs_give_one_error_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.pcap", vec![], "empty"),
        (
            "text.pcap",
            b"hello, this is not a capture\n".to_vec(),
            "not a pcap or pcapng",
        ),
        (
            "short.pcap",
            vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0],
            "truncated",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = run(&["report", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{name}: one line expected: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let o = run(&["report", "/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open"), "{}", stderr(&o));
}

#[test]
fn a_capture_without_ftp_says_so() {
    // A capture with a single non-FTP TCP exchange (HTTP on port 80).
    let mut p = common::builder::Pcap::new();
    let mut f = p.open(
        common::builder::sa("192.0.2.1:50000"),
        common::builder::sa("192.0.2.2:80"),
    );
    p.send_a(&mut f, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    p.send_b(&mut f, b"HTTP/1.1 200 OK\r\n\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.pcap");
    std::fs::write(&path, p.bytes()).unwrap();
    let o = run(&["report", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("No FTP session found"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_truncated_capture_keeps_what_came_before() {
    let full = std::fs::read(common::repo().join("captures/passive-ok.pcapng")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcapng");
    std::fs::write(&path, &full[..full.len() * 2 / 3]).unwrap();
    let o = run(&["report", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("the capture file is damaged"), "{out}");
    assert!(out.contains("C> USER ftpuser"), "{out}");
}

/// Regression: `diagnose` said "no problem found" with exit 0 on a damaged file,
/// without the warning `report` printed. The damage is a finding in every view.
#[test]
fn a_damaged_capture_is_a_finding_in_every_view() {
    let full = std::fs::read(common::repo().join("captures/passive-ok.pcapng")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcapng");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
    // A corrupt block length in the middle: damaged rather than cut short.
    let mut bad = full.clone();
    let at = full.len() / 2;
    let block = (at..full.len() - 8)
        .find(|&i| bad[i..i + 4] == 6u32.to_le_bytes())
        .expect("an enhanced packet block after the middle");
    bad[block + 4..block + 8].copy_from_slice(&7u32.to_le_bytes());
    let damaged = dir.path().join("damaged.pcapng");
    std::fs::write(&damaged, &bad).unwrap();
    for (path, id) in [
        (&cut, "capture-file-truncated"),
        (&damaged, "capture-file-damaged"),
    ] {
        let p = path.to_str().unwrap();
        let o = run(&["diagnose", p]);
        let out = stdout(&o);
        assert!(out.contains(id), "diagnose: {out}");
        assert!(!out.contains("no problem found"), "{out}");
        let o = run(&["diagnose", "--format", "json", p]);
        let last = stdout(&o).lines().last().unwrap_or_default().to_string();
        let v: serde_json::Value = serde_json::from_str(&last).expect("JSON");
        assert_eq!(v["findings"][0]["id"], id, "{last}");
        let o = run(&["report", p]);
        assert!(stdout(&o).contains(id), "report: {}", stdout(&o));
    }
}

/// Regression: when the temporary file could not be made the error did not say
/// where; it names the directory (and TMPDIR as the way out).
#[test]
fn a_temporary_file_that_cannot_be_made_is_named() {
    let o = bin()
        .args(["report", "captures/passive-ok.pcapng"])
        .current_dir(common::repo())
        .env("TMPDIR", "/nonexistent-ftpscope-tmp")
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("/nonexistent-ftpscope-tmp"), "{err}");
}

/// A full $TMPDIR (a 16 KiB tmpfs, as root) gives an error naming it, not a bare
/// "No space left on device".
#[test]
fn a_full_temporary_directory_is_named() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        assert!(!common::in_ci(), "root is needed under CI to mount a tmpfs");
        eprintln!("SKIPPED a_full_temporary_directory_is_named: not root (mounts a tmpfs)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().to_str().unwrap().to_string();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs", &mnt])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mount a tmpfs on {mnt}");
    let o = bin()
        .args(["report", "captures/healthy-lftp-mirror.pcap"])
        .current_dir(common::repo())
        .env("TMPDIR", &mnt)
        .output()
        .expect("runs");
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("temporary file") && err.contains(&mnt),
        "{err}"
    );
}

#[test]
fn explain_codes_lines_and_commands_in_two_languages() {
    let o = run(&["explain", "530"]);
    assert!(
        stdout(&o).contains("wrong user name or password"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "explain",
        "227 Entering Passive Mode (60,165,133,154,13,31)",
    ]);
    assert!(stdout(&o).contains("60.165.133.154:3359"), "{}", stdout(&o));
    assert!(stdout(&o).contains("13*256+31"));
    let o = run(&["explain", "EPRT"]);
    assert!(stdout(&o).contains("RFC 2428"), "{}", stdout(&o));
    let o = run(&[
        "--lang",
        "zh",
        "explain",
        "227 Entering Passive Mode (60,165,133,154,13,31)",
    ]);
    assert!(stdout(&o).contains("被动模式"), "{}", stdout(&o));
    let o = run(&["explain", "--lang", "zh", "530"]);
    assert!(stdout(&o).contains("登录"), "{}", stdout(&o));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn diagnose_exit_code_says_whether_an_error_was_found() {
    let o = run(&["diagnose", "captures/passive-refused.pcap"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("passive-data-refused"));
    let o = run(&["diagnose", "captures/passive-ok.pcapng"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("no problem found"));
    // A warning only: still 0.
    let o = run(&["diagnose", "captures/idle-timeout-421.pcap"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("service-closing"));
    let o = run(&[
        "diagnose",
        "--format",
        "json",
        "captures/nat-server-private.pcap",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"pasv-address-mismatch") && ids.contains(&"passive-data-unanswered"),
        "{ids:?}"
    );
    assert!(
        v["findings"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains("203.0.113.7")
    );
    let o = run(&["diagnose", "/nonexistent.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["report", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn json_report_has_the_documented_keys() {
    let o = run(&["report", "--format", "json", "captures/passive-ok.pcapng"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    for k in [
        "client",
        "server",
        "start",
        "end",
        "user",
        "login",
        "tls",
        "exchanges",
        "data_channels",
        "findings",
    ] {
        assert!(v.get(k).is_some(), "missing key {k}");
    }
    let x = &v["exchanges"][1];
    for k in ["verb", "arg", "ts"] {
        assert!(x["command"].get(k).is_some(), "command.{k}");
    }
    for k in ["code", "text", "ts", "explanation"] {
        assert!(x["replies"][0].get(k).is_some(), "replies.{k}");
    }
    let d = &v["data_channels"][1];
    for k in [
        "via",
        "mode",
        "announced",
        "command",
        "arg",
        "outcome",
        "bytes",
        "start",
        "end",
    ] {
        assert!(d.get(k).is_some(), "data_channels.{k}");
    }
    assert_eq!(d["bytes"], 204800);
    assert_eq!(v["login"], "ok");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = bin()
        .args(["report", "captures/multi-session.pcap"])
        .current_dir(common::repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing and close our end: the writer meets a closed pipe.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// `diagnose --format json` names sessions as `report --format json` does, and
/// carries the capture-wide findings (password guessing, duplicates) in a last line.
#[test]
fn diagnose_json_names_sessions_like_report_and_has_capture_findings() {
    let o = run(&[
        "diagnose",
        "--format",
        "json",
        "captures/bruteforce-local.pcap",
    ]);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let r = run(&[
        "report",
        "--format",
        "json",
        "captures/bruteforce-local.pcap",
    ]);
    let report: Vec<serde_json::Value> = stdout(&r)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (d, s) in lines.iter().zip(&report) {
        assert_eq!(d["id"], s["id"]);
        assert_eq!(d["client"], s["client"]);
        assert!(d.get("coverage").is_some());
    }
    let last = lines.last().unwrap();
    assert_eq!(last["scope"], "capture");
    assert!(last["id"].is_null());
    assert!(
        last["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "login-failed"
                && f["summary"].as_str().unwrap().contains("password guessing")),
        "{last}"
    );
    // A refused control connection is an error: exit 1.
    let o = run(&["diagnose", "captures/control-refused.pcap"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("control-refused"));
}
