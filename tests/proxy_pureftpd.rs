//! The proxy in front of a real Debian FTP server: pure-ftpd from the capture lab
//! (`captures/make/install-lab.sh` installs it under /opt/ftpscope-lab and creates
//! the user `ftpuser`). Skipped with a message when the lab is not installed or
//! the tests do not run as root (pure-ftpd's unix authentication needs it); the
//! in-process server of `proxy_e2e.rs` covers CI.
//!
//! Files live in a directory of this test's own inside ftpuser's home, removed at
//! the end.

mod proxy_support;

use std::time::Duration;

use ftpscope::model::Outcome;
use ftpscope::proxy::UpstreamMode;
use proxy_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "flaky: its PORT case got a 425 once in a fresh-clone CI run (passes when rerun); run with --ignored. The in-process server tests in proxy_e2e.rs cover every mode."]
async fn pure_ftpd_every_mode_and_conversion() {
    if !lab_available("pure_ftpd_every_mode_and_conversion") || !require_curl("pure_ftpd") {
        return;
    }
    let srv = start_pureftpd().await;
    let sub = srv.dir.file_name().unwrap().to_string_lossy().to_string();
    let src = srv.dir.join("lab.bin");
    make_file(&src, 1_500_000);
    let want = sha256(&src);
    let work = tempfile::tempdir().unwrap();
    let cases: [(UpstreamMode, &[&str], &str); 6] = [
        (UpstreamMode::Same, &["--disable-epsv"], "PASV"),
        (UpstreamMode::Same, &[], "EPSV"),
        (
            UpstreamMode::Same,
            &["--ftp-port", "127.0.0.1", "--disable-eprt"],
            "PORT",
        ),
        (UpstreamMode::Same, &["--ftp-port", "127.0.0.1"], "EPRT"),
        (UpstreamMode::Passive, &["--ftp-port", "127.0.0.1"], "EPRT"),
        (UpstreamMode::Active, &["--disable-epsv"], "PASV"),
    ];
    for (i, (mode, extra, via)) in cases.iter().enumerate() {
        let mut cfg = config(srv.addr);
        cfg.upstream_mode = *mode;
        let p = proxy(cfg).await;
        let out = work.path().join(format!("got-{i}.bin"));
        let url = p.url(&format!("/{sub}/lab.bin"));
        let out_s = out.to_string_lossy().to_string();
        let mut args = extra.to_vec();
        args.extend(["-o", &out_s, &url]);
        let o = lab_curl(&args).await;
        assert_ok(&o, &format!("case {i} ({mode:?} {via}) download"));
        assert_eq!(sha256(&out), want, "case {i}");
        // Upload it back under another name.
        let up_url = p.url(&format!("/{sub}/up-{i}.bin"));
        let mut args = extra.to_vec();
        args.extend(["-T", &out_s, &up_url]);
        let o = lab_curl(&args).await;
        assert_ok(&o, &format!("case {i} upload"));
        assert_eq!(sha256(&srv.dir.join(format!("up-{i}.bin"))), want);
        let sessions = p.sessions(2, Duration::from_secs(20)).await;
        for s in &sessions {
            let done: Vec<_> = s
                .data_channels
                .iter()
                .filter(|d| d.outcome == Outcome::Completed && d.command.is_some())
                .collect();
            assert_eq!(done.len(), 1, "case {i}: {:#?}", s.data_channels);
            assert_eq!(done[0].via, *via, "case {i}");
            assert_eq!(done[0].bytes, 1_500_000, "case {i}");
            assert!(
                s.findings
                    .iter()
                    .all(|f| f.severity != ftpscope::model::Severity::Error),
                "case {i}: {:?}",
                s.findings
            );
        }
        p.stop().await;
    }
}
