//! Observations: what the relay tells the engine, and the hub that feeds it.
//!
//! The relay tasks never analyse anything. They describe what they relay as
//! [`Obs`]ervations (a connection opened, a line from one side, N bytes on a data
//! connection, a FIN, ...) and hand them to one hub thread, which turns them into
//! the same [`ConnEvent`]s the TCP reassembler emits and feeds the one
//! [`Tracker`]; it also writes `--record` packets and hands finished sessions to
//! the log and to the [`ProxyObserver`].
//!
//! **The relay never waits on the hub.** Observations go through an unbounded
//! channel, but the volume in flight is capped ([`MAX_QUEUED`] entries,
//! [`MAX_QUEUED_BYTES`] bytes):
//! * a control line that does not fit is not observed: the next line of that
//!   direction carries the count, and the tracker gets a [`ConnEvent::Gap`] (the
//!   transcript shows a hole, as a capture that lost packets would);
//! * data byte counts that do not fit are merged into the next observation, so
//!   counts are never lost (only recorded payload is, as a hole in the record);
//! * connection lifecycle events (open, accepted, FIN, RST, closed) and lines that
//!   carry proxy notes are always sent: there are a few per connection, and the
//!   number of connections is bounded by `--max-sessions`.
//!
//! Relayed bytes are never dropped; only observations of them are. Drops are
//! counted and shown in the status line.
//!
//! Proxy notes (rewrites, injected faults, refusals) are events like the others:
//! the hub hands them to the tracker ([`ConnSink::note`]) in order, a note on a
//! relayed line just before that line, so the tracker attaches each to the
//! command, reply, data channel or session it belongs to as it builds the model.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::mpsc;

use super::ProxyObserver;
use super::record::{RecordEvent, RecordFile, Recorder};
use crate::engine::{LiveModel, LiveUpdate, MAX_ENDED_BYTES};
use crate::model::{Capture, CaptureStats, Session};
use crate::session::{Tracker, TrackerConfig};
use crate::tcp::{ConnEvent, ConnId, ConnInfo, ConnSink, Dir, Meta};
use crate::time::Ts;

/// Volume observations in flight at most.
pub const MAX_QUEUED: usize = 4096;
/// Bytes of volume observations in flight at most.
pub const MAX_QUEUED_BYTES: usize = 16 << 20;
/// Finished sessions kept for live views (older ones were handed to the log),
/// and at most [`MAX_ENDED_BYTES`] of them ([`Session::weight`]).
pub const MAX_LIVE_FINISHED: usize = 1000;
/// A data connection's byte count is observed at least this often while it runs.
const COUNT_EVERY_BYTES: u64 = 256 * 1024;
const COUNT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// How often the proxy tells the hub its time ([`Obs::Time`]).
pub const TIME_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The proxy's receive time.
pub fn now() -> Ts {
    Ts::now()
}

/// Connection-level events.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    Accepted,
    Refused,
    /// The source gave up waiting for an answer to its connection attempt: no
    /// accept, no refusal (a firewall that drops, a host that is down).
    NoAnswer,
    Fin(Dir),
    Reset(Dir),
}

pub use crate::tcp::NoteTarget;

/// One observation.
#[derive(Debug)]
pub enum Obs {
    /// A connection attempt. `control` is the session's control connection for a
    /// data connection, `None` for a control connection.
    Open {
        conn: ConnId,
        ts: Ts,
        initiator: SocketAddr,
        responder: SocketAddr,
        control: Option<ConnId>,
    },
    Ev {
        conn: ConnId,
        ts: Ts,
        ev: Ev,
    },
    /// Control-connection bytes (a line, or opaque TLS bytes). `lost_before`
    /// bytes of this direction were relayed but not observed before these.
    Bytes {
        conn: ConnId,
        ts: Ts,
        dir: Dir,
        bytes: Vec<u8>,
        lost_before: u64,
        notes: Vec<String>,
    },
    /// Data-connection bytes: `len` counted; `bytes` (when recording) are the last
    /// bytes of them, the rest were not kept.
    Count {
        conn: ConnId,
        ts: Ts,
        dir: Dir,
        len: u64,
        bytes: Option<Vec<u8>>,
    },
    Closed {
        conn: ConnId,
        ts: Ts,
    },
    /// The proxy ended this connection's TLS (`--tls-intercept`): its bytes
    /// from here on are plaintext; the handshake's facts.
    Tls {
        conn: ConnId,
        info: Box<crate::model::tls::TlsInfo>,
    },
    /// One side of an intercepted control connection ended: with close_notify
    /// (true) or a bare FIN (false), as [`crate::model::tls::CloseNotify`] has it.
    TlsClosed {
        conn: ConnId,
        client_side: bool,
        notified: bool,
    },
    Note {
        control: ConnId,
        ts: Ts,
        target: NoteTarget,
        text: String,
    },
    /// `--record` of an intercepted connection: bytes as they travelled on the
    /// client's leg (TLS records), for the record only; `lost_before` bytes of
    /// this direction were not observed before these.
    Wire {
        conn: ConnId,
        ts: Ts,
        dir: Dir,
        bytes: Vec<u8>,
        lost_before: u64,
    },
    /// The proxy's time, sent every [`TIME_EVERY`]: open sessions last until
    /// then in live views, a transfer that moves no bytes for a while included.
    Time {
        ts: Ts,
    },
    /// `--record` of intercepted connections: the client legs' TLS secrets (key
    /// log lines), written as a Decryption Secrets Block.
    Secrets {
        keylog: String,
    },
    /// `--record` of an intercepted data connection, before its [`Obs::Open`]:
    /// the address the client connected to (the proxy's), which the record shows
    /// as the responder, as the announcement it holds (the client's) names it.
    LegAddress {
        conn: ConnId,
        responder: SocketAddr,
    },
}

