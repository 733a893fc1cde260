//! Stopping on Ctrl-C (SIGINT) and SIGTERM, one way for every command that runs
//! until stopped (`live` writing a log, `proxy` without the TUI), with signal-hook:
//! the first signal asks the command to stop (it finishes what it holds, writes
//! everything and exits normally); a second one exits at once with status 130.
//! The TUI restores the terminal on the same signals (and SIGHUP) with
//! signal-hook's flags (`tui::term`).

use std::io;
use std::thread::JoinHandle;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// Status of an exit forced by a second signal (128 + SIGINT, as shells report it).
pub const FORCED_EXIT: i32 = 130;

/// The watcher: handlers are registered when [`install`](Self::install)
/// returns; dropping it unregisters them and ends its thread.
pub struct StopOnSignal {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl StopOnSignal {
    /// Call `on_stop` (on the watcher's thread) at the first SIGINT or SIGTERM;
    /// exit the process with [`FORCED_EXIT`] at the second.
    pub fn install(on_stop: impl FnOnce() + Send + 'static) -> io::Result<StopOnSignal> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("ftpscope-signals".into())
            .spawn(move || {
                let mut on_stop = Some(on_stop);
                for _ in signals.forever() {
                    match on_stop.take() {
                        Some(f) => f(),
                        None => std::process::exit(FORCED_EXIT),
                    }
                }
            })?;
        Ok(StopOnSignal {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for StopOnSignal {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn the_first_signal_asks_to_stop() {
        let (tx, rx) = mpsc::channel();
        let guard = StopOnSignal::install(move || {
            let _ = tx.send(());
        })
        .expect("handlers");
        signal_hook::low_level::raise(SIGTERM).expect("raise");
        rx.recv_timeout(Duration::from_secs(5))
            .expect("on_stop ran at the first signal");
        // Dropping the guard ends its thread (no hang).
        drop(guard);
    }

    /// Run in a child process (this test binary again): SIGINT then SIGTERM.
    #[test]
    fn a_second_signal_exits_with_130() {
        const NAME: &str = "signals::tests::a_second_signal_exits_with_130";
        if std::env::var_os("FTPSCOPE_SIGNALS_CHILD").is_some() {
            let _g = StopOnSignal::install(|| eprintln!("first signal")).expect("handlers");
            signal_hook::low_level::raise(SIGINT).expect("raise");
            std::thread::sleep(Duration::from_millis(200));
            signal_hook::low_level::raise(SIGTERM).expect("raise");
            std::thread::sleep(Duration::from_secs(10));
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env("FTPSCOPE_SIGNALS_CHILD", "1")
            .output()
            .expect("the child runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(FORCED_EXIT), "{err}");
        assert!(
            err.contains("first signal"),
            "the first signal asked to stop: {err}"
        );
    }
}
