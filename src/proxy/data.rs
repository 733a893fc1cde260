//! Data connections through the proxy: a pair of legs (the client's side and the
//! server's side), each either a listener of the proxy that accepts only the
//! expected peer, or a connection the proxy makes; once both are up, bytes are
//! relayed unaltered in both directions with half-close.
//!
//! When legs are made:
//! * a listening leg waits from the announcement on (until the pair is abandoned
//!   by a newer announcement or the end of the session, or the idle timeout);
//! * a connecting leg connects when the other leg's peer has connected (the
//!   proxy connects onwards as a router would), or, when both legs connect
//!   (client active, server passive), when the transfer command is sent.
//!
//! The pair is reported to the tracker as one logical connection (see the
//! module doc of [`crate::proxy`]): its initiator is the peer that connected to
//! the proxy (or the proxy itself towards an active client when both legs
//! connect), its responder the address the announcement named.
//!
//! A connection from any other address than the expected peer's is reset at once
//! and noted (port theft). Listener ports are random within `--data-ports`.
//!
//! Bounds: a session holds at most [`MAX_SESSION_LISTENERS`] listening data
//! sockets at once and the whole proxy [`MAX_LISTENERS`]; past either, the
//! announcement is answered 425. A new announcement abandons the pair of the
//! previous one, and a transfer command answered with an error abandons its
//! pair, so a client that never connects (or pipelines thousands of PASV) holds
//! no more than that.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing::instrument::WithSubscriber as _;

use super::Ctx;
use super::observe::{DataFeed, Ev, NoteTarget, Obs, WireFeed, now};
use super::rewrite::same_ip;
use crate::tcp::{ConnId, Dir};

/// Relay buffer (or pipe) per direction.
pub const RELAY_BUF: usize = 256 * 1024;
/// Socket buffers of established data connections.
const SOCKET_BUF: usize = 2 << 20;

/// One side of a data connection.
pub enum Leg {
    /// The proxy listens; only `expect` may connect.
    Accept {
        listener: DataListener,
        expect: IpAddr,
    },
    /// The proxy connects from `from` (its address facing that peer) to `to`.
    Connect { from: IpAddr, to: SocketAddr },
    /// Fault: the listener was closed at once, so the peer's connection is refused.
    Closed,
}

/// What a data pair needs to know about its session.
#[derive(Clone)]
pub struct SessionLink {
    pub ctx: Arc<Ctx>,
    pub control: ConnId,
    /// Last control or data activity, in ms since the session began.
    pub activity: Arc<AtomicU64>,
    pub began: Instant,
    /// Cancelled when the session ends: pairs not yet connected give up.
    pub pairs: CancellationToken,
    /// Listening data sockets this session holds.
    pub listeners: Arc<AtomicUsize>,
}

impl SessionLink {
    pub fn touch(&self) {
        self.activity
            .store(self.began.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    pub fn idle_for(&self) -> Duration {
        let last = self.activity.load(Ordering::Relaxed);
        let now_ms = self.began.elapsed().as_millis() as u64;
        Duration::from_millis(now_ms.saturating_sub(last))
    }
    pub fn note(&self, target: NoteTarget, text: impl Into<String>) {
        self.ctx.obs.note(self.control, target, text);
    }
}

/// A data pair to start.
pub struct PairSpec {
    pub client: Leg,
    pub server: Leg,
    /// The responder of the logical connection when the client connects to a
    /// proxy listener that stands for no server address (client passive, server
    /// active): the address the client was told.
    pub client_told: Option<SocketAddr>,
    /// The channel's address as the tracker knows it (for notes).
    pub announced: SocketAddr,
    /// Fault: reset both sides once connected.
    pub drop: bool,
    /// TLS on the legs (`--tls-intercept`).
    pub tls: DataTls,
}

/// How a data connection of an intercepted session is relayed.
pub enum DataTls {
    /// No interception: bytes as they come (TLS or not, the proxy does not look).
    Off,
    /// An intercepted session under PROT C: in clear, said so to the tracker.
    Clear,
    /// PROT P: TLS on both legs, relayed as plaintext (see [`super::tls`]).
    Protected {
        session: super::tls::SessionTls,
        insecure: bool,
    },
}

/// The control session's grip on a pair.
pub struct PairCtl {
    /// Cancel to say the transfer command was sent.
    pub activate: CancellationToken,
    /// Cancel to give the pair up (only effective before it is connected).
    pub abandon: CancellationToken,
    /// Cancelled once the proxy's connection to an active client is made (or
    /// failed, or will never be tried); at once when the client connects to the
    /// proxy. Until then the transfer's final reply is held back (see
    /// `control`), as a server in active mode connects before it answers 226.
    pub client_settled: CancellationToken,
    /// The address announced to the client for this pair (where its notes go).
    pub announced: SocketAddr,
}

/// Listening data sockets one session may hold at once (a pair needs one, or
/// two when the client is passive and the server active).
pub const MAX_SESSION_LISTENERS: usize = 4;
/// Listening data sockets the whole proxy may hold at once.
pub const MAX_LISTENERS: usize = 512;

/// A data listener that counts against its session's and the proxy's bounds
/// for as long as it exists.
pub struct DataListener {
    listener: TcpListener,
    _slot: ListenerSlot,
}

impl std::ops::Deref for DataListener {
    type Target = TcpListener;
    fn deref(&self) -> &TcpListener {
        &self.listener
    }
}

struct ListenerSlot {
    session: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

impl ListenerSlot {
    fn take(session: &Arc<AtomicUsize>, total: &Arc<AtomicUsize>) -> io::Result<Self> {
        let up = |c: &AtomicUsize, max: usize| {
            c.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
        };
        if !up(session, MAX_SESSION_LISTENERS) {
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!("this session already holds {MAX_SESSION_LISTENERS} listening data ports"),
            ));
        }
        if !up(total, MAX_LISTENERS) {
            session.fetch_sub(1, Ordering::AcqRel);
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!("the proxy already holds {MAX_LISTENERS} listening data ports"),
            ));
        }
        Ok(ListenerSlot {
            session: session.clone(),
            total: total.clone(),
        })
    }
}

