//! The analysis model: what the views show and the diagnosis reads.
//!
//! A [`Capture`] holds [`Session`]s; a session holds its [`Exchange`]s (a command
//! and the replies that answer it, or an unsolicited reply such as the greeting),
//! its [`DataChannel`]s and, once diagnosed, its [`Finding`]s. Wire bytes are kept
//! as bytes ([`Bytes`]); views decide how to show them.

use std::net::SocketAddr;

use serde::{Serialize, Serializer};

use crate::time::Ts;

mod tcp;
pub use tcp::{
    Episodes, Spread, TcpEnd, TcpFigures, Throughput, ThroughputSeries, TooBig, WindowScale,
};
pub mod community_id;
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

/// A time as RFC 3339 ([`Ts::rfc3339`]), written without a temporary string.
pub(crate) fn ser_ts<S: Serializer>(t: &Ts, s: S) -> Result<S::Ok, S::Error> {
    match t.rfc3339_bytes() {
        // ASCII digits and separators only.
        Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => s.collect_str(t),
    }
}

fn ser_opt_ts<S: Serializer>(t: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_ts(t, s),
        None => s.serialize_none(),
    }
}

/// A frame number: a plain number for a single capture; for captures merged from
/// several files, `{"file": position, "frame": number in that file}`
/// ([`crate::capture::merge`]).
pub(crate) fn ser_frame<S: Serializer>(f: &u64, s: S) -> Result<S::Ok, S::Error> {
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

pub(crate) fn ser_tls<S: Serializer>(
    t: &Option<Box<tls::TlsInfo>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => t.serialize(s),
        None => s.serialize_bool(false),
    }
}

fn ser_opt_addr<S: Serializer>(a: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(crate::text::AddrText::new(a).as_str()),
        None => s.serialize_none(),
    }
}

