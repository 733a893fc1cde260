//! The analysis model: what the views show and the diagnosis reads.
//!
//! A [`Capture`] holds [`Session`]s; a session holds its [`Exchange`]s (a command
//! and the replies that answer it, or an unsolicited reply such as the greeting),
//! its [`DataChannel`]s and, once diagnosed, its [`Finding`]s. Wire bytes are kept
//! as bytes ([`Bytes`]); views decide how to show them.

use std::net::SocketAddr;

use serde::{Serialize, Serializer};

use crate::time::Ts;

pub mod tls;

/// Bytes from the wire. Serialized as a UTF-8 string when valid; otherwise as a
/// lossy string plus the exact bytes in hex (see docs/json-schema.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
    pub fn is_utf8(&self) -> bool {
        std::str::from_utf8(&self.0).is_ok()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("lossy", &self.lossy())?;
                m.serialize_entry("hex", &crate::text::hex(&self.0))?;
                m.end()
            }
        }
    }
}

fn ser_ts<S: Serializer>(t: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

fn ser_opt_ts<S: Serializer>(t: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.rfc3339()),
        None => s.serialize_none(),
    }
}

/// A frame number: a plain number for a single capture; for captures merged from
/// several files, `{"file": position, "frame": number in that file}`
/// ([`crate::capture::merge`]).
fn ser_frame<S: Serializer>(f: &u64, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match crate::capture::merge::split_frame(*f) {
        (None, n) => s.serialize_u64(n),
        (Some(file), n) => {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("file", &file)?;
            m.serialize_entry("frame", &n)?;
            m.end()
        }
    }
}

fn ser_opt_frame<S: Serializer>(f: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match f {
        Some(f) => ser_frame(f, s),
        None => s.serialize_none(),
    }
}

fn ser_tls<S: Serializer>(t: &Option<Box<tls::TlsInfo>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => t.serialize(s),
        None => s.serialize_bool(false),
    }
}

fn ser_addr<S: Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&a.to_string())
}

