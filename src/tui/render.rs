//! Drawing. One function per region; each reads the [`App`] and mutates nothing.
//!
//! Cost: every function draws only the rows that fit on the screen, from rows
//! `update` already prepared (sorted list indexes, wrapped transcript rows), so a
//! frame costs the same whatever the size of the capture.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph};

use super::app::{App, FindingRow, Loading, Pane, PromptKind, View};
use super::keymap::{self, Cmd, Ctx};
use super::layout::{self, Regions};
use super::lines::{Role, Row, char_width, severity_label, str_width};
use super::theme::Theme;
use crate::i18n::Ui;
use crate::model::{Login, Session, Severity};
use crate::text::{escape, escape_str, needs_escape};
use crate::time::{TimeView, human_bytes, human_duration};

/// Draw the whole screen.
///
/// ```text
///  ftpscope  capture.pcap  3 sessions, 2 data, 1 finding (1 error)   LIVE status
///   1 Sessions (3)   2 Data (2)   3 Findings (1)   Session 7      sort  filter
/// +--------------------------------------------------------------------------+
/// | list views: a column header, then one row per visible item                |
/// |                                                                          |
/// | session view:  Session 7  client -> server  status  user                 |
/// |                start  duration  TYPE/MODE/STRU  cwd  closed ...          |
/// |                +- Findings (n) --------------------------------------+   |
/// |                | ERROR id: summary / evidence / fix    (up to 40%)   |   |
/// |                +- Transcript --------------------------------------+   |
/// |                | 12:00:00.000 C> RETR f / S< 150 ... / data #1: ... |   |
/// +--------------------------------------------------------------------------+
///  hints from the key table, a message, or the filter/search prompt
/// ```
/// The help overlay, when open, is drawn over the middle of everything.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let r = layout::regions(app, area);
    if r.too_small {
        let (w, h, mw, mh) = (
            area.width,
            area.height,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
        );
        let p = Paragraph::new(
            crate::tr!(
                "terminal too small: {w}x{h}, need {mw}x{mh}",
                "终端太小：{w}x{h}，至少需要 {mw}x{mh}"
            )
            .get(app.lang)
            .to_string(),
        );
        frame.render_widget(p, area);
        return;
    }
    title(frame, r.title, app);
    tabs(frame, r.tabs, app);
    if let (Some(l), Some(g)) = (app.loading, r.gauge) {
        loading(frame, g, app, l);
    }
    match app.view {
        View::Sessions => sessions(frame, &r, app),
        View::Data => data(frame, &r, app),
        View::Findings => findings_view(frame, &r, app),
        View::Session => session(frame, &r, app),
    }
    status(frame, r.status, app);
    if let Some(off) = app.help {
        help(frame, area, app, off);
    }
    scrub(frame.buffer_mut());
}

/// The last line of defence, after every region is drawn: a cell that holds a
/// character which must never reach the terminal raw ([`needs_escape`]: every
/// string from the wire is escaped before it becomes a row, so this only catches
/// one that was not) shows U+FFFD instead.
pub fn scrub(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(needs_escape) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

/// Cut `s` to `w` columns (marking the cut with `~`) and pad it to exactly `w`.
pub fn fit(s: &str, w: usize, right: bool) -> String {
    let width = str_width(s);
    if width <= w {
        let pad = " ".repeat(w - width);
        return if right {
            format!("{pad}{s}")
        } else {
            format!("{s}{pad}")
        };
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('~');
        used += 1;
    }
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

fn line_at(frame: &mut Frame, area: Rect, y: u16, line: Line<'_>, row_style: Option<Style>) {
    let rect = Rect::new(area.x, y, area.width, 1);
    frame.render_widget(line, rect);
    if let Some(s) = row_style {
        frame.buffer_mut().set_style(rect, s);
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One part of a line built to fit (the title, the hint row): its forms from
/// the longest to the shortest, and how much each step matters (a larger
/// number goes first; 0: never dropped). [`shorten`] takes the step that
/// matters least (to the next shorter form, or dropping the part whole) until
/// the line fits; a part is never cut mid-word.
pub(crate) struct Part<'a> {
    /// `steps[k]`: the priority of leaving form `k` (for the last form: of
    /// dropping the part).
    pub(crate) steps: Vec<u8>,
    pub(crate) forms: Vec<Vec<Span<'a>>>,
}

impl<'a> Part<'a> {
    /// A part dropped whole at priority `prio`.
    pub(crate) fn new(prio: u8, spans: Vec<Span<'a>>) -> Self {
        Part {
            steps: vec![prio],
            forms: vec![spans],
        }
    }

    /// A shorter form, taken at priority `prio` (before the part is dropped).
    pub(crate) fn or(mut self, prio: u8, spans: Vec<Span<'a>>) -> Self {
        let drop = self.steps.pop().unwrap_or(0);
        self.steps.push(prio);
        self.steps.push(drop);
        self.forms.push(spans);
        self
    }
}

fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The parts that fit in `width` columns, in their order: each part in the
/// longest form that its importance allows. Parts of priority 0 are kept even
/// when they alone are too wide (the terminal cuts them at its edge).
pub(crate) fn shorten<'a>(parts: Vec<Part<'a>>, width: usize) -> Vec<Span<'a>> {
    // For each part, the form in use; `forms.len()` means dropped.
    let mut at = vec![0usize; parts.len()];
    let total = |at: &[usize]| -> usize {
        parts
            .iter()
            .zip(at)
            .map(|(p, &i)| p.forms.get(i).map_or(0, |f| spans_width(f)))
            .sum()
    };
    while total(&at) > width {
        // The step that matters least (the last part of equals); a step of
        // priority 0 is never taken.
        let next = parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.steps.get(at[i]).map(|&prio| (i, prio)))
            .filter(|&(_, prio)| prio > 0)
            .max_by_key(|&(i, prio)| (prio, i))
            .map(|(i, _)| i);
        match next {
            Some(i) => at[i] += 1,
            None => break,
        }
    }
    parts
        .into_iter()
        .zip(at)
        .filter_map(|(mut p, i)| (i < p.forms.len()).then(|| p.forms.swap_remove(i)))
        .flatten()
        .collect()
}

