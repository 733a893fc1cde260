//! Command lines: `VERB [SP argument]`.

/// Longest verb we keep as is; longer "verbs" are cut and flagged.
pub const MAX_VERB: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCommand {
    /// Upper-cased verb (lossy UTF-8, at most [`MAX_VERB`] characters).
    pub verb: String,
    /// Argument bytes exactly as sent (after the first space).
    pub arg: Vec<u8>,
    /// The verb is not 3-4 ASCII letters (RFC 959 form): garbage, or a long extension.
    pub odd_verb: bool,
}

/// Parse one command line (without CR LF). Never fails: odd lines are flagged.
pub fn parse(line: &[u8]) -> ParsedCommand {
    let (v, a) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    let odd_verb = !(3..=4).contains(&v.len()) || !v.iter().all(|b| b.is_ascii_alphabetic());
    let mut verb = String::from_utf8_lossy(&v[..v.len().min(MAX_VERB)]).to_ascii_uppercase();
    if v.len() > MAX_VERB {
        verb.push('…');
    }
    ParsedCommand {
        verb,
        arg: a.to_vec(),
        odd_verb,
    }
}

/// Verbs that open a data transfer.
pub fn is_transfer(verb: &str) -> bool {
    matches!(
        verb,
        "RETR" | "STOR" | "STOU" | "APPE" | "LIST" | "NLST" | "MLSD"
    )
}

/// Direction of the bytes of a transfer command: true when the server sends.
pub fn server_sends(verb: &str) -> bool {
    matches!(verb, "RETR" | "LIST" | "NLST" | "MLSD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let c = parse(b"retr my file.txt");
        assert_eq!(
            (c.verb.as_str(), &c.arg[..], c.odd_verb),
            ("RETR", &b"my file.txt"[..], false)
        );
        let c = parse(b"PASV");
        assert!(c.arg.is_empty());
        let c = parse(b"TYPEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE I");
        assert!(c.odd_verb);
        assert!(c.verb.ends_with('…'));
        assert!(parse(b"").odd_verb);
        assert_eq!(parse(b"\xff\xfe x").verb, "\u{fffd}\u{fffd}");
    }
}
