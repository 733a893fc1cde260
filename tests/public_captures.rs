//! The real-world captures of other projects' test suites (../shared/public-captures),
//! checked against their own oracles: Zeek's ftp.log baselines. Skipped with a message
//! when ../shared is not beside the repository, unless CI is set.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ftpscope::model::{Capture, Session};
use ftpscope::session::TrackerConfig;

fn analyze(p: &Path) -> Capture {
    let cfg = TrackerConfig {
        ftp_ports: vec![21, 2811],
        ..Default::default()
    };
    if p.extension().is_some_and(|e| e == "gz") {
        let out = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(p)
            .output()
            .expect("gzip");
        return ftpscope::engine::analyze_reader(&out.stdout[..], cfg, None).expect("analyse");
    }
    ftpscope::engine::analyze_file(p, cfg).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One row of a Zeek ftp.log.
#[derive(Debug)]
struct ZeekRow {
    orig: String,
    resp: String,
    user: String,
    command: String,
    arg: String,
    file_size: String,
    reply_code: String,
    dc_resp: String,
}

fn zeek_rows(log: &Path) -> Vec<ZeekRow> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_string).collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let vals: Vec<&str> = line.split('\t').collect();
        let get = |k: &str| {
            fields
                .iter()
                .position(|f| f == k)
                .and_then(|i| vals.get(i))
                .map(|s| s.to_string())
                .unwrap_or_default()
        };
        let host = |h: &str, p: &str| {
            if get(h).contains(':') {
                format!("[{}]:{}", get(h), get(p))
            } else {
                format!("{}:{}", get(h), get(p))
            }
        };
        rows.push(ZeekRow {
            orig: host("id.orig_h", "id.orig_p"),
            resp: host("id.resp_h", "id.resp_p"),
            user: get("user"),
            command: get("command"),
            arg: get("arg"),
            file_size: get("file_size"),
            reply_code: get("reply_code"),
            dc_resp: if get("data_channel.resp_h") == "-" {
                String::new()
            } else {
                host("data_channel.resp_h", "data_channel.resp_p")
            },
        });
    }
    rows
}

fn find_session<'a>(cap: &'a Capture, orig: &str, resp: &str) -> Option<&'a Session> {
    cap.sessions
        .iter()
        .find(|s| s.client.to_string() == orig && s.server.to_string() == resp)
}

/// Check every ftp.log row against the model; returns the differences.
fn check_zeek(name: &str, cap: &Capture, rows: &[ZeekRow]) -> Vec<String> {
    let mut errs = Vec::new();
    // Per session, the exchanges not yet used by a row, in order.
    let mut cursor: BTreeMap<usize, usize> = BTreeMap::new();
    for r in rows {
        if r.command.starts_with('<') {
            continue;
        }
        let Some(s) = find_session(cap, &r.orig, &r.resp) else {
            errs.push(format!(
                "{name}: no session {} -> {} (row {} {})",
                r.orig, r.resp, r.command, r.arg
            ));
            continue;
        };
        let start = *cursor.get(&s.id).unwrap_or(&0);
        let found = s.exchanges.iter().enumerate().skip(start).find(|(_, x)| {
            x.command
                .as_ref()
                .is_some_and(|c| c.verb.eq_ignore_ascii_case(&r.command))
        });
        let Some((i, x)) = found else {
            errs.push(format!(
                "{name}: session {}: no {} command after exchange {start}",
                s.id, r.command
            ));
            continue;
        };
        cursor.insert(s.id, i + 1);
        let code = x
            .final_reply()
            .map(|r| r.code.to_string())
            .unwrap_or_else(|| "-".into());
        if r.reply_code != "-" && code != r.reply_code {
            errs.push(format!(
                "{name}: session {} {}: reply {code}, zeek says {}",
                s.id, r.command, r.reply_code
            ));
        }
        if r.user != "-" && r.user != "<unknown>" {
            let u = s.user.as_ref().map(|u| u.lossy()).unwrap_or_default();
            if u != r.user {
                errs.push(format!(
                    "{name}: session {}: user {u:?}, zeek says {:?}",
                    s.id, r.user
                ));
            }
        }
        if !r.dc_resp.is_empty() && matches!(r.command.as_str(), "PASV" | "PORT" | "EPSV" | "EPRT")
        {
            let has = s
                .data_channels
                .iter()
                .any(|d| d.announced.is_some_and(|a| a.to_string() == r.dc_resp));
            if !has {
                errs.push(format!(
                    "{name}: session {}: no data channel announced at {} ({})",
                    s.id, r.dc_resp, r.command
                ));
            }
        }
        if r.file_size != "-"
            && !r.file_size.is_empty()
            && matches!(r.command.as_str(), "RETR" | "STOR")
        {
            // Zeek's file_size is the size the server announced (150 "(N bytes)" or
            // SIZE), or the bytes seen when it saw the data connection.
            let d = x.data_channel.and_then(|ci| s.data_channels.get(ci));
            let bytes = d.map(|d| d.bytes.to_string()).unwrap_or_default();
            let announced = d
                .and_then(|d| d.expected_size)
                .map(|n| n.to_string())
                .unwrap_or_default();
            if bytes != r.file_size && announced != r.file_size {
                errs.push(format!(
                    "{name}: session {} {} {}: {bytes} bytes, zeek says {}",
                    s.id, r.command, r.arg, r.file_size
                ));
            }
        }
    }
    errs
}