fn ser_opt_addr<S: Serializer>(a: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&a.to_string()),
        None => s.serialize_none(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Login {
    Ok,
    Failed,
    #[default]
    None,
}

#[derive(Clone, Debug, Serialize)]
pub struct Command {
    pub verb: String,
    /// Argument as sent; PASS arguments are masked by the views unless asked otherwise.
    pub arg: Bytes,
    #[serde(serialize_with = "ser_ts")]
    pub ts: Ts,
    #[serde(serialize_with = "ser_frame")]
    pub frame: u64,
    /// Telnet IP / Synch preceded the command (as RFC 959 asks before ABOR).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub telnet_interrupt: bool,
    /// Not a verb the catalog knows.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reply {
    /// The reply code; 0 when the server's line had no valid code (an invalid reply).
    pub code: u16,
    /// Whole reply text (multi-line replies joined with `\n`, codes of first and last line removed).
    pub text: Bytes,
    /// Lines exactly as sent.
    #[serde(skip)]
    pub lines: Vec<Bytes>,
    #[serde(serialize_with = "ser_ts")]
    pub ts: Ts,
    #[serde(serialize_with = "ser_frame")]
    pub frame: u64,
    /// Seconds from the command to this reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_time: Option<f64>,
    pub explanation: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub multiline: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A command and its replies, or replies that answer no command (greeting, 421).
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub command: Option<Command>,
    pub replies: Vec<Reply>,
    /// Data channel used by this exchange's transfer command (index into data_channels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel: Option<usize>,
}

impl Exchange {
    /// The final (non-1xx) reply.
    pub fn final_reply(&self) -> Option<&Reply> {
        self.replies
            .iter()
            .rev()
            .find(|r| r.code >= 200 || r.code == 0)
    }
    pub fn verb(&self) -> Option<&str> {
        self.command.as_ref().map(|c| c.verb.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    Passive,
    Active,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Connected, bytes moved, ended normally.
    Completed,
    /// The connection attempt was answered by RST.
    Refused,
    /// SYN sent (perhaps again and again), never answered.
    Unanswered,
    /// Nobody connected to the announced address.
    NotAttempted,
    /// Ended by RST after it was established.
    Reset,
    /// Ended early: ABOR, or a 426/451 reply.
    Aborted,
    /// The server refused the PORT/EPRT (or PASV/EPSV failed), so no connection was due.
    Rejected,
    /// Announced but no transfer command used it.
    Unused,
    /// Still open when the capture ended.
    Open,
    /// No connection in the capture, but the server confirmed the transfer (1xx then
    /// 226/250): the capture did not hold the data connection (a `port 21` filter, say).
    CompletedPerReplies,
    /// No connection in the capture, and the server's replies say the transfer failed
    /// (425/426/451 ...), where the capture could not have shown the connection.
    FailedPerReplies,
    /// The server refused the transfer command itself (550 No such file, 553, 530 ...)
    /// before any data connection was due.
    CommandFailed,
    /// No connection in the capture, the capture may not hold data connections, and the
    /// replies do not say how it went (the capture ended, say).
    NotInCapture,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Refused => "refused",
            Outcome::Unanswered => "unanswered",
            Outcome::NotAttempted => "not-attempted",
            Outcome::Reset => "reset",
            Outcome::Aborted => "aborted",
            Outcome::Rejected => "rejected",
            Outcome::Unused => "unused",
            Outcome::Open => "open",
            Outcome::CompletedPerReplies => "completed-per-replies",
            Outcome::FailedPerReplies => "failed-per-replies",
            Outcome::CommandFailed => "command-failed",
            Outcome::NotInCapture => "not-in-capture",
        }
    }
}

/// How a TCP connection was tied to an announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchKind {
    /// Same address and port as announced.
    Exact,
    /// Same port, but on the server's control address (passive; the announced
    /// address was not used: NAT, or a client that ignores it).
    ServerControlAddress,
    /// Same port, but on the client's control address (active).
    ClientControlAddress,
    /// Same port between the two control peers' addresses, other address forms.
    PortOnly,
    /// No readable announcement (an encrypted session): a connection between the
    /// two control peers while the session was open.
    Timing,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataChannel {
    /// PASV, EPSV, PORT, EPRT, LPRT, LPSV.
    pub via: String,
    pub mode: DataMode,
    #[serde(serialize_with = "ser_opt_addr")]
    pub announced: Option<SocketAddr>,
    /// Exchange holding the announcement.
    pub announce_exchange: usize,
    #[serde(serialize_with = "ser_ts")]
    pub announced_at: Ts,
    #[serde(serialize_with = "ser_frame")]
    pub announced_frame: u64,
    /// Transfer command that used it (LIST, RETR, ...).
    pub command: Option<String>,
    pub arg: Option<Bytes>,
    pub command_exchange: Option<usize>,
    pub outcome: Outcome,
    /// Who connected to whom, as seen on the wire.
    #[serde(serialize_with = "ser_opt_addr")]
    pub connector: Option<SocketAddr>,
    #[serde(serialize_with = "ser_opt_addr")]
    pub listener: Option<SocketAddr>,
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<MatchKind>,
    /// SYNs sent by the connector (1 = no retransmission).
    pub syns: u32,
    /// First SYN.
    #[serde(serialize_with = "ser_opt_ts")]
    pub start: Option<Ts>,
    /// Last packet.
    #[serde(serialize_with = "ser_opt_ts")]
    pub end: Option<Ts>,
    #[serde(serialize_with = "ser_opt_frame")]
    pub frame_syn: Option<u64>,
    /// Frame of the answer to the SYN (SYN-ACK or RST).
    #[serde(serialize_with = "ser_opt_frame")]
    pub frame_answer: Option<u64>,
    /// Payload bytes moved, by direction: client to server, server to client.
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Total payload bytes.
    pub bytes: u64,
    /// "download" (server sends), "upload", or null.
    pub direction: Option<&'static str>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub first_byte: Option<Ts>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub last_byte: Option<Ts>,
    /// Seconds from the announcement to the SYN.
    pub setup_time: Option<f64>,
    /// Seconds from the 150/125 reply to the first payload byte.
    pub wait_first_byte: Option<f64>,
    /// Seconds from the last payload byte to the final (226) reply.
    pub completion_lag: Option<f64>,
    /// Bytes per second over the first..last byte span.
    pub throughput: Option<f64>,
    /// Ended by: "fin", "rst-from-client", "rst-from-server", null while open.
    pub ended_by: Option<String>,
    /// Bytes missing from the capture (gaps) on this connection.
    pub notes: Vec<String>,
    /// Connection id in the flow table (internal).
    #[serde(skip)]
    pub conn: Option<u64>,
    /// Size announced by the server (150 "(N bytes)" or a SIZE reply).
    pub expected_size: Option<u64>,
    /// TYPE in force when the transfer began.
    pub transfer_type: Option<String>,
    /// Bytes the server said it moved (its 226 text, else its 150 "(N bytes)"), when it
    /// said so: the only count when the connection is not in the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_replies: Option<u64>,
    /// What the server's own words say about the representation ("binary", "ascii"),
    /// e.g. "150 Opening BINARY mode data connection".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_per_replies: Option<&'static str>,
    /// The connection's TLS (channels of encrypted sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<tls::TlsInfo>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One piece of evidence for a finding.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub what: String,
    #[serde(serialize_with = "ser_opt_ts")]
    pub ts: Option<Ts>,
    #[serde(serialize_with = "ser_opt_frame")]
    pub frame: Option<u64>,
    /// Exchange index in the session, where it applies.
    pub exchange: Option<usize>,
}

/// How sure a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Certainty {
    /// The packets show it.
    #[default]
    Seen,
    /// Concluded from what is in the capture (the server's replies, the addresses).
    Inferred,
    /// The capture cannot show it; the finding says what to capture to know.
    CannotKnow,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    pub remedy: String,
    pub certainty: Certainty,
    /// How many times this finding (same id, same cause) occurred; the evidence is
    /// the first occurrence's, then the last's when there are several.
    pub count: usize,
    /// Exchanges of the session where it occurred (all occurrences, at most 1000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<usize>,
    /// What makes two occurrences the same (rules set it; not serialised).
    #[serde(skip)]
    pub cause: String,
}

