//! Files out of data connections (`report --extract DIR`): each transfer's bytes
//! written to DIR as they are reassembled, hashed on the way, named from the
//! session and the command when the session ends.
//!
//! Memory does not grow with a file: bytes go to the file as the flow table
//! delivers them, in order; bytes missing from the capture (a gap) leave a hole of
//! zeros at their offset, so what follows stays where it belongs, and the file is
//! marked incomplete. Disk use is bounded by a budget for the whole run
//! (`--extract-max-bytes`): past it files are cut and marked so.
//!
//! Names never leave DIR and never replace a file: the command's path is reduced
//! to its last component and to `[A-Za-z0-9._-]` (anything else, `..`, control
//! characters, separators become `_`), cut to [`MAX_NAME`] bytes, and the file is
//! created with `O_EXCL`-style `create_new` under a name no earlier file of this
//! run took, compared without case (`-2`, `-3`... are added), so names that differ
//! only by case or by Unicode form do not meet on a case-insensitive disk either.
//! A file is first written as `.ftpscope-partial-N` and renamed (without
//! replacing anything) when its session ends and the command is known.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::model::{Completeness, Extracted};

/// Longest file name written (bytes, before a `-N` suffix).
pub const MAX_NAME: usize = 120;

/// Default of `--extract-max-bytes`: 4 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// Holes (bytes missing from the capture) one file may hold as zeros; past it the
/// file ends where the missing bytes start (a capture of a 5 GB transfer that kept
/// its first packets must not become 5 GB of zeros to write and hash).
pub const MAX_HOLES: u64 = 64 << 20;

/// Buffer between reassembly and the file.
const BUF: usize = 256 << 10;

/// Where extracted files go, shared by every transfer of a run.
#[derive(Debug)]
pub struct ExtractDir {
    dir: PathBuf,
    max_bytes: u64,
    /// `--extract-ascii converted`: TYPE A transfers are written with their CRLF
    /// line ends turned back into LF (as a client in ASCII mode stores them on
    /// Unix); otherwise as they crossed the wire.
    ascii_converted: bool,
    used: AtomicU64,
    next_partial: AtomicU64,
    /// Names taken so far, lower-cased.
    taken: Mutex<HashSet<String>>,
}

impl ExtractDir {
    /// Use `dir` (created when missing) with a budget of `max_bytes` for all files.
    pub fn new(dir: &Path, max_bytes: u64) -> io::Result<Arc<ExtractDir>> {
        Self::with_ascii(dir, max_bytes, false)
    }