/// Where Zeek's pairing of commands and replies is wrong, checked frame by frame with
/// tshark. Each entry is a difference that must still appear (so this list cannot rot),
/// with the reason ftpscope's answer is the right one.
const ZEEK_KNOWN_WRONG: &[(&str, &str, &str)] = &[
    // Frame 713 PASV is answered by 227 in frame 714; the client's RETR (seq 3387..3414)
    // is missing from the capture, and Zeek logs the PASV with the 226 that ended the RETR.
    (
        "cwd-navigation.pcap",
        "session 1 PASV: reply 227, zeek says 226",
        "RETR lost in a capture gap",
    ),
    // The same again later in the capture (Zeek log row 595).
    (
        "cwd-navigation.pcap",
        "session 1 PASV: reply 227, zeek says 226",
        "RETR lost in a capture gap",
    ),
    // Zeek ignores the over-long TYPEEEE.../SYSTTTT... commands (its max command length)
    // but not their replies, so its pairing shifts by one: SYST is answered by 215.
    (
        "fake-long-commands.pcap",
        "session 1 SYST: reply 215, zeek says 200",
        "Zeek drops long commands, not their replies",
    ),
    (
        "fake-long-commands.pcap",
        "session 1 PASV: reply 227, zeek says 215",
        "same shift",
    ),
    // "99 PASV invalid" (frame 16) is the server's answer to PASV, without a valid code;
    // Zeek repeats the previous code 230.
    (
        "ftp-invalid-reply-code.pcap",
        "session 1 PASV: reply 0, zeek says 230",
        "invalid reply code",
    ),
    // "SYST not supported" (frame 16) has no code at all.
    (
        "ftp-missing-reply-code.pcap",
        "session 1 SYST: reply 0, zeek says 230",
        "missing reply code",
    ),
    // Frame 44 "550 libssh-0.5.2.tar.gz: No such file or directory." answers RETR (frame 43);
    // Zeek logs the RETR with the 221 that answered QUIT.
    (
        "ipv6-multiline-reply.pcap",
        "session 1 RETR: reply 550, zeek says 221",
        "Zeek pairs RETR with the QUIT reply",
    ),
];

#[test]
fn zeek_ftp_logs_agree() {
    let Some(dir) = common::public_captures("zeek_ftp_logs_agree") else {
        return;
    };
    let zeek = dir.join("zeek");
    let mut logs: Vec<_> = std::fs::read_dir(&zeek)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".zeek-ftp.log"))
        .collect();
    logs.sort();
    assert!(
        logs.len() >= 10,
        "expected the Zeek ftp.log baselines, found {}",
        logs.len()
    );
    let mut errs = Vec::new();
    let mut rows_checked = 0;
    for log in &logs {
        let pcap =
            Path::new(log.to_string_lossy().strip_suffix(".zeek-ftp.log").unwrap()).to_path_buf();
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let cap = analyze(&pcap);
        let rows = zeek_rows(log);
        rows_checked += rows.len();
        errs.extend(check_zeek(&name, &cap, &rows));
    }
    eprintln!(
        "checked {rows_checked} ftp.log rows from {} captures",
        logs.len()
    );
    for (cap, diff, why) in ZEEK_KNOWN_WRONG {
        let line = format!("{cap}: {diff}");
        match errs.iter().position(|e| *e == line) {
            Some(i) => {
                errs.remove(i);
            }
            None => errs.push(format!(
                "known Zeek difference no longer seen ({why}): {line}"
            )),
        }
    }
    assert!(
        errs.is_empty(),
        "{} differences with Zeek:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// Every public capture opens without error and without panic; the FTP ones give sessions.
#[test]
fn every_public_capture_is_read() {
    let Some(dir) = common::public_captures("every_public_capture_is_read") else {
        return;
    };
    let mut stack = vec![dir];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let s = p.to_string_lossy();
            if !(s.ends_with(".pcap") || s.ends_with(".pcapng") || s.ends_with(".pcap.gz")) {
                continue;
            }
            let cap = analyze(&p);
            n += 1;
            let mut out = Vec::new();
            ftpscope::report::text::write(&mut out, &cap, &s, Default::default()).unwrap();
            assert!(!out.is_empty());
            // Nothing from the wire reaches the text report unescaped.
            assert!(
                !out.iter().any(|&b| b == 0x1b || b == 0x07 || b == 0),
                "{s}: control byte in the report"
            );
        }
    }
    assert!(n >= 50, "expected the public captures, read {n}");
}

