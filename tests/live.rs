//! `ftpscope live` end to end, on loopback, with real peers: pure-ftpd from the lab
//! (/opt/ftpscope-lab, captures/make/install-lab.sh) on a 127.x address of its own,
//! curl as the client (a passive download and an active one), and tcpdump capturing
//! the same traffic. What the live capture reports must equal what
//! `engine::analyze_file` gives on tcpdump's file (and on the file `--write` saved).
//!
//! Each test uses its own server and client addresses (127.77.x.y) and captures with
//! `--filter "host <server>"`, so tests (and anything else on `lo`) do not see each
//! other's traffic.
//!
//! Needs root, libpcap, tcpdump, curl and the lab: without them the tests print why
//! and pass, unless CI is set (then they fail). A `live` subcommand missing from
//! the binary fails the tests (`live_subcommand_is_wired` runs everywhere). Every
//! wait is bounded.
#![cfg(feature = "live")]

use std::io::{BufRead, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ftpscope::capture::live::LiveError;
use ftpscope::ftp::catalog::Lang;
use ftpscope::live::{LiveArgs, LiveCapture, LiveEvent, LiveState, StopReason};
use ftpscope::model::{Capture, Session};
use ftpscope::session::TrackerConfig;
use serde_json::Value;

const PUREFTPD: &str = "/opt/ftpscope-lab/pure-ftpd/usr/sbin/pure-ftpd";
const LAB_HOME: &str = "/srv/ftpscope-lab/home";
const USER: &str = "ftpuser:s3cret-pass";
const FILE_SIZE: usize = 300_000;

/// Tests that send signals to this process, or start many processes, run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------------ skipping ---

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why the loopback tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if !is_root() {
        return Some("not root (live capture needs root or CAP_NET_RAW)".into());
    }
    if let Err(e) = ftpscope::capture::live::interfaces() {
        return Some(format!("libpcap does not work: {e}"));
    }
    for c in ["tcpdump", "curl", "setpriv"] {
        if !have(c) {
            return Some(format!("{c} is not installed"));
        }
    }
    if !Path::new(PUREFTPD).exists() {
        return Some(format!(
            "{PUREFTPD} is missing (run captures/make/install-lab.sh)"
        ));
    }
    if !Path::new(LAB_HOME).is_dir() {
        return Some(format!(
            "{LAB_HOME} is missing (run captures/make/install-lab.sh)"
        ));
    }
    None
}

/// True when the test must be skipped (prints why); panics under CI.
fn skip(test: &str) -> bool {
    match missing() {
        None => false,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: cannot run: {why} (CI is set, so this is a failure)")
        }
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            true
        }
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ftpscope")
}