/// An enum of states, each with one name: its JSON value and its text form
/// (`as_str`, `Display`). Comparing with a `&str` compares the name.
macro_rules! named_states {
    (
        $(#[$m:meta])*
        pub enum $name:ident {
            $( $(#[$vm:meta])* $v:ident = $s:literal, )+
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $v, )+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The state's name (as in the JSON).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$v => $s, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

named_states! {
    /// How a session's control connection ended (`closed`).
    pub enum Closed {
        /// Still open (a live view), or open when the capture ended.
        Open = "open",
        /// The server answered QUIT with 221.
        Quit = "quit",
        /// An orderly close (FIN), the client's first.
        FinByClient = "fin-by-client",
        FinByServer = "fin-by-server",
        /// A reset (RST), before or after a FIN.
        RstByClient = "rst-by-client",
        RstByServer = "rst-by-server",
        /// The server answered the SYN with RST.
        Refused = "refused",
        /// Set aside before it ended: too many sessions were open at once.
        Evicted = "evicted",
    }
}

named_states! {
    /// How a data connection ended (`ended_by`); the same words as [`Closed`].
    pub enum EndedBy {
        Fin = "fin",
        RstByClient = "rst-by-client",
        RstByServer = "rst-by-server",
    }
}

named_states! {
    /// Which way a transfer's bytes go (`direction`).
    pub enum Direction {
        /// The server sends (RETR, LIST, ...).
        Download = "download",
        /// The client sends (STOR, APPE, ...).
        Upload = "upload",
    }
}

named_states! {
    /// How a session was found (`detected_by`).
    pub enum DetectedBy {
        /// A configured FTP control port.
        Port = "port",
        /// Its content: a greeting, USER or AUTH.
        Content = "content",
    }
}

named_states! {
    /// The command or reply that announced a data channel (`via`).
    pub enum Via {
        Pasv = "PASV",
        Epsv = "EPSV",
        Lpsv = "LPSV",
        Port = "PORT",
        Eprt = "EPRT",
        Lprt = "LPRT",
        /// Not readable: a data connection of an encrypted session, matched by
        /// timing (the announcement travelled inside TLS).
        Encrypted = "encrypted",
        /// Not in the capture: a data connection between the two control peers
        /// that no announcement in the capture matches (already running when the
        /// capture began, or its PORT lost), matched by its peers.
        Unseen = "unseen",
    }
}

impl Via {
    /// The announcement a command verb makes (PORT, EPRT, LPRT, PASV, EPSV, LPSV).
    pub fn from_verb(verb: &str) -> Option<Via> {
        Via::ALL.iter().copied().find(|v| v.as_str() == verb)
    }
}

named_states! {
    /// How the server answered the control connection's SYN (`control_answer`).
    #[derive(Default)]
    pub enum ControlAnswer {
        Accepted = "accepted",
        /// RST, or an ICMP "destination unreachable" error (`control_rejected_by`).
        Refused = "refused",
        /// SYNs only.
        Unanswered = "unanswered",
        /// No handshake in the capture.
        #[default]
        NotSeen = "not-seen",
    }
}

named_states! {
    /// What the server's own words say of a transfer's representation
    /// (`type_per_replies`), e.g. "150 Opening BINARY mode data connection".
    pub enum Representation {
        Binary = "binary",
        Ascii = "ascii",
    }
}

impl Representation {
    /// The TYPE argument it stands for: `I` or `A`.
    pub fn type_letter(self) -> &'static str {
        match self {
            Representation::Binary => "I",
            Representation::Ascii => "A",
        }
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
    /// The catalog's entry for the verb as sent (any case, no trimming), looked
    /// up once when the command is read (not in JSON).
    #[serde(skip)]
    pub entry: Option<&'static crate::ftp::catalog::CommandEntry>,
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
    pub notes: Vec<crate::i18n::Tr>,
    /// TCP segments carrying this command sent again while it waited for its
    /// reply (the capture saw the copies): packets lost on the control connection.
    #[serde(skip_serializing_if = "is_zero32")]
    pub retransmissions: u32,
    /// When the last of those copies went (not in JSON).
    #[serde(skip)]
    pub last_retransmission: Option<Ts>,
}

impl Command {
    /// The verb as the catalog spells it when it knows the verb (no copy), else
    /// as sent.
    pub fn catalog_verb(&self) -> std::borrow::Cow<'static, str> {
        match self.entry {
            Some(e) if e.verb == self.verb => e.verb.into(),
            _ => self.verb.clone().into(),
        }
    }

    /// A command that opens a data transfer ([`crate::ftp::command::is_transfer`]).
    pub fn is_transfer(&self) -> bool {
        self.entry
            .is_some_and(|e| e.kind == crate::ftp::catalog::CommandKind::Transfer)
    }
}

fn is_zero32(n: &u32) -> bool {
    *n == 0
}

/// A reply as the tracker saw it: facts only. Its explanation is the views'
/// ([`Reply::explanation`]), in the language they are asked for; the JSON form
/// (with the explanation) is written by [`crate::report::json`].
#[derive(Clone, Debug)]
pub struct Reply {
    /// The reply code; 0 when the server's line had no valid code (an invalid reply).
    pub code: u16,
    /// Whole reply text (multi-line replies joined with `\n`, codes of first and last line removed).
    pub text: Bytes,
    /// Lines exactly as sent.
    pub lines: Vec<Bytes>,
    pub ts: Ts,
    pub frame: u64,
    /// Seconds from the command to this reply.
    pub response_time: Option<f64>,
    pub multiline: bool,
    pub notes: Vec<crate::i18n::Tr>,
    /// TCP segments carrying this reply sent again (see [`Command::retransmissions`]).
    pub retransmissions: u32,
    pub last_retransmission: Option<Ts>,
}

impl Reply {
    /// What this reply means, in `lang`, as the answer to `command` (None: the
    /// greeting or another reply no command asked for) from the server at
    /// `server_ip`: the catalog's text made specific (a 227's address decoded, the
    /// SIZE's file named).
    pub fn explanation(
        &self,
        command: Option<&Command>,
        server_ip: std::net::IpAddr,
        lang: crate::ftp::catalog::Lang,
    ) -> String {
        let ctx = crate::ftp::explain::Context {
            verb: command.map(|c| c.verb.as_str()),
            arg: command.map_or(&[][..], |c| &c.arg.0),
            server_ip: Some(server_ip),
        };
        crate::ftp::explain::reply(self.code, &self.text.0, &ctx, lang)
    }
}

/// A command and its replies, or replies that answer no command (greeting, 421).
/// The JSON form is written by [`crate::report::json`] (the replies' explanations
/// are in the view's language).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub command: Option<Command>,
    pub replies: Vec<Reply>,
    /// Data channel used by this exchange's transfer command (index into data_channels).
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
    /// When its last line (command or reply) was seen.
    pub fn last_ts(&self) -> Option<Ts> {
        self.replies
            .last()
            .map(|r| r.ts)
            .or_else(|| self.command.as_ref().map(|c| c.ts))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    Passive,
    Active,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A transfer's bytes written out (`report --extract DIR`): `extracted` on its
/// data channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// The file, relative to the extraction directory.
    pub path: String,
    /// Bytes in the file (holes for bytes missing from the capture included).
    pub size: u64,
    pub sha256: String,
    pub completeness: Completeness,
    /// Bytes the capture did not hold: written as zeros at their offset, up to
    /// 64 MiB of them; past that the file ends where they start.
    pub missing_bytes: u64,
    /// Bytes after such an end, seen but not written.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_written: u64,
    /// What the first bytes say the file is: zip, gzip, elf, pe, png, pdf, tar,
    /// text, binary, empty...
    pub kind: &'static str,
    /// Where in the server's file these bytes start (REST before the transfer).
    pub offset: u64,
    /// A TYPE A transfer: the line ends on the wire (ASCII mode turns a file's LF
    /// into CRLF; bare LFs or CRs in it mean the conversion did not happen as the
    /// type says, or the file is not text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_ends: Option<LineEnds>,
    /// The file was written with CRLF turned back into LF (`--extract-ascii converted`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub converted: bool,
    /// Writing the file failed (the disk is full, say): what was written is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Line ends counted in a TYPE A transfer's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineEnds {
    pub crlf: u64,
    pub bare_lf: u64,
    pub bare_cr: u64,
}

named_states! {
    /// Whether an extracted file holds the whole transfer.
    pub enum Completeness {
        /// Every byte of a transfer that ended well.
        Complete = "complete",
        /// Bytes are missing from the capture (holes of zeros in the file).
        CutByGap = "cut-by-gap",
        /// The transfer was aborted or failed (ABOR, 426, 451...): a prefix.
        Aborted = "aborted",
        /// The data connection was reset.
        Reset = "reset",
        /// The capture ended while the transfer ran.
        Open = "open",
        /// `--extract-max-bytes` was reached: the file is cut.
        CutByLimit = "cut-by-limit",
        /// The transfer ended well by the connection, but with fewer bytes than the
        /// server announced (SIZE or its 150 reply) for a binary transfer: the
        /// capture or the transfer stopped early.
        Short = "short",
    }
}

named_states! {
    /// What became of a data channel (`outcome`).
    pub enum Outcome {
        /// Connected, bytes moved, ended normally.
        Completed = "completed",
        /// The connection attempt was answered by RST, or by an ICMP "destination
        /// unreachable" error (`rejected_by`).
        Refused = "refused",
        /// SYN sent (perhaps again and again), never answered.
        Unanswered = "unanswered",
        /// Nobody connected to the announced address.
        NotAttempted = "not-attempted",
        /// Ended by RST after it was established.
        Reset = "reset",
        /// Ended early: ABOR, or a 426/451 reply, or the receiving side closed it
        /// (FIN) while the sending side had not, with no final reply from the server.
        Aborted = "aborted",
        /// The connection was made and ended, but the server's final reply to the
        /// transfer command says it failed (522 TLS refused, 425, 552 quota, 550 ...).
        Failed = "failed",
        /// The server refused the PORT/EPRT (or PASV/EPSV failed), so no connection was due.
        Rejected = "rejected",
        /// Announced but no transfer command used it.
        Unused = "unused",
        /// Still open when the capture ended.
        Open = "open",
        /// No connection in the capture, but the server confirmed the transfer (1xx then
        /// 226/250): the capture did not hold the data connection (a `port 21` filter, say).
        CompletedPerReplies = "completed-per-replies",
        /// No connection in the capture, and the server's replies say the transfer failed
        /// (425/426/451 ...), where the capture could not have shown the connection.
        FailedPerReplies = "failed-per-replies",
        /// The server refused the transfer command itself (550 No such file, 553, 530 ...)
        /// before any data connection was due.
        CommandFailed = "command-failed",
        /// No connection in the capture, the capture may not hold data connections, and the
        /// replies do not say how it went (the capture ended, say).
        NotInCapture = "not-in-capture",
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
    /// No announcement to match (an encrypted session's, or one the capture does
    /// not hold): a connection between the two control peers while the session
    /// was open.
    Timing,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataChannel {
    /// PASV, EPSV, PORT, EPRT, LPRT, LPSV.
    pub via: Via,
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
    /// The ICMP error that answered the SYN, when one did and nothing accepted
    /// (then the outcome is "refused").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<IcmpRejection>,
    /// Payload bytes moved, by direction: client to server, server to client.
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Total payload bytes.
    pub bytes: u64,
    /// Download (server sends), upload, or null.
    pub direction: Option<Direction>,
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
    /// Ended by: "fin", "rst-by-client", "rst-by-server", null while open.
    pub ended_by: Option<EndedBy>,
    /// Bytes missing from the capture (gaps) on this connection.
    pub notes: Vec<crate::i18n::Tr>,
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
    pub type_per_replies: Option<Representation>,
    /// TCP figures of the connection (round trip, retransmissions, windows,
    /// throughput over time), when it was in the capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Box<TcpFigures>>,
    /// The connection's TLS (channels of encrypted sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<tls::TlsInfo>>,
    /// The file its bytes were written to (`--extract`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<Box<Extracted>>,
    /// The directory listing it carried (LIST, NLST, MLSD), parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<Box<crate::ftp::listing::Listing>>,
}

impl DataChannel {
    /// A channel just announced (by `via` in exchange `exchange`, at `at`/`frame`):
    /// no connection, command or bytes yet. Every other field starts empty here,
    /// so a field added to the model has one place to start.
    pub fn announced(
        via: Via,
        mode: DataMode,
        announced: Option<SocketAddr>,
        exchange: usize,
        at: Ts,
        frame: u64,
    ) -> DataChannel {
        DataChannel {
            via,
            mode,
            announced,
            announce_exchange: exchange,
            announced_at: at,
            announced_frame: frame,
            command: None,
            arg: None,
            command_exchange: None,
            outcome: Outcome::NotAttempted,
            connector: None,
            listener: None,
            match_kind: None,
            syns: 0,
            start: None,
            end: None,
            frame_syn: None,
            frame_answer: None,
            rejected_by: None,
            bytes_to_server: 0,
            bytes_to_client: 0,
            bytes: 0,
            direction: None,
            first_byte: None,
            last_byte: None,
            setup_time: None,
            wait_first_byte: None,
            completion_lag: None,
            throughput: None,
            ended_by: None,
            notes: Vec::new(),
            conn: None,
            expected_size: None,
            transfer_type: None,
            bytes_per_replies: None,
            type_per_replies: None,
            tcp: None,
            tls: None,
            extracted: None,
            listing: None,
        }
    }
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
    /// What was seen, in every language (JSON: the English).
    pub what: crate::i18n::Tr,
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
    /// One sentence, in every language (JSON: the English).
    pub summary: crate::i18n::Tr,
    pub evidence: Vec<Evidence>,
    /// What to do, in every language (JSON: the English); empty when nothing.
    pub remedy: crate::i18n::Tr,
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
    /// Caused by a fault the ftpscope proxy injected (`--fault-*`): its
    /// exchanges or data connections carry the proxy's fault note.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub injected: bool,
}

impl Default for Finding {
    fn default() -> Self {
        Finding::new(
            "",
            Severity::Info,
            Default::default(),
            Vec::new(),
            Default::default(),
        )
    }
}

impl Finding {
    /// A finding seen once, with no grouping key beyond its id.
    pub fn new(
        id: &'static str,
        severity: Severity,
        summary: crate::i18n::Tr,
        evidence: Vec<Evidence>,
        remedy: crate::i18n::Tr,
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
            injected: false,
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
    /// A packet from the client, from the server with payload, FIN or RST (or
    /// the server's RST to the SYN) on the control connection: that side is in
    /// the capture even when it said nothing. Not in the JSON (`packets` and
    /// `coverage` are).
    #[serde(skip)]
    pub seen: [bool; 2],
    /// The first gaps of the control stream ([`MAX_GAPS_KEPT`]): the frame that
    /// showed each, its time, whether the client's bytes were missing, how many.
    /// The `capture-gap` finding's evidence; not in the JSON (the anomalies say
    /// each gap).
    /// Boxed: rare, and every open session carries the field.
    #[serde(skip)]
    pub gap_at: Option<Box<Vec<GapAt>>>,
}

/// A gap of a control stream: the frame that showed it, its time, whether the
/// client's bytes were missing, how many.
pub type GapAt = (u64, crate::time::Ts, bool, u64);

/// Gaps of a control stream kept as evidence.
pub const MAX_GAPS_KEPT: usize = 5;

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

/// An ICMP or ICMPv6 "destination unreachable" error that answered a connection's
/// SYN (`rejected_by`): a firewall's REJECT rule, a router with no route on, a
/// host with nothing on the port. The client's system gives up at once, as on a
/// RST ("Connection refused", "No route to host").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpRejection {
    /// Who sent the error: the listener's host itself, or a router on the path.
    pub from: std::net::IpAddr,
    /// ICMPv6 (type 1) rather than ICMP (type 3).
    pub v6: bool,
    pub code: u8,
    /// The error's time and frame.
    pub ts: Ts,
    pub frame: u64,
}

impl IcmpRejection {
    /// The error's name (JSON `reason`), from its code (RFC 792, RFC 1812, RFC 4443).
    pub fn reason(&self) -> &'static str {
        match (self.v6, self.code) {
            (false, 0 | 6 | 11) => "net-unreachable",
            (false, 1 | 7 | 12) => "host-unreachable",
            (false, 2) => "protocol-unreachable",
            (false, 3) => "port-unreachable",
            (false, 5) => "source-route-failed",
            (false, 8) => "host-isolated",
            (false, 9) => "net-prohibited",
            (false, 10) => "host-prohibited",
            (false, 13) => "admin-prohibited",
            (false, 14 | 15) => "precedence",
            (true, 0) => "no-route",
            (true, 1) => "admin-prohibited",
            (true, 2) => "beyond-scope",
            (true, 3) => "address-unreachable",
            (true, 4) => "port-unreachable",
            (true, 5) => "source-policy-failed",
            (true, 6) => "reject-route",
            _ => "unreachable",
        }
    }

    /// The type and code as on the wire, e.g. "ICMP type 3 code 13".
    pub fn wire(&self) -> String {
        if self.v6 {
            format!("ICMPv6 type 1 code {}", self.code)
        } else {
            format!("ICMP type 3 code {}", self.code)
        }
    }

    /// Said by a filter (a firewall rule) rather than by the absence of a route
    /// or of a listener.
    pub fn prohibited(&self) -> bool {
        matches!(
            self.reason(),
            "net-prohibited"
                | "host-prohibited"
                | "admin-prohibited"
                | "source-policy-failed"
                | "reject-route"
                | "precedence"
        )
    }

    /// What a program connecting on Linux is told (the kernel's tables for ICMP
    /// and ICMPv6 errors; other systems say much the same, or retry).
    pub fn errno_text(&self) -> &'static str {
        match (self.v6, self.code) {
            (false, 0 | 6 | 9 | 11) | (true, 0) => "Network is unreachable",
            (false, 2) => "Protocol not available",
            (false, 3) | (true, 4) => "Connection refused",
            (false, 5) => "Operation not supported",
            (false, 7) => "Host is down",
            (false, 8) => "Machine is not on the network",
            (true, 1 | 5 | 6) => "Permission denied",
            _ => "No route to host",
        }
    }
}

impl Serialize for IcmpRejection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("IcmpRejection", 5)?;
        m.serialize_field("from", &self.from)?;
        m.serialize_field("reason", self.reason())?;
        m.serialize_field("icmp", &self.wire())?;
        m.serialize_field("time", &TimeField(self.ts))?;
        m.serialize_field("frame", &FrameField(self.frame))?;
        m.end()
    }
}

/// A time serialised as [`ser_ts`] writes it.
struct TimeField(Ts);

impl Serialize for TimeField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_ts(&self.0, s)
    }
}

