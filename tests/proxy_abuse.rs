//! The proxy under abuse (issue 7, hostile input): the real `ftpscope proxy`
//! binary as a child process, on loopback, attacked by its clients and by its
//! upstream server, while it must keep relaying a well-behaved client's bytes
//! exactly, record what happened, stay within a memory bound (VmHWM from
//! /proc) and give back every descriptor (no task left behind).
//!
//! * `clients_abuse_the_proxy_while_curl_downloads`: libunftp (in-process) behind
//!   the proxy; 1,000 connections at once beyond `--max-sessions` (while the
//!   proxy is paused, so that the listen backlog must hold them), 200
//!   slow-loris clients, NUL bytes and garbage, a 20 KiB line and a 10 MB line
//!   without a newline, PORT/EPRT bounces, a port thief from 127.0.0.2, clients
//!   vanishing mid-download. curl uploads through the same proxy, rate-limited,
//!   for the whole time, and downloads between and during the attacks; every
//!   SHA-256 must match.
//! * `hostile_upstream_cannot_hurt_the_proxy`: a tiny raw TCP "server" written
//!   here, which misbehaves as the USER name asks: garbage with NUL and Telnet
//!   bytes, a 20 KiB and a 10 MB reply line, a 3,000-line reply, a 227- reply
//!   that never ends, a 227 naming another host, vanishing mid-transfer.
//! * `never_ending_replies_are_not_held_in_converted_modes`: the same never-ending
//!   replies with `--upstream-mode passive` and `active` (in-process proxy).
//! * `big_finished_sessions_do_not_pile_up` (ignored, a measurement).
//!
//! Linux only (/proc). Figures are printed (`-- --nocapture`); see
//! docs/fuzzing.md, "The proxy under abuse". Every wait is bounded; everything
//! stays on 127.0.0.0/8.
#![cfg(target_os = "linux")]

mod proxy_support;

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxy_support::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// The proxy's idle timeout in these tests: a slow-loris client is cut after it.
const IDLE: Duration = Duration::from_secs(3);
/// Sessions the abused proxy serves at once.
const MAX_SESSIONS: usize = 600;
/// Connections opened at once.
const BURST: usize = 1000;
/// Slow-loris clients.
const LORIS: usize = 200;

// ---------------------------------------------------------------------------
// The proxy as a child process, and what /proc says about it.

/// Raise the soft limit on open files towards `want` (1,000 connections need
/// about 2,000 descriptors in this process and as many in the proxy, which
/// inherits the limit). Returns the limit in force.
// `rlim_t` is `u64` on Linux, not everywhere.
#[allow(clippy::unnecessary_cast)]
fn raise_nofile(want: u64) -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls get a pointer to a valid, initialised rlimit on the stack.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        if (r.rlim_cur as u64) < want {
            r.rlim_cur = (want as libc::rlim_t).min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        }
    }
    r.rlim_cur as u64
}

#[derive(Clone, Copy, Debug)]
struct ProcStat {
    /// Resident set now, and its peak (VmHWM), in KiB.
    rss_kb: u64,
    hwm_kb: u64,
    threads: u64,
    fds: usize,
}

fn proc_stat(pid: u32) -> ProcStat {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .count();
    ProcStat {
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
        threads: field("Threads:"),
        fds,
    }
}

/// `ftpscope proxy ... --log FILE --json`, run from the binary cargo built.
struct ChildProxy {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    err: PathBuf,
    _dir: tempfile::TempDir,
}

