//! The session filter language of the list views.
//!
//! Words separated by spaces; a session is shown when every word matches. A word
//! is `key:value` for one of the keys below, or free text; `!` in front negates it.
//!
//! | word                 | matches a session with                                  |
//! |----------------------|---------------------------------------------------------|
//! | `code:530`, `code:5xx`, `code:5` | a reply with that code (`x`: any digit)     |
//! | `user:anon`          | a user name containing the text (case-insensitive)      |
//! | `host:10.0.0.5`      | that IP (or IP:port, or text) as client, server or data address |
//! | `finding:passive`    | a finding whose id contains the text                    |
//! | `mode:active`        | a data connection in that mode (`active`, `passive`)    |
//! | `status:error`       | that worst severity (`error`, `warning`, `info`, `ok`)  |
//! | other text           | the text in addresses, user, findings, commands, replies |
//!
//! Matching never allocates per session beyond formatting addresses into one
//! reused buffer; it runs over every session when the filter or the model changes,
//! never per frame.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::model::{DataMode, Session, Severity};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Sock(SocketAddr),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Three digits, `None` for a wildcard.
    Code([Option<u8>; 3]),
    User(String),
    Host(Host),
    Finding(String),
    Mode(DataMode),
    /// `None`: no finding at all.
    Status(Option<Severity>),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    negate: bool,
    kind: Kind,
}

/// A parsed filter. The empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<Term>,
}

fn parse_code(v: &str) -> Result<[Option<u8>; 3], String> {
    let bad = || format!("code:{v}: expected a reply code such as 530, 5xx or 5");
    if v.is_empty() || v.len() > 3 {
        return Err(bad());
    }
    let mut out = [None; 3];
    for (i, c) in v.chars().enumerate() {
        out[i] = match c {
            '0'..='9' => Some(c as u8 - b'0'),
            'x' | 'X' => None,
            _ => return Err(bad()),
        };
    }
    if out[0].is_none() {
        return Err(bad());
    }
    Ok(out)
}

fn parse_term(word: &str) -> Result<Term, String> {
    let (negate, word) = match word.strip_prefix('!') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, word),
    };
    let kind = match word.split_once(':') {
        Some((key, value)) => {
            let lower = value.to_ascii_lowercase();
            match key.to_ascii_lowercase().as_str() {
                "code" => Kind::Code(parse_code(value)?),
                "user" => Kind::User(lower),
                "host" => Kind::Host(if let Ok(ip) = value.parse::<IpAddr>() {
                    Host::Ip(ip)
                } else if let Ok(sa) = value.parse::<SocketAddr>() {
                    Host::Sock(sa)
                } else {
                    Host::Text(lower)
                }),
                "finding" => Kind::Finding(lower),
                "mode" => match lower.as_str() {
                    "active" | "act" | "port" | "eprt" => Kind::Mode(DataMode::Active),
                    "passive" | "pas" | "pasv" | "epsv" => Kind::Mode(DataMode::Passive),
                    _ => return Err(format!("mode:{value}: expected active or passive")),
                },
                "status" => match lower.as_str() {
                    "error" | "err" => Kind::Status(Some(Severity::Error)),
                    "warning" | "warn" => Kind::Status(Some(Severity::Warning)),
                    "info" => Kind::Status(Some(Severity::Info)),
                    "ok" => Kind::Status(None),
                    _ => {
                        return Err(format!(
                            "status:{value}: expected error, warning, info or ok"
                        ));
                    }
                },
                // Not a key we know (an IPv6 address, a path with a colon): free text.
                _ => Kind::Text(word.to_ascii_lowercase()),
            }
        }
        None => Kind::Text(word.to_ascii_lowercase()),
    };
    Ok(Term { negate, kind })
}

/// Parse a filter; the error names the word that is wrong and what was expected.
pub fn parse(s: &str) -> Result<Filter, String> {
    let terms = s
        .split_whitespace()
        .map(parse_term)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter { terms })
}

/// ASCII case-insensitive substring test; `needle` is already lower case.
/// Scans for the first byte (either case), then compares the rest.
fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if n.len() > hay.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    let last = hay.len() - n.len();
    let mut i = 0;
    while i <= last {
        match hay[i..=last].iter().position(|&b| b == first || b == upper) {
            None => return false,
            Some(p) => {
                i += p;
                if hay[i + 1..i + n.len()].eq_ignore_ascii_case(rest) {
                    return true;
                }
                i += 1;
            }
        }
    }
    false
}

/// Could this text occur in a formatted socket address? (Saves formatting
/// two addresses per session for words that cannot.)
fn may_be_in_address(t: &str) -> bool {
    t.bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']'))
}

impl Filter {
    /// Whether every session `self` matches is also matched by `prev`, so that
    /// re-filtering can start from `prev`'s result: the same words with longer
    /// text (or a narrower code), plus any new words. Negated words never narrow.
    pub fn narrows(&self, prev: &Filter) -> bool {
        prev.terms.len() <= self.terms.len()
            && prev.terms.iter().zip(&self.terms).all(|(p, n)| {
                !p.negate
                    && !n.negate
                    && match (&p.kind, &n.kind) {
                        (Kind::Text(a), Kind::Text(b))
                        | (Kind::User(a), Kind::User(b))
                        | (Kind::Finding(a), Kind::Finding(b))
                        | (Kind::Host(Host::Text(a)), Kind::Host(Host::Text(b))) => {
                            b.contains(a.as_str())
                        }
                        (Kind::Code(a), Kind::Code(b)) => {
                            a.iter().zip(b).all(|(x, y)| x.is_none() || x == y)
                        }
                        (a, b) => a == b,
                    }
            })
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, s: &Session) -> bool {
        let mut buf = String::new();
        self.terms
            .iter()
            .all(|t| term_matches(&t.kind, s, &mut buf) != t.negate)
    }
}

