//! `--format ocsf`: every event of every committed and public capture validates, with
//! Python's `jsonschema`, against tests/schemas/ocsf-ftpscope.schema.json (written from
//! the OCSF 1.3 definitions of FTP Activity 4008 and Detection Finding 2004: required
//! attributes, enums, type_uid = class_uid * 100 + activity_id, no attribute outside the
//! class). Skipped with a message when python3's jsonschema is missing, unless CI is set.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use ftpscope::session::TrackerConfig;

fn ocsf(p: &Path) -> Vec<Value> {
    let cap = ftpscope::engine::analyze_file(p, TrackerConfig::default())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut out = Vec::new();
    for s in &cap.sessions {
        ftpscope::report::ocsf::write_session(&mut out, s).unwrap();
    }
    let at = cap.stats.last.unwrap_or_default();
    ftpscope::report::ocsf::write_capture_findings(&mut out, &cap.findings, at).unwrap();
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

/// Validates each line of `lines` against the schema; the errors, one a line.
fn validate(lines: &[Value]) -> Vec<String> {
    let schema = common::repo().join("tests/schemas/ocsf-ftpscope.schema.json");
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    f.flush().unwrap();
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    errs = list(v.iter_errors(json.loads(line)))
    if errs:
        bad += 1
        if bad <= 20:
            print("line %d: %s" % (n, "; ".join(e.message[:300] for e in errs)))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(&schema)
        .arg(f.path())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn have_jsonschema(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !common::in_ci(),
            "{test}: python3's jsonschema is required when CI is set"
        );
        eprintln!("SKIPPED {test}: python3's jsonschema module is missing");
    }
    ok
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
fn ocsf_events_validate_against_the_class_schemas() {
    if !have_jsonschema("ocsf_events_validate_against_the_class_schemas") {
        return;
    }
    let mut pcaps = common::committed_captures();
    if let Some(dir) = common::public_captures("ocsf_events_validate_against_the_class_schemas") {
        pcaps.extend(public_pcaps(&dir));
    }
    let mut all = Vec::new();
    for p in &pcaps {
        all.extend(ocsf(p));
    }
    let count = |class: u64| all.iter().filter(|e| e["class_uid"] == class).count();
    let (ftp, det) = (count(4008), count(2004));
    let mut activities: Vec<u64> = all
        .iter()
        .filter(|e| e["class_uid"] == 4008)
        .filter_map(|e| e["activity_id"].as_u64())
        .collect();
    activities.sort();
    activities.dedup();
    eprintln!(
        "{} OCSF events ({ftp} FTP Activity, {det} Detection Finding), activity ids {activities:?}, {} captures",
        all.len(),
        pcaps.len()
    );
    assert!(ftp > 1000 && det > 50, "too few events to mean anything");
    // Every FTP activity the mapping has shows up somewhere (no capture renames: Rename,
    // 5, is checked by the unit test of the mapping).
    for a in [1, 2, 3, 4, 6, 99] {
        assert!(
            activities.contains(&a),
            "no FTP Activity with activity_id {a}"
        );
    }
    let errs = validate(&all);
    assert!(
        errs.is_empty(),
        "events outside the schema:\n{}",
        errs.join("\n")
    );
    // No password shown without --show-passwords.
    for e in &all {
        if e["command"] == "PASS" && !e["unmapped"]["ftpscope"]["arg"].is_null() {
            assert_eq!(e["unmapped"]["ftpscope"]["arg"], "****", "{e}");
        }
    }
}

/// The schema is strict enough to reject what it should: a wrong type_uid, an unknown
/// attribute, a time in seconds as a string, a missing finding_info.
#[test]
fn the_ocsf_schema_rejects_broken_events() {
    if !have_jsonschema("the_ocsf_schema_rejects_broken_events") {
        return;
    }
    let pcap = common::repo().join("captures/passive-refused.pcap");
    let good = ocsf(&pcap);
    let ftp = good
        .iter()
        .find(|e| e["class_uid"] == 4008)
        .unwrap()
        .clone();
    let det = good
        .iter()
        .find(|e| e["class_uid"] == 2004)
        .unwrap()
        .clone();
    assert!(validate(&[ftp.clone(), det.clone()]).is_empty());
    let mut broken = Vec::new();
    let mut e = ftp.clone();
    e["type_uid"] = Value::from(400801);
    broken.push(e);
    let mut e = ftp.clone();
    e["reply"] = Value::from("x");
    broken.push(e);
    let mut e = ftp.clone();
    e["time"] = Value::from("1700000000");
    broken.push(e);
    let mut e = ftp.clone();
    e["activity_id"] = Value::from(7);
    broken.push(e);
    let mut e = det.clone();
    e.as_object_mut().unwrap().remove("finding_info");
    broken.push(e);
    let mut e = ftp;
    e["connection_info"]["community_uid"] = Value::from("not an id");
    broken.push(e);
    assert_eq!(validate(&broken).len(), broken.len());
}
