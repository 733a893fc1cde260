//! TLS interception (`ftpscope proxy --tls-intercept`): the proxy ends the
//! client's TLS with a certificate of its own CA ([`super::ca`]) and opens its own
//! TLS to the server, so the control connection and PROT P data connections are
//! relayed as plaintext in between: rewritten, observed and diagnosed as plain FTP.
//!
//! ```text
//!  client ==TLS(proxy's leaf)==> proxy --plaintext lines--> proxy ==TLS(checked)==> server
//! ```
//!
//! * Towards the client the proxy is a TLS server: a leaf certificate for the
//!   name the client asked for (SNI) or else the `--upstream` host, plus the
//!   address the client connected to (a client without SNI checks that one). The
//!   server configs keep a session cache and issue tickets, so a client may
//!   resume its control session on data connections, or not: both are accepted,
//!   and whether it did is noted on each data connection.
//! * Towards the server the proxy is a TLS client that checks the server's
//!   certificate (the system roots, `--upstream-ca`), unless `--upstream-insecure`.
//!   Each client session gets its own [`rustls::ClientConfig`] with its own
//!   session store: the upstream data connections resume the proxy's upstream
//!   control session, which servers that require session reuse (vsftpd's
//!   `require_ssl_reuse=YES`, its default) demand. So a client that cannot
//!   resume (Python's ftplib) works through the proxy against such a server.
//! * Every handshake is bounded by the connect timeout; a peer that stalls or
//!   sends something else than TLS ends its connection, never the proxy.
//! * `--tls-keylog FILE`: both legs' secrets in NSS key log format.
//!
//! What the session shows: [`control_info`] and [`data_info`] describe the
//! client leg in the model's own TLS facts ([`TlsInfo`]), the server leg in its
//! notes; the tracker takes them with [`crate::session::Tracker::source_tls`].

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    ClientConfig, DigitallySignedStruct, HandshakeKind, RootCertStore, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{LazyConfigAcceptor, TlsAcceptor, TlsConnector, client, server};

use super::ca::Ca;
use super::observe::{Observer, WireFeed};
use crate::model::tls::{Certificate, Decryption, TlsInfo};

/// Server configs kept (one per leaf name and client-facing address).
const MAX_SERVER_CONFIGS: usize = 256;
/// TLS sessions one upstream session store keeps (its control session and the
/// tickets its data connections bring).
const UPSTREAM_SESSIONS: usize = 16;

/// The command line's TLS options.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// `--ca FILE` (certificate and key); None: the CA under the config directory.
    pub ca: Option<PathBuf>,
    /// `--upstream-ca FILE`, trusted besides the system roots.
    pub upstream_ca: Vec<PathBuf>,
    pub upstream_insecure: bool,
    /// `--implicit`: TLS from the first byte on both legs.
    pub implicit: bool,
    /// `--tls-keylog FILE`.
    pub keylog: Option<PathBuf>,
    /// `--no-reuse-bridge`: on a data connection the proxy resumes its upstream
    /// session only when the client resumed its own, so a server that requires
    /// reuse refuses what it would refuse from the client directly.
    pub no_reuse_bridge: bool,
    /// Where to make the CA when `ca` is None (tests; None: [`super::ca::default_dir`]).
    pub ca_dir: Option<PathBuf>,
}

/// One proxy's interception state.
pub struct Intercept {
    pub ca: Ca,
    pub implicit: bool,
    pub insecure: bool,
    /// `--no-reuse-bridge`.
    pub no_reuse_bridge: bool,
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    keylog: Option<Arc<dyn rustls::KeyLog>>,
    /// The client legs' key log (`--tls-keylog` and `--record`).
    client_keys: Arc<ClientLegKeys>,
    /// The `--upstream` host (name or address), the certificate name checked
    /// when the client sent no SNI.
    upstream_host: String,
    server_configs: Mutex<HashMap<super::ca::NameKey, Arc<ServerConfig>>>,
    /// Roots in use, for messages: how many system certificates, which files.
    pub trust: String,
}

