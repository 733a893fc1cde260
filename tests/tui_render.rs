//! Rendering tests: every view drawn into ratatui's `TestBackend` from real
//! captures, at 80x24 and 160x48, compared with reviewed insta snapshots.
//!
//! The findings are replaced by fixed ones made here, so these snapshots change
//! when the TUI or the tracker's output changes, not when a diagnosis rule's
//! wording does (the diagnosis has its own golden tests).

use std::path::Path;

use ftpscope::i18n::Tr;
use ftpscope::model::{Capture, Evidence, Finding, Severity};
use ftpscope::session::TrackerConfig;
use ftpscope::tui::app::{Action, App, Options};
use ftpscope::tui::keymap::Cmd;
use ftpscope::tui::theme::Theme;
use ftpscope::tui::{render, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn load(name: &str) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    ftpscope::engine::analyze_file(&path, TrackerConfig::default())
        .unwrap_or_else(|e| panic!("analyse {name}: {e}"))
}

fn exchange_of(c: &Capture, session: usize, verb: &str) -> usize {
    c.sessions[session]
        .exchanges
        .iter()
        .position(|e| e.verb() == Some(verb))
        .unwrap_or_else(|| panic!("no {verb} in session {session}"))
}

fn finding(id: &'static str, severity: Severity, summary: &str, exchange: usize) -> Finding {
    Finding {
        id,
        severity,
        summary: Tr::verbatim(summary),
        evidence: vec![
            Evidence {
                what: Tr::verbatim("client sent the command"),
                ts: None,
                frame: Some(17),
                exchange: Some(exchange),
            },
            Evidence {
                what: Tr::verbatim("nothing answered"),
                ts: None,
                frame: None,
                exchange: None,
            },
        ],
        remedy: Tr::verbatim(
            "Open the passive port range in the server's firewall; until then active mode may work if the client accepts connections.",
        ),
        ..Default::default()
    }
}

/// passive-refused with one fixed finding citing the PASV exchange.
fn passive_refused() -> Capture {
    let mut c = load("passive-refused.pcap");
    c.findings.clear();
    for s in &mut c.sessions {
        s.findings.clear();
    }
    let ex = exchange_of(&c, 0, "PASV");
    c.sessions[0].findings.push(finding(
        "passive-data-refused",
        Severity::Error,
        "the data connection to the announced port was refused with RST",
        ex,
    ));
    c
}

/// multi-session with fixed findings on sessions 2 and 3.
fn multi_session() -> Capture {
    let mut c = load("multi-session.pcap");
    c.findings.clear();
    for s in &mut c.sessions {
        s.findings.clear();
    }
    let ex = exchange_of(&c, 1, "EPSV");
    c.sessions[1].findings.push(finding(
        "passive-data-refused",
        Severity::Error,
        "refused",
        ex,
    ));
    let ex = exchange_of(&c, 2, "AUTH");
    c.sessions[2].findings.push(finding(
        "command-unsupported",
        Severity::Warning,
        "the server answered 500 to AUTH",
        ex,
    ));
    c.sessions[2].findings.push(finding(
        "passive-data-refused",
        Severity::Warning,
        "a second one",
        ex,
    ));
    c
}

fn app(c: Capture, name: &str) -> App {
    App::new(
        c,
        name,
        Options {
            theme: Theme::no_color(),
            ..Options::default()
        },
    )
}

fn draw(app: &mut App, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    update(app, Action::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| render(f, app)).expect("draw");
    t
}

fn cmd(app: &mut App, c: Cmd) {
    update(app, Action::Cmd(c));
}

fn snap(name: &str, app: &mut App) {
    for size in SIZES {
        let t = draw(app, size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), t.backend());
    }
}

#[test]
fn sessions_view() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    snap("sessions", &mut a);
}

#[test]
fn sessions_view_filtered_and_sorted() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    cmd(&mut a, Cmd::Filter);
    for c in "status:warning".chars() {
        update(&mut a, Action::Input(c));
    }
    cmd(&mut a, Cmd::Open);
    cmd(&mut a, Cmd::Sort);
    snap("sessions_filtered", &mut a);
}

#[test]
fn session_view_with_finding() {
    let mut a = app(passive_refused(), "captures/passive-refused.pcap");
    cmd(&mut a, Cmd::Open);
    snap("session", &mut a);
}

