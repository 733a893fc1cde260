//! Zeek's `ftp.log`, in Zeek's tab-separated log format (`--format zeek`) or in its
//! JSON log style (`--format zeek-json`), so pipelines built for Zeek take ftpscope's
//! sessions as they are (docs/formats.md).
//!
//! One row per logged command, as Zeek's `base/protocols/ftp` scripts log them: only
//! the commands of [`DEFAULT_LOGGED`] (Zeek's `FTP::logged_commands`; more with
//! `--zeek-commands`), each with its final reply, the user and password known at that
//! point, file commands' arguments as `ftp://` URLs built from the tracked working
//! directory, `file_size` from a RETR's 150 reply and the `data_channel.*` fields of
//! PASV/EPSV/PORT/EPRT. `uid` is derived from the connection (stable from run to run),
//! `mime_type` and `fuid` are always unset (no files analysis here).
//!
//! Passwords: `<hidden>` unless `--show-passwords`, whatever the user (Zeek shows the
//! passwords of anonymous users; ftpscope shows none unless asked).
//!
//! Written streaming: the header before the first session, each session's rows as it
//! ends, `#close` at the end. Field values are escaped as Zeek does (`\xNN` for the
//! separator, controls, bytes outside printable ASCII and the backslash; `(empty)` for
//! an empty string; `-` for unset), so a row never spans lines or columns.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::ftp::command::MASK;
use crate::model::{DataMode, Session, community_id};
use crate::time::Ts;

/// Zeek's `FTP::logged_commands`: the commands whose rows Zeek writes by default.
pub const DEFAULT_LOGGED: &[&str] = &[
    "APPE", "DELE", "RETR", "STOR", "STOU", "ACCT", "PORT", "PASV", "EPRT", "EPSV",
];

/// Zeek's `FTP::guest_ids` is not used: every password is hidden unless asked.
const HIDDEN: &str = "<hidden>";

/// Commands whose argument Zeek logs as a URL (its `file_cmds`).
const FILE_COMMANDS: &[&str] = &[
    "APPE", "CWD", "DELE", "MKD", "RETR", "RMD", "RNFR", "RNTO", "STOR", "STOU", "REST", "SIZE",
    "MDTM",
];

const FIELDS: &[(&str, &str)] = &[
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("user", "string"),
    ("password", "string"),
    ("command", "string"),
    ("arg", "string"),
    ("mime_type", "string"),
    ("file_size", "count"),
    ("reply_code", "count"),
    ("reply_msg", "string"),
    ("data_channel.passive", "bool"),
    ("data_channel.orig_h", "addr"),
    ("data_channel.resp_h", "addr"),
    ("data_channel.resp_p", "port"),
    ("fuid", "string"),
];

/// Columns after Zeek's with `--zeek-extra`.
const EXTRA_FIELDS: &[(&str, &str)] = &[
    ("ftpscope_outcome", "string"),
    ("ftpscope_findings", "set[string]"),
    ("community_id", "string"),
];

/// How the log is written.
#[derive(Clone, Debug)]
pub struct ZeekOptions {
    /// Zeek's JSON log style (one object per line) rather than TSV.
    pub json: bool,
    /// Add ftpscope's columns after Zeek's.
    pub extra: bool,
    /// Log passwords as sent (the model holds them only with --show-passwords).
    pub show_passwords: bool,
    /// Commands to log, upper case; `<init>` logs the greeting as Zeek's `<init>` row.
    pub logged: Vec<String>,
}

