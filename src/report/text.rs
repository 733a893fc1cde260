//! The text report: a diagnosis section, then every session with its transcript
//! and data connections. Every string from the wire goes through
//! [`crate::text::escape`] (so a line feed in it cannot forge a line), and every
//! public function writes through a [`SafeWriter`], so nothing it writes can carry
//! a control or invisible character even where an escape was forgotten.

use std::io::{self, Write};

use super::ViewOptions;
use crate::ftp::catalog::Lang;
use crate::model::{Capture, CaptureStats, DataChannel, Finding, Session, Severity};
use crate::text::{SafeWriter, escape, escape_str};
use crate::time::{TimeView, human_bytes, human_duration};

fn tr(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

fn sev_mark(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARN ",
        Severity::Info => "info ",
    }
}

/// One line describing a data connection.
pub fn channel_line(d: &DataChannel) -> String {
    let ann = d.announced.map_or("?".to_string(), |a| a.to_string());
    let mut s = format!("{} {} {}", d.via, ann, d.outcome.as_str());
    if let Some(c) = &d.command {
        s.push_str(&format!(" for {}", escape_str(c)));
        if let Some(a) = &d.arg {
            if !a.is_empty() {
                s.push_str(&format!(" {}", escape(&a.0)));
            }
        }
    }
    if d.bytes > 0 || d.outcome == crate::model::Outcome::Completed {
        s.push_str(&format!(", {} ({} B)", human_bytes(d.bytes), d.bytes));
        if let Some(dir) = d.direction {
            s.push_str(&format!(" {dir}"));
        }
    }
    if let (Some(a), Some(b)) = (d.first_byte, d.last_byte) {
        s.push_str(&format!(" in {}", human_duration(a.secs_until(b))));
    }
    if let Some(t) = d.throughput {
        s.push_str(&format!(", {}/s", human_bytes(t as u64)));
    }
    if d.syns > 1 {
        s.push_str(&format!(", {} SYNs", d.syns));
    }
    if let (Some(c), Some(l)) = (d.connector, d.listener) {
        s.push_str(&format!(" [{c} -> {l}"));
        if let Some(m) = d.match_kind {
            let m = match m {
                crate::model::MatchKind::Exact => "as announced",
                crate::model::MatchKind::ServerControlAddress => {
                    "matched on the server's control address"
                }
                crate::model::MatchKind::ClientControlAddress => {
                    "matched on the client's control address"
                }
                crate::model::MatchKind::PortOnly => "matched by port only",
                crate::model::MatchKind::Timing => {
                    "matched by peers and timing: the announcement is encrypted"
                }
            };
            s.push_str(&format!(", {m}"));
        }
        s.push(']');
    }
    s
}

/// A data connection's TCP figures in one line: what is unusual, plus the round trip
/// and what the handshake negotiated.
pub fn tcp_line(t: &crate::model::TcpFigures) -> String {
    let mut p = Vec::new();
    if let Some(r) = t.rtt_ms {
        p.push(format!("rtt {}", human_duration(r / 1e3)));
    }
    if let Some(m) = t.mss {
        p.push(format!("mss {m}"));
    }
    match (t.window_scale.client, t.window_scale.server) {
        (Some(c), Some(s)) => p.push(format!("wscale {c}/{s}")),
        (None, None) => {}
        (c, s) => p.push(format!(
            "wscale {}/{} (scaling off)",
            c.map_or("-".into(), |x| x.to_string()),
            s.map_or("-".into(), |x| x.to_string())
        )),
    }
    let lost = t.retransmissions + t.spurious_retransmissions;
    if lost > 0 {
        p.push(format!(
            "{lost} retransmitted ({})",
            human_bytes(t.retransmitted_bytes)
        ));
    }
    if t.duplicate_acks > 0 {
        p.push(format!("{} dup ACKs", t.duplicate_acks));
    }
    if t.out_of_order > 0 {
        p.push(format!("{} out of order", t.out_of_order));
    }
    if t.zero_window.episodes > 0 {
        p.push(format!(
            "zero window {}x for {}",
            t.zero_window.episodes,
            human_duration(t.zero_window.total_s)
        ));
    }
    if let (Some(f), Some(w)) = (t.bytes_in_flight.median, t.receive_window.median) {
        p.push(format!(
            "in flight {} of window {} (median)",
            human_bytes(f),
            human_bytes(w)
        ));
    }
    if t.idle.episodes > 0 {
        p.push(format!(
            "sender idle {} in {} pauses",
            human_duration(t.idle.total_s),
            t.idle.episodes
        ));
    }
    if p.is_empty() {
        p.push("no handshake or data seen".into());
    }
    p.join(", ")
}