impl ChildProxy {
    fn start(upstream: SocketAddr, extra: &[&str]) -> ChildProxy {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sessions.jsonl");
        let err = dir.path().join("stderr.txt");
        let mut cmd = proxy_command();
        cmd.args(["--upstream", &upstream.to_string()])
            .arg("--log")
            .arg(&log)
            .arg("--json")
            .args(extra)
            .stdout(Stdio::null());
        let (child, addr) = spawn_proxy(cmd, &err);
        ChildProxy {
            child,
            addr,
            log,
            err,
            _dir: dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stat(&self) -> ProcStat {
        proc_stat(self.pid())
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Wait until the proxy holds at most `fds` descriptors (its sessions and data
    /// tasks are gone), at most `limit`; returns the count seen last.
    async fn settle_fds(&self, fds: usize, limit: Duration) -> usize {
        let until = Instant::now() + limit;
        loop {
            let n = self.stat().fds;
            if n <= fds || Instant::now() >= until {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        let r = unsafe { libc::kill(self.pid() as libc::pid_t, sig) };
        assert_eq!(r, 0, "kill({sig}): {}", io::Error::last_os_error());
    }

    /// Until the log holds `n` sessions, at most 20 s.
    async fn wait_logged(&self, n: usize) {
        let until = Instant::now() + Duration::from_secs(20);
        while self.sessions().len() < n {
            assert!(
                Instant::now() < until,
                "{} sessions in the log after 20 s, {n} expected",
                self.sessions().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit status within 15 s.
    fn stop(&mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < until,
                "the proxy did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every session in the log (one JSON object per line).
    fn sessions(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        // Only whole lines: the proxy may be writing the next one.
        let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
        whole
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a log line is JSON"))
            .collect()
    }
}

impl Drop for ChildProxy {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Reading the log.

fn user_of(s: &Value) -> &str {
    s["user"].as_str().unwrap_or("")
}

/// Who sent which USER, by client address. The log is searched by address: a
/// USER line itself may be missing from it when the hub fell behind and dropped
/// observations (by design: the relay never waits; the transcript shows a gap).
static USERS: Mutex<Vec<(String, SocketAddr)>> = Mutex::new(Vec::new());

/// The one session in `all` of the client that sent `USER user`.
fn by_user<'a>(all: &'a [Value], user: &str) -> &'a Value {
    let clients: Vec<String> = USERS
        .lock()
        .unwrap()
        .iter()
        .filter(|(u, _)| u == user)
        .map(|(_, a)| a.to_string())
        .collect();
    // By address, but not a session whose USER is another's: the client's port
    // can be reused by a later connection of another abuser (seen in CI).
    let found: Vec<&Value> = all
        .iter()
        .filter(|s| clients.iter().any(|c| s["client"].as_str() == Some(c)))
        .filter(|s| user_of(s).is_empty() || user_of(s) == user)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one session of user {user} ({clients:?}), users in the log: {:?}",
        all.iter().map(user_of).collect::<HashSet<_>>()
    );
    found[0]
}

/// Bytes missing from a session's transcript (observations dropped while the
/// hub was behind), both directions.
fn gap_bytes(s: &Value) -> u64 {
    s["capture"]["gap_bytes"]
        .as_array()
        .map_or(0, |v| v.iter().filter_map(Value::as_u64).sum())
}

/// A session for an assertion message, cut short (a 10 MB line is in some).
fn brief(s: &Value) -> String {
    let t = format!("{s:#}");
    match t.char_indices().nth(4000) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t,
    }
}

/// The session as one string, to look for a note wherever it is.
fn text_of(s: &Value) -> String {
    s.to_string()
}

fn channel<'a>(s: &'a Value, verb: &str) -> &'a Value {
    s["data_channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["command"].as_str() == Some(verb))
        .unwrap_or_else(|| panic!("no {verb} data channel in {}", brief(s)))
}

fn reply_codes(s: &Value) -> Vec<u64> {
    s["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["replies"].as_array().unwrap().iter())
        .map(|r| r["code"].as_u64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// A line client that can also misbehave.

struct Ftp {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
    local: SocketAddr,
}

const REPLY_WAIT: Duration = Duration::from_secs(15);

impl Ftp {
    async fn connect(addr: SocketAddr) -> (Ftp, String) {
        let s = tokio::time::timeout(REPLY_WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let local = s.local_addr().unwrap();
        let (r, w) = s.into_split();
        let mut c = Ftp {
            r: BufReader::new(r),
            w,
            local,
        };
        let g = c.reply().await;
        (c, g)
    }

    /// One whole reply (a multi-line reply joined by newlines), at most 10,000 lines.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        let mut first: Option<Vec<u8>> = None;
        for _ in 0..10_000 {
            let mut line = Vec::new();
            let n = tokio::time::timeout(REPLY_WAIT, self.r.read_until(b'\n', &mut line))
                .await
                .expect("a reply in time")
                .expect("read a reply");
            assert!(n > 0, "closed while waiting for a reply; got {all:?}");
            let l = line.trim_ascii_end();
            all.push_str(&String::from_utf8_lossy(l));
            match &first {
                None => {
                    if l.get(3) != Some(&b'-') {
                        return all;
                    }
                    first = Some(l[..3].to_vec());
                }
                Some(code) if l.starts_with(code) && l.get(3) == Some(&b' ') => return all,
                Some(_) => {}
            }
            all.push('\n');
        }
        let head: String = all.chars().take(200).collect();
        panic!("a reply of more than 10,000 lines: {head}");
    }

    async fn send_raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b).await
    }

    async fn send(&mut self, line: &str) {
        if let Some(u) = line.strip_prefix("USER ") {
            USERS.lock().unwrap().push((u.to_string(), self.local));
        }
        self.send_raw(format!("{line}\r\n").as_bytes())
            .await
            .expect("send");
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(line).await;
        self.reply().await
    }

    async fn login(&mut self, user: &str) {
        let r = self.cmd(&format!("USER {user}")).await;
        assert!(r.starts_with("331") || r.starts_with("230"), "{r}");
        if r.starts_with("331") {
            let r = self.cmd(&format!("PASS {PASS}")).await;
            assert!(r.starts_with("230"), "{r}");
        }
    }

    /// Exactly `n` bytes (or fewer if the connection ends first), within `limit`.
    async fn read_n(&mut self, n: usize, limit: Duration) -> Vec<u8> {
        let mut out = Vec::with_capacity(n.min(1 << 24));
        let mut buf = vec![0u8; 64 * 1024];
        let until = tokio::time::Instant::now() + limit;
        while out.len() < n {
            let want = (n - out.len()).min(buf.len());
            match tokio::time::timeout_at(until, self.r.read(&mut buf[..want])).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(k)) => out.extend_from_slice(&buf[..k]),
            }
        }
        out
    }

    /// Make the coming close a reset (RST), as a crashed or killed peer's is.
    fn reset(self) {
        let s = self.r.into_inner().reunite(self.w).unwrap();
        let _ = s.set_zero_linger();
    }
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read a data connection to its end (or `cap` bytes, or an error), within `limit`.
async fn drain(d: &mut TcpStream, cap: usize, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let until = tokio::time::Instant::now() + limit;
    loop {
        if out.len() >= cap {
            return (out, false);
        }
        let want = (cap - out.len()).min(buf.len());
        match tokio::time::timeout_at(until, d.read(&mut buf[..want])).await {
            Ok(Ok(0)) => return (out, true),
            Ok(Ok(k)) => out.extend_from_slice(&buf[..k]),
            Ok(Err(_)) => return (out, false),
            Err(_) => panic!("data connection neither ended nor moved within {limit:?}"),
        }
    }
}

fn addr_of_227(reply: &str) -> SocketAddr {
    let start = reply.find("227").expect("a 227 reply");
    addr_227(&reply[start..])
}

// ---------------------------------------------------------------------------
// Clients that abuse the proxy.

#[derive(Debug, Default)]
struct BurstResult {
    /// Connections answered 220, by their local address (to find them in the log).
    greeted: Vec<SocketAddr>,
    /// Answered 421 (too many sessions).
    busy: usize,
    /// Closed without a line (the proxy's idle timeout, when the upstream
    /// greeting is slower than it).
    closed: Vec<SocketAddr>,
    /// Anything else: connect errors, other first lines, no answer (hung).
    errors: Vec<String>,
    took: Duration,
}

enum Answer {
    Greeted(SocketAddr),
    Busy,
    Closed(SocketAddr),
}

/// `n` connections opened at once; each counts itself in `connected` when its
/// handshake is done, reads the first line and keeps its socket until all have
/// one. Returns how they were answered.
async fn burst(addr: SocketAddr, n: usize, connected: Arc<AtomicUsize>) -> BurstResult {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..n {
        let connected = connected.clone();
        set.spawn(async move {
            let wait = Duration::from_secs(20);
            let s = match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return (Err(format!("connect: {e}")), None),
                Err(_) => return (Err("connect: no answer in 20 s".to_string()), None),
            };
            connected.fetch_add(1, Ordering::Relaxed);
            let local = s.local_addr().unwrap();
            let mut r = BufReader::new(s);
            let mut line = Vec::new();
            let answer = match tokio::time::timeout(wait, r.read_until(b'\n', &mut line)).await {
                Err(_) => Err(format!("{local}: no first line within 20 s (hung)")),
                Ok(Err(e)) => Err(format!("read: {e}")),
                Ok(Ok(0)) => Ok(Answer::Closed(local)),
                Ok(Ok(_)) if line.starts_with(b"220") => Ok(Answer::Greeted(local)),
                Ok(Ok(_)) if line.starts_with(b"421") => Ok(Answer::Busy),
                Ok(Ok(_)) => Err(format!("first line {:?}", String::from_utf8_lossy(&line))),
            };
            (answer, Some(r))
        });
    }
    let mut res = BurstResult::default();
    let mut keep = Vec::with_capacity(n);
    while let Some(j) = set.join_next().await {
        let (answer, sock) = j.expect("burst task");
        keep.push(sock);
        match answer {
            Ok(Answer::Greeted(a)) => res.greeted.push(a),
            Ok(Answer::Busy) => res.busy += 1,
            Ok(Answer::Closed(a)) => res.closed.push(a),
            Err(e) => res.errors.push(e),
        }
    }
    res.took = t0.elapsed();
    drop(keep);
    res
}

#[derive(Debug)]
struct Loris {
    local: SocketAddr,
    /// From the greeting to the proxy closing the connection (None: never cut).
    cut_after: Option<Duration>,
    sent: usize,
}

/// One client sending a command line one byte a second, never finishing it;
/// gives up after 12 bytes.
async fn slow_loris(addr: SocketAddr) -> Result<Loris, String> {
    let s = tokio::time::timeout(Duration::from_secs(20), TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    let local = s.local_addr().unwrap();
    let mut s = BufReader::new(s);
    let mut g = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_until(b'\n', &mut g))
        .await
        .map_err(|_| "no greeting in 20 s".to_string())?
        .map_err(|e| format!("greeting: {e}"))?;
    if !g.starts_with(b"220") {
        return Err(format!("greeting {:?}", String::from_utf8_lossy(&g)));
    }
    let t0 = Instant::now();
    let line = b"USER slow-loris-never-ends";
    let mut buf = [0u8; 256];
    for (i, b) in line.iter().take(12).enumerate() {
        if s.get_mut().write_all(&[*b]).await.is_err() {
            return Ok(Loris {
                local,
                cut_after: Some(t0.elapsed()),
                sent: i,
            });
        }
        // The pause between bytes doubles as the watch for the proxy closing.
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Ok(Loris {
                    local,
                    cut_after: Some(t0.elapsed()),
                    sent: i + 1,
                });
            }
            Ok(Ok(n)) => return Err(format!("unexpected {:?}", &buf[..n])),
        }
    }
    Ok(Loris {
        local,
        cut_after: None,
        sent: 12,
    })
}

/// NUL and control bytes, a 20 KiB line, a NOOP (which must still be answered
/// 200), then bytes that are not UTF-8 (libunftp answers 500 and hangs up).
async fn client_garbage(addr: SocketAddr) -> String {
    let (mut c, g) = Ftp::connect(addr).await;
    assert!(g.starts_with("220"), "{g}");
    c.login("garbage-client").await;
    c.send_raw(b"NOOP\0with\0NULs\r\n").await.unwrap();
    c.send_raw(b"\0\0\0\x01\x02\x03\x7f\r\n").await.unwrap();
    let mut long = b"SITE ".to_vec();
    long.extend(std::iter::repeat_n(b'L', 20 * 1024));
    long.extend_from_slice(b"\r\n");
    c.send_raw(&long).await.unwrap();
    c.send_raw(b"NOOP\r\n").await.unwrap();
    // The NOOP's answer before the bytes that make libunftp hang up: when both
    // reached it in one read, it failed on the buffer and never answered the
    // NOOP (seen once in a full test run).
    let mut all = String::new();
    for _ in 0..6 {
        let r = c.reply().await;
        all.push_str(&r);
        all.push('\n');
        if r.starts_with("200") {
            break;
        }
    }
    let _ = c.send_raw(b"\x80\xfe\xc3 not UTF-8\r\n").await;
    let _ = c.send_raw(b"QUIT\r\n").await;
    // Everything else the server answered, to its close.
    let got = c.read_n(1 << 20, Duration::from_secs(15)).await;
    all.push_str(&String::from_utf8_lossy(&got));
    all
}

/// 10 MB without a newline, then the write side closed.
async fn client_ten_mb_line(addr: SocketAddr) -> (usize, String) {
    let (mut c, g) = Ftp::connect(addr).await;
    assert!(g.starts_with("220"), "{g}");
    c.login("ten-mb-line").await;
    let chunk = vec![b'X'; 64 * 1024];
    let mut sent = 0;
    let until = Instant::now() + Duration::from_secs(20);
    while sent < 10 << 20 && Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(5), c.send_raw(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => break,
        }
    }
    let _ = c.w.shutdown().await;
    let got = c.read_n(1 << 20, Duration::from_secs(15)).await;
    (sent, String::from_utf8_lossy(&got).to_string())
}

/// PORT to a third host, EPRT to port 25: both must be refused with 5xx.
async fn bounce(addr: SocketAddr) -> (String, String, String) {
    let (mut c, _) = Ftp::connect(addr).await;
    c.login("bouncer").await;
    let a = c.cmd("PORT 192,0,2,7,4,1").await;
    let b = c.cmd("EPRT |1|127.0.0.1|25|").await;
    let n = c.cmd("NOOP").await;
    let _ = c.cmd("QUIT").await;
    (a, b, n)
}

/// A thief from 127.0.0.2 connects to the announced data port first; the client
/// must still get `name` whole.
async fn theft(addr: SocketAddr, name: &str) -> (bool, Vec<u8>) {
    let (mut c, _) = Ftp::connect(addr).await;
    c.login("theft-victim").await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let r = c.cmd("PASV").await;
    let data = addr_of_227(&r);
    let thief = TcpSocket::new_v4().unwrap();
    thief.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut thief_got_nothing = true;
    if let Ok(Ok(mut t)) = tokio::time::timeout(Duration::from_secs(5), thief.connect(data)).await {
        let mut buf = [0u8; 16];
        match tokio::time::timeout(Duration::from_secs(5), t.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            _ => thief_got_nothing = false,
        }
    }
    let mut d = TcpStream::connect(data)
        .await
        .expect("the client's data connection");
    c.send(&format!("RETR {name}")).await;
    let (got, eof) = drain(&mut d, 64 << 20, Duration::from_secs(20)).await;
    assert!(eof, "the victim's download ends with FIN");
    let r = c.reply().await;
    let r = if r.starts_with("150") || r.starts_with("125") {
        c.reply().await
    } else {
        r
    };
    assert!(r.starts_with("226"), "{r}");
    let _ = c.cmd("QUIT").await;
    (thief_got_nothing, got)
}

/// How a client vanishes in the middle of a download.
#[derive(Clone, Copy, Debug)]
enum Vanish {
    /// Resets the data connection, then ends the session politely.
    DataReset,
    /// Resets both connections at once (a killed client).
    BothReset,
    /// Closes the control connection, then the data connection with data unread.
    ControlFirst,
}

/// Start downloading `name` (much larger than what is read), read 1 MB, vanish.
async fn vanish(addr: SocketAddr, name: &str, how: Vanish) -> usize {
    let user = format!("vanish-{how:?}");
    let (mut c, _) = Ftp::connect(addr).await;
    c.login(&user).await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let data = addr_of_227(&c.cmd("PASV").await);
    let mut d = TcpStream::connect(data).await.expect("data connection");
    c.send(&format!("RETR {name}")).await;
    let r = c.reply().await;
    assert!(r.starts_with("150") || r.starts_with("125"), "{r}");
    let (got, _) = drain(&mut d, 1 << 20, Duration::from_secs(20)).await;
    match how {
        Vanish::DataReset => {
            let _ = d.set_zero_linger();
            drop(d);
            // The server notices (426/451), or finished writing before the reset
            // reached it (226); either way the session goes on.
            let r = c.reply().await;
            assert!(
                r.starts_with("426") || r.starts_with("451") || r.starts_with("226"),
                "{r}"
            );
            let q = c.cmd("QUIT").await;
            assert!(q.starts_with("221"), "{q}");
        }
        Vanish::BothReset => {
            let _ = d.set_zero_linger();
            drop(d);
            c.reset();
        }
        Vanish::ControlFirst => {
            let _ = c.w.shutdown().await;
            drop(c);
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(d);
        }
    }
    got.len()
}

/// curl through the proxy; returns the SHA-256 of what it wrote.
async fn curl_get(p: SocketAddr, name: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(name);
    let out_s = out.to_string_lossy().to_string();
    let url = format!("ftp://{p}/{name}");
    let mut args = vec!["--disable-epsv"];
    args.extend_from_slice(extra);
    args.extend(["-o", &out_s, &url]);
    let o = curl(&args).await;
    assert_ok(&o, name);
    sha256(&out)
}

/// A new client gets its greeting again (after a burst), within `limit`.
async fn greets_again(addr: SocketAddr, limit: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
        {
            let mut r = BufReader::new(s);
            let mut l = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), r.read_until(b'\n', &mut l));
            if matches!(read.await, Ok(Ok(_))) && l.starts_with(b"220") {
                let _ = r.get_mut().write_all(b"QUIT\r\n").await;
                return t0.elapsed();
            }
        }
        assert!(
            t0.elapsed() < limit,
            "the proxy does not greet new clients within {limit:?} after the burst"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_abuse_the_proxy_while_curl_downloads() {
    const T: &str = "clients_abuse_the_proxy_while_curl_downloads";
    if !require_curl(T) {
        return;
    }
    let nofile = raise_nofile(8192);
    if nofile < 4096 {
        assert!(!in_ci(), "{T}: RLIMIT_NOFILE is {nofile}, 4096 needed");
        eprintln!("SKIPPED {T}: RLIMIT_NOFILE is {nofile} and cannot be raised to 4096");
        return;
    }
    let t_all = Instant::now();
    let srv = server().await;
    let root = srv.root.path();
    make_file(&root.join("good.bin"), 4 << 20);
    make_file(&root.join("slow.bin"), 2 << 20);
    let want_slow = sha256(&root.join("slow.bin"));
    make_file(&root.join("theft.bin"), 300_000);
    make_file(&root.join("big.bin"), 48 << 20);
    let want_good = sha256(&root.join("good.bin"));
    let up_dir = tempfile::tempdir().unwrap();
    let up_src = up_dir.path().join("slow-up.bin");
    make_file(&up_src, 2 << 20);
    let want_up = sha256(&up_src);
    let want_theft = sha256(&root.join("theft.bin"));
    let mut px = ChildProxy::start(
        srv.addr,
        &[
            "--max-sessions",
            &MAX_SESSIONS.to_string(),
            "--idle-timeout",
            &format!("{}s", IDLE.as_secs()),
            "--connect-timeout",
            "5s",
        ],
    );
    let addr = px.addr;

    // Warm up: one good download, then the baseline.
    assert_eq!(curl_get(addr, "good.bin", &[]).await, want_good);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = px.stat();

    // The well-behaved client, slowed so that its transfers span the abuse: an
    // upload and a download of 2 MB at 250 KB/s. The download's bytes all sit in
    // socket buffers within a fraction of a second, and curl reads them for 8 s,
    // far beyond the 3 s idle timeout: the proxy must not reset it (it did).
    let slow = tokio::spawn(async move {
        let t0 = Instant::now();
        let src = up_src.to_string_lossy().to_string();
        let url = format!("ftp://{addr}/slow-up.bin");
        let up_args = ["--limit-rate", "250K", "-T", &src, &url];
        let (up, down) = tokio::join!(
            curl(&up_args),
            curl_get(addr, "slow.bin", &["--limit-rate", "250K"]),
        );
        assert_ok(&up, "rate-limited upload");
        (down, t0.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. A thousand connections at once, beyond --max-sessions, while the proxy
    // is paused (SIGSTOP): it cannot absorb them by accepting fast, so the
    // kernel's accept queue must hold them all (the listen backlog).
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(4096);
    let connected = Arc::new(AtomicUsize::new(0));
    px.signal(libc::SIGSTOP);
    let burst_task = tokio::spawn(burst(addr, BURST, connected.clone()));
    let until = Instant::now() + Duration::from_secs(3);
    while connected.load(Ordering::Relaxed) < BURST && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected_while_paused = connected.load(Ordering::Relaxed);
    px.signal(libc::SIGCONT);
    let b = burst_task.await.expect("burst task");
    let after_burst = px.stat();
    let queue = BURST.min(somaxconn.min(1024) + 1);
    assert!(
        connected_while_paused >= queue,
        "only {connected_while_paused} of {BURST} connections completed their handshake while the \
         proxy was paused (expected {queue}: the listen backlog, capped by somaxconn {somaxconn})"
    );
    assert!(
        b.errors.is_empty(),
        "{} failed: {:?}",
        b.errors.len(),
        &b.errors[..b.errors.len().min(5)]
    );
    assert_eq!(b.greeted.len() + b.busy + b.closed.len(), BURST);
    assert!(
        b.greeted.len() < MAX_SESSIONS,
        "at most --max-sessions (minus curl's) greeted: {}",
        b.greeted.len()
    );
    assert!(
        b.busy >= BURST - MAX_SESSIONS,
        "the excess is answered 421: {} of {}",
        b.busy,
        BURST
    );
    assert!(px.alive(), "the proxy died in the burst: {}", px.stderr());
    let recovered = greets_again(addr, Duration::from_secs(15)).await;
    // Between bursts a normal client is served again.
    assert_eq!(curl_get(addr, "good.bin", &[]).await, want_good);

    // 2. Everything else at once: slow-loris, garbage, long lines, bounces, a
    // port thief, clients vanishing mid-transfer.
    let t2 = Instant::now();
    // Downloads, one after the other, all through phase 2.
    let phase2_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let downloads = {
        let done = phase2_done.clone();
        let want = want_good.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) && n < 50 {
                assert_eq!(curl_get(addr, "good.bin", &[]).await, want, "download {n}");
                n += 1;
            }
            n
        })
    };
    let loris = async {
        let mut set = JoinSet::new();
        for _ in 0..LORIS {
            set.spawn(slow_loris(addr));
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.expect("loris task"));
        }
        out
    };
    let (loris, garbage, ten_mb, bounced, stolen, v1, v2, v3) = tokio::join!(
        loris,
        client_garbage(addr),
        client_ten_mb_line(addr),
        bounce(addr),
        theft(addr, "theft.bin"),
        vanish(addr, "big.bin", Vanish::DataReset),
        vanish(addr, "big.bin", Vanish::BothReset),
        vanish(addr, "big.bin", Vanish::ControlFirst),
    );
    let phase2 = t2.elapsed();
    let after_abuse = px.stat();
    phase2_done.store(true, Ordering::Relaxed);
    let downloads = tokio::time::timeout(Duration::from_secs(60), downloads)
        .await
        .expect("the downloads end")
        .expect("every download during phase 2 is whole");
    assert!(downloads >= 1);

    // The slow client's files arrived byte for byte, through all of it.
    let (slow_down, slow_took) = tokio::time::timeout(Duration::from_secs(60), slow)
        .await
        .expect("the slow transfers end")
        .expect("slow transfers");
    assert_eq!(
        sha256(&root.join("slow-up.bin")),
        want_up,
        "the well-behaved upload was altered"
    );
    assert_eq!(
        slow_down, want_slow,
        "the well-behaved download was altered"
    );
    // And the proxy still serves afterwards.
    assert_eq!(curl_get(addr, "good.bin", &[]).await, want_good);
    assert!(px.alive(), "{}", px.stderr());

    // Slow-loris: every one cut by the idle timeout, none served forever.
    let loris: Vec<Loris> = loris
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("slow-loris client: {e}")))
        .collect();
    let cuts: Vec<Duration> = loris.iter().filter_map(|l| l.cut_after).collect();
    assert_eq!(
        cuts.len(),
        LORIS,
        "slow-loris clients still connected after 12 bytes at 1 byte/s (--idle-timeout {IDLE:?}): {:?}",
        loris
            .iter()
            .filter(|l| l.cut_after.is_none())
            .take(3)
            .collect::<Vec<_>>()
    );
    let (cut_min, cut_max) = (*cuts.iter().min().unwrap(), *cuts.iter().max().unwrap());
    assert!(
        cut_max <= IDLE + Duration::from_secs(4),
        "slow-loris cut too late: {cut_max:?}"
    );
    assert!(loris.iter().all(|l| l.sent < 12));

    // Garbage: each line relayed and answered; the NOOP after it too.
    assert!(garbage.contains("200"), "{garbage}");
    // Bounces: 5xx, and the session goes on.
    assert!(
        bounced.0.starts_with("5"),
        "PORT to a third host: {}",
        bounced.0
    );
    assert!(bounced.1.starts_with("5"), "EPRT to port 25: {}", bounced.1);
    assert!(bounced.2.starts_with("200"), "{}", bounced.2);
    // Theft: refused, the victim's file whole.
    assert!(stolen.0, "the thief got data");
    assert_eq!(sha(&stolen.1), want_theft, "the victim's file");
    for (how, got) in [("DataReset", v1), ("BothReset", v2), ("ControlFirst", v3)] {
        assert!(got > 0 && got <= 1 << 20, "{how}: read {got}");
    }

    // No task left behind: every descriptor of the abuse is given back.
    let fds_after = px.settle_fds(base.fds + 2, Duration::from_secs(15)).await;
    assert!(
        fds_after <= base.fds + 2,
        "descriptors left in the proxy: {fds_after} (baseline {})",
        base.fds
    );
    let end = px.stat();
    let status = px.stop();
    assert!(status.success(), "proxy exit: {status:?}; {}", px.stderr());

    // What the log says.
    let all = px.sessions();
    let clients: HashSet<String> = all
        .iter()
        .map(|s| s["client"].as_str().unwrap().to_string())
        .collect();
    // Every greeted burst connection is a session in the log.
    let missing = b
        .greeted
        .iter()
        .filter(|a| !clients.contains(&a.to_string()))
        .count();
    assert_eq!(missing, 0, "greeted burst connections missing from the log");
    // Those closed before any line were closed by the idle timeout, and say so.
    for a in &b.closed {
        let s = all
            .iter()
            .find(|s| s["client"].as_str() == Some(&a.to_string()))
            .unwrap_or_else(|| {
                panic!("burst connection {a}, closed without a line, not in the log")
            });
        assert!(text_of(s).contains("--idle-timeout"), "{}", brief(s));
    }
    // Every slow-loris client is there, closed by the proxy's idle timeout.
    for l in &loris {
        let s = all
            .iter()
            .find(|s| s["client"].as_str() == Some(&l.local.to_string()))
            .unwrap_or_else(|| panic!("slow-loris {} not in the log", l.local));
        assert!(
            text_of(s).contains("--idle-timeout"),
            "slow-loris session without the idle note: {}",
            brief(s)
        );
    }
    // Garbage and the long lines are in the transcript, noted.
    // (Unless the hub fell behind and dropped those lines: then they are a
    // gap in the transcript, counted; the relay never waits for the hub.)
    let g = by_user(&all, "garbage-client");
    if gap_bytes(g) == 0 {
        assert!(
            text_of(g).contains("bytes long; cut to 8192"),
            "{}",
            brief(g)
        );
        assert!(
            text_of(g).contains("NOOP\\u0000WITH\\u0000NULS"),
            "{}",
            brief(g)
        );
    }
    let t = by_user(&all, "ten-mb-line");
    assert!(
        text_of(t).contains("bytes long; cut to 8192") || gap_bytes(t) > 0,
        "the 10 MB line: {}",
        brief(t)
    );
    // Bounces refused and found.
    let bs = by_user(&all, "bouncer");
    assert!(
        text_of(bs).contains("refused by the proxy"),
        "{}",
        brief(bs)
    );
    assert!(
        bs["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "bounce-port"),
        "{}",
        brief(bs)
    );
    // The thief is noted on the victim's channel, which completed.
    let th = by_user(&all, "theft-victim");
    let ch = channel(th, "RETR");
    assert_eq!(ch["outcome"], "completed", "{}", brief(ch));
    assert!(
        ch.to_string().contains("127.0.0.2") && ch.to_string().contains("port theft"),
        "{}",
        brief(ch)
    );
    // Vanished clients: the download did not complete, and the log says how it ended.
    for how in ["DataReset", "BothReset", "ControlFirst"] {
        let s = by_user(&all, &format!("vanish-{how}"));
        let ch = channel(s, "RETR");
        let outcome = ch["outcome"].as_str().unwrap();
        assert!(
            matches!(outcome, "reset" | "aborted"),
            "{how}: outcome {outcome}: {}",
            brief(ch)
        );
        assert!(
            ch["bytes_to_client"].as_u64().unwrap() < 48 << 20,
            "{how}: {}",
            brief(ch)
        );
    }
    // The slow download completed: the proxy stopped waiting for curl to read
    // the last bytes from its buffers, but closed normally instead of resetting.
    let slow_ch = all
        .iter()
        .flat_map(|s| s["data_channels"].as_array().unwrap().iter())
        .find(|d| d["command"] == "RETR" && d["arg"] == "slow.bin")
        .expect("the slow download in the log");
    assert_eq!(slow_ch["outcome"], "completed", "{}", brief(slow_ch));
    assert_eq!(slow_ch["bytes_to_client"], 2 << 20);
    let closed_of = |u: &str| by_user(&all, u)["closed"].as_str().unwrap().to_string();
    assert_eq!(closed_of("vanish-BothReset"), "rst-by-client");
    assert_eq!(closed_of("vanish-DataReset"), "quit");

    // Memory: the peak over the whole abuse, above the baseline.
    let grew = end.hwm_kb.saturating_sub(base.rss_kb);
    eprintln!(
        "{T}: baseline rss {:.1} MB (hwm {:.1} MB, {} fds, {} threads); after the burst rss {:.1} MB; \
         after phase 2 rss {:.1} MB; end rss {:.1} MB, peak {:.1} MB (+{:.1} MB), {} fds, {} threads",
        mb(base.rss_kb),
        mb(base.hwm_kb),
        base.fds,
        base.threads,
        mb(after_burst.rss_kb),
        mb(after_abuse.rss_kb),
        mb(end.rss_kb),
        mb(end.hwm_kb),
        mb(grew),
        end.fds,
        end.threads,
    );
    eprintln!(
        "{T}: burst of {BURST}: {connected_while_paused} connected while the proxy was paused; {} greeted, {} answered 421, \
         {} closed, in {:.2} s; greeting again after {:.2} s; \
         phase 2 {:.1} s; slow-loris cut after {:.1}-{:.1} s; 10 MB line: {} bytes sent; \
         {} downloads of 4 MB during phase 2; slow upload and download {:.1} s; {} sessions logged; whole test {:.1} s",
        b.greeted.len(),
        b.busy,
        b.closed.len(),
        b.took.as_secs_f64(),
        recovered.as_secs_f64(),
        phase2.as_secs_f64(),
        cut_min.as_secs_f64(),
        cut_max.as_secs_f64(),
        ten_mb.0,
        downloads,
        slow_took.as_secs_f64(),
        all.len(),
        t_all.elapsed().as_secs_f64(),
    );
    let _ = ten_mb.1;
    // Measured +15 to +19 MB (600 sessions at once and their upstream
    // connections, the observation queue); the bound leaves 2.5 times that.
    assert!(
        grew <= 48 * 1024,
        "the proxy's peak RSS grew by {:.1} MB over the abuse",
        mb(grew)
    );
}