impl Obs {
    /// Weight in the volume budget (None: lifecycle, never dropped).
    fn weight(&self) -> Option<usize> {
        match self {
            Obs::Bytes { bytes, notes, .. } if notes.is_empty() => Some(bytes.len() + 64),
            Obs::Count { bytes, .. } => Some(bytes.as_ref().map_or(0, Vec::len) + 64),
            Obs::Wire { bytes, .. } => Some(bytes.len() + 64),
            _ => None,
        }
    }
}

/// Counters shared between the relay, the hub and the status line.
#[derive(Debug, Default)]
pub struct Budget {
    queued: AtomicUsize,
    queued_bytes: AtomicUsize,
    /// Observations dropped because the hub was behind.
    pub dropped: AtomicU64,
}

/// The relay's side of the hub: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Observer {
    tx: mpsc::UnboundedSender<Obs>,
    budget: Arc<Budget>,
    /// Record payload of data connections (`--record`).
    pub record_data: bool,
    /// `--record`: intercepted connections are recorded as they travelled on the
    /// client's leg ([`WireFeed`], [`Obs::Secrets`]).
    pub record_wire: bool,
}

impl Observer {
    /// An observer and the hub's end; `budget` is shared with the hub and the status line.
    pub fn new(record_data: bool, budget: Arc<Budget>) -> (Observer, mpsc::UnboundedReceiver<Obs>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Observer {
                tx,
                budget,
                record_data,
                record_wire: false,
            },
            rx,
        )
    }

    /// Send an observation that is never dropped.
    pub fn always(&self, o: Obs) {
        if let Some(w) = o.weight() {
            self.budget.queued.fetch_add(1, Ordering::Relaxed);
            self.budget.queued_bytes.fetch_add(w, Ordering::Relaxed);
        }
        let _ = self.tx.send(o);
    }

    /// Send a volume observation if the budget allows; otherwise hand it back.
    pub fn try_volume(&self, o: Obs) -> Result<(), Obs> {
        let w = o.weight().unwrap_or(0);
        let q = self.budget.queued.fetch_add(1, Ordering::Relaxed);
        let b = self.budget.queued_bytes.fetch_add(w, Ordering::Relaxed);
        if q >= MAX_QUEUED || b + w > MAX_QUEUED_BYTES {
            self.budget.queued.fetch_sub(1, Ordering::Relaxed);
            self.budget.queued_bytes.fetch_sub(w, Ordering::Relaxed);
            self.budget.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(o);
        }
        match self.tx.send(o) {
            Ok(()) => Ok(()),
            Err(e) => Err(e.0),
        }
    }

    pub fn event(&self, conn: ConnId, ev: Ev) {
        self.always(Obs::Ev {
            conn,
            ts: now(),
            ev,
        });
    }

    /// The proxy ended `conn`'s TLS itself: plaintext from here on (see [`Obs::Tls`]).
    pub fn tls(&self, conn: ConnId, info: crate::model::tls::TlsInfo) {
        self.always(Obs::Tls {
            conn,
            info: Box::new(info),
        });
    }

    /// How one side of `conn`'s intercepted TLS ended (see [`Obs::TlsClosed`]).
    pub fn tls_closed(&self, conn: ConnId, client_side: bool, notified: bool) {
        self.always(Obs::TlsClosed {
            conn,
            client_side,
            notified,
        });
    }

    /// The proxy's time now, for live views ([`Obs::Time`]).
    pub fn time(&self) {
        self.always(Obs::Time { ts: now() });
    }

    pub fn closed(&self, conn: ConnId) {
        self.always(Obs::Closed { conn, ts: now() });
    }

    pub fn note(&self, control: ConnId, target: NoteTarget, text: impl Into<String>) {
        self.always(Obs::Note {
            control,
            ts: now(),
            target,
            text: text.into(),
        });
    }
}

/// A control connection's feed: lines, with losses carried forward as gaps.
pub struct ControlFeed {
    pub obs: Observer,
    pub conn: ConnId,
    lost: [u64; 2],
}

impl ControlFeed {
    pub fn new(obs: Observer, conn: ConnId) -> Self {
        ControlFeed {
            obs,
            conn,
            lost: [0, 0],
        }
    }

    /// Bytes relayed (or, for a proxy-made reply, sent) in one direction.
    pub fn bytes(&mut self, ts: Ts, dir: Dir, bytes: Vec<u8>, notes: Vec<String>) {
        let i = dir.idx();
        let len = bytes.len() as u64;
        let o = Obs::Bytes {
            conn: self.conn,
            ts,
            dir,
            bytes,
            lost_before: self.lost[i],
            notes,
        };
        if o.weight().is_none() {
            self.obs.always(o);
            self.lost[i] = 0;
            return;
        }
        match self.obs.try_volume(o) {
            Ok(()) => self.lost[i] = 0,
            Err(_) => self.lost[i] += len,
        }
    }
}

