//! Key-driven tests of the TUI state, without a terminal: key events go through
//! the key table and `update` exactly as in the event loop.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use ftpscope::i18n::Tr;
use ftpscope::model::{Capture, Evidence, Finding, Session, Severity};
use ftpscope::session::TrackerConfig;
use ftpscope::tui::app::{Action, App, Effect, FindingRow, MouseKind, Options, SortKey, View};
use ftpscope::tui::theme::Theme;
use ftpscope::tui::{LiveUpdate, ended_since, handle_event, update};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

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

fn finding(id: &'static str, severity: Severity, exchange: Option<usize>) -> Finding {
    Finding {
        id,
        severity,
        summary: Tr::verbatim(format!("{id} summary")),
        evidence: vec![Evidence {
            what: Tr::verbatim("evidence"),
            ts: None,
            frame: None,
            exchange,
        }],
        remedy: Tr::verbatim("remedy"),
        ..Default::default()
    }
}

/// The first three sessions of multi-session (two Python ftplib sessions, PASV
/// then EPSV; one lftp session with EPSV), with fixed findings: session 2 has
/// an error at its EPSV, session 3 a warning at AUTH and an info at LIST.
fn multi() -> Capture {
    let mut c = load("multi-session.pcap");
    c.sessions.truncate(3);
    c.findings.clear();
    for s in &mut c.sessions {
        s.findings.clear();
    }
    let epsv = exchange_of(&c, 1, "EPSV");
    c.sessions[1]
        .findings
        .push(finding("passive-data-refused", Severity::Error, Some(epsv)));
    let auth = exchange_of(&c, 2, "AUTH");
    let list = exchange_of(&c, 2, "LIST");
    c.sessions[2].findings.push(finding(
        "command-unsupported",
        Severity::Warning,
        Some(auth),
    ));
    c.sessions[2]
        .findings
        .push(finding("transfer-slow", Severity::Info, Some(list)));
    c
}

fn opts(live: bool) -> Options {
    Options {
        theme: Theme::no_color(),
        live,
        ..Options::default()
    }
}

fn new_app(c: Capture) -> App {
    let mut a = App::new(c, "test.pcap", opts(false));
    update(&mut a, Action::Resize(80, 24));
    a
}

fn press(app: &mut App, code: KeyCode) {
    handle_event(app, &Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        let m = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        handle_event(app, &Event::Key(KeyEvent::new(KeyCode::Char(c), m)));
    }
}

fn selected_id(app: &App) -> usize {
    app.selected_session().expect("a selected session").id
}

fn listed_ids(app: &App) -> Vec<usize> {
    app.listed_sessions().map(|s| s.id).collect()
}

#[test]
fn list_navigation() {
    let mut a = new_app(multi());
    assert_eq!(a.view(), View::Sessions);
    assert_eq!(selected_id(&a), 1);
    keys(&mut a, "j");
    assert_eq!(selected_id(&a), 2);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    assert_eq!(selected_id(&a), 3, "stops at the last row");
    keys(&mut a, "g");
    assert_eq!(selected_id(&a), 1);
    keys(&mut a, "G");
    assert_eq!(selected_id(&a), 3);
    press(&mut a, KeyCode::Home);
    assert_eq!(selected_id(&a), 1);
    press(&mut a, KeyCode::PageDown);
    assert_eq!(selected_id(&a), 3);
    press(&mut a, KeyCode::PageUp);
    assert_eq!(selected_id(&a), 1);
    keys(&mut a, "k");
    assert_eq!(selected_id(&a), 1, "stops at the first row");
}

#[test]
fn tab_cycles_views_and_enter_esc_open_and_close() {
    let mut a = new_app(multi());
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), View::Data);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), View::Findings);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view(), View::Sessions);
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.view(), View::Findings);
    keys(&mut a, "1");
    assert_eq!(a.view(), View::Sessions);

    keys(&mut a, "j");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), View::Session);
    assert_eq!(a.detail().unwrap().id, 2);
    // Tab now switches panes (session 2 has a finding).
    let before = a.detail().unwrap().focus;
    press(&mut a, KeyCode::Tab);
    assert_ne!(a.detail().unwrap().focus, before);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), View::Sessions);
    assert_eq!(selected_id(&a), 2, "back where we were");
}

