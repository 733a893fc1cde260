//! The UI state and the one function that changes it.
//!
//! [`App`] holds a snapshot of the model and everything the user chose: view,
//! selection, scroll, filter, search, sort, follow mode. [`update`] applies an
//! [`Action`] (a key's [`Cmd`], typed text, the mouse, a resize, a new snapshot);
//! nothing else writes to an `App`. Rendering only reads it.
//!
//! Everything that grows with the capture (the filtered and sorted list of
//! sessions, the data-connection rows, the grouped findings, the wrapped rows of
//! the open session) is computed here when its inputs change, never per frame,
//! so that drawing costs the same for ten sessions and for a hundred thousand.
//!
//! Side effects (writing a file, switching mouse capture) are queued as
//! [`Effect`]s for the event loop, which keeps `update` free of I/O and testable
//! without a terminal.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::filter::{self, Filter};
use super::keymap::{self, Cmd, Ctx};
use super::layout::{self, Regions};
use super::lines::{self, Rows};
use super::theme::Theme;
use crate::ftp::catalog::Lang;
use crate::i18n::Tr;
use crate::model::{Capture, CaptureStats, Finding, Session, Severity};
use crate::time::TimeView;
use crate::tr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Sessions,
    Data,
    Findings,
    /// One session: findings pane and transcript.
    Session,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Findings,
    Transcript,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Time,
    Bytes,
    Findings,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Bytes => "bytes",
            SortKey::Findings => "findings",
        }
    }

    /// The key's name in `lang` (the status row and the "sorted by" message).
    pub fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, k) => k.as_str(),
            (Lang::Zh, SortKey::Time) => "时间",
            (Lang::Zh, SortKey::Bytes) => "字节数",
            (Lang::Zh, SortKey::Findings) => "发现",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MouseKind {
    ScrollUp,
    ScrollDown,
    Click,
}

/// Everything that can change the state.
#[derive(Clone, Debug)]
pub enum Action {
    Cmd(Cmd),
    /// A character typed into the open prompt.
    Input(char),
    Backspace,
    Resize(u16, u16),
    Mouse {
        kind: MouseKind,
        column: u16,
        row: u16,
    },
    /// A new model from a live source.
    Snapshot(Box<Capture>),
    /// What changed in a live source.
    Live(Box<LiveUpdate>),
    /// The live source's status line.
    Status(Tr),
    /// Live: the faults the source has armed ("" when none).
    Armed(Tr),
    /// Reading a file: bytes read so far, packets, and the time since the start.
    Progress {
        bytes: u64,
        packets: u64,
        elapsed: Duration,
    },
    /// Sessions of the file being read that have ended (they are listed at once).
    Append(Vec<Session>),
    /// The file has been read: its statistics and capture-wide findings (the
    /// sessions came with [`Action::Append`]).
    Done {
        stats: Box<CaptureStats>,
        findings: Vec<Finding>,
    },
    /// The file has been analysed: the whole model at once.
    Loaded(Box<Capture>),
    /// The event loop has handled every pending event: do deferred work (a
    /// filter typed into a large capture).
    Settle,
}

/// Above this many sessions, typing into the filter prompt does not re-filter
/// on every key: the filter runs [`FILTER_CHUNK`] sessions per
/// [`Action::Settle`], which the event loop sends while no key is waiting. The
/// list changes when the whole capture has been filtered; keys are never kept
/// waiting longer than one chunk.
pub const DEFER_FILTER_ABOVE: usize = 20_000;

/// Sessions tested per [`Action::Settle`] (a few milliseconds of work).
pub const FILTER_CHUNK: usize = 5_000;

/// A filter being run over a large capture, a chunk at a time.
#[derive(Clone, Debug)]
pub struct PendingFilter {
    filter: Filter,
    text: String,
    /// Sessions to test, in time order.
    candidates: Vec<usize>,
    /// How many have been tested.
    done: usize,
    matched: Vec<usize>,
    /// Say how many matched when done (the prompt was closed with Enter).
    report: bool,
}

/// Work for the event loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write the session with this index to the current directory.
    Write { session: usize, json: bool },
    /// Write the packets of the session with this index to a new pcapng file in
    /// the current directory.
    WritePcap { session: usize },
    /// Ask the live source (the proxy) to arm a fault.
    Inject(crate::engine::Inject),
    /// Turn mouse capture on or off.
    Mouse(bool),
}

/// A selection in a list and the first row shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub sel: usize,
    pub offset: usize,
}

impl Cursor {
    /// Keep `sel` inside the list and on screen, and no blank space at the bottom.
    pub fn clamp(&mut self, len: usize, height: usize) {
        let h = height.max(1);
        if len == 0 {
            *self = Cursor::default();
            return;
        }
        self.sel = self.sel.min(len - 1);
        if self.sel < self.offset {
            self.offset = self.sel;
        }
        if self.sel >= self.offset + h {
            self.offset = self.sel + 1 - h;
        }
        self.offset = self.offset.min(len.saturating_sub(h));
    }

    pub fn by(&mut self, delta: isize, len: usize, height: usize) {
        self.sel = self.sel.saturating_add_signed(delta);
        self.clamp(len, height);
    }

    /// Go to a row; if it is off screen, show it a third of the way down.
    pub fn jump(&mut self, sel: usize, len: usize, height: usize) {
        if sel < self.offset || sel >= self.offset + height.max(1) {
            self.offset = sel.saturating_sub(height / 3);
        }
        self.sel = sel;
        self.clamp(len, height);
    }

    pub fn bottom(&mut self, len: usize, height: usize) {
        self.sel = len.saturating_sub(1);
        self.clamp(len, height);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Search,
    /// The session view's line filter.
    Lines,
    /// Live: hold replies back this long (`500ms`, `2s`; `0`: no more).
    Delay,
    /// Live: the code the proxy answers the next command with.
    Reply,
}

#[derive(Clone, Debug)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    /// What was in force when the prompt opened (Esc goes back to it).
    pub saved: String,
    /// Search: the cursor row when the prompt opened.
    pub origin: usize,
    pub error: Option<String>,
}

/// A row of the findings view: a group per finding id, then its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingRow {
    Group {
        id: &'static str,
        severity: Severity,
        count: usize,
    },
    /// `session: None` is a capture-wide finding.
    Item {
        session: Option<usize>,
        finding: usize,
    },
}

/// Where a finding is: its session (none: capture-wide) and its index there.
type FindingAt = (Option<usize>, usize);

