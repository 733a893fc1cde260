//! `ftpscope diagnose`: only the findings, one block per session.
//!
//! Written as sessions end ([`write_session`]), so a capture of millions of
//! sessions needs no more memory than one: the caller keeps a [`Tally`] and writes
//! the head (capture-wide findings, known only at the end) and the tail around the
//! sessions' blocks. Text goes through [`crate::text::SafeWriter`], JSON through
//! [`super::json`].

use std::io::{self, Write};

use crate::ftp::catalog::Lang;
use crate::i18n::Ui;
use crate::model::{CaptureStats, Finding, Session, Severity};
use crate::time::TimeView;
use crate::tr;

/// What the head and tail need to know of the sessions written.
#[derive(Debug, Default)]
pub struct Tally {
    pub sessions: u64,
    /// Sessions with at least one finding.
    pub with_findings: u64,
    /// The most severe finding, capture-wide ones included.
    pub worst: Option<Severity>,
}

impl Tally {
    pub fn add(&mut self, s: &Session) {
        self.sessions += 1;
        if !s.findings.is_empty() {
            self.with_findings += 1;
        }
        self.worst = self.worst.max(s.worst());
    }

    pub fn add_capture(&mut self, findings: &[Finding]) {
        self.worst = self.worst.max(findings.iter().map(|f| f.severity).max());
    }
}

/// One session's findings: a JSON line (every session, so that a consumer sees
/// which sessions were checked), or a text block (sessions with findings only).
pub fn write_session(out: &mut dyn Write, s: &Session, json: bool, lang: Lang) -> io::Result<()> {
    write_session_at(out, s, json, lang, TimeView::Utc)
}

/// [`write_session`] with text times shown as `tv` says (`--time`).
pub fn write_session_at(
    out: &mut dyn Write,
    s: &Session,
    json: bool,
    lang: Lang,
    tv: TimeView,
) -> io::Result<()> {
    if json {
        // Sessions are named as in `report --format json` ("id", "client", "server").
        let v = serde_json::json!({
            "id": s.id,
            "client": s.client.to_string(),
            "server": s.server.to_string(),
            "coverage": s.coverage,
            "findings": s.findings,
        });
        return super::json::write_line(out, &v);
    }
    if s.findings.is_empty() {
        return Ok(());
    }
    let out = &mut crate::text::SafeWriter::new(out);
    writeln!(
        out,
        "{} {}  {} -> {}  {}",
        Ui::SessionLower.text(lang),
        s.id,
        s.client,
        s.server,
        tv.full(s.start)
    )?;
    for f in &s.findings {
        super::text::write_finding_at(out, f, "  ", tv, lang)?;
    }
    Ok(())
}

/// Text: the title and the capture-wide findings, before the sessions.
pub fn write_head(
    out: &mut dyn Write,
    stats: &CaptureStats,
    capture_findings: &[Finding],
    name: &str,
    lang: Lang,
) -> io::Result<()> {
    write_head_at(out, stats, capture_findings, name, lang, TimeView::Utc)
}

/// [`write_head`] with times shown as `tv` says (`--time`).
pub fn write_head_at(
    out: &mut dyn Write,
    _stats: &CaptureStats,
    capture_findings: &[Finding],
    name: &str,
    lang: Lang,
    tv: TimeView,
) -> io::Result<()> {
    let out = &mut crate::text::SafeWriter::new(out);
    let name = crate::text::escape_str(name);
    writeln!(
        out,
        "{}",
        tr!("ftpscope diagnose: {name}", "ftpscope 诊断：{name}").get(lang)
    )?;
    for f in capture_findings {
        super::text::write_finding_at(out, f, "  ", tv, lang)?;
    }
    Ok(())
}

/// After the sessions. Text: "no problem found" when nothing was. JSON: the
/// capture-wide findings (a damaged file, password guessing, duplicates) as a last
/// line `{"id": null, "scope": "capture", "findings": [...]}`, when there are any.
pub fn write_tail(
    out: &mut dyn Write,
    stats: &CaptureStats,
    capture_findings: &[Finding],
    tally: &Tally,
    _name: &str,
    json: bool,
    lang: Lang,
) -> io::Result<()> {
    if json {
        return super::json::write_capture_findings(out, capture_findings);
    }
    if tally.sessions == 0 && capture_findings.is_empty() {
        // Nothing to judge is not "no problem".
        writeln!(out, "  {}", crate::i18n::Ui::NoFtpSession.text(lang))?;
    } else if tally.with_findings == 0 && capture_findings.is_empty() {
        let n = tally.sessions;
        writeln!(
            out,
            "  {}",
            tr!(
                "no problem found in {n} session(s)",
                "{n} 个会话中未发现问题"
            )
            .get(lang)
        )?;
    }
    if stats.unsupported_link > 0 {
        // Packets that were not read at all: the sessions may be among them.
        let n = stats.unsupported_link;
        let note = tr!(
            "note: {n} packets of an unsupported link type were not read",
            "注：{n} 个不支持的链路类型的包未被读取"
        );
        writeln!(
            out,
            "  {}{}",
            note.get(lang),
            super::text::link_types(stats)
        )?;
    }
    Ok(())
}
