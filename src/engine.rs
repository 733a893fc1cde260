//! The pipeline for capture files: reader -> decoder -> flow table -> tracker ->
//! diagnosis. One pass, constant memory apart from the model itself.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::capture::CaptureError;
use crate::capture::decode::{Decoded, Decoder};
use crate::capture::reader::CaptureReader;
use crate::diagnose;
use crate::model::{Capture, CaptureStats};
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

/// Analyse a capture file.
pub fn analyze_file(path: &Path, cfg: TrackerConfig) -> Result<Capture, EngineError> {
    let f = File::open(path).map_err(|source| EngineError::Open {
        path: path.display().to_string(),
        source,
    })?;
    analyze_reader(BufReader::with_capacity(1 << 20, f), cfg, None)
}

/// Analyse a capture from any reader. A read error after the header (a truncated
/// or corrupt tail) does not lose what came before: it is kept in
/// `stats.read_error` and the sessions so far are returned.
pub fn analyze_reader<R: Read>(
    input: R,
    cfg: TrackerConfig,
    mut progress: Option<Progress<'_>>,
) -> Result<Capture, EngineError> {
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
            Decoded::Tcp(seg) => flows.segment(meta, &seg, &mut tracker),
            Decoded::FragmentHeld => {}
            Decoded::NotTcp => stats.not_tcp += 1,
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
    stats.tcp_segments = flows.stats.segments;
    stats.tcp_connections = flows.stats.connections;
    stats.fragments_reassembled = decoder.frags.reassembled;
    stats.fragments_dropped = decoder.frags.dropped + decoder.frags.pending() as u64;
    let sessions = tracker.finish();
    let mut capture = Capture {
        sessions,
        stats,
        findings: Vec::new(),
    };
    diagnose::run(&mut capture);
    Ok(capture)
}
