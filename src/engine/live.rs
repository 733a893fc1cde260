//! The live model: what the engine keeps for a source that runs while views watch
//! it (live capture, the proxy), and the update API those views use.
//!
//! [`LiveModel`] owns the [`Pipeline`] (so the tracker), a ring of the newest
//! ended sessions bounded by count *and* by weight ([`Session::weight`]), the
//! capture-wide findings (password guessing, capture drops) and the statistics.
//! A source is a thin adapter: it feeds packets ([`LiveModel::packet`]) or
//! connection events ([`LiveModel::tracker_mut`]), takes the sessions that ended
//! ([`LiveModel::take_ended`]) to write them, and a view asks what changed
//! ([`LiveModel::update`], behind a [`LiveSource`]).
//!
//! Invariants: nothing here reads the clock (times come with packets and events);
//! the ring never holds more than its count, and holds more than its weight only
//! when its newest session alone weighs more.

use std::collections::VecDeque;

use super::Pipeline;
use crate::diagnose;
use crate::model::{Capture, CaptureDrops, CaptureStats, Finding, Session};
use crate::session::TrackerConfig;
use crate::time::Ts;

/// Ended sessions a live view keeps (the oldest go first). Live sources keep at
/// most as many.
pub const LIVE_KEEP: usize = 100_000;

/// Weight ([`Session::weight`]) of the ended sessions a live model keeps, at most
/// (one session heavier than that is still kept, alone). A session can hold
/// megabytes (a reply keeps up to 2,000 lines of 8 KiB), so a count alone would
/// let a few thousand of them take gigabytes.
pub const MAX_ENDED_BYTES: usize = 64 << 20;

/// A model that changes while a view shows it (a live capture, the proxy).
pub trait LiveSource: Send + Sync {
    /// What changed since the view last asked: the sessions that ended after the
    /// first `since` ended ones, and the open ones now. Called about ten times a
    /// second; it must not block for long (copy what changed, do not wait).
    fn update(&self, since: u64) -> LiveUpdate;
    /// One line about the source (interface, listener, counters), shown in the title row.
    fn status(&self) -> crate::i18n::Tr;
    /// Arm a fault (a source that relays the traffic, the proxy): what was
    /// armed, or why it cannot be.
    fn inject(&self, _fault: &Inject) -> Result<crate::i18n::Tr, crate::i18n::Tr> {
        Err(crate::tr!(
            "only the proxy can inject faults",
            "只有代理可以注入故障"
        ))
    }
    /// The faults armed now, in one line ("" when none).
    fn armed(&self) -> crate::i18n::Tr {
        crate::i18n::Tr::verbatim("")
    }
}

/// A fault a view asks a live source to inject ([`LiveSource::inject`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inject {
    /// Refuse the next data connection.
    RefuseData,
    /// Reset the next data connection once both sides are connected.
    DropData,
    /// Hold every reply back this long (zero: no more).
    Delay(std::time::Duration),
    /// Answer the next command with this code instead of forwarding it.
    ReplyNext(u16),
    /// Disarm every fault.
    Clear,
}

/// What changed in a live source since a view last asked
/// ([`LiveSource::update`]): sessions that ended since then, and the open ones as
/// they are now. Only these are copied, so a live view of 100,000 sessions costs
/// what changed, not what is held.
#[derive(Clone, Debug, Default)]
pub struct LiveUpdate {
    /// Sessions that ended since `since`, oldest first.
    pub ended: Vec<Session>,
    /// The view fell behind by more than the source keeps: `ended` holds all the
    /// source kept, and replaces what the view holds.
    pub reset: bool,
    /// The sessions still open, as they are now.
    pub open: Vec<Session>,
    pub stats: CaptureStats,
    /// Capture-wide findings so far.
    pub findings: Vec<Finding>,
    /// Ended sessions handed out so far: the `since` of the next call.
    pub seen: u64,
}

/// For a [`LiveSource`] that keeps its newest ended sessions in `kept` (oldest
/// first) and has ended `total` in all: copies of those that ended after the
/// first `since`, and whether the caller fell behind what is kept (then all
/// kept ones are returned and replace what the caller holds).
pub fn ended_since<'a, I>(kept: I, total: u64, since: u64) -> (Vec<Session>, bool)
where
    I: IntoIterator<Item = &'a Session>,
    I::IntoIter: ExactSizeIterator,
{
    let kept = kept.into_iter();
    let first = total.saturating_sub(kept.len() as u64);
    if since >= total {
        return (Vec::new(), false);
    }
    if since < first {
        return (kept.cloned().collect(), true);
    }
    let skip = usize::try_from(since - first).unwrap_or(usize::MAX);
    (kept.skip(skip).cloned().collect(), false)
}

