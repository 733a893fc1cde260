//! The proxy with real peers on 127.0.0.1: an FTP server in-process (libunftp
//! over a temporary directory), curl and suppaftp as clients, a raw line client
//! for what real clients will not do. No mocks.
//!
//! Tests that need curl skip with a message when it is missing, unless CI is set.
//! The 200 MB transfers in every mode are ignored by default
//! (`cargo test --test proxy_e2e -- --ignored`).

mod proxy_support;

use std::net::SocketAddr;
use std::time::Duration;

use ftpscope::model::{DataMode, Outcome, Session};
use ftpscope::proxy::UpstreamMode;
use proxy_support::*;

const WAIT: Duration = Duration::from_secs(20);

fn channel_for<'a>(s: &'a Session, verb: &str) -> &'a ftpscope::model::DataChannel {
    s.data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some(verb) && d.outcome == Outcome::Completed)
        .unwrap_or_else(|| {
            let brief: Vec<_> = s
                .data_channels
                .iter()
                .map(|d| {
                    (
                        d.via,
                        d.command.clone(),
                        d.outcome,
                        d.bytes,
                        d.ended_by,
                        d.notes.clone(),
                    )
                })
                .collect();
            panic!(
                "no completed data channel for {verb}: {brief:#?}\n{}",
                all_notes(s)
            )
        })
}

/// Download `name` of `len` bytes through the proxy with curl `extra` options;
/// checks the bytes and the session the proxy reports.
async fn download(
    srv: &Server,
    p: &RunningProxy,
    extra: &[&str],
    name: &str,
    len: usize,
    expect_via: &str,
) -> Session {
    make_file(&srv.root.path().join(name), len);
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join(name);
    let url = p.url(&format!("/{name}"));
    let mut args: Vec<&str> = extra.to_vec();
    let out_s = out.to_string_lossy().to_string();
    args.extend(["-o", &out_s, &url]);
    let before = p.collect.sessions.lock().unwrap().len();
    let o = curl(&args).await;
    assert_ok(&o, name);
    assert_eq!(
        sha256(&out),
        sha256(&srv.root.path().join(name)),
        "{name}: downloaded bytes differ"
    );
    let sessions = p.sessions(before + 1, WAIT).await;
    let s = sessions[before].clone();
    let ch = channel_for(&s, "RETR");
    assert_eq!(ch.via, expect_via, "{name}: {:#?}", s.data_channels);
    assert_eq!(ch.bytes_to_client, len as u64, "{name}: bytes counted");
    assert_eq!(ch.bytes_to_server, 0);
    assert_eq!(ch.direction.map(|d| d.as_str()), Some("download"));
    assert_eq!(ch.ended_by.map(|e| e.as_str()), Some("fin"));
    s
}