#[test]
fn session_view_after_next_finding_without_explanations() {
    let mut a = app(passive_refused(), "captures/passive-refused.pcap");
    cmd(&mut a, Cmd::Open);
    cmd(&mut a, Cmd::Explain);
    cmd(&mut a, Cmd::NextFinding);
    snap("session_next_finding", &mut a);
}

#[test]
fn session_view_search_prompt() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    cmd(&mut a, Cmd::Open);
    cmd(&mut a, Cmd::Search);
    for c in "list".chars() {
        update(&mut a, Action::Input(c));
    }
    snap("session_search", &mut a);
}

#[test]
fn data_view() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    cmd(&mut a, Cmd::ShowData);
    snap("data", &mut a);
}

/// The data view names the limit of each slow transfer and draws its throughput
/// over time (the slow-transfer lab captures, merged: real diagnosis, not fixed
/// findings).
#[test]
fn data_view_of_slow_transfers() {
    let mut c = load("slow-window-limited.pcap");
    for name in [
        "slow-rate-limit.pcap",
        "slow-receiver-stalled.pcap",
        "slow-loss.pcap",
    ] {
        let more = load(name);
        c.sessions.extend(more.sessions);
    }
    for (i, s) in c.sessions.iter_mut().enumerate() {
        s.id = i + 1;
    }
    let mut a = app(c, "slow transfers");
    cmd(&mut a, Cmd::ShowData);
    let t = draw(&mut a, (160, 48));
    let screen = cells(&t);
    for limit in ["window", "sender", "receiver", "loss"] {
        assert!(
            screen.contains(&format!(" {limit} ")),
            "no {limit} in\n{screen}"
        );
    }
    assert!(screen.contains("Rate over time"), "{screen}");
    // The rate-limited transfer pauses: its sparkline has gaps between bars.
    let line = screen
        .lines()
        .find(|l| l.contains(" sender "))
        .expect("the rate-limited transfer");
    assert!(line.contains('█') && line.contains("   "), "{line}");
    snap("data_slow", &mut a);
}

#[test]
fn findings_view() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    cmd(&mut a, Cmd::ShowFindings);
    snap("findings", &mut a);
}

#[test]
fn help_overlay() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    cmd(&mut a, Cmd::Help);
    snap("help", &mut a);
}

#[test]
fn loading_gauge() {
    let mut a = App::loading(
        "captures/big.pcap",
        4 << 20,
        Options {
            theme: Theme::no_color(),
            ..Options::default()
        },
    );
    update(
        &mut a,
        Action::Progress {
            bytes: 1 << 20,
            packets: 4096,
            elapsed: std::time::Duration::from_secs(2),
        },
    );
    snap("loading", &mut a);
    // Sessions that ended are listed under the gauge while the file is read.
    let c = multi_session();
    update(&mut a, Action::Append(c.sessions[..2].to_vec()));
    snap("loading_with_sessions", &mut a);
}

#[test]
fn too_small_terminal_says_so() {
    let mut a = app(multi_session(), "captures/multi-session.pcap");
    let t = draw(&mut a, (30, 8));
    let text = t.backend().to_string();
    assert!(text.contains("terminal too small"), "{text}");
}