/// The open session.
#[derive(Clone, Debug)]
pub struct Detail {
    /// Index in `capture.sessions` and the session's id (stable across snapshots).
    pub index: usize,
    pub id: usize,
    pub focus: Pane,
    pub transcript: Rows,
    pub cursor: Cursor,
    pub findings: Rows,
    pub fcursor: Cursor,
    /// The finding `n`/`N` last went to.
    pub current_finding: Option<usize>,
    /// Live: keep the cursor on the newest line.
    pub follow: bool,
    /// What the rows were built for: width, explanations, session fingerprint,
    /// line filter.
    built: (usize, bool, u64, String),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Loading {
    pub bytes: u64,
    pub total: u64,
    pub packets: u64,
    /// Time since reading started (for packets per second).
    pub elapsed: Duration,
}

impl Loading {
    /// Packets per second so far (0 until some time has passed).
    pub fn rate(&self) -> u64 {
        let secs = self.elapsed.as_secs_f64();
        if secs < 0.05 {
            0
        } else {
            (self.packets as f64 / secs) as u64
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub sessions: usize,
    pub channels: usize,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Totals {
    fn of(c: &Capture) -> Totals {
        let mut t = Totals::default();
        for s in &c.sessions {
            t.add_session(s);
        }
        t.add_findings(&c.findings);
        t
    }

    fn add_session(&mut self, s: &Session) {
        self.sessions += 1;
        self.channels += s.data_channels.len();
        self.add_findings(&s.findings);
    }

    fn remove_session(&mut self, s: &Session) {
        self.sessions = self.sessions.saturating_sub(1);
        self.channels = self.channels.saturating_sub(s.data_channels.len());
        self.findings = self.findings.saturating_sub(s.findings.len());
        for f in &s.findings {
            match f.severity {
                Severity::Error => self.errors = self.errors.saturating_sub(1),
                Severity::Warning => self.warnings = self.warnings.saturating_sub(1),
                Severity::Info => {}
            }
        }
    }

    fn add_findings(&mut self, findings: &[Finding]) {
        self.findings += findings.len();
        for f in findings {
            match f.severity {
                Severity::Error => self.errors += 1,
                Severity::Warning => self.warnings += 1,
                Severity::Info => {}
            }
        }
    }
}

/// The list selections as session ids ([`App::selection_keys`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SelectionKeys {
    session: Option<SessionKey>,
    data: Option<(SessionKey, usize)>,
    /// (session, group id, finding index)
    finding: Option<(Option<SessionKey>, Option<&'static str>, usize)>,
}

/// A session id and its index when the key was taken.
type SessionKey = (usize, usize);

/// What the lists need of a session, kept compact beside the model
/// ([`App::index_from`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RowInfo {
    channels: u32,
    findings: u32,
    /// Where the session's findings start in `App::flat_findings`.
    first_finding: u32,
}

/// Free sessions the UI let go. Freeing many takes long (millions of small
/// allocations): above a thousand, another thread does it so the UI does not wait.
fn drop_sessions(sessions: Vec<Session>) {
    if sessions.len() > 1_000 {
        let _ = std::thread::Builder::new()
            .name("ftpscope-drop".into())
            .spawn(move || drop(sessions));
    }
}

/// Insert `new` (sorted by `key`) into `order` (sorted by `key`), keeping it
/// sorted and stable (old entries before new ones of the same key), in place:
/// from the back, a binary search per new item and one move of the block after
/// it, so the keys of the sessions already ordered are mostly not read again.
fn merge_sorted<K: Ord>(order: &mut Vec<usize>, new: &[usize], key: impl Fn(usize) -> K) {
    let old = order.len();
    order.resize(old + new.len(), 0);
    // order[..end] holds the old entries not yet placed.
    let mut end = old;
    for (j, &n) in new.iter().enumerate().rev() {
        let k = key(n);
        let pos = order[..end].partition_point(|&i| key(i) <= k);
        order.copy_within(pos..end, pos + j + 1);
        order[pos + j] = n;
        end = pos;
    }
}

pub use crate::engine::{LIVE_KEEP, LiveUpdate};

/// How an [`App`] starts.
#[derive(Clone, Debug)]
pub struct Options {
    pub lang: Lang,
    /// A live source: follow mode on, `F` freezes.
    pub live: bool,
    pub theme: Theme,
    /// Show explanations under commands and replies.
    pub explain: bool,
    /// See [`DEFER_FILTER_ABOVE`].
    pub defer_filter_above: usize,
    /// Live: ended sessions kept (see [`LIVE_KEEP`]).
    pub live_keep: usize,
    /// How times are shown (`--time`).
    pub time: TimeView,
    /// The captures the sessions come from, read again to export a session's
    /// packets (`x`); empty: `no_export` says why `x` cannot.
    pub export: Vec<std::path::PathBuf>,
    pub no_export: Tr,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lang: Lang::En,
            live: false,
            theme: Theme::from_env(),
            explain: true,
            defer_filter_above: DEFER_FILTER_ABOVE,
            live_keep: LIVE_KEEP,
            time: TimeView::Utc,
            export: Vec::new(),
            no_export: tr!(
                "no capture file to take the packets from",
                "没有可从中取出数据包的抓包文件"
            ),
        }
    }
}

/// The whole UI state. Read it through its methods; change it with [`update`].
pub struct App {
    pub(crate) capture: Capture,
    pub(crate) name: String,
    pub(crate) lang: Lang,
    pub(crate) theme: Theme,
    pub(crate) live: bool,
    pub(crate) live_status: String,
    pub(crate) frozen: bool,
    pub(crate) loading: Option<Loading>,
    pub(crate) view: View,
    /// Where Esc goes from the session view.
    pub(crate) back: View,
    pub(crate) size: (u16, u16),
    pub(crate) sort: SortKey,
    pub(crate) filter: Filter,
    pub(crate) filter_text: String,
    /// A filter typed but not applied yet (large captures: it is run a chunk
    /// of sessions per [`Action::Settle`], between keys).
    pub(crate) pending_filter: Option<PendingFilter>,
    pub(crate) defer_filter_above: usize,
    pub(crate) prompt: Option<Prompt>,
    /// Transcript search, lower case.
    pub(crate) search: String,
    /// Indexes into `capture.sessions` that match the filter, in time order.
    pub(crate) matched: Vec<usize>,
    /// The same, sorted by the sort key.
    pub(crate) session_rows: Vec<usize>,
    pub(crate) sessions: Cursor,
    /// (session index, channel index), filtered sessions in time order.
    pub(crate) data_rows: Vec<(usize, usize)>,
    pub(crate) data: Cursor,
    pub(crate) finding_rows: Vec<FindingRow>,
    pub(crate) findings: Cursor,
    pub(crate) detail: Option<Detail>,
    pub(crate) explain: bool,
    /// Help overlay open, with its scroll offset.
    pub(crate) help: Option<usize>,
    pub(crate) mouse: bool,
    /// Live: the lists keep the newest row selected.
    pub(crate) follow: bool,
    /// One-line message for the status row, and whether it is an error.
    pub(crate) message: Option<(bool, String)>,
    pub(crate) quit: bool,
    pub(crate) effects: Vec<Effect>,
    /// What the model alone determines (see [`Indexes`]).
    pub(crate) index: Indexes,
    /// Live: `capture.sessions[open_from..]` are the open sessions of the last
    /// update (replaced by the next one); those before have ended.
    pub(crate) open_from: usize,
    pub(crate) live_keep: usize,
    pub(crate) time: TimeView,
    /// The session view's line filter as typed (`!text` hides what matches).
    pub(crate) line_filter: String,
    pub(crate) export: Vec<std::path::PathBuf>,
    pub(crate) no_export: Tr,
    /// Files written from the UI (`w`, `W`, `x`), told when it closes.
    pub(crate) saved: Vec<std::path::PathBuf>,
    /// Live: the faults armed in the source, shown in the status row.
    pub(crate) armed: String,
}

/// The line filter's text in lower case and whether it hides what matches;
/// `None` when there is nothing to filter by.
fn line_filter_parts(f: &str) -> Option<(&str, bool)> {
    let (q, negate) = match f.strip_prefix('!') {
        Some(rest) => (rest, true),
        None => (f, false),
    };
    (!q.is_empty()).then_some((q, negate))
}

/// What is derived from the model (the capture) alone, recomputed when it
/// changes and never from UI state (selection, filter, sort, scroll), so the two
/// cannot silently depend on each other. The lists are built from it.
#[derive(Debug, Default)]
pub(crate) struct Indexes {
    /// Every session index, in time order (computed once per model).
    pub(crate) time_order: Vec<usize>,
    pub(crate) totals: Totals,
    /// Totals of the ended sessions (live updates add the open ones on top).
    pub(crate) finished_totals: Totals,
    /// Per session (same indexes as `capture.sessions`): counts for the lists.
    pub(crate) info: Vec<RowInfo>,
    /// Every session's findings as (id, severity), in session order.
    pub(crate) flat_findings: Vec<(&'static str, Severity)>,
}

impl App {
    /// An app showing an analysed capture.
    pub fn new(capture: Capture, name: impl Into<String>, opts: Options) -> App {
        let mut app = App::loading(name, 0, opts);
        app.loading = None;
        app.set_capture(capture);
        app
    }

    /// An app waiting for a file of `total` bytes to be analysed.
    pub fn loading(name: impl Into<String>, total: u64, opts: Options) -> App {
        App {
            capture: Capture::default(),
            name: name.into(),
            lang: opts.lang,
            theme: opts.theme,
            live: opts.live,
            live_status: String::new(),
            frozen: false,
            loading: Some(Loading {
                total,
                ..Loading::default()
            }),
            view: View::Sessions,
            back: View::Sessions,
            size: (80, 24),
            sort: SortKey::Time,
            filter: Filter::default(),
            filter_text: String::new(),
            pending_filter: None,
            defer_filter_above: opts.defer_filter_above,
            prompt: None,
            search: String::new(),
            matched: Vec::new(),
            session_rows: Vec::new(),
            sessions: Cursor::default(),
            data_rows: Vec::new(),
            data: Cursor::default(),
            finding_rows: Vec::new(),
            findings: Cursor::default(),
            detail: None,
            explain: opts.explain,
            help: None,
            mouse: true,
            follow: opts.live,
            message: None,
            quit: false,
            effects: Vec::new(),
            index: Indexes::default(),
            open_from: 0,
            live_keep: opts.live_keep.max(1),
            time: opts.time,
            line_filter: String::new(),
            export: opts.export,
            no_export: opts.no_export,
            saved: Vec::new(),
            armed: String::new(),
        }
    }

