//! One client session: the control connection relayed line by line.
//!
//! The relay reads both sides in one task. Lines are split as the tracker splits
//! them ([`LineSplitter`], Telnet-aware, 8 KiB); each line is forwarded as the
//! peer sent it (bytes unaltered) unless the proxy must change it:
//!
//! * `PORT`/`EPRT`/`LPRT` from the client: checked (the client's own address,
//!   port 1024 or above, unless `--allow-fxp`; otherwise refused with 504 and
//!   not forwarded), then replaced by the proxy's own address (or by PASV/EPSV
//!   with `--upstream-mode passive`); a line the proxy cannot read exactly is
//!   answered 501 and never forwarded (see [`rewrite`]'s module doc), nor is a
//!   line with a CR/LF hidden from the splitter;
//! * `227`/`229`/`228` from the server: replaced by the proxy's listener (the
//!   reply is held until complete); with `--upstream-mode active` the client's
//!   PASV/EPSV becomes PORT/EPRT upstream and the proxy answers the client;
//! * injected faults: a command answered by the proxy, replies delayed, the
//!   connection closed after N commands;
//! * after `AUTH` the client is not read until the server answers; a `234`
//!   turns the rest of the connection into opaque bytes.
//!
//! Replies the proxy makes up wait their turn: a queue holds, in command order,
//! "forwarded, answer comes from the server" and "answered by the proxy"
//! entries, so pipelined commands get their replies in order.
//!
//! Half-close: EOF from one side is relayed as a shutdown of the other side's
//! write half, and the other direction keeps flowing until its own EOF.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::data::{self, Leg, PairCtl, PairSpec, SessionLink};
use super::observe::{ControlFeed, Ev, NoteTarget, Obs, WireFeed, now};
use super::rewrite::{self, ActiveVerb, PassiveVerb, same_ip};
use super::tls::{self as itls, Conn};
use super::{Ctx, UpstreamMode};
use crate::ftp::command;
use crate::ftp::line::{LineFlags, LineSplitter, MAX_LINE};
use crate::ftp::reply::{ParsedReply, ReplyItem, ReplyParser};
use crate::tcp::Dir;
use crate::time::Ts;

const READ_BUF: usize = 16 * 1024;
/// A reply the proxy must see whole before answering the client (227/229/228,
/// or the answer to a converted PORT/PASV) is held back at most this many
/// lines or bytes; a longer one is relayed unchanged (see `stop_holding`).
const MAX_HELD_LINES: usize = 64;
const MAX_HELD_BYTES: usize = 64 * 1024;

/// Answer a client when `--max-sessions` are busy.
pub(crate) async fn reject_busy(mut sock: TcpStream, max: usize) {
    let line = format!(
        "421 Too many sessions through the ftpscope proxy (--max-sessions {max}); try again later.\r\n"
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = sock.write_all(line.as_bytes()).await;
        let _ = sock.shutdown().await;
    })
    .await;
}

fn oob_inline(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_out_of_band_inline(true);
}

/// What the splitter made of the bytes so far.
enum Piece {
    /// A whole line: the bytes as sent (with CR LF) and the line as the tracker reads it.
    Line {
        raw: Vec<u8>,
        clean: Vec<u8>,
        flags: LineFlags,
    },
    /// Part of an overlong line, relayed as is.
    Partial(Vec<u8>),
}

/// Splits a byte stream into lines the way the tracker does, keeping the raw bytes.
#[derive(Default)]
struct Framer {
    split: LineSplitter,
    raw: Vec<u8>,
}

impl Framer {
    fn next(&mut self, input: &mut &[u8]) -> Option<Piece> {
        while !input.is_empty() {
            let mut got = None;
            let used = self.split.feed_until(input, |l, f| {
                got = Some((l.to_vec(), f));
                false
            });
            self.raw.extend_from_slice(&input[..used]);
            *input = &input[used..];
            if let Some((clean, flags)) = got {
                return Some(Piece::Line {
                    raw: std::mem::take(&mut self.raw),
                    clean,
                    flags,
                });
            }
        }
        if self.raw.len() >= MAX_LINE {
            return Some(Piece::Partial(std::mem::take(&mut self.raw)));
        }
        None
    }

    /// The stream ended: what is left.
    fn finish(&mut self) -> Option<Piece> {
        let rest = self.split.finish();
        let raw = std::mem::take(&mut self.raw);
        match rest {
            Some((clean, flags)) => Some(Piece::Line { raw, clean, flags }),
            None if !raw.is_empty() => Some(Piece::Partial(raw)),
            None => None,
        }
    }

    /// The unfinished line as read so far (Telnet removed).
    fn partial_line(&self) -> &[u8] {
        self.split.partial_line()
    }

    /// Switching to opaque relay: the bytes of an unfinished line.
    fn take_raw(&mut self) -> Vec<u8> {
        self.split = LineSplitter::new();
        std::mem::take(&mut self.raw)
    }
}

/// What a forwarded command's reply needs from the proxy.
enum Kind {
    Plain,
    Auth,
    /// PROT forwarded: P (true) or C; takes effect on a 2xx reply.
    Prot(bool),
    /// Same-mode PORT/EPRT/LPRT sent with the proxy's address: give the pair up on refusal.
    ActiveSent(CancellationToken),
    /// A transfer command that uses a pair: its final 2xx reply waits for the
    /// proxy's connection to an active client (the pair's `client_settled`); an
    /// error reply gives the pair up (`abandon`, without effect once it is connected).
    Transfer {
        settled: CancellationToken,
        abandon: CancellationToken,
        /// Its preliminary (1xx) reply came: the next reply is final.
        started: bool,
    },
    /// PASV/EPSV/LPSV forwarded: rewrite the address for the client.
    Passive(PassiveVerb),
    /// The client's PORT became PASV/EPSV upstream.
    ToPassive {
        client_verb: ActiveVerb,
        client_target: SocketAddr,
        sent: String,
    },
    /// A NOOP the proxy sent during a transfer (`--keepalive`): its reply is
    /// the proxy's, never the client's.
    Keepalive,
    /// The client's PASV became PORT/EPRT upstream; the pair is waiting.
    ToActive {
        client_verb: PassiveVerb,
        reply: String,
        abandon: CancellationToken,
        sent: String,
        /// `--fault-refuse-data`: the address told to the client, whose port is closed.
        refused: Option<SocketAddr>,
    },
}

impl Kind {
    /// The whole reply must be seen before anything goes to the client.
    fn holds(&self) -> bool {
        matches!(
            self,
            Kind::Passive(_) | Kind::ToPassive { .. } | Kind::ToActive { .. } | Kind::Keepalive
        )
    }
}

enum Pending {
    Forwarded(Kind),
    /// A reply the proxy made, waiting for the replies before it.
    Local {
        line: Vec<u8>,
        notes: Vec<String>,
    },
}

/// What became of the pieces of an overlong client line (see `on_client_piece`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Cut {
    /// No piece of the current line went anywhere yet.
    #[default]
    None,
    /// Its pieces were relayed (without hidden line breaks); `secret`: it is a
    /// password line, observed as its verb and `****` once.
    Relayed { secret: bool },
    /// It is a data-address command: its pieces are not forwarded, and its end is answered 501.
    Swallowed,
}

/// Why the relay stopped early.
enum Stop {
    ClientGone,
    ServerGone,
}

enum Flow {
    Go,
    FaultClose,
}

struct Ctl {
    ctx: Arc<Ctx>,
    link: SessionLink,
    feed: ControlFeed,
    client_peer: SocketAddr,
    client_local: SocketAddr,
    server: SocketAddr,
    server_local: SocketAddr,
    cw: WriteHalf<Conn>,
    sw: WriteHalf<Conn>,
    cfr: Framer,
    sfr: Framer,
    replies: ReplyParser,
    pending: VecDeque<Pending>,
    /// Server lines of a reply being held: raw bytes and receive time.
    held: Vec<(Vec<u8>, Ts)>,
    /// The newest announced pair no transfer command used yet.
    current: Option<PairCtl>,
    /// `--fault-refuse-data` with the client active and the server passive (both
    /// legs made by the proxy): the client's data address whose transfer command
    /// the proxy answers 425 itself.
    refused_transfer: Option<SocketAddr>,
    commands: u32,
    /// AUTH sent: the client is not read until the answer.
    auth_wait: bool,
    /// After 234: bytes are relayed without looking.
    opaque: bool,
    /// `--tls-intercept`: a 234 was relayed to the client; both legs turn to TLS
    /// before anything else is read.
    upgrade: bool,
    /// The session's TLS once intercepted (its data connections need it).
    tls: Option<itls::SessionTls>,
    /// PROT P is in force: data connections are TLS on both legs.
    prot_p: bool,
    seen_reply: bool,
    client_backlog: Vec<u8>,
    /// The current overlong client line, if any.
    client_cut: Cut,
    /// Directions that ended (client->server, server->client).
    fin: [bool; 2],
    /// The TLS legs' endings (client's, server's) once intercepted: a peer's
    /// bare FIN is passed on bare (see [`itls::LegEnd`]).
    ends: Option<(itls::LegEnd, itls::LegEnd)>,
    /// `--fault-refuse-data` closed the port the client was told (the channel's
    /// address as the tracker knows it): the client's attempt is shown once it
    /// moves on ([`Ctl::show_refused_attempt`]).
    refused_attempt: Option<SocketAddr>,
    /// When a control byte last went to or came from the server (`--keepalive`).
    upstream_active: tokio::time::Instant,
    /// NOOPs sent by the proxy whose replies have not come yet.
    keepalives: u32,
}

