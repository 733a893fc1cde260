//! Suricata's EVE JSON (`--format eve`), so pipelines built for Suricata take
//! ftpscope's sessions as they are (docs/formats.md).
//!
//! One line per record, as Suricata's FTP logger writes them:
//! - `event_type: ftp`: one per exchange of the control connection (Suricata's
//!   transactions: the greeting is the first, then one per command), with the `ftp`
//!   object: `command`, `command_data`, `reply[]` and `completion_code[]` (one entry
//!   per reply line), `dynamic_port` and `mode` for PASV/EPSV/PORT/EPRT,
//!   `reply_received`, `command_truncated`, `reply_truncated`.
//! - `event_type: ftp_data`: one per data connection in the capture, from its
//!   initiator to its listener (in active mode the server is `src_ip`), with
//!   `ftp_data.command` and, for RETR/STOR/APPE/STOU, `ftp_data.filename` (`<stou>`
//!   for a STOU without argument, as Suricata writes it).
//! - `event_type: ftpscope`: one per finding, on the control connection's flow (a
//!   capture-wide finding has no flow fields), with the `ftpscope` object: `finding`,
//!   `severity`, `certainty`, `summary`, `remedy`, `count`, `tx_ids` (the `ftp`
//!   records it is about). Suricata has no such event type: consumers that want only
//!   Suricata's keep to `ftp` and `ftp_data`.
//!
//! Every record carries `flow_id` (stable: derived from the connection and its start,
//! not Suricata's random one), `community_id` (Community ID v1, which Suricata writes
//! the same), `pcap_cnt` (the frame of the packet the record is about: the last reply,
//! else the command) and `tx_id`. Lines longer than Suricata's 4096-byte limit are cut
//! as Suricata cuts them and flagged `*_truncated`. PASS arguments are masked unless
//! `--show-passwords` (Suricata logs them as sent).

use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;

use crate::model::{DataMode, Finding, Session, community_id};
use crate::time::Ts;

/// Suricata's default `ftp.max-line-length`: longer lines are cut to this many bytes.
pub const MAX_LINE: usize = 4096;

/// Commands whose argument Suricata's ftp-data records as `filename`.
const FILE_COMMANDS: &[&str] = &["RETR", "STOR", "APPE", "STOU"];

/// The fields every record starts with, in Suricata's order.
#[derive(Serialize)]
struct Head {
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcap_cnt: Option<u64>,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proto: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_id: Option<usize>,
}

#[derive(Serialize)]
struct Ftp {
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command_data: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reply: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    completion_code: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
    reply_received: &'static str,
    command_truncated: bool,
    reply_truncated: bool,
}

#[derive(Serialize)]
struct FtpData {
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<String>,
}

#[derive(Serialize)]
struct Scope<'a> {
    finding: &'static str,
    severity: &'static str,
    certainty: crate::model::Certainty,
    summary: &'a str,
    remedy: &'a str,
    count: usize,
    #[serde(skip_serializing_if = "<[usize]>::is_empty")]
    tx_ids: &'a [usize],
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(flatten)]
    head: Head,
    #[serde(skip_serializing_if = "Option::is_none")]
    ftp: Option<Ftp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ftp_data: Option<FtpData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ftpscope: Option<Scope<'a>>,
}

/// Suricata's timestamp: `2019-03-11T19:32:00.123456+0000`.
pub fn timestamp(t: Ts) -> String {
    let s = t.rfc3339();
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}+0000"),
        None => s,
    }
}

/// A stable flow id for a connection: 51 bits of a hash of its endpoints and start
/// (Suricata's own is random; 51 bits stay exact as a JSON number in JavaScript).
pub fn flow_id(a: SocketAddr, b: SocketAddr, start: Ts) -> u64 {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(a.to_string().as_bytes());
    h.update(b"|");
    h.update(b.to_string().as_bytes());
    h.update(start.0.to_be_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8])) & ((1 << 51) - 1)
}

fn head(event_type: &'static str, ts: Ts, src: SocketAddr, dest: SocketAddr, start: Ts) -> Head {
    Head {
        timestamp: timestamp(ts),
        flow_id: Some(flow_id(src, dest, start)),
        pcap_cnt: None,
        event_type,
        src_ip: Some(src.ip().to_string()),
        src_port: Some(src.port()),
        dest_ip: Some(dest.ip().to_string()),
        dest_port: Some(dest.port()),
        proto: Some("TCP"),
        app_proto: Some("ftp"),
        community_id: community_id::tcp(src, dest),
        tx_id: None,
    }
}

/// `b` cut to `max` bytes, as text; whether it was cut.
fn cut(b: &[u8], max: usize) -> (String, bool) {
    let n = b.len().min(max);
    (crate::text::lossy_str(&b[..n]).into_owned(), b.len() > max)
}

/// A reply line's code (when it starts with one) and its text, as Suricata splits them.
fn split_line(line: &[u8]) -> (Option<String>, &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() >= 3
        && line[..3].iter().all(u8::is_ascii_digit)
        && matches!(line.get(3), None | Some(b' ' | b'-'))
    {
        let code = crate::text::lossy_str(&line[..3]).into_owned();
        return (Some(code), line.get(4..).unwrap_or_default());
    }
    (None, line)
}

