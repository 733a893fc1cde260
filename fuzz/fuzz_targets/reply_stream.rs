//! A control stream through `LineSplitter` + `ReplyParser`, fed in chunks whose
//! sizes come from the input. The same stream fed in one piece must give the same
//! lines and the same replies (any chunking gives the same result), and every
//! bound the modules promise must hold.
//!
//! Input: `[n] [n chunk sizes] [stream...]`.
#![no_main]

use ftpscope::ftp::catalog::Lang;
use ftpscope::ftp::explain::{self, Context};
use ftpscope::ftp::line::{LineFlags, LineSplitter, MAX_LINE};
use ftpscope::ftp::reply::{MAX_REPLY_LINES, ReplyItem, ReplyParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
enum Out {
    Line(Vec<u8>, LineFlags),
    Item(ReplyItem),
    Finished(Option<ftpscope::ftp::reply::ParsedReply>),
}

fn run(stream: &[u8], sizes: &[usize]) -> Vec<Out> {
    let mut s = LineSplitter::new();
    let mut p = ReplyParser::new();
    let mut out = Vec::new();
    let on_line = |l: &[u8], f: LineFlags, out: &mut Vec<Out>, p: &mut ReplyParser| {
        assert!(l.len() <= MAX_LINE);
        out.push(Out::Line(l.to_vec(), f));
        if let Some(i) = p.line(l, f) {
            out.push(Out::Item(i));
        }
    };
    let mut rest = stream;
    let mut k = 0;
    while !rest.is_empty() {
        let n = if sizes.is_empty() {
            rest.len()
        } else {
            sizes[k % sizes.len()].clamp(1, rest.len())
        };
        k += 1;
        let (now, later) = rest.split_at(n);
        s.feed(now, |l, f| on_line(l, f, &mut out, &mut p));
        rest = later;
    }
    assert_eq!(s.consumed, stream.len() as u64);
    if let Some((l, f)) = s.finish() {
        assert!(f.unterminated);
        on_line(&l, f, &mut out, &mut p);
    }
    assert!(!s.pending());
    out.push(Out::Finished(p.finish()));
    assert!(!p.in_multiline());
    out
}

const VERBS: [Option<&str>; 20] = [
    None,
    Some(""),
    Some("USER"),
    Some("PASS"),
    Some("ACCT"),
    Some("SIZE"),
    Some("MDTM"),
    Some("MKD"),
    Some("XMKD"),
    Some("PWD"),
    Some("PORT"),
    Some("EPRT"),
    Some("LPRT"),
    Some("TYPE"),
    Some("REST"),
    Some("RNFR"),
    Some("RETR"),
    Some("LIST"),
    Some("PASV"),
    Some("FOO"),
];

fn check(items: &[Out]) {
    let mut nth = 0usize;
    for o in items {
        let r = match o {
            Out::Item(ReplyItem::Reply(r)) => r,
            Out::Finished(Some(r)) => r,
            _ => continue,
        };
        assert!((100..700).contains(&r.code), "code {}", r.code);
        assert!(!r.lines.is_empty() && r.lines.len() <= MAX_REPLY_LINES);
        let _ = r.text();
        let t = r.first_text();
        // One verb the explanations look at per reply, chosen by the reply's code
        // and position, with a plain, a non-ASCII or the reply's own argument:
        // over a run every combination is reached (trying all 120 for every reply
        // made the target 50x slower without finding more).
        let k = nth + r.code as usize;
        nth += 1;
        let verb = VERBS[k % VERBS.len()];
        let arg = [&b"x"[..], "\u{e9}".as_bytes(), t][(k / 40) % 3];
        let lang = if (k / 20) % 2 == 0 { Lang::En } else { Lang::Zh };
        let ctx = Context {
            verb,
            arg,
            server_ip: None,
        };
        let _ = explain::reply(r.code, t, &ctx, lang);
        let _ = explain::bytes_in_150(t);
        let _ = explain::size_in_213(t);
        let _ = explain::path_in_257(t);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    let sizes: Vec<usize> = sizes.iter().map(|&b| b as usize + 1).collect();
    let chunked = run(stream, &sizes);
    check(&chunked);
    let whole = run(stream, &[]);
    assert_eq!(chunked, whole, "chunking changed the result");
    let bytewise = run(stream, &[1]);
    assert_eq!(bytewise, whole, "byte-by-byte feeding changed the result");
});
