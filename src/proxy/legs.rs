//! What only the proxy can know about a slow transfer: the kernel's view of both of
//! its legs (Linux `TCP_INFO` through the `sockinfo` crate), and from it which side
//! held the transfer back.
//!
//! The proxy sends to the receiver on one leg and reads from the sender on the other.
//! On the sending leg the kernel counts how long data was waiting (busy), and of
//! that how long the receiver's window was the limit (rwnd-limited) or the proxy's
//! own send buffer (sndbuf-limited, i.e. the path could not drain it). When the
//! sending leg was idle most of the time, the proxy was waiting for the sender.

use std::time::Duration;

use sockinfo::TcpInfo;

use crate::time::human_duration;

/// Shorter transfers get no verdict (a note of the figures only when asked).
const MIN_TRANSFER: Duration = Duration::from_millis(500);
/// A limit must account for this share of the transfer.
const SHARE: f64 = 0.3;

fn leg(name: &str, t: &TcpInfo) -> String {
    format!(
        "{name} leg rtt {}, {} segments retransmitted, busy {}, limited by the peer's window {}, by the send buffer {}",
        human_duration(f64::from(t.rtt_us) / 1e6),
        t.total_retrans,
        human_duration(t.busy_us as f64 / 1e6),
        human_duration(t.rwnd_limited_us as f64 / 1e6),
        human_duration(t.sndbuf_limited_us as f64 / 1e6),
    )
}

/// The note for a data connection relayed for `took`: the figures of both legs and,
/// for a transfer long enough, which side limited it. `download`: the server sent.
pub fn note(client: &TcpInfo, server: &TcpInfo, took: Duration, download: bool) -> Option<String> {
    if took < MIN_TRANSFER {
        return None;
    }
    let secs = took.as_secs_f64();
    // The leg the proxy sent the data on, and the side at its other end.
    let (out, receiver, sender) = if download {
        (client, "the client", "the server")
    } else {
        (server, "the server", "the client")
    };
    let busy = out.busy_us as f64 / 1e6;
    let rwnd = out.rwnd_limited_us as f64 / 1e6;
    let sndbuf = out.sndbuf_limited_us as f64 / 1e6;
    let verdict = if rwnd >= SHARE * secs {
        format!(
            "{receiver} limited this transfer: its receive window held the proxy back for {} of {} (a slow reader or a small receive buffer on {receiver}'s side)",
            human_duration(rwnd),
            human_duration(secs)
        )
    } else if sndbuf >= SHARE * secs || (busy >= (1.0 - SHARE) * secs && out.total_retrans > 0) {
        format!(
            "the network between the proxy and {receiver} limited this transfer: data waited in the proxy's send buffer for {} of {} ({} segments retransmitted on that leg)",
            human_duration(sndbuf.max(busy)),
            human_duration(secs),
            out.total_retrans
        )
    } else if busy <= (1.0 - SHARE) * secs {
        format!(
            "{sender} limited this transfer: the proxy had nothing to send to {receiver} for {} of {} (it waited for {sender}'s data: a rate limit, a slow disk, or the path from {sender})",
            human_duration(secs - busy),
            human_duration(secs)
        )
    } else {
        return Some(format!(
            "proxy's view (Linux tcp_info): {}; {}",
            leg("client", client),
            leg("server", server)
        ));
    };
    Some(format!(
        "proxy's view (Linux tcp_info): {verdict}. {}; {}",
        leg("client", client),
        leg("server", server)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(busy_ms: u64, rwnd_ms: u64, sndbuf_ms: u64, retrans: u32) -> TcpInfo {
        TcpInfo {
            rtt_us: 40_000,
            busy_us: busy_ms * 1000,
            rwnd_limited_us: rwnd_ms * 1000,
            sndbuf_limited_us: sndbuf_ms * 1000,
            total_retrans: retrans,
            ..TcpInfo::default()
        }
    }

    #[test]
    fn the_side_that_held_the_transfer_back_is_named() {
        let took = Duration::from_secs(4);
        let idle = info(100, 0, 0, 0);
        // A slow reader on the client: the client leg's window limited.
        let n = note(&info(3900, 3500, 0, 0), &idle, took, true).unwrap();
        assert!(n.contains("the client limited this transfer"), "{n}");
        // A server sending slowly: the client leg mostly idle.
        let n = note(&info(800, 0, 0, 0), &idle, took, true).unwrap();
        assert!(n.contains("the server limited this transfer"), "{n}");
        // An upload from a slow client: the server leg mostly idle.
        let n = note(&idle, &info(500, 0, 0, 0), took, false).unwrap();
        assert!(n.contains("the client limited this transfer"), "{n}");
        // Loss towards the client: busy all along with retransmissions.
        let n = note(&info(3900, 0, 100, 25), &idle, took, true).unwrap();
        assert!(
            n.contains("the network between the proxy and the client"),
            "{n}"
        );
        // A short transfer: nothing to say.
        assert!(note(&idle, &idle, Duration::from_millis(100), true).is_none());
    }
}
