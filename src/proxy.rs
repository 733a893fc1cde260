//! The debugging proxy: an FTP client connects to ftpscope, ftpscope connects to
//! one fixed upstream server, and every command, reply and data connection is
//! relayed and shown as it happens.
//!
//! ```text
//!  client ──control──> listener ─> control::serve ──control──> upstream server
//!     │                                 │  rewrites PORT/EPRT/LPRT, 227/229/228
//!     └──data──> data::spawn_pair <─────┘  (both peers connect only to the proxy)
//!                     │ observations (never blocking the relay)
//!                     v
//!                observe::run_hub (own thread): Tracker (the one engine),
//!                --record pcapng, --log, ProxyObserver, live snapshot
//! ```
//!
//! **The proxy analyses nothing.** It describes what it relays as the same
//! [`ConnEvent`](crate::tcp::ConnEvent)s the TCP reassembler produces from a
//! capture, for the logical connections between the real peers:
//! * the control connection: initiator = the client as seen by the proxy,
//!   responder = the upstream server's address; its lines as the client and the
//!   server sent them, before the proxy rewrote addresses (what the other side
//!   received instead is a note on that command or reply);
//! * each data connection between the peers that announced and used it:
//!   (client -> address the server announced) in passive mode, (server -> address
//!   the client announced) in active mode, so the tracker ties it to the
//!   announcement it saw. When `--upstream-mode` converts between modes, the
//!   transcript is the client's side (its command and the reply the proxy gave
//!   it) and the data connection is the client's side of the relay; what was said
//!   upstream is a note.
//!
//! Proxy decisions (address rewrites, refused PORT bounces, refused port
//! thieves, injected faults) are notes on the command, reply or data channel
//! they concern, or session anomalies prefixed `proxy:`.
//!
//! Bounds: `--max-sessions` sessions (more are answered `421` and closed), 8 KiB
//! control lines (longer ones are relayed in pieces and analysed cut), connect
//! and idle timeouts, observation queue caps (see [`observe`]), the last
//! [`observe::MAX_LIVE_FINISHED`] finished sessions (at most
//! [`crate::engine::MAX_ENDED_BYTES`] of them) kept for live views.
//! Data bytes are relayed unaltered with half-close (EOF one way shuts down the
//! other side's write half; the other direction keeps flowing) and are counted,
//! not kept, unless `--record` asks for them.
//!
//! Limits: after `AUTH TLS` and its `234` the control connection is relayed as
//! opaque bytes; the proxy can no longer rewrite data addresses, so data
//! connections of that session do not go through the proxy (passive mode fails:
//! the client connects to the proxy's address at the server's port, or to the
//! server directly); the session says so with the `tls-proxy-blind` finding, and
//! its TLS facts are read from the relayed bytes as from a capture (the proxy has
//! no frame numbers: the TLS reader tells segments apart by read, not by frame).
//! Telnet urgent data (the Synch before ABOR) is received
//! inline and relayed as ordinary bytes.

pub mod ca;
mod control;
mod data;
mod legs;
pub mod observe;
pub mod record;
pub mod rewrite;
pub mod tls;
mod trace;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ftp::catalog::Lang;
use crate::model::{Capture, Session};
use crate::report::ViewOptions;
use crate::session::TrackerConfig;
use observe::{LogSink, Observer, Shared};

/// How the proxy talks to the server about data connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UpstreamMode {
    /// As the client does (PASV stays PASV, PORT stays PORT).
    #[default]
    Same,
    /// Always passive towards the server (a client's PORT/EPRT becomes PASV/EPSV upstream).
    Passive,
    /// Always active towards the server (a client's PASV/EPSV becomes PORT/EPRT upstream).
    Active,
}

/// Faults to inject (all off by default).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Refuse the next N data connections (the peer that should connect to the
    /// proxy finds its port closed).
    pub refuse_data: u32,
    /// Reset the next N data connections as soon as both sides are connected.
    pub drop_data: u32,
    /// Delay every reply to the client by this much.
    pub delay_replies: Option<Duration>,
    /// Answer these commands with this code instead of forwarding them.
    pub replies: Vec<(String, u16)>,
    /// Close the control connection when the client sends more than N commands.
    pub close_after: Option<u32>,
}

/// Live fault switches, shared with the sessions (and a UI that wants to flip them).
#[derive(Debug, Default)]
pub struct FaultState {
    refuse_data: AtomicU32,
    drop_data: AtomicU32,
    delay_ms: AtomicU64,
    replies: Mutex<Vec<(String, u16)>>,
    /// 0: off.
    close_after: AtomicU32,
    /// Armed from a UI: the next command (of any session) is answered with this
    /// code; 0: none.
    reply_next: AtomicU32,
}

