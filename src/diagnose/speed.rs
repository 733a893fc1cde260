//! Why a transfer was slow: the limit that held each data connection back, read
//! from its TCP figures (`model::TcpFigures`) as a TCP expert would read them.
//!
//! Only transfers that took long enough for the question to matter get a verdict
//! (at least [`MIN_SPAN_S`] from first to last data byte); a healthy fast transfer
//! gets none. Each rule names the evidence it used, so the user can check it.

use crate::model::{Certainty, DataChannel, Finding, Session, Severity, TcpFigures};
use crate::text::escape;
use crate::time::{human_bytes, human_duration, si};

use super::ev;

/// A transfer shorter than this is not slow enough to explain.
pub const MIN_SPAN_S: f64 = 0.5;
/// Share of the transfer time a limit must account for to be named.
const SHARE: f64 = 0.25;

fn label(d: &DataChannel) -> String {
    let cmd = d.command.as_deref().unwrap_or("data connection");
    match &d.arg {
        Some(a) => format!("{cmd} {}", escape(&a.0)),
        None => cmd.to_string(),
    }
}

fn span(d: &DataChannel) -> Option<f64> {
    let (a, b) = (d.first_byte?, d.last_byte?);
    Some(a.secs_until(b))
}

fn rate(t: &TcpFigures) -> String {
    t.throughput_bps
        .average
        .map(|b| format!("{}bit/s", si(b)))
        .unwrap_or_else(|| "-".into())
}

/// Transfers in a session before per-file overhead is worth naming.
const MANY_FILES: usize = 10;

/// `transfer-per-file-overhead`: many small files, where most of the time goes to
/// each file's round trips (announcement, SYN, transfer command, 150, 226) rather
/// than to moving bytes.
pub fn session_rules(s: &Session, out: &mut Vec<Finding>) {
    control_idle_rule(s, out);
    let mut n = 0usize;
    let mut bytes = 0u64;
    let mut moving = 0.0f64;
    let mut first: Option<crate::time::Ts> = None;
    let mut last: Option<crate::time::Ts> = None;
    let mut rtts = Vec::new();
    for d in &s.data_channels {
        // Transfers whose connection is in the capture (a control-only capture
        // cannot tell how long bytes moved).
        if !matches!(
            d.command.as_deref(),
            Some("RETR" | "STOR" | "APPE" | "STOU")
        ) || d.tcp.is_none()
        {
            continue;
        }
        let Some(done) = d
            .command_exchange
            .and_then(|e| s.exchanges.get(e))
            .and_then(|x| x.final_reply())
            .map(|r| r.ts)
        else {
            continue;
        };
        n += 1;
        bytes += d.bytes;
        moving += span(d).unwrap_or(0.0);
        first = Some(first.map_or(d.announced_at, |f| f.min(d.announced_at)));
        last = Some(last.map_or(done, |l| l.max(done)));
        if let Some(r) = d.tcp.as_deref().and_then(|t| t.rtt_ms) {
            rtts.push(r);
        }
    }
    let (Some(a), Some(b)) = (first, last) else {
        return;
    };
    let wall = a.secs_until(b);
    if n < MANY_FILES || wall < 2.0 || moving > 0.25 * wall {
        return;
    }
    rtts.sort_by(f64::total_cmp);
    let rtt = rtts.get(rtts.len() / 2).copied();
    let per_file = wall / n as f64;
    let trips = rtt
        .filter(|r| *r > 0.0)
        .map(|r| {
            format!(
                ", about {:.0} round trips of {} each",
                per_file / (r / 1e3),
                human_duration(r / 1e3)
            )
        })
        .unwrap_or_default();
    out.push(Finding {
        id: "transfer-per-file-overhead",
        severity: Severity::Warning,
        summary: format!(
            "{n} files ({} in all) took {}: {} per file{trips}, while bytes moved {} of that time; per-file round trips, not the network's speed, set the pace",
            human_bytes(bytes),
            human_duration(wall),
            human_duration(per_file),
            match 100.0 * moving / wall {
                p if p < 1.0 => "under 1%".to_string(),
                p => format!("only {p:.0}%"),
            }
        ),
        evidence: vec![ev(
            format!(
                "{n} transfers from {} to {}; time with bytes moving {}",
                a.clock(),
                b.clock(),
                human_duration(moving)
            ),
            Some(a),
            None,
            None,
        )],
        remedy: "Cut the round trips per file: transfer several files at once (lftp mirror --parallel=4, or several clients), send one archive instead of many files, list with MLSD once instead of SIZE/MDTM per file, and keep one control connection for all files. A longer round trip (a distant server, a VPN) multiplies the cost of each one.".into(),
        certainty: Certainty::Seen,
        cause: "per-file-overhead".into(),
        ..Default::default()
    });
}

