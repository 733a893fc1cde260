//! Safe display of bytes that came off the wire (or from the user's arguments).
//!
//! Anything a peer sent may contain terminal control sequences (`ESC ] 52` writes
//! the clipboard, `ESC ] 0` the window title) or characters that hide or reorder
//! text for a reader (bidi overrides, zero-width characters). One rule, in one
//! place: [`needs_escape`] says which characters never reach an output raw, and
//! [`escape`] / [`escape_str`] write them as `\xNN`, `\r`, `\n`, `\t` or `\u{...}`
//! (a backslash from the wire is shown as is: it is harmless to a terminal, and
//! escaping twice changes nothing).
//!
//! Every text output (report, diagnose, explain, live log, proxy log, the TUI's
//! session file) is written through a [`SafeWriter`], which applies the same escape
//! to everything except the line breaks of the output itself; so a view that
//! forgets to escape a string still cannot put a control character on the terminal.
//! JSON goes through [`crate::report::json`], whose formatter writes these
//! characters as `\uXXXX`; the TUI cleans its frame buffer before it is drawn.

use std::io::{self, Write};

pub mod wrap;

/// Characters that never reach an output raw: controls (C0, DEL, C1), bidi
/// embeddings, overrides, isolates and marks, line and paragraph separators,
/// zero-width and other invisible format characters, and tag characters.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'                      // soft hyphen
            | '\u{34f}'                   // combining grapheme joiner
            | '\u{61c}'                   // Arabic letter mark
            | '\u{115f}' | '\u{1160}'     // Hangul fillers (render as nothing)
            | '\u{17b4}' | '\u{17b5}'     // Khmer inherent vowels (invisible)
            | '\u{180b}'..='\u{180f}'     // Mongolian variation selectors, vowel separator
            | '\u{200b}'..='\u{200f}'     // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}'     // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}'     // word joiner, invisible operators, bidi isolates, deprecated format
            | '\u{3164}'                  // Hangul filler
            | '\u{feff}'                  // zero-width no-break space (BOM)
            | '\u{ffa0}'                  // halfwidth Hangul filler
            | '\u{fff9}'..='\u{fffb}'     // interlinear annotation
            | '\u{e0000}'..='\u{e007f}' // tag characters
        )
}

/// True when `b` is printable ASCII: nothing to escape, whatever follows.
fn plain_ascii(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Every byte of `b` printable ASCII (or a line feed, with `lf`): what
/// `b.iter().all(plain_ascii)` says, eight bytes at a time (text reports pass
/// every line through this check).
pub(crate) fn all_plain(b: &[u8], lf: bool) -> bool {
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        if !plain8(u64::from_le_bytes(c.try_into().expect("eight bytes")), lf) {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&c| plain_ascii(c) || (lf && c == b'\n'))
}

/// The eight bytes of `x` (little-endian) all printable ASCII (or line feeds, with
/// `lf`); exact per byte, no carry crosses a byte.
#[inline]
fn plain8(x: u64, lf: bool) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = !HI;
    // The high bit of each byte set when the byte is >= n (1 <= n <= 0x80).
    let at_least = |x: u64, n: u64| (((x & LOW7) + LO * (0x80 - n)) | x) & HI;
    // The high bit of each byte set when the byte is zero.
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x) & HI;
    let mut ok = at_least(x, 0x20) & !(x & HI) & !zero(x ^ (LO * 0x7f));
    if lf {
        ok |= zero(x ^ (LO * u64::from(b'\n')));
    }
    ok == HI
}

/// Where `needle` (lower case) first occurs in `hay`, ignoring ASCII case: the
/// first byte is looked for in either case, then the rest compared. No copy of
/// `hay` (replies are searched this way for every transfer).
pub fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    if needle.len() > hay.len() {
        return None;
    }
    let upper = first.to_ascii_uppercase();
    let last = hay.len() - needle.len();
    let mut i = 0;
    while i <= last {
        i += hay[i..=last]
            .iter()
            .position(|&b| b == first || b == upper)?;
        if hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Escape bytes for display: valid UTF-8 passes except [`needs_escape`]
/// characters, which are escaped, as is every byte that is not UTF-8.
pub fn escape(bytes: &[u8]) -> String {
    // Fast path: printable ASCII needs no escaping (most FTP traffic).
    if all_plain(bytes, false) {
        return lossy(bytes);
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            push_byte(&mut out, *b);
        }
    }
    out
}

/// Escape a string that is already UTF-8 (text built from wire bytes, a user's
/// argument, a file name).
pub fn escape_str(s: &str) -> String {
    if all_plain(s.as_bytes(), false) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_char(&mut out, c);
    }
    out
}