/// Findings (id, severity) of a public capture, sessions and capture-wide together.
fn findings_of(cap: &Capture) -> Vec<(&'static str, ftpscope::model::Severity, String)> {
    cap.sessions
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(cap.findings.iter())
        .map(|f| (f.id, f.severity, f.summary.en.clone()))
        .collect()
}

/// Captures where the diagnosis used to contradict the transcript, each with what an
/// expert reading the packets concludes (see the capture's .tshark.txt).
#[test]
fn no_finding_contradicts_the_transcript() {
    use ftpscope::model::{Outcome, Severity};
    let Some(dir) = common::public_captures("no_finding_contradicts_the_transcript") else {
        return;
    };
    let has = |cap: &Capture, id: &str| findings_of(cap).iter().any(|f| f.0 == id);

    // RETR answered "550 ... No such file or directory": a missing file, not a data
    // connection that was never made.
    let cap = analyze(&dir.join("zeek/ipv6-multiline-reply.pcap"));
    assert!(has(&cap, "file-unavailable"), "{:?}", findings_of(&cap));
    assert!(!has(&cap, "passive-data-not-attempted"));
    assert!(
        cap.sessions[0]
            .data_channels
            .iter()
            .all(|d| d.outcome != Outcome::NotAttempted)
    );

    // Control traffic only; the server announces its public address to a client
    // inside its network, and 150/226 confirm the transfers: one info about the
    // address (never "set the passive address to the private one"), no
    // not-attempted, and not 1,377 findings.
    let cap = analyze(&dir.join("zeek/cwd-navigation.pcap"));
    let f = findings_of(&cap);
    assert!(f.len() < 10, "{} findings: {f:?}", f.len());
    assert!(!has(&cap, "passive-data-not-attempted"));
    let s = &cap.sessions[0];
    let mismatch: Vec<_> = s
        .findings
        .iter()
        .filter(|f| f.id == "pasv-address-mismatch")
        .collect();
    assert_eq!(mismatch.len(), 1);
    assert!(mismatch[0].count > 600, "count {}", mismatch[0].count);
    assert!(mismatch[0].severity <= Severity::Warning);
    assert!(!mismatch[0].remedy.contains("pasv_address=10."));
    assert!(
        s.data_channels
            .iter()
            .any(|d| d.outcome == Outcome::CompletedPerReplies)
    );

    // Three SYNs to port 21, never answered: the connection failed.
    for name in ["ftpclientdenied.pcap", "ftpserverdenied.pcap"] {
        let cap = analyze(&dir.join("chrissanders-packets/ppa1e").join(name));
        let f = findings_of(&cap);
        assert!(
            f.iter()
                .any(|f| f.0 == "control-unanswered" && f.1 == Severity::Error),
            "{name}: {f:?}"
        );
    }

    // The file holds much of its traffic twice (time goes back): the copies are
    // dropped, sessions are not doubled, and the guessing is counted once per try.
    let cap = analyze(&dir.join("chrissanders-packets/ppa1e/ftp-crack.pcap"));
    assert!(cap.stats.duplicate_packets > 1000);
    assert!(
        cap.sessions.len() < 760,
        "{} sessions for 708 control connections",
        cap.sessions.len()
    );
    let guess = cap
        .findings
        .iter()
        .find(|f| f.id == "login-failed")
        .expect("password guessing");
    let n: usize = guess
        .summary
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap();
    // As many as the server's 530s (tshark: 705), two of them the first line of a
    // control connection the capture joined after its PASS ("530 Login
    // incorrect." alone): those sessions' login failed too.
    assert_eq!(n, 705, "{}", guess.summary);
    let lone: Vec<_> = cap
        .sessions
        .iter()
        .filter(|s| s.exchanges.first().is_some_and(|x| x.command.is_none()))
        .filter(|s| {
            s.exchanges[0]
                .replies
                .first()
                .is_some_and(|r| r.code == 530)
        })
        .collect();
    assert_eq!(lone.len(), 2);
    assert!(
        lone.iter()
            .all(|s| s.login == ftpscope::model::Login::Failed)
    );

    // AUTH TLS, then (after CCC) PASV and STOR in the clear: those are read, and
    // the TLS records are never taken for commands.
    let cap = analyze(&dir.join("ndpi/ftp-start-tls.pcap"));
    let s = &cap.sessions[0];
    let verbs: Vec<&str> = s.exchanges.iter().filter_map(|x| x.verb()).collect();
    assert!(
        verbs.contains(&"PASV") && verbs.contains(&"STOR"),
        "{verbs:?}"
    );
    assert!(has(&cap, "control-encrypted"));
    assert!(
        verbs
            .iter()
            .all(|v| v.chars().all(|c| c.is_ascii_alphabetic())),
        "{verbs:?}"
    );

    // Zeek's 500 PORTs to one host: one aggregated finding, not 500.
    let cap = analyze(&dir.join("zeek/ftp-many-port-expected.pcap.gz"));
    assert!(
        findings_of(&cap).len() <= 3,
        "{:?}",
        findings_of(&cap).len()
    );
}