/// Counted words of the title and the session view, in each language: (one,
/// many). Chinese has one form (a measure word before the noun).
fn words(
    lang: crate::ftp::catalog::Lang,
    en: (&'static str, &'static str),
    zh: &'static str,
) -> (&'static str, &'static str) {
    match lang {
        crate::ftp::catalog::Lang::En => en,
        crate::ftp::catalog::Lang::Zh => (zh, zh),
    }
}

/// The title row, by importance: the name of the program, the count of
/// findings and their worst severity, a damaged-file mark; then the live marks;
/// then sessions, the capture's name (shortened to its file name first), data
/// connections, and the live source's status.
fn title(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let lang = app.lang;
    let tot = app.index.totals;
    let name = escape_str(&app.name);
    // Each file's name without its directory ("a + b" for merged captures).
    let base = escape_str(
        &app.name
            .split(" + ")
            .map(|n| {
                std::path::Path::new(n)
                    .file_name()
                    .map_or(n.to_string(), |f| f.to_string_lossy().into_owned())
            })
            .collect::<Vec<_>>()
            .join(" + "),
    );
    let mut parts = vec![
        Part::new(0, vec![Span::styled(" ftpscope ", t.title())]),
        // The name: shortened to its file names early, dropped late (in live
        // mode it says what is watched).
        Part::new(2, vec![Span::raw(format!(" {name} "))])
            .or(5, vec![Span::raw(format!(" {base} "))]),
    ];
    if let Some(e) = &app.capture.stats.read_error {
        let mark = if e.starts_with("capture is truncated") {
            Ui::TuiCutFile
        } else {
            Ui::TuiDamagedFile
        }
        .text(lang);
        parts.push(Part::new(
            1,
            vec![Span::styled(mark, t.severity(Some(Severity::Warning)))],
        ));
    }
    if app.capture.stats.truncated_packets > 0 {
        // A note in the text report's header: shown, not alarming.
        parts.push(Part::new(
            5,
            vec![Span::styled(Ui::TuiSnaplen.text(lang), t.dim())],
        ));
    }
    let ses = words(lang, ("session", "sessions"), "个会话");
    let fin = words(lang, ("finding", "findings"), "条发现");
    let err = words(lang, ("error", "errors"), "个错误");
    let warn = words(lang, ("warning", "warnings"), "个警告");
    let data = words(lang, ("data", "data"), "个数据连接").0;
    parts.push(Part::new(
        3,
        vec![Span::raw(format!(
            " {},",
            plural(tot.sessions, ses.0, ses.1)
        ))],
    ));
    parts.push(Part::new(
        5,
        vec![Span::raw(format!(" {} {data},", tot.channels))],
    ));
    let mut findings = vec![Span::raw(format!(
        " {}",
        plural(tot.findings, fin.0, fin.1)
    ))];
    if tot.errors > 0 {
        findings.push(Span::styled(
            format!(" ({})", plural(tot.errors, err.0, err.1)),
            t.severity(Some(Severity::Error)),
        ));
    } else if tot.warnings > 0 {
        findings.push(Span::styled(
            format!(" ({})", plural(tot.warnings, warn.0, warn.1)),
            t.severity(Some(Severity::Warning)),
        ));
    }
    parts.push(Part::new(1, findings));
    if app.live {
        let warn = t.severity(Some(Severity::Warning));
        let (long, short, style) = if app.frozen {
            (Ui::TuiFrozen, Ui::TuiFrozenShort, warn)
        } else if app.following() {
            (Ui::TuiFollowing, Ui::TuiFollowShort, t.dim())
        } else {
            (Ui::TuiScrolled, Ui::TuiScrolledShort, warn)
        };
        // Pushed to the right edge by a filler computed below.
        parts.push(Part::new(0, vec![Span::raw("")]));
        parts.push(Part::new(
            1,
            vec![Span::styled(Ui::TuiLive.text(lang), t.tab_active())],
        ));
        if !app.live_status.is_empty() {
            let status = escape_str(&app.live_status);
            parts.push(Part::new(6, vec![Span::raw(format!(" {status}"))]));
        }
        parts.push(
            Part::new(2, vec![Span::styled(long.text(lang), style)])
                .or(4, vec![Span::styled(short.text(lang), style)]),
        );
    }
    let width = usize::from(area.width);
    let mut spans = shorten(parts, width);
    if app.live {
        // The filler (the empty span) takes the free columns.
        let free = width.saturating_sub(spans_width(&spans));
        if let Some(f) = spans.iter_mut().find(|s| s.content.is_empty()) {
            *f = Span::raw(" ".repeat(free));
        }
    }
    frame.render_widget(Line::from(spans), area);
}