/// What the capture covers of a session, in one line (text report and TUI header).
pub fn coverage_line(s: &Session) -> String {
    use crate::model::DataVisibility;
    let c = &s.coverage;
    let mut parts = Vec::new();
    parts.push(if c.control_handshake {
        let syns = if c.control_syns > 1 {
            format!(", {} SYNs", c.control_syns)
        } else {
            String::new()
        };
        format!("control handshake seen ({}{syns})", c.control_answer)
    } else {
        "no control handshake".to_string()
    });
    parts.push(format!(
        "{} packets from the client, {} from the server",
        c.client_packets, c.server_packets
    ));
    parts.push(
        match (c.greeting, c.login) {
            (true, true) => "greeting and login",
            (true, false) => "greeting, no login",
            (false, true) => "login, no greeting",
            (false, false) => "no greeting or login",
        }
        .to_string(),
    );
    parts.push(match c.data_visible {
        _ if s.data_channels.is_empty() => "no data connection announced".to_string(),
        DataVisibility::Seen => format!(
            "{} data connection(s) in the capture ({} with handshake)",
            c.data_connections, c.data_handshakes
        ),
        DataVisibility::Likely => {
            "no data connection of this session, though the capture holds other traffic".to_string()
        }
        DataVisibility::Unknown => {
            "FTP control traffic only: data connections cannot be seen".to_string()
        }
    });
    if c.duplicates > 0 {
        parts.push(format!("{} duplicate packets counted once", c.duplicates));
    }
    parts.join("; ")
}

pub fn write_finding(out: &mut dyn Write, f: &Finding, indent: &str) -> io::Result<()> {
    write_finding_at(out, f, indent, TimeView::Utc)
}

/// [`write_finding`] with times shown as `tv` says (`--time`).
pub fn write_finding_at(
    out: &mut dyn Write,
    f: &Finding,
    indent: &str,
    tv: TimeView,
) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    writeln!(
        out,
        "{indent}{} {}: {}",
        sev_mark(f.severity),
        f.id,
        escape_str(&f.summary)
    )?;
    for e in &f.evidence {
        let at = match (e.frame, e.ts) {
            (Some(fr), Some(ts)) if fr > 0 => format!(
                "frame {}, {}: ",
                crate::capture::merge::FrameLabel(fr),
                tv.clock(ts).trim()
            ),
            (_, Some(ts)) => format!("{}: ", tv.clock(ts).trim()),
            _ => String::new(),
        };
        writeln!(out, "{indent}      evidence: {at}{}", escape_str(&e.what))?;
    }
    if !f.remedy.is_empty() {
        writeln!(out, "{indent}      fix: {}", escape_str(&f.remedy))?;
    }
    Ok(())
}

/// The whole report.
/// What the head of the report needs: totals and every finding with its session.
#[derive(Debug, Default)]
pub struct Summary {
    pub sessions: usize,
    pub data_channels: usize,
    /// (session id, finding), in session order.
    pub findings: Vec<(usize, Finding)>,
    /// Capture-wide findings.
    pub capture_findings: Vec<Finding>,
}