#[test]
fn data_view_enter_opens_the_session_at_the_transfer() {
    let mut a = new_app(multi());
    keys(&mut a, "2");
    assert_eq!(a.data_rows().len(), 3);
    keys(&mut a, "jj");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.detail().unwrap().id, 3);
    let ex = a.cursor_exchange().unwrap();
    assert_eq!(a.capture().sessions[2].exchanges[ex].verb(), Some("LIST"));
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), View::Data);
}

#[test]
fn findings_view_groups_by_id_most_severe_first() {
    let mut a = new_app(multi());
    keys(&mut a, "3");
    let groups: Vec<(&str, Severity)> = a
        .finding_rows()
        .iter()
        .filter_map(|r| match r {
            FindingRow::Group { id, severity, .. } => Some((*id, *severity)),
            FindingRow::Item { .. } => None,
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("passive-data-refused", Severity::Error),
            ("command-unsupported", Severity::Warning),
            ("transfer-slow", Severity::Info),
        ]
    );
    // Enter on a group opens its first finding's session at the evidence.
    keys(&mut a, "jj");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.detail().unwrap().id, 3);
    let ex = a.cursor_exchange().unwrap();
    assert_eq!(a.capture().sessions[2].exchanges[ex].verb(), Some("AUTH"));
}

#[test]
fn next_finding_jumps_to_the_cited_exchange() {
    let mut a = new_app(multi());
    keys(&mut a, "n");
    assert_eq!(
        selected_id(&a),
        2,
        "n in the list: next session with a finding"
    );
    keys(&mut a, "n");
    assert_eq!(selected_id(&a), 3);
    keys(&mut a, "N");
    assert_eq!(selected_id(&a), 2);
    keys(&mut a, "j");
    press(&mut a, KeyCode::Enter);
    let verb = |a: &App| {
        let ex = a.cursor_exchange().unwrap();
        a.capture().sessions[2].exchanges[ex]
            .verb()
            .map(str::to_string)
    };
    keys(&mut a, "n");
    assert_eq!(verb(&a).as_deref(), Some("AUTH"));
    assert!(a.message().unwrap().contains("finding 1/2"));
    keys(&mut a, "n");
    assert_eq!(verb(&a).as_deref(), Some("LIST"));
    keys(&mut a, "n");
    assert_eq!(verb(&a).as_deref(), Some("AUTH"), "wraps around");
    keys(&mut a, "N");
    assert_eq!(verb(&a).as_deref(), Some("LIST"));
}

#[test]
fn filter_expressions() {
    let mut a = new_app(multi());
    let filter = |a: &mut App, text: &str| {
        keys(a, "f");
        // Clear what is there.
        for _ in 0..a.filter_text().len() {
            press(a, KeyCode::Backspace);
        }
        keys(a, text);
        press(a, KeyCode::Enter);
        listed_ids(a)
    };
    assert_eq!(filter(&mut a, "finding:passive-data-refused"), vec![2]);
    assert_eq!(filter(&mut a, "host:10.1.0.3"), vec![3]);
    assert_eq!(filter(&mut a, "!host:10.1.0.3"), vec![1, 2]);
    assert_eq!(filter(&mut a, "user:FTPUSER"), vec![1, 2, 3]);
    assert_eq!(filter(&mut a, "user:anonymous"), Vec::<usize>::new());
    assert_eq!(filter(&mut a, "code:230"), vec![1, 2, 3]);
    assert_eq!(filter(&mut a, "code:5xx"), vec![3]);
    assert_eq!(filter(&mut a, "mode:active"), Vec::<usize>::new());
    assert_eq!(filter(&mut a, "mode:passive status:ok"), vec![1]);
    assert_eq!(
        filter(&mut a, "lftp"),
        vec![3],
        "free text finds CLNT's argument"
    );
    // Filters apply to the data and findings views too.
    assert_eq!(a.data_rows().len(), 1);
    // Comparisons, alternatives, or, not, groups (issue 14). Sessions 1-3 last
    // 52.6, 26.9 and 211.0 ms, with 10, 10 and 18 commands and 468 B each.
    assert_eq!(filter(&mut a, "duration>100ms"), vec![3]);
    assert_eq!(filter(&mut a, "duration<30ms"), vec![2]);
    assert_eq!(filter(&mut a, "cmds>10"), vec![3]);
    assert_eq!(filter(&mut a, "bytes>=468"), vec![1, 2, 3]);
    assert_eq!(filter(&mut a, "bytes>1k"), Vec::<usize>::new());
    assert_eq!(filter(&mut a, "code:5xx|999"), vec![3]);
    assert_eq!(filter(&mut a, "code:999|230"), vec![1, 2, 3]);
    assert_eq!(
        filter(&mut a, "host:10.1.0.3 or finding:passive"),
        vec![2, 3]
    );
    assert_eq!(
        filter(&mut a, "not (host:10.1.0.3 or finding:passive)"),
        vec![1]
    );
    assert_eq!(
        filter(&mut a, "(cmds>10 or duration<30ms) and code:2xx"),
        vec![2, 3]
    );
    // Esc in the list clears the filter.
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed_ids(&a), vec![1, 2, 3]);
    assert_eq!(a.filter_text(), "");
}