/// Full-size segments sent again and again, none acknowledged, while the receiver
/// kept answering with small segments and an open window.
pub fn is_pmtu_blackhole(t: &TcpFigures) -> bool {
    t.full_size_retransmissions >= 3
        && t.acked_bytes < u64::from(t.max_segment)
        && t.acked_bytes < t.payload_bytes
        && t.receiver_heard_after_retransmission == Some(true)
        && t.zero_window.episodes == 0
}

/// `transfer-pmtu-blackhole`: the handshake and small segments pass, full-size
/// segments are sent again and again and never acknowledged, and the sender never
/// made them smaller (no ICMP "fragmentation needed" reached it).
fn pmtu_blackhole(
    d: &DataChannel,
    t: &TcpFigures,
    what: &str,
    sender: &str,
    receiver: &str,
    out: &mut Vec<Finding>,
) {
    let seg = t.max_segment;
    out.push(Finding {
        id: "transfer-pmtu-blackhole",
        severity: Severity::Error,
        summary: format!(
            "{what} stalled in a path-MTU black hole: {sender}'s full-size segments ({seg} bytes of payload) were sent {} times again and never acknowledged, while the handshake and {receiver}'s small segments got through; the sender never made its segments smaller, so no ICMP \"fragmentation needed\" reached it",
            t.full_size_retransmissions
        ),
        evidence: vec![
            ev(
                format!(
                    "{what}: {} of {} acknowledged; {} retransmissions of {seg}-byte segments; MSS {} negotiated",
                    human_bytes(t.acked_bytes),
                    human_bytes(t.payload_bytes),
                    t.full_size_retransmissions,
                    t.mss.map_or("-".into(), |m| m.to_string())
                ),
                d.first_byte,
                d.frame_syn,
                d.command_exchange,
            ),
            ev(
                format!("{receiver} kept sending (it is alive and the path carries small packets), acknowledging none of the large segments"),
                d.last_byte,
                None,
                None,
            ),
        ],
        remedy: "A link on the path has a smaller MTU than the ends think (a tunnel, VPN, PPPoE, a cloud overlay), and the ICMP message that would tell the sender is dropped by a firewall. Allow ICMP type 3 code 4 (IPv6: type 2, packet too big) through the firewalls on the path, or clamp the MSS on the router in front of the small link (iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu), or lower the MTU of the sender's interface. Linux senders can also probe (net.ipv4.tcp_mtu_probing=1).".into(),
        certainty: Certainty::Seen,
        cause: "pmtu-blackhole".into(),
        ..Default::default()
    });
}

/// A control connection silent this long during a transfer is at risk behind a NAT
/// or firewall with a short idle timeout.
const CONTROL_IDLE_S: f64 = 2.0;

