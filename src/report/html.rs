//! The HTML report: one self-contained page to attach to a ticket.
//!
//! Built with `maud`: templates are Rust code checked at compile time, and every
//! value spliced into them is HTML-escaped unless marked otherwise (nothing from
//! the wire ever is), which is the property an injection-proof report needs most;
//! it has no runtime template files to ship or find. Bytes from the wire go through
//! `text::escape` first (control characters shown as escapes), then maud's HTML
//! escaping. The page has no external resource: inline CSS, inline SVG, a few lines
//! of inline script allowed by its hash in a Content-Security-Policy that forbids
//! everything else. Everything is readable with JavaScript off.
//!
//! Memory stays bounded: the first [`MAX_FULL_SESSIONS`] sessions (or the one asked
//! with `--session N`) are kept whole; the others only as a row of the index.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use crate::ftp::catalog::Lang;
use crate::i18n::{Tr, Ui, state};
use crate::model::{CaptureStats, Finding, Session, Severity};
use crate::report::ladder::{self, Ladder, ROW};
use crate::text::{escape, escape_str};
use crate::time::{TimeView, Ts, human_bytes, human_duration};
use crate::tr;

/// Sessions drawn in full at most; the others are listed in the index with a note.
pub const MAX_FULL_SESSIONS: usize = 200;
/// The sessions drawn in full stop there (an estimate of their HTML), so that the
/// page stays under about 2 MB whatever the capture.
pub const FULL_SESSIONS_BUDGET: usize = 1_400_000;

/// About how many bytes of HTML a session drawn in full takes: its transcript
/// (with explanations) and its ladder.
fn estimate(s: &Session) -> usize {
    let lines: usize = s
        .exchanges
        .iter()
        .map(|e| usize::from(e.command.is_some()) + e.replies.len())
        .sum();
    2_000 + lines * 620 + s.data_channels.len() * 900
}
/// Rows of the session index at most (the rest are counted).
pub const MAX_INDEX_ROWS: usize = 5_000;
/// Finding cards at most (the rest are counted).
pub const MAX_CARDS: usize = 500;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// One row of the session index.
#[derive(Debug, Clone)]
struct IndexRow {
    id: usize,
    client: String,
    server: String,
    user: String,
    worst: Option<Severity>,
    findings: usize,
    transfers: usize,
    bytes: u64,
    start: Ts,
    full: bool,
}

/// Collects sessions as they end, then writes the page.
pub struct Builder {
    title: String,
    only: Option<usize>,
    time: TimeView,
    /// The page's languages: the first is shown; more than one adds a switch.
    langs: Vec<Lang>,
    full: Vec<Session>,
    index: Vec<IndexRow>,
    cards: Vec<(Option<usize>, Finding)>,
    more_cards: usize,
    /// Estimated HTML of the sessions kept whole.
    spent: usize,
    /// Sessions beyond the index's rows.
    more_rows: usize,
}

impl Builder {
    /// `only`: draw just this session in full (`--session N`).
    pub fn new(title: &str, only: Option<usize>, time: TimeView) -> Builder {
        Builder {
            title: title.to_string(),
            only,
            time,
            langs: vec![Lang::En],
            full: Vec::new(),
            index: Vec::new(),
            cards: Vec::new(),
            more_cards: 0,
            spent: 0,
            more_rows: 0,
        }
    }

    /// The page's language (`--lang`); English by default.
    pub fn lang(mut self, lang: Lang) -> Builder {
        self.langs = vec![lang];
        self
    }

    /// The page in several languages (`--lang en,zh`): the text of each, the first
    /// shown, and a switch between them. Call before adding sessions: each
    /// language has its share of the size budget.
    pub fn langs(mut self, langs: &[Lang]) -> Builder {
        let mut v: Vec<Lang> = Vec::new();
        for l in langs {
            if !v.contains(l) {
                v.push(*l);
            }
        }
        if !v.is_empty() {
            self.langs = v;
        }
        self
    }