    /// [`ExtractDir::new`], TYPE A transfers written converted back when
    /// `ascii_converted`.
    pub fn with_ascii(
        dir: &Path,
        max_bytes: u64,
        ascii_converted: bool,
    ) -> io::Result<Arc<ExtractDir>> {
        std::fs::create_dir_all(dir)?;
        if !dir.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        // Names already there are taken, compared without case (a case-insensitive
        // disk would have one file replace the other).
        let mut taken = HashSet::new();
        for e in std::fs::read_dir(dir)? {
            taken.insert(e?.file_name().to_string_lossy().to_ascii_lowercase());
        }
        Ok(Arc::new(ExtractDir {
            dir: dir.to_path_buf(),
            max_bytes,
            ascii_converted,
            used: AtomicU64::new(0),
            next_partial: AtomicU64::new(0),
            taken: Mutex::new(taken),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take up to `want` bytes of the budget; returns how many were granted.
    fn reserve(&self, want: u64) -> u64 {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let grant = want.min(self.max_bytes.saturating_sub(used));
            if grant == 0 {
                return 0;
            }
            match self.used.compare_exchange_weak(
                used,
                used + grant,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return grant,
                Err(now) => used = now,
            }
        }
    }

    /// A new file for a transfer's bytes (under a temporary name); `ascii`: the
    /// transfer is in TYPE A (its line ends are counted, and converted back with
    /// `--extract-ascii converted`).
    pub fn start_typed(self: &Arc<Self>, ascii: bool) -> io::Result<ExtractFile> {
        let mut f = self.start()?;
        if ascii {
            f.line_ends = Some(LineEnds::default());
            f.convert = self.ascii_converted;
        }
        Ok(f)
    }

    /// A new file for a transfer's bytes (under a temporary name).
    pub fn start(self: &Arc<Self>) -> io::Result<ExtractFile> {
        loop {
            let n = self.next_partial.fetch_add(1, Ordering::Relaxed);
            let path = self.dir.join(format!(".ftpscope-partial-{n}"));
            match File::options().write(true).create_new(true).open(&path) {
                Ok(f) => {
                    return Ok(ExtractFile {
                        dir: Arc::clone(self),
                        file: io::BufWriter::with_capacity(BUF, f),
                        partial: path,
                        hash: Sha256::new(),
                        size: 0,
                        holes: 0,
                        cut_by_limit: false,
                        head: Vec::new(),
                        error: None,
                        ended_by_gap: false,
                        after_gap: 0,
                        line_ends: None,
                        convert: false,
                        cr_pending: false,
                        scratch: Vec::new(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// A free name for `wanted` (already sanitised): itself, or with `-2`, `-3`...
    /// before the extension; reserved so no later file takes it.
    fn claim(&self, wanted: &str) -> String {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let (stem, ext) = match wanted.rfind('.') {
            Some(i) if i > 0 => wanted.split_at(i),
            _ => (wanted, ""),
        };
        let mut name = wanted.to_string();
        let mut k = 2;
        while taken.contains(&name.to_ascii_lowercase()) || self.dir.join(&name).exists() {
            name = format!("{stem}-{k}{ext}");
            k += 1;
        }
        taken.insert(name.to_ascii_lowercase());
        name
    }
}

/// One transfer being written.
#[derive(Debug)]
pub struct ExtractFile {
    dir: Arc<ExtractDir>,
    file: io::BufWriter<File>,
    partial: PathBuf,
    hash: Sha256,
    /// Bytes in the file (holes included).
    size: u64,
    /// Bytes missing from the capture, written as zeros.
    holes: u64,
    cut_by_limit: bool,
    /// The first bytes, to tell the file's type.
    head: Vec<u8>,
    error: Option<String>,
    /// A gap past [`MAX_HOLES`] ended the file; bytes seen after it, not written.
    ended_by_gap: bool,
    after_gap: u64,
    /// TYPE A: the line ends seen on the wire.
    line_ends: Option<LineEnds>,
    /// Write CRLF as LF (`--extract-ascii converted`).
    convert: bool,
    /// The last byte seen was a CR (its LF may come in the next piece).
    cr_pending: bool,
    scratch: Vec<u8>,
}

pub use crate::model::LineEnds;

/// Bytes kept to sniff the type.
const HEAD: usize = 512;

impl ExtractFile {
    /// The next bytes of the transfer.
    pub fn data(&mut self, bytes: &[u8]) {
        if self.error.is_some() || self.cut_by_limit || bytes.is_empty() {
            return;
        }
        if self.ended_by_gap {
            self.after_gap = self.after_gap.saturating_add(bytes.len() as u64);
            return;
        }
        if let Some(le) = self.line_ends.as_mut() {
            let mut cr = self.cr_pending;
            for &b in bytes {
                match b {
                    b'\n' if cr => le.crlf += 1,
                    b'\n' => le.bare_lf += 1,
                    _ if cr => le.bare_cr += 1,
                    _ => {}
                }
                cr = b == b'\r';
            }
            if self.convert {
                // CRLF -> LF: a CR is held back until the next byte says what it is.
                let mut out = std::mem::take(&mut self.scratch);
                out.clear();
                if self.cr_pending && bytes.first() != Some(&b'\n') {
                    out.push(b'\r');
                }
                let mut i = 0;
                while i < bytes.len() {
                    let b = bytes[i];
                    if b == b'\r' {
                        match bytes.get(i + 1) {
                            Some(b'\n') => {}
                            Some(_) => out.push(b'\r'),
                            None => {} // held back
                        }
                    } else {
                        out.push(b);
                    }
                    i += 1;
                }
                self.cr_pending = cr;
                self.write_bytes(&out);
                self.scratch = out;
                return;
            }
            self.cr_pending = cr;
        }
        self.write_bytes(bytes);
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        if self.head.len() < HEAD {
            let n = (HEAD - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
        let grant = self.dir.reserve(bytes.len() as u64) as usize;
        let part = &bytes[..grant];
        if let Err(e) = self.file.write_all(part) {
            self.error = Some(e.to_string());
            return;
        }
        self.hash.update(part);
        self.size += grant as u64;
        if grant < bytes.len() {
            self.cut_by_limit = true;
        }
    }

    /// `len` bytes of the transfer are not in the capture: a hole of zeros (or,
    /// past [`MAX_HOLES`], the end of the file: what follows is counted, not written).
    pub fn gap(&mut self, len: u64) {
        if self.error.is_some() || self.cut_by_limit {
            return;
        }
        if self.ended_by_gap || self.holes.saturating_add(len) > MAX_HOLES {
            self.ended_by_gap = true;
            self.holes = self.holes.saturating_add(len);
            return;
        }
        let grant = self.dir.reserve(len);
        let r = self
            .file
            .flush()
            .and_then(|()| self.file.get_mut().seek(SeekFrom::Current(grant as i64)))
            .and_then(|_| self.file.get_mut().set_len(self.size + grant));
        if let Err(e) = r {
            self.error = Some(e.to_string());
            return;
        }
        let zeros = [0u8; 4096];
        let mut left = grant;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            self.hash.update(&zeros[..n]);
            left -= n as u64;
        }
        self.size += grant;
        self.holes += grant;
        if grant < len {
            self.cut_by_limit = true;
        }
    }

    /// Close the file and give it its name (`wanted`, sanitised here). `complete`
    /// is what the transfer's outcome says; holes and the budget can only make it
    /// less so.
    pub fn finish(mut self, wanted: &str, complete: Completeness) -> Extracted {
        if self.convert && self.cr_pending {
            // A CR at the very end was not a line end.
            self.write_bytes(b"\r");
        }
        let flushed = self.file.flush();
        if let (Err(e), None) = (flushed, &self.error) {
            self.error = Some(e.to_string());
        }
        let name = self.dir.claim(&sanitize(wanted));
        let target = self.dir.dir.join(&name);
        // Renamed only onto a name nothing holds (claim checked it; a hard link
        // fails rather than replace, should something appear in between).
        let renamed = std::fs::hard_link(&self.partial, &target)
            .and_then(|()| std::fs::remove_file(&self.partial));
        let path = match renamed {
            Ok(()) => name,
            Err(e) => {
                self.error.get_or_insert(e.to_string());
                self.partial
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
        };
        let completeness = if self.cut_by_limit {
            Completeness::CutByLimit
        } else if self.holes > 0 || self.ended_by_gap {
            Completeness::CutByGap
        } else {
            complete
        };
        Extracted {
            path,
            size: self.size,
            sha256: crate::text::hex(&self.hash.finalize()),
            completeness,
            missing_bytes: self.holes,
            not_written: self.after_gap,
            kind: sniff(&self.head),
            offset: 0,
            line_ends: self.line_ends,
            converted: self.convert,
            error: self.error,
        }
    }
}

/// A file name from a command's path: its last component, only `[A-Za-z0-9._-]`
/// (others become `_`), no leading dot (no hidden files, no `..`), at most
/// [`MAX_NAME`] bytes; `data` when nothing is left.
pub fn sanitize(wanted: &str) -> String {
    let mut out = String::with_capacity(wanted.len().min(MAX_NAME));
    for c in wanted.chars() {
        if out.len() >= MAX_NAME {
            break;
        }
        out.push(
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            },
        );
    }
    let trimmed = out.trim_start_matches(['.', '_']);
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        return "data".to_string();
    }
    trimmed.to_string()
}

/// A command's path as one name: lossy UTF-8, trailing separators dropped (the
/// sanitiser turns the others and everything unsafe into `_`).
pub fn path_name(path: &[u8]) -> String {
    let s = crate::text::lossy_str(path);
    s.trim().trim_end_matches(['/', '\\']).to_string()
}

/// The last component of a path as a client names it (`/`- or `\`-separated).
pub fn last_component(path: &[u8]) -> String {
    let s = crate::text::lossy_str(path);
    let s = s.trim_end_matches(['/', '\\']);
    s.rsplit(['/', '\\']).next().unwrap_or("").to_string()
}

/// What the first bytes say the file is (magic numbers), else text or binary.
pub fn sniff(head: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "zip"),
        (b"\x1f\x8b", "gzip"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"Rar!\x1a\x07", "rar"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"GIF8", "gif"),
        (b"%PDF-", "pdf"),
        (b"\x7fELF", "elf"),
        (b"MZ", "pe"),
        (b"\xd4\xc3\xb2\xa1", "pcap"),
        (b"\xa1\xb2\xc3\xd4", "pcap"),
        (b"\x0a\x0d\x0d\x0a", "pcapng"),
        (b"SQLite format 3\x00", "sqlite"),
    ];
    if head.is_empty() {
        return "empty";
    }
    for (m, k) in MAGIC {
        if head.starts_with(m) {
            return k;
        }
    }
    if head.get(257..262) == Some(b"ustar") {
        return "tar";
    }
    let texty = head
        .iter()
        .all(|&b| matches!(b, b'\n' | b'\r' | b'\t') || (0x20..0x7f).contains(&b) || b >= 0x80);
    if !texty {
        return "binary";
    }
    match std::str::from_utf8(head) {
        Ok(_) => "text",
        // UTF-8 cut at the end of the head is still text.
        Err(e) if e.error_len().is_none() => "text",
        Err(_) => "binary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_inside_and_plain() {
        for (wanted, want) in [
            ("../../etc/passwd", "passwd"),
            ("/etc/shadow", "shadow"),
            ("..", "data"),
            ("...", "data"),
            (".bashrc", "bashrc"),
            ("a\0b\x1b[31mc", "a_b__31mc"),
            ("C:\\Windows\\system.ini", "system.ini"),
            ("résumé.pdf", "r_sum_.pdf"),
            ("", "data"),
        ] {
            assert_eq!(
                sanitize(&last_component(wanted.as_bytes())),
                want,
                "{wanted:?}"
            );
        }
        let long = "x".repeat(10_000);
        assert_eq!(sanitize(&long).len(), MAX_NAME);
    }

    #[test]
    fn names_differing_by_case_or_unicode_form_do_not_meet() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("keep.txt"), b"mine").unwrap();
        let dir = ExtractDir::new(tmp.path(), 1 << 20).unwrap();
        let mut names = Vec::new();
        // NFC and NFD forms of "é" reduce to different runs of `_`, "Keep.txt" meets
        // the existing file by case, README twice.
        for wanted in [
            "README",
            "readme",
            "README",
            "Keep.txt",
            "caf\u{e9}",
            "cafe\u{301}",
        ] {
            let mut f = dir.start().unwrap();
            f.data(wanted.as_bytes());
            names.push(f.finish(wanted, Completeness::Complete).path);
        }
        assert_eq!(names[0], "README");
        assert_eq!(names[1], "readme-2");
        assert_eq!(names[2], "README-3");
        assert_eq!(names[3], "Keep-2.txt");
        assert_eq!(std::fs::read(tmp.path().join("keep.txt")).unwrap(), b"mine");
        let lower: HashSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        assert_eq!(lower.len(), names.len(), "{names:?}");
        for n in &names {
            assert!(tmp.path().join(n).is_file(), "{n}");
        }
        // No temporary file is left.
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .collect();
        assert!(left.is_empty());
    }

    #[test]
    fn gaps_leave_holes_and_the_budget_cuts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ExtractDir::new(tmp.path(), 25).unwrap();
        let mut f = dir.start().unwrap();
        f.data(b"0123456789");
        f.gap(5);
        f.data(b"abcdefghijklmnop");
        let e = f.finish("x.bin", Completeness::Complete);
        assert_eq!(e.size, 25);
        assert_eq!(e.completeness, Completeness::CutByLimit);
        let bytes = std::fs::read(tmp.path().join("x.bin")).unwrap();
        assert_eq!(&bytes[..], b"0123456789\0\0\0\0\0abcdefghij");
        assert_eq!(e.sha256, crate::text::hex(&Sha256::digest(&bytes)));
        // The budget is spent: the next file is cut at once.
        let mut g = dir.start().unwrap();
        g.data(b"more");
        assert_eq!(g.finish("y", Completeness::Complete).size, 0);

        let dir = ExtractDir::new(&tmp.path().join("sub"), 1 << 20).unwrap();
        let mut f = dir.start().unwrap();
        f.data(b"ab");
        f.gap(3);
        f.data(b"cd");
        let e = f.finish("z", Completeness::Complete);
        assert_eq!(e.completeness, Completeness::CutByGap);
        assert_eq!(e.missing_bytes, 3);
        assert_eq!(
            std::fs::read(tmp.path().join("sub/z")).unwrap(),
            b"ab\0\0\0cd"
        );
    }

    #[test]
    fn ascii_conversion_across_any_split() {
        let wire = b"a\r\nb\rc\r\r\nd\n\r";
        let want_converted = b"a\nb\rc\r\nd\n\r";
        for cut in 0..=wire.len() {
            for converted in [false, true] {
                let tmp = tempfile::tempdir().unwrap();
                let dir = ExtractDir::with_ascii(tmp.path(), 1 << 20, converted).unwrap();
                let mut f = dir.start_typed(true).unwrap();
                f.data(&wire[..cut]);
                f.data(&wire[cut..]);
                let e = f.finish("t", Completeness::Complete);
                let got = std::fs::read(tmp.path().join("t")).unwrap();
                let want: &[u8] = if converted { want_converted } else { wire };
                assert_eq!(got, want, "cut {cut}, converted {converted}");
                let le = e.line_ends.unwrap();
                assert_eq!((le.crlf, le.bare_lf, le.bare_cr), (2, 1, 2), "cut {cut}");
            }
        }
    }

    #[test]
    fn a_huge_gap_ends_the_file_instead_of_writing_zeros() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ExtractDir::new(tmp.path(), 1 << 40).unwrap();
        let mut f = dir.start().unwrap();
        f.data(b"head");
        f.gap(5_000_000_000);
        f.data(b"tail");
        let e = f.finish("big", Completeness::Complete);
        assert_eq!(e.completeness, Completeness::CutByGap);
        assert_eq!(
            (e.size, e.missing_bytes, e.not_written),
            (4, 5_000_000_000, 4)
        );
        assert_eq!(std::fs::read(tmp.path().join("big")).unwrap(), b"head");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"PK\x03\x04rest"), "zip");
        assert_eq!(sniff(b"\x7fELF\x02\x01"), "elf");
        assert_eq!(sniff(b"hello world\r\n"), "text");
        assert_eq!(sniff(b"\x00\x01\x02"), "binary");
        assert_eq!(sniff(b""), "empty");
    }
}
