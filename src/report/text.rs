//! The text report: a diagnosis section, then every session with its transcript
//! and data connections. Every string from the wire goes through
//! [`crate::text::escape`] (so a line feed in it cannot forge a line), and every
//! public function writes through a [`SafeWriter`], so nothing it writes can carry
//! a control or invisible character even where an escape was forgotten.

use std::io::{self, Write};

use super::ViewOptions;
use crate::ftp::catalog::Lang;
use crate::i18n::{Ui, state};
use crate::model::{Capture, CaptureStats, DataChannel, Finding, Session, Severity};
use crate::text::{AddrText, SafeWriter, escape, escape_cow, escape_into, escape_str};
use crate::time::{HumanDuration, TimeView, human_bytes, human_duration};
use crate::{tr, tr_in};

fn sev_mark(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARN ",
        Severity::Info => "info ",
    }
}

/// One line describing a data connection.
pub fn channel_line(d: &DataChannel) -> String {
    channel_line_in(d, Lang::En)
}

/// Listing entries shown under a data channel (all are in the JSON).
const LISTING_SHOWN: usize = 12;

/// A parsed directory listing: what it was, then its first entries as a table.
fn write_listing(
    out: &mut dyn Write,
    l: &crate::ftp::listing::Listing,
    lang: Lang,
) -> io::Result<()> {
    let mut rows = listing_rows(l, lang, LISTING_SHOWN).into_iter();
    if let Some(head) = rows.next() {
        writeln!(out, "       {head}")?;
    }
    for r in rows {
        writeln!(out, "         {r}")?;
    }
    Ok(())
}

/// A listing as lines (escaped): what it was, up to `max` entries as a table
/// (kind, size, date, name), and how many more there are. The text report and the
/// terminal UI show these.
pub fn listing_rows(l: &crate::ftp::listing::Listing, lang: Lang, max: usize) -> Vec<String> {
    use crate::ftp::listing::{EntryKind, ListingFormat};
    let f = match l.format {
        ListingFormat::Unix => "ls -l",
        ListingFormat::Dos => "DOS/IIS",
        ListingFormat::Mlsd => "MLSD",
        ListingFormat::Names => "NLST",
    };
    let n = l.total;
    let mut head = tr!("listing ({f}): {n} entries", "目录列表（{f}）：{n} 项");
    if l.unreadable > 0 {
        let u = l.unreadable;
        head.push(&tr!(", {u} unreadable lines", "，{u} 行无法解析"));
    }
    let mut rows = vec![head.get(lang).to_string()];
    for e in l.entries.iter().take(max) {
        if l.format == ListingFormat::Names {
            rows.push(escape_str(&e.name));
            continue;
        }
        let kind = match e.kind {
            EntryKind::Dir => "d",
            EntryKind::Link => "l",
            EntryKind::File => "-",
            EntryKind::Other => "?",
            EntryKind::Unknown => " ",
        };
        let size = e.size.map(|s| s.to_string()).unwrap_or_default();
        let when = escape_str(e.modified.as_deref().unwrap_or(""));
        rows.push(format!(
            "{kind} {size:>12} {when:<20} {}",
            escape_str(&e.name)
        ));
    }
    let shown = l.entries.len().min(max) as u64;
    if l.total > shown {
        let more = l.total - shown;
        rows.push(tr_in!(lang, "... {more} more", "……另有 {more} 项"));
    }
    rows
}

