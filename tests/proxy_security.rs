//! The proxy's security holes of issue 11, each against a real lenient server
//! (vsftpd from the capture lab, `captures/make/install-lab.sh`):
//!
//! * `unreadable_data_addresses_do_not_bounce_*`: PORT/EPRT/LPRT forms vsftpd
//!   reads but the proxy cannot (trailing comma, signs, leading zeros, spaces,
//!   tabs, short IPv4 forms, odd delimiters, extra fields, line breaks hidden in
//!   Telnet sequences, an overlong PORT line) sent by a client on 127.0.0.2,
//!   in `--upstream-mode same` and `active`: a listener on 127.0.0.1 standing
//!   for an internal service must get no connection. The test first shows that
//!   vsftpd itself, asked directly, does connect to it for such a form.
//! * `pipelined_pasv_keeps_descriptors_bounded`: 3,000 pipelined PASV/EPSV from
//!   one logged-in client keep the proxy process (the real binary) under 200
//!   open descriptors while curl downloads through it, SHA-256 intact.
//! * `overlong_and_odd_secrets_are_masked_in_record_and_log`: a PASS of 20 KiB
//!   (relayed in pieces), `  PASS x`, `PASS\tx`, `ACCT x`, `SITE PSWD old new`:
//!   none of the secrets in the `--record` pcapng or the `--log` file.
//!
//! Needs root, the user `ftpuser` and vsftpd from the lab; without them each
//! test prints why it skips, except when `CI` is set (then it fails).
//! Everything stays on 127.0.0.0/8; every wait is bounded.
#![cfg(target_os = "linux")]

mod proxy_support;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ftpscope::proxy::UpstreamMode;
use proxy_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const VSFTPD: &str = "/opt/ftpscope-lab/vsftpd/usr/sbin/vsftpd";