    pub fn add(&mut self, s: Session) {
        let cost = estimate(&s);
        let keep = match self.only {
            Some(n) => s.id == n,
            None => {
                self.full.len() < MAX_FULL_SESSIONS
                    && (self.full.is_empty()
                        || self.spent + cost <= FULL_SESSIONS_BUDGET / self.langs.len().max(1))
            }
        };
        if keep {
            self.spent += cost;
        }
        for f in &s.findings {
            if self.cards.len() < MAX_CARDS {
                self.cards.push((Some(s.id), f.clone()));
            } else {
                self.more_cards += 1;
            }
        }
        if self.index.len() >= MAX_INDEX_ROWS && !keep {
            self.more_rows += 1;
            return;
        }
        self.index.push(IndexRow {
            id: s.id,
            client: s.client.to_string(),
            server: s.server.to_string(),
            user: s.user.as_ref().map_or("-".into(), |u| escape(&u.0)),
            worst: s.findings.iter().map(|f| f.severity).max(),
            findings: s.findings.len(),
            transfers: s.data_channels.iter().filter(|d| d.bytes > 0).count(),
            bytes: s.data_channels.iter().map(|d| d.bytes).sum(),
            start: s.start,
            full: keep,
        });
        if keep {
            self.full.push(s);
        }
    }

    /// The session numbered `n` is drawn in full.
    pub fn has_session(&self, n: usize) -> bool {
        self.full.iter().any(|s| s.id == n)
    }

    /// The page's content in `lang`. `p` prefixes every id and link of this
    /// copy (a page in several languages holds one copy each).
    fn body(
        &self,
        lang: Lang,
        p: &str,
        cards: &[(Option<usize>, Finding)],
        pairs: &[(usize, usize)],
        stats: &CaptureStats,
    ) -> Markup {
        let tv = self.time;
        let clock = move |t: Ts| tv.clock(t).to_string();
        let more_cards = self.more_cards;
        let more_rows = self.more_rows;
        html! {
            header {
                h1 { (Ui::HtmlTitle.text(lang)) }
                p.file { (self.title) }
                (facts(stats, self.index.len() + self.more_rows, lang))
            }
            section id={ (p) "findings" } {
                h2 { (Ui::HtmlFindings.text(lang)) }
                @if cards.is_empty() {
                    p.ok { (Ui::HtmlNoProblem.text(lang)) }
                }
                @for (k, (sid, f)) in cards.iter().enumerate() {
                    (card(k, *sid, f, &self.full, &clock, lang, p))
                }
                @if more_cards > 0 {
                    p.note { (tr!("{more_cards} more findings are not shown as cards; see each session.", "另有 {more_cards} 条发现没有显示为卡片；请查看各个会话。").get(lang)) }
                }
            }
            section id={ (p) "sessions" } {
                h2 { (Ui::HtmlSessions.text(lang)) }
                p.noprint {
                    label for={ (p) "filter" } { (Ui::HtmlFilter.text(lang)) ": " }
                    input id={ (p) "filter" } type="search" placeholder=(Ui::HtmlFilterHint.text(lang)) autocomplete="off";
                    " "
                    button id={ (p) "toggle" } type="button" data-collapse=(Ui::HtmlCollapse.text(lang)) data-expand=(Ui::HtmlExpand.text(lang)) { (Ui::HtmlCollapse.text(lang)) }
                }
                table.index {
                    thead { tr { th { "#" } th { (Ui::HtmlClient.text(lang)) } th { (Ui::HtmlServer.text(lang)) } th { (Ui::User.text(lang)) } th { (Ui::HtmlFindingsCol.text(lang)) } th { (Ui::HtmlTransfers.text(lang)) } th { (Ui::HtmlBytes.text(lang)) } th { (Ui::HtmlStart.text(lang)) } } }
                    tbody {
                        @for r in &self.index {
                            (index_row(r, &clock, p))
                        }
                    }
                }
                @if more_rows > 0 {
                    p.note { (tr!("… and {more_rows} more sessions (the index lists {MAX_INDEX_ROWS}; use the JSON or text report for all).", "……另有 {more_rows} 个会话（索引最多列出 {MAX_INDEX_ROWS} 个；完整列表请用 JSON 或文本报告）。").get(lang)) }
                }
                @let partial = self.index.iter().filter(|r| !r.full).count();
                @if partial > 0 {
                    p.note { (tr!("{partial} sessions are listed here but not drawn, to keep the page small (about 2 MB at most); `ftpscope report --format html --session N` draws any one of them.", "{partial} 个会话只列出而没有绘制，以控制页面大小（最多约 2 MB）；`ftpscope report --format html --session N` 可以绘制其中任意一个。").get(lang)) }
                }
            }
            @for s in &self.full {
                (session(s, nat_view(s.id, pairs, &self.full), &clock, lang, p))
            }
            footer {
                @let v = env!("CARGO_PKG_VERSION");
                @let times = match tv {
                    TimeView::Utc => Tr::verbatim("UTC"),
                    TimeView::Local => tr!("local", "本地时间"),
                    TimeView::Relative(_) => tr!("seconds from the first packet", "相对第一个包的秒数"),
                };
                (tr!("Made by ftpscope {v}. Passwords are masked. Times: {times}.", "由 ftpscope {v} 生成。密码已遮蔽。时间：{times}。"; times = times).get(lang))
            }
        }
    }