/// Serve one client until its session ends (in the caller's `session` span);
/// errors are `tracing` events, told to the observer with the span's peer.
pub(crate) async fn serve(ctx: Arc<Ctx>, client: TcpStream, peer: SocketAddr) {
    ctx.counters.sessions_total.fetch_add(1, Ordering::Relaxed);
    ctx.counters.sessions_open.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = serve_inner(&ctx, client, peer).await {
        tracing::warn!("{e}");
    }
    ctx.counters.sessions_open.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_inner(ctx: &Arc<Ctx>, client: TcpStream, peer: SocketAddr) -> io::Result<()> {
    let cid = ctx.next_conn();
    let client_local = client.local_addr()?;
    let _ = client.set_nodelay(true);
    oob_inline(&client);
    ctx.obs.always(Obs::Open {
        conn: cid,
        ts: now(),
        initiator: peer,
        responder: ctx.upstream,
        control: None,
    });
    let connect = async {
        let sock = if ctx.upstream.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        sock.connect(ctx.upstream).await
    };
    let server = match tokio::time::timeout(ctx.cfg.connect_timeout, connect).await {
        Ok(Ok(s)) => s,
        failed => {
            let why = match failed {
                Ok(Err(e)) => {
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        ctx.obs.event(cid, Ev::Refused);
                    }
                    e.to_string()
                }
                _ => {
                    ctx.obs.event(cid, Ev::NoAnswer);
                    format!(
                        "no answer within {} s",
                        ctx.cfg.connect_timeout.as_secs_f64()
                    )
                }
            };
            ctx.obs.note(
                cid,
                NoteTarget::Session,
                format!(
                    "could not connect to the upstream server {}: {why}; the client was answered 421",
                    ctx.upstream
                ),
            );
            ctx.obs.closed(cid);
            let mut client = client;
            let line = format!(
                "421 Service not available: the ftpscope proxy cannot reach the server ({why}).\r\n"
            );
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let _ = client.write_all(line.as_bytes()).await;
                let _ = client.shutdown().await;
            })
            .await;
            return Err(io::Error::other(format!(
                "upstream {}: {why}",
                ctx.upstream
            )));
        }
    };
    ctx.obs.event(cid, Ev::Accepted);
    let _ = server.set_nodelay(true);
    oob_inline(&server);
    let server_local = server.local_addr()?;
    let mut session_tls = None;
    let (client, server) = match &ctx.tls {
        Some(it) if it.implicit => {
            match intercept(ctx, it, cid, client, server, client_local.ip(), "implicit").await {
                Some((c, s, st)) => {
                    session_tls = Some(st);
                    (c, s)
                }
                None => {
                    ctx.obs.closed(cid);
                    return Ok(());
                }
            }
        }
        _ => (Conn::Plain(client), Conn::Plain(server)),
    };
    let ends = client.end().zip(server.end());
    let (cr, cw) = tokio::io::split(client);
    let (sr, sw) = tokio::io::split(server);
    let link = SessionLink {
        ctx: ctx.clone(),
        control: cid,
        activity: Arc::new(AtomicU64::new(0)),
        began: Instant::now(),
        pairs: CancellationToken::new(),
        listeners: Arc::default(),
    };
    let ctl = Ctl {
        ctx: ctx.clone(),
        link,
        feed: ControlFeed::new(ctx.obs.clone(), cid),
        client_peer: peer,
        client_local,
        server: ctx.upstream,
        server_local,
        cw,
        sw,
        cfr: Framer::default(),
        sfr: Framer::default(),
        replies: ReplyParser::new(),
        pending: VecDeque::new(),
        held: Vec::new(),
        current: None,
        refused_transfer: None,
        commands: 0,
        auth_wait: false,
        opaque: false,
        upgrade: false,
        prot_p: false,
        tls: session_tls,
        seen_reply: false,
        client_backlog: Vec::new(),
        client_cut: Cut::None,
        fin: [false, false],
        ends,
        refused_attempt: None,
        upstream_active: tokio::time::Instant::now(),
        keepalives: 0,
    };
    ctl.run(cr, sr).await;
    Ok(())
}

/// Intercept the TLS of control connection `cid` (`--tls-intercept`): after
/// the relayed 234 (explicit) or at once (`--implicit`). None when it failed:
/// the reason is a session note, the client was told when its TLS was up, and
/// both connections are closed (dropped).
async fn intercept(
    ctx: &Arc<Ctx>,
    it: &itls::Intercept,
    cid: crate::tcp::ConnId,
    client: TcpStream,
    server: TcpStream,
    facing: IpAddr,
    mode: &'static str,
) -> Option<(Conn, Conn, itls::SessionTls)> {
    let limit = ctx.cfg.connect_timeout;
    // With --record, the client leg's TLS bytes are what the record holds.
    let client = itls::Tapped::new(client, WireFeed::new(&ctx.obs, cid, true));
    match itls::intercept_control(it, client, server, facing, limit, mode).await {
        Ok((c, s, info, st)) => {
            ctx.obs.tls(cid, info);
            if it.insecure {
                ctx.obs.note(
                    cid,
                    NoteTarget::Session,
                    "--upstream-insecure: the server's TLS certificate was not checked",
                );
            }
            Some((c, s, st))
        }
        Err(itls::Failure::Client(why)) => {
            tracing::warn!("TLS interception failed: {why}");
            ctx.obs.tls(cid, failed_info(mode, &why));
            ctx.obs.note(
                cid,
                NoteTarget::Session,
                format!("TLS interception failed on the client's side: {why}"),
            );
            None
        }
        Err(itls::Failure::Upstream { client, why }) => {
            tracing::warn!("TLS interception failed: {why}");
            ctx.obs.tls(cid, failed_info(mode, &why));
            ctx.obs.note(
                cid,
                NoteTarget::Session,
                format!(
                    "the proxy could not make TLS with the server, so it answered the client 421: {why}"
                ),
            );
            let line = format!(
                "421 ftpscope proxy: TLS with the server failed: {}.\r\n",
                why.replace(['\r', '\n'], " ")
            );
            let mut feed = ControlFeed::new(ctx.obs.clone(), cid);
            feed.bytes(
                now(),
                Dir::FromResponder,
                line.clone().into_bytes(),
                vec!["made by the proxy".into()],
            );
            let mut client = *client;
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let _ = client.write_all(line.as_bytes()).await;
                let _ = client.shutdown().await;
                // What the client sends meanwhile (curl's USER) is read and
                // dropped until it closes: closing with it unread would reset
                // the connection before the client reads the 421.
                let mut sink = [0u8; 1024];
                while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
            None
        }
    }
}

/// The TLS facts of a control connection whose interception failed.
fn failed_info(mode: &'static str, why: &str) -> crate::model::tls::TlsInfo {
    crate::model::tls::TlsInfo {
        mode,
        handshake: "failed",
        notes: vec![format!("ftpscope proxy --tls-intercept: {why}")],
        ..Default::default()
    }
}

/// How the relay loop ended.
enum End {
    Done,
    /// TLS interception failed: both sides are closed (the reason is noted).
    Intercept,
    Stopped(Stop),
    Shutdown,
    Idle,
    FaultClose,
}

impl Ctl {
    fn mode(&self) -> UpstreamMode {
        self.ctx.cfg.upstream_mode
    }

    fn client_ip(&self) -> IpAddr {
        self.client_peer.ip()
    }

    /// The address put in passive replies to the client.
    fn announce_ip(&self) -> IpAddr {
        self.ctx
            .cfg
            .announce
            .unwrap_or_else(|| self.client_local.ip().to_canonical())
    }