impl Drop for ListenerSlot {
    fn drop(&mut self) {
        self.session.fetch_sub(1, Ordering::AcqRel);
        self.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The error of [`bind_listener`] when a listener bound is reached.
pub fn is_bound_error(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::QuotaExceeded
}

/// Bind a data listener for `link`'s session on `ip`, at a random free port of
/// `--data-ports` (or any free port), within the listener bounds.
pub fn bind_listener(link: &SessionLink, ip: IpAddr) -> io::Result<DataListener> {
    let slot = ListenerSlot::take(&link.listeners, &link.ctx.listeners)?;
    let listener = bind_port(&link.ctx, ip, link.ctx.cfg.data_ports)?;
    Ok(DataListener {
        listener,
        _slot: slot,
    })
}

fn bind_port(ctx: &Ctx, ip: IpAddr, range: Option<(u16, u16)>) -> io::Result<TcpListener> {
    let bind = |port: u16| -> io::Result<TcpListener> {
        let l = std::net::TcpListener::bind(SocketAddr::new(ip, port))?;
        l.set_nonblocking(true)?;
        TcpListener::from_std(l)
    };
    let Some((lo, hi)) = range else {
        return bind(0);
    };
    let n = u32::from(hi - lo) + 1;
    let start = (ctx.random() % u64::from(n)) as u32;
    let mut last = None;
    for i in 0..n {
        let port = lo + ((start + i) % n) as u16;
        match bind(port) {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no data port free")))
}

/// Make the coming close send RST instead of FIN.
pub fn reset(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
}

fn socket_for(from: IpAddr, to: SocketAddr) -> io::Result<TcpSocket> {
    let sock = if to.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Leave the source address to the kernel when the families differ.
    if from.is_ipv4() == to.is_ipv4() {
        sock.bind(SocketAddr::new(from, 0))?;
    }
    Ok(sock)
}

async fn connect_sock(sock: TcpSocket, to: SocketAddr, limit: Duration) -> io::Result<TcpStream> {
    match tokio::time::timeout(limit, sock.connect(to)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs_f64()),
        )),
    }
}

/// The logical connection as the tracker sees it.
struct Logical<'a> {
    link: &'a SessionLink,
    conn: ConnId,
    opened: bool,
    /// Recorded as it travelled on the client's leg (`--record` of a PROT P
    /// connection the proxy intercepts, see [`super::observe::WireFeed`]).
    wire: bool,
}

impl Logical<'_> {
    /// A client that connected to the proxy's `local` address: where the
    /// record shows it connected when the connection is recorded as it
    /// travelled (the announcement the record holds is the one the client
    /// read, naming the proxy's address).
    fn client_connected_to(&self, local: io::Result<SocketAddr>) {
        if let (true, Ok(local)) = (self.wire, local) {
            self.link.ctx.obs.always(Obs::LegAddress {
                conn: self.conn,
                responder: local,
            });
        }
    }
    fn open(&mut self, initiator: SocketAddr, responder: SocketAddr) {
        self.link.ctx.obs.always(Obs::Open {
            conn: self.conn,
            ts: now(),
            initiator,
            responder,
            control: Some(self.link.control),
        });
        self.link
            .ctx
            .counters
            .data_connections
            .fetch_add(1, Ordering::Relaxed);
        self.opened = true;
    }
    fn ev(&self, ev: Ev) {
        if self.opened {
            self.link.ctx.obs.event(self.conn, ev);
        }
    }
    fn note(&self, text: impl Into<String>) {
        self.link.note(NoteTarget::Conn(self.conn), text);
    }
    /// A note that is also an operational warning: told to the user at once, in
    /// the task's `data connection` span (inside the session's: the client's peer).
    fn warn(&self, text: String) {
        tracing::warn!("{text}");
        self.note(text);
    }
    fn close(&mut self) {
        if self.opened {
            self.link.ctx.obs.closed(self.conn);
            self.opened = false;
        }
    }
}

/// Accept on `l` until the expected peer comes; others are reset and noted.
async fn accept_from(
    l: &TcpListener,
    expect: IpAddr,
    link: &SessionLink,
    announced: SocketAddr,
    side: &str,
) -> io::Result<(TcpStream, SocketAddr)> {
    loop {
        let (s, peer) = l.accept().await?;
        if same_ip(peer.ip(), expect) {
            let _ = s.set_nodelay(true);
            return Ok((s, peer));
        }
        reset(&s);
        drop(s);
        link.ctx
            .counters
            .thefts_refused
            .fetch_add(1, Ordering::Relaxed);
        let here = l.local_addr().map_or("?".into(), |a| a.to_string());
        link.note(
            NoteTarget::Announced(announced),
            format!(
                "proxy refused (reset) a data connection from {peer} to {here}: only the {side} ({expect}) may connect there (port theft?)"
            ),
        );
    }
}

fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ConnectionRefused
}