impl std::fmt::Debug for Intercept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intercept")
            .field("ca", &self.ca)
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// The host part of `host:port` (brackets of an IPv6 address removed).
pub fn host_of(upstream: &str) -> String {
    let h = match upstream.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => upstream,
    };
    h.trim_start_matches('[').trim_end_matches(']').to_string()
}

/// The system's CA certificates: `SSL_CERT_FILE`, else Debian's bundle.
fn system_roots(store: &mut RootCertStore) -> (usize, String) {
    use rustls_pki_types::pem::PemObject as _;
    let file = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    let Ok(iter) = CertificateDer::pem_file_iter(&file) else {
        return (0, file.display().to_string());
    };
    let certs: Vec<_> = iter.flatten().collect();
    let (added, _) = store.add_parsable_certificates(certs);
    (added, file.display().to_string())
}

/// Certificates from a PEM file (`--upstream-ca`).
fn pem_certs(path: &std::path::Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject as _;
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no CERTIFICATE in it", path.display());
    }
    Ok(certs)
}

impl Intercept {
    /// Load (or make) the CA, the trusted roots and the key log file.
    pub fn new(opts: &TlsOptions, upstream: &str) -> anyhow::Result<Intercept> {
        let ca = match &opts.ca {
            Some(f) => Ca::from_file(f)?,
            None => Ca::load_or_create(opts.ca_dir.as_deref())?,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let (system, from) = system_roots(&mut roots);
        let mut trust = format!("{system} system roots from {from}");
        for f in &opts.upstream_ca {
            for c in pem_certs(f)? {
                roots
                    .add(c)
                    .with_context(|| format!("{}: not a usable CA certificate", f.display()))?;
            }
            trust.push_str(&format!(", {}", f.display()));
        }
        let verifier: Arc<dyn ServerCertVerifier> = if opts.upstream_insecure {
            Arc::new(NoVerify(provider.clone()))
        } else {
            if roots.is_empty() {
                anyhow::bail!(
                    "no CA certificate to check the server with (none in {from}): give --upstream-ca FILE, or --upstream-insecure"
                );
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .context("cannot build the server certificate verifier")?
        };
        let keylog: Option<Arc<dyn rustls::KeyLog>> = match &opts.keylog {
            Some(p) => Some(Arc::new(KeyLogFile::open(p)?)),
            None => None,
        };
        let client_keys = Arc::new(ClientLegKeys {
            file: keylog.clone(),
            record: Mutex::new(None),
        });
        Ok(Intercept {
            client_keys,
            ca,
            implicit: opts.implicit,
            insecure: opts.upstream_insecure,
            no_reuse_bridge: opts.no_reuse_bridge,
            provider,
            verifier,
            keylog,
            upstream_host: host_of(upstream),
            server_configs: Mutex::new(HashMap::new()),
            trust,
        })
    }

    /// `--record`: the client legs' secrets go to the record too (None: no
    /// more; the proxy stops and its hub waits for every observer to go).
    pub fn record_secrets(&self, obs: Option<Observer>) {
        *self
            .client_keys
            .record
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = obs;
    }

    /// A client config for one session's upstream connections: its own
    /// session store, so that its data connections resume its control session.
    fn upstream_config(&self) -> anyhow::Result<Arc<ClientConfig>> {
        let mut c = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .dangerous()
            .with_custom_certificate_verifier(self.verifier.clone())
            .with_no_client_auth();
        c.resumption = Resumption::in_memory_sessions(UPSTREAM_SESSIONS);
        if let Some(k) = &self.keylog {
            c.key_log = k.clone();
        }
        Ok(Arc::new(c))
    }

    /// The server config presenting a leaf for `name` (and `also`), cached.
    fn client_facing_config(
        &self,
        name: &str,
        also: Option<IpAddr>,
    ) -> anyhow::Result<Arc<ServerConfig>> {
        let key = (name.to_ascii_lowercase(), also);
        let mut m = self
            .server_configs
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(c) = m.get(&key) {
            return Ok(c.clone());
        }
        let leaf = self.ca.leaf(name, also)?;
        let mut c = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .context("the leaf certificate")?;
        // Clients that resume their control session on data connections can:
        // a session cache (the default) and tickets.
        c.ticketer = rustls::crypto::ring::Ticketer::new().context("TLS ticketer")?;
        c.send_tls13_tickets = CONTROL_TICKETS;
        c.key_log = self.client_keys.clone();
        let c = Arc::new(c);
        if m.len() >= MAX_SERVER_CONFIGS {
            m.clear();
        }
        m.insert(key, c.clone());
        Ok(c)
    }
}

/// The client-facing config of a session's data connections: the control
/// connection's (same certificate, same session cache and ticket keys, so the
/// client resumes its control session) issuing no TLS 1.3 tickets. A ticket is
/// the one thing a TLS server sends on an upload's data connection, and clients
/// (curl, lftp) write the whole file into the socket, close it and never read
/// the ticket: a ticket arriving after that close makes the client's kernel
/// reset the connection and drop the unsent rest of the file (the server
/// answers 426/451). A server sends its ticket within microseconds of the
/// handshake, before the client is done; the proxy, busy with the server's
/// handshake too, was milliseconds late in one run of five of the TLS tests
/// under load. Clients that use each ticket once (rustls) draw on the
/// [`CONTROL_TICKETS`] the control connection gave them instead.
fn data_facing(control: &ServerConfig) -> Arc<ServerConfig> {
    let mut c = control.clone();
    c.send_tls13_tickets = 0;
    Arc::new(c)
}

/// TLS 1.3 tickets given on a control connection (rustls sends 2 by default):
/// enough for a client that uses each once to resume this many data connections.
const CONTROL_TICKETS: usize = 8;

/// `--upstream-insecure`: any certificate is taken (signatures are still checked,
/// so the handshake is with the holder of the certificate's key).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `--tls-keylog`: NSS key log lines appended to a file, for both legs.
struct KeyLogFile(Mutex<std::fs::File>);

impl std::fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyLogFile")
    }
}

