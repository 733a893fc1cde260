//! Proxy benchmarks, as ignored tests: run them with `benches/proxy.sh` (a release
//! build, one at a time). They print their figures; docs/proxy.md keeps the
//! measured ones.
//!
//! * `bench_throughput`: a 1 GB download (FTPSCOPE_BENCH_BYTES to change) with curl,
//!   directly from the server and through the proxy, best of 5 each; the ratio.
//! * `bench_command_latency`: NOOP round trips, directly and through the proxy;
//!   the median and p99 of each, and the median extra time the proxy adds.
//! * `bench_idle_session_memory`: resident memory per idle session held by the
//!   proxy (1000 sessions, against a greeting-only server in the same process, so
//!   the server's and the clients' share is measured and subtracted).
//!
//! The server is pure-ftpd from the capture lab when it is installed (a real server
//! in its own process, as in production), libunftp in-process otherwise.

mod proxy_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

enum Upstream {
    Lab(PureFtpd),
    InProcess(Server),
}

impl Upstream {
    async fn start() -> Upstream {
        if lab_available("bench (pure-ftpd)") {
            Upstream::Lab(start_pureftpd().await)
        } else {
            Upstream::InProcess(server().await)
        }
    }
    fn addr(&self) -> SocketAddr {
        match self {
            Upstream::Lab(p) => p.addr,
            Upstream::InProcess(s) => s.addr,
        }
    }
    /// Directory served, and the URL path prefix for files in it.
    fn dir(&self) -> (std::path::PathBuf, String) {
        match self {
            Upstream::Lab(p) => (
                p.dir.clone(),
                format!("/{}", p.dir.file_name().unwrap().to_string_lossy()),
            ),
            Upstream::InProcess(s) => (s.root.path().to_path_buf(), String::new()),
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Upstream::Lab(_) => "pure-ftpd (own process)",
            Upstream::InProcess(_) => "libunftp (in-process)",
        }
    }
    fn creds(&self) -> String {
        match self {
            Upstream::Lab(_) => format!("{LAB_USER}:{LAB_PASS}"),
            Upstream::InProcess(_) => format!("{USER}:{PASS}"),
        }
    }
}

