//! Helpers shared by integration tests.
#![allow(dead_code)]

pub mod builder;
pub mod edit;
pub mod stream;

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when the tests run in CI, where every optional tool must be present.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Is `tool` runnable? When it is not: outside CI print why the test is skipped and
/// return false; in CI fail.
pub fn require_tool(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if !ok {
        assert!(
            !in_ci(),
            "{test}: `{tool}` is required when CI is set (.ci/run installs it)"
        );
        eprintln!("SKIPPED {test}: `{tool}` is not installed");
    }
    ok
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ../shared/public-captures, when present. Outside CI a missing folder skips the
/// test with a message; in CI it fails.
pub fn public_captures(test: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/public-captures");
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "{test}: ../shared/public-captures is required when CI is set"
    );
    eprintln!("SKIPPED {test}: ../shared/public-captures is not beside the repository");
    None
}

/// Every committed capture with its expectation file.
pub fn committed_captures() -> Vec<PathBuf> {
    let dir = repo().join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    v.sort();
    v
}

pub fn expectation_for(pcap: &Path) -> Option<serde_json::Value> {
    let stem = pcap.file_stem()?.to_string_lossy().to_string();
    let p = pcap.with_file_name(format!("{stem}.expect.json"));
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}