/// Start a pair; the returned handle activates or abandons it.
pub fn spawn_pair(link: &SessionLink, mut spec: PairSpec) -> PairCtl {
    let ctl = PairCtl {
        activate: CancellationToken::new(),
        abandon: link.pairs.child_token(),
        client_settled: CancellationToken::new(),
        announced: spec.announced,
    };
    if !matches!(spec.client, Leg::Connect { .. }) {
        // The client connects to the proxy itself: it orders that against the replies.
        ctl.client_settled.cancel();
    }
    let activate = ctl.activate.clone();
    let abandon = ctl.abandon.clone();
    let settled = ctl.client_settled.clone();
    let link = link.clone();
    let tasks = link.ctx.tasks.clone();
    // A child of the session's span (the current one): its messages name both.
    let span = tracing::info_span!("data connection", at = %spec.announced);
    let task = async move {
        // However the pair ends, nothing waits for it any longer.
        let _settled = settled.clone().drop_guard();
        let conn = link.ctx.next_conn();
        let mut lg = Logical {
            link: &link,
            conn,
            opened: false,
            wire: link.ctx.obs.record_wire && matches!(spec.tls, DataTls::Protected { .. }),
        };
        let shutdown = link.ctx.shutdown.clone();
        let wait = link.ctx.cfg.idle_timeout;
        let drop_it = spec.drop;
        let announced = spec.announced;
        let tls = std::mem::replace(&mut spec.tls, DataTls::Off);
        let est = tokio::select! {
            r = establish(&mut lg, spec, &activate, &settled) => r,
            _ = abandon.cancelled() => None,
            _ = shutdown.cancelled() => None,
            _ = tokio::time::sleep(wait) => {
                link.note(NoteTarget::Announced(announced), format!(
                    "proxy gave this data connection up: not connected within {} s (--idle-timeout)",
                    wait.as_secs()
                ));
                None
            }
        };
        let Some(p) = est else {
            lg.close();
            return;
        };
        if drop_it {
            link.ctx
                .counters
                .faults_injected
                .fetch_add(1, Ordering::Relaxed);
            lg.note("fault injected: the proxy reset this data connection as soon as both sides were connected (--fault-drop-data)");
            reset(&p.client);
            reset(&p.server);
            let server_dir = if p.client_is_initiator {
                Dir::FromResponder
            } else {
                Dir::FromInitiator
            };
            lg.ev(Ev::Reset(server_dir));
            lg.close();
            return;
        }
        match tls {
            DataTls::Off => relay(&mut lg, p, &activate, &abandon).await,
            DataTls::Clear => {
                link.ctx.obs.tls(lg.conn, super::tls::clear_info());
                relay(&mut lg, p, &activate, &abandon).await;
            }
            DataTls::Protected { session, insecure } => {
                let limit = link.ctx.cfg.connect_timeout;
                let feed = WireFeed::new(&link.ctx.obs, lg.conn, p.client_is_initiator);
                let client = super::tls::Tapped::new(p.client, feed);
                match super::tls::intercept_data(&session, client, p.server, limit, insecure).await
                {
                    Ok(legs) => {
                        link.ctx.obs.tls(lg.conn, legs.info.clone());
                        relay_tls(&mut lg, legs, p.client_is_initiator, &activate, &abandon).await;
                    }
                    Err(why) => {
                        // Both sockets are dropped: the peers see the connection close.
                        lg.note(format!(
                            "ftpscope proxy --tls-intercept: {why}; the proxy closed both sides"
                        ));
                        link.ctx
                            .obs
                            .tls(lg.conn, super::tls::failed_data_info(&why));
                        let (c2s, s2c) = if p.client_is_initiator {
                            (Dir::FromInitiator, Dir::FromResponder)
                        } else {
                            (Dir::FromResponder, Dir::FromInitiator)
                        };
                        lg.ev(Ev::Fin(s2c));
                        lg.ev(Ev::Fin(c2s));
                    }
                }
            }
        }
        lg.close();
    };
    tasks.spawn(task.instrument(span).with_current_subscriber());
    ctl
}

struct Established {
    client: TcpStream,
    server: TcpStream,
    client_is_initiator: bool,
}

/// Connect both peers of a data pair as `spec` says: one case per pair of legs
/// (a fault, one peer connecting then the other connected to, both connecting,
/// both connected to). None when the pair is given up (the reason is noted).
async fn establish(
    lg: &mut Logical<'_>,
    spec: PairSpec,
    activate: &CancellationToken,
    settled: &CancellationToken,
) -> Option<Established> {
    let ann = spec.announced;
    match (spec.client, spec.server) {
        (Leg::Closed, server) => {
            // The note is the control task's: it makes it once the announcement
            // is observed, so that the note finds its channel; so is the count
            // (`Ctl::listen_leg`).
            if let Leg::Accept { listener, expect } = server {
                // Client passive, server active: only the port the client was told
                // is closed. The server may connect as usual (some connect right
                // after PORT and would answer it 425 otherwise); its connection is
                // held until the pair is given up.
                let held = accept_from(&listener, expect, lg.link, ann, "server").await;
                std::future::pending::<()>().await;
                drop(held);
            }
            None
        }
        (_, Leg::Closed) => None,
        // Client passive: the client connects, then the proxy connects to the server.
        (Leg::Accept { listener, expect }, Leg::Connect { from, to }) => {
            let first = Side::Client;
            accept_then_connect(lg, (listener, expect), (from, to), first, ann, settled).await
        }
        // Client active: the server connects, then the proxy connects to the client.
        (Leg::Connect { from, to }, Leg::Accept { listener, expect }) => {
            let first = Side::Server;
            accept_then_connect(lg, (listener, expect), (from, to), first, ann, settled).await
        }
        (
            Leg::Accept {
                listener: lc,
                expect: ec,
            },
            Leg::Accept {
                listener: ls,
                expect: es,
            },
        ) => {
            let told = spec.client_told.unwrap_or(ann);
            accept_both(lg, (lc, ec), (ls, es), told, ann).await
        }
        (Leg::Connect { from: fc, to: tc }, Leg::Connect { from: fs, to: ts }) => {
            connect_both(lg, (fc, tc), (fs, ts), activate, settled).await
        }
    }
}

/// A peer of a data pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// One peer (`first`) connects to the proxy's listener, then the proxy connects
/// to the other at `to`: the logical connection runs from the first peer to `to`.
/// When the proxy cannot connect, the first peer's connection is reset (and
/// noted). With the server first (client active), `settled` is cancelled once the
/// connection to the client is tried.
async fn accept_then_connect(
    lg: &mut Logical<'_>,
    (listener, expect): (DataListener, IpAddr),
    (from, to): (IpAddr, SocketAddr),
    first: Side,
    ann: SocketAddr,
    settled: &CancellationToken,
) -> Option<Established> {
    let link = lg.link;
    let (a, peer) = accept_from(&listener, expect, link, ann, first.name())
        .await
        .ok()?;
    drop(listener);
    link.touch();
    if first == Side::Client {
        lg.client_connected_to(a.local_addr());
    }
    lg.open(peer, to);
    let r = match socket_for(from, to) {
        Ok(sock) => connect_sock(sock, to, link.ctx.cfg.connect_timeout).await,
        Err(e) => Err(e),
    };
    if first == Side::Server {
        settled.cancel();
    }
    match r {
        Ok(b) => {
            let _ = b.set_nodelay(true);
            lg.ev(Ev::Accepted);
            let (client, server) = match first {
                Side::Client => (a, b),
                Side::Server => (b, a),
            };
            Some(Established {
                client,
                server,
                client_is_initiator: first == Side::Client,
            })
        }
        Err(e) => {
            if refused(&e) {
                lg.ev(Ev::Refused);
            }
            lg.warn(format!(
                "proxy could not connect to the {}'s data port {to}: {e}; the {}'s connection was reset",
                first.other().name(),
                first.name()
            ));
            reset(&a);
            None
        }
    }
}