/// A frame number serialised as [`ser_frame`] writes it.
struct FrameField(u64);

impl Serialize for FrameField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_frame(&self.0, s)
    }
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
    pub control_answer: ControlAnswer,
    /// The ICMP error that answered the control connection's SYN, when one did
    /// (then `control_answer` is "refused").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_rejected_by: Option<IcmpRejection>,
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

/// One FTP session. The JSON form is written by [`crate::report::json`] (field
/// names as in docs/json-schema.md; replies' explanations in the view's language).
#[derive(Clone, Debug)]
pub struct Session {
    pub id: usize,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub start: Ts,
    pub end: Ts,
    pub duration: f64,
    pub start_frame: u64,
    pub user: Option<Bytes>,
    pub login: Login,
    /// TLS seen on the control connection (AUTH accepted, or TLS records).
    pub tls: bool,
    /// What the control connection's TLS showed: written as `tls` in JSON, `false`
    /// without TLS (see docs/json-schema.md).
    pub tls_info: Option<Box<tls::TlsInfo>>,
    /// Encrypted bytes after AUTH, per direction (client, server).
    pub encrypted_bytes: [u64; 2],
    pub type_: String,
    pub mode: String,
    pub stru: String,
    pub cwd: Option<Bytes>,
    /// Client software (CLNT) and server system (SYST), when seen.
    pub client_software: Option<Bytes>,
    pub server_system: Option<Bytes>,
    /// How the control connection ended.
    pub closed: Closed,
    pub exchanges: Vec<Exchange>,
    pub data_channels: Vec<DataChannel>,
    pub findings: Vec<Finding>,
    pub capture: CaptureLimits,
    /// What the capture covers of this session.
    pub coverage: Coverage,
    /// Parser-level oddities (garbage lines, unterminated replies, ...).
    pub anomalies: Vec<crate::i18n::Tr>,
    /// How the session was found: a known FTP port, or content.
    pub detected_by: DetectedBy,
    /// Exchanges counted instead of kept once the session's or the capture's
    /// transcript budget was spent (see `session::MAX_SESSION_WEIGHT`): one row per
    /// verb and final reply code, most frequent first. Empty (and absent from the
    /// JSON) when every exchange was kept.
    pub summary: Vec<SummaryRow>,
    /// The control connection's id in the source (flow table or proxy), which
    /// the source's notes name (internal).
    pub control_conn: u64,
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
    /// The login as the text views say it: `ok`, `failed`, `none`, or
    /// `encrypted` when none was seen because the control connection was
    /// encrypted from before it (the JSON's `login` stays `none`: not seen).
    pub fn login_word(&self) -> &'static str {
        match self.login {
            Login::Ok => "ok",
            Login::Failed => "failed",
            Login::None if self.tls || self.encrypted_bytes != [0, 0] => "encrypted",
            Login::None => "none",
        }
    }

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
    /// The control connection was decrypted with a key log (every record so far
    /// authenticated).
    /// TLS began on the control connection after AUTH (explicit FTPS): the server
    /// answered 234 (with no command when the capture lost the AUTH: 234 answers
    /// AUTH only), or the capture lost the 234 and TLS followed the AUTH.
    pub fn tls_after_auth(&self) -> bool {
        self.exchanges.iter().any(|x| match x.verb() {
            Some("AUTH") => {
                x.replies.iter().any(|r| r.code == 234) || (self.tls && x.replies.is_empty())
            }
            None => x.replies.iter().any(|r| r.code == 234),
            Some(_) => false,
        })
    }

    pub fn tls_decrypted(&self) -> bool {
        self.tls_info
            .as_deref()
            .and_then(|t| t.decryption.as_ref())
            .is_some_and(|d| d.status == "decrypted")
    }

    pub fn tls_description(&self) -> Option<String> {
        self.tls_description_in(crate::ftp::catalog::Lang::En)
    }

    /// [`Session::tls_description`] in `lang`.
    pub fn tls_description_in(&self, lang: crate::ftp::catalog::Lang) -> Option<String> {
        if !self.tls {
            return None;
        }
        let intercepted = self.tls_info.as_deref().is_some_and(|t| t.intercepted());
        if intercepted {
            return Some(
                crate::tr!(
                    "TLS: the control connection is encrypted; ftpscope proxy ended its TLS itself (--tls-intercept): the transcript below is its content",
                    "TLS：控制连接是加密的；ftpscope 代理自己终止了其 TLS（--tls-intercept）：下面的会话记录就是其内容"
                )
                .get(lang)
                .to_string(),
            );
        }
        if self.tls_decrypted() {
            let [c, s] = self.encrypted_bytes;
            return Some(
                crate::tr!(
                    "TLS: the control connection is encrypted and was decrypted with the key log ({c} B from the client, {s} B from the server): the transcript below is its content",
                    "TLS：控制连接是加密的，已用密钥日志解密（客户端 {c} B，服务器 {s} B）：下面的会话记录就是其内容"
                )
                .get(lang)
                .to_string(),
            );
        }
        let after_auth = self.tls_after_auth();
        let [c, s] = self.encrypted_bytes;
        let t = if after_auth {
            crate::tr!(
                "TLS: the control connection is encrypted after AUTH ({c} B from the client, {s} B from the server not decoded)",
                "TLS：控制连接在 AUTH 之后加密（客户端 {c} B、服务器 {s} B 未解码）"
            )
        } else {
            crate::tr!(
                "TLS: TLS records on the control connection with no AUTH in the capture (implicit FTPS, or the capture started after AUTH) ({c} B from the client, {s} B from the server not decoded)",
                "TLS：控制连接上有 TLS 记录，但抓包中没有 AUTH（隐式 FTPS，或抓包开始于 AUTH 之后）（客户端 {c} B、服务器 {s} B 未解码）"
            )
        };
        Some(t.get(lang).to_string())
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
                w += bytes(&r.text) + ALLOC;
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

/// Unsupported link types named in [`CaptureStats`] at most (a pcapng file may
/// declare any number of interfaces).
pub const MAX_LINK_TYPES_NAMED: usize = 8;

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
    /// The unsupported link types met (LINKTYPE values), in increasing order; at
    /// most [`MAX_LINK_TYPES_NAMED`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported_link_types: Vec<u32>,
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
    /// Input files left out because they could not be opened or are not captures
    /// (several inputs, without `--strict`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<SkippedFile>,
    /// Data connections from port 20 (active mode) that no control connection in
    /// the capture claimed: the first [`MAX_LONE_DATA_NAMED`] of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_without_control: Vec<LoneDataConn>,
    /// How many such connections in all.
    #[serde(skip_serializing_if = "is_zero")]
    pub data_without_control_total: u64,
}