/// The bytes of an intercepted connection as they travel on the client's leg
/// (TLS records), for `--record`; losses carried forward as holes.
pub struct WireFeed {
    obs: Observer,
    conn: ConnId,
    /// The direction of bytes from the client on the logical connection.
    from_client: Dir,
    lost: [u64; 2],
}

impl WireFeed {
    /// A feed when the proxy records (`--record`), else None.
    pub fn new(obs: &Observer, conn: ConnId, client_is_initiator: bool) -> Option<Self> {
        obs.record_wire.then(|| WireFeed {
            obs: obs.clone(),
            conn,
            from_client: if client_is_initiator {
                Dir::FromInitiator
            } else {
                Dir::FromResponder
            },
            lost: [0, 0],
        })
    }

    /// `bytes` travelled from the client (`true`) or to it.
    pub fn travelled(&mut self, from_client: bool, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let dir = if from_client {
            self.from_client
        } else {
            self.from_client.other()
        };
        let i = dir.idx();
        let o = Obs::Wire {
            conn: self.conn,
            ts: now(),
            dir,
            bytes: bytes.to_vec(),
            lost_before: self.lost[i],
        };
        match self.obs.try_volume(o) {
            Ok(()) => self.lost[i] = 0,
            Err(_) => self.lost[i] += bytes.len() as u64,
        }
    }

    /// Secrets of the client leg's TLS, in key log format.
    pub fn secrets(obs: &Observer, keylog: String) {
        obs.always(Obs::Secrets { keylog });
    }
}

/// A data connection's feed (one per direction): byte counts merged between
/// observations.
pub struct DataFeed {
    pub obs: Observer,
    pub conn: ConnId,
    pending: u64,
    last_ts: Ts,
    rec: Vec<u8>,
    sent_any: bool,
    last_sent: Instant,
}

impl DataFeed {
    pub fn new(obs: Observer, conn: ConnId) -> Self {
        DataFeed {
            obs,
            conn,
            pending: 0,
            last_ts: Ts(0),
            rec: Vec::new(),
            sent_any: false,
            last_sent: Instant::now(),
        }
    }

    /// `bytes` were relayed in direction `dir`.
    pub fn chunk(&mut self, dir: Dir, bytes: &[u8]) {
        let ts = now();
        self.pending += bytes.len() as u64;
        self.last_ts = ts;
        if self.obs.record_data {
            // Only the newest chunk's payload travels; earlier unsent ones are a hole.
            self.rec.clear();
            self.rec.extend_from_slice(bytes);
            self.send(dir, false);
        } else if !self.sent_any
            || self.pending >= COUNT_EVERY_BYTES
            || self.last_sent.elapsed() >= COUNT_EVERY
        {
            self.send(dir, false);
        }
    }

    /// The bytes of `buf` were relayed in direction `dir`. Recorded, they travel
    /// to the hub in `buf` itself, which is given the feed's spare buffer in
    /// exchange (empty, perhaps without capacity): no copy per chunk.
    pub fn chunk_owned(&mut self, dir: Dir, buf: &mut Vec<u8>) {
        if !self.obs.record_data {
            self.chunk(dir, buf);
            return;
        }
        self.pending += buf.len() as u64;
        self.last_ts = now();
        // Only the newest chunk's payload travels; an earlier unsent one is a hole.
        std::mem::swap(&mut self.rec, buf);
        buf.clear();
        self.send(dir, false);
    }

    /// `len` bytes were relayed without passing through the proxy's memory.
    pub fn count(&mut self, dir: Dir, len: u64) {
        self.pending += len;
        self.last_ts = now();
        if !self.sent_any
            || self.pending >= COUNT_EVERY_BYTES
            || self.last_sent.elapsed() >= COUNT_EVERY
        {
            self.send(dir, false);
        }
    }

    fn send(&mut self, dir: Dir, always: bool) {
        if self.pending == 0 {
            return;
        }
        let o = Obs::Count {
            conn: self.conn,
            ts: self.last_ts,
            dir,
            len: self.pending,
            bytes: if self.obs.record_data {
                Some(std::mem::take(&mut self.rec))
            } else {
                None
            },
        };
        let ok = if always {
            self.obs.always(o);
            true
        } else {
            match self.obs.try_volume(o) {
                Ok(()) => true,
                Err(Obs::Count {
                    bytes: Some(mut b), ..
                }) => {
                    // Keep the buffer for reuse; its payload is lost to the record.
                    b.clear();
                    self.rec = b;
                    false
                }
                Err(_) => false,
            }
        };
        if ok {
            self.pending = 0;
            self.sent_any = true;
            self.last_sent = Instant::now();
        }
    }

    /// Send what is still counted (before a FIN, RST or the end).
    pub fn flush(&mut self, dir: Dir) {
        self.send(dir, true);
    }
}

/// Sessions rendered for the log but not written yet (the file refused them),
/// at most this many bytes; older ones are given up past it, and counted.
pub const LOG_WAITING_BYTES: usize = 4 << 20;

/// Where finished sessions are written (`--log FILE`).
///
/// Each session is rendered whole in memory, then written with one `write_all`;
/// when that fails (disk full), the file is cut back to its length before, so
/// it never holds half a session (half a JSON line). The session waits, and
/// every later session first retries what waits: writing resumes by itself
/// when space returns. [`deliver`] says so on the observer (stderr) at the
/// first failure and at the recovery.
pub struct LogSink {
    file: File,
    path: String,
    log: crate::report::stream::SessionLog,
    waiting: VecDeque<Vec<u8>>,
    waiting_bytes: usize,
    /// Sessions given up since the last successful write.
    lost: u64,
    /// The error the file gave, while it gives one.
    failing: Option<String>,
}

