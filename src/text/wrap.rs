//! Wrapping text output to a width, for the text report, `diagnose` and `explain`.
//!
//! [`WrapWriter`] sits *outside* the escaping [`SafeWriter`](super::SafeWriter):
//! what it receives is already escaped, and it breaks lines only at spaces and
//! between wide (CJK) characters, so an escape such as `\x1b` or `\u{202e}`, which
//! holds neither, is never split. Continuation lines are indented under their
//! field ([`hanging_indent`]): `evidence: `, `fix: `, `S< `, `= `, `capture covers: `.
//!
//! Invariants (checked by a property test): wrapping never loses, adds or reorders
//! a non-space character, and no output line is wider than the width unless it
//! holds a single word wider than the room left after the indent.

use std::io::{self, Write};

use unicode_width::UnicodeWidthChar;

/// Columns a string takes on a terminal (wide characters count two).
pub fn display_width(s: &str) -> usize {
    if crate::text::all_plain(s.as_bytes(), false) {
        return s.len();
    }
    if s.is_ascii() {
        // Printable ASCII takes one column, controls none (as `width` says).
        return s.bytes().filter(|b| (0x20..0x7f).contains(b)).count();
    }
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

fn is_wide(c: char) -> bool {
    // No ASCII character is wide: skip the table for them.
    !c.is_ascii() && c.width().unwrap_or(0) > 1
}

/// Where continuation lines of `line` start: under the field after a short label
/// (`evidence: `, `fix: `, `C> `, `S< `, `= `, `ERROR some-id: `), after a list
/// marker (`#3 `, `- `) or a `[session N] ` tag, else two columns in (a paragraph
/// that starts at the margin) or at the line's own indent. Never more than half
/// the width, so the text keeps room.
pub fn hanging_indent(line: &str, width: usize) -> usize {
    let lead = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[lead..];
    let mut cands = Vec::new();
    // A `[session N] ` tag, then a label.
    let tag = match rest.strip_prefix('[') {
        Some(r) => r.find("] ").map_or(0, |i| i + 3),
        None => 0,
    };
    let after_tag = &rest[tag..];
    if let Some(l) = label_len(after_tag) {
        cands.push(lead + tag + display_width(&after_tag[..l]));
    }
    if tag > 0 {
        cands.push(lead + display_width(&rest[..tag]));
    }
    if let Some(m) = list_marker(rest) {
        cands.push(lead + m);
    }
    cands.push(if lead < 4 { lead + 2 } else { lead });
    let max = width / 2;
    cands
        .into_iter()
        .find(|&c| c <= max)
        .unwrap_or(lead.min(max))
}

/// The length of a leading label of at most three words ending in `: `, `> `,
/// `< ` or `= `, separator included.
fn label_len(s: &str) -> Option<usize> {
    // The first of the separators, in one pass.
    let end = s
        .as_bytes()
        .windows(2)
        .position(|w| matches!(w, [b':' | b'>' | b'<' | b'=', b' ']))?;
    let label = &s[..end];
    (label.split_whitespace().count() <= 3).then_some(end + 2)
}

/// `#12 ` or `- ` at the start.
fn list_marker(s: &str) -> Option<usize> {
    if s.starts_with("- ") {
        return Some(2);
    }
    let digits = s.strip_prefix('#')?;
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0 && digits[n..].starts_with(' ')).then_some(n + 2)
}

/// One piece of a line: a word, with what separated it from the previous one.
struct Atom<'a> {
    /// Spaces before it (dropped when the line breaks there); 0 between wide
    /// characters.
    space: &'a str,
    text: &'a str,
}

/// Words, and each wide character on its own (a line may break between two).
fn atoms(s: &str) -> Vec<Atom<'_>> {
    if s.is_ascii() {
        return atoms_ascii(s);
    }
    atoms_any(s)
}

