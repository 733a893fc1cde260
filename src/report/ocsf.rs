//! OCSF events (`--format ocsf`), one JSON object per line (docs/formats.md).
//!
//! - Each command of a control connection (and its greeting) is an OCSF 1.3
//!   "FTP Activity" event (class_uid 4008, category_uid 4): `activity_id` from the
//!   command (Put: STOR/APPE/STOU, Get: RETR, Poll: SIZE/MDTM/MLST/STAT, Delete:
//!   DELE/RMD, Rename: RNFR/RNTO, List: LIST/NLST/MLSD, Other with `activity_name` the
//!   verb), `type_uid` = class_uid * 100 + activity_id, `time` in milliseconds,
//!   `src_endpoint` (client) and `dst_endpoint` (server), `command`,
//!   `command_responses` and `codes` (the replies), `file` (the argument of a file
//!   command), `port` and `type` (the data port and active/passive of
//!   PASV/EPSV/PORT/EPRT), `status_id` from the final reply, and
//!   `connection_info.community_uid`: the Community ID v1 of the connection.
//! - Each finding is a "Detection Finding" (class_uid 2004, category_uid 2,
//!   activity Create) with `finding_info` (uid, title, types, analytic), `remediation`,
//!   `confidence_id` from the finding's certainty, and the control connection as
//!   `evidences[0]`.
//! - What OCSF has no attribute for goes in `unmapped.ftpscope`: the session number,
//!   the exchange index, the command's argument and the user (FTP Activity), the certainty, count, exchanges and
//!   evidence lines (Detection Finding).
//!
//! PASS arguments are masked unless `--show-passwords`, as in every view.

use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Certainty, DataMode, Finding, Session, Severity, community_id};
use crate::time::Ts;

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.3.0";

pub const FTP_ACTIVITY: u32 = 4008;
pub const DETECTION_FINDING: u32 = 2004;

/// OCSF's FTP Activity `activity_id` of a command, and its name.
pub fn activity(verb: Option<&str>) -> (u32, &'static str) {
    let Some(v) = verb else {
        return (0, "Unknown");
    };
    match v.to_ascii_uppercase().as_str() {
        "STOR" | "APPE" | "STOU" => (1, "Put"),
        "RETR" => (2, "Get"),
        "SIZE" | "MDTM" | "MLST" | "STAT" => (3, "Poll"),
        "DELE" | "RMD" | "XRMD" => (4, "Delete"),
        "RNFR" | "RNTO" => (5, "Rename"),
        "LIST" | "NLST" | "MLSD" => (6, "List"),
        _ => (99, "Other"),
    }
}

fn ms(t: Ts) -> i64 {
    t.0.div_euclid(1_000_000)
}

