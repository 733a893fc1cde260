//! Directory listings as servers send them on a data connection: `LIST` in Unix
//! `ls -l` form or in the DOS/IIS form, `MLSD` facts (RFC 3659 §7), `NLST` names.
//!
//! [`ListingParser`] is fed the listing's bytes in any pieces and keeps at most
//! [`MAX_ENTRIES`] entries (the rest are counted), lines of at most [`MAX_LINE`]
//! bytes (a longer one is counted as unreadable and skipped to its end): memory is
//! bounded whatever the server sends.

use serde::Serialize;

/// Entries kept per listing; the rest are counted.
pub const MAX_ENTRIES: usize = 256;
/// Longest line parsed.
pub const MAX_LINE: usize = 2048;

/// The form a listing was in (the first entry read decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListingFormat {
    /// `ls -l`: `-rw-r--r-- 1 owner group 1234 Jan  1 12:00 name`.
    Unix,
    /// DOS/IIS: `01-02-24  10:30AM  <DIR>  name` / `... 1234 name`.
    Dos,
    /// MLSD facts: `type=file;size=1234;modify=20240101120000; name`.
    Mlsd,
    /// Names only (NLST, or lines in no known form).
    Names,
}

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Link,
    Other,
    Unknown,
}

/// One entry of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The name as sent (lossy UTF-8; a link's name without ` -> target`).
    pub name: String,
    pub kind: EntryKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The date as the server wrote it (`Jan  1 12:00`, `01-02-24 10:30AM`,
    /// `20240101120000`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Unix permissions (`-rw-r--r--`) or MLSD `perm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perm: Option<String>,
    /// A link's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// A parsed listing (`listing` on a data channel).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub format: ListingFormat,
    /// Entries read (all of them, kept or not).
    pub total: u64,
    /// The first [`MAX_ENTRIES`] entries.
    pub entries: Vec<Entry>,
    /// Lines in no form the listing's format reads, and lines too long.
    pub unreadable: u64,
}

/// Feeds a listing's bytes in, line by line.
#[derive(Debug)]
pub struct ListingParser {
    names_only: bool,
    line: Vec<u8>,
    too_long: bool,
    out: Listing,
}

impl ListingParser {
    /// For the listing answering `verb` (NLST: names only).
    pub fn new(verb: &str) -> Self {
        let names_only = verb.eq_ignore_ascii_case("NLST");
        ListingParser {
            names_only,
            line: Vec::new(),
            too_long: false,
            out: Listing {
                format: if names_only {
                    ListingFormat::Names
                } else if verb.eq_ignore_ascii_case("MLSD") {
                    ListingFormat::Mlsd
                } else {
                    ListingFormat::Unix
                },
                total: 0,
                entries: Vec::new(),
                unreadable: 0,
            },
        }
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match memchr::memchr(b'\n', bytes) {
                Some(i) => {
                    self.take(&bytes[..i]);
                    self.end_line();
                    bytes = &bytes[i + 1..];
                }
                None => {
                    self.take(bytes);
                    break;
                }
            }
        }
    }

    fn take(&mut self, part: &[u8]) {
        if self.too_long {
            return;
        }
        if self.line.len() + part.len() > MAX_LINE {
            self.too_long = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(part);
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.too_long) {
            self.out.unreadable += 1;
            return;
        }
        let line = std::mem::take(&mut self.line);
        let text = crate::text::lossy_str(&line);
        let text = text.trim_end_matches('\r');
        if !text.trim().is_empty() {
            self.line_done(text);
        }
        self.line = line;
        self.line.clear();
    }

    fn line_done(&mut self, text: &str) {
        let entry = if self.names_only {
            Some(Entry::named(text.trim()))
        } else {
            let e = parse_mlsd(text)
                .map(|e| (ListingFormat::Mlsd, e))
                .or_else(|| parse_unix(text).map(|e| (ListingFormat::Unix, e)))
                .or_else(|| parse_dos(text).map(|e| (ListingFormat::Dos, e)));
            match e {
                Some((f, e)) => {
                    if self.out.total == 0 {
                        self.out.format = f;
                    }
                    Some(e)
                }
                // `ls -l`'s "total 42" line is not an entry.
                None if text.starts_with("total ") => None,
                None => {
                    self.out.unreadable += 1;
                    None
                }
            }
        };
        if let Some(e) = entry {
            self.out.total += 1;
            if self.out.entries.len() < MAX_ENTRIES {
                self.out.entries.push(e);
            }
        }
    }

    /// The listing (a last line without its newline included); None when no
    /// entry was read.
    pub fn finish(mut self) -> Option<Listing> {
        if !self.line.is_empty() || self.too_long {
            self.end_line();
        }
        (self.out.total > 0 || self.out.unreadable > 0).then_some(self.out)
    }
}

