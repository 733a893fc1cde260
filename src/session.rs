//! The FTP session tracker: connection events in, [`model`](crate::model) out.
//!
//! The tracker implements [`ConnSink`]: whatever produces connection events (the
//! TCP reassembler reading a capture, or the proxy) drives it the same way. It
//! decides for each new connection whether it is an FTP control connection (a
//! configured port, or content: a `220` greeting, a `USER`/`AUTH` command), a data
//! connection announced by PASV/EPSV/PORT/EPRT/LPRT/LPSV, or something else.
//!
//! Control connections are parsed line by line; commands and replies are paired
//! (pipelined commands wait in a queue, 1xx replies keep a command open). Data
//! connections are only counted. Nothing here reads the clock.
//!
//! Bounds: at most [`MAX_EXCHANGES`] exchanges and [`MAX_ANOMALIES`] anomaly notes per
//! session (the rest are counted), line and reply sizes as in [`crate::ftp`].

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::ops::Not;

use rustc_hash::FxHashMap;

use crate::capture::merge::FrameLabel;
use crate::ftp::catalog;
use crate::ftp::line::{LineFlags, LineSplitter};
use crate::ftp::reply::{ParsedReply, ReplyItem, ReplyParser};
use crate::ftp::{address, command, explain};
use crate::i18n::Tr;
use crate::model::{
    Bytes, CaptureLimits, Closed, Command, ControlAnswer, Coverage, DataChannel, DataMode,
    DataVisibility, DetectedBy, Direction, EndedBy, Exchange, Login, MatchKind, Outcome, Reply,
    Representation, Session, SummaryRow, Via,
};
use crate::tcp::{ConnEvent, ConnId, ConnInfo, ConnSink, Dir, Meta, Mode, NoteTarget};
use crate::tr;

pub const MAX_EXCHANGES: usize = 200_000;
pub const MAX_ANOMALIES: usize = 100;
/// Data-channel announcements waiting for a connection, per session.
pub const MAX_PENDING_CHANNELS: usize = 16;
/// Unreadable announcements waiting for a connection, in all.
pub const MAX_WILD: usize = 1024;

/// How the tracker behaves.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    /// Ports treated as FTP control ports.
    pub ftp_ports: Vec<u16>,
    /// Also find FTP on other ports by content.
    pub detect_by_content: bool,
    /// Keep PASS arguments (otherwise they are replaced by `****` on arrival).
    pub show_passwords: bool,
    /// Also give the info findings asked with `--verbose` (what limited a
    /// transfer that went well).
    pub verbose: bool,
    /// TLS secrets (`--tls-keylog`, `SSLKEYLOGFILE`, a pcapng's Decryption
    /// Secrets Block): FTPS sessions are decrypted and read as plain FTP.
    pub tls_keys: Option<std::sync::Arc<crate::tls::KeyLog>>,
    /// Write each transfer's bytes to files there (`--extract DIR`).
    pub extract: Option<std::sync::Arc<extract::ExtractDir>>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            ftp_ports: vec![21],
            detect_by_content: true,
            show_passwords: false,
            verbose: false,
            tls_keys: None,
            extract: None,
        }
    }
}

/// Directory listing entries a session keeps in all (the rest are counted).
pub const MAX_SESSION_LISTED: usize = 4096;

/// Ports of other line protocols whose greetings look like FTP's.
const NOT_FTP_PORTS: [u16; 6] = [25, 110, 119, 143, 465, 587];

#[derive(Clone, Copy, Debug)]
enum Role {
    Control {
        session: usize,
        client_is_initiator: bool,
    },
    Data {
        session: usize,
        channel: usize,
        client_is_initiator: bool,
    },
    /// Not yet known: the first bytes decide.
    /// What is known of it is in [`Tracker::sniffing`] (kept out of this enum,
    /// which every connection holds, so it stays small).
    Sniff,
    /// Perhaps a data connection nothing announced: counted in
    /// [`unclaimed::UnclaimedTable`] until a session claims it.
    Unclaimed,
    /// A control connection seen without payload so far (see
    /// [`unclaimed::UnclaimedTable`]): a session once it carries bytes.
    Bare,
    Other,
}

/// Facts gathered about a data connection while it runs; the outcome is decided at the end.
#[derive(Debug, Default, Clone)]
struct DataFacts {
    attempted: bool,
    established: bool,
    refused: bool,
    reset_by: Option<EndedBy>,
    fins: u8,
    /// A FIN came from the client, from the server (before any reset).
    fin_from: [bool; 2],
    aborted_by_client: bool,
    rejected: bool,
    /// The source closed the connection (both sides done, or given up on).
    closed: bool,
    gaps: u64,
    /// REST offset in force for the transfer on this channel (0: none).
    restart: u64,
    /// Server bytes were lost from the capture while its transfer command waited
    /// for its replies: a preliminary reply (150) may be among them.
    reply_gap: bool,
}

/// A command waiting for its final reply: kept as an exchange (its index), or only
/// counted (past the transcript budget), with what its reply needs to update the
/// session's state.
#[derive(Debug)]
enum Pending {
    Kept(usize),
    Counted { verb: Box<str>, arg: Box<[u8]> },
}

/// Commands past the budget waiting for a reply, per session at most; beyond, they
/// are counted at once as unanswered (a client pipelining without end).
const MAX_COUNTED_PENDING: usize = 4096;
/// Distinct (verb, code) rows of a session's summary at most; beyond, verbs are
/// counted as "(other)" (garbage verbs could otherwise make a row each).
const MAX_SUMMARY_ROWS: usize = 256;

/// Commands whose argument a reply's state change needs (`TYPE I` and its 200,
/// `CWD dir` and its 250, `REST n`, `SIZE f`, ...): the only arguments carried
/// to [`Tracker::apply_reply`] and kept for a command past the budget.
fn reply_uses_arg(verb: &str) -> bool {
    matches!(
        verb,
        "REST" | "SIZE" | "TYPE" | "MODE" | "STRU" | "CWD" | "XCWD"
    )
}

/// Verbs kept as exchanges until the hard budget: they shape data connections,
/// login, TLS or the end of the session, which the diagnosis reads from exchanges
/// (`transfer`: the verb is a transfer command, looked up by the caller).
fn essential_verb(verb: &str, transfer: bool) -> bool {
    transfer
        || matches!(
            verb,
            "USER"
                | "PASS"
                | "ACCT"
                | "AUTH"
                | "PBSZ"
                | "PROT"
                | "CCC"
                | "REIN"
                | "PORT"
                | "EPRT"
                | "LPRT"
                | "PASV"
                | "EPSV"
                | "LPSV"
                | "SPSV"
                | "REST"
                | "ABOR"
                | "QUIT"
        )
}

/// Per-session working state that is not part of the model.
/// What a session reads out of its data connections' payload.
#[derive(Debug, Default)]
struct PayloadState {
    /// Transfers being written out (`--extract`): channel, the direction of the
    /// file's bytes, the file.
    extracts: Vec<(usize, Dir, extract::ExtractFile)>,
    /// Listings being read (LIST, NLST, MLSD): channel, parser.
    listings: Vec<(usize, crate::ftp::listing::ListingParser)>,
    /// Listing entries kept so far (see [`MAX_SESSION_LISTED`]).
    listed: usize,
}

#[derive(Debug)]
struct SessionState {
    s: Session,
    lines: [LineSplitter; 2],
    replies: ReplyParser,
    /// Commands waiting for their final reply, oldest first.
    pending: VecDeque<Pending>,
    seen_reply: bool,
    /// Bytes after AUTH/234 are TLS.
    encrypted: bool,
    /// After a gap, the next line is only trusted if it looks like a line start.
    resync: [bool; 2],
    facts: Vec<DataFacts>,
    /// Files and listings being written or read from data connections; boxed,
    /// and only once a transfer or listing needs it, so a session costs one
    /// pointer for them (10,000 open sessions stay within 64 MiB: tests/malformed.rs).
    payload: Option<Box<PayloadState>>,
    /// SIZE replies: file name -> size.
    sizes: Vec<(Vec<u8>, u64)>,
    /// Offset accepted by `350` to REST, for the next transfer command.
    restart: u64,
    /// Text bytes kept (see [`MAX_SESSION_TEXT`]), and whether the budget ran out.
    text_bytes: usize,
    text_over: bool,
    /// Exchanges counted instead of kept (see [`MAX_SESSION_TEXT`]): (verb, final code) -> count.
    summary: FxHashMap<(Option<Box<str>>, Option<u16>), u64>,
    /// The economy past the budget has been noted: 1 soft, 2 hard.
    summary_noted: u8,
    dropped_anomalies: u64,
    /// A multi-line reply is being received; the time its first line arrived.
    reply_started: Option<Meta>,
    /// The exchange a line without a reply code answered (the command was
    /// waiting): a valid reply right after it, nothing else waiting and no
    /// command since, is that command's real answer.
    garbage_answer: Option<usize>,
    /// Frame and time of the last control bytes from the client, from the
    /// server: where a line left unterminated at the end came from.
    last_bytes: [Meta; 2],
    /// Source notes for the next line of each direction (client, server), see
    /// [`NoteTarget::Line`].
    line_notes: [Vec<Tr>; 2],
    /// Where the capture lost bytes of each direction (client, server), said on
    /// the next line that comes (the transcript's marker of the hole); dropped
    /// when none does (the anomaly says it too). Boxed: rare, and every open
    /// session carries the field.
    gap_notes: Option<Box<[GapNote; 2]>>,
    /// Source notes for data connections not tied to a channel yet.
    conn_notes: Vec<(ConnId, Tr)>,
    /// The exchange kept for a multi-line greeting whose first line came (its
    /// end may come after commands the client sent meanwhile).
    greeting_slot: Option<usize>,
    ended: bool,
    /// The control connection ended (FIN both ways, RST).
    control_closed: bool,
    /// Bytes were lost since the pending queue was last empty: pair replies by plausibility.
    after_gap: bool,
    /// The type in force is known from the capture (a TYPE and its 200, a reply
    /// naming the mode), not assumed.
    type_told: bool,
    /// A command line came from the client (replies before one, in a capture
    /// that starts mid-session, answer commands sent before it).
    client_spoke: bool,
    /// Server bytes were lost (a gap the client acknowledged) while this one
    /// command waited for its reply, and no reply has come since: when the client
    /// sends its next command, that reply was in the gap.
    reply_lost: Option<usize>,
    /// When the capture last lost bytes of the control connection (a gap), and
    /// whether the session may claim data connections nothing announced (seen
    /// mid-way, or after such a gap: see `unclaimed`).
    last_gap: Option<crate::time::Ts>,
    claimer: bool,
    /// Gaps after which waiting connections were looked for (at most
    /// `unclaimed::MAX_GAP_SCANS`: a capture of endless holes costs no scan each).
    gap_scans: u8,
    /// Data connections of this session still open.
    open_data: usize,
    /// The control connection closed with data connections open: the session is
    /// handed out at this time at the latest (see [`DATA_WAIT`]).
    closing_deadline: Option<crate::time::Ts>,
    /// Bytes left of the TLS record in progress, per direction (while encrypted).
    tls_left: [usize; 2],
    /// The control connection's handshake as seen: SYNs, SYN-ACK (or any sign of
    /// one), RST in answer.
    control_syns: u32,
    control_accepted: bool,
    control_refused: bool,
    /// An ICMP error answered the control connection's SYN (and nothing accepted
    /// it yet).
    control_rejected: Option<crate::model::IcmpRejection>,
}

/// Say on each command and reply that TCP sent again, how often and how late.
fn resent_notes(s: &mut Session) {
    for x in &mut s.exchanges {
        if let Some(c) = x.command.as_mut().filter(|c| c.retransmissions > 0) {
            let n = c.retransmissions;
            let after = crate::time::human_duration(
                c.ts.secs_until(c.last_retransmission.unwrap_or(c.ts))
                    .max(0.0),
            );
            c.notes.push(tr!(
                "TCP sent this command again {n} time(s) before the reply, the last {after} after the first: packets lost or held up on the control connection",
                "TCP 在收到响应前重传了这条命令 {n} 次，最后一次在首次发送之后 {after}：控制连接上有丢包或延迟"
            ));
        }
        for r in x.replies.iter_mut().filter(|r| r.retransmissions > 0) {
            let n = r.retransmissions;
            let after = crate::time::human_duration(
                r.ts.secs_until(r.last_retransmission.unwrap_or(r.ts))
                    .max(0.0),
            );
            r.notes.push(tr!(
                "TCP sent this reply again {n} time(s), the last {after} after the first",
                "TCP 重传了这条响应 {n} 次，最后一次在首次发送之后 {after}"
            ));
        }
    }
}

/// Sessions by index; finished ones are taken out, so memory holds open sessions only.
#[derive(Default)]
struct Sessions {
    /// Boxed: a table of ten thousand open sessions (and its copy while it
    /// grows) holds pointers, not kilobytes each.
    map: FxHashMap<usize, Box<SessionState>>,
    next: usize,
}

impl Sessions {
    fn contains(&self, i: usize) -> bool {
        self.map.contains_key(&i)
    }
}

impl std::ops::Index<usize> for Sessions {
    type Output = SessionState;
    fn index(&self, i: usize) -> &SessionState {
        // Invariant: callers reach a session through a role or an expectation, both
        // removed when the session is emitted.
        self.map
            .get(&i)
            .expect("session index refers to a live session")
    }
}

impl std::ops::IndexMut<usize> for Sessions {
    fn index_mut(&mut self, i: usize) -> &mut SessionState {
        self.map
            .get_mut(&i)
            .expect("session index refers to a live session")
    }
}

/// How long a session whose control connection closed waits for its data
/// connections still open (a transfer whose SYNs go unanswered, one never closed)
/// before it is handed out anyway: 2 s of capture time, in nanoseconds. Time comes
/// from packets and events ([`Tracker::tick`]), never from the clock.
pub const DATA_WAIT: i64 = 2_000_000_000;

pub use crate::model::FailedLogin;

/// Failed logins kept at most (the oldest are dropped; the rule needs recent ones).
pub const MAX_FAILED_LOGINS: usize = 100_000;

/// Sessions open at once at most. Memory is per open session (a few KiB each),
/// so a capture (or traffic) that opens sessions and never ends them would
/// otherwise grow without bound. Past the cap the least recently active tenth
/// is set aside: reported as they are, `closed: "evicted"`, with an anomaly;
/// later packets on their connections are ignored.
pub const MAX_OPEN_SESSIONS: usize = 10_000;

/// The transcript budget: approximate heap bytes of exchanges (their text, the
/// explanations and the structures around them) and data channels one session
/// keeps before it economises. Past it (endless multi-line replies, long commands,
/// hundreds of thousands of commands):
/// * replies keep their first line cut to [`CUT_TEXT`] bytes and commands their
///   argument cut likewise, with a note;
/// * exchanges whose verb does not shape the session's data connections, login or
///   TLS (NOOP, STAT, MKD, PWD...) are no longer kept but counted per verb and reply
///   code in [`Session::summary`](crate::model::Session::summary); their replies
///   still update the session's state (TYPE, cwd, REST, SIZE).
///
/// The session says so once in its anomalies. Nothing is dropped uncounted.
pub const MAX_SESSION_TEXT: usize = 16 << 20;
/// Past this (three times [`MAX_SESSION_TEXT`]) every new exchange of the session
/// is counted, not kept; data connections announced from then on are not followed.
pub const MAX_SESSION_WEIGHT: usize = 3 * MAX_SESSION_TEXT;
/// The same budget for all open sessions together: past it, the same economy as
/// past [`MAX_SESSION_TEXT`]; past one and a half times it, as past
/// [`MAX_SESSION_WEIGHT`]. Memory then depends on this budget, not on the input.
pub const MAX_HELD_TEXT: usize = 128 << 20;
/// What is kept of a line once a text budget is spent.
pub const CUT_TEXT: usize = 256;

/// Complete lines cut from one piece of a control stream, before the tracker reads
/// them: their bytes one after another in `text`, and each line's end and flags.
/// Kept by the tracker and reused, so a line costs no allocation of its own.
#[derive(Default)]
struct LineScratch {
    text: Vec<u8>,
    lines: Vec<(usize, LineFlags)>,
}

/// The tracker.
pub struct Tracker {
    cfg: TrackerConfig,
    conns: FxHashMap<ConnId, Role>,
    sessions: Sessions,
    /// Sessions finished and diagnosed, waiting to be taken by [`Tracker::take_finished`].
    finished: Vec<Session>,
    /// Failed logins seen so far (for the capture-wide rule).
    pub failed_logins: VecDeque<FailedLogin>,
    /// Announcements whose address could not be read: (session, channel).
    wild: Vec<(usize, usize)>,
    /// Announced data endpoints by port: (session, channel), newest last.
    expect: FxHashMap<u16, Vec<(usize, usize)>>,
    /// See [`MAX_OPEN_SESSIONS`].
    max_open: usize,
    /// Text bytes kept by open sessions (see [`MAX_HELD_TEXT`]).
    text_held: usize,
    /// See [`MAX_HELD_TEXT`] (smaller in tests).
    max_held_text: usize,
    /// Sessions set aside because too many were open.
    pub evicted: u64,
    /// TCP connections that are not FTP control connections, and packets that are
    /// not TCP, seen so far: whether the capture was filtered to the control port.
    other_conns: u64,
    /// Connections whose first bytes will tell whether they are FTP control
    /// connections: their endpoints, and their first packet (a session found by
    /// content starts there, as one on a known port does).
    /// Its handshake answered (SYN-ACK) while it waited: the third field.
    sniffing: FxHashMap<ConnId, unclaimed::Sniffed>,
    other_packets: u64,
    /// The source sees every connection (the proxy relays them all).
    all_visible: bool,
    /// The latest time seen on any connection.
    last_ts: crate::time::Ts,
    /// When the first connection appeared (about when the capture began).
    first_open: Option<crate::time::Ts>,
    /// Sessions whose control connection closed while data connections were open,
    /// by the time they are handed out at the latest.
    closing: std::collections::BTreeSet<(crate::time::Ts, usize)>,
    /// Open sessions by their control connection (for the source's notes).
    by_control: FxHashMap<ConnId, usize>,
    /// TLS state of open sessions' connections (see [`tls`]).
    tls: tls::TlsTable,
    /// The lines of one piece of control-stream bytes, reused from piece to piece.
    line_scratch: LineScratch,
    /// Data connections nothing announced (see [`unclaimed`]).
    unclaimed: unclaimed::UnclaimedTable,
}