/// Root, the lab user and vsftpd; otherwise skip (or fail in CI).
fn vsftpd_lab(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let user = Command::new("id")
        .arg(LAB_USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if Path::new(VSFTPD).exists() && Path::new(HOME).is_dir() && root && user {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: vsftpd from captures/make/install-lab.sh, the user {LAB_USER} and root are required when CI is set"
    );
    eprintln!(
        "SKIPPED {test}: needs vsftpd from captures/make/install-lab.sh, the user {LAB_USER} and root"
    );
    false
}

/// vsftpd on 127.0.0.1 (a free port), in the foreground, stopped on drop. It
/// trusts a PORT naming its client's address, and the proxy is its client.
struct Vsftpd {
    child: Child,
    addr: SocketAddr,
    /// A directory of the lab user's home for this test's files (`/NAME` on the server).
    dir: PathBuf,
    _conf: tempfile::TempDir,
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_vsftpd(name: &str) -> Vsftpd {
    let conf = tempfile::tempdir().unwrap();
    let path = conf.path().join("vsftpd.conf");
    std::fs::create_dir_all("/var/run/vsftpd/empty").unwrap();
    let dir = Path::new(HOME).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Command::new("chown")
        .arg(format!("{LAB_USER}:{LAB_USER}"))
        .arg(&dir)
        .status()
        .unwrap();
    let (child, addr) = start_listening_server("vsftpd", |port| {
        std::fs::write(
            &path,
            format!(
                "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
                 background=NO\nanonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\n\
                 chroot_local_user=YES\nallow_writeable_chroot=YES\n\
                 pam_service_name=ftpscope-vsftpd\nsecure_chroot_dir=/var/run/vsftpd/empty\n\
                 seccomp_sandbox=NO\nconnect_from_port_20=NO\n\
                 pasv_min_port=42000\npasv_max_port=42999\nmax_per_ip=0\nmax_clients=0\n"
            ),
        )
        .unwrap();
        Command::new(VSFTPD)
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("vsftpd starts")
    })
    .await;
    Vsftpd {
        child,
        addr,
        dir,
        _conf: conf,
    }
}

/// A TCP listener standing for an internal service: counts who connects.
struct Internal {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Internal {
    fn start() -> Internal {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        use std::io::Write;
                        let _ = c.write_all(b"INTERNAL SERVICE BANNER\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Internal { port, hits, stop }
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Internal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A control connection from a chosen local address, raw bytes in, replies out.
struct Ctl {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Ctl {
    async fn connect(from: &str, to: SocketAddr) -> Ctl {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let s = tokio::time::timeout(Duration::from_secs(5), s.connect(to))
            .await
            .expect("connect in time")
            .expect("connect");
        let (r, w) = s.into_split();
        let mut c = Ctl {
            r: BufReader::new(r),
            w,
        };
        let g = c.reply().await;
        assert!(g.starts_with("220"), "{g}");
        c
    }

    /// One whole reply: its last line.
    async fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.r.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read reply");
            assert!(n > 0, "connection closed while waiting for a reply");
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return line.trim_end().to_string();
            }
        }
    }

    async fn raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.expect("send");
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.raw(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    async fn login(&mut self) {
        let r = self.cmd(&format!("USER {LAB_USER}")).await;
        assert!(r.starts_with("331"), "{r}");
        let r = self.cmd(&format!("PASS {LAB_PASS}")).await;
        assert!(r.starts_with("230"), "{r}");
    }
}

/// Lines vsftpd (or another lenient server) may read as a data address
/// naming 127.0.0.1:`port` but the proxy cannot read exactly, as bytes.
fn unreadable_forms(port: u16) -> Vec<Vec<u8>> {
    let (p1, p2) = (port >> 8, port & 0xff);
    let mut v: Vec<Vec<u8>> = [
        format!("PORT 127,0,0,1,{p1},{p2},"),
        format!("PORT 127,0,0,1,+{p1},{p2}"),
        format!("PORT 127,0,0,1,{p1},000{p2}"),
        format!("PORT 127,0,0,1,{p1}, {p2}x"),
        format!("PORT 127,0,0,1,{p1}, {p2}"),
        format!("PORT  127,0,0,1,{p1},{p2}"),
        format!("PORT 127,0,0,1,{p1},{p2} "),
        format!("PORT\t127,0,0,1,{p1},{p2}"),
        format!(" PORT 127,0,0,1,{p1},{p2}"),
        format!("port 127,0,0,1,{p1},{p2},"),
        format!("PORT 127,0,0,1,{p1},{p2},9"),
        format!("PORT 127,0,0,1,{p1}"),
        format!("EPRT |1|127.0.0.01|{port}|"),
        format!("EPRT |1|127.0.0.1|+{port}|"),
        format!("EPRT |1|127.0.0.1 x|{port}|"),
        format!("EPRT |1|127.0.0.1|{port}"),
        format!("EPRT |1|127.0.0.1|0{port}x|"),
        format!("eprt |1|127.0.0.1|{port}"),
        format!("EPRT |1|127.1|{port}|"),
        format!("EPRT |1|2130706433|{port}|"),
        format!("EPRT |1| 127.0.0.1|{port}|"),
        format!("EPRT |1|127.0.0.1|{port}||"),
        format!("EPRT 1127.0.0.11{port}1"),
        format!("EPRT |2|::ffff:127.0.0.1|{port}"),
        format!("LPRT 4,4,127,0,0,1,2,{p1},{p2},5"),
        format!("LPRT 4,4,127,0,0,1,2,{p1},+{p2}"),
    ]
    .into_iter()
    .map(|l| format!("{l}\r\n").into_bytes())
    .collect();
    // Line breaks the proxy's Telnet-aware splitter does not split on, but
    // vsftpd (which reads no Telnet) does.
    let port_line = format!("PORT 127,0,0,1,{p1},{p2}");
    let mut sb = b"NOOP \xff\xfa\r\n".to_vec();
    sb.extend_from_slice(port_line.as_bytes());
    sb.extend_from_slice(b"\r\n\xff\xf0\r\n");
    v.push(sb);
    let mut lone_iac = b"NOOP \xff\n".to_vec();
    lone_iac.extend_from_slice(port_line.as_bytes());
    lone_iac.extend_from_slice(b"\r\n");
    v.push(lone_iac);
    let mut will = b"NOOP \xff\xfb\n".to_vec();
    will.extend_from_slice(port_line.as_bytes());
    will.extend_from_slice(b"\r\n");
    v.push(will);
    v.push(format!("NOOP\r{port_line}\r\n").into_bytes());
    v
}

/// vsftpd itself connects to the internal service for an unreadable form: the
/// hole the proxy must not open.
async fn vsftpd_alone_bounces(srv: &Vsftpd, internal: &Internal) {
    let mut c = Ctl::connect("127.0.0.1", srv.addr).await;
    c.login().await;
    let (p1, p2) = (internal.port >> 8, internal.port & 0xff);
    let r = c.cmd(&format!("PORT 127,0,0,1,{p1},{p2},")).await;
    assert!(r.starts_with("200"), "vsftpd refused the lenient form: {r}");
    let r = c.cmd("LIST").await;
    assert!(r.starts_with("150"), "{r}");
    let until = Instant::now() + Duration::from_secs(5);
    while internal.hits() == 0 {
        assert!(
            Instant::now() < until,
            "vsftpd did not connect to the internal port: the test would prove nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(c);
}

async fn no_bounce_through_the_proxy(mode: UpstreamMode) {
    let srv = start_vsftpd("bounce").await;
    let internal = Internal::start();
    vsftpd_alone_bounces(&srv, &internal).await;
    let before = internal.hits();

    let mut cfg = config(srv.addr);
    cfg.upstream_mode = mode;
    let p = proxy(cfg).await;
    // The client is 127.0.0.2: 127.0.0.1 is a third host for the proxy.
    let mut c = Ctl::connect("127.0.0.2", p.addr).await;
    c.login().await;
    let forms = unreadable_forms(internal.port);
    let mut answers = Vec::new();
    for f in &forms {
        c.raw(f).await;
        let r = c.reply().await;
        // Whatever the proxy answered, the server gets no chance to connect.
        let l = c.cmd("LIST").await;
        answers.push((String::from_utf8_lossy(f).to_string(), r, l));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report: String = answers
        .iter()
        .map(|(f, r, l)| format!("{f:?} -> {r} / LIST -> {l}\n"))
        .collect();
    assert_eq!(
        internal.hits(),
        before,
        "{mode:?}: the internal service got a connection through the proxy:\n{report}"
    );
    // Readable forms naming the internal service are refused as bounces too.
    let (p1, p2) = (internal.port >> 8, internal.port & 0xff);
    for l in [
        format!("PORT 127,0,0,1,{p1},{p2}"),
        format!("EPRT |1|127.0.0.1|{}|", internal.port),
        format!("EPRT |2|::ffff:127.0.0.1|{}|", internal.port),
        format!("LPRT 4,4,127,0,0,1,2,{p1},{p2}"),
    ] {
        let r = c.cmd(&l).await;
        assert!(r.starts_with("504"), "{mode:?} {l:?}: {r}");
    }
    assert!(c.cmd("NOOP").await.starts_with("200"));
    let _ = c.cmd("QUIT").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        internal.hits(),
        before,
        "{mode:?}: a connection after the readable forms"
    );
    for (f, r, l) in &answers {
        assert!(
            r.starts_with('5'),
            "{mode:?}: {f:?} was not refused: {r}\n{report}"
        );
        assert!(!l.starts_with("150"), "{mode:?}: {f:?}: LIST -> {l}");
    }
    let status = p.handle.status();
    let sessions = p.stop().await;
    let notes = all_notes(&sessions[0]);
    assert!(
        notes.matches("possible FTP bounce").count() >= 26,
        "{mode:?}: unreadable forms not recorded as bounce attempts:\n{notes}"
    );
    assert!(status.contains("bounce refused"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_data_addresses_do_not_bounce_same_mode() {
    if vsftpd_lab("unreadable_data_addresses_do_not_bounce_same_mode") {
        no_bounce_through_the_proxy(UpstreamMode::Same).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_data_addresses_do_not_bounce_active_mode() {
    if vsftpd_lab("unreadable_data_addresses_do_not_bounce_active_mode") {
        no_bounce_through_the_proxy(UpstreamMode::Active).await;
    }
}

/// A data-address command longer than a control line is not relayed in
/// pieces: a server with a longer line limit could read it whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_port_line_is_not_relayed() {
    if !vsftpd_lab("overlong_port_line_is_not_relayed") {
        return;
    }
    let srv = start_vsftpd("overlong").await;
    let p = proxy(config(srv.addr)).await;
    let mut c = Ctl::connect("127.0.0.2", p.addr).await;
    c.login().await;
    let mut line = b"PORT 127,0,0,1,30,97".to_vec();
    line.extend(std::iter::repeat_n(b' ', 20 * 1024));
    line.extend_from_slice(b"\r\n");
    c.raw(&line).await;
    let r = c.reply().await;
    assert!(r.starts_with("501"), "{r}");
    // vsftpd never saw the line: it would have answered "500 Input line too long" and hung up.
    assert!(c.cmd("NOOP").await.starts_with("200"));
    let _ = c.cmd("QUIT").await;
    drop(p);
}

/// `ftpscope proxy` (the binary) as a child process, for /proc figures.
struct ChildProxy {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl ChildProxy {
    fn start(upstream: SocketAddr, extra: &[&str]) -> ChildProxy {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = proxy_command();
        cmd.args(["--upstream", &upstream.to_string()])
            .args(extra)
            .stdout(Stdio::null());
        let (child, addr) = spawn_proxy(cmd, &dir.path().join("stderr.txt"));
        ChildProxy {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Open descriptors of the proxy process (/proc/PID/fd).
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for ChildProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 11, item 3: each 227/229 used to add a listener without giving up
/// the previous one; 3,000 pipelined PASV/EPSV held 3,000 descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_pasv_keeps_descriptors_bounded() {
    if !vsftpd_lab("pipelined_pasv_keeps_descriptors_bounded") || !require_curl("pipelined_pasv") {
        return;
    }
    const N: usize = 3000;
    const LIMIT: usize = 200;
    let srv = start_vsftpd("pasv-flood").await;
    let file = srv.dir.join("big.bin");
    make_file(&file, 8 << 20);
    let want = sha256(&file);
    let name = srv.dir.file_name().unwrap().to_string_lossy().to_string();
    let p = ChildProxy::start(srv.addr, &[]);
    let idle_fds = p.fds();

    // A well-behaved download, slowed so that it spans the flood.
    let out = tempfile::tempdir().unwrap();
    let got = out.path().join("big.bin");
    let url = format!("ftp://{}/{name}/big.bin", p.addr);
    let got_s = got.to_string_lossy().to_string();
    let download =
        tokio::spawn(async move { lab_curl(&["--limit-rate", "2M", "-o", &got_s, &url]).await });

    let mut c = Ctl::connect("127.0.0.1", p.addr).await;
    c.login().await;
    let mut burst = Vec::new();
    for i in 0..N {
        burst.extend_from_slice(if i % 2 == 0 { b"PASV\r\n" } else { b"EPSV\r\n" });
    }
    c.raw(&burst).await;
    let mut peak = 0;
    let mut ok = 0;
    for i in 0..N {
        let r = c.reply().await;
        if r.starts_with("227") || r.starts_with("229") {
            ok += 1;
        }
        if i % 50 == 0 {
            peak = peak.max(p.fds());
        }
    }
    peak = peak.max(p.fds());
    let o = download.await.unwrap();
    assert_ok(&o, "the download during the flood");
    assert_eq!(sha256(&got), want, "the download's SHA-256");
    let _ = c.cmd("QUIT").await;
    eprintln!(
        "pipelined PASV/EPSV: {N} sent, {ok} answered 227/229; proxy descriptors idle {idle_fds}, peak {peak} (limit {LIMIT})"
    );
    assert!(
        peak < LIMIT,
        "the proxy held {peak} descriptors during {N} pipelined PASV/EPSV (limit {LIMIT})"
    );
    assert!(ok > 0, "no PASV/EPSV answered");
}

/// Issue 11, item 5 (the proxy's part): secrets in forms the proxy did not
/// mask reached `--record` and `--log` in clear, most of all a PASS longer
/// than a control line, relayed (and recorded) piece by piece.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_and_odd_secrets_are_masked_in_record_and_log() {
    if !vsftpd_lab("overlong_and_odd_secrets_are_masked_in_record_and_log") {
        return;
    }
    let srv = start_vsftpd("secrets").await;
    let out = tempfile::tempdir().unwrap();
    let record = out.path().join("rec.pcapng");
    let log = out.path().join("log.jsonl");
    let text_log = out.path().join("log.txt");
    for (log_path, json) in [(&log, true), (&text_log, false)] {
        let mut cfg = config(srv.addr);
        cfg.record = json.then(|| record.clone());
        cfg.log = Some(log_path.clone());
        cfg.format = if json {
            ftpscope::report::stream::LogFormat::Json
        } else {
            ftpscope::report::stream::LogFormat::Text
        };
        let p = proxy(cfg).await;
        // A 20 KiB password, sent in 1 KiB pieces.
        let mut c = Ctl::connect("127.0.0.1", p.addr).await;
        assert!(c.cmd(&format!("USER {LAB_USER}")).await.starts_with("331"));
        let long: String = "Q7zLongSecret".repeat(20 * 1024 / 13);
        let line = format!("PASS {long}\r\n");
        // vsftpd hangs up after 4 KiB ("500 Input line too long"): the rest may not go.
        for piece in line.as_bytes().chunks(1024) {
            if c.w.write_all(piece).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), c.reply()).await;
        drop(c);
        // Odd forms, each after USER.
        let mut c = Ctl::connect("127.0.0.1", p.addr).await;
        for l in [
            "  PASS sp4ce-secret",
            "PASS\tt4b-secret",
            "ACCT acct-secret",
            "SITE PSWD old-secret new-secret",
            "site\tpswd old2-secret new2-secret",
        ] {
            assert!(c.cmd(&format!("USER {LAB_USER}")).await.starts_with("331"));
            let _ = c.cmd(l).await;
        }
        let _ = c.cmd("QUIT").await;
        drop(c);
        p.sessions(2, Duration::from_secs(10)).await;
        p.stop().await;
    }
    let secrets = [
        "Q7zLongSecret",
        "sp4ce-secret",
        "t4b-secret",
        "acct-secret",
        "old-secret",
        "new-secret",
        "old2-secret",
        "new2-secret",
    ];
    for (what, path) in [
        ("record", &record),
        ("JSON log", &log),
        ("text log", &text_log),
    ] {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(bytes.len() > 100, "the {what} is empty");
        for s in secrets {
            assert!(
                !text.contains(s),
                "the {what} holds the secret {s:?} in clear"
            );
        }
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("****"), "the JSON log shows no masked secret");
}

/// A 64 KiB tmpfs, unmounted on drop.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount() -> Option<SmallFs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallFs { dir })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fill `path` until the file system is full; returns how much was written.
fn fill(path: &Path, leave: usize) -> usize {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut n = 0;
    let block = vec![b'F'; 512];
    while f.write_all(&block).is_ok() && f.flush().is_ok() {
        n += block.len();
    }
    drop(f);
    // Give `leave` bytes back, so that the next write fills them and fails midway.
    let keep = n.saturating_sub(leave) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(keep)
        .unwrap();
    n
}

/// Issue 11, item 6: `--log` stopped silently at the first write error (disk
/// full) for the rest of the run, and could leave half a JSON line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_is_told_and_the_log_resumes_whole() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let fs = if root { SmallFs::mount() } else { None };
    let Some(fs) = fs else {
        assert!(
            !in_ci(),
            "full_disk_is_told_and_the_log_resumes_whole: root and tmpfs are required when CI is set"
        );
        eprintln!(
            "SKIPPED full_disk_is_told_and_the_log_resumes_whole: needs root to mount a small tmpfs"
        );
        return;
    };
    let srv = server().await;
    let log = fs.dir.path().join("sessions.jsonl");
    let filler = fs.dir.path().join("filler");
    let err_dir = tempfile::tempdir().unwrap();
    let err = err_dir.path().join("stderr.txt");
    let mut cmd = proxy_command();
    cmd.args(["--upstream", &srv.addr.to_string()])
        .arg("--log")
        .arg(&log)
        .arg("--json")
        .stdout(Stdio::null());
    let (child, addr) = spawn_proxy(cmd, &err);
    let mut p = ChildProxy {
        child,
        addr,
        _dir: err_dir,
    };
    let session = |i: usize| async move {
        let (mut c, g) = RawClient::connect(addr).await;
        assert!(g.starts_with("220"), "{g}");
        c.login().await;
        for _ in 0..i % 7 + 3 {
            assert!(c.cmd("NOOP").await.starts_with("200"));
        }
        c.quit().await;
    };
    let stderr = || std::fs::read_to_string(&err).unwrap_or_default();
    let whole_lines = |log: &Path| -> usize {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "the log ends with half a line: {:?}",
            &text[text.len().saturating_sub(80)..]
        );
        let mut n = 0;
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l).expect("a whole JSON line");
            n += 1;
        }
        n
    };
    // The disk fills up, leaving less than a session's line.
    fill(&filler, 700);
    let mut sent = 0;
    let told = loop {
        session(sent).await;
        sent += 1;
        let until = Instant::now() + Duration::from_secs(3);
        while !stderr().contains("cannot write the log") && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if stderr().contains("cannot write the log") || sent == 5 {
            break stderr().contains("cannot write the log");
        }
    };
    assert!(
        told,
        "no word on stderr after {sent} sessions on a full disk: {}",
        stderr()
    );
    assert!(p.child.try_wait().unwrap().is_none(), "the proxy exited");
    whole_lines(&log);
    // Still serving.
    session(sent).await;
    sent += 1;
    // Space returns: the next session brings every waiting one to the log.
    std::fs::remove_file(&filler).unwrap();
    session(sent).await;
    sent += 1;
    let until = Instant::now() + Duration::from_secs(10);
    // The proxy's probe connection at start is one session more.
    while whole_lines(&log) < sent && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        whole_lines(&log) >= sent,
        "{} sessions in the log after space returned, {sent} expected; stderr: {}",
        whole_lines(&log),
        stderr()
    );
    assert!(stderr().contains("is written again"), "{}", stderr());
    let _ = p.fds();
}

/// Regression (issue 11, `--record` on a full disk): the record stopped for the
/// rest of the run at its first write error. Now the packets wait (whole pcapng
/// blocks, the file cut back to its last good length), the failure and the
/// recovery are told on stderr at once, and when space returns the record is
/// written on: the file reads back whole, with every session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_record_waits_and_resumes_whole() {
    const T: &str = "full_disk_record_waits_and_resumes_whole";
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !require_curl(T) {
        assert!(
            !in_ci(),
            "{T}: root, tmpfs and curl are required when CI is set"
        );
        eprintln!("SKIPPED {T}: needs root to mount a small tmpfs, and curl");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{T}: mount a tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(dir.path().to_path_buf());
    let srv = server().await;
    make_file(&srv.root.path().join("big.bin"), 2 << 20);
    make_file(&srv.root.path().join("small.bin"), 300 << 10);
    let record = dir.path().join("record.pcapng");
    let filler = dir.path().join("filler");
    let err_dir = tempfile::tempdir().unwrap();
    let err = err_dir.path().join("stderr.txt");
    let mut cmd = proxy_command();
    cmd.args(["--upstream", &srv.addr.to_string()])
        .arg("--record")
        .arg(&record)
        .args(["--log", "/dev/null"])
        .stdout(Stdio::null());
    let (mut child, addr) = spawn_proxy(cmd, &err);
    let stderr = || std::fs::read_to_string(&err).unwrap_or_default();
    let get = |name: &'static str| async move {
        let o = curl(&["-o", "/dev/null", &format!("ftp://{addr}/{name}")]).await;
        assert_ok(&o, name);
    };
    // The disk fills up: 100 KiB left, then a 2 MiB download to record.
    fill(&filler, 100 << 10);
    get("big.bin").await;
    let until = Instant::now() + Duration::from_secs(10);
    while !stderr().contains("cannot write the record") && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stderr().contains("cannot write the record"),
        "{T}: nothing said on a full disk: {}",
        stderr()
    );
    assert!(child.try_wait().unwrap().is_none(), "{T}: the proxy exited");
    // Space returns: the next transfer brings what waits to the file.
    std::fs::remove_file(&filler).unwrap();
    get("small.bin").await;
    let until = Instant::now() + Duration::from_secs(10);
    while !stderr().contains("the record is written again") && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stderr().contains("the record is written again; no packet is missing"),
        "{T}: {}",
        stderr()
    );
    // SIGTERM: the rest is flushed; the file reads back as two downloads.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let until = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "{T}: no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cap = ftpscope::engine::analyze_file(&record, ftpscope::session::TrackerConfig::default())
        .expect("the record reads back");
    assert_eq!(cap.stats.read_error, None, "{T}: the record ends whole");
    let bytes: Vec<u64> = cap
        .sessions
        .iter()
        .flat_map(|s| s.data_channels.iter().map(|d| d.bytes))
        .collect();
    assert!(
        bytes.contains(&(2 << 20)),
        "{T}: the big download: {bytes:?}"
    );
    assert!(
        bytes.contains(&(300 << 10)),
        "{T}: the small download: {bytes:?}"
    );
}