/// Client passive, server active: both connect to the proxy; the logical
/// connection runs from the client to `told` (the address it was told).
async fn accept_both(
    lg: &mut Logical<'_>,
    (lc, ec): (DataListener, IpAddr),
    (ls, es): (DataListener, IpAddr),
    told: SocketAddr,
    ann: SocketAddr,
) -> Option<Established> {
    let link = lg.link;
    let client_side = async {
        let r = accept_from(&lc, ec, link, ann, "client").await;
        if let Ok((c, peer)) = &r {
            link.touch();
            lg.client_connected_to(c.local_addr());
            lg.open(*peer, told);
            lg.ev(Ev::Accepted);
        }
        r
    };
    let server_side = accept_from(&ls, es, link, ann, "server");
    let (c, s) = tokio::join!(client_side, server_side);
    let (c, s) = (c.ok()?.0, s.ok()?.0);
    Some(Established {
        client: c,
        server: s,
        client_is_initiator: true,
    })
}

/// Client active, server passive: the proxy connects to both once the transfer
/// command is on its way (`activate`); the logical connection runs from the
/// proxy to the client. `settled` is cancelled once both are tried.
async fn connect_both(
    lg: &mut Logical<'_>,
    (fc, tc): (IpAddr, SocketAddr),
    (fs, ts): (IpAddr, SocketAddr),
    activate: &CancellationToken,
    settled: &CancellationToken,
) -> Option<Established> {
    let limit = lg.link.ctx.cfg.connect_timeout;
    activate.cancelled().await;
    let server_side = async {
        match socket_for(fs, ts) {
            Ok(sock) => connect_sock(sock, ts, limit).await,
            Err(e) => Err(e),
        }
    };
    let client_side = async {
        let sock = socket_for(fc, tc)?;
        let local = sock.local_addr().unwrap_or_else(|_| SocketAddr::new(fc, 0));
        lg.open(local, tc);
        match connect_sock(sock, tc, limit).await {
            Ok(c) => {
                lg.ev(Ev::Accepted);
                Ok(c)
            }
            Err(e) => {
                if refused(&e) {
                    lg.ev(Ev::Refused);
                }
                Err(e)
            }
        }
    };
    let (s, c) = tokio::join!(server_side, client_side);
    settled.cancel();
    match (c, s) {
        (Ok(c), Ok(s)) => {
            let _ = c.set_nodelay(true);
            let _ = s.set_nodelay(true);
            Some(Established {
                client: c,
                server: s,
                client_is_initiator: false,
            })
        }
        (c, s) => {
            if let Err(e) = &c {
                lg.warn(format!(
                    "proxy could not connect to the client's data port {tc}: {e}"
                ));
            }
            if let Err(e) = &s {
                lg.warn(format!(
                    "proxy could not connect to the server's data port {ts}: {e}"
                ));
            }
            for x in [c.ok(), s.ok()].into_iter().flatten() {
                reset(&x);
            }
            None
        }
    }
}

/// How one direction ended.
enum End {
    Eof,
    /// The reading side reset (or failed), with the error.
    ReadFailed(io::Error),
    /// The writing side reset (or failed), with the error.
    WriteFailed(io::Error),
}

async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    r: &mut R,
    w: &mut W,
    feed: &mut DataFeed,
    dir: Dir,
    link: &SessionLink,
) -> End {
    // Read into spare capacity (never zeroed); a recorded chunk leaves with its
    // buffer (see DataFeed::chunk_owned), so the next one may need a new one.
    let mut buf = Vec::with_capacity(RELAY_BUF);
    loop {
        buf.clear();
        buf.reserve(RELAY_BUF);
        let n = match r.read_buf(&mut buf).await {
            Ok(0) => {
                feed.flush(dir);
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Ok(n) => n,
            Err(e) => {
                feed.flush(dir);
                return End::ReadFailed(e);
            }
        };
        // The flush sends what TLS still holds (a no-op on TCP).
        let sent = match w.write_all(&buf).await {
            Ok(()) => w.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            feed.flush(dir);
            return End::WriteFailed(e);
        }
        feed.chunk_owned(dir, &mut buf);
        link.ctx
            .counters
            .data_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        link.touch();
    }
}

/// Relay until both directions end. A pair that no transfer command used yet is
/// closed when it is abandoned (a newer announcement, the end of the session, a
/// transfer command answered by an injected fault), as a server closes an unused
/// data connection.
/// Linux: move the bytes socket -> pipe -> socket with splice(2), so they never
/// enter the proxy's memory (used unless `--record` needs the payload). Same
/// contract as [`pump`].
#[cfg(target_os = "linux")]
async fn pump_splice(
    r: &mut OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    feed: &mut DataFeed,
    dir: Dir,
    link: &SessionLink,
    to_client: bool,
) -> End {
    use rustix::pipe::{PipeFlags, SpliceFlags, pipe_with, splice};
    use tokio::io::Interest;
    let Ok((pr, pw)) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC) else {
        return pump(r, w, feed, dir, link).await;
    };
    let mut pace = to_client.then(|| Pacer::new(w.as_ref()));
    let cap = rustix::pipe::fcntl_setpipe_size(&pw, RELAY_BUF).unwrap_or(64 * 1024);
    let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
    loop {
        let src: &TcpStream = r.as_ref();
        if let Err(e) = src.readable().await {
            feed.flush(dir);
            return End::ReadFailed(e);
        }
        let n = match src.try_io(Interest::READABLE, || {
            splice(src, None, &pw, None, cap, flags).map_err(io::Error::from)
        }) {
            Ok(0) => {
                if let Some(p) = &mut pace {
                    p.drain(w.as_ref(), feed, dir, link).await;
                }
                feed.flush(dir);
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                if let Some(p) = &mut pace {
                    p.rest(feed, dir);
                }
                feed.flush(dir);
                return End::ReadFailed(e);
            }
        };
        let mut left = n;
        while left > 0 {
            let dst: &TcpStream = w.as_ref();
            if let Err(e) = dst.writable().await {
                feed.flush(dir);
                return End::WriteFailed(e);
            }
            match dst.try_io(Interest::WRITABLE, || {
                splice(&pr, None, dst, None, left, flags).map_err(io::Error::from)
            }) {
                Ok(m) => left -= m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    feed.flush(dir);
                    return End::WriteFailed(e);
                }
            }
        }
        match &mut pace {
            Some(p) => p.wrote(w.as_ref(), n as u64, feed, dir),
            None => feed.count(dir, n as u64),
        }
        link.ctx
            .counters
            .data_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        link.touch();
    }
}