fn client_dir(client_is_initiator: bool) -> Dir {
    if client_is_initiator {
        Dir::FromInitiator
    } else {
        Dir::FromResponder
    }
}

fn looks_like_reply_start(b: &[u8]) -> bool {
    b.len() >= 4
        && (b'1'..=b'6').contains(&b[0])
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && (b[3] == b' ' || b[3] == b'-')
}

/// Bytes no text line holds: control characters other than tab, CR and the
/// Telnet-free ESC-less text of FTP (NUL, SOH ... US, DEL).
fn is_binary(b: &[u8]) -> bool {
    b.iter()
        .any(|&c| (c < 0x20 && c != b'\t' && c != b'\r') || c == 0x7f)
}

fn looks_like_command(b: &[u8]) -> bool {
    let end = b
        .iter()
        .position(|&c| c == b' ' || c == b'\r' || c == b'\n')
        .unwrap_or(b.len());
    (3..=4).contains(&end)
        && b[..end].iter().all(u8::is_ascii_alphabetic)
        && catalog::command(&crate::text::lossy_str(&b[..end])).is_some()
}

fn is_greeting(b: &[u8]) -> bool {
    (b.starts_with(b"220") || b.starts_with(b"120"))
        && matches!(b.get(3), Some(b' ') | Some(b'-'))
        && {
            let head = crate::text::lossy_str(&b[..b.len().min(200)]).to_ascii_uppercase();
            !head.contains("SMTP") && !head.contains("NNTP")
        }
}

fn is_client_hello(b: &[u8]) -> bool {
    let up = |n: usize| b.len() >= n && b[..n].eq_ignore_ascii_case(&b"USER "[..n.min(5)]);
    up(5) || (b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"AUTH "))
}

/// A reply line only an FTP server sends, seen as the first bytes of a connection
/// joined mid-way (no handshake): a code SMTP, NNTP and other line protocols with
/// three-digit replies do not use (150 opening a data connection, 226 transfer
/// complete, 227/229 passive mode, 213 SIZE/MDTM, 257 a path, 331 password
/// wanted, 350 pending, 425/426 data connection trouble...), a space or hyphen,
/// printable text and a line end.
fn is_midway_reply(b: &[u8]) -> bool {
    const FTP_ONLY: [&[u8]; 14] = [
        b"125", b"150", b"213", b"225", b"226", b"227", b"228", b"229", b"257", b"331", b"332",
        b"350", b"425", b"426",
    ];
    b.len() >= 6
        && FTP_ONLY.contains(&&b[..3])
        && matches!(b[3], b' ' | b'-')
        && one_printable_line(b)
}

/// A command line only an FTP client sends, seen as the first bytes of a
/// connection joined mid-way: a verb POP3, SMTP, IMAP and NNTP do not have.
fn is_midway_command(b: &[u8]) -> bool {
    const FTP_ONLY: [&[u8]; 22] = [
        b"CWD", b"PWD", b"CDUP", b"PASV", b"EPSV", b"PORT", b"EPRT", b"TYPE", b"SIZE", b"MDTM",
        b"NLST", b"MLSD", b"MLST", b"STOR", b"STOU", b"APPE", b"MKD", b"RMD", b"RNFR", b"RNTO",
        b"SYST", b"REST",
    ];
    let verb_len = b.iter().take(5).position(|&c| c == b' ' || c == b'\r');
    verb_len.is_some_and(|n| FTP_ONLY.iter().any(|v| b[..n].eq_ignore_ascii_case(v)))
        && one_printable_line(b)
}

/// `b` holds a line of printable text ended by CRLF (within its first 512 bytes).
fn one_printable_line(b: &[u8]) -> bool {
    let head = &b[..b.len().min(512)];
    match memchr::memchr(b'\n', head) {
        Some(n) if n >= 1 && head[n - 1] == b'\r' => head[..n - 1]
            .iter()
            .all(|&c| c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80),
        _ => false,
    }
}

fn tls_record(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == 0x16 && b[1] == 0x03
}

