//! The engine: reader -> decoder -> flow table -> tracker -> diagnosis, one
//! packet at a time ([`Pipeline`]), for capture files ([`stream_reader`]) and live
//! capture. One pass; memory holds open connections and open sessions only, when
//! sessions are taken as they end.

pub mod live;

pub use live::{
    Inject, LIVE_KEEP, LiveModel, LiveSource, LiveUpdate, MAX_ENDED_BYTES, ended_since,
};

use std::io::Read;
use std::path::Path;

use crate::capture::decode::{Decoded, Decoder};
use crate::capture::reader::CaptureReader;
use crate::capture::{CaptureError, PacketSource};
use crate::diagnose;
use crate::model::{Capture, CaptureStats, Finding, Session};
use crate::session::{FailedLogin, Tracker, TrackerConfig};
use crate::tcp::{FlowTable, Meta};
use crate::time::Ts;

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
    /// `--strict`: a read error part-way stopped the analysis.
    #[error("stopped at a read error (--strict): {0}")]
    Stopped(String),
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
///
/// Of several files, one that cannot be opened or is not a capture is left out
/// and named in `stats.skipped_files` (a `capture-file-skipped` finding), unless
/// `strict`: then it is the error. With `strict`, a read error part-way (a
/// truncated or damaged file) also stops the analysis and is returned as the
/// error, after the sessions read so far were handed over.
pub fn stream_files(
    paths: &[std::path::PathBuf],
    strict: bool,
    cfg: TrackerConfig,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    use crate::capture::merge;
    let done = if let [one] = paths {
        stream_file(one, cfg, on_session)?
    } else {
        let mut readers = Vec::with_capacity(paths.len());
        let mut skipped = Vec::new();
        let mut first_error = None;
        for p in paths {
            let name = p.display().to_string();
            let opened = crate::capture::input::open(p)
                .map_err(|e| {
                    (
                        e.to_string(),
                        EngineError::Open {
                            path: name.clone(),
                            source: e,
                        },
                    )
                })
                .and_then(|input| {
                    CaptureReader::new(input.reader).map_err(|e| {
                        (
                            e.to_string(),
                            EngineError::Capture(CaptureError::InFile {
                                file: name.clone(),
                                error: Box::new(e),
                            }),
                        )
                    })
                });
            match opened {
                Ok(reader) => readers.push((name, reader)),
                Err((_, e)) if strict => return Err(e),
                Err((why, e)) => {
                    skipped.push(crate::model::SkippedFile {
                        file: name,
                        error: why,
                    });
                    first_error.get_or_insert(e);
                }
            }
        }
        if readers.is_empty() {
            return Err(first_error.expect("no paths to read"));
        }
        merge::set_file_names(readers.iter().map(|(n, _)| n.clone()).collect());
        let merged = merge::Merge::new(readers)?.strict(strict);
        run_source(merged, cfg, None, on_session, skipped)?
    };
    if strict && let Some(e) = &done.0.read_error {
        return Err(EngineError::Stopped(e.clone()));
    }
    Ok(done)
}

/// The pipeline over any packet source (one capture, or several merged).
pub fn stream_source<P: PacketSource>(
    reader: P,
    cfg: TrackerConfig,
    progress: Option<Progress<'_>>,
    on_session: &mut dyn FnMut(Session),
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    run_source(reader, cfg, progress, on_session, Vec::new())
}