    pub fn capture(&self) -> &Capture {
        &self.capture
    }
    pub fn view(&self) -> View {
        self.view
    }
    pub fn should_quit(&self) -> bool {
        self.quit
    }
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }
    pub fn mouse_captured(&self) -> bool {
        self.mouse
    }
    pub fn frozen(&self) -> bool {
        self.frozen
    }
    pub fn sort(&self) -> SortKey {
        self.sort
    }
    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }
    pub fn search_text(&self) -> &str {
        &self.search
    }
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }
    pub fn message(&self) -> Option<&str> {
        self.message.as_ref().map(|(_, m)| m.as_str())
    }
    pub fn help_open(&self) -> bool {
        self.help.is_some()
    }
    pub fn explanations(&self) -> bool {
        self.explain
    }
    pub fn detail(&self) -> Option<&Detail> {
        self.detail.as_ref()
    }
    /// Sessions the list shows, in its order.
    pub fn listed_sessions(&self) -> impl Iterator<Item = &Session> {
        self.session_rows.iter().map(|&i| &self.capture.sessions[i])
    }
    pub fn data_rows(&self) -> &[(usize, usize)] {
        &self.data_rows
    }
    pub fn finding_rows(&self) -> &[FindingRow] {
        &self.finding_rows
    }
    /// The selected row of the current list view (or the cursor of the open session's focused pane).
    pub fn selected_row(&self) -> usize {
        match self.view {
            View::Sessions => self.sessions.sel,
            View::Data => self.data.sel,
            View::Findings => self.findings.sel,
            View::Session => self.detail.as_ref().map_or(0, |d| match d.focus {
                Pane::Findings => d.fcursor.sel,
                Pane::Transcript => d.cursor.sel,
            }),
        }
    }
    /// Live follow mode of what is shown: the open session's, or the lists'.
    pub fn following(&self) -> bool {
        match (&self.detail, self.view) {
            (Some(d), View::Session) => d.follow,
            _ => self.follow,
        }
    }
    /// The exchange under the transcript cursor of the open session.
    pub fn cursor_exchange(&self) -> Option<usize> {
        let d = self.detail.as_ref()?;
        d.transcript.item_at(d.cursor.sel)
    }
    /// The session the current view points at (what `w` writes).
    pub fn selected_session(&self) -> Option<&Session> {
        self.selected_session_index()
            .and_then(|i| self.capture.sessions.get(i))
    }
    /// Take the queued effects (the event loop performs them).
    /// Files written from the UI so far.
    pub fn saved(&self) -> &[std::path::PathBuf] {
        &self.saved
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }
    /// Deferred work is waiting for [`Action::Settle`].
    pub fn unsettled(&self) -> bool {
        self.pending_filter.is_some()
    }
    /// A filter being run: sessions tested so far and in all.
    pub fn filter_progress(&self) -> Option<(usize, usize)> {
        self.pending_filter
            .as_ref()
            .map(|p| (p.done, p.candidates.len()))
    }

    pub(crate) fn finding(&self, session: Option<usize>, fi: usize) -> Option<&Finding> {
        match session {
            Some(si) => self.capture.sessions.get(si)?.findings.get(fi),
            None => self.capture.findings.get(fi),
        }
    }

    pub(crate) fn finding_count_shown(&self) -> usize {
        self.finding_rows
            .iter()
            .filter(|r| matches!(r, FindingRow::Item { .. }))
            .count()
    }

    pub(crate) fn regions(&self) -> Regions {
        layout::regions(self, Rect::new(0, 0, self.size.0, self.size.1))
    }

    fn list_height(&self) -> usize {
        usize::from(self.regions().list_rows.height)
    }

    fn pane_heights(&self) -> (usize, usize) {
        let r = self.regions();
        (
            usize::from(layout::inner(r.transcript).height),
            r.findings
                .map_or(0, |f| usize::from(layout::inner(f).height)),
        )
    }

    fn selected_session_index(&self) -> Option<usize> {
        match self.view {
            View::Sessions => self.session_rows.get(self.sessions.sel).copied(),
            View::Data => self.data_rows.get(self.data.sel).map(|r| r.0),
            View::Findings => self.finding_rows[self.findings.sel.min(self.finding_rows.len())..]
                .iter()
                .find_map(|r| match r {
                    FindingRow::Item { session, .. } => Some(*session),
                    FindingRow::Group { .. } => None,
                })
                .flatten(),
            View::Session => self.detail.as_ref().map(|d| d.index),
        }
    }

    fn ctx(&self) -> Ctx {
        if self.view == View::Session {
            Ctx::Session
        } else {
            Ctx::List
        }
    }

    /// Say something in the status row, in the view's language.
    pub(crate) fn say(&mut self, m: Tr) {
        self.message = Some((false, m.get(self.lang).to_string()));
    }

    /// Warn in the status row, in the view's language.
    pub(crate) fn warn(&mut self, m: Tr) {
        self.message = Some((true, m.get(self.lang).to_string()));
    }

    /// Replace the model, keeping selections on the same sessions.
    fn set_capture(&mut self, capture: Capture) {
        let keys = self.selection_keys();
        let keep_detail = self.detail.as_ref().map(|d| d.id);
        let old = std::mem::replace(&mut self.capture, capture);
        self.open_from = self.capture.sessions.len();
        drop_sessions(old.sessions);
        self.index.totals = Totals::of(&self.capture);
        self.index.finished_totals = self.index.totals;
        self.index_from(0);
        let sessions = &self.capture.sessions;
        self.index.time_order = (0..sessions.len()).collect();
        self.index
            .time_order
            .sort_by_key(|&i| (sessions[i].start, sessions[i].id));
        // The indexes of a filter in progress belong to the old model: start over.
        if let Some(p) = &mut self.pending_filter {
            p.candidates = self.index.time_order.clone();
            p.done = 0;
            p.matched.clear();
        }
        self.relocate_detail(keep_detail);
        let sessions = &self.capture.sessions;
        let m = self
            .index
            .time_order
            .iter()
            .copied()
            .filter(|&i| self.filter.matches(&sessions[i]))
            .collect();
        self.rebuild_rows_keeping(m, keys);
        self.rebuild_detail();
    }

    /// Bring the compact index up to date with `capture.sessions`, which did not
    /// change before index `from`.
    fn index_from(&mut self, from: usize) {
        let from = from.min(self.index.info.len());
        let flat_len = self
            .index
            .info
            .get(from)
            .map_or(self.index.flat_findings.len(), |r| r.first_finding as usize);
        self.index.info.truncate(from);
        self.index.flat_findings.truncate(flat_len);
        for s in &self.capture.sessions[from..] {
            self.index.info.push(RowInfo {
                channels: u32::try_from(s.data_channels.len()).unwrap_or(u32::MAX),
                findings: u32::try_from(s.findings.len()).unwrap_or(u32::MAX),
                first_finding: u32::try_from(self.index.flat_findings.len()).unwrap_or(u32::MAX),
            });
            self.index
                .flat_findings
                .extend(s.findings.iter().map(|f| (f.id, f.severity)));
        }
    }

    /// Point the open session at its new index after the model changed, or
    /// close it when its session is gone.
    fn relocate_detail(&mut self, id: Option<usize>) {
        let Some(id) = id else { return };
        // Open sessions sit at the end: look there first.
        match self.capture.sessions.iter().rposition(|s| s.id == id) {
            Some(i) => {
                if let Some(d) = &mut self.detail {
                    d.index = i;
                }
            }
            None => {
                self.detail = None;
                if self.view == View::Session {
                    self.view = self.back;
                }
            }
        }
    }

    /// Apply what changed in a live source: drop the old copies of the open
    /// sessions, add the sessions that ended and the open ones as they are now.
    /// Only the new sessions are tested against the filter; the cost is the
    /// list rebuild (linear, no copy of the sessions held).
    fn apply_live(&mut self, u: LiveUpdate) {
        let keys = self.selection_keys();
        let keep_detail = self.detail.as_ref().map(|d| d.id);
        let mut u_reset_or_trim = u.reset;
        if u.reset {
            drop_sessions(std::mem::take(&mut self.capture.sessions));
            self.open_from = 0;
            self.index.finished_totals = Totals::default();
        }
        let cut = self.open_from;
        self.capture.sessions.truncate(cut);
        self.index.time_order.retain(|&i| i < cut);
        self.matched.retain(|&i| i < cut);
        if let Some(p) = &mut self.pending_filter {
            let tested = p.candidates[..p.done].iter().filter(|&&i| i < cut).count();
            p.candidates.retain(|&i| i < cut);
            p.matched.retain(|&i| i < cut);
            p.done = tested;
        }
        for s in &u.ended {
            self.index.finished_totals.add_session(s);
        }
        self.capture.sessions.extend(u.ended);
        self.open_from = self.capture.sessions.len();
        let mut totals = self.index.finished_totals;
        for s in &u.open {
            totals.add_session(s);
        }
        totals.add_findings(&u.findings);
        self.index.totals = totals;
        self.capture.sessions.extend(u.open);
        self.capture.stats = u.stats;
        self.capture.findings = u.findings;
        // Bound what the view holds: past `live_keep` ended sessions (and a
        // tenth), drop the oldest and index everything again (rare, so amortised).
        let keep = self.live_keep;
        if self.open_from > keep + keep / 10 {
            let drop_n = self.open_from - keep;
            let gone: Vec<Session> = self.capture.sessions.drain(..drop_n).collect();
            for s in &gone {
                self.index.finished_totals.remove_session(s);
                self.index.totals.remove_session(s);
            }
            drop_sessions(gone);
            self.open_from -= drop_n;
            u_reset_or_trim = true;
            self.index.time_order.clear();
            self.matched.clear();
            if let Some(p) = &mut self.pending_filter {
                p.candidates.clear();
                p.matched.clear();
                p.done = 0;
            }
        }
        self.index_from(if u_reset_or_trim { 0 } else { cut });
        // time_order holds 0..start (the ended sessions already indexed; none
        // after a reset or a trim): the rest are new.
        let matched = self.merge_new_sessions(self.index.time_order.len());
        self.relocate_detail(keep_detail);
        self.rebuild_rows_keeping(matched, keys);
        self.rebuild_detail();
    }

    /// Sessions from index `start` on are new: merge them into time order, hand
    /// them to a filter in progress (tested when it reaches them, sorted into
    /// place at its end), and return the matched rows with those the filter takes.
    fn merge_new_sessions(&mut self, start: usize) -> Vec<usize> {
        let sessions = &self.capture.sessions;
        let key = |i: usize| (sessions[i].start, sessions[i].id);
        let mut new: Vec<usize> = (start..sessions.len()).collect();
        new.sort_by_key(|&i| key(i));
        merge_sorted(&mut self.index.time_order, &new, key);
        if let Some(p) = &mut self.pending_filter {
            p.candidates.extend_from_slice(&new);
        }
        let mut matched = std::mem::take(&mut self.matched);
        new.retain(|&i| self.filter.matches(&sessions[i]));
        merge_sorted(&mut matched, &new, key);
        matched
    }

    /// Add sessions of a file still being read. Only the new sessions are
    /// tested against the filter; the lists are rebuilt keeping the selections.
    fn append_sessions(&mut self, new: Vec<Session>) {
        if new.is_empty() {
            return;
        }
        let base = self.capture.sessions.len();
        for s in &new {
            self.index.totals.add_session(s);
            self.index.finished_totals.add_session(s);
        }
        self.capture.sessions.extend(new);
        self.index_from(base);
        self.open_from = self.capture.sessions.len();
        // Sessions arrive as they end, not as they start: keep time order.
        let matched = self.merge_new_sessions(base);
        self.rebuild_rows(matched);
        self.rebuild_detail();
    }

    /// The file has been read: take its statistics and capture-wide findings.
    fn finish_loading(&mut self, stats: CaptureStats, findings: Vec<Finding>) {
        self.index.totals.add_findings(&findings);
        self.capture.stats = stats;
        self.capture.findings = findings;
        self.recompute();
        self.rebuild_detail();
    }

    /// Recompute the list rows from the model, the filter and the sort order.
    fn recompute(&mut self) {
        let sessions = &self.capture.sessions;
        let m = self
            .index
            .time_order
            .iter()
            .copied()
            .filter(|&i| self.filter.matches(&sessions[i]))
            .collect();
        self.rebuild_rows(m);
    }

    /// Rebuild every list from the sessions that match the filter (in time
    /// order), keeping the selections on the same sessions.
    fn rebuild_rows(&mut self, time_rows: Vec<usize>) {
        let keep = self.selection_keys();
        self.rebuild_rows_keeping(time_rows, keep);
    }

    /// What the list selections point at, by session id (indexes change when
    /// the model is replaced). Read it before the model changes.
    fn selection_keys(&self) -> SelectionKeys {
        let at = |i: usize| self.capture.sessions.get(i).map(|s| (s.id, i));
        SelectionKeys {
            session: self
                .session_rows
                .get(self.sessions.sel)
                .and_then(|&i| at(i)),
            data: self
                .data_rows
                .get(self.data.sel)
                .and_then(|&(si, ci)| Some((at(si)?, ci))),
            finding: self.finding_rows.get(self.findings.sel).map(|r| match *r {
                FindingRow::Group { id, .. } => (None, Some(id), 0),
                FindingRow::Item { session, finding } => (session.and_then(at), None, finding),
            }),
        }
    }

    /// Where the session `id` (at index `hint` before the model changed) is now:
    /// most of the time still at `hint` (ended sessions keep their index).
    fn index_of(&self, (id, hint): SessionKey) -> Option<usize> {
        let sessions = &self.capture.sessions;
        if sessions.get(hint).is_some_and(|s| s.id == id) {
            return Some(hint);
        }
        sessions.iter().rposition(|s| s.id == id)
    }

    fn rebuild_rows_keeping(&mut self, time_rows: Vec<usize>, keep: SelectionKeys) {
        let SelectionKeys {
            session: keep_s,
            data: keep_d,
            finding: keep_f,
        } = keep;
        let sessions = &self.capture.sessions;

        // From the compact index, not the sessions: 100,000 sessions scattered
        // in memory cost a cache miss each.
        let info = &self.index.info;
        self.data_rows.clear();
        self.data_rows.extend(
            time_rows
                .iter()
                .flat_map(|&si| (0..info[si].channels as usize).map(move |ci| (si, ci))),
        );

        // Finding id -> worst severity and (session, finding) places.
        let mut groups: BTreeMap<&'static str, (Severity, Vec<FindingAt>)> = BTreeMap::new();
        let mut add = |id: &'static str, severity: Severity, at: FindingAt| {
            let g = groups.entry(id).or_insert((severity, Vec::new()));
            g.0 = g.0.max(severity);
            g.1.push(at);
        };
        if self.filter.is_empty() {
            for (fi, f) in self.capture.findings.iter().enumerate() {
                add(f.id, f.severity, (None, fi));
            }
        }
        for &si in &time_rows {
            let r = info[si];
            let first = r.first_finding as usize;
            for (fi, &(id, severity)) in self.index.flat_findings
                [first..first + r.findings as usize]
                .iter()
                .enumerate()
            {
                add(id, severity, (Some(si), fi));
            }
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        self.finding_rows.clear();
        for (id, (severity, items)) in groups {
            self.finding_rows.push(FindingRow::Group {
                id,
                severity,
                count: items.len(),
            });
            self.finding_rows.extend(
                items
                    .into_iter()
                    .map(|(session, finding)| FindingRow::Item { session, finding }),
            );
        }

        // Buffers are reused: with 100,000 sessions a fresh one is megabytes of
        // page faults on every rebuild.
        let mut rows = std::mem::take(&mut self.session_rows);
        rows.clear();
        rows.extend_from_slice(&time_rows);
        match self.sort {
            SortKey::Time => {}
            SortKey::Bytes => {
                rows.sort_by_cached_key(|&i| std::cmp::Reverse(sessions[i].data_bytes()))
            }
            SortKey::Findings => rows.sort_by_cached_key(|&i| {
                let s = &sessions[i];
                std::cmp::Reverse((s.worst(), s.findings.len()))
            }),
        }
        self.session_rows = rows;
        self.matched = time_rows;

        // Keep the selection on the same things: find each session's index
        // now, then its row (a scan of integers, not of sessions).
        if let Some(si) = keep_s.and_then(|k| self.index_of(k)) {
            if let Some(p) = self.session_rows.iter().position(|&i| i == si) {
                self.sessions.sel = p;
            }
        }
        if let Some((k, ci)) = keep_d {
            if let Some(si) = self.index_of(k) {
                if let Some(p) = self.data_rows.iter().position(|&r| r == (si, ci)) {
                    self.data.sel = p;
                }
            }
        }
        if let Some((sk, gid, fi)) = keep_f {
            let si = sk.and_then(|k| self.index_of(k));
            if sk.is_none() || si.is_some() {
                if let Some(p) = self.finding_rows.iter().position(|r| match *r {
                    FindingRow::Group { id, .. } => gid == Some(id),
                    FindingRow::Item { session, finding } => {
                        gid.is_none() && finding == fi && session == si
                    }
                }) {
                    self.findings.sel = p;
                }
            }
        }
        if self.live && self.follow {
            self.sessions.sel = self.session_rows.len().saturating_sub(1);
            self.data.sel = self.data_rows.len().saturating_sub(1);
        }
        self.clamp_lists();
    }

    fn clamp_lists(&mut self) {
        let h = self.list_height();
        self.sessions.clamp(self.session_rows.len(), h);
        self.data.clamp(self.data_rows.len(), h);
        self.findings.clamp(self.finding_rows.len(), h);
    }

    /// Rebuild the open session's rows if the width, the explanation toggle or
    /// the session itself changed; keep the cursor on the same exchange.
    fn rebuild_detail(&mut self) {
        let Some(d) = &self.detail else { return };
        let s = &self.capture.sessions[d.index];
        let key = (
            pane_width_of(self),
            self.explain,
            fingerprint(s),
            self.line_filter.clone(),
        );
        if d.built == key {
            self.clamp_detail();
            return;
        }
        let at = d.transcript.item_at(d.cursor.sel).map(|ex| {
            let start = d.transcript.item_start[ex];
            (ex, d.cursor.sel - start)
        });
        let fat = d.findings.item_at(d.fcursor.sel);
        let transcript = self.transcript_rows(s, key.0);
        let findings = lines::findings_at(&s.findings, key.0, self.time, self.lang);
        let Some(d) = &mut self.detail else { return };
        d.transcript = transcript;
        d.findings = findings;
        d.built = key;
        if let Some((ex, delta)) = at {
            if let Some(&start) = d.transcript.item_start.get(ex) {
                let end = d
                    .transcript
                    .item_start
                    .get(ex + 1)
                    .copied()
                    .unwrap_or(d.transcript.len());
                d.cursor.sel = (start + delta).min(end.saturating_sub(1));
            }
        }
        if let Some(fi) = fat {
            if let Some(&start) = d.findings.item_start.get(fi) {
                d.fcursor.sel = start;
            }
        }
        if d.findings.is_empty() {
            d.focus = Pane::Transcript;
        }
        self.clamp_detail();
    }

    /// A session's transcript rows, through the line filter when there is one.
    fn transcript_rows(&self, s: &Session, width: usize) -> Rows {
        let rows = lines::transcript_at(s, width, self.explain, self.lang, self.time);
        match line_filter_parts(&self.line_filter) {
            Some((query, negate)) => rows.keep_matching(query, negate),
            None => rows,
        }
    }

    fn clamp_detail(&mut self) {
        let (th, fh) = self.pane_heights();
        if let Some(d) = &mut self.detail {
            if d.follow {
                d.cursor.bottom(d.transcript.len(), th);
            }
            d.cursor.clamp(d.transcript.len(), th);
            d.fcursor.clamp(d.findings.len(), fh);
        }
    }

    /// Open session `si`, with the cursor on an exchange and/or a finding.
    fn open_session(&mut self, si: usize, exchange: Option<usize>, finding: Option<usize>) {
        let Some(s) = self.capture.sessions.get(si) else {
            return;
        };
        let w = pane_width_of(self);
        let d = Detail {
            index: si,
            id: s.id,
            focus: Pane::Transcript,
            transcript: self.transcript_rows(s, w),
            cursor: Cursor::default(),
            findings: lines::findings_at(&s.findings, w, self.time, self.lang),
            fcursor: Cursor::default(),
            current_finding: finding,
            follow: false,
            built: (w, self.explain, fingerprint(s), self.line_filter.clone()),
        };
        if self.view != View::Session {
            self.back = self.view;
        }
        self.view = View::Session;
        self.detail = Some(d);
        self.search.clear();
        let (th, fh) = self.pane_heights();
        let live = self.live;
        let Some(d) = &mut self.detail else { return };
        if let Some(fi) = finding {
            if let Some(&r) = d.findings.item_start.get(fi) {
                d.fcursor.jump(r, d.findings.len(), fh);
                d.focus = Pane::Findings;
            }
        }
        match exchange.and_then(|ex| d.transcript.item_start.get(ex)) {
            Some(&r) => d.cursor.jump(r, d.transcript.len(), th),
            None if live => {
                d.follow = true;
                d.cursor.bottom(d.transcript.len(), th);
            }
            None => {}
        }
    }
}