fn take_one(a: &AtomicU32) -> bool {
    a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

impl FaultState {
    pub fn new(f: &Faults) -> Self {
        FaultState {
            refuse_data: AtomicU32::new(f.refuse_data),
            drop_data: AtomicU32::new(f.drop_data),
            delay_ms: AtomicU64::new(f.delay_replies.map_or(0, |d| d.as_millis() as u64)),
            replies: Mutex::new(f.replies.clone()),
            close_after: AtomicU32::new(f.close_after.unwrap_or(0)),
            reply_next: AtomicU32::new(0),
        }
    }
    /// Answer the next command, whatever it is, with `code` (a UI's key).
    pub fn reply_next(&self, code: u16) {
        self.reply_next.store(u32::from(code), Ordering::Release);
    }
    /// The code armed by [`FaultState::reply_next`], taken by the one command it applies to.
    pub(crate) fn take_reply_next(&self) -> Option<u16> {
        match self.reply_next.swap(0, Ordering::AcqRel) {
            0 => None,
            c => u16::try_from(c).ok(),
        }
    }
    /// Disarm every fault (the options' ones too).
    pub fn clear(&self) {
        self.refuse_data.store(0, Ordering::Release);
        self.drop_data.store(0, Ordering::Release);
        self.delay_ms.store(0, Ordering::Release);
        self.close_after.store(0, Ordering::Release);
        self.reply_next.store(0, Ordering::Release);
        self.replies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
    /// Refuse one more upcoming data connection.
    pub fn refuse_next_data(&self) {
        self.refuse_data.fetch_add(1, Ordering::AcqRel);
    }
    /// Reset one more upcoming data connection.
    pub fn drop_next_data(&self) {
        self.drop_data.fetch_add(1, Ordering::AcqRel);
    }
    pub fn set_reply_delay(&self, d: Duration) {
        self.delay_ms.store(d.as_millis() as u64, Ordering::Release);
    }
    /// Answer `verb` with `code` (None: forward it again).
    pub fn set_reply(&self, verb: &str, code: Option<u16>) {
        let mut r = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        r.retain(|(v, _)| !v.eq_ignore_ascii_case(verb));
        if let Some(c) = code {
            r.push((verb.to_ascii_uppercase(), c));
        }
    }
    pub(crate) fn take_refuse(&self) -> bool {
        take_one(&self.refuse_data)
    }
    pub(crate) fn take_drop(&self) -> bool {
        take_one(&self.drop_data)
    }
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self.delay_ms.load(Ordering::Acquire) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
    pub(crate) fn reply_for(&self, verb: &str) -> Option<u16> {
        let r = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        r.iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(verb))
            .map(|(_, c)| *c)
    }
    pub(crate) fn close_after(&self) -> Option<u32> {
        match self.close_after.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        }
    }
    /// One line for the status bar ("" when no fault is armed).
    pub fn describe(&self) -> String {
        self.describe_tr().en
    }

    /// [`FaultState::describe`] in both languages.
    pub fn describe_tr(&self) -> crate::i18n::Tr {
        let mut s: Vec<crate::i18n::Tr> = Vec::new();
        let n = self.refuse_data.load(Ordering::Acquire);
        if n > 0 {
            s.push(crate::tr!("refuse {n} data conn", "拒绝 {n} 个数据连接"));
        }
        let n = self.drop_data.load(Ordering::Acquire);
        if n > 0 {
            s.push(crate::tr!("drop {n} data conn", "重置 {n} 个数据连接"));
        }
        if let Some(d) = self.delay() {
            let ms = d.as_millis();
            s.push(crate::tr!("delay replies {ms} ms", "响应延迟 {ms} ms"));
        }
        for (v, c) in self
            .replies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            s.push(crate::i18n::Tr::verbatim(format!("{v}={c}")));
        }
        if let Some(n) = self.close_after() {
            s.push(crate::tr!("close after {n} commands", "{n} 条命令后关闭"));
        }
        let c = self.reply_next.load(Ordering::Acquire);
        if c > 0 {
            s.push(crate::tr!(
                "answer next command {c}",
                "下一条命令以 {c} 应答"
            ));
        }
        crate::i18n::Tr::list(&s)
    }
}

/// Everything the proxy needs to run.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where clients connect (loopback by default).
    pub listen: SocketAddr,
    /// The one server this proxy relays to, `host:port`.
    pub upstream: String,
    pub upstream_mode: UpstreamMode,
    /// Address put in 227/228 replies to the client (default: the address the
    /// client connected to).
    pub announce: Option<IpAddr>,
    /// Ports for the proxy's data listeners (random within), inclusive.
    pub data_ports: Option<(u16, u16)>,
    pub max_sessions: usize,
    /// Close a session after this long without a whole control line (a client
    /// sending a line byte by byte does not count) or data traffic.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Allow PORT/EPRT naming a third host or a port below 1024 (forwarded unchanged).
    pub allow_fxp: bool,
    pub show_passwords: bool,
    /// Also the info findings given only when asked (`--verbose`).
    pub verbose: bool,
    /// Write a pcapng of every connection.
    pub record: Option<PathBuf>,
    pub faults: Faults,
    /// Write finished sessions to this file.
    pub log: Option<PathBuf>,
    /// The sessions' format, in the log and on standard output.
    pub format: crate::report::stream::LogFormat,
    /// The Zeek formats' options.
    pub zeek: crate::report::zeek::ZeekOptions,
    /// Write each data connection's payload to files there (`--extract DIR`).
    pub extract: Option<std::sync::Arc<crate::session::extract::ExtractDir>>,
    /// Text: the explanation under each command and reply (`--no-explain` clears it).
    pub explain: bool,
    pub lang: Lang,
    /// `--tls-intercept` and its options (None: TLS is relayed blindly).
    pub tls: Option<tls::TlsOptions>,
    /// `--keepalive`: send NOOP to the server when its control connection has
    /// been quiet this long during a transfer.
    pub keepalive: Option<Duration>,
}

