//! `--format zeek`: our ftp.log against Zeek's own (the btest baselines in
//! ../shared/public-captures/zeek, an independent oracle), read back with a small
//! Zeek-log reader. Skipped with a message when ../shared is absent, unless CI is set.
//!
//! Compared, row by row: id.orig_h/p, id.resp_h/p, user, password (see below),
//! command, arg, file_size, reply_code, reply_msg, data_channel.*. Not compared:
//! `ts` (the baselines mask it as XXXXXXXXXX.XXXXXX), `uid` and `fuid` (Zeek draws them
//! at random), `mime_type` (Zeek fills it from its files analysis, which ftpscope does
//! not do: it is always unset here).
//!
//! Logged commands: Zeek's default set plus whatever the baseline shows, because the
//! btests that wrote some baselines `redef FTP::logged_commands += {...}` (USER, SYST,
//! `<init>`, QUIT, ...); we pass the same with --zeek-commands.
//!
//! Passwords: Zeek shows the passwords of guest users (anonymous, ftp, ...) and those
//! of every user when a btest sets `FTP::default_capture_password`; ftpscope shows
//! none unless --show-passwords. So the comparison runs with --show-passwords and
//! accepts ours where Zeek wrote `<hidden>`; a second run without it must write no
//! password at all.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ftpscope::model::Capture;
use ftpscope::report::zeek::{DEFAULT_LOGGED, ZeekLog, ZeekOptions};
use ftpscope::session::TrackerConfig;