async fn timed_curl(creds: &str, url: &str) -> Duration {
    let t = Instant::now();
    let o = tokio::process::Command::new("curl")
        .args(["-sS", "--disable-epsv", "-u", creds, "-o", "/dev/null", url])
        .output()
        .await
        .expect("curl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: benches/proxy.sh"]
async fn bench_throughput() {
    if !require_curl("bench_throughput") {
        return;
    }
    let bytes: usize = std::env::var("FTPSCOPE_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let up = Upstream::start().await;
    let (dir, prefix) = up.dir();
    make_file(&dir.join("bench.bin"), bytes);
    let p = proxy(config(up.addr())).await;
    let creds = up.creds();
    let direct_url = format!("ftp://{}{prefix}/bench.bin", up.addr());
    let proxied_url = p.url(&format!("{prefix}/bench.bin"));
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    let mut cpu = 0.0;
    for _ in 0..5 {
        direct.push(timed_curl(&creds, &direct_url).await);
        let c0 = cpu_secs();
        proxied.push(timed_curl(&creds, &proxied_url).await);
        cpu += cpu_secs() - c0;
    }
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    let (d, q) = (
        percentile(&mut direct.clone(), 0.0),
        percentile(&mut proxied.clone(), 0.0),
    );
    let (dm, qm) = (
        percentile(&mut direct.clone(), 0.5),
        percentile(&mut proxied.clone(), 0.5),
    );
    println!(
        "throughput ({}, {} MB, 5 runs each): best direct {:.0} MB/s, best through the proxy {:.0} MB/s, ratio {:.1}%; medians {:.0} / {:.0} MB/s, ratio {:.1}%; the proxy's CPU {:.2} s per GB",
        up.name(),
        bytes / 1_000_000,
        rate(d),
        rate(q),
        100.0 * d.as_secs_f64() / q.as_secs_f64(),
        rate(dm),
        rate(qm),
        100.0 * dm.as_secs_f64() / qm.as_secs_f64(),
        cpu / 5.0 / (bytes as f64 / 1e9)
    );
    println!("  all runs direct {direct:?}, proxied {proxied:?}");
    let _ = std::fs::remove_file(dir.join("bench.bin"));
    p.stop().await;
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn noop_rtts(addr: SocketAddr, user: &str, pass: &str, n: usize) -> Vec<Duration> {
    let (mut c, g) = RawClient::connect(addr).await;
    assert!(g.starts_with("220"), "{g}");
    assert!(c.cmd(&format!("USER {user}")).await.starts_with("331"));
    assert!(c.cmd(&format!("PASS {pass}")).await.starts_with("230"));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.cmd("NOOP").await;
        out.push(t.elapsed());
        assert!(r.starts_with("200"), "{r}");
    }
    c.quit().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: benches/proxy.sh"]
async fn bench_command_latency() {
    let up = Upstream::start().await;
    let creds = up.creds();
    let (user, pass) = creds.split_once(':').unwrap();
    let p = proxy(config(up.addr())).await;
    let n = 3000;
    // Warm up both paths, then measure them interleaved in blocks.
    noop_rtts(up.addr(), user, pass, 200).await;
    noop_rtts(p.addr, user, pass, 200).await;
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        direct.extend(noop_rtts(up.addr(), user, pass, n / 3).await);
        proxied.extend(noop_rtts(p.addr, user, pass, n / 3).await);
    }
    let dm = percentile(&mut direct, 0.5);
    let pm = percentile(&mut proxied, 0.5);
    let d99 = percentile(&mut direct, 0.99);
    let p99 = percentile(&mut proxied, 0.99);
    println!(
        "NOOP round trip ({}, {n} each): direct median {:.1} µs p99 {:.1} µs; through the proxy median {:.1} µs p99 {:.1} µs; extra median {:.1} µs",
        up.name(),
        dm.as_secs_f64() * 1e6,
        d99.as_secs_f64() * 1e6,
        pm.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        (pm.as_secs_f64() - dm.as_secs_f64()) * 1e6
    );
    p.stop().await;
}

/// CPU time of this process (the proxy, when the server is pure-ftpd), in seconds.
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = s.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A server that greets and answers every read with 200, and nothing else.
async fn greeting_server() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if s.write_all(b"220 ready\r\n").await.is_err() {
                    return;
                }
                let mut b = [0u8; 64];
                while let Ok(n) = s.read(&mut b).await {
                    if n == 0 || s.write_all(b"200 ok\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    a
}

async fn hold_sessions(addr: SocketAddr, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut b = [0u8; 32];
        let k = s.read(&mut b).await.unwrap();
        assert!(b[..k].starts_with(b"220"));
        v.push(s);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: benches/proxy.sh"]
async fn bench_idle_session_memory() {
    let n = 1000;
    let srv = greeting_server().await;
    let mut cfg = config(srv);
    cfg.max_sessions = n + 10;
    cfg.idle_timeout = Duration::from_secs(600);
    let p = proxy(cfg).await;
    // Warm up allocator pools and the runtime with a first round of each kind.
    drop(hold_sessions(srv, 100).await);
    drop(hold_sessions(p.addr, 100).await);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let base = rss_kib();
    let direct = hold_sessions(srv, n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with_direct = rss_kib();
    drop(direct);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let base2 = rss_kib();
    let proxied = hold_sessions(p.addr, n).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_proxy = rss_kib();
    assert_eq!(p.handle.snapshot().sessions.len(), n + 100);
    let direct_per = (with_direct.saturating_sub(base)) as f64 * 1024.0 / n as f64;
    let proxied_per = (with_proxy.saturating_sub(base2)) as f64 * 1024.0 / n as f64;
    println!(
        "idle sessions ({n}): client+server {:.1} KB each; client+proxy+server {:.1} KB each; the proxy's share {:.1} KB per session",
        direct_per / 1024.0,
        proxied_per / 1024.0,
        (proxied_per - direct_per) / 1024.0
    );
    drop(proxied);
    p.stop().await;
}