fn tabs(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let mut spans = Vec::new();
    for (i, (v, label)) in layout::tabs(app).into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let style = if v == app.view {
            t.tab_active()
        } else {
            t.dim()
        };
        spans.push(Span::styled(label, style));
    }
    frame.render_widget(Line::from(spans), area);
    if app.view != View::Session {
        // "filter: TEXT  sort: KEY", the filter text cut to what is free.
        let labels: usize = layout::tabs(app)
            .iter()
            .map(|(_, l)| str_width(l) + 1)
            .sum();
        let free = usize::from(area.width).saturating_sub(labels + 1);
        let sort = format!(
            "{}{} ",
            Ui::PromptSort.text(app.lang),
            app.sort.label(app.lang)
        );
        let mut right = vec![Span::raw(sort.clone())];
        let filter = Ui::PromptFilter.text(app.lang);
        let room = free.saturating_sub(str_width(&sort) + 2 + str_width(filter));
        if !app.filter_text.is_empty() && room >= 4 {
            let text = escape_str(&app.filter_text);
            let text = fit(&text, str_width(&text).min(room), false);
            right.insert(0, Span::styled(format!("{filter}{text}  "), t.bold()));
        }
        let line = Line::from(right);
        let w = line.width();
        if w <= free {
            let w = u16::try_from(w).unwrap_or(u16::MAX);
            let rect = Rect::new(area.x + area.width - w, area.y, w, 1);
            frame.render_widget(line, rect);
        }
    }
}

/// The gauge row shown while a file is read: bytes read of the file's size and
/// packets per second; the lists under it fill as sessions end.
fn loading(frame: &mut Frame, area: Rect, app: &App, l: Loading) {
    let t = app.theme;
    let ratio = if l.total > 0 {
        (l.bytes as f64 / l.total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let label = format!(
        "reading: {} of {}, {} packets, {} packets/s",
        human_bytes(l.bytes),
        human_bytes(l.total),
        l.packets,
        l.rate()
    );
    let g = Gauge::default()
        .ratio(ratio)
        .label(label)
        .gauge_style(if t.color {
            Style::new().fg(ratatui::style::Color::Cyan)
        } else {
            Style::new()
        });
    frame.render_widget(g, area);
}

/// A column of a list view. Columns are dropped, lowest priority first, until
/// the rest fit; the flexible one takes what is left.
struct Col {
    title: &'static str,
    width: usize,
    prio: u8,
    right: bool,
    flex: bool,
}

const fn col(title: &'static str, width: usize, prio: u8, right: bool, flex: bool) -> Col {
    Col {
        title,
        width,
        prio,
        right,
        flex,
    }
}

/// Chosen columns in display order, with their widths.
fn choose(cols: &[Col], avail: usize) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&i| cols[i].prio);
    let mut chosen = Vec::new();
    let mut used = 0;
    for i in order {
        let need = cols[i].width + usize::from(!chosen.is_empty());
        if used + need <= avail {
            used += need;
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    let mut out: Vec<(usize, usize)> = chosen.iter().map(|&i| (i, cols[i].width)).collect();
    // What is left is shared by the flexible columns (the last one gets the rest).
    let flex = out.iter().filter(|(i, _)| cols[*i].flex).count();
    let mut left = avail - used;
    let mut seen = 0;
    for (i, w) in &mut out {
        if cols[*i].flex {
            seen += 1;
            let share = if seen == flex { left } else { left / flex };
            *w += share;
            left -= share;
        }
    }
    out
}

/// Draw a list view: header, then the visible rows; `cell` gives a row's cells
/// (text and style) for all columns.
/// What a list view draws: its columns, its length and cursor, and what to
/// say when it is empty.
struct Listing<'a> {
    cols: &'a [Col],
    len: usize,
    cursor: super::app::Cursor,
    empty: &'a str,
}

fn list(
    frame: &mut Frame,
    r: &Regions,
    app: &App,
    l: &Listing<'_>,
    cell: &dyn Fn(usize) -> Vec<(String, Style)>,
) {
    let t = app.theme;
    let (cols, len, cursor, empty) = (l.cols, l.len, l.cursor, l.empty);
    let chosen = choose(cols, usize::from(r.list_header.width));
    let header: Vec<Span> = chosen
        .iter()
        .enumerate()
        .flat_map(|(k, &(i, w))| {
            let sep = (k > 0).then(|| Span::raw(" "));
            sep.into_iter().chain(std::iter::once(Span::raw(fit(
                cols[i].title,
                w,
                cols[i].right,
            ))))
        })
        .collect();
    line_at(
        frame,
        r.list_header,
        r.list_header.y,
        Line::from(header),
        Some(t.header()),
    );
    if len == 0 {
        let msg = Line::styled(format!("  {empty}"), t.dim());
        line_at(frame, r.list_rows, r.list_rows.y, msg, None);
        return;
    }
    let h = usize::from(r.list_rows.height);
    for (k, row) in (cursor.offset..len.min(cursor.offset + h)).enumerate() {
        let cells = cell(row);
        let spans: Vec<Span> = chosen
            .iter()
            .enumerate()
            .flat_map(|(n, &(i, w))| {
                let sep = (n > 0).then(|| Span::raw(" "));
                let (text, style) = cells.get(i).cloned().unwrap_or_default();
                sep.into_iter().chain(std::iter::once(Span::styled(
                    fit(&text, w, cols[i].right),
                    style,
                )))
            })
            .collect();
        let y = r.list_rows.y + u16::try_from(k).unwrap_or(0);
        let style = (row == cursor.sel).then(|| t.selected());
        line_at(frame, r.list_rows, y, Line::from(spans), style);
    }
}

fn status_mark(s: &Session) -> &'static str {
    match s.worst() {
        Some(Severity::Error) => "ERR",
        Some(Severity::Warning) => "WARN",
        Some(Severity::Info) => "info",
        None => "ok",
    }
}