#[test]
fn filter_prompt_errors_and_cancel() {
    let mut a = new_app(multi());
    keys(&mut a, "/host:10.1.0.3");
    assert!(a.prompt().is_some());
    assert_eq!(listed_ids(&a), vec![3], "the list follows the typing");
    press(&mut a, KeyCode::Enter);
    keys(&mut a, "f code:zz");
    assert!(
        a.prompt()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("code:zz")
    );
    // While a word is wrong, the last filter that parsed stays in force
    // ("host:10.1.0.3 code:" did not parse; "host:10.1.0.3 code" did).
    assert_eq!(a.filter_text(), "host:10.1.0.3 code");
    press(&mut a, KeyCode::Enter);
    assert!(a.prompt().is_some(), "Enter does not accept a bad filter");
    press(&mut a, KeyCode::Esc);
    assert!(a.prompt().is_none());
    assert_eq!(a.filter_text(), "host:10.1.0.3", "Esc restores the filter");
    // A broken expression says what is wrong in the status line.
    keys(&mut a, "f (bytes>lots or");
    let e = a.prompt().unwrap().error.clone().unwrap();
    assert!(e.contains("bytes>lots"), "{e}");
    press(&mut a, KeyCode::Esc);
    // q in a prompt is text, not quit.
    keys(&mut a, "fq");
    assert!(!a.should_quit());
    press(&mut a, KeyCode::Esc);
    keys(&mut a, "q");
    assert!(a.should_quit());
}

#[test]
fn large_captures_filter_a_chunk_at_a_time_between_keys() {
    let mut a = App::new(
        multi(),
        "big.pcap",
        Options {
            defer_filter_above: 2,
            ..opts(false)
        },
    );
    update(&mut a, Action::Resize(80, 24));
    keys(&mut a, "fhost:10.1.0.3");
    assert_eq!(listed_ids(&a), vec![1, 2, 3], "not applied while typing");
    assert_eq!(a.filter_progress(), Some((0, 3)));
    // FILTER_CHUNK (5,000) sessions per Settle: three sessions take one.
    update(&mut a, Action::Settle);
    assert!(!a.unsettled());
    assert_eq!(listed_ids(&a), vec![3]);
    // Narrowing: only the one session that matched is tested again.
    keys(&mut a, " l");
    assert_eq!(a.filter_progress(), Some((0, 1)));
    // Enter closes the prompt; the filter finishes on the next Settle and
    // then reports.
    press(&mut a, KeyCode::Enter);
    assert!(a.prompt().is_none());
    assert!(a.unsettled());
    update(&mut a, Action::Settle);
    assert_eq!(listed_ids(&a), vec![3]);
    assert_eq!(a.message(), Some("1 of 3 sessions match"));
    // Esc in the prompt drops a filter in progress.
    keys(&mut a, "f");
    press(&mut a, KeyCode::Backspace);
    assert!(a.unsettled());
    press(&mut a, KeyCode::Esc);
    assert!(!a.unsettled(), "Esc drops it");
    assert_eq!(a.filter_text(), "host:10.1.0.3 l");
}