/// Across every public capture: no error finding that rests on absence alone where
/// the capture could not show the thing, and no finding repeated within a session.
#[test]
fn public_findings_are_aggregated_and_grounded() {
    let Some(dir) = common::public_captures("public_findings_are_aggregated_and_grounded") else {
        return;
    };
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.to_string_lossy().to_string();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz"))
            {
                continue;
            }
            let cap = analyze(&p);
            for s in &cap.sessions {
                let mut seen = std::collections::HashSet::new();
                for f in &s.findings {
                    assert!(
                        seen.insert((f.id, f.summary.clone())),
                        "{name}: session {} repeats {}",
                        s.id,
                        f.id
                    );
                    if f.id == "passive-data-not-attempted" {
                        assert!(s.coverage.data_would_show(), "{name}: {}", f.summary);
                    }
                }
            }
        }
    }
}

/// Findings an expert reading the packets would contradict, from a review of
/// the public captures against tshark (2026-12-06), each with what the packets
/// show instead.
#[test]
fn findings_agree_with_a_reading_of_the_packets() {
    use ftpscope::model::Severity;
    let Some(dir) = common::public_captures("findings_agree_with_a_reading_of_the_packets") else {
        return;
    };
    let ids = |cap: &Capture| -> Vec<(&'static str, Severity)> {
        findings_of(cap).into_iter().map(|f| (f.0, f.1)).collect()
    };

    // SYN, SYN-ACK, then the server's FIN 100 ms later without a 220; the
    // client's QUIT gets a RST. Both sides are in the capture: the server
    // closed without a greeting.
    let cap = analyze(&dir.join("suricata-verify/ftp-quit/input.pcap"));
    let f = ids(&cap);
    assert!(!f.iter().any(|f| f.0 == "capture-one-sided"), "{f:?}");
    assert!(
        f.contains(&("control-closed-before-greeting", Severity::Error)),
        "{f:?}"
    );

    // Replayed with new client addresses (PORT payloads unchanged): the
    // server's data connections go to the client's own address on the
    // announced port. Nothing is bounced.
    let cap = analyze(&dir.join("suricata-verify/ftp/ftp-ippair-leak-5204/input.pcap"));
    let f = ids(&cap);
    assert!(!f.iter().any(|f| f.0 == "bounce-port"), "{f:?}");
    assert!(
        f.contains(&("port-address-mismatch", Severity::Info)),
        "{f:?}"
    );

    // EPRT with an IPv6 address on an IPv4 control connection (RFC 2428 allows
    // the other family): not comparable with the client's address.
    let cap = analyze(&dir.join(
        "suricata-verify/detect-ftp/ftp-active-dynamic_port-02/ftp-active-dynamic_port.pcap",
    ));
    assert!(
        !ids(&cap).iter().any(|f| f.0 == "bounce-port"),
        "{:?}",
        ids(&cap)
    );

    // A Wi-Fi client's PORT sent 5 times (4 TCP retransmissions over 3.2 s),
    // answered 4.1 s after it: loss on the control connection, said on the
    // command and as a warning (the session read "no problem found" before).
    let cap = analyze(&dir.join("suricata-verify/output-eve-ftp-data/input.pcap"));
    assert!(
        ids(&cap).contains(&("control-retransmissions", Severity::Warning)),
        "{:?}",
        ids(&cap)
    );
    let port = cap.sessions[0]
        .exchanges
        .iter()
        .filter_map(|x| x.command.as_ref())
        .find(|c| c.verb == "PORT")
        .expect("PORT");
    assert_eq!(port.retransmissions, 4);
    // The same file twice over (the second copy with the first's timestamps):
    // the copies are no retransmissions.
    let cap = analyze(&dir.join("chrissanders-packets/ppa1e/ftp-crack.pcap"));
    assert!(
        !ids(&cap).iter().any(|f| f.0 == "control-retransmissions"),
        "{:?}",
        ids(&cap)
    );

    // "230_no_space" answering RETR: a code run into its text is no RFC 959
    // reply (Zeek logs "invalid reply line" for it).
    let cap = analyze(&dir.join("zeek/ftp-missing-space-after-reply-code.pcap"));
    let f = findings_of(&cap);
    assert!(
        f.iter().any(|f| f.0 == "reply-invalid"
            && f.1 == Severity::Warning
            && f.2.contains("230_no_space")),
        "{f:?}"
    );

    // NcFTP's CLNT refused, MLST refused and followed by SIZE and MDTM, the
    // download done: no warning. FileZilla's SITE HELP refused: nothing.
    let cap = analyze(&dir.join("ndpi/ftp.pcap"));
    let unsupported: Vec<_> = findings_of(&cap)
        .into_iter()
        .filter(|f| f.0 == "command-unsupported")
        .collect();
    assert!(
        unsupported
            .iter()
            .all(|f| f.1 == Severity::Info && !f.2.contains("CLNT")),
        "{unsupported:?}"
    );
    let cap = analyze(&dir.join("chrissanders-packets/tickedoffdeveloper.pcapng"));
    assert!(
        !ids(&cap).iter().any(|f| f.0 == "command-unsupported"),
        "{:?}",
        ids(&cap)
    );

    // A 227 without an address (no data connection could be made) and a RETR
    // answered 225 by a fake server: no claim about a port 21 capture filter.
    for name in [
        "zeek/fake-long-commands.pcap",
        "zeek/fake-server-delays-all.pcap",
    ] {
        let cap = analyze(&dir.join(name));
        assert!(
            !ids(&cap).iter().any(|f| f.0 == "capture-control-only"),
            "{name}: {:?}",
            ids(&cap)
        );
    }

    // After PASS, ProFTPD's mod_sftp sends an SSH banner and an unterminated
    // binary SSH packet, then (next segment) `530 Sorry, only 3 connections per
    // host!`: the 530 is a reply of its own, PASS's answer, and the remedy is
    // about the connection limit, not the password.
    let cap = analyze(&dir.join("zeek/ipv6-violation.pcap"));
    let login = cap.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "login-failed")
        .unwrap_or_else(|| panic!("{:?}", ids(&cap)));
    assert!(
        login.remedy.en.contains("connection limit"),
        "{}",
        login.remedy.en
    );
    let pass = cap.sessions[0]
        .exchanges
        .iter()
        .find(|x| x.verb() == Some("PASS"))
        .unwrap();
    assert_eq!(pass.final_reply().map(|r| r.code), Some(530));
    // "530 This FTP server is anonymous only.": the remedy says so.
    let cap = analyze(&dir.join("ndpi/ftp_failed.pcap"));
    let login = cap.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "login-failed")
        .unwrap();
    assert!(
        login.remedy.en.contains("anonymous logins only"),
        "{}",
        login.remedy.en
    );

    // RETR answered "425 Use PORT or PASV first." with no setup before it.
    let cap = analyze(&dir.join("suricata-verify/ftp-retr-bypass-realserver/input.pcap"));
    assert!(
        ids(&cap).contains(&("data-setup-missing", Severity::Error)),
        "{:?}",
        ids(&cap)
    );
    // 109,440 of 1,048,576 bytes in the capture, no FIN, then 226: the capture
    // lost the rest (a warning), not a transfer that stopped short.
    let cap = analyze(&dir.join("ndpi/ftp.pcap"));
    let f = ids(&cap);
    assert!(
        f.contains(&("capture-data-incomplete", Severity::Warning)),
        "{f:?}"
    );
    assert!(!f.iter().any(|f| f.0 == "transfer-incomplete"), "{f:?}");
    // Its first data segment comes after the second (reordered, not lost):
    // tshark counts 76 segments, 109,440 bytes, and so do the TCP figures.
    let d = cap.sessions[0]
        .data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some("RETR"))
        .unwrap();
    let t = d.tcp.as_deref().unwrap();
    assert_eq!(
        (
            t.payload_bytes,
            t.lost_before_capture_bytes,
            t.data_segments
        ),
        (109_440, 0, 76),
        "{t:?}"
    );
    // The capture stops 5.8 KB into a 4.9 MB download, before any 226.
    let cap = analyze(&dir.join("chrissanders-packets/ppa1e/ftp.pcap"));
    assert!(
        ids(&cap).contains(&("capture-data-incomplete", Severity::Info)),
        "{:?}",
        ids(&cap)
    );

    // PASV answered "99 PASV invalid", SYST "SYST not supported": no reply code.
    for name in [
        "zeek/ftp-invalid-reply-code.pcap",
        "zeek/ftp-missing-reply-code.pcap",
    ] {
        let cap = analyze(&dir.join(name));
        assert!(
            ids(&cap).contains(&("reply-invalid", Severity::Warning)),
            "{name}: {:?}",
            ids(&cap)
        );
    }
    // The server's last line (a NUL, unterminated) is dated by its own frame.
    let cap = analyze(&dir.join("suricata-verify/ftp-port-memcap/input.pcap"));
    let f = cap.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "reply-invalid")
        .expect("reply-invalid");
    assert!(
        f.evidence.iter().any(|e| e.frame == Some(18)),
        "{:?}",
        f.evidence
    );
    assert!(
        cap.sessions[0]
            .anomalies
            .iter()
            .all(|a| !a.en.contains("frame 0")),
        "{:?}",
        cap.sessions[0].anomalies
    );

    // SITE CHMOD refused (550 Permission denied): said; MKD "550 File exists"
    // in the same session is not.
    let cap = analyze(&dir.join("suricata-verify/ftp-epsv/input.pcap"));
    let refused: Vec<_> = findings_of(&cap)
        .into_iter()
        .filter(|f| f.0 == "file-operation-refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].2.contains("SITE CHMOD"), "{refused:?}");
    // Commands pipelined before a late 220: the greeting is in the capture.
    let cap = analyze(&dir.join("zeek/fake-server-delays-all.pcap"));
    assert!(cap.sessions[0].coverage.greeting);

    // Three LISTs confirmed by 150/226 without their connections in the
    // capture, the STOR's there: said, as info.
    let cap = analyze(&dir.join("chrissanders-packets/tickedoffdeveloper.pcapng"));
    assert!(
        ids(&cap).contains(&("capture-data-partial", Severity::Info)),
        "{:?}",
        ids(&cap)
    );
    // The client connected (passive) before RETR, which got 550: the command
    // failed, not the connection.
    let cap = analyze(&dir.join("suricata-verify/sip-method/sip.pcap"));
    let d = &cap
        .sessions
        .iter()
        .find(|s| !s.data_channels.is_empty())
        .unwrap()
        .data_channels[0];
    assert_eq!(d.outcome, ftpscope::model::Outcome::CommandFailed, "{d:?}");

    // 500 PORTs to a third host, none answered: the remedy must not say the
    // server refused them.
    let cap = analyze(&dir.join("zeek/ftp-many-port-expected.pcap.gz"));
    let bounce = cap.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "bounce-port")
        .expect("bounce-port");
    assert!(
        !bounce.remedy.en.contains("refused it"),
        "{}",
        bounce.remedy.en
    );
}