/// Start as `MM-DD HH:MM:SS` (the title and the session view give the year),
/// in UTC or local time, or seconds since the first packet (`--time`).
fn short_start(s: &Session, tv: TimeView) -> String {
    let t = tv.full(s.start);
    match tv {
        TimeView::Relative(_) => t,
        _ => t.get(5..19).unwrap_or(&t).replace('T', " "),
    }
}

fn addr_width<'a>(addrs: impl Iterator<Item = &'a str>) -> usize {
    addrs.map(str_width).max().unwrap_or(0).clamp(15, 47)
}

fn sessions(frame: &mut Frame, r: &Regions, app: &App) {
    let t = app.theme;
    let h = usize::from(r.list_rows.height);
    let visible = app.sessions.offset..app.session_rows.len().min(app.sessions.offset + h);
    let texts: Vec<(String, String)> = app.session_rows[visible.clone()]
        .iter()
        .map(|&i| {
            let s = &app.capture.sessions[i];
            (s.client.to_string(), s.server.to_string())
        })
        .collect();
    let id_width = app.session_rows[visible]
        .iter()
        .map(|&i| app.capture.sessions[i].id.to_string().len())
        .max()
        .unwrap_or(1);
    let u = |k: Ui| k.text(app.lang);
    let cw = addr_width(texts.iter().map(|x| x.0.as_str()).chain([u(Ui::ColClient)]));
    let sw = addr_width(texts.iter().map(|x| x.1.as_str()).chain([u(Ui::ColServer)]));
    let cols = [
        col(u(Ui::ColSt), 4, 0, false, false),
        col("#", id_width, 1, true, false),
        col(u(Ui::ColClient), cw, 2, false, false),
        col(u(Ui::ColServer), sw, 3, false, false),
        col(u(Ui::ColUser), 10, 4, false, true),
        col(u(Ui::ColStart), 14, 8, false, false),
        col(u(Ui::ColDuration), 9, 7, true, false),
        col(u(Ui::ColCmds), 5, 5, true, false),
        col(u(Ui::ColXfers), 5, 9, true, false),
        col(u(Ui::ColBytes), 10, 6, true, false),
        col(u(Ui::ColFindings), 20, 10, false, true),
    ];
    let cell = |row: usize| {
        let s = &app.capture.sessions[app.session_rows[row]];
        let user = s.user.as_ref().map_or("-".to_string(), |u| escape(&u.0));
        let user = match s.login {
            Login::Failed => format!("{user} ({})", crate::i18n::state("failed", app.lang)),
            _ => user,
        };
        let mut ids: Vec<&str> = s.findings.iter().map(|f| f.id).collect();
        ids.dedup();
        vec![
            (status_mark(s).to_string(), t.severity(s.worst())),
            (s.id.to_string(), Style::new()),
            (s.client.to_string(), Style::new()),
            (s.server.to_string(), Style::new()),
            (user, Style::new()),
            (short_start(s, app.time), t.dim()),
            (human_duration(s.duration), Style::new()),
            (s.command_count().to_string(), Style::new()),
            (s.data_channels.len().to_string(), Style::new()),
            (human_bytes(s.data_bytes()), Style::new()),
            (escape_str(&ids.join(", ")), t.severity(s.worst())),
        ]
    };
    let empty = if app.is_loading() && app.filter_text.is_empty() {
        Ui::TuiNoSessionEnded
    } else if app.live && app.filter_text.is_empty() {
        Ui::TuiNoSessionYet
    } else if app.filter_text.is_empty() {
        Ui::TuiNoSessionInCapture
    } else {
        Ui::TuiNoSessionMatches
    }
    .text(app.lang);
    let listing = Listing {
        cols: &cols,
        len: app.session_rows.len(),
        cursor: app.sessions,
        empty,
    };
    list(frame, r, app, &listing, &cell);
}

/// Width of the throughput sparkline in the data view.
const SPARK_WIDTH: usize = 14;

/// A throughput series as block characters, `width` wide: the series is cut into
/// `width` groups (each drawn at its busiest bucket), scaled to the largest.
pub fn sparkline(series: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if series.is_empty() || width == 0 {
        return String::new();
    }
    let groups = series.len().min(width);
    let vals: Vec<u64> = (0..groups)
        .map(|g| {
            let a = g * series.len() / groups;
            let b = ((g + 1) * series.len() / groups).max(a + 1);
            series[a..b].iter().copied().max().unwrap_or(0)
        })
        .collect();
    let top = vals.iter().copied().max().unwrap_or(0).max(1);
    vals.iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                BARS[((v * 8).div_ceil(top) as usize).saturating_sub(1).min(7)]
            }
        })
        .collect()
}