/// [`channel_line`] in `lang`.
pub fn channel_line_in(d: &DataChannel, lang: Lang) -> String {
    use std::fmt::Write as _;
    let via = state(d.via.as_str(), lang);
    let outcome = state(d.outcome.as_str(), lang);
    let mut s = String::with_capacity(160);
    let _ = match d.announced {
        Some(a) => write!(s, "{via} {} {outcome}", AddrText::new(&a).as_str()),
        // Nothing announced it in the capture: no address to show.
        None if d.via == crate::model::Via::Unseen => write!(s, "{via}, {outcome}"),
        None => write!(s, "{via} ? {outcome}"),
    };
    if let Some(r) = d
        .rejected_by
        .filter(|_| d.outcome == crate::model::Outcome::Refused)
    {
        let words = crate::diagnose::icmp::reason_words(&r);
        let (words, from) = (words.get(lang), r.from);
        s.push_str(&tr_in!(
            lang,
            " (ICMP {words} from {from})",
            "（来自 {from} 的 ICMP {words}）"
        ));
    }
    if let Some(c) = &d.command {
        let c = escape_str(c);
        s.push_str(&tr_in!(lang, " for {c}", "，用于 {c}"));
        if let Some(a) = &d.arg {
            if !a.is_empty() {
                let _ = write!(s, " {}", escape(&a.0));
            }
        }
    }
    if d.bytes > 0 || d.outcome == crate::model::Outcome::Completed {
        let _ = write!(s, ", {} ({} B)", human_bytes(d.bytes), d.bytes);
        if let Some(dir) = d.direction {
            let _ = write!(s, " {}", state(dir.as_str(), lang));
        }
    }
    if let (Some(a), Some(b)) = (d.first_byte, d.last_byte) {
        let t = human_duration(a.secs_until(b));
        s.push_str(&tr_in!(lang, " in {t}", "，用时 {t}"));
    }
    if let Some(t) = d.throughput {
        let _ = write!(s, ", {}/s", human_bytes(t as u64));
    }
    if d.syns > 1 {
        let n = d.syns;
        s.push_str(&tr_in!(lang, ", {n} SYNs", "，{n} 个 SYN"));
    }
    if let (Some(c), Some(l)) = (d.connector, d.listener) {
        let _ = write!(
            s,
            " [{} -> {}",
            AddrText::new(&c).as_str(),
            AddrText::new(&l).as_str()
        );
        if let Some(m) = d.match_kind {
            let m = match m {
                crate::model::MatchKind::Exact => Ui::AsAnnounced,
                crate::model::MatchKind::ServerControlAddress => Ui::MatchedServerControl,
                crate::model::MatchKind::ClientControlAddress => Ui::MatchedClientControl,
                crate::model::MatchKind::PortOnly => Ui::MatchedPortOnly,
                crate::model::MatchKind::Timing if d.via == crate::model::Via::Unseen => {
                    Ui::MatchedPeers
                }
                crate::model::MatchKind::Timing => Ui::MatchedTiming,
            };
            let _ = write!(s, ", {}", m.text(lang));
        }
        s.push(']');
    }
    s
}

/// A data connection's TCP figures in one line: what is unusual, plus the round trip
/// and what the handshake negotiated.
pub fn tcp_line(t: &crate::model::TcpFigures) -> String {
    tcp_line_in(t, Lang::En)
}

/// [`tcp_line`] in `lang`.
pub fn tcp_line_in(t: &crate::model::TcpFigures, lang: Lang) -> String {
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
        (c, s) => {
            let (c, s) = (
                c.map_or("-".into(), |x| x.to_string()),
                s.map_or("-".into(), |x| x.to_string()),
            );
            p.push(tr_in!(
                lang,
                "wscale {c}/{s} (scaling off)",
                "wscale {c}/{s}（未启用窗口缩放）"
            ))
        }
    }
    let lost = t.retransmissions + t.spurious_retransmissions;
    if lost > 0 {
        let b = human_bytes(t.retransmitted_bytes);
        p.push(tr_in!(
            lang,
            "{lost} retransmitted ({b})",
            "重传 {lost} 次（{b}）"
        ));
    }
    if t.duplicate_acks > 0 {
        let n = t.duplicate_acks;
        p.push(tr_in!(lang, "{n} dup ACKs", "{n} 个重复 ACK"));
    }
    if t.out_of_order > 0 {
        let n = t.out_of_order;
        p.push(tr_in!(lang, "{n} out of order", "{n} 个乱序"));
    }
    if t.zero_window.episodes > 0 {
        let (n, d) = (
            t.zero_window.episodes,
            human_duration(t.zero_window.total_s),
        );
        p.push(tr_in!(
            lang,
            "zero window {n}x for {d}",
            "零窗口 {n} 次，共 {d}"
        ));
    }
    if let (Some(f), Some(w)) = (t.bytes_in_flight.median, t.receive_window.median) {
        let (f, w) = (human_bytes(f), human_bytes(w));
        p.push(if t.window_scaling.is_none() {
            // Without both SYNs the scale is unknown: the window as advertised.
            tr_in!(
                lang,
                "in flight {f} of window {w} (median; unscaled, the handshake with its scale is not in the capture)",
                "在途 {f}，窗口 {w}（中位数；未缩放，抓包中没有带缩放因子的握手）"
            )
        } else {
            tr_in!(
                lang,
                "in flight {f} of window {w} (median)",
                "在途 {f}，窗口 {w}（中位数）"
            )
        });
    }
    if t.idle.episodes > 0 {
        let (d, n) = (human_duration(t.idle.total_s), t.idle.episodes);
        p.push(tr_in!(
            lang,
            "sender idle {d} in {n} pauses",
            "发送方空闲 {d}，暂停 {n} 次"
        ));
    }
    if p.is_empty() && t.data_segments > 0 {
        // Data, but nothing else to say of it (no handshake, too few ACKs).
        let n = t.data_segments;
        p.push(tr_in!(
            lang,
            "{n} data segment(s), no handshake",
            "{n} 个数据分段，无握手"
        ));
    }
    if p.is_empty() {
        p.push(Ui::NoTcpSeen.text(lang).into());
    }
    p.join(", ")
}