fn pane_width_of(app: &App) -> usize {
    layout::pane_width(app.size.0)
}

/// Changes when anything the transcript or findings pane shows changes.
fn fingerprint(s: &Session) -> u64 {
    let mut h = DefaultHasher::new();
    s.exchanges.len().hash(&mut h);
    for e in &s.exchanges {
        (e.replies.len(), e.data_channel, e.command.is_some()).hash(&mut h);
    }
    for d in &s.data_channels {
        (d.outcome as u8, d.bytes, d.syns, d.command_exchange, d.end).hash(&mut h);
    }
    for f in &s.findings {
        (f.id, f.evidence.len(), &f.summary).hash(&mut h);
    }
    (s.anomalies.len(), s.tls, s.encrypted_bytes).hash(&mut h);
    h.finish()
}

/// The first exchange a finding's evidence cites.
pub fn evidence_exchange(f: &Finding) -> Option<usize> {
    f.evidence.iter().find_map(|e| e.exchange)
}

/// Map a terminal event to an action, given the state (prompt, help, view).
pub fn event_action(app: &App, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => key_action(app, *k),
        Event::Mouse(MouseEvent {
            kind, column, row, ..
        }) => {
            let kind = match kind {
                MouseEventKind::ScrollUp => MouseKind::ScrollUp,
                MouseEventKind::ScrollDown => MouseKind::ScrollDown,
                MouseEventKind::Down(MouseButton::Left) => MouseKind::Click,
                _ => return None,
            };
            Some(Action::Mouse {
                kind,
                column: *column,
                row: *row,
            })
        }
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// Map a key to an action: Ctrl-C always quits; the help overlay and the prompts
/// take their keys first; everything else goes through the key table.
pub fn key_action(app: &App, k: KeyEvent) -> Option<Action> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('C')) {
        return Some(Action::Cmd(Cmd::Quit));
    }
    if app.help.is_some() {
        let cmd = match k.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => Cmd::Help,
            _ => keymap::lookup(Ctx::Global, k).filter(|c| {
                matches!(
                    c,
                    Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom
                )
            })?,
        };
        return Some(Action::Cmd(cmd));
    }
    if let Some(p) = &app.prompt {
        return match k.code {
            KeyCode::Enter => Some(Action::Cmd(Cmd::Open)),
            KeyCode::Esc => Some(Action::Cmd(Cmd::Back)),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Up if p.kind == PromptKind::Search => Some(Action::Cmd(Cmd::PrevMatch)),
            KeyCode::Down if p.kind == PromptKind::Search => Some(Action::Cmd(Cmd::NextMatch)),
            KeyCode::Char(c) if !ctrl && !k.modifiers.contains(KeyModifiers::ALT) => {
                Some(Action::Input(c))
            }
            _ => None,
        };
    }
    keymap::lookup(app.ctx(), k).map(Action::Cmd)
}