fn data(frame: &mut Frame, r: &Regions, app: &App) {
    let t = app.theme;
    let h = usize::from(r.list_rows.height);
    let visible = app.data.offset..app.data_rows.len().min(app.data.offset + h);
    let chan = |&(si, ci): &(usize, usize)| &app.capture.sessions[si].data_channels[ci];
    let ann: Vec<String> = app.data_rows[visible.clone()]
        .iter()
        .map(|k| chan(k).announced.map_or("?".into(), |a| a.to_string()))
        .collect();
    let conns: Vec<String> = app.data_rows[visible]
        .iter()
        .map(|k| {
            let d = chan(k);
            match (d.connector, d.listener) {
                (Some(c), Some(l)) => format!("{c} -> {l}"),
                _ => "-".into(),
            }
        })
        .collect();
    let u = |k: Ui| k.text(app.lang);
    let aw = addr_width(ann.iter().map(String::as_str).chain([u(Ui::ColAnnounced)]));
    let conw = conns
        .iter()
        .map(|s| str_width(s))
        .max()
        .unwrap_or(0)
        .clamp(10, 95);
    let cols = [
        col(u(Ui::ColOutcome), 13, 0, false, false),
        col(u(Ui::ColSess), 5, 1, true, false),
        col(u(Ui::ColVia), 4, 2, false, false),
        col(u(Ui::ColMode), 7, 8, false, false),
        col(u(Ui::ColAnnounced), aw, 3, false, false),
        col(u(Ui::ColCommand), 14, 4, false, true),
        col(u(Ui::ColBytes), 10, 5, true, false),
        col(u(Ui::ColTime), 9, 7, true, false),
        col("SYNs", 4, 10, true, false),
        col(u(Ui::ColSetup), 9, 11, true, false),
        col(u(Ui::ColLimit), 8, 8, false, false),
        col(u(Ui::ColRate), SPARK_WIDTH, 12, false, false),
        col(u(Ui::ColConnection), conw, 9, false, false),
    ];
    let cell = |row: usize| {
        let (si, ci) = app.data_rows[row];
        let s = &app.capture.sessions[si];
        let d = &s.data_channels[ci];
        let mut cmd = d.command.as_deref().map_or("-".to_string(), escape_str);
        if let Some(a) = d.arg.as_ref().filter(|a| !a.is_empty()) {
            cmd.push(' ');
            cmd.push_str(&escape(&a.0));
        }
        let dur = match (d.first_byte, d.last_byte) {
            (Some(a), Some(b)) => human_duration(a.secs_until(b)),
            _ => "-".into(),
        };
        let conn = match (d.connector, d.listener) {
            (Some(c), Some(l)) => format!("{c} -> {l}"),
            _ => "-".into(),
        };
        vec![
            (d.outcome.as_str().to_string(), t.outcome(d.outcome)),
            (s.id.to_string(), Style::new()),
            (d.via.to_string(), Style::new()),
            (
                match d.mode {
                    crate::model::DataMode::Active => Ui::Active,
                    crate::model::DataMode::Passive => Ui::Passive,
                }
                .text(app.lang)
                .to_string(),
                Style::new(),
            ),
            (
                d.announced.map_or("?".into(), |a| a.to_string()),
                Style::new(),
            ),
            (cmd, Style::new()),
            (human_bytes(d.bytes), Style::new()),
            (dur, Style::new()),
            (d.syns.to_string(), Style::new()),
            (
                d.setup_time.map_or("-".into(), human_duration),
                Style::new(),
            ),
            match crate::diagnose::speed::limit(d) {
                Some(l) => (
                    l.short().to_string(),
                    t.severity(Some(crate::model::Severity::Warning)),
                ),
                None => ("-".into(), t.dim()),
            },
            (
                d.tcp
                    .as_deref()
                    .map_or(String::new(), |x| sparkline(&x.series.bytes, SPARK_WIDTH)),
                Style::new(),
            ),
            (conn, t.dim()),
        ]
    };
    let listing = Listing {
        cols: &cols,
        len: app.data_rows.len(),
        cursor: app.data,
        empty: Ui::TuiNoData.text(app.lang),
    };
    list(frame, r, app, &listing, &cell);
}

