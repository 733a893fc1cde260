//! End to end, live mode: the real binary's `ftpscope proxy` on a terminal (a
//! tmux pane) in front of a real FTP server (libunftp in this test process),
//! with curl as the client. The sessions curl makes appear in the live TUI as
//! they happen; the TUI opens one, shows its transcript, and gives the terminal
//! back on q.
//!
//! Skipped with a message without tmux or curl, unless `CI` is set.

mod proxy_support;

#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;

use proxy_support::*;
use tmux::{Tmux, tmux_available};

/// The port in the live view's title, `proxy 127.0.0.1:PORT -> ...`: the proxy
/// listens on `127.0.0.1:0`, the system chooses the port.
fn title_port(screen: &str) -> Option<u16> {
    let rest = &screen[screen.find("proxy 127.0.0.1:")? + "proxy 127.0.0.1:".len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok().filter(|p| *p != 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_sessions_appear_live_in_the_tui() {
    if !tmux_available() {
        assert!(!in_ci(), "tmux is required for this test in CI");
        eprintln!("SKIPPED proxy_sessions_appear_live_in_the_tui: tmux is not installed");
        return;
    }
    if !require_curl("proxy_sessions_appear_live_in_the_tui") {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("live.bin"), 300_000);
    let bin = env!("CARGO_BIN_EXE_ftpscope");
    let script = format!(
        "'{bin}' proxy --listen 127.0.0.1:0 --upstream {}; echo \"EXIT:$?\"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 60",
        srv.addr
    );
    let t = Tmux::new("proxy-live");
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "30",
        "env",
        "TERM=xterm-256color",
        "sh",
        "-c",
        &script,
    ]);
    let wait = |what: &'static str, ok: fn(&str) -> bool| {
        let t = &t;
        async move {
            let t = t;
            tokio::task::block_in_place(|| t.wait(what, ok))
        }
    };
    let s = wait("the live view", |s| {
        s.contains("LIVE") && s.contains("1 Sessions (0)") && title_port(s).is_some()
    })
    .await;
    let port = title_port(&s).expect("the port in the title");
    let out = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let dst = out.path().join(format!("got-{i}.bin"));
        let o = curl(&[
            "-o",
            &dst.to_string_lossy(),
            &format!("ftp://127.0.0.1:{port}/live.bin"),
        ])
        .await;
        assert_ok(&o, "download through the proxy");
        assert_eq!(sha256(&dst), sha256(&srv.root.path().join("live.bin")));
    }
    // One condition, waited for: capture-pane may catch a frame half drawn.
    let s = wait("three sessions listed, following the newest", |s| {
        s.contains("1 Sessions (3)") && s.contains(USER) && s.contains("following")
    })
    .await;
    assert!(!s.contains(PASS), "the password is masked:\n{s}");
    t.keys(&["Enter"]);
    wait("the transcript, following its end", |s| {
        s.contains("Transcript") && s.contains("C> QUIT")
    })
    .await;
    eprintln!("the open session, following:\n{}", t.screen());
    t.keys(&["g"]);
    // Wait for the whole condition: capture-pane may catch a frame half drawn.
    let s = wait("the transcript's top, PASS masked", |s| {
        s.contains("C> USER tester") && s.contains("C> PASS ****")
    })
    .await;
    assert!(!s.contains(PASS), "the password never shows:\n{s}");
    // A fourth session arrives while the first is open; the list shows it after Esc.
    let dst = out.path().join("got-4.bin");
    let o = curl(&[
        "-o",
        &dst.to_string_lossy(),
        &format!("ftp://127.0.0.1:{port}/live.bin"),
    ])
    .await;
    assert_ok(&o, "fourth download");
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.keys(&["Escape"]);
    // The list itself, not the session view (whose tab row also says "Sessions (4)"):
    // a `q` sent while Esc is still pending would read as Alt-q.
    wait("four sessions listed", |s| {
        s.contains("1 Sessions (4)") && !s.contains("Transcript")
    })
    .await;
    t.keys(&["q"]);
    let s = wait("exit", |s| s.contains("EXIT:") && s.contains("echo")).await;
    assert!(s.contains("EXIT:0"), "exit status 0:\n{s}");
    assert!(
        s.contains("icanon echo") || s.contains("echo icanon"),
        "terminal back in cooked mode:\n{s}"
    );
    // Once the terminal is back: what was kept (nothing, and how to keep it).
    assert!(
        s.contains("ftpscope proxy: stopped; nothing was saved (--record"),
        "{s}"
    );
}