/// The client's side of a download as the client lived it: bytes count when the
/// client's TCP acknowledges them (Linux `TCP_INFO`), not when the proxy wrote
/// them into its socket. A client that reads slowly (curl `--limit-rate`, lftp
/// `net:limit-rate`) leaves megabytes in the two sockets' buffers: the server
/// side is done in milliseconds, the client's in seconds, and the client's is
/// the transfer the user asked about. Where `TCP_INFO` cannot be read, bytes
/// count when written.
#[cfg(target_os = "linux")]
struct Pacer {
    /// `bytes_acked` before the first byte (None: no `TCP_INFO`).
    base: Option<u64>,
    written: u64,
    reported: u64,
}

#[cfg(target_os = "linux")]
impl Pacer {
    fn new(sock: &TcpStream) -> Pacer {
        use std::os::fd::AsFd;
        Pacer {
            base: sockinfo::tcp_info(sock.as_fd()).ok().map(|t| t.bytes_acked),
            written: 0,
            reported: 0,
        }
    }

    /// Count what the client acknowledged so far; true when it has everything.
    fn poll(&mut self, sock: &TcpStream, feed: &mut DataFeed, dir: Dir) -> bool {
        use std::os::fd::AsFd;
        let acked = match (self.base, sockinfo::tcp_info(sock.as_fd())) {
            (Some(base), Ok(t)) => t.bytes_acked.saturating_sub(base).min(self.written),
            _ => self.written,
        };
        if acked > self.reported {
            feed.count(dir, acked - self.reported);
            self.reported = acked;
        }
        self.reported >= self.written
    }

    fn wrote(&mut self, sock: &TcpStream, n: u64, feed: &mut DataFeed, dir: Dir) {
        self.written += n;
        self.poll(sock, feed, dir);
    }