fn findings_view(frame: &mut Frame, r: &Regions, app: &App) {
    let t = app.theme;
    let head = Line::from(Ui::TuiFindingsHead.text(app.lang));
    line_at(
        frame,
        r.list_header,
        r.list_header.y,
        head,
        Some(t.header()),
    );
    if app.finding_rows.is_empty() {
        let msg = if app.filter_text.is_empty() {
            Ui::TuiNoFinding
        } else {
            Ui::TuiNoFindingMatches
        }
        .text(app.lang);
        line_at(
            frame,
            r.list_rows,
            r.list_rows.y,
            Line::styled(msg, t.dim()),
            None,
        );
        return;
    }
    let h = usize::from(r.list_rows.height);
    let c = app.findings;
    for (k, row) in (c.offset..app.finding_rows.len().min(c.offset + h)).enumerate() {
        let line = match app.finding_rows[row] {
            FindingRow::Group {
                id,
                severity,
                count,
            } => Line::from(vec![
                Span::styled(
                    format!("{:<5}", severity_label(severity)),
                    t.severity(Some(severity)),
                ),
                Span::raw(" "),
                Span::styled(escape_str(id), t.bold()),
                Span::styled(
                    {
                        let fin = words(app.lang, ("finding", "findings"), "条发现");
                        format!("  ({})", plural(count, fin.0, fin.1))
                    },
                    t.dim(),
                ),
            ]),
            FindingRow::Item { session, finding } => {
                let Some(f) = app.finding(session, finding) else {
                    continue;
                };
                let who = match session.and_then(|si| app.capture.sessions.get(si)) {
                    Some(s) => format!(
                        "{} {} {} -> {}",
                        Ui::SessionLower.text(app.lang),
                        s.id,
                        s.client,
                        s.server
                    ),
                    None => Ui::CaptureWord.text(app.lang).to_string(),
                };
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled(
                        format!("{:<5}", severity_label(f.severity)),
                        t.severity(Some(f.severity)),
                    ),
                    Span::raw(format!(" {who}  ")),
                    Span::raw(escape_str(f.summary.get(app.lang))),
                ])
            }
        };
        let y = r.list_rows.y + u16::try_from(k).unwrap_or(0);
        line_at(
            frame,
            r.list_rows,
            y,
            line,
            (row == c.sel).then(|| t.selected()),
        );
    }
}

fn session(frame: &mut Frame, r: &Regions, app: &App) {
    let Some(d) = &app.detail else { return };
    let Some(s) = app.capture.sessions.get(d.index) else {
        return;
    };
    let t = app.theme;
    let user = s.user.as_ref().map_or("-".to_string(), |u| escape(&u.0));
    let first = Line::from(vec![
        Span::styled(
            format!(" {} {} ", Ui::Session.text(app.lang), s.id),
            t.bold(),
        ),
        Span::raw(format!(" {} -> {}  ", s.client, s.server)),
        Span::styled(status_mark(s), t.severity(s.worst())),
        Span::raw(format!(
            "  {} {user} ({} {})",
            Ui::User.text(app.lang),
            Ui::Login.text(app.lang),
            crate::i18n::state(s.login_word(), app.lang)
        )),
    ]);
    line_at(frame, r.header, r.header.y, first, None);
    // (priority, text): the second row drops whole parts, least important
    // first, when it does not fit.
    let mut info: Vec<(u8, String)> = vec![
        (0, format!(" {}", app.time.full(s.start))),
        (1, format!("  {}", human_duration(s.duration))),
        (
            5,
            format!(
                "  TYPE {} MODE {} STRU {}",
                escape_str(&s.type_),
                escape_str(&s.mode),
                escape_str(&s.stru)
            ),
        ),
    ];
    if let Some(c) = &s.cwd {
        info.push((4, format!("  {} {}", Ui::Cwd.text(app.lang), escape(&c.0))));
    }
    info.push((
        2,
        format!(
            "  {} {}",
            Ui::Closed.text(app.lang),
            crate::i18n::state(s.closed.as_str(), app.lang)
        ),
    ));
    let cmd = words(app.lang, ("command", "commands"), "条命令");
    let dc = words(
        app.lang,
        ("data connection", "data connections"),
        "个数据连接",
    );
    info.push((
        3,
        format!(
            "  {}, {} ({})",
            plural(s.command_count(), cmd.0, cmd.1),
            plural(s.data_channels.len(), dc.0, dc.1),
            human_bytes(s.data_bytes())
        ),
    ));
    if s.tls {
        info.push((2, "  TLS".into()));
    }
    if s.capture.mid_session {
        info.push((1, Ui::TuiMidSession.text(app.lang).into()));
    }
    // What the capture cannot show (the full list is in the text report header).
    let cov = &s.coverage;
    if !cov.control_handshake && !s.capture.mid_session {
        info.push((3, Ui::TuiNoHandshake.text(app.lang).into()));
    }
    if cov.data_visible == crate::model::DataVisibility::Unknown && !s.data_channels.is_empty() {
        info.push((1, Ui::TuiControlOnly.text(app.lang).into()));
    }
    if cov.duplicates > 0 {
        let n = cov.duplicates;
        info.push((
            3,
            crate::tr!("  {n} duplicate packets", "  {n} 个重复包")
                .get(app.lang)
                .to_string(),
        ));
    }
    if let Some(sys) = &s.server_system {
        info.push((
            6,
            format!("  {} {}", Ui::ServerWord.text(app.lang), escape(&sys.0)),
        ));
    }
    let info = shorten(
        info.into_iter()
            .map(|(prio, text)| Part::new(prio, vec![Span::raw(text)]))
            .collect(),
        usize::from(r.header.width),
    );
    line_at(
        frame,
        r.header,
        r.header.y + 1,
        Line::from(info).style(t.dim()),
        None,
    );

    if let Some(area) = r.findings {
        let title = format!(
            " {} ({}) ",
            Ui::HtmlFindings.text(app.lang),
            s.findings.len()
        );
        let p = PaneRows {
            title: &title,
            rows: &d.findings.rows,
            cursor: d.fcursor,
            focused: d.focus == Pane::Findings,
            query: "",
        };
        pane(frame, area, app, &p);
    }
    let mut title = format!(" {} ", Ui::Transcript.text(app.lang));
    if app.explain {
        title.push_str(Ui::TuiEHides.text(app.lang));
    } else {
        title.push_str(Ui::TuiEShows.text(app.lang));
    }
    title.push_str(&format!(
        "{} {}",
        Ui::TuiLine.text(app.lang),
        position(d.cursor.sel, d.transcript.len())
    ));
    title.push(' ');
    if !app.line_filter.is_empty() {
        title.push_str(&format!(
            " {}{} ",
            Ui::PromptLines.text(app.lang),
            escape_str(&app.line_filter)
        ));
    }
    if !app.search.is_empty() {
        title.push_str(&format!(" /{} ", escape_str(&app.search)));
    }
    if app.live {
        title.push_str(
            if d.follow {
                Ui::TuiFollowingShort
            } else {
                Ui::TuiScrolledShort
            }
            .text(app.lang),
        );
    }
    let p = PaneRows {
        title: &title,
        rows: &d.transcript.rows,
        cursor: d.cursor,
        focused: d.focus == Pane::Transcript,
        query: &app.search,
    };
    pane(frame, r.transcript, app, &p);
}