/// The `ftp` records of a session, then its `ftp_data` records, then its findings.
pub fn write_session(out: &mut dyn Write, s: &Session) -> io::Result<()> {
    for (i, x) in s.exchanges.iter().enumerate() {
        let last = x.replies.last();
        let ts = last
            .map(|r| r.ts)
            .or(x.command.as_ref().map(|c| c.ts))
            .unwrap_or(s.start);
        let mut h = head("ftp", ts, s.client, s.server, s.start);
        h.pcap_cnt = last
            .map(|r| r.frame)
            .or(x.command.as_ref().map(|c| c.frame))
            .filter(|f| *f > 0);
        h.tx_id = Some(i);
        let (mut command, mut command_data, mut command_truncated) = (None, None, false);
        if let Some(c) = &x.command {
            let verb = c.verb.to_ascii_uppercase();
            // The line is the verb, a space and the argument: cut as a whole.
            let room = MAX_LINE.saturating_sub(verb.len() + 1);
            if !c.arg.0.is_empty() {
                let (d, t) = cut(&c.arg.0, room);
                command_data = Some(d);
                command_truncated = t;
            }
            command = Some(verb);
        }
        let (mut reply, mut completion_code, mut reply_truncated) = (Vec::new(), Vec::new(), false);
        for r in &x.replies {
            for line in &r.lines {
                let (code, text) = split_line(&line.0);
                let (t, cutted) = cut(text, MAX_LINE.saturating_sub(4));
                reply_truncated |= cutted;
                reply.push(t);
                completion_code.extend(code);
            }
        }
        let announced = s
            .data_channels
            .iter()
            .find(|d| d.announce_exchange == i && d.announced.is_some())
            .filter(|_| {
                matches!(
                    command.as_deref(),
                    Some("PASV" | "EPSV" | "PORT" | "EPRT" | "LPRT" | "LPSV")
                )
            });
        let ftp = Ftp {
            command,
            command_data,
            reply,
            completion_code,
            dynamic_port: announced.and_then(|d| d.announced).map(|a| a.port()),
            mode: announced.map(|d| match d.mode {
                DataMode::Passive => "passive",
                DataMode::Active => "active",
            }),
            reply_received: if x.replies.is_empty() { "no" } else { "yes" },
            command_truncated,
            reply_truncated,
        };
        crate::report::json::write_line(
            out,
            &Record {
                head: h,
                ftp: Some(ftp),
                ftp_data: None,
                ftpscope: None,
            },
        )?;
    }
    for d in &s.data_channels {
        let (Some(src), Some(dest), Some(start)) = (d.connector, d.listener, d.start) else {
            continue;
        };
        let mut h = head("ftp_data", d.end.unwrap_or(start), src, dest, start);
        h.app_proto = Some("ftp-data");
        h.pcap_cnt = d.frame_syn.filter(|f| *f > 0);
        h.tx_id = Some(0);
        let command = d.command.as_ref().map(|c| c.to_ascii_uppercase());
        let filename = match (&command, &d.arg) {
            (Some(c), Some(a)) if FILE_COMMANDS.contains(&c.as_str()) && !a.0.is_empty() => {
                Some(a.lossy())
            }
            // The server names the file of a STOU: Suricata writes this placeholder.
            (Some(c), _) if c == "STOU" => Some("<stou>".to_string()),
            _ => None,
        };
        crate::report::json::write_line(
            out,
            &Record {
                head: h,
                ftp: None,
                ftp_data: Some(FtpData { command, filename }),
                ftpscope: None,
            },
        )?;
    }
    for f in &s.findings {
        let at = f.evidence.iter().find(|e| e.ts.is_some());
        let mut h = head(
            "ftpscope",
            at.and_then(|e| e.ts).unwrap_or(s.start),
            s.client,
            s.server,
            s.start,
        );
        h.pcap_cnt = at.and_then(|e| e.frame).filter(|f| *f > 0);
        h.tx_id = f.exchanges.first().copied();
        write_finding(out, h, f)?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, head: Head, f: &Finding) -> io::Result<()> {
    crate::report::json::write_line(
        out,
        &Record {
            head,
            ftp: None,
            ftp_data: None,
            ftpscope: Some(Scope {
                finding: f.id,
                severity: f.severity.as_str(),
                certainty: f.certainty,
                summary: &f.summary,
                remedy: &f.remedy,
                count: f.count,
                tx_ids: &f.exchanges,
            }),
        },
    )
}

/// Findings about the whole capture (no flow): `ftpscope` records dated `at` unless
/// their evidence is dated.
pub fn write_capture_findings(out: &mut dyn Write, findings: &[Finding], at: Ts) -> io::Result<()> {
    for f in findings {
        let ev = f.evidence.iter().find(|e| e.ts.is_some());
        let head = Head {
            timestamp: timestamp(ev.and_then(|e| e.ts).unwrap_or(at)),
            flow_id: None,
            pcap_cnt: ev.and_then(|e| e.frame).filter(|f| *f > 0),
            event_type: "ftpscope",
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            app_proto: None,
            community_id: None,
            tx_id: None,
        };
        write_finding(out, head, f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_suricatas() {
        assert_eq!(
            timestamp(Ts::from_secs_nanos(1_552_332_720, 123_456_789)),
            "2019-03-11T19:32:00.123456+0000"
        );
    }

    #[test]
    fn reply_lines_split_into_code_and_text() {
        assert_eq!(
            split_line(b"230 Login successful.\r\n"),
            (Some("230".into()), &b"Login successful."[..])
        );
        assert_eq!(
            split_line(b"230-Welcome"),
            (Some("230".into()), &b"Welcome"[..])
        );
        assert_eq!(split_line(b" continued"), (None, &b" continued"[..]));
        assert_eq!(split_line(b"230"), (Some("230".into()), &b""[..]));
        assert_eq!(split_line(b"230_no_space"), (None, &b"230_no_space"[..]));
    }

    #[test]
    fn flow_ids_are_stable_and_fit_51_bits() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:21".parse().unwrap();
        let id = flow_id(a, b, Ts(5));
        assert_eq!(id, flow_id(a, b, Ts(5)));
        assert_ne!(id, flow_id(a, b, Ts(6)));
        assert!(id < 1 << 51);
    }
}