impl Entry {
    fn named(name: &str) -> Entry {
        Entry {
            name: name.to_string(),
            kind: EntryKind::Unknown,
            size: None,
            modified: None,
            perm: None,
            target: None,
        }
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Tokens of a line with where each starts (split at whitespace as `char::is_whitespace`
/// has it; a line of ASCII, the usual case, is split byte by byte).
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::with_capacity(12);
    let mut start = None;
    if text.is_ascii() {
        // The ASCII characters `char::is_whitespace` names (vertical tab included,
        // unlike `u8::is_ascii_whitespace`).
        for (i, b) in text.bytes().enumerate() {
            match (
                matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
                start,
            ) {
                (true, Some(s)) => {
                    out.push((s, &text[s..i]));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
    } else {
        for (i, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    out.push((s, &text[s..i]));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// `-rw-r--r-- 1 owner group 1234 Jan  1 12:00 name` (the group may be missing;
/// the month finds the columns), `lrwxrwxrwx ... name -> target`.
fn parse_unix(text: &str) -> Option<Entry> {
    // The type letter first: most lines in another form stop here, untokenised.
    if !matches!(
        text.trim_start().as_bytes().first(),
        Some(b'-' | b'd' | b'l' | b'c' | b'b' | b'p' | b's')
    ) {
        return None;
    }
    let t = tokens(text);
    let perm = t.first()?.1;
    let kind = match perm.as_bytes().first()? {
        b'-' => EntryKind::File,
        b'd' => EntryKind::Dir,
        b'l' => EntryKind::Link,
        b'c' | b'b' | b'p' | b's' => EntryKind::Other,
        _ => return None,
    };
    if perm.len() < 10
        || !perm.as_bytes()[1..10]
            .iter()
            .all(|b| b"rwxsStT-".contains(b))
    {
        return None;
    }
    // The month, after the size; then the day, then the time or year, then the name.
    let m = (2..t.len().saturating_sub(3)).find(|&i| {
        MONTHS.iter().any(|m| m.eq_ignore_ascii_case(t[i].1))
            && t[i - 1].1.bytes().all(|b| b.is_ascii_digit())
    })?;
    let size = t[m - 1].1.parse().ok();
    let modified = format!("{} {} {}", t[m].1, t[m + 1].1, t[m + 2].1);
    let (name_at, _) = t[m + 3];
    let name = &text[name_at..];
    let (name, target) = match (kind, name.split_once(" -> ")) {
        (EntryKind::Link, Some((n, tg))) => (n, Some(tg.to_string())),
        _ => (name, None),
    };
    Some(Entry {
        name: name.to_string(),
        kind,
        size,
        modified: Some(modified),
        perm: Some(perm.to_string()),
        target,
    })
}

/// `01-02-24  10:30AM       <DIR>          name` or `... 1234 name`.
fn parse_dos(text: &str) -> Option<Entry> {
    if !text.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let t = tokens(text);
    if t.len() < 4 {
        return None;
    }
    let date = t[0].1;
    let d = date.as_bytes();
    if d.len() < 8 || !(d[2] == b'-' || d[2] == b'/') || !d[0].is_ascii_digit() {
        return None;
    }
    let time = t[1].1;
    if !time.contains(':') {
        return None;
    }
    let (kind, size) = if t[2].1.eq_ignore_ascii_case("<DIR>") {
        (EntryKind::Dir, None)
    } else {
        (EntryKind::File, Some(t[2].1.replace(',', "").parse().ok()?))
    };
    Some(Entry {
        name: text[t[3].0..].to_string(),
        kind,
        size,
        modified: Some(format!("{date} {time}")),
        perm: None,
        target: None,
    })
}

/// `fact=value;fact=value; name` (RFC 3659 §7.2: the facts, then one space).
fn parse_mlsd(text: &str) -> Option<Entry> {
    let (facts, name) = text.split_once(' ')?;
    if !facts.contains('=') || !facts.ends_with(';') {
        return None;
    }
    let mut e = Entry::named(name);
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let (k, v) = fact.split_once('=')?;
        match k.to_ascii_lowercase().as_str() {
            "type" => {
                e.kind = match v.to_ascii_lowercase().as_str() {
                    "file" => EntryKind::File,
                    "dir" | "cdir" | "pdir" => EntryKind::Dir,
                    v if v.contains("slink") => EntryKind::Link,
                    _ => EntryKind::Other,
                }
            }
            "size" => e.size = v.parse().ok(),
            "modify" => e.modified = Some(v.to_string()),
            "perm" => e.perm = Some(v.to_string()),
            _ => {}
        }
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(verb: &str, text: &str) -> Listing {
        let mut p = ListingParser::new(verb);
        p.feed(text.as_bytes());
        p.finish().expect("entries")
    }

    #[test]
    fn unix_listing_with_and_without_group_links_and_spaces() {
        let l = parse(
            "LIST",
            "total 12\r\n-rw-r--r--    1 1000     1000        81920 Nov 23 20:24 report.bin\r\n\
             drwxr-xr-x 2 ftp ftp 4096 Jan  1  2024 old logs\r\n\
             lrwxrwxrwx 1 ftp 7 Mar 3 10:00 latest -> report.bin\r\n\
             -rw-r--r-- 1 ftp 12 Feb 29 23:59 no group.txt\n",
        );
        assert_eq!(l.format, ListingFormat::Unix);
        assert_eq!(l.total, 4);
        assert_eq!(l.unreadable, 0);
        let e = &l.entries;
        assert_eq!(
            (e[0].name.as_str(), e[0].size, e[0].kind),
            ("report.bin", Some(81920), EntryKind::File)
        );
        assert_eq!(
            (e[1].name.as_str(), e[1].kind),
            ("old logs", EntryKind::Dir)
        );
        assert_eq!(e[1].modified.as_deref(), Some("Jan 1 2024"));
        assert_eq!(
            (e[2].name.as_str(), e[2].target.as_deref()),
            ("latest", Some("report.bin"))
        );
        assert_eq!((e[3].name.as_str(), e[3].size), ("no group.txt", Some(12)));
    }

    #[test]
    fn dos_mlsd_and_nlst() {
        let l = parse(
            "LIST",
            "01-02-24  10:30AM       <DIR>          Program Files\r\n02-03-2024  01:05PM              1,234 a b.txt\r\n",
        );
        assert_eq!(l.format, ListingFormat::Dos);
        assert_eq!(l.entries[0].kind, EntryKind::Dir);
        assert_eq!(
            (l.entries[1].name.as_str(), l.entries[1].size),
            ("a b.txt", Some(1234))
        );

        let l = parse(
            "MLSD",
            "type=cdir;modify=20241123202441; .\r\ntype=file;size=40960;modify=20241123202441;UNIX.mode=0644; data file.bin\r\n",
        );
        assert_eq!(l.format, ListingFormat::Mlsd);
        assert_eq!(l.entries[1].name, "data file.bin");
        assert_eq!(l.entries[1].size, Some(40960));

        let l = parse("NLST", "a.bin\r\nb c.bin\r\n");
        assert_eq!(l.format, ListingFormat::Names);
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[1].name, "b c.bin");
    }

    #[test]
    fn ascii_tokens_split_where_char_whitespace_does() {
        fn by_char(text: &str) -> Vec<(usize, &str)> {
            let mut out = Vec::new();
            let mut start = None;
            for (i, c) in text.char_indices() {
                match (c.is_whitespace(), start) {
                    (true, Some(s)) => {
                        out.push((s, &text[s..i]));
                        start = None;
                    }
                    (false, None) => start = Some(i),
                    _ => {}
                }
            }
            if let Some(s) = start {
                out.push((s, &text[s..]));
            }
            out
        }
        // Every ASCII byte, each between two words and doubled, plus non-ASCII space.
        for b in 0u8..128 {
            let c = b as char;
            let text = format!("{c}a{c}b{c}{c}c d{c}");
            assert_eq!(tokens(&text), by_char(&text), "byte {b:#04x}");
        }
        let text = "-rw-r--r-- 1 a\u{a0}b 5 Jan\u{3000}1 00:00 x\u{85}y";
        assert_eq!(tokens(text), by_char(text));
    }

    #[test]
    fn any_split_reads_the_same_and_memory_is_bounded() {
        let text = "-rw-r--r-- 1 a b 5 Jan 1 00:00 x\r\ndrwxr-xr-x 2 a b 6 Jan 2 00:00 y\r\n";
        let whole = parse("LIST", text);
        for cut in 0..text.len() {
            let mut p = ListingParser::new("LIST");
            p.feed(&text.as_bytes()[..cut]);
            p.feed(&text.as_bytes()[cut..]);
            assert_eq!(p.finish().unwrap(), whole, "cut at {cut}");
        }
        let mut p = ListingParser::new("LIST");
        p.feed(&vec![b'a'; 10 * MAX_LINE]);
        p.feed(b"\n");
        for i in 0..(MAX_ENTRIES + 10) {
            p.feed(format!("-rw-r--r-- 1 a b {i} Jan 1 00:00 f{i}\n").as_bytes());
        }
        let l = p.finish().unwrap();
        assert_eq!(l.unreadable, 1);
        assert_eq!(l.total, (MAX_ENTRIES + 10) as u64);
        assert_eq!(l.entries.len(), MAX_ENTRIES);
    }

    #[test]
    fn not_a_listing_is_unreadable_lines() {
        let mut p = ListingParser::new("LIST");
        p.feed(b"\x00\x01binary garbage\nmore\n");
        let l = p.finish().unwrap();
        assert_eq!((l.total, l.unreadable), (0, 2));
    }
}
