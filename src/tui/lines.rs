//! The rows of the session view: the transcript and the findings pane.
//!
//! A session is turned into rows once (when it is opened, when the width or the
//! explanation toggle changes, or when a live snapshot changed it), wrapped to the
//! pane's width, so drawing is a slice of rows: its cost depends on the pane's
//! height only. Each row remembers the exchange (transcript) or the finding
//! (findings pane) it belongs to, which is what the cursor, `n`/`N` and the mouse
//! need.
//!
//! Invariant: every string taken from the model goes through
//! [`crate::text::escape`] or [`crate::text::escape_str`] here, so a row never
//! holds a control character.

use ratatui::text::Span;

use crate::ftp::catalog::Lang;
use crate::ftp::explain;
use crate::i18n::Ui;
use crate::model::{Finding, Outcome, Session, Severity};
use crate::report::text::channel_line_in;
use crate::text::{escape, escape_str};
use crate::time::{TimeView, human_duration};

/// Listing entries shown under a data channel in the transcript (all are in
/// the JSON and the `J` export).
const LISTING_ROWS: usize = 40;

/// What a piece of a row is; the theme turns it into a style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Plain,
    Time,
    /// `C>` and the verb.
    Client,
    /// `S<`.
    Server,
    /// A reply code, coloured by its class.
    Code(u16),
    Explain,
    Note,
    /// A data connection line, coloured by its outcome.
    Data(Outcome),
    Severity(Severity),
    FindingId,
    Evidence,
    Remedy,
    Dim,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub spans: Vec<(Role, String)>,
    /// Transcript: the exchange; findings pane: the finding index.
    pub item: Option<usize>,
    /// Index of the logical line this row is part of.
    pub logical: usize,
}

/// Wrapped rows plus their logical lines (lower-cased text, for search).
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub rows: Vec<Row>,
    /// For each logical line: its first row and its text in lower case.
    pub logical: Vec<(usize, String)>,
    /// For each item (exchange or finding): its first row.
    pub item_start: Vec<usize>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn push(
        &mut self,
        spans: Vec<(Role, String)>,
        indent: usize,
        width: usize,
        item: Option<usize>,
    ) {
        let logical = self.logical.len();
        let text: String = spans.iter().map(|(_, s)| s.as_str()).collect();
        self.logical.push((self.rows.len(), text.to_lowercase()));
        for spans in wrap(&spans, width, indent) {
            self.rows.push(Row {
                spans,
                item,
                logical,
            });
        }
    }

    /// The item of a row, for rows before the first item: none.
    pub fn item_at(&self, row: usize) -> Option<usize> {
        self.rows.get(row).and_then(|r| r.item)
    }

    /// The line filter of the session view: only the items (exchanges with
    /// their replies and data connections) with a line containing `query` (lower
    /// case; explanations are not looked at), or with `negate` only those
    /// without one. Rows outside any item are judged line by line. The items
    /// keep their numbers: a hidden item starts where the next shown row is.
    pub fn keep_matching(&self, query: &str, negate: bool) -> Rows {
        let items = self.item_start.len();
        let mut item_hit = vec![false; items];
        let mut line_hit = vec![false; self.logical.len()];
        for (li, (first, text)) in self.logical.iter().enumerate() {
            let Some(row) = self.rows.get(*first) else {
                continue;
            };
            if row.spans.iter().any(|(r, _)| *r == Role::Explain) || !text.contains(query) {
                continue;
            }
            line_hit[li] = true;
            if let Some(hit) = row.item.and_then(|i| item_hit.get_mut(i)) {
                *hit = true;
            }
        }
        let keep = |row: &Row| {
            let hit = match row.item {
                Some(i) if i < items => item_hit[i],
                _ => line_hit.get(row.logical).copied().unwrap_or(false),
            };
            hit != negate
        };
        // kept_before[r]: rows kept among the first r (a hidden row's new place
        // is the next kept row's).
        let mut kept_before = Vec::with_capacity(self.rows.len() + 1);
        let mut out = Rows::default();
        let mut new_logical = vec![usize::MAX; self.logical.len()];
        for row in &self.rows {
            kept_before.push(out.rows.len());
            if keep(row) {
                let li = row.logical;
                if new_logical[li] == usize::MAX {
                    new_logical[li] = out.logical.len();
                    out.logical
                        .push((out.rows.len(), self.logical[li].1.clone()));
                }
                out.rows.push(Row {
                    spans: row.spans.clone(),
                    item: row.item,
                    logical: new_logical[li],
                });
            }
        }
        kept_before.push(out.rows.len());
        out.item_start = self
            .item_start
            .iter()
            .map(|&r| kept_before.get(r).copied().unwrap_or(out.rows.len()))
            .collect();
        out
    }

    /// Logical lines whose text contains `query` (lower case), as first rows.
    pub fn matches<'a>(&'a self, query: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.logical
            .iter()
            .filter(move |(_, t)| !query.is_empty() && t.contains(query))
            .map(|(r, _)| *r)
    }
}