/// [`atoms`] of ASCII text: no wide character, words end at a space.
fn atoms_ascii(s: &str) -> Vec<Atom<'_>> {
    let mut out = Vec::with_capacity(s.len() / 6 + 1);
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let sp_start = i;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        let end = b[i..]
            .iter()
            .position(|&c| c == b' ')
            .map_or(b.len(), |n| i + n);
        out.push(Atom {
            space: &s[sp_start..i],
            text: &s[i..end],
        });
        i = end;
    }
    out
}

/// [`atoms`] of any text.
fn atoms_any(s: &str) -> Vec<Atom<'_>> {
    // About one word per six bytes of text: room without regrowing, mostly.
    let mut out = Vec::with_capacity(s.len() / 6 + 1);
    let mut i = 0;
    let b = s.as_bytes();
    while i < s.len() {
        let sp_start = i;
        while i < s.len() && b[i] == b' ' {
            i += 1;
        }
        let space = &s[sp_start..i];
        if i == s.len() {
            break;
        }
        let start = i;
        let mut chars = s[i..].char_indices();
        let mut end = s.len();
        if let Some((_, c)) = chars.next() {
            if is_wide(c) {
                // A wide character with the closing punctuation after it: a line
                // never starts with `，` or `）`.
                end = start + c.len_utf8();
                for (j, c) in chars {
                    if !no_break_before(c) {
                        break;
                    }
                    end = start + j + c.len_utf8();
                }
            } else {
                for (j, c) in chars {
                    if c == ' ' || is_wide(c) {
                        end = start + j;
                        break;
                    }
                }
            }
        }
        out.push(Atom {
            space,
            text: &s[start..end],
        });
        i = end;
    }
    out
}

/// Punctuation that must not begin a line (Chinese line-breaking rules).
fn no_break_before(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '」'
            | '』'
            | '》'
            | '〉'
            | '】'
            | '…'
            | ')'
            | ','
            | '.'
            | ';'
            | ':'
    )
}

/// Wrap one line (no line feed in it) to `width` columns; `width` 0 leaves it.
pub fn wrap_line(line: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let _ = wrap_each(line, width, &mut String::new(), |l| {
        lines.push(l.to_string());
        Ok(())
    });
    lines
}

/// [`wrap_line`], each output line handed to `out` as it is made (built in `cur`,
/// a buffer the caller keeps), so wrapping allocates nothing per line.
fn wrap_each(
    line: &str,
    width: usize,
    cur: &mut String,
    mut out: impl FnMut(&str) -> io::Result<()>,
) -> io::Result<()> {
    // A character takes at most as many columns as it has bytes in UTF-8 (wide
    // characters have three or four), so a line this short fits as it is.
    if width == 0 || line.len() <= width || display_width(line) <= width {
        return out(line);
    }
    let lead = line.len() - line.trim_start_matches(' ').len();
    let indent = hanging_indent(line, width);
    cur.clear();
    cur.push_str(&line[..lead]);
    let mut col = lead;
    let mut empty = true;
    for a in atoms(&line[lead..]) {
        let w = display_width(a.text);
        let sw = if empty { 0 } else { a.space.len() };
        if empty || col + sw + w <= width {
            if !empty {
                cur.push_str(a.space);
            }
            cur.push_str(a.text);
            col += sw + w;
            empty = false;
        } else {
            out(cur)?;
            cur.clear();
            cur.extend(std::iter::repeat_n(' ', indent));
            cur.push_str(a.text);
            col = indent + w;
        }
    }
    out(cur)
}

/// The width for text on standard output: `COLUMNS` when set to a number, else
/// the terminal's width when standard output is one, else 100.
pub fn output_width() -> usize {
    use std::io::IsTerminal;
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    if io::stdout().is_terminal() {
        if let Ok((w, _)) = crossterm::terminal::size() {
            if w > 0 {
                return usize::from(w);
            }
        }
    }
    100
}

/// Longest line kept whole in memory before it is written as it is, unwrapped.
const MAX_LINE: usize = 1 << 20;

