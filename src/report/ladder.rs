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

/// A lifeline: a party of the session, drawn as a vertical line.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub x: u32,
    /// Written above it ("client 10.0.0.5:40000").
    pub label: String,
}

/// One arrow between two lifelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub y: u32,
    /// From `x1` to `x2`: a command goes from the client's side to the server's,
    /// a reply back.
    pub x1: u32,
    pub x2: u32,
    /// What is written on it (escaped for display, not for HTML).
    pub label: String,
    /// Shown on hover: the explanation.
    pub title: String,
    /// CSS class: `cmd`, `r1`..`r5` (reply class), `bad` (no valid code).
    pub class: &'static str,
    /// The session and its exchange index (link target).
    pub session: usize,
    pub exchange: usize,
    /// Time at the left margin.
    pub time: String,
}

impl Arrow {
    /// A command (towards the server's side).
    pub fn to_server(&self) -> bool {
        self.x2 > self.x1
    }
}

/// A data connection's column.
#[derive(Debug, Clone, PartialEq)]
pub struct DataBar {
    /// The session and the data channel's index in it (link target).
    pub session: usize,
    pub channel: usize,
    pub x: u32,
    /// The lifeline the announcement is drawn from, and the one the SYN leaves.
    pub ann_x: u32,
    pub syn_x: u32,
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
    pub lanes: Vec<Lane>,
    /// Where the data columns start.
    pub data_x: u32,
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

/// One session drawn between two lifelines.
struct Part<'a> {
    s: &'a Session,
    /// The client's side and the server's side.
    left: u32,
    right: u32,
    /// Put before data-connection labels when the diagram has several parts.
    tag: Tr,
}

/// A lifeline's title: who, and the address.
fn lane_label(who: Tr, addr: std::net::SocketAddr, lang: crate::ftp::catalog::Lang) -> String {
    format!("{} {addr}", who.get(lang))
}

/// Lay out one session. `clock` writes a time for the left margin.
pub fn layout(
    s: &Session,
    clock: &dyn Fn(Ts) -> String,
    lang: crate::ftp::catalog::Lang,
) -> Ladder {
    let lanes = vec![
        Lane {
            x: CLIENT_X,
            label: lane_label(tr!("client", "客户端"), s.client, lang),
        },
        Lane {
            x: SERVER_X,
            label: lane_label(tr!("server", "服务器"), s.server, lang),
        },
    ];
    let part = Part {
        s,
        left: CLIENT_X,
        right: SERVER_X,
        tag: Tr::default(),
    };
    build(&[part], lanes, DATA_X, 60, clock, lang)
}

/// Lifelines of a session seen on both sides of a NAT.
pub const NAT_CLIENT_X: u32 = 130;
pub const NAT_X: u32 = 470;
pub const NAT_SERVER_X: u32 = 810;
pub const NAT_DATA_X: u32 = 950;

/// Lay out one FTP session seen on both sides of a NAT (the `nat-both-sides`
/// pairing): three lifelines, the client, the NAT and the server; the inside half's
/// lines go between the client and the NAT, the outside half's between the NAT and
/// the server, each at its own time, so what the NAT changed on the way (an
/// address rewritten in PORT or 227, or passed unchanged) is read across a row.
pub fn layout_nat(
    inside: &Session,
    outside: &Session,
    clock: &dyn Fn(Ts) -> String,
    lang: crate::ftp::catalog::Lang,
) -> Ladder {
    // Source NAT changes the client's address, destination NAT the server's: the
    // NAT lifeline names what each side sees of it.
    let nat = if inside.client != outside.client {
        format!("NAT {} ⇄ {}", inside.client.ip(), outside.client.ip())
    } else {
        format!("NAT {} ⇄ {}", inside.server.ip(), outside.server.ip())
    };
    let lanes = vec![
        Lane {
            x: NAT_CLIENT_X,
            label: lane_label(tr!("client", "客户端"), inside.client, lang),
        },
        Lane {
            x: NAT_X,
            label: nat,
        },
        Lane {
            x: NAT_SERVER_X,
            label: lane_label(tr!("server", "服务器"), outside.server, lang),
        },
    ];
    let parts = [
        Part {
            s: inside,
            left: NAT_CLIENT_X,
            right: NAT_X,
            tag: tr!("inside ", "内侧"),
        },
        Part {
            s: outside,
            left: NAT_X,
            right: NAT_SERVER_X,
            tag: tr!("outside ", "外侧"),
        },
    ];
    build(&parts, lanes, NAT_DATA_X, 44, clock, lang)
}

