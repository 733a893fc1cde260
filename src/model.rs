//! The analysis model: what the views show and the diagnosis reads.
//!
//! A [`Capture`] holds [`Session`]s; a session holds its [`Exchange`]s (a command
//! and the replies that answer it, or an unsolicited reply such as the greeting),
//! its [`DataChannel`]s and, once diagnosed, its [`Finding`]s. Wire bytes are kept
//! as bytes ([`Bytes`]); views decide how to show them.

use std::net::SocketAddr;

use serde::{Serialize, Serializer};

use crate::time::Ts;

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
    pub frame_syn: Option<u64>,
    /// Frame of the answer to the SYN (SYN-ACK or RST).
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
    pub frame: Option<u64>,
    /// Exchange index in the session, where it applies.
    pub exchange: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    pub remedy: String,
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
    pub start_frame: u64,
    pub user: Option<Bytes>,
    pub login: Login,
    pub tls: bool,
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
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Capture {
    pub sessions: Vec<Session>,
    pub stats: CaptureStats,
    /// Findings about the capture as a whole (not one session).
    pub findings: Vec<Finding>,
}
