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
    DataChannel, DataMode, Evidence, Exchange, Finding, Login, MatchKind, Outcome, Session,
    Severity,
};
use crate::session::FailedLogin;
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

/// Run every per-session rule (the tracker calls this when a session ends).
pub fn session(s: &mut Session) {
    let mut f = Vec::new();
    data_rules(s, &mut f);
    login_rule(s, &mut f);
    control_rules(s, &mut f);
    capture_rules(s, &mut f);
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    s.findings = f;
}

/// Capture-wide rules, from what the tracker kept about ended sessions.
pub fn capture(failed: &[FailedLogin]) -> Vec<Finding> {
    guessing_rule(failed)
}

fn data_rules(s: &Session, out: &mut Vec<Finding>) {
    let server_ip = s.server.ip();
    let client_ip = s.client.ip();
    for d in &s.data_channels {
        let Some(ann) = d.announced else { continue };
        match d.mode {
            DataMode::Passive => passive_rules(s, d, ann, server_ip, out),
            DataMode::Active => active_rules(s, d, ann, client_ip, out),
        }
        transfer_rules(s, d, out);
    }
}

fn passive_rules(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    server_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    // The announced address is not where the client reached the server.
    let mismatch = d.via != "EPSV" && ann.ip() != server_ip;
    let nat = mismatch && is_private(ann.ip()) && !is_private(server_ip);
    if mismatch {
        let used_control = d.match_kind == Some(MatchKind::ServerControlAddress);
        let worked = matches!(d.outcome, Outcome::Completed);
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
            });
        }
        Outcome::NotAttempted => {
            let mut evidence = announcement_evidence(s, d);
            if let Some(ei) = d.command_exchange {
                evidence.extend(reply_evidence(s, ei));
            }
            let failed = transfer_reply(s, d).is_some_and(|(_, c)| c >= 400);
            out.push(Finding {
                id: "passive-data-not-attempted",
                severity: if failed { Severity::Error } else { Severity::Warning },
                summary: format!("no connection to the announced data address {ann} was seen after {} and {}", d.via, d.command.as_deref().unwrap_or("?")),
                evidence,
                remedy: "The client did not connect (or went somewhere the capture does not show): check the client's outbound firewall, and that the capture filter includes the data ports (capture all TCP between the two hosts, not only port 21).".into(),
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
        });
    }
    let code = transfer_reply(s, d);
    let failed_conn = matches!(d.outcome, Outcome::Refused | Outcome::Unanswered);
    let reply_425 = code.is_some_and(|(_, c)| c == 425);
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
        });
    }
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
            });
        } else if is_binary_name(&name) {
            out.push(Finding {
                id: "ascii-mode-size-mismatch",
                severity: Severity::Warning,
                summary: format!("\"{}\" looks like a binary file but moved in ASCII mode (TYPE A): line-ending conversion may alter it", escape(&name)),
                evidence: reply_evidence(s, d.command_exchange.unwrap_or(0)),
                remedy: "Send TYPE I before transferring binary files.".into(),
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
            });
            return;
        }
    }
    let short = d.expected_size.is_some_and(|n| d.bytes < n && !ascii);
    let bad_reply = code.is_some_and(|(_, c)| matches!(c, 426 | 451));
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
    });
}

fn control_rules(s: &Session, out: &mut Vec<Finding>) {
    if s.tls {
        let auth = s
            .exchanges
            .iter()
            .enumerate()
            .find(|(_, x)| x.verb() == Some("AUTH"));
        out.push(Finding {
            id: "control-encrypted",
            severity: Severity::Info,
            summary: format!(
                "the control connection is encrypted after AUTH ({} B from the client, {} B from the server): commands, replies and data addresses cannot be read from this capture",
                s.encrypted_bytes[0], s.encrypted_bytes[1]
            ),
            evidence: auth.map(|(i, _)| reply_evidence(s, i)).unwrap_or_default(),
            remedy: "To see inside, put ftpscope's debugging proxy between client and server (ftpscope proxy), or log TLS keys on the client (SSLKEYLOGFILE) and decrypt with Wireshark. A firewall cannot follow passive ports of an encrypted session: open the passive range explicitly.".into(),
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
    }
}

fn capture_rules(s: &Session, out: &mut Vec<Finding>) {
    let lim = &s.capture;
    if lim.mid_session {
        out.push(Finding {
            id: "capture-mid-session",
            severity: Severity::Info,
            summary: "the capture starts after this control connection was opened: the login and earlier commands are not in it".into(),
            evidence: vec![ev(format!("first packet seen: frame {}", s.start_frame), Some(s.start), Some(s.start_frame), None)],
            remedy: "Start capturing before the client connects to see the login, the greeting and the negotiated settings.".into(),
        });
    }
    if lim.cut_bytes.iter().sum::<u64>() > 0 {
        out.push(Finding {
            id: "capture-truncated",
            severity: Severity::Warning,
            summary: format!("{} bytes of the control connection were cut by the capture's snaplen; those lines could not be read", lim.cut_bytes[0] + lim.cut_bytes[1]),
            evidence: Vec::new(),
            remedy: "Capture with a full snaplen (tcpdump -s 0, the default in modern tcpdump).".into(),
        });
    }
    if lim.gaps > 0 {
        out.push(Finding {
            id: "capture-gap",
            severity: Severity::Warning,
            summary: format!("{} gap(s) in the control connection: {} bytes from the client and {} from the server are missing from the capture", lim.gaps, lim.gap_bytes[0], lim.gap_bytes[1]),
            evidence: Vec::new(),
            remedy: "The capture dropped packets (a busy capture host, a SPAN port over capacity). Exchanges around the gaps may be incomplete; capture again with a capture filter or a faster disk.".into(),
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
            });
        }
        i = j;
    }
    out
}