impl ProxyConfig {
    /// A writer of sessions in the configured format, language and options (the
    /// `--log` file's, or standard output's).
    pub fn session_log(&self) -> crate::report::stream::SessionLog {
        crate::report::stream::SessionLog::new(
            self.format,
            ViewOptions {
                lang: self.lang,
                explain: self.explain,
            },
            self.zeek.clone(),
        )
    }

    /// A configuration with the defaults of the command line.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>) -> Self {
        ProxyConfig {
            listen,
            upstream: upstream.into(),
            upstream_mode: UpstreamMode::Same,
            announce: None,
            data_ports: None,
            max_sessions: 64,
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            allow_fxp: false,
            show_passwords: false,
            verbose: false,
            record: None,
            faults: Faults::default(),
            log: None,
            format: crate::report::stream::LogFormat::Text,
            zeek: Default::default(),
            extract: None,
            explain: true,
            lang: Lang::En,
            tls: None,
            keepalive: None,
        }
    }
}

use crate::time::parse_duration;

fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once(['-', ':'])
        .ok_or_else(|| format!("`{s}`: expected LOW-HIGH, e.g. 50000-50100"))?;
    let a: u16 = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a port"))?;
    let b: u16 = b
        .trim()
        .parse()
        .map_err(|_| format!("`{b}` is not a port"))?;
    if a == 0 || a > b {
        return Err(format!("`{s}`: expected 1 <= LOW <= HIGH"));
    }
    Ok((a, b))
}

fn parse_fault_reply(s: &str) -> Result<(String, u16), String> {
    let (v, c) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected VERB=CODE, e.g. RETR=425"))?;
    let code: u16 = c
        .trim()
        .parse()
        .map_err(|_| format!("`{c}` is not a reply code"))?;
    if !(100..=599).contains(&code) {
        return Err(format!("`{code}` is not a reply code (100-599)"));
    }
    let v = v.trim();
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("`{v}` is not a command verb"));
    }
    Ok((v.to_ascii_uppercase(), code))
}

/// `ftpscope proxy` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ProxyArgs {
    /// The FTP server to relay to (the only one: this is not an open relay).
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: String,
    /// Address to listen on for clients (port 0: the system chooses; the first
    /// line on stderr, "listening on ADDR, ...", tells which).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:2121")]
    pub listen: SocketAddr,
    /// Data-connection mode towards the server.
    #[arg(long, value_enum, default_value_t = UpstreamMode::Same)]
    pub upstream_mode: UpstreamMode,
    /// Address to put in 227/228 replies to clients (default: the address the client connected to).
    #[arg(long, value_name = "ADDR")]
    pub announce: Option<IpAddr>,
    /// Ports for the proxy's data listeners, chosen at random within (default: any free port).
    #[arg(long, value_name = "LOW-HIGH", value_parser = parse_port_range)]
    pub data_ports: Option<(u16, u16)>,
    /// Client sessions at once; more are answered 421 and closed.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_sessions: usize,
    /// Close a session after this long without a whole control line or data traffic
    /// (a number with a unit: 300s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "300s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Give up connecting to the server (or to an active-mode client) after this long
    /// (a number with a unit: 10s, 1500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// During a transfer, send NOOP to the server whenever its control connection
    /// has been quiet this long (a number with a unit: 60s, 2m), for NAT devices and
    /// firewalls that drop a quiet control connection; the replies are not relayed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub keepalive: Option<Duration>,
    /// Let PORT/EPRT name a third host or a port below 1024 (server-to-server transfers);
    /// otherwise they are refused with 504 as FTP bounce attempts.
    #[arg(long)]
    pub allow_fxp: bool,
    /// Write every connection to this pcapng file (synthesised TCP/IP packets).
    #[arg(long, value_name = "FILE.pcapng")]
    pub record: Option<PathBuf>,
    /// Append each session to this file as it ends (a banner on standard error says
    /// where; a summary follows on exit).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Sessions as text, JSON lines (as `report --format json`), zeek (Zeek's
    /// ftp.log), zeek-json, eve (Suricata EVE JSON) or ocsf, each as it ends.
    #[arg(long, value_enum, default_value_t = crate::report::stream::LogFormat::Text)]
    pub format: crate::report::stream::LogFormat,
    #[command(flatten)]
    pub zeek: crate::report::stream::ZeekArgs,
    /// Same as `--format json` (the old spelling).
    #[arg(long, hide = true)]
    pub json: bool,
    /// Leave out the explanation under each command and reply (text).
    #[arg(long)]
    pub no_explain: bool,
    /// Refuse the next N data connections (the port the peer must connect to is closed).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection (off by default)"
    )]
    pub fault_refuse_data: u32,
    /// Reset the next N data connections as soon as both sides are connected.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection (off by default)"
    )]
    pub fault_drop_data: u32,
    /// Delay every reply to the client (a number with a unit: 500ms, 2s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Fault injection (off by default)")]
    pub fault_delay: Option<Duration>,
    /// Answer a command with a code instead of forwarding it, e.g. RETR=425 (repeatable).
    #[arg(long, value_name = "VERB=CODE", value_parser = parse_fault_reply, help_heading = "Fault injection (off by default)")]
    pub fault_reply: Vec<(String, u16)>,
    /// Close the control connection when the client sends more than N commands.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Fault injection (off by default)"
    )]
    pub fault_close_after: Option<u32>,
    /// Decrypt FTPS: answer AUTH TLS/SSL with the proxy's own certificate (issued
    /// by its CA, see `ftpscope ca`) and speak TLS to the server, so commands,
    /// replies and data connections are seen and rewritten as in plain FTP.
    #[arg(long, help_heading = "TLS interception")]
    pub tls_intercept: bool,
    /// The interception CA: one PEM file with its certificate and private key
    /// (default: made on first use under $XDG_CONFIG_HOME/ftpscope/).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_intercept",
        help_heading = "TLS interception"
    )]
    pub ca: Option<PathBuf>,
    /// Also trust these CA certificates (PEM) for the server's certificate
    /// (repeatable; the system's roots are trusted too).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_intercept",
        help_heading = "TLS interception"
    )]
    pub upstream_ca: Vec<PathBuf>,
    /// Do not check the server's certificate (anyone between the proxy and the
    /// server can then read and change the session).
    #[arg(long, requires = "tls_intercept", help_heading = "TLS interception")]
    pub upstream_insecure: bool,
    /// The listener speaks implicit FTPS: TLS from the first byte, towards the
    /// client and towards the server.
    #[arg(long, requires = "tls_intercept", help_heading = "TLS interception")]
    pub implicit: bool,
    /// Do not bridge TLS session reuse: on a data connection, resume the proxy's
    /// upstream session only when the client resumed its own, so a server that
    /// requires reuse fails as it would with this client directly.
    #[arg(long, requires = "tls_intercept", help_heading = "TLS interception")]
    pub no_reuse_bridge: bool,
    /// Append both legs' TLS secrets to FILE (NSS key log format, for Wireshark).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_intercept",
        help_heading = "TLS interception"
    )]
    pub tls_keylog: Option<PathBuf>,
}