impl Default for Finding {
    fn default() -> Self {
        Finding::new("", Severity::Info, String::new(), Vec::new(), String::new())
    }
}

impl Finding {
    /// A finding seen once, with no grouping key beyond its id.
    pub fn new(
        id: &'static str,
        severity: Severity,
        summary: String,
        evidence: Vec<Evidence>,
        remedy: String,
    ) -> Self {
        Finding {
            id,
            severity,
            summary,
            evidence,
            remedy,
            certainty: Certainty::Seen,
            count: 1,
            exchanges: Vec::new(),
            cause: String::new(),
        }
    }
}

/// Things about the capture of this session that limit what can be known.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureLimits {
    /// The control connection's handshake is not in the capture.
    pub mid_session: bool,
    /// Bytes missing from the control stream, per direction (client, server).
    pub gap_bytes: [u64; 2],
    pub gaps: u32,
    /// Bytes cut by the snaplen on the control stream.
    pub cut_bytes: [u64; 2],
    /// Packets seen from the client and from the server on the control connection.
    pub packets: [u64; 2],
}

/// Could the data connections of a session be in the capture?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DataVisibility {
    /// At least one data connection of this session is in the capture.
    Seen,
    /// None of this session's, but the capture holds other traffic than FTP control
    /// connections (other TCP connections, ARP, UDP ...): it was not filtered to the
    /// control port, so the data connections would be in it.
    Likely,
    /// The capture holds FTP control traffic only (a `port 21` filter, most likely):
    /// whether data connections happened cannot be seen.
    #[default]
    Unknown,
}

/// What the capture covers of one session: the ground every conclusion stands on.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// The control connection's opening handshake (SYN) is in the capture.
    pub control_handshake: bool,
    /// SYNs seen from the client on the control connection.
    pub control_syns: u32,
    /// How the server answered the control connection: "accepted", "refused" (RST),
    /// "unanswered" (SYNs only), or "not-seen" (no handshake in the capture).
    pub control_answer: &'static str,
    /// Packets with payload from the client and from the server on the control connection.
    pub client_packets: u64,
    pub server_packets: u64,
    /// The server's greeting (220) is in the capture.
    pub greeting: bool,
    /// A login (USER/PASS and its reply) is in the capture.
    pub login: bool,
    /// Data connections of this session in the capture, and how many with their SYN.
    pub data_connections: u32,
    pub data_handshakes: u32,
    /// Other TCP connections (not FTP control connections) seen in the capture by the
    /// time this session ended.
    pub other_connections: u64,
    /// Packets that are not TCP (ARP, UDP, ICMP ...) seen by then.
    pub other_packets: u64,
    /// Could this session's data connections be in the capture?
    pub data_visible: DataVisibility,
    /// Duplicated packets of this session's connections, counted once.
    pub duplicates: u64,
    /// Seconds the capture went on after this session's last packet (as far as it
    /// had been read when the session ended): an unanswered SYN at the very end of
    /// a capture is no evidence.
    pub capture_after: f64,
}