    /// The server's side ended: wait (at most `--idle-timeout` without
    /// progress) until the client acknowledged every byte, counting as it does.
    async fn drain(&mut self, sock: &TcpStream, feed: &mut DataFeed, dir: Dir, link: &SessionLink) {
        let idle = link.ctx.cfg.idle_timeout;
        let mut last = (self.reported, tokio::time::Instant::now());
        while !self.poll(sock, feed, dir) {
            if self.reported > last.0 {
                last = (self.reported, tokio::time::Instant::now());
                link.touch();
            } else if last.1.elapsed() > idle || link.ctx.shutdown.is_cancelled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.rest(feed, dir);
    }

    /// Count what is left unacknowledged (the relay ends without waiting).
    fn rest(&mut self, feed: &mut DataFeed, dir: Dir) {
        if self.written > self.reported {
            feed.count(dir, self.written - self.reported);
            self.reported = self.written;
        }
    }
}

/// How long a data connection that is already ending (one side closed) may
/// take to end on its own when the proxy shuts down, before both sides are reset.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The note of a data connection the proxy's shutdown cut.
const SHUT_DOWN_RESET: &str = "proxy shut down during this data connection: both sides were reset";

/// When the proxy shuts down: until when a data connection may go on, None to
/// reset it now. One already ending (a side closed) gets [`SHUTDOWN_GRACE`]: the
/// other side's close may be on its way (a server closes an upload's data
/// connection as it sends its 226).
fn shutdown_grace(ending: bool) -> Option<tokio::time::Instant> {
    ending.then(|| tokio::time::Instant::now() + SHUTDOWN_GRACE)
}

/// The client closed a download's data connection `after` its TCP had
/// acknowledged the last byte: it was still reading its own socket buffer (a
/// slow reader: curl `--limit-rate`, lftp `net:limit-rate`). The wire, and so
/// the channel's byte times, show the bytes delivered earlier; the note gives
/// the transfer as the client lived it (the channel's end is the client's close).
fn slow_reader_note(lg: &Logical<'_>, after: Duration, total: Duration) {
    if after < Duration::from_millis(500) {
        return;
    }
    lg.note(format!(
        "client leg: the client closed this data connection {:.1} s after its TCP had acknowledged the last byte, \
         so it was still reading what its own socket buffer held (a slow reader, such as curl --limit-rate or lftp \
         net:limit-rate); as the client lived it, the transfer took {:.1} s from the connection to its close, \
         while the bytes' times show when they reached the client's host",
        after.as_secs_f64(),
        total.as_secs_f64()
    ));
}

/// Relay one direction: splice on Linux unless the payload is recorded.
/// `to_client`: this direction writes to the client (its bytes count as the
/// client acknowledges them, see [`Pacer`]).
async fn pump_any(
    r: &mut OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    feed: &mut DataFeed,
    dir: Dir,
    link: &SessionLink,
    to_client: bool,
) -> End {
    #[cfg(target_os = "linux")]
    if !feed.obs.record_data {
        return pump_splice(r, w, feed, dir, link, to_client).await;
    }
    let _ = to_client;
    pump(r, w, feed, dir, link).await
}

/// The kernel's view of both legs once the relay is over, as a note on the data
/// connection (see [`super::legs`]).
fn legs_note(
    lg: &Logical<'_>,
    client: &tokio::net::TcpStream,
    server: &tokio::net::TcpStream,
    took: Duration,
) {
    use std::os::fd::AsFd;
    let (Ok(c), Ok(s)) = (
        sockinfo::tcp_info(client.as_fd()),
        sockinfo::tcp_info(server.as_fd()),
    ) else {
        return;
    };
    // The server sent more than it received: a download.
    let download = s.bytes_received >= c.bytes_received;
    if let Some(n) = super::legs::note(&c, &s, took, download) {
        lg.note(n);
    }
}

async fn relay(
    lg: &mut Logical<'_>,
    p: Established,
    activate: &CancellationToken,
    abandon: &CancellationToken,
) {
    let link = lg.link;
    let (c2s, s2c) = if p.client_is_initiator {
        (Dir::FromInitiator, Dir::FromResponder)
    } else {
        (Dir::FromResponder, Dir::FromInitiator)
    };
    // Room for large chunks: fewer wake-ups per byte relayed.
    for s in [&p.client, &p.server] {
        let r = socket2::SockRef::from(s);
        let _ = r.set_recv_buffer_size(SOCKET_BUF);
        let _ = r.set_send_buffer_size(SOCKET_BUF);
    }
    let started = tokio::time::Instant::now();
    let (mut cr, mut cw) = p.client.into_split();
    let (mut sr, mut sw) = p.server.into_split();
    let mut f_up = DataFeed::new(link.ctx.obs.clone(), lg.conn);
    let mut f_down = DataFeed::new(link.ctx.obs.clone(), lg.conn);
    let idle = link.ctx.cfg.idle_timeout;
    let shutdown = link.ctx.shutdown.clone();
    // Set when the relay is cut: both sides get RST.
    let mut abort: Option<Dir> = None;
    // Set when an unused pair is given up: both sides get FIN.
    let mut given_up = false;
    // Set when one direction had ended and the other then idled: FIN too.
    let mut stopped_waiting = false;
    let mut may_give_up = true;
    // When the server's side ended and the client had acknowledged every byte,
    // while the client had not closed yet.
    let mut delivered: Option<tokio::time::Instant> = None;
    {
        let up = pump_any(&mut cr, &mut sw, &mut f_up, c2s, link, false);
        let down = pump_any(&mut sr, &mut cw, &mut f_down, s2c, link, true);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        // Set when the proxy shuts down while this connection was ending.
        let mut grace_until: Option<tokio::time::Instant> = None;
        let mut tick = tokio::time::interval(idle.max(Duration::from_millis(400)) / 4);
        tick.tick().await;
        while !(up_done && down_done) {
            tokio::select! {
                e = &mut up, if !up_done => {
                    up_done = true;
                    match e {
                        End::Eof => {
                            lg.ev(Ev::Fin(c2s));
                            if let Some(at) = delivered {
                                slow_reader_note(lg, at.elapsed(), started.elapsed());
                            }
                        }
                        End::ReadFailed(_) => { abort = Some(c2s); break; }
                        End::WriteFailed(_) => { abort = Some(s2c); break; }
                    }
                }
                e = &mut down, if !down_done => {
                    down_done = true;
                    match e {
                        End::Eof => {
                            lg.ev(Ev::Fin(s2c));
                            if !up_done {
                                delivered = Some(tokio::time::Instant::now());
                            }
                        }
                        End::ReadFailed(_) => { abort = Some(s2c); break; }
                        End::WriteFailed(_) => { abort = Some(c2s); break; }
                    }
                }
                _ = shutdown.cancelled(), if grace_until.is_none() => {
                    grace_until = shutdown_grace(up_done || down_done);
                    if grace_until.is_none() {
                        lg.note(SHUT_DOWN_RESET);
                        abort = Some(s2c);
                        break;
                    }
                }
                _ = tokio::time::sleep_until(grace_until.unwrap_or_else(tokio::time::Instant::now)),
                    if grace_until.is_some() =>
                {
                    lg.note(SHUT_DOWN_RESET);
                    abort = Some(s2c);
                    break;
                }
                _ = abandon.cancelled(), if may_give_up => {
                    if activate.is_cancelled() {
                        may_give_up = false;
                    } else {
                        lg.note("closed by the proxy: no transfer command reached the server for this data connection");
                        given_up = true;
                        break;
                    }
                }
                _ = tick.tick() => {
                    if link.idle_for() > idle && (up_done || down_done) {
                        // One way is complete and its FIN passed on; the peer it
                        // went to is most likely still reading what its socket
                        // and the proxy's hold (megabytes: a slow reader), not
                        // gone. A reset would throw those bytes away: close
                        // normally, and the kernel still delivers them.
                        lg.note(format!(
                            "proxy stopped waiting for the end of this data connection: one direction was complete, \
                             then no traffic for {} s (--idle-timeout); it closed its sides normally, so what it had \
                             relayed is still delivered",
                            idle.as_secs_f64()
                        ));
                        stopped_waiting = true;
                        break;
                    }
                    if link.idle_for() > idle {
                        lg.note(format!(
                            "proxy reset this data connection: no traffic for {} s (--idle-timeout)",
                            idle.as_secs()
                        ));
                        abort = Some(s2c);
                        break;
                    }
                }
            }
        }
    }
    f_up.flush(c2s);
    f_down.flush(s2c);
    if !given_up {
        legs_note(lg, cw.as_ref(), sw.as_ref(), started.elapsed());
    }
    if given_up {
        let _ = cw.shutdown().await;
        let _ = sw.shutdown().await;
        lg.ev(Ev::Fin(s2c));
        lg.ev(Ev::Fin(c2s));
    }
    if stopped_waiting {
        // FIN after what is queued (a half already shut down stays so); the
        // sockets then close without a reset unless data came in unread.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = cw.shutdown().await;
            let _ = sw.shutdown().await;
        })
        .await;
    }
    if let Some(dir) = abort {
        lg.ev(Ev::Reset(dir));
        if let (Ok(c), Ok(s)) = (cr.reunite(cw), sr.reunite(sw)) {
            reset(&c);
            reset(&s);
        }
    }
}

/// The note on a TLS relay cut by one leg's error: the TLS layer's reason
/// (an alert, a bad record) is otherwise lost with the connection.
fn leg_failed(what: &str, leg: &str, e: &io::Error) -> String {
    format!("proxy: {what} the {leg} failed: {e}; both legs were reset")
}