impl Summary {
    /// Account for one session (call in session order).
    pub fn add(&mut self, s: &Session) {
        self.sessions += 1;
        self.data_channels += s.data_channels.len();
        self.findings
            .extend(s.findings.iter().map(|f| (s.id, f.clone())));
    }
}

/// The whole report from a model held in memory.
pub fn write(
    out: &mut dyn Write,
    capture: &Capture,
    name: &str,
    opts: ViewOptions,
) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    let mut sum = Summary {
        capture_findings: capture.findings.clone(),
        ..Default::default()
    };
    for s in &capture.sessions {
        sum.add(s);
    }
    write_head(out, &capture.stats, &sum, name, opts)?;
    for s in &capture.sessions {
        writeln!(out)?;
        write_session(out, s, opts)?;
    }
    Ok(())
}

/// The head of the report: totals, capture notes and the diagnosis section.
pub fn write_head(
    out: &mut dyn Write,
    st: &CaptureStats,
    sum: &Summary,
    name: &str,
    opts: ViewOptions,
) -> io::Result<()> {
    write_head_at(out, st, sum, name, opts, TimeView::Utc)
}

/// [`write_head`] with times shown as `tv` says (`--time`).
pub fn write_head_at(
    out: &mut dyn Write,
    st: &CaptureStats,
    sum: &Summary,
    name: &str,
    opts: ViewOptions,
    tv: TimeView,
) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    let lang = opts.lang;
    let chans = sum.data_channels;
    let findings = sum.findings.len() + sum.capture_findings.len();
    writeln!(out, "ftpscope report: {}", escape_str(name))?;
    writeln!(
        out,
        "  {} packets, {} TCP connections, {} FTP session{}, {} data channel{}, {} finding{}",
        st.packets,
        st.tcp_connections,
        sum.sessions,
        if sum.sessions == 1 { "" } else { "s" },
        chans,
        if chans == 1 { "" } else { "s" },
        findings,
        if findings == 1 { "" } else { "s" }
    )?;
    if let (Some(a), Some(b)) = (st.first, st.last) {
        writeln!(
            out,
            "  from {} to {} ({})",
            tv.full(a),
            tv.full(b),
            human_duration(a.secs_until(b))
        )?;
    }
    if let Some(e) = &st.read_error {
        writeln!(
            out,
            "  WARNING: the capture file is damaged: {}; everything before that point was analysed",
            escape_str(e)
        )?;
    }
    if st.sessions_evicted > 0 {
        writeln!(
            out,
            "  WARNING: {} sessions were set aside before they ended: more than {} were open at once (each is reported as it was, closed \"evicted\")",
            st.sessions_evicted,
            crate::session::MAX_OPEN_SESSIONS
        )?;
    }
    if st.truncated_packets > 0 {
        writeln!(
            out,
            "  note: {} packets were cut by the capture's snaplen",
            st.truncated_packets
        )?;
    }
    if st.malformed > 0 || st.unsupported_link > 0 {
        writeln!(
            out,
            "  note: {} malformed packets, {} packets of an unsupported link type",
            st.malformed, st.unsupported_link
        )?;
    }
    if sum.sessions == 0 {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            tr(
                lang,
                "No FTP session found in this capture (looked at port 21, the --ftp-port ports, and for FTP greetings/commands on any port).",
                "此抓包中未发现 FTP 会话（已检查 21 端口、--ftp-port 指定的端口，以及任意端口上的 FTP 问候/命令）。"
            )
        )?;
        return Ok(());
    }
    // Diagnosis first: it is why people open a capture.
    writeln!(out)?;
    writeln!(out, "{}", tr(lang, "Diagnosis", "诊断"))?;
    if findings == 0 {
        writeln!(out, "  {}", tr(lang, "no problem found", "未发现问题"))?;
    }
    for f in &sum.capture_findings {
        write_finding_at(out, f, "  ", tv)?;
    }
    for (id, f) in &sum.findings {
        write!(out, "  [session {id}] ")?;
        write_finding_at(out, f, "", tv)?;
    }
    Ok(())
}

