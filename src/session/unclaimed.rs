//! Data connections no announcement in the capture claims.
//!
//! Two shapes are common in real captures and were silent before:
//!
//! * The capture began during a transfer. The data connection is already running
//!   (no handshake), and its control connection, idle while the file moves, shows
//!   up only with the `226` at the end, or not at all. Its PASV or PORT was before
//!   the capture, so nothing announces it. Such a connection between the two
//!   peers of a session also seen mid-way is that session's data connection:
//!   it is matched by its peers ([`Via::Unseen`], [`MatchKind::Timing`]), and a
//!   final reply with no command waiting (the `226`) is its transfer's.
//! * The capture holds an active-mode data connection (from port 20, RFC 959
//!   §3.2) and no control connection at all (a filter on the data port, a
//!   capture point the control connection does not cross). It is reported at the
//!   capture level ([`LoneDataConn`], the `data-without-control` finding): what it
//!   carried and how it ended.
//!
//! A candidate not claimed at once is counted (never stored) until a session
//! between its peers appears or the input ends; at most [`MAX_UNCLAIMED`] are
//! held, closed ones giving way first.

use std::net::IpAddr;

use super::{DataFacts, Role, Tracker, no_handshake_note};
use crate::model::{
    DataChannel, DataMode, EndedBy, IcmpRejection, LoneDataConn, MAX_LONE_DATA_NAMED, MatchKind,
    Outcome, TcpFigures, Via,
};
use crate::tcp::{ConnEvent, ConnId, ConnInfo, Dir, Meta, Mode};
use crate::time::Ts;

/// Candidate data connections held while nothing claims them.
pub const MAX_UNCLAIMED: usize = 1024;

/// What is known of a connection no session claimed yet.
#[derive(Debug)]
pub(super) struct Unclaimed {
    info: ConnInfo,
    first: Meta,
    last: Ts,
    /// Payload bytes by direction ([`Dir::idx`]).
    bytes: [u64; 2],
    first_byte: Option<Ts>,
    last_byte: Option<Ts>,
    fin_from: [bool; 2],
    fins: u8,
    reset_from: Option<Dir>,
    gaps: u64,
    closed: bool,
    /// Its handshake answered (SYN-ACK), refused (RST), rejected by ICMP, in the
    /// capture.
    accepted: bool,
    refused: bool,
    rejected: Option<IcmpRejection>,
    figures: Option<Box<TcpFigures>>,
}

/// The unclaimed connections, and the sessions seen mid-way that may claim them.
#[derive(Debug, Default)]
pub(super) struct UnclaimedTable {
    conns: rustc_hash::FxHashMap<ConnId, Unclaimed>,
    /// The held connections by their two addresses (the smaller first).
    by_peers: rustc_hash::FxHashMap<(IpAddr, IpAddr), Vec<ConnId>>,
    /// How many of the held connections are closed (those give way first).
    closed: usize,
    /// Open sessions whose control connection began before the capture, by their
    /// two addresses (the smaller first).
    mid_sessions: rustc_hash::FxHashMap<(IpAddr, IpAddr), Vec<usize>>,
    /// Port-20 connections never claimed (the first few), and their count.
    lone: Vec<LoneDataConn>,
    lone_total: u64,
    /// The two addresses of every session so far (at most [`MAX_SESSION_PEERS`]):
    /// a port-20 connection between the hosts of a session has its control
    /// connection in the capture (its PORT lost, unreadable or rewritten), and is
    /// not reported as without one.
    session_peers: rustc_hash::FxHashSet<(IpAddr, IpAddr)>,
    /// The servers of those sessions: a port-20 connection from one of them to a
    /// third host (FXP, a bounce) has its control connection in the capture too.
    session_servers: rustc_hash::FxHashSet<IpAddr>,
    /// More sessions than that: no connection is reported as without one.
    session_peers_full: bool,
    /// Control connections first seen without payload (idle when the capture
    /// began), not a session yet: one becomes a session when it carries bytes or
    /// when a candidate between its two hosts appears; otherwise it is forgotten.
    bare: rustc_hash::FxHashMap<ConnId, Bare>,
    bare_by_peers: rustc_hash::FxHashMap<(IpAddr, IpAddr), Vec<ConnId>>,
}