// ---------------------------------------------------------------------------
// A hostile upstream server.

/// Bytes the hostile server sends as garbage: reproducible, with NUL, CR, LF
/// and Telnet IAC sequences among them.
fn garbage_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0xC0FF_EE00_D15E_A5E5;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const GARBAGE_LEN: usize = 256 * 1024;
const NUL_REPLY: &[u8] = b"331 NUL\0inside\0this reply\r\n";
const LONG_REPLY_LEN: usize = 20 * 1024;
const HUGE_LINE_LEN: usize = 10 << 20;
const HELP_LINES: usize = 3000;
const HELP_LINE_LEN: usize = 1000;
const ELSEWHERE_LEN: usize = 1 << 20;
const BIG_HELP_LINES: usize = 2100;
const BIG_HELP_LINE_LEN: usize = 8000;
const VANISH_LEN: usize = 2 << 20;

fn garbage_reply() -> Vec<u8> {
    let mut v = garbage_bytes(GARBAGE_LEN);
    v.extend_from_slice(b"\r\n530 end of garbage\r\n");
    v
}

fn long_user_reply() -> Vec<u8> {
    let mut v = b"331 ".to_vec();
    v.extend(std::iter::repeat_n(b'x', LONG_REPLY_LEN));
    v.extend_from_slice(b"\r\n");
    v
}