pub fn write_session(out: &mut dyn Write, s: &Session, opts: ViewOptions) -> io::Result<()> {
    write_session_at(out, s, opts, TimeView::Utc)
}

/// [`write_session`] with times shown as `tv` says (`--time`).
pub fn write_session_at(
    out: &mut dyn Write,
    s: &Session,
    opts: ViewOptions,
    tv: TimeView,
) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    let lang = opts.lang;
    writeln!(
        out,
        "{} {}  {} -> {}  {}  {}",
        tr(lang, "Session", "会话"),
        s.id,
        s.client,
        s.server,
        tv.full(s.start),
        human_duration(s.duration)
    )?;
    let user = s.user.as_ref().map_or("-".to_string(), |u| escape(&u.0));
    let login = match s.login {
        crate::model::Login::Ok => "ok",
        crate::model::Login::Failed => "failed",
        crate::model::Login::None => "none",
    };
    write!(
        out,
        "  user {user}, login {login}, TYPE {} MODE {} STRU {}",
        escape_str(&s.type_),
        escape_str(&s.mode),
        escape_str(&s.stru)
    )?;
    if let Some(c) = &s.cwd {
        write!(out, ", cwd {}", escape(&c.0))?;
    }
    writeln!(out, ", closed: {}", s.closed)?;
    writeln!(out, "  capture covers: {}", coverage_line(s))?;
    if let Some(tls) = s.tls_description() {
        writeln!(out, "  {tls}")?;
    }
    if let Some(t) = s.tls_info.as_deref() {
        writeln!(out, "  TLS ({}): {}", t.mode, escape_str(&t.summary()))?;
    }
    if s.capture.mid_session {
        writeln!(
            out,
            "  {}",
            tr(
                lang,
                "capture starts mid-session: the connection's beginning is not in the capture",
                "抓包从会话中途开始：连接开头不在抓包中"
            )
        )?;
    }
    if let Some(sys) = &s.server_system {
        writeln!(out, "  server system: {}", escape(&sys.0))?;
    }
    // Evidence and remedies are in the diagnosis section; here one line each.
    for f in &s.findings {
        writeln!(
            out,
            "  {} {}: {}",
            sev_mark(f.severity),
            f.id,
            escape_str(&f.summary)
        )?;
    }
    writeln!(out, "  {}", tr(lang, "Transcript", "会话记录"))?;
    for ex in &s.exchanges {
        if let Some(c) = &ex.command {
            let mut line = format!("    {}  C> {}", tv.clock(c.ts), escape_str(&c.verb));
            if !c.arg.is_empty() {
                line.push(' ');
                line.push_str(&escape(&c.arg.0));
            }
            if c.telnet_interrupt {
                line.push_str("   [after Telnet IP/Synch]");
            }
            if c.unknown {
                line.push_str("   [unknown command]");
            }
            writeln!(out, "{line}")?;
            if opts.explain {
                // The explanation quotes the verb (or SITE's first word): escaped.
                writeln!(
                    out,
                    "                    {}",
                    escape_str(&crate::ftp::explain::command(&c.verb, &c.arg.0, lang))
                )?;
            }
            for n in &c.notes {
                writeln!(out, "                    note: {}", escape_str(n))?;
            }
        }
        for r in &ex.replies {
            let rt = r
                .response_time
                .map(|t| format!("   (+{})", human_duration(t)))
                .unwrap_or_default();
            let n = r.lines.len();
            for (i, l) in r.lines.iter().enumerate() {
                let prefix = if i == 0 {
                    format!("    {}  S< ", tv.clock(r.ts))
                } else {
                    "                  ".to_string()
                };
                let suffix = if i + 1 == n { rt.as_str() } else { "" };
                writeln!(out, "{prefix}{}{suffix}", escape(&l.0))?;
            }
            if opts.explain {
                writeln!(
                    out,
                    "                    = {}",
                    escape_str(&r.explanation(ex.command.as_ref(), s.server.ip(), lang))
                )?;
            }
            for n in &r.notes {
                writeln!(out, "                    note: {}", escape_str(n))?;
            }
        }
        if let Some(ci) = ex.data_channel {
            if let Some(d) = s.data_channels.get(ci) {
                writeln!(out, "                    data: {}", channel_line(d))?;
            }
        }
    }
    if let Some(t) = s.tls_info.as_deref().filter(|t| !t.record_log.is_empty()) {
        let more = if t.record_log.len() >= crate::model::tls::MAX_RECORD_LOG {
            format!("; the first {}", t.record_log.len())
        } else {
            String::new()
        };
        writeln!(
            out,
            "  Encrypted records on the control connection (sizes and times only{more})"
        )?;
        for r in &t.record_log {
            let arrow = if r.from == "client" { "C>" } else { "S<" };
            writeln!(
                out,
                "    {}  {arrow} {}-byte TLS record (likely a {})",
                tv.clock(r.ts),
                r.len,
                r.likely
            )?;
        }
    }
    if !s.data_channels.is_empty() {
        writeln!(out, "  {}", tr(lang, "Data connections", "数据连接"))?;
        for (i, d) in s.data_channels.iter().enumerate() {
            writeln!(out, "    #{} {}", i + 1, channel_line(d))?;
            let mut t = Vec::new();
            if let Some(x) = d.setup_time {
                t.push(format!("announce->SYN {}", human_duration(x)));
            }
            if let Some(x) = d.wait_first_byte {
                t.push(format!("150->first byte {}", human_duration(x)));
            }
            if let Some(x) = d.completion_lag {
                t.push(format!("last byte->226 {}", human_duration(x)));
            }
            if let Some(n) = d.expected_size {
                t.push(format!("announced size {n} B"));
            }
            if let Some(e) = &d.ended_by {
                t.push(format!("ended by {e}"));
            }
            if !t.is_empty() {
                writeln!(out, "       {}", t.join(", "))?;
            }
            if let Some(tcp) = d.tcp.as_deref() {
                writeln!(out, "       tcp: {}", tcp_line(tcp))?;
            }
            if let Some(t) = d.tls.as_deref() {
                writeln!(out, "       TLS: {}", escape_str(&t.summary()))?;
            }
            for n in &d.notes {
                writeln!(out, "       note: {}", escape_str(n))?;
            }
        }
    }
    let lim = &s.capture;
    if lim.gaps > 0 || lim.cut_bytes != [0, 0] {
        writeln!(
            out,
            "  capture: {} gaps ({} B from the client, {} B from the server missing), {} B cut by snaplen",
            lim.gaps,
            lim.gap_bytes[0],
            lim.gap_bytes[1],
            lim.cut_bytes[0] + lim.cut_bytes[1]
        )?;
    }
    if !s.summary.is_empty() {
        writeln!(
            out,
            "  {} ({})",
            tr(
                lang,
                "Counted, not kept (transcript budget spent)",
                "只计数未保留（会话记录预算已用完）"
            ),
            s.summarised()
        )?;
        for r in &s.summary {
            writeln!(out, "    {}", summary_row(r))?;
        }
    }
    if !s.anomalies.is_empty() {
        writeln!(out, "  {}", tr(lang, "Anomalies", "异常"))?;
        for a in &s.anomalies {
            writeln!(out, "    - {}", escape_str(a))?;
        }
    }
    Ok(())
}

/// One row of a session's summary: `NOOP -> 200  x 25000`.
pub fn summary_row(r: &crate::model::SummaryRow) -> String {
    let verb = r
        .verb
        .as_deref()
        .map_or("(no command)".to_string(), escape_str);
    let code = match r.code {
        Some(0) => "invalid reply".to_string(),
        Some(c) => c.to_string(),
        None => "no reply".to_string(),
    };
    format!("{verb} -> {code}  x {}", r.count)
}