impl ProxyArgs {
    /// The configuration. `show_passwords` and `lang` come from the global
    /// options: set them on the result.
    pub fn into_config(self) -> anyhow::Result<ProxyConfig> {
        if self.max_sessions == 0 {
            anyhow::bail!("--max-sessions must be at least 1");
        }
        if self.upstream.trim().is_empty() {
            anyhow::bail!("--upstream HOST:PORT is required");
        }
        if self.keepalive.is_some_and(|d| d < Duration::from_secs(1)) {
            anyhow::bail!("--keepalive must be at least 1s");
        }
        if let Some(p) = &self.record {
            if p.is_dir() {
                anyhow::bail!("--record {}: is a directory", p.display());
            }
        }
        Ok(ProxyConfig {
            listen: self.listen,
            upstream: self.upstream,
            upstream_mode: self.upstream_mode,
            announce: self.announce,
            data_ports: self.data_ports,
            max_sessions: self.max_sessions,
            idle_timeout: self.idle_timeout,
            connect_timeout: self.connect_timeout,
            keepalive: self.keepalive,
            allow_fxp: self.allow_fxp,
            show_passwords: false,
            verbose: false,
            record: self.record,
            faults: Faults {
                refuse_data: self.fault_refuse_data,
                drop_data: self.fault_drop_data,
                delay_replies: self.fault_delay,
                replies: self.fault_reply,
                close_after: self.fault_close_after,
            },
            log: self.log,
            format: if self.json {
                crate::report::stream::LogFormat::Json
            } else {
                self.format
            },
            zeek: self.zeek.options(false),
            extract: None,
            explain: !self.no_explain,
            lang: Lang::En,
            tls: self.tls_intercept.then_some(tls::TlsOptions {
                ca: self.ca,
                upstream_ca: self.upstream_ca,
                upstream_insecure: self.upstream_insecure,
                implicit: self.implicit,
                keylog: self.tls_keylog,
                no_reuse_bridge: self.no_reuse_bridge,
                ca_dir: None,
            }),
        })
    }
}

/// Told about what happens, from the hub thread or the listener; must not block long.
pub trait ProxyObserver: Send + Sync {
    /// A session ended (diagnosed, with the proxy's notes).
    fn session_finished(&self, _s: &Session) {}
    /// Something to tell the user: listening, a session's error, shutdown.
    fn message(&self, _m: &str) {}
    /// The proxy stopped: no session follows (a log format ends its log).
    fn finished(&self) {}
}

/// An observer that does nothing (for a UI that polls [`ProxyHandle::snapshot`]).
pub struct NoObserver;
impl ProxyObserver for NoObserver {}

/// Messages to stderr, sessions nowhere (with `--log`, which the proxy writes
/// itself): a log that cannot be written is told at once.
pub struct StderrMessages;
impl ProxyObserver for StderrMessages {
    fn message(&self, m: &str) {
        eprintln!("ftpscope proxy: {m}");
    }
}

/// The non-TUI view: each finished session to a writer in a [`LogFormat`],
/// messages to stderr.
///
/// [`LogFormat`]: crate::report::stream::LogFormat
pub struct WriterObserver {
    out: Mutex<(Box<dyn Write + Send>, crate::report::stream::SessionLog)>,
}

