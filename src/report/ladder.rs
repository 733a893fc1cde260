//! The ladder (sequence) diagram of a session: pure layout from the model.
//!
//! Time runs down the page. Every moment something happens (a command, a reply, a
//! data connection's SYN, its first and last byte, its end) gets a row; the space
//! between two rows grows with the logarithm of the time between them, and a pause
//! longer than [`BREAK_S`] is drawn compressed with its length written on it, so a
//! 5 s timeout and a 1 ms exchange are both readable. Commands and replies are
//! arrows between the client's and the server's lifelines; each data connection has
//! a column of its own to the right of the server (reused once the column is free),
//! where a bar spans the connection's life, from its SYN to its end.
//!
//! [`layout`] computes coordinates only (unit-tested); `report::html` draws them.

use crate::i18n::{Tr, state};
use crate::model::{DataChannel, Outcome, Session};
use crate::text::{escape, escape_str};
use crate::time::{Ts, human_bytes, human_duration};
use crate::tr;

/// Pauses longer than this are compressed (a break mark with the pause's length).
pub const BREAK_S: f64 = 1.0;
/// Height of one row, in pixels.
pub const ROW: u32 = 22;
/// Rows drawn at most; the rest of a long session is summarised under the diagram.
pub const MAX_ROWS: usize = 600;

pub const CLIENT_X: u32 = 150;
pub const SERVER_X: u32 = 560;
/// First data column, and the distance between columns.
pub const DATA_X: u32 = 700;
pub const DATA_STEP: u32 = 26;
const TOP: u32 = 46;

/// One arrow between the lifelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub y: u32,
    /// Drawn from the client to the server (a command) or back (a reply).
    pub to_server: bool,
    /// What is written on it (escaped for display, not for HTML).
    pub label: String,
    /// Shown on hover: the explanation.
    pub title: String,
    /// CSS class: `cmd`, `r1`..`r5` (reply class), `bad` (no valid code).
    pub class: &'static str,
    /// Exchange index in the session (link target).
    pub exchange: usize,
    /// Time at the left margin.
    pub time: String,
}

/// A data connection's column.
#[derive(Debug, Clone, PartialEq)]
pub struct DataBar {
    pub channel: usize,
    pub x: u32,
    /// Row of the announcement (227/229 reply, PORT/EPRT command).
    pub y_announce: u32,
    /// SYN (or first packet) and end of the connection, when it was in the capture.
    pub y_start: Option<u32>,
    pub y_end: Option<u32>,
    /// First and last payload byte.
    pub y_first: Option<u32>,
    pub y_last: Option<u32>,
    /// SYNs sent (retransmissions marked).
    pub syns: u32,
    /// The client connects (passive mode); else the server does (active mode).
    pub from_client: bool,
    /// `ok`, `refused`, `unanswered`, `failed`, `none`.
    pub class: &'static str,
    pub label: String,
    pub title: String,
}

/// A compressed pause.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    pub y: u32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    pub width: u32,
    pub height: u32,
    pub client: String,
    pub server: String,
    pub arrows: Vec<Arrow>,
    pub data: Vec<DataBar>,
    pub breaks: Vec<Break>,
    /// Exchanges left out (beyond [`MAX_ROWS`]).
    pub omitted: usize,
    /// The language of the labels.
    pub lang: crate::ftp::catalog::Lang,
}

fn reply_class(code: u16) -> &'static str {
    match code / 100 {
        1 => "r1",
        2 => "r2",
        3 => "r3",
        4 => "r4",
        5 => "r5",
        _ => "bad",
    }
}

fn data_class(d: &DataChannel) -> &'static str {
    match d.outcome {
        Outcome::Completed | Outcome::CompletedPerReplies => "ok",
        Outcome::Refused => "refused",
        Outcome::Unanswered => "unanswered",
        Outcome::NotAttempted | Outcome::NotInCapture | Outcome::Unused | Outcome::Rejected => {
            "none"
        }
        _ => "failed",
    }
}