/// Handle a terminal event: map it and apply it. Returns whether anything happened.
pub fn handle_event(app: &mut App, ev: &Event) -> bool {
    match event_action(app, ev) {
        Some(a) => {
            update(app, a);
            true
        }
        None => false,
    }
}

/// The one place the state changes.
pub fn update(app: &mut App, action: Action) {
    match action {
        Action::Cmd(c) => {
            app.message = None;
            command(app, c);
        }
        Action::Input(c) => {
            app.message = None;
            if let Some(p) = &mut app.prompt {
                if !c.is_control() {
                    p.text.push(c);
                }
                prompt_changed(app);
            }
        }
        Action::Backspace => {
            app.message = None;
            if let Some(p) = &mut app.prompt {
                p.text.pop();
                prompt_changed(app);
            }
        }
        Action::Resize(w, h) => {
            app.size = (w, h);
            app.clamp_lists();
            app.rebuild_detail();
        }
        Action::Mouse { kind, column, row } => {
            app.message = None;
            mouse(app, kind, column, row);
        }
        Action::Snapshot(c) => {
            if !app.frozen {
                app.set_capture(*c);
            }
        }
        Action::Live(u) => {
            if !app.frozen {
                app.apply_live(*u);
            }
        }
        Action::Status(s) => app.live_status = s.get(app.lang).to_string(),
        Action::Armed(s) => app.armed = s.get(app.lang).to_string(),
        Action::Progress {
            bytes,
            packets,
            elapsed,
        } => {
            if let Some(l) = &mut app.loading {
                l.bytes = bytes;
                l.packets = packets;
                l.elapsed = elapsed;
            }
        }
        Action::Append(sessions) => app.append_sessions(sessions),
        Action::Done { stats, findings } => {
            if let Some(l) = &mut app.loading {
                l.bytes = l.total;
            }
            app.loading = None;
            app.finish_loading(*stats, findings);
        }
        Action::Loaded(c) => {
            app.loading = None;
            app.set_capture(*c);
        }
        Action::Settle => settle_filter(app, FILTER_CHUNK),
    }
}

