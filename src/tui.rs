//! The terminal UI: browse a capture's sessions, transcripts, data connections
//! and findings, from a file ([`run_file`]) or a live source ([`run_live`]).
//!
//! Layout of the module (state, update and view apart, as trippy and the ratatui
//! templates do it):
//!
//! * [`app`]: [`App`], the whole UI state with a snapshot of the model, and
//!   [`update`], the one function that changes it. No I/O: side effects are
//!   queued as [`Effect`]s.
//! * [`keymap`]: the key table. Keys map to commands through it, and the help
//!   overlay and the hint line are generated from it.
//! * [`render`]: one function per region, each reading `&App`.
//! * [`layout`]: where the regions go; shared by `render` and by `update` (page
//!   sizes, mouse hit-testing).
//! * [`lines`]: a session turned into wrapped, styled rows (transcript, findings).
//! * [`filter`]: the session filter language.
//! * [`theme`]: styles; 16 colours, none with `NO_COLOR`.
//!
//! Invariants:
//! * Every string from the wire is escaped ([`crate::text::escape`]) before it
//!   reaches the terminal; a frame is then scrubbed ([`render::scrub`]) so a
//!   character that must be escaped never reaches the terminal even if a row forgot.
//! * A frame costs the same for ten sessions or a hundred thousand: rows are
//!   prepared by `update` when their inputs change; `render` draws the visible
//!   ones only.
//! * The terminal is restored on exit, on error, on panic, on Ctrl-C and on
//!   SIGTERM/SIGHUP (they quit through the event loop).
//!
//! The event loop is synchronous: crossterm's `poll` with a short timeout, then
//! the source is drained without blocking (a channel's `try_recv` for a file
//! being analysed, `snapshot()` for a live source). The analysis and any live
//! source run on their own threads and never wait on drawing.

pub mod app;
pub mod export;
pub mod filter;
pub mod keymap;
pub mod layout;
pub mod lines;
pub mod render;
mod term;
pub mod theme;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::crossterm::event;

/// The live update API lives in the engine; the UI consumes it.
pub use crate::engine::{LiveSource, LiveUpdate, ended_since};
pub use app::{Action, App, Effect, Options, View, handle_event, update};
pub use render::render;

use crate::engine::{self, EngineError};
use crate::model::{Capture, CaptureStats, Finding, Session};
use crate::session::TrackerConfig;

/// How long the loop waits for a key before looking at the source again.
const TICK: Duration = Duration::from_millis(100);

enum Msg {
    Progress(u64, u64, Duration),
    Sessions(Vec<Session>),
    Done(Box<Result<(CaptureStats, Vec<Finding>), EngineError>>),
}

/// How often the analysis thread hands over the sessions that ended.
const BATCH_EVERY: Duration = Duration::from_millis(100);

/// Sessions that ended since the last hand-over, sent at most every
/// [`BATCH_EVERY`] so the UI rebuilds its lists a few times a second, not
/// once per session.
struct Batch {
    tx: mpsc::Sender<Msg>,
    sessions: Vec<Session>,
    sent: Instant,
}

impl Batch {
    fn flush(&mut self, force: bool) {
        if !self.sessions.is_empty() && (force || self.sent.elapsed() >= BATCH_EVERY) {
            let _ = self
                .tx
                .send(Msg::Sessions(std::mem::take(&mut self.sessions)));
            self.sent = Instant::now();
        }
    }
}

/// Open the TUI on a capture file. The file is analysed on a background thread;
/// sessions are listed as they end, under a progress gauge, and can be browsed
/// before the whole file has been read.
pub fn run_file(
    path: &Path,
    cfg: TrackerConfig,
    lang: crate::ftp::catalog::Lang,
) -> anyhow::Result<()> {
    run_files(
        &[path.to_path_buf()],
        false,
        cfg,
        Options {
            lang,
            ..Options::default()
        },
    )
    .map(|_| ())
}