/// The newest ended sessions, bounded by count and by weight.
#[derive(Debug)]
struct Ring {
    /// With their weight, oldest first.
    sessions: VecDeque<(Session, usize)>,
    bytes: usize,
    max: usize,
    max_bytes: usize,
    /// Sessions ended so far (kept or not).
    total: u64,
}

impl Ring {
    fn push(&mut self, s: &Session) {
        self.total += 1;
        if self.max == 0 {
            return;
        }
        // The weight of the copy held (a clone's capacities differ from the original's).
        let s = s.clone();
        let w = s.weight();
        while !self.sessions.is_empty()
            && (self.sessions.len() >= self.max || self.bytes + w > self.max_bytes)
        {
            if let Some((_, old)) = self.sessions.pop_front() {
                self.bytes -= old;
            }
        }
        self.bytes += w;
        self.sessions.push_back((s, w));
    }
}

/// The engine and what it keeps for live views; see the module documentation.
#[derive(Debug)]
pub struct LiveModel {
    pipe: Pipeline,
    ended: Ring,
    /// What a live capture lost (libpcap's counters); none for the proxy.
    drops: Option<CaptureDrops>,
    /// The source's time as it last said it ([`LiveModel::time_seen`]): open
    /// sessions last until then in views.
    now: Ts,
}

impl LiveModel {
    /// A model keeping the newest `keep` ended sessions, weighing at most
    /// `keep_bytes` (0 keeps none: the sessions only pass through).
    pub fn new(cfg: TrackerConfig, keep: usize, keep_bytes: usize) -> Self {
        LiveModel {
            pipe: Pipeline::new(cfg),
            ended: Ring {
                sessions: VecDeque::new(),
                bytes: 0,
                max: keep,
                max_bytes: keep_bytes,
                total: 0,
            },
            drops: None,
            now: Ts::default(),
        }
    }

    /// One captured packet (see [`Pipeline::packet`]).
    pub fn packet(&mut self, linktype: u32, frame: u64, ts: Ts, data: &[u8], orig_len: u32) {
        self.pipe.packet(linktype, frame, ts, data, orig_len);
    }

    /// Time passes without a packet (see [`Pipeline::tick`]).
    pub fn tick(&mut self, ts: Ts) {
        self.pipe.tick(ts);
        self.time_seen(ts);
    }

    /// The source's time now, for views only: open sessions (a transfer
    /// running, a client idle) last until then in [`LiveModel::update`] and
    /// [`LiveModel::snapshot`]. Nothing the engine decides depends on it.
    pub fn time_seen(&mut self, ts: Ts) {
        self.now = self.now.max(ts);
    }