/// `ftpscope live --help` shows the subcommand's own options (a broken `live`
/// would be taken for a capture file name and print the top-level help). The
/// subcommand is wired whenever this file is built (feature `live`), so a broken
/// one fails the test, here and in CI, instead of skipping it.
fn assert_live_wired(test: &str) {
    let o = Command::new(bin())
        .args(["live", "--help"])
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && help.contains("--list-interfaces"),
        "{test}: `ftpscope live --help` does not show the live subcommand ({}):\n{help}{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Without root or the lab: the `live` subcommand is still there.
#[test]
fn live_subcommand_is_wired() {
    assert_live_wired("live_subcommand_is_wired");
}

// ------------------------------------------------------------------ processes ---

/// A child process killed (by its PID) and reaped when dropped.
struct Proc(Option<Child>);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Wait for the exit, at most `limit`; kills it and panics after that.
    fn wait(&mut self, limit: Duration, what: &str) -> std::process::ExitStatus {
        let child = self.0.as_mut().expect("waited twice");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                self.0 = None;
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.0 = None;
                panic!("{what} did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig} {}", self.pid());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------------ the lab ---

static NEXT: AtomicU32 = AtomicU32::new(0);

/// pure-ftpd on its own 127.77.x.y address and port, a test file in a directory of
/// ftpuser's home, and a client address next to it.
struct Lab {
    server_ip: Ipv4Addr,
    client_ip: Ipv4Addr,
    port: u16,
    dir: PathBuf,
    tmp: tempfile::TempDir,
    _server: Proc,
}

impl Lab {
    fn start(tag: &str) -> Lab {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let b = (pid % 200) as u8 + 20;
        let c = (n * 2 + 10) as u8;
        let server_ip = Ipv4Addr::new(127, 77, b, c);
        let client_ip = Ipv4Addr::new(127, 77, b, c + 1);
        let port = {
            let l = std::net::TcpListener::bind((server_ip, 0)).expect("bind a free port");
            l.local_addr().unwrap().port()
        };
        let dir = Path::new(LAB_HOME).join(format!("live-{tag}-{pid}-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..FILE_SIZE).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("file.bin"), &data).unwrap();
        let st = Command::new("chown")
            .args(["-R", "ftpuser:ftpuser"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success());
        let tmp = tempfile::tempdir().unwrap();
        let server = Command::new(PUREFTPD)
            .args(["-l", "unix", "-E", "-A", "-H"])
            .arg("-S")
            .arg(format!("{server_ip},{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("pureftpd.err")).unwrap())
            .spawn()
            .expect("start pure-ftpd");
        let server = Proc(Some(server));
        wait_until(Duration::from_secs(10), "pure-ftpd to listen", || {
            std::net::TcpStream::connect_timeout(
                &SocketAddr::from((server_ip, port)),
                Duration::from_millis(200),
            )
            .is_ok()
        });
        Lab {
            server_ip,
            client_ip,
            port,
            dir,
            tmp,
            _server: server,
        }
    }

    fn server(&self) -> SocketAddr {
        SocketAddr::from((self.server_ip, self.port))
    }

    fn filter(&self) -> String {
        format!("host {}", self.server_ip)
    }

    fn tracker(&self) -> TrackerConfig {
        TrackerConfig {
            ftp_ports: vec![21, self.port],
            ..TrackerConfig::default()
        }
    }

    fn url(&self) -> String {
        format!(
            "ftp://{}:{}/{}/file.bin",
            self.server_ip,
            self.port,
            self.dir.file_name().unwrap().to_string_lossy()
        )
    }

    /// curl downloads the file; `active` uses PORT/EPRT to the client's address.
    fn download(&self, active: bool) {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "20", "-u", USER, "-o", "/dev/null"])
            .arg("--interface")
            .arg(self.client_ip.to_string());
        if active {
            c.arg("--ftp-port").arg(self.client_ip.to_string());
        }
        let out = c.arg(self.url()).output().expect("run curl");
        assert!(
            out.status.success(),
            "curl ({}) failed: {}",
            if active { "active" } else { "passive" },
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A passive and an active download, one after the other.
    fn traffic(&self) {
        self.download(false);
        self.download(true);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// tcpdump on `lo` with `filter`, writing `path`; ready when this returns.
struct Tcpdump {
    proc: Proc,
    err: PathBuf,
    path: PathBuf,
}

impl Tcpdump {
    fn start(filter: &str, dir: &Path) -> Tcpdump {
        let path = dir.join("tcpdump.pcap");
        let err = dir.join("tcpdump.err");
        let child = Command::new("tcpdump")
            .args([
                "-i",
                "lo",
                "-n",
                "-s",
                "0",
                "-B",
                "32768",
                "-U",
                "--immediate-mode",
                // As ftpscope live asks libpcap: nanoseconds. In microseconds,
                // two packets of the same microsecond (a 226 and the data
                // connection's FIN on loopback) tie, and the two analyses may
                // order them differently.
                "--time-stamp-precision=nano",
            ])
            .args(["-Z", "root", "-w"])
            .arg(&path)
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start tcpdump");
        let t = Tcpdump {
            proc: Proc(Some(child)),
            err,
            path,
        };
        wait_until(Duration::from_secs(10), "tcpdump to listen", || {
            std::fs::read_to_string(&t.err).is_ok_and(|s| s.contains("listening on"))
        });
        t
    }

    /// Stop (SIGINT lets it flush) and return the file.
    fn stop(mut self) -> PathBuf {
        self.proc.signal("INT");
        self.proc.wait(Duration::from_secs(10), "tcpdump");
        let err = std::fs::read_to_string(&self.err).unwrap_or_default();
        assert!(
            !err.lines()
                .any(|l| l.ends_with("dropped by kernel") && !l.starts_with("0 ")),
            "tcpdump dropped packets: {err}"
        );
        self.path.clone()
    }
}

// ------------------------------------------------------------------ comparing ---

/// Keys that depend on when the packets were captured, or on frame numbers.
const TIMING: &[&str] = &[
    "id",
    "ts",
    "frame",
    "start",
    "end",
    "duration",
    "start_frame",
    "response_time",
    "announced_at",
    "announced_frame",
    "first_byte",
    "last_byte",
    "setup_time",
    "wait_first_byte",
    "completion_lag",
    "throughput",
    "frame_syn",
    "frame_answer",
    "evidence",
    "summary",
    // TCP figures measured from the packets' times (each capture stamps its own).
    "rtt_ms",
    "ack_rtt_ms",
    "ack_rtt_min_ms",
    "throughput_bps",
    "sending_s",
    "series",
    "idle",
    "zero_window",
];

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in TIMING {
                m.remove(*k);
            }
            for x in m.values_mut() {
                strip(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// A session as JSON without times and frame numbers: commands, reply codes and
/// texts, data channels (via, mode, addresses, outcome, bytes), findings' ids.
fn comparable(mut v: Value) -> Value {
    strip(&mut v);
    v
}

/// The sessions curl made to the lab's server (from the client address: the lab's
/// readiness probe connects from 127.0.0.1 and may end inside the capture), comparable,
/// ordered by client address.
fn sessions_of(sessions: impl IntoIterator<Item = Value>, lab: &Lab) -> Vec<Value> {
    let server = lab.server().to_string();
    let client = format!("{}:", lab.client_ip);
    let mut out: Vec<Value> = sessions
        .into_iter()
        .filter(|s| {
            s["server"] == server.as_str()
                && s["client"].as_str().is_some_and(|c| c.starts_with(&client))
        })
        .map(comparable)
        .collect();
    out.sort_by_key(|s| s["client"].as_str().unwrap_or_default().to_string());
    out
}

fn json_sessions(c: &Capture) -> Vec<Value> {
    c.sessions
        .iter()
        .map(|s| {
            serde_json::to_value(ftpscope::report::json::SessionJson { s, lang: Lang::En }).unwrap()
        })
        .collect()
}

/// What both downloads must show, whatever the source.
fn check_downloads(sessions: &[Value], source: &str) {
    assert_eq!(
        sessions.len(),
        2,
        "{source}: want 2 sessions: {}",
        ftpscope::report::json::to_string_pretty(sessions).unwrap()
    );
    let mut vias = Vec::new();
    for s in sessions {
        assert_eq!(s["login"], "ok", "{source}: {s}");
        assert_eq!(s["closed"], "quit", "{source}: {s}");
        let verbs: Vec<&str> = s["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["command"]["verb"].as_str())
            .collect();
        for v in ["USER", "PASS", "RETR", "QUIT"] {
            assert!(verbs.contains(&v), "{source}: no {v} in {verbs:?}");
        }
        let used: Vec<&Value> = s["data_channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["command"] == "RETR")
            .collect();
        assert_eq!(used.len(), 1, "{source}: {s}");
        let d = used[0];
        assert_eq!(d["outcome"], "completed", "{source}: {d}");
        assert_eq!(d["bytes"], FILE_SIZE as u64, "{source}: {d}");
        assert_eq!(d["direction"], "download", "{source}: {d}");
        vias.push(d["mode"].as_str().unwrap().to_string());
    }
    vias.sort();
    assert_eq!(vias, ["active", "passive"], "{source}");
}

// ------------------------------------------------------------------ library ---

fn live_args(args: &[&str]) -> LiveArgs {
    LiveArgs::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Capture through the library API in a thread; returns the sessions handed out
/// and the summary.
fn capture_thread(
    args: LiveArgs,
    cfg: TrackerConfig,
) -> (
    LiveState,
    std::thread::JoinHandle<(Vec<Session>, ftpscope::live::LiveSummary)>,
) {
    let cap = LiveCapture::open(&args).expect("open the live capture");
    let state = LiveState::new(cfg, 100);
    let st = state.clone();
    let h = std::thread::spawn(move || {
        let mut sessions = Vec::new();
        let sum = cap.run(&st, &mut |ev| {
            if let LiveEvent::Session(s) = ev {
                sessions.push(*s)
            }
        });
        (sessions, sum)
    });
    (state, h)
}

/// Until the live capture has handed out `n` ended sessions of the lab's client.
fn wait_ended(state: &LiveState, lab: &Lab, n: usize) {
    wait_until(Duration::from_secs(15), "the lab's sessions to end", || {
        state
            .update(0)
            .ended
            .iter()
            .filter(|s| s.server == lab.server() && s.client.ip() == lab.client_ip)
            .count()
            >= n
    });
}

/// Where two JSON values differ, one line per differing leaf (at most 40).
fn json_diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 40 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (u, v) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                json_diff(u, v, &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} items vs {}", x.len(), y.len()));
            }
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                json_diff(u, v, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Two capture sockets (ftpscope's and tcpdump's) may receive the packets of
/// one connection in different orders when the two cores send them at once (a
/// retransmitted 64 KiB loopback segment counted as out of order by one, as a
/// retransmission by the other: seen in a loaded run). The TCP figures are
/// therefore compared between ftpscope live and the file it wrote itself
/// (`live_capture_matches_tcpdump_on_loopback`), not with tcpdump's file.
fn without_tcp_figures(sessions: &mut [Value]) {
    for s in sessions {
        for d in s["data_channels"].as_array_mut().into_iter().flatten() {
            d.as_object_mut().map(|o| o.remove("tcp"));
        }
    }
}

/// The two session lists are equal; if not, the panic names each difference.
fn assert_same(a: &[Value], b: &[Value], what: &str) {
    let mut out = Vec::new();
    json_diff(
        &Value::Array(a.to_vec()),
        &Value::Array(b.to_vec()),
        "",
        &mut out,
    );
    assert!(out.is_empty(), "{what}:\n{}", out.join("\n"));
}

fn join_within<T>(h: std::thread::JoinHandle<T>, limit: Duration, what: &str) -> T {
    wait_until(limit, what, || h.is_finished());
    h.join().expect("capture thread panicked")
}

#[test]
fn live_capture_matches_tcpdump_on_loopback() {
    if skip("live_capture_matches_tcpdump_on_loopback") {
        return;
    }
    let lab = Lab::start("lib");
    let saved = lab.tmp.path().join("live.pcapng");
    let tcpdump = Tcpdump::start(&lab.filter(), lab.tmp.path());
    let args = live_args(&[
        "-i",
        "lo",
        "--filter",
        &lab.filter(),
        "--duration",
        "60s",
        "--write",
        saved.to_str().unwrap(),
    ]);
    let (state, h) = capture_thread(args, lab.tracker());
    lab.traffic();
    // Both sessions over (control and data connections closed) before the two
    // captures stop, so that neither sees a packet the other missed.
    wait_ended(&state, &lab, 2);
    // The views' way in, while the capture runs.
    let snap = state.snapshot();
    assert!(
        snap.sessions
            .iter()
            .filter(|s| s.server == lab.server())
            .count()
            >= 2,
        "snapshot: {:?}",
        snap.sessions.iter().map(|s| s.id).collect::<Vec<_>>()
    );
    state.stop();
    let (live, sum) = join_within(h, Duration::from_secs(10), "the live capture to stop");
    let pcap = tcpdump.stop();
    assert_eq!(sum.stopped_by, StopReason::Stopped);
    assert_eq!(sum.status.kernel_dropped, 0);
    assert!(sum.findings.iter().all(|f| f.id != "capture-drops"));
    assert!(sum.status.packets > 20, "{:?}", sum.status);

    let live: Vec<Value> = live
        .iter()
        .map(|s| {
            serde_json::to_value(ftpscope::report::json::SessionJson { s, lang: Lang::En }).unwrap()
        })
        .collect();
    let live = sessions_of(live, &lab);
    let offline =
        ftpscope::engine::analyze_file(&pcap, lab.tracker()).expect("analyse tcpdump's file");
    let offline = sessions_of(json_sessions(&offline), &lab);
    check_downloads(&live, "live");
    check_downloads(&offline, "tcpdump");
    let (mut a, mut b) = (live.clone(), offline);
    without_tcp_figures(&mut a);
    without_tcp_figures(&mut b);
    assert_same(&a, &b, "live capture and tcpdump's file differ");

    // The saved file holds the same packets: same analysis, same packet count.
    let again =
        ftpscope::engine::analyze_file(&saved, lab.tracker()).expect("analyse --write file");
    assert_eq!(again.stats.packets, sum.status.packets);
    assert_eq!(Some((saved.clone(), sum.status.packets)), sum.saved);
    let again = sessions_of(json_sessions(&again), &lab);
    assert_same(
        &again,
        &live,
        "the --write file and the live analysis differ",
    );
}

#[test]
fn live_capture_on_any_follows_the_same_sessions() {
    if skip("live_capture_on_any_follows_the_same_sessions") {
        return;
    }
    let lab = Lab::start("any");
    let args = live_args(&["-i", "any", "--filter", &lab.filter(), "--duration", "60s"]);
    let (state, h) = capture_thread(args, lab.tracker());
    lab.traffic();
    wait_ended(&state, &lab, 2);
    state.stop();
    let (live, sum) = join_within(h, Duration::from_secs(10), "the capture on any to stop");
    // Linux cooked capture (v1 or v2), decoded like any other link type.
    assert!(
        sum.status.linktype.starts_with("LINUX_SLL"),
        "{:?}",
        sum.status
    );
    let live: Vec<Value> = live
        .iter()
        .map(|s| {
            serde_json::to_value(ftpscope::report::json::SessionJson { s, lang: Lang::En }).unwrap()
        })
        .collect();
    check_downloads(&sessions_of(live, &lab), "live on any");
}

#[test]
fn live_run_stops_on_sigint_with_complete_json_log() {
    if skip("live_run_stops_on_sigint_with_complete_json_log") {
        return;
    }
    let _g = serial();
    let lab = Lab::start("sigint");
    let log = lab.tmp.path().join("live.jsonl");
    let args = live_args(&[
        "-i",
        "lo",
        "--filter",
        &lab.filter(),
        "--format",
        "json",
        "--log",
        log.to_str().unwrap(),
        "--duration",
        "60s",
        "--status-interval",
        "0",
    ]);
    let cfg = lab.tracker();
    let h = std::thread::spawn(move || ftpscope::live::run(args, cfg, Lang::En));
    // A session line in the log means the capture (and its signal handler) runs.
    let mut tries = 0;
    wait_until(Duration::from_secs(30), "a session in the JSON log", || {
        tries += 1;
        if tries % 20 == 1 {
            lab.download(false);
        }
        std::fs::read_to_string(&log).is_ok_and(|s| s.lines().any(|l| l.contains("\"RETR\"")))
    });
    // A second download just before the signal: written before the summary.
    lab.download(true);
    let st = Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let code = join_within(h, Duration::from_secs(10), "run() to stop on SIGINT")
        .expect("run() returned an error");
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    let (last, sessions) = lines.split_last().expect("an empty log");
    assert_eq!(last["capture_summary"]["stopped_by"], "stopped", "{last}");
    assert_eq!(last["capture_summary"]["live"]["kernel_dropped"], 0);
    assert!(last["findings"].is_array());
    let ours = sessions_of(sessions.iter().cloned(), &lab);
    assert!(ours.len() >= 2, "{text}");
    let modes: Vec<&str> = ours
        .iter()
        .flat_map(|s| s["data_channels"].as_array().unwrap())
        .filter(|d| d["outcome"] == "completed")
        .map(|d| d["mode"].as_str().unwrap())
        .collect();
    // What this test is about is a complete log after SIGINT; the active download just
    // before the signal can still be in flight (seen once in a fresh-clone CI run), so
    // only require that the sessions written carry completed transfers. Active mode is
    // checked against tcpdump in live_capture_matches_tcpdump_on_loopback.
    assert!(!modes.is_empty(), "{modes:?}");
}

#[test]
fn live_run_text_log_stops_at_count() {
    if skip("live_run_text_log_stops_at_count") {
        return;
    }
    let _g = serial();
    let lab = Lab::start("count");
    let log = lab.tmp.path().join("live.txt");
    let args = live_args(&[
        "-i",
        "lo",
        "--filter",
        &lab.filter(),
        "--log",
        log.to_str().unwrap(),
        "--count",
        "6",
        "--duration",
        "30s",
        "--status-interval",
        "0",
    ]);
    let cfg = lab.tracker();
    let h = std::thread::spawn(move || ftpscope::live::run(args, cfg, Lang::En));
    let mut tries = 0;
    wait_until(
        Duration::from_secs(30),
        "run() to stop after 6 packets",
        || {
            tries += 1;
            if tries % 20 == 1 {
                lab.download(false);
            }
            h.is_finished()
        },
    );
    assert_eq!(h.join().unwrap().expect("run() failed"), 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("ftpscope live: capture on lo"), "{text}");
    assert!(text.contains("stopped by --count"), "{text}");
    assert!(text.contains(" 6 packets read"), "{text}");
    // Six packets hold the handshake and the greeting: one session, cut short.
    assert!(text.contains("Session 1"), "{text}");
    assert!(text.contains("Diagnosis (whole capture)"), "{text}");
}

#[test]
fn stop_ends_a_quiet_capture_within_the_read_timeout() {
    if skip("stop_ends_a_quiet_capture_within_the_read_timeout") {
        return;
    }
    // Nothing matches this filter: the loop only ever sees read timeouts.
    let args = live_args(&["-i", "lo", "--filter", "host 127.77.255.254 and tcp"]);
    let (state, h) = capture_thread(args, TrackerConfig::default());
    std::thread::sleep(Duration::from_millis(1300));
    let status = state.status();
    assert!(status.starts_with("lo: 0 packets"), "{status}");
    let t = Instant::now();
    state.stop();
    let (sessions, sum) = join_within(h, Duration::from_secs(3), "a quiet capture to stop");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(sessions.is_empty());
    assert_eq!(sum.stopped_by, StopReason::Stopped);
    assert!(!sum.status.running);
}

#[test]
fn duration_bounds_a_capture() {
    if skip("duration_bounds_a_capture") {
        return;
    }
    let args = live_args(&[
        "-i",
        "lo",
        "--filter",
        "host 127.77.255.253",
        "--duration",
        "500ms",
    ]);
    let t = Instant::now();
    let (_state, h) = capture_thread(args, TrackerConfig::default());
    let (_, sum) = join_within(h, Duration::from_secs(3), "--duration 0.5");
    assert_eq!(sum.stopped_by, StopReason::Duration);
    assert!(t.elapsed() >= Duration::from_millis(500));
}

#[test]
fn unknown_interface_lists_the_ones_that_exist() {
    if let Err(e) = ftpscope::capture::live::interfaces() {
        eprintln!("skipping unknown_interface_lists_the_ones_that_exist: libpcap: {e}");
        return;
    }
    let err = LiveCapture::open(&live_args(&["-i", "nosuch-if0"])).unwrap_err();
    let msg = format!("{err:#}");
    match err.downcast_ref::<LiveError>() {
        Some(LiveError::NoSuchInterface {
            interface,
            available,
        }) => {
            assert_eq!(interface, "nosuch-if0");
            assert!(available.iter().any(|i| i == "lo"), "{available:?}");
        }
        other => panic!("want NoSuchInterface, got {other:?}: {msg}"),
    }
    assert!(
        msg.contains("lo") && msg.contains("--list-interfaces"),
        "{msg}"
    );
}

#[test]
fn list_interfaces_shows_loopback() {
    if let Err(e) = ftpscope::capture::live::interfaces() {
        eprintln!("skipping list_interfaces_shows_loopback: libpcap: {e}");
        return;
    }
    let mut out = Vec::new();
    ftpscope::live::list_interfaces(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("lo ") && l.contains("loopback")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("any ")), "{text}");
}

/// Run by `without_privilege_the_error_says_what_to_do` as an unprivileged user.
#[test]
fn helper_open_without_privilege() {
    if std::env::var_os("FTPSCOPE_LIVE_HELPER").is_none() {
        return;
    }
    match LiveCapture::open(&live_args(&["-i", "lo"])) {
        Ok(_) => println!("HELPER-OPENED"),
        Err(e) => println!("HELPER-ERROR {e:#}"),
    }
}

#[test]
fn without_privilege_the_error_says_what_to_do() {
    if ftpscope::capture::live::interfaces().is_err() {
        eprintln!("skipping without_privilege_the_error_says_what_to_do: libpcap missing");
        return;
    }
    if !is_root() {
        // Already unprivileged (unless the test binary has capabilities).
        match LiveCapture::open(&live_args(&["-i", "lo"])) {
            Ok(_) => eprintln!("skipping: this process may capture (capabilities?)"),
            Err(e) => {
                let m = format!("{e:#}");
                assert!(m.contains("setcap cap_net_raw,cap_net_admin=eip"), "{m}");
            }
        }
        return;
    }
    if !have("setpriv") {
        eprintln!("skipping without_privilege_the_error_says_what_to_do: setpriv missing");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "helper_open_without_privilege",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FTPSCOPE_LIVE_HELPER", "1")
        .output()
        .expect("run setpriv");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("HELPER-"))
        .unwrap_or_else(|| panic!("the helper did not run: {text}"));
    assert!(line.contains("HELPER-ERROR"), "{text}");
    assert!(text.contains("no permission to capture on lo"), "{text}");
    assert!(text.contains("Run ftpscope as root"), "{text}");
    assert!(
        text.contains("setcap cap_net_raw,cap_net_admin=eip /"),
        "{text}"
    );
}

// ------------------------------------------------------------------ binary ---

fn spawn_live(args: &[&str], dir: &Path) -> (Proc, PathBuf, PathBuf) {
    let out = dir.join("live.out");
    let err = dir.join("live.err");
    let child = Command::new(bin())
        .arg("live")
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start ftpscope live");
    let p = Proc(Some(child));
    // Ready when it says so on standard error.
    wait_until(Duration::from_secs(10), "ftpscope live to start", || {
        std::fs::read_to_string(&err).is_ok_and(|s| s.contains("capturing on"))
    });
    (p, out, err)
}

fn read_json_lines(path: &Path) -> Vec<Value> {
    let f = std::fs::File::open(path).unwrap();
    std::io::BufReader::new(f)
        .lines()
        .map(|l| {
            let l = l.unwrap();
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
        })
        .collect()
}

#[test]
fn binary_live_json_matches_tcpdump() {
    if skip("binary_live_json_matches_tcpdump") {
        return;
    }
    assert_live_wired("binary_live_json_matches_tcpdump");
    let _g = serial();
    let lab = Lab::start("bin");
    let tcpdump = Tcpdump::start(&lab.filter(), lab.tmp.path());
    let port = lab.port.to_string();
    let filter = lab.filter();
    let (mut p, out, err) = spawn_live(
        &[
            "-i",
            "lo",
            "--format",
            "json",
            "--duration",
            "8s",
            "--filter",
            &filter,
            "--ftp-port",
            &port,
        ],
        lab.tmp.path(),
    );
    lab.traffic();
    let st = p.wait(Duration::from_secs(20), "ftpscope live --duration 8");
    let pcap = tcpdump.stop();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(st.success(), "exit {st}: {stderr}");
    let lines = read_json_lines(&out);
    let (last, sessions) = lines.split_last().expect("no output");
    assert_eq!(last["capture_summary"]["stopped_by"], "duration", "{last}");
    let mut live = sessions_of(sessions.iter().cloned(), &lab);
    let offline = ftpscope::engine::analyze_file(&pcap, lab.tracker()).unwrap();
    let mut offline = sessions_of(json_sessions(&offline), &lab);
    check_downloads(&live, "ftpscope live");
    // A packet the kernel dropped before ftpscope read it (a loaded machine: seen
    // once in CI, a pure ACK) would change the TCP figures of its connection;
    // tcpdump's side must have dropped nothing (stop()).
    let dropped = last["capture_summary"]["live"]["kernel_dropped"]
        .as_u64()
        .unwrap_or(0);
    without_tcp_figures(&mut live);
    without_tcp_figures(&mut offline);
    assert_same(
        &live,
        &offline,
        &format!("live (kernel dropped {dropped}) and tcpdump's capture differ"),
    );
}

#[test]
fn binary_live_sigterm_and_sigint_finish_the_json() {
    if skip("binary_live_sigterm_and_sigint_finish_the_json") {
        return;
    }
    assert_live_wired("binary_live_sigterm_and_sigint_finish_the_json");
    let _g = serial();
    let lab = Lab::start("binsig");
    for sig in ["INT", "TERM"] {
        let filter = lab.filter();
        let port = lab.port.to_string();
        let (mut p, out, err) = spawn_live(
            &[
                "-i",
                "lo",
                "--format",
                "json",
                "--filter",
                &filter,
                "--ftp-port",
                &port,
            ],
            lab.tmp.path(),
        );
        lab.download(false);
        std::thread::sleep(Duration::from_millis(300));
        p.signal(sig);
        let st = p.wait(Duration::from_secs(10), "ftpscope live after a signal");
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        assert_eq!(st.code(), Some(0), "SIG{sig}: {stderr}");
        let lines = read_json_lines(&out);
        let (last, sessions) = lines.split_last().expect("no output");
        assert_eq!(last["capture_summary"]["stopped_by"], "stopped", "{last}");
        assert_eq!(sessions_of(sessions.iter().cloned(), &lab).len(), 1);
    }
}

#[test]
fn binary_live_exit_2_without_privilege_or_interface() {
    if skip("binary_live_exit_2_without_privilege_or_interface") {
        return;
    }
    assert_live_wired("binary_live_exit_2_without_privilege_or_interface");
    let out = Command::new(bin())
        .args(["live", "-i", "nosuch-if0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no interface named") && err.contains("lo"),
        "{err}"
    );

    // The binary may sit in a directory nobody cannot enter: copy it.
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("ftpscope");
    std::fs::copy(bin(), &exe).unwrap();
    let _ = Command::new("chmod").arg("755").arg(tmp.path()).status();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args(["live", "-i", "lo"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Run ftpscope as root"), "{err}");
    assert!(
        err.contains(&format!(
            "setcap cap_net_raw,cap_net_admin=eip {}",
            exe.display()
        )),
        "{err}"
    );
    let mut s = String::new();
    let _ = (&out.stdout[..]).read_to_string(&mut s);
    assert!(s.is_empty(), "nothing on stdout: {s}");
}

/// Regression: live capture held back a session whose control connection had
/// closed (FIN both ways) while one of its data connections stayed open: the
/// status said "1 open session, 0 ended" until Ctrl-C. It is handed out once the
/// data connection can no longer matter (`session::DATA_WAIT`, 2 s of capture
/// time), by the next packet or the next once-a-second tick. Needs root and
/// libpcap only (its own server and client, no lab).
#[test]
fn live_hands_out_a_closed_session_while_a_data_connection_lingers() {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    let why = if !is_root() {
        Some("not root".to_string())
    } else {
        ftpscope::capture::live::interfaces()
            .err()
            .map(|e| format!("libpcap does not work: {e}"))
    };
    if let Some(why) = why {
        assert!(std::env::var_os("CI").is_none(), "cannot run: {why}");
        eprintln!("skipping: {why}");
        return;
    }
    let _g = serial();
    let ip = Ipv4Addr::new(127, 77, 250, 1);
    let control = TcpListener::bind((ip, 0)).expect("bind the control listener");
    let data = TcpListener::bind((ip, 0)).expect("bind the data listener");
    let port = control.local_addr().unwrap().port();
    let dport = data.local_addr().unwrap().port();
    let cfg = TrackerConfig {
        ftp_ports: vec![21, port],
        ..TrackerConfig::default()
    };
    let filter = format!("host {ip}");
    let args = live_args(&["-i", "lo", "--filter", &filter, "--duration", "30s"]);
    let (state, h) = capture_thread(args, cfg);
    std::thread::sleep(Duration::from_millis(300));

    let timeout = Some(Duration::from_secs(5));
    let mut client = TcpStream::connect((ip, port)).unwrap();
    client.set_read_timeout(timeout).unwrap();
    let (mut server, _) = control.accept().unwrap();
    server.set_read_timeout(timeout).unwrap();
    let mut buf = [0u8; 256];
    let mut say = |w: &mut TcpStream, r: &mut TcpStream, line: &str| {
        w.write_all(line.as_bytes()).unwrap();
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], line.as_bytes());
    };
    say(&mut server, &mut client, "220 hi\r\n");
    say(&mut client, &mut server, "PASV\r\n");
    let pasv = format!(
        "227 Entering Passive Mode (127,77,250,1,{},{}).\r\n",
        dport >> 8,
        dport & 0xff
    );
    say(&mut server, &mut client, &pasv);
    // The data connection opens and stays open.
    let dclient = TcpStream::connect((ip, dport)).unwrap();
    let (dserver, _) = data.accept().unwrap();
    say(&mut client, &mut server, "QUIT\r\n");
    say(&mut server, &mut client, "221 bye\r\n");
    // FIN both ways on the control connection.
    drop(client);
    drop(server);
    let closed = Instant::now();
    wait_until(
        Duration::from_secs(8),
        "the session to be handed out while its data connection is still open",
        || state.status_info().ended_sessions >= 1,
    );
    let waited = closed.elapsed();
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    state.stop();
    let (sessions, _) = join_within(h, Duration::from_secs(5), "the capture to stop");
    drop((dclient, dserver));
    let s: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.server.port() == port)
        .collect();
    assert_eq!(s.len(), 1, "{sessions:?}");
    assert_eq!(s[0].data_channels.len(), 1);
    assert_eq!(s[0].closed, "quit");
}

/// `live --format zeek` (and eve) writes each session as `report` writes it on the
/// packets the same capture saved (`-w`): the pipeline formats are the same records
/// live as from a file. The binary runs as a child and the download starts once it
/// says it is capturing, so the capture holds the whole session.
#[test]
fn live_pipeline_formats_match_report_on_the_saved_packets() {
    if skip("live_pipeline_formats_match_report_on_the_saved_packets") {
        return;
    }
    assert_live_wired("live_pipeline_formats_match_report_on_the_saved_packets");
    let _g = serial();
    for format in ["zeek", "eve"] {
        let lab = Lab::start(&format!("fmt-{format}"));
        let log = lab.tmp.path().join("live.log");
        let saved = lab.tmp.path().join("saved.pcapng");
        let port = lab.port.to_string();
        let (mut p, _out, err) = spawn_live(
            &[
                "-i",
                "lo",
                "--filter",
                &lab.filter(),
                "--ftp-port",
                &port,
                "--format",
                format,
                "--log",
                log.to_str().unwrap(),
                "-w",
                saved.to_str().unwrap(),
                "--duration",
                "60s",
                "--status-interval",
                "0",
            ],
            lab.tmp.path(),
        );
        lab.download(false);
        wait_until(Duration::from_secs(20), "the session in the log", || {
            std::fs::read_to_string(&log).is_ok_and(|s| s.contains("RETR"))
        });
        p.signal("INT");
        let st = p.wait(Duration::from_secs(10), "ftpscope live after SIGINT");
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        assert_eq!(st.code(), Some(0), "{stderr}");
        let got = std::fs::read_to_string(&log).unwrap();
        let o = Command::new(bin())
            .args(["report", "--format", format, "--ftp-port", &port])
            .arg(&saved)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let want = String::from_utf8(o.stdout).unwrap();
        // Zeek's #open/#close are dated; EVE's pcap_cnt counts frames of the file the
        // report reads, which live capture numbers the same way.
        let records = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
                .map(str::to_string)
                .collect()
        };
        let (got_r, want_r) = (records(&got), records(&want));
        assert!(got_r.iter().any(|l| l.contains("RETR")), "{got}");
        // On a difference, name the first record that differs (whole logs are long).
        if let Some(k) = (0..got_r.len().max(want_r.len())).find(|&k| got_r.get(k) != want_r.get(k))
        {
            panic!(
                "{format}: live log ({} records) and report of the saved packets ({} records) differ first at record {k}:\n live:   {:?}\n report: {:?}\n{stderr}",
                got_r.len(),
                want_r.len(),
                got_r.get(k),
                want_r.get(k)
            );
        }
        if format == "zeek" {
            assert!(got.starts_with("#separator"), "{got}");
            assert!(got.lines().last().unwrap().starts_with("#close"), "{got}");
        }
    }
}

/// `live --extract DIR`: a download captured live is written to DIR as it is
/// reassembled, byte for byte the file the server served.
#[test]
fn live_capture_extracts_the_downloaded_file() {
    if skip("live_capture_extracts_the_downloaded_file") {
        return;
    }
    let _g = serial();
    let lab = Lab::start("extract");
    let out = lab.tmp.path().join("files");
    let log = lab.tmp.path().join("live.jsonl");
    let args = live_args(&[
        "-i",
        "lo",
        "--filter",
        &lab.filter(),
        "--format",
        "json",
        "--log",
        log.to_str().unwrap(),
        "--duration",
        "60s",
        "--status-interval",
        "0",
    ]);
    let mut cfg = lab.tracker();
    cfg.extract = Some(ftpscope::session::extract::ExtractDir::new(&out, 1 << 30).unwrap());
    let h = std::thread::spawn(move || ftpscope::live::run(args, cfg, Lang::En));
    let mut tries = 0;
    wait_until(Duration::from_secs(30), "a download in the log", || {
        tries += 1;
        if tries % 20 == 1 {
            lab.download(false);
        }
        std::fs::read_to_string(&log).is_ok_and(|s| s.contains("\"RETR\""))
    });
    let st = Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        join_within(h, Duration::from_secs(10), "run() to stop").unwrap(),
        0
    );
    let served = std::fs::read(lab.dir.join("file.bin")).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut checked = 0;
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        for d in v["data_channels"].as_array().into_iter().flatten() {
            if d["command"] == "RETR" && d["extracted"]["completeness"] == "complete" {
                let p = out.join(d["extracted"]["path"].as_str().unwrap());
                assert!(std::fs::read(&p).unwrap() == served, "{}", p.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 1, "{text}");
}
