//! `ftpscope diagnose`: only the findings, one block per session.

use std::io::{self, Write};

use crate::ftp::catalog::Lang;
use crate::model::Capture;

pub fn write(
    out: &mut dyn Write,
    capture: &Capture,
    name: &str,
    json: bool,
    _lang: Lang,
) -> io::Result<()> {
    if json {
        // Sessions are named as in `report --format json` ("id", "client", "server");
        // the capture-wide findings come last, as one object with "id": null.
        for s in &capture.sessions {
            let v = serde_json::json!({
                "id": s.id,
                "client": s.client.to_string(),
                "server": s.server.to_string(),
                "coverage": s.coverage,
                "findings": s.findings,
            });
            writeln!(out, "{v}")?;
        }
        if !capture.findings.is_empty() {
            let v = serde_json::json!({
                "id": null,
                "scope": "capture",
                "findings": capture.findings,
            });
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    writeln!(out, "ftpscope diagnose: {}", crate::text::escape_str(name))?;
    let mut any = false;
    for f in &capture.findings {
        any = true;
        super::text::write_finding(out, f, "  ")?;
    }
    for s in &capture.sessions {
        if s.findings.is_empty() {
            continue;
        }
        any = true;
        writeln!(
            out,
            "session {}  {} -> {}  {}",
            s.id,
            s.client,
            s.server,
            s.start.rfc3339()
        )?;
        for f in &s.findings {
            super::text::write_finding(out, f, "  ")?;
        }
    }
    if !any {
        writeln!(
            out,
            "  no problem found in {} session(s)",
            capture.sessions.len()
        )?;
    }
    Ok(())
}
