//! The pipeline for capture files: reader -> decoder -> flow table -> tracker ->
//! diagnosis. One pass; memory holds open connections and open sessions only,
//! when sessions are taken as they end ([`stream_reader`]).

use std::io::Read;
use std::path::Path;

use crate::capture::decode::{Decoded, Decoder};
use crate::capture::reader::CaptureReader;
use crate::capture::{CaptureError, PacketSource};
use crate::diagnose;
use crate::model::{Capture, CaptureStats, Finding, Session};
use crate::session::{Tracker, TrackerConfig};
use crate::tcp::{FlowTable, Meta};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot open {path}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Progress callback: bytes read so far, and packets.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Open a capture: a file or standard input (`-`), gzip-compressed or not
/// ([`crate::capture::input`]).
fn open(path: &Path) -> Result<Box<dyn Read + Send>, EngineError> {
    crate::capture::input::open(path)
        .map(|i| i.reader)
        .map_err(|source| EngineError::Open {
            path: path.display().to_string(),
            source,
        })
}

/// Analyse a capture file and return the whole model.
pub fn analyze_file(path: &Path, cfg: TrackerConfig) -> Result<Capture, EngineError> {
    analyze_reader(open(path)?, cfg, None)
}

/// Analyse a capture file, handing each session over as it ends.
pub fn stream_file(
    path: &Path,
    cfg: TrackerConfig,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    stream_reader(open(path)?, cfg, None, on_session)
}

/// Analyse a capture from any reader. A read error after the header (a truncated
/// or corrupt tail) does not lose what came before: it is kept in
/// `stats.read_error` and the sessions so far are returned.
pub fn analyze_reader<R: Read>(
    input: R,
    cfg: TrackerConfig,
    progress: Option<Progress<'_>>,
) -> Result<Capture, EngineError> {
    let mut sessions = Vec::new();
    let (stats, findings) = stream_reader(input, cfg, progress, &mut |s| sessions.push(s))?;
    sessions.sort_by_key(|s| s.id);
    Ok(Capture {
        sessions,
        stats,
        findings,
    })
}

/// Analyse a capture and hand each session to `on_session` as soon as it ends
/// (diagnosed). Returns the capture statistics and the capture-wide findings.
pub fn stream_reader<R: Read>(
    input: R,
    cfg: TrackerConfig,
    progress: Option<Progress<'_>>,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    let reader = CaptureReader::new(input)?;
    stream_source(reader, cfg, progress, on_session)
}

/// Analyse several captures merged in time order (as `mergecap` does), handing
/// each session over as it ends. Frame numbers carry the file they came from
/// ([`crate::capture::merge`]); with one path this is [`stream_file`].
pub fn stream_files(
    paths: &[std::path::PathBuf],
    cfg: TrackerConfig,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    use crate::capture::merge;
    if let [one] = paths {
        return stream_file(one, cfg, on_session);
    }
    let mut readers = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p.display().to_string();
        let reader = CaptureReader::new(open(p)?).map_err(|e| {
            EngineError::Capture(CaptureError::InFile {
                file: name.clone(),
                source: Box::new(e),
            })
        })?;
        readers.push((name, reader));
    }
    merge::set_file_names(readers.iter().map(|(n, _)| n.clone()).collect());
    let merged = merge::Merge::new(readers)?;
    stream_source(merged, cfg, None, on_session)
}

/// The pipeline over any packet source (one capture, or several merged).
pub fn stream_source<P: PacketSource>(
    mut reader: P,
    cfg: TrackerConfig,
    mut progress: Option<Progress<'_>>,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    let mut decoder = Decoder::default();
    let mut flows = FlowTable::new();
    let mut tracker = Tracker::new(cfg);
    let mut stats = CaptureStats::default();
    let mut last = Meta::default();
    loop {
        let pkt = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                stats.read_error = Some(e.to_string());
                break;
            }
        };
        stats.packets += 1;
        stats.bytes += pkt.data.len() as u64;
        if pkt.orig_len as usize > pkt.data.len() {
            stats.truncated_packets += 1;
        }
        stats.first.get_or_insert(pkt.ts);
        stats.last = Some(pkt.ts);
        let meta = Meta {
            ts: pkt.ts,
            frame: pkt.frame,
        };
        last = meta;
        match decoder.decode(pkt.linktype, pkt.data, pkt.ts) {
            Decoded::Tcp(seg) => {
                flows.segment(meta, &seg, &mut tracker);
                if tracker.has_finished() {
                    for s in tracker.take_finished() {
                        on_session(s);
                    }
                }
            }
            Decoded::FragmentHeld => {}
            Decoded::NotTcp => {
                stats.not_tcp += 1;
                tracker.note_other_packet();
            }
            Decoded::UnsupportedLink(_) => stats.unsupported_link += 1,
            Decoded::Malformed(_) => stats.malformed += 1,
        }
        if let Some(p) = progress.as_mut() {
            if stats.packets % 4096 == 0 {
                p(reader.offset(), stats.packets);
            }
        }
    }
    flows.finish(last, &mut tracker);
    tracker.finish();
    for s in tracker.take_finished() {
        on_session(s);
    }
    stats.tcp_segments = flows.stats.segments;
    stats.tcp_connections = flows.stats.connections;
    stats.sessions_evicted = tracker.evicted;
    stats.duplicate_packets = flows.stats.duplicates;
    stats.fragments_reassembled = decoder.frags.reassembled;
    stats.fragments_dropped = decoder.frags.dropped + decoder.frags.pending() as u64;
    let failed: Vec<_> = tracker.failed_logins.iter().copied().collect();
    let mut findings = diagnose::capture_file(&stats);
    findings.extend(diagnose::capture(&failed));
    findings.extend(diagnose::capture_stats(&stats));
    Ok((stats, findings))
}

