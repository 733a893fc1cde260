//! Live views of a transfer in progress (issue 17): while a client downloads
//! slowly through the proxy, the proxy's live model (what the
//! TUI and `ProxyHandle::snapshot` show) has the open session's data channel
//! `open` with the bytes moved so far and the session lasting until now; once
//! the transfer ends, the channel is `completed`.
//!
//! Real peers: libunftp in this process, Python's ftplib reading at a bounded
//! rate (see [`slow_ftplib_download`]; curl's `--limit-rate` once let a whole
//! download through at once on a loaded machine), the proxy over 127.0.0.1, in
//! passive (PASV) and in active (PORT) mode. Skipped with a message without
//! python3, unless `CI` is set.

mod proxy_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use ftpscope::model::{Capture, DataChannel, Outcome, Session};
use proxy_support::*;

/// A slow download's length and the client's rate: at least 5 s of transfer,
/// far more than the looks below need.
const LEN: usize = 2_000_000;
const RATE: u32 = 400_000;

/// The open session downloading `run.bin` and its channel, if the snapshot
/// has one with bytes moved.
fn running(c: &Capture) -> Option<(&Session, &DataChannel)> {
    c.sessions.iter().find_map(|s| {
        s.data_channels
            .iter()
            .find(|d| d.command.as_deref() == Some("RETR") && d.bytes > 0)
            .map(|d| (s, d))
    })
}

/// ftplib downloads through the proxy, passive or active, at [`RATE`]; the live
/// model is looked at twice during the transfer and once after it.
async fn a_slow_download_is_seen_running(test: &str, passive: bool) {
    if !require_python(test) {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("run.bin"), LEN);
    let p = proxy(config(srv.addr)).await;
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("run.bin");
    let mut cmd = slow_ftplib_download(p.addr, "run.bin", &dst, RATE, passive);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("python3 runs");

    // First look: as soon as bytes have moved.
    let until = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let snap = p.handle.snapshot();
        if let Some((s, d)) = running(&snap) {
            break (s.clone(), d.clone());
        }
        assert!(
            Instant::now() < until,
            "{test}: no bytes moved within 20 s: {:?}",
            snap.sessions
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "{test}: the client still downloads at the first look"
    );
    let (s, d) = &first;
    eprintln!(
        "{test}: first look: {} {} B, session {:.3} s",
        d.outcome.as_str(),
        d.bytes,
        s.duration
    );
    assert_eq!(
        d.outcome,
        Outcome::Open,
        "{test}: a running transfer is open (not {}): {d:?}",
        d.outcome.as_str()
    );
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(json["outcome"], "open", "{test}: in JSON too: {json}");
    assert_eq!(d.ended_by, None, "{test}: not ended: {d:?}");
    assert!(d.bytes <= LEN as u64, "{test}: {d:?}");

    // Second look, a second later: still running, and the session lasted longer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let snap = p.handle.snapshot();
    let (s2, d2) = running(&snap).expect("the transfer in the second look");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "{test}: the client still downloads at the second look"
    );
    eprintln!(
        "{test}: second look: {} {} B, session {:.3} s",
        d2.outcome.as_str(),
        d2.bytes,
        s2.duration
    );
    assert_eq!(d2.outcome, Outcome::Open, "{test}: {d2:?}");
    assert!(d2.bytes >= d.bytes, "{test}: bytes never go back");
    assert!(
        s2.duration >= s.duration + 0.5,
        "{test}: the open session's duration grows with time: {:.3} s then {:.3} s",
        s.duration,
        s2.duration
    );
    assert_eq!(
        s2.start.secs_until(s2.end),
        s2.duration,
        "{test}: end - start"
    );

    // After: the final outcome.
    let o = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client ends in time")
        .expect("python3");
    assert_ok(&o, test);
    assert_eq!(sha256(&dst), sha256(&srv.root.path().join("run.bin")));
    let done = p.sessions(1, Duration::from_secs(20)).await;
    let d = &done[0].data_channels[0];
    assert_eq!(d.outcome, Outcome::Completed, "{test}: {d:?}");
    assert_eq!(d.bytes, LEN as u64);
    let snap = p.handle.snapshot();
    let (_, d) = running(&snap).expect("the ended session stays in the live model");
    assert_eq!(
        d.outcome,
        Outcome::Completed,
        "{test}: in the live model too"
    );
    let _ = p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_passive_download_is_open_with_its_bytes_while_it_runs() {
    a_slow_download_is_seen_running(
        "a_slow_passive_download_is_open_with_its_bytes_while_it_runs",
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_active_download_is_open_with_its_bytes_while_it_runs() {
    a_slow_download_is_seen_running(
        "a_slow_active_download_is_open_with_its_bytes_while_it_runs",
        false,
    )
    .await;
}