async fn upload(srv: &Server, p: &RunningProxy, extra: &[&str], name: &str, len: usize) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join(name);
    make_file(&src, len);
    let url = p.url(&format!("/{name}"));
    let src_s = src.to_string_lossy().to_string();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["-T", &src_s, &url]);
    let before = p.collect.sessions.lock().unwrap().len();
    let o = curl(&args).await;
    assert_ok(&o, name);
    assert_eq!(
        sha256(&src),
        sha256(&srv.root.path().join(name)),
        "{name}: uploaded bytes differ"
    );
    let s = p.sessions(before + 1, WAIT).await[before].clone();
    let ch = channel_for(&s, "STOR");
    assert_eq!(ch.bytes_to_server, len as u64, "{name}: bytes counted");
    assert_eq!(ch.direction.map(|d| d.as_str()), Some("upload"));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_pasv_list_download_upload_sizes() {
    if !require_curl("passive_pasv_list_download_upload_sizes") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let pasv = ["--disable-epsv"];
    for (name, len) in [("zero.bin", 0), ("one.bin", 1), ("ten-mb.bin", 10 << 20)] {
        let s = download(&srv, &p, &pasv, name, len, "PASV").await;
        // The transcript is the conversation as the peers sent it: the server's 227
        // names the server, and a note tells what the client got.
        let ex = s
            .exchanges
            .iter()
            .find(|e| e.verb() == Some("PASV"))
            .unwrap();
        let r = ex.final_reply().unwrap();
        assert_eq!(r.code, 227);
        assert!(
            r.notes.iter().any(|n| n.contains("proxy sent `227")),
            "{:?}",
            r.notes
        );
        let ch = channel_for(&s, "RETR");
        assert_eq!(ch.mode, DataMode::Passive);
        assert_eq!(ch.match_kind, Some(ftpscope::model::MatchKind::Exact));
        assert_eq!(ch.listener.map(|a| a.ip()), Some(srv.addr.ip()));
        assert_eq!(s.server, srv.addr);
        // PASS is masked by default.
        let pass = s
            .exchanges
            .iter()
            .find(|e| e.verb() == Some("PASS"))
            .unwrap();
        assert_eq!(pass.command.as_ref().unwrap().arg.0, b"****");
        upload(&srv, &p, &pasv, &format!("up-{name}"), len).await;
    }
    // Listing.
    let before = p.collect.sessions.lock().unwrap().len();
    let o = curl(&["--disable-epsv", &p.url("/")]).await;
    assert_ok(&o, "list");
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("ten-mb.bin"), "{listing}");
    let s = p.sessions(before + 1, WAIT).await[before].clone();
    let ch = s
        .data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some("LIST"))
        .expect("LIST channel");
    // curl turns the listing's CR LF into LF.
    let lines = o.stdout.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(ch.bytes_to_client, o.stdout.len() as u64 + lines);
    let sessions = p.stop().await;
    assert_eq!(sessions.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_epsv_download() {
    if !require_curl("passive_epsv_download") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let s = download(&srv, &p, &[], "epsv.bin", 300_000, "EPSV").await;
    let r = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("EPSV"))
        .and_then(|e| e.final_reply())
        .unwrap();
    assert_eq!(r.code, 229);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_port_and_eprt_download_upload() {
    if !require_curl("active_port_and_eprt_download_upload") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    // curl tries EPRT first; libunftp does not know it and curl falls back to PORT.
    let s = download(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1"],
        "act.bin",
        1 << 20,
        "PORT",
    )
    .await;
    let v = verbs(&s);
    assert!(v.contains(&"EPRT".to_string()), "{v:?}");
    let port = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("PORT"))
        .unwrap();
    assert!(
        port.command
            .as_ref()
            .unwrap()
            .notes
            .iter()
            .any(|n| n.contains("the proxy sent `PORT 127,0,0,1,")),
        "{:?}",
        port.command
    );
    let ch = channel_for(&s, "RETR");
    assert_eq!(ch.mode, DataMode::Active);
    assert_eq!(ch.match_kind, Some(ftpscope::model::MatchKind::Exact));
    // Plain PORT straight away.
    download(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "act2.bin",
        1,
        "PORT",
    )
    .await;
    upload(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "act-up.bin",
        2 << 20,
    )
    .await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_passive_converts_client_port() {
    if !require_curl("upstream_passive_converts_client_port") {
        return;
    }
    let srv = server().await;
    let mut cfg = config(srv.addr);
    cfg.upstream_mode = UpstreamMode::Passive;
    let p = proxy(cfg).await;
    let s = download(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "conv.bin",
        3 << 20,
        "PORT",
    )
    .await;
    let port = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("PORT"))
        .unwrap();
    let r = port.final_reply().unwrap();
    assert_eq!(r.code, 200);
    assert!(
        r.notes.iter().any(|n| n.contains("sent `PASV`")),
        "{:?}",
        r.notes
    );
    upload(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "conv-up.bin",
        1 << 20,
    )
    .await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_active_converts_client_pasv_and_epsv() {
    if !require_curl("upstream_active_converts_client_pasv_and_epsv") {
        return;
    }
    let srv = server().await;
    let mut cfg = config(srv.addr);
    cfg.upstream_mode = UpstreamMode::Active;
    let p = proxy(cfg).await;
    let s = download(&srv, &p, &["--disable-epsv"], "conv.bin", 3 << 20, "PASV").await;
    let r = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("PASV"))
        .and_then(|e| e.final_reply())
        .unwrap();
    assert_eq!(r.code, 227);
    assert!(
        r.notes.iter().any(|n| n.contains("sent `PORT 127,0,0,1,")),
        "{:?}",
        r.notes
    );
    download(&srv, &p, &[], "conv2.bin", 100_000, "EPSV").await;
    upload(&srv, &p, &["--disable-epsv"], "conv-up.bin", 1 << 20).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppaftp_client_passive_and_active() {
    use suppaftp::tokio::AsyncFtpStream;
    use tokio::io::AsyncReadExt;
    let srv = server().await;
    make_file(&srv.root.path().join("s.bin"), 777_777);
    let p = proxy(config(srv.addr)).await;
    for mode in [
        suppaftp::Mode::Passive,
        suppaftp::Mode::ExtendedPassive,
        suppaftp::Mode::Active,
    ] {
        let mut ftp = AsyncFtpStream::connect(p.addr).await.expect("connect");
        if mode == suppaftp::Mode::Active {
            ftp = ftp.active_mode(Duration::from_secs(10));
        } else {
            ftp.set_mode(mode);
        }
        ftp.login(USER, PASS).await.expect("login");
        ftp.transfer_type(suppaftp::types::FileType::Binary)
            .await
            .expect("TYPE I");
        let mut st = ftp.retr_as_stream("s.bin").await.expect("RETR");
        let mut got = Vec::new();
        st.read_to_end(&mut got).await.expect("read");
        st.finish().await.expect("226");
        assert_eq!(got.len(), 777_777, "{mode:?}");
        let mut data: &[u8] = b"hello through the proxy\n";
        ftp.put_file(format!("s-{mode:?}.txt"), &mut data)
            .await
            .expect("STOR");
        let list = ftp.list(None).await.expect("LIST");
        assert!(list.iter().any(|l| l.contains("s.bin")), "{list:?}");
        ftp.quit().await.expect("QUIT");
        assert_eq!(
            std::fs::read(srv.root.path().join(format!("s-{mode:?}.txt"))).unwrap(),
            b"hello through the proxy\n"
        );
    }
    let sessions = p.sessions(3, WAIT).await;
    for s in &sessions {
        let done = s
            .data_channels
            .iter()
            .filter(|d| d.outcome == Outcome::Completed)
            .count();
        assert_eq!(done, 3, "{:#?}", s.data_channels);
        assert_eq!(s.closed, "quit");
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounce_port_is_refused() {
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let (mut c, g) = RawClient::connect(p.addr).await;
    assert!(g.starts_with("220"), "{g}");
    c.login().await;
    // A third host, then the client's own address at a privileged port.
    let r = c.cmd("PORT 192,0,2,7,4,1").await;
    assert!(r.starts_with("504 "), "{r}");
    let r = c.cmd("EPRT |1|127.0.0.1|25|").await;
    assert!(r.starts_with("504 "), "{r}");
    // The session goes on.
    let r = c.cmd("NOOP").await;
    assert!(r.starts_with("200"), "{r}");
    c.quit().await;
    let s = &p.sessions(1, WAIT).await[0];
    let port = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("PORT"))
        .unwrap();
    assert_eq!(port.final_reply().unwrap().code, 504);
    let notes = all_notes(s);
    assert!(notes.contains("not the client's address"), "{notes}");
    assert!(notes.contains("privileged port 25"), "{notes}");
    assert!(
        s.findings.iter().any(|f| f.id == "bounce-port"),
        "{:?}",
        s.findings
    );
    assert!(
        p.handle.status().contains("2 bounce refused"),
        "{}",
        p.handle.status()
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_theft_is_refused() {
    use tokio::io::AsyncReadExt;
    let srv = server().await;
    make_file(&srv.root.path().join("t.bin"), 5000);
    let p = proxy(config(srv.addr)).await;
    let (mut c, _) = RawClient::connect(p.addr).await;
    c.login().await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let r = c.cmd("PASV").await;
    assert!(r.starts_with("227"), "{r}");
    let data = addr_227(&r);
    assert_eq!(
        data.ip(),
        p.addr.ip(),
        "the client is told the proxy's address"
    );
    // A thief from another loopback address gets there first: reset.
    let thief = tokio::net::TcpSocket::new_v4().unwrap();
    thief.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    // The kernel completes the handshake; the proxy resets it at once (the RST may
    // even beat the end of connect()).
    if let Ok(mut t) = thief.connect(data).await {
        let mut buf = [0u8; 16];
        let got = tokio::time::timeout(Duration::from_secs(5), t.read(&mut buf))
            .await
            .expect("the thief is cut off at once");
        assert!(
            matches!(got, Err(_) | Ok(0)),
            "the thief must get nothing: {got:?}"
        );
    }
    // The real client still gets its file.
    let mut d = tokio::net::TcpStream::connect(data).await.expect("data");
    c.send("RETR t.bin").await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), d.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 5000);
    drop(d);
    let r = c.reply().await;
    let r = if r.starts_with("150") || r.starts_with("125") {
        c.reply().await
    } else {
        r
    };
    assert!(r.starts_with("226"), "{r}");
    c.quit().await;
    let s = &p.sessions(1, WAIT).await[0];
    let ch = channel_for(s, "RETR");
    assert!(
        ch.notes
            .iter()
            .any(|n| n.contains("127.0.0.2") && n.contains("port theft")),
        "{:?}",
        ch.notes
    );
    assert_eq!(ch.bytes_to_client, 5000);
    assert!(p.handle.status().contains("1 port theft refused"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_reply_retr_425_is_in_the_session() {
    if !require_curl("fault_reply_retr_425_is_in_the_session") {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("f.bin"), 1000);
    let mut cfg = config(srv.addr);
    cfg.faults.replies = vec![("RETR".into(), 425)];
    let p = proxy(cfg).await;
    let out = tempfile::tempdir().unwrap();
    let o = curl(&[
        "--disable-epsv",
        "-o",
        &out.path().join("f.bin").to_string_lossy(),
        &p.url("/f.bin"),
    ])
    .await;
    assert!(!o.status.success(), "curl must fail on 425");
    let s = &p.sessions(1, WAIT).await[0];
    let retr = s
        .exchanges
        .iter()
        .find(|e| e.verb() == Some("RETR"))
        .expect("RETR in the transcript");
    let r = retr.final_reply().expect("a reply to RETR");
    assert_eq!(r.code, 425);
    assert!(
        retr.command
            .as_ref()
            .unwrap()
            .notes
            .iter()
            .any(|n| n.contains("fault injected") && n.contains("RETR=425")),
        "{:?}",
        retr.command
    );
    assert!(
        r.notes.iter().any(|n| n.contains("injected fault")),
        "{:?}",
        r.notes
    );
    // The data connection the client opened is said to be closed because of
    // the fault, not as if no transfer command had come.
    let ch = s
        .data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some("RETR"))
        .expect("RETR's data channel");
    assert!(
        ch.notes
            .iter()
            .any(|n| n.contains("RETR was answered 425 by the proxy and never reached the server")),
        "{:?}",
        ch.notes
    );
    // Diagnosed as a real 425 after a made connection would be, marked injected.
    assert_eq!(ch.outcome, Outcome::Failed);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "data-connection-failed")
        .unwrap_or_else(|| panic!("no data-connection-failed: {:?}", s.findings));
    assert!(f.injected, "{f:?}");
    assert!(
        f.summary
            .en
            .contains("was made, yet the server answered RETR with 425"),
        "{f:?}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_refuse_drop_delay_close() {
    let srv = server().await;
    make_file(&srv.root.path().join("x.bin"), 100);
    let mut cfg = config(srv.addr);
    cfg.faults.refuse_data = 1;
    cfg.faults.drop_data = 1;
    cfg.faults.delay_replies = Some(Duration::from_millis(150));
    cfg.faults.close_after = Some(6);
    let p = proxy(cfg).await;
    let (mut c, _) = RawClient::connect(p.addr).await;
    c.login().await; // 2 commands
    // 1st data connection: refused (nothing listens on the announced port).
    let r = c.cmd("PASV").await; // 3
    let refused = tokio::net::TcpStream::connect(addr_227(&r)).await;
    assert!(refused.is_err(), "the refused data port must refuse");
    // 2nd: both sides connect, then the proxy resets them.
    let t0 = std::time::Instant::now();
    let r = c.cmd("PASV").await; // 4
    assert!(
        t0.elapsed() >= Duration::from_millis(140),
        "replies are delayed"
    );
    let d = tokio::net::TcpStream::connect(addr_227(&r)).await;
    c.send("RETR x.bin").await; // 5
    if let Ok(mut d) = d {
        let mut buf = Vec::new();
        use tokio::io::AsyncReadExt;
        let _ = tokio::time::timeout(Duration::from_secs(10), d.read_to_end(&mut buf)).await;
        assert!(buf.len() < 100, "the dropped connection carries nothing");
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), c.reply()).await;
    // 6th command is relayed, the 7th closes the session.
    c.send("NOOP").await; // 6
    c.send("NOOP").await; // 7
    let s = &p.sessions(1, WAIT).await[0];
    let notes = all_notes(s);
    assert!(notes.contains("--fault-refuse-data"), "{notes}");
    assert!(notes.contains("--fault-drop-data"), "{notes}");
    assert!(notes.contains("--fault-delay"), "{notes}");
    assert!(notes.contains("--fault-close-after 6"), "{notes}");
    // The close is diagnosed as a server that hung up on a command, marked injected.
    let closed = s
        .findings
        .iter()
        .find(|f| f.id == "control-closed-unanswered")
        .unwrap_or_else(|| panic!("no control-closed-unanswered: {:?}", s.findings));
    assert!(closed.injected, "{closed:?}");
    assert!(closed.summary.en.contains("NOOP"), "{closed:?}");
    // The refusal is diagnosed as a real one would be, and marked injected.
    let refused = s
        .findings
        .iter()
        .find(|f| f.id == "passive-data-refused")
        .unwrap_or_else(|| panic!("no passive-data-refused: {:?}", s.findings));
    assert!(refused.injected, "{refused:?}");
    assert!(
        refused
            .summary
            .en
            .starts_with("[injected by the ftpscope proxy]"),
        "{refused:?}"
    );
    let ch = s
        .data_channels
        .iter()
        .find(|d| d.outcome == Outcome::Refused)
        .expect("the refused channel");
    assert_eq!(ch.via, "PASV");
    // The drop is a reset channel; no finding of a real cause is left unmarked.
    assert!(
        s.findings
            .iter()
            .filter(|f| f.severity == ftpscope::model::Severity::Error)
            .all(|f| f.injected),
        "{:?}",
        s.findings
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_opens_in_the_engine_with_the_same_commands() {
    if !require_curl("record_opens_in_the_engine_with_the_same_commands") {
        return;
    }
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.pcapng");
    let mut cfg = config(srv.addr);
    cfg.record = Some(rec.clone());
    let p = proxy(cfg).await;
    download(&srv, &p, &["--disable-epsv"], "r1.bin", 200_000, "PASV").await;
    download(
        &srv,
        &p,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "r2.bin",
        5,
        "PORT",
    )
    .await;
    let live = p.stop().await;
    let cfg = ftpscope::session::TrackerConfig {
        ftp_ports: vec![srv.addr.port()],
        ..Default::default()
    };
    let cap = ftpscope::engine::analyze_file(&rec, cfg).expect("the record reads");
    assert_eq!(cap.sessions.len(), live.len());
    for (a, b) in cap.sessions.iter().zip(&live) {
        assert_eq!(verbs(a), verbs(b));
        assert_eq!(a.client, b.client);
        assert_eq!(a.server, b.server);
        let codes = |s: &Session| -> Vec<u16> {
            s.exchanges
                .iter()
                .flat_map(|e| e.replies.iter().map(|r| r.code))
                .collect()
        };
        assert_eq!(codes(a), codes(b));
        let chans = |s: &Session| -> Vec<(ftpscope::model::Via, u64, Outcome)> {
            s.data_channels
                .iter()
                .map(|d| (d.via, d.bytes, d.outcome))
                .collect()
        };
        assert_eq!(chans(a), chans(b));
        assert_eq!(a.capture.gap_bytes, [0, 0]);
    }
    // tshark decodes it as FTP too, when it is here.
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok()
    {
        let o = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&rec)
            .args(["-d", &format!("tcp.port=={},ftp", srv.addr.port())])
            .args([
                "-Y",
                "ftp.request.command",
                "-T",
                "fields",
                "-e",
                "ftp.request.command",
            ])
            .output()
            .expect("tshark runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let cmds: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = live.iter().flat_map(verbs).collect();
        assert_eq!(cmds, ours);
    } else {
        assert!(!in_ci(), "tshark is required when CI is set");
        eprintln!("tshark not installed: the tshark half of the record test is skipped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sessions_and_graceful_shutdown() {
    let srv = server().await;
    let mut cfg = config(srv.addr);
    cfg.max_sessions = 1;
    let p = proxy(cfg).await;
    let (mut c1, g) = RawClient::connect(p.addr).await;
    assert!(g.starts_with("220"));
    let (_c2, g2) = RawClient::connect(p.addr).await;
    assert!(g2.starts_with("421"), "{g2}");
    c1.login().await;
    // Shut down with a session open: it is closed and reported.
    let sessions = p.stop().await;
    assert_eq!(sessions.len(), 1);
    assert!(all_notes(&sessions[0]).contains("proxy shut down"));
    drop(c1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_is_answered_421() {
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead: SocketAddr = l.local_addr().unwrap();
    drop(l);
    let p = proxy(config(dead)).await;
    let (_c, g) = RawClient::connect(p.addr).await;
    assert!(g.starts_with("421"), "{g}");
    let s = &p.sessions(1, WAIT).await[0];
    assert_eq!(s.closed, "refused");
    assert!(all_notes(s).contains("could not connect to the upstream server"));
    // A finding, as for a capture of the same refusal, not only a note.
    let ids: Vec<&str> = s.findings.iter().map(|f| f.id).collect();
    assert!(ids.contains(&"control-refused"), "{ids:?}");
    p.stop().await;
}

/// An upstream that never answers (its SYNs dropped) is a `control-unanswered`
/// finding, as in a capture of the same silence. The upstream is a listener whose
/// accept queue is full: Linux drops further SYNs without an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_upstream_is_a_finding() {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let silent = sock.listen(0).unwrap();
    let addr = silent.local_addr().unwrap();
    // One connection fills the queue (never accepted).
    let _filler = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut cfg = config(addr);
    cfg.connect_timeout = Duration::from_millis(3500);
    let p = proxy(cfg).await;
    let (_c, g) = RawClient::connect(p.addr).await;
    assert!(g.starts_with("421"), "{g}");
    assert!(g.contains("no answer within"), "{g}");
    let s = &p.sessions(1, WAIT).await[0];
    assert!(all_notes(s).contains("could not connect to the upstream server"));
    let ids: Vec<&str> = s.findings.iter().map(|f| f.id).collect();
    assert!(ids.contains(&"control-unanswered"), "{ids:?}");
    assert!(!ids.contains(&"control-refused"), "{ids:?}");
    drop(silent);
    p.stop().await;
}

/// An error inside a data relay is told with its session's client peer (from the
/// session's tracing span) and the data connection's address (from the relay
/// task's child span): the upstream announces a data port nothing listens on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_relay_error_names_the_sessions_client() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    // A port nothing listens on, announced by a minimal upstream. The socket stays
    // bound (not listening) for the whole test, so no other test running beside
    // this one can be given the port and accept the proxy's connection.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let dead: SocketAddr = reserved.local_addr().unwrap();
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (sock, _) = upstream.accept().await.unwrap();
        let (r, mut w) = sock.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 fake\r\n").await.unwrap();
        let mut line = String::new();
        while r.read_line(&mut line).await.unwrap_or(0) > 0 {
            let reply = if line.to_ascii_uppercase().starts_with("PASV") {
                let p = dead.port();
                format!(
                    "227 Entering Passive Mode (127,0,0,1,{},{})\r\n",
                    p >> 8,
                    p & 255
                )
            } else if line.to_ascii_uppercase().starts_with("QUIT") {
                "221 bye\r\n".to_string()
            } else {
                "425 no data connection\r\n".to_string()
            };
            if w.write_all(reply.as_bytes()).await.is_err() {
                break;
            }
            line.clear();
        }
    });
    let p = proxy(config(up_addr)).await;
    let sock = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    let client = sock.local_addr().unwrap();
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("220"), "{line}");
    w.write_all(b"PASV\r\n").await.unwrap();
    line.clear();
    r.read_line(&mut line).await.unwrap();
    let data = addr_227(line.trim_end());
    // The proxy accepts, then finds the server's data port closed and resets.
    // No transfer command: its 425 would abandon the pair, racing the accept.
    let d = tokio::net::TcpStream::connect(data).await;
    let until = std::time::Instant::now() + WAIT;
    let msg = loop {
        let m = p.collect.messages.lock().unwrap().clone();
        if let Some(m) = m.into_iter().find(|m| m.contains("could not connect")) {
            break m;
        }
        assert!(
            std::time::Instant::now() < until,
            "no message; data connect: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let want = format!(
        "session from {client}: data connection at {dead}: proxy could not connect to the server's data port {dead}: "
    );
    assert!(
        msg.starts_with(&want),
        "{msg}\nwanted it to start with {want}"
    );
    drop((d, r, w, reserved));
    p.stop().await;
    fake.abort();
}

/// Every way a data connection goes through the proxy, as
/// (label, upstream mode, curl options, the client's verb). The server is
/// libunftp, which knows no EPRT: a client's EPRT is tested converted to PASV
/// (EPRT relayed as EPRT is in `proxy_pureftpd.rs`).
const MODES: [(&str, UpstreamMode, &[&str], &str); 5] = [
    ("PASV", UpstreamMode::Same, &["--disable-epsv"], "PASV"),
    ("EPSV", UpstreamMode::Same, &[], "EPSV"),
    (
        "PORT",
        UpstreamMode::Same,
        &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        "PORT",
    ),
    (
        "EPRT, server passive",
        UpstreamMode::Passive,
        &["--ftp-port", "127.0.0.1"],
        "EPRT",
    ),
    (
        "PASV, server active",
        UpstreamMode::Active,
        &["--disable-epsv"],
        "PASV",
    ),
];

/// A file of each size, downloaded and uploaded in every mode of [`MODES`]:
/// SHA-256 equal on both ends, the channel completed with exactly the bytes.
async fn every_mode_both_ways(sizes: &[usize]) {
    let srv = server().await;
    let local = tempfile::tempdir().unwrap();
    for &len in sizes {
        let name = format!("m-{len}.bin");
        let src = srv.root.path().join(&name);
        make_file(&src, len);
        let want = sha256(&src);
        let src_s = src.to_string_lossy().to_string();
        for (label, mode, extra, via) in MODES {
            let what = format!("{len} B, {label}");
            let mut cfg = config(srv.addr);
            cfg.upstream_mode = mode;
            let p = proxy(cfg).await;
            let t0 = std::time::Instant::now();
            // Download.
            let got = local.path().join(&name);
            let got_s = got.to_string_lossy().to_string();
            let url = p.url(&format!("/{name}"));
            let mut args = extra.to_vec();
            args.extend(["-o", &got_s, &url]);
            assert_ok(&curl(&args).await, &format!("{what} download"));
            let t1 = t0.elapsed();
            assert_eq!(sha256(&got), want, "{what}: downloaded bytes differ");
            std::fs::remove_file(&got).unwrap();
            // Upload (the server's own file, under another name).
            let up = format!("up-{}-{name}", label.replace([' ', ','], ""));
            let up_url = p.url(&format!("/{up}"));
            let mut args = extra.to_vec();
            args.extend(["-T", &src_s, &up_url]);
            let t2 = std::time::Instant::now();
            assert_ok(&curl(&args).await, &format!("{what} upload"));
            let t3 = t2.elapsed();
            let up_path = srv.root.path().join(&up);
            assert_eq!(sha256(&up_path), want, "{what}: uploaded bytes differ");
            std::fs::remove_file(&up_path).unwrap();
            let sessions = p.stop().await;
            assert_eq!(sessions.len(), 2, "{what}");
            let ch = channel_for(&sessions[0], "RETR");
            assert_eq!(ch.via, via, "{what}");
            assert_eq!(
                (ch.bytes_to_client, ch.bytes_to_server),
                (len as u64, 0),
                "{what}: download counted"
            );
            let ch = channel_for(&sessions[1], "STOR");
            assert_eq!(ch.via, via, "{what}");
            assert_eq!(
                (ch.bytes_to_client, ch.bytes_to_server),
                (0, len as u64),
                "{what}: upload counted"
            );
            for s in &sessions {
                assert_no_errors(s, &what);
            }
            if len >= 10 << 20 {
                eprintln!(
                    "{what}: download {:.2} s, upload {:.2} s, with checks {:.2} s",
                    t1.as_secs_f64(),
                    t3.as_secs_f64(),
                    t0.elapsed().as_secs_f64()
                );
            }
        }
        std::fs::remove_file(&src).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_moves_empty_1_byte_and_10mb_both_ways() {
    if !require_curl("every_mode_moves_empty_1_byte_and_10mb_both_ways") {
        return;
    }
    every_mode_both_ways(&[0, 1, 10 << 20]).await;
}

/// 200 MB each way in all five modes (2 GB through the proxy): 31-48 s on the
/// shared 2-core development VM (load average 7-10; about 20 s of CPU, most of
/// it curl and libunftp). Part of the default run: the issue asks for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_moves_200mb_both_ways() {
    if !require_curl("every_mode_moves_200mb_both_ways") {
        return;
    }
    every_mode_both_ways(&[200 << 20]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_tls_is_relayed_opaque_and_explained() {
    if !require_curl("auth_tls_is_relayed_opaque_and_explained") {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let Some(srv) = tls_server(&certs).await else {
        assert!(!in_ci(), "openssl is required when CI is set");
        eprintln!("SKIPPED auth_tls_is_relayed_opaque_and_explained: openssl is missing");
        return;
    };
    make_file(&srv.root.path().join("secret.bin"), 4096);
    let p = proxy(config(srv.addr)).await;
    let out = tempfile::tempdir().unwrap();
    let out_s = out.path().join("secret.bin").to_string_lossy().to_string();
    let url = p.url("/secret.bin");
    // libunftp sends its 234 before it reads TLS: a ClientHello that arrives at
    // once (as it does through the proxy on loopback) is sometimes read as a
    // command ("500 Invalid UTF8 in command"; seen in a --record of this test).
    // That is the server's race, so a failed handshake is tried again.
    let mut o = curl(&["--ssl-reqd", "-k", "--disable-epsv", "-o", &out_s, &url]).await;
    let mut tries = 1;
    while o.status.code() == Some(35) && tries < 8 {
        o = curl(&["--ssl-reqd", "-k", "--disable-epsv", "-o", &out_s, &url]).await;
        tries += 1;
    }
    assert_ok(&o, "FTPS download");
    let s = p.sessions(tries, WAIT).await.pop().unwrap();
    let s = &s;
    assert!(s.tls, "the session is marked encrypted");
    assert!(s.encrypted_bytes[0] > 0 && s.encrypted_bytes[1] > 0);
    assert!(all_notes(s).contains("opaque TLS"), "{}", all_notes(s));
    // The data went around the proxy (here the server shares its address): said.
    assert!(
        s.findings.iter().any(|f| f.id == "tls-proxy-blind"),
        "{:?}",
        s.findings.iter().map(|f| f.id).collect::<Vec<_>>()
    );
    assert!(s.tls_info.as_deref().is_some_and(|t| t.version.is_some()));
    assert_eq!(
        p.handle
            .counters()
            .data_connections
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_is_closed_and_noted() {
    use tokio::io::AsyncReadExt;
    let srv = server().await;
    let mut cfg = config(srv.addr);
    cfg.idle_timeout = Duration::from_millis(800);
    let p = proxy(cfg).await;
    let s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    let (mut r, _w) = s.into_split();
    let mut all = Vec::new();
    // The greeting, then EOF when the proxy gives the idle session up.
    tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut all))
        .await
        .expect("closed within the idle timeout and some")
        .expect("read");
    assert!(all.starts_with(b"220"));
    let s = &p.sessions(1, WAIT).await[0];
    assert!(all_notes(s).contains("--idle-timeout"), "{}", all_notes(s));
    p.stop().await;
}

// ---- resume, rename, delete, many sessions ----

/// The exchange of the first command `verb` in `s`, with its final reply code.
fn exchange<'a>(s: &'a Session, verb: &str) -> &'a ftpscope::model::Exchange {
    s.exchanges
        .iter()
        .find(|e| e.verb() == Some(verb))
        .unwrap_or_else(|| panic!("no {verb} in {:?}", verbs(s)))
}

fn final_code(s: &Session, verb: &str) -> u16 {
    exchange(s, verb)
        .final_reply()
        .unwrap_or_else(|| panic!("no reply to {verb}"))
        .code
}

fn assert_no_errors(s: &Session, what: &str) {
    let errors: Vec<_> = s
        .findings
        .iter()
        .filter(|f| f.severity == ftpscope::model::Severity::Error)
        .map(|f| (f.id, f.summary.clone()))
        .collect();
    assert!(errors.is_empty(), "{what}: error findings {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_download_with_rest_passive_and_active() {
    if !require_curl("resume_download_with_rest_passive_and_active") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let len = 1_000_003usize;
    let have = 400_000usize;
    let src = srv.root.path().join("resume.bin");
    make_file(&src, len);
    let full = std::fs::read(&src).unwrap();
    let want = sha256(&src);
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 2] = [
        (&["--disable-epsv"], "PASV"),
        (&["--ftp-port", "127.0.0.1", "--disable-eprt"], "PORT"),
    ];
    for (i, (extra, via)) in cases.iter().enumerate() {
        // A download that stopped after `have` bytes.
        let out = dir.path().join(format!("resume-{i}.bin"));
        std::fs::write(&out, &full[..have]).unwrap();
        let out_s = out.to_string_lossy().to_string();
        let url = p.url("/resume.bin");
        let mut args = extra.to_vec();
        args.extend(["-C", "-", "-o", &out_s, &url]);
        let before = p.collect.sessions.lock().unwrap().len();
        let o = curl(&args).await;
        assert_ok(&o, &format!("resumed download via {via}"));
        assert_eq!(sha256(&out), want, "{via}: the resumed file differs");
        let s = p.sessions(before + 1, WAIT).await[before].clone();
        let rest = exchange(&s, "REST");
        assert_eq!(
            rest.command.as_ref().unwrap().arg.lossy(),
            have.to_string(),
            "{via}"
        );
        assert_eq!(final_code(&s, "REST"), 350, "{via}");
        let v = verbs(&s);
        let (ri, gi) = (
            v.iter().position(|x| x == "REST").unwrap(),
            v.iter().position(|x| x == "RETR").unwrap(),
        );
        assert!(ri < gi, "REST comes before RETR: {v:?}");
        let ch = channel_for(&s, "RETR");
        assert_eq!(ch.via, *via);
        assert_eq!(
            ch.bytes_to_client,
            (len - have) as u64,
            "{via}: only the missing bytes cross the data connection"
        );
        assert_eq!(ch.bytes_to_server, 0);
        assert_eq!(ch.ended_by.map(|e| e.as_str()), Some("fin"));
        assert_no_errors(&s, via);
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_upload_with_appe_and_rest_stor() {
    use suppaftp::tokio::AsyncFtpStream;
    if !require_curl("resume_upload_with_appe_and_rest_stor") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("up.bin");
    let len = 900_001usize;
    make_file(&local, len);
    let full = std::fs::read(&local).unwrap();
    let want = sha256(&local);
    let local_s = local.to_string_lossy().to_string();

    // curl -C - -T: SIZE tells what the server has, APPE sends the rest.
    let have = 300_000usize;
    for (i, (extra, via)) in [
        (&["--disable-epsv"][..], "PASV"),
        (&["--ftp-port", "127.0.0.1", "--disable-eprt"][..], "PORT"),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("appe-{i}.bin");
        std::fs::write(srv.root.path().join(&name), &full[..have]).unwrap();
        let url = p.url(&format!("/{name}"));
        let mut args = extra.to_vec();
        args.extend(["-C", "-", "-T", &local_s, &url]);
        let before = p.collect.sessions.lock().unwrap().len();
        let o = curl(&args).await;
        assert_ok(&o, &format!("resumed upload via {via}"));
        assert_eq!(
            sha256(&srv.root.path().join(&name)),
            want,
            "{via}: the file on the server differs"
        );
        let s = p.sessions(before + 1, WAIT).await[before].clone();
        assert_eq!(final_code(&s, "SIZE"), 213, "{via}");
        let ch = channel_for(&s, "APPE");
        assert_eq!(ch.via, *via);
        assert_eq!(ch.direction.map(|d| d.as_str()), Some("upload"));
        assert_eq!(
            ch.bytes_to_server,
            (len - have) as u64,
            "{via}: only the rest"
        );
        assert_eq!(ch.bytes_to_client, 0);
        assert_no_errors(&s, via);
    }

    // REST + STOR (suppaftp), in active mode.
    let have = 123_456usize;
    std::fs::write(srv.root.path().join("rest-stor.bin"), &full[..have]).unwrap();
    let mut ftp = AsyncFtpStream::connect(p.addr)
        .await
        .expect("connect")
        .active_mode(Duration::from_secs(10));
    ftp.login(USER, PASS).await.expect("login");
    ftp.transfer_type(suppaftp::types::FileType::Binary)
        .await
        .expect("TYPE I");
    ftp.resume_transfer(have).await.expect("REST");
    let mut rest: &[u8] = &full[have..];
    let n = ftp
        .put_file("rest-stor.bin", &mut rest)
        .await
        .expect("STOR after REST");
    assert_eq!(n, (len - have) as u64);
    ftp.quit().await.expect("QUIT");
    drop(ftp);
    assert_eq!(sha256(&srv.root.path().join("rest-stor.bin")), want);
    let s = p.sessions(3, WAIT).await[2].clone();
    assert_eq!(
        exchange(&s, "REST").command.as_ref().unwrap().arg.lossy(),
        have.to_string()
    );
    assert_eq!(final_code(&s, "REST"), 350);
    let ch = channel_for(&s, "STOR");
    assert_eq!(ch.via, "PORT");
    assert_eq!(ch.bytes_to_server, (len - have) as u64);
    assert_no_errors(&s, "REST STOR");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_and_delete_change_the_server_and_are_in_the_session() {
    if !require_curl("rename_and_delete_change_the_server_and_are_in_the_session") {
        return;
    }
    let srv = server().await;
    let root = srv.root.path();
    std::fs::write(root.join("a.txt"), b"the file to rename\n").unwrap();
    std::fs::write(root.join("c.txt"), b"the file to delete\n").unwrap();
    let p = proxy(config(srv.addr)).await;
    // -Q: commands before the transfer (here a listing of /).
    let o = curl(&[
        "--disable-epsv",
        "-Q",
        "RNFR a.txt",
        "-Q",
        "RNTO b.txt",
        "-Q",
        "DELE c.txt",
        &p.url("/"),
    ])
    .await;
    assert_ok(&o, "rename and delete");
    assert!(!root.join("a.txt").exists(), "a.txt was renamed");
    assert_eq!(
        std::fs::read(root.join("b.txt")).unwrap(),
        b"the file to rename\n"
    );
    assert!(!root.join("c.txt").exists(), "c.txt was deleted");
    // The listing that followed already shows the new state.
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(
        listing.contains("b.txt") && !listing.contains("a.txt") && !listing.contains("c.txt"),
        "{listing}"
    );
    let s = p.sessions(1, WAIT).await[0].clone();
    assert_eq!(final_code(&s, "RNFR"), 350);
    assert_eq!(final_code(&s, "RNTO"), 250);
    assert_eq!(final_code(&s, "DELE"), 250);
    assert_eq!(
        exchange(&s, "RNTO").command.as_ref().unwrap().arg.lossy(),
        "b.txt"
    );
    assert_eq!(
        exchange(&s, "DELE").command.as_ref().unwrap().arg.lossy(),
        "c.txt"
    );
    assert_no_errors(&s, "rename/delete");

    // Deleting what is not there: the server's 550 reaches curl and the session.
    let o = curl(&["--disable-epsv", "-Q", "DELE c.txt", &p.url("/")]).await;
    assert_eq!(o.status.code(), Some(21), "curl's quote error: {o:?}");
    let s = p.sessions(2, WAIT).await[1].clone();
    assert_eq!(final_code(&s, "DELE"), 550);
    assert!(root.join("b.txt").exists());
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_sessions_each_with_a_checked_transfer() {
    if !require_curl("fifty_concurrent_sessions_each_with_a_checked_transfer") {
        return;
    }
    const N: usize = 50;
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let dir = tempfile::tempdir().unwrap();
    // Four kinds of session, in turn: PASV, EPSV and PORT downloads, PASV uploads.
    let mut jobs = tokio::task::JoinSet::new();
    for i in 0..N {
        let len = 10_000 + i * 7_919;
        let name = format!("c{i:02}.bin");
        let url = p.url(&format!("/{name}"));
        let (extra, upload): (&[&str], bool) = match i % 4 {
            0 => (&["--disable-epsv"], false),
            1 => (&[], false),
            2 => (&["--ftp-port", "127.0.0.1", "--disable-eprt"], false),
            _ => (&["--disable-epsv"], true),
        };
        let (src, local) = if upload {
            (dir.path().join(&name), srv.root.path().join(&name))
        } else {
            (srv.root.path().join(&name), dir.path().join(&name))
        };
        make_file(&src, len);
        let src_s = src.to_string_lossy().to_string();
        let local_s = local.to_string_lossy().to_string();
        jobs.spawn(async move {
            let mut args = extra.to_vec();
            if upload {
                args.extend(["-T", &src_s, &url]);
            } else {
                args.extend(["-o", &local_s, &url]);
            }
            let o = curl(&args).await;
            assert_ok(&o, &format!("session {i}"));
            assert_eq!(sha256(&src), sha256(&local), "session {i}: bytes differ");
        });
    }
    while let Some(r) = jobs.join_next().await {
        r.expect("client task");
    }
    let sessions = p.stop().await;
    assert_eq!(sessions.len(), N, "every session is reported");
    let mut seen = std::collections::BTreeSet::new();
    for s in &sessions {
        let ch = s
            .data_channels
            .iter()
            .find(|d| d.command.is_some())
            .unwrap_or_else(|| panic!("no transfer channel: {:#?}", s.data_channels));
        let name = ch.arg.as_ref().unwrap().lossy();
        let i: usize = name[1..3].parse().unwrap();
        assert!(seen.insert(i), "{name} reported twice");
        let len = (10_000 + i * 7_919) as u64;
        assert_eq!(ch.outcome, Outcome::Completed, "{name}: {ch:#?}");
        assert_eq!(ch.bytes, len, "{name}");
        let (via, cmd) = match i % 4 {
            0 => ("PASV", "RETR"),
            1 => ("EPSV", "RETR"),
            2 => ("PORT", "RETR"),
            _ => ("PASV", "STOR"),
        };
        assert_eq!(
            (ch.via.as_str(), ch.command.as_deref()),
            (via, Some(cmd)),
            "{name}"
        );
        assert_eq!(s.closed, "quit", "{name}");
        assert_no_errors(s, &name);
    }
    assert_eq!(seen.len(), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_refuse_and_drop_apply_in_every_mode() {
    if !require_curl("faults_refuse_and_drop_apply_in_every_mode") {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("f.bin"), 50_000);
    let active: &[&str] = &["--ftp-port", "127.0.0.1", "--disable-eprt"];
    let passive: &[&str] = &["--disable-epsv"];
    // (upstream mode, curl options, the client's verb, what the server is told)
    let cases: [(UpstreamMode, &[&str], &str); 4] = [
        (UpstreamMode::Same, passive, "PASV"),
        (UpstreamMode::Same, active, "PORT"),
        (UpstreamMode::Passive, active, "PORT"),
        (UpstreamMode::Active, passive, "PASV"),
    ];
    let out = tempfile::tempdir().unwrap();
    for (mode, extra, via) in cases {
        let what = format!("{mode:?} {via}");
        let mut cfg = config(srv.addr);
        cfg.upstream_mode = mode;
        cfg.faults.refuse_data = 1;
        cfg.faults.drop_data = 1;
        let p = proxy(cfg).await;
        let got = out.path().join("f.bin");
        let got_s = got.to_string_lossy().to_string();
        let url = p.url("/f.bin");
        let mut args = extra.to_vec();
        args.extend(["-o", &got_s, &url]);
        // 1: refused.
        let o = curl(&args).await;
        assert!(
            !o.status.success(),
            "{what}: the refused transfer must fail"
        );
        let s = p.sessions(1, WAIT).await[0].clone();
        let notes = all_notes(&s);
        assert!(notes.contains("--fault-refuse-data"), "{what}: {notes}");
        let ch = s
            .data_channels
            .iter()
            .find(|d| d.via == via)
            .unwrap_or_else(|| {
                panic!(
                    "{what}: no {via} channel: {:#?}\n{:#?}",
                    s.data_channels, s.exchanges
                )
            });
        assert_ne!(ch.outcome, Outcome::Completed, "{what}");
        assert_eq!(ch.bytes, 0, "{what}: nothing crossed");
        assert!(
            ch.notes.iter().any(|n| n.contains("--fault-refuse-data")),
            "{what}: the channel carries the note: {:?}",
            ch.notes
        );
        if mode == UpstreamMode::Passive {
            // Both legs are the proxy's: it answers the transfer command 425 itself.
            assert_eq!(final_code(&s, "RETR"), 425, "{what}");
        }
        // 2: reset once both sides are connected.
        let o = curl(&args).await;
        assert!(
            !o.status.success(),
            "{what}: the dropped transfer must fail"
        );
        let s = p.sessions(2, WAIT).await[1].clone();
        let notes = all_notes(&s);
        assert!(notes.contains("--fault-drop-data"), "{what}: {notes}");
        let ch = s
            .data_channels
            .iter()
            .find(|d| d.notes.iter().any(|n| n.contains("--fault-drop-data")))
            .unwrap_or_else(|| panic!("{what}: {:#?}", s.data_channels));
        assert_eq!(ch.outcome, Outcome::Reset, "{what}: {ch:#?}");
        assert_eq!(ch.via, via, "{what}");
        // 3: both faults used up; the file comes through.
        let s = download(&srv, &p, extra, "f.bin", 50_000, via).await;
        assert!(!all_notes(&s).contains("fault injected"), "{what}");
        assert_eq!(
            p.handle
                .counters()
                .faults_injected
                .load(std::sync::atomic::Ordering::Relaxed),
            2,
            "{what}"
        );
        p.stop().await;
    }
}

/// The replies to a transfer command: the preliminary 1xx (if any), then the final one.
async fn transfer_replies(c: &mut RawClient) -> (Option<String>, String) {
    let r = c.reply().await;
    if r.starts_with('1') {
        (Some(r), c.reply().await)
    } else {
        (None, r)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lpsv_and_lprt_move_files_through_mode_conversion() {
    use ftpscope::ftp::address::{format_lprt, parse_228};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Neither libunftp nor pure-ftpd knows LPSV/LPRT (500): the proxy converts
    // them, so the server sees PORT (upstream active) or PASV (upstream passive).
    let srv = server().await;
    let len = 654_321usize;
    make_file(&srv.root.path().join("l.bin"), len);
    let want = std::fs::read(srv.root.path().join("l.bin")).unwrap();
    let up: Vec<u8> = want.iter().rev().copied().collect();

    // LPSV, server active.
    let mut cfg = config(srv.addr);
    cfg.upstream_mode = UpstreamMode::Active;
    let p = proxy(cfg).await;
    let (mut c, _) = RawClient::connect(p.addr).await;
    c.login().await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let r = c.cmd("LPSV").await;
    assert!(r.starts_with("228 "), "{r}");
    let at = parse_228(r.as_bytes()).expect("228 address");
    assert_eq!(
        at.ip(),
        p.addr.ip(),
        "the client is told the proxy's address"
    );
    let mut d = tokio::net::TcpStream::connect(at).await.expect("data");
    c.send("RETR l.bin").await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), d.read_to_end(&mut got))
        .await
        .expect("data in time")
        .expect("read");
    assert!(
        got == want,
        "LPSV download: {} bytes, content differs",
        got.len()
    );
    drop(d);
    let (_, fin) = transfer_replies(&mut c).await;
    assert!(fin.starts_with("226"), "{fin}");
    // And an upload on a second LPSV.
    let r = c.cmd("LPSV").await;
    let mut d = tokio::net::TcpStream::connect(parse_228(r.as_bytes()).unwrap())
        .await
        .expect("data");
    c.send("STOR l-up.bin").await;
    d.write_all(&up).await.unwrap();
    d.shutdown().await.unwrap();
    drop(d);
    let (_, fin) = transfer_replies(&mut c).await;
    assert!(fin.starts_with("226"), "{fin}");
    assert!(std::fs::read(srv.root.path().join("l-up.bin")).unwrap() == up);
    c.quit().await;
    let s = p.sessions(1, WAIT).await[0].clone();
    let lpsv = exchange(&s, "LPSV").final_reply().unwrap();
    assert_eq!(lpsv.code, 228);
    assert!(
        lpsv.notes
            .iter()
            .any(|n| n.contains("sent `PORT 127,0,0,1,")),
        "{:?}",
        lpsv.notes
    );
    let ch = channel_for(&s, "RETR");
    assert_eq!((ch.via.as_str(), ch.bytes_to_client), ("LPSV", len as u64));
    let ch = channel_for(&s, "STOR");
    assert_eq!((ch.via.as_str(), ch.bytes_to_server), ("LPSV", len as u64));
    assert_no_errors(&s, "LPSV");
    p.stop().await;

    // LPRT, server passive.
    let mut cfg = config(srv.addr);
    cfg.upstream_mode = UpstreamMode::Passive;
    let p = proxy(cfg).await;
    let (mut c, _) = RawClient::connect(p.addr).await;
    c.login().await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = c
        .cmd(&format!("LPRT {}", format_lprt(l.local_addr().unwrap())))
        .await;
    assert!(r.starts_with("200"), "{r}");
    c.send("RETR l.bin").await;
    let (mut d, from) = tokio::time::timeout(Duration::from_secs(10), l.accept())
        .await
        .expect("the proxy connects in time")
        .expect("accept");
    assert_eq!(from.ip(), p.addr.ip());
    let mut got = Vec::new();
    d.read_to_end(&mut got).await.unwrap();
    assert!(
        got == want,
        "LPRT download: {} bytes, content differs",
        got.len()
    );
    drop(d);
    let (_, fin) = transfer_replies(&mut c).await;
    assert!(fin.starts_with("226"), "{fin}");
    let r = c
        .cmd(&format!("LPRT {}", format_lprt(l.local_addr().unwrap())))
        .await;
    assert!(r.starts_with("200"), "{r}");
    c.send("STOR l-up2.bin").await;
    let (mut d, _) = tokio::time::timeout(Duration::from_secs(10), l.accept())
        .await
        .expect("the proxy connects in time")
        .expect("accept");
    d.write_all(&up).await.unwrap();
    d.shutdown().await.unwrap();
    drop(d);
    let (_, fin) = transfer_replies(&mut c).await;
    assert!(fin.starts_with("226"), "{fin}");
    assert!(std::fs::read(srv.root.path().join("l-up2.bin")).unwrap() == up);
    c.quit().await;
    let s = p.sessions(1, WAIT).await[0].clone();
    let lprt = exchange(&s, "LPRT").final_reply().unwrap();
    assert_eq!(lprt.code, 200);
    assert!(
        lprt.notes.iter().any(|n| n.contains("sent `PASV`")),
        "{:?}",
        lprt.notes
    );
    let ch = channel_for(&s, "RETR");
    assert_eq!((ch.via.as_str(), ch.bytes_to_client), ("LPRT", len as u64));
    let ch = channel_for(&s, "STOR");
    assert_eq!((ch.via.as_str(), ch.bytes_to_server), ("LPRT", len as u64));
    assert_no_errors(&s, "LPRT");
    p.stop().await;
}

/// The proxy's passive ports lie within `--data-ports` and are drawn at random
/// (not handed out in order), so a port cannot be guessed from the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_ports_are_random_within_the_range() {
    let srv = server().await;
    let mut cfg = config(srv.addr);
    // A free range: 64 ports starting at a free port (best effort).
    let base = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .clamp(20_000, 60_000);
    let range = (base, base + 63);
    cfg.data_ports = Some(range);
    let p = proxy(cfg).await;
    let (mut c, _) = RawClient::connect(p.addr).await;
    c.login().await;
    let mut ports = Vec::new();
    for _ in 0..24 {
        let r = c.cmd("PASV").await;
        assert!(r.starts_with("227"), "{r}");
        ports.push(addr_227(&r).port());
    }
    c.quit().await;
    assert!(
        ports.iter().all(|p| (range.0..=range.1).contains(p)),
        "{ports:?} outside {range:?}"
    );
    let ascending = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(
        ascending < ports.len() / 2,
        "ports look sequential, not random: {ports:?}"
    );
    let mut distinct = ports.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 8, "too few distinct ports: {ports:?}");
}

/// lftp through the proxy, passive and active: a listing, a download and an
/// upload, bytes checked on both ends, every transfer in the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lftp_client_passive_and_active() {
    let have = std::process::Command::new("lftp")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(!in_ci(), "lftp is required when CI is set");
        eprintln!("SKIPPED lftp_client_passive_and_active: lftp is not installed");
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("lf.bin"), 700_000);
    let want = sha256(&srv.root.path().join("lf.bin"));
    let p = proxy(config(srv.addr)).await;
    let work = tempfile::tempdir().unwrap();
    for (i, passive) in ["on", "off"].into_iter().enumerate() {
        let got = work.path().join(format!("got-{i}.bin"));
        let script = format!(
            "set ftp:passive-mode {passive}; set net:max-retries 1; set net:timeout 10; \
             set ftp:port-range 40000-60000; \
             open -u {USER},{PASS} ftp://{addr}; cls -1; get lf.bin -o {got}; \
             put {got} -o up-{i}.bin; bye",
            addr = p.addr,
            got = got.display()
        );
        let before = p.collect.sessions.lock().unwrap().len();
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new("lftp")
                .args(["-c", &script])
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("lftp finishes within 60 s")
        .expect("lftp runs");
        assert!(
            out.status.success(),
            "lftp passive={passive}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("lf.bin"));
        assert_eq!(sha256(&got), want, "download, passive={passive}");
        assert_eq!(
            sha256(&srv.root.path().join(format!("up-{i}.bin"))),
            want,
            "upload, passive={passive}"
        );
        let sessions = p.sessions(before + 1, WAIT).await;
        let s = &sessions[before];
        let v = verbs(s);
        assert!(v.iter().any(|x| x == "RETR"), "{v:?}");
        assert!(v.iter().any(|x| x == "STOR"), "{v:?}");
        let done = |verb: &str| {
            s.data_channels
                .iter()
                .filter(|d| d.command.as_deref() == Some(verb) && d.outcome == Outcome::Completed)
                .count()
        };
        assert_eq!(done("RETR"), 1, "{:#?}", s.data_channels);
        assert_eq!(done("STOR"), 1, "{:#?}", s.data_channels);
        let mode = if passive == "on" {
            ftpscope::model::DataMode::Passive
        } else {
            ftpscope::model::DataMode::Active
        };
        assert!(
            s.data_channels.iter().all(|d| d.mode == mode),
            "passive={passive}: {:#?}",
            s.data_channels
        );
    }
}

/// Issue 18: the proxy names the side that held a slow transfer back, from the
/// kernel's view of both of its legs (Linux TCP_INFO).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_names_the_side_that_limited_a_slow_transfer() {
    if !require_curl("the_proxy_names_the_side_that_limited_a_slow_transfer") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let verdicts = |ch: &ftpscope::model::DataChannel| -> Vec<String> {
        ch.notes
            .iter()
            .filter(|n| n.starts_with("proxy's view (Linux tcp_info)"))
            .map(|n| n.en.clone())
            .collect()
    };
    // curl reads 8 MB/s of a 32 MiB file: once the client's receive buffer and
    // the proxy's send buffer are full, the client's window holds the proxy back.
    let s = download(
        &srv,
        &p,
        &["--limit-rate", "8M"],
        "slow-reader.bin",
        32 << 20,
        "EPSV",
    )
    .await;
    let v = verdicts(channel_for(&s, "RETR"));
    assert!(
        v.iter()
            .any(|n| n.contains("the client limited this transfer: its receive window")),
        "{v:?}"
    );
    // curl sends 2 MB/s: the proxy mostly waits for the client's data.
    let s = upload(
        &srv,
        &p,
        &["--limit-rate", "2M"],
        "slow-writer.bin",
        4 << 20,
    )
    .await;
    let v = verdicts(channel_for(&s, "STOR"));
    assert!(
        v.iter().any(|n| n.contains(
            "the client limited this transfer: the proxy had nothing to send to the server"
        )),
        "{v:?}"
    );
    // A fast short transfer: no verdict.
    let s = download(&srv, &p, &[], "fast.bin", 100_000, "EPSV").await;
    assert!(verdicts(channel_for(&s, "RETR")).is_empty());
    p.stop().await;
}

/// The keepalive notes of a session (`--keepalive`).
pub fn keepalive_notes(s: &Session) -> Vec<String> {
    s.anomalies
        .iter()
        .map(|a| a.to_string())
        .filter(|a| a.contains("--keepalive"))
        .collect()
}

/// `--keepalive 1s` during a 5-second download (curl reading 12 MB/s of 64 MiB,
/// more than the socket buffers hold, so the server's 226 waits): the proxy
/// sends NOOPs on the quiet control connection; their replies (this server
/// answers during the transfer) reach neither the client nor the transcript;
/// the transfer completes with its 226. Without the option, no NOOP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_sends_noop_during_a_transfer_and_keeps_the_replies() {
    if !require_curl("keepalive_sends_noop_during_a_transfer_and_keeps_the_replies") {
        return;
    }
    let srv = server().await;
    for keepalive in [Some(Duration::from_secs(1)), None] {
        let mut cfg = config(srv.addr);
        cfg.keepalive = keepalive;
        let p = proxy(cfg).await;
        let s = download(
            &srv,
            &p,
            &["--limit-rate", "12M"],
            "long.bin",
            64 << 20,
            "EPSV",
        )
        .await;
        p.stop().await;
        let notes = keepalive_notes(&s);
        let verbs: Vec<_> = s
            .exchanges
            .iter()
            .filter_map(|e| e.command.as_ref().map(|c| c.verb.clone()))
            .collect();
        assert!(!verbs.iter().any(|v| v == "NOOP"), "{verbs:?}");
        assert_eq!(final_code(&s, "RETR"), 226, "{}", all_notes(&s));
        // Every reply in the transcript answers a command the client sent.
        for e in &s.exchanges {
            for r in &e.replies {
                assert!(
                    !(r.code == 200 && e.command.as_ref().is_some_and(|c| c.verb == "RETR")),
                    "a NOOP's 200 shown as RETR's: {}",
                    all_notes(&s)
                );
            }
        }
        match keepalive {
            Some(_) => {
                assert!(!notes.is_empty(), "{}", all_notes(&s));
                assert!(notes.iter().all(|n| n.contains("`200")), "{notes:?}");
            }
            None => assert!(notes.is_empty(), "{notes:?}"),
        }
    }
}

/// A download the client reads slowly (curl `--limit-rate 1M`, 6 MiB: about 6 s)
/// is reported as the client lived it: the server finishes into the sockets'
/// buffers long before; the channel's bytes count as the client's TCP
/// acknowledges them (what a capture at the client shows), its end is the
/// client's close, and a note gives the client's own reading time.
///
/// curl's limiter averages over seconds and, on a loaded machine, sometimes
/// lets a whole socket buffer through at once (one CI run read the 6 MiB in
/// 0.6 s); so the proxy's figure is checked against curl's own clock
/// (`-w %{time_starttransfer} %{time_total}`), whatever pace curl kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_read_download_has_the_clients_timing() {
    if !require_curl("a_slowly_read_download_has_the_clients_timing") {
        return;
    }
    let srv = server().await;
    let p = proxy(config(srv.addr)).await;
    let len = 6usize << 20;
    make_file(&srv.root.path().join("slow.bin"), len);
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir
        .path()
        .join("slow.bin")
        .to_string_lossy()
        .to_string();
    let url = p.url("/slow.bin");
    let o = curl(&[
        "--limit-rate",
        "1M",
        "-w",
        "%{time_starttransfer} %{time_total}",
        "-o",
        &out,
        &url,
    ])
    .await;
    assert_ok(&o, "slow.bin");
    let times: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|t| t.parse().expect("curl -w prints seconds"))
        .collect();
    let curl_lived = times[1] - times[0];
    let s = p.sessions(1, WAIT).await[0].clone();
    p.stop().await;
    let ch = channel_for(&s, "RETR");
    assert_eq!(ch.bytes_to_client, len as u64);
    let lived = (ch.end.unwrap().0 - ch.first_byte.unwrap().0) as f64 / 1e9;
    // The proxy's first byte to the client's close is curl's first byte to its
    // end (which also waits for the 226), within scheduling noise.
    assert!(
        (lived - curl_lived).abs() < 0.5,
        "first byte to the client's close: {lived} s, curl's own: {curl_lived} s"
    );
    if curl_lived >= 3.0 {
        let note = ch
            .notes
            .iter()
            .find(|n| {
                n.en.starts_with("client leg: the client closed this data connection")
            })
            .unwrap_or_else(|| panic!("no client-leg note: {:?}", ch.notes));
        assert!(note.en.contains("the transfer took"), "{note}");
    } else {
        eprintln!(
            "curl's limiter let the bytes through in {curl_lived} s: the slow-reader note is not checked"
        );
    }
    // A fast download gets no such note.
    let s = {
        let p = proxy(config(srv.addr)).await;
        let s = download(&srv, &p, &[], "fast.bin", 1 << 20, "EPSV").await;
        p.stop().await;
        s
    };
    assert!(
        !channel_for(&s, "RETR")
            .notes
            .iter()
            .any(|n| n.en.starts_with("client leg:")),
        "{:?}",
        channel_for(&s, "RETR").notes
    );
}