/// A writer that wraps each line it is given to a width (0: passes everything).
/// Lines are held until their line feed (or [`flush`](Write::flush)); text that is
/// not UTF-8 passes unwrapped.
pub struct WrapWriter<W: Write> {
    inner: W,
    width: usize,
    line: Vec<u8>,
    /// The output line being built (reused).
    cur: String,
    /// Lines already wrapped and what they became: a report repeats the same long
    /// lines (explanations of each command and reply) in every session. Bounded by
    /// [`WRAPPED_KEPT`] entries, cleared when full.
    wrapped: rustc_hash::FxHashMap<Box<[u8]>, Box<[u8]>>,
}

/// Wrapped lines remembered by a [`WrapWriter`].
const WRAPPED_KEPT: usize = 4096;

impl<W: Write> WrapWriter<W> {
    pub fn new(inner: W, width: usize) -> Self {
        WrapWriter {
            inner,
            width,
            line: Vec::new(),
            cur: String::new(),
            wrapped: rustc_hash::FxHashMap::default(),
        }
    }

    /// The writer it writes to (a line not ended yet stays held: [`Write::flush`]
    /// first).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    fn emit_line(&mut self) -> io::Result<()> {
        if self.line.len() <= self.width {
            // Fits (a character has at least as many bytes as columns).
            self.inner.write_all(&self.line)?;
        } else if let Some(done) = self.wrapped.get(self.line.as_slice()) {
            self.inner.write_all(done)?;
        } else {
            match std::str::from_utf8(&self.line) {
                Ok(s) => {
                    let mut done = Vec::with_capacity(s.len() + 32);
                    let mut first = true;
                    wrap_each(s, self.width, &mut self.cur, |part| {
                        if !first {
                            done.push(b'\n');
                        }
                        first = false;
                        done.extend_from_slice(part.as_bytes());
                        Ok(())
                    })?;
                    self.inner.write_all(&done)?;
                    if self.wrapped.len() >= WRAPPED_KEPT {
                        self.wrapped.clear();
                    }
                    self.wrapped
                        .insert(self.line.as_slice().into(), done.into_boxed_slice());
                }
                Err(_) => self.inner.write_all(&self.line)?,
            }
        }
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> Write for WrapWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.width == 0 {
            return self.inner.write(data);
        }
        let mut rest = data;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.line.extend_from_slice(&rest[..i]);
            self.emit_line()?;
            self.inner.write_all(b"\n")?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            self.inner.write_all(&self.line)?;
            self.line.clear();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.emit_line()?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {

    /// ASCII text cut into the words the general walk cuts it into.
    #[test]
    fn ascii_atoms_equal_the_general_walk() {
        let pool = [" ", "  ", "a", "bc", "def", "-", "x:", "\t", "\u{7f}", "1"];
        let mut x: u64 = 0x0bad_cafe_1234_5678;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s: String = (0..(x % 25) as usize)
                .map(|k| pool[((x >> (k % 50)) as usize + k * 3) % pool.len()])
                .collect();
            let f = |v: Vec<Atom<'_>>| {
                v.iter()
                    .map(|a| (a.space.to_string(), a.text.to_string()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(f(atoms_ascii(&s)), f(atoms_any(&s)), "{s:?}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continuation_lines_go_under_their_field() {
        let line = "      evidence: frame 18, 20:25:02.579: server replied: 227 Entering Passive Mode (10,0,0,5,156,145).";
        let w = wrap_line(line, 60);
        assert!(w.len() > 1, "{w:?}");
        for l in &w[1..] {
            assert!(
                l.starts_with(&" ".repeat(16)) && !l.starts_with(&" ".repeat(17)),
                "{w:?}"
            );
        }
        let w = wrap_line(
            "    20:25:02.579  S< 227 Entering Passive Mode (10,0,0,5,156,145).   (+308 µs)",
            50,
        );
        assert_eq!(hanging_indent(&w[0], 50), 21);
        assert!(w[1].starts_with(&" ".repeat(21)), "{w:?}");
        assert_eq!(
            hanging_indent("  [session 1] ERROR pasv-address-mismatch: the server", 100),
            43
        );
        assert_eq!(
            hanging_indent("  [session 1] ERROR pasv-address-mismatch: the server", 80),
            14
        );
        assert_eq!(
            hanging_indent("    #1 PASV 10.0.0.5:40081 unanswered", 80),
            7
        );
        assert_eq!(hanging_indent("Session 1  a -> b", 80), 2);
    }

    /// The ASCII fast path of [`display_width`] counts as the character tables do.
    #[test]
    fn ascii_width_is_the_tables_width() {
        for b in 0u8..0x80 {
            let c = char::from(b);
            let s = format!("a{c}b");
            assert_eq!(display_width(&s), 2 + c.width().unwrap_or(0), "{b:#x}");
        }
        assert_eq!(display_width("会话 ok"), 7);
    }

    #[test]
    fn width_zero_and_short_lines_are_left_alone() {
        let long = "x ".repeat(200);
        assert_eq!(wrap_line(&long, 0), std::slice::from_ref(&long));
        assert_eq!(wrap_line("  short  line  ", 80), ["  short  line  "]);
        let mut w = WrapWriter::new(Vec::new(), 0);
        w.write_all(long.as_bytes()).unwrap();
        assert_eq!(w.inner, long.as_bytes());
    }

    #[test]
    fn escapes_are_never_split() {
        let line = format!("  note: {}", "ab\\x1b[2J \\u{202e}cd ".repeat(20));
        for l in wrap_line(&line, 30) {
            assert!(
                !l.ends_with('\\') && !l.trim_start().starts_with("u{"),
                "{l}"
            );
        }
    }

    #[test]
    fn chinese_breaks_between_characters() {
        let line = format!("  = {}", "被动模式：服务器在端口上等待数据连接。".repeat(5));
        for l in wrap_line(&line, 40) {
            assert!(display_width(&l) <= 40, "{l}");
            assert!(!l.trim_start().starts_with(['，', '。', '）']), "{l}");
        }
    }

    fn non_space(s: &str) -> String {
        s.chars().filter(|&c| c != ' ').collect()
    }

    proptest! {
        /// Nothing is lost, added or reordered but spaces; no line is wider than
        /// the width unless it holds one unbreakable word.
        #[test]
        fn wrapping_keeps_every_character_and_the_width(
            lead in 0usize..24,
            words in proptest::collection::vec(
                prop_oneof![
                    "[a-z0-9:=<>#,.()\\\\-]{1,12}",
                    "[a-z]{20,70}",
                    "[被动模式数据连接]{1,6}",
                    Just("evidence:".to_string()),
                    Just("S<".to_string()),
                ],
                0..40,
            ),
            gaps in proptest::collection::vec(1usize..4, 40),
            width in 1usize..120,
        ) {
            let mut line = " ".repeat(lead);
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    line.push_str(&" ".repeat(gaps[i]));
                }
                line.push_str(w);
            }
            let out = wrap_line(&line, width);
            prop_assert_eq!(non_space(&out.concat()), non_space(&line));
            for l in &out {
                prop_assert!(!l.contains('\n'));
                if display_width(l) > width {
                    // One word only, after the indent.
                    let t = l.trim_start();
                    prop_assert!(
                        !t.contains(' ') && (t.chars().count() == 1 || t.chars().all(|c| !is_wide(c))),
                        "{:?} wider than {} in {:?}", l, width, out
                    );
                }
            }
            // The writer gives the same, line feed for line feed.
            let mut w = WrapWriter::new(Vec::new(), width);
            for piece in format!("{line}\n{line}").as_bytes().chunks(7) {
                w.write_all(piece).unwrap();
            }
            w.flush().unwrap();
            let joined = out.join("\n");
            prop_assert_eq!(String::from_utf8(w.inner).unwrap(), format!("{joined}\n{joined}"));
        }
    }
}
