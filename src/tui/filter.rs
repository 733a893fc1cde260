//! The session filter language of the list views.
//!
//! Words separated by spaces; a session is shown when every word matches
//! (`and` may be written). `a or b` matches either, `not a` (or `!a`) negates,
//! and parentheses group: `(code:4xx or code:5xx) not user:anonymous`. `and`
//! binds tighter than `or`, as in Wireshark. A word is `key:value` for one of the
//! keys below, `key<op>value` for a number, or free text.
//!
//! | word                 | matches a session with                                  |
//! |----------------------|---------------------------------------------------------|
//! | `code:530`, `code:5xx`, `code:5` | a reply with that code (`x`: any digit)     |
//! | `code:4xx\|5xx`       | any of the alternatives (every `key:` takes `\|`)       |
//! | `user:anon`          | a user name containing the text (case-insensitive)      |
//! | `host:10.0.0.5`      | that IP (or IP:port, or text) as client, server or data address |
//! | `finding:passive`    | a finding whose id contains the text                    |
//! | `mode:active`        | a data connection in that mode (`active`, `passive`)    |
//! | `status:error`       | that worst severity (`error`, `warning`, `info`, `ok`)  |
//! | `bytes>1M`           | data bytes compared (`>`, `>=`, `<`, `<=`, `=`; `k`, `M`, `G` are 1000s, `KiB`, `MiB`, `GiB` 1024s) |
//! | `duration>5s`        | session duration compared (a unit is needed: `ms`, `s`, `m`, `h`) |
//! | `cmds>10`, `data>=2` | number of commands, of data connections                 |
//! | other text           | the text in addresses, user, findings, commands, replies |
//!
//! Parsing never panics and is bounded: a filter longer than [`MAX_LEN`] bytes
//! or nested deeper than [`MAX_DEPTH`] is refused with a message.
//!
//! Matching never allocates per session beyond formatting addresses into one
//! reused buffer; it runs over every session when the filter or the model changes,
//! never per frame.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::i18n::Tr;
use crate::model::{DataMode, Session, Severity};
use crate::tr;

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
    Compare(Field, Op, u64),
    Text(String),
}

/// A filter expression: a word, or words combined.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    Term(Kind),
    /// Alternatives (`a or b`, `code:4xx|5xx`).
    Any(Vec<Expr>),
    /// Every one (`a b`, `a and b`).
    All(Vec<Expr>),
    Not(Box<Expr>),
}

/// A parsed filter: the words of the top level, all of which must match. The
/// empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<Expr>,
}

/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 32;

/// What a number word compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Bytes,
    /// Nanoseconds.
    Duration,
    Commands,
    Data,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ge => a >= b,
            Op::Gt => a > b,
        }
    }
}

/// A byte count: `1500`, `1.5k`, `1M`, `2G` (powers of 1000), `64KiB`, `1MiB`
/// (powers of 1024); a trailing `B` is allowed.
fn parse_bytes(v: &str) -> Option<u64> {
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let v = n * mult;
    (0.0..1.8e19).contains(&v).then(|| v.round() as u64)
}