/// Data connections without a control connection named in [`CaptureStats`] at most.
pub const MAX_LONE_DATA_NAMED: usize = 16;

/// An FTP data connection whose control connection is not in the capture: one
/// from port 20, the port an FTP server's active-mode data connections come from
/// (RFC 959 §3.2). What it carried and how it ended is all the capture says.
#[derive(Clone, Debug, Serialize)]
pub struct LoneDataConn {
    /// The server's side (port 20).
    pub server: SocketAddr,
    pub client: SocketAddr,
    #[serde(serialize_with = "ser_ts")]
    pub start: Ts,
    #[serde(serialize_with = "ser_ts")]
    pub end: Ts,
    /// Its first packet.
    #[serde(serialize_with = "ser_frame")]
    pub frame: u64,
    /// Its opening handshake is in the capture.
    pub handshake: bool,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Payload bytes the capture lacks (gaps).
    pub missing_bytes: u64,
    pub ended_by: Option<EndedBy>,
    /// Times the receiving side's window was full (zero window), when counted.
    pub zero_windows: u64,
}

/// An input file that was left out of the analysis, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SkippedFile {
    pub file: String,
    pub error: String,
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

#[derive(Clone, Debug, Default)]
pub struct Capture {
    pub sessions: Vec<Session>,
    pub stats: CaptureStats,
    /// Findings about the capture as a whole (not one session).
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        crate::report::json::to_string(v).expect("serialises")
    }

    /// Each state is written by its one name, and a data connection's end uses
    /// the words of the session's (one vocabulary: "rst-by-client" everywhere).
    #[test]
    fn states_are_written_by_their_names_with_one_vocabulary() {
        for c in Closed::ALL {
            assert_eq!(json(c), format!("\"{c}\""));
        }
        for e in EndedBy::ALL {
            assert_eq!(json(e), format!("\"{e}\""));
            assert!(
                *e == EndedBy::Fin || Closed::ALL.iter().any(|c| c.as_str() == e.as_str()),
                "{e} is not a word of `closed`"
            );
        }
        assert_eq!(json(&Some(EndedBy::RstByServer)), "\"rst-by-server\"");
        assert_eq!(json(&Via::Epsv), "\"EPSV\"");
        assert_eq!(Via::from_verb("LPRT"), Some(Via::Lprt));
        assert_eq!(Via::from_verb("RETR"), None);
        assert_eq!(
            json(&Outcome::CompletedPerReplies),
            "\"completed-per-replies\""
        );
        assert_eq!(json(&ControlAnswer::default()), "\"not-seen\"");
        assert_eq!(json(&Direction::Upload), "\"upload\"");
        assert_eq!(json(&DetectedBy::Content), "\"content\"");
        assert_eq!(json(&Representation::Ascii), "\"ascii\"");
        assert!(Closed::Quit == "quit");
    }
}
