//! `ftpscope diagnose`: only the findings, one block per session (text through
//! [`crate::text::SafeWriter`], JSON through [`super::json`]).

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
        for s in &capture.sessions {
            let v = serde_json::json!({
                "session": s.id,
                "client": s.client.to_string(),
                "server": s.server.to_string(),
                "findings": s.findings,
            });
            super::json::write_line(out, &v)?;
        }
        return Ok(());
    }
    let out = &mut crate::text::SafeWriter::new(out);
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
