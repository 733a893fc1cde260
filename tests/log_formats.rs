//! The pipeline formats (`--format zeek|zeek-json|eve|ocsf`) written by `proxy` as
//! sessions end, checked against what `report` writes on the proxy's own record of
//! the same connections: a session logged live is the same record as in a report.
//! Real peers on 127.0.0.1: an FTP server in-process (libunftp) and curl.

mod proxy_support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use proxy_support::*;

/// `ftpscope report --format FORMAT` on a capture, with the server's port.
fn report(format: &str, capture: &Path, port: u16) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args([
            "report",
            "--format",
            format,
            "--ftp-port",
            &port.to_string(),
        ])
        .arg(capture)
        .output()
        .expect("ftpscope runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8")
}

/// The log's records: Zeek's header and `#close` dated lines left out (their
/// dates are the proxy's clock or the record's); in JSON records, the capture's
/// frame numbers (EVE's `pcap_cnt`), which a proxy has not.
fn records(log: &str) -> Vec<String> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| k != "pcap_cnt" && !k.contains("frame"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    log.lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(mut v) if l.starts_with('{') => {
                strip(&mut v);
                v.to_string()
            }
            _ => l.to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_logs_each_pipeline_format_as_report_writes_it() {
    if !require_curl("proxy_logs_each_pipeline_format_as_report_writes_it") {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("f.bin"), 70_000);
    for format in ["zeek", "zeek-json", "eve", "ocsf"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let rec = dir.path().join("rec.pcapng");
        let err = dir.path().join("stderr");
        let mut cmd = proxy_command();
        cmd.args(["--upstream", &srv.addr.to_string(), "--format", format])
            .arg("--log")
            .arg(&log)
            .arg("--record")
            .arg(&rec)
            .stdout(Stdio::null());
        let (mut child, addr) = spawn_proxy(cmd, &err);
        for (extra, name) in [("--disable-epsv", "pasv"), ("--ftp-pasv", "epsv")] {
            let out = dir.path().join(name);
            let o = curl(&[
                extra,
                "-o",
                &out.to_string_lossy(),
                &format!("ftp://{addr}/f.bin"),
            ])
            .await;
            assert_ok(&o, name);
        }
        // Both sessions logged, then SIGTERM ends the log.
        let until = Instant::now() + Duration::from_secs(20);
        let logged = |t: &str| t.lines().filter(|l| l.contains("RETR")).count();
        while logged(&std::fs::read_to_string(&log).unwrap_or_default()) < 2 {
            assert!(
                Instant::now() < until,
                "{format}: 2 sessions logged in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // SAFETY: kill(2) on our own child, not yet reaped.
        assert_eq!(
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
            0
        );
        let st = child.wait().expect("the proxy exits");
        assert!(
            st.success(),
            "{format}: {st}: {}",
            std::fs::read_to_string(&err).unwrap()
        );

        let got = std::fs::read_to_string(&log).unwrap();
        let want = report(format, &rec, srv.addr.port());
        assert_eq!(
            records(&got),
            records(&want),
            "{format}: the log and the report of the record"
        );
        match format {
            "zeek" => {
                assert!(got.starts_with("#separator \\x09\n"), "{got}");
                assert!(got.lines().last().unwrap().starts_with("#close\t"), "{got}");
                let fields = got.lines().find(|l| l.starts_with("#fields")).unwrap();
                let n = fields.split('\t').count() - 1;
                for row in got.lines().filter(|l| !l.starts_with('#')) {
                    assert_eq!(row.split('\t').count(), n, "{row}");
                }
                assert!(
                    got.contains("\tPASV\t") && got.contains("\tEPSV\t"),
                    "{got}"
                );
                assert!(!got.contains("s3cret-pass"), "the password is masked");
            }
            _ => {
                for l in got.lines() {
                    let v: serde_json::Value =
                        serde_json::from_str(l).expect("a JSON record per line");
                    match format {
                        "eve" => assert!(v["event_type"].is_string(), "{l}"),
                        "ocsf" => assert!(v["class_uid"].is_u64(), "{l}"),
                        _ => assert!(v["uid"].is_string(), "{l}"),
                    }
                }
                assert!(!got.contains("s3cret-pass"), "the password is masked");
            }
        }
    }
}

/// `proxy --extract DIR`: what the proxy relays on data connections is written out
/// as it goes (a download and an upload through curl, byte for byte the files), and
/// a listing it relays is parsed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_extracts_what_it_relays() {
    if !require_curl("proxy_extracts_what_it_relays") {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("down.bin"), 300_000);
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let log = dir.path().join("log.jsonl");
    let err = dir.path().join("stderr");
    let up = dir.path().join("up.bin");
    make_file(&up, 123_457);
    let mut cmd = proxy_command();
    cmd.args(["--upstream", &srv.addr.to_string(), "--format", "json"])
        .arg("--log")
        .arg(&log)
        .arg("--extract")
        .arg(&files)
        .stdout(Stdio::null());
    let (mut child, addr) = spawn_proxy(cmd, &err);
    let got = dir.path().join("got.bin");
    assert_ok(
        &curl(&[
            "-o",
            &got.to_string_lossy(),
            &format!("ftp://{addr}/down.bin"),
        ])
        .await,
        "download",
    );
    assert_ok(
        &curl(&["-T", &up.to_string_lossy(), &format!("ftp://{addr}/up.bin")]).await,
        "upload",
    );
    assert_ok(&curl(&[&format!("ftp://{addr}/")]).await, "listing");
    let until = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count()
        < 3
    {
        assert!(Instant::now() < until, "3 sessions logged in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let mut seen = Vec::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for d in v["data_channels"].as_array().into_iter().flatten() {
            let cmd = d["command"].as_str().unwrap_or("").to_string();
            if let Some(p) = d["extracted"]["path"].as_str() {
                let bytes = std::fs::read(files.join(p)).unwrap();
                let want = match cmd.as_str() {
                    "RETR" => Some(std::fs::read(srv.root.path().join("down.bin")).unwrap()),
                    "STOR" => Some(std::fs::read(&up).unwrap()),
                    _ => None,
                };
                if let Some(want) = want {
                    assert!(
                        bytes == want,
                        "{cmd}: {} bytes extracted, {} sent",
                        bytes.len(),
                        want.len()
                    );
                    assert_eq!(d["extracted"]["completeness"], "complete", "{d}");
                    seen.push(cmd.clone());
                }
            }
            if let Some(l) = d.get("listing") {
                let names: Vec<&str> = l["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|e| e["name"].as_str())
                    .collect();
                assert!(
                    names.contains(&"down.bin") && names.contains(&"up.bin"),
                    "{l}"
                );
                seen.push("listing".into());
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["RETR", "STOR", "listing"], "{text}");
}