#[test]
fn sort_cycles() {
    let mut c = multi();
    c.sessions[0].data_channels[0].bytes = 10;
    c.sessions[2].data_channels[0].bytes = 1_000_000;
    let mut a = new_app(c);
    assert_eq!(listed_ids(&a), vec![1, 2, 3]);
    keys(&mut a, "s");
    assert_eq!(a.sort(), SortKey::Bytes);
    assert_eq!(listed_ids(&a), vec![3, 2, 1]);
    keys(&mut a, "s");
    assert_eq!(a.sort(), SortKey::Findings);
    assert_eq!(listed_ids(&a), vec![2, 3, 1]);
    keys(&mut a, "s");
    assert_eq!(a.sort(), SortKey::Time);
}

#[test]
fn search_in_the_transcript() {
    let mut a = new_app(multi());
    keys(&mut a, "jj");
    press(&mut a, KeyCode::Enter);
    let verb = |a: &App| {
        let ex = a.cursor_exchange().unwrap();
        a.capture().sessions[2].exchanges[ex]
            .verb()
            .map(str::to_string)
    };
    // The lower-cased text of the logical line under the cursor.
    let line = |a: &App| {
        let d = a.detail().unwrap();
        let li = d.transcript.rows[d.cursor.sel].logical;
        d.transcript.logical[li].1.clone()
    };
    keys(&mut a, "/lftp");
    assert_eq!(
        verb(&a).as_deref(),
        Some("CLNT"),
        "incremental: {}",
        line(&a)
    );
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.search_text(), "lftp");
    assert!(a.prompt().is_none());

    // Replace the query; matches are case-insensitive.
    keys(&mut a, "/");
    for _ in 0..4 {
        press(&mut a, KeyCode::Backspace);
    }
    keys(&mut a, "TYPE");
    press(&mut a, KeyCode::Enter);
    assert!(line(&a).contains("type"), "{}", line(&a));
    let total = a
        .detail()
        .unwrap()
        .transcript
        .logical
        .iter()
        .filter(|(_, t)| t.contains("type"))
        .count();
    assert!(total >= 2, "the test needs two matches");
    let first = a.detail().unwrap().cursor.sel;
    keys(&mut a, "]");
    let second = a.detail().unwrap().cursor.sel;
    assert!(second > first);
    assert!(line(&a).contains("type"));
    assert!(
        a.message().unwrap().ends_with(&format!("/{total}")),
        "{:?}",
        a.message()
    );
    keys(&mut a, "[");
    assert_eq!(a.detail().unwrap().cursor.sel, first);
    // Up/Down in the prompt step through matches too.
    keys(&mut a, "/");
    press(&mut a, KeyCode::Down);
    assert_eq!(a.detail().unwrap().cursor.sel, second);
    press(&mut a, KeyCode::Up);
    assert_eq!(a.detail().unwrap().cursor.sel, first);
    press(&mut a, KeyCode::Enter);

    // Esc in the prompt puts the cursor and the search back.
    keys(&mut a, "/");
    keys(&mut a, "zzz-nothing");
    assert_eq!(a.prompt().unwrap().error.as_deref(), Some("no match"));
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.search_text(), "type");
    assert_eq!(a.detail().unwrap().cursor.sel, first);
    // Esc clears the search, then goes back.
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.search_text(), "");
    assert_eq!(a.view(), View::Session);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.view(), View::Sessions);
}

#[test]
fn explanations_toggle() {
    let mut a = new_app(multi());
    press(&mut a, KeyCode::Enter);
    let with = a.detail().unwrap().transcript.len();
    keys(&mut a, "jjj");
    let ex = a.cursor_exchange();
    keys(&mut a, "e");
    assert!(!a.explanations());
    assert!(a.detail().unwrap().transcript.len() < with);
    assert_eq!(a.cursor_exchange(), ex, "the cursor stays on its exchange");
    keys(&mut a, "e");
    assert_eq!(a.detail().unwrap().transcript.len(), with);
}