/// `bytes>1M`, `duration<=2s`, `cmds=3`: a number word, or `None` when `word`
/// does not start with a number key and an operator.
fn parse_compare(word: &str) -> Option<Result<Kind, Tr>> {
    let at = word.find(['<', '>', '='])?;
    let (key, rest) = word.split_at(at);
    let field = match key.to_ascii_lowercase().as_str() {
        "bytes" | "size" => Field::Bytes,
        "duration" | "dur" | "time" => Field::Duration,
        "cmds" | "commands" => Field::Commands,
        "data" => Field::Data,
        _ => return None,
    };
    let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix("==") {
        (Op::Eq, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (Op::Eq, v)
    } else {
        return None;
    };
    let n = match field {
        Field::Bytes => parse_bytes(value).ok_or_else(|| {
            tr!(
                "{word}: expected a byte count such as 1500, 64k, 1M or 2GiB",
                "{word}：应为字节数，例如 1500、64k、1M 或 2GiB"
            )
        }),
        Field::Duration => crate::time::parse_duration(value)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .map_err(|e| {
                tr!(
                    "{word}: {e}",
                    "{word}：应为带单位的时长，例如 500ms、5s 或 1m"
                )
            }),
        Field::Commands | Field::Data => value
            .parse::<u64>()
            .map_err(|_| tr!("{word}: expected a whole number", "{word}：应为整数")),
    };
    Some(n.map(|n| Kind::Compare(field, op, n)))
}

fn parse_code(v: &str) -> Result<[Option<u8>; 3], Tr> {
    let bad = || {
        tr!(
            "code:{v}: expected a reply code such as 530, 5xx or 5",
            "code:{v}：应为响应码，例如 530、5xx 或 5"
        )
    };
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

/// One word: `key:value` (with `|` alternatives), a comparison, or free text.
fn parse_word(word: &str) -> Result<Expr, Tr> {
    if let Some(k) = parse_compare(word) {
        return k.map(Expr::Term);
    }
    if let Some((key, value)) = word.split_once(':') {
        if value.contains('|') && is_key(key) {
            let alts = value
                .split('|')
                .map(|v| {
                    if v.is_empty() {
                        Err(tr!(
                            "{word}: an empty alternative",
                            "{word}：有一个空的备选项"
                        ))
                    } else {
                        parse_term(&format!("{key}:{v}")).map(Expr::Term)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Expr::Any(alts));
        }
    }
    parse_term(word).map(Expr::Term)
}

fn is_key(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "code" | "user" | "host" | "finding" | "mode" | "status"
    )
}

fn parse_term(word: &str) -> Result<Kind, Tr> {
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
                    _ => {
                        return Err(tr!(
                            "mode:{value}: expected active or passive",
                            "mode:{value}：应为 active（主动）或 passive（被动）"
                        ));
                    }
                },
                "status" => match lower.as_str() {
                    "error" | "err" => Kind::Status(Some(Severity::Error)),
                    "warning" | "warn" => Kind::Status(Some(Severity::Warning)),
                    "info" => Kind::Status(Some(Severity::Info)),
                    "ok" => Kind::Status(None),
                    _ => {
                        return Err(tr!(
                            "status:{value}: expected error, warning, info or ok",
                            "status:{value}：应为 error、warning、info 或 ok"
                        ));
                    }
                },
                // Not a key we know (an IPv6 address, a path with a colon): free text.
                _ => Kind::Text(word.to_ascii_lowercase()),
            }
        }
        None => Kind::Text(word.to_ascii_lowercase()),
    };
    Ok(kind)
}

/// The words of a filter: parentheses are words of their own.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for word in s.split_whitespace() {
        let mut rest = word;
        while !rest.is_empty() {
            match rest.find(['(', ')']) {
                Some(0) => {
                    out.push(&rest[..1]);
                    rest = &rest[1..];
                }
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i..];
                }
                None => {
                    out.push(rest);
                    rest = "";
                }
            }
        }
    }
    out
}

/// Recursive descent over the words: `or` of `and`s of (possibly negated)
/// words or groups.
struct Parser<'a> {
    toks: Vec<&'a str>,
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.at).copied()
    }

    fn is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word))
    }

    /// Alternatives until `)` or the end.
    fn any(&mut self) -> Result<Vec<Vec<Expr>>, Tr> {
        let mut alts = vec![self.all()?];
        while self.is("or") || self.is("||") {
            self.at += 1;
            alts.push(self.all()?);
        }
        Ok(alts)
    }

    fn all(&mut self) -> Result<Vec<Expr>, Tr> {
        let mut terms = Vec::new();
        loop {
            match self.peek() {
                None | Some(")") => break,
                Some(t) if t.eq_ignore_ascii_case("or") || t == "||" => break,
                Some(t) if t.eq_ignore_ascii_case("and") || t == "&&" => {
                    self.at += 1;
                    if terms.is_empty() {
                        return Err(needs_before(t));
                    }
                    if matches!(self.peek(), None | Some(")")) {
                        return Err(needs_after(t));
                    }
                }
                Some(_) => terms.push(self.unary()?),
            }
        }
        if terms.is_empty() {
            return Err(match self.peek() {
                Some(")") => tr!(
                    "empty parentheses, or a \")\" without its \"(\"",
                    "括号为空，或“)”没有对应的“(”"
                ),
                Some(t) => needs_before(t),
                _ if self.at > 0 => needs_after(self.toks[self.at - 1]),
                _ => tr!("nothing to match", "没有可匹配的内容"),
            });
        }
        Ok(terms)
    }

    fn unary(&mut self) -> Result<Expr, Tr> {
        let Some(t) = self.peek() else {
            return Err(tr!("the filter ends too early", "过滤条件提前结束"));
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(tr!(
                "nested more than {MAX_DEPTH} deep",
                "嵌套超过 {MAX_DEPTH} 层"
            ));
        }
        self.at += 1;
        let e = if t.eq_ignore_ascii_case("not") || t == "!" {
            if matches!(self.peek(), None | Some(")")) {
                return Err(needs_after(t));
            }
            Expr::Not(Box::new(self.unary()?))
        } else if t == "(" {
            let alts = self.any()?;
            if self.peek() != Some(")") {
                return Err(tr!("a \"(\" is not closed", "“(”没有闭合"));
            }
            self.at += 1;
            group(alts)
        } else if let Some(rest) = t.strip_prefix('!') {
            Expr::Not(Box::new(parse_word(rest)?))
        } else {
            parse_word(t)?
        };
        self.depth -= 1;
        Ok(e)
    }
}

