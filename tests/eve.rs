//! `--format eve`: Suricata's EVE JSON.
//!
//! 1. Structure: every record of every committed capture and every public capture
//!    fits the part of Suricata's EVE schema (etc/schema.json in OISF/suricata) that
//!    FTP records use: the top-level fields and their types, the `ftp` and `ftp_data`
//!    objects with no other property (the schema says `additionalProperties: false`),
//!    the timestamp pattern. Written out here as checks, vendor-free.
//! 2. Oracle: the suricata-verify tests in ../shared/public-captures that expect FTP
//!    events (their `test.yaml` filters on `event_type: ftp` / `ftp_data`) are
//!    evaluated on our output as suricata-verify evaluates them: each filter's match
//!    (dotted paths, `[i]` indexes, `__len`, `not-has-key`) must hold for exactly
//!    `count` records. The test.yaml files are read with python3's yaml module (skipped
//!    with a message when missing, unless CI is set).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use ftpscope::session::TrackerConfig;

fn eve(p: &Path, show_passwords: bool) -> Vec<Value> {
    let cfg = TrackerConfig {
        show_passwords,
        ..Default::default()
    };
    let cap =
        ftpscope::engine::analyze_file(p, cfg).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut out = Vec::new();
    for s in &cap.sessions {
        ftpscope::report::eve::write_session(&mut out, s).unwrap();
    }
    let at = cap.stats.last.unwrap_or_default();
    ftpscope::report::eve::write_capture_findings(&mut out, &cap.findings, at).unwrap();
    let text = String::from_utf8(out).expect("EVE is UTF-8");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

/// Suricata's timestamp pattern `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$`.
fn suricata_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 22 || !digits(0..4) || !digits(5..7) || !digits(8..10) || !digits(11..13) {
        return false;
    }
    if b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
    {
        return false;
    }
    if !digits(14..16) || !digits(17..19) {
        return false;
    }
    let rest = &t[20..];
    let Some(sign) = rest.find(['+', '-']) else {
        return false;
    };
    sign > 0
        && rest[..sign].bytes().all(|c| c.is_ascii_digit())
        && rest.len() > sign + 1
        && rest[sign + 1..].bytes().all(|c| c.is_ascii_digit())
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
    StrArray,
    IntArray,
}

fn is(v: &Value, ty: Ty) -> bool {
    match ty {
        Ty::Str => v.is_string(),
        Ty::Int => v.is_u64() || v.is_i64(),
        Ty::Bool => v.is_boolean(),
        Ty::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Ty::IntArray => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_u64())),
    }
}

/// Suricata's schema: the top-level fields FTP records use.
const TOP: &[(&str, Ty)] = &[
    ("timestamp", Ty::Str),
    ("flow_id", Ty::Int),
    ("pcap_cnt", Ty::Int),
    ("event_type", Ty::Str),
    ("src_ip", Ty::Str),
    ("src_port", Ty::Int),
    ("dest_ip", Ty::Str),
    ("dest_port", Ty::Int),
    ("proto", Ty::Str),
    ("app_proto", Ty::Str),
    ("community_id", Ty::Str),
    ("tx_id", Ty::Int),
];

/// Suricata's schema: `ftp` (additionalProperties false).
const FTP: &[(&str, Ty)] = &[
    ("command", Ty::Str),
    ("command_data", Ty::Str),
    ("command_truncated", Ty::Bool),
    ("dynamic_port", Ty::Int),
    ("mode", Ty::Str),
    ("reply_received", Ty::Str),
    ("reply_truncated", Ty::Bool),
    ("completion_code", Ty::StrArray),
    ("reply", Ty::StrArray),
];

/// Suricata's schema: `ftp_data` (additionalProperties false).
const FTP_DATA: &[(&str, Ty)] = &[("command", Ty::Str), ("filename", Ty::Str)];

/// ftpscope's own `ftpscope` object (docs/formats.md).
const SCOPE: &[(&str, Ty)] = &[
    ("finding", Ty::Str),
    ("severity", Ty::Str),
    ("certainty", Ty::Str),
    ("summary", Ty::Str),
    ("remedy", Ty::Str),
    ("count", Ty::Int),
    ("tx_ids", Ty::IntArray),
];

fn check_object(errs: &mut Vec<String>, at: &str, v: &Value, allowed: &[(&str, Ty)]) {
    let Some(m) = v.as_object() else {
        errs.push(format!("{at}: not an object"));
        return;
    };
    for (k, x) in m {
        match allowed.iter().find(|(n, _)| n == k) {
            Some((_, ty)) if is(x, *ty) => {}
            Some(_) => errs.push(format!("{at}.{k}: wrong type: {x}")),
            None => errs.push(format!("{at}.{k}: not in the schema")),
        }
    }
}

