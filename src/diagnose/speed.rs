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

/// The verdicts for one data connection.
pub fn rules(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    let (Some(t), Some(span)) = (d.tcp.as_deref(), span(d)) else {
        return;
    };
    if span < MIN_SPAN_S || t.payload_bytes == 0 {
        return;
    }
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
    if zw.total_s >= SHARE * span && zw.episodes > 0 {
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
    if lost >= 3 && loss_rate >= 0.005 {
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
    if idle.total_s >= SHARE * span && idle.episodes > 0 && lost == 0 {
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

    // Bytes in flight pinned at the advertised window, with no other limit seen.
    if let (Some(f), Some(w), Some(rtt)) = (
        t.bytes_in_flight.median,
        t.receive_window.median,
        t.rtt_ms.or(t.ack_rtt_ms),
    ) {
        if w > 0 && f as f64 >= 0.8 * w as f64 && rtt >= 1.0 {
            let ceiling = w as f64 * 8.0 / (rtt / 1e3);
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
                    "{receiver}'s receive window held {what} back: the bytes in flight sat at the advertised window ({}), which allows at most {}bit/s over a {} round trip",
                    human_bytes(w),
                    si(ceiling),
                    human_duration(rtt / 1e3)
                ),
                evidence: vec![base],
                remedy: format!(
                    "Give {receiver} a larger receive buffer (net.ipv4.tcp_rmem / net.core.rmem_max, or the program's own socket buffer setting) and make sure window scaling is on end to end.{scaling}"
                ),
                certainty: Certainty::Seen,
                cause: "window-limited".into(),
                ..Default::default()
            });
        }
    }
    let _ = s;
}