fn position(sel: usize, len: usize) -> String {
    if len == 0 {
        String::new()
    } else {
        format!("{}/{}", sel + 1, len)
    }
}

/// A bordered pane of wrapped rows with a cursor row.
/// A pane of the session view: its title, rows, cursor, focus and the search
/// text to mark.
struct PaneRows<'a> {
    title: &'a str,
    rows: &'a [Row],
    cursor: super::app::Cursor,
    focused: bool,
    query: &'a str,
}

fn pane(frame: &mut Frame, area: Rect, app: &App, p: &PaneRows<'_>) {
    let (title, rows, cursor, focused, query) = (p.title, p.rows, p.cursor, p.focused, p.query);
    let t = app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(Span::styled(title.to_string(), t.border(focused)));
    let inner = layout::inner(area);
    frame.render_widget(block, area);
    let h = usize::from(inner.height);
    for (k, i) in (cursor.offset..rows.len().min(cursor.offset + h)).enumerate() {
        let line = row_line(&rows[i], t, query);
        let y = inner.y + u16::try_from(k).unwrap_or(0);
        let style = (i == cursor.sel).then(|| {
            if focused {
                t.selected()
            } else {
                t.selected_unfocused()
            }
        });
        line_at(frame, inner, y, line, style);
    }
}

/// A row's spans, styled, with search matches marked.
fn row_line(row: &Row, t: Theme, query: &str) -> Line<'static> {
    let styled = |r: Role, s: &str| Span::styled(s.to_string(), t.role(r));
    if query.is_empty() {
        return Line::from(
            row.spans
                .iter()
                .map(|(r, s)| styled(*r, s))
                .collect::<Vec<_>>(),
        );
    }
    let text: String = row.spans.iter().map(|(_, s)| s.as_str()).collect();
    let lower = text.to_ascii_lowercase();
    let q = query.to_ascii_lowercase();
    let mut hits = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find(&q) {
        hits.push((from + p, from + p + q.len()));
        from += p + q.len().max(1);
    }
    if hits.is_empty() {
        return Line::from(
            row.spans
                .iter()
                .map(|(r, s)| styled(*r, s))
                .collect::<Vec<_>>(),
        );
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for (r, s) in &row.spans {
        let (start, end) = (pos, pos + s.len());
        let mut at = start;
        while at < end {
            let hit = hits.iter().find(|(a, b)| *b > at && *a < end);
            match hit {
                Some(&(a, b)) if a <= at => {
                    let stop = b.min(end);
                    out.push(Span::styled(
                        text[at..stop].to_string(),
                        t.role(*r).patch(t.search_match()),
                    ));
                    at = stop;
                }
                Some(&(a, _)) => {
                    out.push(styled(*r, &text[at..a]));
                    at = a;
                }
                None => {
                    out.push(styled(*r, &text[at..end]));
                    at = end;
                }
            }
        }
        pos = end;
    }
    Line::from(out)
}

fn hint(ctx: Ctx, cmd: Cmd, what: &str) -> Option<String> {
    keymap::first_key(ctx, cmd).map(|k| format!("{k} {what}"))
}