impl KeyLogFile {
    fn open(p: &std::path::Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Secrets: readable by the user only, like the CA key.
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(p)
            .with_context(|| format!("cannot open the key log {}", p.display()))?;
        Ok(KeyLogFile(Mutex::new(f)))
    }
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::io::Write as _;
        let line = keylog_line(label, client_random, secret);
        let mut f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line: lines of concurrent connections do not interleave.
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!("cannot write the TLS key log: {e}");
        }
    }
}

/// The client leg's socket of an intercepted connection; with `--record`, the
/// bytes that travel on it (the TLS records) go to the record as they are.
pub struct Tapped {
    tcp: TcpStream,
    feed: Option<WireFeed>,
    /// Bytes written on the socket so far (the TLS records: handshake,
    /// application data, alerts), for pacing a download by the client's
    /// acknowledgements (see `data::TlsPacer`).
    sent: Arc<AtomicU64>,
}

impl Tapped {
    pub fn new(tcp: TcpStream, feed: Option<WireFeed>) -> Self {
        Tapped {
            tcp,
            feed,
            sent: Arc::default(),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The count of bytes written on the socket, readable from elsewhere.
    pub fn sent(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }
}

impl AsyncRead for Tapped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut me.tcp).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(f)) = (&r, me.feed.as_mut()) {
            f.travelled(true, &buf.filled()[before..]);
        }
        r
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = Pin::new(&mut me.tcp).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            me.sent.fetch_add(*n as u64, Ordering::Relaxed);
            if let Some(f) = me.feed.as_mut() {
                f.travelled(false, &buf[..*n]);
            }
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// TLS towards the client, over its (maybe recorded) socket.
pub type ClientTls = server::TlsStream<Tapped>;

/// The key log of the client legs (the proxy as TLS server): the
/// `--tls-keylog` file, and with `--record` the record's Decryption Secrets
/// Blocks, so the record opens decrypted.
struct ClientLegKeys {
    file: Option<Arc<dyn rustls::KeyLog>>,
    /// Cleared when the proxy stops: it holds the hub's channel open.
    record: Mutex<Option<Observer>>,
}

impl std::fmt::Debug for ClientLegKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientLegKeys")
    }
}

impl rustls::KeyLog for ClientLegKeys {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(f) = &self.file {
            f.log(label, client_random, secret);
        }
        let record = self.record.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(obs) = record.as_ref() {
            WireFeed::secrets(obs, keylog_line(label, client_random, secret));
        }
    }
    fn will_log(&self, _label: &str) -> bool {
        self.file.is_some()
            || self
                .record
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }
}

