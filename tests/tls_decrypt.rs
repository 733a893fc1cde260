//! FTPS with keys: every committed FTPS capture that has its client's key log
//! (`captures/ftps-*.keys`, written through SSLKEYLOGFILE by the lab scripts) is
//! decrypted, and what ftpscope reads inside is checked
//!
//! * against tshark decrypting the same records with the same key log (an
//!   independent TLS implementation): the client's and the server's plaintext on
//!   the control connection, line by line, and the plaintext bytes of every data
//!   connection;
//! * against the scripts' facts (`decrypted` in the expectation files: the cipher
//!   suite, the commands, the file's size);
//! * and for what goes wrong: another capture's key log (no secrets), a damaged
//!   secret (authentication fails: nothing is read as FTP), a key log without the
//!   data connection's line (a TLS 1.2 session resumed by id is decrypted with the
//!   master secret learned from the control connection).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ftpscope::model::Session;
use ftpscope::session::TrackerConfig;
use ftpscope::tls::KeyLog;

fn sessions_with(pcap: &Path, keys: Option<KeyLog>) -> Vec<Session> {
    let cfg = TrackerConfig {
        ftp_ports: vec![21, 990],
        show_passwords: true,
        tls_keys: keys.map(Arc::new),
        ..TrackerConfig::default()
    };
    let mut v = Vec::new();
    ftpscope::engine::stream_file(pcap, cfg, &mut |s| v.push(s)).unwrap();
    v
}

/// FTPS captures with a non-empty key log.
fn keyed() -> Vec<(PathBuf, PathBuf)> {
    let dir = common::repo().join("captures");
    let mut v: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "keys"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .map(|k| (k.with_extension("pcap"), k))
        .filter(|(p, _)| p.exists())
        .collect();
    v.sort();
    assert!(v.len() >= 10, "the FTPS lab captures with key logs: {v:?}");
    v
}

fn status(t: Option<&ftpscope::model::tls::TlsInfo>) -> Option<&'static str> {
    t?.decryption.as_ref().map(|d| d.status)
}