    /// The whole page.
    pub fn finish(mut self, stats: &CaptureStats, capture_findings: &[Finding]) -> String {
        self.full.sort_by_key(|s| s.id);
        self.index.sort_by_key(|r| r.id);
        let mut cards: Vec<(Option<usize>, Finding)> = capture_findings
            .iter()
            .map(|f| (None, f.clone()))
            .chain(std::mem::take(&mut self.cards))
            .collect();
        cards.sort_by_key(|(s, f)| (std::cmp::Reverse(f.severity), *s));
        // Sessions seen on both sides of a NAT, when both halves are drawn.
        let pairs: Vec<(usize, usize)> = capture_findings
            .iter()
            .filter_map(crate::diagnose::vantage::pair)
            .filter(|(a, b)| self.has_session(*a) && self.has_session(*b))
            .collect();
        let first = self.langs[0];
        let many = self.langs.len() > 1;
        let page = html! {
            (DOCTYPE)
            html lang=(lang_tag(first)) {
                head {
                    meta charset="utf-8";
                    meta http-equiv="Content-Security-Policy" content=(csp());
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "ftpscope: " (self.title) }
                    style { (PreEscaped(CSS)) (PreEscaped(SVG_CSS)) @if many { (PreEscaped(switch_css(&self.langs))) } }
                }
                body {
                    @if many {
                        // The switch: radio buttons before the texts, so that the
                        // stylesheet alone shows the chosen one (no script needed;
                        // the first is checked, so the first language shows).
                        @for (i, l) in self.langs.iter().enumerate() {
                            input.langsel type="radio" name="lang" id={ "lang-" (lang_code(*l)) } checked[i == 0];
                        }
                        nav.langs.noprint aria-label="Language / 语言" {
                            @for l in &self.langs {
                                label for={ "lang-" (lang_code(*l)) } lang=(lang_tag(*l)) { (lang_name(*l)) }
                            }
                        }
                        @for (i, l) in self.langs.iter().enumerate() {
                            div class={ "l10n l-" (lang_code(*l)) } lang=(lang_tag(*l)) {
                                (self.body(*l, if i == 0 { "" } else { lang_prefix(*l) }, &cards, &pairs, stats))
                            }
                        }
                    } @else {
                        (self.body(first, "", &cards, &pairs, stats))
                    }
                    script { (PreEscaped(JS)) }
                }
            }
        };
        page.into_string()
    }
}

/// `lang` attribute of a language's text.
fn lang_tag(l: Lang) -> &'static str {
    match l {
        Lang::En => "en",
        Lang::Zh => "zh-Hans",
    }
}

fn lang_code(l: Lang) -> &'static str {
    match l {
        Lang::En => "en",
        Lang::Zh => "zh",
    }
}

/// Prefix of the ids in a second language's copy.
fn lang_prefix(l: Lang) -> &'static str {
    match l {
        Lang::En => "en-",
        Lang::Zh => "zh-",
    }
}

/// A language's name in itself, for the switch.
fn lang_name(l: Lang) -> &'static str {
    match l {
        Lang::En => "English",
        Lang::Zh => "中文",
    }
}