/// Display width of a character (as the terminal will draw it).
pub fn char_width(c: char) -> usize {
    let mut b = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut b)).width()
}

/// Display width of a string.
pub fn str_width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Word-wrap styled text to `width` columns; continuation rows are indented by
/// `indent` columns. Words longer than a row are cut. Always at least one row.
pub fn wrap(spans: &[(Role, String)], width: usize, indent: usize) -> Vec<Vec<(Role, String)>> {
    let width = width.max(1);
    let indent = if indent + 8 > width { 0 } else { indent };
    let chars: Vec<(char, Role, usize)> = spans
        .iter()
        .flat_map(|(r, s)| s.chars().map(move |c| (c, *r, char_width(c))))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut first = true;
    loop {
        let avail = if first { width } else { width - indent };
        let mut col = 0;
        let mut j = i;
        let mut brk = None;
        while j < chars.len() {
            let w = chars[j].2;
            if col + w > avail {
                break;
            }
            col += w;
            if chars[j].0 == ' ' {
                brk = Some(j + 1);
            }
            j += 1;
        }
        // On the first row, do not break inside the prefix (time, C>, S<).
        let min_break = i + if first { indent } else { 0 };
        let end = if j >= chars.len() || (chars[j].0 == ' ' && j > min_break) {
            j
        } else if let Some(b) = brk.filter(|b| *b > min_break) {
            b
        } else if j == i {
            i + 1
        } else {
            j
        };
        let mut row: Vec<(Role, String)> = Vec::new();
        if !first && indent > 0 {
            row.push((Role::Plain, " ".repeat(indent)));
        }
        let mut stop = end;
        if end < chars.len() {
            while stop > i && chars[stop - 1].0 == ' ' {
                stop -= 1;
            }
        }
        for &(c, r, _) in &chars[i..stop] {
            match row.last_mut() {
                Some((lr, s)) if *lr == r => s.push(c),
                _ => row.push((r, c.to_string())),
            }
        }
        out.push(row);
        i = end;
        if i >= chars.len() {
            break;
        }
        while i < chars.len() && chars[i].0 == ' ' {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        first = false;
    }
    out
}

/// Columns taken by `HH:MM:SS.mmm C> `.
pub const PREFIX: usize = 16;

fn pad() -> (Role, String) {
    (Role::Plain, " ".repeat(PREFIX))
}

/// The transcript of a session: commands, replies (code coloured), explanations
/// when `explain`, each data connection under the exchange that used it (or, if
/// none did, the one that announced it), then the session's anomalies.
pub fn transcript(s: &Session, width: usize, explain: bool, lang: Lang) -> Rows {
    transcript_at(s, width, explain, lang, TimeView::Utc)
}

/// [`transcript`] with times shown as `tv` says (`--time`).
pub fn transcript_at(s: &Session, width: usize, explain: bool, lang: Lang, tv: TimeView) -> Rows {
    let mut rows = Rows::default();
    // Channels no transfer command used are shown under their announcement.
    let mut unused: Vec<Vec<usize>> = vec![Vec::new(); s.exchanges.len()];
    for (ci, d) in s.data_channels.iter().enumerate() {
        if d.command_exchange.is_none() {
            if let Some(v) = unused.get_mut(d.announce_exchange) {
                v.push(ci);
            }
        }
    }
    for (ei, ex) in s.exchanges.iter().enumerate() {
        rows.item_start.push(rows.rows.len());
        let item = Some(ei);
        if let Some(c) = &ex.command {
            let mut sp = vec![
                (Role::Time, format!("{} ", tv.clock(c.ts))),
                (Role::Client, format!("C> {}", escape_str(&c.verb))),
            ];
            if !c.arg.is_empty() {
                sp.push((Role::Plain, format!(" {}", escape(&c.arg.0))));
            }
            if c.telnet_interrupt {
                sp.push((Role::Note, format!("  {}", Ui::AfterTelnetIp.text(lang))));
            }
            if c.unknown {
                sp.push((Role::Note, format!("  {}", Ui::UnknownCommand.text(lang))));
            }
            rows.push(sp, PREFIX, width, item);
            if explain {
                let text = explain::command(&c.verb, &c.arg.0, lang);
                rows.push(
                    vec![pad(), (Role::Explain, escape_str(&text))],
                    PREFIX,
                    width,
                    item,
                );
            }
            for n in &c.notes {
                rows.push(
                    vec![
                        pad(),
                        (
                            Role::Note,
                            format!("{}: {}", Ui::Note.text(lang), escape_str(n.get(lang))),
                        ),
                    ],
                    PREFIX,
                    width,
                    item,
                );
            }
        }
        for r in &ex.replies {
            let lines: Vec<String> = if r.lines.is_empty() {
                vec![format!("{} {}", r.code, escape(&r.text.0))]
            } else {
                r.lines.iter().map(|l| escape(&l.0)).collect()
            };
            let n = lines.len();
            for (i, l) in lines.into_iter().enumerate() {
                let mut sp = if i == 0 {
                    vec![
                        (Role::Time, format!("{} ", tv.clock(r.ts))),
                        (Role::Server, "S< ".to_string()),
                    ]
                } else {
                    vec![pad()]
                };
                let digits = l.len() >= 3 && l.as_bytes()[..3].iter().all(u8::is_ascii_digit);
                if digits {
                    sp.push((Role::Code(r.code), l[..3].to_string()));
                    sp.push((Role::Plain, l[3..].to_string()));
                } else {
                    sp.push((Role::Plain, l));
                }
                if i + 1 == n {
                    if let Some(t) = r.response_time {
                        sp.push((Role::Dim, format!("  (+{})", human_duration(t))));
                    }
                }
                rows.push(sp, PREFIX, width, item);
            }
            let explanation = if explain {
                r.explanation(ex.command.as_ref(), s.server.ip(), lang)
            } else {
                String::new()
            };
            if !explanation.is_empty() {
                rows.push(
                    vec![
                        pad(),
                        (Role::Explain, format!("= {}", escape_str(&explanation))),
                    ],
                    PREFIX,
                    width,
                    item,
                );
            }
            for n in &r.notes {
                rows.push(
                    vec![
                        pad(),
                        (
                            Role::Note,
                            format!("{}: {}", Ui::Note.text(lang), escape_str(n.get(lang))),
                        ),
                    ],
                    PREFIX,
                    width,
                    item,
                );
            }
        }
        let chans = ex
            .data_channel
            .into_iter()
            .chain(unused[ei].iter().copied());
        for ci in chans {
            if let Some(d) = s.data_channels.get(ci) {
                rows.push(
                    vec![
                        pad(),
                        (
                            Role::Data(d.outcome),
                            format!("{} #{}: ", Ui::Data.text(lang), ci + 1),
                        ),
                        (Role::Plain, escape_str(&channel_line_in(d, lang))),
                    ],
                    PREFIX + 9,
                    width,
                    item,
                );
                // What happened to it that the line does not say (a fault the
                // proxy injected, a refused thief).
                for n in &d.notes {
                    rows.push(
                        vec![
                            pad(),
                            (
                                Role::Note,
                                format!(
                                    "         {}: {}",
                                    Ui::Note.text(lang),
                                    escape_str(n.get(lang))
                                ),
                            ),
                        ],
                        PREFIX + 15,
                        width,
                        item,
                    );
                }
                if let Some(l) = d.listing.as_deref() {
                    for (k, r) in crate::report::text::listing_rows(l, lang, LISTING_ROWS)
                        .into_iter()
                        .enumerate()
                    {
                        let indent = if k == 0 { "    " } else { "      " };
                        rows.push(
                            vec![pad(), (Role::Dim, format!("{indent}{r}"))],
                            PREFIX + 9,
                            width,
                            item,
                        );
                    }
                }
                if let Some(t) = d.tcp.as_deref() {
                    let mut parts = vec![
                        pad(),
                        (Role::Dim, "    tcp: ".into()),
                        (Role::Dim, crate::report::text::tcp_line_in(t, lang)),
                    ];
                    if t.series.bytes.len() > 1 {
                        parts.push((
                            Role::Plain,
                            format!("  {}", crate::tui::render::sparkline(&t.series.bytes, 24)),
                        ));
                    }
                    if let Some(l) = crate::diagnose::speed::limit(d) {
                        parts.push((
                            Role::Note,
                            format!("  {}: {}", Ui::Limit.text(lang), l.id()),
                        ));
                    }
                    rows.push(parts, PREFIX + 9, width, item);
                }
            }
        }
    }
    if s.exchanges.is_empty() {
        rows.push(
            vec![(Role::Dim, Ui::NoExchange.text(lang).into())],
            0,
            width,
            None,
        );
    }
    if let Some(tls) = s.tls_description_in(lang) {
        rows.push(vec![(Role::Note, tls)], 5, width, None);
    }
    if let Some(t) = s.tls_info.as_deref() {
        rows.push(
            vec![(
                Role::Note,
                format!(
                    "TLS ({}): {}",
                    crate::i18n::state(t.mode, lang),
                    t.summary_in(lang)
                ),
            )],
            5,
            width,
            None,
        );
    }
    for r in &s.summary {
        rows.push(
            vec![(
                Role::Note,
                format!(
                    "{}: {}",
                    Ui::CountedNotKeptShort.text(lang),
                    crate::report::text::summary_row_in(r, lang)
                ),
            )],
            9,
            width,
            None,
        );
    }
    for a in &s.anomalies {
        rows.push(
            vec![(
                Role::Note,
                format!("{}: {}", Ui::Anomaly.text(lang), escape_str(a.get(lang))),
            )],
            9,
            width,
            None,
        );
    }
    rows
}

pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARN",
        Severity::Info => "info",
    }
}