fn check_record(errs: &mut Vec<String>, name: &str, r: &Value) {
    let Some(m) = r.as_object() else {
        errs.push(format!("{name}: a record that is not an object"));
        return;
    };
    let at = format!("{name} {r}");
    let et = m.get("event_type").and_then(Value::as_str).unwrap_or("");
    let ts = m.get("timestamp").and_then(Value::as_str).unwrap_or("");
    if !suricata_timestamp(ts) {
        errs.push(format!("{at}: timestamp {ts:?}"));
    }
    for (k, x) in m {
        let object = match k.as_str() {
            "ftp" => Some((FTP, "ftp")),
            "ftp_data" => Some((FTP_DATA, "ftp_data")),
            "ftpscope" => Some((SCOPE, "ftpscope")),
            _ => None,
        };
        match (object, TOP.iter().find(|(n, _)| n == k)) {
            (Some((allowed, want)), _) => {
                if et != want {
                    errs.push(format!("{at}: {k} object in a {et} record"));
                }
                check_object(errs, &at, x, allowed);
            }
            (None, Some((_, ty))) if is(x, *ty) => {}
            (None, Some(_)) => errs.push(format!("{at}: {k} has the wrong type")),
            (None, None) => errs.push(format!("{at}: {k} is not in the schema")),
        }
    }
    match et {
        "ftp" | "ftp_data" => {
            for k in [
                "flow_id",
                "src_ip",
                "src_port",
                "dest_ip",
                "dest_port",
                "proto",
                "tx_id",
            ] {
                if !m.contains_key(k) {
                    errs.push(format!("{at}: no {k}"));
                }
            }
            let app = if et == "ftp" { "ftp" } else { "ftp-data" };
            if m.get("app_proto").and_then(Value::as_str) != Some(app) {
                errs.push(format!("{at}: app_proto is not {app}"));
            }
            if !m.contains_key(et) {
                errs.push(format!("{at}: no {et} object"));
            }
        }
        "ftpscope" => {}
        other => errs.push(format!("{at}: event_type {other:?}")),
    }
    if let Some(f) = m.get("ftp") {
        let n_reply = f.get("reply").and_then(Value::as_array).map_or(0, Vec::len);
        let codes = f.get("completion_code").and_then(Value::as_array);
        if codes.is_some_and(|c| c.len() > n_reply) {
            errs.push(format!("{at}: more completion codes than reply lines"));
        }
        for c in codes.into_iter().flatten() {
            let c = c.as_str().unwrap_or("");
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_digit()) {
                errs.push(format!("{at}: completion code {c:?}"));
            }
        }
        let received = f.get("reply_received").and_then(Value::as_str);
        if received != Some(if n_reply > 0 { "yes" } else { "no" }) {
            errs.push(format!(
                "{at}: reply_received {received:?} with {n_reply} reply lines"
            ));
        }
        let mode = f.get("mode").and_then(Value::as_str);
        if mode.is_some_and(|m| m != "active" && m != "passive") {
            errs.push(format!("{at}: mode {mode:?}"));
        }
        if mode.is_some() != f.get("dynamic_port").is_some() {
            errs.push(format!("{at}: mode and dynamic_port go together"));
        }
        if f.get("command_data")
            .and_then(Value::as_str)
            .is_some_and(|d| d.len() > 4096)
        {
            errs.push(format!(
                "{at}: command_data longer than Suricata's line limit"
            ));
        }
    }
}

fn public_pcaps(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if [".pcap", ".pcapng", ".pcap.gz"]
                .iter()
                .any(|x| p.to_string_lossy().ends_with(x))
            {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn eve_records_fit_suricatas_schema() {
    let mut pcaps = common::committed_captures();
    if let Some(dir) = common::public_captures("eve_records_fit_suricatas_schema") {
        pcaps.extend(public_pcaps(&dir));
    }
    let mut errs = Vec::new();
    let (mut records, mut ftp, mut data, mut scope) = (0, 0, 0, 0);
    for p in &pcaps {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Ok(_) = std::fs::metadata(p) else {
            continue;
        };
        for show in [false, true] {
            let recs = eve(p, show);
            for r in &recs {
                check_record(&mut errs, &name, r);
                // No password without --show-passwords.
                if !show && r["ftp"]["command"] == "PASS" && !r["ftp"]["command_data"].is_null() {
                    assert_eq!(r["ftp"]["command_data"], "****", "{name}: PASS shown: {r}");
                }
                if show {
                    continue;
                }
                records += 1;
                match r["event_type"].as_str() {
                    Some("ftp") => ftp += 1,
                    Some("ftp_data") => data += 1,
                    _ => scope += 1,
                }
            }
        }
    }
    eprintln!(
        "{records} EVE records ({ftp} ftp, {data} ftp_data, {scope} ftpscope) from {} captures",
        pcaps.len()
    );
    assert!(
        ftp > 1000 && data > 50 && scope > 50,
        "too few records to mean anything"
    );
    errs.truncate(40);
    assert!(
        errs.is_empty(),
        "records outside Suricata's schema:\n{}",
        errs.join("\n")
    );
}

/// The value at a suricata-verify path: `a.b`, `a[0]`, `a.__len`.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<Value> {
    let mut cur: &'a Value = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == "__len" && i + 1 == parts.len() {
            return match cur {
                Value::String(s) => Some(Value::from(s.len())),
                Value::Array(a) => Some(Value::from(a.len())),
                Value::Object(o) => Some(Value::from(o.len())),
                _ => None,
            };
        }
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*part, None),
        };
        cur = cur.get(key)?;
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