/// Relay a PROT P data connection whose legs are TLS (`--tls-intercept`):
/// plaintext through user space, counted as plaintext, with half-close. A
/// peer's end passes to the other leg as it came (see [`super::tls::LegEnd`]):
/// close_notify and FIN as close_notify and FIN, a bare FIN as a bare FIN, a
/// reset (or a TLS error) as a reset of both legs. What each peer did is then
/// the connection's `close_notify` in the model. A download's bytes count as
/// the client acknowledges them, as in [`relay`] (see [`TlsPacer`]). Same
/// ending rules as [`relay`] for shutdown, abandon and idleness; a cut relay
/// resets both sides.
async fn relay_tls(
    lg: &mut Logical<'_>,
    legs: super::tls::DataLegs,
    client_is_initiator: bool,
    activate: &CancellationToken,
    abandon: &CancellationToken,
) {
    use super::tls::{Conn, LegEnd};
    let link = lg.link;
    let (c2s, s2c) = if client_is_initiator {
        (Dir::FromInitiator, Dir::FromResponder)
    } else {
        (Dir::FromResponder, Dir::FromInitiator)
    };
    let mut info = legs.info;
    let (c_end, s_end) = (LegEnd::default(), LegEnd::default());
    let wire = legs.client.get_ref().0.sent();
    let client = Conn::ToClient(Box::new(legs.client), c_end.clone());
    let server = Conn::ToServer(Box::new(legs.server), s_end.clone());
    // Recorded as it travelled (the TLS records): the plaintext goes to the hub
    // only for --extract, not to be dropped by the record (and weigh on the budget).
    let mut obs = link.ctx.obs.clone();
    if lg.wire {
        obs.record_data = link.ctx.cfg.extract.is_some();
    }
    // With --extract the plaintext waits in the pacer for the client's
    // acknowledgement, and goes to the hub with its count.
    let pace = client
        .tcp()
        .and_then(|t| TlsPacer::new(t, wire, obs.record_data));
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(server);
    let mut f_up = DataFeed::new(obs.clone(), lg.conn);
    let mut f_down = DataFeed::new(obs, lg.conn);
    let idle = link.ctx.cfg.idle_timeout;
    let shutdown = link.ctx.shutdown.clone();
    let mut abort: Option<Dir> = None;
    // The peer whose reset (or TLS error) cut the relay.
    let mut cut_by: Option<Side> = None;
    let mut may_give_up = true;
    // As in [`relay`]: when the server's side ended with every byte
    // acknowledged by the client, which had not closed yet.
    let started = tokio::time::Instant::now();
    let mut delivered: Option<tokio::time::Instant> = None;
    {
        let up = pump_tls(
            (&mut cr, &c_end),
            (&mut sw, &s_end),
            &mut f_up,
            c2s,
            link,
            None,
        );
        let down = pump_tls(
            (&mut sr, &s_end),
            (&mut cw, &c_end),
            &mut f_down,
            s2c,
            link,
            pace,
        );
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        // Set when the proxy shuts down while this connection was ending.
        let mut grace_until: Option<tokio::time::Instant> = None;
        let mut tick = tokio::time::interval(idle.max(Duration::from_millis(400)) / 4);
        tick.tick().await;
        while !(up_done && down_done) {
            tokio::select! {
                e = &mut up, if !up_done => {
                    up_done = true;
                    match e {
                        End::Eof => {
                            lg.ev(Ev::Fin(c2s));
                            if let Some(at) = delivered {
                                slow_reader_note(lg, at.elapsed(), started.elapsed());
                            }
                        }
                        End::ReadFailed(e) => {
                            lg.note(leg_failed("reading from", "client", &e));
                            cut_by = Some(Side::Client);
                            abort = Some(c2s);
                            break;
                        }
                        End::WriteFailed(e) => {
                            lg.note(leg_failed("writing to", "server", &e));
                            cut_by = Some(Side::Server);
                            abort = Some(s2c);
                            break;
                        }
                    }
                }
                e = &mut down, if !down_done => {
                    down_done = true;
                    match e {
                        End::Eof => {
                            lg.ev(Ev::Fin(s2c));
                            if !up_done {
                                delivered = Some(tokio::time::Instant::now());
                            }
                        }
                        End::ReadFailed(e) => {
                            lg.note(leg_failed("reading from", "server", &e));
                            cut_by = Some(Side::Server);
                            abort = Some(s2c);
                            break;
                        }
                        End::WriteFailed(e) => {
                            lg.note(leg_failed("writing to", "client", &e));
                            cut_by = Some(Side::Client);
                            abort = Some(c2s);
                            break;
                        }
                    }
                }
                _ = shutdown.cancelled(), if grace_until.is_none() => {
                    grace_until = shutdown_grace(up_done || down_done);
                    if grace_until.is_none() {
                        lg.note(SHUT_DOWN_RESET);
                        abort = Some(s2c);
                        break;
                    }
                }
                _ = tokio::time::sleep_until(grace_until.unwrap_or_else(tokio::time::Instant::now)),
                    if grace_until.is_some() =>
                {
                    lg.note(SHUT_DOWN_RESET);
                    abort = Some(s2c);
                    break;
                }
                _ = abandon.cancelled(), if may_give_up => {
                    if activate.is_cancelled() {
                        may_give_up = false;
                    } else {
                        lg.note("closed by the proxy: no transfer command reached the server for this data connection");
                        abort = Some(s2c);
                        break;
                    }
                }
                _ = tick.tick() => {
                    if link.idle_for() > idle {
                        lg.note(format!(
                            "proxy reset this data connection: no traffic for {} s (--idle-timeout)",
                            idle.as_secs()
                        ));
                        abort = Some(s2c);
                        break;
                    }
                }
            }
        }
    }
    f_up.flush(c2s);
    f_down.flush(s2c);
    // What each peer did at its end, for the model (`tls-unclean-shutdown`): a
    // peer that reset (or broke TLS) sent no close_notify.
    let ended =
        |end: &LegEnd, side: Side| end.notified().or((cut_by == Some(side)).then_some(false));
    info.close_notify.client = ended(&c_end, Side::Client);
    info.close_notify.server = ended(&s_end, Side::Server);
    link.ctx.obs.tls(lg.conn, info);
    if let Some(dir) = abort {
        lg.ev(Ev::Reset(dir));
        let (c, s) = (cr.unsplit(cw), sr.unsplit(sw));
        for t in [c.tcp(), s.tcp()].into_iter().flatten() {
            reset(t);
        }
    }
}