impl Coverage {
    /// Would a data connection of this session be in the capture if it happened?
    pub fn data_would_show(&self) -> bool {
        self.data_visible != DataVisibility::Unknown
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Session {
    pub id: usize,
    #[serde(serialize_with = "ser_addr")]
    pub client: SocketAddr,
    #[serde(serialize_with = "ser_addr")]
    pub server: SocketAddr,
    #[serde(serialize_with = "ser_ts")]
    pub start: Ts,
    #[serde(serialize_with = "ser_ts")]
    pub end: Ts,
    pub duration: f64,
    #[serde(serialize_with = "ser_frame")]
    pub start_frame: u64,
    pub user: Option<Bytes>,
    pub login: Login,
    /// TLS seen on the control connection (AUTH accepted, or TLS records).
    #[serde(skip)]
    pub tls: bool,
    /// What the control connection's TLS showed: serialised as `tls`, `false`
    /// without TLS (see docs/json-schema.md).
    #[serde(rename = "tls", serialize_with = "ser_tls")]
    pub tls_info: Option<Box<tls::TlsInfo>>,
    /// Encrypted bytes after AUTH, per direction (client, server).
    pub encrypted_bytes: [u64; 2],
    #[serde(rename = "type")]
    pub type_: String,
    pub mode: String,
    pub stru: String,
    pub cwd: Option<Bytes>,
    /// Client software (CLNT) and server system (SYST), when seen.
    pub client_software: Option<Bytes>,
    pub server_system: Option<Bytes>,
    /// How the control connection ended: "quit", "fin", "rst", "open".
    pub closed: String,
    pub exchanges: Vec<Exchange>,
    pub data_channels: Vec<DataChannel>,
    pub findings: Vec<Finding>,
    pub capture: CaptureLimits,
    /// What the capture covers of this session.
    pub coverage: Coverage,
    /// Parser-level oddities (garbage lines, unterminated replies, ...).
    pub anomalies: Vec<String>,
    /// How the session was found: "port" (a known FTP port) or "content".
    pub detected_by: &'static str,
    /// Exchanges counted instead of kept once the session's or the capture's
    /// transcript budget was spent (see `session::MAX_SESSION_WEIGHT`): one row per
    /// verb and final reply code, most frequent first. Empty (and absent from the
    /// JSON) when every exchange was kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<SummaryRow>,
}

/// Exchanges with the same verb and final reply, counted (see [`Session::summary`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    /// The command's verb; None for replies that answered no command.
    pub verb: Option<String>,
    /// The final reply code; None when no reply was paired with the command, 0 for a
    /// line that was not a valid reply.
    pub code: Option<u16>,
    pub count: u64,
}

impl Session {
    /// Commands seen: kept as exchanges, or counted in the summary.
    pub fn command_count(&self) -> usize {
        let kept = self
            .exchanges
            .iter()
            .filter(|e| e.command.is_some())
            .count();
        let counted: u64 = self
            .summary
            .iter()
            .filter(|r| r.verb.is_some())
            .map(|r| r.count)
            .sum();
        kept + counted as usize
    }

    /// How TLS on the control connection was seen, in words: after an AUTH the
    /// server accepted, or as TLS records with no AUTH in the capture (implicit
    /// FTPS, or a capture that starts after the AUTH). None without TLS.
    pub fn tls_description(&self) -> Option<String> {
        if !self.tls {
            return None;
        }
        let after_auth = self
            .exchanges
            .iter()
            .any(|x| x.verb() == Some("AUTH") && x.replies.iter().any(|r| r.code == 234));
        let [c, s] = self.encrypted_bytes;
        Some(if after_auth {
            format!(
                "TLS: the control connection is encrypted after AUTH ({c} B from the client, {s} B from the server not decoded)"
            )
        } else {
            format!(
                "TLS: TLS records on the control connection with no AUTH in the capture (implicit FTPS, or the capture started after AUTH) ({c} B from the client, {s} B from the server not decoded)"
            )
        })
    }

    /// Exchanges counted in the summary instead of kept.
    pub fn summarised(&self) -> u64 {
        self.summary.iter().map(|r| r.count).sum()
    }