/// [`escape`] appended to `out` (no String when nothing needs escaping).
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    if all_plain(bytes, false) {
        out.extend_from_slice(bytes);
    } else {
        out.extend_from_slice(escape(bytes).as_bytes());
    }
}

/// [`escape_str`] without a copy when nothing needs escaping (the common case:
/// views write it straight out).
pub fn escape_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if all_plain(s.as_bytes(), false) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(escape_str(s))
}

fn push_byte(out: &mut String, b: u8) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\x{b:02x}");
}

fn push_char(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if !needs_escape(c) {
        out.push(c);
        return;
    }
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => push_byte(out, c as u8),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// A writer for text output: everything written passes [`escape`] except the
/// line feeds, which are the output's own line structure. Text written to it can
/// therefore never carry a control sequence or an invisible character, whatever
/// a view forgot to escape; text already escaped passes unchanged.
///
/// A UTF-8 sequence split across two writes is kept until its end arrives;
/// [`flush`](Write::flush) writes an incomplete one as `\xNN`.
pub struct SafeWriter<W: Write> {
    inner: W,
    /// The start of a UTF-8 sequence whose end has not been written yet (< 4 bytes).
    partial: Vec<u8>,
    buf: String,
}

impl<W: Write> SafeWriter<W> {
    pub fn new(inner: W) -> Self {
        SafeWriter {
            inner,
            partial: Vec::new(),
            buf: String::new(),
        }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Escape `data` into `self.buf`; keeps an incomplete trailing sequence.
    fn escape_into_buf(&mut self, data: &[u8]) {
        let mut rest = data;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.push_text(s);
                    return;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `valid_up_to` bytes were just checked to be UTF-8.
                    self.push_text(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            for &b in &bad[..n] {
                                push_byte(&mut self.buf, b);
                            }
                            rest = &bad[n..];
                        }
                        None => {
                            self.partial.extend_from_slice(bad);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn push_text(&mut self, s: &str) {
        push_text_into(&mut self.buf, s);
    }
}

/// `s` into `out` as [`SafeWriter`] lets it pass: line feeds and characters
/// that need no escaping as they are (runs of them copied at once, eight ASCII
/// bytes checked at a time), the others escaped.
fn push_text_into(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if i + 8 <= b.len() {
            let x = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
            if plain8(x, true) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        if c < 0x80 {
            if c != b'\n' && !plain_ascii(c) {
                out.push_str(&s[start..i]);
                push_char(out, char::from(c));
                start = i + 1;
            }
            i += 1;
            continue;
        }
        // A non-ASCII character starts here (`s` is UTF-8).
        let ch = s[i..].chars().next().expect("a character starts here");
        let n = ch.len_utf8();
        if needs_escape(ch) {
            out.push_str(&s[start..i]);
            push_char(out, ch);
            start = i + n;
        }
        i += n;
    }
    out.push_str(&s[start..]);
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.partial.is_empty() && all_plain(data, true) {
            self.inner.write_all(data)?;
            return Ok(data.len());
        }
        self.buf.clear();
        if self.partial.is_empty() {
            self.escape_into_buf(data);
        } else {
            let mut joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(data);
            self.escape_into_buf(&joined);
        }
        self.inner.write_all(self.buf.as_bytes())?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.partial.is_empty() {
            self.buf.clear();
            for b in std::mem::take(&mut self.partial) {
                push_byte(&mut self.buf, b);
            }
            self.inner.write_all(self.buf.as_bytes())?;
        }
        self.inner.flush()
    }
}

/// Lossy UTF-8 view of bytes (no escaping); for JSON, whose writer escapes
/// ([`crate::report::json`]).
pub fn lossy(bytes: &[u8]) -> String {
    lossy_str(bytes).into_owned()
}

/// `String::from_utf8_lossy`, with valid UTF-8 (nearly every FTP line) checked by
/// `str::from_utf8`, several times faster on ASCII than the lossy decoder's walk.
pub fn lossy_str(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A socket address as its `Display` form (`10.0.0.5:21`, `[2001:db8::1]:21`),
/// held on the stack: IPv4 written digit by digit, without the formatting
/// machinery (which cost about 1,500 instructions an address, and reports write
/// several per session); IPv6 through `Display`.
pub struct AddrText {
    buf: [u8; 64],
    len: usize,
}

impl AddrText {
    pub fn new(a: &std::net::SocketAddr) -> Self {
        let mut t = AddrText {
            buf: [0; 64],
            len: 0,
        };
        match a {
            std::net::SocketAddr::V4(v4) => {
                for (i, o) in v4.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        t.push(b'.');
                    }
                    t.number(u32::from(o));
                }
                t.push(b':');
                t.number(u32::from(v4.port()));
            }
            std::net::SocketAddr::V6(_) => {
                let mut cur = io::Cursor::new(&mut t.buf[..]);
                // At most 58 bytes ("[" + 39 + "%" + 10 + "]:" + 5).
                let _ = write!(cur, "{a}");
                t.len = cur.position() as usize;
            }
        }
        t
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn number(&mut self, v: u32) {
        let mut digits = [0u8; 5];
        let (mut n, mut v) = (0, v);
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in digits[..n].iter().rev() {
            self.push(d);
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was written (digits, dots, colons, brackets, hex, '%').
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {

    /// The case-insensitive search agrees with lower-casing both sides and
    /// searching, on random ASCII-and-not strings.
    #[test]
    fn find_ci_equals_search_in_lower_case() {
        assert_eq!(
            super::find_ci(b"22 BARE Linefeeds", b"bare linefeed"),
            Some(3)
        );
        assert_eq!(super::find_ci(b"bare linefee", b"bare linefeed"), None);
        assert_eq!(super::find_ci(b"", b""), Some(0));
        let pool: [&[u8]; 7] = [b"a", b"A", b"b", b"ab", b"AB", b"\xc3\xa9", b" "];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let hay: Vec<u8> = (0..(x % 12) as usize)
                .flat_map(|k| pool[((x >> (k * 3)) % 7) as usize].iter().copied())
                .collect();
            let needle: Vec<u8> = (0..((x >> 40) % 4) as usize)
                .flat_map(|k| pool[((x >> (k * 5 + 20)) % 7) as usize].iter().copied())
                .collect::<Vec<u8>>()
                .to_ascii_lowercase();
            let want = hay
                .to_ascii_lowercase()
                .windows(needle.len().max(1))
                .position(|w| needle.is_empty() || w == needle.as_slice())
                .or((needle.is_empty()).then_some(0));
            assert_eq!(super::find_ci(&hay, &needle), want, "{hay:?} {needle:?}");
        }
    }

    /// The run-copying escape equals a character-by-character one, on strings
    /// mixing printable ASCII, line feeds, controls, DEL, characters that pass and
    /// invisible ones that must not.
    #[test]
    fn push_text_equals_escaping_each_character() {
        let pool = [
            'a',
            ' ',
            '~',
            '\n',
            '\r',
            '\t',
            '\u{7f}',
            '\u{1b}',
            'é',
            '→',
            '中',
            '\u{200b}',
            '\u{202e}',
            '\u{e0041}',
            '😀',
            '\u{85}',
        ];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let s: String = (0..len)
                .map(|k| pool[((x >> (k % 60)) as usize + k * 7) % pool.len()])
                .collect();
            let mut want = String::new();
            for c in s.chars() {
                let passes = if c.is_ascii() {
                    c == '\n' || plain_ascii(c as u8)
                } else {
                    !needs_escape(c)
                };
                if passes {
                    want.push(c);
                } else {
                    push_char(&mut want, c);
                }
            }
            let mut got = String::new();
            push_text_into(&mut got, &s);
            assert_eq!(got, want, "{s:?}");
        }
    }

    /// `escape_into` appends what `escape` returns, for every byte value at every
    /// position of short strings and for invalid UTF-8.
    #[test]
    fn escape_into_appends_what_escape_returns() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..24usize {
            for _ in 0..300 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Mostly printable ASCII, sometimes anything.
                        if x.is_multiple_of(4) {
                            (x >> 8) as u8
                        } else {
                            b' ' + (x >> 8) as u8 % 95
                        }
                    })
                    .collect();
                let mut out = b"prefix".to_vec();
                escape_into(&mut out, &bytes);
                assert_eq!(&out[6..], escape(&bytes).as_bytes(), "{bytes:02x?}");
            }
        }
    }

    /// The eight-at-a-time check says what the byte-by-byte one says: every byte
    /// value at every position of strings of 0-20 bytes, with and without line feeds
    /// allowed.
    #[test]
    fn all_plain_matches_the_byte_by_byte_check() {
        for len in 0..=20usize {
            for pos in 0..len.max(1) {
                for v in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    if len > 0 {
                        b[pos] = v;
                    }
                    for lf in [false, true] {
                        let want = b.iter().all(|&c| plain_ascii(c) || (lf && c == b'\n'));
                        assert_eq!(all_plain(&b, lf), want, "{b:?} lf={lf}");
                    }
                }
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The stack form of an address is its `Display` form, IPv4 and IPv6 (scope
        /// ids and flow labels included), every octet and port width.
        #[test]
        fn an_address_on_the_stack_reads_as_display_writes_it(
            v4 in any::<[u8; 4]>(),
            v6 in any::<[u16; 8]>(),
            port in any::<u16>(),
            scope in prop_oneof![Just(0u32), any::<u32>()],
            flow in any::<u32>(),
        ) {
            let a = std::net::SocketAddr::from((v4, port));
            prop_assert_eq!(AddrText::new(&a).as_str().to_string(), a.to_string());
            let ip = std::net::Ipv6Addr::from(v6);
            let b = std::net::SocketAddr::V6(std::net::SocketAddrV6::new(ip, port, flow, scope));
            prop_assert_eq!(AddrText::new(&b).as_str().to_string(), b.to_string());
            let mapped = std::net::SocketAddr::from((std::net::Ipv4Addr::from(v4).to_ipv6_mapped(), port));
            prop_assert_eq!(AddrText::new(&mapped).as_str().to_string(), mapped.to_string());
        }
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape(b"ok\x1b[2J\x07"), "ok\\x1b[2J\\x07");
        assert_eq!(escape(b"a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(
            escape("caf\u{e9} \u{202e}x".as_bytes()),
            "caf\u{e9} \\u{202e}x"
        );
        assert_eq!(escape(b"\xff\xfeabc"), "\\xff\\xfeabc");
        assert_eq!(escape("\u{9b}".as_bytes()), "\\x9b");
    }

    /// Every character the issue names (and the other invisible ones) is escaped;
    /// ordinary text, Chinese included, is not.
    #[test]
    fn escapes_invisible_and_bidi_characters() {
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{180e}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{feff}',
            '\u{e0000}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
        ] {
            let s = format!("a{c}b");
            let e = escape_str(&s);
            assert!(!e.contains(c), "U+{:04X} passed raw: {e:?}", c as u32);
            assert_eq!(escape(s.as_bytes()), e);
        }
        assert_eq!(escape_str("\u{2029}"), "\\u{2029}");
        assert_eq!(escape_str("\u{e0041}"), "\\u{e0041}");
        assert_eq!(escape_str("\u{ad}"), "\\xad");
        assert_eq!(escape(b"\x9b"), "\\x9b");
        for plain in ["ordinary text", "会话记录 café ü € \u{1f600}", "a\\x1b"] {
            assert_eq!(escape_str(plain), plain);
        }
    }

    #[test]
    fn safe_writer_keeps_line_feeds_and_escapes_the_rest() {
        let mut w = SafeWriter::new(Vec::new());
        write!(w, "line\u{1b}]52;c;QQ==\u{7} one\nline \u{202e}two\r\n").unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "line\\x1b]52;c;QQ==\\x07 one\nline \\u{202e}two\\r\n"
        );
    }

    #[test]
    fn safe_writer_joins_a_character_split_across_writes() {
        let text = "诊断 \u{202e}";
        let mut w = SafeWriter::new(Vec::new());
        for b in text.as_bytes() {
            w.write_all(std::slice::from_ref(b)).unwrap();
        }
        w.write_all(b"\xe8").unwrap();
        w.flush().unwrap();
        assert_eq!(String::from_utf8(w.inner).unwrap(), "诊断 \\u{202e}\\xe8");
    }

    proptest! {
        /// Whatever the bytes, no escaped output holds a character that must be
        /// escaped, and escaping is idempotent (a view may escape twice).
        #[test]
        fn escape_output_never_holds_a_forbidden_character(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            text in any::<String>(),
            hidden in proptest::collection::vec(
                prop_oneof![
                    0u32..0x20, 0x7fu32..0xa0, Just(0xad), Just(0x61c), Just(0x180e),
                    0x200bu32..0x2010, 0x2028u32..0x202f, 0x2060u32..0x2070,
                    Just(0xfeff), 0xe0000u32..0xe0080,
                ],
                0..8,
            ),
        ) {
            let mut s = text.clone();
            for v in &hidden {
                s.push(char::from_u32(*v).unwrap_or('\u{0}'));
                s.push_str(&text);
            }
            let mut raw = bytes.clone();
            raw.extend_from_slice(s.as_bytes());
            for out in [escape(&bytes), escape(&raw), escape_str(&s)] {
                prop_assert!(!out.chars().any(needs_escape), "{:?}", out);
                prop_assert_eq!(escape_str(&out), out.clone());
            }
            // The writer: only its own line feeds pass.
            let mut w = SafeWriter::new(Vec::new());
            for piece in raw.chunks(5) {
                w.write_all(piece).unwrap();
            }
            w.flush().unwrap();
            let written = String::from_utf8(w.inner).unwrap();
            prop_assert!(!written.chars().any(|c| c != '\n' && needs_escape(c)), "{:?}", written);
        }
    }

    #[test]
    fn hex_and_lossy() {
        assert_eq!(hex(b"\x00\xff"), "00ff");
        assert_eq!(lossy(b"a\xffb"), "a\u{fffd}b");
    }
}
