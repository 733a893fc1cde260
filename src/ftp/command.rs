//! Command lines: `VERB [SP argument]`.

use super::catalog::CommandKind;

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
///
/// Leading spaces and tabs are skipped and the verb ends at a space or a tab, as
/// lenient servers read it (`  PASS x` and `PASS<TAB>x` are PASS to them, so they
/// are PASS here: a password must not escape masking by a different spelling).
pub fn parse(line: &[u8]) -> ParsedCommand {
    let start = line
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(line.len());
    let line = &line[start..];
    let (v, a) = match line.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[][..]),
    };
    let odd_verb = !(3..=4).contains(&v.len()) || !v.iter().all(|b| b.is_ascii_alphabetic());
    let mut verb = crate::text::lossy_str(&v[..v.len().min(MAX_VERB)]).to_ascii_uppercase();
    if v.len() > MAX_VERB {
        verb.push('…');
    }
    ParsedCommand {
        verb,
        arg: a.to_vec(),
        odd_verb,
    }
}

/// Where the secret of a client line starts: after `PASS`, `ACCT` or `SITE PSWD`
/// (any case, after leading white space, separated by spaces or tabs), when an
/// argument follows. The proxy observes (and so records and logs) the line only
/// up to there, followed by `****`.
pub fn secret_start(line: &[u8]) -> Option<usize> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let word_end = |from: usize| {
        line[from..]
            .iter()
            .position(blank)
            .map_or(line.len(), |i| from + i)
    };
    let skip_blank = |from: usize| {
        line[from..]
            .iter()
            .position(|b| !blank(b))
            .map_or(line.len(), |i| from + i)
    };
    let v0 = skip_blank(0);
    let v1 = word_end(v0);
    let verb = &line[v0..v1];
    let at = if verb.eq_ignore_ascii_case(b"PASS") || verb.eq_ignore_ascii_case(b"ACCT") {
        skip_blank(v1)
    } else if verb.eq_ignore_ascii_case(b"SITE") {
        let w0 = skip_blank(v1);
        let w1 = word_end(w0);
        if !line[w0..w1].eq_ignore_ascii_case(b"PSWD") {
            return None;
        }
        skip_blank(w1)
    } else {
        return None;
    };
    (at < line.len()).then_some(at)
}

/// Shown instead of a secret.
pub const MASK: &[u8] = b"****";

/// The argument to show for `verb` (upper case) when secrets are hidden: None when
/// the argument holds no secret. PASS and ACCT arguments are masked whole; `SITE
/// PSWD old new` (a password change) keeps its sub-command only.
pub fn masked_arg(verb: &str, arg: &[u8]) -> Option<Vec<u8>> {
    match verb {
        "PASS" | "ACCT" if !arg.is_empty() => Some(MASK.to_vec()),
        "SITE" => {
            let a = trim_start(arg);
            let end = a
                .iter()
                .position(|&b| b == b' ' || b == b'\t')
                .unwrap_or(a.len());
            if a[..end].eq_ignore_ascii_case(b"PSWD") && end < a.len() {
                let mut v = b"PSWD ".to_vec();
                v.extend_from_slice(MASK);
                Some(v)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A whole command line with its secret masked (see [`masked_arg`]), or None when
/// it holds none. For writers that keep lines rather than parsed commands.
pub fn masked_line(line: &[u8]) -> Option<Vec<u8>> {
    let pc = parse(line);
    let arg = masked_arg(&pc.verb, &pc.arg)?;
    let mut v = pc.verb.into_bytes();
    v.push(b' ');
    v.extend_from_slice(&arg);
    Some(v)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let i = b
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(b.len());
    &b[i..]
}

/// Verbs that open a data transfer: the catalog's [`CommandKind::Transfer`]
/// (RETR, STOR, STOU, APPE, LIST, NLST, MLSD, THMB).
pub fn is_transfer(verb: &str) -> bool {
    super::catalog::command_exact(verb).is_some_and(|e| e.kind == CommandKind::Transfer)
}

/// Direction of the bytes of a transfer command: true when the server sends
/// (every transfer but the uploads STOR, STOU and APPE).
pub fn server_sends(verb: &str) -> bool {
    is_transfer(verb)
        && !["STOR", "STOU", "APPE"]
            .iter()
            .any(|v| v.eq_ignore_ascii_case(verb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transfer verbs are the catalog's, and their direction is known.
    #[test]
    fn transfer_verbs_come_from_the_catalog() {
        for v in [
            "RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD", "THMB", "retr",
        ] {
            assert!(is_transfer(v), "{v}");
        }
        for v in ["PASV", "SIZE", "REST", "NOOP", "", "RETRX"] {
            assert!(!is_transfer(v), "{v}");
        }
        assert!(server_sends("RETR") && server_sends("MLSD") && server_sends("THMB"));
        assert!(!server_sends("STOR") && !server_sends("APPE") && !server_sends("NOOP"));
    }

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

    #[test]
    fn other_spellings_of_a_command_are_the_command() {
        let c = parse(b"  PASS x");
        assert_eq!((c.verb.as_str(), &c.arg[..]), ("PASS", &b"x"[..]));
        let c = parse(b"PASS\tsecret word");
        assert_eq!((c.verb.as_str(), &c.arg[..]), ("PASS", &b"secret word"[..]));
        let c = parse(b"\tpass x");
        assert_eq!(c.verb, "PASS");
    }

    #[test]
    fn secrets_are_masked_in_every_spelling() {
        for line in [
            &b"PASS hunter2"[..],
            b"  PASS hunter2",
            b"PASS\thunter2",
            b"pass hunter2",
            b"ACCT hunter2",
            b"SITE PSWD old hunter2",
            b"site pswd\told hunter2",
        ] {
            let m = masked_line(line).expect("masked");
            assert!(
                !m.windows(7).any(|w| w == b"hunter2"),
                "{:?} -> {:?}",
                String::from_utf8_lossy(line),
                String::from_utf8_lossy(&m)
            );
        }
        assert_eq!(
            masked_line(b"SITE PSWD old new").unwrap(),
            b"SITE PSWD ****"
        );
        assert_eq!(masked_line(b"NOOP"), None);
        assert_eq!(masked_line(b"SITE CHMOD 644 f"), None);
        assert_eq!(masked_line(b"PASS"), None, "nothing to hide");
    }

    /// The proxy masks raw lines with [`secret_start`], the tracker parsed
    /// commands with [`masked_arg`]: one rule, so they agree on every line.
    #[test]
    fn the_two_maskings_agree() {
        for line in [
            &b"PASS x"[..],
            b"  PASS x",
            b"PASS\tx",
            b"pass x y",
            b"PASS",
            b"PASS ",
            b"ACCT a",
            b"acct",
            b"SITE PSWD a b",
            b"site\tpswd a",
            b"SITE PSWD",
            b"SITE CHMOD 1 f",
            b"NOOP",
            b"PASSWORD x",
            b"",
        ] {
            let pc = parse(line);
            let by_arg = masked_arg(&pc.verb, &pc.arg).is_some();
            let by_line = secret_start(line).is_some();
            assert_eq!(by_arg, by_line, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