    fn faults_injected(&self) {
        self.ctx
            .counters
            .faults_injected
            .fetch_add(1, Ordering::Relaxed);
    }

    async fn run(mut self, mut cr: ReadHalf<Conn>, mut sr: ReadHalf<Conn>) {
        let mut cbuf = vec![0u8; READ_BUF];
        let mut sbuf = vec![0u8; READ_BUF];
        let idle = self.ctx.cfg.idle_timeout;
        let shutdown = self.ctx.shutdown.clone();
        let end = loop {
            if self.fin[0] && self.fin[1] {
                break End::Done;
            }
            let wake = tokio::time::Instant::now() + idle.saturating_sub(self.link.idle_for());
            tokio::select! {
                _ = shutdown.cancelled() => break End::Shutdown,
                _ = tokio::time::sleep_until(wake) => {
                    if self.link.idle_for() >= idle {
                        break End::Idle;
                    }
                }
                _ = tokio::time::sleep_until(self.keepalive_due()), if self.keepalive_armed() => {
                    if let Err(s) = self.send_keepalive().await {
                        break End::Stopped(s);
                    }
                }
                r = cr.read(&mut cbuf), if !self.fin[0] && !self.auth_wait => match r {
                    Ok(0) => {
                        if let Err(s) = self.client_eof().await {
                            break End::Stopped(s);
                        }
                    }
                    Ok(n) => {
                        match self.on_client_bytes(&cbuf[..n]).await {
                            Ok(Flow::Go) => {}
                            Ok(Flow::FaultClose) => break End::FaultClose,
                            Err(s) => break End::Stopped(s),
                        }
                    }
                    Err(_) => break End::Stopped(Stop::ClientGone),
                },
                r = sr.read(&mut sbuf), if !self.fin[1] => match r {
                    Ok(0) => {
                        if let Err(s) = self.server_eof().await {
                            break End::Stopped(s);
                        }
                    }
                    Ok(n) => {
                        if let Err(s) = self.on_server_bytes(&sbuf[..n]).await {
                            break End::Stopped(s);
                        }
                        if self.upgrade {
                            self.upgrade = false;
                            if !self.upgrade_tls(&mut cr, &mut sr).await {
                                break End::Intercept;
                            }
                        }
                        if !self.auth_wait && !self.client_backlog.is_empty() && !self.fin[0] {
                            let b = std::mem::take(&mut self.client_backlog);
                            match self.on_client_bytes(&b).await {
                                Ok(Flow::Go) => {}
                                Ok(Flow::FaultClose) => break End::FaultClose,
                                Err(s) => break End::Stopped(s),
                            }
                        }
                    }
                    Err(_) => break End::Stopped(Stop::ServerGone),
                },
            }
        };
        let cid = self.feed.conn;
        match end {
            End::Done => {}
            End::Intercept => {
                self.show_refused_attempt();
                self.link.pairs.cancel();
                self.ctx.obs.closed(cid);
                return;
            }
            End::Stopped(who) => {
                // One side reset (or failed): reset the other too.
                let dir = match who {
                    Stop::ClientGone => Dir::FromInitiator,
                    Stop::ServerGone => Dir::FromResponder,
                };
                self.show_refused_attempt();
                self.ctx.obs.event(cid, Ev::Reset(dir));
                let (c, s) = (cr.unsplit(self.cw), sr.unsplit(self.sw));
                if let (Some(c), Some(s)) = (c.tcp(), s.tcp()) {
                    data::reset(c);
                    data::reset(s);
                }
                self.link.pairs.cancel();
                self.ctx.obs.closed(cid);
                return;
            }
            End::Shutdown => self.link.note(
                NoteTarget::Session,
                "the proxy shut down: it closed both sides of the control connection",
            ),
            End::Idle => self.link.note(
                NoteTarget::Session,
                format!(
                    "the proxy closed the session after {} s without a whole control line or data traffic (--idle-timeout)",
                    idle.as_secs_f64()
                ),
            ),
            End::FaultClose => {
                self.faults_injected();
                self.link.note(
                    NoteTarget::Session,
                    "fault injected: the proxy closed the control connection (--fault-close-after)",
                );
            }
        }
        if !matches!(end, End::Done) {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let _ = self.cw.shutdown().await;
                let _ = self.sw.shutdown().await;
            })
            .await;
            if !self.fin[1] {
                self.ctx.obs.event(cid, Ev::Fin(Dir::FromResponder));
            }
            if !self.fin[0] {
                self.ctx.obs.event(cid, Ev::Fin(Dir::FromInitiator));
            }
        }
        self.show_refused_attempt();
        self.link.pairs.cancel();
        self.ctx.obs.closed(cid);
    }

    /// After the 234: both legs of the control connection turn to TLS
    /// ([`intercept`]). False when the session must end (noted).
    async fn upgrade_tls(&mut self, cr: &mut ReadHalf<Conn>, sr: &mut ReadHalf<Conn>) -> bool {
        let Some(it) = self.ctx.tls.clone() else {
            return false;
        };
        let left =
            self.cfr.take_raw().len() + self.sfr.take_raw().len() + self.client_backlog.len();
        if left > 0 {
            // A peer that sent more after AUTH/234 in clear: not TLS as agreed.
            self.link.note(
                NoteTarget::Session,
                format!("TLS interception refused: {left} bytes came in clear after the 234; the proxy closed the session"),
            );
            return false;
        }
        let (gr, gw) = tokio::io::split(Conn::Gone);
        let client = std::mem::replace(cr, gr).unsplit(std::mem::replace(&mut self.cw, gw));
        let (gr, gw) = tokio::io::split(Conn::Gone);
        let server = std::mem::replace(sr, gr).unsplit(std::mem::replace(&mut self.sw, gw));
        let (Conn::Plain(client), Conn::Plain(server)) = (client, server) else {
            return false;
        };
        let facing = self.client_local.ip();
        match intercept(
            &self.ctx,
            &it,
            self.feed.conn,
            client,
            server,
            facing,
            "explicit",
        )
        .await
        {
            Some((c, s, st)) => {
                self.ends = c.end().zip(s.end());
                let (r, w) = tokio::io::split(c);
                *cr = r;
                self.cw = w;
                let (r, w) = tokio::io::split(s);
                *sr = r;
                self.sw = w;
                self.tls = Some(st);
                self.link.touch();
                true
            }
            None => false,
        }
    }

    /// How the next data connection is relayed: TLS on both legs after PROT P
    /// in an intercepted session, else as bytes.
    fn data_tls(&self) -> data::DataTls {
        match (&self.tls, &self.ctx.tls) {
            (Some(st), Some(it)) if self.prot_p => data::DataTls::Protected {
                session: st.clone(),
                insecure: it.insecure,
            },
            (Some(_), _) => data::DataTls::Clear,
            _ => data::DataTls::Off,
        }
    }

    // ---- writing and observing ----

    async fn send_server(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.upstream_active = tokio::time::Instant::now();
        self.ctx
            .counters
            .control_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // The flush sends what TLS still holds (a no-op on TCP).
        let w = &mut self.sw;
        let r = async { w.write_all(bytes).await.and(w.flush().await) }.await;
        r.map_err(|_| Stop::ServerGone)
    }

    /// A line that starts a reply waits for the delay fault first; returns the
    /// note to attach when it was delayed.
    async fn delay(&mut self, starts: bool) -> Option<String> {
        let d = self.ctx.faults.delay().filter(|_| starts)?;
        self.faults_injected();
        tokio::time::sleep(d).await;
        Some(format!(
            "fault injected: the proxy held this reply back {} ms before passing it to the client (--fault-delay)",
            d.as_millis()
        ))
    }

    async fn send_client(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.ctx
            .counters
            .control_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let w = &mut self.cw;
        let r = async { w.write_all(bytes).await.and(w.flush().await) }.await;
        r.map_err(|_| Stop::ClientGone)
    }

    /// Server (or proxy-made) reply bytes: observed first, so that the tracker
    /// knows an announcement before the data connection it brings, then written.
    async fn relay_to_client(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        starts: bool,
        mut notes: Vec<String>,
    ) -> Result<(), Stop> {
        notes.extend(self.delay(starts).await);
        self.observe_server(ts, raw.clone(), notes);
        self.send_client(&raw).await
    }

    /// A client line for the tracker, and so for `--record` and `--log`
    /// (secrets masked unless asked otherwise, see [`rewrite::secret_start`]).
    fn observe_client(&mut self, ts: Ts, raw: &[u8], clean: &[u8], notes: Vec<String>) {
        let masked = if self.ctx.cfg.show_passwords {
            None
        } else {
            rewrite::masked_line(raw, clean)
        };
        let bytes = masked.unwrap_or_else(|| raw.to_vec());
        self.feed.bytes(ts, Dir::FromInitiator, bytes, notes);
    }

    fn observe_server(&mut self, ts: Ts, raw: Vec<u8>, notes: Vec<String>) {
        self.feed.bytes(ts, Dir::FromResponder, raw, notes);
    }

    /// A reply the proxy makes: now if nothing is waiting, else in its turn.
    async fn local_reply(&mut self, line: String, notes: Vec<String>) -> Result<(), Stop> {
        let mut line = line.into_bytes();
        line.extend_from_slice(b"\r\n");
        if self.pending.is_empty() {
            self.send_local(line, notes).await
        } else {
            self.pending.push_back(Pending::Local { line, notes });
            Ok(())
        }
    }

    async fn send_local(&mut self, line: Vec<u8>, notes: Vec<String>) -> Result<(), Stop> {
        self.relay_to_client(now(), line, true, notes).await
    }

    async fn flush_locals(&mut self) -> Result<(), Stop> {
        while let Some(Pending::Local { .. }) = self.pending.front() {
            if let Some(Pending::Local { line, notes }) = self.pending.pop_front() {
                self.send_local(line, notes).await?;
            }
        }
        Ok(())
    }

    /// A data listener within the session's bound. Pairs given up a moment ago
    /// close their listeners on their own tasks: let them run before refusing.
    async fn bind_listener(&self, ip: IpAddr) -> io::Result<data::DataListener> {
        let mut tries = 0;
        loop {
            match data::bind_listener(&self.link, ip) {
                Err(e) if tries < 20 && data::is_bound_error(&e) => {
                    tries += 1;
                    tokio::task::yield_now().await;
                    if tries > 10 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                r => return r,
            }
        }
    }

    /// A new pair is the one the next transfer command uses: the previous one,
    /// which no transfer command used, is given up (its listener closed), so
    /// pipelined PASV replies do not pile up listeners.
    /// The client's connection to a port `--fault-refuse-data` closed, as the
    /// tracker would see it on the wire: an attempt the system refused. The
    /// refusal is the kernel's, so the proxy never sees the attempt; it is shown
    /// when the client moves on (a new data command, a transfer command, the end
    /// of the session), before that, and is marked as the proxy's fault.
    fn show_refused_attempt(&mut self) {
        let Some(told) = self.refused_attempt.take() else {
            return;
        };
        let conn = self.ctx.next_conn();
        let obs = &self.ctx.obs;
        obs.always(Obs::Open {
            conn,
            ts: now(),
            initiator: SocketAddr::new(self.client_peer.ip(), 0),
            responder: told,
            control: Some(self.feed.conn),
        });
        obs.event(conn, Ev::Refused);
        obs.note(
            self.feed.conn,
            NoteTarget::Conn(conn),
            "fault injected (--fault-refuse-data): the proxy closed the port it announced, so the system refused \
             the client's connection; the proxy cannot see that attempt (its source port is unknown, shown as 0) \
             and shows it when the client moved on",
        );
        obs.closed(conn);
    }

    fn set_current(&mut self, pair: PairCtl) {
        self.show_refused_attempt();
        if let Some(old) = self.current.replace(pair) {
            old.abandon.cancel();
        }
    }

    fn abandon_current(&mut self) {
        self.refused_transfer = None;
        if let Some(p) = self.current.take() {
            p.abandon.cancel();
        }
    }

    /// The data channel note for `--fault-refuse-data` on a closed listener. Made
    /// once the announcement it belongs to was observed, so that it finds it.
    fn note_refused(&self, announced: SocketAddr) {
        self.link.note(
            NoteTarget::Announced(announced),
            "fault injected: the proxy closed its listening port for this data connection, so the connection was refused (--fault-refuse-data)",
        );
    }

    /// Legs for the side the proxy listens on, with the refuse fault applied.
    fn listen_leg(&self, l: data::DataListener, expect: IpAddr, refuse: bool) -> Leg {
        if refuse {
            // Counted here, when it is decided: the pair's task may be given up
            // before it first runs (the client fails and quits at once).
            self.faults_injected();
            drop(l);
            Leg::Closed
        } else {
            Leg::Accept {
                listener: l,
                expect,
            }
        }
    }

    // ---- client side ----

    async fn on_client_bytes(&mut self, chunk: &[u8]) -> Result<Flow, Stop> {
        let ts = now();
        let mut rest = chunk;
        loop {
            if self.opaque {
                let mut b = self.cfr.take_raw();
                b.extend_from_slice(rest);
                if !b.is_empty() {
                    self.link.touch();
                    self.send_server(&b).await?;
                    self.feed.bytes(ts, Dir::FromInitiator, b, Vec::new());
                }
                return Ok(Flow::Go);
            }
            if self.auth_wait {
                self.client_backlog.extend_from_slice(rest);
                return Ok(Flow::Go);
            }
            let piece = self.cfr.next(&mut rest);
            if piece.is_some() {
                self.link.touch();
            }
            match piece {
                Some(Piece::Line { raw, clean, flags }) => {
                    if let Flow::FaultClose = self.on_client_line(ts, raw, clean, flags).await? {
                        return Ok(Flow::FaultClose);
                    }
                }
                Some(Piece::Partial(raw)) => self.on_client_piece(ts, raw).await?,
                None => return Ok(Flow::Go),
            }
        }
    }

    /// A piece of a client line longer than the splitter keeps. A line that
    /// starts as a data-address command is not relayed at all (its end is
    /// answered 501); any other is relayed piece by piece, without CR/LF bytes
    /// (a piece has no line end, so such bytes were hidden from the splitter).
    async fn on_client_piece(&mut self, ts: Ts, raw: Vec<u8>) -> Result<(), Stop> {
        if self.client_cut == Cut::None {
            let address = rewrite::active_verb(self.cfr.partial_line()).is_some()
                || rewrite::active_verb(&raw).is_some();
            let first = self.cfr.partial_line();
            self.client_cut = if address {
                Cut::Swallowed
            } else if let Some(at) =
                rewrite::secret_start(first).filter(|_| !self.ctx.cfg.show_passwords)
            {
                // The secret's first piece: observed once, masked.
                let mut shown = first[..at].to_vec();
                shown.extend_from_slice(b"****");
                self.feed.bytes(ts, Dir::FromInitiator, shown, Vec::new());
                Cut::Relayed { secret: true }
            } else {
                Cut::Relayed { secret: false }
            };
        }
        match self.client_cut {
            Cut::Relayed { secret } => {
                let out = rewrite::without_line_breaks(raw.clone());
                self.send_server(&out).await?;
                if !secret {
                    self.feed.bytes(ts, Dir::FromInitiator, raw, Vec::new());
                }
            }
            Cut::Swallowed => self.feed.bytes(ts, Dir::FromInitiator, raw, Vec::new()),
            Cut::None => {}
        }
        Ok(())
    }

    async fn client_eof(&mut self) -> Result<(), Stop> {
        // Bytes sent after AUTH and before its answer: read as lines like any
        // other (the server is not told of them unchecked).
        self.auth_wait = false;
        if !self.client_backlog.is_empty() {
            let b = std::mem::take(&mut self.client_backlog);
            // A fault close needs no special care here: the client is gone anyway.
            let _ = self.on_client_bytes(&b).await?;
        }
        if !self.opaque {
            match self.cfr.finish() {
                Some(Piece::Line { raw, clean, flags }) => {
                    let _ = self.on_client_line(now(), raw, clean, flags).await?;
                }
                Some(Piece::Partial(raw)) => self.on_client_piece(now(), raw).await?,
                None => {}
            }
        }
        if let Some((c, s)) = &self.ends {
            c.mirror_to(s);
            if let Some(n) = c.notified() {
                self.ctx.obs.tls_closed(self.feed.conn, true, n);
            }
        }
        let _ = self.sw.shutdown().await;
        self.fin[0] = true;
        self.ctx
            .obs
            .event(self.feed.conn, Ev::Fin(Dir::FromInitiator));
        Ok(())
    }

    async fn on_client_line(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        _flags: LineFlags,
    ) -> Result<Flow, Stop> {
        match std::mem::take(&mut self.client_cut) {
            Cut::Swallowed => {
                let reply = rewrite::active_verb(&clean).map_or_else(
                    || "501 Syntax error: line too long (ftpscope proxy).".to_string(),
                    rewrite::unreadable_reply,
                );
                return self.refuse_client_line(ts, raw, clean, reply,
                    "refused by the proxy and not forwarded: a data-address command longer than a control line (possible FTP bounce)".into()).await;
            }
            Cut::Relayed { secret } => {
                // The end of an overlong line whose pieces went on: the same line, so on.
                let out = rewrite::without_hidden_breaks(raw.clone());
                if secret {
                    let end: &[u8] = if raw.ends_with(b"\r\n") {
                        b"\r\n"
                    } else if raw.ends_with(b"\n") {
                        b"\n"
                    } else {
                        b""
                    };
                    self.feed
                        .bytes(ts, Dir::FromInitiator, end.to_vec(), Vec::new());
                } else {
                    self.observe_client(ts, &raw, &clean, Vec::new());
                }
                self.send_server(&out).await?;
                self.pending.push_back(Pending::Forwarded(Kind::Plain));
                return Ok(Flow::Go);
            }
            Cut::None => {}
        }
        if rewrite::hidden_line_break(&raw) {
            return self.refuse_client_line(ts, raw, clean,
                "500 Syntax error: a line break inside a Telnet sequence or a bare CR (ftpscope proxy).".into(),
                "refused by the proxy and not forwarded: the line holds a CR or LF its splitter did not split on (inside a Telnet sequence, or a bare CR); a server that splits there would read a command the proxy never checked".into()).await;
        }
        if clean.is_empty() {
            // Nothing to answer (the tracker notes empty lines itself).
            self.observe_client(ts, &raw, &clean, Vec::new());
            self.send_server(&raw).await?;
            return Ok(Flow::Go);
        }
        let pc = command::parse(&clean);
        self.commands += 1;
        if command::is_transfer(&pc.verb) || pc.verb == "QUIT" {
            self.show_refused_attempt();
        }
        if let Some(n) = self.ctx.faults.close_after() {
            if self.commands > n {
                self.observe_client(ts, &raw, &clean, vec![format!(
                    "fault injected: instead of relaying this command the proxy closed the control connection (--fault-close-after {n})"
                )]);
                return Ok(Flow::FaultClose);
            }
        }
        let armed = self.ctx.faults.take_reply_next();
        if let Some(code) = armed.or_else(|| self.ctx.faults.reply_for(&pc.verb)) {
            self.faults_injected();
            let from = if armed.is_some() {
                "armed from the TUI".to_string()
            } else {
                format!("--fault-reply {}={code}", pc.verb)
            };
            self.observe_client(ts, &raw, &clean, vec![format!(
                "fault injected: not forwarded to the server; the proxy answered {code} ({from})"
            )]);
            if command::is_transfer(&pc.verb) {
                // The server never hears of the transfer: close the waiting data connection.
                if let Some(p) = &self.current {
                    self.link.note(
                        NoteTarget::Announced(p.announced),
                        format!(
                            "fault injected: {} was answered {code} by the proxy and never reached the server, \
                             so the proxy closed this data connection unused ({from})",
                            pc.verb
                        ),
                    );
                }
                self.abandon_current();
            }
            let line = rewrite::fault_reply(code, &pc.verb);
            self.local_reply(line, vec!["made by the proxy (injected fault)".into()])
                .await?;
            return Ok(Flow::Go);
        }
        if command::is_transfer(&pc.verb) {
            if let Some(to) = self.refused_transfer.take() {
                return self.refuse_transfer(ts, raw, clean, to).await;
            }
        }
        if let Some(av) = rewrite::active_verb(&clean).or_else(|| rewrite::active_verb(&raw)) {
            self.on_active(ts, raw, clean, av).await?;
            return Ok(Flow::Go);
        }
        if let Some(pv) = PassiveVerb::parse(&pc.verb, &pc.arg) {
            self.on_passive(ts, raw, clean, pv).await?;
            return Ok(Flow::Go);
        }
        if self.tls.is_some() && matches!(pc.verb.as_str(), "CCC" | "AUTH") {
            // CCC would need the TLS of both legs closed in step; a second AUTH
            // has nothing to start. Neither reaches the server.
            self.observe_client(ts, &raw, &clean, vec![format!(
                "not forwarded: the proxy intercepts this session's TLS (--tls-intercept) and does not support {} inside it",
                pc.verb
            )]);
            let line = if pc.verb == "CCC" {
                "534 CCC is not supported by the ftpscope proxy's TLS interception."
            } else {
                "503 TLS is already in use (ftpscope proxy)."
            };
            self.local_reply(line.into(), vec!["made by the proxy".into()])
                .await?;
            return Ok(Flow::Go);
        }
        if pc.verb == "EPSV" && self.mode() == UpstreamMode::Active {
            // EPSV ALL would forbid the PORT the proxy sends upstream.
            self.observe_client(ts, &raw, &clean, vec![
                "not forwarded: the proxy uses active mode towards the server (--upstream-mode active), which EPSV ALL would forbid".into(),
            ]);
            self.local_reply(
                "200 EPSV ALL command successful.".into(),
                vec!["made by the proxy".into()],
            )
            .await?;
            return Ok(Flow::Go);
        }
        self.observe_client(ts, &raw, &clean, Vec::new());
        self.send_server(&raw).await?;
        let kind = if pc.verb == "AUTH" {
            self.auth_wait = true;
            Kind::Auth
        } else if pc.verb == "PROT" {
            Kind::Prot(pc.arg.trim_ascii().eq_ignore_ascii_case(b"P"))
        } else {
            match self.current.take() {
                Some(p) if command::is_transfer(&pc.verb) => {
                    p.activate.cancel();
                    Kind::Transfer {
                        settled: p.client_settled,
                        abandon: p.abandon,
                        started: false,
                    }
                }
                other => {
                    self.current = other;
                    Kind::Plain
                }
            }
        };
        self.pending.push_back(Pending::Forwarded(kind));
        Ok(Flow::Go)
    }

    async fn on_active(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        av: ActiveVerb,
    ) -> Result<(), Stop> {
        let Some(addr) = av.parse_line(&clean) else {
            // Whatever the mode: a server may read what the proxy cannot (vsftpd
            // takes `PORT 127,0,0,1,30,97,` or `EPRT |1|127.0.0.01|7777|`) and,
            // seeing the proxy as its client, connect anywhere on the proxy's behalf.
            self.refuse_client_line(ts, raw, clean, rewrite::unreadable_reply(av), format!(
                "refused by the proxy and not forwarded: it cannot read this {} address exactly, and forwards only addresses it read and checked (possible FTP bounce, RFC 2577)",
                av.as_str()
            ))
            .await?;
            return Ok(());
        };
        if let Some(why) = rewrite::bounce(addr, self.client_ip()) {
            if !self.ctx.cfg.allow_fxp {
                self.ctx
                    .counters
                    .bounces_refused
                    .fetch_add(1, Ordering::Relaxed);
                self.observe_client(
                    ts,
                    &raw,
                    &clean,
                    vec![format!("refused by the proxy and not forwarded: {why}")],
                );
                self.local_reply(rewrite::bounce_reply(av), vec!["made by the proxy".into()])
                    .await?;
            } else {
                let line = av.command(addr);
                self.observe_client(ts, &raw, &clean, vec![format!(
                    "--allow-fxp: forwarded as `{line}`; the server connects to {addr} directly, not through the proxy"
                )]);
                self.send_server(format!("{line}\r\n").as_bytes()).await?;
                self.pending.push_back(Pending::Forwarded(Kind::Plain));
            }
            return Ok(());
        }
        self.abandon_current();
        match self.mode() {
            UpstreamMode::Same | UpstreamMode::Active => {
                let ip = self.server_local.ip();
                let l = match self.bind_listener(ip).await {
                    Ok(l) => l,
                    Err(e) => return self.cannot_listen(ts, raw, clean, e).await,
                };
                let me = SocketAddr::new(ip, l.local_addr().map(|a| a.port()).unwrap_or(0));
                let up = av.command(me);
                let refuse = self.ctx.faults.take_refuse();
                let spec = PairSpec {
                    client: Leg::Connect {
                        from: self.client_local.ip(),
                        to: addr,
                    },
                    server: self.listen_leg(l, self.server.ip(), refuse),
                    client_told: None,
                    announced: addr,
                    tls: self.data_tls(),
                    drop: !refuse && self.ctx.faults.take_drop(),
                };
                let pair = data::spawn_pair(&self.link, spec);
                let abandon = pair.abandon.clone();
                self.set_current(pair);
                self.observe_client(ts, &raw, &clean, vec![format!(
                    "the proxy sent `{up}` to the server (its own address, so that the server connects to the proxy)"
                )]);
                if refuse {
                    self.note_refused(addr);
                }
                self.send_server(format!("{up}\r\n").as_bytes()).await?;
                self.pending
                    .push_back(Pending::Forwarded(Kind::ActiveSent(abandon)));
            }
            UpstreamMode::Passive => {
                let pv = rewrite::upstream_passive(self.server);
                let sent = pv.as_str().to_string();
                self.observe_client(ts, &raw, &clean, vec![format!(
                    "not forwarded: the proxy sent `{sent}` to the server instead (--upstream-mode passive)"
                )]);
                self.send_server(format!("{sent}\r\n").as_bytes()).await?;
                self.pending.push_back(Pending::Forwarded(Kind::ToPassive {
                    client_verb: av,
                    client_target: addr,
                    sent,
                }));
            }
        }
        Ok(())
    }

    /// A client line the proxy answers itself and does not forward, counted and
    /// noted as a refused bounce attempt.
    async fn refuse_client_line(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        reply: String,
        why: String,
    ) -> Result<Flow, Stop> {
        self.ctx
            .counters
            .bounces_refused
            .fetch_add(1, Ordering::Relaxed);
        self.observe_client(ts, &raw, &clean, vec![why]);
        self.local_reply(reply, vec!["made by the proxy".into()])
            .await?;
        Ok(Flow::Go)
    }

    /// `--fault-refuse-data` when the proxy makes both legs (client active, server
    /// passive): nothing of the proxy listens, so the fault is what a server does
    /// when it cannot connect to an active client: the transfer command is
    /// answered 425 and not forwarded.
    async fn refuse_transfer(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        to: SocketAddr,
    ) -> Result<Flow, Stop> {
        let why = format!(
            "fault injected: the proxy did not connect to the client's data port {to} and answered 425 itself, as a server does when it cannot connect to an active client; the command was not forwarded (--fault-refuse-data)"
        );
        self.observe_client(ts, &raw, &clean, vec![why.clone()]);
        self.link.note(NoteTarget::Announced(to), why);
        self.local_reply(
            "425 Can't open data connection (fault injected by the ftpscope proxy: --fault-refuse-data).".into(),
            vec!["made by the proxy (injected fault)".into()],
        )
        .await?;
        Ok(Flow::Go)
    }

    async fn cannot_listen(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        e: io::Error,
    ) -> Result<(), Stop> {
        self.observe_client(
            ts,
            &raw,
            &clean,
            vec![format!(
                "not forwarded: the proxy cannot open a data port ({e})"
            )],
        );
        self.local_reply(
            format!("425 Can't open data connection (ftpscope proxy: {e})."),
            vec!["made by the proxy".into()],
        )
        .await
    }

    async fn on_passive(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        pv: PassiveVerb,
    ) -> Result<(), Stop> {
        self.abandon_current();
        if self.mode() != UpstreamMode::Active {
            self.observe_client(ts, &raw, &clean, Vec::new());
            self.send_server(&raw).await?;
            self.pending
                .push_back(Pending::Forwarded(Kind::Passive(pv)));
            return Ok(());
        }
        // Upstream active: the server connects to one proxy listener, the client to another.
        let s_ip = self.server_local.ip();
        let c_ip = self.client_local.ip();
        let ls = match self.bind_listener(s_ip).await {
            Ok(l) => l,
            Err(e) => return self.cannot_listen(ts, raw, clean, e).await,
        };
        let lc = match self.bind_listener(c_ip).await {
            Ok(l) => l,
            Err(e) => return self.cannot_listen(ts, raw, clean, e).await,
        };
        let told = SocketAddr::new(
            self.announce_ip(),
            lc.local_addr().map(|a| a.port()).unwrap_or(0),
        );
        let Some(reply) = pv.reply(told) else {
            self.observe_client(ts, &raw, &clean, vec![format!(
                "not forwarded: a 227 reply cannot carry the proxy's IPv6 address {told}; use EPSV"
            )]);
            return self
                .local_reply(
                    "425 Can't announce an IPv6 address in a 227 reply; use EPSV (ftpscope proxy)."
                        .into(),
                    vec!["made by the proxy".into()],
                )
                .await;
        };
        let me = SocketAddr::new(s_ip, ls.local_addr().map(|a| a.port()).unwrap_or(0));
        let up = ActiveVerb::Port.command(me);
        let refuse = self.ctx.faults.take_refuse();
        let spec = PairSpec {
            client: self.listen_leg(lc, self.client_ip(), refuse),
            server: Leg::Accept {
                listener: ls,
                expect: self.server.ip(),
            },
            client_told: Some(told),
            announced: told,
            tls: self.data_tls(),
            drop: !refuse && self.ctx.faults.take_drop(),
        };
        let pair = data::spawn_pair(&self.link, spec);
        let abandon = pair.abandon.clone();
        self.set_current(pair);
        self.observe_client(ts, &raw, &clean, vec![format!(
            "not forwarded: the proxy sent `{up}` to the server instead (--upstream-mode active)"
        )]);
        self.send_server(format!("{up}\r\n").as_bytes()).await?;
        self.pending.push_back(Pending::Forwarded(Kind::ToActive {
            client_verb: pv,
            reply,
            abandon,
            sent: up,
            refused: refuse.then_some(told),
        }));
        Ok(())
    }

    // ---- server side ----

    async fn on_server_bytes(&mut self, chunk: &[u8]) -> Result<(), Stop> {
        self.upstream_active = tokio::time::Instant::now();
        let ts = now();
        let mut rest = chunk;
        loop {
            if self.opaque {
                let mut b = self.sfr.take_raw();
                b.extend_from_slice(rest);
                if !b.is_empty() {
                    self.link.touch();
                    self.send_client(&b).await?;
                    self.feed.bytes(ts, Dir::FromResponder, b, Vec::new());
                }
                return Ok(());
            }
            let piece = self.sfr.next(&mut rest);
            if piece.is_some() {
                self.link.touch();
            }
            match piece {
                Some(Piece::Line { raw, clean, flags }) => {
                    self.on_server_line(ts, raw, clean, flags).await?;
                }
                Some(Piece::Partial(raw)) => {
                    self.release_held().await?;
                    self.relay_to_client(ts, raw, false, Vec::new()).await?;
                }
                None => return Ok(()),
            }
        }
    }

    async fn server_eof(&mut self) -> Result<(), Stop> {
        if !self.opaque {
            if let Some(p) = self.sfr.finish() {
                let raw = match p {
                    Piece::Line { raw, .. } | Piece::Partial(raw) => raw,
                };
                self.held.push((raw, now()));
            }
            self.release_held().await?;
        }
        // The server is gone: whatever the proxy still owes the client goes now.
        while let Some(p) = self.pending.pop_front() {
            if let Pending::Local { line, notes } = p {
                self.send_local(line, notes).await?;
            }
        }
        if let Some((c, s)) = &self.ends {
            s.mirror_to(c);
            if let Some(n) = s.notified() {
                self.ctx.obs.tls_closed(self.feed.conn, false, n);
            }
        }
        let _ = self.cw.shutdown().await;
        self.fin[1] = true;
        self.ctx
            .obs
            .event(self.feed.conn, Ev::Fin(Dir::FromResponder));
        Ok(())
    }

    /// Forward held lines unchanged.
    async fn release_held(&mut self) -> Result<(), Stop> {
        self.relay_held(Vec::new()).await
    }

    /// Relay the held lines of a reply to the client as they came, `notes` on the
    /// first (the tracker sees each line as the client does).
    async fn relay_held(&mut self, mut notes: Vec<String>) -> Result<(), Stop> {
        let held = std::mem::take(&mut self.held);
        for (i, (raw, ts)) in held.into_iter().enumerate() {
            let n = std::mem::take(&mut notes);
            self.relay_to_client(ts, raw, i == 0, n).await?;
        }
        Ok(())
    }

    /// Show the tracker the held lines (not the client: the proxy answers it
    /// itself), `notes` on the first.
    fn observe_held(&mut self, mut notes: Vec<String>) {
        let held = std::mem::take(&mut self.held);
        for (raw, ts) in held {
            let n = std::mem::take(&mut notes);
            self.observe_server(ts, raw, n);
        }
    }

    /// A held reply grew past [`MAX_HELD_LINES`] / [`MAX_HELD_BYTES`] without
    /// ending (a server can make it endless): relay it unchanged from here on, as
    /// a reply the proxy does not rewrite.
    async fn stop_holding(&mut self) -> Result<(), Stop> {
        let what = match self.pending.pop_front() {
            Some(Pending::Forwarded(Kind::Passive(pv))) => pv.as_str().to_string(),
            Some(Pending::Forwarded(Kind::ToPassive { sent, .. })) => sent,
            Some(Pending::Forwarded(Kind::ToActive { abandon, sent, .. })) => {
                abandon.cancel();
                self.current = None;
                sent
            }
            Some(other) => {
                self.pending.push_front(other);
                return self.release_held().await;
            }
            None => return self.release_held().await,
        };
        self.pending.push_front(Pending::Forwarded(Kind::Plain));
        let bytes: usize = self.held.iter().map(|(r, _)| r.len()).sum();
        let note = format!(
            "the reply to `{what}` did not end within {} lines ({bytes} bytes): the proxy stopped holding it \
             and relays it unchanged; its address is not rewritten, so a data connection would not go through the proxy",
            self.held.len()
        );
        self.relay_held(vec![note]).await
    }

    fn front_holds(&self) -> bool {
        matches!(self.pending.front(), Some(Pending::Forwarded(k)) if k.holds())
    }

    async fn on_server_line(
        &mut self,
        ts: Ts,
        raw: Vec<u8>,
        clean: Vec<u8>,
        flags: LineFlags,
    ) -> Result<(), Stop> {
        let starts = !self.replies.in_multiline();
        let item = self.replies.line(&clean, flags);
        if self.seen_reply && (self.front_holds() || self.keepalive_may_answer()) {
            self.held.push((raw, ts));
            match item {
                Some(ReplyItem::Reply(r)) => self.resolve(r).await?,
                Some(ReplyItem::Garbage(_)) => self.release_held().await?,
                _ if self.held.len() > MAX_HELD_LINES
                    || self.held.iter().map(|(r, _)| r.len()).sum::<usize>() > MAX_HELD_BYTES =>
                {
                    self.stop_holding().await?
                }
                _ => {}
            }
            return Ok(());
        }
        if starts {
            self.await_client_data(&clean).await;
        }
        self.relay_to_client(ts, raw, starts, Vec::new()).await?;
        if let Some(ReplyItem::Reply(r)) = item {
            self.reply_done(r.code).await?;
        }
        Ok(())
    }

    /// A transfer's final 2xx reply waits (at most `--connect-timeout`) until the
    /// proxy's connection to an active client is made. The server connected to the
    /// proxy, may send everything and answer 226 before the proxy has connected
    /// onwards; a client that sees the 226 before its data connection gives up
    /// (curl 7.88: "Ctrl conn has data while waiting for data conn", exit 8). A
    /// server in active mode connects before it answers, so the proxy keeps that order.
    async fn await_client_data(&mut self, first_line: &[u8]) {
        let Some(Pending::Forwarded(Kind::Transfer { settled, .. })) = self.pending.front() else {
            return;
        };
        let final_ok = first_line.len() >= 3
            && first_line[0] == b'2'
            && first_line[1..3].iter().all(u8::is_ascii_digit);
        if !final_ok || settled.is_cancelled() {
            return;
        }
        let settled = settled.clone();
        let _ = tokio::time::timeout(self.ctx.cfg.connect_timeout, settled.cancelled()).await;
    }

    /// A whole reply arrived: the front of the queue is answered if it is final.
    async fn reply_done(&mut self, code: u16) -> Result<(), Stop> {
        if !self.seen_reply {
            self.seen_reply = true;
            if matches!(code, 120 | 220) {
                return self.flush_locals().await;
            }
        }
        if code < 200 {
            if let Some(Pending::Forwarded(Kind::Transfer { started, .. })) =
                self.pending.front_mut()
            {
                *started = true;
            }
            return Ok(());
        }
        if let Some(Pending::Forwarded(kind)) = self.pending.front() {
            match kind {
                Kind::Auth => {
                    self.auth_wait = false;
                    if code == 234 {
                        if self.ctx.tls.is_some() && self.tls.is_none() {
                            self.upgrade = true;
                        } else {
                            self.go_opaque();
                        }
                    }
                }
                Kind::Prot(p) if (200..300).contains(&code) => self.prot_p = *p,
                Kind::ActiveSent(abandon) if code >= 400 => abandon.cancel(),
                Kind::Transfer { abandon, .. } if code >= 400 => abandon.cancel(),
                Kind::ToActive { abandon, .. } if code >= 300 => abandon.cancel(),
                _ => {}
            }
            self.pending.pop_front();
        }
        self.flush_locals().await
    }

    fn go_opaque(&mut self) {
        self.opaque = true;
        self.abandon_current();
        self.link.note(
            NoteTarget::Session,
            format!(
                "{}. It can no longer see or rewrite PASV/EPSV/PORT, so this session's data connections do not go \
             through the proxy: in passive mode the client connects to the address in the encrypted 227 \
             (the server's, which it may not reach) or, like curl, to the proxy's address at the server's \
             port, where nothing listens. Test plain FTP through the proxy, or FTPS directly.",
                crate::model::tls::PROXY_OPAQUE_NOTE
            ),
        );
    }

    /// A held reply is complete: rewrite, convert or release it (one handler per
    /// kind of held reply).
    async fn resolve(&mut self, r: ParsedReply) -> Result<(), Stop> {
        let Some(Pending::Forwarded(kind)) = self.pending.pop_front() else {
            return self.release_held().await;
        };
        match kind {
            Kind::Passive(pv) => self.resolve_passive(pv, &r).await,
            Kind::ToPassive {
                client_verb,
                client_target,
                sent,
            } => {
                self.resolve_to_passive(client_verb, client_target, &sent, &r)
                    .await
            }
            Kind::ToActive {
                client_verb,
                reply,
                abandon,
                sent,
                refused,
            } => {
                let made = ToActiveMade {
                    client_verb,
                    reply,
                    abandon,
                    sent,
                    refused,
                };
                self.resolve_to_active(made, &r).await
            }
            Kind::Keepalive => self.swallow_keepalive(&r).await,
            Kind::Transfer {
                settled,
                abandon,
                started,
            } => {
                let kind = Kind::Transfer {
                    settled,
                    abandon,
                    started,
                };
                // Held only because a NOOP of the proxy's is waiting: a server
                // that reads commands during a transfer answers it now (libunftp
                // 200, pure-ftpd 500). After a transfer's 1xx its final reply is
                // never 200 nor a syntax or sequence error (500-503).
                if started && matches!(r.code, 200 | 500..=503) && self.keepalives > 0 {
                    if let Some(i) = self
                        .pending
                        .iter()
                        .position(|p| matches!(p, Pending::Forwarded(Kind::Keepalive)))
                    {
                        self.pending.remove(i);
                        self.pending.push_front(Pending::Forwarded(kind));
                        self.keepalives += 1; // swallow_keepalive counts it off
                        return self.swallow_keepalive(&r).await;
                    }
                }
                self.await_client_data(r.code.to_string().as_bytes()).await;
                self.resolve_as_plain(kind, r.code).await
            }
            other => self.resolve_as_plain(other, r.code).await,
        }
    }

    /// `--keepalive` is on, the session is readable and a transfer command is
    /// waiting for its final reply.
    fn keepalive_armed(&self) -> bool {
        self.ctx.cfg.keepalive.is_some()
            && !self.opaque
            && !self.fin[1]
            && self.keepalives < MAX_KEEPALIVES
            && matches!(
                self.pending.front(),
                Some(Pending::Forwarded(Kind::Transfer { .. }))
            )
    }

    /// When the control connection to the server has been quiet for `--keepalive`.
    fn keepalive_due(&self) -> tokio::time::Instant {
        self.upstream_active + self.ctx.cfg.keepalive.unwrap_or(Duration::from_secs(3600))
    }

    /// A reply now may be the answer to one of the proxy's NOOPs, sent during
    /// the transfer at the front of the queue: it is held until it is whole.
    fn keepalive_may_answer(&self) -> bool {
        self.keepalives > 0
            && matches!(
                self.pending.front(),
                Some(Pending::Forwarded(Kind::Transfer { .. }))
            )
    }

    /// Send NOOP to the server so that the control connection carries traffic
    /// while the data connection works (NAT devices and firewalls drop a
    /// control connection quiet for longer than their idle timeout).
    async fn send_keepalive(&mut self) -> Result<(), Stop> {
        self.send_server(b"NOOP\r\n").await?;
        self.keepalives += 1;
        self.pending.push_back(Pending::Forwarded(Kind::Keepalive));
        Ok(())
    }

    /// The reply to one of the proxy's NOOPs: not relayed, not shown as the
    /// client's dialogue, noted.
    async fn swallow_keepalive(&mut self, r: &ParsedReply) -> Result<(), Stop> {
        self.held.clear();
        self.keepalives = self.keepalives.saturating_sub(1);
        let quiet = self.ctx.cfg.keepalive.unwrap_or_default().as_secs_f64();
        self.link.note(
            NoteTarget::Session,
            format!(
                "--keepalive: the control connection to the server was quiet for {quiet} s during a transfer, \
                 so the proxy sent NOOP; the server answered `{}` (not relayed to the client)",
                first_line(r)
            ),
        );
        self.flush_locals().await
    }

    /// The reply goes to the client unchanged, as the answer to `kind`.
    async fn resolve_as_plain(&mut self, kind: Kind, code: u16) -> Result<(), Stop> {
        self.pending.push_front(Pending::Forwarded(kind));
        self.release_held().await?;
        self.reply_done(code).await
    }

    /// Where the proxy connects for an address the server announced: that
    /// address when it is the server's own, else the server's address at the
    /// announced port (with a note).
    fn server_target(&self, addr: SocketAddr, notes: &mut Vec<String>) -> SocketAddr {
        let server_ip = self.server.ip();
        if same_ip(addr.ip(), server_ip) {
            addr
        } else {
            let t = SocketAddr::new(server_ip, addr.port());
            notes.push(format!(
                "the server announced {addr}, not its own address {server_ip}: the proxy connects to {t} instead"
            ));
            t
        }
    }

    /// The server's answer to the PASV/EPSV/LPSV the client sent: the client is
    /// told the proxy's listener instead, and a pair waits for both.
    async fn resolve_passive(&mut self, pv: PassiveVerb, r: &ParsedReply) -> Result<(), Stop> {
        let code = r.code;
        let addr = (code == pv.code())
            .then(|| rewrite::passive_reply_address(code, &r.text(), self.server.ip()))
            .flatten();
        let Some(addr) = addr else {
            return self.resolve_as_plain(Kind::Plain, code).await;
        };
        let mut notes = Vec::new();
        let target = self.server_target(addr, &mut notes);
        let c_ip = self.client_local.ip();
        let mut refuse = false;
        let line = match self.bind_listener(c_ip).await {
            Ok(l) => {
                let told = SocketAddr::new(
                    self.announce_ip(),
                    l.local_addr().map(|a| a.port()).unwrap_or(0),
                );
                match pv.reply(told) {
                    Some(line) => {
                        refuse = self.ctx.faults.take_refuse();
                        let spec = PairSpec {
                            client: self.listen_leg(l, self.client_ip(), refuse),
                            server: Leg::Connect {
                                from: self.server_local.ip(),
                                to: target,
                            },
                            client_told: None,
                            announced: addr,
                            tls: self.data_tls(),                            drop: !refuse && self.ctx.faults.take_drop(),
                        };
                        self.set_current(data::spawn_pair(&self.link, spec));
                        line
                    }
                    None => "425 Can't announce an IPv6 address in a 227 reply; use EPSV (ftpscope proxy).".to_string(),
                }
            }
            Err(e) => format!("425 Can't open data connection (ftpscope proxy: {e})."),
        };
        notes.push(format!("the proxy sent `{line}` to the client instead"));
        let mut out = line.into_bytes();
        out.extend_from_slice(b"\r\n");
        notes.extend(self.delay(true).await);
        // The tracker sees the server's own reply (with the notes) first.
        self.observe_held(notes);
        if refuse {
            self.note_refused(addr);
            self.refused_attempt = Some(addr);
        }
        self.send_client(&out).await?;
        self.flush_locals().await
    }

    /// The server's answer to the PASV/EPSV the proxy sent for the client's
    /// PORT/EPRT/LPRT: the client gets its 200 from the proxy, which connects to
    /// both sides when the transfer starts; a refusal goes to the client.
    async fn resolve_to_passive(
        &mut self,
        client_verb: ActiveVerb,
        client_target: SocketAddr,
        sent: &str,
        r: &ParsedReply,
    ) -> Result<(), Stop> {
        let code = r.code;
        let addr = matches!(code, 227..=229)
            .then(|| rewrite::passive_reply_address(code, &r.text(), self.server.ip()))
            .flatten();
        let Some(addr) = addr else {
            // The client gets the server's refusal as the answer to its PORT.
            let note = format!(
                "the server's answer to the `{sent}` the proxy sent for this {}",
                client_verb.as_str()
            );
            self.relay_held(vec![note]).await?;
            return self.flush_locals().await;
        };
        self.held.clear();
        let mut notes = vec![format!(
            "made by the proxy: it sent `{sent}` to the server, which answered `{}`; the proxy connects to both sides when the transfer starts",
            first_line(r)
        )];
        let target = self.server_target(addr, &mut notes);
        if self.ctx.faults.take_refuse() {
            // No pair: the transfer command will be answered 425 (refuse_transfer).
            self.faults_injected();
            self.refused_transfer = Some(client_target);
        } else {
            let spec = PairSpec {
                client: Leg::Connect {
                    from: self.client_local.ip(),
                    to: client_target,
                },
                server: Leg::Connect {
                    from: self.server_local.ip(),
                    to: target,
                },
                client_told: None,
                announced: client_target,
                tls: self.data_tls(),
                drop: self.ctx.faults.take_drop(),
            };
            self.set_current(data::spawn_pair(&self.link, spec));
        }
        let mut out = client_verb.ok_reply().into_bytes();
        out.extend_from_slice(b"\r\n");
        self.send_local(out, notes).await?;
        self.flush_locals().await
    }

    /// The server's answer to the PORT/EPRT the proxy sent for the client's PASV:
    /// on 2xx the client gets the proxy's own passive reply; otherwise the pair is
    /// given up and the refusal goes to the client.
    async fn resolve_to_active(&mut self, m: ToActiveMade, r: &ParsedReply) -> Result<(), Stop> {
        if (200..300).contains(&r.code) {
            self.held.clear();
            let notes = vec![format!(
                "made by the proxy: it sent `{}` to the server, which answered `{}`",
                m.sent,
                first_line(r)
            )];
            let mut out = m.reply.into_bytes();
            out.extend_from_slice(b"\r\n");
            self.send_local(out, notes).await?;
            if let Some(told) = m.refused {
                self.note_refused(told);
                self.refused_attempt = Some(told);
            }
        } else {
            m.abandon.cancel();
            self.current = None;
            let note = format!(
                "the server's answer to the `{}` the proxy sent for this {}",
                m.sent,
                m.client_verb.as_str()
            );
            self.relay_held(vec![note]).await?;
        }
        self.flush_locals().await
    }
}