/// [`stream_source`], with the input files that were left out.
fn run_source<P: PacketSource>(
    mut reader: P,
    cfg: TrackerConfig,
    mut progress: Option<Progress<'_>>,
    on_session: &mut dyn FnMut(Session),
    skipped: Vec<crate::model::SkippedFile>,
) -> Result<(CaptureStats, Vec<Finding>), EngineError> {
    let mut pipe = Pipeline::new(cfg);
    // Sessions seen on both sides of a NAT (a capture on the NAT, or two merged).
    let mut pairs = diagnose::vantage::VantagePairs::default();
    loop {
        if let Some(secrets) = reader.take_secrets() {
            pipe.add_tls_secrets(&secrets);
        }
        let pkt = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                pipe.set_read_error(e.to_string());
                break;
            }
        };
        // Secrets just before this packet (a recording proxy writes them after
        // the ClientHello, before the ServerHello that needs them).
        if let Some(secrets) = &pkt.secrets {
            pipe.add_tls_secrets(secrets);
        }
        pipe.packet(pkt.linktype, pkt.frame, pkt.ts, pkt.data, pkt.orig_len);
        if pipe.has_finished() {
            for s in pipe.take_finished() {
                pairs.add(&s);
                on_session(s);
            }
        }
        if let Some(p) = progress.as_mut() {
            let packets = pipe.packets();
            if packets.is_multiple_of(4096) {
                p(reader.offset(), packets);
            }
        }
    }
    pipe.finish();
    for s in pipe.take_finished() {
        pairs.add(&s);
        on_session(s);
    }
    let mut stats = pipe.stats();
    stats.skipped_files = skipped;
    let mut findings = diagnose::capture_file(&stats);
    findings.extend(diagnose::capture(&pipe.failed_logins()));
    findings.extend(diagnose::capture_stats(&stats));
    findings.extend(pairs.finish());
    Ok((stats, findings))
}

/// The engine for packets, fed one at a time: decoder -> flow table -> tracker.
/// [`stream_reader`] runs a capture file through it, live capture runs the packets
/// libpcap hands over through it. Sessions that ended wait in the tracker until
/// [`Pipeline::take_finished`]; [`Pipeline::finish`] ends the input.
///
/// A source without packets (the proxy) feeds the tracker directly
/// ([`Pipeline::tracker_mut`]) and keeps its own counters in
/// [`Pipeline::source_stats_mut`].
pub struct Pipeline {
    decoder: Decoder,
    flows: FlowTable,
    tracker: Tracker,
    /// What the source counts; [`Pipeline::stats`] adds the engine's counters.
    stats: CaptureStats,
    last: Meta,
    finished: bool,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("packets", &self.stats.packets)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub fn new(cfg: TrackerConfig) -> Self {
        Pipeline {
            decoder: Decoder::default(),
            flows: FlowTable::new(),
            tracker: Tracker::new(cfg),
            stats: CaptureStats::default(),
            last: Meta::default(),
            finished: false,
        }
    }

    /// One packet: `data` as captured (`orig_len` on the wire), of link type
    /// `linktype`, frame number `frame` (1-based), captured at `ts`.
    pub fn packet(&mut self, linktype: u32, frame: u64, ts: Ts, data: &[u8], orig_len: u32) {
        let st = &mut self.stats;
        st.packets += 1;
        st.bytes += data.len() as u64;
        if orig_len as usize > data.len() {
            st.truncated_packets += 1;
        }
        st.first.get_or_insert(ts);
        st.last = Some(ts);
        let meta = Meta { ts, frame };
        self.last = meta;
        // Any packet tells the time: sessions waiting for their data connections
        // past it are handed out.
        self.tracker.tick(ts);
        if crate::capture::link::may_aggregate(linktype) {
            if let Some(subframes) = crate::capture::link::aggregate(linktype, data) {
                // An 802.11 A-MSDU: each subframe is a packet of this frame.
                for frame in subframes {
                    self.decoded(meta, crate::capture::reader::linktype::ETHERNET, frame, ts);
                }
                return;
            }
        }
        self.decoded(meta, linktype, data, ts);
    }

    #[inline]
    fn decoded(&mut self, meta: Meta, linktype: u32, data: &[u8], ts: Ts) {
        let st = &mut self.stats;
        match self.decoder.decode(linktype, data, ts) {
            Decoded::Tcp(seg) => self.flows.segment(meta, &seg, &mut self.tracker),
            Decoded::FragmentHeld => {}
            Decoded::NotTcp => {
                st.not_tcp += 1;
                self.tracker.note_other_packet();
            }
            Decoded::Icmp(e) => {
                st.not_tcp += 1;
                self.tracker.note_other_packet();
                self.flows.icmp(meta, &e, &mut self.tracker);
            }
            Decoded::UnsupportedLink(link) => {
                st.unsupported_link += 1;
                let named = &mut st.unsupported_link_types;
                if let Err(at) = named.binary_search(&link) {
                    if named.len() < crate::model::MAX_LINK_TYPES_NAMED {
                        named.insert(at, link);
                    }
                }
            }
            Decoded::Malformed(_) => st.malformed += 1,
        }
    }