    /// The pipeline, for a source that feeds connection events or keeps counters.
    pub fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipe
    }

    /// The tracker, for a source that produces connection events itself (the proxy).
    pub fn tracker_mut(&mut self) -> &mut crate::session::Tracker {
        self.pipe.tracker_mut()
    }

    /// Sessions that ended since the last call (diagnosed); a copy of each stays
    /// in the ring for views.
    pub fn take_ended(&mut self) -> Vec<Session> {
        if !self.pipe.has_finished() {
            return Vec::new();
        }
        let out = self.pipe.take_finished();
        for s in &out {
            self.ended.push(s);
        }
        out
    }

    /// End of input: every session ends; returns those not taken yet.
    pub fn finish(&mut self) -> Vec<Session> {
        self.pipe.finish();
        self.take_ended()
    }

    pub fn open_sessions(&self) -> usize {
        self.pipe.tracker().open_sessions()
    }

    /// Sessions ended so far (kept in the ring or not).
    pub fn ended_total(&self) -> u64 {
        self.ended.total
    }

    /// The ended sessions kept, oldest first.
    pub fn ended_kept(&self) -> impl ExactSizeIterator<Item = &Session> {
        self.ended.sessions.iter().map(|(s, _)| s)
    }

    /// Their weight.
    pub fn ended_bytes(&self) -> usize {
        self.ended.bytes
    }

    pub fn stats(&self) -> CaptureStats {
        self.pipe.stats()
    }

    /// The drop counters of a live capture, to update at each tick.
    pub fn drops_mut(&mut self) -> &mut CaptureDrops {
        self.drops.get_or_insert_with(CaptureDrops::default)
    }

    /// Capture-wide findings so far: capture drops, password guessing.
    pub fn findings(&self) -> Vec<Finding> {
        let mut f = Vec::new();
        if let Some(d) = self.drops.as_ref().and_then(diagnose::capture_drops) {
            f.push(d);
        }
        f.extend(diagnose::capture(&self.pipe.failed_logins()));
        f
    }

    /// Copies of the open sessions (not yet diagnosed) as they stand, by id: a
    /// transfer still connected is [`crate::model::Outcome::Open`] with the bytes
    /// so far (see [`crate::session::Tracker::open_views`]).
    fn open_copies(&self) -> Vec<Session> {
        self.pipe.tracker().open_views(self.now)
    }

    /// The model now: the ended sessions kept, then the open ones (not yet
    /// diagnosed; their transfers may still be open), by id; statistics;
    /// capture-wide findings so far.
    pub fn snapshot(&self) -> Capture {
        let mut sessions: Vec<Session> = self.ended_kept().cloned().collect();
        sessions.extend(self.open_copies());
        sessions.sort_by_key(|s| s.id);
        Capture {
            sessions,
            stats: self.stats(),
            findings: self.findings(),
        }
    }

    /// What changed since a view saw `since` ended sessions (see [`LiveSource`]).
    pub fn update(&self, since: u64) -> LiveUpdate {
        let (ended, reset) = ended_since(self.ended_kept(), self.ended.total, since);
        LiveUpdate {
            ended,
            reset,
            open: self.open_copies(),
            stats: self.stats(),
            findings: self.findings(),
            seen: self.ended.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sessions(name: &str) -> Vec<Session> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name);
        crate::engine::analyze_file(&path, TrackerConfig::default())
            .unwrap()
            .sessions
    }

    fn ring(max: usize, max_bytes: usize) -> Ring {
        Ring {
            sessions: VecDeque::new(),
            bytes: 0,
            max,
            max_bytes,
            total: 0,
        }
    }

    #[test]
    fn the_ring_is_bounded_by_count() {
        let all = sessions("multi-session.pcap");
        assert!(all.len() > 2);
        let mut r = ring(2, usize::MAX);
        for s in &all {
            r.push(s);
        }
        let ids: Vec<usize> = r.sessions.iter().map(|(s, _)| s.id).collect();
        let n = all.len();
        assert_eq!(ids, [all[n - 2].id, all[n - 1].id]);
        assert_eq!(r.total, n as u64);
    }

    #[test]
    fn the_ring_is_bounded_by_weight_and_keeps_the_newest() {
        let all = sessions("multi-session.pcap");
        let w: Vec<usize> = all.iter().map(Session::weight).collect();
        // Room for the last two, not three.
        let budget = w[w.len() - 1] + w[w.len() - 2];
        let mut r = ring(1000, budget);
        for s in &all {
            r.push(s);
        }
        assert!(r.bytes <= budget, "{} > {budget}", r.bytes);
        assert_eq!(r.sessions.back().unwrap().0.id, all.last().unwrap().id);
        assert!(r.sessions.len() < all.len());
        // A session heavier than the budget is still kept, alone.
        let mut r = ring(1000, 1);
        for s in &all {
            r.push(s);
        }
        assert_eq!(r.sessions.len(), 1);
    }

    #[test]
    fn keeping_none_passes_sessions_through() {
        let all = sessions("multi-session.pcap");
        let mut r = ring(0, MAX_ENDED_BYTES);
        for s in &all {
            r.push(s);
        }
        assert!(r.sessions.is_empty());
        assert_eq!(r.total, all.len() as u64);
    }

    /// Failed logins from one address are a capture-wide finding of the live model,
    /// whatever the source (the proxy's live view had none).
    #[test]
    fn capture_wide_findings_come_from_the_model() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/bruteforce-local.pcap");
        let mut m = LiveModel::new(TrackerConfig::default(), 10, MAX_ENDED_BYTES);
        let mut r = crate::capture::reader::CaptureReader::new(std::fs::File::open(&path).unwrap())
            .unwrap();
        while let Ok(Some(p)) = r.next_packet() {
            m.packet(p.linktype, p.frame, p.ts, p.data, p.orig_len);
            m.take_ended();
        }
        m.finish();
        let u = m.update(0);
        assert!(
            u.findings.iter().any(|f| f.id == "login-failed"),
            "{:?}",
            u.findings
        );
        assert_eq!(u.seen, m.ended_total());
        assert_eq!(u.ended.len(), m.ended_kept().len());
    }
}