/// The length of the TLS record starting `b` (header included), if `b` starts with
/// a plausible record header (change-cipher-spec, alert, handshake, application
/// data; TLS 1.0-1.3 versions), e.g. `17 03 03 00 45`.
fn tls_record_len(b: &[u8]) -> Option<usize> {
    if b.len() < 5 || !(0x14..=0x17).contains(&b[0]) || b[1] != 0x03 || b[2] > 0x04 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[3], b[4]]));
    (len > 0 && len <= (1 << 14) + 2048).then_some(5 + len)
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Tracker {
            cfg,
            conns: FxHashMap::default(),
            sessions: Sessions::default(),
            finished: Vec::new(),
            failed_logins: VecDeque::new(),
            wild: Vec::new(),
            expect: FxHashMap::default(),
            max_open: MAX_OPEN_SESSIONS,
            text_held: 0,
            max_held_text: MAX_HELD_TEXT,
            evicted: 0,
            other_conns: 0,
            sniffing: FxHashMap::default(),
            other_packets: 0,
            all_visible: false,
            last_ts: crate::time::Ts::default(),
            first_open: None,
            closing: std::collections::BTreeSet::new(),
            by_control: FxHashMap::default(),
            tls: tls::TlsTable::default(),
            line_scratch: LineScratch::default(),
            unclaimed: unclaimed::UnclaimedTable::default(),
        }
    }

    /// Time passes: `ts` is the time of a packet or event (any connection, or none:
    /// a live source's periodic tick). Sessions whose control connection closed at
    /// least [`DATA_WAIT`] before `ts` are handed out, whatever their data
    /// connections still do. (How long the capture went on after a session,
    /// `coverage.capture_after`, still counts connection events only.)
    pub fn tick(&mut self, ts: crate::time::Ts) {
        while let Some(&(deadline, si)) = self.closing.first() {
            if deadline > ts {
                break;
            }
            self.closing.pop_first();
            if self.sessions.contains(si) {
                self.sessions[si].closing_deadline = None;
                self.emit(si);
            }
        }
    }

    /// A source saw time pass at `ts` with no packet or connection event (the proxy
    /// giving up on an unanswered connection attempt): the capture, so to speak,
    /// went on until then.
    pub fn time_seen(&mut self, ts: crate::time::Ts) {
        self.last_ts = self.last_ts.max(ts);
        self.tick(ts);
    }

    /// A packet that is not TCP (ARP, UDP, ICMP ...) was in the capture: it was not
    /// filtered to the FTP control port, so data connections would be in it too.
    pub fn note_other_packet(&mut self) {
        self.other_packets += 1;
    }

    /// Payload of a data connection that a source counts (`ConnEvent::Count`) and
    /// also hands over (the proxy relays it): written to its file with
    /// `--extract` (after `missing` bytes it could not hand over, a hole), and read
    /// as a listing when the command is one. Counting stays with the Count event.
    pub fn data_payload(&mut self, conn: ConnId, dir: Dir, missing: u64, bytes: &[u8]) {
        let Some(&Role::Data {
            session,
            channel,
            client_is_initiator,
        }) = self.conns.get(&conn)
        else {
            return;
        };
        if !self.sessions.contains(session) {
            return;
        }
        if self.cfg.extract.is_some() {
            if missing > 0 {
                self.extract_event(session, channel, &ConnEvent::Gap { dir, len: missing });
            }
            if !bytes.is_empty() {
                self.extract_event(session, channel, &ConnEvent::Data { dir, bytes });
            }
        }
        if dir != client_dir(client_is_initiator) && missing == 0 {
            let listing = matches!(
                self.sessions[session].s.data_channels[channel]
                    .command
                    .as_deref(),
                Some("LIST" | "NLST" | "MLSD")
            );
            if listing {
                self.listing_bytes(session, channel, bytes);
            }
        }
    }

    /// The source sees every data connection that happens (the proxy, which relays
    /// them): an absent connection was never made.
    pub fn set_all_connections_visible(&mut self) {
        self.all_visible = true;
    }

    /// Change the cap on open sessions (see [`MAX_OPEN_SESSIONS`]); at least 1.
    pub fn set_max_open_sessions(&mut self, n: usize) {
        self.max_open = n.max(1);
    }

    /// Change the text budget of all open sessions (see [`MAX_HELD_TEXT`]).
    pub fn set_max_held_text(&mut self, n: usize) {
        self.max_held_text = n;
    }

    /// Text bytes open sessions keep now.
    pub fn text_held(&self) -> usize {
        self.text_held
    }

    /// May session `si` keep `want` more bytes of text? Counts them if so; the
    /// first refusal is noted in the session's anomalies.
    fn keep_text(&mut self, si: usize, want: usize) -> bool {
        let held = self.text_held;
        let max_held = self.max_held_text;
        let st = &mut self.sessions[si];
        if st.text_bytes + want <= MAX_SESSION_TEXT && held + want <= max_held {
            st.text_bytes += want;
            self.text_held += want;
            return true;
        }
        if !st.text_over {
            st.text_over = true;
            let why = if st.text_bytes + want > MAX_SESSION_TEXT {
                let m = MAX_SESSION_TEXT >> 20;
                tr!("this session's {m} MiB", "本会话的 {m} MiB")
            } else {
                let m = max_held >> 20;
                tr!(
                    "the {m} MiB of all open sessions",
                    "所有打开会话共用的 {m} MiB"
                )
            };
            Self::anomaly(
                st,
                tr!(
                    "text budget spent ({why}): from here on replies keep their first line and commands their argument cut to {CUT_TEXT} bytes",
                    "文本预算已用完（{why}）：此后响应只保留第一行，命令参数截断为 {CUT_TEXT} 字节";
                    why = why
                ),
            );
        }
        false
    }

    /// Count `n` bytes kept regardless of the budget (cut text).
    fn count_text(&mut self, si: usize, n: usize) {
        self.sessions[si].text_bytes += n;
        self.text_held += n;
    }

    /// May session `si` keep a new exchange (`essential`: see [`essential_verb`])?
    /// Otherwise it is counted in the session's summary; the first time each
    /// economy starts it is noted in the session's anomalies.
    fn keep_exchange(&mut self, si: usize, essential: bool) -> bool {
        let held = self.text_held;
        let max_held = self.max_held_text;
        let st = &mut self.sessions[si];
        let hard = st.text_bytes > MAX_SESSION_WEIGHT
            || held > max_held + max_held / 2
            || st.s.exchanges.len() >= MAX_EXCHANGES;
        let soft = st.text_bytes > MAX_SESSION_TEXT || held > max_held;
        if !hard && (essential || !soft) {
            return true;
        }
        let level = if hard { 2 } else { 1 };
        if st.summary_noted < level {
            st.summary_noted = level;
            let whose = if st.text_bytes > MAX_SESSION_TEXT {
                let m = MAX_SESSION_TEXT >> 20;
                tr!("this session's {m} MiB", "本会话的 {m} MiB")
            } else if st.s.exchanges.len() >= MAX_EXCHANGES {
                tr!(
                    "this session's {MAX_EXCHANGES} exchanges",
                    "本会话的 {MAX_EXCHANGES} 次交互"
                )
            } else {
                let m = max_held >> 20;
                tr!(
                    "the {m} MiB of all open sessions",
                    "所有打开会话共用的 {m} MiB"
                )
            };
            let text = if hard {
                tr!(
                    "transcript budget spent ({whose}): from here on every exchange is counted per verb and reply code (see the summary), not kept; data connections announced from here on are not followed",
                    "会话记录预算已用完（{whose}）：此后每次交互只按命令和响应码计数（见汇总），不再保留；此后通告的数据连接不再跟踪";
                    whose = whose
                )
            } else {
                tr!(
                    "transcript budget spent ({whose}): from here on exchanges that do not concern data connections, login or TLS are counted per verb and reply code (see the summary), not kept",
                    "会话记录预算已用完（{whose}）：此后与数据连接、登录或 TLS 无关的交互只按命令和响应码计数（见汇总），不再保留";
                    whose = whose
                )
            };
            Self::anomaly(st, text);
        }
        false
    }

    /// Count an exchange that was not kept.
    fn count_exchange(st: &mut SessionState, verb: Option<&str>, code: Option<u16>) {
        let key = (verb.map(Box::from), code);
        if let Some(n) = st.summary.get_mut(&key) {
            *n += 1;
            return;
        }
        let key = if st.summary.len() >= MAX_SUMMARY_ROWS {
            (verb.map(|_| Box::from("(other)")), code)
        } else {
            key
        };
        *st.summary.entry(key).or_insert(0) += 1;
    }

    /// Sessions still open.
    pub fn open_sessions(&self) -> usize {
        self.sessions.map.len()
    }

    /// Sessions created so far.
    pub fn session_count(&self) -> usize {
        self.sessions.next
    }

    /// Sessions that ended since the last call, diagnosed, in the order they ended.
    pub fn take_finished(&mut self) -> Vec<Session> {
        std::mem::take(&mut self.finished)
    }

    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// A read-only look at the sessions so far (for live views).
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.map.values().map(|s| &s.s)
    }

    fn new_session(
        &mut self,
        meta: Meta,
        conn: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        handshake: bool,
        by: DetectedBy,
    ) -> usize {
        if self.sessions.map.len() >= self.max_open {
            self.evict(meta);
        }
        let id = self.sessions.next;
        self.sessions.next += 1;
        let s = Session {
            id: id + 1,
            client,
            server,
            start: meta.ts,
            end: meta.ts,
            duration: 0.0,
            start_frame: meta.frame,
            user: None,
            login: Login::None,
            tls: false,
            tls_info: None,
            encrypted_bytes: [0, 0],
            type_: "A".into(),
            mode: "S".into(),
            stru: "F".into(),
            cwd: None,
            client_software: None,
            server_system: None,
            closed: Closed::Open,
            exchanges: Vec::new(),
            data_channels: Vec::new(),
            findings: Vec::new(),
            capture: CaptureLimits {
                mid_session: !handshake,
                ..Default::default()
            },
            coverage: Coverage {
                control_handshake: handshake,
                ..Default::default()
            },
            anomalies: Vec::new(),
            detected_by: by,
            summary: Vec::new(),
            control_conn: conn,
        };
        self.by_control.insert(conn, id);
        self.sessions.map.insert(
            id,
            Box::new(SessionState {
                s,
                lines: [LineSplitter::new(), LineSplitter::new()],
                replies: ReplyParser::new(),
                pending: VecDeque::new(),
                seen_reply: false,
                encrypted: false,
                resync: [false, false],
                facts: Vec::new(),
                payload: None,
                sizes: Vec::new(),
                restart: 0,
                text_bytes: 0,
                text_over: false,
                summary: FxHashMap::default(),
                summary_noted: 0,
                dropped_anomalies: 0,
                reply_started: None,
                garbage_answer: None,
                last_bytes: [Meta::default(); 2],
                line_notes: [Vec::new(), Vec::new()],
                gap_notes: None,
                conn_notes: Vec::new(),
                greeting_slot: None,
                ended: false,
                control_closed: false,
                after_gap: false,
                type_told: false,
                client_spoke: false,
                reply_lost: None,
                last_gap: None,
                claimer: false,
                gap_scans: 0,
                open_data: 0,
                closing_deadline: None,
                tls_left: [0, 0],
                control_syns: u32::from(handshake),
                control_accepted: false,
                control_refused: false,
                control_rejected: None,
            }),
        );
        self.session_peers(client.ip(), server.ip());
        if !handshake {
            self.mid_session_opened(id);
        }
        id
    }

    /// Find the announcement a new connection answers.
    fn match_data(&mut self, info: &ConnInfo) -> Option<(usize, usize, MatchKind, bool)> {
        if let Some(m) = self.match_exact(info) {
            return Some(m);
        }
        // An unreadable announcement: the two control peers, in the right direction.
        let pos = self.wild.iter().rposition(|&(si, ci)| {
            let Some(st) = self.sessions.map.get(&si) else {
                return false;
            };
            if st.facts.get(ci).is_none_or(|f| f.attempted) {
                return false;
            }
            let (c, s) = (st.s.client.ip(), st.s.server.ip());
            match st.s.data_channels[ci].mode {
                DataMode::Passive => {
                    info.initiator.ip() == c
                        && info.responder.ip() == s
                        && info.responder != st.s.server
                }
                DataMode::Active => info.initiator.ip() == s && info.responder.ip() == c,
            }
        })?;
        let (si, ci) = self.wild.remove(pos);
        let passive = self.sessions[si].s.data_channels[ci].mode == DataMode::Passive;
        Some((si, ci, MatchKind::PortOnly, passive))
    }

    fn match_exact(&self, info: &ConnInfo) -> Option<(usize, usize, MatchKind, bool)> {
        let list = self.expect.get(&info.responder.port())?;
        let mut best: Option<(u8, usize, usize, MatchKind, bool)> = None;
        // Sessions with a newer announcement of this port, not tried yet, that
        // this connection fits (exactly or by the control address).
        let mut announced_again: Vec<usize> = Vec::new();
        for &(si, ci) in list.iter().rev() {
            let st = &self.sessions[si];
            let ch = &st.s.data_channels[ci];
            if st.facts[ci].attempted && st.facts[ci].established {
                continue;
            }
            // Tried and failed, and the session announced again since (curl
            // falling back from a refused EPSV to PASV, the same port in both):
            // a new connection is the newer announcement's.
            if st.facts[ci].attempted && announced_again.contains(&si) {
                continue;
            }
            let (client, server) = (st.s.client.ip(), st.s.server.ip());
            let resp = info.responder.ip();
            let init = info.initiator.ip();
            let exact = ch.announced == Some(info.responder);
            let kind = match ch.mode {
                DataMode::Passive => {
                    if exact {
                        Some(MatchKind::Exact)
                    } else if resp == server && init == client {
                        Some(MatchKind::ServerControlAddress)
                    } else if init == client || resp == server {
                        Some(MatchKind::PortOnly)
                    } else {
                        None
                    }
                }
                DataMode::Active => {
                    if exact {
                        Some(MatchKind::Exact)
                    } else if resp == client && init == server {
                        Some(MatchKind::ClientControlAddress)
                    } else if init == server || resp == client {
                        Some(MatchKind::PortOnly)
                    } else {
                        None
                    }
                }
            };
            if let Some(k) = kind {
                // The best kind wins (an exact address over a control address over
                // the port alone), then the newest: two sessions may announce the
                // same port (one session seen on both sides of a NAT, two clients).
                let rank = match k {
                    MatchKind::Exact => 3,
                    MatchKind::ServerControlAddress | MatchKind::ClientControlAddress => 2,
                    _ => 1,
                };
                if rank >= 2 && !st.facts[ci].attempted && !announced_again.contains(&si) {
                    announced_again.push(si);
                }
                if best.is_none_or(|(r, ..)| rank > r) {
                    // Who is the client on the data connection: the connector in passive mode.
                    let client_is_initiator = ch.mode == DataMode::Passive;
                    best = Some((rank, si, ci, k, client_is_initiator));
                }
                if rank == 3 {
                    break;
                }
            }
        }
        best.map(|(_, si, ci, k, c)| (si, ci, k, c))
    }

    /// Source notes that found no line to go with (the line was dropped, counted
    /// past the budget, or encrypted) go to the session's anomalies once that
    /// line is complete; at the end (`all`), every note left does.
    fn unplaced_notes(st: &mut SessionState, all: bool) {
        for d in 0..2 {
            if st.line_notes[d].is_empty() {
                continue;
            }
            let waiting = st.lines[d].pending() || (d == 1 && st.replies.in_multiline());
            if all || !waiting {
                for t in std::mem::take(&mut st.line_notes[d]) {
                    Self::anomaly(st, proxy_note(&t));
                }
            }
        }
        if all {
            for (_, t) in std::mem::take(&mut st.conn_notes) {
                Self::anomaly(st, proxy_note(&t));
            }
        }
    }

    fn anomaly(st: &mut SessionState, text: Tr) {
        if st.s.anomalies.len() < MAX_ANOMALIES {
            st.s.anomalies.push(text);
        } else {
            st.dropped_anomalies += 1;
        }
    }

    fn on_control_bytes(&mut self, si: usize, meta: Meta, from_client: bool, bytes: &[u8]) {
        let show_pw = self.cfg.show_passwords;
        let d = if from_client { 0 } else { 1 };
        let mut rest = bytes;
        while !rest.is_empty() {
            let st = &mut self.sessions[si];
            st.s.end = st.s.end.max(meta.ts);
            if st.encrypted {
                // Walk the records: cleartext after them is the session back in the
                // clear (CCC), read as lines again.
                let mut n = 0;
                while n < rest.len() {
                    if st.tls_left[d] > 0 {
                        let k = st.tls_left[d].min(rest.len() - n);
                        st.tls_left[d] -= k;
                        n += k;
                    } else if let Some(len) = tls_record_len(&rest[n..]) {
                        st.tls_left[d] = len;
                    } else {
                        break;
                    }
                }
                st.s.encrypted_bytes[d] += n as u64;
                let plain = self.tls_control_bytes(si, from_client, &rest[..n], meta);
                if !plain.is_empty() {
                    // Decrypted with the key log: the FTP dialogue inside.
                    self.on_plain_lines(si, meta, from_client, &plain);
                }
                let st = &mut self.sessions[si];
                rest = &rest[n..];
                let clear = if from_client {
                    looks_like_command(rest)
                } else {
                    looks_like_reply_start(rest)
                };
                if rest.is_empty() {
                    return;
                }
                if !clear {
                    st.s.encrypted_bytes[d] += rest.len() as u64;
                    return;
                }
                st.encrypted = false;
                st.tls_left = [0, 0];
                st.lines[d] = LineSplitter::new();
                let fr = FrameLabel(meta.frame);
                Self::anomaly(
                    st,
                    tr!(
                        "frame {fr}: the control connection is in the clear again after TLS (CCC)",
                        "帧 {fr}：控制连接在 TLS 之后回到明文（CCC）"
                    ),
                );
                continue;
            }
            // Implicit TLS (FTPS on 990), TLS started without us seeing the 234, or a
            // capture that starts inside an encrypted session (`17 03 03 ...`).
            let record = tls_record(rest)
                || (st.s.exchanges.is_empty()
                    && st.seen_reply.not()
                    && tls_record_len(rest).is_some());
            // A TLS handshake from either side while the client's AUTH waits for a
            // reply: the capture lost the 234 (the client sends its ClientHello only
            // after it; the server's hello answers that, lost too).
            let auth_waiting = tls_record(rest)
                && matches!(st.pending.back(), Some(&Pending::Kept(ei))
                    if st.s.exchanges[ei].verb() == Some("AUTH")
                        && st.s.exchanges[ei].replies.is_empty());
            if !st.lines[d].pending()
                && record
                && (st.s.tls || st.s.exchanges.is_empty() || auth_waiting)
            {
                if auth_waiting && let Some(Pending::Kept(ei)) = st.pending.pop_back() {
                    if let Some(c) = st.s.exchanges[ei].command.as_mut() {
                        c.notes.push(tr!(
                            "no reply in the capture (lost in a gap); the TLS handshake the client began next says the server accepted (234)",
                            "抓包中没有响应（丢失在缺口中）；客户端随后开始的 TLS 握手说明服务器已接受（234）"
                        ));
                    }
                    // The server's side is TLS from here on too.
                    if st.lines[1].pending() {
                        st.lines[1].finish();
                    }
                }
                st.encrypted = true;
                st.s.tls = true;
                Self::anomaly(
                    st,
                    tr!(
                        "TLS records on the control connection: the session is encrypted from here on",
                        "控制连接上出现 TLS 记录：会话从这里开始加密"
                    ),
                );
                continue;
            }
            // A partial line holding binary bytes is no FTP text (an SSH banner
            // and packet on port 21, a stray binary blob): when the next segment
            // starts like a reply (a command), that is a new line, not the rest
            // of the junk (ProFTPD's `530 Sorry, only 3 connections per host!`
            // after mod_sftp's unterminated binary disconnect).
            if st.lines[d].pending()
                && is_binary(st.lines[d].partial_line())
                && if from_client {
                    looks_like_command(rest)
                } else {
                    looks_like_reply_start(rest)
                }
                && let Some((l, f)) = st.lines[d].finish()
            {
                if from_client {
                    self.on_command_line(si, meta, &l, f, show_pw);
                } else {
                    self.on_reply_line(si, meta, &l, f);
                }
                continue;
            }
            let mut scratch = std::mem::take(&mut self.line_scratch);
            scratch.text.clear();
            scratch.lines.clear();
            let mut switch = false;
            let used = {
                let encrypted_next = |line: &[u8]| -> bool {
                    // A 234 reply to AUTH switches both directions to TLS after this line.
                    !from_client
                        && line.starts_with(b"234")
                        && matches!(line.get(3), Some(b' ') | None)
                };
                st.lines[d].feed_until(rest, |l, f| {
                    scratch.text.extend_from_slice(l);
                    scratch.lines.push((scratch.text.len(), f));
                    if encrypted_next(l) {
                        switch = true;
                        false
                    } else {
                        true
                    }
                })
            };
            rest = &rest[used..];
            let mut start = 0;
            for &(end, f) in &scratch.lines {
                let l = &scratch.text[start..end];
                start = end;
                if from_client {
                    self.on_command_line(si, meta, l, f, show_pw);
                } else {
                    self.on_reply_line(si, meta, l, f);
                }
            }
            self.line_scratch = scratch;
            if switch {
                let st = &mut self.sessions[si];
                // The 234 answers AUTH; or it answers nothing the capture holds:
                // its AUTH was lost (a capture gap), and 234 is AUTH's reply only.
                let unasked_234 = st.s.exchanges.last().is_some_and(|e| {
                    e.command.is_none() && e.replies.last().is_some_and(|r| r.code == 234)
                });
                let auth_ok = unasked_234
                    || st
                        .s
                        .exchanges
                        .iter()
                        .rev()
                        .find_map(|e| e.command.as_ref())
                        .is_some_and(|c| c.verb == "AUTH");
                if auth_ok {
                    st.encrypted = true;
                    st.s.tls = true;
                    // Anything the client already sent after AUTH is TLS too.
                    if st.lines[0].pending() {
                        st.lines[0].finish();
                    }
                }
            }
        }
    }

    /// Lines decrypted from a TLS control connection: read as in clear.
    fn on_plain_lines(&mut self, si: usize, meta: Meta, from_client: bool, plain: &[u8]) {
        let show_pw = self.cfg.show_passwords;
        let d = usize::from(!from_client);
        let mut lines: Vec<(Vec<u8>, LineFlags)> = Vec::new();
        self.sessions[si].lines[d].feed_until(plain, |l, f| {
            lines.push((l.to_vec(), f));
            true
        });
        for (l, f) in lines {
            if from_client {
                self.on_command_line(si, meta, &l, f, show_pw);
            } else {
                self.on_reply_line(si, meta, &l, f);
            }
        }
    }

    fn on_command_line(
        &mut self,
        si: usize,
        meta: Meta,
        mut line: &[u8],
        mut f: LineFlags,
        show_pw: bool,
    ) {
        let st = &mut self.sessions[si];
        st.client_spoke = true;
        if st.resync[0] {
            st.resync[0] = false;
            // Telnet command codes whose IAC the gap took (the Synch before ABOR
            // is IAC IP IAC DM, its first bytes often in a segment of their own):
            // the line is the command after them.
            let codes = line.iter().take_while(|&&b| b >= 0xf0).count();
            if codes > 0 && codes <= 3 && looks_like_command(&line[codes..]) {
                f.telnet_ip |= line[..codes].contains(&0xf4);
                f.telnet_synch |= line[..codes].contains(&0xf2);
                line = &line[codes..];
            }
            if !looks_like_command(line) {
                // Not shown: the rest of a PASS line looks like anything.
                let n = line.len();
                Self::anomaly(
                    st,
                    tr!(
                        "client line after a capture gap dropped (the end of a line whose start is missing, {n} bytes; not shown, it may hold a password)",
                        "丢弃了抓包缺口之后的客户端行（开头缺失的一行的结尾，{n} 字节；不显示，它可能含有密码）"
                    ),
                );
                return;
            }
        }
        if line.is_empty() && !f.telnet_ip && !f.telnet_synch {
            let fr = FrameLabel(meta.frame);
            Self::anomaly(
                st,
                tr!("empty command line (frame {fr})", "空命令行（帧 {fr}）"),
            );
            return;
        }
        let pc = command::parse(line);
        // The one command waiting lost its reply in the gap before this command:
        // the client read it (it acknowledged the lost bytes) and went on, so the
        // replies that follow are this command's and later ones', not that one's.
        if let Some(ei) = st.reply_lost.take()
            && matches!(st.pending.front(), Some(&Pending::Kept(front)) if front == ei)
            && st.pending.len() == 1
            && !matches!(pc.verb.as_str(), "ABOR" | "STAT" | "NOOP")
            && !st.s.exchanges[ei]
                .replies
                .iter()
                .any(|r| (100..200).contains(&r.code))
        {
            st.pending.pop_front();
            st.after_gap = false;
            Self::reply_lost_in_gap(st, ei);
        }
        let mut notes = Vec::new();
        if f.overflow > 0 {
            let (was, cut) = (line.len() + f.overflow, line.len());
            notes.push(tr!(
                "line was {was} bytes long; cut to {cut}",
                "该行长 {was} 字节；截断为 {cut}"
            ));
        }
        if f.unterminated {
            notes.push(tr!(
                "line cut short in the capture (snaplen, gap or end of capture): the rest is unknown",
                "该行在抓包中被截断（snaplen、缺口或抓包结束）：其余部分未知"
            ));
        }
        if f.bare_lf {
            notes.push(tr!(
                "line ended with LF only (no CR)",
                "该行只以 LF 结尾（没有 CR）"
            ));
        }
        // One catalog lookup for the verb as sent (a trimmed spelling is known too,
        // but is no transfer command).
        let exact = catalog::command_exact(&pc.verb);
        let transfer = exact.is_some_and(|e| e.kind == catalog::CommandKind::Transfer);
        let unknown = exact.is_none() && catalog::command(&pc.verb).is_none();
        if !self.keep_exchange(si, essential_verb(&pc.verb, transfer)) {
            self.on_counted_command(si, pc);
            return;
        }
        let mut arg = match command::masked_arg(&pc.verb, &pc.arg) {
            Some(masked) if !show_pw => masked,
            _ => pc.arg.clone(),
        };
        // Text budget (the fixed part stands for the structure around the text:
        // the exchange, its reply vector, the allocations).
        let fixed =
            std::mem::size_of::<Exchange>() + std::mem::size_of::<Reply>() + pc.verb.len() + 64;
        if !self.keep_text(si, fixed + arg.len()) {
            if arg.len() > CUT_TEXT {
                let n = arg.len();
                notes.push(tr!(
                    "argument of {n} bytes cut to {CUT_TEXT}: text budget spent",
                    "{n} 字节的参数截断为 {CUT_TEXT}：文本预算已用完"
                ));
                arg.truncate(CUT_TEXT);
            }
            self.count_text(si, fixed + arg.len());
        }
        let st = &mut self.sessions[si];
        notes.extend(gap_note(&mut st.gap_notes, 0));
        notes.append(&mut st.line_notes[0]);
        // The catalog's spelling of a known verb (the parsed verb is upper-cased):
        // what the state changes below are keyed on, with no copy of the verb.
        let verb: &'static str = exact.map_or("", |e| e.verb);
        let cmd = Command {
            verb: pc.verb,
            entry: exact,
            arg: Bytes(arg),
            ts: meta.ts,
            frame: meta.frame,
            telnet_interrupt: f.telnet_ip || f.telnet_synch,
            unknown,
            notes,
            retransmissions: 0,
            last_retransmission: None,
        };
        let ei = st.s.exchanges.len();
        st.s.exchanges.push(Exchange {
            command: Some(cmd),
            // Most commands get one reply (a Vec's first growth would make room for four).
            replies: Vec::with_capacity(1),
            data_channel: None,
        });
        st.pending.push_back(Pending::Kept(ei));
        match verb {
            "USER" => st.s.user = Some(Bytes(pc.arg.clone())),
            "CLNT" => st.s.client_software = Some(Bytes(pc.arg.clone())),
            "PORT" | "EPRT" | "LPRT" => {
                let (via, a) = match verb {
                    "PORT" => (
                        Via::Port,
                        address::parse_port_arg(&pc.arg).map(SocketAddr::V4),
                    ),
                    "EPRT" => (Via::Eprt, address::parse_eprt(&pc.arg)),
                    _ => (Via::Lprt, address::parse_lprt(&pc.arg)),
                };
                match a {
                    Some(a) => self.announce(si, meta, ei, via, DataMode::Active, Some(a)),
                    // Cut by the capture (snaplen, gap): the address is unknown,
                    // not wrong; the server's next connection to the client is it.
                    None if f.unterminated => {
                        self.announce(si, meta, ei, via, DataMode::Active, None)
                    }
                    None => {
                        let st = &mut self.sessions[si];
                        let arg = crate::text::escape(&pc.arg[..pc.arg.len().min(80)]);
                        Self::anomaly(
                            st,
                            tr!(
                                "{verb} argument cannot be parsed: {arg}",
                                "{verb} 的参数无法解析：{arg}"
                            ),
                        );
                    }
                }
            }
            "ABOR" => {
                // The transfer in progress (if any) is being aborted by the client.
                let st = &mut self.sessions[si];
                // A transfer begun before the capture, still running: its command
                // is not in the capture, so ABOR's exchange stands for it (the
                // transfer's 426 and ABOR's own 226 both come to it).
                let linked = st.s.exchanges.iter().rev().find_map(|e| e.data_channel);
                let n = st.s.data_channels.len();
                let unseen = (n.saturating_sub(16)..n).rev().find(|&ci| {
                    let c = &st.s.data_channels[ci];
                    c.via == Via::Unseen && c.command_exchange.is_none() && !st.facts[ci].closed
                });
                match (linked, unseen) {
                    (Some(ci), _) if !st.facts[ci].closed => st.facts[ci].aborted_by_client = true,
                    (_, Some(ci)) => {
                        st.facts[ci].aborted_by_client = true;
                        st.s.data_channels[ci].command_exchange = Some(ei);
                        st.s.exchanges[ei].data_channel = Some(ci);
                    }
                    (Some(ci), None) => st.facts[ci].aborted_by_client = true,
                    (None, None) => {}
                }
            }
            _ if transfer => self.link_transfer(si, ei),
            _ => {}
        }
    }

    /// A command past the transcript budget: counted when its reply comes, its
    /// effects on the session's state kept.
    fn on_counted_command(&mut self, si: usize, pc: command::ParsedCommand) {
        let st = &mut self.sessions[si];
        match pc.verb.as_str() {
            "USER" => st.s.user = Some(Bytes(pc.arg.clone())),
            "CLNT" => st.s.client_software = Some(Bytes(pc.arg.clone())),
            "REST" | "SIZE" | "TYPE" | "MODE" | "STRU" | "CWD" | "XCWD" | "QUIT" => {}
            v if command::is_transfer(v) => {
                // No exchange, no channel: the REST offset is used up all the same.
                st.restart = 0;
            }
            _ => {}
        }
        if st.pending.len() >= MAX_COUNTED_PENDING {
            Self::count_exchange(st, Some(&pc.verb), None);
            return;
        }
        // Only what a reply needs to update the state; never a password.
        let keep_arg = reply_uses_arg(&pc.verb);
        let arg: Box<[u8]> = if keep_arg {
            pc.arg[..pc.arg.len().min(CUT_TEXT)].into()
        } else {
            Box::default()
        };
        st.pending.push_back(Pending::Counted {
            verb: pc.verb.into_boxed_str(),
            arg,
        });
    }

    /// Tie a transfer command to the newest announcement that no command used yet.
    fn link_transfer(&mut self, si: usize, ei: usize) {
        let st = &mut self.sessions[si];
        // A resumed transfer (REST) moves only what follows the offset; the
        // offset is used up by this command, channel or not.
        let mut restart = std::mem::take(&mut st.restart);
        // A REST right before whose 350 the capture lost: clients send the
        // transfer only after the 350, so the offset holds.
        if restart == 0
            && let Some(prev) = ei.checked_sub(1).map(|p| &st.s.exchanges[p])
            && prev.replies.is_empty()
            && let Some(c) = prev.command.as_ref().filter(|c| c.verb == "REST")
        {
            restart = crate::text::lossy_str(&c.arg.0).trim().parse().unwrap_or(0);
        }
        let cand =
            st.s.data_channels
                .iter()
                .enumerate()
                .rev()
                .find(|(ci, c)| {
                    c.command.is_none()
                        && c.command_exchange.is_none()
                        // A connection running before the capture has no
                        // announcement to come after (and is no later
                        // transfer's once it closed).
                        && (c.announce_exchange < ei
                            || (c.via == Via::Unseen && !st.facts[*ci].closed))
                        && !st.facts[*ci].rejected
                })
                .map(|(ci, _)| ci);
        if let Some(ci) = cand {
            let (verb, arg) = {
                st.s.exchanges[ei]
                    .command
                    .as_ref()
                    .map(|c| (c.verb.clone(), c.arg.clone()))
                    .unwrap_or_default()
            };
            let ch = &mut st.s.data_channels[ci];
            ch.command = Some(verb.clone());
            ch.arg = Some(arg.clone());
            ch.command_exchange = Some(ei);
            ch.direction = Some(if command::server_sends(&verb) {
                Direction::Download
            } else {
                Direction::Upload
            });
            ch.transfer_type = Some(st.s.type_.clone());
            st.facts[ci].restart = restart;
            if verb == "RETR" {
                if let Some((_, n)) = st.sizes.iter().rev().find(|(name, _)| *name == arg.0) {
                    ch.expected_size = Some(n.saturating_sub(restart));
                }
            }
            st.s.exchanges[ei].data_channel = Some(ci);
        }
    }

    fn announce(
        &mut self,
        si: usize,
        meta: Meta,
        ei: usize,
        via: Via,
        mode: DataMode,
        addr: Option<SocketAddr>,
    ) {
        let st = &mut self.sessions[si];
        let ci = st.s.data_channels.len();
        st.s.data_channels.push(DataChannel::announced(
            via, mode, addr, ei, meta.ts, meta.frame,
        ));
        st.facts.push(DataFacts::default());
        self.count_text(
            si,
            std::mem::size_of::<DataChannel>() + std::mem::size_of::<DataFacts>() + 64,
        );
        let st = &mut self.sessions[si];
        // A transfer command pipelined before the announcement arrived.
        if let Some(te) = (ei + 1..st.s.exchanges.len()).find(|&x| {
            st.s.exchanges[x].data_channel.is_none()
                && st.s.exchanges[x]
                    .command
                    .as_ref()
                    .is_some_and(Command::is_transfer)
        }) {
            self.link_transfer(si, te);
        }
        let Some(addr) = addr else {
            // Unreadable announcement (cut, garbled): the next connection between the
            // two control peers in the right direction is taken as its connection.
            self.wild.push((si, ci));
            if self.wild.len() > MAX_WILD {
                self.wild.remove(0);
            }
            return;
        };
        let list = self.expect.entry(addr.port()).or_default();
        list.push((si, ci));
        if list.len() > 64 {
            list.remove(0);
        }
        // Bound the announcements a session keeps waiting.
        let waiting: Vec<u16> = self.sessions[si]
            .s
            .data_channels
            .iter()
            .rev()
            .skip(MAX_PENDING_CHANNELS)
            .filter_map(|c| c.announced.map(|a| a.port()))
            .collect();
        for p in waiting {
            if let Some(l) = self.expect.get_mut(&p) {
                l.retain(|&(s, c)| !(s == si && c + MAX_PENDING_CHANNELS < ci + 1));
            }
        }
    }

    fn on_reply_line(&mut self, si: usize, meta: Meta, line: &[u8], f: LineFlags) {
        let st = &mut self.sessions[si];
        if st.resync[1] && st.replies.in_multiline() && looks_like_reply_start(line) {
            // The end of the open multi-line reply was lost; this line starts another.
            if let Some(r) = st.replies.finish() {
                let m = st.reply_started.take().unwrap_or(meta);
                self.on_reply(si, m, r);
            }
        }
        let st = &mut self.sessions[si];
        if st.resync[1] {
            st.resync[1] = false;
            let bare_code = line.len() == 3 && line.iter().all(u8::is_ascii_digit);
            if !(st.replies.in_multiline() || looks_like_reply_start(line) || bare_code) {
                let l = crate::text::escape(&line[..line.len().min(80)]);
                Self::anomaly(
                    st,
                    tr!(
                        "server line after a capture gap dropped (partial): {l}",
                        "丢弃了抓包缺口之后的服务器行（不完整）：{l}"
                    ),
                );
                return;
            }
        }
        let item = st.replies.line(line, f);
        match item {
            None => {}
            Some(ReplyItem::Started(code)) => {
                st.reply_started = Some(meta);
                if !st.seen_reply && matches!(code, 120 | 220) && st.greeting_slot.is_none() {
                    // The greeting's place, before the commands sent while it arrives.
                    st.greeting_slot = Some(Self::greeting_exchange(st));
                }
            }
            Some(ReplyItem::Garbage(g)) => {
                let (fr, l) = (
                    FrameLabel(meta.frame),
                    crate::text::escape(&g[..g.len().min(120)]),
                );
                Self::anomaly(
                    st,
                    tr!(
                        "frame {fr}: server sent a line that is not a reply: {l}",
                        "帧 {fr}：服务器发送了一行不是响应的内容：{l}"
                    ),
                );
                // A command is waiting: this line is the server's (invalid) answer to it.
                if let Some(Pending::Counted { verb, .. }) = st.pending.front() {
                    let verb = verb.clone();
                    st.pending.pop_front();
                    Self::count_exchange(st, Some(&verb), Some(0));
                } else if let Some(Pending::Kept(ei)) = st.pending.pop_front() {
                    st.garbage_answer = Some(ei);
                    let cmd_ts = st.s.exchanges[ei].command.as_ref().map(|c| c.ts);
                    let mut notes =
                        vec![tr!("invalid reply: no reply code", "无效响应：没有响应码")];
                    notes.extend(gap_note(&mut st.gap_notes, 1));
                    notes.append(&mut st.line_notes[1]);
                    st.s.exchanges[ei].replies.push(Reply {
                        code: 0,
                        text: Bytes(g.clone()),
                        lines: vec![Bytes(g)],
                        ts: meta.ts,
                        frame: meta.frame,
                        response_time: cmd_ts.map(|t| t.secs_until(meta.ts)),
                        multiline: false,
                        notes,
                        retransmissions: 0,
                        last_retransmission: None,
                    });
                }
            }
            Some(ReplyItem::Reply(r)) => {
                let first = st.reply_started.take().unwrap_or(meta);
                self.on_reply(si, first, r);
            }
        }
    }

    fn on_reply(&mut self, si: usize, meta: Meta, mut r: ParsedReply) {
        let st = &mut self.sessions[si];
        st.reply_lost = None;
        let greeting = !st.seen_reply && matches!(r.code, 120 | 220);
        st.seen_reply = true;
        if st.after_gap && !greeting {
            Self::skip_unanswerable(st, r.code);
        }
        // After a gap, a reply the waiting command cannot take (a 227 to TYPE, a
        // 200 to CWD) answers a command the capture lost: the waiting command's
        // own reply was lost too. Neither is paired across the hole.
        let mut lost_command: Option<Tr> = None;
        if st.after_gap && !greeting {
            if let Some(&Pending::Kept(front)) = st.pending.front() {
                let verb = st.s.exchanges[front].verb().unwrap_or("");
                if !crate::ftp::reply::plausible(verb, r.code) {
                    st.pending.pop_front();
                    Self::reply_lost_in_gap(st, front);
                    lost_command = Some(tr!(
                        "the command this answers is not in the capture (lost in a gap)",
                        "这个响应所回答的命令不在抓包中（丢失在缺口中）"
                    ));
                }
            }
        }
        if !greeting {
            if let Some(Pending::Counted { verb, arg }) = st.pending.front() {
                let (verb, arg) = (verb.clone(), arg.clone());
                self.on_counted_reply(si, meta, &verb, &arg, &r);
                return;
            }
        }
        // The command a line without a code answered, when nothing came since:
        // this reply is its real answer (the junk was something else's).
        if let Some(ei) = st.garbage_answer.take()
            && !greeting
            && st.pending.is_empty()
            && ei + 1 == st.s.exchanges.len()
        {
            st.pending.push_front(Pending::Kept(ei));
        }
        let unsolicited = greeting || st.pending.is_empty() || lost_command.is_some();
        // A preliminary reply with no command waiting, right after the capture lost
        // client bytes no command line has come since: it answers a transfer
        // command lost in the hole, which used the newest announcement.
        let orphan_transfer = unsolicited
            && !greeting
            && (100..200).contains(&r.code)
            && st.gap_notes.as_ref().is_some_and(|g| g[0].0 != 0);
        if unsolicited && !greeting && !self.keep_exchange(si, r.code >= 400) {
            let st = &mut self.sessions[si];
            Self::count_exchange(st, None, Some(r.code));
            let text = r.text();
            self.apply_reply(si, meta, None, None, &[], r.code, &text);
            return;
        }
        let Some(ei) = Self::reply_exchange(&mut self.sessions[si], greeting, unsolicited, r.code)
        else {
            return;
        };
        if orphan_transfer {
            let st = &mut self.sessions[si];
            // Its final reply (226, 426) comes to this exchange.
            st.pending.push_front(Pending::Kept(ei));
            let newest = st.s.data_channels.len().checked_sub(1);
            if let Some(ci) = newest.filter(|&ci| {
                let c = &st.s.data_channels[ci];
                c.command_exchange.is_none() && c.announce_exchange < ei && !st.facts[ci].rejected
            }) {
                let ch = &mut st.s.data_channels[ci];
                ch.command_exchange = Some(ei);
                ch.transfer_type = Some(st.s.type_.clone());
                st.s.exchanges[ei].data_channel = Some(ci);
            }
            lost_command = Some(tr!(
                "the transfer command this answers is not in the capture (lost in a gap)",
                "这个响应所回答的传输命令不在抓包中（丢失在缺口中）"
            ));
        } else if unsolicited && !greeting && matches!(r.code, 226 | 426 | 451 | 552) {
            // The end of a transfer whose command was before the capture: its data
            // connection is the newest one matched by its peers.
            let st = &mut self.sessions[si];
            // Among the newest channels only: a flood of such replies costs no
            // scan of every channel each.
            let n = st.s.data_channels.len();
            if let Some(ci) = (n.saturating_sub(16)..n).rev().find(|&ci| {
                let c = &st.s.data_channels[ci];
                c.via == Via::Unseen
                    && c.command_exchange.is_none()
                    && c.start.is_some_and(|t| t <= meta.ts)
            }) {
                st.s.data_channels[ci].command_exchange = Some(ei);
                st.s.exchanges[ei].data_channel = Some(ci);
            }
        }
        let text = r.text();
        let st = &self.sessions[si];
        // The verb as the catalog spells it when known (no copy), and the
        // argument only for the replies whose state needs it.
        // The first replies of a capture that starts mid-session answer commands
        // sent before it.
        let before_capture = st.s.capture.mid_session && !greeting && !st.client_spoke;
        let (verb, arg, cmd_ts) = match &st.s.exchanges[ei].command {
            // Only a PASV (EPSV, LPSV) is answered by 227 (229, 228): the lost
            // command's announcement is followed.
            None if lost_command.is_some() || before_capture => {
                let verb = match r.code {
                    227 => Some(std::borrow::Cow::Borrowed("PASV")),
                    229 => Some(std::borrow::Cow::Borrowed("EPSV")),
                    228 => Some(std::borrow::Cow::Borrowed("LPSV")),
                    _ => None,
                };
                (verb, Vec::new(), None)
            }
            Some(c) => {
                let verb = c.catalog_verb();
                let arg = if reply_uses_arg(&verb) {
                    c.arg.0.clone()
                } else {
                    Vec::new()
                };
                (Some(verb), arg, Some(c.ts))
            }
            None => (None, Vec::new(), None),
        };
        let mut notes = reply_notes(&r);
        let (kept_text, kept_lines) =
            self.kept_reply_text(si, std::mem::take(&mut r.lines), &text, &mut notes);
        let st = &mut self.sessions[si];
        notes.extend(gap_note(&mut st.gap_notes, 1));
        notes.extend(lost_command);
        notes.append(&mut st.line_notes[1]);
        let first_reply = st.s.exchanges[ei].replies.is_empty();
        let reply = Reply {
            code: r.code,
            text: Bytes(kept_text),
            lines: kept_lines,
            ts: meta.ts,
            frame: meta.frame,
            response_time: if first_reply {
                cmd_ts.map(|t| t.secs_until(meta.ts))
            } else {
                None
            },
            multiline: r.flags.multiline,
            notes,
            retransmissions: 0,
            last_retransmission: None,
        };
        st.s.exchanges[ei].replies.push(reply);
        self.apply_reply(si, meta, Some(ei), verb.as_deref(), &arg, r.code, &text);
    }

    /// After a capture gap a reply may be missing: skip waiting commands this reply
    /// cannot answer when the next one can (RFC 959 §5.4), marking them as having
    /// lost their reply.
    fn skip_unanswerable(st: &mut SessionState, code: u16) {
        while st.pending.len() >= 2 {
            let verb = |p: &Pending| match p {
                Pending::Kept(ei) => st.s.exchanges[*ei].verb().unwrap_or("").to_string(),
                Pending::Counted { verb, .. } => verb.to_string(),
            };
            let (v0, v1) = (verb(&st.pending[0]), verb(&st.pending[1]));
            if plausible(&v0, code) || !plausible(&v1, code) {
                break;
            }
            match st.pending.pop_front() {
                Some(Pending::Kept(lost)) => Self::reply_lost_in_gap(st, lost),
                _ => Self::count_exchange(st, Some(&v0), None),
            }
        }
    }

    /// A waiting command whose reply the capture lost in a gap: noted as such.
    fn reply_lost_in_gap(st: &mut SessionState, ei: usize) {
        if let Some(c) = st.s.exchanges[ei].command.as_mut() {
            c.notes.push(tr!(
                "no reply in the capture (lost in a gap)",
                "抓包中没有响应（丢失在缺口中）"
            ));
        }
    }

    /// The reply to a command counted past the budget: counted with its final
    /// reply; what the reply changes is kept.
    fn on_counted_reply(&mut self, si: usize, meta: Meta, verb: &str, arg: &[u8], r: &ParsedReply) {
        let st = &mut self.sessions[si];
        if r.code >= 200 {
            st.pending.pop_front();
            Self::count_exchange(st, Some(verb), Some(r.code));
            if st.pending.is_empty() {
                st.after_gap = false;
            }
        }
        if matches!(verb, "USER" | "PASS" | "ACCT") && r.code == 530 {
            self.failed_login(si, meta.ts);
        }
        let text = r.text();
        self.apply_reply(si, meta, None, Some(verb), arg, r.code, &text);
    }

    /// The exchange a reply goes to: the greeting's (reserved when its first line
    /// came, so commands sent while a multi-line greeting arrived stay after it),
    /// a new one for another unsolicited reply, or the oldest waiting command's
    /// (a final reply ends its wait).
    fn reply_exchange(
        st: &mut SessionState,
        greeting: bool,
        unsolicited: bool,
        code: u16,
    ) -> Option<usize> {
        if greeting {
            return Some(
                st.greeting_slot
                    .take()
                    .unwrap_or_else(|| Self::greeting_exchange(st)),
            );
        }
        if unsolicited {
            st.s.exchanges.push(Exchange {
                command: None,
                replies: Vec::new(),
                data_channel: None,
            });
            return Some(st.s.exchanges.len() - 1);
        }
        // (A counted command at the front was dealt with by the caller.)
        let Some(&Pending::Kept(front)) = st.pending.front() else {
            return None;
        };
        // ABOR standing for a transfer begun before the capture (see
        // `on_command_line`): the transfer's 426 or 451 comes first, then ABOR's
        // own final reply.
        let transfers_end = matches!(code, 426 | 451) && {
            let x = &st.s.exchanges[front];
            x.data_channel.is_some()
                && x.verb() == Some("ABOR")
                && !x.replies.iter().any(|r| r.code >= 200)
        };
        if code >= 200 && !transfers_end {
            st.pending.pop_front();
        }
        if st.pending.is_empty() {
            st.after_gap = false;
        }
        Some(front)
    }

    /// A new exchange for the greeting. A client that sends commands before the
    /// greeting came (a script, a scanner, a pipelining client against a slow
    /// server) still got the greeting first, in the protocol's order: when no
    /// command has a reply yet, the greeting goes before them.
    fn greeting_exchange(st: &mut SessionState) -> usize {
        let at = if st.s.exchanges.iter().all(|x| x.replies.is_empty()) {
            0
        } else {
            st.s.exchanges.len()
        };
        st.s.exchanges.insert(
            at,
            Exchange {
                command: None,
                replies: Vec::new(),
                data_channel: None,
            },
        );
        Self::shift_exchanges(st, at, true);
        at
    }

    /// An exchange was inserted at `at` (`inserted`), or removed from there:
    /// every index the session holds at or past it moves with it.
    fn shift_exchanges(st: &mut SessionState, at: usize, inserted: bool) {
        let moved = |i: &mut usize| {
            if *i >= at {
                if inserted {
                    *i += 1;
                } else if *i > at {
                    *i -= 1;
                }
            }
        };
        if at + usize::from(inserted) == st.s.exchanges.len() {
            // The end of the list: nothing held an index past it.
            return;
        }
        for p in st.pending.iter_mut() {
            if let Pending::Kept(ei) = p {
                moved(ei);
            }
        }
        if let Some(g) = st.garbage_answer.as_mut() {
            moved(g);
        }
        for ch in st.s.data_channels.iter_mut() {
            moved(&mut ch.announce_exchange);
            if let Some(c) = ch.command_exchange.as_mut() {
                moved(c);
            }
        }
    }

    /// The text and lines a reply keeps: all of it within the text budget (the
    /// text is kept twice, joined and as lines, with the reply's structure), else
    /// its first line cut to [`CUT_TEXT`] bytes, with a note.
    fn kept_reply_text(
        &mut self,
        si: usize,
        lines: Vec<Vec<u8>>,
        text: &[u8],
        notes: &mut Vec<Tr>,
    ) -> (Vec<u8>, Vec<Bytes>) {
        let kept_len = 2 * text.len() + lines.len() * 40 + std::mem::size_of::<Reply>() + 64;
        if self.keep_text(si, kept_len) {
            return (text.to_vec(), lines.into_iter().map(Bytes).collect());
        }
        let first = lines
            .first()
            .map_or(&[][..], |l| &l[..l.len().min(CUT_TEXT)]);
        let (n, b) = (lines.len(), text.len());
        notes.push(tr!(
            "reply of {n} lines, {b} bytes: only its first line kept (cut to {CUT_TEXT} bytes), text budget spent",
            "{n} 行、{b} 字节的响应：只保留第一行（截断为 {CUT_TEXT} 字节），文本预算已用完"
        ));
        self.count_text(si, 2 * first.len() + std::mem::size_of::<Reply>() + 64);
        (first.to_vec(), vec![Bytes(first.to_vec())])
    }

    /// What a reply changes in the session state.
    #[allow(
        clippy::too_many_arguments,
        reason = "the reply and its context, all needed"
    )]
    /// `ei` is None for a reply counted past the transcript budget: no exchange, so
    /// no announcement is followed.
    fn apply_reply(
        &mut self,
        si: usize,
        meta: Meta,
        ei: Option<usize>,
        verb: Option<&str>,
        arg: &[u8],
        code: u16,
        text: &[u8],
    ) {
        if !Self::apply_state_reply(&mut self.sessions[si], code, verb, arg, text) {
            self.apply_data_reply(si, meta, ei, verb, code, text);
        }
    }

    /// Login, representation, directory, restart and size: what the session's
    /// state takes from a reply. False when the reply is none of these.
    fn apply_state_reply(
        st: &mut SessionState,
        code: u16,
        verb: Option<&str>,
        arg: &[u8],
        text: &[u8],
    ) -> bool {
        let word = || crate::text::lossy_str(arg).trim().to_ascii_uppercase();
        match (code, verb) {
            (230 | 232, _) => st.s.login = Login::Ok,
            // Any refusal ends the attempt: 530, but also a 421 or 550 for want of
            // TLS and vsftpd's "500 OOPS" to PASS.
            (400..=599, Some("USER" | "PASS" | "ACCT")) if st.s.login != Login::Ok => {
                st.s.login = Login::Failed
            }
            // A capture that starts with the server refusing a login: the USER and
            // PASS were just before it.
            (530, None) if lone_login_refusal(st, text) => st.s.login = Login::Failed,
            (200, Some("TYPE")) => {
                let t = word();
                if !t.is_empty() {
                    st.s.type_ = t;
                    st.type_told = true;
                }
            }
            (200, None) => {
                // A TYPE's 200 whose command the capture lost ("TYPE is now 8-bit
                // binary", "Switching to Binary mode.").
                if let Some(rep) = type_in_reply(text) {
                    st.s.type_ = rep.type_letter().into();
                    st.type_told = true;
                }
            }
            (200, Some("MODE")) => st.s.mode = word(),
            (200, Some("STRU")) => st.s.stru = word(),
            (215, Some("SYST")) => st.s.server_system = Some(Bytes(text.to_vec())),
            (257, Some("PWD" | "XPWD")) => {
                if let Some(p) = explain::path_in_257(text) {
                    st.s.cwd = Some(Bytes(p));
                }
            }
            (250 | 200, Some("CWD" | "XCWD")) => {
                let a = arg.to_vec();
                st.s.cwd = if a.first() == Some(&b'/') {
                    Some(Bytes(a))
                } else {
                    st.s.cwd.as_ref().map(|c| {
                        let mut p = c.0.clone();
                        if p.last() != Some(&b'/') {
                            p.push(b'/');
                        }
                        p.extend_from_slice(&a);
                        Bytes(p)
                    })
                };
            }
            (250 | 200, Some("CDUP" | "XCUP")) => {
                if let Some(c) = &mut st.s.cwd {
                    let p = &mut c.0;
                    while p.len() > 1 && p.last() == Some(&b'/') {
                        p.pop();
                    }
                    match p.iter().rposition(|&b| b == b'/') {
                        Some(0) | None => *p = b"/".to_vec(),
                        Some(i) => p.truncate(i),
                    }
                }
            }
            (350, Some("REST")) => {
                st.restart = crate::text::lossy_str(arg).trim().parse().unwrap_or(0);
            }
            (350, None) => {
                // A 350 whose command the capture lost, with a number: a REST's
                // (RNFR's says "ready for RNTO"), e.g. "Restart position accepted
                // (50000)", "Restarting at 50000".
                let t = crate::text::lossy_str(text);
                let digits: String = t
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse() {
                    st.restart = n;
                }
            }
            (213, Some("SIZE")) => {
                if let Some(n) = explain::size_in_213(text) {
                    st.sizes.push((arg.to_vec(), n));
                    if st.sizes.len() > 64 {
                        st.sizes.remove(0);
                    }
                }
            }
            (221, Some("QUIT")) => st.s.closed = Closed::Quit,
            _ => return false,
        }
        true
    }

    /// Data connections: announcements (227, 229, 228), refused addresses, and
    /// what transfer replies say of their transfer.
    fn apply_data_reply(
        &mut self,
        si: usize,
        meta: Meta,
        ei: Option<usize>,
        verb: Option<&str>,
        code: u16,
        text: &[u8],
    ) {
        let server = self.sessions[si].s.server;
        let st = &mut self.sessions[si];
        match (code, verb) {
            // Past the transcript budget announcements are not followed.
            (227..=229, _) if ei.is_none() => {}
            // Only an answer to PASV announces: an unsolicited 227 (pure-ftpd's
            // "227 Logout." after the client's FIN) is not an announcement.
            (227, Some("PASV")) => {
                let a = address::parse_227(text).map(SocketAddr::V4);
                self.announce_passive(
                    si,
                    meta,
                    ei,
                    Via::Pasv,
                    a,
                    tr!(
                        "227 reply without a readable address",
                        "227 响应中没有可读的地址"
                    ),
                );
            }
            (229, Some("EPSV")) => {
                let a = address::parse_229(text).map(|p| SocketAddr::new(server.ip(), p));
                self.announce_passive(
                    si,
                    meta,
                    ei,
                    Via::Epsv,
                    a,
                    tr!(
                        "229 reply without a readable port",
                        "229 响应中没有可读的端口"
                    ),
                );
            }
            (228, Some("LPSV")) => {
                let a = address::parse_228(text);
                self.announce_passive(
                    si,
                    meta,
                    ei,
                    Via::Lpsv,
                    a,
                    tr!(
                        "228 reply without a readable address",
                        "228 响应中没有可读的地址"
                    ),
                );
            }
            (c, Some("PORT" | "EPRT" | "LPRT")) if c >= 400 => {
                // The server refused the address: no connection is due.
                if let Some(ci) =
                    st.s.data_channels
                        .iter()
                        .rposition(|d| Some(d.announce_exchange) == ei)
                {
                    st.facts[ci].rejected = true;
                }
            }
            (150 | 125, Some(v)) if command::is_transfer(v) => {
                if let Some(ci) = ei.and_then(|ei| st.s.exchanges[ei].data_channel) {
                    if let Some(n) = explain::bytes_in_150(text) {
                        // After REST, servers differ on whether "(N bytes)" is the whole
                        // file or what is left; only a count without restart is sure.
                        if st.facts[ci].restart == 0 {
                            st.s.data_channels[ci].expected_size = Some(n);
                        }
                    }
                    let said = type_in_reply(text);
                    st.s.data_channels[ci].type_per_replies = said;
                    // No TYPE in a capture that starts mid-session: the server's
                    // "BINARY mode" is the type in force, not the default A the
                    // session assumed. (From the greeting on, no TYPE means A,
                    // whatever a server that ignores it says: vsftpd sends BINARY
                    // unless ascii_download_enable.)
                    let greeted = st.s.exchanges.first().is_some_and(|x| {
                        x.command.is_none()
                            && x.replies
                                .first()
                                .is_some_and(|r| matches!(r.code, 220 | 120))
                    });
                    if !st.type_told
                        && st.s.capture.mid_session
                        && !greeted
                        && let Some(rep) = said
                    {
                        st.s.type_ = rep.type_letter().into();
                        st.s.data_channels[ci].transfer_type = Some(rep.type_letter().into());
                        st.type_told = true;
                    }
                }
            }
            (226 | 250, Some(v)) if command::is_transfer(v) => {
                if let Some(ci) = ei.and_then(|ei| st.s.exchanges[ei].data_channel) {
                    if let Some(n) = bytes_in_226(text) {
                        st.s.data_channels[ci].bytes_per_replies = Some(n);
                    }
                }
            }
            _ => {}
        }
    }

    /// A passive announcement (the reply to PASV, EPSV or LPSV); one whose address
    /// cannot be read is noted, and its connection taken as the next between the
    /// two peers.
    fn announce_passive(
        &mut self,
        si: usize,
        meta: Meta,
        ei: Option<usize>,
        via: Via,
        addr: Option<SocketAddr>,
        unreadable: Tr,
    ) {
        if addr.is_none() {
            let fr = FrameLabel(meta.frame);
            Self::anomaly(
                &mut self.sessions[si],
                tr!("frame {fr}: {u}", "帧 {fr}：{u}"; u = unreadable),
            );
        }
        self.announce(
            si,
            meta,
            ei.unwrap_or_default(),
            via,
            DataMode::Passive,
            addr,
        );
    }

    fn promote(&mut self, meta: Meta, info: ConnInfo, client_is_initiator: bool) -> usize {
        // Counted as another connection when it opened; it is a control connection.
        self.other_conns = self.other_conns.saturating_sub(1);
        let (client, server) = if client_is_initiator {
            (info.initiator, info.responder)
        } else {
            (info.responder, info.initiator)
        };
        let si = self.new_session(
            meta,
            info.id,
            client,
            server,
            info.handshake_seen,
            DetectedBy::Content,
        );
        self.conns.insert(
            info.id,
            Role::Control {
                session: si,
                client_is_initiator,
            },
        );
        si
    }

    /// Call at the end of input: closes open lines and replies, decides outcomes.
    pub fn finish(&mut self) {
        self.unclaimed_finish();
        let mut open: Vec<usize> = self.sessions.map.keys().copied().collect();
        open.sort_unstable();
        for si in open {
            self.emit(si);
        }
    }

    /// Too many sessions open: set aside the least recently active tenth (at
    /// least one). One scan for many sessions, so opening N sessions past the
    /// cap costs O(N) in all, not O(N * cap).
    fn evict(&mut self, meta: Meta) {
        let n = (self.max_open / 10).max(1).min(self.sessions.map.len());
        let mut by_age: Vec<(crate::time::Ts, usize)> = self
            .sessions
            .map
            .iter()
            .map(|(&si, st)| (st.s.end, si))
            .collect();
        if n < by_age.len() {
            by_age.select_nth_unstable(n - 1);
            by_age.truncate(n);
        }
        by_age.sort_unstable();
        for (_, si) in by_age {
            let st = &mut self.sessions[si];
            st.s.closed = Closed::Evicted;
            let (fr, max) = (FrameLabel(meta.frame), self.max_open);
            let text = tr!(
                "set aside at frame {fr} before it ended: more than {max} sessions were open at once (the least recently active go first); later packets of its connections were ignored",
                "在帧 {fr} 处于结束前被移出：同时打开的会话超过 {max} 个（最久不活跃的先移出）；其连接之后的包被忽略"
            );
            Self::anomaly(st, text);
            let conns: Vec<ConnId> = std::iter::once(st.s.control_conn)
                .chain(st.s.data_channels.iter().filter_map(|c| c.conn))
                .collect();
            self.emit(si);
            self.evicted += 1;
            // Their connections may go on: ignore them from now on.
            for c in conns {
                self.conns.entry(c).or_insert(Role::Other);
            }
        }
    }

    /// Close, finalize and diagnose a session, and queue it for the caller.
    fn emit(&mut self, si: usize) {
        if !self.sessions.contains(si) {
            return;
        }
        if let Some(d) = self.sessions[si].closing_deadline.take() {
            self.closing.remove(&(d, si));
        }
        self.mid_session_ended(si);
        let show = self.cfg.show_passwords;
        let end = self.sessions[si].s.end;
        let meta = Meta { ts: end, frame: 0 };
        self.close_lines(si, meta, show);
        let st = &mut self.sessions[si];
        if let Some(slot) = st.greeting_slot.take() {
            // A greeting that never ended (the connection turned to TLS, say).
            if st
                .s
                .exchanges
                .get(slot)
                .is_some_and(|x| x.replies.is_empty())
            {
                st.s.exchanges.remove(slot);
                Self::shift_exchanges(st, slot, false);
            }
        }
        Self::unplaced_notes(st, true);
        self.finalize(si);
        let Some(mut st) = self.sessions.map.remove(&si) else {
            return;
        };
        Self::listings_finish(&mut st);
        Self::extract_finish(&mut st);
        // Commands counted past the budget that no reply answered.
        for p in std::mem::take(&mut st.pending) {
            if let Pending::Counted { verb, .. } = p {
                Self::count_exchange(&mut st, Some(&verb), None);
            }
        }
        self.text_held = self.text_held.saturating_sub(st.text_bytes);
        // Forget its pending announcements and roles.
        for ch in &st.s.data_channels {
            if let Some(a) = ch.announced {
                if let Some(l) = self.expect.get_mut(&a.port()) {
                    l.retain(|&(s, _)| s != si);
                    if l.is_empty() {
                        self.expect.remove(&a.port());
                    }
                }
            }
        }
        self.wild.retain(|&(s, _)| s != si);
        // Forget the session's connections by id (a scan of every connection here
        // made ending N sessions cost O(N^2)).
        if self.by_control.get(&st.s.control_conn) == Some(&si) {
            self.by_control.remove(&st.s.control_conn);
        }
        let ids = std::iter::once(st.s.control_conn)
            .chain(st.s.data_channels.iter().filter_map(|c| c.conn));
        for id in ids {
            if matches!(self.conns.get(&id), Some(Role::Control { session, .. } | Role::Data { session, .. }) if *session == si)
            {
                self.conns.remove(&id);
            }
        }
        let mut s = st.s;
        for (i, x) in s.exchanges.iter().enumerate() {
            // A login refused at the capture's start (its PASS before it) counts.
            let lone = i == 0
                && x.command.is_none()
                && s.login == Login::Failed
                && s.capture.mid_session
                && x.replies
                    .first()
                    .is_some_and(|r| says_login_failed(&r.text.0));
            if lone || matches!(x.verb(), Some("PASS" | "USER" | "ACCT")) {
                // A login refused for want of TLS ("530 Non-anonymous sessions
                // must use encryption.") is no wrong password: a client retrying
                // it is not guessing.
                if let Some(r) = x.final_reply().filter(|r| {
                    r.code == 530 && !crate::diagnose::refusals::asks_for_tls(&r.text.0)
                }) {
                    self.push_failed_login(FailedLogin {
                        client: s.client.ip(),
                        ts: r.ts,
                        session: s.id,
                    });
                }
            }
        }
        let mut summary: Vec<SummaryRow> = st
            .summary
            .into_iter()
            .map(|((verb, code), count)| SummaryRow {
                verb: verb.map(String::from),
                code,
                count,
            })
            .collect();
        summary.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.verb.cmp(&b.verb))
                .then_with(|| a.code.cmp(&b.code))
        });
        s.summary = summary;
        let control = s.control_conn;
        self.tls_attach(si, control, &mut s);
        crate::diagnose::session(&mut s, self.cfg.verbose);
        self.finished.push(s);
    }

    fn push_failed_login(&mut self, f: FailedLogin) {
        if self.failed_logins.len() >= MAX_FAILED_LOGINS {
            self.failed_logins.pop_front();
        }
        self.failed_logins.push_back(f);
    }

    /// A failed login answered to a command counted past the budget (those kept as
    /// exchanges are collected when the session ends).
    fn failed_login(&mut self, si: usize, ts: crate::time::Ts) {
        let s = &self.sessions[si].s;
        let f = FailedLogin {
            client: s.client.ip(),
            ts,
            session: s.id,
        };
        self.push_failed_login(f);
    }

    /// A session ends once its control connection closed and no data connection is
    /// open; with data connections open, [`DATA_WAIT`] later at the latest
    /// ([`Tracker::tick`]).
    fn maybe_emit(&mut self, si: usize, now: crate::time::Ts) {
        if self.sessions.contains(si) {
            let st = &mut self.sessions[si];
            if st.control_closed && st.open_data == 0 {
                self.emit(si);
            } else if st.control_closed && st.closing_deadline.is_none() {
                let d = crate::time::Ts(now.0.saturating_add(DATA_WAIT));
                st.closing_deadline = Some(d);
                self.closing.insert((d, si));
            }
        }
    }

    fn close_lines(&mut self, si: usize, meta: Meta, show: bool) {
        let st = &mut self.sessions[si];
        if st.ended {
            return;
        }
        st.ended = true;
        if st.encrypted {
            return;
        }
        // An unterminated line is dated by the last bytes of its direction.
        let at = |m: Meta| if m.frame == 0 { meta } else { m };
        let [client, server] = st.last_bytes;
        if let Some((l, f)) = st.lines[0].finish() {
            self.on_command_line(si, at(client), &l, f, show);
        }
        let st = &mut self.sessions[si];
        if let Some((l, f)) = st.lines[1].finish() {
            self.on_reply_line(si, at(server), &l, f);
        }
        let st = &mut self.sessions[si];
        if let Some(r) = st.replies.finish() {
            let m = st.reply_started.take().unwrap_or(meta);
            self.on_reply(si, m, r);
        }
    }

    /// The session's coverage as the events so far show it.
    fn coverage_now(&self, st: &SessionState) -> Coverage {
        let mut cov = coverage(st, self.other_conns, self.other_packets, self.all_visible);
        cov.capture_after = st.s.end.secs_until(self.last_ts).max(0.0);
        cov
    }

    fn finalize(&mut self, si: usize) {
        let cov = self.coverage_now(&self.sessions[si]);
        let st = &mut self.sessions[si];
        settle(&mut st.s, &st.facts, cov, false);
        let s = &mut st.s;
        if st.dropped_anomalies > 0 {
            let n = st.dropped_anomalies;
            s.anomalies.push(tr!(
                "{n} more anomalies not listed",
                "另有 {n} 条异常未列出"
            ));
        }
        for (ch, f) in s.data_channels.iter_mut().zip(&st.facts) {
            if f.gaps > 0 {
                let n = f.gaps;
                ch.notes.push(tr!(
                    "{n} bytes of this connection are missing from the capture",
                    "抓包中缺少这个连接的 {n} 字节"
                ));
            }
        }
        resent_notes(s);
    }

    /// Copies of the open sessions as they stand now, for live views, by id:
    /// coverage, data-channel outcomes and timings as far as the events so far
    /// tell (see [`settle`]), and each session lasting until `now` (the source's
    /// time, when it says it; its last event, if later). The sessions themselves
    /// are not touched: their final verdicts come when they end.
    pub fn open_views(&self, now: crate::time::Ts) -> Vec<Session> {
        let mut out: Vec<Session> = self
            .sessions
            .map
            .values()
            .map(|st| {
                let mut s = st.s.clone();
                settle(&mut s, &st.facts, self.coverage_now(st), true);
                if now > s.end {
                    s.end = now;
                    s.duration = s.start.secs_until(now);
                }
                s
            })
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }
}

