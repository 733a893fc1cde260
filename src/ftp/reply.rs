//! Reply parsing, line by line (RFC 959 §4.2).
//!
//! A reply is `ddd SP text` on one line, or a multi-line reply that starts with
//! `ddd-text` and ends with a line that starts with the same `ddd` followed by a
//! space. Lines in between may start with anything, digits included.
//!
//! Real servers deviate; each deviation is kept and flagged, never fatal:
//! * the last line carries another code than the first (`211-` ... `214 End`):
//!   a line `ddd SP` with a different valid code ends the reply, flagged;
//! * no space after the code (`220Welcome`): accepted, flagged;
//! * a line that is not a reply at all where one should start: reported as
//!   [`ReplyItem::Garbage`];
//! * a multi-line reply that never ends: at most [`MAX_REPLY_LINES`] lines are kept
//!   (the rest counted); [`ReplyParser::finish`] closes it, flagged unterminated.

use super::line::LineFlags;

pub const MAX_REPLY_LINES: usize = 2000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyFlags {
    pub multiline: bool,
    /// The last line's code differs from the first line's.
    pub end_code_differs: Option<u16>,
    /// A code not followed by space or `-`.
    pub missing_space: bool,
    /// Never terminated (stream ended or broke).
    pub unterminated: bool,
    /// Lines beyond [`MAX_REPLY_LINES`] (counted, not kept).
    pub dropped_lines: usize,
    /// Some line was longer than the line limit.
    pub long_line: bool,
    /// A line ended with a bare LF.
    pub bare_lf: bool,
    /// A line was cut short (capture gap, snaplen, end of capture): its end is unknown.
    pub cut: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedReply {
    pub code: u16,
    /// Lines as sent (without CR LF), first line included with its code.
    pub lines: Vec<Vec<u8>>,
    pub flags: ReplyFlags,
}

impl ParsedReply {
    /// The text of the reply: every line with the leading `ddd-`/`ddd ` of the first and
    /// last line removed, joined by newlines.
    pub fn text(&self) -> Vec<u8> {
        let n = self.lines.len();
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.len() + 1).sum());
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            let strip =
                (i == 0 || i == n - 1) && l.len() >= 3 && l[..3].iter().all(u8::is_ascii_digit);
            if strip {
                let rest = &l[3..];
                let rest = if matches!(rest.first(), Some(b' ') | Some(b'-')) {
                    &rest[1..]
                } else {
                    rest
                };
                out.extend_from_slice(rest);
            } else {
                out.extend_from_slice(l);
            }
        }
        out
    }

    /// First line's text, without the code.
    pub fn first_text(&self) -> &[u8] {
        let l = &self.lines[0];
        if l.len() >= 4 { &l[4..] } else { &[] }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReplyItem {
    /// A whole reply.
    Reply(ParsedReply),
    /// A line that cannot start a reply.
    Garbage(Vec<u8>),
    /// A multi-line reply has begun (first line seen); its end is still to come.
    Started(u16),
}

fn code_of(line: &[u8]) -> Option<u16> {
    if line.len() >= 3
        && line[..3].iter().all(u8::is_ascii_digit)
        && (b'1'..=b'6').contains(&line[0])
    {
        let c =
            (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
        Some(c)
    } else {
        None
    }
}

#[derive(Debug, Default)]
pub struct ReplyParser {
    open: Option<ParsedReply>,
}

impl ReplyParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while inside a multi-line reply.
    pub fn in_multiline(&self) -> bool {
        self.open.is_some()
    }

    /// Feed one line; returns what it completed.
    pub fn line(&mut self, line: &[u8], lf: LineFlags) -> Option<ReplyItem> {
        if let Some(open) = &mut self.open {
            let note = |f: &mut ReplyFlags| {
                f.long_line |= lf.overflow > 0;
                f.bare_lf |= lf.bare_lf;
                f.cut |= lf.unterminated;
            };
            note(&mut open.flags);
            let ends = match code_of(line) {
                Some(c) if c == open.code => line.len() == 3 || line[3] == b' ',
                Some(c) => {
                    if line.get(3) == Some(&b' ') && c / 100 == open.code / 100 {
                        open.flags.end_code_differs = Some(c);
                        true
                    } else {
                        false
                    }
                }
                None => false,
            };
            if open.lines.len() < MAX_REPLY_LINES {
                open.lines.push(line.to_vec());
            } else {
                open.flags.dropped_lines += 1;
                if ends {
                    // Keep the last line: it carries the closing code.
                    if let Some(l) = open.lines.last_mut() {
                        *l = line.to_vec();
                    }
                }
            }
            if ends {
                return self.open.take().map(ReplyItem::Reply);
            }
            return None;
        }
        let Some(code) = code_of(line) else {
            return Some(ReplyItem::Garbage(line.to_vec()));
        };
        let mut flags = ReplyFlags {
            long_line: lf.overflow > 0,
            bare_lf: lf.bare_lf,
            cut: lf.unterminated,
            ..Default::default()
        };
        match line.get(3) {
            Some(b'-') => {
                flags.multiline = true;
                self.open = Some(ParsedReply {
                    code,
                    lines: vec![line.to_vec()],
                    flags,
                });
                Some(ReplyItem::Started(code))
            }
            Some(b' ') | None => Some(ReplyItem::Reply(ParsedReply {
                code,
                lines: vec![line.to_vec()],
                flags,
            })),
            Some(_) => {
                flags.missing_space = true;
                Some(ReplyItem::Reply(ParsedReply {
                    code,
                    lines: vec![line.to_vec()],
                    flags,
                }))
            }
        }
    }

    /// The stream ended or broke: close an open multi-line reply.
    pub fn finish(&mut self) -> Option<ParsedReply> {
        self.open.take().map(|mut r| {
            r.flags.unterminated = true;
            r
        })
    }
}

/// Can `code` be a reply to `verb`? From RFC 959 §5.4 and the extensions' RFCs.
/// Error codes (4yz, 5yz) fit any command; unknown verbs accept anything. A
/// preliminary reply (1yz) comes only before a transfer (RETR, STOR, LIST...),
/// for REIN (120), and for SITE (whose subcommands are the server's own).
pub fn plausible(verb: &str, code: u16) -> bool {
    if !(100..400).contains(&code) {
        return true;
    }
    let ok: &[u16] = match verb {
        "USER" => &[230, 232, 331, 332, 336],
        "PASS" => &[230, 202, 332],
        "ACCT" => &[230, 202],
        "CWD" | "XCWD" | "SMNT" => &[250],
        "CDUP" | "XCUP" => &[200, 250],
        "REIN" => &[220],
        "QUIT" => &[221],
        "PORT" | "EPRT" | "LPRT" | "TYPE" | "MODE" | "STRU" | "NOOP" | "PBSZ" | "PROT" | "CCC"
        | "OPTS" | "LANG" | "HOST" | "CLNT" => &[200, 202, 220, 230],
        "PASV" => &[227],
        "EPSV" => &[229, 200],
        "LPSV" => &[228],
        "ALLO" => &[200, 202],
        "REST" | "RNFR" => &[350],
        "RETR" | "STOR" | "STOU" | "APPE" | "LIST" | "NLST" | "MLSD" => &[226, 250],
        "RNTO" | "DELE" | "RMD" | "XRMD" => &[250],
        "MKD" | "XMKD" | "PWD" | "XPWD" => &[257],
        "SYST" => &[215],
        "STAT" => &[211, 212, 213],
        "HELP" => &[211, 214],
        "SIZE" | "MDTM" => &[213],
        "FEAT" => &[211],
        "MLST" => &[250],
        "AUTH" | "ADAT" => &[234, 334, 235, 335],
        "ABOR" => &[225, 226],
        "SITE" => &[200, 202, 214, 250],
        "PRET" => &[200],
        _ => return true,
    };
    if code < 200 {
        return matches!(
            verb,
            "RETR" | "STOR" | "STOU" | "APPE" | "LIST" | "NLST" | "MLSD" | "REIN" | "SITE"
        );
    }
    ok.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ftp::line::LineSplitter;
    use proptest::prelude::*;

    #[test]
    fn a_preliminary_reply_answers_a_transfer_not_a_setup_command() {
        for v in ["RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"] {
            assert!(plausible(v, 150) && plausible(v, 125), "{v}");
        }
        assert!(plausible("REIN", 120));
        for v in ["PASV", "EPSV", "PORT", "TYPE", "USER", "PRET", "CWD"] {
            assert!(!plausible(v, 150), "{v}");
        }
        // Unknown verbs and errors fit anything.
        assert!(plausible("XYZZ", 150));
        assert!(plausible("PASV", 425));
        assert!(plausible("PRET", 200) && !plausible("PRET", 229));
    }

    fn parse_all(bytes: &[u8], chunk: usize) -> Vec<ReplyItem> {
        let mut s = LineSplitter::new();
        let mut p = ReplyParser::new();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            s.feed(c, |l, f| {
                if let Some(i) = p.line(l, f) {
                    if !matches!(i, ReplyItem::Started(_)) {
                        out.push(i);
                    }
                }
            });
        }
        if let Some((l, f)) = s.finish() {
            if let Some(i) = p.line(&l, f) {
                if !matches!(i, ReplyItem::Started(_)) {
                    out.push(i);
                }
            }
        }
        out.extend(p.finish().map(ReplyItem::Reply));
        out
    }

    const STREAM: &[u8] = b"220-Welcome\r\n220-to the\r\n 123 inner\r\n220 server\r\n331 Password required\r\n211-Features:\r\n EPSV\r\n MDTM\r\n211 End\r\n230User logged in\r\n214-help\r\n214 end\r\n";

    #[test]
    fn rfc959_multiline_and_variants() {
        let items = parse_all(STREAM, 4096);
        let codes: Vec<u16> = items
            .iter()
            .map(|i| {
                if let ReplyItem::Reply(r) = i {
                    r.code
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(codes, vec![220, 331, 211, 230, 214]);
        let ReplyItem::Reply(r) = &items[0] else {
            panic!()
        };
        assert_eq!(r.lines.len(), 4);
        assert_eq!(r.text(), b"Welcome\n220-to the\n 123 inner\nserver");
        let ReplyItem::Reply(r) = &items[3] else {
            panic!()
        };
        assert!(r.flags.missing_space);
    }

    #[test]
    fn different_end_code_is_flagged() {
        let items = parse_all(b"211-Status\r\n stuff\r\n214 done\r\n200 ok\r\n", 7);
        let ReplyItem::Reply(r) = &items[0] else {
            panic!()
        };
        assert_eq!(r.flags.end_code_differs, Some(214));
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn never_ending_multiline_is_bounded() {
        let mut s = b"250-start\r\n".to_vec();
        for _ in 0..(MAX_REPLY_LINES + 50) {
            s.extend_from_slice(b" more\r\n");
        }
        let items = parse_all(&s, 1000);
        let ReplyItem::Reply(r) = &items[0] else {
            panic!()
        };
        assert!(r.flags.unterminated);
        assert_eq!(r.lines.len(), MAX_REPLY_LINES);
        assert_eq!(r.flags.dropped_lines, 51);
    }

    #[test]
    fn garbage_is_reported() {
        let items = parse_all(b"hello\r\n200 ok\r\n", 3);
        assert_eq!(items[0], ReplyItem::Garbage(b"hello".to_vec()));
    }

    proptest! {
        #[test]
        fn any_chunking_gives_same_replies(chunk in 1usize..64) {
            prop_assert_eq!(parse_all(STREAM, chunk), parse_all(STREAM, 4096));
        }
    }

    /// Like [`parse_all`], with chunk sizes that vary along the stream.
    fn parse_chunked(bytes: &[u8], sizes: &[usize]) -> Vec<ReplyItem> {
        let mut s = LineSplitter::new();
        let mut p = ReplyParser::new();
        let mut out = Vec::new();
        let push = |i: Option<ReplyItem>, out: &mut Vec<ReplyItem>| {
            if let Some(i) = i {
                if !matches!(i, ReplyItem::Started(_)) {
                    out.push(i);
                }
            }
        };
        let mut rest = bytes;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(k % sizes.len().max(1))
                .copied()
                .unwrap_or(rest.len());
            let (now, later) = rest.split_at(n.clamp(1, rest.len()));
            s.feed(now, |l, f| push(p.line(l, f), &mut out));
            rest = later;
            k += 1;
        }
        if let Some((l, f)) = s.finish() {
            push(p.line(&l, f), &mut out);
        }
        out.extend(p.finish().map(ReplyItem::Reply));
        out
    }

    /// A well-formed reply: (code, lines on the wire without CR LF).
    fn reply_strategy() -> impl Strategy<Value = (u16, Vec<Vec<u8>>)> {
        // Text that cannot end a multi-line reply: it starts with a space or a
        // letter, or with the code followed by '-'.
        let text = "[ -~]{0,20}";
        let inner = prop_oneof![
            "[ a-zA-Z][ -~]{0,30}".prop_map(String::into_bytes),
            Just(b" 226 looks like a code".to_vec()),
            Just(Vec::new()),
        ];
        (
            100u16..600,
            text,
            proptest::collection::vec(inner, 0..6),
            any::<bool>(),
            text,
        )
            .prop_map(|(code, first, inner, multi, last)| {
                if !multi {
                    return (code, vec![format!("{code} {first}").into_bytes()]);
                }
                let mut lines = vec![format!("{code}-{first}").into_bytes()];
                lines.extend(inner);
                lines.push(format!("{code} {last}").into_bytes());
                (code, lines)
            })
    }

    /// Noise a hostile or broken server adds between and inside replies.
    fn noise_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"garbage line\r\n".to_vec()),
            Just(b"230no space\r\n".to_vec()),
            Just(b"211-open\r\n".to_vec()),
            Just(b"214 other end code\r\n".to_vec()),
            Just(vec![IAC_BYTE, 244, IAC_BYTE, 242]),
            Just(vec![IAC_BYTE, IAC_BYTE]),
            Just(vec![IAC_BYTE, 251, 1]),
            Just(vec![IAC_BYTE, 250, 1, 2, IAC_BYTE, 240]),
            Just(vec![b'\r']),
            proptest::collection::vec(any::<u8>(), 0..16),
        ]
    }

    const IAC_BYTE: u8 = 255;

    proptest! {
        /// Generated streams of well-formed replies, with CR LF or bare LF, in any
        /// chunking: the parser finds exactly the generated replies.
        #[test]
        fn generated_replies_in_any_chunking(
            replies in proptest::collection::vec(reply_strategy(), 0..12),
            bare_lf in any::<bool>(),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let eol: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
            let mut stream = Vec::new();
            for (_, lines) in &replies {
                for l in lines {
                    stream.extend_from_slice(l);
                    stream.extend_from_slice(eol);
                }
            }
            let got = parse_chunked(&stream, &sizes);
            prop_assert_eq!(&got, &parse_chunked(&stream, &[]));
            prop_assert_eq!(got.len(), replies.len());
            for (item, (code, lines)) in got.iter().zip(&replies) {
                let ReplyItem::Reply(r) = item else {
                    return Err(TestCaseError::fail(format!("not a reply: {item:?}")));
                };
                prop_assert_eq!(r.code, *code);
                prop_assert_eq!(&r.lines, lines);
                prop_assert_eq!(r.flags.bare_lf, bare_lf);
                prop_assert!(!r.flags.unterminated && !r.flags.missing_space);
            }
        }

        /// Replies mixed with noise (garbage, Telnet commands, stray CR, random
        /// bytes): whatever comes out, it comes out the same in any chunking.
        #[test]
        fn noisy_streams_parse_the_same_in_any_chunking(
            parts in proptest::collection::vec(
                prop_oneof![
                    reply_strategy().prop_map(|(_, lines)| {
                        let mut v = Vec::new();
                        for l in lines {
                            v.extend_from_slice(&l);
                            v.extend_from_slice(b"\r\n");
                        }
                        v
                    }),
                    noise_strategy(),
                ],
                0..20,
            ),
            sizes in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let stream = parts.concat();
            let whole = parse_chunked(&stream, &[]);
            prop_assert_eq!(&parse_chunked(&stream, &sizes), &whole);
            prop_assert_eq!(&parse_chunked(&stream, &[1]), &whole);
        }
    }
}
