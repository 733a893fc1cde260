//! Every capture in captures/ against the expectation file written beside it by the
//! script that made it (captures/make/*.sh). The expectation describes the scenario
//! (what the client sent, the file sizes, what must go wrong), not ftpscope's output.

use std::path::{Path, PathBuf};

use ftpscope::model::{Capture, Session};
use ftpscope::session::TrackerConfig;
use serde_json::Value;

fn captures() -> Vec<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&dir).expect("captures/ exists") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".expect.json") {
            let pcap = ["pcap", "pcapng"]
                .iter()
                .map(|x| dir.join(format!("{stem}.{x}")))
                .find(|c| c.exists());
            let pcap = pcap.unwrap_or_else(|| panic!("no capture for {name}"));
            v.push((pcap, p));
        }
    }
    v.sort();
    assert!(
        v.len() >= 8,
        "expected the committed captures, found {}",
        v.len()
    );
    v
}

fn cfg_for(expect: &Value) -> TrackerConfig {
    let mut cfg = TrackerConfig::default();
    if let Some(ports) = expect.get("ftp_ports").and_then(Value::as_array) {
        cfg.ftp_ports
            .extend(ports.iter().filter_map(Value::as_u64).map(|p| p as u16));
    }
    cfg
}

fn str_or_null(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn check_session(name: &str, i: usize, s: &Session, e: &Value, errors: &mut Vec<String>) {
    let mut err = |what: String| errors.push(format!("{name} session {}: {what}", i + 1));
    if let Some(c) = e["client"].as_str()
        && s.client.ip().to_string() != c
    {
        err(format!("client {} != {c}", s.client.ip()));
    }
    if let Some(sv) = e["server"].as_str()
        && s.server.to_string() != sv
    {
        err(format!("server {} != {sv}", s.server));
    }
    if e.get("user").is_some() {
        let want = str_or_null(&e["user"]);
        let got = s.user.as_ref().map(|u| u.lossy());
        if got != want {
            err(format!("user {got:?} != {want:?}"));
        }
    }
    if let Some(l) = e["login"].as_str() {
        let got = serde_json::to_value(s.login).unwrap();
        if got != l {
            err(format!("login {got} != {l}"));
        }
    }
    if let Some(t) = e["tls"].as_bool()
        && s.tls != t
    {
        err(format!("tls {} != {t}", s.tls));
    }
    if let Some(m) = e["mid_session"].as_bool()
        && s.capture.mid_session != m
    {
        err(format!("mid_session {} != {m}", s.capture.mid_session));
    }
    // What the capture covers (docs/json-schema.md, "coverage").
    if let Some(v) = e["data_visible"].as_str() {
        let got = serde_json::to_value(s.coverage.data_visible).unwrap();
        if got != v {
            err(format!("coverage.data_visible {got} != {v}"));
        }
    }
    if let Some(v) = e["control_answer"].as_str()
        && s.coverage.control_answer != v
    {
        err(format!(
            "coverage.control_answer {} != {v}",
            s.coverage.control_answer
        ));
    }
    if let Some(cmds) = e["commands"].as_array() {
        let want: Vec<String> = cmds
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        let got: Vec<String> = s
            .exchanges
            .iter()
            .filter_map(|x| x.command.as_ref().map(|c| c.verb.clone()))
            .collect();
        if got != want {
            err(format!("commands\n   got  {got:?}\n   want {want:?}"));
        }
    }
    if let Some(codes) = e["reply_codes"].as_array() {
        let want: Vec<u64> = codes.iter().filter_map(Value::as_u64).collect();
        let got: Vec<u64> = s
            .exchanges
            .iter()
            .flat_map(|x| x.replies.iter().map(|r| r.code as u64))
            .collect();
        if got != want {
            err(format!("reply codes\n   got  {got:?}\n   want {want:?}"));
        }
    }
    if let Some(hs) = e["tls_handshakes"].as_array() {
        check_tls(s, hs, &mut err);
    }
    if let Some(chans) = e["data_channels"].as_array() {
        // The expectation lists channels a transfer command used or a peer tried to connect to.
        let used: Vec<_> = s
            .data_channels
            .iter()
            .filter(|d| {
                !matches!(
                    d.outcome,
                    ftpscope::model::Outcome::Unused | ftpscope::model::Outcome::Rejected
                )
            })
            .collect();
        if used.len() != chans.len() {
            err(format!(
                "{} data channels used by a command, expected {}: {:?}",
                used.len(),
                chans.len(),
                used.iter()
                    .map(|d| ftpscope::report::text::channel_line(d))
                    .collect::<Vec<_>>()
            ));
            return;
        }
        for (j, (d, w)) in used.iter().zip(chans).enumerate() {
            let mut cerr = |what: String| {
                errors.push(format!(
                    "{name} session {} channel {}: {what}",
                    i + 1,
                    j + 1
                ))
            };
            if let Some(v) = w["via"].as_str()
                && d.via != v
            {
                cerr(format!("via {} != {v}", d.via));
            }
            if let Some(m) = w["mode"].as_str() {
                let got = serde_json::to_value(d.mode).unwrap();
                if got != m {
                    cerr(format!("mode {got} != {m}"));
                }
            }
            if let Some(a) = w["announced"].as_str() {
                let got = d.announced.map(|x| x.to_string()).unwrap_or_default();
                if got != a {
                    cerr(format!("announced {got} != {a}"));
                }
            }
            if let Some(c) = w["command"].as_str()
                && d.command.as_deref() != Some(c)
            {
                cerr(format!("command {:?} != {c}", d.command));
            }
            if let Some(o) = w["outcome"].as_str()
                && d.outcome.as_str() != o
            {
                cerr(format!("outcome {} != {o}", d.outcome.as_str()));
            }
            if let Some(b) = w["bytes"].as_u64()
                && d.bytes != b
            {
                cerr(format!("bytes {} != {b}", d.bytes));
            }
        }
    }
}

/// The TLS facts the scenario fixes (captures/make/ftps.sh): per connection, the
/// version, whether the handshake resumed a session and whose, the alerts.
fn check_tls(s: &Session, hs: &[Value], err: &mut dyn FnMut(String)) {
    for h in hs {
        let conn = h["connection"].as_str().unwrap_or("");
        let t = if conn == "control" {
            s.tls_info.as_deref()
        } else {
            let n: usize = conn
                .strip_prefix("data ")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            s.data_channels
                .get(n.wrapping_sub(1))
                .and_then(|d| d.tls.as_deref())
        };
        let Some(t) = t else {
            err(format!("{conn}: no TLS facts"));
            continue;
        };
        if h.get("version").is_some() && t.version != h["version"].as_str() {
            err(format!(
                "{conn}: TLS version {:?} != {}",
                t.version, h["version"]
            ));
        }
        if h.get("resumed").is_some() && t.resumed != h["resumed"].as_bool() {
            err(format!(
                "{conn}: resumed {:?} != {}",
                t.resumed, h["resumed"]
            ));
        }
        if let Some(f) = h["resumed_from"].as_str()
            && t.resumed_from.as_deref() != Some(f)
        {
            err(format!("{conn}: resumed_from {:?} != {f}", t.resumed_from));
        }
        if let Some(m) = h["mode"].as_str()
            && t.mode != m
        {
            err(format!("{conn}: mode {} != {m}", t.mode));
        }
        if let Some(alerts) = h["alerts"].as_array() {
            let got: Vec<String> = t
                .alerts
                .iter()
                .map(|a| {
                    format!(
                        "{} {} {}",
                        a.from,
                        a.level.unwrap_or("encrypted"),
                        a.description
                    )
                })
                .collect();
            let want: Vec<&str> = alerts.iter().filter_map(Value::as_str).collect();
            if got != want {
                err(format!("{conn}: alerts {got:?} != {want:?}"));
            }
        }
    }
}

fn check_findings(name: &str, cap: &Capture, e: &Value, errors: &mut Vec<String>) {
    let all: Vec<_> = cap
        .sessions
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(cap.findings.iter())
        .collect();
    let want = e["findings"].as_array().cloned().unwrap_or_default();
    for w in &want {
        let id = w["id"].as_str().unwrap_or("");
        let sev = w["severity"].as_str();
        let needles: Vec<String> = w["evidence_contains"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        let text = |f: &ftpscope::model::Finding| {
            format!(
                "{} {} {}",
                f.summary,
                f.remedy,
                f.evidence
                    .iter()
                    .map(|x| x.what.en.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        let candidates: Vec<_> = all.iter().filter(|f| f.id == id).collect();
        if candidates.is_empty() {
            errors.push(format!(
                "{name}: finding {id} not reported (got {:?})",
                all.iter().map(|f| f.id).collect::<Vec<_>>()
            ));
            continue;
        }
        // Several findings may share an id (one per session or channel): one must match in full.
        let ok = candidates.iter().any(|f| {
            sev.is_none_or(|s| f.severity.as_str() == s)
                && needles.iter().all(|n| text(f).contains(n.as_str()))
        });
        if !ok {
            let got: Vec<String> = candidates
                .iter()
                .map(|f| format!("[{}] {}", f.severity.as_str(), text(f)))
                .collect();
            errors.push(format!(
                "{name}: no {id} finding with severity {sev:?} mentioning {needles:?}; got:\n   {}",
                got.join("\n   ")
            ));
        }
    }
    // Findings the scenario must not raise (at any severity): the rule's "must not fire".
    for id in e["absent_findings"].as_array().cloned().unwrap_or_default() {
        let id = id.as_str().unwrap_or("");
        for f in all.iter().filter(|f| f.id == id) {
            errors.push(format!(
                "{name}: finding {id} must not be reported: {}",
                f.summary
            ));
        }
    }
    // Healthy captures (and scenarios) must not raise errors the expectation does not list.
    for f in &all {
        if f.severity == ftpscope::model::Severity::Error && !want.iter().any(|w| w["id"] == f.id) {
            errors.push(format!(
                "{name}: unexpected error finding {}: {}",
                f.id, f.summary
            ));
        }
    }
}

/// A capture read decrypted against the expectation's `decrypted` block.
fn check_decrypted(
    name: &str,
    cap: &ftpscope::model::Capture,
    want: &Value,
    errors: &mut Vec<String>,
) {
    let Some(s) = cap.sessions.first() else {
        errors.push(format!("{name}: no session"));
        return;
    };
    let verbs: Vec<&str> = s.exchanges.iter().filter_map(|x| x.verb()).collect();
    let want_verbs: Vec<&str> = want["commands"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if verbs != want_verbs {
        errors.push(format!(
            "{name}: decrypted commands {verbs:?} != {want_verbs:?}"
        ));
    }
    let chans = want["data_channels"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if s.data_channels.len() != chans.len() {
        errors.push(format!(
            "{name}: {} data channels decrypted",
            s.data_channels.len()
        ));
    }
    for (d, w) in s.data_channels.iter().zip(&chans) {
        if d.via.as_str() != w["via"] || d.bytes != w["bytes"] || d.outcome.as_str() != w["outcome"]
        {
            errors.push(format!(
                "{name}: decrypted data channel {} {} {} B, expected {w}",
                d.via.as_str(),
                d.outcome.as_str(),
                d.bytes
            ));
        }
    }
    for a in want["absent_findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if s.findings.iter().any(|f| f.id == a) {
            errors.push(format!("{name}: decrypted, yet {a}"));
        }
    }
}

#[test]
fn every_capture_matches_its_expectation() {
    let mut errors = Vec::new();
    for (pcap, exp) in captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let e: Value = serde_json::from_str(&std::fs::read_to_string(&exp).unwrap())
            .unwrap_or_else(|x| panic!("{}: {x}", exp.display()));
        let cap = ftpscope::engine::analyze_file(&pcap, cfg_for(&e))
            .unwrap_or_else(|x| panic!("{name}: {x}"));
        if e["secrets_inside"] == true {
            // The capture carries its TLS secrets (a pcapng Decryption Secrets
            // Block): ftpscope reads it decrypted, as `decrypted` says.
            check_decrypted(&name, &cap, &e["decrypted"], &mut errors);
            continue;
        }
        let want = e["sessions"].as_array().cloned().unwrap_or_default();
        if cap.sessions.len() != want.len() {
            errors.push(format!(
                "{name}: {} sessions, expected {}",
                cap.sessions.len(),
                want.len()
            ));
            continue;
        }
        for (i, (s, w)) in cap.sessions.iter().zip(&want).enumerate() {
            check_session(&name, i, s, w, &mut errors);
        }
        check_findings(&name, &cap, &e, &mut errors);
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn passwords_are_masked_in_every_output() {
    for (pcap, _) in captures() {
        let cap = ftpscope::engine::analyze_file(&pcap, TrackerConfig::default()).unwrap();
        let mut text = Vec::new();
        ftpscope::report::text::write(&mut text, &cap, "x", Default::default()).unwrap();
        let mut json = Vec::new();
        ftpscope::report::json::write(&mut json, &cap, ftpscope::ftp::catalog::Lang::En).unwrap();
        for out in [
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&json),
        ] {
            assert!(
                !out.contains("s3cret-pass"),
                "{}: password leaked",
                pcap.display()
            );
        }
        for s in &cap.sessions {
            for x in &s.exchanges {
                if let Some(c) = &x.command
                    && c.verb == "PASS"
                    && !c.arg.is_empty()
                {
                    assert_eq!(c.arg.0, b"****");
                }
            }
        }
    }
    // And shown when asked for.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/passive-ok.pcapng");
    let cap = ftpscope::engine::analyze_file(
        &p,
        TrackerConfig {
            show_passwords: true,
            ..Default::default()
        },
    )
    .unwrap();
    let pass = cap.sessions[0]
        .exchanges
        .iter()
        .filter_map(|x| x.command.as_ref())
        .find(|c| c.verb == "PASS")
        .unwrap();
    assert_ne!(pass.arg.0, b"****");
}