fn command(app: &mut App, c: Cmd) {
    if let Some(off) = app.help {
        let inner = layout::inner(layout::help_rect(Rect::new(0, 0, app.size.0, app.size.1)));
        let total = keymap::help_rows_in(usize::from(inner.width), app.lang).len();
        let page = usize::from(inner.height).max(1);
        let max = total.saturating_sub(page);
        app.help = match c {
            Cmd::Help => None,
            Cmd::Up => Some(off.saturating_sub(1)),
            Cmd::Down => Some((off + 1).min(max)),
            Cmd::PageUp => Some(off.saturating_sub(page)),
            Cmd::PageDown => Some((off + page).min(max)),
            Cmd::Top => Some(0),
            Cmd::Bottom => Some(max),
            Cmd::Quit => {
                app.quit = true;
                None
            }
            _ => Some(off),
        };
        return;
    }
    if app.prompt.is_some() {
        match c {
            Cmd::Open => prompt_accept(app),
            Cmd::Back => prompt_cancel(app),
            Cmd::NextMatch => search_step(app, true),
            Cmd::PrevMatch => search_step(app, false),
            Cmd::Quit => app.quit = true,
            _ => {}
        }
        return;
    }
    match c {
        Cmd::Quit => app.quit = true,
        Cmd::Help => app.help = Some(0),
        Cmd::Up => move_by(app, -1),
        Cmd::Down => move_by(app, 1),
        Cmd::PageUp => move_page(app, false),
        Cmd::PageDown => move_page(app, true),
        Cmd::Top => move_end(app, false),
        Cmd::Bottom => move_end(app, true),
        Cmd::Open => open(app),
        Cmd::Back => back(app),
        Cmd::NextPane => switch_pane(app, true),
        Cmd::PrevPane => switch_pane(app, false),
        Cmd::ShowSessions => app.view = View::Sessions,
        Cmd::ShowData => app.view = View::Data,
        Cmd::ShowFindings => app.view = View::Findings,
        Cmd::Sort => {
            app.sort = match app.sort {
                SortKey::Time => SortKey::Bytes,
                SortKey::Bytes => SortKey::Findings,
                SortKey::Findings => SortKey::Time,
            };
            app.recompute();
            let by = Tr {
                en: app.sort.label(Lang::En).to_string(),
                zh: app.sort.label(Lang::Zh).to_string(),
            };
            app.say(tr!("sessions sorted by {by}", "会话按{by}排序"; by = by));
        }
        Cmd::Filter => {
            if app.view != View::Session {
                app.prompt = Some(Prompt {
                    kind: PromptKind::Filter,
                    text: app.filter_text.clone(),
                    saved: app.filter_text.clone(),
                    origin: 0,
                    error: None,
                });
            }
        }
        Cmd::Search => {
            if let Some(d) = &mut app.detail {
                if app.view == View::Session {
                    d.focus = Pane::Transcript;
                    app.prompt = Some(Prompt {
                        kind: PromptKind::Search,
                        text: app.search.clone(),
                        saved: app.search.clone(),
                        origin: d.cursor.sel,
                        error: None,
                    });
                }
            }
        }
        Cmd::NextMatch => search_step(app, true),
        Cmd::PrevMatch => search_step(app, false),
        Cmd::LineFilter => {
            if let Some(d) = &mut app.detail {
                if app.view == View::Session {
                    d.focus = Pane::Transcript;
                    app.prompt = Some(Prompt {
                        kind: PromptKind::Lines,
                        text: app.line_filter.clone(),
                        saved: app.line_filter.clone(),
                        origin: d.cursor.sel,
                        error: None,
                    });
                }
            }
        }
        Cmd::Explain => {
            app.explain = !app.explain;
            app.rebuild_detail();
            let m = if app.explain {
                tr!("explanations shown", "已显示解释")
            } else {
                tr!("explanations hidden", "已隐藏解释")
            };
            app.say(m);
        }
        Cmd::NextFinding => next_finding(app, true),
        Cmd::PrevFinding => next_finding(app, false),
        Cmd::FaultRefuse => inject(app, crate::engine::Inject::RefuseData),
        Cmd::FaultDrop => inject(app, crate::engine::Inject::DropData),
        Cmd::FaultClear => inject(app, crate::engine::Inject::Clear),
        Cmd::FaultDelay | Cmd::FaultReply => {
            if app.live {
                let kind = if c == Cmd::FaultDelay {
                    PromptKind::Delay
                } else {
                    PromptKind::Reply
                };
                app.prompt = Some(Prompt {
                    kind,
                    text: String::new(),
                    saved: String::new(),
                    origin: 0,
                    error: None,
                });
                prompt_changed(app);
            } else {
                app.warn(faults_live_only());
            }
        }
        Cmd::WritePcap => match (app.selected_session_index(), app.export.is_empty()) {
            (Some(session), false) => app.effects.push(Effect::WritePcap { session }),
            (Some(_), true) => {
                let m = app.no_export.clone();
                app.warn(m);
            }
            (None, _) => app.warn(no_session_selected()),
        },
        Cmd::WriteText | Cmd::WriteJson => match app.selected_session_index() {
            Some(session) => app.effects.push(Effect::Write {
                session,
                json: c == Cmd::WriteJson,
            }),
            None => app.warn(no_session_selected()),
        },
        Cmd::ToggleMouse => {
            app.mouse = !app.mouse;
            app.effects.push(Effect::Mouse(app.mouse));
            let m = if app.mouse {
                tr!(
                    "mouse on: wheel scrolls, click selects",
                    "鼠标已开启：滚轮滚动，点击选择"
                )
            } else {
                tr!(
                    "mouse off: the terminal selects text",
                    "鼠标已关闭：由终端选择文本"
                )
            };
            app.say(m);
        }
        Cmd::Freeze => {
            if app.live {
                app.frozen = !app.frozen;
                let m = if app.frozen {
                    tr!(
                        "frozen: F resumes live updates",
                        "已冻结：按 F 恢复实时更新"
                    )
                } else {
                    tr!("live updates resumed", "已恢复实时更新")
                };
                app.say(m);
            } else {
                app.say(tr!(
                    "F freezes live updates; a capture file does not change",
                    "F 冻结实时更新；抓包文件不会变化"
                ));
            }
        }
    }
}

/// The focused list or pane: its cursor, its length, its height.
fn focused(app: &mut App) -> Option<(&mut Cursor, usize, usize)> {
    let h = app.list_height();
    let (th, fh) = app.pane_heights();
    match app.view {
        View::Sessions => Some((&mut app.sessions, app.session_rows.len(), h)),
        View::Data => Some((&mut app.data, app.data_rows.len(), h)),
        View::Findings => Some((&mut app.findings, app.finding_rows.len(), h)),
        View::Session => {
            let d = app.detail.as_mut()?;
            Some(match d.focus {
                Pane::Findings => (&mut d.fcursor, d.findings.len(), fh),
                Pane::Transcript => (&mut d.cursor, d.transcript.len(), th),
            })
        }
    }
}

/// The user moved away from the newest line: stop following (or, `true`, resume).
fn set_follow(app: &mut App, on: bool) {
    match (app.view, &mut app.detail) {
        (View::Session, Some(d)) => {
            if d.focus == Pane::Transcript {
                d.follow = on && app.live;
            }
        }
        _ => app.follow = on && app.live,
    }
}

fn move_by(app: &mut App, delta: isize) {
    if let Some((c, len, h)) = focused(app) {
        c.by(delta, len, h);
        let at_end = c.sel + 1 >= len;
        // Moving down onto the last line does not start following; only G/End does.
        if delta < 0 || !at_end {
            set_follow(app, false);
        }
        update_current_finding(app);
    }
}

fn update_current_finding(app: &mut App) {
    if let (View::Session, Some(d)) = (app.view, &mut app.detail) {
        if d.focus == Pane::Findings {
            d.current_finding = d.findings.item_at(d.fcursor.sel);
        }
    }
}

fn move_page(app: &mut App, down: bool) {
    if let Some((c, len, h)) = focused(app) {
        let step = isize::try_from(h.saturating_sub(1).max(1)).unwrap_or(1);
        c.offset = if down {
            c.offset.saturating_add(step.unsigned_abs())
        } else {
            c.offset.saturating_sub(step.unsigned_abs())
        };
        c.by(if down { step } else { -step }, len, h);
        set_follow(app, false);
        update_current_finding(app);
    }
}