#[test]
fn write_session_as_text_and_json() {
    let mut a = new_app(multi());
    keys(&mut a, "jw");
    keys(&mut a, "W");
    let effects = a.take_effects();
    assert_eq!(
        effects,
        vec![
            Effect::Write {
                session: 1,
                json: false
            },
            Effect::Write {
                session: 1,
                json: true
            }
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    for e in &effects {
        ftpscope::tui::export::perform(&mut a, e, dir.path());
    }
    assert!(a.message().unwrap().contains("ftpscope-session-2.json"));
    let text = std::fs::read_to_string(dir.path().join("ftpscope-session-2.txt")).unwrap();
    assert!(text.starts_with("Session 2"), "{text}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("ftpscope-session-2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["id"], 2);
    // A second write does not overwrite.
    ftpscope::tui::export::perform(&mut a, &effects[0], dir.path());
    assert!(dir.path().join("ftpscope-session-2-2.txt").exists());
}

#[test]
fn mouse_wheel_click_and_toggle() {
    let mut a = new_app(multi());
    // Rows: title, tabs, list header, then sessions from row 3.
    update(
        &mut a,
        Action::Mouse {
            kind: MouseKind::Click,
            column: 10,
            row: 4,
        },
    );
    assert_eq!(selected_id(&a), 2);
    update(
        &mut a,
        Action::Mouse {
            kind: MouseKind::ScrollDown,
            column: 10,
            row: 4,
        },
    );
    assert_eq!(selected_id(&a), 3);
    // Clicking the selected row opens it.
    update(
        &mut a,
        Action::Mouse {
            kind: MouseKind::Click,
            column: 10,
            row: 5,
        },
    );
    assert_eq!(a.view(), View::Session);
    // Click a tab.
    update(
        &mut a,
        Action::Mouse {
            kind: MouseKind::Click,
            column: 20,
            row: 1,
        },
    );
    assert_eq!(a.view(), View::Data);
    keys(&mut a, "m");
    assert!(!a.mouse_captured());
    assert_eq!(a.take_effects(), vec![Effect::Mouse(false)]);
}

#[test]
fn ctrl_c_quits_even_in_a_prompt_and_help() {
    let mut a = new_app(multi());
    keys(&mut a, "?");
    assert!(a.help_open());
    keys(&mut a, "j");
    assert!(a.help_open(), "keys scroll the help");
    press(&mut a, KeyCode::Esc);
    assert!(!a.help_open());
    keys(&mut a, "f");
    handle_event(
        &mut a,
        &Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(a.should_quit());
}

fn grow(c: &Capture, n: usize) -> Capture {
    let mut out = c.clone();
    out.sessions.truncate(n);
    out
}

#[test]
fn live_follow_freeze_and_resume() {
    let full = multi();
    let mut a = App::new(grow(&full, 1), "live", opts(true));
    update(&mut a, Action::Resize(80, 24));
    assert!(a.following());
    update(&mut a, Action::Snapshot(Box::new(grow(&full, 2))));
    assert_eq!(selected_id(&a), 2, "follows the newest session");
    keys(&mut a, "k");
    assert!(!a.following(), "scrolling away stops following");
    update(&mut a, Action::Snapshot(Box::new(grow(&full, 3))));
    assert_eq!(selected_id(&a), 1, "the selection stays put");
    keys(&mut a, "G");
    assert!(a.following());
    assert_eq!(selected_id(&a), 3);

    // Freeze: snapshots are ignored until F again.
    let mut fewer = grow(&full, 3);
    let first = fewer.sessions[2].exchanges[0].clone();
    fewer.sessions[2].exchanges.push(first);
    keys(&mut a, "F");
    assert!(a.frozen());
    update(&mut a, Action::Snapshot(Box::new(fewer.clone())));
    assert_eq!(
        a.capture().sessions[2].exchanges.len(),
        full.sessions[2].exchanges.len()
    );
    keys(&mut a, "F");
    update(&mut a, Action::Snapshot(Box::new(fewer.clone())));
    assert_eq!(
        a.capture().sessions[2].exchanges.len(),
        full.sessions[2].exchanges.len() + 1
    );

    // The transcript follows its newest line while live.
    press(&mut a, KeyCode::Enter);
    let d = a.detail().unwrap();
    assert!(d.follow);
    assert_eq!(d.cursor.sel, d.transcript.len() - 1);
    let mut more = fewer.clone();
    let second = more.sessions[2].exchanges[1].clone();
    for _ in 0..30 {
        more.sessions[2].exchanges.push(second.clone());
    }
    update(&mut a, Action::Snapshot(Box::new(more.clone())));
    let d = a.detail().unwrap();
    assert_eq!(
        d.cursor.sel,
        d.transcript.len() - 1,
        "new lines are followed"
    );
    keys(&mut a, "kk");
    let at = a.detail().unwrap().cursor.sel;
    more.sessions[2].exchanges.push(second);
    update(&mut a, Action::Snapshot(Box::new(more.clone())));
    assert_eq!(a.detail().unwrap().cursor.sel, at, "scrolled away: stays");
    assert!(!a.following());
    press(&mut a, KeyCode::End);
    let d = a.detail().unwrap();
    assert!(d.follow);
    assert_eq!(d.cursor.sel, d.transcript.len() - 1);
}

#[test]
fn loading_then_loaded() {
    let mut a = App::loading("f.pcap", 1000, opts(false));
    assert!(a.is_loading());
    keys(&mut a, "3");
    assert_eq!(
        a.view(),
        View::Findings,
        "views can be switched while loading"
    );
    update(
        &mut a,
        Action::Progress {
            bytes: 500,
            packets: 10,
            elapsed: Duration::from_millis(500),
        },
    );
    update(&mut a, Action::Loaded(Box::new(multi())));
    assert!(!a.is_loading());
    assert_eq!(a.finding_rows().len(), 6);
    keys(&mut a, "1");
    assert_eq!(listed_ids(&a), vec![1, 2, 3]);
}

/// Sessions of a file being read appear as they end, in time order, and can be
/// browsed, filtered and opened before the file has been read to the end.
#[test]
fn sessions_are_listed_while_the_file_is_read() {
    let all = multi();
    let mut a = App::loading("f.pcap", 1000, opts(false));
    assert_eq!(listed_ids(&a), Vec::<usize>::new());
    // Sessions end out of order: the third one first.
    update(&mut a, Action::Append(vec![all.sessions[2].clone()]));
    assert!(a.is_loading());
    assert_eq!(listed_ids(&a), vec![3]);
    assert_eq!(a.selected_session().map(|s| s.id), Some(3));
    update(
        &mut a,
        Action::Append(vec![all.sessions[0].clone(), all.sessions[1].clone()]),
    );
    assert_eq!(listed_ids(&a), vec![1, 2, 3], "time order, not end order");
    assert_eq!(
        a.selected_session().map(|s| s.id),
        Some(3),
        "the selection stays on the same session"
    );
    assert_eq!(a.finding_rows().len(), 6, "findings of appended sessions");
    // Filter and open while still loading.
    keys(&mut a, "f");
    assert!(
        a.prompt().is_some(),
        "the filter prompt opens while loading"
    );
    for c in "host:10.1.0.3".chars() {
        update(&mut a, Action::Input(c));
    }
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed_ids(&a), vec![3]);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view(), View::Session);
    assert_eq!(a.detail().map(|d| d.id), Some(3));
    // A session appended while filtered is tested against the filter.
    let mut late = all.sessions[0].clone();
    late.id = 9;
    update(&mut a, Action::Append(vec![late]));
    assert_eq!(a.detail().map(|d| d.id), Some(3), "still open");
    // The end: statistics and capture-wide findings arrive.
    let mut whole = load("multi-session.pcap");
    let findings = vec![finding("login-guessing", Severity::Warning, None)];
    whole.stats.packets = 4242;
    update(
        &mut a,
        Action::Done {
            stats: Box::new(whole.stats.clone()),
            findings,
        },
    );
    assert!(!a.is_loading());
    assert_eq!(a.capture().stats.packets, 4242);
    assert_eq!(a.capture().findings.len(), 1);
    assert_eq!(a.detail().map(|d| d.id), Some(3), "still open");
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed_ids(&a), vec![3], "9 is filtered out");
    // Esc again clears the filter; capture-wide findings are listed only without one.
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed_ids(&a), vec![1, 9, 2, 3], "9 started with 1");
    keys(&mut a, "3");
    assert!(
        a.finding_rows()
            .iter()
            .any(|r| matches!(r, FindingRow::Item { session: None, .. })),
        "the capture-wide finding is listed"
    );
    assert_eq!(a.capture().sessions.len(), 4);
}