/// With `--record`, `x` in the proxy's TUI writes the open session's packets
/// from the record, and on exit the proxy says where the record and the
/// exported file are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_tui_exports_from_its_record_and_says_what_it_saved() {
    let test = "proxy_tui_exports_from_its_record_and_says_what_it_saved";
    if !tmux_available() {
        assert!(!in_ci(), "tmux is required for this test in CI");
        eprintln!("SKIPPED {test}: tmux is not installed");
        return;
    }
    if !require_curl(test) {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("live.bin"), 100_000);
    let bin = env!("CARGO_BIN_EXE_ftpscope");
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "cd '{}' && '{bin}' proxy --listen 127.0.0.1:0 --upstream {} --record rec.pcapng; echo \"EXIT:$?\"; sleep 60",
        dir.path().display(),
        srv.addr
    );
    let t = Tmux::new("proxy-export");
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "80",
        "-y",
        "24",
        "env",
        "TERM=xterm-256color",
        "sh",
        "-c",
        &script,
    ]);
    let wait = |what: &'static str, ok: fn(&str) -> bool| {
        let t = &t;
        async move {
            let t = t;
            tokio::task::block_in_place(|| t.wait(what, ok))
        }
    };
    let s = wait("the live view", |s| {
        s.contains("LIVE") && title_port(s).is_some()
    })
    .await;
    let port = title_port(&s).expect("the port in the title");
    let dst = dir.path().join("got.bin");
    let o = curl(&[
        "-o",
        &dst.to_string_lossy(),
        &format!("ftp://127.0.0.1:{port}/live.bin"),
    ])
    .await;
    assert_ok(&o, "download through the proxy");
    wait("one session listed", |s| {
        s.contains("1 Sessions (1)") && s.contains(USER)
    })
    .await;
    // Ended, not only listed (the live list shows open sessions too).
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.keys(&["x"]);
    let s = wait("the export said", |s| s.contains("packets of session 1")).await;
    eprintln!("after x:\n{s}");
    let out = dir.path().join("ftpscope-session-1.pcapng");
    let c = ftpscope::engine::analyze_file(&out, ftpscope::session::TrackerConfig::default())
        .expect("the exported file reads back");
    assert_eq!(c.sessions.len(), 1, "one session in the export");
    assert_eq!(
        c.sessions[0].data_channels.len(),
        1,
        "with its data connection"
    );
    assert_eq!(c.sessions[0].data_bytes(), 100_000);
    t.keys(&["q"]);
    let s = wait("exit", |s| s.contains("EXIT:")).await;
    assert!(s.contains("EXIT:0"), "{s}");
    // The terminal wraps the line at 80 columns.
    let s = s.replace('\n', "");
    assert!(s.contains("packets recorded in rec.pcapng"), "{s}");
    assert!(
        s.contains("written from the UI: ./ftpscope-session-1.pcapng"),
        "{s}"
    );
}