/// What became of a session handed to the log.
#[derive(Debug, PartialEq, Eq)]
pub enum LogOutcome {
    Written,
    /// The first failure after good writes: tell.
    Failed(String),
    /// Still failing (already told).
    StillFailing,
    /// Written again after failures: tell, with the sessions given up.
    Recovered {
        lost: u64,
    },
}

impl LogSink {
    pub fn new(file: File, path: &std::path::Path, log: crate::report::stream::SessionLog) -> Self {
        LogSink {
            file,
            path: path.display().to_string(),
            log,
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            lost: 0,
            failing: None,
        }
    }

    fn render(&mut self, s: &Session) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.log.session(&mut out, s)?;
        Ok(out)
    }

    /// The end of the log (Zeek's `#close`), when the proxy stops; a failure is
    /// the log's error as for a session.
    pub fn finish(&mut self) -> Option<String> {
        let mut out = Vec::new();
        self.log
            .finish(&mut out, &[], crate::time::Ts::now())
            .ok()?;
        if out.is_empty() || !self.waiting.is_empty() {
            return None;
        }
        self.write_entry(&out)
            .err()
            .map(|e| format!("cannot write the end of the log {}: {e}", self.path))
    }

    /// One whole entry, or nothing (the file is cut back on failure).
    fn write_entry(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let before = self.file.seek(SeekFrom::End(0))?;
        if let Err(e) = self.file.write_all(bytes).and_then(|()| self.file.flush()) {
            let _ = self.file.set_len(before);
            return Err(e);
        }
        Ok(())
    }

    pub fn write(&mut self, s: &Session) -> LogOutcome {
        match self.render(s) {
            Ok(b) => {
                self.waiting_bytes += b.len();
                self.waiting.push_back(b);
            }
            Err(_) => self.lost += 1,
        }
        while let Some(b) = self.waiting.pop_front() {
            if let Err(e) = self.write_entry(&b) {
                self.waiting.push_front(b);
                // Only while the file fails do sessions wait; past the budget the
                // oldest are given up (counted), the newest always waits (a session
                // bigger than the budget is not lost while the disk is fine).
                while self.waiting_bytes > LOG_WAITING_BYTES && self.waiting.len() > 1 {
                    if let Some(old) = self.waiting.pop_front() {
                        self.waiting_bytes -= old.len();
                        self.lost += 1;
                    }
                }
                let first = self.failing.is_none();
                self.failing = Some(e.to_string());
                return if first {
                    LogOutcome::Failed(format!(
                        "cannot write the log {}: {e}; sessions wait in memory (up to {} MiB) and writing is retried at each session",
                        self.path,
                        LOG_WAITING_BYTES >> 20
                    ))
                } else {
                    LogOutcome::StillFailing
                };
            }
            self.waiting_bytes -= b.len();
        }
        if self.failing.take().is_some() {
            let lost = std::mem::take(&mut self.lost);
            return LogOutcome::Recovered { lost };
        }
        LogOutcome::Written
    }

    /// Sessions still waiting at the end of the run (and given up), for the exit status.
    pub fn unwritten(&self) -> Option<String> {
        let n = self.waiting.len() as u64 + self.lost;
        (n > 0).then(|| {
            format!(
                "{n} session(s) could not be written to the log {}: {}",
                self.path,
                self.failing.as_deref().unwrap_or("rendering failed")
            )
        })
    }
}

/// Everything the hub owns that live views read: the engine's live model.
pub struct Live {
    model: LiveModel,
}

impl Live {
    pub fn new(cfg: TrackerConfig) -> Self {
        Live::with_budget(cfg, MAX_ENDED_BYTES)
    }

    /// Keeping finished sessions weighing at most `keep_bytes` for live views.
    pub fn with_budget(cfg: TrackerConfig, keep_bytes: usize) -> Self {
        let mut model = LiveModel::new(cfg, MAX_LIVE_FINISHED, keep_bytes);
        // The proxy relays every data connection: one it did not see was not made.
        model.tracker_mut().set_all_connections_visible();
        Live { model }
    }

    pub fn open_sessions(&self) -> usize {
        self.model.open_sessions()
    }

    /// Every session: the newest finished ones and the open ones (not yet
    /// diagnosed), by id; capture-wide findings.
    pub fn snapshot(&self) -> Capture {
        self.model.snapshot()
    }

    /// What changed since a live view saw `since` finished sessions: those
    /// finished after them and the open ones now (see [`crate::engine::LiveSource`]).
    pub fn update(&self, since: u64) -> LiveUpdate {
        self.model.update(since)
    }

    /// The proxy's own counters (packets: control reads; bytes; connections).
    fn stats(&mut self) -> &mut CaptureStats {
        self.model.pipeline_mut().source_stats_mut()
    }

    fn tracker(&mut self) -> &mut Tracker {
        self.model.tracker_mut()
    }

    fn meta(&mut self, ts: Ts) -> Meta {
        let st = self.stats();
        st.first.get_or_insert(ts);
        st.last = Some(st.last.map_or(ts, |l| l.max(ts)));
        Meta { ts, frame: 0 }
    }