    /// Time passes without a packet (a live source's periodic tick): sessions
    /// whose control connection closed [`crate::session::DATA_WAIT`] before `ts`
    /// are handed out. `ts` comes from the source; the engine never reads the clock.
    pub fn tick(&mut self, ts: Ts) {
        self.tracker.tick(ts);
    }

    /// Packets fed so far.
    pub fn packets(&self) -> u64 {
        self.stats.packets
    }

    /// Reading the input failed after the header: what came before still counts.
    pub fn set_read_error(&mut self, e: String) {
        self.stats.read_error = Some(e);
    }

    /// End of input: close every connection and session (once).
    pub fn finish(&mut self) {
        if !self.finished {
            self.flows.finish(self.last, &mut self.tracker);
            self.tracker.finish();
            self.finished = true;
        }
    }

    /// Sessions ended (diagnosed) and not taken yet?
    /// TLS secrets found in the capture itself (a pcapng Decryption Secrets
    /// Block): added to those given, for the connections that start from now on.
    pub fn add_tls_secrets(&mut self, text: &str) {
        self.tracker.add_tls_secrets(text);
    }

    pub fn has_finished(&self) -> bool {
        self.tracker.has_finished()
    }

    /// The sessions that ended since the last call, diagnosed.
    pub fn take_finished(&mut self) -> Vec<Session> {
        self.tracker.take_finished()
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// For a source that produces connection events itself (the proxy).
    pub fn tracker_mut(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    /// The counters of a source that feeds [`Pipeline::tracker_mut`] (packets,
    /// bytes, first and last time, connections).
    pub fn source_stats_mut(&mut self) -> &mut CaptureStats {
        &mut self.stats
    }

    /// The statistics so far: the source's counters and the engine's.
    pub fn stats(&self) -> CaptureStats {
        let mut st = self.stats.clone();
        st.tcp_segments += self.flows.stats.segments;
        st.tcp_connections += self.flows.stats.connections;
        st.duplicate_packets += self.flows.stats.duplicates;
        st.sessions_evicted = self.tracker.evicted;
        (st.data_without_control, st.data_without_control_total) =
            self.tracker.data_without_control();
        st.fragments_reassembled = self.decoder.frags.reassembled;
        st.fragments_dropped = self.decoder.frags.dropped + self.decoder.frags.pending() as u64;
        st
    }

    /// Failed logins seen so far (for the password-guessing rule).
    pub fn failed_logins(&self) -> Vec<FailedLogin> {
        self.tracker.failed_logins.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `name` packet by packet; the sessions handed out before the end of input.
    fn feed(pipe: &mut Pipeline, name: &str) -> (Vec<Session>, Ts) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name);
        let mut r = CaptureReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut out = Vec::new();
        let mut last = Ts(0);
        while let Ok(Some(p)) = r.next_packet() {
            pipe.packet(p.linktype, p.frame, p.ts, p.data, p.orig_len);
            last = p.ts;
            out.extend(pipe.take_finished());
        }
        (out, last)
    }

    /// A session whose control connection closed (FIN both ways) after a passive
    /// transfer whose SYNs were never answered is handed out once its data
    /// connection can no longer matter: 2 s of capture time later, at the next
    /// packet past that (any packet), not only at the end of input. Live capture
    /// used to hold it until Ctrl-C.
    #[test]
    fn session_after_a_failed_passive_transfer_is_handed_out_at_the_next_packet_past_the_wait() {
        let mut pipe = Pipeline::new(TrackerConfig::default());
        let (early, last) = feed(&mut pipe, "passive-dropped.pcap");
        assert!(early.is_empty(), "still within the wait");
        assert_eq!(pipe.tracker().open_sessions(), 1);
        // An unrelated packet (not even TCP) 1 s later: still waiting.
        let arp = [0xffu8; 42];
        let later = |secs: i64| Ts(last.0 + secs * 1_000_000_000);
        pipe.packet(1, 27, later(1), &arp, 42);
        assert!(!pipe.has_finished());
        // 3 s after the control connection closed: handed out.
        pipe.packet(1, 28, later(3), &arp, 42);
        let got = pipe.take_finished();
        assert_eq!(got.len(), 1, "handed out past the wait");
        assert_eq!(pipe.tracker().open_sessions(), 0);
        // As the file engine reports it, but for how long the capture went on after it.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/passive-dropped.pcap");
        let want = analyze_file(&path, TrackerConfig::default()).unwrap();
        let (a, b) = (&got[0], &want.sessions[0]);
        assert_eq!(a.closed, b.closed);
        let outcomes = |s: &Session| {
            s.data_channels
                .iter()
                .map(|d| d.outcome.as_str().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(outcomes(a), outcomes(b));
        let ids = |s: &Session| s.findings.iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(ids(a), ids(b));
    }

    /// The same with no packet at all after it: a tick carrying the time (live
    /// capture sends one every second) hands it out.
    #[test]
    fn a_tick_past_the_wait_hands_the_session_out() {
        let mut pipe = Pipeline::new(TrackerConfig::default());
        let (early, last) = feed(&mut pipe, "passive-dropped.pcap");
        assert!(early.is_empty());
        pipe.tick(Ts(last.0 + 1_000_000_000));
        assert!(!pipe.has_finished());
        pipe.tick(Ts(last.0 + 2_000_000_000));
        assert_eq!(pipe.take_finished().len(), 1);
    }

    /// A data connection that closes within the wait ends the session at once, as
    /// before.
    #[test]
    fn sessions_with_closed_data_connections_are_not_delayed() {
        let mut pipe = Pipeline::new(TrackerConfig::default());
        let (early, _) = feed(&mut pipe, "passive-ok.pcapng");
        assert_eq!(early.len(), 1);
    }

    /// Every capture in captures/ fed packet by packet through a [`Pipeline`], taking
    /// sessions after every packet as live capture does, gives the model
    /// [`analyze_file`] gives.
    #[test]
    fn pipeline_packet_by_packet_equals_the_file_engine_on_every_capture() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "pcap" && ext != "pcapng" {
                continue;
            }
            n += 1;
            let cfg = TrackerConfig {
                ftp_ports: vec![21, 2121],
                ..TrackerConfig::default()
            };
            let want = analyze_file(&path, cfg.clone()).unwrap();
            let mut pipe = Pipeline::new(cfg);
            let mut got = Vec::new();
            let mut r = CaptureReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            loop {
                if let Some(secrets) = PacketSource::take_secrets(&mut r) {
                    pipe.add_tls_secrets(&secrets);
                }
                let Ok(Some(p)) = r.next_packet() else { break };
                if let Some(secrets) = &p.secrets {
                    pipe.add_tls_secrets(secrets);
                }
                pipe.packet(p.linktype, p.frame, p.ts, p.data, p.orig_len);
                got.extend(pipe.take_finished());
            }
            pipe.finish();
            got.extend(pipe.take_finished());
            got.sort_by_key(|s| s.id);
            let json = |v: &[Session]| -> Vec<String> {
                v.iter()
                    .map(|s| {
                        let lang = crate::ftp::catalog::Lang::En;
                        crate::report::json::to_string(&crate::report::json::SessionJson {
                            s,
                            lang,
                        })
                        .unwrap()
                    })
                    .collect()
            };
            assert_eq!(json(&got), json(&want.sessions), "{}", path.display());
            let (a, b) = (pipe.stats(), want.stats);
            let json = |s: &CaptureStats| crate::report::json::to_string(s).unwrap();
            assert_eq!(json(&a), json(&b), "{}", path.display());
        }
        assert!(n > 10, "captures not found in {}", dir.display());
    }
}
