//! End to end: the real binary's `ftpscope tui CAPTURE` in a tmux pane, driven
//! with keys, read back with `capture-pane`. Checks that it draws, navigates,
//! quits with q and with Ctrl-C, and gives the terminal back (cooked mode, main
//! screen).
//!
//! Without tmux the test is skipped with a message, unless `CI` is set, where
//! it fails. `FTPSCOPE_BIN` may name another binary to drive (same arguments).

use std::path::PathBuf;

#[path = "common/tmux.rs"]
mod tmux;
use tmux::{Tmux, tmux_available};

fn start(tag: &str, capture: &str) -> Option<Tmux> {
    if !tmux_available() {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is required for this test in CI");
        }
        eprintln!("skipping the tmux end-to-end test: tmux is not installed");
        return None;
    }
    let bin =
        std::env::var("FTPSCOPE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ftpscope").into());
    let capture: PathBuf = [env!("CARGO_MANIFEST_DIR"), "captures", capture]
        .iter()
        .collect();
    // After the UI exits: its exit code, and whether the terminal is back in
    // cooked mode (icanon, echo); then stay so the pane can be read.
    let script = format!(
        "'{bin}' tui '{}'; echo \"EXIT:$?\"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 60",
        capture.display()
    );
    let t = Tmux::new(tag);
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        "env",
        "TERM=xterm-256color",
        "sh",
        "-c",
        &script,
    ]);
    Some(t)
}

fn assert_restored(screen: &str) {
    assert!(screen.contains("EXIT:0"), "exit status 0:\n{screen}");
    assert!(
        screen.contains("icanon echo") || screen.contains("echo icanon"),
        "terminal back in cooked mode with echo:\n{screen}"
    );
    assert!(
        !screen.contains("Transcript") && !screen.contains("1 Sessions"),
        "the alternate screen was left:\n{screen}"
    );
}

#[test]
fn browse_and_quit_with_q() {
    let Some(t) = start("q", "passive-refused.pcap") else {
        return;
    };
    let s = t.wait("the session list", |s| {
        s.contains("1 Sessions") && s.contains("198.51.100.20")
    });
    assert!(s.contains("ftpscope"), "{s}");
    t.keys(&["Enter"]);
    t.wait("the transcript", |s| {
        s.contains("Transcript") && s.contains("C> USER")
    });
    // n goes to the finding and shows the exchange its evidence cites.
    t.keys(&["n"]);
    t.wait("the finding's exchange", |s| {
        s.contains("finding 1/") && s.contains("C> PASV")
    });
    t.keys(&["?"]);
    t.wait("the help", |s| s.contains("Keys (Esc closes"));
    t.keys(&["Escape"]);
    t.wait("help closed", |s| !s.contains("Keys (Esc closes"));
    t.keys(&["Escape"]);
    t.wait("back to the list", |s| !s.contains("Transcript"));
    t.keys(&["q"]);
    let s = t.wait("exit", |s| s.contains("EXIT:") && s.contains("echo"));
    assert_restored(&s);
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let Some(t) = start("c", "multi-session.pcap") else {
        return;
    };
    t.wait("the session list", |s| s.contains("10.1.0.2:"));
    t.keys(&["3"]);
    t.wait("the findings view", |s| s.contains("Findings by id"));
    t.keys(&["C-c"]);
    let s = t.wait("exit", |s| s.contains("EXIT:") && s.contains("echo"));
    assert_restored(&s);
}

/// The process running in the pane (the shell's child).
fn ui_pid(t: &Tmux) -> String {
    let out = t.run(&["list-panes", "-t", "t", "-F", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let start = std::time::Instant::now();
    loop {
        let o = std::process::Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("run pgrep");
        let pid = String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        if !pid.is_empty() {
            return pid;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no child of the pane's shell {shell}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// SIGTERM and SIGHUP quit through the event loop: the terminal is given back
/// and the exit status is 0 (the default action would leave it raw, status 143).
#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for (tag, sig) in [("term", "-TERM"), ("hup", "-HUP")] {
        let Some(t) = start(tag, "multi-session.pcap") else {
            return;
        };
        t.wait("the session list", |s| s.contains("10.1.0.2:"));
        let pid = ui_pid(&t);
        let o = std::process::Command::new("kill")
            .args([sig, &pid])
            .output()
            .expect("run kill");
        assert!(o.status.success(), "kill {sig} {pid}");
        let s = t.wait("exit", |s| s.contains("EXIT:") && s.contains("echo"));
        assert_restored(&s);
    }
}

/// When the terminal goes away (here the tmux server is killed, as when a
/// window closes or an SSH connection drops), the UI exits instead of polling a
/// dead terminal forever. Seen before the fix: orphaned UIs spinning at 38 % CPU
/// each, immune to SIGTERM.
#[test]
fn a_vanished_terminal_ends_the_ui() {
    let Some(t) = start("gone", "multi-session.pcap") else {
        return;
    };
    t.wait("the session list", |s| s.contains("10.1.0.2:"));
    let pid = ui_pid(&t);
    let _ = std::process::Command::new("tmux")
        .args(["-L", &t.socket, "kill-server"])
        .output();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    let start = std::time::Instant::now();
    while proc_dir.exists() {
        // A zombie waiting for its (also dead) parent counts as gone.
        let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        if state.contains(") Z") {
            break;
        }
        if start.elapsed() > std::time::Duration::from_secs(5) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid])
                .output();
            panic!("the UI ({pid}) is still running 5 s after its terminal went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `ftpscope tui --time relative A B` (issue 14): two captures merged in one UI
/// at 80x24, times counted from the first packet, the title shortened to the
/// files' names, whole parts only; `x` exports the selected session next to
/// where the UI runs, and the files written are named after it closes.
#[test]
fn several_captures_relative_time_and_export_at_80x24() {
    if !tmux_available() {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("skipping: tmux is not installed");
        return;
    }
    let bin =
        std::env::var("FTPSCOPE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ftpscope").into());
    let caps = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "cd '{}' && '{bin}' tui --time relative '{}' '{}'; echo \"EXIT:$?\"; sleep 60",
        dir.path().display(),
        caps.join("passive-refused.pcap").display(),
        caps.join("multi-session.pcap").display(),
    );
    let t = Tmux::new("several");
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
    let s = t.wait("five sessions", |s| s.contains("1 Sessions (5)"));
    let title = s.lines().next().unwrap_or("");
    assert!(
        title.contains("passive-refused.pcap + multi-session.pcap"),
        "{title:?}"
    );
    assert!(title.contains("findings"), "{title:?}");
    t.keys(&["Enter"]);
    let s = t.wait("the transcript in relative time", |s| s.contains("C> USER"));
    let user = s.lines().find(|l| l.contains("C> USER")).unwrap_or("");
    let time = user
        .trim_start_matches('│')
        .split("C>")
        .next()
        .unwrap_or("")
        .trim();
    assert!(
        time.parse::<f64>().is_ok_and(|t| (0.0..1e9).contains(&t)),
        "seconds since the first packet, not a clock: {user:?}\n{s}"
    );
    assert!(!s.contains("│20:24:"), "no clock times:\n{s}");
    t.keys(&["x"]);
    let s = t.wait("the export said", |s| s.contains("packets of session"));
    eprintln!("{s}");
    t.keys(&["q"]);
    let s = t.wait("exit", |s| s.contains("EXIT:")).replace('\n', "");
    assert!(s.contains("EXIT:0"), "{s}");
    assert!(
        s.contains("written from the UI: ./ftpscope-session-"),
        "{s}"
    );
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pcapng"))
        .collect();
    assert_eq!(written.len(), 1, "one export");
}