impl Default for ZeekOptions {
    fn default() -> Self {
        ZeekOptions {
            json: false,
            extra: false,
            show_passwords: false,
            logged: DEFAULT_LOGGED.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A streaming `ftp.log` writer: [`ZeekLog::write_session`] per session, then
/// [`ZeekLog::finish`].
pub struct ZeekLog {
    opts: ZeekOptions,
    header_written: bool,
    last: Option<Ts>,
}

impl ZeekLog {
    pub fn new(opts: ZeekOptions) -> Self {
        ZeekLog {
            opts,
            header_written: false,
            last: None,
        }
    }

    fn header(&mut self, out: &mut dyn Write, open: Ts) -> io::Result<()> {
        self.header_written = true;
        if self.opts.json {
            return Ok(());
        }
        let mut fields: Vec<(&str, &str)> = FIELDS.to_vec();
        if self.opts.extra {
            fields.extend_from_slice(EXTRA_FIELDS);
        }
        let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
        let types: Vec<&str> = fields.iter().map(|f| f.1).collect();
        write!(
            out,
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tftp\n#open\t{}\n#fields\t{}\n#types\t{}\n",
            zeek_date(open),
            names.join("\t"),
            types.join("\t")
        )
    }

    /// The rows of one session (none when it logged no command).
    pub fn write_session(&mut self, out: &mut dyn Write, s: &Session) -> io::Result<()> {
        if !self.header_written {
            self.header(out, s.start)?;
        }
        self.last = Some(self.last.map_or(s.end, |t| t.max(s.end)));
        for row in rows(s, &self.opts) {
            if self.opts.json {
                crate::report::json::write_line(
                    out,
                    &JsonRow {
                        r: &row,
                        extra: self.opts.extra,
                    },
                )?;
            } else {
                write_tsv(out, &row, self.opts.extra)?;
            }
        }
        Ok(())
    }

    /// `#close` (and the header when no session came). `now` dates an empty log.
    pub fn finish(&mut self, out: &mut dyn Write, now: Ts) -> io::Result<()> {
        if !self.header_written {
            self.header(out, now)?;
        }
        if !self.opts.json {
            writeln!(out, "#close\t{}", zeek_date(self.last.unwrap_or(now)))?;
        }
        Ok(())
    }
}

/// Zeek's `#open`/`#close` date: `YYYY-MM-DD-HH-MM-SS` (UTC here).
fn zeek_date(t: Ts) -> String {
    t.rfc3339()[..19].replace(['T', ':'], "-")
}

/// One row of the log. `None` is Zeek's unset field.
#[derive(Debug, Default)]
pub struct Row {
    pub ts: Ts,
    pub uid: String,
    pub orig: Option<SocketAddr>,
    pub resp: Option<SocketAddr>,
    pub user: String,
    pub password: Option<String>,
    pub command: String,
    pub arg: Option<Vec<u8>>,
    pub file_size: Option<u64>,
    pub reply_code: Option<u16>,
    pub reply_msg: Option<Vec<u8>>,
    /// passive, orig_h, resp_h, resp_p
    pub data_channel: Option<(bool, IpAddr, IpAddr, u16)>,
    pub outcome: Option<&'static str>,
    pub findings: Vec<&'static str>,
    pub community_id: Option<String>,
}

/// Zeek's uid for the control connection: `C` and 17 base-62 digits of a hash of the
/// connection and its start, the same on every run.
fn uid(s: &Session) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(s.client.to_string().as_bytes());
    h.update(s.server.to_string().as_bytes());
    h.update(s.start.0.to_be_bytes());
    let d = h.finalize();
    let mut n = u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16]));
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::from("C");
    for _ in 0..17 {
        out.push(char::from(DIGITS[(n % 62) as usize]));
        n /= 62;
    }
    out
}