    fn apply<W: Write>(&mut self, o: Obs, rec: &mut Option<Recorder<W>>) -> std::io::Result<()> {
        match o {
            Obs::Open {
                conn,
                ts,
                initiator,
                responder,
                control: _,
            } => {
                let meta = self.meta(ts);
                self.stats().tcp_connections += 1;
                self.tracker().open(
                    meta,
                    &ConnInfo {
                        id: conn,
                        initiator,
                        responder,
                        handshake_seen: true,
                    },
                );
                if let Some(r) = rec {
                    r.open(ts, conn, initiator, responder)?;
                }
            }
            Obs::Ev { conn, ts, ev } => {
                let meta = self.meta(ts);
                let e = match ev {
                    Ev::Accepted => ConnEvent::Accepted,
                    Ev::Refused => ConnEvent::Refused,
                    Ev::Fin(dir) => ConnEvent::Fin { dir },
                    Ev::Reset(dir) => ConnEvent::Reset { dir },
                    Ev::NoAnswer => {
                        // Nothing came on the wire: only the time the source waited,
                        // which is what tells an unanswered attempt from a cut capture.
                        self.tracker().time_seen(ts);
                        return Ok(());
                    }
                };
                self.tracker().event(meta, conn, e);
                if let Some(r) = rec {
                    match ev {
                        Ev::Accepted => r.accepted(ts, conn)?,
                        Ev::Refused => r.refused(ts, conn)?,
                        Ev::Fin(d) => r.fin(ts, conn, d)?,
                        Ev::Reset(d) => r.reset(ts, conn, d)?,
                        Ev::NoAnswer => {}
                    }
                }
            }
            Obs::Bytes {
                conn,
                ts,
                dir,
                bytes,
                lost_before,
                notes,
            } => {
                let meta = self.meta(ts);
                self.stats().packets += 1;
                self.stats().bytes += bytes.len() as u64;
                if lost_before > 0 {
                    self.tracker().event(
                        meta,
                        conn,
                        ConnEvent::Gap {
                            dir,
                            len: lost_before,
                        },
                    );
                    if let Some(r) = rec
                        && !r.is_wire(conn)
                    {
                        r.skip(conn, dir, lost_before);
                    }
                }
                // The notes go just before their line: it is the next one of `dir`.
                for text in notes {
                    self.tracker().note(meta, conn, NoteTarget::Line(dir), text);
                }
                self.tracker()
                    .event(meta, conn, ConnEvent::Data { dir, bytes: &bytes });
                if let Some(r) = rec {
                    r.plain(ts, conn, dir, &bytes)?;
                }
            }
            Obs::Count {
                conn,
                ts,
                dir,
                len,
                bytes,
            } => {
                let meta = self.meta(ts);
                self.stats().bytes += len;
                self.tracker()
                    .event(meta, conn, ConnEvent::Count { dir, len });
                if let Some(b) = &bytes {
                    // Only the newest chunk's payload travels: the rest is a hole.
                    let missing = len.saturating_sub(b.len() as u64);
                    self.tracker().data_payload(conn, dir, missing, b);
                }
                if let Some(r) = rec
                    && !r.is_wire(conn)
                {
                    let kept = bytes.as_ref().map_or(0, Vec::len) as u64;
                    r.skip(conn, dir, len.saturating_sub(kept));
                    if let Some(b) = bytes {
                        r.data(ts, conn, dir, &b)?;
                    }
                }
            }
            Obs::Closed { conn, ts } => {
                let meta = self.meta(ts);
                self.tracker().closed(meta, conn);
                if let Some(r) = rec {
                    r.closed(conn);
                }
            }
            Obs::Tls { conn, info } => self.tracker().source_tls(conn, *info),
            Obs::TlsClosed {
                conn,
                client_side,
                notified,
            } => self
                .tracker()
                .source_tls_closed(conn, client_side, notified),
            // For views only: the tracker's verdicts do not depend on it.
            Obs::Time { ts } => self.model.time_seen(ts),
            Obs::Wire {
                conn,
                ts,
                dir,
                bytes,
                lost_before,
            } => {
                // For the record only: the tracker sees the plaintext.
                if let Some(r) = rec {
                    r.wire(ts, conn, dir, &bytes, lost_before)?;
                }
            }
            Obs::Secrets { keylog } => {
                if let Some(r) = rec {
                    r.secrets(&keylog)?;
                }
            }
            Obs::LegAddress { conn, responder } => {
                if let Some(r) = rec {
                    r.leg_address(conn, responder);
                }
            }
            Obs::Note {
                control,
                ts,
                target,
                text,
            } => {
                // Not a packet: the statistics' first and last times stay.
                self.tracker()
                    .note(Meta { ts, frame: 0 }, control, target, text);
            }
        }
        Ok(())
    }

    /// Sessions the tracker finished; a copy stays for live views.
    fn take_finished(&mut self) -> Vec<Session> {
        self.model.take_ended()
    }

    fn finish(&mut self) -> Vec<Session> {
        self.model.finish()
    }
}

