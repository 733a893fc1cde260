//! `ftpscope live`: capture on an interface and run the packets through the same
//! engine as a capture file (decoder -> flow table -> tracker -> diagnosis), writing
//! each session to the text or JSON log as it ends.
//!
//! Pieces, from the bottom:
//! * [`crate::capture::live`] opens the interface and reads packets (the source).
//! * [`LiveState`] owns the engine ([`crate::engine::Pipeline`], as for a file)
//!   and the capture counters behind one mutex, so a view can take a
//!   [`LiveState::snapshot`] or a [`LiveState::status`] at any time while the capture
//!   thread runs. The capture thread holds the lock only while it processes packets
//!   that are ready (at most [`BATCH`] at a time), never while it waits for them.
//! * [`LiveCapture::run`] is the capture loop: it stops on [`LiveState::stop`], at the
//!   `--duration` or `--count` bound, or on a read error, then finishes the tracker so
//!   every session is handed out. Kernel counters are polled every second.
//! * [`run`] is the command without a terminal UI: Ctrl-C/SIGTERM handling, the log
//!   writer thread, the status on standard error, and the summary at the end.
//! * [`CaptureThread`] runs the capture on its own thread for a view that polls
//!   [`LiveState`]; the binary (`main.rs`) starts the TUI on it, so this source
//!   module does not depend on a view.
//!
//! The engine still never reads the clock: packet times come from libpcap. Only the
//! capture loop reads the wall clock, for rates, the status and the `--duration` bound.
//!
//! Bounds: the engine's own bounds apply; sessions kept for snapshots after they end
//! are at most the number given to [`LiveState::new`] and [`MAX_ENDED_BYTES`] (the
//! live model's ring, [`crate::engine::LiveModel`]); drop intervals kept as evidence
//! are at most [`crate::model::MAX_DROP_EVIDENCE`]; the queue to the log writer holds at most
//! [`WRITER_QUEUE`] sessions (when the writer is slower, the capture waits and the
//! kernel's drop counter shows it).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::capture::live::{self as pcap_live, KernelStats, LiveConfig, interfaces};
use crate::capture::write as capture_write;
use crate::engine::{LiveModel, LiveSource, LiveUpdate, MAX_ENDED_BYTES};
use crate::ftp::catalog::Lang;
use crate::model::{Capture, CaptureStats, DropInterval, Finding, Session};
use crate::report::{self, ViewOptions};
use crate::session::TrackerConfig;
use crate::text::{SafeWriter, escape_str};
use crate::time::{Ts, human_bytes, human_duration, si};

/// Packets processed per lock of the engine (bounds how long a snapshot can wait).
pub const BATCH: usize = 4096;
/// Sessions waiting for the log writer.
pub const WRITER_QUEUE: usize = 1024;

/// Log format (the formats of `report` that are written a session at a time).
pub use crate::report::stream::LogFormat as LiveFormat;

/// Arguments of `ftpscope live`.
#[derive(clap::Args, Debug, Clone)]
pub struct LiveArgs {
    /// Interface to capture on; `any` captures on all of them.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list_interfaces"
    )]
    pub interface: Option<String>,
    /// List the interfaces that can be captured on, and exit.
    #[arg(long)]
    pub list_interfaces: bool,
    /// Capture filter (BPF, as for tcpdump). The default captures all TCP so that data
    /// connections on any port are followed; narrow it by host ("host 192.0.2.7"),
    /// not by port: "port 21" hides the data connections.
    #[arg(long, value_name = "BPF", default_value = "tcp")]
    pub filter: String,
    /// Log format; each session is written (and flushed) as it ends: text, json,
    /// zeek (Zeek's ftp.log), zeek-json, eve (Suricata EVE JSON) or ocsf, as
    /// `report --format` writes them.
    #[arg(long, value_enum, default_value_t = LiveFormat::Text)]
    pub format: LiveFormat,
    #[command(flatten)]
    pub zeek: crate::report::stream::ZeekArgs,
    /// Write the log to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Also save the captured packets to FILE: pcapng, or pcap when FILE ends in .pcap.
    /// The packets are saved raw: FTP passwords (PASS) are in clear in that file,
    /// unlike every output of ftpscope; keep it private.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Stop after this long (a number with a unit: 30s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_secs)]
    pub duration: Option<f64>,
    /// Stop after N packets.
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: u32,
    /// Kernel capture buffer, MiB (a bigger one absorbs longer bursts).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub buffer_size: u32,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Leave out the explanation under each command and reply (text log).
    #[arg(long)]
    pub no_explain: bool,
    /// Time between status lines on standard error (a number with a unit, whole
    /// seconds: 1s, 30s, 1m); 0 for none. Default: one line redrawn every second when
    /// standard error is a terminal (and the log is not on it), a line every 10 s
    /// otherwise.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub status_interval: Option<u64>,
}