/// One NSS key log line.
fn keylog_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("{label} {} {}\n", hex(client_random), hex(secret))
}

/// How the peer of a TLS leg ended what it sent, as the proxy read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerEnd {
    /// Not ended (or ended by an error: a reset, a bad record).
    Open,
    /// A close_notify alert (then, or later, its TCP FIN).
    CloseNotify,
    /// A TCP FIN without close_notify before it.
    Bare,
}

/// One TLS leg's ending, shared by the halves of a split [`Conn`] (tokio's
/// halves give no access to the stream): what the peer did, which reads set,
/// and how the proxy ends its own side, which the relay sets from what the
/// other leg's peer did. The proxy ends a leg as the other peer ended its own:
/// close_notify then FIN, or a bare FIN (the peer sees the same unclean
/// shutdown it would see without the proxy); a reset is the relay's (SO_LINGER 0).
#[derive(Clone, Debug, Default)]
pub struct LegEnd(Arc<LegEndState>);

#[derive(Debug, Default)]
struct LegEndState {
    /// 0: open, 1: close_notify, 2: bare FIN.
    peer: AtomicU8,
    /// The proxy's shutdown of this leg sends no close_notify.
    bare: AtomicBool,
}

impl LegEnd {
    pub fn peer(&self) -> PeerEnd {
        match self.0.peer.load(Ordering::Acquire) {
            1 => PeerEnd::CloseNotify,
            2 => PeerEnd::Bare,
            _ => PeerEnd::Open,
        }
    }

    /// The first ending read is the one kept.
    fn saw(&self, e: PeerEnd) {
        let v = match e {
            PeerEnd::Open => return,
            PeerEnd::CloseNotify => 1,
            PeerEnd::Bare => 2,
        };
        let _ = self
            .0
            .peer
            .compare_exchange(0, v, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The proxy's coming shutdown of this leg is a bare FIN, no close_notify.
    pub fn close_bare(&self) {
        self.0.bare.store(true, Ordering::Release);
    }

    fn bare(&self) -> bool {
        self.0.bare.load(Ordering::Acquire)
    }

    /// The peer's close_notify as the model records it ([`TlsInfo::close_notify`]):
    /// null while its side did not end by FIN.
    pub fn notified(&self) -> Option<bool> {
        match self.peer() {
            PeerEnd::Open => None,
            PeerEnd::CloseNotify => Some(true),
            PeerEnd::Bare => Some(false),
        }
    }

    /// The proxy ends `to` the way this leg's peer ended (a bare FIN mirrored).
    pub fn mirror_to(&self, to: &LegEnd) {
        if self.peer() == PeerEnd::Bare {
            to.close_bare();
        }
    }
}

/// A control connection's stream (and an intercepted data connection's leg):
/// TCP, then TLS once intercepted, with its [`LegEnd`].
pub enum Conn {
    Plain(TcpStream),
    /// Towards the client: the proxy is the TLS server.
    ToClient(Box<ClientTls>, LegEnd),
    /// Towards the server: the proxy is the TLS client.
    ToServer(Box<client::TlsStream<TcpStream>>, LegEnd),
    /// A placeholder while the stream is being upgraded: reads end, writes fail.
    Gone,
}

impl Conn {
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Plain(s) => Some(s),
            Conn::ToClient(s, _) => Some(s.get_ref().0.tcp()),
            Conn::ToServer(s, _) => Some(s.get_ref().0),
            Conn::Gone => None,
        }
    }

    /// The TLS leg's ending (None: not TLS).
    pub fn end(&self) -> Option<LegEnd> {
        match self {
            Conn::ToClient(_, e) | Conn::ToServer(_, e) => Some(e.clone()),
            _ => None,
        }
    }
}

