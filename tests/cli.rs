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
    // Both end with the capture-wide findings' line.
    assert_eq!(lines.len(), report.len());
    assert_eq!(lines.last(), report.last());
    for (d, s) in lines
        .iter()
        .zip(&report)
        .filter(|(d, _)| !d["id"].is_null())
    {
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

// Issue 14: every surface as a demanding user expects.

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args)
        .current_dir(common::repo())
        .env_remove("COLUMNS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("runs")
}

fn help(sub: &str) -> String {
    stdout(&run(&[sub, "--help"]))
}

/// One spelling in every subcommand: `--format text|json`, `--no-explain` where
/// explanations are printed, `--lang`; the proxy's old `--json` is a hidden alias.
#[test]
fn options_are_spelled_the_same_in_every_subcommand() {
    for sub in ["report", "diagnose", "proxy"] {
        let h = help(sub);
        assert!(h.contains("--format <FORMAT>"), "{sub}: {h}");
        assert!(h.contains("--lang <LANG>"), "{sub}: {h}");
        assert!(
            h.contains("--width <N>") && h.contains("--time <TIME>"),
            "{sub}: {h}"
        );
    }
    for sub in ["report", "proxy"] {
        assert!(help(sub).contains("--no-explain"), "{sub}");
    }
    assert!(
        !help("proxy").contains("--json"),
        "--json is a hidden alias"
    );
    // `ftpscope CAPTURE` (the report when not on a terminal) takes it too.
    let o = run(&["--no-explain", "captures/passive-ok.pcapng"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("C> USER") && !stdout(&o).contains("  = "));
    for args in [
        &["proxy", "--upstream", "127.0.0.1:21", "--json", "--help"][..],
        &[
            "proxy",
            "--upstream",
            "127.0.0.1:21",
            "--format",
            "json",
            "--help",
        ],
        &[
            "proxy",
            "--upstream",
            "127.0.0.1:21",
            "--no-explain",
            "--help",
        ],
        &[
            "proxy",
            "--upstream",
            "127.0.0.1:21",
            "--lang",
            "zh",
            "--help",
        ],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
}

/// `--fault-delay 500` meant 500 seconds while the README said milliseconds: a
/// duration takes a unit, and a bare number is refused with the hint.
#[test]
fn durations_take_a_unit_and_a_bare_number_is_refused() {
    for opt in ["--fault-delay", "--idle-timeout", "--connect-timeout"] {
        let o = run(&["proxy", "--upstream", "127.0.0.1:21", opt, "500"]);
        assert_eq!(o.status.code(), Some(2), "{opt}");
        let e = stderr(&o);
        assert!(e.contains("500ms") && e.contains("500s"), "{opt}: {e}");
        for good in ["500ms", "2s", "1m", "1h"] {
            let o = run(&["proxy", "--upstream", "127.0.0.1:21", opt, good, "--help"]);
            assert_eq!(o.status.code(), Some(0), "{opt} {good}: {}", stderr(&o));
        }
    }
    let h = help("proxy");
    assert!(h.contains("500ms"), "{h}");
}

#[cfg(feature = "live")]
#[test]
fn live_duration_takes_a_unit() {
    let o = run(&["live", "-i", "lo", "--duration", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("5s"), "{}", stderr(&o));
}

/// `explain` refuses what it cannot explain (exit 2, a hint on stderr), explains
/// every argument, and names the numbers of a PORT or 227 that are not bytes.
#[test]
fn explain_refuses_explains_each_argument_and_flags_bad_numbers() {
    for (arg, want) in [
        ("", "nothing to explain"),
        ("999", "first digit"),
        ("5301", "three digits"),
        ("22", "three digits"),
        ("FOOBAR", "not an FTP command"),
    ] {
        let o = run(&["explain", arg]);
        assert_eq!(o.status.code(), Some(2), "{arg:?}: {}", stdout(&o));
        let e = stderr(&o);
        assert!(e.contains(want), "{arg:?}: {e}");
        assert!(stdout(&o).is_empty(), "{arg:?}: {}", stdout(&o));
    }
    let o = run(&["explain", "530", "425"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("530:") && out.contains("425:"), "{out}");
    // A good one and a bad one: the good one explained, exit 2 for the bad.
    let o = run(&["explain", "530", "999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("530:") && stderr(&o).contains("999"));
    let o = run(&["explain", "PORT 10,0,0,5,300,1"]);
    let out = stdout(&o);
    assert!(out.contains("300 (p1) is not a byte (0-255)"), "{out}");
    let o = run(&["explain", "PORT", "10,0,0,5,4,1"]);
    assert!(stdout(&o).contains("PORT:") && !stdout(&o).contains("problem"));
    let o = run(&["explain", "227 Entering Passive Mode (10,0,0,5,300,1)"]);
    assert!(
        stdout(&o).contains("300 (p1) is not a byte"),
        "{}",
        stdout(&o)
    );
}

/// The proxy with `--log`: a banner on stderr (where it listens, the upstream, the
/// log), the sessions in the log in the format asked, and a summary on exit.
#[test]
fn proxy_with_a_log_says_where_and_sums_up() {
    use std::io::{BufRead, BufReader, Write};
    // A tiny FTP server: a greeting, 502 to everything, 221 to QUIT.
    let srv = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = srv.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in srv.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let _ = s.write_all(b"220 tiny ready\r\n");
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let quit = line.to_ascii_uppercase().starts_with("QUIT");
                    let _ = s.write_all(if quit { b"221 bye\r\n" } else { b"502 no\r\n" });
                    if quit {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    for (extra, json) in [
        (&["--format", "json"][..], true),
        (&["--json"][..], true),
        (&[][..], false),
        (&["--no-explain"][..], false),
    ] {
        let log = dir.path().join(format!("log-{}.txt", extra.join("")));
        let mut child = bin()
            .args(["proxy", "--upstream", &upstream, "--listen", "127.0.0.1:0"])
            .arg("--log")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut banner = String::new();
        err.read_line(&mut banner).unwrap();
        assert!(
            banner.contains("listening on 127.0.0.1:")
                && banner.contains(&upstream)
                && banner.contains(&log.display().to_string()),
            "{banner}"
        );
        let addr = banner
            .split("listening on ")
            .nth(1)
            .and_then(|r| r.split([',', ' ']).next())
            .unwrap()
            .to_string();
        let c = std::net::TcpStream::connect(&addr).unwrap();
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        assert!(l.starts_with("220"), "{l}");
        (&c).write_all(b"SYST\r\nQUIT\r\n").unwrap();
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut r, &mut rest);
        drop(c);
        // The session is in the log once the proxy has seen it end.
        let t = std::time::Instant::now();
        while std::fs::read_to_string(&log).map_or(true, |s| s.is_empty())
            && t.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let mut tail = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut tail);
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(0), "{extra:?}: {tail}");
        let summary = tail.lines().last().unwrap_or_default();
        assert!(
            summary.contains("1 session(s)")
                && summary.contains("relayed")
                && summary.contains("finding")
                && summary.contains(&log.display().to_string()),
            "{extra:?}: {tail}"
        );
        let text = std::fs::read_to_string(&log).unwrap();
        if json {
            let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap())
                .unwrap_or_else(|e| panic!("{extra:?}: not JSON ({e}): {text}"));
            assert_eq!(v["id"], 1, "{text}");
        } else {
            assert!(text.contains("C> SYST"), "{text}");
            let explained = text.contains("= Command not implemented")
                || text.lines().any(|l| l.trim_start().starts_with("= "));
            assert_eq!(explained, extra.is_empty(), "{extra:?}: {text}");
        }
    }
}

fn longest(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn non_space(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// README's sample report at COLUMNS=80: no line passes 80 columns (16 of 37 did,
/// the longest 435), nothing lost; 100 columns when COLUMNS is not set and
/// standard output is not a terminal; `--width 0` does not wrap.
#[test]
fn the_text_report_wraps_to_the_width() {
    let cap = "captures/nat-server-private.pcap";
    let at80 = stdout(&run_env(&["report", cap], &[("COLUMNS", "80")]));
    assert!(longest(&at80) <= 80, "{at80}");
    let plain = stdout(&run_env(&["report", "--width", "0", cap], &[]));
    assert!(longest(&plain) > 400, "--width 0 wraps nothing");
    assert_eq!(non_space(&at80), non_space(&plain));
    let default = stdout(&run_env(&["report", cap], &[]));
    assert!(
        longest(&default) <= 100 && longest(&default) > 80,
        "{default}"
    );
    // --width wins over COLUMNS; continuation lines sit under their field.
    let at60 = stdout(&run_env(
        &["report", "--width", "60", cap],
        &[("COLUMNS", "80")],
    ));
    assert!(longest(&at60) <= 60, "{at60}");
    let lines: Vec<&str> = at60.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("      fix: "))
        .unwrap();
    assert!(
        lines[i + 1].starts_with(&" ".repeat(11)),
        "{}",
        lines[i + 1]
    );
    // diagnose and explain wrap too.
    let d = stdout(&run_env(&["diagnose", cap], &[("COLUMNS", "80")]));
    assert!(longest(&d) <= 80, "{d}");
    let e = stdout(&run_env(&["explain", "227"], &[("COLUMNS", "60")]));
    assert!(longest(&e) <= 60, "{e}");
}

/// Evidence is listed in time order (the control connection before the PASV that
/// came later on it).
#[test]
fn evidence_is_listed_in_time_order() {
    let o = run_env(
        &["report", "--width", "0", "captures/nat-server-private.pcap"],
        &[],
    );
    let mut last = String::new();
    let mut blocks = 0;
    for l in stdout(&o).lines() {
        if !l.trim_start().starts_with("evidence: ") {
            last.clear();
            continue;
        }
        let rest = l.trim_start().trim_start_matches("evidence: ");
        let rest =
            rest.split_once(", ").map_or(
                rest,
                |(a, b)| {
                    if a.starts_with("frame ") { b } else { rest }
                },
            );
        let t = rest[..12].to_string();
        if last.is_empty() {
            blocks += 1;
        }
        assert!(t >= last, "{t} after {last}:\n{}", stdout(&o));
        last = t;
    }
    assert!(blocks >= 2);
}

/// A transfer in one packet is not "in 0 µs"; a session whose SYNs span 9 s has
/// a 9 s duration.
#[test]
fn no_zero_microsecond_durations() {
    let o = run_env(&["report", "captures/healthy-epsv-list.pcapng"], &[]);
    let out = stdout(&o);
    assert!(out.contains("completed for LIST"), "{out}");
    assert!(!out.contains(" 0 µs"), "{out}");
    if let Some(dir) = common::public_captures("no_zero_microsecond_durations") {
        let p = dir.join("chrissanders-packets/ppa1e/ftpclientdenied.pcap");
        let o = run_env(&["report", p.to_str().unwrap()], &[]);
        let out = stdout(&o);
        let head = out.lines().find(|l| l.starts_with("Session 1")).unwrap();
        assert!(head.ends_with("8.98 s"), "{head}");
    }
}

/// `--time utc` (default), `local` (TZ applies), `relative` (since the first
/// packet) in the report and diagnose.
#[test]
fn times_are_utc_local_or_relative() {
    let cap = "captures/nat-server-private.pcap";
    let utc = stdout(&run_env(&["report", "--width", "0", cap], &[]));
    assert!(utc.contains("from 2026-11-23T20:25:02.526131Z to"), "{utc}");
    assert!(utc.contains("    20:25:02.528  C> USER ftpuser"), "{utc}");
    let local = stdout(&run_env(
        &["report", "--width", "0", "--time", "local", cap],
        &[("TZ", "Asia/Shanghai")],
    ));
    assert!(
        local.contains("from 2026-11-24T04:25:02.526131+08:00 to"),
        "{local}"
    );
    assert!(
        local.contains("    04:25:02.528  C> USER ftpuser"),
        "{local}"
    );
    let rel = stdout(&run_env(
        &["report", "--width", "0", "--time", "relative", cap],
        &[],
    ));
    assert!(
        rel.contains("from 0.000000 s to 4.002303 s (4.00 s)"),
        "{rel}"
    );
    assert!(rel.contains("           0.002  C> USER ftpuser"), "{rel}");
    let d = stdout(&run_env(
        &["diagnose", "--time", "relative", "--width", "0", cap],
        &[],
    ));
    assert!(
        d.contains("evidence: frame 3, 0.000: control connection"),
        "{d}"
    );
}

/// Explanations are the views' (issue 13): the JSON of `--lang zh` explains
/// replies in Chinese, each as the text view of the same language does, and the
/// facts beside them do not depend on the language.
#[test]
fn json_explains_replies_in_the_language_asked_as_the_text_view_does() {
    let cap = "captures/ascii-binary.pcap";
    let json = |lang: &str| -> Vec<serde_json::Value> {
        let o = run(&["report", "--format", "json", "--lang", lang, cap]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    let (zh, en) = (json("zh"), json("en"));
    let o = run(&["report", "--lang", "zh", "--width", "0", cap]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let explained: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("= "))
        .collect();
    let mut replies = 0;
    for x in zh[0]["exchanges"].as_array().unwrap() {
        for r in x["replies"].as_array().unwrap() {
            let e = r["explanation"].as_str().unwrap();
            assert!(
                explained.contains(&e),
                "JSON explanation {e:?} is not the text view's: {explained:?}"
            );
            replies += 1;
        }
    }
    assert!(replies >= 5, "{replies} replies");
    let pasv = zh[0]["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["command"]["verb"] == "EPSV")
        .expect("an EPSV exchange");
    let e = pasv["replies"][0]["explanation"].as_str().unwrap();
    assert!(e.contains("扩展被动模式"), "{e}");
    // The same facts in both languages: only the explanations differ.
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("explanation");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let (mut zh, mut en) = (zh, en);
    assert_ne!(zh, en);
    zh.iter_mut().for_each(strip);
    en.iter_mut().for_each(strip);
    assert_eq!(zh, en);
}

/// `ftpscope A B` takes several captures as `report` does (the report when
/// standard output is not a terminal, the TUI otherwise: tests/tui_tmux.rs), and
/// `tui` takes several too.
#[test]
fn bare_ftpscope_and_tui_take_several_captures() {
    let o = run(&[
        "captures/passive-refused.pcap",
        "captures/multi-session.pcap",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "ftpscope report: captures/passive-refused.pcap + captures/multi-session.pcap"
        ),
        "{out}"
    );
    assert!(out.contains("5 FTP sessions"), "{out}");
    let help = stdout(&run(&["tui", "--help"]));
    assert!(help.contains("<CAPTURE>..."), "{help}");
    assert!(help.contains("--time"), "{help}");
}