/// Time to vertical position: the sorted moments of the diagram and their rows.
struct TimeAxis {
    marks: Vec<(Ts, u32)>,
    breaks: Vec<Break>,
}

impl TimeAxis {
    fn new(mut times: Vec<Ts>) -> TimeAxis {
        times.sort_unstable();
        times.dedup();
        let mut marks = Vec::with_capacity(times.len());
        let mut breaks = Vec::new();
        let mut y = TOP;
        let mut prev: Option<Ts> = None;
        for t in times {
            if let Some(p) = prev {
                let gap = p.secs_until(t);
                if gap > BREAK_S {
                    breaks.push(Break {
                        y: y + ROW,
                        label: format!("{} later", human_duration(gap)),
                    });
                    y += 2 * ROW;
                } else {
                    // 1 µs .. 1 s: one row plus up to one more, on a log scale.
                    let extra = ((gap * 1e6).max(1.0).log10() / 6.0).clamp(0.0, 1.0);
                    y += ROW + (extra * ROW as f64) as u32;
                }
            }
            marks.push((t, y));
            prev = Some(t);
        }
        TimeAxis { marks, breaks }
    }

    fn y(&self, t: Ts) -> u32 {
        match self.marks.binary_search_by(|m| m.0.cmp(&t)) {
            Ok(i) => self.marks[i].1,
            Err(0) => self.marks.first().map_or(TOP, |m| m.1),
            Err(i) => self.marks[i - 1].1,
        }
    }

    fn bottom(&self) -> u32 {
        self.marks.last().map_or(TOP, |m| m.1)
    }
}