impl WriterObserver {
    /// Text without explanations, or JSON lines (see [`with_log`](Self::with_log)).
    pub fn new(out: Box<dyn Write + Send>, json: bool, lang: Lang) -> Self {
        use crate::report::stream::{LogFormat, SessionLog};
        let format = if json {
            LogFormat::Json
        } else {
            LogFormat::Text
        };
        let opts = ViewOptions {
            lang,
            explain: false,
        };
        Self::with_log(out, SessionLog::new(format, opts, Default::default()))
    }
    pub fn with_log(out: Box<dyn Write + Send>, log: crate::report::stream::SessionLog) -> Self {
        WriterObserver {
            out: Mutex::new((out, log)),
        }
    }
    /// Sessions to standard output.
    pub fn stdout(json: bool, lang: Lang) -> Self {
        Self::new(Box::new(std::io::stdout()), json, lang)
    }
}

/// With `--log`: messages to stderr, and a count of the sessions and findings
/// written, for the summary on exit ([`LogObserver::summary`]).
#[derive(Default)]
pub struct LogObserver {
    sessions: AtomicU64,
    /// Findings by severity: error, warning, info.
    findings: [AtomicU64; 3],
}

impl LogObserver {
    /// One line: sessions, bytes relayed, findings, where the log is.
    pub fn summary(&self, handle: &ProxyHandle, log: &std::path::Path) -> String {
        self.summary_in(handle, log, Lang::En)
    }

    /// [`LogObserver::summary`] in `lang`.
    pub fn summary_in(&self, handle: &ProxyHandle, log: &std::path::Path, lang: Lang) -> String {
        use crate::time::human_bytes;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let c = handle.counters();
        let [e, w, i] = &self.findings;
        let found = l(e) + l(w) + l(i);
        let (n, dc) = (l(&c.sessions_total), l(&c.data_connections));
        let (db, cb) = (l(&c.data_bytes), l(&c.control_bytes));
        let (all, data, control) = (human_bytes(db + cb), human_bytes(db), human_bytes(cb));
        let mut s = crate::tr!(
            "{n} session(s), {dc} data connection(s), {all} relayed ({data} data, {control} control); {found} finding(s)",
            "{n} 个会话，{dc} 个数据连接，转发 {all}（数据 {data}，控制 {control}）；{found} 条发现"
        );
        if found > 0 {
            let (e, w, i) = (l(e), l(w), l(i));
            s.push(&crate::tr!(
                " ({e} error, {w} warning, {i} info)",
                "（{e} 个 error，{w} 个 warning，{i} 个 info）"
            ));
        }
        let rej = l(&c.sessions_rejected);
        if rej > 0 {
            s.push(&crate::tr!(
                "; {rej} rejected (--max-sessions)",
                "；{rej} 个被拒绝（--max-sessions）"
            ));
        }
        let (k, p) = (l(&self.sessions), log.display());
        s.push(&crate::tr!(
            "; {k} session(s) in {p}",
            "；{k} 个会话已写入 {p}"
        ));
        s.get(lang).to_string()
    }
}

impl ProxyObserver for LogObserver {
    fn session_finished(&self, s: &Session) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        for f in &s.findings {
            let i = match f.severity {
                crate::model::Severity::Error => 0,
                crate::model::Severity::Warning => 1,
                crate::model::Severity::Info => 2,
            };
            self.findings[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    fn message(&self, m: &str) {
        eprintln!("ftpscope proxy: {}", crate::text::escape_str(m));
    }
}

impl ProxyObserver for WriterObserver {
    fn session_finished(&self, s: &Session) {
        let mut g = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (out, log) = &mut *g;
        let _ = log.session(out, s).and_then(|()| out.flush());
    }
    fn finished(&self) {
        let mut g = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (out, log) = &mut *g;
        let _ = log
            .finish(out, &[], crate::time::Ts::now())
            .and_then(|()| out.flush());
    }
    fn message(&self, m: &str) {
        eprintln!("ftpscope proxy: {}", crate::text::escape_str(m));
    }
}

/// Counters for the status line.
#[derive(Debug, Default)]
pub struct Counters {
    pub sessions_total: AtomicU64,
    pub sessions_open: AtomicU64,
    pub sessions_rejected: AtomicU64,
    pub data_connections: AtomicU64,
    pub data_bytes: AtomicU64,
    pub control_bytes: AtomicU64,
    pub bounces_refused: AtomicU64,
    pub thefts_refused: AtomicU64,
    pub faults_injected: AtomicU64,
}

/// What a live view holds: snapshots of the model and a status line. Cheap to clone.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    faults: Arc<FaultState>,
    listen: SocketAddr,
    upstream: SocketAddr,
    upstream_name: String,
}

impl ProxyHandle {
    /// The address the proxy listens on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The upstream as configured (a name or an address).
    pub fn upstream_name(&self) -> &str {
        &self.upstream_name
    }

    /// Every session so far: the newest finished ones (diagnosed) and the open
    /// ones, by id.
    pub fn snapshot(&self) -> Capture {
        self.shared.lock().snapshot()
    }

    /// One line: where it listens, sessions, data, drops, faults.
    pub fn status(&self) -> String {
        self.status_tr().en
    }