fn needs_before(t: &str) -> Tr {
    tr!("\"{t}\" needs something before it", "“{t}”前面缺少内容")
}

fn needs_after(t: &str) -> Tr {
    tr!("\"{t}\" needs something after it", "“{t}”后面缺少内容")
}

/// Alternatives of conjunctions as one expression.
fn group(alts: Vec<Vec<Expr>>) -> Expr {
    let mut alts: Vec<Expr> = alts
        .into_iter()
        .map(|mut all| {
            if all.len() == 1 {
                all.remove(0)
            } else {
                Expr::All(all)
            }
        })
        .collect();
    if alts.len() == 1 {
        alts.remove(0)
    } else {
        Expr::Any(alts)
    }
}

/// Parse a filter; the error names the word that is wrong and what was expected.
pub fn parse(s: &str) -> Result<Filter, Tr> {
    if s.len() > MAX_LEN {
        return Err(tr!(
            "the filter is longer than {MAX_LEN} bytes",
            "过滤条件超过 {MAX_LEN} 字节"
        ));
    }
    let toks = tokens(s);
    if toks.is_empty() {
        return Ok(Filter::default());
    }
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let alts = p.any()?;
    if let Some(t) = p.peek() {
        return Err(if t == ")" {
            tr!("a \")\" without its \"(\"", "“)”没有对应的“(”")
        } else {
            tr!("unexpected \"{t}\"", "意外的“{t}”")
        });
    }
    let terms = if alts.len() == 1 {
        alts.into_iter().next().unwrap_or_default()
    } else {
        vec![group(alts)]
    };
    Ok(Filter { terms })
}

/// ASCII case-insensitive substring test; `needle` is already lower case.
fn contains_ci(hay: &[u8], needle: &str) -> bool {
    crate::text::find_ci(hay, needle.as_bytes()).is_some()
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
            && prev
                .terms
                .iter()
                .zip(&self.terms)
                .all(|(p, n)| match (p, n) {
                    (Expr::Term(p), Expr::Term(n)) => match (p, n) {
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
                    },
                    // The same condition (negated, alternatives) narrows nothing
                    // away and keeps nothing more.
                    (p, n) => p == n,
                })
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, s: &Session) -> bool {
        let mut buf = String::new();
        self.terms.iter().all(|e| expr_matches(e, s, &mut buf))
    }
}

