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
//!   reaches the terminal.
//! * A frame costs the same for ten sessions or a hundred thousand: rows are
//!   prepared by `update` when their inputs change; `render` draws the visible
//!   ones only.
//! * The terminal is restored on exit, on error, on panic and on Ctrl-C.
//!
//! The event loop is synchronous: crossterm's `poll` with a short timeout, then
//! the source is drained without blocking (a channel's `try_recv` for a file
//! being analysed, `snapshot()` for a live source). The analysis and any live
//! source run on their own threads and never wait on drawing.

pub mod app;
pub mod filter;
pub mod keymap;
pub mod layout;
pub mod lines;
pub mod render;
mod term;
pub mod theme;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::crossterm::event;

pub use app::{Action, App, Effect, Options, View, handle_event, update};
pub use render::render;

use crate::engine::{self, EngineError};
use crate::model::Capture;
use crate::session::TrackerConfig;

/// How long the loop waits for a key before looking at the source again.
const TICK: Duration = Duration::from_millis(100);

/// A model that changes while the UI shows it (a live capture, the proxy).
pub trait LiveSource: Send + Sync {
    /// The model as it is now. Called about ten times a second; it must not block
    /// for long (copy what you have, do not wait for more).
    fn snapshot(&self) -> Capture;
    /// One line about the source (interface, listener, counters), shown in the title row.
    fn status(&self) -> String;
}

enum Msg {
    Progress(u64, u64),
    Done(Result<Capture, EngineError>),
}

/// Open the TUI on a capture file: analyse it on a background thread (with a
/// progress gauge), then browse it.
pub fn run_file(path: &Path, cfg: TrackerConfig) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let opts = Options {
        lang: cfg.lang,
        ..Options::default()
    };
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("ftpscope-analyze".into())
        .spawn(move || {
            let progress_tx = tx.clone();
            let mut progress = |bytes, packets| {
                let _ = progress_tx.send(Msg::Progress(bytes, packets));
            };
            let input = BufReader::with_capacity(1 << 20, file);
            let result = engine::analyze_reader(input, cfg, Some(&mut progress));
            let _ = tx.send(Msg::Done(result));
        })
        .context("cannot start the analysis thread")?;
    let mut app = App::loading(path.display().to_string(), total, opts);
    let name = path.display().to_string();
    // If the user quits before the analysis ends, the thread is left to finish
    // on its own; its sends fail quietly once the receiver is gone.
    event_loop(&mut app, |app| {
        let mut changed = false;
        loop {
            match rx.try_recv() {
                Ok(Msg::Progress(bytes, packets)) => {
                    update(app, Action::Progress { bytes, packets });
                    changed = true;
                }
                Ok(Msg::Done(Ok(capture))) => {
                    update(app, Action::Loaded(Box::new(capture)));
                    changed = true;
                }
                Ok(Msg::Done(Err(e))) => {
                    return Err(anyhow::Error::new(e).context(format!("cannot analyse {name}")));
                }
                Err(TryRecvError::Empty) => return Ok(changed),
                Err(TryRecvError::Disconnected) => {
                    if app.is_loading() {
                        anyhow::bail!("the analysis of {name} stopped unexpectedly");
                    }
                    return Ok(changed);
                }
            }
        }
    })
}

/// Live mode: the UI takes a `snapshot()` about ten times a second (unless the
/// user froze it with `F`), follows the newest session and line unless the user
/// scrolled away, and never waits on the source.
pub fn run_live(title: String, source: Arc<dyn LiveSource>) -> anyhow::Result<()> {
    let opts = Options {
        live: true,
        ..Options::default()
    };
    let mut app = App::new(source.snapshot(), title, opts);
    update(&mut app, Action::Status(source.status()));
    let mut last = Instant::now();
    let mut interval = TICK;
    event_loop(&mut app, |app| {
        if last.elapsed() < interval {
            return Ok(false);
        }
        let start = Instant::now();
        if !app.frozen() {
            update(app, Action::Snapshot(Box::new(source.snapshot())));
        }
        update(app, Action::Status(source.status()));
        // A big model is expensive to copy and index: take snapshots less
        // often rather than let them eat the time keys need (at most a third
        // of the time goes to snapshots).
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
    mut pump: impl FnMut(&mut App) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
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
                other => app::perform(app, &other, Path::new(".")),
            }
            dirty = true;
        }
        if app.should_quit() {
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
        if event::poll(wait)? {
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
    Ok(())
}