/// The findings pane: per finding its summary, evidence (frame, time) and remedy.
pub fn findings(fs: &[Finding], width: usize, lang: Lang) -> Rows {
    findings_at(fs, width, TimeView::Utc, lang)
}

/// [`findings`] with times shown as `tv` says (`--time`).
pub fn findings_at(fs: &[Finding], width: usize, tv: TimeView, lang: Lang) -> Rows {
    let mut rows = Rows::default();
    for (fi, f) in fs.iter().enumerate() {
        rows.item_start.push(rows.rows.len());
        let item = Some(fi);
        rows.push(
            vec![
                (
                    Role::Severity(f.severity),
                    severity_label(f.severity).to_string(),
                ),
                (Role::Plain, " ".into()),
                (Role::FindingId, escape_str(f.id)),
                (
                    Role::Plain,
                    format!(": {}", escape_str(f.summary.get(lang))),
                ),
            ],
            4,
            width,
            item,
        );
        for e in &f.evidence {
            let mut at = String::new();
            if let Some(fr) = e.frame {
                at.push_str(&format!(
                    "{} {} ",
                    Ui::Frame.text(lang),
                    crate::capture::merge::FrameLabel(fr)
                ));
            }
            if let Some(ts) = e.ts {
                at.push_str(&format!("{} ", tv.clock(ts)));
            }
            rows.push(
                vec![
                    (Role::Plain, "    ".into()),
                    (Role::Evidence, at),
                    (Role::Plain, escape_str(e.what.get(lang))),
                ],
                6,
                width,
                item,
            );
        }
        if !f.remedy.is_empty() {
            rows.push(
                vec![
                    (Role::Remedy, format!("    {}: ", Ui::Fix.text(lang))),
                    (Role::Plain, escape_str(f.remedy.get(lang))),
                ],
                9,
                width,
                item,
            );
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rows: &[Vec<(Role, String)>]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|(_, s)| s.as_str()).collect())
            .collect()
    }

    #[test]
    fn wraps_on_spaces_with_hanging_indent() {
        let spans = vec![
            (Role::Time, "12:00:00.000 ".to_string()),
            (Role::Plain, "aaa bbb ccc ddd eee".to_string()),
        ];
        let rows = wrap(&spans, 24, 13);
        assert_eq!(
            text(&rows),
            vec!["12:00:00.000 aaa bbb ccc", "             ddd eee"]
        );
        // Roles are kept across the split.
        assert_eq!(rows[0][0].0, Role::Time);
    }

    #[test]
    fn cuts_long_words_and_keeps_empty_lines() {
        assert_eq!(
            text(&wrap(&[(Role::Plain, "abcdefghij".into())], 4, 0)),
            vec!["abcd", "efgh", "ij"]
        );
        assert_eq!(text(&wrap(&[], 10, 0)), vec![""]);
    }

    #[test]
    fn wide_characters_count_twice() {
        let rows = wrap(&[(Role::Plain, "中文中文中文".into())], 8, 0);
        assert_eq!(text(&rows), vec!["中文中文", "中文"]);
    }
}