/// One direction of [`relay_tls`]: as [`pump`], but the end passes on as it
/// came (`from`'s peer ended bare: `to` is shut down bare), and with `pace`
/// (a download) bytes count as the client acknowledges them, the end waiting
/// until it has them all.
async fn pump_tls(
    (r, from): (
        &mut tokio::io::ReadHalf<super::tls::Conn>,
        &super::tls::LegEnd,
    ),
    (w, to): (
        &mut tokio::io::WriteHalf<super::tls::Conn>,
        &super::tls::LegEnd,
    ),
    feed: &mut DataFeed,
    dir: Dir,
    link: &SessionLink,
    mut pace: Option<TlsPacer>,
) -> End {
    let mut buf = vec![0u8; RELAY_BUF];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) => {
                if let Some(p) = &mut pace {
                    p.drain(feed, dir, link).await;
                }
                feed.flush(dir);
                from.mirror_to(to);
                let _ = w.shutdown().await;
                return End::Eof;
            }
            Ok(n) => n,
            Err(e) => {
                if let Some(p) = &mut pace {
                    p.rest(feed, dir);
                }
                feed.flush(dir);
                return End::ReadFailed(e);
            }
        };
        // The flush sends what TLS still holds.
        let sent = match w.write_all(&buf[..n]).await {
            Ok(()) => w.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            if let Some(p) = &mut pace {
                p.rest(feed, dir);
            }
            feed.flush(dir);
            return End::WriteFailed(e);
        }
        match &mut pace {
            Some(p) => p.wrote(&buf[..n], feed, dir),
            None => feed.chunk(dir, &buf[..n]),
        }
        link.ctx
            .counters
            .data_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        link.touch();
    }
}

/// [`Pacer`] for a TLS leg towards the client: the client's TCP acknowledges
/// TLS records, not plaintext, so each chunk of plaintext counts once the
/// client acknowledged the records it went out in (the socket's byte count
/// after the chunk, from [`super::tls::Tapped::sent`]). The marks are bounded
/// as the data in flight is: the proxy writes no more than the sockets take.
/// When the plaintext is kept (`--extract`), each chunk waits here with its
/// mark and goes to the hub when it counts, at most [`PACED_HELD`] bytes of it
/// (past that the oldest go out early, counted when written).
struct TlsPacer {
    /// The client's socket (a duplicate of its descriptor), for `TCP_INFO`.
    sock: socket2::Socket,
    /// Bytes written on the client's socket so far.
    wire: Arc<AtomicU64>,
    base_acked: u64,
    base_wire: u64,
    /// (wire bytes written after a chunk, the chunk's plaintext length, the
    /// plaintext when kept), oldest first.
    marks: std::collections::VecDeque<(u64, u64, Option<Vec<u8>>)>,
    keep: bool,
    /// Plaintext bytes held in `marks`.
    held: usize,
}

/// Plaintext a [`TlsPacer`] holds at most while the client acknowledges it
/// (the sockets' buffers between the proxy and a slow reader: a few MB).
const PACED_HELD: usize = 16 << 20;

impl TlsPacer {
    /// None when `TCP_INFO` cannot be read: bytes then count when written.
    /// `keep`: the plaintext goes to the hub with its count.
    fn new(sock: &TcpStream, wire: Arc<AtomicU64>, keep: bool) -> Option<TlsPacer> {
        let sock = socket2::SockRef::from(sock).try_clone().ok()?;
        let base_acked = sockinfo::tcp_info(std::os::fd::AsFd::as_fd(&sock))
            .ok()?
            .bytes_acked;
        let base_wire = wire.load(Ordering::Relaxed);
        Some(TlsPacer {
            sock,
            wire,
            base_acked,
            base_wire,
            marks: Default::default(),
            keep,
            held: 0,
        })
    }

    /// Count the oldest chunks while `due` says so (given the chunk's mark);
    /// true when none is left.
    fn release(
        &mut self,
        feed: &mut DataFeed,
        dir: Dir,
        mut due: impl FnMut(u64, usize) -> bool,
    ) -> bool {
        let mut n = 0;
        while let Some(&(at, len, _)) = self.marks.front() {
            if !due(at, self.held) {
                break;
            }
            let Some((_, _, bytes)) = self.marks.pop_front() else {
                break;
            };
            match bytes {
                Some(mut b) => {
                    if n > 0 {
                        feed.count(dir, std::mem::take(&mut n));
                    }
                    self.held -= b.len();
                    feed.chunk_owned(dir, &mut b);
                }
                None => n += len,
            }
        }
        if n > 0 {
            feed.count(dir, n);
        }
        self.marks.is_empty()
    }

    /// Count what the client acknowledged so far; true when it has everything.
    fn poll(&mut self, feed: &mut DataFeed, dir: Dir) -> bool {
        let Ok(t) = sockinfo::tcp_info(std::os::fd::AsFd::as_fd(&self.sock)) else {
            self.rest(feed, dir);
            return true;
        };
        let acked = t.bytes_acked.saturating_sub(self.base_acked);
        self.release(feed, dir, |at, held| at <= acked || held > PACED_HELD)
    }

    fn wrote(&mut self, chunk: &[u8], feed: &mut DataFeed, dir: Dir) {
        let at = self.wire.load(Ordering::Relaxed) - self.base_wire;
        let bytes = self.keep.then(|| chunk.to_vec());
        self.held += bytes.as_ref().map_or(0, Vec::len);
        self.marks.push_back((at, chunk.len() as u64, bytes));
        self.poll(feed, dir);
    }

    /// The server's side ended: wait (at most `--idle-timeout` without
    /// progress) until the client acknowledged every chunk, counting as it does.
    async fn drain(&mut self, feed: &mut DataFeed, dir: Dir, link: &SessionLink) {
        let idle = link.ctx.cfg.idle_timeout;
        let mut last = (self.marks.len(), tokio::time::Instant::now());
        while !self.poll(feed, dir) {
            if self.marks.len() < last.0 {
                last = (self.marks.len(), tokio::time::Instant::now());
                link.touch();
            } else if last.1.elapsed() > idle || link.ctx.shutdown.is_cancelled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.rest(feed, dir);
    }

    /// Count what is left unacknowledged (the relay ends without waiting).
    fn rest(&mut self, feed: &mut DataFeed, dir: Dir) {
        self.release(feed, dir, |_, _| true);
    }
}