/// The switch's rules: every copy hidden but the one whose radio button is
/// checked (the first, until the reader picks another).
fn switch_css(langs: &[Lang]) -> String {
    let mut css = String::from(
        "input.langsel { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }\n\
         nav.langs { float: right; margin: 18px 0 0; }\n\
         nav.langs label { display: inline-block; padding: 2px 10px; border: 1px solid #9aa4b2; cursor: pointer; color: #33415c; }\n\
         nav.langs label + label { border-left: none; }\n\
         .l10n { display: none; }\n",
    );
    for l in langs {
        let c = lang_code(*l);
        css.push_str(&format!(
            "#lang-{c}:checked ~ .l-{c} {{ display: block; }}\n\
             #lang-{c}:checked ~ nav.langs label[for=lang-{c}] {{ background: #1f4fa8; color: #fff; }}\n\
             #lang-{c}:focus-visible ~ nav.langs label[for=lang-{c}] {{ outline: 2px solid #1f4fa8; }}\n"
        ));
    }
    css
}

/// The policy: nothing but the inline style, this page's script (by hash) and
/// inline images.
fn csp() -> String {
    let hash = Sha256::digest(JS.as_bytes());
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{}'; img-src data:; base-uri 'none'; form-action 'none'",
        base64(&hash)
    )
}

/// Standard base64 with padding.
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sev_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn facts(st: &CaptureStats, sessions: usize, lang: Lang) -> Markup {
    let span = match (st.first, st.last) {
        (Some(a), Some(b)) => {
            let (a, b, d) = (a.rfc3339(), b.rfc3339(), human_duration(a.secs_until(b)));
            tr!("{a} to {b} ({d})", "{a} 至 {b}（{d}）")
                .get(lang)
                .to_string()
        }
        _ => "-".into(),
    };
    let cut = st.truncated_packets;
    html! {
        dl.facts {
            dt { (Ui::HtmlPackets.text(lang)) } dd { (st.packets) " (" (human_bytes(st.bytes)) ")" }
            dt { (Ui::HtmlTcpConnections.text(lang)) } dd { (st.tcp_connections) }
            dt { (Ui::HtmlFtpSessions.text(lang)) } dd { (sessions) }
            dt { (Ui::HtmlTimeSpan.text(lang)) } dd { (span) }
            @if let Some(e) = &st.read_error {
                dt { (Ui::HtmlCaptureFile.text(lang)) } dd.bad { (escape_str(e)) }
            }
            @if cut > 0 {
                dt { "snaplen" } dd { (tr!("{cut} packets cut by the capture's snaplen", "{cut} 个包被抓包的 snaplen 截断").get(lang)) }
            }
        }
    }
}

fn card(
    k: usize,
    sid: Option<usize>,
    f: &Finding,
    full: &[Session],
    clock: &dyn Fn(Ts) -> String,
    lang: Lang,
    p: &str,
) -> Markup {
    let drawn = sid.is_some_and(|id| full.iter().any(|s| s.id == id));
    let sess = Ui::SessionLower.text(lang);
    html! {
        article class={ "card " (sev_name(f.severity)) } id={ (p) "f" (k) } data-finding=(f.id) {
            h3 {
                span.sev { (sev_name(f.severity).to_uppercase()) }
                " " code { (f.id) }
                @if f.count > 1 { " ×" (f.count) }
                @if let Some(id) = sid {
                    " — "
                    @if drawn { a href={ "#" (p) "s" (id) } { (sess) " " (id) } } @else { (sess) " " (id) }
                } @else { " — " (Ui::HtmlWholeCapture.text(lang)) }
            }
            p.summary { (escape_str(f.summary.get(lang))) }
            @if !f.evidence.is_empty() {
                ul.evidence {
                    @for e in &f.evidence {
                        li {
                            @let at = evidence_at(e, clock, lang);
                            @match (sid.filter(|_| drawn), e.exchange) {
                                (Some(id), Some(x)) => { a href={ "#" (p) "s" (id) "-e" (x) } { (at) } }
                                _ => { (at) }
                            }
                            @if !at.is_empty() { ": " }
                            (escape_str(e.what.get(lang)))
                        }
                    }
                }
            }
            p.fix { b { (Ui::HtmlFix.text(lang)) ": " } (escape_str(f.remedy.get(lang))) }
        }
    }
}

