//! Diagnosis: rules that read the model and add [`Finding`]s.
//!
//! Every rule works from what is on the wire: an announcement, the connection
//! attempt that followed (or not) and what answered it, the reply codes. Each
//! finding carries its evidence (with frame numbers and times) and a remedy that
//! names the address, port, mode and setting involved. The ids are stable and
//! documented in docs/findings.md.

use std::net::{IpAddr, SocketAddr};

use crate::ftp::address::is_private;
use crate::model::{
    CaptureDrops, CaptureStats, Certainty, ControlAnswer, DataChannel, DataMode, DataVisibility,
    Evidence, Exchange, FailedLogin, Finding, Login, MatchKind, Outcome, Representation, Session,
    Severity, Via,
};
use crate::text::{escape, escape_str};
use crate::time::Ts;

/// Failed logins from one client address within this many seconds count together.
const GUESS_WINDOW_SECS: f64 = 300.0;
/// That many failures in the window look like password guessing.
const GUESS_THRESHOLD: usize = 5;

fn ev(
    what: impl Into<String>,
    ts: Option<Ts>,
    frame: Option<u64>,
    exchange: Option<usize>,
) -> Evidence {
    Evidence {
        what: what.into(),
        ts,
        frame: frame.filter(|f| *f > 0),
        exchange,
    }
}

fn reply_evidence(s: &Session, ei: usize) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(x) = s.exchanges.get(ei) {
        if let Some(c) = &x.command {
            out.push(ev(
                format!("client sent: {} {}", escape_str(&c.verb), escape(&c.arg.0))
                    .trim_end()
                    .to_string(),
                Some(c.ts),
                Some(c.frame),
                Some(ei),
            ));
        }
        for r in &x.replies {
            let first = r
                .lines
                .first()
                .map(|l| escape(&l.0))
                .unwrap_or_else(|| format!("{}", r.code));
            out.push(ev(
                format!("server replied: {first}"),
                Some(r.ts),
                Some(r.frame),
                Some(ei),
            ));
        }
    }
    out
}

fn announcement_evidence(s: &Session, d: &DataChannel) -> Vec<Evidence> {
    reply_evidence(s, d.announce_exchange)
}

fn attempt_evidence(d: &DataChannel) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let (Some(c), Some(l)) = (d.connector, d.listener) {
        let syns = if d.syns > 1 {
            format!(" ({} SYNs)", d.syns)
        } else {
            String::new()
        };
        out.push(ev(
            format!("SYN {c} -> {l}{syns}"),
            d.start,
            d.frame_syn,
            None,
        ));
        match d.outcome {
            Outcome::Refused => out.push(ev(
                format!("answered by RST from {l}: connection refused"),
                d.end,
                d.frame_answer,
                None,
            )),
            Outcome::Unanswered => out.push(ev(
                format!("no answer from {l} to {} SYN(s)", d.syns.max(1)),
                d.end,
                None,
                None,
            )),
            _ => {}
        }
    }
    out
}

fn transfer_reply(s: &Session, d: &DataChannel) -> Option<(usize, u16)> {
    let ei = d.command_exchange?;
    let r = s.exchanges.get(ei)?.final_reply()?;
    Some((ei, r.code))
}

fn server_passive_settings(addr: &str) -> String {
    format!(
        "vsftpd: pasv_address={addr} (and pasv_min_port/pasv_max_port); ProFTPD: MasqueradeAddress {addr} (and PassivePorts); pure-ftpd: -P {addr} (and -p LOW:HIGH); FileZilla Server: the public IP in Passive mode settings"
    )
}

fn port_range_hint(port: u16) -> String {
    format!(
        "vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p LOW:HIGH; the announced port {port} must be inside the opened range"
    )
}

/// Exchanges listed per aggregated finding at most.
const MAX_FINDING_EXCHANGES: usize = 1000;
/// PORT/EPRT commands naming that many different ports of one host, each followed
/// by a transfer command, are a port scan through the server (nmap -b).
const SCAN_PORTS: usize = 20;

/// Run every per-session rule (the tracker calls this when a session ends).
/// `verbose`: also the info findings only given when asked (`--verbose`).
pub fn session(s: &mut Session, verbose: bool) {
    let mut f = Vec::new();
    connection_rules(s, &mut f);
    let scan = scan_rule(s, &mut f);
    data_rules(s, scan, &mut f);
    if verbose {
        for d in &s.data_channels {
            speed::network_limited(d, &mut f);
        }
    }
    login_rule(s, &mut f);
    control_rules(s, &mut f);
    tls::rules(s, &mut f);
    capture_rules(s, &mut f);
    let mut f = aggregate(f);
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    s.findings = f;
}

/// Capture-wide rules, from what the tracker kept about ended sessions.
pub fn capture(failed: &[FailedLogin]) -> Vec<Finding> {
    guessing_rule(failed)
}

/// `capture-drops`: a live capture lost packets before ftpscope read them, which
/// explains gaps in sessions.
pub fn capture_drops(d: &CaptureDrops) -> Option<Finding> {
    if d.kernel_dropped == 0 && d.interface_dropped == 0 {
        return None;
    }
    let seen = d.kernel_received.max(d.packets + d.kernel_dropped);
    let lost = d.kernel_dropped + d.interface_dropped;
    let pct = if seen > 0 {
        100.0 * lost as f64 / (seen + d.interface_dropped) as f64
    } else {
        0.0
    };
    let mut who = format!("the kernel dropped {} packets", d.kernel_dropped);
    if d.interface_dropped > 0 {
        who.push_str(&format!(" and the interface {} more", d.interface_dropped));
    }
    let summary = format!(
        "{who} during the live capture on {} ({pct:.2}% of the traffic): sessions and data connections at those times may show gaps, replies without commands, and byte counts that are too low",
        d.interface
    );
    let mut evidence: Vec<Evidence> = d
        .intervals
        .iter()
        .map(|i| Evidence {
            what: format!(
                "{} packets dropped between {} and {} (reading {}pkt/s)",
                i.dropped,
                i.from.clock(),
                i.to.clock(),
                crate::time::si(i.packets_per_sec)
            ),
            ts: Some(i.to),
            frame: Some(i.frame),
            exchange: None,
        })
        .collect();
    if d.more_intervals > 0 {
        evidence.push(Evidence {
            what: format!(
                "and drops in {} more one-second intervals",
                d.more_intervals
            ),
            ts: None,
            frame: None,
            exchange: None,
        });
    }
    evidence.push(Evidence {
        what: format!(
            "libpcap counted {} packets passing the filter \"{}\"; ftpscope read {}",
            d.kernel_received, d.filter, d.packets
        ),
        ts: None,
        frame: None,
        exchange: None,
    });
    Some(Finding {
        id: "capture-drops",
        severity: Severity::Warning,
        summary,
        evidence,
        remedy: "Capture less, or give the capture more room: narrow the filter to the FTP hosts (--filter \"host 192.0.2.7\"; not \"port 21\", which hides the data connections), enlarge the kernel buffer (--buffer-size 256), keep other load off the machine, or capture with tcpdump -w FILE and analyse the file afterwards (ftpscope report FILE).".into(),
        ..Default::default()
    })
}