/// State shared by the hub, the relay and live views.
pub struct Shared {
    pub live: Mutex<Live>,
    pub budget: Arc<Budget>,
    /// Problems with the record or the log (first one kept).
    pub output_error: Mutex<Option<String>>,
    pub record_skipped: AtomicU64,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, what: String) {
        let mut e = self.output_error.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(what);
        }
    }

    /// The record is written again (a log error stays).
    fn clear_record_error(&self) {
        let mut e = self.output_error.lock().unwrap_or_else(|e| e.into_inner());
        if e.as_deref()
            .is_some_and(|m| m.starts_with("cannot write the record"))
        {
            *e = None;
        }
    }

    /// The log is written again (a record error stays).
    fn clear_error(&self) {
        let mut e = self.output_error.lock().unwrap_or_else(|e| e.into_inner());
        if e.as_deref()
            .is_some_and(|m| m.starts_with("cannot write the log"))
        {
            *e = None;
        }
    }
}

/// The hub: run on its own thread until every [`Observer`] is dropped.
pub fn run_hub(
    mut rx: mpsc::UnboundedReceiver<Obs>,
    shared: Arc<Shared>,
    mut rec: Option<Recorder<RecordFile>>,
    mut log: Option<LogSink>,
    sink: Arc<dyn ProxyObserver>,
) {
    let mut batch = Vec::with_capacity(256);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        let done = {
            let mut live = shared.lock();
            for o in batch.drain(..) {
                if let Some(w) = o.weight() {
                    shared.budget.queued.fetch_sub(1, Ordering::Relaxed);
                    shared.budget.queued_bytes.fetch_sub(w, Ordering::Relaxed);
                }
                if let Err(e) = live.apply(o, &mut rec) {
                    let m = format!(
                        "cannot write the record: {e}; the proxy keeps relaying but records nothing more"
                    );
                    tracing::warn!("{m}");
                    shared.fail(m);
                    rec = None;
                }
            }
            if let Some(r) = rec.as_mut() {
                shared
                    .record_skipped
                    .store(r.skipped_bytes, Ordering::Relaxed);
                match r.writer_mut().take_event() {
                    None => {}
                    Some(RecordEvent::Failed(e)) => {
                        let m = format!(
                            "cannot write the record: {e}; the proxy keeps relaying, packets wait in memory (up to {} MiB) and writing is retried",
                            super::record::RECORD_WAITING_BYTES >> 20
                        );
                        tracing::warn!("{m}");
                        shared.fail(m);
                    }
                    Some(RecordEvent::Recovered { lost }) => {
                        let m = if lost > 0 {
                            format!(
                                "the record is written again; {lost} packet(s) could not wait and are missing from it"
                            )
                        } else {
                            "the record is written again; no packet is missing from it".to_string()
                        };
                        tracing::warn!("{m}");
                        shared.clear_record_error();
                    }
                }
            }
            let done = live.take_finished();
            if !done.is_empty() {
                // A session that ended is on disk, whole, before a view can see
                // it ended (the TUI's `x` exports from the record). A failure is
                // told through the record's events above.
                if let Some(r) = rec.as_mut() {
                    let _ = r.flush();
                }
            }
            done
        };
        deliver(&done, &mut log, &*sink, &shared);
    }
    let done = shared.lock().finish();
    deliver(&done, &mut log, &*sink, &shared);
    if let Some(m) = log.as_mut().and_then(LogSink::finish) {
        tracing::warn!("{m}");
        shared.fail(m);
    }
    sink.finished();
    if let Some(m) = log.as_ref().and_then(LogSink::unwritten) {
        tracing::warn!("{m}");
        shared.fail(m);
    }
    if let Some(mut r) = rec {
        if let Err(e) = r.flush() {
            shared.fail(format!("cannot write the record: {e}"));
        }
    }
}

