//! `--lang zh` leaves no English prose: every capture in captures/ goes through the
//! text report (with explanations) and the diagnose view in Chinese, every finding
//! any rule produced is checked in all its parts, and every line is checked for
//! English prose.
//!
//! What counts as English prose: three or more English words in a row (words of
//! letters that are not all capitals, so FTP verbs and acronyms do not count),
//! after removing what is not prose by design: wire text (what follows `C>`/`S<`, a
//! reply code, or a quotation), paths, options, settings and addresses (a word with
//! `-`, `_`, `=`, `:`, `/`, `.` or a digit is not a word). Command lines in fixes such
//! as `lftp set ftp:passive-mode on` stay under three words. The same check over the
//! English report must find prose (so the check can fail), and a test below feeds it
//! English lines directly.
//!
//! Notes and anomalies the proxy sends (what it rewrote or injected) are English by
//! design and do not occur in captures; everything the tracker notes is checked.

use std::path::{Path, PathBuf};

use ftpscope::ftp::catalog::Lang;
use ftpscope::model::Finding;
use ftpscope::report::{self, ViewOptions, diagnose_view};
use ftpscope::session::TrackerConfig;
use ftpscope::time::TimeView;

/// A capture to check, and the TLS key log read with it (`X.keys` beside
/// `X.pcap`: such a capture is checked twice, without and with its keys).
struct Case {
    path: PathBuf,
    keys: Option<PathBuf>,
}

impl Case {
    fn name(&self) -> String {
        let n = self.path.file_name().unwrap().to_string_lossy().to_string();
        if self.keys.is_some() {
            format!("{n} (decrypted)")
        } else {
            n
        }
    }

    fn config(&self) -> TrackerConfig {
        TrackerConfig {
            tls_keys: self.keys.as_ref().map(|k| {
                std::sync::Arc::new(ftpscope::tls::KeyLog::load(k).expect("read the key log"))
            }),
            ..TrackerConfig::default()
        }
    }
}

/// Every capture, and every keyed capture again with its keys.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut keyed = 0;
    for path in captures() {
        let keys = path.with_extension("keys");
        if keys.is_file() {
            keyed += 1;
            v.push(Case {
                path: path.clone(),
                keys: Some(keys),
            });
        }
        v.push(Case { path, keys: None });
    }
    assert!(
        keyed >= 10,
        "expected the keyed FTPS captures, found {keyed}"
    );
    v
}

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/ exists")
        .map(|e| e.expect("read captures/").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 8,
        "expected the committed captures, found {}",
        v.len()
    );
    v
}

/// A reply code at a word boundary followed by the server's (ASCII) text: `550 Failed`.
fn reply_code_at(b: &[u8], i: usize) -> bool {
    i + 5 <= b.len()
        && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        && (b'1'..=b'6').contains(&b[i])
        && b[i + 1].is_ascii_digit()
        && b[i + 2].is_ascii_digit()
        && (b[i + 3] == b' ' || b[i + 3] == b'-')
        && b[i + 4].is_ascii_graphic()
}

/// The line without its wire text (what the quotations are read from).
fn unwired(line: &str) -> String {
    let mut s = line.to_string();
    for marker in ["C> ", "S< "] {
        if let Some(i) = s.find(marker) {
            s.truncate(i);
        }
    }
    if let Some(i) = (0..s.len()).find(|&i| s.is_char_boundary(i) && reply_code_at(s.as_bytes(), i))
    {
        s.truncate(i);
    }
    s
}

/// The line without its quotations ("...", `...`, “...”), and the quotation
/// still open at its end (the closing character), if any.
fn unquoted(s: &str) -> (String, Option<char>) {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (None, '"' | '`') => quote = Some(c),
            (None, '“') => quote = Some('”'),
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    (out, quote)
}

/// The line without its wire text and quotations.
fn prose_part(line: &str) -> String {
    unquoted(&unwired(line)).0
}

fn is_word(w: &str) -> bool {
    w.len() >= 2
        && w.chars().all(|c| c.is_ascii_alphabetic())
        && w.chars().any(|c| c.is_ascii_lowercase())
}

