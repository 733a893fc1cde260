//! `report --threads N`: the same bytes whatever N, in every format written on
//! several threads (text, json, eve, ocsf) and the one that is not (zeek), on
//! every shipped capture alone and on all of them merged into one input (about
//! two hundred sessions, so that sessions go over to the other threads in many
//! batches and come back out of order).

use std::path::{Path, PathBuf};
use std::process::Command;

fn captures() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut caps = Vec::new();
    let mut keys = Vec::new();
    for e in std::fs::read_dir(&dir).expect("captures/") {
        let p = e.expect("entry").path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".pcap") || name.ends_with(".pcapng") {
            caps.push(p);
        } else if name.ends_with(".keys") {
            keys.push(p);
        }
    }
    caps.sort();
    keys.sort();
    assert!(caps.len() > 50, "the shipped captures: {}", caps.len());
    (caps, keys)
}

fn run(args: &[&str], threads: usize, inputs: &[PathBuf], keys: &[PathBuf]) -> Vec<u8> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ftpscope"));
    c.arg("report")
        .args(args)
        .arg("--threads")
        .arg(threads.to_string());
    for k in keys {
        c.arg("--tls-keylog").arg(k);
    }
    let o = c.args(inputs).output().expect("ftpscope runs");
    assert!(
        o.status.success(),
        "{args:?} --threads {threads}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

const FORMATS: [&[&str]; 6] = [
    &["--width", "80"],
    &["--width", "0", "--lang", "zh"],
    &["--format", "json"],
    &["--format", "eve"],
    &["--format", "ocsf"],
    &["--format", "zeek"],
];

/// Zeek's `#open`/`#close` lines carry the time they were written.
fn undated(out: Vec<u8>) -> String {
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn all_captures_merged_give_the_same_output_on_any_number_of_threads() {
    let (caps, keys) = captures();
    for args in FORMATS {
        let one = undated(run(args, 1, &caps, &keys));
        assert!(one.len() > 20_000, "{args:?}: {} bytes", one.len());
        if args == ["--format", "json"] {
            // One line per session: enough for many batches of 16.
            let sessions = one.lines().count();
            assert!(sessions > 100, "{sessions} sessions");
        }
        for threads in [2, 3, 8] {
            let many = undated(run(args, threads, &caps, &keys));
            assert!(
                many == one,
                "{args:?}: --threads {threads} differs from --threads 1 (first difference at byte {})",
                one.bytes()
                    .zip(many.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(one.len().min(many.len()))
            );
        }
    }
}

#[test]
fn each_capture_gives_the_same_output_on_two_threads() {
    let (caps, keys) = captures();
    for cap in &caps {
        for args in [&["--width", "100"][..], &["--format", "json"][..]] {
            let one = run(args, 1, std::slice::from_ref(cap), &keys);
            let two = run(args, 2, std::slice::from_ref(cap), &keys);
            assert!(
                one == two,
                "{} {args:?}: --threads 2 differs from --threads 1",
                cap.display()
            );
        }
    }
}

#[test]
fn threads_must_be_a_positive_number() {
    for bad in ["0", "-1", "many"] {
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .args(["report", "--threads", bad, "captures/passive-ok.pcapng"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("ftpscope runs");
        assert_eq!(o.status.code(), Some(2), "--threads {bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(bad), "--threads {bad}: {err}");
    }
}
