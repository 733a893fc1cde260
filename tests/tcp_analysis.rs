//! TCP figures of data connections and the slow-transfer verdicts.
//!
//! * The counts (retransmissions, fast and spurious ones, out-of-order segments,
//!   duplicate ACKs, zero-window segments' episodes) equal what tshark's TCP analysis
//!   (`tcp.analysis.*`) finds on the same connection, on every committed capture;
//!   the handshake round trip is tshark's iRTT and the average rate tshark's bytes
//!   over time, within 10 %.
//! * Each verdict fires on the lab capture made for it (captures/make/slow-transfer.sh)
//!   and on no other committed capture, except captures whose scripts rate-limit the
//!   server on purpose (their transcript shows the server pacing itself), and on no
//!   public capture.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use ftpscope::model::{Session, TcpFigures};
use ftpscope::session::TrackerConfig;

fn sessions(path: &Path) -> Vec<Session> {
    let mut v = Vec::new();
    ftpscope::engine::stream_file(path, TrackerConfig::default(), &mut |s| v.push(s))
        .unwrap_or_else(|e| panic!("analyse {}: {e}", path.display()));
    v
}

type Key = BTreeSet<SocketAddr>;
/// tshark's analysis flags counted per connection.
type Counts = BTreeMap<Key, BTreeMap<&'static str, u64>>;

/// What tshark says of a connection beyond counts: its initial RTT, and the payload
/// bytes (retransmissions left out) with the times of the first and last of them.
#[derive(Default, Debug)]
struct Timing {
    irtt_s: Option<f64>,
    /// Payload per sending endpoint (an encrypted data connection has some both
    /// ways: the handshake), and when that endpoint last sent some.
    bytes: BTreeMap<SocketAddr, u64>,
    last: BTreeMap<SocketAddr, f64>,
    /// The first payload either way.
    first: Option<f64>,
}

/// Counts per connection, as tshark's TCP analysis flags them.
fn tshark_counts(path: &Path) -> (Counts, BTreeMap<Key, Timing>) {
    let fields = [
        "ip.src",
        "ipv6.src",
        "tcp.srcport",
        "ip.dst",
        "ipv6.dst",
        "tcp.dstport",
        "tcp.analysis.retransmission",
        "tcp.analysis.fast_retransmission",
        "tcp.analysis.spurious_retransmission",
        "tcp.analysis.out_of_order",
        "tcp.analysis.duplicate_ack",
        "tcp.analysis.zero_window",
        "tcp.analysis.initial_rtt",
        "tcp.len",
        "frame.time_epoch",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(path)
        .args(["-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    let names = [
        "retransmissions",
        "fast",
        "spurious",
        "out_of_order",
        "duplicate_acks",
        "zero_window_segments",
    ];
    let mut m: BTreeMap<Key, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let mut timing: BTreeMap<Key, Timing> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let p: Vec<&str> = line.split('|').collect();
        if p.len() < fields.len() || p[2].is_empty() {
            continue;
        }
        let ip = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else {
                a.to_string()
            }
        };
        let (Ok(src), Ok(dst)) = (
            ip(p[0], p[1]).parse::<std::net::IpAddr>(),
            ip(p[3], p[4]).parse::<std::net::IpAddr>(),
        ) else {
            continue;
        };
        let (Ok(sp), Ok(dp)) = (p[2].parse::<u16>(), p[5].parse::<u16>()) else {
            continue;
        };
        let key: Key = [SocketAddr::new(src, sp), SocketAddr::new(dst, dp)].into();
        let e = m.entry(key.clone()).or_default();
        for (i, n) in names.iter().enumerate() {
            if !p[6 + i].is_empty() {
                *e.entry(n).or_default() += 1;
            }
        }
        let t = timing.entry(key).or_default();
        if let Ok(r) = p[12].parse::<f64>() {
            t.irtt_s = Some(r);
        }
        let len: u64 = p[13].parse().unwrap_or(0);
        let at: f64 = p[14].parse().unwrap_or(0.0);
        if len > 0 && p[6].is_empty() {
            let from = SocketAddr::new(src, sp);
            *t.bytes.entry(from).or_default() += len;
            t.first.get_or_insert(at);
            t.last.insert(from, at);
        }
    }
    (m, timing)
}