fn live_update(ended: Vec<Session>, open: Vec<Session>, seen: u64) -> Action {
    Action::Live(Box::new(LiveUpdate {
        ended,
        reset: false,
        open,
        stats: Default::default(),
        findings: Vec::new(),
        seen,
    }))
}

/// `session` with another id and a start `n` seconds later.
fn renumbered(session: &Session, id: usize, n: i64) -> Session {
    let mut s = session.clone();
    s.id = id;
    s.start = ftpscope::time::Ts(s.start.0 + n * 1_000_000_000);
    s
}

/// Live updates carry only what changed: the open sessions are replaced, the
/// ended ones appended; selections and the open session follow their ids; the
/// view keeps at most `live_keep` ended sessions; a reset replaces everything.
#[test]
fn live_updates_replace_open_sessions_and_append_ended_ones() {
    let full = multi();
    let (s1, s2, s3) = (&full.sessions[0], &full.sessions[1], &full.sessions[2]);
    let mut a = App::new(
        Capture::default(),
        "live",
        Options {
            live_keep: 4,
            ..opts(true)
        },
    );
    update(&mut a, Action::Resize(80, 24));
    update(&mut a, live_update(vec![], vec![s1.clone(), s2.clone()], 0));
    assert_eq!(listed_ids(&a), vec![1, 2]);
    assert_eq!(selected_id(&a), 2, "follows the newest session");
    // Open session 2 while it is still open; it grows.
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.detail().map(|d| d.id), Some(2));
    let lines_before = a.detail().unwrap().transcript.len();
    let mut s2_more = s2.clone();
    let ex = s2_more.exchanges[0].clone();
    s2_more.exchanges.push(ex);
    update(
        &mut a,
        live_update(vec![s1.clone()], vec![s2_more.clone()], 1),
    );
    assert_eq!(a.capture().sessions.len(), 2, "the old copy of 2 is gone");
    assert_eq!(a.detail().map(|d| d.id), Some(2));
    assert!(
        a.detail().unwrap().transcript.len() > lines_before,
        "the open session shows its new exchange"
    );
    // 2 ends, 3 opens.
    update(&mut a, live_update(vec![s2_more], vec![s3.clone()], 2));
    assert_eq!(a.capture().sessions.len(), 3);
    assert_eq!(a.detail().map(|d| d.id), Some(2), "still open in the view");
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed_ids(&a), vec![1, 2, 3]);
    // A filter applies to sessions that arrive later.
    keys(&mut a, "f");
    for c in "host:10.1.0.2".chars() {
        update(&mut a, Action::Input(c));
    }
    press(&mut a, KeyCode::Enter);
    assert_eq!(listed_ids(&a), vec![1, 2]);
    update(
        &mut a,
        live_update(vec![s3.clone(), renumbered(s1, 4, 10)], vec![], 4),
    );
    assert_eq!(listed_ids(&a), vec![1, 2, 4], "3 is from 10.1.0.3");
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed_ids(&a), vec![1, 2, 3, 4]);
    // Past live_keep (4) and a tenth, the oldest ended sessions go.
    update(
        &mut a,
        live_update(
            vec![renumbered(s1, 5, 20), renumbered(s1, 6, 30)],
            vec![renumbered(s1, 7, 40)],
            6,
        ),
    );
    assert_eq!(listed_ids(&a), vec![3, 4, 5, 6, 7], "1 and 2 dropped");
    // The UI fell behind what the source keeps: everything is replaced.
    update(
        &mut a,
        Action::Live(Box::new(LiveUpdate {
            ended: vec![renumbered(s1, 90, 50)],
            reset: true,
            open: vec![],
            stats: Default::default(),
            findings: Vec::new(),
            seen: 90,
        })),
    );
    assert_eq!(listed_ids(&a), vec![90]);
    // Frozen: updates are not applied.
    keys(&mut a, "F");
    update(
        &mut a,
        live_update(vec![renumbered(s1, 91, 60)], vec![], 91),
    );
    assert_eq!(listed_ids(&a), vec![90]);
}