/// Faults armed from keys in the proxy's TUI (issue 14): `R` refuses the next
/// data connection, `A` asks for a code and answers the next command with it,
/// `C` disarms; each armed fault is in the status row until it fires, and the
/// transcript carries the proxy's note where it fired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_armed_from_keys_and_marked_when_they_fire() {
    let test = "faults_are_armed_from_keys_and_marked_when_they_fire";
    if !tmux_available() {
        assert!(!in_ci(), "tmux is required for this test in CI");
        eprintln!("SKIPPED {test}: tmux is not installed");
        return;
    }
    if !require_curl(test) {
        return;
    }
    let srv = server().await;
    make_file(&srv.root.path().join("f.bin"), 10_000);
    let bin = env!("CARGO_BIN_EXE_ftpscope");
    let script = format!(
        "'{bin}' proxy --listen 127.0.0.1:0 --upstream {}; echo \"EXIT:$?\"; sleep 60",
        srv.addr
    );
    let t = Tmux::new("proxy-faults");
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "48",
        "env",
        "TERM=xterm-256color",
        "sh",
        "-c",
        &script,
    ]);
    let wait = |what: &'static str, ok: fn(&str) -> bool| {
        let t = &t;
        async move {
            let t = t;
            tokio::task::block_in_place(|| t.wait(what, ok))
        }
    };
    let s = wait("the live view", |s| {
        s.contains("LIVE") && title_port(s).is_some()
    })
    .await;
    let port = title_port(&s).expect("the port in the title");
    let url = format!("ftp://127.0.0.1:{port}/f.bin");
    t.keys(&["R"]);
    let s = wait("the refusal armed, in the status row", |s| {
        s.contains("FAULTS: refuse 1 data conn")
    })
    .await;
    eprintln!("armed:\n{s}");
    // PASV (curl retries a refused EPSV connection with PASV, which the one
    // refusal armed would let through).
    let o = curl(&["--disable-epsv", "-o", "/dev/null", &url]).await;
    assert!(
        !o.status.success(),
        "the transfer fails: its data connection is refused"
    );
    wait("the refusal fired: no fault armed any more", |s| {
        s.contains("1 Sessions (1)") && !s.contains("FAULTS")
    })
    .await;
    t.keys(&["Enter"]);
    let s = wait("the note where it fired", |s| {
        s.contains("fault injected: the proxy closed its listening port")
    })
    .await;
    eprintln!("fired:\n{s}");
    t.keys(&["Escape"]);
    wait("the list", |s| !s.contains("Transcript")).await;
    // A code for the next command: a bad one is refused in the prompt.
    t.keys(&["A", "9", "9", "9"]);
    wait("the code refused", |s| {
        s.contains("a reply code from 100 to 599")
    })
    .await;
    t.keys(&["BSpace", "BSpace", "BSpace", "4", "2", "1", "Enter"]);
    wait("the reply armed", |s| {
        s.contains("FAULTS: answer next command 421")
    })
    .await;
    let o = curl(&["-o", "/dev/null", &url]).await;
    assert!(!o.status.success(), "curl's first command is answered 421");
    wait("it fired", |s| {
        s.contains("1 Sessions (2)") && !s.contains("FAULTS")
    })
    .await;
    t.keys(&["j", "Enter"]);
    let s = wait("the note on the command", |s| {
        s.contains("the proxy answered 421 (armed from the TUI)")
    })
    .await;
    eprintln!("reply fired:\n{s}");
    t.keys(&["Escape"]);
    wait("the list", |s| !s.contains("Transcript")).await;
    // Arm two, then clear them.
    t.keys(&["D", "L", "5", "0", "0", "m", "s", "Enter"]);
    wait("two armed", |s| {
        s.contains("drop 1 data conn") && s.contains("delay replies 500 ms")
    })
    .await;
    t.keys(&["C"]);
    wait("disarmed", |s| {
        s.contains("every fault disarmed") && !s.contains("FAULTS")
    })
    .await;
    let o = curl(&["-o", "/dev/null", &url]).await;
    assert_ok(&o, "a transfer with nothing armed");
    t.keys(&["q"]);
    let s = wait("exit", |s| s.contains("EXIT:")).await;
    assert!(s.contains("EXIT:0"), "{s}");
}

/// The Duration column of the live list's row for `user`'s session (`2.75 s`,
/// `< 1 µs`): the two words after the start time.
fn listed_duration(screen: &str, user: &str) -> Option<String> {
    let row = screen
        .lines()
        .find(|l| l.contains(user) && l.contains("127.0.0.1:"))?;
    let words: Vec<&str> = row.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.len() == 8 && w.matches(':').count() == 2)?;
    Some(words.get(at + 1..at + 3)?.join(" "))
}