fn deliver(done: &[Session], log: &mut Option<LogSink>, sink: &dyn ProxyObserver, shared: &Shared) {
    for s in done {
        if let Some(l) = log.as_mut() {
            match l.write(s) {
                LogOutcome::Written | LogOutcome::StillFailing => {}
                LogOutcome::Failed(m) => {
                    tracing::warn!("{m}");
                    shared.fail(m);
                }
                LogOutcome::Recovered { lost } => {
                    let m = if lost > 0 {
                        format!(
                            "the log {} is written again; {lost} session(s) could not wait and are missing from it",
                            l.path
                        )
                    } else {
                        format!(
                            "the log {} is written again; no session is missing from it",
                            l.path
                        )
                    };
                    tracing::warn!("{m}");
                    shared.clear_error();
                }
            }
        }
        sink.session_finished(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// When the hub is behind, lines are not observed but never block: the next
    /// observed line carries the loss, and the tracker shows a hole there.
    #[test]
    fn a_full_queue_drops_lines_as_a_gap_and_counts() {
        let budget = Arc::new(Budget::default());
        let (obs, mut rx) = Observer::new(false, budget.clone());
        let (c, s) = (sa("10.0.0.1:40000"), sa("10.0.0.2:21"));
        obs.always(Obs::Open {
            conn: 1,
            ts: Ts(1_000),
            initiator: c,
            responder: s,
            control: None,
        });
        obs.event(1, Ev::Accepted);
        let mut feed = ControlFeed::new(obs.clone(), 1);
        feed.bytes(
            Ts(2_000),
            Dir::FromResponder,
            b"220 hi\r\n".to_vec(),
            vec![],
        );
        // Fill the queue: nobody drains it yet.
        for i in 0..MAX_QUEUED {
            let _ = obs.try_volume(Obs::Count {
                conn: 99,
                ts: Ts(3_000 + i as i64),
                dir: Dir::FromInitiator,
                len: 1,
                bytes: None,
            });
        }
        feed.bytes(
            Ts(9_000),
            Dir::FromInitiator,
            b"USER lost\r\n".to_vec(),
            vec![],
        );
        assert!(budget.dropped.load(Ordering::Relaxed) >= 1);
        // The hub catches up.
        let mut live = Live::new(TrackerConfig::default());
        let mut rec: Option<Recorder<Vec<u8>>> = None;
        while let Ok(o) = rx.try_recv() {
            if let Some(w) = o.weight() {
                budget.queued.fetch_sub(1, Ordering::Relaxed);
                budget.queued_bytes.fetch_sub(w, Ordering::Relaxed);
            }
            live.apply(o, &mut rec).unwrap();
        }
        feed.bytes(Ts(10_000), Dir::FromInitiator, b"QUIT\r\n".to_vec(), vec![]);
        while let Ok(o) = rx.try_recv() {
            live.apply(o, &mut rec).unwrap();
        }
        let snap = live.snapshot();
        let sess = &snap.sessions[0];
        assert_eq!(sess.capture.gap_bytes[0], b"USER lost\r\n".len() as u64);
        let verbs: Vec<_> = sess.exchanges.iter().filter_map(|e| e.verb()).collect();
        assert_eq!(verbs, ["QUIT"]);
    }

    /// Finished sessions kept for live views are bounded in bytes, not only in
    /// number: big transcripts do not pile up (the newest are kept).
    #[test]
    fn finished_sessions_kept_for_live_views_are_bounded_in_bytes() {
        let budget = Arc::new(Budget::default());
        let (obs, mut rx) = Observer::new(false, budget);
        let mut live = Live::with_budget(
            TrackerConfig {
                ftp_ports: vec![21],
                ..Default::default()
            },
            300_000,
        );
        let mut line = b"214-".to_vec();
        line.extend(std::iter::repeat_n(b'h', 1000));
        line.extend_from_slice(b"\r\n");
        let mut rec: Option<Recorder<Vec<u8>>> = None;
        for i in 0..10u16 {
            let conn = u64::from(i) + 1;
            let t = 1_000_000 * i64::from(i);
            obs.always(Obs::Open {
                conn,
                ts: Ts(t),
                initiator: sa(&format!("10.0.0.1:{}", 40000 + i)),
                responder: sa("10.0.0.2:21"),
                control: None,
            });
            obs.event(conn, Ev::Accepted);
            let mut feed = ControlFeed::new(obs.clone(), conn);
            feed.bytes(
                Ts(t + 1),
                Dir::FromResponder,
                b"220 hi\r\n".to_vec(),
                vec![],
            );
            feed.bytes(Ts(t + 2), Dir::FromInitiator, b"HELP\r\n".to_vec(), vec![]);
            // A 50 KB reply: the session holds about 100 KB (text and lines).
            for k in 0..50 {
                feed.bytes(Ts(t + 3 + k), Dir::FromResponder, line.clone(), vec![]);
            }
            feed.bytes(
                Ts(t + 60),
                Dir::FromResponder,
                b"214 end\r\n".to_vec(),
                vec![],
            );
            obs.closed(conn);
            while let Ok(o) = rx.try_recv() {
                live.apply(o, &mut rec).unwrap();
            }
            live.take_finished();
        }
        assert_eq!(live.model.ended_total(), 10);
        let kept: Vec<u16> = live.model.ended_kept().map(|s| s.client.port()).collect();
        assert!(
            (1..10).contains(&kept.len()),
            "kept {} of 10 sessions of ~100 KB within 300 KB",
            kept.len()
        );
        assert_eq!(*kept.last().unwrap(), 40009, "the newest is kept");
        let sum: usize = live.model.ended_kept().map(Session::weight).sum();
        assert_eq!(sum, live.model.ended_bytes());
        assert!(
            live.model.ended_bytes() <= 300_000,
            "{}",
            live.model.ended_bytes()
        );
        assert!(live.model.ended_kept().next().unwrap().weight() > 100_000);
    }

    /// The proxy's live view gets the capture-wide findings (password guessing)
    /// as live capture's does; it used to get none.
    #[test]
    fn live_view_has_capture_wide_findings() {
        let budget = Arc::new(Budget::default());
        let (obs, mut rx) = Observer::new(false, budget);
        let mut live = Live::new(TrackerConfig::default());
        let mut rec: Option<Recorder<Vec<u8>>> = None;
        for i in 0..8u16 {
            let conn = u64::from(i) + 1;
            let t = 1_000_000_000 * i64::from(i);
            obs.always(Obs::Open {
                conn,
                ts: Ts(t),
                initiator: sa(&format!("10.0.0.1:{}", 40000 + i)),
                responder: sa("10.0.0.2:21"),
                control: None,
            });
            obs.event(conn, Ev::Accepted);
            let mut feed = ControlFeed::new(obs.clone(), conn);
            let lines: [(Dir, &[u8]); 5] = [
                (Dir::FromResponder, b"220 hi\r\n"),
                (Dir::FromInitiator, b"USER root\r\n"),
                (Dir::FromResponder, b"331 password\r\n"),
                (Dir::FromInitiator, b"PASS guess\r\n"),
                (Dir::FromResponder, b"530 Login incorrect\r\n"),
            ];
            for (k, (dir, line)) in lines.into_iter().enumerate() {
                feed.bytes(Ts(t + 1 + k as i64), dir, line.to_vec(), vec![]);
            }
            obs.closed(conn);
            while let Ok(o) = rx.try_recv() {
                live.apply(o, &mut rec).unwrap();
            }
            live.take_finished();
        }
        let u = live.update(0);
        assert!(
            u.findings.iter().any(|f| f.id == "login-failed"),
            "{:?}",
            u.findings
        );
        assert!(
            live.snapshot()
                .findings
                .iter()
                .any(|f| f.id == "login-failed"),
            "snapshot"
        );
    }

    /// Notes travel with the events: on a multi-line reply's first line they land
    /// on that reply (not on the line's neighbours), on a data connection before
    /// the tracker tied it to a channel they wait for it, on an address they land
    /// on the newest channel announced with it, and on a dropped line they are kept
    /// with the session.
    #[test]
    fn notes_land_on_the_reply_channel_and_session_they_belong_to() {
        let budget = Arc::new(Budget::default());
        let (obs, mut rx) = Observer::new(false, budget);
        let (c, s) = (sa("10.0.0.1:40000"), sa("10.0.0.2:21"));
        obs.always(Obs::Open {
            conn: 1,
            ts: Ts(1_000),
            initiator: c,
            responder: s,
            control: None,
        });
        obs.event(1, Ev::Accepted);
        let mut feed = ControlFeed::new(obs.clone(), 1);
        let t = |n: i64| Ts(1_000 + n);
        feed.bytes(
            t(1),
            Dir::FromResponder,
            b"220-hi\r\n".to_vec(),
            vec!["greeting held".into()],
        );
        feed.bytes(t(1), Dir::FromResponder, b"220 there\r\n".to_vec(), vec![]);
        feed.bytes(t(2), Dir::FromInitiator, b"PASV\r\n".to_vec(), vec![]);
        feed.bytes(
            t(3),
            Dir::FromResponder,
            b"227 Entering Passive Mode (10,0,0,2,4,1).\r\n".to_vec(),
            vec!["rewritten".into()],
        );
        obs.note(
            1,
            NoteTarget::Announced(sa("10.0.0.2:1025")),
            "refused a thief",
        );
        obs.note(1, NoteTarget::Conn(2), "fault injected");
        obs.always(Obs::Open {
            conn: 2,
            ts: t(4),
            initiator: sa("10.0.0.1:40001"),
            responder: sa("10.0.0.2:1025"),
            control: Some(1),
        });
        feed.bytes(
            t(5),
            Dir::FromInitiator,
            b"\r\n".to_vec(),
            vec!["empty line".into()],
        );
        obs.note(
            1,
            NoteTarget::Announced(sa("10.0.0.9:9")),
            "no such channel",
        );
        let mut live = Live::new(TrackerConfig::default());
        let mut rec: Option<Recorder<Vec<u8>>> = None;
        while let Ok(o) = rx.try_recv() {
            live.apply(o, &mut rec).unwrap();
        }
        let snap = live.snapshot();
        let sess = &snap.sessions[0];
        assert_eq!(sess.control_conn, 1);
        assert_eq!(sess.exchanges[0].replies[0].notes, ["greeting held"]);
        let pasv = &sess.exchanges[1];
        assert!(pasv.command.as_ref().unwrap().notes.is_empty());
        assert_eq!(pasv.replies[0].notes, ["rewritten"]);
        assert_eq!(
            sess.data_channels[0].notes,
            ["refused a thief", "fault injected"]
        );
        assert!(
            sess.anomalies.iter().any(|a| *a == "proxy: empty line"),
            "{:?}",
            sess.anomalies
        );
        assert!(
            sess.anomalies
                .iter()
                .any(|a| *a == "proxy: no such channel")
        );
    }

    #[test]
    fn notes_find_their_line_when_lines_share_a_time() {
        let budget = Arc::new(Budget::default());
        let (obs, mut rx) = Observer::new(false, budget);
        obs.always(Obs::Open {
            conn: 1,
            ts: Ts(1_000),
            initiator: sa("10.0.0.1:40000"),
            responder: sa("10.0.0.2:21"),
            control: None,
        });
        let mut feed = ControlFeed::new(obs.clone(), 1);
        // Two lines with the same receive time: the note goes with its own line.
        feed.bytes(
            Ts(2_000),
            Dir::FromResponder,
            b"220 hi\r\n".to_vec(),
            vec![],
        );
        feed.bytes(Ts(3_000), Dir::FromInitiator, b"NOOP\r\n".to_vec(), vec![]);
        feed.bytes(
            Ts(3_000),
            Dir::FromInitiator,
            b"PORT 10,0,0,1,1,1\r\n".to_vec(),
            vec!["refused".into()],
        );
        obs.note(1, NoteTarget::Session, "hello");
        let mut live = Live::new(TrackerConfig::default());
        let mut rec: Option<Recorder<Vec<u8>>> = None;
        while let Ok(o) = rx.try_recv() {
            live.apply(o, &mut rec).unwrap();
        }
        let s = &live.snapshot().sessions[0];
        let port = s
            .exchanges
            .iter()
            .find(|e| e.verb() == Some("PORT"))
            .unwrap();
        assert_eq!(port.command.as_ref().unwrap().notes, ["refused"]);
        let noop = s
            .exchanges
            .iter()
            .find(|e| e.verb() == Some("NOOP"))
            .unwrap();
        assert!(noop.command.as_ref().unwrap().notes.is_empty());
        assert!(s.anomalies.iter().any(|a| *a == "proxy: hello"));
    }
}
