//! Helpers for the proxy's end-to-end tests: a real FTP server in-process
//! (libunftp over a temporary directory), the proxy, curl, a line-by-line raw
//! client, files with known content. Everything on 127.0.0.1, every wait bounded.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ftpscope::model::Session;
use ftpscope::proxy::{Proxy, ProxyConfig, ProxyHandle, ProxyObserver};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub const USER: &str = "tester";
pub const PASS: &str = "s3cret-pass";

/// True when the tests run in CI, where every optional tool must be present.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Is curl here? Outside CI a missing curl skips the test with a message; in CI it fails.
pub fn require_curl(test: &str) -> bool {
    let ok = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "{test}: curl is required when CI is set");
        eprintln!("SKIPPED {test}: curl is not installed");
    }
    ok
}

/// An FTP server (libunftp) on 127.0.0.1 serving `root`, active and passive mode.
pub struct Server {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn server() -> Server {
    server_with(None).await
}

/// A server that also speaks explicit FTPS (AUTH TLS) with a throw-away
/// self-signed certificate made by `openssl`; None when openssl is missing.
pub async fn tls_server(certs: &tempfile::TempDir) -> Option<Server> {
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    Some(server_with(Some((cert, key))).await)
}

/// A server that also speaks explicit FTPS (AUTH TLS, rustls) with the
/// certificate chain `cert` and the key `key` (PEM files), e.g. from a test CA.
pub async fn tls_server_with(cert: PathBuf, key: PathBuf) -> Server {
    server_with(Some((cert, key))).await
}

async fn server_with(tls: Option<(PathBuf, PathBuf)>) -> Server {
    let root = tempfile::tempdir().expect("temp dir");
    let path = root.path().to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind server");
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let p = path.clone();
            let mut b = libunftp::ServerBuilder::new(Box::new(move || {
                unftp_sbe_fs::Filesystem::new(p.clone()).expect("server root")
            }))
            .active_passive_mode(libunftp::options::ActivePassiveMode::ActiveAndPassive);
            if let Some((c, k)) = &tls {
                b = b.ftps(c.clone(), k.clone());
            }
            let server = b.build().expect("libunftp server");
            tokio::spawn(async move {
                let _ = server.service(sock).await;
            });
        }
    });
    Server { addr, root, task }
}

/// Finished sessions, as the proxy hands them over.
#[derive(Default)]
pub struct Collect {
    pub sessions: Mutex<Vec<Session>>,
    pub messages: Mutex<Vec<String>>,
}

impl ProxyObserver for Collect {
    fn session_finished(&self, s: &Session) {
        self.sessions.lock().unwrap().push(s.clone());
    }
    fn message(&self, m: &str) {
        self.messages.lock().unwrap().push(m.to_string());
    }
}

pub struct RunningProxy {
    pub addr: SocketAddr,
    pub handle: ProxyHandle,
    pub token: CancellationToken,
    pub collect: Arc<Collect>,
    join: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A proxy config for `upstream` listening on 127.0.0.1 at a free port.
pub fn config(upstream: SocketAddr) -> ProxyConfig {
    let mut c = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), upstream.to_string());
    c.idle_timeout = Duration::from_secs(30);
    c.connect_timeout = Duration::from_secs(5);
    c
}

pub async fn proxy(cfg: ProxyConfig) -> RunningProxy {
    let p = Proxy::bind(cfg).await.expect("proxy binds");
    let addr = p.local_addr();
    let handle = p.handle();
    let token = CancellationToken::new();
    let collect = Arc::new(Collect::default());
    let join = tokio::spawn(p.serve(token.clone(), collect.clone()));
    RunningProxy {
        addr,
        handle,
        token,
        collect,
        join: Some(join),
    }
}

