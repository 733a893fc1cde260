//! Safe display of bytes that came off the wire.
//!
//! Anything a peer sent may contain terminal control sequences. Every view shows
//! wire bytes through [`escape`], which keeps printable text (any valid UTF-8 that
//! is not a control character) and writes everything else as `\xNN`, `\r`, `\n`,
//! (a backslash from the wire is shown as is: it is harmless to a terminal)
//! `\t` or `\u{...}`, so a hostile server cannot move the cursor or recolour the
//! terminal through a reply line.

/// Escape bytes for display: valid UTF-8 printable characters pass, the rest is escaped.
pub fn escape(bytes: &[u8]) -> String {
    // Fast path: printable ASCII needs no escaping (most FTP traffic).
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Escape a string that is already UTF-8 (for text built from wire bytes).
pub fn escape_str(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_char(&mut out, c);
    }
    out
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let v = c as u32;
            if v < 0x100 {
                out.push_str(&format!("\\x{v:02x}"));
            } else {
                out.push_str(&format!("\\u{{{v:x}}}"));
            }
        }
        // Bidirectional overrides and zero-width format characters can disguise text.
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
        c => out.push(c),
    }
}

/// Lossy UTF-8 view of bytes (no escaping); for JSON, where serde escapes controls.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
    use super::*;

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

    #[test]
    fn hex_and_lossy() {
        assert_eq!(hex(b"\x00\xff"), "00ff");
        assert_eq!(lossy(b"a\xffb"), "a\u{fffd}b");
    }
}