fn build(
    parts: &[Part<'_>],
    lanes: Vec<Lane>,
    data_x: u32,
    clip_at: usize,
    clock: &dyn Fn(Ts) -> String,
    lang: crate::ftp::catalog::Lang,
) -> Ladder {
    // The exchanges drawn: the first MAX_ROWS lines' worth (shared by the parts).
    let budget = MAX_ROWS / parts.len().max(1);
    let shown: Vec<usize> = parts
        .iter()
        .map(|p| {
            let (mut rows, mut shown) = (0usize, 0usize);
            for ex in &p.s.exchanges {
                let n = usize::from(ex.command.is_some()) + ex.replies.len();
                if rows + n > budget && shown > 0 {
                    break;
                }
                rows += n;
                shown += 1;
            }
            shown
        })
        .collect();
    let chans: Vec<Vec<(usize, &DataChannel)>> = parts
        .iter()
        .zip(&shown)
        .map(|(p, &n)| {
            p.s.data_channels
                .iter()
                .enumerate()
                .filter(|(_, d)| d.announce_exchange < n)
                .collect()
        })
        .collect();

    let mut times = Vec::new();
    for (p, &n) in parts.iter().zip(&shown) {
        for ex in &p.s.exchanges[..n] {
            if let Some(c) = &ex.command {
                times.push(c.ts);
            }
            times.extend(ex.replies.iter().map(|r| r.ts));
        }
    }
    for (_, d) in chans.iter().flatten() {
        times.push(d.announced_at);
        times.extend(
            [d.start, d.end, d.first_byte, d.last_byte]
                .into_iter()
                .flatten(),
        );
    }
    let axis = TimeAxis::new(times);

    let mut arrows = Vec::new();
    for (p, &n) in parts.iter().zip(&shown) {
        let s = p.s;
        for (ei, ex) in s.exchanges[..n].iter().enumerate() {
            if let Some(c) = &ex.command {
                let mut label = escape_str(&c.verb);
                if !c.arg.is_empty() {
                    label.push(' ');
                    label.push_str(&escape(&c.arg.0));
                }
                arrows.push(Arrow {
                    y: axis.y(c.ts),
                    x1: p.left,
                    x2: p.right,
                    label: clip(&label, clip_at),
                    title: label,
                    class: "cmd",
                    session: s.id,
                    exchange: ei,
                    time: clock(c.ts),
                });
            }
            for r in &ex.replies {
                let text = escape(&r.text.0);
                let label = format!("{} {}", r.code, text.lines().next().unwrap_or(""));
                arrows.push(Arrow {
                    y: axis.y(r.ts),
                    x1: p.right,
                    x2: p.left,
                    label: clip(&label, clip_at),
                    title: format!(
                        "{} {text}\n= {}",
                        r.code,
                        r.explanation(ex.command.as_ref(), s.server.ip(), lang)
                    ),
                    class: reply_class(r.code),
                    session: s.id,
                    exchange: ei,
                    time: clock(r.ts),
                });
            }
        }
    }
    arrows.sort_by_key(|a| a.y);

    // Data columns: the first column free at the announcement.
    let mut busy_until: Vec<u32> = Vec::new();
    let mut data = Vec::new();
    let mut all: Vec<(&Part<'_>, usize, &DataChannel)> = parts
        .iter()
        .zip(&chans)
        .flat_map(|(p, cs)| cs.iter().map(move |(ci, d)| (p, *ci, *d)))
        .collect();
    all.sort_by_key(|(_, _, d)| d.announced_at);
    for (p, ci, d) in all {
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
        let (n, via, outcome, tag) = (
            ci + 1,
            state(d.via.as_str(), lang),
            state(d.outcome.as_str(), lang),
            p.tag.get(lang),
        );
        let mut title = tr!(
            "{tag}data #{n}: {via} {ann} {outcome}",
            "{tag}数据连接 #{n}：{via} {ann} {outcome}"
        )
        .get(lang)
        .to_string();
        if d.bytes > 0 {
            title.push_str(&format!(", {}", human_bytes(d.bytes)));
            if let (Some(a), Some(b)) = (d.first_byte, d.last_byte) {
                let t = human_duration(a.secs_until(b));
                title.push_str(&crate::tr_in!(lang, " in {t}", "，用时 {t}"));
            }
        }
        if d.syns > 1 {
            let n = d.syns;
            title.push_str(&crate::tr_in!(lang, ", {n} SYNs", "，{n} 个 SYN"));
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
        let from_client = d.mode == crate::model::DataMode::Passive;
        data.push(DataBar {
            session: p.s.id,
            channel: ci,
            x: data_x + col as u32 * DATA_STEP,
            ann_x: p.right,
            syn_x: if from_client { p.left } else { p.right },
            y_announce,
            y_start,
            y_end,
            y_first: d.first_byte.map(|t| axis.y(t)),
            y_last: d.last_byte.map(|t| axis.y(t)),
            syns: d.syns,
            from_client,
            class: data_class(d),
            label: format!(
                "{}#{} {label} → {ann}{}",
                p.tag.get(lang),
                ci + 1,
                tls.unwrap_or_default()
            ),
            title,
        });
    }
    let columns = busy_until.len() as u32;
    // An encrypted control connection: what follows the last readable line is TLS.
    let mut height = axis.bottom() + 2 * ROW;
    let bottom = axis.bottom();
    let mut breaks = axis.breaks;
    for p in parts {
        let Some(t) = p.s.tls_info.as_deref() else {
            continue;
        };
        let y = arrows
            .iter()
            .filter(|a| a.session == p.s.id)
            .map(|a| a.y)
            .max()
            .unwrap_or(bottom)
            + ROW;
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
                    "{tag}control encrypted from here: {v}{how}",
                    "{tag}控制连接从这里开始加密：{v}{how}";
                    tag = p.tag,
                    how = how
                )
                .get(lang)
                .to_string()
            },
        });
        height = height.max(y + 2 * ROW);
    }
    Ladder {
        width: data_x + columns * DATA_STEP + 420,
        height,
        lanes,
        data_x,
        arrows,
        data,
        breaks,
        lang,
        omitted: parts
            .iter()
            .zip(&shown)
            .map(|(p, n)| p.s.exchanges.len() - n)
            .sum(),
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
        assert!(user.to_server() && user.class == "cmd");
        let r = l
            .arrows
            .iter()
            .find(|a| a.label.starts_with("230"))
            .unwrap();
        assert!(!r.to_server() && r.class == "r2");
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
    fn a_session_seen_on_both_sides_of_a_nat_gets_three_lifelines() {
        // A capture on the router: the same session with the inside and the
        // outside addresses, paired by the diagnosis.
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures/nat-router-no-alg.pcap");
        let c = crate::engine::analyze_file(&p, TrackerConfig::default()).expect("capture");
        let (i, o) = c
            .findings
            .iter()
            .find_map(crate::diagnose::vantage::pair)
            .expect("the two halves are paired");
        let inside = c.sessions.iter().find(|s| s.id == i).unwrap();
        let outside = c.sessions.iter().find(|s| s.id == o).unwrap();
        let l = layout_nat(
            inside,
            outside,
            &|t| t.clock(),
            crate::ftp::catalog::Lang::En,
        );
        assert_eq!(
            l.lanes.iter().map(|a| a.x).collect::<Vec<_>>(),
            [NAT_CLIENT_X, NAT_X, NAT_SERVER_X]
        );
        assert!(l.lanes[0].label.contains(&inside.client.to_string()));
        assert!(l.lanes[2].label.contains(&outside.server.to_string()));
        assert!(l.lanes[1].label.starts_with("NAT "), "{:?}", l.lanes[1]);
        // Every line of both halves is drawn, each between its own two lifelines.
        let lines = |s: &Session| -> usize {
            s.exchanges
                .iter()
                .map(|e| usize::from(e.command.is_some()) + e.replies.len())
                .sum()
        };
        assert_eq!(l.arrows.len(), lines(inside) + lines(outside));
        for a in &l.arrows {
            let (lo, hi) = (a.x1.min(a.x2), a.x1.max(a.x2));
            if a.session == inside.id {
                assert_eq!((lo, hi), (NAT_CLIENT_X, NAT_X));
            } else {
                assert_eq!(a.session, outside.id);
                assert_eq!((lo, hi), (NAT_X, NAT_SERVER_X));
            }
        }
        // Time runs down across both halves: the inside PORT comes before the
        // outside one (the NAT forwards it), the outside 200 before the inside 200.
        let y = |sid: usize, prefix: &str| {
            l.arrows
                .iter()
                .find(|a| a.session == sid && a.label.starts_with(prefix))
                .map(|a| a.y)
                .unwrap_or_else(|| panic!("{prefix} in session {sid}"))
        };
        assert!(y(inside.id, "PORT") < y(outside.id, "PORT"));
        assert!(y(outside.id, "200 PORT") < y(inside.id, "200 PORT"));
        // The data connections of both halves, tagged, from the right lifelines.
        assert_eq!(
            l.data.len(),
            inside.data_channels.len() + outside.data_channels.len()
        );
        assert!(
            l.data
                .iter()
                .any(|d| d.label.starts_with("inside ") && d.ann_x == NAT_X)
        );
        assert!(
            l.data
                .iter()
                .any(|d| d.label.starts_with("outside ") && d.ann_x == NAT_SERVER_X)
        );
        assert!(l.data.iter().all(|d| d.x >= NAT_DATA_X));
    }

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