/// `control-idle-timeout-during-transfer`: a transfer ran while the control
/// connection carried nothing; the data arrived, but its final reply never did, and
/// the control connection was then reset or went silent. A NAT or firewall forgot
/// the idle control connection.
pub fn control_idle_rule(s: &Session, out: &mut Vec<Finding>) {
    for d in &s.data_channels {
        let Some(ei) = d.command_exchange else {
            continue;
        };
        let Some(x) = s.exchanges.get(ei) else {
            continue;
        };
        // A 1xx, no final reply, and nothing else on the control connection after it.
        let Some(prelim) = x.replies.iter().find(|r| (100..200).contains(&r.code)) else {
            continue;
        };
        if x.final_reply().is_some_and(|r| r.code >= 200) || ei + 1 < s.exchanges.len() {
            continue;
        }
        let (Some(first), Some(last)) = (d.first_byte, d.last_byte) else {
            continue;
        };
        let delivered = d.ended_by == Some(crate::model::EndedBy::Fin)
            && d.expected_size.is_none_or(|n| d.bytes >= n);
        let idle = prelim.ts.secs_until(last);
        let reset = matches!(
            s.closed,
            crate::model::Closed::RstByClient | crate::model::Closed::RstByServer
        );
        // Without a reset, the capture must go on long enough after the data for a
        // 226 to be overdue (a server answers within a round trip or two).
        let silent_after = last.secs_until(s.end);
        if !delivered || idle < CONTROL_IDLE_S || !(reset || silent_after >= 5.0) {
            continue;
        }
        let what = label(d);
        let how = if reset {
            format!(
                "the control connection was then reset ({}) {} after the last data byte",
                s.closed,
                human_duration(silent_after)
            )
        } else {
            format!(
                "nothing came on the control connection for {} after the last data byte",
                human_duration(silent_after)
            )
        };
        out.push(Finding {
            id: "control-idle-timeout-during-transfer",
            severity: Severity::Error,
            summary: format!(
                "{what} delivered all its data, but the final reply (226) never arrived: the control connection sat idle for {} during the transfer and {how}; a NAT or firewall on the path most likely dropped the idle control connection",
                human_duration(idle)
            ),
            evidence: vec![
                ev(
                    format!("server replied {} {}; then nothing on the control connection", prelim.code, escape(&prelim.text.0)),
                    Some(prelim.ts),
                    Some(prelim.frame),
                    Some(ei),
                ),
                ev(
                    format!(
                        "{what}: {} in {}, ended by FIN",
                        human_bytes(d.bytes),
                        human_duration(first.secs_until(last))
                    ),
                    Some(last),
                    d.frame_syn,
                    None,
                ),
                ev(
                    format!("session ended: {}", s.closed.as_str()),
                    Some(s.end),
                    None,
                    None,
                ),
            ],
            remedy: "Keep the control connection alive during long transfers, or let the middlebox wait longer: TCP keepalives on the control connection (curl --keepalive-time 30; in your own code SO_KEEPALIVE with a short net.ipv4.tcp_keepalive_time), a client that sends NOOP during transfers (FileZilla's keep-alive option), or a longer idle timeout for established TCP on the NAT/firewall (Linux conntrack: nf_conntrack_tcp_timeout_established; firewalls: the TCP idle timeout). Servers' own idle timeouts (vsftpd idle_session_timeout) do not run during a transfer.".into(),
            certainty: Certainty::Inferred,
            cause: "control-idle-timeout".into(),
            ..Default::default()
        });
    }
}

/// The limit that held a data connection back, when one did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    PmtuBlackhole,
    ReceiverStalled,
    Loss,
    Sender,
    Window,
}

impl Limit {
    /// The finding it gives.
    pub fn id(self) -> &'static str {
        match self {
            Limit::PmtuBlackhole => "transfer-pmtu-blackhole",
            Limit::ReceiverStalled => "transfer-receiver-stalled",
            Limit::Loss => "transfer-loss-limited",
            Limit::Sender => "transfer-sender-limited",
            Limit::Window => "transfer-window-limited",
        }
    }
    /// A word for a table column.
    pub fn short(self) -> &'static str {
        match self {
            Limit::PmtuBlackhole => "PMTU",
            Limit::ReceiverStalled => "receiver",
            Limit::Loss => "loss",
            Limit::Sender => "sender",
            Limit::Window => "window",
        }
    }
}

/// Which limit held this data connection back (the first that applies, in this
/// order: a PMTU black hole; then, for transfers of at least [`MIN_SPAN_S`], a
/// stalled receiver, loss, an idle sender, the receive window).
pub fn limit(d: &DataChannel) -> Option<Limit> {
    let t = d.tcp.as_deref()?;
    if is_pmtu_blackhole(t) {
        return Some(Limit::PmtuBlackhole);
    }
    let span = span(d)?;
    if span < MIN_SPAN_S || t.payload_bytes == 0 {
        return None;
    }
    let zw = &t.zero_window;
    if zw.total_s >= SHARE * span && zw.episodes > 0 {
        return Some(Limit::ReceiverStalled);
    }
    let lost = t.retransmissions + t.spurious_retransmissions;
    let loss_rate = t.retransmitted_bytes as f64 / t.payload_bytes.max(1) as f64;
    if lost >= 3 && loss_rate >= 0.005 {
        return Some(Limit::Loss);
    }
    if t.idle.total_s >= SHARE * span && t.idle.episodes > 0 && lost == 0 {
        return Some(Limit::Sender);
    }
    let (w, rtt, avg) = (
        t.receive_window.median?,
        t.rtt_ms.filter(|r| *r >= 1.0)?,
        t.throughput_bps.average?,
    );
    let ceiling = w as f64 * 8.0 / (rtt / 1e3);
    let pinned = t
        .bytes_in_flight
        .median
        .is_some_and(|f| f as f64 >= 0.8 * w as f64);
    (w > 0 && (avg >= 0.6 * ceiling || pinned)).then_some(Limit::Window)
}