#[test]
fn ended_since_hands_out_only_the_new_sessions() {
    let full = multi();
    let kept: VecDeque<Session> = full.sessions.iter().cloned().collect();
    // Three kept of ten ended: numbers 8, 9, 10.
    let ids = |v: &[Session]| v.iter().map(|s| s.id).collect::<Vec<_>>();
    let (v, reset) = ended_since(&kept, 10, 10);
    assert!(v.is_empty() && !reset);
    let (v, reset) = ended_since(&kept, 10, 8);
    assert_eq!((ids(&v), reset), (vec![2, 3], false));
    let (v, reset) = ended_since(&kept, 10, 7);
    assert_eq!((ids(&v), reset), (vec![1, 2, 3], false));
    let (v, reset) = ended_since(&kept, 10, 2);
    assert_eq!((ids(&v), reset), (vec![1, 2, 3], true), "fell behind");
}

/// The fault keys (issue 14): outside live mode they say why nothing happens;
/// in live mode R/D/C queue the fault for the source, L and A ask for a delay or
/// a code first and refuse what is not one.
#[test]
fn fault_keys_queue_faults_for_the_live_source() {
    use ftpscope::engine::Inject;
    let mut a = new_app(multi());
    keys(&mut a, "R");
    assert!(a.take_effects().is_empty());
    assert!(
        a.message()
            .unwrap()
            .contains("faults are injected by the proxy")
    );
    let mut a = App::new(multi(), "proxy", opts(true));
    update(&mut a, Action::Resize(80, 24));
    keys(&mut a, "RDC");
    let got: Vec<Effect> = a.take_effects();
    assert_eq!(
        got,
        vec![
            Effect::Inject(Inject::RefuseData),
            Effect::Inject(Inject::DropData),
            Effect::Inject(Inject::Clear),
        ]
    );
    keys(&mut a, "A999");
    assert!(
        a.prompt()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("100 to 599")
    );
    press(&mut a, KeyCode::Enter);
    assert!(a.prompt().is_some(), "a bad code is not armed");
    for _ in 0..3 {
        press(&mut a, KeyCode::Backspace);
    }
    keys(&mut a, "425");
    press(&mut a, KeyCode::Enter);
    assert!(a.prompt().is_none());
    keys(&mut a, "L500");
    assert!(
        a.prompt()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("500ms")
    );
    keys(&mut a, "ms");
    press(&mut a, KeyCode::Enter);
    keys(&mut a, "Lx");
    press(&mut a, KeyCode::Esc);
    assert_eq!(
        a.take_effects(),
        vec![
            Effect::Inject(Inject::ReplyNext(425)),
            Effect::Inject(Inject::Delay(Duration::from_millis(500))),
        ]
    );
    // The armed faults reach the status row.
    update(
        &mut a,
        Action::Armed(ftpscope::i18n::Tr::verbatim("refuse 1 data conn")),
    );
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    t.draw(|f| ftpscope::tui::render(f, &a)).unwrap();
    let buf = t.backend().buffer();
    let last: String = (0..80).map(|x| buf[(x, 23)].symbol().to_string()).collect();
    assert!(last.contains("FAULTS: refuse 1 data conn"), "{last:?}");
    assert!(last.contains("q quit"), "{last:?}");
}
