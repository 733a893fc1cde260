//! The HTML report (`report --format html`) and the SVG ladder (`--format svg`).
//!
//! * Injection: a capture whose user name, file names, reply texts and an unknown
//!   verb carry `<script>`, `<img onerror=...>`, `</svg>`, quotes and ampersands
//!   produces no element or attribute from them; PASS stays masked.
//! * The page opened in headless Chromium: the DOM after load holds every finding
//!   id and fix, one ladder `<svg>` per session and one data group per data channel
//!   with its announced address and outcome; no script from the capture ran; a
//!   screenshot at 1280x900 is not blank.
//! * A snapshot of the page (times masked).
//! * `--lang en,zh`: one page with both languages and a switch (radio buttons and
//!   CSS), ids unique and links kept in their copy; one language has no switch;
//!   several languages elsewhere are a usage error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::builder::{Pcap, sa};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ftpscope"))
}

fn report(args: &[&str], capture: &Path) -> String {
    let out = Command::new(bin())
        .arg("report")
        .args(args)
        .arg(capture)
        .output()
        .expect("ftpscope runs");
    assert!(
        out.status.success(),
        "report {args:?} {}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)></svg>\"'&amp;";

fn hostile_capture(dir: &Path) -> PathBuf {
    let mut p = Pcap::new();
    let client = sa("10.0.0.1:40000");
    let server = sa("10.0.0.2:21");
    let mut f = p.open(client, server);
    let line = |s: &str| format!("{s}\r\n").into_bytes();
    p.send_b(&mut f, &line(&format!("220 {EVIL} ready")));
    p.send_a(&mut f, &line(&format!("USER u{EVIL}")));
    p.send_b(&mut f, &line(&format!("331 password for {EVIL}")));
    p.send_a(&mut f, &line("PASS s3cret<b>"));
    p.send_b(&mut f, &line("230 in"));
    p.send_a(&mut f, &line(&format!("X{EVIL}")));
    p.send_b(&mut f, &line(&format!("500 {EVIL}")));
    p.send_a(&mut f, &line("PASV"));
    p.send_b(&mut f, &line("227 Entering Passive Mode (10,0,0,2,156,65)"));
    p.send_a(&mut f, &line(&format!("RETR {EVIL}.bin")));
    p.send_b(&mut f, &line(&format!("550 {EVIL}: no such file")));
    p.send_a(&mut f, &line("QUIT"));
    p.send_b(&mut f, &line("221 bye"));
    p.close(&mut f);
    let path = dir.join("evil.pcap");
    std::fs::write(&path, p.bytes()).unwrap();
    path
}

/// Elements and attributes the page itself uses; anything else came from the wire.
fn tags(html: &str) -> Vec<String> {
    let mut v = Vec::new();
    let b = html.as_bytes();
    for (i, _) in html.match_indices('<') {
        let rest = &html[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!' || *c == '?')
            .collect();
        if !name.is_empty() && b.get(i + 1).is_some_and(|c| *c != b' ') {
            v.push(name.to_ascii_lowercase());
        }
    }
    v
}

#[test]
fn nothing_from_the_wire_becomes_markup() {
    let dir = tempfile::tempdir().unwrap();
    let cap = hostile_capture(dir.path());
    let page = report(&["--format", "html"], &cap);
    // One script: ours, at the end.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("<img"), "an <img> element from the wire");
    // Inside the page's own tags (from a raw `<` to its `>`): no attribute from
    // the wire (in text, `onerror=` is harmless and shown escaped).
    for (i, _) in page.match_indices('<') {
        let tag = &page[i..i + page[i..].find('>').unwrap_or(page.len() - i)];
        assert!(
            !tag.contains("onerror"),
            "an attribute from the wire: {tag}"
        );
    }
    assert!(
        page.contains("&lt;script&gt;alert(1)"),
        "the text is shown, escaped"
    );
    assert!(!page.contains("s3cret"), "PASS is masked");
    let allowed = [
        "!doctype",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "p",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "span",
        "code",
        "ul",
        "li",
        "a",
        "b",
        "br",
        "label",
        "input",
        "button",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "svg",
        "defs",
        "marker",
        "path",
        "text",
        "line",
        "g",
        "rect",
        "circle",
        "details",
        "summary",
        "ol",
        "div",
        "footer",
        "script",
    ];
    for t in tags(&page) {
        assert!(allowed.contains(&t.as_str()), "unexpected element <{t}>");
    }
    // The SVG of the session alone, likewise.
    let svg = report(&["--format", "svg", "--session", "1"], &cap);
    assert!(svg.starts_with("<?xml") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!svg.contains("<script") && !svg.contains("<img"));
    assert!(svg.contains("&lt;/svg&gt;"));
}

#[test]
fn svg_needs_a_session_and_an_unknown_one_is_an_error() {
    let cap = common::repo().join("captures/passive-ok.pcapng");
    let out = Command::new(bin())
        .args(["report", "--format", "svg"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--session N"));
    let out = Command::new(bin())
        .args(["report", "--format", "html", "--session", "9"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session 9"));
}

#[test]
fn page_snapshot_with_times_masked() {
    let page = report(
        &["--format", "html"],
        &common::repo().join("captures/passive-refused.pcap"),
    );
    // Clock times and dates vary with --time; keep the structure.
    let mut masked = String::with_capacity(page.len());
    let mut rest = page.as_str();
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        masked.push_str(&rest[..i]);
        let tail = &rest[i..];
        let n = tail
            .find(|c: char| {
                !(c.is_ascii_digit() || c == ':' || c == '.' || c == '-' || c == 'T' || c == 'Z')
            })
            .unwrap_or(tail.len());
        let tok = &tail[..n];
        if tok.matches(':').count() >= 2 {
            masked.push_str("<time>");
        } else {
            masked.push_str(tok);
        }
        rest = &tail[n..];
    }
    masked.push_str(rest);
    let repo = common::repo().display().to_string();
    let pretty = masked.replace(&repo, "REPO").replace("><", ">\n<");
    insta::assert_snapshot!("passive_refused_html", pretty);
}

/// Chromium, when installed (`.ci/run` installs it): `None` skips outside CI.
fn chromium(test: &str) -> Option<&'static str> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c);
        }
    }
    assert!(
        !common::in_ci(),
        "{test}: chromium is required when CI is set"
    );
    eprintln!("SKIPPED {test}: chromium is not installed");
    None
}

fn headless(browser: &str, dir: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--window-size=1280,900",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()));
    c
}

#[test]
fn the_page_in_a_browser_holds_every_finding_and_diagram() {
    let Some(browser) = chromium("the_page_in_a_browser_holds_every_finding_and_diagram") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "nat-server-private.pcap",
        "passive-refused.pcap",
        "nat-client-active-client-side.pcap",
        "multi-session.pcap",
        "slow-window-limited.pcap",
        "nat-router-no-alg.pcap",
        "ftps-ftplib-reuse.pcap",
        "ftps-lftp-active.pcap",
    ] {
        let cap = common::repo().join("captures").join(name);
        let page = report(&["--format", "html"], &cap);
        let file = dir.path().join(format!("{name}.html"));
        std::fs::write(&file, &page).unwrap();
        let out = headless(browser, dir.path())
            .arg("--dump-dom")
            .arg(format!("file://{}", file.display()))
            .output()
            .expect("chromium runs");
        let dom = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            dom.contains("</html>"),
            "{name}: no DOM: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // What ftpscope found, from the JSON, must be on the page.
        let json = report(&["--format", "json"], &cap);
        let mut sessions = 0;
        let mut channels = 0;
        let mut per_session = std::collections::HashMap::new();
        for line in json.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v.get("exchanges").is_none() {
                continue;
            }
            sessions += 1;
            for f in v["findings"].as_array().unwrap() {
                let id = f["id"].as_str().unwrap();
                assert!(
                    dom.contains(&format!("data-finding=\"{id}\"")),
                    "{name}: {id} has no card"
                );
                let fix = f["remedy"].as_str().unwrap();
                let first_words: String = fix.chars().take(40).collect();
                assert!(
                    dom.contains(
                        &first_words
                            .replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;")
                            .replace('"', "&quot;")
                    ) || dom.contains(&first_words),
                    "{name}: the fix of {id} is missing"
                );
            }
            per_session.insert(
                v["id"].as_u64().unwrap(),
                v["data_channels"].as_array().unwrap().len(),
            );
            for d in v["data_channels"].as_array().unwrap() {
                channels += 1;
                if let Some(a) = d["announced"].as_str() {
                    assert!(dom.contains(a), "{name}: announced {a} missing");
                }
                assert!(dom.contains(d["outcome"].as_str().unwrap()));
            }
        }
        assert_eq!(
            dom.matches("<svg class=\"ladder\"").count(),
            sessions,
            "{name}: one ladder per session"
        );
        // A session seen on both sides of a NAT: the inside half's ladder draws
        // the outside half's lines and data connections too (three lifelines).
        let mut drawn_twice = 0;
        if let Some(at) = dom.find("(inside) and <a href=\"#s") {
            let rest = &dom[at + "(inside) and <a href=\"#s".len()..];
            let outside: u64 = rest[..rest.find('"').unwrap()].parse().unwrap();
            drawn_twice = per_session[&outside];
            assert!(dom.contains(">NAT "), "{name}: the NAT's lifeline");
            assert!(dom.contains("is the outside half of <a href="), "{name}");
        } else {
            assert!(
                !name.starts_with("nat-router"),
                "{name}: a router capture is drawn through the NAT"
            );
        }
        assert_eq!(
            dom.matches("<g class=\"data ").count(),
            channels + drawn_twice,
            "{name}: one group per data channel"
        );
        assert!(!dom.contains("alert("), "{name}");
    }
    // The hostile capture: no element from it after the browser parsed the page.
    let cap = hostile_capture(dir.path());
    let page = report(&["--format", "html"], &cap);
    let file = dir.path().join("evil.html");
    std::fs::write(&file, &page).unwrap();
    let out = headless(browser, dir.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("</html>"));
    assert!(
        !dom.contains("<img"),
        "an <img> from the capture is in the DOM"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    // A screenshot that is not blank: a PNG of some size (a blank page compresses
    // to a few kilobytes).
    let shot = dir.path().join("shot.png");
    let cap = common::repo().join("captures/passive-refused.pcap");
    let file = dir.path().join("passive-refused.pcap.html");
    let out = headless(browser, dir.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    let _ = cap;
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        png.len() > 30_000,
        "the screenshot looks blank ({} bytes)",
        png.len()
    );
}

/// The values of an attribute in a page, in order.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let key = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&key) {
        rest = &rest[i + key.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

/// `--lang en,zh`: one page holding both languages' text, a switch between them
/// made of radio buttons and the stylesheet (no script needed), the first
/// language checked; ids unique across the copies and every link landing in
/// its own copy.
#[test]
fn two_languages_make_one_page_with_a_switch() {
    let cap = common::repo().join("captures/nat-router-no-alg.pcap");
    let page = report(&["--format", "html", "--lang", "en,zh"], &cap);
    for text in [
        "Collapse transcripts",
        "折叠会话记录",
        "Data connections",
        "数据连接",
        "Fix",
        "处理建议",
    ] {
        assert!(page.contains(text), "the page lacks {text:?}");
    }
    // The switch: English first and checked, Chinese second.
    let en = page
        .find("<input class=\"langsel\" type=\"radio\" name=\"lang\" id=\"lang-en\" checked>")
        .expect("an English radio button, checked");
    let zh = page
        .find("<input class=\"langsel\" type=\"radio\" name=\"lang\" id=\"lang-zh\">")
        .expect("a Chinese radio button, not checked");
    assert!(en < zh);
    assert!(page.contains("<label for=\"lang-en\" lang=\"en\">English</label>"));
    assert!(page.contains("<label for=\"lang-zh\" lang=\"zh-Hans\">中文</label>"));
    // Hidden by the stylesheet unless its radio button is checked.
    assert!(page.contains(".l10n { display: none; }"));
    assert!(page.contains("#lang-en:checked ~ .l-en { display: block; }"));
    assert!(page.contains("#lang-zh:checked ~ .l-zh { display: block; }"));
    let (a, b) = (
        page.find("<div class=\"l10n l-en\" lang=\"en\">")
            .expect("English copy"),
        page.find("<div class=\"l10n l-zh\" lang=\"zh-Hans\">")
            .expect("Chinese copy"),
    );
    assert!(zh < a && a < b, "radio buttons, then English, then Chinese");
    // Both copies draw every session, with the NAT view.
    assert_eq!(
        page[a..b].matches("<svg class=\"ladder\"").count(),
        page[b..].matches("<svg class=\"ladder\"").count()
    );
    assert!(page[b..].contains("<figcaption class=\"nat\">"));
    // Ids are unique; every in-page link and marker lands in the same copy.
    let ids = attr_values(&page, "id");
    let mut seen = std::collections::HashSet::new();
    for id in &ids {
        assert!(seen.insert(id.as_str()), "id {id} twice");
    }
    for (copy, text) in [("en", &page[a..b]), ("zh", &page[b..])] {
        let here: std::collections::HashSet<String> = attr_values(text, "id").into_iter().collect();
        let links = attr_values(text, "href");
        assert!(links.len() > 10, "{copy}: only {} links", links.len());
        for h in links {
            let target = h.trim_start_matches('#');
            assert!(here.contains(target), "{copy}: link {h} leaves its copy");
        }
        for m in attr_values(text, "marker-end") {
            let target = m.trim_start_matches("url(#").trim_end_matches(')');
            assert!(here.contains(target), "{copy}: marker {m} leaves its copy");
        }
    }
    // The order of --lang picks what shows first.
    let page = report(&["--format", "html", "--lang", "zh,en"], &cap);
    assert!(page.contains("id=\"lang-zh\" checked>"));
    assert!(page.starts_with("<!DOCTYPE html><html lang=\"zh-Hans\">"));
}

/// One language: no switch, one copy, ids without prefix.
#[test]
fn one_language_has_no_switch() {
    let cap = common::repo().join("captures/passive-refused.pcap");
    for args in [
        &["--format", "html"][..],
        &["--format", "html", "--lang", "zh"],
        &["--format", "html", "--lang", "zh,zh"],
    ] {
        let page = report(args, &cap);
        assert!(!page.contains("name=\"lang\""), "{args:?}: a switch");
        assert!(!page.contains("class=\"l10n"), "{args:?}: a language copy");
        assert!(page.contains("id=\"s1\""), "{args:?}");
    }
    let zh = report(&["--format", "html", "--lang", "zh"], &cap);
    assert!(zh.contains("折叠会话记录") && !zh.contains("Collapse transcripts"));
}

/// Several languages elsewhere than the HTML page: a usage error.
#[test]
fn several_languages_only_for_the_html_page() {
    let cap = common::repo().join("captures/passive-refused.pcap");
    for args in [
        &["report", "--lang", "en,zh"][..],
        &["report", "--format", "json", "--lang", "en,zh"],
        &["diagnose", "--lang", "zh,en"],
    ] {
        let out = Command::new(bin())
            .args(args)
            .arg(&cap)
            .output()
            .expect("ftpscope runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--format html"), "{args:?}: {err}");
    }
}