fn ours(t: &TcpFigures) -> BTreeMap<&'static str, u64> {
    [
        // tshark flags spurious retransmissions as retransmissions too.
        (
            "retransmissions",
            t.retransmissions + t.spurious_retransmissions,
        ),
        ("fast", t.fast_retransmissions),
        ("spurious", t.spurious_retransmissions),
        ("out_of_order", t.out_of_order),
        ("duplicate_acks", t.duplicate_acks),
    ]
    .into_iter()
    .collect()
}

#[test]
fn counts_match_tshark_on_every_committed_capture() {
    if !common::require_tool("tshark", "counts_match_tshark_on_every_committed_capture") {
        return;
    }
    let mut compared = 0;
    let mut nonzero = 0;
    let (mut rtts, mut rates) = (0, 0);
    // Encrypted sessions' data connections (TLS records, read as a stream): their
    // figures must be there and agree with tshark like the plain ones.
    let (mut tls, mut tls_rtts) = (0, 0);
    for path in common::committed_captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // Copies of packets: ftpscope drops them as copies, tshark calls them
        // retransmissions (derived.sh checks these after editcap -D).
        if name.starts_with("duplicated") {
            continue;
        }
        let (theirs, timing) = tshark_counts(&path);
        for s in sessions(&path) {
            for d in &s.data_channels {
                let (Some(t), Some(c), Some(l)) = (d.tcp.as_deref(), d.connector, d.listener)
                else {
                    continue;
                };
                // Our analysis ends at the first RST (the connection is over);
                // tshark goes on with stray segments after it.
                if t.end.rst_client_s.is_some() || t.end.rst_server_s.is_some() {
                    continue;
                }
                let key: Key = [c, l].into();
                let mut want: BTreeMap<&'static str, u64> =
                    ours(t).keys().map(|k| (*k, 0)).collect();
                if let Some(x) = theirs.get(&key) {
                    for (k, v) in x {
                        if want.contains_key(k) {
                            want.insert(k, *v);
                        }
                    }
                }
                assert_eq!(ours(t), want, "{name}: data connection {c} -> {l}");
                if want.values().any(|v| *v > 0) {
                    nonzero += 1;
                }
                // Zero-window segments: at least one per episode.
                let zw = theirs
                    .get(&key)
                    .and_then(|x| x.get("zero_window_segments"))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(
                    t.zero_window.episodes > 0,
                    zw > 0,
                    "{name}: zero window {c} -> {l}"
                );
                assert!(t.zero_window.episodes <= zw, "{name}: {c} -> {l}");
                // Round trip of the handshake: tshark's iRTT.
                let tm = timing.get(&key);
                if let (Some(ours), Some(theirs)) = (t.rtt_ms, tm.and_then(|x| x.irtt_s)) {
                    let theirs = theirs * 1e3;
                    assert!(
                        (ours - theirs).abs() <= 0.1 * theirs + 0.002,
                        "{name}: {c} -> {l}: rtt {ours} ms, tshark {theirs} ms"
                    );
                    rtts += 1;
                    if d.tls.is_some() {
                        tls_rtts += 1;
                    }
                }
                // Throughput over the data, for transfers long enough to measure.
                // The sender's bytes, from the first payload either way to its last.
                let server_end = if d.mode == ftpscope::model::DataMode::Passive {
                    l
                } else {
                    c
                };
                let sender = if t.sender == Some("server") {
                    server_end
                } else if server_end == l {
                    c
                } else {
                    l
                };
                if let (Some(avg), Some(x)) = (t.throughput_bps.average, tm)
                    && let (Some(a), Some(&b)) = (x.first, x.last.get(&sender))
                    && b - a >= 0.1
                    && t.retransmissions == 0
                {
                    let bytes = x.bytes.get(&sender).copied().unwrap_or(0);
                    let theirs = bytes as f64 * 8.0 / (b - a);
                    assert!(
                        (avg - theirs).abs() <= 0.1 * theirs,
                        "{name}: {c} -> {l}: {avg} bit/s, tshark {theirs}"
                    );
                    rates += 1;
                }
                compared += 1;
                if d.tls.as_deref().is_some_and(|x| x.mode == "protected") {
                    tls += 1;
                }
            }
        }
    }
    assert!(
        tls >= 8 && tls_rtts >= 8,
        "TLS data connections compared: {tls}, with a round trip: {tls_rtts}"
    );
    assert!(compared >= 40, "only {compared} data connections compared");
    assert!(
        rtts >= 30 && rates >= 4,
        "rtt compared {rtts}, throughput {rates}"
    );
    assert!(
        nonzero >= 3,
        "the lab captures with loss and zero windows must be among them ({nonzero})"
    );
}