/// The last number in `msg` (Zeek's `extract_count(msg, F)`): the size in
/// "150 Opening BINARY mode data connection for rfc1001.txt (154427 bytes)".
fn last_count(msg: &[u8]) -> Option<u64> {
    let end = msg.iter().rposition(u8::is_ascii_digit)? + 1;
    let start = msg[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    std::str::from_utf8(&msg[start..end]).ok()?.parse().ok()
}

/// A path with `..` applied, `.` and empty components dropped (a leading `.` kept),
/// no trailing `/`: Zeek's `compress_path` as its logs show it.
fn compress_path(p: &str) -> String {
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for (i, c) in p.split('/').enumerate() {
        match c {
            "" => {}
            "." if i > 0 || absolute => {}
            ".." if parts.last().is_some_and(|l| *l != ".." && *l != ".") => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// `file` relative to `dir` (Zeek's `build_path_compressed`).
fn build_path(dir: &str, file: &str) -> String {
    let absolute = file.starts_with('/')
        || (file.len() >= 3
            && file.as_bytes()[0].is_ascii_alphabetic()
            && file.as_bytes()[1] == b':'
            && matches!(file.as_bytes()[2], b'/' | b'\\'));
    if absolute || dir.is_empty() {
        compress_path(file)
    } else {
        let sep = if dir.ends_with('/') { "" } else { "/" };
        compress_path(&format!("{dir}{sep}{file}"))
    }
}

/// The directory a 257 reply names: the first quoted absolute path, else the first
/// absolute path (Zeek's `extract_path`); empty when none.
fn extract_path(msg: &str) -> String {
    let mut rest = msg;
    while let Some(q) = rest.find('"') {
        let after = &rest[q + 1..];
        let Some(e) = after.find('"') else { break };
        let inner = &after[..e];
        if inner.starts_with('/') {
            return inner.to_string();
        }
        rest = &after[e..];
    }
    match msg.find('/') {
        Some(i) => msg[i..].split([' ', '"']).next().unwrap_or("").to_string(),
        None => String::new(),
    }
}

/// A reply line's message: the text after the code and its separator.
fn reply_msg(line: &[u8], code: u16) -> Vec<u8> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if code != 0 && line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit) {
        let rest = &line[3..];
        return rest
            .strip_prefix(b" ")
            .or_else(|| rest.strip_prefix(b"-"))
            .unwrap_or(rest)
            .to_vec();
    }
    line.to_vec()
}

fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The rows Zeek would log for `s`.
pub fn rows(s: &Session, opts: &ZeekOptions) -> Vec<Row> {
    let logs = |verb: &str| opts.logged.iter().any(|l| l.eq_ignore_ascii_case(verb));
    let uid = uid(s);
    let cid = if opts.extra {
        community_id::tcp(s.client, s.server)
    } else {
        None
    };
    // USER and PASS as Zeek's state holds them when a row is logged: the row is written
    // when its reply comes, and by then every command the client sent before that reply
    // has been seen, pipelined ones included (a client that sends USER, PASS, SYST before
    // any reply gets the password on its USER row too).
    // after[k]: the exchanges of the last USER and PASS among the first k.
    let mut after: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(s.exchanges.len() + 1);
    after.push((None, None));
    for (k, x) in s.exchanges.iter().enumerate() {
        let (mut u, mut p) = after[k];
        if let Some(c) = &x.command {
            if c.verb.eq_ignore_ascii_case("USER") {
                u = Some(k);
            } else if c.verb.eq_ignore_ascii_case("PASS") {
                p = Some(k);
            }
        }
        after.push((u, p));
    }
    let arg_of = |k: usize| {
        s.exchanges[k]
            .command
            .as_ref()
            .map_or(&[][..], |c| &c.arg.0[..])
    };
    let credentials = |upto: usize| {
        let (u, p) = after[upto];
        let user = u.map_or_else(
            || String::from("<unknown>"),
            |k| crate::text::lossy_str(arg_of(k)).into_owned(),
        );
        let password = p.map(|k| {
            let a = arg_of(k);
            if opts.show_passwords && a != MASK {
                crate::text::lossy_str(a).into_owned()
            } else {
                HIDDEN.to_string()
            }
        });
        (user, password)
    };
    let mut cwd = String::from(".");
    let mut out = Vec::new();
    for (i, x) in s.exchanges.iter().enumerate() {
        let verb = x.command.as_ref().map(|c| c.verb.to_ascii_uppercase());
        let raw_arg = x
            .command
            .as_ref()
            .map(|c| c.arg.0.clone())
            .unwrap_or_default();
        let masked = raw_arg == MASK;
        let last = x.final_reply().or(x.replies.last());
        let name = verb.clone().unwrap_or_else(|| "<init>".to_string());
        // The greeting is Zeek's <init> row; other replies no command asked for are not logged.
        let greeting = verb.is_none() && i == 0;
        let logged = (verb.is_some() || greeting) && logs(&name);
        if logged {
            let arg = match verb.as_deref() {
                Some(v) if FILE_COMMANDS.contains(&v) => {
                    let file = crate::text::lossy_str(&raw_arg);
                    let mut path = build_path(&cwd, &file);
                    if !path.starts_with('/') {
                        path.insert(0, '/');
                    }
                    Some(format!("ftp://{}{path}", url_host(s.server.ip())).into_bytes())
                }
                Some("PASS" | "ACCT") if masked || !opts.show_passwords => {
                    Some(HIDDEN.as_bytes().to_vec())
                }
                _ if raw_arg.is_empty() => None,
                _ => Some(raw_arg.clone()),
            };
            let file_size = if verb.as_deref() == Some("RETR") {
                x.replies
                    .iter()
                    .rfind(|r| r.code == 150)
                    .and_then(|r| last_count(&r.text.0))
            } else {
                None
            };
            let dc_index = s
                .data_channels
                .iter()
                .position(|d| d.announce_exchange == i && d.announced.is_some())
                .filter(|_| matches!(verb.as_deref(), Some("PASV" | "EPSV" | "PORT" | "EPRT")));
            let data_channel = dc_index.and_then(|d| {
                let dc = &s.data_channels[d];
                let a = dc.announced?;
                Some(match dc.mode {
                    DataMode::Passive => (true, s.client.ip(), a.ip(), a.port()),
                    DataMode::Active => (false, s.server.ip(), a.ip(), a.port()),
                })
            });
            let outcome = x
                .data_channel
                .or(dc_index)
                .and_then(|d| s.data_channels.get(d))
                .map(|d| d.outcome.as_str());
            let mut findings: Vec<&'static str> = s
                .findings
                .iter()
                .filter(|f| f.exchanges.contains(&i))
                .map(|f| f.id)
                .collect();
            findings.dedup();
            // Commands come in order of time: those sent before the reply form a prefix.
            let seen = match last {
                Some(r) => {
                    i + 1
                        + s.exchanges[i + 1..]
                            .iter()
                            .take_while(|y| y.command.as_ref().is_some_and(|c| c.ts < r.ts))
                            .count()
                }
                None => i + 1,
            };
            let (user, password) = credentials(seen);
            out.push(Row {
                ts: x.command.as_ref().map_or(s.start, |c| c.ts),
                uid: uid.clone(),
                orig: Some(s.client),
                resp: Some(s.server),
                user,
                password,
                command: name,
                arg,
                file_size,
                reply_code: last.map(|r| r.code),
                reply_msg: last
                    .map(|r| reply_msg(r.lines.last().map_or(&r.text.0[..], |l| &l.0[..]), r.code)),
                data_channel,
                outcome: if opts.extra { outcome } else { None },
                findings: if opts.extra { findings } else { Vec::new() },
                community_id: cid.clone(),
            });
        }
        // The working directory after this exchange, as Zeek tracks it.
        if let (Some(v), Some(r)) = (verb.as_deref(), x.final_reply()) {
            let arg = crate::text::lossy_str(&raw_arg);
            match (v, r.code) {
                ("CWD", 250) => cwd = build_path(&cwd, &arg),
                ("CDUP", 200 | 250) => cwd = build_path(&cwd, "/.."),
                ("PWD" | "XPWD", 257) => {
                    let line = r.lines.first().map_or(&r.text.0[..], |l| &l.0[..]);
                    cwd = extract_path(&crate::text::lossy_str(&reply_msg(line, r.code)));
                }
                _ => {}
            }
        }
    }
    out
}

/// A string field as Zeek's ASCII writer writes it.
fn escape(out: &mut Vec<u8>, b: &[u8], set: bool) {
    if b.is_empty() {
        out.extend_from_slice(b"(empty)");
        return;
    }
    if b == b"-" {
        out.extend_from_slice(b"\\x2d");
        return;
    }
    for &c in b {
        if c == b'\\' || c == b'\t' || !(0x20..0x7f).contains(&c) || (set && c == b',') {
            out.extend_from_slice(format!("\\x{c:02x}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

fn write_tsv(out: &mut dyn Write, r: &Row, extra: bool) -> io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let secs = r.ts.0.div_euclid(1_000_000_000);
    let micros = r.ts.0.rem_euclid(1_000_000_000) / 1000;
    let mut cols: Vec<Vec<u8>> = Vec::with_capacity(22);
    let s = |v: &[u8]| {
        let mut o = Vec::new();
        escape(&mut o, v, false);
        o
    };
    let unset = || b"-".to_vec();
    cols.push(format!("{secs}.{micros:06}").into_bytes());
    cols.push(s(r.uid.as_bytes()));
    for a in [r.orig, r.resp] {
        match a {
            Some(a) => {
                cols.push(a.ip().to_string().into_bytes());
                cols.push(a.port().to_string().into_bytes());
            }
            None => {
                cols.push(unset());
                cols.push(unset());
            }
        }
    }
    cols.push(s(r.user.as_bytes()));
    cols.push(r.password.as_ref().map_or_else(unset, |p| s(p.as_bytes())));
    cols.push(s(r.command.as_bytes()));
    cols.push(r.arg.as_ref().map_or_else(unset, |a| s(a)));
    cols.push(unset()); // mime_type
    cols.push(
        r.file_size
            .map_or_else(unset, |n| n.to_string().into_bytes()),
    );
    cols.push(
        r.reply_code
            .map_or_else(unset, |n| n.to_string().into_bytes()),
    );
    cols.push(r.reply_msg.as_ref().map_or_else(unset, |m| s(m)));
    match r.data_channel {
        Some((passive, o, h, p)) => {
            cols.push(if passive {
                b"T".to_vec()
            } else {
                b"F".to_vec()
            });
            cols.push(o.to_string().into_bytes());
            cols.push(h.to_string().into_bytes());
            cols.push(p.to_string().into_bytes());
        }
        None => cols.extend(std::iter::repeat_n(unset(), 4)),
    }
    cols.push(unset()); // fuid
    if extra {
        cols.push(r.outcome.map_or_else(unset, |o| s(o.as_bytes())));
        cols.push(if r.findings.is_empty() {
            unset()
        } else {
            let mut o = Vec::new();
            for (i, f) in r.findings.iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                escape(&mut o, f.as_bytes(), true);
            }
            o
        });
        cols.push(
            r.community_id
                .as_ref()
                .map_or_else(unset, |c| s(c.as_bytes())),
        );
    }
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            line.push(b'\t');
        }
        line.extend_from_slice(c);
    }
    line.push(b'\n');
    out.write_all(&line)
}

/// A row in Zeek's JSON log style: unset fields left out, dotted names kept.
struct JsonRow<'a> {
    r: &'a Row,
    extra: bool,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let r = self.r;
        let lossy = |b: &[u8]| crate::text::lossy_str(b).into_owned();
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("ts", &(r.ts.0 as f64 / 1e9))?;
        m.serialize_entry("uid", &r.uid)?;
        if let Some(a) = r.orig {
            m.serialize_entry("id.orig_h", &a.ip())?;
            m.serialize_entry("id.orig_p", &a.port())?;
        }
        if let Some(a) = r.resp {
            m.serialize_entry("id.resp_h", &a.ip())?;
            m.serialize_entry("id.resp_p", &a.port())?;
        }
        m.serialize_entry("user", &r.user)?;
        if let Some(p) = &r.password {
            m.serialize_entry("password", p)?;
        }
        m.serialize_entry("command", &r.command)?;
        if let Some(a) = &r.arg {
            m.serialize_entry("arg", &lossy(a))?;
        }
        if let Some(n) = r.file_size {
            m.serialize_entry("file_size", &n)?;
        }
        if let Some(c) = r.reply_code {
            m.serialize_entry("reply_code", &c)?;
        }
        if let Some(msg) = &r.reply_msg {
            m.serialize_entry("reply_msg", &lossy(msg))?;
        }
        if let Some((passive, o, h, p)) = r.data_channel {
            m.serialize_entry("data_channel.passive", &passive)?;
            m.serialize_entry("data_channel.orig_h", &o)?;
            m.serialize_entry("data_channel.resp_h", &h)?;
            m.serialize_entry("data_channel.resp_p", &p)?;
        }
        if self.extra {
            if let Some(o) = r.outcome {
                m.serialize_entry("ftpscope_outcome", o)?;
            }
            if !r.findings.is_empty() {
                m.serialize_entry("ftpscope_findings", &r.findings)?;
            }
            if let Some(c) = &r.community_id {
                m.serialize_entry("community_id", c)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compress_as_zeek_logs_them() {
        assert_eq!(build_path(".", "robots.txt"), "./robots.txt");
        assert_eq!(build_path(".", ""), ".");
        assert_eq!(build_path(".", "pub/data"), "./pub/data");
        assert_eq!(build_path("/pub", "../etc/x"), "/etc/x");
        assert_eq!(build_path("/pub/", "/abs"), "/abs");
        assert_eq!(build_path("/a/./b", "c"), "/a/b/c");
    }

    #[test]
    fn file_size_is_the_last_number_of_the_150_reply() {
        assert_eq!(
            last_count(b"Opening BINARY mode data connection for rfc1001.txt (154427 bytes)."),
            Some(154427)
        );
        assert_eq!(last_count(b"Opening data connection"), None);
    }

    #[test]
    fn pwd_reply_gives_the_quoted_directory() {
        assert_eq!(extract_path("\"/pub\" is the current directory"), "/pub");
        assert_eq!(
            extract_path("Current directory is /srv/ftp now"),
            "/srv/ftp"
        );
        assert_eq!(extract_path("no path"), "");
    }

    #[test]
    fn fields_are_escaped_as_zeek_writes_them() {
        let mut o = Vec::new();
        escape(&mut o, b"a\tb\\c\x1b\xc3\xa9", false);
        assert_eq!(o, b"a\\x09b\\x5cc\\x1b\\xc3\\xa9");
        o.clear();
        escape(&mut o, b"", false);
        assert_eq!(o, b"(empty)");
        o.clear();
        escape(&mut o, b"-", false);
        assert_eq!(o, b"\\x2d");
    }
}