/// A gap waiting for the next line of its direction: the frame that showed it
/// (0: none), the bytes missing, whether several gaps add up to them.
type GapNote = (u64, u64, bool);

/// The transcript's marker of the capture's gaps before a line of direction `d`
/// (0: the client's), taken once.
fn gap_note(notes: &mut Option<Box<[GapNote; 2]>>, d: usize) -> Option<Tr> {
    let (frame, len, several) = std::mem::take(&mut notes.as_mut()?[d]);
    if frame == 0 {
        return None;
    }
    let fr = FrameLabel(frame);
    let (side, side_zh) = if d == 0 {
        ("client", "客户端")
    } else {
        ("server", "服务器")
    };
    Some(if several {
        tr!(
            "capture gaps before this line: {len} bytes from the {side} missing (frames up to {fr})",
            "此行之前有抓包缺口：缺少{side_zh}的 {len} 字节（直到帧 {fr}）"
        )
    } else {
        tr!(
            "capture gap before this line: {len} bytes from the {side} missing (frame {fr})",
            "此行之前有抓包缺口：缺少{side_zh}的 {len} 字节（帧 {fr}）"
        )
    })
}

/// The receiving side reset the data connection after the sending side's FIN,
/// and the server confirmed the transfer (226/250): every byte was sent and the
/// receiver only closed abortively (SO_LINGER 0, as some Windows and Java clients
/// do). The transfer completed; `ended_by` still says how the connection ended.
fn closed_abortively(ch: &DataChannel, f: &DataFacts, final_code: Option<u16>) -> bool {
    let download = match ch.direction {
        Some(Direction::Download) => true,
        Some(Direction::Upload) => false,
        None => ch.bytes_to_client >= ch.bytes_to_server,
    };
    let (sender, receiver_reset) = if download {
        (1, EndedBy::RstByClient)
    } else {
        (0, EndedBy::RstByServer)
    };
    // Without a final reply (lost in a gap): every announced byte arrived, or
    // the server's verdict is in the hole and the sender's FIN ended the data.
    let confirmed = matches!(final_code, Some(226 | 250))
        || final_code.is_none() && (f.reply_gap || ch.expected_size.is_some_and(|n| ch.bytes >= n));
    f.reset_by == Some(receiver_reset) && f.fin_from[sender] && confirmed
}