/// Lay out one session. `clock` writes a time for the left margin.
pub fn layout(
    s: &Session,
    clock: &dyn Fn(Ts) -> String,
    lang: crate::ftp::catalog::Lang,
) -> Ladder {
    // The exchanges drawn: the first MAX_ROWS lines' worth.
    let mut rows = 0usize;
    let mut shown = 0usize;
    for ex in &s.exchanges {
        let n = usize::from(ex.command.is_some()) + ex.replies.len();
        if rows + n > MAX_ROWS && shown > 0 {
            break;
        }
        rows += n;
        shown += 1;
    }
    let exchanges = &s.exchanges[..shown];
    let last_shown = exchanges
        .iter()
        .flat_map(|e| {
            e.command
                .iter()
                .map(|c| c.ts)
                .chain(e.replies.iter().map(|r| r.ts))
        })
        .max();
    let chans: Vec<(usize, &DataChannel)> = s
        .data_channels
        .iter()
        .enumerate()
        .filter(|(_, d)| d.announce_exchange < shown)
        .collect();

    let mut times = Vec::new();
    for ex in exchanges {
        if let Some(c) = &ex.command {
            times.push(c.ts);
        }
        times.extend(ex.replies.iter().map(|r| r.ts));
    }
    for (_, d) in &chans {
        times.push(d.announced_at);
        times.extend(
            [d.start, d.end, d.first_byte, d.last_byte]
                .into_iter()
                .flatten(),
        );
    }
    let axis = TimeAxis::new(times);

    let mut arrows = Vec::new();
    for (ei, ex) in exchanges.iter().enumerate() {
        if let Some(c) = &ex.command {
            let mut label = escape_str(&c.verb);
            if !c.arg.is_empty() {
                label.push(' ');
                label.push_str(&escape(&c.arg.0));
            }
            arrows.push(Arrow {
                y: axis.y(c.ts),
                to_server: true,
                label: clip(&label, 60),
                title: label,
                class: "cmd",
                exchange: ei,
                time: clock(c.ts),
            });
        }
        for r in &ex.replies {
            let text = escape(&r.text.0);
            let label = format!("{} {}", r.code, text.lines().next().unwrap_or(""));
            arrows.push(Arrow {
                y: axis.y(r.ts),
                to_server: false,
                label: clip(&label, 60),
                title: format!(
                    "{} {text}\n= {}",
                    r.code,
                    r.explanation(ex.command.as_ref(), s.server.ip(), lang)
                ),
                class: reply_class(r.code),
                exchange: ei,
                time: clock(r.ts),
            });
        }
    }

    // Data columns: the first column free at the announcement.
    let mut busy_until: Vec<u32> = Vec::new();
    let mut data = Vec::new();
    for (ci, d) in chans {
        let y_announce = axis.y(d.announced_at);
        let y_start = d.start.map(|t| axis.y(t));
        let y_end = d.end.map(|t| axis.y(t)).or(y_start);
        let top = y_start.unwrap_or(y_announce).min(y_announce);
        let bottom = y_end.unwrap_or(y_announce).max(y_announce) + ROW / 2;
        let col = busy_until.iter().position(|b| *b < top).unwrap_or_else(|| {
            busy_until.push(0);
            busy_until.len() - 1
        });
        busy_until[col] = bottom;
        let ann = d.announced.map_or("?".to_string(), |a| a.to_string());
        let mut label = d.command.as_deref().map_or(String::new(), escape_str);
        if let Some(a) = d.arg.as_ref().filter(|a| !a.is_empty()) {
            label.push(' ');
            label.push_str(&clip(&escape(&a.0), 40));
        }
        let (n, via, outcome) = (
            ci + 1,
            state(d.via.as_str(), lang),
            state(d.outcome.as_str(), lang),
        );
        let mut title = tr!(
            "data #{n}: {via} {ann} {outcome}",
            "数据连接 #{n}：{via} {ann} {outcome}"
        )
        .get(lang)
        .to_string();
        if d.bytes > 0 {
            title.push_str(&format!(", {}", human_bytes(d.bytes)));
            if let (Some(a), Some(b)) = (d.first_byte, d.last_byte) {
                let t = human_duration(a.secs_until(b));
                title.push_str(tr!(" in {t}", "，用时 {t}").get(lang));
            }
        }
        if d.syns > 1 {
            let n = d.syns;
            title.push_str(tr!(", {n} SYNs", "，{n} 个 SYN").get(lang));
        }
        // TLS on the data connection: full or resumed handshake, or PROT C.
        let tls = d.tls.as_deref().map(|t| {
            title.push_str(&format!("\nTLS: {}", t.summary_in(lang)));
            if t.mode == "clear" {
                tr!(" [clear, PROT C]", " [明文，PROT C]")
                    .get(lang)
                    .to_string()
            } else {
                let how = match t.resumed {
                    Some(true) => tr!("resumed", "恢复会话"),
                    Some(false) => tr!("full handshake", "完整握手"),
                    None => tr!("handshake not seen", "未看到握手"),
                };
                format!(" [{} {}]", t.version.unwrap_or("TLS"), how.get(lang))
            }
        });
        data.push(DataBar {
            channel: ci,
            x: DATA_X + col as u32 * DATA_STEP,
            y_announce,
            y_start,
            y_end,
            y_first: d.first_byte.map(|t| axis.y(t)),
            y_last: d.last_byte.map(|t| axis.y(t)),
            syns: d.syns,
            from_client: d.mode == crate::model::DataMode::Passive,
            class: data_class(d),
            label: format!("#{} {label} → {ann}{}", ci + 1, tls.unwrap_or_default()),
            title,
        });
    }
    let columns = busy_until.len() as u32;
    let _ = last_shown;
    // An encrypted control connection: what follows the last readable line is TLS.
    let mut height = axis.bottom() + 2 * ROW;
    let bottom = axis.bottom();
    let mut breaks = axis.breaks;
    if let Some(t) = s.tls_info.as_deref() {
        let y = arrows.iter().map(|a| a.y).max().unwrap_or(bottom) + ROW;
        breaks.push(Break {
            y,
            label: {
                let v = t.version.unwrap_or("TLS");
                let how = match t.resumed {
                    Some(true) => tr!(", resumed", "，恢复会话"),
                    Some(false) => tr!(", full handshake", "，完整握手"),
                    None => Tr::default(),
                };
                tr!(
                    "control encrypted from here: {v}{how}",
                    "控制连接从这里开始加密：{v}{how}";
                    how = how
                )
                .get(lang)
                .to_string()
            },
        });
        height = height.max(y + 2 * ROW);
    }
    Ladder {
        width: DATA_X + columns * DATA_STEP + 420,
        height,
        client: s.client.to_string(),
        server: s.server.to_string(),
        arrows,
        data,
        breaks,
        lang,
        omitted: s.exchanges.len() - shown,
    }
}