    /// [`ProxyHandle::status`] in both languages (the TUI's title row).
    pub fn status_tr(&self) -> crate::i18n::Tr {
        use crate::tr;
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (listen, name, up) = (self.listen, &self.upstream_name, self.upstream);
        let (open, total, data) = (
            l(&c.sessions_open),
            l(&c.sessions_total),
            l(&c.data_connections),
        );
        let relayed = crate::time::human_bytes(l(&c.data_bytes) + l(&c.control_bytes));
        let mut parts = vec![tr!(
            "proxy {listen} -> {name} ({up}): {open} open, {total} sessions, {data} data conns, {relayed} relayed",
            "代理 {listen} -> {name}（{up}）：{open} 个进行中，共 {total} 个会话，{data} 个数据连接，已转发 {relayed}"
        )];
        let rej = l(&c.sessions_rejected);
        if rej > 0 {
            parts.push(tr!(
                "{rej} rejected (max sessions)",
                "拒绝 {rej} 个（会话数已达上限）"
            ));
        }
        let b = l(&c.bounces_refused);
        if b > 0 {
            parts.push(tr!("{b} bounce refused", "拒绝 {b} 次跳转攻击"));
        }
        let t = l(&c.thefts_refused);
        if t > 0 {
            parts.push(tr!("{t} port theft refused", "拒绝 {t} 次端口劫持"));
        }
        let d = self.shared.budget.dropped.load(Ordering::Relaxed);
        if d > 0 {
            parts.push(tr!("{d} observations dropped", "丢弃 {d} 条观测"));
        }
        let r = self.shared.record_skipped.load(Ordering::Relaxed);
        if r > 0 {
            parts.push(tr!("{r} B not recorded", "{r} B 未记录"));
        }
        let f = self.faults.describe_tr();
        if !f.en.is_empty() {
            parts.push(tr!("faults: {f}", "故障：{f}"; f = f));
        }
        if let Some(e) = self
            .shared
            .output_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            parts.push(tr!("ERROR: {e}", "错误：{e}"));
        }
        crate::i18n::Tr::list(&parts)
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Fault switches (for a UI that injects faults at run time).
    pub fn faults(&self) -> &FaultState {
        &self.faults
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl crate::engine::LiveSource for ProxyHandle {
    fn update(&self, since: u64) -> crate::engine::LiveUpdate {
        self.shared.lock().update(since)
    }
    fn status(&self) -> crate::i18n::Tr {
        self.status_tr()
    }
    fn inject(&self, fault: &crate::engine::Inject) -> Result<crate::i18n::Tr, crate::i18n::Tr> {
        use crate::engine::Inject;
        use crate::tr;
        let f = &self.faults;
        Ok(match fault {
            Inject::RefuseData => {
                f.refuse_next_data();
                tr!(
                    "armed: refuse the next data connection",
                    "已设置：拒绝下一个数据连接"
                )
            }
            Inject::DropData => {
                f.drop_next_data();
                tr!(
                    "armed: reset the next data connection once both sides are connected",
                    "已设置：下一个数据连接两端都连上后将其重置"
                )
            }
            Inject::Delay(d) if d.is_zero() => {
                f.set_reply_delay(*d);
                tr!("replies are no longer delayed", "响应不再延迟")
            }
            Inject::Delay(d) => {
                f.set_reply_delay(*d);
                let ms = d.as_millis();
                tr!(
                    "armed: every reply held back {ms} ms",
                    "已设置：每个响应延迟 {ms} ms"
                )
            }
            Inject::ReplyNext(code) => {
                f.reply_next(*code);
                tr!(
                    "armed: the next command is answered {code} by the proxy",
                    "已设置：下一条命令由代理以 {code} 应答"
                )
            }
            Inject::Clear => {
                f.clear();
                tr!("every fault disarmed", "已解除所有故障")
            }
        })
    }
    fn armed(&self) -> crate::i18n::Tr {
        self.faults.describe_tr()
    }
}

/// Shared by every task of one proxy.
pub(crate) struct Ctx {
    pub cfg: ProxyConfig,
    pub upstream: SocketAddr,
    pub obs: Observer,
    pub faults: Arc<FaultState>,
    pub counters: Arc<Counters>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    /// `--tls-intercept`: the CA, the trusted roots, the key log.
    pub tls: Option<Arc<tls::Intercept>>,
    /// Listening data sockets held by every session (see [`data::MAX_LISTENERS`]).
    pub listeners: Arc<std::sync::atomic::AtomicUsize>,
    next_conn: AtomicU64,
    rng: AtomicU64,
}

impl Ctx {
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
    /// A pseudo-random number (xorshift; for spreading data ports, not for secrets).
    pub fn random(&self) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y << 13;
            y ^= y >> 7;
            y ^= y << 17;
            match self
                .rng
                .compare_exchange_weak(x, y, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return y,
                Err(v) => x = v,
            }
        }
    }
}

/// Backlog of the clients' listener (the kernel caps it at `net.core.somaxconn`).
/// The usual 128 is too short for a burst of clients: beyond it the kernel drops
/// the handshake's last ACK and the client, which believes it is connected,
/// waits for SYN-ACK retransmissions (1, 2, 4, 8, 16 s) before the proxy even
/// sees it (`tests/proxy_abuse.rs`: 1,000 connections at once).
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(LISTEN_BACKLOG)
}