/// A TLS read that records how the peer ended: a read of nothing is its
/// close_notify (rustls reports nothing else so); a TCP FIN without
/// close_notify (rustls: `UnexpectedEof`) ends the stream too, as plain TCP
/// would (many FTP clients and servers close so), and is recorded as bare.
fn read_tls<S: AsyncRead + Unpin>(
    s: &mut S,
    end: &LegEnd,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let before = buf.filled().len();
    let wanted = buf.remaining() > 0;
    match Pin::new(s).poll_read(cx, buf) {
        Poll::Ready(Ok(())) => {
            if wanted && buf.filled().len() == before {
                end.saw(PeerEnd::CloseNotify);
            }
            Poll::Ready(Ok(()))
        }
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
            end.saw(PeerEnd::Bare);
            Poll::Ready(Ok(()))
        }
        other => other,
    }
}

/// The proxy's end of a TLS leg: close_notify then FIN, or (told so by
/// [`LegEnd::close_bare`]) what TLS still holds then a bare FIN.
fn shutdown_server_side(
    s: &mut ClientTls,
    end: &LegEnd,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    if !end.bare() {
        return Pin::new(s).poll_shutdown(cx);
    }
    std::task::ready!(Pin::new(&mut *s).poll_flush(cx))?;
    Pin::new(s.get_mut().0).poll_shutdown(cx)
}