const VERDICTS: [&str; 7] = [
    "transfer-loss-limited",
    "transfer-sender-limited",
    "transfer-receiver-stalled",
    "transfer-window-limited",
    "transfer-per-file-overhead",
    "transfer-pmtu-blackhole",
    "control-idle-timeout-during-transfer",
];

fn verdicts(path: &Path) -> BTreeSet<String> {
    sessions(path)
        .iter()
        .flat_map(|s| s.findings.iter())
        .map(|f| f.id.to_string())
        .filter(|id| VERDICTS.contains(&id.as_str()))
        .collect()
}

#[test]
fn each_verdict_fires_on_its_capture_only() {
    // Captures whose scripts set vsftpd's local_max_rate: the server paces itself.
    let rate_limited = ["aborted-download.pcap", "transfer-reset.pcap"];
    let expected: BTreeMap<&str, &str> = [
        ("slow-loss.pcap", "transfer-loss-limited"),
        // Captured on an endpoint with segmentation/receive offload on: segments
        // of up to 64 KB in the capture, as on most hosts.
        ("slow-loss-offload-server.pcap", "transfer-loss-limited"),
        ("slow-loss-offload-client.pcap", "transfer-loss-limited"),
        (
            "slow-pmtu-blackhole-offload-server.pcap",
            "transfer-pmtu-blackhole",
        ),
        // The same black hole captured at the receiver: no data segment arrives.
        (
            "slow-pmtu-blackhole-offload-client.pcap",
            "transfer-pmtu-blackhole",
        ),
        ("slow-rate-limit.pcap", "transfer-sender-limited"),
        ("slow-receiver-stalled.pcap", "transfer-receiver-stalled"),
        ("slow-window-limited.pcap", "transfer-window-limited"),
        ("slow-small-files.pcap", "transfer-per-file-overhead"),
        ("slow-pmtu-blackhole.pcap", "transfer-pmtu-blackhole"),
        ("slow-pmtu-icmp-filtered.pcap", "transfer-pmtu-blackhole"),
        (
            "slow-nat-idle-timeout.pcap",
            "control-idle-timeout-during-transfer",
        ),
    ]
    .into();
    let mut seen = 0;
    for path in common::committed_captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let got = verdicts(&path);
        let mut want: BTreeSet<String> = expected
            .get(name.as_str())
            .map(|v| v.to_string())
            .into_iter()
            .collect();
        // The NAT scenario's server is rate-limited too (to make the transfer long).
        if rate_limited.contains(&name.as_str()) || name == "slow-nat-idle-timeout.pcap" {
            want.insert("transfer-sender-limited".to_string());
        }
        assert_eq!(got, want, "{name}");
        seen += usize::from(expected.contains_key(name.as_str()));
    }
    assert_eq!(
        seen,
        expected.len(),
        "every lab capture of a verdict is committed"
    );
}

#[test]
fn network_limited_is_said_only_when_asked_and_only_when_no_limit_held() {
    // `--verbose` adds an info finding for transfers no limit held back; without it
    // a healthy transfer gets no finding at all.
    let verbose = TrackerConfig {
        verbose: true,
        ..TrackerConfig::default()
    };
    let mut fired = BTreeSet::new();
    for path in common::committed_captures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !verdicts_with(&path, TrackerConfig::default(), true)
                .contains("transfer-network-limited"),
            "{name}: said without --verbose"
        );
        let mut v = Vec::new();
        ftpscope::engine::stream_file(&path, verbose.clone(), &mut |s| v.push(s)).unwrap();
        for s in &v {
            for f in s
                .findings
                .iter()
                .filter(|f| f.id == "transfer-network-limited")
            {
                assert_eq!(f.severity, ftpscope::model::Severity::Info, "{name}");
                // Never beside a verdict on the same transfer.
                let other = s.findings.iter().any(|g| {
                    g.id != f.id
                        && VERDICTS.contains(&g.id)
                        && g.exchanges.iter().any(|x| f.exchanges.contains(x))
                });
                assert!(!other, "{name}: {} with a verdict", f.summary);
                fired.insert(name.clone());
                if name == "slow-healthy.pcap" {
                    // 2 MB in about 0.77 s over a 100 ms round trip.
                    assert!(f.summary.contains("round-trip time 10"), "{}", f.summary);
                    assert!(f.summary.contains("Mbit/s"), "{}", f.summary);
                }
            }
        }
    }
    assert_eq!(
        fired,
        BTreeSet::from(["slow-healthy.pcap".to_string()]),
        "the healthy lab transfer, and no capture whose transfers were held back"
    );
}