fn evidence_at(e: &crate::model::Evidence, clock: &dyn Fn(Ts) -> String, lang: Lang) -> String {
    let mut at = Vec::new();
    if let Some(fr) = e.frame {
        at.push(format!(
            "{} {}",
            Ui::Frame.text(lang),
            crate::capture::merge::FrameLabel(fr)
        ));
    }
    if let Some(t) = e.ts {
        at.push(clock(t));
    }
    at.join(", ")
}

fn index_row(r: &IndexRow, clock: &dyn Fn(Ts) -> String, p: &str) -> Markup {
    let mark = match r.worst {
        Some(s) => sev_name(s),
        None => "ok",
    };
    html! {
        tr class={ "row " (mark) } {
            td { @if r.full { a href={ "#" (p) "s" (r.id) } { (r.id) } } @else { (r.id) } }
            td { (r.client) }
            td { (r.server) }
            td { (r.user) }
            td { span class={ "mark " (mark) } { (mark) } " " (r.findings) }
            td.num { (r.transfers) }
            td.num { (human_bytes(r.bytes)) }
            td { (clock(r.start)) }
        }
    }
}

/// How a session's ladder is drawn when it is one half of a session seen on both
/// sides of a NAT.
enum NatView<'a> {
    Alone,
    /// The inside half: drawn with the outside one, through the NAT.
    Inside(&'a Session),
    /// The outside half: its own ladder, and a pointer to the combined one.
    Outside(usize),
}

fn nat_view<'a>(id: usize, pairs: &[(usize, usize)], full: &'a [Session]) -> NatView<'a> {
    for &(inside, outside) in pairs {
        if id == inside
            && let Some(o) = full.iter().find(|s| s.id == outside)
        {
            return NatView::Inside(o);
        }
        if id == outside {
            return NatView::Outside(inside);
        }
    }
    NatView::Alone
}