/// Hand-over of ended sessions from the engine's thread to a writer thread, bounded
/// by weight ([`Session::weight`]) as well as by count: sessions travel in batches
/// (one hand-over per session costs more in thread wake-ups than writing it), and
/// the engine waits while the batches not yet written weigh more than the limit
/// (one batch always goes, however heavy). So memory does not grow with the number
/// or the size of the sessions waiting to be written.
pub mod handover {
    use std::sync::mpsc;
    use std::sync::{Arc, Condvar, Mutex};

    use crate::model::Session;

    /// Sessions per batch at most.
    pub const BATCH: usize = 64;
    /// Weight of a batch at most (a heavier session goes alone).
    pub const BATCH_BYTES: usize = 8 << 20;
    /// Weight of the batches handed over and not yet written, at most.
    pub const IN_FLIGHT_BYTES: usize = 32 << 20;

    #[derive(Default)]
    struct Flight {
        bytes: usize,
        /// The receiving side is gone: never wait again.
        closed: bool,
    }

    type Shared = Arc<(Mutex<Flight>, Condvar)>;

    /// Batches handed over and not yet written, at most (with small sessions the
    /// count binds before the weight).
    pub const IN_FLIGHT_BATCHES: usize = 8;

    pub struct Sender {
        tx: mpsc::SyncSender<(Vec<Session>, usize)>,
        shared: Shared,
        batch: Vec<Session>,
        weight: usize,
        limit: usize,
    }

    pub struct Receiver {
        rx: mpsc::Receiver<(Vec<Session>, usize)>,
        shared: Shared,
        current: std::vec::IntoIter<Session>,
        /// Weight of the batch being read, released when the next one is taken.
        held: usize,
    }

    /// A hand-over whose unwritten batches weigh at most `limit` bytes.
    pub fn channel(limit: usize) -> (Sender, Receiver) {
        let (tx, rx) = mpsc::sync_channel(IN_FLIGHT_BATCHES);
        let shared: Shared = Arc::default();
        (
            Sender {
                tx,
                shared: shared.clone(),
                batch: Vec::with_capacity(BATCH),
                weight: 0,
                limit,
            },
            Receiver {
                rx,
                shared,
                current: Vec::new().into_iter(),
                held: 0,
            },
        )
    }

    impl Sender {
        /// Queue a session; the batch goes when full by count or weight.
        pub fn push(&mut self, s: Session) {
            self.weight += s.weight();
            self.batch.push(s);
            if self.batch.len() >= BATCH || self.weight >= BATCH_BYTES {
                self.flush();
            }
        }

        /// Hand over the batch so far, waiting while too much is unwritten.
        pub fn flush(&mut self) {
            if self.batch.is_empty() {
                return;
            }
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let w = std::mem::take(&mut self.weight);
            let (lock, cv) = &*self.shared;
            let mut f = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !f.closed && f.bytes > 0 && f.bytes + w > self.limit {
                f = cv.wait(f).unwrap_or_else(|e| e.into_inner());
            }
            if f.closed {
                return;
            }
            f.bytes += w;
            drop(f);
            // A send error means the receiver is gone; its owner reports why.
            let _ = self.tx.send((batch, w));
        }
    }

    impl Drop for Sender {
        fn drop(&mut self) {
            self.flush();
        }
    }

    impl Receiver {
        fn release(&mut self) {
            if self.held > 0 {
                let (lock, cv) = &*self.shared;
                let mut f = lock.lock().unwrap_or_else(|e| e.into_inner());
                f.bytes = f.bytes.saturating_sub(std::mem::take(&mut self.held));
                cv.notify_all();
            }
        }
    }

    impl Iterator for Receiver {
        type Item = Session;
        fn next(&mut self) -> Option<Session> {
            loop {
                if let Some(s) = self.current.next() {
                    return Some(s);
                }
                self.release();
                let (batch, w) = self.rx.recv().ok()?;
                self.current = batch.into_iter();
                self.held = w;
            }
        }
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            self.release();
            let (lock, cv) = &*self.shared;
            lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
            cv.notify_all();
        }
    }
}