/// The sending side reset the data connection after its own FIN (not a TLS one,
/// whose close_notify says more), and no final reply says the transfer failed:
/// every byte was sent before the FIN, and the reset answered what the receiver
/// sent after it (its late close, an ACK to a closed socket), as a TLS server
/// does to a client's late close_notify when the capture cannot follow TLS.
fn reset_after_own_fin(ch: &DataChannel, f: &DataFacts, final_code: Option<u16>) -> bool {
    let (sender, sender_reset) = match ch.direction {
        Some(Direction::Download) => (1, EndedBy::RstByServer),
        Some(Direction::Upload) => (0, EndedBy::RstByClient),
        None => return false,
    };
    ch.tls.is_none()
        && f.reset_by == Some(sender_reset)
        && f.fin_from[sender]
        && final_code.is_none_or(|c| c < 400)
}

/// The receiving side closed the data connection while the sending side had not
/// (no FIN from it, no reset), short of the announced size when one was, and the
/// server never confirmed the transfer: in stream mode only the sender's FIN ends
/// a file, so the receiver gave up (a client's timeout on a stalled transfer, a
/// cancel without ABOR). The transfer ended early, whatever the FIN looks like.
fn abandoned_by_receiver(ch: &DataChannel, f: &DataFacts, final_code: Option<u16>) -> bool {
    let (sender, receiver) = match ch.direction {
        Some(Direction::Download) => (1, 0),
        Some(Direction::Upload) => (0, 1),
        None => return false,
    };
    f.reset_by.is_none()
        && f.fin_from[receiver]
        && !f.fin_from[sender]
        && final_code.is_none_or(|c| c < 200)
        && ch.expected_size.is_none_or(|n| ch.bytes < n)
}

