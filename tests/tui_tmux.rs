//! End to end: the real binary's `ftpscope tui CAPTURE` in a tmux pane, driven
//! with keys, read back with `capture-pane`. Checks that it draws, navigates,
//! quits with q and with Ctrl-C, and gives the terminal back (cooked mode, main
//! screen).
//!
//! Without tmux the test is skipped with a message, unless `CI` is set, where
//! it fails. `FTPSCOPE_BIN` may name another binary to drive (same arguments).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A private tmux server (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
        Tmux {
            socket: format!("ftpscope-test-{tag}-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Wait until the screen satisfies `ok`; fail with the screen after 15 s.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if s.contains("EXIT:") && !what.contains("exit") {
                panic!(
                    "ftpscope exited while waiting for {what} (is the `tui` subcommand wired in main.rs?):\n{s}"
                );
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

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