fn addr_text(buf: &mut String, a: &SocketAddr) -> bool {
    buf.clear();
    let _ = write!(buf, "{a}");
    true
}

fn term_matches(kind: &Kind, s: &Session, buf: &mut String) -> bool {
    match kind {
        Kind::Code(d) => s.exchanges.iter().flat_map(|e| &e.replies).any(|r| {
            let code = [
                (r.code / 100 % 10) as u8,
                (r.code / 10 % 10) as u8,
                (r.code % 10) as u8,
            ];
            r.code < 1000
                && d.iter()
                    .zip(code)
                    .all(|(want, got)| want.is_none_or(|w| w == got))
        }),
        Kind::User(u) => s.user.as_ref().is_some_and(|x| contains_ci(&x.0, u)),
        Kind::Host(h) => {
            let data = s
                .data_channels
                .iter()
                .flat_map(|d| [d.announced, d.connector, d.listener])
                .flatten();
            let mut all = [s.client, s.server].into_iter().chain(data);
            match h {
                Host::Ip(ip) => all.any(|a| a.ip() == *ip),
                Host::Sock(sa) => all.any(|a| a == *sa),
                Host::Text(t) => all.any(|a| addr_text(buf, &a) && contains_ci(buf.as_bytes(), t)),
            }
        }
        Kind::Finding(id) => s.findings.iter().any(|f| contains_ci(f.id.as_bytes(), id)),
        Kind::Mode(m) => s.data_channels.iter().any(|d| d.mode == *m),
        Kind::Status(want) => s.worst() == *want,
        Kind::Text(t) => text_matches(s, t, buf),
    }
}

fn text_matches(s: &Session, t: &str, buf: &mut String) -> bool {
    if may_be_in_address(t)
        && [s.client, s.server]
            .iter()
            .any(|a| addr_text(buf, a) && contains_ci(buf.as_bytes(), t))
    {
        return true;
    }
    if s.user.as_ref().is_some_and(|u| contains_ci(&u.0, t)) {
        return true;
    }
    if s.findings
        .iter()
        .any(|f| contains_ci(f.id.as_bytes(), t) || contains_ci(f.summary.as_bytes(), t))
    {
        return true;
    }
    if s.anomalies.iter().any(|a| contains_ci(a.as_bytes(), t)) {
        return true;
    }
    s.exchanges.iter().any(|e| {
        e.command
            .as_ref()
            .is_some_and(|c| contains_ci(c.verb.as_bytes(), t) || contains_ci(&c.arg.0, t))
            || e.replies.iter().any(|r| {
                if r.lines.is_empty() {
                    contains_ci(&r.text.0, t)
                } else {
                    r.lines.iter().any(|l| contains_ci(&l.0, t))
                }
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_negation() {
        let f = parse("code:5xx !user:anonymous mode:pasv foo").unwrap();
        assert_eq!(f.terms.len(), 4);
        assert_eq!(f.terms[0].kind, Kind::Code([Some(5), None, None]));
        assert!(f.terms[1].negate);
        assert_eq!(f.terms[2].kind, Kind::Mode(DataMode::Passive));
        assert_eq!(f.terms[3].kind, Kind::Text("foo".into()));
    }

    #[test]
    fn reports_bad_words() {
        assert!(parse("code:abc").unwrap_err().contains("code:abc"));
        assert!(parse("mode:sideways").is_err());
        assert!(parse("status:bad").is_err());
        // An IPv6 address is not a key.
        assert_eq!(
            parse("2001:db8::1").unwrap().terms[0].kind,
            Kind::Text("2001:db8::1".into())
        );
        assert_eq!(
            parse("host:2001:db8::1").unwrap().terms[0].kind,
            Kind::Host(Host::Ip("2001:db8::1".parse().unwrap()))
        );
    }

    #[test]
    fn case_insensitive_contains() {
        assert!(contains_ci(b"Anonymous", "anon"));
        assert!(contains_ci(b"xxANONymous", "anon"));
        assert!(contains_ci(b"aaab", "aab"));
        assert!(contains_ci(b"ab", "b"));
        assert!(!contains_ci(b"an", "anon"));
        assert!(!contains_ci(b"anoX", "anon"));
        assert!(contains_ci(b"x", ""));
    }

    #[test]
    fn narrowing() {
        let p = |s| parse(s).unwrap();
        assert!(p("lf").narrows(&p("")));
        assert!(p("lft").narrows(&p("lf")));
        assert!(p("lf user:a").narrows(&p("lf")));
        assert!(p("code:53").narrows(&p("code:5")));
        assert!(!p("code:5").narrows(&p("code:53")));
        assert!(!p("l").narrows(&p("lf")));
        assert!(!p("!lft").narrows(&p("!lf")));
        assert!(!p("user:lf").narrows(&p("lf")));
        assert!(p("mode:active x").narrows(&p("mode:active")));
    }
}