/// At most `n` characters, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::TrackerConfig;

    fn session(name: &str) -> Session {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name);
        let c = crate::engine::analyze_file(&p, TrackerConfig::default()).expect("capture");
        c.sessions.into_iter().next().expect("a session")
    }

    #[test]
    fn rows_go_down_in_time_and_long_pauses_are_compressed() {
        // passive-dropped: the client waits seconds for an unanswered SYN.
        let s = session("passive-dropped.pcap");
        let l = layout(&s, &|t| t.clock(), crate::ftp::catalog::Lang::En);
        let ys: Vec<u32> = l.arrows.iter().map(|a| a.y).collect();
        assert!(ys.windows(2).all(|w| w[0] <= w[1]), "{ys:?}");
        assert!(
            !l.breaks.is_empty(),
            "a pause of seconds is drawn as a break"
        );
        // However long the pauses, no step down is more than two rows: the height is
        // bounded by the number of moments drawn.
        let moments = l.arrows.len() + 4 * l.data.len() + l.breaks.len();
        assert!(
            l.height <= TOP + (moments as u32 + 2) * 2 * ROW,
            "{}",
            l.height
        );
        assert!(l.height > *ys.last().unwrap());
        // One bar per data channel, the unanswered one marked so.
        assert_eq!(l.data.len(), s.data_channels.len());
        assert!(
            l.data.iter().any(|d| d.class == "unanswered"),
            "{:?}",
            l.data
        );
    }

    #[test]
    fn commands_go_right_replies_left_with_their_class() {
        let s = session("passive-ok.pcapng");
        let l = layout(&s, &|t| t.clock(), crate::ftp::catalog::Lang::En);
        let user = l
            .arrows
            .iter()
            .find(|a| a.label.starts_with("USER"))
            .unwrap();
        assert!(user.to_server && user.class == "cmd");
        let r = l
            .arrows
            .iter()
            .find(|a| a.label.starts_with("230"))
            .unwrap();
        assert!(!r.to_server && r.class == "r2");
        assert!(l.arrows.iter().any(|a| a.label.starts_with("PASS ****")));
        assert!(
            !l.arrows
                .iter()
                .any(|a| a.label.contains("PASS ") && !a.label.contains("****"))
        );
        // Two data connections, one after the other: one column is enough.
        assert_eq!(l.data.len(), 2);
        assert_eq!(l.data[0].x, l.data[1].x);
        assert!(
            l.data
                .iter()
                .all(|d| d.class == "ok" && d.y_start.is_some())
        );
        let d = &l.data[1];
        assert!(d.y_announce <= d.y_start.unwrap() && d.y_start <= d.y_end);
        assert!(d.label.contains("RETR sample.bin") && d.label.contains("10.1.0.1:40001"));
    }

    #[test]
    fn tls_handshakes_are_marked() {
        let s = session("ftps-curl-tls12.pcap");
        let l = layout(&s, &|t| t.clock(), crate::ftp::catalog::Lang::En);
        assert!(
            l.breaks
                .iter()
                .any(|b| b.label.contains("control encrypted from here: TLS 1.2"))
        );
        assert!(!l.data.is_empty());
        assert!(
            l.data.iter().all(|d| d.label.contains("[TLS 1.2 resumed]")),
            "{:?}",
            l.data
        );
        // PROT C: the data connection is marked clear.
        let s = session("ftps-prot-c.pcap");
        let l = layout(&s, &|t| t.clock(), crate::ftp::catalog::Lang::En);
        assert!(
            l.data.iter().any(|d| d.label.contains("[clear, PROT C]")),
            "{:?}",
            l.data
        );
    }

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