/// ` (LINKTYPE 147, 148)`: the unsupported link types met, or nothing.
pub fn link_types(st: &CaptureStats) -> String {
    if st.unsupported_link_types.is_empty() {
        return String::new();
    }
    let types: Vec<String> = st
        .unsupported_link_types
        .iter()
        .map(u32::to_string)
        .collect();
    format!(" (LINKTYPE {})", types.join(", "))
}

/// What the capture covers of a session, in one line (text report and TUI header).
pub fn coverage_line(s: &Session) -> String {
    coverage_line_in(s, Lang::En)
}

/// [`coverage_line`] in `lang`.
pub fn coverage_line_in(s: &Session, lang: Lang) -> String {
    use crate::model::DataVisibility;
    let c = &s.coverage;
    let mut parts = Vec::new();
    parts.push(if c.control_handshake {
        let n = c.control_syns;
        let syns = if n > 1 {
            tr!(", {n} SYNs", "，{n} 个 SYN")
        } else {
            Default::default()
        };
        let answer = state(c.control_answer.as_str(), lang);
        tr!(
            "control handshake seen ({answer}{syns})",
            "看到控制连接握手（{answer}{syns}）";
            syns = syns
        )
        .get(lang)
        .to_string()
    } else {
        Ui::NoControlHandshake.text(lang).to_string()
    });
    let (cp, sp) = (c.client_packets, c.server_packets);
    parts.push(tr_in!(
        lang,
        "{cp} packets from the client, {sp} from the server",
        "客户端 {cp} 个包，服务器 {sp} 个包"
    ));
    parts.push(
        match (c.greeting, c.login) {
            (true, true) => Ui::GreetingAndLogin,
            (true, false) => Ui::GreetingNoLogin,
            (false, true) => Ui::LoginNoGreeting,
            (false, false) => Ui::NoGreetingOrLogin,
        }
        .text(lang)
        .to_string(),
    );
    parts.push(match c.data_visible {
        _ if s.data_channels.is_empty() => Ui::NoDataAnnounced.text(lang).to_string(),
        DataVisibility::Seen => {
            let (n, h) = (c.data_connections, c.data_handshakes);
            tr_in!(
                lang,
                "{n} data connection(s) in the capture ({h} with handshake)",
                "抓包中有 {n} 个数据连接（{h} 个有握手）"
            )
        }
        DataVisibility::Likely => Ui::NoDataThoughOther.text(lang).to_string(),
        DataVisibility::Unknown => Ui::ControlOnly.text(lang).to_string(),
    });
    if c.duplicates > 0 {
        let n = c.duplicates;
        parts.push(tr_in!(
            lang,
            "{n} duplicate packets counted once",
            "{n} 个重复包只计一次"
        ));
    }
    parts.join(if lang == Lang::Zh { "；" } else { "; " })
}