/// NOOPs of `--keepalive` waiting for replies at most (a server that answers
/// none during a long transfer gets no more than this many).
const MAX_KEEPALIVES: u32 = 64;

/// What [`Kind::ToActive`] holds, for its handler.
struct ToActiveMade {
    client_verb: PassiveVerb,
    reply: String,
    abandon: CancellationToken,
    sent: String,
    refused: Option<SocketAddr>,
}

/// A reply's first line, escaped, for a note.
fn first_line(r: &ParsedReply) -> String {
    r.lines
        .first()
        .map(|l| crate::text::escape(l))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(chunks: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        for c in chunks {
            let mut rest = *c;
            while let Some(p) = f.next(&mut rest) {
                match p {
                    Piece::Line { raw, clean, .. } => out.push((raw, clean)),
                    Piece::Partial(raw) => out.push((raw, b"<partial>".to_vec())),
                }
            }
        }
        if let Some(Piece::Line { raw, clean, .. }) = f.finish() {
            out.push((raw, clean));
        }
        out
    }

    #[test]
    fn framer_keeps_raw_bytes() {
        let out = pieces(&[
            b"US",
            b"ER a\r\nPASS b\r\n\xff\xf4\xff\xf2AB",
            b"OR\r\nNOOP",
        ]);
        assert_eq!(out[0], (b"USER a\r\n".to_vec(), b"USER a".to_vec()));
        assert_eq!(out[1].1, b"PASS b");
        assert_eq!(out[2].0, b"\xff\xf4\xff\xf2ABOR\r\n".to_vec());
        assert_eq!(out[2].1, b"ABOR");
        assert_eq!(out[3], (b"NOOP".to_vec(), b"NOOP".to_vec()));
    }

    #[test]
    fn framer_bounds_long_lines() {
        let big = vec![b'x'; MAX_LINE * 3];
        let out = pieces(&[&big, b"\r\n"]);
        let total: usize = out.iter().map(|(r, _)| r.len()).sum();
        assert_eq!(total, MAX_LINE * 3 + 2);
        assert!(
            out.iter()
                .all(|(r, _)| r.len() <= READ_BUF.max(MAX_LINE * 3))
        );
        assert_eq!(out.last().unwrap().1.len(), MAX_LINE);
    }
}