/// Every cell of the buffer, as text.
fn cells(t: &Terminal<TestBackend>) -> String {
    t.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

#[test]
fn wire_controls_are_shown_escaped() {
    let mut c = passive_refused();
    let hostile = b"220 hi\x1b[2J\x07 \xe2\x80\xae evil".to_vec();
    {
        let s = &mut c.sessions[0];
        let r = &mut s.exchanges[0].replies[0];
        r.lines = vec![ftpscope::model::Bytes(hostile.clone())];
        r.text = ftpscope::model::Bytes(hostile[4..].to_vec());
        s.user = Some(ftpscope::model::Bytes(b"u\x1b[31mser".to_vec()));
        let ex = exchange_of(&c, 0, "PWD");
        let cmd = c.sessions[0].exchanges[ex].command.as_mut().unwrap();
        cmd.arg = ftpscope::model::Bytes(b"\x9b6n\xe2\x81\xa6x".to_vec());
        c.sessions[0].findings[0].summary = Tr::verbatim("bad \u{202e} summary \u{1b}[2J");
        c.sessions[0]
            .anomalies
            .push(Tr::verbatim("garbage \u{0}\u{8} line"));
    }
    let mut a = app(c, "captures/\u{1b}[2Jname.pcap");
    let check = |t: &Terminal<TestBackend>| {
        let text = cells(t);
        for ch in text.chars() {
            assert!(
                !ch.is_control()
                    && !matches!(ch, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'),
                "raw control or bidi character {:?} reached the terminal buffer",
                ch
            );
        }
        text
    };
    let t = draw(&mut a, (160, 48));
    let text = check(&t);
    assert!(
        text.contains(r"u\x1b[31mser"),
        "user escaped in the list:\n{text}"
    );
    cmd(&mut a, Cmd::Open);
    let t = draw(&mut a, (160, 48));
    let text = check(&t);
    assert!(text.contains(r"220 hi\x1b[2J\x07 \u{202e} evil"), "{text}");
    assert!(text.contains(r"\u{202e} summary \x1b[2J"));
    assert!(text.contains(r"\x9b6n\u{2066}x"));
    assert!(text.contains(r"user u\x1b[31mser"));
    assert!(text.contains(r"garbage \x00\x08 line"));
    for view in [Cmd::ShowSessions, Cmd::ShowData, Cmd::ShowFindings] {
        cmd(&mut a, view);
        check(&draw(&mut a, (80, 24)));
    }
}

#[test]
fn no_color_means_no_colour_and_reply_classes_are_coloured_otherwise() {
    let mut a = app(passive_refused(), "x.pcap");
    cmd(&mut a, Cmd::Open);
    let t = draw(&mut a, (160, 48));
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "NO_COLOR theme used a colour"
    );

    let mut a = App::new(
        passive_refused(),
        "x.pcap",
        Options {
            theme: Theme { color: true },
            ..Options::default()
        },
    );
    cmd(&mut a, Cmd::Open);
    let t = draw(&mut a, (160, 48));
    let buf = t.backend().buffer();
    // Find "230" (2xx green) and "227" after "S< ".
    let text = cells(&t);
    let colour_of = |needle: &str| {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not shown"));
        let idx = text[..at].chars().count() + 3;
        buf.content()[idx].fg
    };
    assert_eq!(colour_of("S< 230"), Color::Green);
    assert_eq!(colour_of("S< 331"), Color::Blue);
    assert_eq!(colour_of("S< 220"), Color::Green);
    // Only the 16 basic colours are used.
    for c in buf.content() {
        for col in [c.fg, c.bg] {
            assert!(
                !matches!(col, Color::Rgb(..) | Color::Indexed(_)),
                "colour outside the 16 basic ones: {col:?}"
            );
        }
    }
}

/// The text of one row of the screen.
fn row(t: &Terminal<TestBackend>, y: u16) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect::<String>()
}

/// Issue 14: at 80 columns the title and the hint row were cut mid-word ("2 fin",
/// "q qui"). They now drop whole parts, least important first: every row ends
/// with a whole part, and the program name, the findings and `q quit` stay.
#[test]
fn title_and_hints_drop_whole_parts_at_80_columns() {
    let long =
        "/srv/captures/customer-escalations/2026-11-23/ftp-upload-failures/multi-session.pcap";
    let mut a = app(multi_session(), long);
    snap("narrow_title", &mut a);
    for (w, h) in [(80, 24), (60, 20), (40, 10)] {
        let t = draw(&mut a, (w, h));
        let title = row(&t, 0);
        assert!(title.starts_with(" ftpscope "), "{title:?}");
        assert!(title.contains("3 findings (1 error)"), "{w}x{h}: {title:?}");
        let hints = row(&t, h - 1);
        assert!(hints.contains("q quit"), "{w}x{h}: {hints:?}");
        assert!(hints.contains("? help"), "{w}x{h}: {hints:?}");
        // Each hint is whole: a key, a space, its words.
        for part in hints.split("  ").map(str::trim).filter(|p| !p.is_empty()) {
            assert!(
                [
                    "Enter open",
                    "Tab view",
                    "f filter",
                    "s sort",
                    "n next finding",
                    "? help",
                    "q quit"
                ]
                .contains(&part),
                "{w}x{h}: cut hint {part:?} in {hints:?}"
            );
        }
    }
    // Wide enough: the whole path.
    let t = draw(&mut a, (160, 48));
    assert!(row(&t, 0).contains(long));
}