fn session(
    s: &Session,
    nat: NatView<'_>,
    clock: &dyn Fn(Ts) -> String,
    lang: Lang,
    p: &str,
) -> Markup {
    let ladder = match nat {
        NatView::Inside(o) => ladder::layout_nat(s, o, clock, lang),
        _ => ladder::layout(s, clock, lang),
    };
    let user = s.user.as_ref().map_or("-".to_string(), |u| escape(&u.0));
    let omitted = ladder.omitted;
    let meta = {
        let (start, lasted, ended) = (
            clock(s.start),
            human_duration(s.duration),
            state(s.closed.as_str(), lang),
        );
        tr!(
            ", started {start}, lasted {lasted}, ended: {ended}",
            "，开始于 {start}，持续 {lasted}，结束方式：{ended}"
        )
    };
    html! {
        section.session id={ (p) "s" (s.id) } {
            h2 { (Ui::Session.text(lang)) " " (s.id) ": " (s.client.to_string()) " → " (s.server.to_string()) }
            p.meta {
                (Ui::User.text(lang)) " " b { (user) } (meta.get(lang))
                @if let Some(t) = s.tls_description_in(lang) { br; (escape_str(&t)) }
                br; (Ui::CaptureCovers.text(lang)) ": " (crate::report::text::coverage_line_in(s, lang))
            }
            @if !s.findings.is_empty() {
                ul.sfindings {
                    @for f in &s.findings {
                        li class=(sev_name(f.severity)) { code { (f.id) } ": " (escape_str(f.summary.get(lang))) }
                    }
                }
            }
            figure.ladder {
                @match nat {
                    NatView::Inside(o) => { figcaption.nat { (tr!("One FTP session seen on both sides of a NAT: this session (inside) and ", "在 NAT 两侧看到的同一个 FTP 会话：本会话（内侧）与").get(lang)) a href={ "#" (p) "s" (o.id) } { (Ui::Session.text(lang)) " " (o.id) } (tr!(" (outside) drawn together; read a row across to see what the NAT changed.", "（外侧）画在一起；横向读一行即可看出 NAT 改动了什么。").get(lang)) } }
                    NatView::Outside(i) => { figcaption.nat { (tr!("This session is the outside half of ", "本会话是").get(lang)) a href={ "#" (p) "s" (i) } { (Ui::Session.text(lang)) " " (i) } (tr!(", drawn together with it through the NAT there.", "的外侧一半，在那里经由 NAT 与其画在一起。").get(lang)) } }
                    NatView::Alone => {}
                }
                (svg(&ladder, s.id, false, p))
                @if omitted > 0 {
                    figcaption { (tr!("{omitted} later exchanges are not drawn; the transcript below has them all.", "后面的 {omitted} 次交互没有绘制；下面的会话记录包含全部内容。").get(lang)) }
                }
            }
            @if !s.data_channels.is_empty() {
                h3 { (Ui::DataConnections.text(lang)) }
                table.data {
                    thead { tr { th { "#" } th { (Ui::HtmlVia.text(lang)) } th { (Ui::HtmlAnnounced.text(lang)) } th { (Ui::HtmlCommand.text(lang)) } th { (Ui::HtmlOutcome.text(lang)) } th { (Ui::HtmlBytes.text(lang)) } th { (Ui::HtmlTime.text(lang)) } th { (Ui::HtmlRate.text(lang)) } th { (Ui::HtmlConnection.text(lang)) } } }
                    tbody {
                        @for (i, d) in s.data_channels.iter().enumerate() {
                            tr id={ (p) "s" (s.id) "-d" (i) } {
                                td { (i + 1) }
                                td { (d.via.as_str()) }
                                td { (d.announced.map_or("?".into(), |a| a.to_string())) }
                                td { (d.command.as_deref().map_or("-".into(), escape_str)) @if let Some(a) = &d.arg { " " (escape(&a.0)) } }
                                td class={ "out " (d.outcome.as_str()) } { (state(d.outcome.as_str(), lang)) }
                                td.num { (human_bytes(d.bytes)) }
                                td.num { @if let (Some(a), Some(b)) = (d.first_byte, d.last_byte) { (human_duration(a.secs_until(b))) } @else { "-" } }
                                td { @if let Some(t) = d.tcp.as_deref() { (sparkline(&t.series.bytes)) " " (crate::report::text::tcp_line_in(t, lang)) } }
                                td { @if let (Some(c), Some(l)) = (d.connector, d.listener) { (c.to_string()) " → " (l.to_string()) } @else { "-" } }
                            }
                        }
                    }
                }
            }
            details.transcript open {
                summary { @let n = s.exchanges.len(); (tr!("Transcript ({n} exchanges)", "会话记录（{n} 次交互）").get(lang)) }
                ol.lines {
                    @for (ei, ex) in s.exchanges.iter().enumerate() {
                        li id={ (p) "s" (s.id) "-e" (ei) } {
                            @if let Some(c) = &ex.command {
                                div.cmd {
                                    span.t { (clock(c.ts)) } " C> " b { (escape_str(&c.verb)) } @if !c.arg.is_empty() { " " (escape(&c.arg.0)) }
                                }
                                div.expl { (escape_str(&crate::ftp::explain::command(&c.verb, &c.arg.0, lang))) }
                            }
                            @for r in &ex.replies {
                                div class={ "rep c" (r.code / 100) } {
                                    span.t { (clock(r.ts)) } " S< " b { (r.code) } " " (escape(&r.text.0))
                                }
                                div.expl { "= " (escape_str(&r.explanation(ex.command.as_ref(), s.server.ip(), lang))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The ladder as SVG. `standalone` adds the namespace (for `--format svg`).
/// `p` prefixes the ids and links (see [`Builder::langs`]).
pub fn svg(l: &Ladder, sid: usize, standalone: bool, p: &str) -> Markup {
    let h = l.height;
    let left = l.lanes.first().map_or(0, |a| a.x);
    let right = l.lanes.last().map_or(0, |a| a.x);
    let mid = (left + right) / 2;
    html! {
        svg xmlns=[standalone.then_some("http://www.w3.org/2000/svg")] class="ladder" width=(l.width) height=(h) viewBox={ "0 0 " (l.width) " " (h) } role="img" aria-label={ (tr!("ladder diagram of session {sid}", "会话 {sid} 的时序图").get(l.lang)) } {
            @if standalone { style { (PreEscaped(SVG_CSS)) } }
            defs {
                marker id={ (p) "a" (sid) } viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" class="head" {}
                }
            }
            @for lane in &l.lanes {
                text.lane x=(lane.x) y="18" text-anchor="middle" { (lane.label) }
                line.life x1=(lane.x) y1="28" x2=(lane.x) y2=(h - 8) {}
            }
            @if !l.data.is_empty() {
                text.lane x=(l.data_x) y="18" { (tr!("data connections", "数据连接").get(l.lang)) }
            }
            @for b in &l.breaks {
                g.brk {
                    rect x="0" y=(b.y - ROW / 2 + 3) width=(l.width) height=(ROW - 6) {}
                    text x=(mid) y=(b.y + 4) text-anchor="middle" { "⋯ " (b.label) " ⋯" }
                }
            }
            @for a in &l.arrows {
                @let (x1, x2) = (a.x1, a.x2);
                a href={ "#" (p) "s" (a.session) "-e" (a.exchange) } {
                    g class={ "msg " (a.class) } {
                        title { (a.title) }
                        text.time x="4" y=(a.y + 4) { (a.time) }
                        line x1=(x1) y1=(a.y) x2=(x2) y2=(a.y) marker-end={ "url(#" (p) "a" (sid) ")" } {}
                        text.label x=((x1 + x2) / 2) y=(a.y - 5) text-anchor="middle" { (a.label) }
                    }
                }
            }
            @for d in &l.data {
                a href={ "#" (p) "s" (d.session) "-d" (d.channel) } {
                    g class={ "data " (d.class) } {
                        title { (d.title) }
                        line.ann x1=(d.ann_x) y1=(d.y_announce) x2=(d.x) y2=(d.y_announce) {}
                        circle cx=(d.x) cy=(d.y_announce) r="3" {}
                        @if let (Some(a), Some(b)) = (d.y_start, d.y_end) {
                            line.wait x1=(d.x) y1=(d.y_announce) x2=(d.x) y2=(a) {}
                            line.syn x1=(d.syn_x) y1=(a) x2=(d.x - 6) y2=(a) marker-end={ "url(#" (p) "a" (sid) ")" } {}
                            rect.conn x=(d.x - 5) y=(a) width="10" height=((b - a).max(4)) {}
                            @if let (Some(f), Some(z)) = (d.y_first, d.y_last) {
                                rect.bytes x=(d.x - 5) y=(f) width="10" height=((z - f).max(3)) {}
                            }
                            @if d.class == "refused" {
                                text.x x=(d.x) y=(a + 5) text-anchor="middle" { "✕" }
                            }
                            text.dl x=(d.x + 12) y=(a + 4) {
                                (d.label)
                                @if d.syns > 1 { @let n = d.syns; (tr!(" ({n} SYNs)", "（{n} 个 SYN）").get(l.lang)) }
                                " " (state(d.class, l.lang))
                            }
                        } @else {
                            text.dl x=(d.x + 12) y=(d.y_announce + 4) { (d.label) (tr!(" (no connection seen)", "（未看到连接）").get(l.lang)) }
                        }
                    }
                }
            }
        }
    }
}

/// The page's styles for the diagram, repeated inside a standalone SVG.
const SVG_CSS: &str = include_str!("html/ladder.css");

/// A small inline SVG of a throughput series.
fn sparkline(series: &[u64]) -> Markup {
    let top = series.iter().copied().max().unwrap_or(0).max(1);
    let n = series.len().max(1);
    let w = 120usize;
    let bw = (w / n).max(1);
    html! {
        svg.spark width=(w) height="16" viewBox={ "0 0 " (w) " 16" } role="img" aria-label="throughput over time" {
            @for (i, v) in series.iter().enumerate() {
                @let hgt = (*v * 15).div_ceil(top);
                rect x=(i * w / n) y=(16 - hgt) width=(bw) height=(hgt) {}
            }
        }
    }
}

/// `--format svg --session N`: the ladder of one session alone.
pub fn standalone_svg(s: &Session, time: TimeView, lang: Lang) -> String {
    let clock = move |t: Ts| time.clock(t).to_string();
    let l = ladder::layout(s, &clock, lang);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        svg(&l, s.id, true, "").into_string()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