/// A connection waiting for its first bytes (content detection): what is known.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sniffed {
    pub info: ConnInfo,
    pub opened: Meta,
    /// Its handshake answered (SYN-ACK), or rejected by ICMP, while it waited.
    pub accepted: bool,
    pub rejected: Option<IcmpRejection>,
}

/// Idle control connections held (see [`UnclaimedTable::bare`]).
pub const MAX_BARE: usize = 1024;
/// Closing packets remembered of an idle control connection before it is a session.
const MAX_BARE_EVENTS: usize = 4;

/// A control connection seen only without payload so far.
#[derive(Debug)]
pub(super) struct Bare {
    info: ConnInfo,
    client_is_initiator: bool,
    first: Meta,
    /// Its FINs and resets (`true`: a reset), in order.
    events: Vec<(Meta, Dir, bool)>,
}

/// Host pairs of sessions remembered (see [`UnclaimedTable::session_peers`]).
const MAX_SESSION_PEERS: usize = 1 << 16;

fn peers(a: IpAddr, b: IpAddr) -> (IpAddr, IpAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Take `x` out of the list of host pair `key`, and the list when it is empty.
fn unlist<T: PartialEq + Copy>(
    lists: &mut rustc_hash::FxHashMap<(IpAddr, IpAddr), Vec<T>>,
    key: (IpAddr, IpAddr),
    x: T,
) {
    if let Some(v) = lists.get_mut(&key) {
        v.retain(|&y| y != x);
        if v.is_empty() {
            lists.remove(&key);
        }
    }
}

/// A port an FTP server's active-mode data connections come from.
fn is_active_port(p: u16) -> bool {
    p == 20
}

/// May this connection be an FTP data connection that nothing announced? One from
/// port 20 to an unprivileged port (active mode), or one already running when the
/// capture began between two unprivileged ports (a passive port and a client's).
fn candidate(info: &ConnInfo) -> bool {
    let (a, b) = (info.initiator.port(), info.responder.port());
    (is_active_port(a) && b >= 1024)
        || (is_active_port(b) && a >= 1024 && !info.handshake_seen)
        || (!info.handshake_seen && a >= 1024 && b >= 1024)
}

/// Seconds after a control-connection gap during which a data connection opened
/// between the session's hosts that nothing announced is taken as the one whose
/// announcement the gap held (a client connects within a round trip or two).
const GAP_CLAIM_SECS: f64 = 10.0;

/// Gaps of one session after which waiting connections are looked for.
const MAX_GAP_SCANS: u8 = 64;

/// Session `st` lost control bytes at most [`GAP_CLAIM_SECS`] before `at`, and
/// announced nothing since.
fn after_gap(st: &super::SessionState, at: Ts) -> bool {
    st.last_gap.is_some_and(|g| {
        g <= at
            && g.secs_until(at) <= GAP_CLAIM_SECS
            && st
                .s
                .data_channels
                .iter()
                .all(|d| d.via == Via::Unseen || d.announced_at < g)
    })
}

/// A connection opened in the capture between two unprivileged ports: the data
/// connection of a session seen mid-way whose announcement came just before the
/// capture began. Claimed at once by such a session; held (see
/// [`Tracker::hold_unclaimed`]) only in the capture's first [`EARLY_SECS`]: such
/// connections are everywhere.
fn opened_here(info: &ConnInfo) -> bool {
    info.handshake_seen && info.initiator.port() >= 1024 && info.responder.port() >= 1024
}

/// Connections waiting for content detection looked through when a session seen
/// mid-way appears (more: none is, a scan per session would cost too much).
const MAX_SNIFF_SCAN: usize = 256;

/// Seconds from the first connection of the capture during which a connection
/// opened between unprivileged ports is held for a session to claim.
const EARLY_SECS: f64 = 5.0;

/// The port-20 side of a candidate, if it has one.
fn active_side(info: &ConnInfo) -> Option<std::net::SocketAddr> {
    [info.initiator, info.responder]
        .into_iter()
        .find(|a| is_active_port(a.port()))
}

impl Tracker {
    /// A control connection (to or from a control port) first seen by a packet
    /// without payload: the capture began while it was idle, as during a long
    /// transfer. It becomes a session when it carries bytes, or when a data
    /// connection between its two hosts that nothing announced is there to claim.
    pub(super) fn bare_control_open(&mut self, meta: Meta, info: &ConnInfo) -> Option<Mode> {
        let ports = &self.cfg.ftp_ports;
        let client_is_initiator = if ports.contains(&info.responder.port()) {
            true
        } else if ports.contains(&info.initiator.port()) {
            false
        } else {
            return None;
        };
        let t = &mut self.unclaimed;
        if t.bare.len() >= MAX_BARE {
            return None;
        }
        let key = peers(info.initiator.ip(), info.responder.ip());
        t.bare.insert(
            info.id,
            Bare {
                info: *info,
                client_is_initiator,
                first: meta,
                events: Vec::new(),
            },
        );
        t.bare_by_peers.entry(key).or_default().push(info.id);
        self.conns.insert(info.id, Role::Bare);
        if self.unclaimed.by_peers.contains_key(&key) {
            self.promote_bare(info.id);
        }
        Some(Mode::Stream)
    }

    /// An event on an idle control connection: bytes make it a session; a FIN or
    /// reset is remembered for when it becomes one.
    pub(super) fn bare_event(&mut self, meta: Meta, conn: ConnId, ev: ConnEvent<'_>) {
        let (dir, reset) = match ev {
            ConnEvent::Data { .. } | ConnEvent::Gap { .. } | ConnEvent::Cut { .. } => {
                if let Some(si) = self.promote_bare(conn) {
                    let cii = match self.conns.get(&conn) {
                        Some(&Role::Control {
                            client_is_initiator,
                            ..
                        }) => client_is_initiator,
                        _ => return,
                    };
                    self.control_event(meta, si, super::client_dir(cii), ev);
                }
                return;
            }
            ConnEvent::Fin { dir } => (dir, false),
            ConnEvent::Reset { dir } => (dir, true),
            _ => return,
        };
        if let Some(b) = self.unclaimed.bare.get_mut(&conn) {
            if b.events.len() < MAX_BARE_EVENTS {
                b.events.push((meta, dir, reset));
            }
        }
    }

    /// An idle control connection closed before it became a session: forgotten.
    pub(super) fn bare_closed(&mut self, conn: ConnId) {
        self.unclaimed.forget_bare(conn);
    }

    /// The idle control connection `conn` becomes a session seen mid-way (which
    /// claims the candidates between its hosts).
    fn promote_bare(&mut self, conn: ConnId) -> Option<usize> {
        let b = self.unclaimed.forget_bare(conn)?;
        let (client, server) = if b.client_is_initiator {
            (b.info.initiator, b.info.responder)
        } else {
            (b.info.responder, b.info.initiator)
        };
        let si = self.new_session(
            b.first,
            conn,
            client,
            server,
            false,
            crate::model::DetectedBy::Port,
        );
        self.conns.insert(
            conn,
            Role::Control {
                session: si,
                client_is_initiator: b.client_is_initiator,
            },
        );
        let cd = super::client_dir(b.client_is_initiator);
        for (meta, dir, reset) in b.events {
            let ev = if reset {
                ConnEvent::Reset { dir }
            } else {
                ConnEvent::Fin { dir }
            };
            self.control_event(meta, si, cd, ev);
        }
        Some(si)
    }

    /// A new session between `client` and `server`.
    pub(super) fn session_peers(&mut self, client: IpAddr, server: IpAddr) {
        let t = &mut self.unclaimed;
        if t.session_peers.len() < MAX_SESSION_PEERS {
            t.session_peers.insert(peers(client, server));
            t.session_servers.insert(server);
        } else {
            t.session_peers_full = true;
        }
    }

    /// A session whose control connection began before the capture: it may claim
    /// the data connections already running between its peers.
    pub(super) fn mid_session_opened(&mut self, si: usize) {
        let s = &self.sessions[si].s;
        let key = peers(s.client.ip(), s.server.ip());
        self.sessions[si].claimer = true;
        self.unclaimed.mid_sessions.entry(key).or_default().push(si);
        let first_open = self.first_open;
        self.claim_waiting(si, |info, opened| {
            candidate(info)
                || opened_here(info)
                    && first_open.is_some_and(|t| t.secs_until(opened.ts) <= EARLY_SECS)
        });
    }

    /// Session `si` takes the connections between its hosts that wait for a
    /// claim (held, or still waiting for content detection) and `takes` accepts,
    /// in the order they were seen.
    fn claim_waiting(&mut self, si: usize, takes: impl Fn(&ConnInfo, &Meta) -> bool) {
        let s = &self.sessions[si].s;
        let key = peers(s.client.ip(), s.server.ip());
        let server = s.server;
        // Another connection to the control port is no data connection.
        let data = |i: &ConnInfo| i.responder != server && i.initiator != server;
        let mut mine: Vec<Unclaimed> = Vec::new();
        if let Some(ids) = self.unclaimed.by_peers.get(&key) {
            let ids: Vec<ConnId> = ids
                .iter()
                .copied()
                .filter(|id| {
                    self.unclaimed
                        .conns
                        .get(id)
                        .is_some_and(|u| data(&u.info) && takes(&u.info, &u.first))
                })
                .collect();
            mine.extend(ids.into_iter().filter_map(|id| self.unclaimed.take(id)));
        }
        // Connections that carried nothing yet (still waiting for content
        // detection's first bytes).
        if !self.sniffing.is_empty() && self.sniffing.len() <= MAX_SNIFF_SCAN {
            let waiting: Vec<Sniffed> = self
                .sniffing
                .values()
                .filter(|w| {
                    let i = &w.info;
                    peers(i.initiator.ip(), i.responder.ip()) == key
                        && data(i)
                        && takes(i, &w.opened)
                })
                .copied()
                .collect();
            for w in waiting {
                self.sniffing.remove(&w.info.id);
                mine.push(Unclaimed::waited(w));
            }
        }
        mine.sort_by_key(|u| u.first.frame);
        for u in mine {
            self.claim(si, u);
        }
    }

    /// Session `si` lost control-connection bytes in a gap: from now on it may
    /// claim a data connection opened soon after such a gap that nothing announced
    /// (its PASV, EPSV, PORT or 227 in the hole).
    pub(super) fn claimer_after_gap(&mut self, si: usize, at: Ts) {
        let st = &mut self.sessions[si];
        if !st.claimer {
            st.claimer = true;
            let key = peers(st.s.client.ip(), st.s.server.ip());
            self.unclaimed.mid_sessions.entry(key).or_default().push(si);
        }
        if st.gap_scans >= MAX_GAP_SCANS {
            return;
        }
        st.gap_scans += 1;
        // A connection opened shortly before the gap came to light (the client
        // connects on the 227 at once, and its next command, which reveals the
        // hole, follows), after the session's last announcement.
        let last_announced = self.sessions[si]
            .s
            .data_channels
            .iter()
            .filter(|d| d.via != Via::Unseen)
            .map(|d| d.announced_at)
            .max();
        self.claim_waiting(si, |info, opened| {
            opened_here(info)
                && opened.ts <= at
                && opened.ts.secs_until(at) <= GAP_CLAIM_SECS
                && last_announced.is_none_or(|a| a <= opened.ts)
        });
    }

    /// Session `si` ends: it claims no more connections.
    pub(super) fn mid_session_ended(&mut self, si: usize) {
        if self.unclaimed.mid_sessions.is_empty() {
            return;
        }
        let s = &self.sessions[si].s;
        let key = peers(s.client.ip(), s.server.ip());
        unlist(&mut self.unclaimed.mid_sessions, key, si);
    }

    /// A new connection nothing announced: claimed by an open session seen mid-way
    /// between its peers, or held as a candidate (`None`: not a candidate, or no
    /// room; the caller decides).
    pub(super) fn unclaimed_open(&mut self, meta: Meta, info: &ConnInfo) -> Option<Mode> {
        // A connection opened in the capture between two unprivileged ports: the
        // data connection of a session seen mid-way whose announcement came just
        // before the capture began (claimed at once, never held: such connections
        // are everywhere).
        if !candidate(info) && !opened_here(info) {
            return None;
        }
        let key = peers(info.initiator.ip(), info.responder.ip());
        // An idle control connection between the same hosts: the session it
        // belongs to claims this connection.
        if let Some(&bare) = self
            .unclaimed
            .bare_by_peers
            .get(&key)
            .and_then(|v| v.last())
        {
            self.promote_bare(bare);
        }
        let claimer = self.unclaimed.mid_sessions.get(&key).and_then(|v| {
            v.iter().rev().copied().find(|&si| {
                self.sessions.contains(si) && {
                    let st = &self.sessions[si];
                    let s = &st.s;
                    let fits = if info.handshake_seen {
                        // Opened in the capture: only while a session seen mid-way
                        // has announced nothing in it (a connection after an
                        // announcement it does not match is no data connection of
                        // a lost one), or soon after a gap that may hold its
                        // announcement.
                        (s.capture.mid_session
                            && s.data_channels.iter().all(|d| d.via == Via::Unseen))
                            || after_gap(st, meta.ts)
                    } else {
                        s.capture.mid_session
                    };
                    fits && info.responder != s.server
                        && info.initiator != s.server
                        && st.text_bytes <= super::MAX_SESSION_WEIGHT
                }
            })
        });
        let u = Unclaimed::new(*info, meta);
        if let Some(si) = claimer {
            self.claim(si, u);
            return Some(Mode::Count);
        }
        None
    }

    /// Hold a candidate nothing claims yet, counted from here on (`false`: not a
    /// candidate, or no room).
    pub(super) fn hold_unclaimed(&mut self, meta: Meta, info: &ConnInfo) -> bool {
        // Opened in the capture's first seconds: its control connection, seen
        // mid-way, may show only after it (a PASV answered just before the
        // capture began, the connection made at once, the transfer command next).
        // Or between the hosts of a session: its announcement may be in a gap
        // that shows only with the client's next command.
        let early = opened_here(info)
            && (self
                .first_open
                .is_some_and(|t| t.secs_until(meta.ts) <= EARLY_SECS)
                || self
                    .unclaimed
                    .session_peers
                    .contains(&peers(info.initiator.ip(), info.responder.ip())));
        if !candidate(info) && !early {
            return false;
        }
        if self.unclaimed.conns.len() >= MAX_UNCLAIMED {
            // Closed candidates give way (port-20 ones are reported), an eighth
            // of the table at least, so a sweep's cost is shared by as many new
            // ones; with fewer closed, the new one is not held (a flood of
            // connections costs no scan per connection).
            if self.unclaimed.closed < MAX_UNCLAIMED / 8 {
                return false;
            }
            let closed: Vec<ConnId> = self
                .unclaimed
                .conns
                .iter()
                .filter(|(_, u)| u.closed)
                .map(|(&id, _)| id)
                .collect();
            for id in closed {
                if let Some(u) = self.unclaimed.take(id) {
                    self.unclaimed.report_lone(u);
                }
            }
        }
        let key = peers(info.initiator.ip(), info.responder.ip());
        self.unclaimed
            .by_peers
            .entry(key)
            .or_default()
            .push(info.id);
        self.unclaimed
            .conns
            .insert(info.id, Unclaimed::new(*info, meta));
        self.conns.insert(info.id, Role::Unclaimed);
        true
    }

    /// Hold a connection that waited for content detection and ended before a
    /// byte (`false`: not a candidate, or no room).
    pub(super) fn hold_waiting(&mut self, w: Sniffed) -> bool {
        if !self.hold_unclaimed(w.opened, &w.info) {
            return false;
        }
        if let Some(u) = self.unclaimed.conns.get_mut(&w.info.id) {
            u.accepted = w.accepted;
            u.rejected = w.rejected;
        }
        true
    }

    /// An event on a held candidate.
    pub(super) fn unclaimed_event(&mut self, meta: Meta, conn: ConnId, ev: &ConnEvent<'_>) {
        let Some(u) = self.unclaimed.conns.get_mut(&conn) else {
            return;
        };
        u.last = u.last.max(meta.ts);
        let len = match *ev {
            ConnEvent::Data { dir, bytes } => Some((dir, bytes.len() as u64)),
            ConnEvent::Count { dir, len } | ConnEvent::Cut { dir, len } => Some((dir, len)),
            ConnEvent::Gap { dir, len } => {
                u.gaps += len;
                Some((dir, len))
            }
            ConnEvent::Fin { dir } => {
                u.fins = u.fins.saturating_add(1);
                u.fin_from[dir.idx()] = true;
                None
            }
            ConnEvent::Reset { dir } => {
                u.reset_from.get_or_insert(dir);
                None
            }
            ConnEvent::Accepted => {
                u.accepted = true;
                None
            }
            ConnEvent::Refused => {
                u.refused = true;
                None
            }
            ConnEvent::Unreachable(r) if !u.accepted => {
                u.rejected.get_or_insert(r);
                None
            }
            _ => None,
        };
        if let Some((dir, len)) = len.filter(|&(_, l)| l > 0) {
            u.bytes[dir.idx()] += len;
            u.first_byte.get_or_insert(meta.ts);
            u.last_byte = Some(meta.ts);
        }
    }

    pub(super) fn unclaimed_figures(&mut self, conn: ConnId, figures: TcpFigures) {
        if let Some(u) = self.unclaimed.conns.get_mut(&conn) {
            u.figures = Some(Box::new(figures));
        }
    }

    pub(super) fn unclaimed_closed(&mut self, conn: ConnId) {
        if let Some(u) = self.unclaimed.conns.get_mut(&conn) {
            if !u.closed {
                u.closed = true;
                self.unclaimed.closed += 1;
            }
        }
    }

    /// End of input: port-20 candidates nothing claimed are reported.
    pub(super) fn unclaimed_finish(&mut self) {
        let mut left: Vec<Unclaimed> = self.unclaimed.conns.drain().map(|(_, u)| u).collect();
        self.unclaimed.by_peers.clear();
        self.unclaimed.closed = 0;
        left.sort_by_key(|u| u.first.frame);
        for u in left {
            self.unclaimed.report_lone(u);
        }
    }

    /// Port-20 data connections no control connection claimed: the first
    /// [`MAX_LONE_DATA_NAMED`], in the order they were reported, and the count.
    pub fn data_without_control(&self) -> (Vec<LoneDataConn>, u64) {
        let mut v = self.unclaimed.lone.clone();
        v.sort_by_key(|l| l.frame);
        (v, self.unclaimed.lone_total)
    }

    /// Session `si` takes `u` as a data channel matched by its peers.
    fn claim(&mut self, si: usize, u: Unclaimed) {
        let st = &mut self.sessions[si];
        let (client, server) = (st.s.client, st.s.server);
        let info = u.info;
        // Which end is the client's, as the flow table saw the connection.
        let client_is_initiator = if info.initiator.ip() != info.responder.ip() {
            info.initiator.ip() == client.ip()
        } else {
            !is_active_port(info.initiator.port())
        };
        let (client_end, server_end) = if client_is_initiator {
            (info.initiator, info.responder)
        } else {
            (info.responder, info.initiator)
        };
        // Who opened it tells when the capture holds its handshake: the server in
        // active mode. Otherwise the server's port does (20, or the control port
        // minus one, RFC 959), else passive is taken and said.
        let active = if info.handshake_seen && info.initiator.ip() != info.responder.ip() {
            !client_is_initiator
        } else {
            is_active_port(server_end.port())
                || server_end.port().checked_add(1) == Some(server.port())
        };
        let (mode, connector, listener) = if active {
            (DataMode::Active, server_end, client_end)
        } else {
            (DataMode::Passive, client_end, server_end)
        };
        let cd = super::client_dir(client_is_initiator);
        let (to_server, to_client) = (u.bytes[cd.idx()], u.bytes[cd.other().idx()]);
        let mut notes = vec![if st.s.capture.mid_session {
            crate::tr!(
                "no announcement in the capture matches it (it was made before the capture began): matched by its peers, a connection between the two control peers",
                "抓包中没有与之对应的通告（通告在抓包开始之前）：按两端匹配，即两个控制连接端点之间的连接"
            )
        } else {
            crate::tr!(
                "no announcement in the capture matches it (it was in bytes of the control connection the capture lost): matched by its peers, a connection between the two control peers opened soon after the gap",
                "抓包中没有与之对应的通告（它在抓包丢失的控制连接字节中）：按两端匹配，即缺口之后不久两个控制连接端点之间建立的连接"
            )
        }];
        if !info.handshake_seen {
            notes.push(no_handshake_note());
            if !active {
                notes.push(crate::tr!(
                    "which side opened it is not in the capture: taken as passive mode (the client connecting to the server)",
                    "抓包中看不出是哪一端发起的连接：按被动模式处理（客户端连接服务器）"
                ));
            }
        }
        let ci = st.s.data_channels.len();
        let mut ch = DataChannel {
            outcome: Outcome::Open,
            connector: Some(connector),
            listener: Some(listener),
            match_kind: Some(MatchKind::Timing),
            syns: u32::from(info.handshake_seen),
            start: Some(u.first.ts),
            end: Some(u.last.max(u.first.ts)),
            frame_syn: Some(u.first.frame),
            bytes_to_server: to_server,
            bytes_to_client: to_client,
            bytes: to_server + to_client,
            first_byte: u.first_byte,
            last_byte: u.last_byte,
            notes,
            conn: Some(info.id),
            ..DataChannel::announced(
                Via::Unseen,
                mode,
                None,
                st.s.exchanges.len().saturating_sub(1),
                u.first.ts,
                u.first.frame,
            )
        };
        if let Some(r) = u.rejected {
            ch.frame_answer = Some(r.frame);
            ch.rejected_by = Some(r);
        }
        if let Some(mut f) = u.figures {
            if !client_is_initiator {
                f.swap_sides();
            }
            ch.tcp = Some(f);
        }
        let mut fin_from = [false; 2];
        fin_from[0] = u.fin_from[cd.idx()];
        fin_from[1] = u.fin_from[cd.other().idx()];
        st.s.data_channels.push(ch);
        st.facts.push(DataFacts {
            attempted: true,
            // Opened in the capture: its handshake's answer says (it may still
            // come, as an event on the channel).
            established: !info.handshake_seen || u.accepted || u.bytes != [0, 0],
            refused: u.refused || u.rejected.is_some(),
            fins: u.fins,
            fin_from,
            reset_by: u.reset_from.map(|d| {
                if d == cd {
                    EndedBy::RstByClient
                } else {
                    EndedBy::RstByServer
                }
            }),
            gaps: u.gaps,
            closed: u.closed,
            ..DataFacts::default()
        });
        if u.closed {
            self.conns.remove(&info.id);
        } else {
            st.open_data += 1;
            self.conns.insert(
                info.id,
                Role::Data {
                    session: si,
                    channel: ci,
                    client_is_initiator,
                },
            );
        }
        self.count_text(
            si,
            std::mem::size_of::<DataChannel>() + std::mem::size_of::<DataFacts>() + 256,
        );
        // A transfer command in the capture still waiting for its end (its PASV or
        // PORT was before the capture) is this connection's.
        // Among the newest exchanges only (a flood of connections costs no scan of
        // a long transcript each).
        let st = &self.sessions[si];
        let n = st.s.exchanges.len();
        if let Some(te) = (n.saturating_sub(16)..n).rev().find(|&e| {
            let x = &st.s.exchanges[e];
            x.data_channel.is_none()
                && x.final_reply().is_none()
                && x.command
                    .as_ref()
                    .is_some_and(crate::model::Command::is_transfer)
        }) {
            self.link_transfer(si, te);
        }
    }
}

impl Unclaimed {
    /// A connection that waited for content detection, with what it learnt.
    fn waited(w: Sniffed) -> Self {
        let mut u = Unclaimed::new(w.info, w.opened);
        u.accepted = w.accepted;
        u.rejected = w.rejected;
        u
    }

    fn new(info: ConnInfo, first: Meta) -> Self {
        Unclaimed {
            info,
            first,
            last: first.ts,
            bytes: [0; 2],
            first_byte: None,
            last_byte: None,
            fin_from: [false; 2],
            fins: 0,
            reset_from: None,
            gaps: 0,
            closed: false,
            accepted: false,
            refused: false,
            rejected: None,
            figures: None,
        }
    }
}

impl UnclaimedTable {
    fn forget_bare(&mut self, conn: ConnId) -> Option<Bare> {
        let b = self.bare.remove(&conn)?;
        let key = peers(b.info.initiator.ip(), b.info.responder.ip());
        unlist(&mut self.bare_by_peers, key, conn);
        Some(b)
    }

    /// Connections held now.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.conns.len()
    }

    /// Stop holding `id` (claimed, or given way).
    fn take(&mut self, id: ConnId) -> Option<Unclaimed> {
        let u = self.conns.remove(&id)?;
        if u.closed {
            self.closed -= 1;
        }
        let key = peers(u.info.initiator.ip(), u.info.responder.ip());
        unlist(&mut self.by_peers, key, id);
        Some(u)
    }

    /// A candidate nothing claimed: reported when it came from port 20.
    fn report_lone(&mut self, u: Unclaimed) {
        let Some(server) = active_side(&u.info) else {
            return;
        };
        let key = peers(u.info.initiator.ip(), u.info.responder.ip());
        if self.session_peers_full
            || self.session_peers.contains(&key)
            || self.session_servers.contains(&server.ip())
        {
            // Its control connection is in the capture.
            return;
        }
        let client = if u.info.initiator == server {
            u.info.responder
        } else {
            u.info.initiator
        };
        let server_dir = if u.info.initiator == server {
            Dir::FromInitiator
        } else {
            Dir::FromResponder
        };
        self.lone_total += 1;
        if self.lone.len() >= MAX_LONE_DATA_NAMED {
            return;
        }
        let zero_windows = u.figures.as_ref().map_or(0, |f| f.zero_window.episodes);
        self.lone.push(LoneDataConn {
            server,
            client,
            start: u.first.ts,
            end: u.last,
            frame: u.first.frame,
            handshake: u.info.handshake_seen,
            bytes_to_server: u.bytes[server_dir.other().idx()],
            bytes_to_client: u.bytes[server_dir.idx()],
            missing_bytes: u.gaps,
            ended_by: match u.reset_from {
                Some(d) if d == server_dir => Some(EndedBy::RstByServer),
                Some(_) => Some(EndedBy::RstByClient),
                None if u.fins > 0 => Some(EndedBy::Fin),
                None => None,
            },
            zero_windows,
        });
    }
}
