//! Golden snapshots of the text report and the JSON of every capture in captures/,
//! produced the way the binary produces them for a non-terminal (default options,
//! sessions written in the order the engine hands them out), but through the library
//! views, so a view option added later only needs the snapshots regenerated once.
//!
//! Nothing is masked: the engine never reads the clock, so the same capture gives
//! the same output, byte for byte. A change here is a change in what users see:
//! review it (`cargo insta review`) and say why in the commit.

use std::path::{Path, PathBuf};

use ftpscope::report::{self, ViewOptions};
use ftpscope::session::TrackerConfig;

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/ exists")
        .map(|e| e.expect("read captures/").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 8,
        "expected the committed captures, found {}",
        v.len()
    );
    v
}

/// The text report as `ftpscope report CAPTURE` writes it (`text_report` in
/// main.rs): sessions as they end, then the head with the diagnosis.
fn text(path: &Path, name: &str) -> String {
    let opts = ViewOptions::default();
    let mut body = Vec::new();
    let mut sum = report::text::Summary::default();
    let (stats, findings) =
        ftpscope::engine::stream_file(path, TrackerConfig::default(), &mut |s| {
            sum.add(&s);
            body.push(b'\n');
            report::text::write_session(&mut body, &s, opts).expect("write to memory");
        })
        .unwrap_or_else(|e| panic!("analyse {name}: {e}"));
    sum.capture_findings = findings;
    let mut out = Vec::new();
    report::text::write_head(&mut out, &stats, &sum, &format!("captures/{name}"), opts)
        .expect("write to memory");
    out.extend_from_slice(&body);
    String::from_utf8(out).expect("the text report is UTF-8")
}

/// The JSON lines as `ftpscope report --format json CAPTURE` writes them.
fn json(path: &Path, name: &str) -> String {
    let mut out = Vec::new();
    ftpscope::engine::stream_file(path, TrackerConfig::default(), &mut |s| {
        report::json::write_session(&mut out, &s, ViewOptions::default().lang)
            .expect("write to memory");
    })
    .unwrap_or_else(|e| panic!("analyse {name}: {e}"));
    String::from_utf8(out).expect("JSON is UTF-8")
}

#[test]
fn text_report_of_every_capture() {
    for path in captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ snapshot_suffix => name.clone(), omit_expression => true }, {
            insta::assert_snapshot!("text", text(&path, &name));
        });
    }
}

#[test]
fn json_of_every_capture() {
    for path in captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        insta::with_settings!({ snapshot_suffix => name.clone(), omit_expression => true }, {
            insta::assert_snapshot!("json", json(&path, &name));
        });
    }
}

/// The same capture twice gives the same bytes (nothing reads the clock), so the
/// snapshots above need no masking.
#[test]
fn output_is_deterministic() {
    let path = captures().into_iter().next().expect("a capture");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(text(&path, &name), text(&path, &name));
    assert_eq!(json(&path, &name), json(&path, &name));
}