fn move_end(app: &mut App, bottom: bool) {
    if let Some((c, len, h)) = focused(app) {
        if bottom {
            c.bottom(len, h);
        } else {
            c.sel = 0;
            c.clamp(len, h);
        }
        set_follow(app, bottom);
        update_current_finding(app);
    }
}

fn open(app: &mut App) {
    match app.view {
        View::Sessions => {
            if let Some(&si) = app.session_rows.get(app.sessions.sel) {
                app.open_session(si, None, None);
            }
        }
        View::Data => {
            if let Some(&(si, ci)) = app.data_rows.get(app.data.sel) {
                let d = &app.capture.sessions[si].data_channels[ci];
                let ex = d.command_exchange.unwrap_or(d.announce_exchange);
                app.open_session(si, Some(ex), None);
            }
        }
        View::Findings => {
            let item = app.finding_rows[app.findings.sel.min(app.finding_rows.len())..]
                .iter()
                .find_map(|r| match *r {
                    FindingRow::Item { session, finding } => Some((session, finding)),
                    FindingRow::Group { .. } => None,
                });
            match item {
                Some((Some(si), fi)) => {
                    let ex = app.capture.sessions[si]
                        .findings
                        .get(fi)
                        .and_then(evidence_exchange);
                    app.open_session(si, ex, Some(fi));
                }
                Some((None, _)) => app.say(tr!(
                    "a capture-wide finding: it belongs to no session",
                    "整个抓包的发现：不属于任何会话"
                )),
                None => {}
            }
        }
        View::Session => {
            let (th, _) = app.pane_heights();
            let Some(d) = &mut app.detail else { return };
            if d.focus != Pane::Findings {
                return;
            }
            let Some(fi) = d.findings.item_at(d.fcursor.sel) else {
                return;
            };
            d.current_finding = Some(fi);
            let ex = app.capture.sessions[d.index]
                .findings
                .get(fi)
                .and_then(evidence_exchange);
            match ex.and_then(|ex| d.transcript.item_start.get(ex)) {
                Some(&r) => {
                    d.cursor.jump(r, d.transcript.len(), th);
                    d.follow = false;
                    d.focus = Pane::Transcript;
                }
                None => app.say(tr!(
                    "this finding cites no exchange",
                    "此发现未引用任何交互"
                )),
            }
        }
    }
}

/// What the fault keys say outside live mode.
fn faults_live_only() -> Tr {
    tr!(
        "faults are injected by the proxy: run ftpscope proxy on a terminal",
        "故障由代理注入：请在终端上运行 ftpscope proxy"
    )
}

fn no_session_selected() -> Tr {
    tr!("no session selected", "未选择会话")
}

/// Queue a fault for the live source (the event loop asks it; it says what it
/// armed or why it cannot).
fn inject(app: &mut App, f: crate::engine::Inject) {
    if app.live {
        app.effects.push(Effect::Inject(f));
    } else {
        app.warn(faults_live_only());
    }
}

/// The fault a Delay/Reply prompt's text asks for, or what is wrong with it.
fn prompt_fault(kind: PromptKind, text: &str) -> Result<crate::engine::Inject, Tr> {
    use crate::engine::Inject;
    match kind {
        PromptKind::Delay => crate::time::parse_duration(text)
            .map(Inject::Delay)
            .map_err(|e| {
                tr!(
                    "a delay such as 500ms or 2s: {e}",
                    "请输入时长，例如 500ms 或 2s（数字要带单位）"
                )
            }),
        PromptKind::Reply => match text.trim().parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(Inject::ReplyNext(c)),
            _ => Err(tr!(
                "a reply code from 100 to 599, such as 425 or 550",
                "100 到 599 之间的响应码，例如 425 或 550"
            )),
        },
        _ => Err(Tr::verbatim("")),
    }
}

fn back(app: &mut App) {
    if app.view == View::Session {
        if !app.search.is_empty() {
            app.search.clear();
            app.say(tr!("search cleared", "已清除搜索"));
            return;
        }
        if !app.line_filter.is_empty() {
            app.line_filter.clear();
            app.rebuild_detail();
            app.say(tr!("line filter cleared", "已清除行过滤"));
            return;
        }
        app.view = app.back;
        app.detail = None;
        app.clamp_lists();
    } else if !app.filter_text.is_empty() {
        app.filter_text.clear();
        app.filter = Filter::default();
        app.recompute();
        app.say(tr!("filter cleared", "已清除过滤"));
    }
}

fn switch_pane(app: &mut App, forward: bool) {
    if app.view == View::Session {
        if let Some(d) = &mut app.detail {
            if !d.findings.is_empty() {
                d.focus = match d.focus {
                    Pane::Findings => Pane::Transcript,
                    Pane::Transcript => Pane::Findings,
                };
            }
        }
        return;
    }
    const ORDER: [View; 3] = [View::Sessions, View::Data, View::Findings];
    let i = ORDER.iter().position(|v| *v == app.view).unwrap_or(0);
    let n = if forward { i + 1 } else { i + ORDER.len() - 1 };
    app.view = ORDER[n % ORDER.len()];
}

fn next_finding(app: &mut App, forward: bool) {
    match app.view {
        View::Session => {
            let (th, fh) = app.pane_heights();
            let Some(d) = &mut app.detail else { return };
            let s = &app.capture.sessions[d.index];
            let n = s.findings.len();
            if n == 0 {
                app.say(tr!("no finding in this session", "此会话没有发现"));
                return;
            }
            let next = match (d.current_finding, forward) {
                (None, true) => 0,
                (None, false) => n - 1,
                (Some(i), true) => (i + 1) % n,
                (Some(i), false) => (i + n - 1) % n,
            };
            d.current_finding = Some(next);
            if let Some(&r) = d.findings.item_start.get(next) {
                d.fcursor.jump(r, d.findings.len(), fh);
            }
            let f = &s.findings[next];
            let msg = match evidence_exchange(f).and_then(|ex| d.transcript.item_start.get(ex)) {
                Some(&r) => {
                    d.cursor.jump(r, d.transcript.len(), th);
                    d.follow = false;
                    tr!("finding {}/{n}: {}", "发现 {}/{n}：{}", next + 1, f.id)
                }
                None => tr!(
                    "finding {}/{n}: {} (cites no exchange)",
                    "发现 {}/{n}：{}（未引用交互）",
                    next + 1,
                    f.id
                ),
            };
            app.say(msg);
        }
        View::Sessions | View::Data | View::Findings => {
            let has = |app: &App, row: usize| -> bool {
                match app.view {
                    View::Sessions => !app.capture.sessions[app.session_rows[row]]
                        .findings
                        .is_empty(),
                    View::Data => !app.capture.sessions[app.data_rows[row].0]
                        .findings
                        .is_empty(),
                    _ => matches!(app.finding_rows[row], FindingRow::Item { .. }),
                }
            };
            let len = match app.view {
                View::Sessions => app.session_rows.len(),
                View::Data => app.data_rows.len(),
                _ => app.finding_rows.len(),
            };
            if len == 0 {
                return;
            }
            let cur = app.selected_row();
            let found = (1..=len)
                .map(|k| {
                    if forward {
                        (cur + k) % len
                    } else {
                        (cur + len - k % len) % len
                    }
                })
                .find(|&r| has(app, r));
            match found {
                Some(r) => {
                    let h = app.list_height();
                    if let Some((c, len, _)) = focused(app) {
                        c.jump(r, len, h);
                    }
                    set_follow(app, false);
                }
                None => app.say(tr!("no finding", "没有发现")),
            }
        }
    }
}

fn search_step(app: &mut App, forward: bool) {
    let (th, _) = app.pane_heights();
    let query = app.search.clone();
    let Some(d) = &mut app.detail else { return };
    if app.view != View::Session {
        return;
    }
    if query.is_empty() {
        app.say(tr!(
            "no search: press / to search the transcript",
            "没有搜索：按 / 搜索会话记录"
        ));
        return;
    }
    let cur = d.transcript.rows.get(d.cursor.sel).map_or(0, |r| r.logical);
    let matches: Vec<usize> = d
        .transcript
        .logical
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| t.contains(&query))
        .map(|(li, _)| li)
        .collect();
    if matches.is_empty() {
        let q = crate::text::escape_str(&query);
        app.warn(tr!("no match for \"{q}\"", "没有与“{q}”匹配的内容"));
        return;
    }
    let pick = if forward {
        matches.iter().position(|&li| li > cur).unwrap_or(0)
    } else {
        matches
            .iter()
            .rposition(|&li| li < cur)
            .unwrap_or(matches.len() - 1)
    };
    let row = d.transcript.logical[matches[pick]].0;
    d.cursor.jump(row, d.transcript.len(), th);
    d.follow = false;
    d.focus = Pane::Transcript;
    app.say(tr!("match {}/{}", "匹配 {}/{}", pick + 1, matches.len()));
}