/// `transfer-network-limited` (info, only with `--verbose`): a transfer long enough
/// to judge for which no limit stood out (no loss, no stalled receiver, the sender
/// busy, the window not the ceiling): it ran as fast as the path carried it. Says
/// the rate and round-trip time reached, never a warning.
pub fn network_limited(d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(t) = d.tcp.as_deref() else {
        return;
    };
    // The sender's own sending time (its first to last data byte): a wait before
    // the sender's first byte (a server slow to answer a TLS ClientHello) is not
    // the path's doing.
    let Some(span) = t.sending_s else {
        return;
    };
    if span < MIN_SPAN_S || t.payload_bytes == 0 || limit(d).is_some() {
        return;
    }
    let what = label(d);
    let rtt = t
        .rtt_ms
        .map(|r| format!(", round-trip time {}", human_duration(r / 1e3)))
        .unwrap_or_default();
    out.push(Finding {
        id: "transfer-network-limited",
        severity: Severity::Info,
        summary: format!(
            "{what} was network-limited at {}{rtt}: no loss, no stalled receiver, no idle sender and no window ceiling held it back",
            rate(t)
        ),
        evidence: vec![ev(
            format!(
                "{what}: {} in {} ({}), {} retransmissions, {} zero-window episodes, idle {}",
                human_bytes(t.payload_bytes),
                human_duration(span),
                rate(t),
                t.retransmissions,
                t.zero_window.episodes,
                human_duration(t.idle.total_s)
            ),
            d.first_byte,
            d.frame_syn,
            d.command_exchange,
        )],
        remedy: "Nothing to fix in FTP or TCP settings: this is what the path between the two hosts carries. To go faster, a faster path or several transfers in parallel.".into(),
        certainty: Certainty::Inferred,
        cause: "network-limited".into(),
        ..Default::default()
    });
}