fn matches(r: &Value, m: &serde_json::Map<String, Value>) -> bool {
    m.iter().all(|(k, want)| {
        if k == "not-has-key" {
            return want.as_str().is_some_and(|p| lookup(r, p).is_none());
        }
        if k == "has-key" {
            return want.as_str().is_some_and(|p| lookup(r, p).is_some());
        }
        lookup(r, k).is_some_and(|got| &got == want)
    })
}

/// suricata-verify tests left out, with the reason: each changes Suricata's
/// behaviour with a setting or rules whose effect is not FTP logging.
const SKIPPED: &[(&str, &str)] = &[
    (
        "bug-8489-01",
        "app-layer.protocols.ftp.max-tx=1: Suricata drops transactions",
    ),
    (
        "bug-8489-02",
        "app-layer.protocols.ftp.max-tx=10: Suricata drops transactions",
    ),
    (
        "bug-8489-03",
        "app-layer.protocols.ftp.max-tx=1: Suricata drops transactions",
    ),
    ("ftp-port-memcap", "ftp.memcap=512: Suricata stops parsing"),
    (
        "firewall-119",
        "firewall rules drop the flow after the banner",
    ),
    ("firewall-120", "firewall rules drop the data connections"),
    (
        "ftp-too-long-command-higher-limit",
        "its suricata.yaml (not among the copied files) raises ftp.max-line-length",
    ),
];

fn yaml_as_json(p: &Path) -> Option<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(p)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
fn eve_agrees_with_suricata_verify() {
    let Some(dir) = common::public_captures("eve_agrees_with_suricata_verify") else {
        return;
    };
    let dir = dir.join("suricata-verify");
    let python_yaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !python_yaml {
        assert!(
            !common::in_ci(),
            "python3 with yaml is required when CI is set"
        );
        eprintln!("SKIPPED eve_agrees_with_suricata_verify: python3's yaml module is missing");
        return;
    }
    let mut yamls: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".yaml") {
                yamls.push(p);
            }
        }
    }
    yamls.sort();
    let (mut checked, mut passed, mut tests) = (0, 0, 0);
    let mut errs = Vec::new();
    for y in &yamls {
        let yname = y.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
        let doc = yaml_as_json(y).unwrap_or_else(|| panic!("{yname}: cannot read"));
        let filters: Vec<(u64, serde_json::Map<String, Value>)> = doc["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let f = c.get("filter")?;
                let m = f.get("match")?.as_object()?.clone();
                let et = m.get("event_type")?.as_str()?;
                (et == "ftp" || et == "ftp_data").then(|| (f["count"].as_u64().unwrap_or(1), m))
            })
            .collect();
        if filters.is_empty() || SKIPPED.iter().any(|(n, _)| yname.contains(n)) {
            continue;
        }
        tests += 1;
        // The capture: the yaml's own `pcap:` key, else the capture it is named after.
        let base = y.to_string_lossy();
        let pcap = base[..base.find(".suricata-test").unwrap()].to_string();
        let recs = eve(Path::new(&pcap), true);
        for (count, m) in &filters {
            checked += 1;
            let n = recs.iter().filter(|r| matches(r, m)).count() as u64;
            if n == *count {
                passed += 1;
            } else {
                errs.push(format!(
                    "{yname}: {n} records match {}, suricata-verify expects {count}",
                    Value::Object(m.clone())
                ));
            }
        }
    }
    eprintln!("{passed} of {checked} suricata-verify FTP filters hold, {tests} tests");
    assert!(
        tests >= 15,
        "expected the suricata-verify FTP tests, found {tests}"
    );
    assert!(
        errs.is_empty(),
        "{} filters fail:\n{}",
        errs.len(),
        errs.join("\n")
    );
}