/// A bound proxy, ready to serve.
pub struct Proxy {
    listener: TcpListener,
    tls: Option<Arc<tls::Intercept>>,
    cfg: ProxyConfig,
    upstream: SocketAddr,
    handle: ProxyHandle,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Resolve the upstream server and bind the listening socket.
    pub async fn bind(cfg: ProxyConfig) -> anyhow::Result<Proxy> {
        let upstream = tokio::net::lookup_host(&cfg.upstream)
            .await
            .with_context(|| format!("cannot resolve upstream {}", cfg.upstream))?
            .next()
            .with_context(|| format!("upstream {} has no address", cfg.upstream))?;
        let tls = match &cfg.tls {
            Some(o) => Some(Arc::new(
                tls::Intercept::new(o, &cfg.upstream).context("--tls-intercept")?,
            )),
            None => None,
        };
        let listener =
            listen(cfg.listen).with_context(|| format!("cannot listen on {}", cfg.listen))?;
        let listen = listener.local_addr()?;
        let shared = Arc::new(Shared {
            live: Mutex::new(observe::Live::new(TrackerConfig {
                ftp_ports: vec![upstream.port()],
                detect_by_content: false,
                show_passwords: cfg.show_passwords,
                verbose: cfg.verbose,
                tls_keys: None,
                extract: cfg.extract.clone(),
            })),
            budget: Arc::new(observe::Budget::default()),
            output_error: Mutex::new(None),
            record_skipped: AtomicU64::new(0),
        });
        let handle = ProxyHandle {
            shared: shared.clone(),
            counters: Arc::new(Counters::default()),
            faults: Arc::new(FaultState::new(&cfg.faults)),
            listen,
            upstream,
            upstream_name: cfg.upstream.clone(),
        };
        Ok(Proxy {
            listener,
            tls,
            cfg,
            upstream,
            handle,
            shared,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.handle.listen
    }

    /// Snapshots and status for live views; valid before and after [`serve`](Self::serve).
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }

    /// Accept clients until `shutdown` is cancelled, then close every session,
    /// wait for the tasks (at most 5 s) and flush the log and record.
    pub async fn serve(
        self,
        shutdown: CancellationToken,
        sink: Arc<dyn ProxyObserver>,
    ) -> anyhow::Result<()> {
        use tracing::instrument::WithSubscriber as _;
        // Operational messages are tracing events; this subscriber hands them,
        // with their session's peer from the span, to `sink`.
        let dispatch = tracing::Dispatch::new(trace::ObserverSubscriber::new(sink.clone()));
        self.serve_traced(shutdown, sink, dispatch.clone())
            .with_subscriber(dispatch)
            .await
    }

    async fn serve_traced(
        self,
        shutdown: CancellationToken,
        sink: Arc<dyn ProxyObserver>,
        dispatch: tracing::Dispatch,
    ) -> anyhow::Result<()> {
        use tracing::Instrument as _;
        use tracing::instrument::WithSubscriber as _;
        let Proxy {
            listener,
            tls,
            cfg,
            upstream,
            handle,
            shared,
        } = self;
        let rec = match &cfg.record {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?;
                Some(record::Recorder::new(record::RecordFile::new(f)?)?)
            }
            None => None,
        };
        let log = match &cfg.log {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .with_context(|| format!("cannot open {}", p.display()))?;
                Some(LogSink::new(f, p, cfg.session_log()))
            }
            None => None,
        };
        // Payload travels to the hub for the record and for extraction.
        let (mut obs, rx) = Observer::new(
            rec.is_some() || cfg.extract.is_some(),
            shared.budget.clone(),
        );
        // Intercepted connections go to the record as they travelled on the
        // client's leg (TLS records), with the secrets that decrypt them.
        obs.record_wire = rec.is_some();
        if let (Some(t), true) = (&tls, rec.is_some()) {
            t.record_secrets(Some(obs.clone()));
        }
        let hub = {
            let shared = shared.clone();
            let sink = sink.clone();
            std::thread::Builder::new()
                .name("ftpscope-proxy-hub".into())
                .spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        observe::run_hub(rx, shared, rec, log, sink);
                    });
                })
                .context("cannot start the proxy's hub thread")?
        };
        let seed = observe::now().0 as u64 | 1;
        let ctx = Arc::new(Ctx {
            cfg: cfg.clone(),
            upstream,
            obs,
            faults: handle.faults.clone(),
            counters: handle.counters.clone(),
            shutdown: shutdown.clone(),
            tasks: TaskTracker::new(),
            tls: tls.clone(),
            listeners: Arc::default(),
            next_conn: AtomicU64::new(1),
            rng: AtomicU64::new(seed),
        });
        tracing::info!("{}", banner(&cfg, handle.listen, upstream));
        if let Some(t) = &tls {
            let check = if t.insecure {
                "NOT checked".to_string()
            } else {
                format!("checked against {}", t.trust)
            };
            tracing::info!(
                "intercepting TLS: clients must trust the CA {} (`ftpscope ca` tells how); the server's certificate is {check}",
                t.ca.cert_path.display(),
            );
            if t.insecure {
                tracing::warn!(
                    "WARNING: --upstream-insecure: the server's certificate is NOT checked; anyone between the proxy and the server can read and change these sessions"
                );
            }
        }
        // The time, for live views: open sessions (a transfer whose bytes wait
        // in a slow reader's buffers, a client idle) last until now.
        {
            let obs = ctx.obs.clone();
            let stop = shutdown.clone();
            ctx.tasks.spawn(async move {
                let mut every = tokio::time::interval(observe::TIME_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = every.tick() => obs.time(),
                    }
                }
            });
        }
        let sessions = Arc::new(Semaphore::new(cfg.max_sessions));
        loop {
            let (sock, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: tell, breathe, go on.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            match sessions.clone().try_acquire_owned() {
                Ok(permit) => {
                    let ctx2 = ctx.clone();
                    // The session's span: every message from its tasks names the client.
                    let span = tracing::info_span!("session", from = %peer);
                    ctx.tasks.spawn(
                        async move {
                            control::serve(ctx2, sock, peer).await;
                            drop(permit);
                        }
                        .instrument(span)
                        .with_current_subscriber(),
                    );
                }
                Err(_) => {
                    ctx.counters
                        .sessions_rejected
                        .fetch_add(1, Ordering::Relaxed);
                    ctx.tasks
                        .spawn(control::reject_busy(sock, cfg.max_sessions));
                }
            }
        }
        drop(listener);
        ctx.tasks.close();
        if tokio::time::timeout(Duration::from_secs(5), ctx.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within 5 s; leaving them");
        }
        // Every Observer clone must go for the hub to finish.
        if let Some(t) = &ctx.tls {
            t.record_secrets(None);
        }
        drop(ctx);
        let joined = tokio::task::spawn_blocking(move || hub.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            anyhow::bail!("the proxy's hub thread panicked");
        }
        if let Some(e) = shared
            .output_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            anyhow::bail!("{e}");
        }
        Ok(())
    }
}