impl RunningProxy {
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{}{}", self.addr, path)
    }

    /// Wait until `n` sessions have finished (at most `limit`).
    pub async fn sessions(&self, n: usize, limit: Duration) -> Vec<Session> {
        let until = Instant::now() + limit;
        loop {
            let s = self.collect.sessions.lock().unwrap().clone();
            if s.len() >= n {
                return s;
            }
            assert!(
                Instant::now() < until,
                "only {} of {n} sessions finished within {limit:?}; status: {}",
                s.len(),
                self.handle.status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Shut the proxy down and return every finished session.
    pub async fn stop(mut self) -> Vec<Session> {
        self.token.cancel();
        if let Some(j) = self.join.take() {
            tokio::time::timeout(Duration::from_secs(15), j)
                .await
                .expect("proxy stops within 15 s")
                .expect("proxy task")
                .expect("proxy result");
        }
        self.collect.sessions.lock().unwrap().clone()
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Is python3 here? Outside CI a missing python3 skips the test with a message;
/// in CI it fails.
pub fn require_python(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "{test}: python3 is required when CI is set");
        eprintln!("SKIPPED {test}: python3 is not installed");
    }
    ok
}

/// Python's ftplib downloading `path` from `addr` into `dst` no faster than
/// `rate` bytes per second: it sleeps after each block it reads for as long as
/// the block takes at that rate, so the transfer lasts at least len / rate
/// seconds whatever the machine's load (curl's `--limit-rate` averages over
/// seconds and, on a loaded machine, sometimes reads a whole socket buffer at
/// once). `passive`: PASV, else PORT. Returns the command, ready to spawn.
pub fn slow_ftplib_download(
    addr: SocketAddr,
    path: &str,
    dst: &Path,
    rate: u32,
    passive: bool,
) -> tokio::process::Command {
    const SCRIPT: &str = r#"
import ftplib, sys, time
host, port, user, password, path, dst, rate, passive = sys.argv[1:9]
rate = float(rate)
ftp = ftplib.FTP()
ftp.connect(host, int(port), timeout=60)
ftp.login(user, password)
ftp.set_pasv(passive == "1")
with open(dst, "wb") as out:
    def block(b):
        out.write(b)
        time.sleep(len(b) / rate)
    ftp.retrbinary("RETR " + path, block, blocksize=16384)
ftp.quit()
"#;
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(USER)
        .arg(PASS)
        .arg(path)
        .arg(dst)
        .arg(rate.to_string())
        .arg(if passive { "1" } else { "0" })
        .kill_on_drop(true);
    cmd
}

/// curl with a time limit; returns its output.
pub async fn curl(args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-sS", "--max-time", "60", "-u", &format!("{USER}:{PASS}")]);
    cmd.args(args);
    cmd.kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("curl finishes within 90 s")
        .expect("curl runs")
}

pub fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: curl failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A file of `len` bytes of reproducible pseudo-random content.
pub fn make_file(path: &Path, len: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

pub fn sha256(path: &Path) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn tmp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Verbs of a session's commands, in order.
pub fn verbs(s: &Session) -> Vec<String> {
    s.exchanges
        .iter()
        .filter_map(|e| e.command.as_ref().map(|c| c.verb.clone()))
        .collect()
}

/// Every note of a session (commands, replies, channels, anomalies), for searching.
pub fn all_notes(s: &Session) -> String {
    let mut out = String::new();
    for e in &s.exchanges {
        if let Some(c) = &e.command {
            for n in &c.notes {
                out.push_str(&format!("[{}] {n}\n", c.verb));
            }
        }
        for r in &e.replies {
            for n in &r.notes {
                out.push_str(&format!("[{}] {n}\n", r.code));
            }
        }
    }
    for d in &s.data_channels {
        for n in &d.notes {
            out.push_str(&format!("[{}] {n}\n", d.via));
        }
    }
    for a in &s.anomalies {
        out.push_str(&format!("[anomaly] {a}\n"));
    }
    out
}

/// A client that sends lines and reads replies, for what real clients will not do.
pub struct RawClient {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> (RawClient, String) {
        let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let (r, w) = s.into_split();
        let mut c = RawClient {
            r: BufReader::new(r),
            w,
        };
        let greeting = c.reply().await;
        (c, greeting)
    }

    /// One whole reply (multi-line replies joined), e.g. `"227 Entering ..."`.
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        let mut code: Option<String> = None;
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.r.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read reply");
            assert!(
                n > 0,
                "connection closed while waiting for a reply; got {all:?}"
            );
            all.push_str(&line);
            let l = line.trim_end();
            match &code {
                None => {
                    if l.len() >= 4 && &l[3..4] == "-" {
                        code = Some(l[..3].to_string());
                    } else {
                        return l.to_string();
                    }
                }
                Some(c) => {
                    if l.starts_with(c.as_str()) && l.as_bytes().get(3) == Some(&b' ') {
                        return all.trim_end().to_string();
                    }
                }
            }
        }
    }

    pub async fn send(&mut self, line: &str) {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("send");
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(line).await;
        self.reply().await
    }

    pub async fn login(&mut self) {
        let r = self.cmd(&format!("USER {USER}")).await;
        assert!(r.starts_with("331"), "{r}");
        let r = self.cmd(&format!("PASS {PASS}")).await;
        assert!(r.starts_with("230"), "{r}");
    }

    pub async fn quit(mut self) {
        let _ = self.cmd("QUIT").await;
        let _ = self.w.shutdown().await;
    }
}

/// The address of a 227 reply.
pub fn addr_227(reply: &str) -> SocketAddr {
    let a = ftpscope::ftp::address::parse_227(reply.as_bytes()).expect("227 address");
    SocketAddr::V4(a)
}

// ---- pure-ftpd from the capture lab (a real server in its own process) ----

pub const PUREFTPD: &str = "/opt/ftpscope-lab/pure-ftpd/usr/sbin/pure-ftpd";
pub const HOME: &str = "/srv/ftpscope-lab/home";
pub const LAB_USER: &str = "ftpuser";
pub const LAB_PASS: &str = "s3cret-pass";

pub struct PureFtpd {
    child: std::process::Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

impl Drop for PureFtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn lab_available(test: &str) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let user = std::process::Command::new("id")
        .arg(LAB_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if Path::new(PUREFTPD).exists() && Path::new(HOME).is_dir() && root && user {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: needs pure-ftpd from captures/make/install-lab.sh, the user {LAB_USER} and root"
    );
    false
}

/// Start a server that binds a port it is told (pure-ftpd, vsftpd cannot report
/// one they chose): `spawn(port)` starts it on a candidate port, and the candidate
/// holds only once the child itself owns the listening socket (its descriptors, read
/// from /proc). Another process taking the port between choosing and binding makes
/// the child fail or someone else listen: then the child is stopped and another
/// port tried, at most 10 times.
pub async fn start_listening_server(
    what: &str,
    mut spawn: impl FnMut(u16) -> std::process::Child,
) -> (std::process::Child, SocketAddr) {
    for _ in 0..10 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a candidate port")
            .port();
        let mut child = spawn(port);
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if owns_listener(child.id(), port) {
                return (child, SocketAddr::from(([127, 0, 0, 1], port)));
            }
            if child.try_wait().expect("try_wait").is_some() || Instant::now() >= until {
                eprintln!("{what} did not listen on port {port}; trying another port");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("{what} did not listen on any of 10 ports");
}

/// Does process `pid` hold a socket listening on TCP `port` (any address)?
pub fn owns_listener(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if f.len() > 9 && f[3] == "0A" && local_port == Some(port) {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|e| {
        std::fs::read_link(e.path())
            .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
    })
}

/// The line the proxy writes to stderr once its socket listens:
/// `ftpscope proxy: listening on ADDR, relaying to ...`; the address in it.
pub fn listening_addr(stderr: &str) -> Option<SocketAddr> {
    stderr.lines().find_map(|l| {
        l.strip_prefix("ftpscope proxy: listening on ")?
            .split(',')
            .next()?
            .parse()
            .ok()
    })
}

/// Start the `ftpscope proxy` command `cmd` (its arguments but `--listen`) on
/// `127.0.0.1:0`, stdin closed, stderr to the file `err`: the system chooses the
/// port and the proxy tells it in its first stderr line ([`listening_addr`]), so no
/// port is chosen by the test and none can be taken in between. Returns once the
/// socket listens (the line is written after binding), at most 10 s, without a
/// probe connection that would become a session.
pub fn spawn_proxy(
    mut cmd: std::process::Command,
    err: &Path,
) -> (std::process::Child, SocketAddr) {
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null())
        .stderr(std::fs::File::create(err).expect("the stderr file"))
        .spawn()
        .expect("ftpscope proxy starts");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(err).unwrap_or_default();
        if let Some(addr) = listening_addr(&text) {
            return (child, addr);
        }
        if let Some(st) = child.try_wait().expect("try_wait") {
            panic!("the proxy exited at start ({st}): {text}");
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the proxy did not say where it listens within 10 s: {text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ftpscope proxy` from the binary cargo built.
pub fn proxy_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ftpscope"));
    cmd.arg("proxy");
    cmd
}

pub async fn start_pureftpd() -> PureFtpd {
    start_pureftpd_in("proxy-e2e").await
}

/// pure-ftpd with a directory of its own, `{name}-{pid}` in the user's home
/// (tests running at once each need their own: the directory goes on drop).
pub async fn start_pureftpd_in(name: &str) -> PureFtpd {
    let dir = Path::new(HOME).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::process::Command::new("chown")
        .arg(format!("{LAB_USER}:{LAB_USER}"))
        .arg(&dir)
        .status()
        .unwrap();
    let (child, addr) = start_listening_server("pure-ftpd", |port| {
        std::process::Command::new(PUREFTPD)
            .args(["-l", "unix", "-E", "-A", "-H"])
            .args(["-S", &format!("127.0.0.1,{port}")])
            .args(["-p", "40000:40999"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pure-ftpd starts")
    })
    .await;
    PureFtpd { child, addr, dir }
}

pub async fn lab_curl(args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "60",
        "-u",
        &format!("{LAB_USER}:{LAB_PASS}"),
    ]);
    cmd.args(args);
    cmd.kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("curl in time")
        .expect("curl runs")
}