fn status(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    if let Some(p) = &app.prompt {
        let label = match p.kind {
            PromptKind::Filter => Ui::PromptFilter,
            PromptKind::Search => Ui::PromptSearch,
            PromptKind::Lines => Ui::PromptLines,
            PromptKind::Delay => Ui::PromptDelay,
            PromptKind::Reply => Ui::PromptReply,
        }
        .text(app.lang);
        let text = escape_str(&p.text);
        let mut spans = vec![Span::styled(label, t.bold()), Span::raw(text.clone())];
        if let Some(e) = &p.error {
            spans.push(Span::styled(
                format!("   {}", escape_str(e)),
                t.error_text(),
            ));
        } else if let Some((done, all)) = app.filter_progress() {
            spans.push(Span::styled(
                format!(
                    "   {}{}%",
                    Ui::PromptFiltering.text(app.lang),
                    done * 100 / all.max(1)
                ),
                t.dim(),
            ));
        } else {
            let h = match p.kind {
                PromptKind::Filter => Ui::PromptFilterHint,
                PromptKind::Search => Ui::PromptSearchHint,
                PromptKind::Lines => Ui::PromptLinesHint,
                PromptKind::Delay => Ui::PromptDelayHint,
                PromptKind::Reply => Ui::PromptReplyHint,
            }
            .text(app.lang);
            spans.push(Span::styled(h, t.dim()));
        }
        frame.render_widget(Line::from(spans), area);
        let x = area.x + u16::try_from(str_width(label) + str_width(&text)).unwrap_or(0);
        frame.set_cursor_position((x.min(area.x + area.width.saturating_sub(1)), area.y));
        return;
    }
    if let Some((done, all)) = app.filter_progress() {
        let pct = done * 100 / all.max(1);
        let m = crate::tr!(
            " filtering {all} sessions: {pct}%",
            " 正在过滤 {all} 个会话：{pct}%"
        )
        .get(app.lang)
        .to_string();
        frame.render_widget(Line::styled(m, t.bold()), area);
        return;
    }
    let mut parts: Vec<Part> = Vec::new();
    if !app.armed.is_empty() {
        // Armed faults first: they change what the peers see.
        let armed = escape_str(&app.armed);
        parts.push(
            Part::new(
                1,
                vec![Span::styled(
                    format!(" {}{armed} ", Ui::TuiFaults.text(app.lang)),
                    t.error_text(),
                )],
            )
            .or(
                1,
                vec![Span::styled(
                    Ui::TuiFaultsArmed.text(app.lang),
                    t.error_text(),
                )],
            ),
        );
    }
    if let Some((err, m)) = &app.message {
        let style = if *err { t.error_text() } else { t.bold() };
        parts.push(Part::new(
            0,
            vec![Span::styled(format!(" {}", escape_str(m)), style)],
        ));
        frame.render_widget(Line::from(shorten(parts, usize::from(area.width))), area);
        return;
    }
    let ctx = if app.view == View::Session {
        Ctx::Session
    } else {
        Ctx::List
    };
    // (priority, command, word): the least important hints go first when the
    // row is too narrow, whole.
    let hints: &[(u8, Cmd, Ui)] = if app.view == View::Session {
        &[
            (1, Cmd::Back, Ui::HintBack),
            (3, Cmd::NextPane, Ui::HintPane),
            (2, Cmd::NextFinding, Ui::HintNextFinding),
            (2, Cmd::Search, Ui::HintSearch),
            (4, Cmd::Explain, Ui::HintExplain),
            (4, Cmd::WriteText, Ui::HintWrite),
            (0, Cmd::Help, Ui::HintHelp),
            (0, Cmd::Quit, Ui::HintQuit),
        ]
    } else {
        &[
            (1, Cmd::Open, Ui::HintOpen),
            (3, Cmd::NextPane, Ui::HintView),
            (2, Cmd::Filter, Ui::HintFilter),
            (3, Cmd::Sort, Ui::HintSort),
            (4, Cmd::NextFinding, Ui::HintNextFinding),
            (0, Cmd::Help, Ui::HintHelp),
            (0, Cmd::Quit, Ui::HintQuit),
        ]
    };
    parts.extend(hints.iter().filter_map(|&(prio, cmd, what)| {
        hint(ctx, cmd, what.text(app.lang))
            .map(|h| Part::new(prio, vec![Span::raw(format!(" {h} "))]))
    }));
    let line = shorten(parts, usize::from(area.width));
    frame.render_widget(Line::from(line).style(t.dim()), area);
}

fn help(frame: &mut Frame, area: Rect, app: &App, offset: usize) {
    let t = app.theme;
    let rect = layout::help_rect(area);
    frame.render_widget(Clear, rect);
    let inner = layout::inner(rect);
    let lines = keymap::help_rows_in(usize::from(inner.width), app.lang);
    let more = lines.len() > offset + usize::from(inner.height);
    let title = if more { Ui::TuiKeysMore } else { Ui::TuiKeys }.text(app.lang);
    frame.render_widget(
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(true))
            .title(title),
        rect,
    );
    for (k, (heading, text)) in lines
        .iter()
        .skip(offset)
        .take(usize::from(inner.height))
        .enumerate()
    {
        let style = if *heading { t.header() } else { Style::new() };
        let y = inner.y + u16::try_from(k).unwrap_or(0);
        line_at(frame, inner, y, Line::styled(text.clone(), style), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_and_pads() {
        assert_eq!(fit("abc", 5, false), "abc  ");
        assert_eq!(fit("abc", 5, true), "  abc");
        assert_eq!(fit("abcdef", 4, false), "abc~");
        assert_eq!(fit("中文中文", 5, false), "中文~");
        assert_eq!(fit("中文中文", 6, false), "中文~ ");
    }

    #[test]
    fn columns_drop_by_priority() {
        let cols = [
            col("a", 10, 0, false, false),
            col("b", 10, 2, false, true),
            col("c", 10, 1, false, false),
        ];
        assert_eq!(choose(&cols, 21), vec![(0, 10), (2, 10)]);
        assert_eq!(choose(&cols, 40), vec![(0, 10), (1, 18), (2, 10)]);
        let two = [col("a", 4, 0, false, true), col("b", 4, 1, false, true)];
        assert_eq!(choose(&two, 20), vec![(0, 9), (1, 10)]);
    }

    #[test]
    fn search_marks_split_spans() {
        let row = Row {
            spans: vec![(Role::Time, "ab".into()), (Role::Plain, "cde".into())],
            item: None,
            logical: 0,
        };
        let l = row_line(&row, Theme::no_color(), "bcd");
        let parts: Vec<&str> = l.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(parts, vec!["a", "b", "cd", "e"]);
    }
}