/// [`shutdown_server_side`] for a leg where the proxy is the TLS client.
fn shutdown_client_side(
    s: &mut client::TlsStream<TcpStream>,
    end: &LegEnd,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    if !end.bare() {
        return Pin::new(s).poll_shutdown(cx);
    }
    std::task::ready!(Pin::new(&mut *s).poll_flush(cx))?;
    Pin::new(s.get_mut().0).poll_shutdown(cx)
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::ToClient(s, e) => read_tls(s.as_mut(), e, cx, buf),
            Conn::ToServer(s, e) => read_tls(s.as_mut(), e, cx, buf),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::ToClient(s, _) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::ToServer(s, _) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Gone => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::ToClient(s, _) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::ToServer(s, _) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::ToClient(s, e) => shutdown_server_side(s, e, cx),
            Conn::ToServer(s, e) => shutdown_client_side(s, e, cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// What one session's data connections need: the client-facing config (see
/// [`data_facing`]) and the session's upstream
/// config and name (so the proxy resumes its own upstream session).
#[derive(Clone)]
pub struct SessionTls {
    client_facing: Arc<ServerConfig>,
    upstream: Arc<ClientConfig>,
    name: ServerName<'static>,
    /// `--no-reuse-bridge`: the same config without resumption, for data
    /// connections whose client did not resume.
    mirror: Option<Arc<ClientConfig>>,
}

/// Why an interception failed.
pub enum Failure {
    /// The client's side failed (no TLS, a stall, it refused the proxy's
    /// certificate): nothing more can be said to it.
    Client(String),
    /// The server's side failed (its certificate did not verify, a stall): the
    /// client's TLS is up, so it can be told why.
    Upstream { client: Box<ClientTls>, why: String },
}

fn version_of(c: &rustls::CommonState) -> Option<&'static str> {
    c.protocol_version()
        .and_then(|v| crate::tls::version_name(u16::from(v)))
}

fn suite_of(c: &rustls::CommonState) -> Option<String> {
    c.negotiated_cipher_suite()
        .map(|s| crate::tls::cipher_name(u16::from(s.suite())))
}

fn describe(c: &rustls::CommonState) -> String {
    let kind = match c.handshake_kind() {
        Some(HandshakeKind::Resumed) => "resumed handshake",
        Some(HandshakeKind::FullWithHelloRetryRequest) => {
            "full handshake after a HelloRetryRequest"
        }
        _ => "full handshake",
    };
    format!(
        "{} {} ({kind})",
        version_of(c).unwrap_or("TLS ?"),
        suite_of(c).unwrap_or_default()
    )
}

fn certificate_of(der: &CertificateDer<'_>) -> Option<Certificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let v = cert.validity();
    let date = |t: &x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    Some(Certificate {
        self_signed: subject == issuer,
        subject,
        issuer,
        not_before: date(&v.not_before),
        not_after: date(&v.not_after),
    })
}

fn resumed(c: &rustls::CommonState) -> bool {
    c.handshake_kind() == Some(HandshakeKind::Resumed)
}

/// The model's TLS facts of an intercepted connection: the client leg's
/// handshake (what the client experienced), the server's real certificate, and
/// both legs in notes.
fn info_of(
    mode: &'static str,
    to_client: &ClientTls,
    to_server: &client::TlsStream<TcpStream>,
    insecure: bool,
) -> TlsInfo {
    let (_, c) = to_client.get_ref();
    let (_, s) = to_server.get_ref();
    let mut notes = vec![
        format!(
            "intercepted by ftpscope proxy: client leg {}, with the proxy's certificate for {}",
            describe(c),
            c.server_name().map_or_else(
                || "the upstream host".to_string(),
                |n| format!("`{n}` (SNI)")
            )
        ),
        format!(
            "server leg {}, the server's certificate {}",
            describe(s),
            if insecure {
                "NOT checked (--upstream-insecure)"
            } else {
                "verified"
            }
        ),
    ];
    if insecure {
        notes.push("--upstream-insecure: anyone between the proxy and the server could have read or changed this connection".into());
    }
    TlsInfo {
        mode,
        handshake: "complete",
        version: version_of(c),
        cipher_suite: suite_of(c),
        sni: c.server_name().map(str::to_string),
        resumed: Some(resumed(c)),
        hello_retry: c.handshake_kind() == Some(HandshakeKind::FullWithHelloRetryRequest),
        certificate: s
            .peer_certificates()
            .and_then(|l| l.first())
            .and_then(certificate_of),
        notes,
        decryption: Some(Decryption {
            status: "decrypted",
            secret: Some("intercepted"),
            detail: Some(crate::tr!(
                "the proxy ended this TLS connection itself (--tls-intercept) and relayed its plaintext",
                "代理自己终止了这个 TLS 连接（--tls-intercept）并转发其明文"
            )),
            ..Decryption::default()
        }),
        ..TlsInfo::default()
    }
}

/// Intercept a control connection: the client's ClientHello first (its SNI
/// names the leaf), then the proxy's handshake with the server, then the
/// client's handshake completes. `facing` is the proxy's address the client
/// connected to. Every step within `limit`.
pub async fn intercept_control(
    it: &Intercept,
    client: Tapped,
    server: TcpStream,
    facing: IpAddr,
    limit: Duration,
    mode: &'static str,
) -> Result<(Conn, Conn, TlsInfo, SessionTls), Failure> {
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), client);
    let start = match tokio::time::timeout(limit, acceptor).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(Failure::Client(format!(
                "no TLS ClientHello from the client: {e}"
            )));
        }
        Err(_) => {
            return Err(Failure::Client(format!(
                "no TLS ClientHello from the client within {} s",
                limit.as_secs_f64()
            )));
        }
    };
    let sni = start.client_hello().server_name().map(str::to_string);
    let name = sni.clone().unwrap_or_else(|| it.upstream_host.clone());
    let server_name = match ServerName::try_from(name.clone()) {
        Ok(n) => n,
        Err(e) => {
            return Err(Failure::Client(format!(
                "`{name}` is not a server name: {e}"
            )));
        }
    };
    let facing_config = it
        .client_facing_config(&name, Some(facing.to_canonical()))
        .map_err(|e| Failure::Client(format!("{e:#}")))?;
    let upstream = it
        .upstream_config()
        .map_err(|e| Failure::Client(format!("{e:#}")))?;
    let connect = TlsConnector::from(upstream.clone()).connect(server_name.clone(), server);
    let up = match tokio::time::timeout(limit, connect).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("TLS with the server failed: {e}")),
        Err(_) => Err(format!(
            "the server did not complete its TLS handshake within {} s",
            limit.as_secs_f64()
        )),
    };
    let down = match tokio::time::timeout(limit, start.into_stream(facing_config.clone())).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(Failure::Client(format!(
                "the client's TLS handshake with the proxy failed: {e} (does the client trust the proxy's CA? `ftpscope ca` tells where it is)"
            )));
        }
        Err(_) => {
            return Err(Failure::Client(format!(
                "the client did not complete its TLS handshake within {} s",
                limit.as_secs_f64()
            )));
        }
    };
    let up = match up {
        Ok(s) => s,
        Err(why) => {
            return Err(Failure::Upstream {
                client: Box::new(down),
                why,
            });
        }
    };
    let info = info_of(mode, &down, &up, it.insecure);
    let mirror = it.no_reuse_bridge.then(|| {
        let mut c = (*upstream).clone();
        c.resumption = Resumption::disabled();
        Arc::new(c)
    });
    let st = SessionTls {
        client_facing: data_facing(&facing_config),
        upstream,
        name: server_name,
        mirror,
    };
    Ok((
        Conn::ToClient(Box::new(down), LegEnd::default()),
        Conn::ToServer(Box::new(up), LegEnd::default()),
        info,
        st,
    ))
}