pub fn write_finding(out: &mut dyn Write, f: &Finding, indent: &str) -> io::Result<()> {
    write_finding_at(out, f, indent, TimeView::Utc, Lang::En)
}

/// [`write_finding`] with times shown as `tv` says (`--time`), in `lang`.
pub fn write_finding_at(
    out: &mut dyn Write,
    f: &Finding,
    indent: &str,
    tv: TimeView,
    lang: Lang,
) -> io::Result<()> {
    let out = &mut SafeWriter::new(out);
    writeln!(
        out,
        "{indent}{} {}: {}",
        sev_mark(f.severity),
        f.id,
        escape_str(f.summary.get(lang))
    )?;
    for e in &f.evidence {
        let at = match (e.frame, e.ts) {
            (Some(fr), Some(ts)) if fr > 0 => format!(
                "{} {}, {}: ",
                Ui::Frame.text(lang),
                crate::capture::merge::FrameLabel(fr),
                tv.clock(ts).trim()
            ),
            (_, Some(ts)) => format!("{}: ", tv.clock(ts).trim()),
            _ => String::new(),
        };
        writeln!(
            out,
            "{indent}      {}: {at}{}",
            Ui::Evidence.text(lang),
            escape_str(e.what.get(lang))
        )?;
    }
    if !f.remedy.is_empty() {
        writeln!(
            out,
            "{indent}      {}: {}",
            Ui::Fix.text(lang),
            escape_str(f.remedy.get(lang))
        )?;
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
    let name = escape_str(name);
    writeln!(
        out,
        "{}",
        tr!("ftpscope report: {name}", "ftpscope 报告：{name}").get(lang)
    )?;
    let (p, c, n) = (st.packets, st.tcp_connections, sum.sessions);
    let pl = |k: usize| if k == 1 { "" } else { "s" };
    let (sn, cn, fname) = (pl(n), pl(chans), pl(findings));
    writeln!(
        out,
        "  {}",
        tr!(
            "{p} packets, {c} TCP connections, {n} FTP session{sn}, {chans} data channel{cn}, {findings} finding{fname}",
            "{p} 个包，{c} 条 TCP 连接，{n} 个 FTP 会话，{chans} 个数据连接，{findings} 条发现"
        )
        .get(lang)
    )?;
    if let (Some(a), Some(b)) = (st.first, st.last) {
        let (a, b, d) = (tv.full(a), tv.full(b), human_duration(a.secs_until(b)));
        writeln!(
            out,
            "  {}",
            tr!("from {a} to {b} ({d})", "从 {a} 到 {b}（{d}）").get(lang)
        )?;
    }
    if let Some(e) = &st.read_error {
        let e = escape_str(e);
        writeln!(
            out,
            "  {}",
            tr!(
                "WARNING: the capture file is damaged: {e}; everything before that point was analysed",
                "警告：抓包文件已损坏：{e}；该位置之前的内容均已分析"
            )
            .get(lang)
        )?;
    }
    if st.sessions_evicted > 0 {
        let (n, max) = (st.sessions_evicted, crate::session::MAX_OPEN_SESSIONS);
        writeln!(
            out,
            "  {}",
            tr!(
                "WARNING: {n} sessions were set aside before they ended: more than {max} were open at once (each is reported as it was, closed \"evicted\")",
                "警告：{n} 个会话在结束前被移出：同时打开的会话超过 {max} 个（每个按当时的状态报告，关闭方式为 \"evicted\"）"
            )
            .get(lang)
        )?;
    }
    if st.truncated_packets > 0 {
        let n = st.truncated_packets;
        writeln!(
            out,
            "  {}",
            tr!(
                "note: {n} packets were cut by the capture's snaplen",
                "注：{n} 个包被抓包的 snaplen 截断"
            )
            .get(lang)
        )?;
    }
    if st.malformed > 0 || st.unsupported_link > 0 {
        let (m, u) = (st.malformed, st.unsupported_link);
        let note = tr!(
            "note: {m} malformed packets, {u} packets of an unsupported link type",
            "注：{m} 个畸形包，{u} 个不支持的链路类型的包"
        );
        writeln!(out, "  {}{}", note.get(lang), link_types(st))?;
    }
    if sum.sessions == 0 {
        writeln!(out)?;
        writeln!(out, "{}", Ui::NoFtpSession.text(lang))?;
        // What the capture holds of FTP without a session (a data connection
        // whose control connection is missing) still says something.
        if !sum.capture_findings.is_empty() {
            writeln!(out)?;
            writeln!(out, "{}", Ui::Diagnosis.text(lang))?;
            for f in &sum.capture_findings {
                write_finding_at(out, f, "  ", tv, lang)?;
            }
        }
        return Ok(());
    }
    // Diagnosis first: it is why people open a capture.
    writeln!(out)?;
    writeln!(out, "{}", Ui::Diagnosis.text(lang))?;
    if findings == 0 {
        writeln!(out, "  {}", Ui::NoProblemFound.text(lang))?;
    }
    for f in &sum.capture_findings {
        write_finding_at(out, f, "  ", tv, lang)?;
    }
    for (id, f) in &sum.findings {
        write!(out, "  [{} {id}] ", Ui::SessionLower.text(lang))?;
        write_finding_at(out, f, "", tv, lang)?;
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
    // Rendered into memory, then escaped and handed on in one write: each piece of
    // each `write!` going down the writer chain on its own cost more than the text.
    let mut buf = Vec::with_capacity(4096);
    render_session(&mut buf, s, opts, tv)?;
    SafeWriter::new(out).write_all(&buf)
}

fn render_session(
    out: &mut Vec<u8>,
    s: &Session,
    opts: ViewOptions,
    tv: TimeView,
) -> io::Result<()> {
    let lang = opts.lang;
    writeln!(
        out,
        "{} {}  {} -> {}  {}  {}",
        Ui::Session.text(lang),
        s.id,
        s.client,
        s.server,
        tv.full(s.start),
        human_duration(s.duration)
    )?;
    let user = s.user.as_ref().map_or("-".to_string(), |u| escape(&u.0));
    let login = s.login_word();
    write!(
        out,
        "  {} {user}, {} {}, TYPE {} MODE {} STRU {}",
        Ui::User.text(lang),
        Ui::Login.text(lang),
        state(login, lang),
        escape_str(&s.type_),
        escape_str(&s.mode),
        escape_str(&s.stru)
    )?;
    if let Some(c) = &s.cwd {
        write!(out, ", {} {}", Ui::Cwd.text(lang), escape(&c.0))?;
    }
    writeln!(
        out,
        ", {}: {}",
        Ui::Closed.text(lang),
        state(s.closed.as_str(), lang)
    )?;
    writeln!(
        out,
        "  {}: {}",
        Ui::CaptureCovers.text(lang),
        coverage_line_in(s, lang)
    )?;
    if let Some(tls) = s.tls_description_in(lang) {
        writeln!(out, "  {tls}")?;
    }
    if let Some(t) = s.tls_info.as_deref() {
        writeln!(
            out,
            "  TLS ({}): {}",
            state(t.mode, lang),
            escape_str(&t.summary_in(lang))
        )?;
    }
    if s.capture.mid_session {
        writeln!(out, "  {}", Ui::MidSession.text(lang))?;
    }
    if let Some(sys) = &s.server_system {
        writeln!(out, "  {}: {}", Ui::ServerSystem.text(lang), escape(&sys.0))?;
    }
    // Evidence and remedies are in the diagnosis section; here one line each.
    for f in &s.findings {
        writeln!(
            out,
            "  {} {}: {}",
            sev_mark(f.severity),
            f.id,
            escape_str(f.summary.get(lang))
        )?;
    }
    writeln!(out, "  {}", Ui::Transcript.text(lang))?;
    for ex in &s.exchanges {
        if let Some(c) = &ex.command {
            write!(out, "    {}  C> {}", tv.clock(c.ts), escape_cow(&c.verb))?;
            if !c.arg.is_empty() {
                out.push(b' ');
                escape_into(out, &c.arg.0);
            }
            if c.telnet_interrupt {
                out.extend_from_slice(b"   ");
                out.extend_from_slice(Ui::AfterTelnetIp.text(lang).as_bytes());
            }
            if c.unknown {
                out.extend_from_slice(b"   ");
                out.extend_from_slice(Ui::UnknownCommand.text(lang).as_bytes());
            }
            out.push(b'\n');
            if opts.explain {
                // The explanation quotes the verb (or SITE's first word): escaped.
                writeln!(
                    out,
                    "                    {}",
                    escape_cow(&crate::ftp::explain::command(&c.verb, &c.arg.0, lang))
                )?;
            }
            for n in &c.notes {
                writeln!(
                    out,
                    "                    {}: {}",
                    Ui::Note.text(lang),
                    escape_str(n.get(lang))
                )?;
            }
        }
        for r in &ex.replies {
            let n = r.lines.len();
            for (i, l) in r.lines.iter().enumerate() {
                if i == 0 {
                    write!(out, "    {}  S< ", tv.clock(r.ts))?;
                } else {
                    out.extend_from_slice(b"                  ");
                }
                escape_into(out, &l.0);
                if let Some(t) = r.response_time.filter(|_| i + 1 == n) {
                    write!(out, "   (+{})", HumanDuration(t))?;
                }
                out.push(b'\n');
            }
            if opts.explain {
                writeln!(
                    out,
                    "                    = {}",
                    escape_cow(&r.explanation(ex.command.as_ref(), s.server.ip(), lang))
                )?;
            }
            for n in &r.notes {
                writeln!(
                    out,
                    "                    {}: {}",
                    Ui::Note.text(lang),
                    escape_str(n.get(lang))
                )?;
            }
        }
        if let Some(ci) = ex.data_channel {
            if let Some(d) = s.data_channels.get(ci) {
                writeln!(
                    out,
                    "                    {}: {}",
                    Ui::Data.text(lang),
                    channel_line_in(d, lang)
                )?;
            }
        }
    }
    if let Some(t) = s.tls_info.as_deref().filter(|t| !t.record_log.is_empty()) {
        let n = t.record_log.len();
        let more = if n >= crate::model::tls::MAX_RECORD_LOG {
            tr!("; the first {n}", "；前 {n} 条")
        } else {
            Default::default()
        };
        writeln!(
            out,
            "  {}",
            tr!(
                "Encrypted records on the control connection (sizes and times only{more})",
                "控制连接上的加密记录（只有大小和时间{more}）";
                more = more
            )
            .get(lang)
        )?;
        for r in &t.record_log {
            let arrow = if r.from == "client" { "C>" } else { "S<" };
            let (len, likely) = (r.len, r.likely);
            writeln!(
                out,
                "    {}  {arrow} {}",
                tv.clock(r.ts),
                tr!(
                    "{len}-byte TLS record (likely a {likely})",
                    "{len} 字节的 TLS 记录（可能是 {likely}）"
                )
                .get(lang)
            )?;
        }
    }
    if !s.data_channels.is_empty() {
        writeln!(out, "  {}", Ui::DataConnections.text(lang))?;
        for (i, d) in s.data_channels.iter().enumerate() {
            writeln!(out, "    #{} {}", i + 1, channel_line_in(d, lang))?;
            let mut t = Vec::new();
            if let Some(x) = d.setup_time {
                let x = human_duration(x);
                t.push(tr!("announce->SYN {x}", "通告->SYN {x}"));
            }
            if let Some(x) = d.wait_first_byte {
                let x = human_duration(x);
                t.push(tr!("150->first byte {x}", "150->首字节 {x}"));
            }
            if let Some(x) = d.completion_lag {
                if x < 0.0 {
                    // The 226 reached the capture point before the last data.
                    let x = human_duration(-x);
                    t.push(tr!("226 {x} before the last byte", "226 比末字节早 {x}"));
                } else {
                    let x = human_duration(x);
                    t.push(tr!("last byte->226 {x}", "末字节->226 {x}"));
                }
            }
            if let Some(n) = d.expected_size {
                t.push(tr!("announced size {n} B", "通告大小 {n} B"));
            }
            if let Some(e) = &d.ended_by {
                let e = state(e.as_str(), lang);
                t.push(tr!("ended by {e}", "结束方式 {e}"));
            }
            if !t.is_empty() {
                let t: Vec<&str> = t.iter().map(|x| x.get(lang)).collect();
                writeln!(out, "       {}", t.join(", "))?;
            }
            if let Some(tcp) = d.tcp.as_deref() {
                writeln!(out, "       tcp: {}", tcp_line_in(tcp, lang))?;
            }
            if let Some(t) = d.tls.as_deref() {
                writeln!(out, "       TLS: {}", escape_str(&t.summary_in(lang)))?;
            }
            if let Some(x) = d.extracted.as_deref() {
                let (p, n, k) = (escape_str(&x.path), x.size, x.kind);
                let c = state(x.completeness.as_str(), lang);
                let h = &x.sha256[..16.min(x.sha256.len())];
                let mut line = tr!(
                    "extracted: {p} ({n} B, {k}, {c}, sha256 {h}...)",
                    "已提取：{p}（{n} B，{k}，{c}，sha256 {h}...）"
                );
                if x.offset > 0 {
                    let o = x.offset;
                    line.push(&tr!(", from offset {o} (REST)", "，自偏移 {o} 起（REST）"));
                }
                if let Some(le) = x.line_ends {
                    let (a, b, c) = (le.crlf, le.bare_lf, le.bare_cr);
                    line.push(&tr!(
                        ", TYPE A line ends: {a} CRLF, {b} bare LF, {c} bare CR",
                        "，TYPE A 行尾：{a} 个 CRLF，{b} 个单独 LF，{c} 个单独 CR"
                    ));
                    if x.converted {
                        line.push(&tr!(" (written as LF)", "（以 LF 写入）"));
                    }
                }
                if let Some(e) = &x.error {
                    let e = escape_str(e);
                    line.push(&tr!("; write error: {e}", "；写入错误：{e}"));
                }
                writeln!(out, "       {}", line.get(lang))?;
            }
            if let Some(l) = d.listing.as_deref() {
                write_listing(out, l, lang)?;
            }
            for n in &d.notes {
                writeln!(
                    out,
                    "       {}: {}",
                    Ui::Note.text(lang),
                    escape_str(n.get(lang))
                )?;
            }
        }
    }
    let lim = &s.capture;
    if lim.gaps > 0 || lim.cut_bytes != [0, 0] {
        let (g, c, sv, cut) = (
            lim.gaps,
            lim.gap_bytes[0],
            lim.gap_bytes[1],
            lim.cut_bytes[0] + lim.cut_bytes[1],
        );
        writeln!(
            out,
            "  {}",
            tr!(
                "capture: {g} gaps ({c} B from the client, {sv} B from the server missing), {cut} B cut by snaplen",
                "抓包：{g} 处缺口（缺少客户端 {c} B、服务器 {sv} B），{cut} B 被 snaplen 截断"
            )
            .get(lang)
        )?;
    }
    if !s.summary.is_empty() {
        writeln!(
            out,
            "  {} ({})",
            Ui::CountedNotKept.text(lang),
            s.summarised()
        )?;
        for r in &s.summary {
            writeln!(out, "    {}", summary_row_in(r, lang))?;
        }
    }
    if !s.anomalies.is_empty() {
        writeln!(out, "  {}", Ui::Anomalies.text(lang))?;
        for a in &s.anomalies {
            writeln!(out, "    - {}", escape_str(a.get(lang)))?;
        }
    }
    Ok(())
}

/// One row of a session's summary: `NOOP -> 200  x 25000`.
pub fn summary_row(r: &crate::model::SummaryRow) -> String {
    summary_row_in(r, Lang::En)
}

/// [`summary_row`] in `lang`.
pub fn summary_row_in(r: &crate::model::SummaryRow, lang: Lang) -> String {
    let verb = r
        .verb
        .as_deref()
        .map_or(Ui::NoCommand.text(lang).to_string(), escape_str);
    let code = match r.code {
        Some(0) => Ui::InvalidReply.text(lang).to_string(),
        Some(c) => c.to_string(),
        None => Ui::NoReply.text(lang).to_string(),
    };
    format!("{verb} -> {code}  x {}", r.count)
}