/// What a session's events add up to: its coverage, each data channel's outcome,
/// how it ended, its timings, and the session's end and duration. `live`: the
/// session is still open (a live view's copy), so a channel whose transfer has no
/// verdict yet is [`Outcome::Open`] (connected and running, or still awaited),
/// not judged as if the capture had ended. Idempotent: only derived fields are set.
/// A 530 that says a login was refused ("Login incorrect.", "Login authentication
/// failed", "User cannot log in."), not that one is needed first ("Please login
/// with USER and PASS.", "Not logged in.").
pub(crate) fn says_login_failed(text: &[u8]) -> bool {
    let has = |w: &str| crate::text::find_ci(text, w.as_bytes()).is_some();
    !has("please")
        && !has("not logged in")
        && ["incorrect", "failed", "invalid", "denied", "cannot log in"]
            .iter()
            .any(|w| has(w))
}

/// A lone 530 that refuses a login, first in a session seen from its middle with
/// no command before it and no login known.
fn lone_login_refusal(st: &SessionState, text: &[u8]) -> bool {
    st.s.login == Login::None
        && st.s.capture.mid_session
        && !st.client_spoke
        && says_login_failed(text)
}

/// Which way a data connection's bytes mostly went (`None`: none went).
fn direction_by_bytes(ch: &DataChannel) -> Option<Direction> {
    match (ch.bytes_to_client, ch.bytes_to_server) {
        (0, 0) => None,
        (c, s) if c >= s => Some(Direction::Download),
        _ => Some(Direction::Upload),
    }
}

/// Bytes each way above which a connection matched by its peers alone (no
/// announcement) does not look like a file transfer.
const BOTH_WAYS: u64 = 64 << 10;

fn settle(s: &mut Session, facts: &[DataFacts], mut cov: Coverage, live: bool) {
    // A capture that opens on the greeting is not mid-session, handshake or not
    // (payload-only captures drop SYNs and pure ACKs).
    if s.capture.mid_session && cov.greeting {
        s.capture.mid_session = false;
    }
    let would_show = cov.data_would_show();
    let sides_seen = s.capture.seen;
    std::mem::swap(&mut s.coverage, &mut cov);
    let newest = s.data_channels.len().checked_sub(1);
    for (ci, ch) in s.data_channels.iter_mut().enumerate() {
        let f = &facts[ci];
        if ch.via != Via::Unseen
            && ch.direction.is_none()
            && ch.command.is_none()
            && ch.command_exchange.is_some()
        {
            // Its transfer command was lost in a gap: the bytes say which way.
            ch.direction = direction_by_bytes(ch);
        }
        if ch.via == Via::Unseen && ch.direction.is_none() {
            // No command says which way: the bytes do.
            ch.direction = direction_by_bytes(ch);
            // A file goes one way; much both ways is some other program's
            // connection between the same two hosts, matched by its peers alone.
            let (c, s) = (ch.bytes_to_client, ch.bytes_to_server);
            if c.min(s) > BOTH_WAYS && !ch.notes.iter().any(|n| n.en.starts_with("it carried")) {
                let (c, s) = (crate::time::human_bytes(c), crate::time::human_bytes(s));
                ch.notes.push(tr!(
                    "it carried much both ways ({c} to the client, {s} to the server): an FTP data connection moves a file one way, so this may be another program's connection between the same two hosts",
                    "它在两个方向上都传输了大量数据（发往客户端 {c}，发往服务器 {s}）：FTP 数据连接只单向传输文件，因此这可能是同两台主机之间另一个程序的连接"
                ));
            }
        }
        let final_code = ch
            .command_exchange
            .and_then(|e| s.exchanges.get(e))
            .and_then(|e| e.final_reply())
            .map(|r| r.code);
        let server_aborted = matches!(final_code, Some(426 | 451));
        let preliminary = ch
            .command_exchange
            .and_then(|e| s.exchanges.get(e))
            .is_some_and(|e| e.replies.iter().any(|r| (100..200).contains(&r.code)))
            || f.reply_gap;
        // Live: no connection yet, and nothing says none will come (the newest
        // announcement, or a transfer command without its final reply).
        let awaited = live
            && !f.attempted
            && !f.rejected
            && final_code.is_none()
            && (ch.command.is_some() || Some(ci) == newest);
        ch.outcome = if awaited {
            Outcome::Open
        } else if f.rejected && !f.attempted {
            Outcome::Rejected
        } else if !f.attempted {
            // No connection in the capture: the replies are the evidence left.
            match final_code {
                _ if ch.command.is_none() && ch.command_exchange.is_none() => Outcome::Unused,
                // The server refused the command itself: no transfer was due.
                Some(c) if c >= 400 && !preliminary && c != 425 => Outcome::CommandFailed,
                // 1xx: the server had its data connection; the capture does not.
                Some(226 | 250) if preliminary => Outcome::CompletedPerReplies,
                Some(c) if c >= 400 && (preliminary || !would_show) => Outcome::FailedPerReplies,
                _ if would_show && !preliminary => Outcome::NotAttempted,
                _ => Outcome::NotInCapture,
            }
        } else if f.refused {
            Outcome::Refused
        } else if !f.established && ch.bytes == 0 {
            if live && !f.closed {
                // The connection attempt may still be answered.
                Outcome::Open
            } else {
                Outcome::Unanswered
            }
        } else if f.aborted_by_client {
            Outcome::Aborted
        } else if f.reset_by.is_some()
            && !closed_abortively(ch, f, final_code)
            && !reset_after_own_fin(ch, f, final_code)
        {
            Outcome::Reset
        } else if server_aborted {
            Outcome::Aborted
        } else if final_code.is_some_and(|c| c >= 400 && c != 425) && !preliminary && ch.bytes == 0
        {
            // The server refused the command itself (550 No such file): the
            // connection the client made beforehand (passive) was not at fault.
            Outcome::CommandFailed
        } else if final_code.is_some_and(|c| c >= 400) {
            Outcome::Failed
        } else if live && !f.closed {
            // Still connected: running, or its last bytes still on their way to a
            // slow reader, whatever the replies said so far.
            Outcome::Open
        } else if abandoned_by_receiver(ch, f, final_code)
            // A capture holding one side only (the sender's never seen on the
            // control connection) cannot tell the sender stopped.
            && sides_seen[usize::from(ch.direction == Some(Direction::Download))]
        {
            Outcome::Aborted
        } else if f.fins > 0 || (matches!(final_code, Some(226 | 250)) && ch.bytes > 0) {
            // No FIN in the capture (payload-only captures drop it) but the
            // server confirmed the transfer.
            Outcome::Completed
        } else {
            Outcome::Open
        };
        // Notes said once (a live view settles a session many times).
        let note_once = |ch: &mut DataChannel, why: bool, note: fn() -> crate::i18n::Tr| {
            if why {
                let note = note();
                if !ch.notes.iter().any(|n| n.en == note.en) {
                    ch.notes.push(note);
                }
            }
        };
        let completed = ch.outcome == Outcome::Completed;
        note_once(
            ch,
            completed && f.reply_gap && final_code.is_none() && !live,
            || {
                tr!(
                    "the server's final reply is not in the capture (lost in a gap): the data connection ended in order, but whether the server kept or sent the whole file is unknown",
                    "服务器的最终响应不在抓包中（丢失在缺口中）：数据连接正常结束，但服务器是否保存或发送了完整文件无从得知"
                )
            },
        );
        note_once(
            ch,
            completed && reset_after_own_fin(ch, f, final_code),
            || {
                tr!(
                    "the sender reset the connection after its own FIN: every byte was sent before it, and the reset answered what came after (the receiver's late close)",
                    "发送方在自己的 FIN 之后重置了连接：所有字节都已在此之前发出，重置是对之后到达的数据（接收方迟到的关闭）的回应"
                )
            },
        );
        ch.ended_by = if let Some(r) = f.reset_by {
            Some(r)
        } else if live && !f.closed {
            // Half closed at most: null while open.
            None
        } else if f.fins > 0 {
            Some(EndedBy::Fin)
        } else {
            None
        };
        ch.bytes = ch.bytes_to_client + ch.bytes_to_server;
        if let (Some(a), Some(b)) = (ch.first_byte, ch.last_byte) {
            let secs = a.secs_until(b);
            if secs > 0.0 {
                ch.throughput = Some(ch.bytes as f64 / secs);
            }
        }
        if let Some(start) = ch.start.filter(|_| ch.via != Via::Unseen) {
            ch.setup_time = Some(ch.announced_at.secs_until(start)).filter(|t| *t >= 0.0);
        }
        if let Some(ei) = ch.command_exchange {
            if let Some(ex) = s.exchanges.get(ei) {
                if let (Some(p), Some(fb)) =
                    (ex.replies.iter().find(|r| r.code < 200), ch.first_byte)
                {
                    ch.wait_first_byte = Some(p.ts.secs_until(fb));
                }
                if let (Some(fr), Some(lb)) = (ex.final_reply(), ch.last_byte) {
                    ch.completion_lag = Some(lb.secs_until(fr.ts));
                }
            }
        }
        if let Some(e) = ch.end {
            s.end = s.end.max(e);
        }
        if ch.via == Via::Unseen
            && let Some(t) = ch.start
        {
            // Seen before its control connection: the session was in the capture
            // from then on.
            if t < s.start {
                s.start = t;
                s.start_frame = ch.frame_syn.unwrap_or(s.start_frame);
            }
        }
    }
    s.duration = s.start.secs_until(s.end);
}

impl ConnSink for Tracker {
    /// Data connections read as a stream (an encrypted session's, found by
    /// timing) are data connections too: their TCP figures feed the same verdicts.
    fn stream_figures(&mut self, conn: ConnId) -> bool {
        matches!(self.conns.get(&conn), Some(Role::Data { .. }))
    }

    fn figures(&mut self, conn: ConnId, mut figures: crate::model::TcpFigures) {
        if let Some(&Role::Data {
            session,
            channel,
            client_is_initiator,
        }) = self.conns.get(&conn)
        {
            if !client_is_initiator {
                figures.swap_sides();
            }
            if self.sessions.contains(session) {
                if let Some(ch) = self.sessions[session].s.data_channels.get_mut(channel) {
                    ch.tcp = Some(Box::new(figures));
                }
            }
        } else if let Some(Role::Unclaimed) = self.conns.get(&conn) {
            self.unclaimed_figures(conn, figures);
        }
    }