/// [`run_file`] over several captures, merged in time order as `report` merges
/// them (without a progress gauge: the merge reads every file at once).
/// Returns the files written from the UI (`w`, `W`, `x`).
pub fn run_files(
    paths: &[std::path::PathBuf],
    strict: bool,
    cfg: TrackerConfig,
    opts: Options,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let (input, total) = match paths {
        [path] => {
            // A file or standard input (`-`), gzip-compressed or not. The progress
            // bar counts bytes read against the size on disk: unknown (0) for a
            // pipe, and for a compressed file, whose read offset counts
            // uncompressed bytes.
            let input = crate::capture::input::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let total = match input.compression {
                crate::capture::input::Compression::None => input.size.unwrap_or(0),
                crate::capture::input::Compression::Gzip => 0,
            };
            (Some(input.reader), total)
        }
        _ => (None, 0),
    };
    let many = paths.to_vec();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("ftpscope-analyze".into())
        .spawn(move || {
            let started = Instant::now();
            let batch = RefCell::new(Batch {
                tx: tx.clone(),
                sessions: Vec::new(),
                sent: started,
            });
            let mut progress = |bytes, packets| {
                let _ = tx.send(Msg::Progress(bytes, packets, started.elapsed()));
                batch.borrow_mut().flush(false);
            };
            let mut on_session = |s: Session| {
                let mut b = batch.borrow_mut();
                b.sessions.push(s);
                b.flush(false);
            };
            let result = match input {
                Some(input) => {
                    engine::stream_reader(input, cfg, Some(&mut progress), &mut on_session)
                }
                None => engine::stream_files(&many, strict, cfg, &mut on_session),
            };
            batch.borrow_mut().flush(true);
            let _ = tx.send(Msg::Done(Box::new(result)));
        })
        .context("cannot start the analysis thread")?;
    let name = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut app = App::loading(name.clone(), total, opts);
    let mut last = Instant::now() - TICK;
    let mut interval = TICK;
    // If the user quits before the analysis ends, the thread is left to finish
    // on its own; its sends fail quietly once the receiver is gone.
    event_loop(&mut app, None, |app| {
        if !app.is_loading() {
            return Ok(false);
        }
        // Rebuilding the lists costs time proportional to the sessions held:
        // take new sessions less often as they grow, so keys keep most of the time.
        if last.elapsed() < interval {
            return Ok(false);
        }
        let start = Instant::now();
        let mut changed = false;
        let mut new = Vec::new();
        let mut done = None;
        loop {
            match rx.try_recv() {
                Ok(Msg::Progress(bytes, packets, elapsed)) => {
                    update(
                        app,
                        Action::Progress {
                            bytes,
                            packets,
                            elapsed,
                        },
                    );
                    changed = true;
                }
                Ok(Msg::Sessions(mut s)) => new.append(&mut s),
                Ok(Msg::Done(r)) => {
                    done = Some(*r);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    anyhow::bail!("the analysis of {name} stopped unexpectedly");
                }
            }
        }
        if !new.is_empty() {
            update(app, Action::Append(new));
            changed = true;
        }
        match done {
            Some(Ok((stats, findings))) => {
                update(
                    app,
                    Action::Done {
                        stats: Box::new(stats),
                        findings,
                    },
                );
                changed = true;
            }
            Some(Err(e)) => {
                return Err(anyhow::Error::new(e).context(format!("cannot analyse {name}")));
            }
            None => {}
        }
        last = Instant::now();
        interval = TICK.max(start.elapsed() * 3);
        Ok(changed)
    })
}

/// Live mode: about ten times a second (unless the user froze it with `F`) the
/// UI asks the source what changed since its last look, follows the newest
/// session and line unless the user scrolled away, and never waits on the source.
/// Returns the files written from the UI (`w`, `W`, `x`).
pub fn run_live(
    title: String,
    source: Arc<dyn LiveSource>,
    opts: Options,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let opts = Options { live: true, ..opts };
    let mut app = App::new(Capture::default(), title, opts);
    let mut seen = 0u64;
    let mut last = Instant::now() - TICK;
    let mut interval = TICK;
    event_loop(&mut app, Some(&*source), |app| {
        if last.elapsed() < interval {
            return Ok(false);
        }
        let start = Instant::now();
        if !app.frozen() {
            let u = source.update(seen);
            seen = u.seen;
            update(app, Action::Live(Box::new(u)));
        }
        update(app, Action::Status(source.status()));
        update(app, Action::Armed(source.armed()));
        // Keep at most a third of the time for updates, the rest for keys.
        last = Instant::now();
        interval = TICK.max(start.elapsed() * 3);
        Ok(true)
    })
}

/// Take the terminal, then: pump the source, perform queued effects, draw if
/// anything changed, wait up to [`TICK`] for input and apply every event that is
/// already there. The terminal is restored when this returns, however it returns.
fn event_loop(
    app: &mut App,
    source: Option<&dyn LiveSource>,
    mut pump: impl FnMut(&mut App) -> anyhow::Result<bool>,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut term =
        term::Term::enter().context("cannot set up the terminal (is this a terminal?)")?;
    let size = term.terminal.size()?;
    update(app, Action::Resize(size.width, size.height));
    let mut dirty = true;
    loop {
        if pump(app)? {
            dirty = true;
        }
        for effect in app.take_effects() {
            match effect {
                Effect::Mouse(on) => term.set_mouse(on)?,
                Effect::Inject(f) => match source.map(|s| s.inject(&f)) {
                    Some(Ok(m)) => {
                        app.say(m);
                        if let Some(s) = source {
                            update(app, Action::Armed(s.armed()));
                        }
                    }
                    Some(Err(m)) => app.warn(m),
                    None => app.warn(crate::tr!(
                        "only the proxy can inject faults",
                        "只有代理可以注入故障"
                    )),
                },
                other => export::perform(app, &other, Path::new(".")),
            }
            dirty = true;
        }
        if app.should_quit() || term.stop_requested() || term.gone() {
            break;
        }
        if dirty {
            term.terminal.draw(|f| render(f, app))?;
            dirty = false;
        }
        // Deferred work (a filter over a large capture) goes a chunk at a time
        // while no key is waiting, so keys never wait for more than a chunk.
        let wait = if app.unsettled() {
            Duration::ZERO
        } else {
            TICK
        };
        // Wait on the terminal ourselves (see Term::wait_input), then let crossterm
        // decode what is there, and resizes (SIGWINCH), without blocking.
        let input = term.wait_input(wait)?;
        if term.gone() {
            break;
        }
        if (input || !app.unsettled()) && event::poll(Duration::ZERO)? {
            loop {
                let ev = event::read()?;
                dirty |= handle_event(app, &ev);
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        } else if app.unsettled() {
            update(app, Action::Settle);
            dirty = true;
        }
    }
    Ok(app.saved().to_vec())
}