/// Zeek's conn.log, where a public capture ships one: each ftp-data connection's
/// bytes (`orig_bytes`/`resp_bytes`, from the sequence numbers) and
/// `missed_bytes` (sent but not in the capture) equal ftpscope's figures for the
/// same connection (`payload_bytes` and `lost_before_capture_bytes` of the
/// sending side). `bigtransfer.pcap` carries 5.4 GB in ten segments: the
/// sequence numbers wrap.
#[test]
fn data_connection_bytes_agree_with_zeek_conn_logs() {
    let Some(dir) = common::public_captures("data_connection_bytes_agree_with_zeek_conn_logs")
    else {
        return;
    };
    let mut checked = 0;
    for e in std::fs::read_dir(dir.join("zeek")).unwrap().flatten() {
        let log = e.path();
        let name = log.to_string_lossy().to_string();
        let Some(pcap) = name.strip_suffix(".zeek-conn.log") else {
            continue;
        };
        let text = std::fs::read_to_string(&log).unwrap();
        let fields: Vec<&str> = text
            .lines()
            .find_map(|l| l.strip_prefix("#fields\t"))
            .unwrap()
            .split('\t')
            .collect();
        let col =
            |row: &[&str], k: &str| row[fields.iter().position(|f| *f == k).unwrap()].to_string();
        let cap = analyze(Path::new(pcap));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let row: Vec<&str> = line.split('\t').collect();
            if col(&row, "service") != "ftp-data" {
                continue;
            }
            let port: u16 = col(&row, "id.resp_p").parse().unwrap();
            let orig_p: u16 = col(&row, "id.orig_p").parse().unwrap();
            let d = cap
                .sessions
                .iter()
                .flat_map(|s| s.data_channels.iter())
                .find(|d| {
                    d.connector.is_some_and(|a| a.port() == orig_p)
                        && d.listener.is_some_and(|a| a.port() == port)
                })
                .unwrap_or_else(|| panic!("{pcap}: no data channel {orig_p} -> {port}"));
            let t = d.tcp.as_deref().expect("tcp figures");
            let (orig, resp): (u64, u64) = (
                col(&row, "orig_bytes").parse().unwrap(),
                col(&row, "resp_bytes").parse().unwrap(),
            );
            let sent = orig.max(resp);
            assert_eq!(t.payload_bytes, sent, "{pcap} {orig_p}->{port}: {t:?}");
            let missed: u64 = col(&row, "missed_bytes").parse().unwrap();
            assert_eq!(
                t.lost_before_capture_bytes, missed,
                "{pcap} {orig_p}->{port}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "ftp-data rows checked: {checked}");
}

/// zeek's `bigtransfer.pcap` holds 23,822 of the 5,416,666,670 bytes its data
/// connection carried (the payload was stripped; the FIN and the 226 are there):
/// ftpscope says the capture holds a fragment, and draws no speed verdict from it,
/// not even the `--verbose` "network-limited, nothing to fix" (which it gave before).
#[test]
fn a_data_connection_mostly_missing_from_the_capture_is_said_and_not_judged() {
    let Some(dir) = common::public_captures(
        "a_data_connection_mostly_missing_from_the_capture_is_said_and_not_judged",
    ) else {
        return;
    };
    let cfg = TrackerConfig {
        verbose: true,
        ..Default::default()
    };
    let cap = ftpscope::engine::analyze_file(&dir.join("zeek/bigtransfer.pcap"), cfg).unwrap();
    let s = &cap.sessions[0];
    let ids: Vec<_> = s.findings.iter().map(|f| f.id).collect();
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "capture-data-incomplete")
        .unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(f.severity, ftpscope::model::Severity::Warning);
    assert!(
        f.summary.en.contains("23.3 KiB") && f.summary.en.contains("RETR rand.txt"),
        "{}",
        f.summary.en
    );
    assert!(!ids.iter().any(|id| id.starts_with("transfer-")), "{ids:?}");
    // Its byte count stays the connection's, from the sequence numbers.
    let d = s.data_channels.iter().find(|d| d.bytes > 1 << 32).unwrap();
    assert_eq!(d.bytes, 5_416_666_670);
}

/// zeek's `cwd-navigation.pcap` lost a command and the reply next to it together
/// several times (a real capture, control connection only). Replies are not paired
/// across those holes: `TYPE I` (frame 830) keeps no reply instead of the 227 of a
/// lost PASV (frame 831), whose announcement (port 63958) is the one the RETR of
/// frame 832 uses; `CWD 2014` does not get "200 Type set to I". Transfers whose
/// RETR or 150 was lost still count as done per the server's replies (689 227s,
/// 689 226s); the `capture-gap` finding cites the frames.
#[test]
fn control_replies_are_not_paired_across_capture_gaps() {
    let Some(dir) = common::public_captures("control_replies_are_not_paired_across_capture_gaps")
    else {
        return;
    };
    let cap = analyze(&dir.join("zeek/cwd-navigation.pcap"));
    let s = &cap.sessions[0];
    for x in &s.exchanges {
        let (Some(c), Some(r)) = (&x.command, x.replies.first()) else {
            continue;
        };
        assert!(
            ftpscope::ftp::reply::plausible(&c.verb, r.code),
            "{} {} answered {} at frame {}",
            c.verb,
            String::from_utf8_lossy(&c.arg.0),
            r.code,
            r.frame
        );
    }
    let retr = s
        .exchanges
        .iter()
        .find(|x| x.command.as_ref().is_some_and(|c| c.frame == 832))
        .expect("the RETR of frame 832");
    let ch = &s.data_channels[retr.data_channel.expect("linked")];
    assert_eq!(ch.announced.map(|a| a.port()), Some(63958));
    assert_eq!(ch.announced_frame, 831);
    assert_eq!(s.data_channels.len(), 689);
    assert!(
        s.data_channels
            .iter()
            .all(|d| d.outcome == ftpscope::model::Outcome::CompletedPerReplies),
        "{:?}",
        s.data_channels
            .iter()
            .filter(|d| d.outcome != ftpscope::model::Outcome::CompletedPerReplies)
            .map(|d| (d.announced_frame, d.outcome))
            .collect::<Vec<_>>()
    );
    let gap = s.findings.iter().find(|f| f.id == "capture-gap").unwrap();
    let frames: Vec<_> = gap.evidence.iter().filter_map(|e| e.frame).collect();
    assert!(frames.contains(&715) && frames.contains(&831), "{frames:?}");
}

/// zeek's `ftp-with-numbers-in-filename.pcap` starts mid-session: no TYPE is in
/// it, and the server's 150 says "Opening BINARY mode": the session's type is I
/// from then on, not the A a session from its start assumes. A capture from the
/// greeting on with no TYPE stays A whatever vsftpd's 150 says (suricata-verify
/// `bug-3519`: vsftpd says BINARY unless ascii_download_enable).
#[test]
fn a_mid_session_capture_takes_the_type_from_the_servers_150() {
    let Some(dir) =
        common::public_captures("a_mid_session_capture_takes_the_type_from_the_servers_150")
    else {
        return;
    };
    let cap = analyze(&dir.join("zeek/ftp-with-numbers-in-filename.pcap"));
    let s = &cap.sessions[0];
    assert!(s.capture.mid_session);
    assert_eq!(s.type_, "I");
    let retr = s
        .data_channels
        .iter()
        .find(|d| {
            d.arg
                .as_ref()
                .is_some_and(|a| a.0.ends_with(b"rfc1001.txt"))
        })
        .expect("the RETR of rfc1001.txt");
    assert_eq!(retr.transfer_type.as_deref(), Some("I"));
    let cap = analyze(&dir.join("suricata-verify/bug-3519/input.pcap"));
    assert_eq!(cap.sessions[0].type_, "A");
}

/// chrissanders' `ppa1e/ftp-uploadfailed.pcap` holds one TCP connection: from
/// 128.121.136.217:20 to 67.169.189.180:2662, an active-mode upload of 1.4 MB the
/// server's side ended with resets, and no control connection. tshark calls it
/// FTP-DATA by its port; ftpscope said only "No FTP session found". Now the
/// capture-wide `data-without-control` names the connection, its bytes (the
/// client's sequence span, as tshark's relative sequence numbers give it), the
/// upload direction and the reset, and gives the storage remedy.
#[test]
fn a_data_connection_without_its_control_connection_is_reported() {
    let Some(dir) =
        common::public_captures("a_data_connection_without_its_control_connection_is_reported")
    else {
        return;
    };
    let cap = analyze(&dir.join("chrissanders-packets/ppa1e/ftp-uploadfailed.pcap"));
    assert!(cap.sessions.is_empty());
    assert_eq!(cap.stats.data_without_control_total, 1);
    let d = &cap.stats.data_without_control[0];
    assert_eq!(d.server.to_string(), "128.121.136.217:20");
    assert_eq!(d.client.to_string(), "67.169.189.180:2662");
    assert_eq!(
        d.bytes_to_server, 1_427_880,
        "tshark: the client's highest sequence number, relative"
    );
    assert_eq!(d.bytes_to_client, 0);
    assert_eq!(d.ended_by, Some(ftpscope::model::EndedBy::RstByServer));
    let f = cap
        .findings
        .iter()
        .find(|f| f.id == "data-without-control")
        .unwrap_or_else(|| panic!("{:?}", cap.findings));
    assert_eq!(f.severity, ftpscope::model::Severity::Warning);
    let ev = &f.evidence[0].what.en;
    assert!(
        ev.contains("an upload") && ev.contains("reset by the server's side"),
        "{ev}"
    );
    assert!(f.remedy.en.contains("disk"), "{}", f.remedy.en);
}

/// zeek's `fake-server-delays-all.pcap`: the client sends all its commands before
/// the server's greeting arrives (a pipelining client against a slow server). The
/// greeting is still the session's first exchange, as the protocol orders it (it
/// was printed last, after QUIT), and each command keeps its own reply.
#[test]
fn a_greeting_that_comes_after_pipelined_commands_comes_first() {
    let Some(dir) =
        common::public_captures("a_greeting_that_comes_after_pipelined_commands_comes_first")
    else {
        return;
    };
    let cap = analyze(&dir.join("zeek/fake-server-delays-all.pcap"));
    let s = &cap.sessions[0];
    let first = &s.exchanges[0];
    assert!(first.command.is_none(), "{first:?}");
    assert_eq!(first.replies[0].code, 220);
    let pairs: Vec<(&str, u16)> = s.exchanges[1..]
        .iter()
        .map(|x| (x.verb().unwrap_or("-"), x.replies[0].code))
        .collect();
    assert_eq!(
        pairs,
        [
            ("USER", 230),
            ("PASS", 230),
            ("SYST", 215),
            ("TYPE", 200),
            ("PASV", 227),
            ("RETR", 225),
            ("PORT", 200),
            ("QUIT", 221)
        ]
    );
    // The RETR's channel (announced by the PASV) still points at the RETR.
    let d = &s.data_channels[0];
    assert_eq!(
        s.exchanges[d.command_exchange.unwrap()].verb(),
        Some("RETR")
    );
    assert_eq!(s.exchanges[d.announce_exchange].verb(), Some("PASV"));
}