/// Both legs of a PROT P data connection, TLS and relayed as plaintext.
pub struct DataLegs {
    pub client: ClientTls,
    pub server: client::TlsStream<TcpStream>,
    pub info: TlsInfo,
}

/// The TLS handshakes of a data connection, both at once, within `limit`: the
/// proxy is the TLS server towards the client (which may resume its control
/// session or not) and the TLS client towards the server (resuming the
/// session's upstream control session).
pub async fn intercept_data(
    st: &SessionTls,
    client: Tapped,
    server: TcpStream,
    limit: Duration,
    insecure: bool,
) -> Result<DataLegs, String> {
    // Whatever the client's handshake left queued goes at once, not with the
    // first relayed bytes (in an upload there are none).
    let down = async {
        let mut s = TlsAcceptor::from(st.client_facing.clone())
            .accept(client)
            .await
            .map_err(|e| format!("TLS with the client failed: {e}"))?;
        tokio::io::AsyncWriteExt::flush(&mut s)
            .await
            .map_err(|e| format!("TLS with the client failed: {e}"))?;
        Ok::<_, String>(s)
    };
    let up = |config: Arc<ClientConfig>| async move {
        TlsConnector::from(config)
            .connect(st.name.clone(), server)
            .await
            .map_err(|e| format!("TLS with the server failed: {e}"))
    };
    let both = async {
        let (down, mut up) = match &st.mirror {
            // The client's handshake first: the proxy then does what it did.
            Some(fresh) => {
                let down = down.await?;
                let config = if resumed(down.get_ref().1) {
                    st.upstream.clone()
                } else {
                    fresh.clone()
                };
                (down, up(config).await?)
            }
            None => tokio::try_join!(down, up(st.upstream.clone()))?,
        };
        tokio::io::AsyncWriteExt::flush(&mut up)
            .await
            .map_err(|e| format!("TLS with the server failed: {e}"))?;
        Ok::<_, String>((down, up))
    };
    let (down, up) = match tokio::time::timeout(limit, both).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(format!(
                "the TLS handshakes did not complete within {} s",
                limit.as_secs_f64()
            ));
        }
    };
    let mut info = info_of("protected", &down, &up, insecure);
    info.certificate = None;
    let client_resumed = resumed(down.get_ref().1);
    let server_resumed = resumed(up.get_ref().1);
    info.resumed_from = client_resumed.then(|| "control".to_string());
    info.notes = vec![
        format!(
            "client leg {}: the client {} its TLS session",
            describe(down.get_ref().1),
            if client_resumed {
                "resumed"
            } else {
                "did not resume"
            }
        ),
        format!(
            "server leg {}: the proxy {} its own upstream TLS session{}",
            describe(up.get_ref().1),
            if server_resumed {
                "resumed"
            } else {
                "did not resume"
            },
            if !client_resumed && server_resumed {
                " (a server that requires session reuse would have refused this client directly)"
            } else if st.mirror.is_some() {
                " (--no-reuse-bridge: as the client did)"
            } else {
                ""
            }
        ),
    ];
    Ok(DataLegs {
        client: down,
        server: up,
        info,
    })
}

/// The facts of a data connection whose handshakes failed.
pub fn failed_data_info(why: &str) -> TlsInfo {
    TlsInfo {
        mode: "protected",
        handshake: "failed",
        notes: vec![format!("ftpscope proxy --tls-intercept: {why}")],
        ..TlsInfo::default()
    }
}