fn help_line() -> Vec<u8> {
    let mut v = b"214-".to_vec();
    v.extend(std::iter::repeat_n(b'h', HELP_LINE_LEN));
    v.extend_from_slice(b"\r\n");
    v
}

struct Hostile {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hostile_server() -> Hostile {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut sessions = JoinSet::new();
        while let Ok((s, _)) = l.accept().await {
            sessions.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(60), hostile_session(s)).await;
            });
        }
    });
    Hostile { addr, task }
}

/// A reply that never ends: lines of 1,000 bytes after `prefix`, until the peer
/// goes (at most 200 MB or 30 s).
async fn endless(w: &mut OwnedWriteHalf, prefix: &[u8]) -> io::Result<()> {
    let mut l = prefix.to_vec();
    l.extend(std::iter::repeat_n(b'p', 1000));
    l.extend_from_slice(b"\r\n");
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < 200 << 20 && t0.elapsed() < Duration::from_secs(30) {
        w.write_all(&l).await?;
        sent += l.len();
    }
    Ok(())
}

/// One session of the hostile server; what it does depends on the USER name.
async fn hostile_session(s: TcpStream) -> io::Result<()> {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 hostile test server\r\n").await?;
    let mut mode = String::new();
    let mut pasv: Option<TcpListener> = None;
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "USER" => {
                mode = arg.to_string();
                match mode.as_str() {
                    "garbage" => {
                        w.write_all(&garbage_reply()).await?;
                        return Ok(());
                    }
                    "nul" => w.write_all(NUL_REPLY).await?,
                    "longline" => w.write_all(&long_user_reply()).await?,
                    _ => w.write_all(b"331 password please\r\n").await?,
                }
            }
            "PASS" if mode == "longline" => {
                // 10 MB without a newline, then the end of the reply.
                w.write_all(b"230 ").await?;
                let chunk = vec![b'y'; 64 * 1024];
                for _ in 0..HUGE_LINE_LEN / chunk.len() {
                    w.write_all(&chunk).await?;
                }
                w.write_all(b"\r\n230 logged in after all\r\n").await?;
            }
            "PASS" => w.write_all(b"230 logged in\r\n").await?,
            "TYPE" => w.write_all(b"200 type set\r\n").await?,
            "HELP" if mode == "big-help" => {
                let mut l = b"214-".to_vec();
                l.extend(std::iter::repeat_n(b'b', BIG_HELP_LINE_LEN));
                l.extend_from_slice(b"\r\n");
                for _ in 0..BIG_HELP_LINES {
                    w.write_all(&l).await?;
                }
                w.write_all(b"214 end of help\r\n").await?;
            }
            "HELP" => {
                let l = help_line();
                for _ in 0..HELP_LINES {
                    w.write_all(&l).await?;
                }
                w.write_all(b"214 end of help\r\n").await?;
            }
            "PASV" | "EPSV" if mode == "endless-pasv" => return endless(&mut w, b"227-").await,
            "PORT" | "EPRT" if mode == "endless-port" => return endless(&mut w, b"200-").await,
            "PASV" => {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                let p = l.local_addr()?.port();
                // Another host's address (TEST-NET-1), the port of our own listener.
                w.write_all(
                    format!(
                        "227 Entering Passive Mode (192,0,2,1,{},{}).\r\n",
                        p >> 8,
                        p & 0xff
                    )
                    .as_bytes(),
                )
                .await?;
                pasv = Some(l);
            }
            "RETR" => {
                let Some(l) = pasv.take() else {
                    w.write_all(b"425 use PASV first\r\n").await?;
                    continue;
                };
                w.write_all(b"150 here it comes\r\n").await?;
                let (mut d, _) = tokio::time::timeout(Duration::from_secs(10), l.accept())
                    .await
                    .map_err(|_| io::Error::other("no data connection"))??;
                if mode == "vanish" {
                    d.write_all(&garbage_bytes(VANISH_LEN)).await?;
                    // Gone: both connections reset, no 226.
                    let _ = d.set_zero_linger();
                    drop(d);
                    let s = r.into_inner().reunite(w).unwrap();
                    let _ = s.set_zero_linger();
                    return Ok(());
                }
                d.write_all(&garbage_bytes(ELSEWHERE_LEN)).await?;
                d.shutdown().await?;
                drop(d);
                w.write_all(b"226 done\r\n").await?;
            }
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => w.write_all(b"502 not here\r\n").await?,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_upstream_cannot_hurt_the_proxy() {
    const T: &str = "hostile_upstream_cannot_hurt_the_proxy";
    let t_all = Instant::now();
    let hs = hostile_server().await;
    let mut px = ChildProxy::start(
        hs.addr,
        &["--idle-timeout", "10s", "--connect-timeout", "5s"],
    );
    let addr = px.addr;
    // Baseline after one ordinary session.
    {
        let (mut c, g) = Ftp::connect(addr).await;
        assert!(g.starts_with("220"), "{g}");
        c.login("plain").await;
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    px.wait_logged(1).await;
    let base = px.stat();

    // Each case waits until the one before is in the log: its observations are
    // then all processed, and none of the next case's lines is dropped because
    // the hub is behind (that is allowed, but would make the log checks vague).

    // Garbage with NUL, CR, LF and Telnet bytes, then the server closes: every
    // byte reaches the client unaltered.
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.send("USER garbage").await;
        let want = garbage_reply();
        let got = c.read_n(want.len() + 1, Duration::from_secs(20)).await;
        assert_eq!(got.len(), want.len(), "garbage relayed whole, then EOF");
        assert!(got == want, "garbage bytes altered by the proxy");
    }
    px.wait_logged(2).await;
    // NUL inside a reply.
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.send("USER nul").await;
        let got = c.read_n(NUL_REPLY.len(), Duration::from_secs(10)).await;
        assert_eq!(got, NUL_REPLY);
        assert!(c.cmd("PASS x").await.starts_with("230"));
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    px.wait_logged(3).await;
    // A 20 KiB reply line, then a 10 MB one without a newline.
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.send("USER longline").await;
        let want = long_user_reply();
        assert!(c.read_n(want.len(), Duration::from_secs(10)).await == want);
        c.send("PASS x").await;
        let tail = b"\r\n230 logged in after all\r\n";
        let got = c
            .read_n(4 + HUGE_LINE_LEN + tail.len(), Duration::from_secs(30))
            .await;
        assert_eq!(got.len(), 4 + HUGE_LINE_LEN + tail.len());
        assert!(got.starts_with(b"230 yyyy") && got.ends_with(tail));
        assert!(got[4..4 + HUGE_LINE_LEN].iter().all(|&b| b == b'y'));
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    px.wait_logged(4).await;
    // A 3,000-line reply (the tracker keeps 2,000 lines of it), relayed whole.
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.login("endless-help").await;
        c.send("HELP").await;
        let end = b"214 end of help\r\n";
        let n = HELP_LINES * (HELP_LINE_LEN + 6) + end.len();
        let got = c.read_n(n, Duration::from_secs(30)).await;
        assert_eq!(got.len(), n);
        assert!(got.ends_with(end));
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    px.wait_logged(5).await;
    // A 227- reply that never ends: the proxy cannot hold it back until its end
    // (there is none); the client sees its lines, and memory stays bounded.
    let endless_read;
    let first_line_after;
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.login("endless-pasv").await;
        c.send("PASV").await;
        let t0 = Instant::now();
        let first = c.read_n(1004, Duration::from_secs(5)).await;
        first_line_after = t0.elapsed();
        assert!(
            first.starts_with(b"227-pppp"),
            "no line of a never-ending 227- reply reached the client within 5 s (got {} bytes)",
            first.len()
        );
        endless_read = c.read_n(30 << 20, Duration::from_secs(30)).await.len() + first.len();
        assert!(endless_read >= 30 << 20, "{endless_read}");
        c.reset();
    }
    px.wait_logged(6).await;
    // A 227 naming another host: the proxy connects to the server's own address
    // at that port, and the client gets the file.
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.login("elsewhere").await;
        assert!(c.cmd("TYPE I").await.starts_with("200"));
        let r = c.cmd("PASV").await;
        let data = addr_of_227(&r);
        assert_eq!(
            data.ip(),
            addr.ip(),
            "the client is told the proxy's address"
        );
        let mut d = TcpStream::connect(data).await.unwrap();
        c.send("RETR f").await;
        assert!(c.reply().await.starts_with("150"));
        let (got, eof) = drain(&mut d, 8 << 20, Duration::from_secs(20)).await;
        assert!(eof);
        assert!(got == garbage_bytes(ELSEWHERE_LEN), "data altered");
        assert!(c.reply().await.starts_with("226"));
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    px.wait_logged(7).await;
    // The server vanishes mid-transfer (RST on data and control).
    let vanish_got;
    {
        let (mut c, _) = Ftp::connect(addr).await;
        c.login("vanish").await;
        let data = addr_of_227(&c.cmd("PASV").await);
        let mut d = TcpStream::connect(data).await.unwrap();
        c.send("RETR f").await;
        assert!(c.reply().await.starts_with("150"));
        let (got, _) = drain(&mut d, 8 << 20, Duration::from_secs(20)).await;
        vanish_got = got.len();
        assert!(vanish_got <= VANISH_LEN);
        // The control connection ends too, without a 226.
        let rest = c.read_n(1 << 16, Duration::from_secs(10)).await;
        assert!(!String::from_utf8_lossy(&rest).contains("226"), "{rest:?}");
    }
    px.wait_logged(8).await;
    assert!(px.alive(), "{}", px.stderr());

    let fds_after = px.settle_fds(base.fds + 2, Duration::from_secs(15)).await;
    assert!(
        fds_after <= base.fds + 2,
        "descriptors left in the proxy: {fds_after} (baseline {})",
        base.fds
    );
    let end = px.stat();
    let status = px.stop();
    assert!(status.success(), "proxy exit: {status:?}; {}", px.stderr());

    let all = px.sessions();
    // The garbage session: anomalies, the 530 at the end.
    let garbage = by_user(&all, "garbage");
    assert!(
        !garbage["anomalies"].as_array().unwrap().is_empty(),
        "{}",
        brief(garbage)
    );
    let nul = all
        .iter()
        .find(|s| text_of(s).contains("NUL\\u0000inside"))
        .expect("the NUL reply in the log");
    assert!(reply_codes(nul).contains(&331));
    let long = by_user(&all, "longline");
    assert!(
        text_of(long).contains("a line was longer than 8 KiB and was cut"),
        "{}",
        brief(long)
    );
    let help = by_user(&all, "endless-help");
    assert!(
        text_of(help).contains("1001 more lines not kept"),
        "{}",
        brief(help)
    );
    let endless = by_user(&all, "endless-pasv");
    assert!(
        text_of(endless).contains("stopped holding"),
        "the proxy's note on the never-ending 227- reply: {}",
        brief(endless)
    );
    let elsewhere = by_user(&all, "elsewhere");
    let ch = channel(elsewhere, "RETR");
    assert_eq!(ch["outcome"], "completed", "{}", brief(ch));
    assert_eq!(ch["bytes_to_client"], ELSEWHERE_LEN as u64);
    assert!(
        text_of(elsewhere).contains("not its own address"),
        "{}",
        brief(elsewhere)
    );
    let gone = by_user(&all, "vanish");
    let ch = channel(gone, "RETR");
    assert_eq!(ch["outcome"], "reset", "{}", brief(ch));
    assert_eq!(gone["closed"], "rst-by-server", "{}", brief(gone));

    let grew = end.hwm_kb.saturating_sub(base.rss_kb);
    eprintln!(
        "{T}: baseline rss {:.1} MB ({} fds); end rss {:.1} MB, peak {:.1} MB (+{:.1} MB), {} fds; \
         never-ending 227-: first line after {:.3} s, {} MB read; vanish: {} bytes before the reset; \
         {} sessions logged; whole test {:.1} s",
        mb(base.rss_kb),
        base.fds,
        mb(end.rss_kb),
        mb(end.hwm_kb),
        mb(grew),
        end.fds,
        first_line_after.as_secs_f64(),
        endless_read >> 20,
        vanish_got,
        all.len(),
        t_all.elapsed().as_secs_f64(),
    );
    // Measured +19 to +69 MB (most runs +20 to +45): the 3,000-line reply and
    // the never-ending one cost 10-20 MB each (the tracker keeps 2,000 lines of
    // a reply, as text and as lines; the session is copied for live views and
    // written to the log; the queue to the hub holds up to 4,096 lines while it
    // catches up), and freed memory stays with the thread arena that had it.
    // Without the bound on held replies the never-ending 227- alone took 175 MB
    // in 5 s.
    assert!(
        grew <= 96 * 1024,
        "the proxy's peak RSS grew by {:.1} MB",
        mb(grew)
    );
}