/// Findings about the capture file itself: a file that ends in the middle of a
/// record (`capture-file-truncated`) or is corrupt from some point on
/// (`capture-file-damaged`). Everything before that point was analysed; what follows it
/// is unknown, so conclusions about the end of the capture may be missing.
pub fn capture_file(stats: &CaptureStats) -> Vec<Finding> {
    let Some(err) = &stats.read_error else {
        return Vec::new();
    };
    let truncated = err.starts_with("capture is truncated");
    let (id, summary, remedy) = if truncated {
        (
            "capture-file-truncated",
            format!(
                "the capture file ends in the middle of a packet ({}); the {} packets before it were analysed, anything after it is unknown",
                crate::text::escape_str(err),
                stats.packets
            ),
            "The file was probably copied or read while the capture was still being written, or cut by a size limit: stop the capture cleanly (Ctrl-C on tcpdump) and copy the file again.",
        )
    } else {
        (
            "capture-file-damaged",
            format!(
                "the capture file is damaged ({}); the {} packets before the damage were analysed, anything after it is unknown",
                crate::text::escape_str(err),
                stats.packets
            ),
            "Copy the file again (a transfer in ASCII mode or a broken download damages binary files); `editcap` or `pcapfix` may recover what follows the damage.",
        )
    };
    vec![Finding {
        id,
        severity: Severity::Warning,
        summary,
        evidence: vec![Evidence {
            what: format!("read error: {}", crate::text::escape_str(err)),
            ts: stats.last,
            frame: Some(stats.packets),
            exchange: None,
        }],
        remedy: remedy.into(),
        ..Default::default()
    }]
}

/// Capture-wide findings from the capture's counters.
pub fn capture_stats(stats: &CaptureStats) -> Vec<Finding> {
    let mut out = Vec::new();
    if stats.duplicate_packets > 0 {
        out.push(Finding {
            id: "capture-duplicates",
            severity: Severity::Info,
            summary: format!(
                "{} of {} packets are TCP copies of packets already in the capture (two capture points, a SPAN of both directions, or the same file merged or concatenated twice): each was counted once",
                stats.duplicate_packets, stats.packets
            ),
            remedy: "Nothing to fix in the network. To remove them from the file: editcap -d in.pcap out.pcap (copies next to each other), or capture at one point only.".into(),
            ..Default::default()
        });
    }
    out
}