/// `--duration`: the one duration parser ([`crate::time::parse_duration`]), positive.
fn parse_secs(s: &str) -> Result<f64, String> {
    let d = crate::time::parse_duration(s)?;
    match d.as_secs_f64() {
        v if v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("`{s}` is not a positive duration")),
    }
}

/// `--status-interval`: whole seconds (rounded up), 0 for none.
fn parse_interval(s: &str) -> Result<u64, String> {
    let d = crate::time::parse_duration(s)?;
    Ok(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

impl LiveArgs {
    /// Parse the arguments of `ftpscope live` alone (for library users and tests),
    /// e.g. `LiveArgs::try_parse_from(["-i", "lo", "--duration", "5"])`.
    pub fn try_parse_from<I, T>(args: I) -> Result<LiveArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            live: LiveArgs,
        }
        use clap::Parser;
        let argv = std::iter::once(std::ffi::OsString::from("ftpscope-live"))
            .chain(args.into_iter().map(Into::into));
        Wrap::try_parse_from(argv).map(|w| w.live)
    }

    /// How to open the interface.
    pub fn capture_config(&self) -> LiveConfig {
        LiveConfig {
            interface: self.interface.clone().unwrap_or_else(|| "any".into()),
            filter: self.filter.clone(),
            snaplen: self.snaplen,
            buffer_bytes: self.buffer_size.saturating_mul(1 << 20),
            promisc: !self.no_promisc,
            ..LiveConfig::default()
        }
    }
}

/// Why a capture stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// [`LiveState::stop`] (Ctrl-C, SIGTERM, or a view quitting).
    Stopped,
    Duration,
    Count,
    /// Reading from the interface failed.
    Error(String),
}

/// What the capture looks like now: counters and rates for a status line.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveStatus {
    pub interface: String,
    /// libpcap's name of the link type (EN10MB, LINUX_SLL2, ...).
    pub linktype: String,
    pub filter: String,
    /// Wall-clock time the capture started.
    #[serde(serialize_with = "ser_opt_ts")]
    pub started: Option<Ts>,
    /// Seconds since the start.
    pub elapsed: f64,
    /// Packets read by ftpscope.
    pub packets: u64,
    /// Their length on the wire, bytes.
    pub wire_bytes: u64,
    /// Packets the kernel counted (they passed the filter), dropped ones included.
    pub kernel_received: u64,
    /// Packets the kernel dropped because ftpscope did not read them in time.
    pub kernel_dropped: u64,
    /// Packets the interface or its driver dropped.
    pub interface_dropped: u64,
    /// Packets and bits per second over the last second.
    pub packets_per_sec: f64,
    pub bits_per_sec: f64,
    pub open_sessions: usize,
    /// Sessions that have ended.
    pub ended_sessions: u64,
    /// Packets saved with `--write`.
    pub saved_packets: u64,
    pub running: bool,
}

fn ser_opt_ts<S: serde::Serializer>(t: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.rfc3339()),
        None => s.serialize_none(),
    }
}

impl LiveStatus {
    /// The status line in both languages (the TUI's title row, the live log).
    pub fn describe(&self) -> crate::i18n::Tr {
        let iface = escape_str(&self.interface);
        let (packets, pps, bps) = (
            self.packets,
            si(self.packets_per_sec),
            si(self.bits_per_sec),
        );
        let kernel = self.kernel_dropped;
        let mut m = crate::tr!(
            "{iface}: {packets} packets ({pps}pkt/s, {bps}bit/s), {kernel} dropped by the kernel",
            "{iface}：{packets} 个数据包（{pps}pkt/s，{bps}bit/s），内核丢弃 {kernel} 个"
        );
        if self.interface_dropped > 0 {
            let n = self.interface_dropped;
            m.en.push_str(&format!(", {n} by the interface"));
            m.zh.push_str(&format!("，网卡丢弃 {n} 个"));
        }
        let (open, ended) = (self.open_sessions, self.ended_sessions);
        let s = if open == 1 { "" } else { "s" };
        let el = human_duration(self.elapsed);
        m.en.push_str(&format!("; {open} open session{s}, {ended} ended; {el}"));
        m.zh.push_str(&format!("；{open} 个进行中的会话，{ended} 个已结束；{el}"));
        m
    }
}