/// The replies the proxy holds back until they end (to rewrite or convert
/// them) are bounded in every upstream mode: a never-ending answer to the PASV
/// the proxy sends for a client's PORT (`--upstream-mode passive`), or to the
/// PORT it sends for a client's PASV (`--upstream-mode active`), is relayed
/// after 64 lines, with a note. In-process proxy (the model is asserted directly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ending_replies_are_not_held_in_converted_modes() {
    use ftpscope::proxy::UpstreamMode;
    let hs = hostile_server().await;
    for (mode, user, cmd, prefix) in [
        (
            UpstreamMode::Passive,
            "endless-pasv",
            "PORT 127,0,0,1,200,10",
            "227-",
        ),
        (UpstreamMode::Active, "endless-port", "PASV", "200-"),
    ] {
        let mut cfg = config(hs.addr);
        cfg.upstream_mode = mode;
        let p = proxy(cfg).await;
        let (mut c, _) = Ftp::connect(p.addr).await;
        c.login(user).await;
        c.send(cmd).await;
        let got = c.read_n(1 << 20, Duration::from_secs(5)).await;
        assert_eq!(
            got.len(),
            1 << 20,
            "{mode:?}: the never-ending reply to `{cmd}` did not reach the client within 5 s"
        );
        assert!(got.starts_with(prefix.as_bytes()), "{mode:?}");
        c.reset();
        let s = &p.sessions(1, Duration::from_secs(20)).await[0];
        let notes = all_notes(s);
        assert!(notes.contains("stopped holding it"), "{mode:?}: {notes}");
        assert_eq!(p.handle.counters().sessions_open.load(Ordering::Relaxed), 0);
        p.stop().await;
    }
}