/// Issue 17: a download in progress shows as running in the proxy's TUI. curl
/// downloads 3 MB at 400 KB/s through the proxy; mid-transfer the Data tab has
/// its connection `open` with bytes moved (before: `not-attempted`), the
/// session's duration grows between two looks (before: `< 1 µs`) and the
/// transcript's data line says `open`; once curl is done, `completed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_download_shows_open_with_its_bytes_then_completed() {
    let test = "a_running_download_shows_open_with_its_bytes_then_completed";
    if !tmux_available() {
        assert!(!in_ci(), "tmux is required for this test in CI");
        eprintln!("SKIPPED {test}: tmux is not installed");
        return;
    }
    if !require_python(test) {
        return;
    }
    let srv = server().await;
    // 8 s at the client's 1 MB/s (with curl's --limit-rate and 3 MB, one CI run
    // saw the whole file arrive in 18 ms, then curl's pauses).
    let len = 8_000_000;
    make_file(&srv.root.path().join("slow.bin"), len);
    let bin = env!("CARGO_BIN_EXE_ftpscope");
    let script = format!(
        "'{bin}' proxy --listen 127.0.0.1:0 --upstream {}; echo \"EXIT:$?\"; sleep 60",
        srv.addr
    );
    let t = Tmux::new("proxy-running");
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "140",
        "-y",
        "30",
        "env",
        "TERM=xterm-256color",
        "sh",
        "-c",
        &script,
    ]);
    let wait = |what: &'static str, ok: fn(&str) -> bool| {
        let t = &t;
        async move {
            let t = t;
            tokio::task::block_in_place(|| t.wait(what, ok))
        }
    };
    let s = wait("the live view", |s| {
        s.contains("LIVE") && title_port(s).is_some()
    })
    .await;
    let port = title_port(&s).expect("the port in the title");
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("slow.bin");
    // ftplib reading at most 1 MB/s (curl's --limit-rate once let a whole
    // download through at once on a loaded machine).
    let proxy_addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = slow_ftplib_download(proxy_addr, "slow.bin", &dst, 1_000_000, true)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let running = |c: &mut tokio::process::Child, what: &str| {
        let done = c.try_wait().expect("try_wait");
        assert!(
            done.is_none(),
            "the client still downloads at {what}: it ended ({done:?}; 8 MB at 1 MB/s takes 8 s)"
        );
    };
    t.keys(&["2"]);
    let s = wait("the transfer open in the Data tab, bytes moved", |s| {
        s.lines()
            .any(|l| l.starts_with("open ") && l.contains("RETR slow.bin") && !l.contains(" 0 B "))
    })
    .await;
    running(&mut child, "the Data tab");
    eprintln!("Data tab, mid-transfer:\n{s}");
    assert!(!s.contains("not-attempted"), "{s}");
    t.keys(&["1"]);
    let s = wait("the session listed, lasting", |s| {
        listed_duration(s, USER).is_some_and(|d| d.ends_with(" s") || d.ends_with(" ms"))
    })
    .await;
    let before = listed_duration(&s, USER).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let s = t.screen();
    let after = listed_duration(&s, USER).expect("the session's row");
    running(&mut child, "the second look at the list");
    eprintln!("the list, {before} then:\n{s}");
    assert_ne!(before, after, "the open session's duration grows:\n{s}");
    t.keys(&["Enter"]);
    let s = wait("the transcript's data line, open", |s| {
        s.contains("open for RETR slow.bin")
    })
    .await;
    running(&mut child, "the transcript");
    eprintln!("the session, mid-transfer:\n{s}");
    let o = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client ends in time")
        .expect("python3");
    assert_ok(&o, "slow download through the proxy");
    assert_eq!(sha256(&dst), sha256(&srv.root.path().join("slow.bin")));
    let s = wait("the transcript's data line, completed", |s| {
        s.contains("completed for RETR slow.bin") && s.contains("closed quit")
    })
    .await;
    eprintln!("the session, ended:\n{s}");
    t.keys(&["Escape"]);
    wait("the list", |s| !s.contains("Transcript")).await;
    t.keys(&["2"]);
    wait("the Data tab: completed", |s| {
        s.lines()
            .any(|l| l.starts_with("completed ") && l.contains("RETR slow.bin"))
    })
    .await;
    t.keys(&["q"]);
    let s = wait("exit", |s| s.contains("EXIT:")).await;
    assert!(s.contains("EXIT:0"), "{s}");
}