    /// Approximate heap bytes this session holds (for hand-over budgets): its
    /// exchanges, data channels, findings and notes. An estimate, not an exact count.
    pub fn weight(&self) -> usize {
        use std::mem::size_of;
        const ALLOC: usize = 16;
        let bytes = |b: &Bytes| b.0.capacity() + ALLOC;
        let mut w = size_of::<Session>();
        for x in &self.exchanges {
            w += size_of::<Exchange>() + x.replies.capacity() * size_of::<Reply>() + ALLOC;
            if let Some(c) = &x.command {
                w += c.verb.capacity() + bytes(&c.arg) + ALLOC;
                w += c.notes.iter().map(|n| n.capacity() + ALLOC).sum::<usize>();
            }
            for r in &x.replies {
                w += bytes(&r.text) + r.explanation.capacity() + ALLOC;
                w += r
                    .lines
                    .iter()
                    .map(|l| bytes(l) + size_of::<Bytes>())
                    .sum::<usize>();
                w += r.notes.iter().map(|n| n.capacity() + ALLOC).sum::<usize>();
            }
        }
        w += self.data_channels.capacity() * size_of::<DataChannel>();
        w += std::iter::once(&self.tls_info)
            .chain(self.data_channels.iter().map(|d| &d.tls))
            .flatten()
            .map(|t| t.weight())
            .sum::<usize>();
        w += self.findings.len() * 512;
        w += self
            .anomalies
            .iter()
            .map(|a| a.capacity() + ALLOC)
            .sum::<usize>();
        w + self.summary.len() * 64
    }
    pub fn data_bytes(&self) -> u64 {
        self.data_channels.iter().map(|d| d.bytes).sum()
    }
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Capture-wide counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub tcp_connections: u64,
    pub not_tcp: u64,
    pub malformed: u64,
    pub unsupported_link: u64,
    pub fragments_reassembled: u64,
    pub fragments_dropped: u64,
    pub truncated_packets: u64,
    #[serde(serialize_with = "ser_opt_ts")]
    pub first: Option<Ts>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub last: Option<Ts>,
    /// The file ended in the middle of a record, or was corrupt from some point on.
    pub read_error: Option<String>,
    /// Sessions set aside before they ended because too many were open at once
    /// ([`crate::session::MAX_OPEN_SESSIONS`]).
    pub sessions_evicted: u64,
    /// Packets that were exact copies of one just seen (two capture points, a SPAN of
    /// both directions, a file merged with itself), counted once like `editcap -d`.
    pub duplicate_packets: u64,
}

/// One failed login, kept by the tracker for the capture-wide password-guessing
/// rule ([`crate::diagnose::capture`]).
#[derive(Clone, Copy, Debug)]
pub struct FailedLogin {
    pub client: std::net::IpAddr,
    pub ts: Ts,
    pub session: usize,
}

/// What a live capture lost before ftpscope read it: libpcap's counters, and the
/// one-second intervals in which the kernel dropped packets (the first
/// [`MAX_DROP_EVIDENCE`] kept as evidence, the rest counted).
#[derive(Clone, Debug, Default)]
pub struct CaptureDrops {
    pub interface: String,
    /// The capture filter.
    pub filter: String,
    /// Packets read by ftpscope.
    pub packets: u64,
    /// Packets the kernel counted (they passed the filter), dropped ones included.
    pub kernel_received: u64,
    /// Packets the kernel dropped because ftpscope did not read them in time.
    pub kernel_dropped: u64,
    /// Packets the interface or its driver dropped.
    pub interface_dropped: u64,
    pub intervals: Vec<DropInterval>,
    /// Drop intervals not kept as evidence.
    pub more_intervals: u64,
}

/// Drop intervals kept as evidence of the `capture-drops` finding.
pub const MAX_DROP_EVIDENCE: usize = 20;

/// One second in which the kernel dropped packets.
#[derive(Clone, Copy, Debug)]
pub struct DropInterval {
    pub from: Ts,
    pub to: Ts,
    pub dropped: u64,
    /// Frames read by the end of the interval (where in a `--write` file it is).
    pub frame: u64,
    pub packets_per_sec: f64,
}

impl CaptureDrops {
    /// Keep an interval as evidence, or count it past [`MAX_DROP_EVIDENCE`].
    pub fn add_interval(&mut self, d: DropInterval) {
        if self.intervals.len() < MAX_DROP_EVIDENCE {
            self.intervals.push(d);
        } else {
            self.more_intervals += 1;
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Capture {
    pub sessions: Vec<Session>,
    pub stats: CaptureStats,
    /// Findings about the capture as a whole (not one session).
    pub findings: Vec<Finding>,
}