/// A measurement (ignored by default, 15-20 s): sessions with big transcripts
/// (a 2,100-line reply of 8 KB lines, which the tracker keeps 2,000 lines of, as
/// text and as lines) one after the other. The copies of finished sessions
/// kept for live views are bounded in bytes (`MAX_LIVE_FINISHED_BYTES`), so the
/// proxy's RSS levels off instead of growing by 10-25 MB per session up to
/// 1,000 sessions. The regression test is the unit test
/// `finished_sessions_kept_for_live_views_are_bounded_in_bytes`; here only a
/// loose bound. `cargo test --test proxy_abuse -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 15-20 s measurement; run with --ignored"]
async fn big_finished_sessions_do_not_pile_up() {
    const T: &str = "big_finished_sessions_do_not_pile_up";
    const N: usize = 10;
    let t0 = Instant::now();
    let hs = hostile_server().await;
    let px = ChildProxy::start(hs.addr, &["--idle-timeout", "10s"]);
    let base = px.stat();
    let mut rss = Vec::new();
    for _ in 0..N {
        let (mut c, _) = Ftp::connect(px.addr).await;
        c.login("big-help").await;
        c.send("HELP").await;
        let n = BIG_HELP_LINES * (BIG_HELP_LINE_LEN + 6) + 17;
        let got = c.read_n(n, Duration::from_secs(60)).await;
        assert_eq!(got.len(), n);
        assert!(c.cmd("QUIT").await.starts_with("221"));
        rss.push(px.stat().rss_kb);
    }
    // Until every session is in the log.
    let until = Instant::now() + Duration::from_secs(20);
    while px.sessions().len() < N && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = px.stat();
    let logged = px.sessions();
    assert_eq!(logged.len(), N);
    let grew = end.hwm_kb.saturating_sub(base.rss_kb);
    eprintln!(
        "{T}: {N} sessions of {} MB of reply lines each; rss after each (MB): {:?}; peak {:.1} MB (+{:.1} MB); {:.1} s",
        (BIG_HELP_LINES * (BIG_HELP_LINE_LEN + 6)) >> 20,
        rss.iter()
            .map(|&k| (mb(k) * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        mb(end.hwm_kb),
        mb(grew),
        t0.elapsed().as_secs_f64()
    );
    assert!(grew <= 300 * 1024, "+{:.1} MB", mb(grew));
}

/// A client that reads its download more slowly than the socket buffers
/// drain: the proxy has relayed the whole file within a fraction of a second,
/// then sees no traffic for longer than `--idle-timeout` while the client reads
/// on. It used to reset the data connection then, which threw away the bytes
/// still queued (the client got a reset and part of the file; curl exit 56). In
/// process: the model is asserted directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_gets_its_whole_download() {
    const LEN: usize = 2 << 20;
    let srv = server().await;
    make_file(&srv.root.path().join("slow-read.bin"), LEN);
    let want = sha256(&srv.root.path().join("slow-read.bin"));
    let mut cfg = config(srv.addr);
    cfg.idle_timeout = Duration::from_secs(1);
    let p = proxy(cfg).await;
    let (mut c, _) = Ftp::connect(p.addr).await;
    c.login("slow-reader").await;
    assert!(c.cmd("TYPE I").await.starts_with("200"));
    let data = addr_of_227(&c.cmd("PASV").await);
    let mut d = TcpStream::connect(data).await.unwrap();
    c.send("RETR slow-read.bin").await;
    assert!(c.reply().await.starts_with("150"));
    // 32 KiB every 80 ms: about 400 KB/s, 5 s for the file.
    let t0 = Instant::now();
    let mut got = Vec::with_capacity(LEN);
    let mut buf = vec![0u8; 32 * 1024];
    let mut end = "EOF";
    while t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(80)).await;
        match tokio::time::timeout(Duration::from_secs(10), d.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => {
                end = "reset";
                break;
            }
            Err(_) => {
                end = "nothing for 10 s";
                break;
            }
        }
    }
    assert_eq!(
        got.len(),
        LEN,
        "the slow reader got {} of {LEN} bytes, then {end}",
        got.len()
    );
    assert_eq!(end, "EOF");
    assert_eq!(sha(&got), want);
    let s = &p.sessions(1, Duration::from_secs(20)).await[0];
    let ch = s
        .data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some("RETR"))
        .expect("the RETR channel");
    assert_eq!(ch.outcome, ftpscope::model::Outcome::Completed, "{ch:?}");
    assert_eq!(ch.bytes_to_client, LEN as u64);
    eprintln!(
        "slow_reader_gets_its_whole_download: {} bytes in {:.1} s; notes {:?}",
        got.len(),
        t0.elapsed().as_secs_f64(),
        ch.notes
    );
    p.stop().await;
}

