//! The real terminal: raw mode, alternate screen, mouse capture, and putting all
//! of that back on every way out (normal exit, error, panic, SIGTERM, SIGHUP).
//! Ctrl-C arrives as a key in raw mode and quits through the normal path; SIGTERM
//! and SIGHUP set a flag the event loop reads, so they quit through it too.

use std::io::{self, Stdout, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// The terminal is in raw mode / the alternate screen and must be restored.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Restore the terminal if the UI had taken it; safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    }
}

/// Restore the terminal before the panic message is printed, so it is readable
/// and the shell is usable afterwards.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// Owns the terminal while the UI runs; restores it when dropped.
pub struct Term {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
    /// Set by SIGTERM, SIGHUP (and SIGINT, should it arrive as a signal).
    stop: Arc<AtomicBool>,
    signals: Vec<signal_hook::SigId>,
    /// Standard output was a terminal when the UI started (see [`Term::gone`]).
    tty: bool,
    /// The input terminal hung up (seen by [`Term::wait_input`]).
    hung_up: bool,
    /// Cleared when the UI ends; the watchdog thread stops then.
    running: Arc<AtomicBool>,
}

/// A safety net for a hang-up that lands while crossterm is decoding input (its
/// read loop then never returns, see [`Term::wait_input`]): when the terminal
/// has been gone for this long and the UI is still running, the process exits
/// with 129 (as SIGHUP would have it).
const GONE_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

fn watchdog(running: Arc<AtomicBool>) {
    let mut gone_since: Option<std::time::Instant> = None;
    while running.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(250));
        if rustix::termios::tcgetattr(stdout()).is_ok() {
            gone_since = None;
            continue;
        }
        let since = *gone_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= GONE_GRACE && running.load(Ordering::SeqCst) {
            std::process::exit(129);
        }
    }
}

impl Term {
    pub fn enter() -> io::Result<Term> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture) {
            restore();
            return Err(e);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut signals = Vec::new();
        #[cfg(unix)]
        for sig in [
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGINT,
        ] {
            if let Ok(id) = signal_hook::flag::register(sig, stop.clone()) {
                signals.push(id);
            }
        }
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => {
                let tty = rustix::termios::isatty(stdout());
                let running = Arc::new(AtomicBool::new(true));
                if tty {
                    let r = running.clone();
                    let _ = std::thread::Builder::new()
                        .name("ftpscope-tty-watchdog".into())
                        .spawn(move || watchdog(r));
                }
                Ok(Term {
                    terminal,
                    stop,
                    signals,
                    tty,
                    hung_up: false,
                    running,
                })
            }
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// A signal asked the UI to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The terminal went away (its window closed, the tmux server killed, the
    /// SSH connection dropped): a hung-up terminal answers every request with an
    /// error, reads give end of file, and no SIGHUP need arrive. Without this check
    /// the UI would go on polling a dead terminal at full speed, forever.
    pub fn gone(&self) -> bool {
        self.hung_up || (self.tty && rustix::termios::tcgetattr(stdout()).is_err())
    }

    /// Wait up to `timeout` for input on the terminal, without crossterm: once a
    /// terminal has hung up, crossterm's own poll reads end-of-file in a loop and
    /// never returns. Returns whether input may be waiting; a hang-up is noted for
    /// [`Term::gone`]. When standard input is not the terminal (crossterm then
    /// reads /dev/tty) this only sleeps.
    pub fn wait_input(&mut self, timeout: std::time::Duration) -> io::Result<bool> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let stdin = io::stdin();
        if !rustix::termios::isatty(&stdin) {
            std::thread::sleep(timeout.min(std::time::Duration::from_millis(10)));
            return Ok(true);
        }
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        let ts = Timespec::try_from(timeout).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        });
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => Ok(false),
            Ok(_) => {
                let r = fds[0].revents();
                if r.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
                    self.hung_up = true;
                    return Ok(false);
                }
                Ok(r.contains(PollFlags::IN))
            }
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub fn set_mouse(&mut self, on: bool) -> io::Result<()> {
        if on {
            execute!(stdout(), EnableMouseCapture)
        } else {
            execute!(stdout(), DisableMouseCapture)
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        restore();
        for id in self.signals.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