fn expr_matches(e: &Expr, s: &Session, buf: &mut String) -> bool {
    match e {
        Expr::Term(k) => term_matches(k, s, buf),
        Expr::Any(v) => v.iter().any(|e| expr_matches(e, s, buf)),
        Expr::All(v) => v.iter().all(|e| expr_matches(e, s, buf)),
        Expr::Not(e) => !expr_matches(e, s, buf),
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
        Kind::Compare(field, op, n) => {
            let v = match field {
                Field::Bytes => s.data_bytes(),
                Field::Duration => {
                    let ns = (s.duration * 1e9).round();
                    if ns.is_finite() && ns > 0.0 {
                        ns as u64
                    } else {
                        0
                    }
                }
                Field::Commands => s.command_count() as u64,
                Field::Data => s.data_channels.len() as u64,
            };
            op.holds(v, *n)
        }
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

    fn term(k: Kind) -> Expr {
        Expr::Term(k)
    }

    #[test]
    fn parses_keys_and_negation() {
        let f = parse("code:5xx !user:anonymous mode:pasv foo").unwrap();
        assert_eq!(f.terms.len(), 4);
        assert_eq!(f.terms[0], term(Kind::Code([Some(5), None, None])));
        assert_eq!(
            f.terms[1],
            Expr::Not(Box::new(term(Kind::User("anonymous".into()))))
        );
        assert_eq!(f.terms[2], term(Kind::Mode(DataMode::Passive)));
        assert_eq!(f.terms[3], term(Kind::Text("foo".into())));
    }

    #[test]
    fn reports_bad_words() {
        assert!(parse("code:abc").unwrap_err().contains("code:abc"));
        assert!(parse("mode:sideways").is_err());
        assert!(parse("status:bad").is_err());
        // An IPv6 address is not a key.
        assert_eq!(
            parse("2001:db8::1").unwrap().terms[0],
            term(Kind::Text("2001:db8::1".into()))
        );
        assert_eq!(
            parse("host:2001:db8::1").unwrap().terms[0],
            term(Kind::Host(Host::Ip("2001:db8::1".parse().unwrap())))
        );
    }

    #[test]
    fn comparisons() {
        let one = |s: &str| parse(s).unwrap().terms.remove(0);
        assert_eq!(
            one("bytes>1M"),
            term(Kind::Compare(Field::Bytes, Op::Gt, 1_000_000))
        );
        assert_eq!(
            one("bytes>=64KiB"),
            term(Kind::Compare(Field::Bytes, Op::Ge, 65_536))
        );
        assert_eq!(
            one("BYTES<1.5k"),
            term(Kind::Compare(Field::Bytes, Op::Lt, 1500))
        );
        assert_eq!(
            one("duration>5s"),
            term(Kind::Compare(Field::Duration, Op::Gt, 5_000_000_000))
        );
        assert_eq!(
            one("duration<=250ms"),
            term(Kind::Compare(Field::Duration, Op::Le, 250_000_000))
        );
        assert_eq!(
            one("cmds=3"),
            term(Kind::Compare(Field::Commands, Op::Eq, 3))
        );
        assert_eq!(one("data==2"), term(Kind::Compare(Field::Data, Op::Eq, 2)));
        // A word that only looks like one is text.
        assert_eq!(one("a<b"), term(Kind::Text("a<b".into())));
        for bad in [
            "bytes>",
            "bytes>lots",
            "bytes>-1",
            "duration>5",
            "cmds>2.5",
            "bytes>1e30",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn alternatives_not_and_groups() {
        let f = parse("code:4xx|5xx").unwrap();
        assert_eq!(
            f.terms,
            vec![Expr::Any(vec![
                term(Kind::Code([Some(4), None, None])),
                term(Kind::Code([Some(5), None, None])),
            ])]
        );
        let f = parse("a or b c").unwrap();
        assert_eq!(
            f.terms,
            vec![Expr::Any(vec![
                term(Kind::Text("a".into())),
                Expr::All(vec![
                    term(Kind::Text("b".into())),
                    term(Kind::Text("c".into()))
                ]),
            ])]
        );
        let f = parse("not (a or b) and c").unwrap();
        assert_eq!(
            f.terms,
            vec![
                Expr::Not(Box::new(Expr::Any(vec![
                    term(Kind::Text("a".into())),
                    term(Kind::Text("b".into())),
                ]))),
                term(Kind::Text("c".into())),
            ]
        );
        assert_eq!(parse("!(a)").unwrap(), parse("not a").unwrap());
        assert_eq!(parse("(a)(b)").unwrap(), parse("a b").unwrap());
        assert!(parse("   ").unwrap().is_empty());
    }

    /// Hostile input: every error is a message naming the problem, and nothing
    /// panics, however the words are broken or nested.
    #[test]
    fn hostile_filters_give_messages() {
        for (bad, says) in [
            ("(", "needs something after"),
            ("(a", "not closed"),
            ("(a or (b)", "not closed"),
            (")", "without its"),
            ("a )", "without its"),
            ("()", "empty parentheses"),
            ("or", "needs something"),
            ("a or", "needs something after"),
            ("and a", "needs something before"),
            ("a and", "needs something after"),
            ("not", "needs something after"),
            ("! ", "needs something after"),
            ("code:4xx|", "empty alternative"),
            ("code:|5xx", "empty alternative"),
            ("code:4xx|abc", "code:abc"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(parse(&deep).unwrap_err().contains("longer than"));
        let deep = "(".repeat(MAX_DEPTH + 1) + "a" + &")".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().contains("nested"));
        let nots = "not ".repeat(MAX_DEPTH + 1) + "a";
        assert!(parse(&nots).unwrap_err().contains("nested"));
        let ok = "(".repeat(MAX_DEPTH - 1) + "a" + &")".repeat(MAX_DEPTH - 1);
        assert!(parse(&ok).is_ok());
        // Anything at all: an answer, never a panic.
        let alphabet = [
            "(", ")", "not", "or", "and", "!", "|", "code:", "5xx", "bytes>", "1M", "a", " ",
            "\u{0}", "é", ":",
        ];
        let mut x: u32 = 1;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                s.push_str(alphabet[(x as usize) % alphabet.len()]);
            }
            let _ = parse(&s);
        }
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
        assert!(p("!lf x").narrows(&p("!lf")));
        assert!(!p("a or bc").narrows(&p("a or b")));
        assert!(p("(a or b) c").narrows(&p("(a or b)")));
    }
}