/// One finding per (id, cause): the first occurrence's text and evidence, the last
/// occurrence's evidence, a count and every exchange involved. Rules that leave
/// `cause` empty group by their summary (identical findings).
fn aggregate(found: Vec<Finding>) -> Vec<Finding> {
    let mut groups: Vec<(Finding, Option<Finding>)> = Vec::new();
    let mut index: std::collections::HashMap<(&'static str, String), usize> =
        std::collections::HashMap::new();
    for mut f in found {
        if f.cause.is_empty() {
            f.cause = f.summary.clone();
        }
        in_time_order(&mut f.evidence);
        let mut ex: Vec<usize> = f.evidence.iter().filter_map(|e| e.exchange).collect();
        ex.sort_unstable();
        ex.dedup();
        f.count = f.count.max(1);
        match index.get(&(f.id, f.cause.clone())) {
            Some(&i) => {
                let (first, last) = &mut groups[i];
                first.count += f.count;
                first.severity = first.severity.max(f.severity);
                for e in ex {
                    if first.exchanges.len() < MAX_FINDING_EXCHANGES
                        && !first.exchanges.contains(&e)
                    {
                        first.exchanges.push(e);
                    }
                }
                *last = Some(f);
            }
            None => {
                f.exchanges = ex;
                index.insert((f.id, f.cause.clone()), groups.len());
                groups.push((f, None));
            }
        }
    }
    groups
        .into_iter()
        .map(|(mut f, last)| {
            if let Some(l) = last {
                f.summary = format!("{} ({} times)", f.summary, f.count);
                f.evidence.push(ev(
                    format!("... {} more like this; the last one:", f.count - 1),
                    None,
                    None,
                    None,
                ));
                f.evidence.extend(l.evidence);
            }
            f
        })
        .collect()
}

/// Evidence in time order (rules gather it by topic: the announcement, then the
/// connection, ...). An item without a time stays after the one before it.
fn in_time_order(ev: &mut [Evidence]) {
    let mut last = None;
    let mut keyed: Vec<(Option<Ts>, usize)> = ev
        .iter()
        .enumerate()
        .map(|(i, e)| {
            last = e.ts.or(last);
            (last, i)
        })
        .collect();
    if keyed.is_sorted() {
        return;
    }
    keyed.sort();
    let old = ev.to_vec();
    for (slot, (_, i)) in ev.iter_mut().zip(keyed) {
        *slot = old[i].clone();
    }
}

/// The control connection itself failed: refused (RST) or never answered.
fn connection_rules(s: &Session, out: &mut Vec<Finding>) {
    let cov = &s.coverage;
    let port = s.server.port();
    let ftps = if port == 990 {
        " Port 990 is implicit FTPS: the client must speak TLS from the start (curl ftps://, lftp set ftp:ssl-force, FileZilla \"implicit FTP over TLS\") and the server must be configured for it."
    } else {
        " If the server uses implicit FTPS it listens on port 990, not 21 (and explicit FTPS uses 21 with AUTH TLS)."
    };
    let syn = ev(
        format!("SYN {} -> {}", s.client, s.server),
        Some(s.start),
        Some(s.start_frame),
        None,
    );
    match cov.control_answer {
        ControlAnswer::Refused => out.push(Finding {
            id: "control-refused",
            severity: Severity::Error,
            summary: format!(
                "the connection to the FTP server {} was refused: its SYN was answered by RST",
                s.server
            ),
            evidence: vec![
                syn,
                ev(format!("RST from {}", s.server), Some(s.end), None, None),
            ],
            remedy: format!(
                "Nothing accepts connections on port {port} at {}: the FTP server is not running, listens on another port or address, or a firewall rejects the connection (iptables REJECT --reject-with tcp-reset). Check the server (ss -ltnp on it), the port the client uses, and the firewalls in between.{ftps}",
                s.server.ip()
            ),
            ..Default::default()
        }),
        // One SYN and the capture ends before the client would have sent another:
        // nothing to conclude.
        ControlAnswer::Unanswered
            if s.exchanges.is_empty() && (cov.control_syns > 1 || cov.capture_after >= 3.0) =>
        {
            let n = cov.control_syns.max(1);
            let mut evidence = vec![syn];
            if n > 1 {
                evidence.push(ev(
                    format!("{n} SYNs in all, the last at {}", s.end.rfc3339()),
                    Some(s.end),
                    None,
                    None,
                ));
            }
            out.push(Finding {
                id: "control-unanswered",
                severity: Severity::Error,
                summary: format!(
                    "the connection to the FTP server {} got no answer: {n} SYN(s), no SYN-ACK or RST",
                    s.server
                ),
                evidence,
                remedy: format!(
                    "A firewall drops the connection to port {port}, or the server host {} is down or unreachable (a wrong address, a missing route). Check that the host is up and the address right, and allow TCP port {port} to it on every firewall on the path.{ftps}",
                    s.server.ip()
                ),
                ..Default::default()
            });
        }
        _ => {}
    }
}

/// nmap's FTP bounce scan: PORT/EPRT after PORT/EPRT naming one host's ports one
/// after the other, each followed by a transfer command to make the server connect.
/// Returns whether the session is such a scan (its PORTs are then not reported one
/// by one).
fn scan_rule(s: &Session, out: &mut Vec<Finding>) -> bool {
    let mut by_host: std::collections::BTreeMap<IpAddr, Vec<&DataChannel>> = Default::default();
    for d in &s.data_channels {
        if d.mode == DataMode::Active
            && d.command.is_some()
            && let Some(a) = d.announced
        {
            by_host.entry(a.ip()).or_default().push(d);
        }
    }
    let mut scan = false;
    for (host, chans) in by_host {
        let mut ports: Vec<u16> = chans
            .iter()
            .filter_map(|d| d.announced.map(|a| a.port()))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() < SCAN_PORTS {
            continue;
        }
        scan = true;
        let (first, last) = (chans[0], chans[chans.len() - 1]);
        let accepted = chans
            .iter()
            .filter(|d| {
                s.exchanges
                    .get(d.announce_exchange)
                    .and_then(Exchange::final_reply)
                    .is_some_and(|r| r.code < 300)
            })
            .count();
        let mut evidence = announcement_evidence(s, first);
        evidence.extend(announcement_evidence(s, last));
        let mut exchanges: Vec<usize> = chans.iter().map(|d| d.announce_exchange).collect();
        exchanges.truncate(MAX_FINDING_EXCHANGES);
        let third = host != s.client.ip();
        out.push(Finding {
            id: "port-scan-bounce",
            severity: if accepted > 0 && third { Severity::Error } else { Severity::Warning },
            summary: format!(
                "port scan through the server (FTP bounce, nmap -b): {} PORT/EPRT commands naming {} different ports of {host} ({}..{}), each followed by {}; the server accepted {accepted}",
                chans.len(),
                ports.len(),
                ports[0],
                ports[ports.len() - 1],
                first.command.as_deref().unwrap_or("a transfer")
            ),
            evidence,
            remedy: "Refuse PORT/EPRT to addresses other than the client's and to privileged ports (vsftpd does unless port_promiscuous=YES; ProFTPD AllowForeignAddress off; pure-ftpd without -w), and block the scanning client.".into(),
            certainty: Certainty::Seen,
            count: chans.len(),
            exchanges,
            ..Default::default()
        });
    }
    scan
}

fn data_rules(s: &Session, scan: bool, out: &mut Vec<Finding>) {
    let server_ip = s.server.ip();
    let client_ip = s.client.ip();
    for d in &s.data_channels {
        transfer_rules(s, d, out);
        speed::rules(s, d, out);
        let Some(ann) = d.announced else { continue };
        match d.mode {
            DataMode::Passive => passive_rules(s, d, ann, server_ip, out),
            DataMode::Active if !scan => active_rules(s, d, ann, client_ip, out),
            DataMode::Active => {}
        }
    }
    unseen_data_rule(s, out);
    speed::session_rules(s, out);
}

/// The capture holds FTP control traffic only: say what cannot be known, once.
fn unseen_data_rule(s: &Session, out: &mut Vec<Finding>) {
    if s.coverage.data_visible != DataVisibility::Unknown {
        return;
    }
    let used: Vec<&DataChannel> = s
        .data_channels
        .iter()
        .filter(|d| d.command.is_some())
        .collect();
    if used.is_empty() {
        return;
    }
    let per_replies = used
        .iter()
        .filter(|d| d.outcome == Outcome::CompletedPerReplies)
        .count();
    let failed = used
        .iter()
        .filter(|d| d.outcome == Outcome::FailedPerReplies)
        .count();
    let unknown = used
        .iter()
        .filter(|d| d.outcome == Outcome::NotInCapture)
        .count();
    out.push(Finding {
        id: "capture-control-only",
        severity: Severity::Info,
        summary: format!(
            "the capture holds only FTP control traffic (captured with a port 21 filter, most likely): none of the {} data connection(s) is in it. By the server's replies {per_replies} transfer(s) completed, {failed} failed, {unknown} cannot be told; addresses, ports, byte counts and what stopped a connection cannot be checked",
            used.len()
        ),
        evidence: Vec::new(),
        remedy: format!(
            "Capture all traffic between the two hosts, not only port 21: tcpdump -w ftp.pcap host {} and host {}",
            s.client.ip(),
            s.server.ip()
        ),
        certainty: Certainty::CannotKnow,
        ..Default::default()
    });
}

fn passive_rules(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    server_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    // The announced address is not where the client reached the server.
    let mismatch = d.via != Via::Epsv && ann.ip() != server_ip;
    let nat = mismatch && is_private(ann.ip()) && !is_private(server_ip);
    // The server announces its public address, and this client (inside the server's
    // network) reached it at a private one: right for clients outside.
    let inside = mismatch && !is_private(ann.ip()) && is_private(server_ip);
    let worked = matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies);
    if inside {
        let failed = matches!(
            d.outcome,
            Outcome::Refused
                | Outcome::Unanswered
                | Outcome::NotAttempted
                | Outcome::FailedPerReplies
        );
        let mut evidence = announcement_evidence(s, d);
        evidence.push(ev(
            format!("control connection: {} -> {}", s.client, s.server),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        out.push(Finding {
            id: "pasv-address-mismatch",
            severity: if failed { Severity::Warning } else { Severity::Info },
            summary: format!(
                "the server announces its public address {} in the {} reply, while this client reached it at the private address {server_ip}: the capture is inside the server's network{}",
                ann.ip(),
                d.via,
                if worked {
                    ", and transfers work (the client connects to the control address, or the NAT loops back)"
                } else if failed {
                    ", and the data connection did not work"
                } else {
                    ""
                }
            ),
            evidence,
            remedy: if failed {
                format!("The announced public address is right for clients outside; inside, the router must loop {} back to the server (hairpin NAT), or the client must ignore the 227 address (curl does by default; FileZilla falls back) or use EPSV. Do not set the passive address to the private one: outside clients would break.", ann.ip())
            } else {
                "Nothing to fix: the announced public address is right for clients outside the network. Inside clients need EPSV, or to ignore the 227 address (most do), or a router that loops the public address back.".into()
            },
            certainty: Certainty::Inferred,
            cause: format!("inside {} {server_ip}", ann.ip()),
            ..Default::default()
        });
    } else if mismatch {
        let used_control = d.match_kind == Some(MatchKind::ServerControlAddress);
        let severity = if nat && !(used_control && worked) {
            Severity::Error
        } else {
            Severity::Warning
        };
        let summary = if nat {
            format!(
                "the server is behind NAT and announced its private address {} in the {} reply; the client reached it at {server_ip}",
                ann.ip(),
                d.via
            )
        } else {
            format!(
                "the {} reply announces {} but the client reached the server at {server_ip}",
                d.via,
                ann.ip()
            )
        };
        let mut evidence = announcement_evidence(s, d);
        evidence.push(ev(
            format!("control connection: {} -> {}", s.client, s.server),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        if used_control {
            evidence.push(ev(format!("the client connected to {server_ip}:{} instead (it ignored the announced address)", ann.port()), d.start, d.frame_syn, None));
        }
        let remedy = if nat {
            format!(
                "Configure the server's passive address to the public one, {server_ip}: {}. Or use EPSV, which carries no address. Clients that ignore the 227 address (curl by default, FileZilla's fallback) hide the problem{}.",
                server_passive_settings(&server_ip.to_string()),
                if used_control && worked {
                    ", as this one did"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "Check the server's passive address setting (it should be {server_ip}, the address clients use), or use EPSV."
            )
        };
        out.push(Finding {
            id: "pasv-address-mismatch",
            severity,
            summary,
            evidence,
            remedy,
            cause: format!("{} {server_ip} {severity:?}", ann.ip()),
            ..Default::default()
        });
    }
    let target = d.listener.unwrap_or(ann);
    match d.outcome {
        Outcome::Refused => {
            let mut evidence = announcement_evidence(s, d);
            evidence.extend(attempt_evidence(d));
            out.push(Finding {
                id: "passive-data-refused",
                severity: Severity::Error,
                summary: format!("the client's data connection to {target} (announced by {}) was refused with RST", d.via),
                evidence,
                remedy: format!(
                    "Something at or in front of the server rejects port {}: open the server's passive port range in its firewall ({}). If the server really does not listen there, its passive address/port settings are wrong. Until then, active mode (PORT/EPRT) may work if the client can accept connections.",
                    target.port(),
                    port_range_hint(target.port())
                ),
                ..Default::default()
            });
        }
        Outcome::Unanswered => {
            let mut evidence = announcement_evidence(s, d);
            evidence.extend(attempt_evidence(d));
            let private_hint = if is_private(target.ip()) && !is_private(s.server.ip()) {
                format!(
                    " The client tried the private address {} the server announced, which is not reachable from here: {}.",
                    target.ip(),
                    server_passive_settings(&s.server.ip().to_string())
                )
            } else {
                String::new()
            };
            out.push(Finding {
                id: "passive-data-unanswered",
                severity: Severity::Error,
                summary: format!("the client's SYNs to {target} (announced by {}) got no answer: {} SYN(s), then nothing", d.via, d.syns.max(1)),
                evidence,
                remedy: format!(
                    "A firewall between client and server drops the data connection. Allow TCP to the server's passive port range ({}) on every firewall and NAT on the path, or forward it to the server.{private_hint}",
                    port_range_hint(target.port())
                ),
                ..Default::default()
            });
        }
        Outcome::NotAttempted => {
            let mut evidence = announcement_evidence(s, d);
            if let Some(ei) = d.command_exchange {
                evidence.extend(reply_evidence(s, ei));
            }
            let failed = transfer_reply(s, d).is_some_and(|(_, c)| c >= 400);
            let why = match s.coverage.data_visible {
                DataVisibility::Seen => "other data connections of this session are in the capture",
                _ => {
                    "the capture holds other traffic than the FTP control connection, so it was not filtered to port 21"
                }
            };
            out.push(Finding {
                id: "passive-data-not-attempted",
                severity: if failed { Severity::Error } else { Severity::Warning },
                summary: format!("no connection to the announced data address {ann} was seen after {} and {} ({why})", d.via, d.command.as_deref().unwrap_or("?")),
                certainty: Certainty::Inferred,
                cause: format!("{} {failed}", d.via),
                evidence,
                remedy: "The client did not connect (or went somewhere the capture does not show): check the client's outbound firewall, and that the capture filter includes the data ports (capture all TCP between the two hosts, not only port 21).".into(),
                ..Default::default()
            });
        }
        Outcome::FailedPerReplies if transfer_reply(s, d).is_some_and(|(_, c)| c == 425) => {
            let mut evidence = announcement_evidence(s, d);
            if let Some(ei) = d.command_exchange {
                evidence.extend(reply_evidence(s, ei));
            }
            out.push(Finding {
                id: "data-connection-failed",
                severity: Severity::Error,
                summary: format!(
                    "the server replied 425 to {}: the passive data connection to {ann} was not made. The capture holds no data connections, so whether the client tried and what stopped it cannot be seen",
                    d.command.as_deref().unwrap_or("the transfer")
                ),
                evidence,
                remedy: format!(
                    "Usually a firewall or NAT between client and server blocks the passive port ({}), or the client connects elsewhere. Capture all traffic between the two hosts (not only port 21) to see the attempt.",
                    port_range_hint(ann.port())
                ),
                certainty: Certainty::Inferred,
                cause: d.via.to_string(),
                ..Default::default()
            });
        }
        _ => {}
    }
}

fn active_rules(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    client_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    let accepted = s
        .exchanges
        .get(d.announce_exchange)
        .and_then(Exchange::final_reply)
        .is_some_and(|r| r.code < 300);
    let third = ann.ip() != client_ip;
    let failed_conn = matches!(d.outcome, Outcome::Refused | Outcome::Unanswered);
    let code = transfer_reply(s, d);
    let reply_425 = code.is_some_and(|(_, c)| c == 425);
    // Captured on the client's side: a private client talking to a public server is
    // behind a NAT the capture cannot show.
    let client_side = !third && is_private(ann.ip()) && !is_private(s.server.ip());
    if client_side
        && accepted
        && !matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies)
        && (failed_conn || reply_425 || d.outcome == Outcome::NotAttempted)
    {
        let mut evidence = announcement_evidence(s, d);
        evidence.push(ev(
            format!(
                "the server {} has a public address; {} is private",
                s.server.ip(),
                ann.ip()
            ),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        out.push(Finding {
            id: "active-private-address",
            severity: Severity::Error,
            summary: format!("{} announces the private address {ann} to the public server {}: the client is likely behind NAT (this capture, on the client's side, cannot show it), and the server's connection back cannot reach it", d.via, s.server.ip()),
            evidence,
            remedy: format!(
                "Use passive mode on the client (curl: drop --ftp-port; lftp: set ftp:passive-mode on; ftplib: set_pasv(True)). Or let the NAT rewrite FTP (Linux: nf_conntrack_ftp / nf_nat_ftp helper) or forward port {} to {}.",
                ann.port(),
                ann.ip()
            ),
            certainty: Certainty::Inferred,
            cause: ann.ip().to_string(),
            ..Default::default()
        });
    }
    if third && is_private(ann.ip()) && !is_private(client_ip) {
        let mut evidence = announcement_evidence(s, d);
        evidence.push(ev(
            format!("control connection from {client_ip} (the address the server sees)"),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        out.push(Finding {
            id: "active-private-address",
            severity: Severity::Error,
            summary: format!("{} announces the private address {} but the control connection comes from {client_ip}: the client is behind NAT and active mode cannot work", d.via, ann),
            evidence,
            remedy: format!(
                "Use passive mode on the client (curl: drop --ftp-port; lftp: set ftp:passive-mode on; ftplib: set_pasv(True)). Or let the NAT rewrite FTP (Linux: nf_conntrack_ftp / nf_nat_ftp helper) or forward port {} to {}.",
                ann.port(),
                ann.ip()
            ),
            ..Default::default()
        });
    } else if third || ann.port() < 1024 {
        let summary = if third {
            format!(
                "{} names {}, a host other than the client {client_ip}: FTP bounce (RFC 2577) or a server-to-server (FXP) transfer",
                d.via, ann
            )
        } else {
            format!(
                "{} names the privileged port {}: a likely bounce attempt (RFC 2577)",
                d.via,
                ann.port()
            )
        };
        let severity = if accepted {
            Severity::Error
        } else {
            Severity::Warning
        };
        let remedy = if accepted {
            "The server accepted it: refuse PORT/EPRT to third hosts and to ports below 1024 (vsftpd does by default unless port_promiscuous=YES; pure-ftpd without -w; ProFTPD AllowForeignAddress off), unless FXP is wanted.".to_string()
        } else {
            "The server refused it, as it should. If this was a legitimate FXP transfer, the server must allow it explicitly (pure-ftpd -w, ProFTPD AllowForeignAddress on).".to_string()
        };
        out.push(Finding {
            id: "bounce-port",
            severity,
            summary,
            evidence: announcement_evidence(s, d),
            remedy,
            cause: format!("{} {accepted} {third}", ann.ip()),
            ..Default::default()
        });
    }
    if failed_conn
        || (reply_425 && accepted)
        || (accepted && d.outcome == Outcome::NotAttempted && code.is_some_and(|(_, c)| c >= 400))
    {
        let mut evidence = announcement_evidence(s, d);
        evidence.extend(attempt_evidence(d));
        if let Some((ei, _)) = code {
            evidence.extend(reply_evidence(s, ei));
        }
        let how = match d.outcome {
            Outcome::Refused => "its connection was refused (RST)".to_string(),
            Outcome::Unanswered => format!("its {} SYN(s) got no answer", d.syns.max(1)),
            _ if !s.coverage.data_would_show() => {
                "the server replied 425 (the capture holds no data connections to show the attempt)"
                    .to_string()
            }
            _ => "no connection reached the client".to_string(),
        };
        let nat_hint = if is_private(ann.ip()) {
            " The announced address is private: if the client is behind NAT, active mode cannot work."
        } else {
            ""
        };
        out.push(Finding {
            id: "active-data-failed",
            severity: Severity::Error,
            summary: format!("after {} {ann} the server could not connect to the client: {how}", d.via),
            evidence,
            remedy: format!(
                "The client side blocks incoming connections to port {} (a firewall or NAT in front of the client).{nat_hint} Use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on), or open the port on the client's firewall.",
                ann.port()
            ),
            ..Default::default()
        });
    }
}

/// Was a TYPE A/I actually set (a TYPE command with a 2xx reply) before exchange `ei`?
fn type_command_before(s: &Session, ei: usize) -> bool {
    s.exchanges[..ei.min(s.exchanges.len())]
        .iter()
        .any(|x| x.verb() == Some("TYPE") && x.final_reply().is_some_and(|r| r.code < 300))
}

/// "226-WARNING! 381 bare linefeeds received in ASCII mode" (vsftpd, pure-ftpd):
/// the exchange and the count.
fn bare_lf_warning(s: &Session, d: &DataChannel) -> Option<(usize, u64)> {
    let ei = d.command_exchange?;
    let x = s.exchanges.get(ei)?;
    x.replies.iter().find_map(|r| {
        let t = String::from_utf8_lossy(&r.text.0).to_ascii_lowercase();
        let i = t.find("bare linefeed")?;
        let n = t[..i]
            .split_whitespace()
            .last()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        Some((ei, n))
    })
}

fn is_binary_name(name: &[u8]) -> bool {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    [
        ".bin", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jpg", ".jpeg",
        ".png", ".gif", ".pdf", ".exe", ".dll", ".iso", ".img", ".mp3", ".mp4", ".so", ".jar",
        ".deb", ".rpm",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

fn transfer_rules(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(cmd) = d.command.as_deref() else {
        return;
    };
    let ascii = d
        .transfer_type
        .as_deref()
        .is_some_and(|t| t.starts_with('A'));
    let file_cmd = matches!(cmd, "RETR" | "STOR" | "APPE" | "STOU");
    let code = transfer_reply(s, d);
    let name = d.arg.as_ref().map(|a| a.0.clone()).unwrap_or_default();
    let preliminary = d
        .command_exchange
        .and_then(|e| s.exchanges.get(e))
        .is_some_and(|x| x.replies.iter().any(|r| (100..200).contains(&r.code)));
    // The server refused the command itself: that is the finding, whatever the data
    // connection did (a client may connect before sending the command).
    if let Some((ei, c)) = code.filter(|(_, c)| *c >= 400 && *c != 425 && !preliminary) {
        let text = s
            .exchanges
            .get(ei)
            .and_then(Exchange::final_reply)
            .map(|r| escape(&r.text.0))
            .unwrap_or_default();
        let listing = matches!(cmd, "LIST" | "NLST" | "MLSD");
        let (id, severity, remedy) = match c {
            450 | 550 | 553 => (
                "file-unavailable",
                if listing {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                "The server says the file or directory is not there or not allowed: check the name and path (case, the current directory after CWD, the chroot), and its permissions on the server. The data connection is not at fault.",
            ),
            530 | 532 => (
                "transfer-refused",
                Severity::Warning,
                "The server wants a login (or an account) before transfers: log in first, or check the user's rights.",
            ),
            _ => (
                "transfer-refused",
                Severity::Warning,
                "The server refused the transfer command before any data moved: read its reply (disk full: 452/552; a bad argument: 501) and its log. The data connection is not at fault.",
            ),
        };
        out.push(Finding {
            id,
            severity,
            summary: format!("the server refused {cmd} {}: {c} {text}", escape(&name)),
            evidence: reply_evidence(s, ei),
            remedy: remedy.into(),
            certainty: Certainty::Seen,
            cause: format!("{cmd} {c}"),
            ..Default::default()
        });
        return;
    }
    // The server's own words on the representation outweigh a TYPE seen (or assumed).
    let type_seen = type_command_before(s, d.command_exchange.unwrap_or(0));
    let ascii = ascii
        && d.type_per_replies != Some(Representation::Binary)
        && (type_seen || d.type_per_replies == Some(Representation::Ascii));
    if let Some((ei, lf)) = bare_lf_warning(s, d) {
        out.push(Finding {
            id: "ascii-mode-bare-lf",
            severity: Severity::Warning,
            summary: format!("the server warns that {lf} bare linefeeds were received in ASCII mode for {cmd} {}: the file was altered in transfer", escape(&name)),
            evidence: reply_evidence(s, ei),
            remedy: "Transfer files in binary mode: send TYPE I before STOR/RETR (curl: do not use --use-ascii; lftp: set ftp:use-binary; ftplib: storbinary).".into(),
            certainty: Certainty::Seen,
            cause: "bare-lf".into(),
            ..Default::default()
        });
    }
    if ascii && file_cmd && d.outcome == Outcome::Completed {
        if let Some(n) = d.expected_size.filter(|n| *n != d.bytes) {
            let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
            evidence.push(ev(format!("the server announced {n} bytes; {} bytes crossed the data connection in TYPE {}", d.bytes, d.transfer_type.as_deref().unwrap_or("A")), d.first_byte, d.frame_syn, d.command_exchange));
            out.push(Finding {
                id: "ascii-mode-size-mismatch",
                severity: Severity::Warning,
                summary: format!("\"{}\" moved in ASCII mode (TYPE A): {n} bytes announced, {} bytes transferred; line endings were converted and the file arrives altered", escape(&name), d.bytes),
                evidence,
                remedy: "Transfer files in binary mode: send TYPE I before RETR/STOR (curl: do not use --use-ascii / ;type=a; lftp: set ftp:use-binary / default; ftplib: retrbinary).".into(),
                ..Default::default()
            });
        } else if is_binary_name(&name) {
            out.push(Finding {
                id: "ascii-mode-size-mismatch",
                severity: Severity::Warning,
                summary: format!("\"{}\" looks like a binary file but moved in ASCII mode (TYPE A): line-ending conversion may alter it", escape(&name)),
                evidence: reply_evidence(s, d.command_exchange.unwrap_or(0)),
                remedy: "Send TYPE I before transferring binary files.".into(),
                ..Default::default()
            });
        }
    }
    let aborted_by_abor = s
        .exchanges
        .iter()
        .skip(d.command_exchange.unwrap_or(usize::MAX))
        .take(8)
        .find_map(|x| {
            x.command
                .as_ref()
                .filter(|c| c.verb == "ABOR")
                .map(|c| (c.clone(), x))
        });
    if d.outcome == Outcome::Aborted {
        if let Some((c, x)) = &aborted_by_abor {
            let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
            let tn = if c.telnet_interrupt {
                "with the Telnet IP/Synch sequence"
            } else {
                "without the Telnet IP/Synch sequence RFC 959 asks for"
            };
            evidence.push(ev(
                format!("client sent ABOR {tn}"),
                Some(c.ts),
                Some(c.frame),
                None,
            ));
            for r in &x.replies {
                evidence.push(ev(
                    format!(
                        "server replied to ABOR: {}",
                        r.lines.first().map(|l| escape(&l.0)).unwrap_or_default()
                    ),
                    Some(r.ts),
                    Some(r.frame),
                    None,
                ));
            }
            out.push(Finding {
                id: "transfer-aborted",
                severity: Severity::Warning,
                summary: format!("the client aborted {cmd} {} after {} bytes", escape(&name), d.bytes),
                evidence,
                remedy: "The user or client program stopped the transfer (a timeout, a cancel, a rate limit). If nobody cancelled it, check the client's timeouts.".into(),
                ..Default::default()
            });
            return;
        }
    }
    let short = d.expected_size.is_some_and(|n| d.bytes < n && !ascii);
    let bad_reply = code.is_some_and(|(_, c)| matches!(c, 426 | 451));
    // Short counts an end (FIN/RST) in the capture: a connection whose end is not
    // in it, confirmed by the server's 226, lost packets in the capture instead.
    let short = short && d.ended_by.is_some();
    // A path-MTU black hole explains the cut (its own finding says so and how to fix it).
    if d.tcp.as_deref().is_some_and(speed::is_pmtu_blackhole) {
        return;
    }
    if d.outcome == Outcome::Reset
        || d.outcome == Outcome::Aborted
        || (short && d.outcome == Outcome::Completed)
        || bad_reply
    {
        let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
        if let Some(e) = &d.ended_by {
            evidence.push(ev(
                format!(
                    "data connection {} -> {} ended by {e} after {} bytes",
                    d.connector.map(|a| a.to_string()).unwrap_or_default(),
                    d.listener.map(|a| a.to_string()).unwrap_or_default(),
                    d.bytes
                ),
                d.end,
                None,
                None,
            ));
        }
        let why = if let Some(n) = d.expected_size.filter(|_| short) {
            format!("{} of {n} announced bytes arrived", d.bytes)
        } else if d.outcome == Outcome::Reset {
            format!("the data connection was reset after {} bytes", d.bytes)
        } else if let Some((_, c)) = code {
            format!("the server replied {c}")
        } else {
            "the transfer ended early".into()
        };
        out.push(Finding {
            id: "transfer-incomplete",
            severity: Severity::Error,
            summary: format!("{cmd} {} did not complete: {why}", escape(&name)),
            evidence,
            remedy: "Something cut the data connection: look for a firewall or NAT idle timeout, a proxy, or a server-side limit (disk full: 452/552; a crash). Retry with REST to resume.".into(),
            ..Default::default()
        });
    }
}

fn login_rule(s: &Session, out: &mut Vec<Finding>) {
    let fails: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, x)| {
            matches!(x.verb(), Some("PASS" | "USER" | "ACCT"))
                && x.final_reply().is_some_and(|r| r.code == 530)
        })
        .map(|(i, _)| i)
        .collect();
    if fails.is_empty() {
        return;
    }
    let user = s
        .user
        .as_ref()
        .map(|u| escape(&u.0))
        .unwrap_or_else(|| "?".into());
    let mut evidence = Vec::new();
    for &i in fails.iter().take(5) {
        evidence.extend(reply_evidence(s, i));
    }
    let then_ok = s.login == Login::Ok;
    out.push(Finding {
        id: "login-failed",
        severity: if then_ok { Severity::Info } else { Severity::Warning },
        summary: format!(
            "{} failed login{} for user {user} (530){}",
            fails.len(),
            if fails.len() == 1 { "" } else { "s" },
            if then_ok { ", then a successful one" } else { "" }
        ),
        evidence,
        remedy: "Check the user name and password; on the server, check the user is allowed (vsftpd: local_enable, userlist; ProFTPD: <Limit LOGIN>, RequireValidShell; pure-ftpd: -E for non-anonymous) and its log for the reason.".into(),
        ..Default::default()
    });
}

fn control_rules(s: &Session, out: &mut Vec<Finding>) {
    if s.tls && !s.tls_decrypted() {
        // The AUTH the server accepted (curl's AUTH SSL may be refused first).
        let auth = s
            .exchanges
            .iter()
            .enumerate()
            .find(|(_, x)| {
                x.verb() == Some("AUTH") && x.final_reply().is_some_and(|r| r.code == 234)
            })
            .or_else(|| {
                s.exchanges
                    .iter()
                    .enumerate()
                    .find(|(_, x)| x.verb() == Some("AUTH"))
            });
        let clear_again = s.anomalies.iter().any(|a| a.contains("in the clear again"));
        out.push(Finding {
            id: "control-encrypted",
            severity: Severity::Info,
            summary: format!(
                "the control connection is encrypted {} ({} B from the client, {} B from the server): {}",
                if auth.is_some() {
                    "after AUTH"
                } else if s.tls_info.as_deref().is_some_and(|t| t.mode == "implicit") {
                    "from its first byte (implicit FTPS: a TLS ClientHello opened the connection)"
                } else {
                    "from the start of the capture (TLS records: implicit FTPS, or the capture began after AUTH TLS)"
                },
                s.encrypted_bytes[0],
                s.encrypted_bytes[1],
                if clear_again {
                    "the commands sent under TLS cannot be read; the session went back to cleartext afterwards (CCC), and what followed is decoded"
                } else {
                    "commands, replies and data addresses cannot be read from this capture"
                }
            ),
            certainty: Certainty::Seen,
            evidence: auth.map(|(i, _)| reply_evidence(s, i)).unwrap_or_default(),
            remedy: "To see inside, put ftpscope's debugging proxy between client and server (ftpscope proxy), or log TLS keys on the client (SSLKEYLOGFILE=keys.log for curl, lftp or Python) and give them to ftpscope: --tls-keylog keys.log. A firewall cannot follow passive ports of an encrypted session: open the passive range explicitly.".into(),
            ..Default::default()
        });
    }
    let mut epsv_all: Option<usize> = None;
    for (i, x) in s.exchanges.iter().enumerate() {
        let Some(c) = &x.command else {
            if let Some(r) = x.replies.iter().find(|r| r.code == 421) {
                out.push(service_closing(s, i, &r.text.0));
            }
            continue;
        };
        let code = x.final_reply().map(|r| r.code);
        if x.replies.iter().any(|r| r.code == 421) {
            let t = x
                .replies
                .iter()
                .find(|r| r.code == 421)
                .map(|r| r.text.0.clone())
                .unwrap_or_default();
            out.push(service_closing(s, i, &t));
        }
        if c.verb == "EPSV"
            && String::from_utf8_lossy(&c.arg.0)
                .trim()
                .eq_ignore_ascii_case("ALL")
            && code.is_some_and(|c| c < 300)
        {
            epsv_all = Some(i);
        } else if let Some(a) = epsv_all {
            if matches!(c.verb.as_str(), "PORT" | "EPRT" | "PASV" | "LPRT" | "LPSV") {
                let mut evidence = reply_evidence(s, a);
                evidence.extend(reply_evidence(s, i));
                out.push(Finding {
                    id: "epsv-all-violation",
                    severity: Severity::Warning,
                    summary: format!("{} sent after EPSV ALL: RFC 2428 forbids every data-setup command but EPSV once EPSV ALL was accepted", c.verb),
                    evidence,
                    remedy: "Fix the client: after EPSV ALL it must use only EPSV. (NAT devices rely on EPSV ALL to stop inspecting the session.)".into(),
                    ..Default::default()
                });
            }
        }
        // 501 to a bare EPSV/EPRT/LPSV/LPRT is how ProFTPD says "not allowed here".
        let setup = matches!(c.verb.as_str(), "EPSV" | "EPRT" | "LPSV" | "LPRT");
        if let Some(cd) = code.filter(|cd| matches!(cd, 500 | 502 | 504) || (*cd == 501 && setup)) {
            if c.unknown && c.verb.len() > 4 {
                continue;
            }
            // A refused PORT/EPRT address is about the address (bounce, NAT), not support.
            if matches!(c.verb.as_str(), "PORT" | "LPRT") || (c.verb == "EPRT" && cd == 501) {
                continue;
            }
            if c.verb == "AUTH" {
                // One mechanism refused, another accepted (curl: AUTH SSL, then AUTH TLS).
                let accepted_later = s.exchanges[i + 1..].iter().any(|y| {
                    y.verb() == Some("AUTH")
                        && y.final_reply().is_some_and(|r| matches!(r.code, 234 | 334))
                });
                if accepted_later {
                    continue;
                }
                let went_on = s.exchanges[i + 1..]
                    .iter()
                    .any(|y| matches!(y.verb(), Some("USER" | "PASS")));
                out.push(Finding {
                    id: "command-unsupported",
                    severity: Severity::Info,
                    summary: if went_on {
                        format!("the server refused AUTH ({cd}): it offers no TLS, and the client went on without encryption, so the password crossed the network in clear")
                    } else {
                        format!("the server refused AUTH ({cd}): it offers no TLS")
                    },
                    evidence: reply_evidence(s, i),
                    remedy: "If the password matters, enable TLS on the server (vsftpd ssl_enable=YES, ProFTPD mod_tls, pure-ftpd -Y 1) and require it on the client (curl --ssl-reqd, lftp set ftp:ssl-force true).".into(),
                    ..Default::default()
                });
                continue;
            }
            let alt: &[&str] = match c.verb.as_str() {
                "EPSV" | "LPSV" => &["PASV"],
                "EPRT" | "LPRT" => &["PORT"],
                "MLSD" => &["LIST", "NLST"],
                "MLST" => &["LIST", "STAT"],
                "SIZE" | "MDTM" => &["LIST"],
                _ => &[],
            };
            let fallback = s.exchanges[i + 1..]
                .iter()
                .take(4)
                .find(|y| y.verb().is_some_and(|v| alt.contains(&v)));
            let (severity, summary, remedy) = match fallback {
                Some(y) => (
                    Severity::Info,
                    format!(
                        "the server does not support {} ({cd}); the client fell back to {}",
                        c.verb,
                        y.verb().unwrap_or("")
                    ),
                    format!(
                        "Nothing to fix for this transfer. Enabling {} on the server helps clients behind NAT and on IPv6.",
                        c.verb
                    ),
                ),
                None => (
                    Severity::Warning,
                    format!(
                        "the server answered {cd} to {}: not supported, and the client did not work around it",
                        c.verb
                    ),
                    format!(
                        "Enable {} on the server, or configure the client not to use it.",
                        c.verb
                    ),
                ),
            };
            out.push(Finding {
                id: "command-unsupported",
                severity,
                summary,
                evidence: reply_evidence(s, i),
                remedy,
                ..Default::default()
            });
        }
    }
}

fn service_closing(s: &Session, i: usize, text: &[u8]) -> Finding {
    let t = String::from_utf8_lossy(text).to_ascii_lowercase();
    let remedy = if t.contains("timeout") || t.contains("idle") {
        "The server closed an idle session: the client should send NOOP while idle, or raise the server's idle timeout (vsftpd idle_session_timeout, ProFTPD TimeoutIdle, pure-ftpd -I)."
    } else if t.contains("too many") || t.contains("maximum") || t.contains("limit") {
        "The server refused another connection: raise its limits (vsftpd max_clients/max_per_ip, ProFTPD MaxClients/MaxClientsPerHost, pure-ftpd -c/-C) or close idle sessions."
    } else {
        "The server is closing the session (shutdown or a limit): read its reply text and its log."
    };
    Finding {
        id: "service-closing",
        severity: Severity::Warning,
        summary: format!("the server closed the session with 421: {}", escape(text)),
        evidence: reply_evidence(s, i),
        remedy: remedy.into(),
        ..Default::default()
    }
}

fn capture_rules(s: &Session, out: &mut Vec<Finding>) {
    let lim = &s.capture;
    if lim.mid_session {
        out.push(Finding {
            id: "capture-mid-session",
            severity: Severity::Info,
            summary: "the capture starts after this control connection was opened: the login and earlier commands are not in it".into(),
            evidence: vec![ev(format!("first packet seen: frame {}", crate::capture::merge::FrameLabel(s.start_frame)), Some(s.start), Some(s.start_frame), None)],
            remedy: "Start capturing before the client connects to see the login, the greeting and the negotiated settings.".into(),
            ..Default::default()
        });
    }
    if lim.cut_bytes.iter().sum::<u64>() > 0 {
        out.push(Finding {
            id: "capture-truncated",
            severity: Severity::Warning,
            summary: format!("{} bytes of the control connection were cut by the capture's snaplen; those lines could not be read", lim.cut_bytes[0] + lim.cut_bytes[1]),
            evidence: Vec::new(),
            remedy: "Capture with a full snaplen (tcpdump -s 0, the default in modern tcpdump).".into(),
            ..Default::default()
        });
    }
    if lim.gaps > 0 {
        out.push(Finding {
            id: "capture-gap",
            severity: Severity::Warning,
            summary: format!("{} gap(s) in the control connection: {} bytes from the client and {} from the server are missing from the capture", lim.gaps, lim.gap_bytes[0], lim.gap_bytes[1]),
            evidence: Vec::new(),
            remedy: "The capture dropped packets (a busy capture host, a SPAN port over capacity). Exchanges around the gaps may be incomplete; capture again with a capture filter or a faster disk.".into(),
            ..Default::default()
        });
    }
    let cmds = s.exchanges.iter().filter(|x| x.command.is_some()).count();
    let replies = s.exchanges.iter().map(|x| x.replies.len()).sum::<usize>();
    if !s.tls && ((cmds > 0 && replies == 0) || (replies > 0 && cmds == 0 && s.exchanges.len() > 1))
    {
        let (have, miss) = if replies == 0 {
            ("client", "server")
        } else {
            ("server", "client")
        };
        out.push(Finding {
            id: "capture-one-sided",
            severity: Severity::Warning,
            summary: format!("only the {have}'s side of the control connection is in the capture; the {miss}'s side is missing"),
            evidence: Vec::new(),
            remedy: "Asymmetric routing or a one-way tap: capture where both directions pass (both ports of a SPAN, or on a host). Replies and outcomes cannot be checked.".into(),
            ..Default::default()
        });
    }
}

/// Many failed logins from one client address in a short time: password guessing.
fn guessing_rule(failed: &[FailedLogin]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut fails: Vec<(IpAddr, Ts, usize)> =
        failed.iter().map(|f| (f.client, f.ts, f.session)).collect();
    fails.sort_by_key(|(ip, ts, _)| (*ip, *ts));
    let mut i = 0;
    while i < fails.len() {
        let ip = fails[i].0;
        let j = fails[i..]
            .iter()
            .position(|f| f.0 != ip)
            .map_or(fails.len(), |p| i + p);
        let group = &fails[i..j];
        // Largest number of failures inside any window.
        let mut best = (0, 0);
        let mut lo = 0;
        for hi in 0..group.len() {
            while group[lo].1.secs_until(group[hi].1) > GUESS_WINDOW_SECS {
                lo += 1;
            }
            if hi - lo + 1 > best.1 - best.0 {
                best = (lo, hi + 1);
            }
        }
        let n = best.1 - best.0;
        if n >= GUESS_THRESHOLD {
            let w = &group[best.0..best.1];
            let secs = w[0].1.secs_until(w[n - 1].1);
            let sessions: std::collections::BTreeSet<usize> = w.iter().map(|f| f.2).collect();
            out.push(Finding {
                id: "login-failed",
                severity: Severity::Warning,
                summary: format!("{n} failed logins from {ip} within {secs:.0} s across {} session(s): likely password guessing", sessions.len()),
                evidence: vec![
                    ev(format!("first failure at {}", w[0].1.rfc3339()), Some(w[0].1), None, None),
                    ev(format!("last failure at {}", w[n - 1].1.rfc3339()), Some(w[n - 1].1), None, None),
                ],
                remedy: format!("Block or rate-limit {ip} (fail2ban, the server's max login attempts: vsftpd max_login_fails, ProFTPD MaxLoginAttempts), and make sure FTP accounts have strong passwords or use key-based SFTP instead."),
                ..Default::default()
            });
        }
        i = j;
    }
    out
}

pub mod speed;
mod tls;
pub mod vantage;

#[cfg(test)]
mod tests;