/// Issue 11 (memory grows with the number of commands): 16 sessions of 200,000
/// NOOPs each through the proxy at once. The tracker's transcript budget counts
/// what it cannot keep, so the proxy's peak stays under 512 MB (it reached 2 GB
/// before). Ignored in the default run (3.2 million round trips); `.ci/run` runs
/// it in release: `cargo test --release --test proxy_abuse sixteen -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy (3.2 million commands): run by .ci/run in release"]
async fn sixteen_sessions_of_200k_noops_stay_under_512_mb() {
    const T: &str = "sixteen_sessions_of_200k_noops_stay_under_512_mb";
    const SESSIONS: usize = 16;
    const NOOPS: usize = 200_000;
    const CHUNK: usize = 500;
    let t0 = Instant::now();
    let srv = server().await;
    let px = ChildProxy::start(srv.addr, &["--idle-timeout", "120s"]);
    let base = px.stat();
    let mut clients = JoinSet::new();
    for _ in 0..SESSIONS {
        let addr = px.addr;
        clients.spawn(async move {
            let (mut c, g) = RawClient::connect(addr).await;
            assert!(g.starts_with("220"), "{g}");
            c.login().await;
            let chunk = "NOOP\r\n".repeat(CHUNK);
            for _ in 0..NOOPS / CHUNK {
                c.send(chunk.trim_end()).await;
                for _ in 0..CHUNK {
                    let r = c.reply().await;
                    assert!(r.starts_with("200"), "{r}");
                }
            }
            c.quit().await;
        });
    }
    while let Some(r) = clients.join_next().await {
        r.expect("a client finished");
    }
    let until = Instant::now() + Duration::from_secs(60);
    while px.sessions().len() < SESSIONS && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let end = px.stat();
    let logged = px.sessions();
    assert_eq!(
        logged.len(),
        SESSIONS,
        "every session logged; stderr: {}",
        px.stderr()
    );
    for s in &logged {
        let kept = s["exchanges"]
            .as_array()
            .map_or(0, |x| x.iter().filter(|e| e["command"].is_object()).count());
        let counted: u64 = s["summary"]
            .as_array()
            .map_or(0, |r| r.iter().filter_map(|r| r["count"].as_u64()).sum());
        // USER, PASS, the NOOPs, QUIT: kept or counted. The proxy's observer may
        // drop lines when the analysis falls behind the relay (by design: relayed
        // bytes never wait); then the session says bytes are missing.
        let all = kept as u64 + counted;
        assert!(all <= NOOPS as u64 + 3, "{all}: {}", brief(s));
        assert!(counted > 0, "the budget counted exchanges: {}", brief(s));
        if all < NOOPS as u64 + 3 {
            assert!(
                gap_bytes(s) > 0,
                "{all} accounted without a gap: {}",
                brief(s)
            );
        }
    }
    eprintln!(
        "{T}: {SESSIONS} x {NOOPS} NOOPs through the proxy: peak {:.1} MB (baseline {:.1} MB), {:.1} s",
        mb(end.hwm_kb),
        mb(base.rss_kb),
        t0.elapsed().as_secs_f64()
    );
    assert!(end.hwm_kb <= 512 * 1024, "peak {:.1} MB", mb(end.hwm_kb));
}