/// The finding ids of a capture (all of them, or only the verdicts).
fn verdicts_with(path: &Path, cfg: TrackerConfig, all: bool) -> BTreeSet<String> {
    let mut v = Vec::new();
    ftpscope::engine::stream_file(path, cfg, &mut |s| v.push(s)).unwrap();
    v.iter()
        .flat_map(|s| s.findings.iter())
        .map(|f| f.id.to_string())
        .filter(|id| all || VERDICTS.contains(&id.as_str()))
        .collect()
}

#[test]
fn the_figures_of_the_lab_captures_tell_their_story() {
    let dir = common::repo().join("captures");
    let fig = |name: &str| -> TcpFigures {
        let s = sessions(&dir.join(name));
        let d = s
            .iter()
            .flat_map(|s| s.data_channels.iter())
            .find(|d| d.command.as_deref() == Some("RETR"))
            .expect("a RETR");
        *d.tcp.clone().expect("tcp figures")
    };
    let loss = fig("slow-loss.pcap");
    assert_eq!(loss.sender, Some("server"));
    assert_eq!(loss.payload_bytes, 300_000);
    assert!(loss.retransmissions >= 3, "{loss:?}");
    // Dropped by the router before the client-side capture point.
    assert_eq!(loss.lost_before_capture_bytes, loss.retransmitted_bytes);
    assert_eq!(loss.mss, Some(1460));
    assert_eq!(loss.window_scaling, Some(true));
    let stalled = fig("slow-receiver-stalled.pcap");
    assert!(stalled.zero_window.episodes >= 10, "{stalled:?}");
    assert!(stalled.receive_window.min == Some(0));
    assert_eq!(
        stalled.idle.episodes, 0,
        "a closed window is not an idle sender"
    );
    let rate = fig("slow-rate-limit.pcap");
    assert!(rate.idle.total_s > 1.0, "{rate:?}");
    assert_eq!(rate.retransmissions, 0);
    // 300000 bytes at 100000 B/s: about 2-3 s, under 1.6 Mbit/s on average.
    let avg = rate.throughput_bps.average.unwrap();
    assert!(avg < 1.6e6 && avg > 0.6e6, "{avg}");
    assert!(rate.series.bytes.len() > 10 && rate.series.bucket_ms == 100);
    assert_eq!(rate.series.bytes.iter().sum::<u64>(), 300_000);
    let window = fig("slow-window-limited.pcap");
    // 20 ms each way through the router's delay.
    let rtt = window.rtt_ms.unwrap();
    assert!((39.0..48.0).contains(&rtt), "{rtt}");
    let w = window.receive_window.median.unwrap() as f64;
    let avg = window.throughput_bps.average.unwrap();
    let ceiling = w * 8.0 / (rtt / 1e3);
    assert!(
        avg > 0.6 * ceiling && avg < 1.5 * ceiling,
        "{avg} vs {ceiling}"
    );
    let hole = fig("slow-pmtu-blackhole.pcap");
    assert_eq!(hole.acked_bytes, 0);
    assert_eq!(hole.max_segment, 1448);
    assert!(hole.full_size_retransmissions >= 3);
    assert_eq!(hole.receiver_heard_after_retransmission, Some(true));
    // Loss never gets that far: the loss capture's big segments were acknowledged.
    assert!(loss.acked_bytes > 250_000, "{}", loss.acked_bytes);
}

#[test]
fn no_verdict_on_public_captures() {
    let Some(dir) = common::public_captures("no_verdict_on_public_captures") else {
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pcap" | "pcapng" | "cap"))
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 50, "public captures: {}", files.len());
    for p in files {
        let mut v = Vec::new();
        if ftpscope::engine::stream_file(&p, TrackerConfig::default(), &mut |s| v.push(s)).is_err()
        {
            continue;
        }
        for s in &v {
            for f in &s.findings {
                assert!(
                    !VERDICTS.contains(&f.id),
                    "{}: {} {}",
                    p.display(),
                    f.id,
                    f.summary
                );
            }
        }
    }
}