/// The line told when the proxy starts: where it listens, where it relays to,
/// where sessions go.
fn banner(cfg: &ProxyConfig, listen: SocketAddr, upstream: SocketAddr) -> String {
    let mode = match cfg.upstream_mode {
        UpstreamMode::Same => "same",
        UpstreamMode::Passive => "passive",
        UpstreamMode::Active => "active",
    };
    let to = &cfg.upstream;
    let mut s = crate::tr!(
        "listening on {listen}, relaying to {to} ({upstream}), upstream mode {mode}",
        "监听 {listen}，转发到 {to}（{upstream}），上游模式 {mode}"
    );
    if let Some(p) = &cfg.log {
        let p = p.display();
        s.push(&match cfg.format {
            crate::report::stream::LogFormat::Text => {
                crate::tr!(", log {p} (text)", "，日志 {p}（文本）")
            }
            f => {
                let f = f.name();
                crate::tr!(", log {p} ({f})", "，日志 {p}（{f}）")
            }
        });
    }
    if let Some(p) = &cfg.record {
        let p = p.display();
        s.push(&crate::tr!(", record {p}", "，录制 {p}"));
    }
    s.get(cfg.lang).to_string()
}

/// Bind, then serve until `shutdown` is cancelled.
pub async fn run(
    cfg: ProxyConfig,
    shutdown: CancellationToken,
    sink: Arc<dyn ProxyObserver>,
) -> anyhow::Result<()> {
    Proxy::bind(cfg).await?.serve(shutdown, sink).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_parsers() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        // A bare number is refused (it used to mean seconds; the docs said ms).
        assert!(parse_duration("30").is_err());
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert!(parse_duration("5x").is_err());
        assert_eq!(parse_port_range("50000-50100").unwrap(), (50000, 50100));
        assert!(parse_port_range("10-1").is_err());
        assert_eq!(parse_fault_reply("retr=425").unwrap(), ("RETR".into(), 425));
        assert!(parse_fault_reply("RETR=42").is_err());
        assert!(parse_fault_reply("RETR").is_err());
    }

    #[test]
    fn command_line_to_config() {
        use clap::{Args, Command, FromArgMatches};
        let cmd = ProxyArgs::augment_args(Command::new("proxy"));
        cmd.clone().debug_assert();
        let help = cmd.clone().render_help().to_string();
        assert!(help.contains("Fault injection (off by default)"), "{help}");
        let m = cmd
            .try_get_matches_from([
                "proxy",
                "--upstream",
                "ftp.example.net:21",
                "--upstream-mode",
                "passive",
                "--data-ports",
                "50000-50010",
                "--fault-reply",
                "retr=425",
                "--fault-delay",
                "250ms",
            ])
            .unwrap();
        let cfg = ProxyArgs::from_arg_matches(&m)
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:2121".parse().unwrap());
        assert_eq!(cfg.upstream_mode, UpstreamMode::Passive);
        assert_eq!(cfg.data_ports, Some((50000, 50010)));
        assert_eq!(cfg.faults.replies, [("RETR".to_string(), 425)]);
        assert_eq!(cfg.faults.delay_replies, Some(Duration::from_millis(250)));
        assert_eq!(cfg.idle_timeout, Duration::from_secs(300));
    }

    #[test]
    fn faults_are_taken_once() {
        let f = FaultState::new(&Faults {
            refuse_data: 1,
            ..Default::default()
        });
        assert!(f.take_refuse());
        assert!(!f.take_refuse());
        f.refuse_next_data();
        assert!(f.take_refuse());
        f.set_reply("retr", Some(425));
        assert_eq!(f.reply_for("RETR"), Some(425));
        f.set_reply("RETR", None);
        assert_eq!(f.reply_for("RETR"), None);
    }
}
