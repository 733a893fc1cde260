//! The pipeline for capture files: reader -> decoder -> flow table -> tracker ->
//! diagnosis. One pass; memory holds open connections and open sessions only,
//! when sessions are taken as they end ([`stream_reader`]).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::capture::CaptureError;
use crate::capture::decode::{Decoded, Decoder};
use crate::capture::reader::CaptureReader;
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

fn open(path: &Path) -> Result<BufReader<File>, EngineError> {
    let f = File::open(path).map_err(|source| EngineError::Open {
        path: path.display().to_string(),
        source,
    })?;
    Ok(BufReader::with_capacity(1 << 20, f))
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
    mut progress: Option<Progress<'_>>,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    let mut reader = CaptureReader::new(input)?;
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
    let mut findings = diagnose::capture(&failed);
    findings.extend(diagnose::capture_stats(&stats));
    Ok((stats, findings))
}