/// The first run of three English words in a row, if any.
fn english_prose(line: &str) -> Option<String> {
    let p = prose_part(line);
    let mut run: Vec<&str> = Vec::new();
    for tok in p.split_whitespace() {
        let t = tok.trim_start_matches('(');
        // A word followed by ':', ';', '.' or ')' ends its run; a comma does not.
        let ends = t.ends_with([':', ';', '.', ')']);
        let w = t.trim_end_matches([',', ':', ';', '.', ')']);
        if is_word(w) {
            run.push(w);
            if run.len() >= 3 {
                return Some(run.join(" "));
            }
            if ends {
                run.clear();
            }
        } else {
            run.clear();
        }
    }
    None
}

/// Lines of a view that must be Chinese: everything but the continuation lines of
/// multi-line replies (wire text).
fn checked_lines(text: &str) -> Vec<String> {
    checked_lines_indented(text, 18)
}

/// [`checked_lines`] with the continuation lines indented by at least `indent`
/// (the TUI's transcript indents them less than the text report).
/// A quotation wrapped onto the next (indented) line is reopened there, so the
/// server's words quoted in a finding stay quoted however the view wraps them.
fn checked_lines_indented(text: &str, indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_reply = false;
    let mut open: Option<char> = None;
    for l in text.lines() {
        let t = l.trim_start();
        // A multi-line reply's continuation lines are wire text.
        if l.contains("S< ") {
            in_reply = true;
        } else if in_reply
            && l.len() - t.len() >= indent
            && !t.starts_with("= ")
            && !t.starts_with("注:")
            && !t.starts_with("数据:")
            && !l.contains("C> ")
        {
            continue;
        } else {
            in_reply = false;
        }
        // The wrapped rest of a line that ended in wire text (an evidence line
        // quoting a long reply) is wire text too.
        let indent_of = |x: &str| x.len() - x.trim_start().len();
        if let Some((prev, true)) = out.last().map(|p: &String| (p, unwired(p).len() < p.len())) {
            let ours = t.starts_with("= ")
                || t.starts_with("注:")
                || t.starts_with("数据:")
                || l.contains("C> ")
                || l.contains("S< ");
            if indent_of(l) > indent_of(prev) && !t.is_empty() && !ours {
                continue;
            }
        }
        // Only a deeper-indented line continues the one before (a row cut at the
        // screen's edge is followed by the next row, not by its rest).
        let deeper = out.last().is_some_and(|p: &String| {
            indent_of(l) > indent_of(p.trim_start_matches(['"', '`', '“']))
        });
        let line = match open {
            Some(q) if deeper => {
                let opener = if q == '”' { '“' } else { q };
                format!("{opener}{l}")
            }
            _ => l.to_string(),
        };
        open = unquoted(&unwired(&line)).1;
        out.push(line);
    }
    out
}

struct Views {
    report: String,
    diagnose: String,
    findings: Vec<Finding>,
}

fn views(case: &Case, lang: Lang) -> Views {
    let opts = ViewOptions {
        lang,
        explain: true,
    };
    let path = &case.path;
    let name = case.name();
    let (mut body, mut diag) = (Vec::new(), Vec::new());
    let mut sum = report::text::Summary::default();
    let mut findings = Vec::new();
    let (stats, cap) = ftpscope::engine::stream_file(path, case.config(), &mut |s| {
        sum.add(&s);
        findings.extend(s.findings.iter().cloned());
        report::text::write_session(&mut body, &s, opts).expect("write to memory");
        diagnose_view::write_session_at(&mut diag, &s, false, lang, TimeView::Utc)
            .expect("write to memory");
    })
    .unwrap_or_else(|e| panic!("analyse {name}: {e}"));
    findings.extend(cap.iter().cloned());
    sum.capture_findings = cap.clone();
    let mut out = Vec::new();
    report::text::write_head(&mut out, &stats, &sum, &name, opts).expect("write to memory");
    out.extend_from_slice(&body);
    let mut d = Vec::new();
    diagnose_view::write_head_at(&mut d, &stats, &cap, &name, lang, TimeView::Utc)
        .expect("write to memory");
    d.extend_from_slice(&diag);
    Views {
        report: String::from_utf8(out).expect("UTF-8"),
        diagnose: String::from_utf8(d).expect("UTF-8"),
        findings,
    }
}