fn metadata(log: &str) -> Value {
    json!({
        "version": OCSF_VERSION,
        "product": {
            "name": "ftpscope",
            "vendor_name": "ftpscope",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "log_name": log,
    })
}

fn endpoint(a: SocketAddr) -> Value {
    json!({ "ip": a.ip().to_string(), "port": a.port() })
}

fn connection(s: &Session) -> Value {
    let mut c = json!({
        "protocol_name": "tcp",
        "protocol_num": 6,
        "direction_id": 0,
        "direction": "Unknown",
    });
    if let Some(id) = community_id::tcp(s.client, s.server) {
        c["community_uid"] = Value::from(id);
    }
    c
}

fn write(out: &mut dyn Write, v: &impl Serialize) -> io::Result<()> {
    crate::report::json::write_line(out, v)
}

/// The FTP Activity events of a session, then its Detection Findings.
pub fn write_session(out: &mut dyn Write, s: &Session) -> io::Result<()> {
    let mut user: Option<String> = None;
    for (i, x) in s.exchanges.iter().enumerate() {
        let verb = x.command.as_ref().map(|c| c.verb.to_ascii_uppercase());
        if verb.as_deref() == Some("USER") {
            user = x.command.as_ref().map(|c| c.arg.lossy());
        }
        let (activity_id, activity_name) = match (&verb, i) {
            // The greeting: no command, the connection's start.
            (None, 0) => (99, "Other"),
            (v, _) => activity(v.as_deref()),
        };
        let name = match (&verb, activity_id) {
            (None, 99) => "Greeting".to_string(),
            (Some(v), 99) => v.clone(),
            _ => activity_name.to_string(),
        };
        let ts = x
            .command
            .as_ref()
            .map(|c| c.ts)
            .or(x.replies.first().map(|r| r.ts))
            .unwrap_or(s.start);
        let final_reply = x.final_reply();
        let (status_id, status) = match final_reply.map(|r| r.code) {
            Some(c) if (100..400).contains(&c) => (1, "Success"),
            Some(c) if c >= 400 => (2, "Failure"),
            _ => (0, "Unknown"),
        };
        let mut e = json!({
            "class_uid": FTP_ACTIVITY,
            "class_name": "FTP Activity",
            "category_uid": 4,
            "category_name": "Network Activity",
            "activity_id": activity_id,
            "activity_name": name,
            "type_uid": FTP_ACTIVITY * 100 + activity_id,
            "type_name": format!("FTP Activity: {name}"),
            "time": ms(ts),
            "severity_id": 1,
            "severity": "Informational",
            "status_id": status_id,
            "status": status,
            "metadata": metadata("ftp"),
            "src_endpoint": endpoint(s.client),
            "dst_endpoint": endpoint(s.server),
            "connection_info": connection(s),
        });
        if let Some(r) = final_reply {
            e["status_code"] = Value::from(r.code.to_string());
        }
        if let Some(v) = &verb {
            e["command"] = Value::from(v.as_str());
        }
        if !x.replies.is_empty() {
            let lines: Vec<String> = x
                .replies
                .iter()
                .flat_map(|r| r.lines.iter())
                .map(|l| {
                    let t = l.lossy();
                    t.trim_end_matches(['\r', '\n']).to_string()
                })
                .collect();
            e["command_responses"] = json!(lines);
            e["codes"] = json!(x.replies.iter().map(|r| r.code).collect::<Vec<_>>());
        }
        let arg = x
            .command
            .as_ref()
            .map(|c| c.arg.lossy())
            .unwrap_or_default();
        if !arg.is_empty() && matches!(activity_id, 1..=6) {
            let folder = activity_id == 6;
            let name = arg.rsplit('/').find(|p| !p.is_empty()).unwrap_or(&arg);
            e["file"] = json!({
                "name": name,
                "path": arg,
                "type_id": if folder { 2 } else { 1 },
                "type": if folder { "Folder" } else { "Regular File" },
            });
        }
        if matches!(
            verb.as_deref(),
            Some("PASV" | "EPSV" | "PORT" | "EPRT" | "LPSV" | "LPRT")
        ) && let Some(d) = s
            .data_channels
            .iter()
            .find(|d| d.announce_exchange == i && d.announced.is_some())
            && let Some(a) = d.announced
        {
            e["port"] = Value::from(a.port());
            e["type"] = Value::from(match d.mode {
                DataMode::Passive => "passive",
                DataMode::Active => "active",
            });
        }
        let mut extra = json!({ "session": s.id, "exchange": i });
        if !arg.is_empty() {
            extra["arg"] = Value::from(arg.as_str());
        }
        if let Some(u) = &user {
            extra["user"] = Value::from(u.as_str());
        }
        if let Some(d) = x.data_channel.and_then(|d| s.data_channels.get(d)) {
            extra["data_outcome"] = Value::from(d.outcome.as_str());
            extra["data_bytes"] = Value::from(d.bytes);
        }
        e["unmapped"] = json!({ "ftpscope": extra });
        write(out, &e)?;
    }
    for f in &s.findings {
        write(out, &finding(f, Some(s), s.start))?;
    }
    Ok(())
}

/// Findings about the whole capture: Detection Findings with no evidence connection.
pub fn write_capture_findings(out: &mut dyn Write, findings: &[Finding], at: Ts) -> io::Result<()> {
    for f in findings {
        write(out, &finding(f, None, at))?;
    }
    Ok(())
}

fn finding(f: &Finding, s: Option<&Session>, at: Ts) -> Value {
    let ts = f.evidence.iter().find_map(|e| e.ts).unwrap_or(at);
    let (severity_id, severity) = match f.severity {
        Severity::Info => (1, "Informational"),
        Severity::Warning => (3, "Medium"),
        Severity::Error => (4, "High"),
    };
    let (confidence_id, confidence) = match f.certainty {
        Certainty::Seen => (3, "High"),
        Certainty::Inferred => (2, "Medium"),
        Certainty::CannotKnow => (1, "Low"),
    };
    // A stable uid: the finding, its session and first evidence.
    let uid = {
        use sha1::{Digest, Sha1};
        let mut h = Sha1::new();
        h.update(f.id.as_bytes());
        if let Some(s) = s {
            h.update(s.client.to_string().as_bytes());
            h.update(s.server.to_string().as_bytes());
            h.update(s.start.0.to_be_bytes());
        }
        h.update(ts.0.to_be_bytes());
        h.update(f.cause.as_bytes());
        let d = h.finalize();
        d[..10]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut e = json!({
        "class_uid": DETECTION_FINDING,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": DETECTION_FINDING * 100 + 1,
        "type_name": "Detection Finding: Create",
        "time": ms(ts),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "confidence_id": confidence_id,
        "confidence": confidence,
        "message": f.summary,
        "metadata": metadata("findings"),
        "finding_info": {
            "uid": uid,
            "title": f.summary,
            "types": [f.id],
            "analytic": { "type_id": 1, "type": "Rule", "name": f.id, "uid": f.id },
        },
        "remediation": { "desc": f.remedy },
        "unmapped": { "ftpscope": {
            "finding": f.id,
            "certainty": f.certainty,
            "count": f.count,
            "exchanges": f.exchanges,
            "evidence": f.evidence.iter().map(|e| &*e.what).collect::<Vec<_>>(),
        }},
    });
    if let Some(s) = s {
        e["evidences"] = json!([{
            "src_endpoint": endpoint(s.client),
            "dst_endpoint": endpoint(s.server),
            "connection_info": connection(s),
        }]);
        e["unmapped"]["ftpscope"]["session"] = Value::from(s.id);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_ocsf_activities() {
        assert_eq!(activity(Some("retr")), (2, "Get"));
        assert_eq!(activity(Some("STOU")), (1, "Put"));
        assert_eq!(activity(Some("MLSD")), (6, "List"));
        assert_eq!(activity(Some("RNTO")), (5, "Rename"));
        assert_eq!(activity(Some("DELE")), (4, "Delete"));
        assert_eq!(activity(Some("SIZE")), (3, "Poll"));
        assert_eq!(activity(Some("USER")), (99, "Other"));
        assert_eq!(activity(None), (0, "Unknown"));
    }

    #[test]
    fn time_is_milliseconds() {
        assert_eq!(
            ms(Ts::from_secs_nanos(1_700_000_000, 123_456_789)),
            1_700_000_000_123
        );
    }
}