    fn note(&mut self, _meta: Meta, control: ConnId, target: NoteTarget, text: String) {
        // The proxy's own notes (what it rewrote, refused, injected) are English.
        let text = Tr::verbatim(text);
        let Some(&si) = self.by_control.get(&control) else {
            // The session ended (or never began): nothing to attach the note to.
            return;
        };
        let cii = match self.conns.get(&control) {
            Some(Role::Control {
                client_is_initiator,
                ..
            }) => Some(*client_is_initiator),
            _ => None,
        };
        let st = &mut self.sessions[si];
        match target {
            NoteTarget::Session => Self::anomaly(st, proxy_note(&text)),
            NoteTarget::Line(dir) => match cii {
                Some(cii) => st.line_notes[usize::from(dir != client_dir(cii))].push(text),
                // The control connection closed: no line follows.
                None => Self::anomaly(st, proxy_note(&text)),
            },
            NoteTarget::Conn(c) => {
                match st.s.data_channels.iter_mut().rfind(|d| d.conn == Some(c)) {
                    Some(ch) => ch.notes.push(text),
                    // Tied to a channel when the tracker matches the connection.
                    None if st.conn_notes.len() < MAX_ANOMALIES => st.conn_notes.push((c, text)),
                    None => st.dropped_anomalies += 1,
                }
            }
            NoteTarget::Announced(a) => {
                match st
                    .s
                    .data_channels
                    .iter_mut()
                    .rfind(|d| d.announced == Some(a))
                {
                    Some(ch) => ch.notes.push(text),
                    None => Self::anomaly(st, proxy_note(&text)),
                }
            }
        }
    }

    fn duplicate(&mut self, conn: ConnId) {
        if let Some(Role::Control { session, .. } | Role::Data { session, .. }) =
            self.conns.get(&conn)
        {
            let si = *session;
            if self.sessions.contains(si) {
                self.sessions[si].s.coverage.duplicates += 1;
            }
        }
    }

    fn closed(&mut self, meta: Meta, conn: ConnId) {
        self.tick(meta.ts);
        if !self.sniffing.is_empty() {
            self.sniffing.remove(&conn);
        }
        match self.conns.remove(&conn) {
            Some(Role::Control { session, .. }) => {
                if self.sessions.contains(session) {
                    self.sessions[session].control_closed = true;
                    self.maybe_emit(session, meta.ts);
                }
            }
            Some(Role::Data {
                session, channel, ..
            }) => {
                if self.sessions.contains(session) {
                    self.tls_data_closed(session, channel, conn);
                    let st = &mut self.sessions[session];
                    if let Some(f) = st.facts.get_mut(channel) {
                        f.closed = true;
                    }
                    st.open_data = st.open_data.saturating_sub(1);
                    self.maybe_emit(session, meta.ts);
                }
            }
            Some(Role::Unclaimed) => self.unclaimed_closed(conn),
            Some(Role::Bare) => self.bare_closed(conn),
            _ => {}
        }
    }

    fn open_bare(&mut self, meta: Meta, info: &ConnInfo) -> Option<Mode> {
        self.first_open.get_or_insert(meta.ts);
        self.last_ts = self.last_ts.max(meta.ts);
        self.tick(meta.ts);
        self.bare_control_open(meta, info)
    }

    fn open(&mut self, meta: Meta, info: &ConnInfo) -> Mode {
        self.first_open.get_or_insert(meta.ts);
        self.last_ts = self.last_ts.max(meta.ts);
        self.tick(meta.ts);
        // Announced data connections first: they may use any port, 21 included.
        // Without a handshake the flow table guessed the roles by port; payload-only
        // captures hold data connections that way, so try the other way round too.
        let matched = self.match_data(info).map(|m| (m, *info)).or_else(|| {
            if info.handshake_seen {
                return None;
            }
            let swapped = ConnInfo {
                initiator: info.responder,
                responder: info.initiator,
                ..*info
            };
            self.match_data(&swapped).map(|m| (m, swapped))
        });
        if let Some(((si, ci, kind, cii), seen)) = matched {
            // `cii` is relative to `seen`; the flow table's directions to `info`.
            let client_is_initiator = if seen.initiator == info.initiator {
                cii
            } else {
                !cii
            };
            let info = &seen;
            self.other_conns += 1;
            let st = &mut self.sessions[si];
            let f = &mut st.facts[ci];
            let ch = &mut st.s.data_channels[ci];
            if f.attempted {
                let fr = FrameLabel(meta.frame);
                ch.notes.push(tr!(
                    "another connection attempt at frame {fr}",
                    "帧 {fr} 处又一次尝试连接"
                ));
            }
            f.attempted = true;
            f.refused = false;
            f.closed = false;
            st.open_data += 1;
            ch.match_kind = Some(kind);
            ch.connector = Some(info.initiator);
            ch.listener = Some(info.responder);
            ch.start = Some(meta.ts);
            ch.end = Some(meta.ts);
            ch.frame_syn = Some(meta.frame);
            ch.syns = u32::from(info.handshake_seen);
            ch.conn = Some(info.id);
            if !st.conn_notes.is_empty() {
                let id = info.id;
                st.conn_notes.retain(|(c, text)| {
                    if *c == id {
                        ch.notes.push(text.clone());
                    }
                    *c != id
                });
            }
            if ch.announced.is_none() {
                // The announcement was unreadable: the connection tells where it was.
                ch.announced = Some(info.responder);
                ch.notes.push(tr!(
                    "announced address not readable in the capture; taken from the connection",
                    "抓包中通告的地址不可读；取自连接本身"
                ));
            }
            if !info.handshake_seen {
                f.established = true;
                ch.notes.push(no_handshake_note());
            }
            self.conns.insert(
                info.id,
                Role::Data {
                    session: si,
                    channel: ci,
                    client_is_initiator,
                },
            );
            if self.sessions[si].s.tls {
                // An FTPS session whose announcement could be read (decrypted with
                // its secrets, or in clear after CCC): the data connection is TLS
                // under PROT P (its content tells; PROT C shows as clear). Decrypt
                // it when the secrets are there, to count the file's bytes.
                self.tls_data_conn(info.id);
                return Mode::Stream;
            }
            // In order, for listings and extraction (as cheap as counting when
            // segments come in order: they are handed over as they are).
            return Mode::Stream;
        }
        if let Some(mode) = self.tls_open(meta, info) {
            return mode;
        }
        let rp = info.responder.port();
        let ip = info.initiator.port();
        if self.cfg.ftp_ports.contains(&rp) {
            let si = self.new_session(
                meta,
                info.id,
                info.initiator,
                info.responder,
                info.handshake_seen,
                DetectedBy::Port,
            );
            self.conns.insert(
                info.id,
                Role::Control {
                    session: si,
                    client_is_initiator: true,
                },
            );
            return Mode::Stream;
        }
        if !info.handshake_seen && self.cfg.ftp_ports.contains(&ip) {
            // Mid-stream with our port guess backwards.
            let si = self.new_session(
                meta,
                info.id,
                info.responder,
                info.initiator,
                false,
                DetectedBy::Port,
            );
            self.conns.insert(
                info.id,
                Role::Control {
                    session: si,
                    client_is_initiator: false,
                },
            );
            return Mode::Stream;
        }
        self.other_conns += 1;
        if let Some(mode) = self.unclaimed_open(meta, info) {
            return mode;
        }
        if self.cfg.detect_by_content && !NOT_FTP_PORTS.contains(&rp) {
            self.conns.insert(info.id, Role::Sniff);
            self.sniffing.insert(
                info.id,
                unclaimed::Sniffed {
                    info: *info,
                    opened: meta,
                    accepted: false,
                    rejected: None,
                },
            );
            return Mode::Stream;
        }
        if self.hold_unclaimed(meta, info) {
            return Mode::Count;
        }
        self.conns.insert(info.id, Role::Other);
        Mode::Ignore
    }

    fn event(&mut self, meta: Meta, conn: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        self.last_ts = self.last_ts.max(meta.ts);
        self.tick(meta.ts);
        match *self.conns.get(&conn)? {
            // Nothing to learn from it (this also stops a connection of a session
            // set aside from being delivered any further).
            Role::Other => Some(Mode::Ignore),
            Role::Sniff => self.sniff_event(meta, conn, ev),
            Role::Unclaimed => {
                self.unclaimed_event(meta, conn, &ev);
                None
            }
            Role::Bare => {
                self.bare_event(meta, conn, ev);
                None
            }
            Role::Control {
                session,
                client_is_initiator,
            } => {
                if self.sessions.contains(session) {
                    self.control_event(meta, session, client_dir(client_is_initiator), ev);
                }
                None
            }
            Role::Data {
                session,
                channel,
                client_is_initiator,
            } => {
                if self.sessions.contains(session) {
                    let cd = client_dir(client_is_initiator);
                    return self.data_event(meta, conn, session, channel, cd, ev);
                }
                None
            }
        }
    }
}

impl Tracker {
    /// An event on a connection not known yet: its first bytes decide whether it
    /// is an FTP control connection (a greeting, USER or AUTH) or something else.
    fn sniff_event(&mut self, meta: Meta, conn: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        let Some(w) = self.sniffing.get_mut(&conn) else {
            self.conns.insert(conn, Role::Other);
            return Some(Mode::Ignore);
        };
        let (info, opened) = (w.info, w.opened);
        let ConnEvent::Data { dir, bytes } = ev else {
            match ev {
                ConnEvent::Accepted => w.accepted = true,
                ConnEvent::Unreachable(r) if !w.accepted => {
                    w.rejected.get_or_insert(r);
                }
                ConnEvent::Fin { .. } | ConnEvent::Reset { .. } | ConnEvent::Refused => {
                    // Ended before a byte: perhaps a data connection nothing
                    // announced yet (its announcement in a gap that shows with the
                    // client's next command), held for a session to claim.
                    let w = self.sniffing.remove(&conn).expect("looked up");
                    if self.hold_waiting(w) {
                        self.unclaimed_event(meta, conn, &ev);
                        return Some(Mode::Count);
                    }
                    self.conns.insert(conn, Role::Other);
                    return Some(Mode::Ignore);
                }
                _ => {}
            }
            return None;
        };
        self.sniffing.remove(&conn);
        // Joined mid-way (no handshake), a control connection on another port
        // than the configured ones shows as a reply or command only FTP has.
        let midway = !info.handshake_seen;
        let (is_server, is_client) = (
            is_greeting(bytes) || (midway && is_midway_reply(bytes)),
            is_client_hello(bytes) || (midway && is_midway_command(bytes)),
        );
        let client_is_initiator = match (dir, is_server, is_client) {
            (Dir::FromResponder, true, _) | (Dir::FromInitiator, _, true) => Some(true),
            (Dir::FromInitiator, true, _) | (Dir::FromResponder, _, true)
                if !info.handshake_seen =>
            {
                Some(false)
            }
            _ => None,
        };
        match client_is_initiator {
            Some(cii) => {
                let si = self.promote(opened, info, cii);
                let from_client = (dir == Dir::FromInitiator) == cii;
                self.on_control_bytes(si, meta, from_client, bytes);
                None
            }
            None => {
                // Not a control connection: perhaps a data connection nothing
                // announced, of a session seen mid-way since it opened, or
                // counted from here on for one to come.
                if self.unclaimed_open(opened, &info).is_some() {
                    self.event(meta, conn, ConnEvent::Data { dir, bytes });
                    return Some(Mode::Count);
                }
                if self.hold_unclaimed(opened, &info) {
                    self.unclaimed_event(meta, conn, &ConnEvent::Data { dir, bytes });
                    return Some(Mode::Count);
                }
                self.conns.insert(conn, Role::Other);
                Some(Mode::Ignore)
            }
        }
    }

    /// An event on a control connection; `cd` is the client's direction.
    fn control_event(&mut self, meta: Meta, si: usize, cd: Dir, ev: ConnEvent<'_>) {
        match ev {
            ConnEvent::Data { dir, bytes } => {
                let from_client = dir == cd;
                let st = &mut self.sessions[si];
                st.s.capture.packets[usize::from(!from_client)] += 1;
                st.s.capture.seen[usize::from(!from_client)] = true;
                st.last_bytes[usize::from(!from_client)] = meta;
                self.on_control_bytes(si, meta, from_client, bytes);
                Self::unplaced_notes(&mut self.sessions[si], false);
            }
            ConnEvent::Gap { dir, len } => self.control_gap(meta, si, dir == cd, len, false),
            ConnEvent::Cut { dir, len } => self.control_gap(meta, si, dir == cd, len, true),
            ConnEvent::Fin { dir } => {
                let st = &mut self.sessions[si];
                st.s.end = st.s.end.max(meta.ts);
                st.s.capture.seen[usize::from(dir != cd)] = true;
                if st.s.closed == Closed::Open {
                    st.s.closed = if dir == cd {
                        Closed::FinByClient
                    } else {
                        Closed::FinByServer
                    };
                }
            }
            ConnEvent::Reset { dir } => {
                let st = &mut self.sessions[si];
                st.s.end = st.s.end.max(meta.ts);
                st.s.capture.seen[usize::from(dir != cd)] = true;
                // A reset after the same side's FIN is that side's cleanup (data
                // or an ACK arrived after it closed): the close was orderly.
                let own_fin = matches!(
                    (st.s.closed, dir == cd),
                    (Closed::FinByClient, true) | (Closed::FinByServer, false)
                );
                if !own_fin
                    && matches!(
                        st.s.closed,
                        Closed::Open | Closed::FinByClient | Closed::FinByServer
                    )
                {
                    st.s.closed = if dir == cd {
                        Closed::RstByClient
                    } else {
                        Closed::RstByServer
                    };
                }
            }
            ConnEvent::Refused => {
                let st = &mut self.sessions[si];
                st.s.capture.seen[1] = true;
                st.s.closed = Closed::Refused;
                st.control_refused = true;
                st.s.end = st.s.end.max(meta.ts);
            }
            ConnEvent::SynRetry => {
                let st = &mut self.sessions[si];
                st.control_syns += 1;
                st.s.end = st.s.end.max(meta.ts);
            }
            ConnEvent::Unreachable(r) => {
                let st = &mut self.sessions[si];
                if !st.control_accepted && st.control_rejected.is_none() {
                    st.control_rejected = Some(r);
                    if st.s.closed == Closed::Open {
                        st.s.closed = Closed::Refused;
                    }
                }
                st.s.end = st.s.end.max(meta.ts);
            }
            // Not evidence of the server's packets: the client's ACK of a
            // SYN-ACK the capture missed says it too.
            ConnEvent::Accepted => {
                let st = &mut self.sessions[si];
                st.control_accepted = true;
                // A SYN sent again after an ICMP error got through after all.
                if st.control_rejected.take().is_some() && st.s.closed == Closed::Refused {
                    st.s.closed = Closed::Open;
                }
            }
            ConnEvent::Resent { dir, .. } => {
                Self::control_resent(&mut self.sessions[si], meta, dir == cd)
            }
            ConnEvent::Count { .. } => {}
        }
    }

    /// The control connection sent bytes again that it had delivered: a command
    /// still waiting for its reply (the newest one, when several were pipelined),
    /// or the newest reply, counts the copy. A copy of a command already
    /// answered is not attributed (the ACK was lost, or the copy was spurious).
    fn control_resent(st: &mut SessionState, meta: Meta, from_client: bool) {
        let side = usize::from(!from_client);
        // Bytes of a line (or a multi-line reply) still open: the copy may be of
        // that, not of a line already made into a command or reply.
        if st.lines[side].pending() || !from_client && st.reply_started.is_some() {
            return;
        }
        if from_client {
            let Some(&Pending::Kept(ei)) = st.pending.back() else {
                return;
            };
            // A copy dated no later than the line itself is no retransmission (a
            // capture merged with itself, two capture points).
            if let Some(c) =
                st.s.exchanges
                    .get_mut(ei)
                    .and_then(|x| x.command.as_mut())
                    .filter(|c| c.ts < meta.ts)
            {
                c.retransmissions += 1;
                c.last_retransmission = Some(meta.ts);
            }
        } else if let Some(r) =
            st.s.exchanges
                .iter_mut()
                .rev()
                .find_map(|x| x.replies.last_mut())
                .filter(|r| r.ts < meta.ts)
        {
            r.retransmissions += 1;
            r.last_retransmission = Some(meta.ts);
        }
    }

    /// Bytes of a control connection missing from the capture (a gap) or cut by
    /// its snaplen: counted and noted; a line they broke is kept, marked cut, and
    /// the next line is trusted only if it looks like a line start.
    fn control_gap(&mut self, meta: Meta, si: usize, from_client: bool, len: u64, is_cut: bool) {
        let d = usize::from(!from_client);
        let st = &mut self.sessions[si];
        if is_cut {
            st.s.capture.cut_bytes[d] += len;
        } else {
            st.s.capture.gap_bytes[d] += len;
            st.s.capture.gaps += 1;
            let kept = st.s.capture.gap_at.get_or_insert_default();
            if kept.len() < crate::model::MAX_GAPS_KEPT {
                kept.push((meta.frame, meta.ts, from_client, len));
            }
        }
        if st.encrypted {
            st.s.encrypted_bytes[d] += len;
            return;
        }
        let fr = FrameLabel(meta.frame);
        let text = match (from_client, is_cut) {
            (true, true) => tr!(
                "frame {fr}: {len} bytes from the client cut by the capture's snaplen; decoding resumes at the next line",
                "帧 {fr}：客户端的 {len} 字节被抓包的 snaplen 截断；从下一行继续解码"
            ),
            (true, false) => tr!(
                "frame {fr}: {len} bytes from the client missing from the capture; decoding resumes at the next line",
                "帧 {fr}：抓包中缺少客户端的 {len} 字节；从下一行继续解码"
            ),
            (false, true) => tr!(
                "frame {fr}: {len} bytes from the server cut by the capture's snaplen; decoding resumes at the next line",
                "帧 {fr}：服务器的 {len} 字节被抓包的 snaplen 截断；从下一行继续解码"
            ),
            (false, false) => tr!(
                "frame {fr}: {len} bytes from the server missing from the capture; decoding resumes at the next line",
                "帧 {fr}：抓包中缺少服务器的 {len} 字节；从下一行继续解码"
            ),
        };
        Self::anomaly(st, text);
        if !is_cut && !from_client {
            if let Some(&Pending::Kept(ei)) = st.pending.front() {
                if let Some(ci) = st.s.exchanges[ei].data_channel {
                    st.facts[ci].reply_gap = true;
                }
                // Room for a whole reply line ("200 x" and its line end), and no
                // reply line begun before the gap.
                if st.pending.len() == 1
                    && len >= 6
                    && !st.lines[d].pending()
                    && st.reply_started.is_none()
                {
                    st.reply_lost = Some(ei);
                }
            }
        }
        if !is_cut {
            st.last_gap = Some(meta.ts);
        }
        if !is_cut {
            // The announcement of a data connection may be in the hole.
            self.claimer_after_gap(si, meta.ts);
        }
        let st = &mut self.sessions[si];
        if !is_cut {
            // Said again on the next line of that direction, in the transcript.
            let g = &mut st.gap_notes.get_or_insert_default()[d];
            *g = if g.0 == 0 {
                (meta.frame.max(1), len, false)
            } else {
                (meta.frame.max(1), g.1 + len, true)
            };
        }
        st.after_gap = true;
        let partial = st.lines[d].break_line();
        // The start of the line is known, its end is not: keep it as a
        // line marked cut (the verb or code is usually intact).
        if let Some((l, f)) = partial {
            if !l.is_empty() {
                let show = self.cfg.show_passwords;
                if from_client {
                    self.on_command_line(si, meta, &l, f, show);
                } else {
                    self.on_reply_line(si, meta, &l, f);
                }
            }
        }
        // Bytes are missing before whatever comes next.
        self.sessions[si].resync[d] = true;
    }