/// Issue 14: the findings pane gets at least a third of the screen when the
/// session's findings need it.
#[test]
fn findings_pane_gets_a_third_of_the_height() {
    let mut c = passive_refused();
    let ex = exchange_of(&c, 0, "PASV");
    for _ in 0..5 {
        c.sessions[0].findings.push(finding(
            "passive-data-refused",
            Severity::Warning,
            "another",
            ex,
        ));
    }
    let mut a = app(c, "captures/passive-refused.pcap");
    cmd(&mut a, Cmd::Open);
    for (w, h) in SIZES {
        update(&mut a, Action::Resize(w, h));
        let r = ftpscope::tui::layout::regions(&a, ratatui::layout::Rect::new(0, 0, w, h));
        let f = r.findings.expect("a findings pane");
        assert!(f.height >= h.div_ceil(3), "{w}x{h}: findings pane {f:?}");
        assert!(
            r.transcript.height >= 5,
            "{w}x{h}: transcript {:?}",
            r.transcript
        );
    }
}

/// A capture file cut in the middle of a packet.
fn cut_capture() -> (tempfile::TempDir, std::path::PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/passive-refused.pcap");
    let bytes = std::fs::read(&src).expect("read capture");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cut.pcap");
    std::fs::write(&path, &bytes[..bytes.len() - 7]).expect("write cut capture");
    (dir, path)
}

/// Issue 14: a truncated capture file is marked in the title and its finding is
/// listed, as the text report says it (the TUI said "ok, 0 findings").
#[test]
fn cut_capture_is_marked_in_the_title_and_listed() {
    let (_dir, path) = cut_capture();
    let c = ftpscope::engine::analyze_file(&path, TrackerConfig::default()).expect("analyse");
    assert!(c.stats.read_error.is_some(), "the file should be cut");
    let mut a = app(c, "cut.pcap");
    for size in SIZES {
        let t = draw(&mut a, size);
        let title = row(&t, 0);
        assert!(title.contains("CUT FILE"), "{title:?}");
        assert!(
            title.contains("(1 warning)") || title.contains("error"),
            "{title:?}"
        );
    }
    cmd(&mut a, Cmd::ShowFindings);
    let t = draw(&mut a, (80, 24));
    let screen: Vec<String> = (0..24).map(|y| row(&t, y)).collect();
    assert!(
        screen.iter().any(|l| l.contains("capture-file-truncated")),
        "{screen:#?}"
    );
    // The same through the file UI's path (streamed, findings handed over at the end).
    let mut s = App::loading(
        "cut.pcap",
        0,
        Options {
            theme: Theme::no_color(),
            ..Options::default()
        },
    );
    let mut sessions = Vec::new();
    let (stats, findings) =
        ftpscope::engine::stream_file(&path, TrackerConfig::default(), &mut |x| sessions.push(x))
            .expect("stream");
    update(&mut s, Action::Append(sessions));
    update(
        &mut s,
        Action::Done {
            stats: Box::new(stats),
            findings,
        },
    );
    let t = draw(&mut s, (80, 24));
    assert!(row(&t, 0).contains("CUT FILE"), "{:?}", row(&t, 0));
}

/// `--time relative` and `--time local` reach the lists and the transcript.
#[test]
fn times_follow_the_time_option() {
    let c = passive_refused();
    let first = c.stats.first.expect("a first packet");
    let mut a = App::new(
        c,
        "captures/passive-refused.pcap",
        Options {
            theme: Theme::no_color(),
            time: ftpscope::time::TimeView::Relative(first),
            ..Options::default()
        },
    );
    let t = draw(&mut a, (160, 48));
    let list = row(&t, 3);
    assert!(list.contains(" s"), "{list:?}");
    assert!(!list.contains("11-23 20:24"), "{list:?}");
    cmd(&mut a, Cmd::Open);
    let t = draw(&mut a, (160, 48));
    let screen: Vec<String> = (0..48).map(|y| row(&t, y)).collect();
    assert!(
        screen.iter().any(|l| l.contains("       0.007 S< 220")),
        "{screen:#?}"
    );
    assert!(
        !screen.iter().any(|l| l.contains("20:24:51.749")),
        "{screen:#?}"
    );
}