/// The facts of a PROT C data connection of an intercepted session.
pub fn clear_info() -> TlsInfo {
    TlsInfo {
        mode: "clear",
        handshake: "none",
        ..TlsInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_host_is_the_part_before_the_port() {
        assert_eq!(host_of("ftp.example.net:21"), "ftp.example.net");
        assert_eq!(host_of("127.0.0.2:2121"), "127.0.0.2");
        assert_eq!(host_of("[2001:db8::1]:21"), "2001:db8::1");
        assert_eq!(host_of("ftp.example.net"), "ftp.example.net");
    }

    /// Counts the TLS 1.3 tickets a client is given.
    #[derive(Debug)]
    struct Tickets {
        inner: rustls::client::ClientSessionMemoryCache,
        got: std::sync::atomic::AtomicUsize,
    }

    impl rustls::client::ClientSessionStore for Tickets {
        fn set_kx_hint(&self, n: ServerName<'static>, g: rustls::NamedGroup) {
            self.inner.set_kx_hint(n, g)
        }
        fn kx_hint(&self, n: &ServerName<'_>) -> Option<rustls::NamedGroup> {
            self.inner.kx_hint(n)
        }
        fn set_tls12_session(
            &self,
            n: ServerName<'static>,
            v: rustls::client::Tls12ClientSessionValue,
        ) {
            self.inner.set_tls12_session(n, v)
        }
        fn tls12_session(
            &self,
            n: &ServerName<'_>,
        ) -> Option<rustls::client::Tls12ClientSessionValue> {
            self.inner.tls12_session(n)
        }
        fn remove_tls12_session(&self, n: &ServerName<'static>) {
            self.inner.remove_tls12_session(n)
        }
        fn insert_tls13_ticket(
            &self,
            n: ServerName<'static>,
            v: rustls::client::Tls13ClientSessionValue,
        ) {
            self.got.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.insert_tls13_ticket(n, v)
        }
        fn take_tls13_ticket(
            &self,
            n: &ServerName<'static>,
        ) -> Option<rustls::client::Tls13ClientSessionValue> {
            self.inner.take_tls13_ticket(n)
        }
    }

    /// One TLS 1.3 handshake in memory, then a little data from the server so
    /// the client reads whatever followed the handshake; how it went.
    fn handshake(client: Arc<ClientConfig>, server: Arc<ServerConfig>) -> HandshakeKind {
        let name = ServerName::try_from("ftp.example.test").unwrap();
        let mut c = rustls::ClientConnection::new(client, name).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        let mut wrote = false;
        for _ in 0..20 {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets().unwrap();
            if !s.is_handshaking() && !wrote {
                std::io::Write::write_all(&mut s.writer(), b"x").unwrap();
                wrote = true;
            }
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).unwrap();
            }
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets().unwrap();
        }
        assert!(!c.is_handshaking() && wrote);
        c.handshake_kind().unwrap()
    }

    /// The control connection gives the client its tickets; data connections
    /// resume with them (also a client that uses each ticket once) and give none.
    #[test]
    fn data_connections_resume_the_control_session_and_issue_no_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let opts = TlsOptions {
            ca_dir: Some(dir.path().to_path_buf()),
            upstream_insecure: true,
            ..TlsOptions::default()
        };
        let it = Intercept::new(&opts, "127.0.0.2:21").unwrap();
        let control = it.client_facing_config("ftp.example.test", None).unwrap();
        let data = data_facing(&control);
        let mut roots = RootCertStore::empty();
        roots.add(it.ca.cert().clone()).unwrap();
        let store = Arc::new(Tickets {
            inner: rustls::client::ClientSessionMemoryCache::new(8),
            got: Default::default(),
        });
        let mut cc = ClientConfig::builder_with_provider(it.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cc.resumption = Resumption::store(store.clone());
        let cc = Arc::new(cc);
        let count = || store.got.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(handshake(cc.clone(), control.clone()), HandshakeKind::Full);
        assert_eq!(count(), CONTROL_TICKETS, "the control connection's tickets");
        for i in 1..=CONTROL_TICKETS {
            assert_eq!(
                handshake(cc.clone(), data.clone()),
                HandshakeKind::Resumed,
                "data connection {i}"
            );
        }
        assert_eq!(
            count(),
            CONTROL_TICKETS,
            "data connections issue no tickets"
        );
    }
}