    /// An event on a data connection of channel `ci`; `cd` is the client's direction.
    fn data_event(
        &mut self,
        meta: Meta,
        conn: ConnId,
        si: usize,
        ci: usize,
        cd: Dir,
        ev: ConnEvent<'_>,
    ) -> Option<Mode> {
        let mut plain = None;
        let mut mode = None;
        match &ev {
            ConnEvent::Data { dir, bytes } => {
                plain = self.tls_data_bytes(conn, *dir == cd, bytes, meta.frame);
            }
            ConnEvent::Gap { dir, len } => self.tls_data_gap(conn, *dir == cd, *len),
            _ => {}
        }
        if plain.is_some()
            && self.cfg.extract.is_some()
            && let ConnEvent::Data { dir, .. } = ev
        {
            // A decrypted data connection: its plaintext is the file.
            let bytes = self.tls_take_plain(conn, dir == cd);
            if !bytes.is_empty() {
                self.extract_event(si, ci, &ConnEvent::Data { dir, bytes: &bytes });
                if dir != cd {
                    self.listing_bytes(si, ci, &bytes);
                }
            }
        }
        if plain.is_none() {
            if self.cfg.extract.is_some() {
                self.extract_event(si, ci, &ev);
            }
            if let ConnEvent::Data { dir, bytes } = ev {
                let listing = matches!(
                    self.sessions[si].s.data_channels[ci].command.as_deref(),
                    Some("LIST" | "NLST" | "MLSD")
                );
                if listing && dir != cd {
                    self.listing_bytes(si, ci, bytes);
                } else if !listing && self.cfg.extract.is_none() && !self.tls_conn_known(conn) {
                    // A file, not a listing: counted from here on. Counting follows
                    // the sequence space through loss and reordering, which in-order
                    // delivery would report as missing once its buffer is full.
                    mode = Some(Mode::Count);
                }
            }
        }
        let st = &mut self.sessions[si];
        let f = &mut st.facts[ci];
        let ch = &mut st.s.data_channels[ci];
        ch.end = Some(meta.ts);
        match ev {
            ConnEvent::Resent { .. } => {}
            ConnEvent::SynRetry => ch.syns += 1,
            ConnEvent::Accepted => {
                f.established = true;
                ch.frame_answer = Some(meta.frame);
                // A SYN sent again after an ICMP error got through after all.
                if ch.rejected_by.take().is_some() {
                    f.refused = false;
                }
            }
            ConnEvent::Refused => {
                f.refused = true;
                ch.frame_answer = Some(meta.frame);
            }
            ConnEvent::Unreachable(r) => {
                if !f.established && ch.rejected_by.is_none() {
                    f.refused = true;
                    ch.frame_answer = Some(meta.frame);
                    ch.rejected_by = Some(r);
                }
            }
            ConnEvent::Count { dir, len }
            | ConnEvent::Gap { dir, len }
            | ConnEvent::Cut { dir, len } => {
                if dir == cd {
                    ch.bytes_to_server += len;
                } else {
                    ch.bytes_to_client += len;
                }
                ch.bytes += len;
                ch.first_byte.get_or_insert(meta.ts);
                ch.last_byte = Some(meta.ts);
                if matches!(ev, ConnEvent::Gap { .. }) {
                    f.gaps += len;
                }
                f.established = true;
            }
            ConnEvent::Data { dir, bytes } => {
                // A decrypted connection counts the file's bytes, not the records'.
                let len = plain.unwrap_or(bytes.len() as u64);
                if dir == cd {
                    ch.bytes_to_server += len;
                } else {
                    ch.bytes_to_client += len;
                }
                ch.bytes += len;
                if len > 0 {
                    ch.first_byte.get_or_insert(meta.ts);
                    ch.last_byte = Some(meta.ts);
                }
            }
            ConnEvent::Fin { dir } => {
                f.fins += 1;
                f.fin_from[usize::from(dir != cd)] = true;
            }
            ConnEvent::Reset { dir } => {
                f.reset_by = Some(if dir == cd {
                    EndedBy::RstByClient
                } else {
                    EndedBy::RstByServer
                });
            }
        }
        mode
    }
}

impl Tracker {
    /// The bytes of a data connection in clear, to its file (`--extract`): the
    /// file starts with the first payload and follows that direction; bytes the
    /// capture lacks (gaps, snaplen cuts) become holes at their offset.
    fn extract_event(&mut self, si: usize, ci: usize, ev: &ConnEvent<'_>) {
        let (dir, bytes, missing) = match *ev {
            ConnEvent::Data { dir, bytes } if !bytes.is_empty() => (dir, bytes, 0),
            ConnEvent::Gap { dir, len } | ConnEvent::Cut { dir, len } => (dir, &[][..], len),
            _ => return,
        };
        let Some(xd) = self.cfg.extract.clone() else {
            return;
        };
        let st = &mut self.sessions[si];
        let pl = st.payload.get_or_insert_with(Box::default);
        let at = match pl.extracts.iter().position(|(c, _, _)| *c == ci) {
            Some(i) => i,
            None => match xd.start_typed(
                st.s.data_channels[ci]
                    .transfer_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with('A'))
                    && !matches!(
                        st.s.data_channels[ci].command.as_deref(),
                        Some("LIST" | "NLST" | "MLSD")
                    ),
            ) {
                Ok(f) => {
                    pl.extracts.push((ci, dir, f));
                    pl.extracts.len() - 1
                }
                Err(e) => {
                    let d = xd.dir().display().to_string();
                    let e = e.to_string();
                    let text = tr!(
                        "could not write the transfer's bytes to {d}: {e}",
                        "无法把传输的字节写入 {d}：{e}"
                    );
                    st.s.data_channels[ci].notes.push(text);
                    // Counted from here on; no file.
                    return;
                }
            },
        };
        let (_, fdir, file) = &mut pl.extracts[at];
        if *fdir != dir {
            return;
        }
        if missing > 0 {
            file.gap(missing);
        } else {
            file.data(bytes);
        }
    }

    /// Bytes from the server on a data connection: a listing's, when the command
    /// it answers is LIST, NLST or MLSD.
    fn listing_bytes(&mut self, si: usize, ci: usize, bytes: &[u8]) {
        let st = &mut self.sessions[si];
        let pl = st.payload.get_or_insert_with(Box::default);
        let at = match pl.listings.iter().position(|(c, _)| *c == ci) {
            Some(i) => i,
            None => {
                let verb = match st.s.data_channels[ci].command.as_deref() {
                    Some(v @ ("LIST" | "NLST" | "MLSD")) => v,
                    _ => return,
                };
                pl.listings
                    .push((ci, crate::ftp::listing::ListingParser::new(verb)));
                pl.listings.len() - 1
            }
        };
        pl.listings[at].1.feed(bytes);
    }

    /// The session's listings, parsed; a download of a file an earlier listing
    /// named gets the size it gave as a note (only a note: the listing may have
    /// been of another directory, and TYPE A changes sizes).
    fn listings_finish(st: &mut SessionState) {
        let Some(pl) = st.payload.as_mut() else {
            return;
        };
        for (ci, p) in std::mem::take(&mut pl.listings) {
            let Some(mut l) = p.finish() else { continue };
            // Entries past the session's budget are counted, not kept.
            let room = MAX_SESSION_LISTED.saturating_sub(pl.listed);
            l.entries.truncate(room);
            pl.listed += l.entries.len();
            st.s.data_channels[ci].listing = Some(Box::new(l));
        }
        let n = st.s.data_channels.len();
        for ci in 0..n {
            let ch = &st.s.data_channels[ci];
            if ch.command.as_deref() != Some("RETR") {
                continue;
            }
            let Some(arg) = &ch.arg else { continue };
            let name = extract::last_component(&arg.0);
            let listed = st.s.data_channels[..ci]
                .iter()
                .enumerate()
                .rev()
                .find_map(|(li, c)| {
                    let l = c.listing.as_deref()?;
                    let e = l.entries.iter().find(|e| {
                        e.name == name && e.kind == crate::ftp::listing::EntryKind::File
                    })?;
                    Some((li, e.size?))
                });
            let Some((li, size)) = listed else { continue };
            let (k, verb) = (
                li + 1,
                st.s.data_channels[li].command.clone().unwrap_or_default(),
            );
            let ch = &mut st.s.data_channels[ci];
            ch.notes.push(tr!(
                "listed as {size} bytes by {verb} (data channel #{k})",
                "{verb}（数据通道 #{k}）列出的大小为 {size} 字节"
            ));
        }
    }

    /// Close a finished session's files and name them (`s3-RETR-name`).
    fn extract_finish(st: &mut SessionState) {
        use crate::model::Completeness;
        let extracts = st
            .payload
            .as_mut()
            .map(|p| std::mem::take(&mut p.extracts))
            .unwrap_or_default();
        for (ci, _, file) in extracts {
            let id = st.s.id;
            let ch = &mut st.s.data_channels[ci];
            let verb = ch.command.as_deref().unwrap_or("data");
            // The whole path, its separators made `_` by the sanitiser
            // (`pub/firmware.bin` -> `s3-RETR-pub_firmware.bin`).
            let name = match ch.arg.as_ref().map(|a| extract::path_name(&a.0)) {
                Some(n) if !n.is_empty() => format!("s{id}-{verb}-{n}"),
                _ => format!("s{id}-{verb}-{ci}"),
            };
            let complete = match ch.outcome {
                Outcome::Aborted | Outcome::Failed => Completeness::Aborted,
                Outcome::Reset => Completeness::Reset,
                Outcome::Open => Completeness::Open,
                _ => Completeness::Complete,
            };
            let mut e = file.finish(&name, complete);
            e.offset = st.facts.get(ci).map_or(0, |f| f.restart);
            // Fewer bytes than announced, in a binary transfer that ended well.
            let binary = ch
                .transfer_type
                .as_deref()
                .is_some_and(|t| !t.starts_with('A'))
                || ch.type_per_replies == Some(crate::model::Representation::Binary);
            if e.completeness == Completeness::Complete
                && binary
                && ch.expected_size.is_some_and(|n| e.offset + e.size < n)
            {
                e.completeness = Completeness::Short;
            }
            if e.offset > 0 {
                let o = e.offset;
                ch.notes.push(tr!(
                    "resumed at byte {o} (REST): the extracted file holds the server's file from there on",
                    "从第 {o} 字节处续传（REST）：提取的文件是服务器文件从该处起的内容"
                ));
            } else if ch.command.as_deref() == Some("APPE")
                && let Some(arg) = &ch.arg
                && let Some(&(_, n)) = st.sizes.iter().rev().find(|(f, _)| *f == arg.0)
                && n > 0
            {
                // APPE adds to what the server holds: SIZE said how much that was.
                e.offset = n;
                ch.notes.push(tr!(
                    "appended after the {n} bytes the server held (its SIZE reply): the extracted file is the part from byte {n} on",
                    "追加在服务器已有的 {n} 字节之后（其 SIZE 响应）：提取的文件是从第 {n} 字节起的部分"
                ));
            }
            ch.extracted = Some(Box::new(e));
        }
    }
}

/// A note from the proxy, as a session anomaly.
fn proxy_note(t: &Tr) -> Tr {
    t.map(|s, _| format!("proxy: {s}"))
}

/// A data connection whose handshake is not in the capture.
pub(crate) fn no_handshake_note() -> Tr {
    tr!(
        "no handshake in the capture (it started after the connection opened, or keeps only packets with payload)",
        "抓包中没有握手（抓包开始于连接建立之后，或只保留了带载荷的包）"
    )
}

/// What the reply parser noticed about a reply, as notes.
fn reply_notes(r: &ParsedReply) -> Vec<Tr> {
    let mut notes = Vec::new();
    if let Some(c) = r.flags.end_code_differs {
        let b = r.code;
        notes.push(tr!(
            "multi-line reply began with {b} but ended with {c}",
            "多行响应以 {b} 开始，却以 {c} 结束"
        ));
    }
    if r.flags.missing_space {
        notes.push(tr!("no space after the reply code", "响应码之后没有空格"));
    }
    if r.flags.cut {
        notes.push(tr!(
            "cut short in the capture (snaplen or gap): the rest of the reply is unknown",
            "在抓包中被截断（snaplen 或缺口）：响应的其余部分未知"
        ));
    }
    if r.flags.unterminated && !r.flags.cut {
        notes.push(tr!("multi-line reply never ended", "多行响应始终没有结束"));
    }
    if r.flags.dropped_lines > 0 {
        let n = r.flags.dropped_lines;
        notes.push(tr!("{n} more lines not kept", "另有 {n} 行未保留"));
    }
    if r.flags.long_line {
        notes.push(tr!(
            "a line was longer than 8 KiB and was cut",
            "有一行超过 8 KiB，已被截断"
        ));
    }
    notes
}

/// The byte count a transfer's final reply gives ("226 Transfer complete (39695
/// bytes)", "226 Closing data connection, sent 1,234 bytes"); thousands separators
/// are read only in groups of three.
pub fn bytes_in_226(text: &[u8]) -> Option<u64> {
    let s = crate::text::lossy_str(text).to_ascii_lowercase();
    let i = s.rfind(" bytes")?;
    let head = s[..i].trim_end_matches(' ');
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ','))
        .map_or(0, |(p, c)| p + c.len_utf8());
    let num = &head[start..];
    let groups: Vec<&str> = num.split(',').collect();
    let ok = !groups[0].is_empty()
        && groups[1..].iter().all(|g| g.len() == 3)
        && (groups.len() == 1 || groups[0].len() <= 3);
    if !ok {
        return None;
    }
    groups.concat().parse().ok()
}

/// What a transfer reply says of the representation: "150 Opening BINARY mode data
/// connection" means binary whatever TYPE was (or was not) seen.
pub fn type_in_reply(text: &[u8]) -> Option<Representation> {
    let s = crate::text::lossy_str(text).to_ascii_lowercase();
    // "type i", "type set to i" with the letter a word ("TYPE is now ASCII" is
    // no TYPE I).
    let type_word = |c: char| {
        ["type ", "set to "].iter().any(|p| {
            s.match_indices(p).any(|(i, _)| {
                let mut rest = s[i + p.len()..].chars();
                rest.next() == Some(c) && rest.next().is_none_or(|n| !n.is_ascii_alphanumeric())
            })
        })
    };
    if s.contains("binary") || type_word('i') {
        Some(Representation::Binary)
    } else if s.contains("ascii") || type_word('a') {
        Some(Representation::Ascii)
    } else {
        None
    }
}

/// What the capture covers of a session (see [`Coverage`]).
fn coverage(st: &SessionState, other_conns: u64, other_packets: u64, all: bool) -> Coverage {
    let s = &st.s;
    let data_connections = st.facts.iter().filter(|f| f.attempted).count() as u32;
    let data_handshakes = s.data_channels.iter().filter(|d| d.syns > 0).count() as u32;
    // The first reply in time is the greeting (a client that pipelines its
    // commands before the 220 puts them ahead of it in the exchanges).
    let greeting = s
        .exchanges
        .iter()
        .flat_map(|x| {
            x.replies
                .iter()
                .map(move |r| (r.ts, x.command.is_none(), r.code))
        })
        .min_by_key(|&(ts, ..)| ts)
        .is_some_and(|(_, unsolicited, code)| unsolicited && matches!(code, 220 | 120));
    let login = s
        .exchanges
        .iter()
        .any(|x| matches!(x.verb(), Some("USER" | "PASS")) && x.final_reply().is_some());
    let [client_packets, server_packets] = s.capture.packets;
    let handshake = s.coverage.control_handshake;
    let control_answer = if !handshake {
        ControlAnswer::NotSeen
    } else if st.control_refused || st.control_rejected.is_some() {
        ControlAnswer::Refused
    } else if st.control_accepted || client_packets + server_packets > 0 {
        ControlAnswer::Accepted
    } else {
        ControlAnswer::Unanswered
    };
    let data_visible = if data_connections > 0 {
        DataVisibility::Seen
    } else if all || other_conns > 0 || other_packets > 0 {
        DataVisibility::Likely
    } else {
        DataVisibility::Unknown
    };
    Coverage {
        control_handshake: handshake,
        control_syns: st.control_syns,
        control_answer,
        control_rejected_by: st.control_rejected,
        client_packets,
        server_packets,
        greeting,
        login,
        data_connections,
        data_handshakes,
        other_connections: other_conns,
        other_packets,
        data_visible,
        duplicates: s.coverage.duplicates,
        capture_after: 0.0,
    }
}

pub use crate::ftp::reply::plausible;

/// Is `ip` one of the session's two control addresses?
pub fn is_peer(s: &Session, ip: IpAddr) -> bool {
    s.client.ip() == ip || s.server.ip() == ip
}

pub mod extract;
mod tls;
mod unclaimed;
pub use tls::IMPLICIT_PORT;

#[cfg(test)]
mod tests;