#[test]
fn no_english_prose_under_lang_zh() {
    let mut bad = Vec::new();
    let mut findings = 0;
    for case in cases() {
        let name = case.name();
        let v = views(&case, Lang::Zh);
        for (view, text) in [("report", &v.report), ("diagnose", &v.diagnose)] {
            for l in checked_lines(text) {
                if let Some(run) = english_prose(&l) {
                    bad.push(format!("{name} {view}: \"{run}\" in: {l}"));
                }
            }
        }
        for f in &v.findings {
            findings += 1;
            let parts = std::iter::once(&f.summary)
                .chain(f.evidence.iter().map(|e| &e.what))
                .chain(std::iter::once(&f.remedy));
            for t in parts {
                if let Some(run) = english_prose(&t.zh) {
                    bad.push(format!("{name} finding {}: \"{run}\" in: {}", f.id, t.zh));
                }
            }
        }
    }
    assert!(
        findings > 50,
        "expected the captures' findings, got {findings}"
    );
    assert!(
        bad.is_empty(),
        "{} line(s) with English prose under --lang zh:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The check finds the English prose of the English views (it can fail).
#[test]
fn the_check_finds_english_in_the_english_report() {
    let v = views(&plain("passive-refused.pcap"), Lang::En);
    let hits = checked_lines(&v.report)
        .into_iter()
        .filter(|l| english_prose(l).is_some())
        .count();
    assert!(
        hits >= 5,
        "only {hits} English lines found in:\n{}",
        v.report
    );
    for f in &v.findings {
        assert!(english_prose(&f.summary.en).is_some(), "{}", f.summary.en);
        assert!(english_prose(&f.remedy.en).is_some(), "{}", f.remedy.en);
    }
}

#[test]
fn what_counts_as_english_prose() {
    for english in [
        "  ERROR passive-data-refused: the data connection was refused",
        "  user ftpuser, login ok, closed: fin-by-client",
        "会话记录 no problem found",
        "处理建议: Check the user name and password",
    ] {
        assert!(english_prose(english).is_some(), "{english}");
    }
    for not_prose in [
        "    20:24:51.749  S< 220 Please specify the password.",
        "      证据: 帧 18: 服务器响应：331 Please specify the password.",
        "      处理建议: 在客户端使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on）",
        "  抓包覆盖: 看到控制连接握手（已接受）",
        "    #1 PASV 203.0.113.10:40061 被拒绝 [198.51.100.20:59938 -> 203.0.113.10:40061]",
        "tcpdump -w ftp.pcap host 10.0.0.1 and host 10.0.0.2",
        "FileZilla \"Require implicit FTP over TLS\"",
    ] {
        assert_eq!(english_prose(not_prose), None, "{not_prose}");
    }
}

#[test]
fn explain_labels_and_problems_in_chinese() {
    for item in [
        "530",
        "PASV",
        "PORT 10,0,0,5,300,1",
        "227 Entering Passive Mode (1,2,3)",
    ] {
        let text = ftpscope::ftp::explain::explain_item(item, Lang::Zh).expect("explainable");
        for l in text.lines() {
            assert_eq!(english_prose(l), None, "{item}: {l}");
        }
        assert!(
            !text.contains("syntax:") && !text.contains("problem:"),
            "{text}"
        );
    }
    for item in ["", "5301", "FOOBAR", "22"] {
        let e = ftpscope::ftp::explain::explain_item(item, Lang::Zh).unwrap_err();
        let m = e.message(Lang::Zh);
        assert_eq!(english_prose(&m), None, "{item}: {m}");
    }
}

/// The text nodes of an HTML page (tags, the style and the script removed).
fn html_text(page: &str) -> Vec<String> {
    let mut s = page.to_string();
    for (open, close) in [("<style", "</style>"), ("<script", "</script>")] {
        while let Some(a) = s.find(open) {
            let b = s[a..].find(close).map_or(s.len(), |b| a + b + close.len());
            s.replace_range(a..b, "");
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(std::mem::take(&mut cur));
            }
            '>' => in_tag = false,
            c if !in_tag => cur.push(c),
            _ => {}
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|t| {
            t.replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .filter(|t| !t.trim().is_empty())
        .collect()
}

/// A committed capture, without keys.
fn plain(name: &str) -> Case {
    Case {
        path: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(name),
        keys: None,
    }
}

fn html_page(case: &Case, lang: Lang) -> String {
    let mut b = report::html::Builder::new("capture", None, TimeView::Utc).lang(lang);
    let (stats, cap) = ftpscope::engine::stream_file(&case.path, case.config(), &mut |s| {
        b.add(s);
    })
    .expect("analyse");
    b.finish(&stats, &cap)
}

#[test]
fn html_report_has_no_english_prose_under_lang_zh() {
    let mut bad = Vec::new();
    let mut nat_views = 0;
    for case in cases() {
        let name = case.name();
        let page = html_page(&case, Lang::Zh);
        // The NAT router view (one session drawn through the NAT) is covered.
        nat_views += page.matches("<figcaption class=\"nat\"").count();
        let mut after_reply = false;
        for t in html_text(&page) {
            // The server's text after a reply code and a command's argument are wire text.
            let wire = after_reply;
            after_reply = t.trim().len() == 3 && t.trim().bytes().all(|b| b.is_ascii_digit());
            if wire || t.contains("C> ") || t.contains("S< ") {
                continue;
            }
            if let Some(run) = english_prose(&t) {
                bad.push(format!("{name}: \"{run}\" in: {t}"));
            }
        }
    }
    assert!(
        nat_views >= 2,
        "expected NAT views in the pages of the nat-* captures, found {nat_views}"
    );
    let english = html_text(&html_page(&plain("passive-refused.pcap"), Lang::En))
        .iter()
        .filter(|t| english_prose(t).is_some())
        .count();
    assert!(
        english >= 5,
        "the check finds only {english} English texts in the English page"
    );
    bad.dedup();
    assert!(
        bad.is_empty(),
        "{} English text(s) in the Chinese page:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every view of the terminal UI, drawn at 160x48 and 80x24 (the narrow title
/// and hint row) in `lang`, and with the prompts open: the lines it shows.
fn tui_screens(case: &Case, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    for (w, h, live) in [(160, 48, false), (80, 24, false), (100, 30, true)] {
        out.extend(tui_screens_at(case, lang, w, h, live));
    }
    out
}

fn tui_screens_at(case: &Case, lang: Lang, w: u16, h: u16, live: bool) -> Vec<String> {
    use ftpscope::tui::app::{Action, App, Options};
    use ftpscope::tui::keymap::Cmd;
    use ftpscope::tui::theme::Theme;
    use ftpscope::tui::{render, update};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let c = ftpscope::engine::analyze_file(&case.path, case.config()).expect("analyse");
    let mut app = App::new(
        c,
        "capture",
        Options {
            lang,
            live,
            theme: Theme::no_color(),
            ..Options::default()
        },
    );
    update(&mut app, Action::Resize(w, h));
    let mut out = Vec::new();
    let mut shot = |app: &mut App| {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        t.draw(|f| render(f, app)).expect("draw");
        let buf = t.backend().buffer();
        for y in 0..buf.area.height {
            // A wide (CJK) character takes two cells: skip the second.
            let mut line = String::new();
            let mut skip = false;
            for x in 0..buf.area.width {
                let s = buf[(x, y)].symbol();
                if std::mem::take(&mut skip) {
                    continue;
                }
                skip = s.chars().next().is_some_and(|c| {
                    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFF00..=0xFF60)
                });
                line.push_str(s);
            }
            // The panes' borders frame the lines: look inside them.
            out.push(
                line.trim_start_matches(|c: char| "│┌┐└┘─".contains(c))
                    .trim_end_matches(|c: char| "│┌┐└┘─ ".contains(c))
                    .to_string(),
            );
        }
    };
    shot(&mut app);
    for c in [Cmd::ShowData, Cmd::ShowFindings, Cmd::ShowSessions] {
        update(&mut app, Action::Cmd(c));
        shot(&mut app);
    }
    // The filter prompt and its hint, then closed again.
    update(&mut app, Action::Cmd(Cmd::Filter));
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::Back));
    update(&mut app, Action::Cmd(Cmd::Open));
    shot(&mut app);
    // The session's line filter and search prompts.
    for c in [Cmd::LineFilter, Cmd::Search] {
        update(&mut app, Action::Cmd(c));
        shot(&mut app);
        update(&mut app, Action::Cmd(Cmd::Back));
    }
    update(&mut app, Action::Cmd(Cmd::Help));
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::Help));
    // The transient messages of the status row: each command's answer is shown
    // once, so each gets its own shot.
    let type_in = |app: &mut App, text: &str| {
        for ch in text.chars() {
            update(app, Action::Input(ch));
        }
        update(app, Action::Cmd(Cmd::Open));
    };
    // In the session: explanations on/off, next/previous finding, the searches.
    for c in [
        Cmd::Explain,
        Cmd::Explain,
        Cmd::NextFinding,
        Cmd::PrevFinding,
    ] {
        update(&mut app, Action::Cmd(c));
        shot(&mut app);
    }
    update(&mut app, Action::Cmd(Cmd::Search));
    type_in(&mut app, "zzzz-no-such-text");
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::Search));
    type_in(&mut app, "2");
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::NextMatch));
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::Back));
    update(&mut app, Action::Cmd(Cmd::ShowSessions));
    // In the lists: sorting, mouse, freezing, the fault keys, bad and good filters.
    for c in [
        Cmd::Sort,
        Cmd::Sort,
        Cmd::ToggleMouse,
        Cmd::ToggleMouse,
        Cmd::Freeze,
        Cmd::Freeze,
        Cmd::FaultRefuse,
        Cmd::FaultClear,
    ] {
        update(&mut app, Action::Cmd(c));
        shot(&mut app);
        update(&mut app, Action::Cmd(Cmd::Back));
    }
    for bad in [
        "code:x5",
        "mode:foo",
        "bytes>lots",
        "commands>abc",
        "duration>5",
        "(",
        "code:5|",
    ] {
        update(&mut app, Action::Cmd(Cmd::Filter));
        type_in(&mut app, bad);
        shot(&mut app);
        update(&mut app, Action::Cmd(Cmd::Back));
    }
    update(&mut app, Action::Cmd(Cmd::Filter));
    type_in(&mut app, "code:530");
    shot(&mut app);
    update(&mut app, Action::Cmd(Cmd::Filter));
    type_in(&mut app, "");
    shot(&mut app);
    // Writing with no session selected (the findings list may be empty).
    update(&mut app, Action::Cmd(Cmd::ShowFindings));
    for c in [Cmd::WriteJson, Cmd::WriteText, Cmd::WritePcap] {
        update(&mut app, Action::Cmd(c));
        shot(&mut app);
        update(&mut app, Action::Cmd(Cmd::Back));
    }
    out
}

#[test]
fn tui_has_no_english_prose_under_lang_zh() {
    let mut bad = Vec::new();
    for case in cases() {
        let name = case.name();
        for l in checked_lines_indented(&tui_screens(&case, Lang::Zh).join("\n"), 16) {
            if let Some(run) = english_prose(&l) {
                bad.push(format!("{name}: \"{run}\" in: {l}"));
            }
        }
    }
    let english = tui_screens(&plain("passive-refused.pcap"), Lang::En)
        .iter()
        .filter(|l| english_prose(l).is_some())
        .count();
    assert!(
        english >= 10,
        "the check finds only {english} English lines in the English TUI"
    );
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "{} English line(s) in the Chinese TUI:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