/// The line filter of the session view keeps the exchanges with a matching line.
#[test]
fn line_filter_keeps_matching_exchanges() {
    let mut a = app(passive_refused(), "captures/passive-refused.pcap");
    cmd(&mut a, Cmd::Open);
    cmd(&mut a, Cmd::Explain);
    cmd(&mut a, Cmd::LineFilter);
    for c in "pasv".chars() {
        update(&mut a, Action::Input(c));
    }
    snap("session_line_filter", &mut a);
    let t = draw(&mut a, (160, 48));
    let screen: Vec<String> = (0..48).map(|y| row(&t, y)).collect();
    assert!(screen.iter().any(|l| l.contains("C> PASV")), "{screen:#?}");
    assert!(!screen.iter().any(|l| l.contains("C> USER")), "{screen:#?}");
    // Esc keeps what was there before the prompt; Enter keeps the filter, Esc
    // then clears it.
    cmd(&mut a, Cmd::Open);
    cmd(&mut a, Cmd::Back);
    let t = draw(&mut a, (160, 48));
    let screen: Vec<String> = (0..48).map(|y| row(&t, y)).collect();
    assert!(screen.iter().any(|l| l.contains("C> USER")), "{screen:#?}");
    // Negated: the PASV exchange is hidden.
    cmd(&mut a, Cmd::LineFilter);
    for c in "!pasv".chars() {
        update(&mut a, Action::Input(c));
    }
    let t = draw(&mut a, (160, 48));
    let screen: Vec<String> = (0..48).map(|y| row(&t, y)).collect();
    assert!(!screen.iter().any(|l| l.contains("C> PASV")), "{screen:#?}");
    assert!(screen.iter().any(|l| l.contains("C> USER")), "{screen:#?}");
}

/// A capture whose packets were cut by its snaplen says so in the title (the
/// text report's header note), beside the session's capture-truncated finding.
#[test]
fn snaplen_cut_capture_is_marked_in_the_title() {
    let mut a = app(
        load("capture-truncated.pcap"),
        "captures/capture-truncated.pcap",
    );
    for size in SIZES {
        let t = draw(&mut a, size);
        let title = row(&t, 0);
        // A note, not a warning: at 80 columns it gives way to the counts.
        assert_eq!(title.contains("CUT BY SNAPLEN"), size.0 > 80, "{title:?}");
        assert!(title.contains("1 finding (1 warning)"), "{title:?}");
    }
}

/// `x` writes the selected session's packets next to where the UI runs and says
/// where; without a capture file to read again it says why not.
#[test]
fn x_writes_the_sessions_packets() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/multi-session.pcap");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut a = App::new(
        multi_session(),
        "captures/multi-session.pcap",
        Options {
            theme: Theme::no_color(),
            export: vec![capture],
            ..Options::default()
        },
    );
    update(&mut a, Action::Resize(80, 24));
    cmd(&mut a, Cmd::Down);
    cmd(&mut a, Cmd::Down);
    cmd(&mut a, Cmd::WritePcap);
    for e in a.take_effects() {
        ftpscope::tui::export::perform(&mut a, &e, dir.path());
    }
    let out = dir.path().join("ftpscope-session-3.pcapng");
    let m = a.message().expect("a message").to_string();
    assert!(m.contains("packets of session 3"), "{m}");
    assert!(m.contains("ftpscope-session-3.pcapng"), "{m}");
    let mut r = ftpscope::capture::CaptureReader::new(std::fs::File::open(&out).expect("written"))
        .expect("a capture");
    let mut n = 0;
    while r.next_packet().expect("packet").is_some() {
        n += 1;
    }
    assert!(m.contains(&format!("wrote {n} packets")), "{m}");
    assert!(n > 10, "{n}");
    // No capture file (standard input, a live source without a record).
    let mut b = app(multi_session(), "-");
    cmd(&mut b, Cmd::WritePcap);
    assert!(b.take_effects().is_empty());
    assert!(b.message().expect("why not").contains("no capture file"));
}