/// tshark's decrypted application data on the connections to `port` (decoded as
/// TLS): (source port, bytes) per record, in order.
fn tshark_plain(pcap: &Path, keys: &Path, port: u16) -> Vec<(u16, Vec<u8>)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .arg("-o")
        .arg(format!("tls.keylog_file:{}", keys.display()))
        // tshark's FTP dissector claims a data connection announced in a
        // decrypted 227 as plain FTP-DATA (Wireshark does not follow PROT P):
        // switched off so that the TLS decode applies.
        .args(["--disable-protocol", "ftp-data"])
        .args(["-d", &format!("tcp.port=={port},tls")])
        .args(["-Y", &format!("tcp.port=={port} && data.data")])
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"])
        .args(["-e", "tcp.srcport", "-e", "data.data"])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, hex) = l.split_once('\t')?;
            let bytes: Vec<u8> = hex
                .split(',')
                .flat_map(|h| {
                    (0..h.len() / 2)
                        .map(move |i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                })
                .collect();
            Some((p.parse().ok()?, bytes))
        })
        .collect()
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn decrypted_dialogue_and_bytes_match_tshark() {
    if !common::require_tool("tshark", "decrypted_dialogue_and_bytes_match_tshark") {
        return;
    }
    let mut checked = 0;
    for (pcap, keys) in keyed() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let ss = sessions_with(&pcap, Some(KeyLog::load(&keys).unwrap()));
        for s in &ss {
            if status(s.tls_info.as_deref()) != Some("decrypted") {
                continue;
            }
            let sp = s.server.port();
            let records = tshark_plain(&pcap, &keys, sp);
            let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
            for (p, b) in records {
                if p == sp {
                    to_client.extend(b);
                } else {
                    to_server.extend(b);
                }
            }
            assert!(!to_server.is_empty(), "{name}: tshark decrypted nothing");
            // After CCC the dialogue is in clear, which tshark (decoding the port as
            // TLS) reads only in part: the comparison stops at CCC and its reply
            // (check-expect.py reads the cleartext part independently).
            let ccc = s
                .exchanges
                .iter()
                .position(|e| e.command.as_ref().is_some_and(|c| c.verb == "CCC"));
            let upto = ccc.map_or(s.exchanges.len(), |i| i + 1);
            let cut = |mut v: Vec<String>, last: &str| {
                if ccc.is_some()
                    && let Some(i) = v.iter().position(|l| l == last)
                {
                    v.truncate(i + 1);
                }
                v
            };
            // The client's lines: every command after the TLS handshake.
            let theirs = cut(lines(&to_server), "CCC");
            let ours: Vec<String> = s.exchanges[..upto]
                .iter()
                .filter_map(|e| e.command.as_ref())
                .map(|c| {
                    if c.arg.is_empty() {
                        c.verb.clone()
                    } else {
                        format!("{} {}", c.verb, String::from_utf8_lossy(&c.arg.0))
                    }
                })
                .collect();
            assert!(
                ours.ends_with(&theirs),
                "{name}: commands\n ours   {ours:?}\n tshark {theirs:?}"
            );
            // The server's replies: the code of each reply's last line.
            let ours: Vec<u16> = s.exchanges[..upto]
                .iter()
                .flat_map(|e| e.replies.iter().map(|r| r.code))
                .collect();
            let mut theirs: Vec<u16> = lines(&to_client)
                .iter()
                .filter(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
                .filter_map(|l| l[..3].parse().ok())
                .collect();
            if ccc.is_some() {
                // Only the replies sent inside TLS: those after the 234.
                let inside = ours
                    .iter()
                    .rposition(|&c| c == 234)
                    .map_or(0, |p| ours.len() - p - 1);
                // (tshark shows the cleartext before the handshake too.)
                let start = theirs.iter().position(|&c| c == 234).map_or(0, |p| p + 1);
                theirs.truncate(start + inside);
            }
            assert!(
                ours.ends_with(&theirs),
                "{name}: replies\n ours   {ours:?}\n tshark {theirs:?}"
            );
            // Each decrypted data connection: the plaintext bytes tshark reads.
            for d in &s.data_channels {
                if status(d.tls.as_deref()) != Some("decrypted") {
                    continue;
                }
                let port = d.listener.unwrap().port();
                let n: usize = tshark_plain(&pcap, &keys, port)
                    .iter()
                    .map(|(_, b)| b.len())
                    .sum();
                assert_eq!(d.bytes, n as u64, "{name}: data connection to port {port}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "decrypted sessions checked: {checked}");
}

#[test]
fn every_keyed_capture_decrypts_as_its_script_says() {
    let mut with_block = 0;
    for (pcap, keys) in keyed() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let ss = sessions_with(&pcap, Some(KeyLog::load(&keys).unwrap()));
        let plain = sessions_with(&pcap, None);
        for s in &ss {
            let t = s.tls_info.as_deref();
            if t.is_some_and(|t| t.handshake == "complete") {
                assert_eq!(status(t), Some("decrypted"), "{name}");
                assert!(
                    !s.findings
                        .iter()
                        .any(|f| f.id == "control-encrypted" || f.id == "tls-not-decrypted"),
                    "{name}: decrypted, yet control-encrypted or tls-not-decrypted"
                );
            }
            for d in &s.data_channels {
                if d.tls.as_deref().is_some_and(|t| t.handshake == "complete") {
                    assert_eq!(status(d.tls.as_deref()), Some("decrypted"), "{name}");
                }
            }
        }
        // Without keys: nothing is read inside, and no decryption is reported.
        for s in &plain {
            assert!(
                s.tls_info.as_deref().is_none_or(|t| t.decryption.is_none()),
                "{name}"
            );
        }
        let exp: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(pcap.with_extension("expect.json")).unwrap(),
        )
        .unwrap();
        let Some(want) = exp.get("decrypted") else {
            continue;
        };
        with_block += 1;
        let s = &ss[0];
        let t = s.tls_info.as_deref().unwrap();
        if let Some(suite) = want["cipher_suite"].as_str() {
            assert_eq!(t.cipher_suite.as_deref(), Some(suite), "{name}");
        }
        assert_eq!(
            s.user
                .as_ref()
                .map(|u| String::from_utf8_lossy(&u.0).to_string()),
            want["user"].as_str().map(String::from),
            "{name}"
        );
        let verbs: Vec<&str> = s.exchanges.iter().filter_map(|e| e.verb()).collect();
        let want_verbs: Vec<&str> = want["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(verbs, want_verbs, "{name}");
        let chans = want["data_channels"].as_array().unwrap();
        assert_eq!(s.data_channels.len(), chans.len(), "{name}");
        for (d, w) in s.data_channels.iter().zip(chans) {
            assert_eq!(d.via.as_str(), w["via"].as_str().unwrap(), "{name}");
            assert_eq!(d.command.as_deref(), w["command"].as_str(), "{name}");
            assert_eq!(d.outcome.as_str(), w["outcome"].as_str().unwrap(), "{name}");
            assert_eq!(d.bytes, w["bytes"].as_u64().unwrap(), "{name}: file bytes");
        }
        let ids: BTreeSet<&str> = s.findings.iter().map(|f| f.id).collect();
        for a in want["absent_findings"].as_array().unwrap() {
            assert!(!ids.contains(a.as_str().unwrap()), "{name}: {a}");
        }
        // The FTPS twins of plain lab captures: the plain capture's findings fire
        // on the decrypted session too.
        for f in want["findings"].as_array().into_iter().flatten() {
            assert!(
                ids.contains(f.as_str().unwrap()),
                "{name}: {f} not raised: {ids:?}"
            );
        }
    }
    assert!(
        with_block >= 4,
        "captures with a `decrypted` expectation: {with_block}"
    );
}

#[test]
fn wrong_or_damaged_secrets_are_reported_and_nothing_is_made_up() {
    let cap = |n: &str| common::repo().join("captures").join(n);
    let cbc = cap("ftps-cbc-etm.pcap");
    let plain = sessions_with(&cbc, None);
    // Another capture's key log: no secrets for these handshakes.
    let other = KeyLog::load(&cap("ftps-chacha12.keys")).unwrap();
    let ss = sessions_with(&cbc, Some(other));
    assert_eq!(status(ss[0].tls_info.as_deref()), Some("no-secrets"));
    assert_eq!(ss[0].exchanges.len(), plain[0].exchanges.len());
    assert_eq!(
        ss[0].data_channels[0].bytes,
        plain[0].data_channels[0].bytes
    );
    assert!(ss[0].findings.iter().any(|f| f.id == "control-encrypted"));
    // ... and the session says which connections were not decrypted, and why.
    let f = ss[0]
        .findings
        .iter()
        .find(|f| f.id == "tls-not-decrypted")
        .expect("tls-not-decrypted");
    assert_eq!(f.evidence.len(), 2, "{:?}", f.evidence);
    assert!(f.evidence.iter().all(|e| e.what.contains("no-secrets")));
    // The right client randoms, damaged secrets: authentication fails at the
    // first record, and nothing is read as FTP.
    let text = std::fs::read_to_string(cap("ftps-cbc-etm.keys")).unwrap();
    let damaged: String = text
        .lines()
        .map(|l| {
            let mut p: Vec<String> = l.split(' ').map(String::from).collect();
            let s = &mut p[2];
            let flip = if s.starts_with('0') { "1" } else { "0" };
            s.replace_range(0..1, flip);
            p.join(" ") + "\n"
        })
        .collect();
    let ss = sessions_with(&cbc, Some(KeyLog::parse(&damaged)));
    let d = ss[0]
        .tls_info
        .as_deref()
        .unwrap()
        .decryption
        .clone()
        .unwrap();
    assert_eq!(d.status, "failed");
    assert!(d.detail.unwrap().contains("did not authenticate"));
    assert_eq!(ss[0].exchanges.len(), plain[0].exchanges.len());
    // The data connection is counted as without keys.
    assert_eq!(
        ss[0].data_channels[0].bytes,
        plain[0].data_channels[0].bytes
    );
    // A key log without the data connection's line: its TLS 1.2 handshake resumes
    // the control connection's session by id, whose master secret was learned.
    let first: String = text.lines().take(1).map(|l| format!("{l}\n")).collect();
    let ss = sessions_with(&cbc, Some(KeyLog::parse(&first)));
    assert_eq!(status(ss[0].tls_info.as_deref()), Some("decrypted"));
    let dd = ss[0].data_channels[0].tls.as_deref().unwrap();
    let x = dd.decryption.as_ref().unwrap();
    assert_eq!((x.status, x.secret), ("decrypted", Some("resumed-session")));
    assert_eq!(ss[0].data_channels[0].bytes, 20000);
}

#[test]
fn the_cli_reads_key_logs_from_the_option_and_the_environment() {
    let bin = env!("CARGO_BIN_EXE_ftpscope");
    let cap = common::repo().join("captures/ftps-chacha13.pcap");
    let keys = common::repo().join("captures/ftps-chacha13.keys");
    let run = |args: &[&str], env: Option<&Path>| {
        let mut c = Command::new(bin);
        c.args(["report", "--width", "0"]).args(args).arg(&cap);
        c.env_remove("SSLKEYLOGFILE");
        if let Some(e) = env {
            c.env("SSLKEYLOGFILE", e);
        }
        let o = c.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let k = keys.to_str().unwrap();
    let (code, out, _) = run(&["--tls-keylog", k], None);
    assert_eq!(code, Some(0));
    assert!(out.contains("C> RETR report.bin"), "{out}");
    assert!(out.contains("C> PASS ****"), "passwords stay masked: {out}");
    assert!(out.contains("decrypted with the key log"), "{out}");
    let (_, out, _) = run(&[], Some(&keys));
    assert!(out.contains("C> RETR report.bin"), "SSLKEYLOGFILE: {out}");
    let (_, out, _) = run(&[], None);
    assert!(!out.contains("RETR report.bin"), "{out}");
    let (code, _, err) = run(&["--tls-keylog", "/nonexistent/keys.log"], None);
    assert_ne!(code, Some(0));
    assert!(err.contains("cannot open the TLS key log"), "{err}");
}

#[test]
fn secrets_inside_a_pcapng_are_used_without_being_asked() {
    // captures/ftps-dsb.pcapng: ftps-lftp-active.pcap with its key log injected by
    // `editcap --inject-secrets` (a Decryption Secrets Block).
    let dir = common::repo().join("captures");
    let dsb = sessions_with(&dir.join("ftps-dsb.pcapng"), None);
    let keyed = sessions_with(
        &dir.join("ftps-lftp-active.pcap"),
        Some(KeyLog::load(&dir.join("ftps-lftp-active.keys")).unwrap()),
    );
    assert_eq!(status(dsb[0].tls_info.as_deref()), Some("decrypted"));
    let verbs = |ss: &[Session]| -> Vec<String> {
        ss[0]
            .exchanges
            .iter()
            .filter_map(|e| e.verb().map(String::from))
            .collect()
    };
    assert_eq!(verbs(&dsb), verbs(&keyed));
    assert!(verbs(&dsb).contains(&"RETR".to_string()));
    let bytes =
        |ss: &[Session]| -> Vec<u64> { ss[0].data_channels.iter().map(|d| d.bytes).collect() };
    assert_eq!(bytes(&dsb), vec![20000]);
    assert_eq!(bytes(&dsb), bytes(&keyed));
}

#[test]
fn damaged_bytes_in_a_decrypted_capture_never_panic_nor_invent_lines() {
    // Flip bytes all over a decryptable capture (headers, handshakes, records):
    // every run ends, and any command read decrypted is one the client sent.
    let dir = common::repo().join("captures");
    let orig = std::fs::read(dir.join("ftps-chacha13.pcap")).unwrap();
    let keys = std::fs::read_to_string(dir.join("ftps-chacha13.keys")).unwrap();
    let sent: BTreeSet<String> = [
        "AUTH", "USER", "PASS", "PBSZ", "PROT", "PWD", "EPSV", "TYPE", "SIZE", "RETR", "QUIT",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut failed = 0;
    for (i, at) in (200..orig.len()).step_by(orig.len() / 60).enumerate() {
        let mut b = orig.clone();
        b[at] ^= 1 << (i % 8);
        let p = tmp.path().join(format!("m{i}.pcap"));
        std::fs::write(&p, &b).unwrap();
        let cfg = TrackerConfig {
            tls_keys: Some(Arc::new(KeyLog::parse(&keys))),
            ..TrackerConfig::default()
        };
        let mut ss = Vec::new();
        // A damaged file may not open at all: that is an error, not a panic.
        let _ = ftpscope::engine::stream_file(&p, cfg, &mut |s| ss.push(s));
        for s in &ss {
            for v in s.exchanges.iter().filter_map(|e| e.verb()) {
                assert!(
                    sent.contains(v) || v.is_empty(),
                    "byte {at}: invented command {v:?}"
                );
            }
            failed += usize::from(status(s.tls_info.as_deref()) == Some("failed"));
        }
    }
    assert!(
        failed > 0,
        "some flipped bits fall in records and fail authentication"
    );
}