fn analyze(p: &Path, show_passwords: bool) -> Capture {
    let cfg = TrackerConfig {
        ftp_ports: vec![21, 2811],
        show_passwords,
        ..Default::default()
    };
    ftpscope::engine::analyze_file(p, cfg).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A parsed Zeek ASCII log: its header lines and rows as field -> value.
struct ZeekFile {
    meta: BTreeMap<String, String>,
    fields: Vec<String>,
    types: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

/// A small reader of Zeek's ASCII log format: `#separator` first (as `\xNN`), the
/// other header lines split by it, rows with exactly as many values as `#fields`.
fn read_zeek_log(text: &str) -> ZeekFile {
    let mut lines = text.lines().skip_while(|l| l.starts_with("### "));
    let first = lines.next().expect("a #separator line");
    let sep_spec = first.strip_prefix("#separator ").expect("#separator first");
    let hex = sep_spec.strip_prefix("\\x").expect("separator as \\xNN");
    let sep = char::from(u8::from_str_radix(hex, 16).expect("hex separator"));
    let mut f = ZeekFile {
        meta: BTreeMap::new(),
        fields: Vec::new(),
        types: Vec::new(),
        rows: Vec::new(),
    };
    for line in lines {
        if let Some(h) = line.strip_prefix('#') {
            let mut parts = h.split(sep);
            let key = parts.next().unwrap_or_default().to_string();
            let vals: Vec<String> = parts.map(str::to_string).collect();
            match key.as_str() {
                "fields" => f.fields = vals,
                "types" => f.types = vals,
                _ => {
                    // The btest baselines write "#open XXXX..." with a space.
                    let (k, v) = match key.split_once(' ') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (key.clone(), vals.join(",")),
                    };
                    f.meta.insert(k, v);
                }
            }
            continue;
        }
        let vals: Vec<&str> = line.split(sep).collect();
        assert_eq!(
            vals.len(),
            f.fields.len(),
            "row with a wrong column count: {line}"
        );
        f.rows.push(
            f.fields
                .iter()
                .cloned()
                .zip(vals.iter().map(|v| v.to_string()))
                .collect(),
        );
    }
    f
}

fn ours(pcap: &Path, logged: &[String], show_passwords: bool, extra: bool) -> String {
    let cap = analyze(pcap, show_passwords);
    let mut opts = ZeekOptions {
        show_passwords,
        extra,
        ..Default::default()
    };
    opts.logged.extend(logged.iter().cloned());
    let mut log = ZeekLog::new(opts);
    let mut out = Vec::new();
    for s in &cap.sessions {
        log.write_session(&mut out, s).unwrap();
    }
    log.finish(&mut out, ftpscope::time::Ts(0)).unwrap();
    String::from_utf8(out).expect("the log is ASCII")
}

const COMPARED: &[&str] = &[
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "user",
    "password",
    "command",
    "arg",
    "file_size",
    "reply_code",
    "reply_msg",
    "data_channel.passive",
    "data_channel.orig_h",
    "data_channel.resp_h",
    "data_channel.resp_p",
];

/// The fields the 98 % bar is about.
const KEY: &[&str] = &[
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "command",
    "arg",
    "reply_code",
    "data_channel.passive",
    "data_channel.orig_h",
    "data_channel.resp_h",
    "data_channel.resp_p",
];

/// Differences with Zeek that are Zeek's pairing errors (tests/public_captures.rs
/// checks each frame by frame with tshark): (capture, row index, field, ours, Zeek's).
/// Each must still appear, so the list cannot rot.
const KNOWN: &[(&str, &str, &str)] = &[
    // Frame 713 PASV is answered by 227 in frame 714; the client's RETR is missing from
    // the capture, and Zeek logs the PASV with the 226 that ended the RETR. Twice.
    (
        "cwd-navigation.pcap",
        "row 110 reply_code: \"227\", zeek says \"226\"",
        "RETR lost in a capture gap",
    ),
    (
        "cwd-navigation.pcap",
        "row 110 reply_msg: \"Entering Passive Mode (205,167,25,101,241,103).\", zeek says \"Transfer complete\"",
        "RETR lost in a capture gap",
    ),
    (
        "cwd-navigation.pcap",
        "row 594 reply_code: \"227\", zeek says \"226\"",
        "RETR lost in a capture gap",
    ),
    (
        "cwd-navigation.pcap",
        "row 594 reply_msg: \"Entering Passive Mode (205,167,25,101,248,59).\", zeek says \"Transfer complete\"",
        "RETR lost in a capture gap",
    ),
    // Zeek ignores the over-long TYPEEEE.../SYSTTTT... commands (its max command length)
    // but not their replies, so its pairing shifts by one.
    (
        "fake-long-commands.pcap",
        "row 1 reply_code: \"215\", zeek says \"200\"",
        "Zeek drops long commands, not their replies",
    ),
    (
        "fake-long-commands.pcap",
        "row 1 reply_msg: \"Response to SYST command\", zeek says \"Response to TYPEEEEEEEEEEEEE command\"",
        "same shift",
    ),
    (
        "fake-long-commands.pcap",
        "row 2 reply_code: \"227\", zeek says \"215\"",
        "same shift",
    ),
    (
        "fake-long-commands.pcap",
        "row 2 reply_msg: \"Response to PASV command\", zeek says \"Response to SYSTTTTTTTTTTTTT command\"",
        "same shift",
    ),
    // The btest sets FTP::max_pending_commands=5: the client pipelines 8 commands, Zeek
    // raises FTP_too_many_pending_commands and logs nothing after SYST (TYPE, PASV, RETR,
    // PORT, QUIT are answered one by one in the capture).
    (
        "fake-server-delays-all.pcap",
        "5 rows, zeek has 2",
        "the btest's max_pending_commands=5",
    ),
    // "99 PASV invalid" (frame 16) answers PASV without a valid code; Zeek keeps the
    // previous reply (230 PASS OK) for the PASV row.
    (
        "ftp-invalid-reply-code.pcap",
        "row 2 reply_code: \"0\", zeek says \"230\"",
        "invalid reply code",
    ),
    (
        "ftp-invalid-reply-code.pcap",
        "row 2 reply_msg: \"99 PASV invalid\", zeek says \"PASS OK\"",
        "invalid reply code",
    ),
    // "SYST not supported" (frame 16) has no code at all; the same.
    (
        "ftp-missing-reply-code.pcap",
        "row 2 reply_code: \"0\", zeek says \"230\"",
        "missing reply code",
    ),
    (
        "ftp-missing-reply-code.pcap",
        "row 2 reply_msg: \"SYST not supported\", zeek says \"PASS OK\"",
        "missing reply code",
    ),
    // "230_no_space" (frame 16) answers RETR; Zeek rejects the line ("invalid reply
    // line" in its analyzer.log) and keeps the previous reply's message.
    (
        "ftp-missing-space-after-reply-code.pcap",
        "row 2 reply_msg: \"_no_space\", zeek says \"PASS OK\"",
        "invalid reply line",
    ),
    // Frame 44 "550 libssh-0.5.2.tar.gz: No such file or directory." answers RETR
    // (frame 43); Zeek logs the RETR with the 221 that answered QUIT.
    (
        "ipv6-multiline-reply.pcap",
        "row 4 reply_code: \"550\", zeek says \"221\"",
        "Zeek pairs RETR with the QUIT reply",
    ),
    (
        "ipv6-multiline-reply.pcap",
        "row 4 reply_msg: \"libssh-0.5.2.tar.gz: No such file or directory.\", zeek says \"You could at least say goodbye.\"",
        "Zeek pairs RETR with the QUIT reply",
    ),
];

#[test]
fn zeek_ftp_log_rows_match_zeeks_own() {
    let Some(dir) = common::public_captures("zeek_ftp_log_rows_match_zeeks_own") else {
        return;
    };
    let mut logs: Vec<_> = std::fs::read_dir(dir.join("zeek"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".zeek-ftp.log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 10, "expected the Zeek ftp.log baselines");
    let mut diffs: Vec<String> = Vec::new();
    let (mut rows_total, mut rows_equal, mut rows_key_equal) = (0usize, 0usize, 0usize);
    for log in &logs {
        let pcap =
            Path::new(log.to_string_lossy().strip_suffix(".zeek-ftp.log").unwrap()).to_path_buf();
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let theirs = read_zeek_log(&std::fs::read_to_string(log).unwrap());
        let mut logged: Vec<String> = theirs
            .rows
            .iter()
            .map(|r| r["command"].clone())
            .filter(|c| !DEFAULT_LOGGED.contains(&c.as_str()))
            .collect();
        logged.sort();
        logged.dedup();
        let text = ours(&pcap, &logged, true, false);
        let mine = read_zeek_log(&text);
        // Same header as Zeek's, but the dates.
        assert_eq!(mine.fields, theirs.fields, "{name}: #fields");
        assert_eq!(mine.types, theirs.types, "{name}: #types");
        for k in ["set_separator", "empty_field", "unset_field", "path"] {
            assert_eq!(mine.meta.get(k), theirs.meta.get(k), "{name}: #{k}");
        }
        assert!(mine.meta.contains_key("open") && mine.meta.contains_key("close"));
        if mine.rows.len() != theirs.rows.len() {
            diffs.push(format!(
                "{name}: {} rows, zeek has {}",
                mine.rows.len(),
                theirs.rows.len()
            ));
        }
        // Every row of Zeek's counts; a row we lack or add is a row that disagrees.
        rows_total += theirs.rows.len().max(mine.rows.len());
        for (i, (m, t)) in mine.rows.iter().zip(&theirs.rows).enumerate() {
            rows_key_equal += usize::from(KEY.iter().all(|&k| {
                m[k] == t[k] || k == "arg" && t["command"] == "PASS" && t[k] == "<hidden>"
            }));
            let mut equal = true;
            for &k in COMPARED {
                // Zeek hides what ftpscope was asked to show (--show-passwords).
                let secret = k == "password" || (k == "arg" && t["command"] == "PASS");
                if secret && t[k] == "<hidden>" {
                    continue;
                }
                if m[k] != t[k] {
                    equal = false;
                    diffs.push(format!(
                        "{name}: row {i} {k}: {:?}, zeek says {:?}",
                        m[k], t[k]
                    ));
                }
            }
            rows_equal += usize::from(equal);
        }
        // Without --show-passwords no password is written, whoever the user.
        let masked = read_zeek_log(&ours(&pcap, &logged, false, false));
        for r in &masked.rows {
            assert!(
                r["password"] == "-" || r["password"] == "<hidden>",
                "{name}: password shown without --show-passwords: {r:?}"
            );
            if r["command"] == "PASS" {
                assert_eq!(r["arg"], "<hidden>", "{name}: PASS argument shown");
            }
        }
    }
    eprintln!(
        "{rows_equal} of {rows_total} ftp.log rows equal on {} fields, {rows_key_equal} on the {} key fields, {} captures",
        COMPARED.len(),
        KEY.len(),
        logs.len()
    );
    // The bar: 98 % of Zeek's rows agree on the key fields, Zeek's own
    // pairing errors included.
    assert!(
        rows_key_equal * 100 >= rows_total * 98,
        "{rows_key_equal} of {rows_total} rows agree on the key fields, below 98 %"
    );
    for (cap, diff, why) in KNOWN {
        let line = format!("{cap}: {diff}");
        match diffs.iter().position(|e| *e == line) {
            Some(i) => {
                diffs.remove(i);
            }
            None => diffs.push(format!("known difference no longer seen ({why}): {line}")),
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences with Zeek:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