fn prompt_changed(app: &mut App) {
    let Some(p) = &mut app.prompt else { return };
    match p.kind {
        PromptKind::Filter => match filter::parse(&p.text) {
            Ok(f) => {
                p.error = None;
                let text = p.text.clone();
                start_filter(app, f, text);
            }
            Err(e) => p.error = Some(e.get(app.lang).to_string()),
        },
        PromptKind::Search => {
            app.search = p.text.to_lowercase();
            let origin = p.origin;
            let (th, _) = app.pane_heights();
            let Some(d) = &mut app.detail else { return };
            let from = d.transcript.rows.get(origin).map_or(0, |r| r.logical);
            let hit = {
                let q = &app.search;
                let first_after = d
                    .transcript
                    .logical
                    .iter()
                    .skip(from)
                    .find(|(_, t)| t.contains(q.as_str()));
                first_after
                    .or_else(|| {
                        d.transcript
                            .logical
                            .iter()
                            .find(|(_, t)| t.contains(q.as_str()))
                    })
                    .map(|(r, _)| *r)
            };
            let err = match (hit, app.search.is_empty()) {
                (_, true) => {
                    d.cursor.jump(origin, d.transcript.len(), th);
                    None
                }
                (Some(r), false) => {
                    d.cursor.jump(r, d.transcript.len(), th);
                    d.follow = false;
                    None
                }
                (None, false) => Some(tr!("no match", "无匹配").get(app.lang).to_string()),
            };
            if let Some(p) = &mut app.prompt {
                p.error = err;
            }
        }
        PromptKind::Delay | PromptKind::Reply => {
            p.error = if p.text.trim().is_empty() {
                None
            } else {
                prompt_fault(p.kind, &p.text)
                    .err()
                    .map(|e| e.get(app.lang).to_string())
            };
        }
        PromptKind::Lines => {
            app.line_filter = p.text.to_lowercase();
            app.rebuild_detail();
            let empty = app.detail.as_ref().is_some_and(|d| d.transcript.is_empty());
            if let Some(p) = &mut app.prompt {
                p.error = (empty && !app.line_filter.is_empty()).then(|| {
                    tr!("no line matches", "没有匹配的行")
                        .get(app.lang)
                        .to_string()
                });
            }
        }
    }
}

/// Start running a filter typed into the prompt: at once for small captures,
/// in chunks (see [`DEFER_FILTER_ABOVE`]) for large ones. When the new filter
/// only narrows the one in force, only the sessions that matched are tested.
fn start_filter(app: &mut App, f: Filter, text: String) {
    let candidates = if f.narrows(&app.filter) {
        app.matched.clone()
    } else {
        app.index.time_order.clone()
    };
    app.pending_filter = Some(PendingFilter {
        filter: f,
        text,
        matched: Vec::new(),
        done: 0,
        candidates,
        report: false,
    });
    if app.capture.sessions.len() <= app.defer_filter_above {
        settle_filter(app, usize::MAX);
    }
}

/// Test up to `chunk` more sessions against the pending filter; apply it when
/// all are done.
fn settle_filter(app: &mut App, chunk: usize) {
    let Some(p) = &mut app.pending_filter else {
        return;
    };
    let sessions = &app.capture.sessions;
    let end = p.candidates.len().min(p.done.saturating_add(chunk));
    for &i in &p.candidates[p.done..end] {
        if p.filter.matches(&sessions[i]) {
            p.matched.push(i);
        }
    }
    p.done = end;
    if p.done < p.candidates.len() {
        return;
    }
    let Some(p) = app.pending_filter.take() else {
        return;
    };
    app.filter = p.filter;
    app.filter_text = p.text;
    let mut matched = p.matched;
    // Sessions appended while the filter ran were tested last.
    let sessions = &app.capture.sessions;
    matched.sort_by_key(|&i| (sessions[i].start, sessions[i].id));
    app.rebuild_rows(matched);
    if p.report {
        report_filter(app);
    }
}

fn report_filter(app: &mut App) {
    let m = if app.filter_text.is_empty() {
        tr!("no filter", "没有过滤")
    } else {
        let (n, all) = (app.session_rows.len(), app.capture.sessions.len());
        tr!("{n} of {all} sessions match", "{all} 个会话中有 {n} 个符合")
    };
    app.say(m);
}

fn prompt_accept(app: &mut App) {
    let Some(p) = &app.prompt else { return };
    if p.kind == PromptKind::Filter && p.error.is_some() {
        return;
    }
    if matches!(p.kind, PromptKind::Delay | PromptKind::Reply) {
        match prompt_fault(p.kind, &p.text) {
            Ok(f) => {
                app.prompt = None;
                app.effects.push(Effect::Inject(f));
            }
            Err(e) => {
                let e = e.get(app.lang).to_string();
                if let Some(p) = &mut app.prompt {
                    p.error = Some(e);
                }
            }
        }
        return;
    }
    let kind = p.kind;
    app.prompt = None;
    if kind == PromptKind::Filter {
        // A filter still running finishes in the background, then reports.
        match &mut app.pending_filter {
            Some(p) => p.report = true,
            None => report_filter(app),
        }
    }
}

fn prompt_cancel(app: &mut App) {
    let Some(p) = app.prompt.take() else { return };
    match p.kind {
        PromptKind::Filter => {
            app.pending_filter = None;
            app.filter = filter::parse(&p.saved).unwrap_or_default();
            app.filter_text = p.saved;
            app.recompute();
        }
        PromptKind::Search => {
            app.search = p.saved;
            let (th, _) = app.pane_heights();
            if let Some(d) = &mut app.detail {
                d.cursor.jump(p.origin, d.transcript.len(), th);
            }
        }
        PromptKind::Lines => {
            app.line_filter = p.saved;
            app.rebuild_detail();
        }
        PromptKind::Delay | PromptKind::Reply => {}
    }
}

fn mouse(app: &mut App, kind: MouseKind, column: u16, row: u16) {
    let r = app.regions();
    if r.too_small || app.help.is_some() || app.prompt.is_some() {
        return;
    }
    let pos = Position::new(column, row);
    let delta: isize = match kind {
        MouseKind::ScrollUp => -3,
        MouseKind::ScrollDown => 3,
        MouseKind::Click => 0,
    };
    if kind == MouseKind::Click && r.tabs.contains(pos) {
        if let Some(v) = layout::tab_at(app, column) {
            app.view = v;
        }
        return;
    }
    if app.view == View::Session {
        let in_findings = r.findings.is_some_and(|f| f.contains(pos));
        let in_transcript = r.transcript.contains(pos);
        if !in_findings && !in_transcript {
            return;
        }
        let (th, fh) = app.pane_heights();
        let Some(d) = &mut app.detail else { return };
        d.focus = if in_findings {
            Pane::Findings
        } else {
            Pane::Transcript
        };
        let inner = layout::inner(if in_findings {
            r.findings.unwrap_or_default()
        } else {
            r.transcript
        });
        let (c, len, h) = if in_findings {
            (&mut d.fcursor, d.findings.len(), fh)
        } else {
            (&mut d.cursor, d.transcript.len(), th)
        };
        if kind == MouseKind::Click {
            if !inner.contains(pos) {
                return;
            }
            let target = c.offset + usize::from(row - inner.y);
            if target < len {
                c.sel = target;
                c.clamp(len, h);
            }
        } else {
            c.by(delta, len, h);
        }
        set_follow(app, false);
        update_current_finding(app);
        return;
    }
    if !r.list_rows.contains(pos) && kind == MouseKind::Click {
        return;
    }
    let Some((c, len, h)) = focused(app) else {
        return;
    };
    if kind == MouseKind::Click {
        let target = c.offset + usize::from(row - r.list_rows.y);
        if target >= len {
            return;
        }
        let again = target == c.sel;
        c.sel = target;
        c.clamp(len, h);
        set_follow(app, false);
        if again {
            open(app);
        }
    } else {
        c.by(delta, len, h);
        set_follow(app, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_stays_on_screen() {
        let mut c = Cursor::default();
        c.by(15, 100, 10);
        assert_eq!((c.sel, c.offset), (15, 6));
        c.by(-20, 100, 10);
        assert_eq!((c.sel, c.offset), (0, 0));
        c.bottom(100, 10);
        assert_eq!((c.sel, c.offset), (99, 90));
        c.jump(40, 100, 9);
        assert_eq!((c.sel, c.offset), (40, 37));
        c.clamp(5, 10);
        assert_eq!((c.sel, c.offset), (4, 0));
        c.clamp(0, 10);
        assert_eq!(c, Cursor::default());
    }
}