impl std::fmt::Display for LiveStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe().en)
    }
}

struct Inner {
    /// The engine, the ended sessions kept for views, the capture-wide findings.
    model: LiveModel,
    status: LiveStatus,
}

/// The live engine and its counters, shared between the capture thread and views.
/// Clone it to hand it to another thread.
#[derive(Clone)]
pub struct LiveState {
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveState").finish_non_exhaustive()
    }
}

impl LiveState {
    /// A new engine with `cfg`. The newest `keep_finished` ended sessions, weighing
    /// at most [`MAX_ENDED_BYTES`], are kept for [`LiveState::snapshot`] (the oldest
    /// are let go first); 0 keeps none.
    pub fn new(cfg: TrackerConfig, keep_finished: usize) -> LiveState {
        LiveState::with_budget(cfg, keep_finished, MAX_ENDED_BYTES)
    }

    /// As [`LiveState::new`], keeping ended sessions weighing at most `keep_bytes`.
    pub fn with_budget(cfg: TrackerConfig, keep_finished: usize, keep_bytes: usize) -> LiveState {
        LiveState {
            inner: Arc::new(Mutex::new(Inner {
                model: LiveModel::new(cfg, keep_finished, keep_bytes),
                status: LiveStatus::default(),
            })),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic on the capture thread leaves the data as it was; views may still read it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The model now: the ended sessions kept, then the open ones (not yet diagnosed;
    /// their transfers may still be open), by id; capture counters; capture-wide
    /// findings so far (`capture-drops`, password guessing).
    pub fn snapshot(&self) -> Capture {
        self.lock().model.snapshot()
    }

    /// What changed since a view saw `since` ended sessions: the sessions that
    /// ended after them (those still kept) and the open ones now.
    pub fn update(&self, since: u64) -> LiveUpdate {
        self.lock().model.update(since)
    }

    /// One status line: packets seen, kernel drops, rates, sessions.
    pub fn status(&self) -> String {
        self.lock().status.to_string()
    }

    /// The counters behind [`LiveState::status`].
    pub fn status_info(&self) -> LiveStatus {
        self.lock().status.clone()
    }

    /// Ask the capture loop to stop (it notices within the read timeout, 100 ms).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The flag [`LiveState::stop`] sets, for a signal handler.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }
}

/// What the capture loop hands out.
#[derive(Debug)]
pub enum LiveEvent {
    /// A session ended (diagnosed).
    Session(Box<Session>),
    /// Once a second: the counters. `new_drops` are the kernel drops since the last tick.
    Tick { status: LiveStatus, new_drops: u64 },
    /// Something went wrong that does not stop the analysis (saving packets failed).
    Warning(String),
}

/// How a capture ended.
#[derive(Debug)]
pub struct LiveSummary {
    pub stopped_by: StopReason,
    pub status: LiveStatus,
    pub stats: CaptureStats,
    /// Capture-wide findings: `capture-drops`, password guessing.
    pub findings: Vec<Finding>,
    /// Wall-clock start and end.
    pub start: Ts,
    pub end: Ts,
    /// Where packets were saved (`--write`), and how many.
    pub saved: Option<(PathBuf, u64)>,
}

fn wall_now() -> Ts {
    Ts::now()
}

/// An open interface, ready to run.
pub struct LiveCapture {
    source: pcap_live::LiveSource,
    save: Option<(PathBuf, capture_write::Writer<BufWriter<File>>)>,
    filter: String,
    duration: Option<Duration>,
    count: Option<u64>,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("source", &self.source)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    /// Open the interface (a [`LiveError`] says what to do when not allowed or when
    /// the interface does not exist) and the `--write` file.
    pub fn open(args: &LiveArgs) -> anyhow::Result<LiveCapture> {
        let cfg = args.capture_config();
        let source = pcap_live::LiveSource::open(&cfg)?;
        let save = match &args.write {
            Some(path) => {
                let f = File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let app = format!("ftpscope {} live", env!("CARGO_PKG_VERSION"));
                let header = capture_write::Header {
                    linktype: pcap_live::file_linktype(source.linktype()),
                    snaplen: cfg.snaplen,
                    interface: Some(source.interface()),
                    application: &app,
                };
                let w = capture_write::Writer::new(
                    BufWriter::with_capacity(1 << 20, f),
                    capture_write::Format::for_path(path),
                    &header,
                )
                .with_context(|| format!("cannot write {}", path.display()))?;
                Some((path.clone(), w))
            }
            None => None,
        };
        let duration = args
            .duration
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        Ok(LiveCapture {
            source,
            save,
            filter: cfg.filter,
            duration,
            count: args.count,
        })
    }

    pub fn interface(&self) -> &str {
        self.source.interface()
    }

    pub fn linktype_name(&self) -> String {
        self.source.linktype_name()
    }

    /// Capture until stopped (see [`StopReason`]), feeding `state`'s engine, then
    /// finish it. Ended sessions go to `on_event` as they end, and a tick every second.
    pub fn run(self, state: &LiveState, on_event: &mut dyn FnMut(LiveEvent)) -> LiveSummary {
        let LiveCapture {
            mut source,
            mut save,
            filter,
            duration,
            count,
        } = self;
        let link = source.linktype();
        let start = Instant::now();
        let start_ts = wall_now();
        let deadline = duration.map(|d| start + d);
        {
            let mut g = state.lock();
            g.status = LiveStatus {
                interface: source.interface().to_string(),
                linktype: source.linktype_name(),
                filter,
                started: Some(start_ts),
                running: true,
                ..LiveStatus::default()
            };
        }
        let mut n = Counts::default();
        let mut save_error: Option<io::Error> = None;
        let mut ended: Vec<Session> = Vec::new();
        let mut last = LastTick {
            at: start,
            ts: start_ts,
            counts: Counts::default(),
            kernel: KernelStats::default(),
        };
        let stopped_by = loop {
            if state.stop_requested() {
                break StopReason::Stopped;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break StopReason::Duration;
            }
            if count.is_some_and(|c| n.packets >= c) {
                break StopReason::Count;
            }
            let max = count.map_or(BATCH, |c| BATCH.min((c - n.packets) as usize));
            // Lock only once a packet is ready: a quiet interface does not hold up views.
            let mut guard: Option<MutexGuard<'_, Inner>> = None;
            let res = source.dispatch(Some(max), &mut |p| {
                n.packets += 1;
                n.wire_bytes += u64::from(p.orig_len.max(p.data.len() as u32));
                if let Some((_, w)) = save.as_mut() {
                    if save_error.is_none() {
                        match w.packet(p.ts, p.data, p.orig_len) {
                            Ok(()) => n.saved += 1,
                            Err(e) => save_error = Some(e),
                        }
                    }
                }
                let g = guard.get_or_insert_with(|| state.lock());
                g.model.packet(link, n.packets, p.ts, p.data, p.orig_len);
            });
            if let Some(mut g) = guard.take() {
                ended = g.model.take_ended();
            }
            for s in ended.drain(..) {
                n.ended += 1;
                on_event(LiveEvent::Session(Box::new(s)));
            }
            if let Some(e) = save_error.as_ref() {
                if let Some((path, _)) = save.take() {
                    on_event(LiveEvent::Warning(format!(
                        "saving packets to {} stopped: {e}; the analysis goes on",
                        path.display()
                    )));
                }
            }
            if let Err(e) = res {
                break StopReason::Error(e.to_string());
            }
            let now = Instant::now();
            if now.duration_since(last.at) >= Duration::from_secs(1) {
                let kernel = source.stats().unwrap_or(last.kernel);
                // The time, as an input: sessions that waited long enough for
                // their data connections end even when no packet comes.
                let ts = wall_now();
                {
                    let mut g = state.lock();
                    g.model.tick(ts);
                    ended = g.model.take_ended();
                }
                for s in ended.drain(..) {
                    n.ended += 1;
                    on_event(LiveEvent::Session(Box::new(s)));
                }
                let tick = LastTick {
                    at: now,
                    ts,
                    counts: n,
                    kernel,
                };
                let new_drops = kernel.dropped.saturating_sub(last.kernel.dropped);
                let status = {
                    let mut g = state.lock();
                    g.update(start, &last, &tick);
                    g.status.clone()
                };
                if let Some((_, w)) = save.as_mut() {
                    // A file that can be opened while the capture runs (and after a crash).
                    let _ = w.flush();
                }
                last = tick;
                on_event(LiveEvent::Tick { status, new_drops });
            }
        };
        // The last counters, then the end of input for the engine.
        let kernel = source.stats().unwrap_or(last.kernel);
        drop(source);
        let end_ts = wall_now();
        let (status, stats, findings) = {
            let mut g = state.lock();
            ended = g.model.finish();
            n.ended += ended.len() as u64;
            let end = LastTick {
                at: Instant::now(),
                ts: end_ts,
                counts: n,
                kernel,
            };
            g.update(start, &last, &end);
            g.status.running = false;
            (g.status.clone(), g.model.stats(), g.model.findings())
        };
        for s in ended.drain(..) {
            on_event(LiveEvent::Session(Box::new(s)));
        }
        let saved_to = match save {
            Some((path, mut w)) => match w.flush() {
                Ok(()) => Some((path, n.saved)),
                Err(e) => {
                    on_event(LiveEvent::Warning(format!(
                        "saving packets to {} failed at the end: {e}",
                        path.display()
                    )));
                    None
                }
            },
            None => None,
        };
        LiveSummary {
            stopped_by,
            status,
            stats,
            findings,
            start: start_ts,
            end: end_ts,
            saved: saved_to,
        }
    }
}

/// What the capture loop counts outside the engine.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    /// Packets read (the frame number of the last one).
    packets: u64,
    wire_bytes: u64,
    saved: u64,
    /// Sessions handed out.
    ended: u64,
}

/// The counters at a status tick (or at the end).
struct LastTick {
    at: Instant,
    ts: Ts,
    counts: Counts,
    kernel: KernelStats,
}

impl Inner {
    /// The status at `now`; rates over the time since `prev`; drops since `prev` kept
    /// as evidence.
    fn update(&mut self, start: Instant, prev: &LastTick, now: &LastTick) {
        let secs = now.at.duration_since(prev.at).as_secs_f64();
        let (n, k) = (now.counts, now.kernel);
        let st = &mut self.status;
        st.elapsed = now.at.duration_since(start).as_secs_f64();
        st.packets = n.packets;
        st.wire_bytes = n.wire_bytes;
        st.kernel_received = k.received;
        st.kernel_dropped = k.dropped;
        st.interface_dropped = k.if_dropped;
        if secs >= 0.5 {
            st.packets_per_sec = (n.packets - prev.counts.packets) as f64 / secs;
            st.bits_per_sec = (n.wire_bytes - prev.counts.wire_bytes) as f64 * 8.0 / secs;
        }
        st.ended_sessions = n.ended;
        st.saved_packets = n.saved;
        st.open_sessions = self.model.open_sessions();
        let d = self.model.drops_mut();
        d.interface.clone_from(&st.interface);
        d.filter.clone_from(&st.filter);
        d.packets = st.packets;
        d.kernel_received = st.kernel_received;
        d.kernel_dropped = st.kernel_dropped;
        d.interface_dropped = st.interface_dropped;
        let dropped = k.dropped.saturating_sub(prev.kernel.dropped);
        if dropped > 0 {
            d.add_interval(DropInterval {
                from: prev.ts,
                to: now.ts,
                dropped,
                frame: n.packets,
                packets_per_sec: st.packets_per_sec,
            });
        }
    }
}

/// Print the interfaces libpcap can capture on.
pub fn list_interfaces(out: &mut dyn Write) -> anyhow::Result<()> {
    // Names and descriptions come from the system; still, no raw control reaches the terminal.
    let out = &mut SafeWriter::new(out);
    let list = interfaces()?;
    if list.is_empty() {
        writeln!(
            out,
            "no interface found (on Linux, listing needs no privilege; is libpcap working?)"
        )?;
    }
    for i in list {
        let mut flags = Vec::new();
        if i.up {
            flags.push("up");
        }
        if i.running {
            flags.push("running");
        }
        if i.loopback {
            flags.push("loopback");
        }
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        let mut line = format!("{:<16} {:<20} {}", i.name, flags.join(","), addrs.join(" "));
        if let Some(d) = &i.description {
            line = format!("{}  ({d})", line.trim_end());
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Messages to the log writer.
enum Msg {
    Session(Box<Session>),
    /// A line for the text log (notes about drops, warnings).
    Note(String),
}

/// The JSON line written after the last session.
#[derive(Serialize)]
struct JsonSummary<'a> {
    capture_summary: JsonSummaryBody<'a>,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct JsonSummaryBody<'a> {
    live: &'a LiveStatus,
    #[serde(serialize_with = "ser_ts")]
    start: Ts,
    #[serde(serialize_with = "ser_ts")]
    end: Ts,
    stopped_by: &'a StopReason,
    saved_to: Option<String>,
    stats: &'a CaptureStats,
}

fn ser_ts<S: serde::Serializer>(t: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

fn write_text_summary(out: &mut dyn Write, sum: &LiveSummary, lang_zh: bool) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    let st = &sum.status;
    writeln!(out)?;
    writeln!(
        out,
        "ftpscope live: end of capture on {} ({}), filter \"{}\"",
        st.interface,
        st.linktype,
        escape_str(&st.filter)
    )?;
    writeln!(
        out,
        "  from {} to {} ({}), stopped by {}",
        sum.start.rfc3339(),
        sum.end.rfc3339(),
        human_duration(sum.start.secs_until(sum.end)),
        match &sum.stopped_by {
            StopReason::Stopped => "a stop request (Ctrl-C / SIGTERM)".to_string(),
            StopReason::Duration => "--duration".to_string(),
            StopReason::Count => "--count".to_string(),
            StopReason::Error(e) => format!("an error: {}", escape_str(e)),
        }
    )?;
    writeln!(
        out,
        "  {} packets read ({}), {} dropped by the kernel, {} by the interface; {} TCP connections, {} FTP session{}",
        st.packets,
        human_bytes(st.wire_bytes),
        st.kernel_dropped,
        st.interface_dropped,
        sum.stats.tcp_connections,
        st.ended_sessions,
        if st.ended_sessions == 1 { "" } else { "s" }
    )?;
    if st.elapsed > 0.0 {
        writeln!(
            out,
            "  on average {}pkt/s, {}bit/s",
            si(st.packets as f64 / st.elapsed),
            si(st.wire_bytes as f64 * 8.0 / st.elapsed)
        )?;
    }
    if let Some((p, n)) = &sum.saved {
        writeln!(
            out,
            "  {n} packets saved to {}",
            escape_str(&p.display().to_string())
        )?;
    }
    writeln!(
        out,
        "{}",
        if lang_zh {
            "整个抓包的诊断"
        } else {
            "Diagnosis (whole capture)"
        }
    )?;
    if sum.findings.is_empty() {
        writeln!(
            out,
            "  {}",
            if lang_zh {
                "未发现问题"
            } else {
                "no capture-wide problem found"
            }
        )?;
    }
    for f in &sum.findings {
        let lang = if lang_zh { Lang::Zh } else { Lang::En };
        report::text::write_finding_at(out, f, "  ", crate::time::TimeView::Utc, lang)?;
    }
    Ok(())
}

impl LiveSource for LiveState {
    fn update(&self, since: u64) -> LiveUpdate {
        LiveState::update(self, since)
    }
    fn status(&self) -> crate::i18n::Tr {
        self.lock().status.describe()
    }
}

/// Live capture on its own thread, for a view that asks the shared [`LiveState`]
/// what changed (the TUI, wired by the binary): the view never waits on the
/// capture, and [`stop`](Self::stop) ends the capture and waits for its thread.
pub struct CaptureThread {
    state: LiveState,
    title: String,
    worker: Option<std::thread::JoinHandle<LiveSummary>>,
}

impl CaptureThread {
    /// Open the interface and start capturing; ended sessions are kept for the
    /// view ([`crate::engine::LIVE_KEEP`], and [`MAX_ENDED_BYTES`]).
    pub fn start(args: &LiveArgs, cfg: TrackerConfig) -> anyhow::Result<CaptureThread> {
        let capture = LiveCapture::open(args)?;
        let state = LiveState::new(cfg, crate::engine::LIVE_KEEP);
        let title = format!(
            "live capture on {} ({})",
            capture.interface(),
            capture.linktype_name()
        );
        let cap_state = state.clone();
        let worker = std::thread::Builder::new()
            .name("ftpscope-capture".into())
            .spawn(move || capture.run(&cap_state, &mut |_| {}))
            .context("cannot start the capture thread")?;
        Ok(CaptureThread {
            state,
            title,
            worker: Some(worker),
        })
    }

    /// What a view reads: [`LiveSource`] updates and the status line.
    pub fn state(&self) -> &LiveState {
        &self.state
    }

    /// `live capture on IFACE (LINKTYPE)`, for a view's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Stop the capture (the tracker is finished) and wait for its thread.
    pub fn stop(mut self) {
        self.state.stop();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        self.state.stop();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Does `ftpscope live` with these arguments want the TUI? On a terminal (stdin
/// and stdout), with no log file, text format and no `--list-interfaces`.
pub fn wants_tui(args: &LiveArgs) -> bool {
    !args.list_interfaces
        && args.log.is_none()
        && args.format == LiveFormat::Text
        && io::stdout().is_terminal()
        && io::stdin().is_terminal()
}

/// `ftpscope live` without a terminal UI: capture, write each session to the log
/// (text or JSON, flushed after each) as it ends, a status on standard error, and at
/// the end a summary with the capture-wide findings (text: a section; JSON: one last
/// line `{"capture_summary": {...}, "findings": [...]}`).
///
/// Stops on Ctrl-C or SIGTERM (the tracker is finished and every session written),
/// at `--duration` or `--count`. Returns the exit code: 0. Errors (exit code 2 in
/// `main`): no permission to capture, an unknown interface, a bad filter, a file that
/// cannot be created, and reading from the interface failing (reported after the
/// log is complete).
///
/// The TUI is not started here (see [`wants_tui`]): the binary runs it on a
/// [`CaptureThread`], so that no source module depends on a view.
pub fn run(args: LiveArgs, cfg: TrackerConfig, lang: Lang) -> anyhow::Result<u8> {
    if args.list_interfaces {
        let mut out = io::stdout().lock();
        list_interfaces(&mut out)?;
        out.flush()?;
        return Ok(0);
    }
    let opts = ViewOptions {
        lang,
        explain: !args.no_explain,
    };
    let capture = LiveCapture::open(&args)?;
    let log_on_stdout = args.log.is_none();
    let out: Box<dyn Write + Send> = match &args.log {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
    };
    // The text log is written through the escaping writer (JSON escapes itself).
    let out: Box<dyn Write + Send> = if args.format.is_text() {
        Box::new(SafeWriter::new(out))
    } else {
        out
    };
    let log = crate::report::stream::SessionLog::new(
        args.format,
        opts,
        args.zeek.options(cfg.show_passwords),
    );
    let state = LiveState::new(cfg, 0);
    // Ctrl-C and SIGTERM set the stop flag; a second one exits at once (130).
    let stop_flag = state.stop_flag();
    let _signals = crate::signals::StopOnSignal::install(move || {
        stop_flag.store(true, Ordering::SeqCst);
        eprintln!("\nftpscope: stopping: finishing the sessions (again to quit at once)");
    })
    .context("cannot start the signal handler")?;

    let stderr_tty = io::stderr().is_terminal();
    let redraw = stderr_tty && !(log_on_stdout && io::stdout().is_terminal());
    let interval = args.status_interval.unwrap_or(if redraw { 1 } else { 10 });
    let redraw = redraw && interval == 1;
    eprintln!(
        "ftpscope live: capturing on {} ({}), filter \"{}\"{}; Ctrl-C to stop",
        escape_str(capture.interface()),
        capture.linktype_name(),
        escape_str(&args.filter),
        args.write
            .as_ref()
            .map(|p| format!(", saving to {}", escape_str(&p.display().to_string())))
            .unwrap_or_default()
    );
    let format = args.format;
    let header = format!(
        "ftpscope live: capture on {} ({}), filter \"{}\", started {}",
        escape_str(capture.interface()),
        capture.linktype_name(),
        escape_str(&args.filter),
        wall_now().rfc3339()
    );

    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(WRITER_QUEUE);
    let writer = std::thread::Builder::new()
        .name("ftpscope-log".into())
        .spawn(
            move || -> io::Result<(Box<dyn Write + Send>, crate::report::stream::SessionLog)> {
                let (mut out, mut log) = (out, log);
                if format == LiveFormat::Text {
                    writeln!(out, "{header}")?;
                    writeln!(out)?;
                    out.flush()?;
                }
                for m in rx {
                    match m {
                        Msg::Session(s) => log.session(&mut out, &s)?,
                        Msg::Note(n) => {
                            if format == LiveFormat::Text {
                                writeln!(out, "# {n}")?;
                            }
                        }
                    }
                    out.flush()?;
                }
                Ok((out, log))
            },
        )
        .context("cannot start the log writer")?;

    let stop = state.stop_flag();
    let mut ticks = 0u64;
    let mut status_shown = false;
    let summary = capture.run(&state, &mut |ev| match ev {
        LiveEvent::Session(s) => {
            if tx.send(Msg::Session(s)).is_err() {
                // The writer stopped (a closed pipe, say); its error is reported below.
                stop.store(true, Ordering::SeqCst);
            }
        }
        LiveEvent::Tick { status, new_drops } => {
            ticks += 1;
            if new_drops > 0 {
                let _ = tx.send(Msg::Note(format!(
                    "{} the kernel dropped {new_drops} packets in the last second ({} in all): sessions active now may show gaps",
                    wall_now().clock(),
                    status.kernel_dropped
                )));
            }
            if interval > 0 && ticks.is_multiple_of(interval) {
                if redraw {
                    eprint!("\r\x1b[2K{status}");
                    status_shown = true;
                } else {
                    eprintln!("ftpscope live: {status}");
                }
            }
        }
        LiveEvent::Warning(w) => {
            eprintln!("ftpscope live: warning: {}", escape_str(&w));
            let _ = tx.send(Msg::Note(format!("warning: {w}")));
        }
    });
    if status_shown {
        eprintln!();
    }
    drop(tx);
    let (mut out, mut log) = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the log writer panicked"))??;
    match format {
        LiveFormat::Zeek | LiveFormat::ZeekJson | LiveFormat::Eve | LiveFormat::Ocsf => {
            log.finish(&mut out, &summary.findings, summary.end)?
        }
        LiveFormat::Json => {
            let line = JsonSummary {
                capture_summary: JsonSummaryBody {
                    live: &summary.status,
                    start: summary.start,
                    end: summary.end,
                    stopped_by: &summary.stopped_by,
                    saved_to: summary.saved.as_ref().map(|(p, _)| p.display().to_string()),
                    stats: &summary.stats,
                },
                findings: &summary.findings,
            };
            report::json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        }
        LiveFormat::Text => {
            write_text_summary(&mut out, &summary, lang == crate::ftp::catalog::Lang::Zh)?
        }
    }
    out.flush()?;
    eprintln!("ftpscope live: {}", summary.status);
    if let StopReason::Error(e) = summary.stopped_by {
        anyhow::bail!("{e} (the log above is complete up to this point)");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn status(dropped: u64, if_dropped: u64) -> LiveStatus {
        LiveStatus {
            interface: "eth0".into(),
            filter: "tcp".into(),
            packets: 9_900,
            kernel_received: 10_000,
            kernel_dropped: dropped,
            interface_dropped: if_dropped,
            ..LiveStatus::default()
        }
    }

    /// Ended sessions kept for views are bounded by count and by weight.
    #[test]
    fn ended_sessions_kept_for_snapshots_are_bounded_in_count_and_bytes() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/multi-session.pcap");
        let cap = crate::engine::analyze_file(&path, TrackerConfig::default()).unwrap();
        assert!(cap.sessions.len() > 2);
        let feed = |state: &LiveState| {
            let mut g = state.lock();
            let mut r =
                crate::capture::reader::CaptureReader::new(std::fs::File::open(&path).unwrap())
                    .unwrap();
            while let Ok(Some(p)) = r.next_packet() {
                g.model
                    .packet(p.linktype, p.frame, p.ts, p.data, p.orig_len);
                g.model.take_ended();
            }
            g.model.finish();
        };
        let state = LiveState::new(TrackerConfig::default(), 2);
        feed(&state);
        assert_eq!(state.snapshot().sessions.len(), 2);
        // By weight: room for one session only.
        let one = cap.sessions.iter().map(Session::weight).max().unwrap();
        let state = LiveState::with_budget(TrackerConfig::default(), 1000, one);
        feed(&state);
        let kept = state.snapshot().sessions;
        assert!(kept.len() < cap.sessions.len(), "kept {}", kept.len());
        assert!(state.lock().model.ended_bytes() <= one);
    }

    #[test]
    fn args_defaults_and_bounds() {
        let a = LiveArgs::try_parse_from(["-i", "eth0"]).unwrap();
        assert_eq!(a.filter, "tcp");
        assert_eq!(a.format, LiveFormat::Text);
        let c = a.capture_config();
        assert_eq!((c.interface.as_str(), c.buffer_bytes), ("eth0", 64 << 20));
        assert!(c.promisc);
        assert!(LiveArgs::try_parse_from(["--list-interfaces"]).is_ok());
        assert!(LiveArgs::try_parse_from::<[&str; 0], &str>([]).is_err());
        for bad in ["0", "0s", "-1", "nan", "x", "5"] {
            assert!(
                LiveArgs::try_parse_from(["-i", "lo", "--duration", bad]).is_err(),
                "{bad}"
            );
        }
        let a = LiveArgs::try_parse_from(["-i", "any", "-c", "5", "-w", "x.pcap", "--no-promisc"])
            .unwrap();
        assert_eq!(a.count, Some(5));
        assert!(!a.capture_config().promisc);
        let a =
            LiveArgs::try_parse_from(["-i", "lo", "--duration", "1m", "--status-interval", "0"])
                .unwrap();
        assert_eq!((a.duration, a.status_interval), (Some(60.0), Some(0)));
    }

    #[test]
    fn status_line_says_packets_drops_and_rates() {
        let mut s = status(3, 0);
        s.packets_per_sec = 123_456.0;
        s.bits_per_sec = 1.5e9;
        s.open_sessions = 1;
        let line = s.to_string();
        assert!(
            line.starts_with("eth0: 9900 packets (123.5 kpkt/s, 1.50 Gbit/s), 3 dropped by the kernel; 1 open session,"),
            "{line}"
        );
    }
}