/// The verdicts for one data connection.
pub fn rules(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(t) = d.tcp.as_deref() else {
        return;
    };
    let what = label(d);
    let sender = match t.sender {
        Some("server") => "the server",
        Some("client") => "the client",
        _ => "the sender",
    };
    let receiver = if t.sender == Some("client") {
        "the server"
    } else {
        "the client"
    };
    let Some(limit) = limit(d) else {
        return;
    };
    if limit == Limit::PmtuBlackhole {
        pmtu_blackhole(d, t, &what, sender, receiver, out);
        return;
    }
    let span = span(d).unwrap_or(0.0);
    let base = ev(
        format!(
            "{what}: {} in {} ({})",
            human_bytes(t.payload_bytes),
            human_duration(span),
            rate(t)
        ),
        d.first_byte,
        d.frame_syn,
        d.command_exchange,
    );

    let zw = &t.zero_window;
    if limit == Limit::ReceiverStalled {
        out.push(Finding {
            id: "transfer-receiver-stalled",
            severity: Severity::Warning,
            summary: format!(
                "{receiver} stopped reading during {what}: its receive window was zero {} times for {} in all ({:.0}% of the transfer), so {sender} could not send",
                zw.episodes,
                human_duration(zw.total_s),
                100.0 * zw.total_s / span
            ),
            evidence: vec![
                base,
                ev(
                    format!(
                        "zero-window episodes: {}, longest {}; receive window median {}",
                        zw.episodes,
                        human_duration(zw.longest_s),
                        t.receive_window.median.map(human_bytes).unwrap_or_else(|| "-".into())
                    ),
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: format!(
                "The network is not the limit: the receiving program on {receiver} did not read the data as fast as it arrived. Look at what it does with the bytes: a slow or full disk, an antivirus scanning the file, a client that processes each block before reading the next, or a tiny receive buffer (net.ipv4.tcp_rmem)."
            ),
            certainty: Certainty::Seen,
            cause: "receiver-stalled".into(),
            ..Default::default()
        });
        return;
    }

    let lost = t.retransmissions + t.spurious_retransmissions;
    let loss_rate = t.retransmitted_bytes as f64 / t.payload_bytes.max(1) as f64;
    if limit == Limit::Loss {
        let place = if t.lost_before_capture_bytes * 2 >= t.retransmitted_bytes {
            format!(
                "between {sender} and the capture point: the capture never saw {} of the first copies",
                human_bytes(t.lost_before_capture_bytes)
            )
        } else {
            format!(
                "after the capture point (towards {receiver}), or the acknowledgements were lost on the way back: the capture saw the first copies"
            )
        };
        out.push(Finding {
            id: "transfer-loss-limited",
            severity: Severity::Warning,
            summary: format!(
                "packet loss held {what} back: {lost} segments ({}, {:.1}% of the bytes) were sent again, {} duplicate acknowledgements; loss seems to happen {place}",
                human_bytes(t.retransmitted_bytes),
                100.0 * loss_rate,
                t.duplicate_acks
            ),
            evidence: vec![
                base,
                ev(
                    format!(
                        "retransmissions: {} ({} fast, {} spurious), duplicate ACKs: {}, round trip {}",
                        lost,
                        t.fast_retransmissions,
                        t.spurious_retransmissions,
                        t.duplicate_acks,
                        t.rtt_ms
                            .map(|r| human_duration(r / 1e3))
                            .unwrap_or_else(|| "unknown".into())
                    ),
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: "TCP slows down after every loss. Find the lossy link: compare captures taken at both ends, check interface error and drop counters (ip -s link, ethtool -S), a congested or policed link, duplex mismatches, Wi-Fi. A capture on the other side of the suspected link tells where the segments vanish.".into(),
            certainty: Certainty::Seen,
            cause: "loss".into(),
            ..Default::default()
        });
        return;
    }

    let idle = &t.idle;
    if limit == Limit::Sender {
        let who = if t.sender == Some("client") {
            "the client's upload loop or a client rate limit (curl --limit-rate, lftp net:limit-rate)"
        } else {
            "a server rate limit (vsftpd local_max_rate/anon_max_rate, pure-ftpd -T, ProFTPD TransferRate) or a server reading its disk slowly"
        };
        out.push(Finding {
            id: "transfer-sender-limited",
            severity: Severity::Warning,
            summary: format!(
                "{sender} held {what} back: for {} ({:.0}% of the transfer, {} pauses) it had everything acknowledged and sent nothing, with the window open and no loss",
                human_duration(idle.total_s),
                100.0 * idle.total_s / span,
                idle.episodes
            ),
            evidence: vec![
                base,
                ev(
                    format!(
                        "longest pause {}; bytes in flight median {}; receive window median {}",
                        human_duration(idle.longest_s),
                        t.bytes_in_flight.median.map(human_bytes).unwrap_or_else(|| "-".into()),
                        t.receive_window.median.map(human_bytes).unwrap_or_else(|| "-".into())
                    ),
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: format!(
                "The network and {receiver} were waiting for data. Look at {who}; raise or remove the limit if the speed is not what you configured."
            ),
            certainty: Certainty::Seen,
            cause: "sender-limited".into(),
            ..Default::default()
        });
        return;
    }

    // The rate sits at the ceiling the receiver's window allows over the round trip
    // (window / RTT), wherever the capture was taken; near the sender the bytes in
    // flight also sit at the window.
    if let (Some(w), Some(rtt), Some(avg)) = (
        t.receive_window.median,
        t.rtt_ms.filter(|r| *r >= 1.0),
        t.throughput_bps.average,
    ) {
        let ceiling = w as f64 * 8.0 / (rtt / 1e3);
        if limit == Limit::Window {
            let scaling = match t.window_scaling {
                Some(false) => {
                    " Window scaling is off on this connection (one side did not offer it, or a middlebox stripped the option): the window cannot exceed 64 KiB."
                }
                _ => "",
            };
            out.push(Finding {
                id: "transfer-window-limited",
                severity: Severity::Warning,
                summary: format!(
                    "{receiver}'s receive window held {what} back: a window of {} over a {} round trip allows at most {}bit/s, and the transfer ran at {}bit/s",
                    human_bytes(w),
                    human_duration(rtt / 1e3),
                    si(ceiling),
                    si(avg)
                ),
                evidence: vec![
                    base,
                    ev(
                        format!(
                            "receive window median {} (max {}), window scale {}/{}; bytes in flight median {}",
                            human_bytes(w),
                            t.receive_window.max.map(human_bytes).unwrap_or_else(|| "-".into()),
                            t.window_scale.client.map_or("-".into(), |x| x.to_string()),
                            t.window_scale.server.map_or("-".into(), |x| x.to_string()),
                            t.bytes_in_flight.median.map(human_bytes).unwrap_or_else(|| "-".into())
                        ),
                        d.first_byte,
                        None,
                        None,
                    ),
                ],
                remedy: format!(
                    "Give {receiver} a larger receive buffer (Linux: net.ipv4.tcp_rmem and net.core.rmem_max; or the program's own socket buffer setting) and keep window scaling on end to end; the rate then grows until the path or the sender limits it.{scaling}"
                ),
                certainty: Certainty::Seen,
                cause: "window-limited".into(),
                ..Default::default()
            });
        }
    }
    let _ = s;
}
