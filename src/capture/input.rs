//! Where capture bytes come from: a file, standard input (`-`), either of them
//! gzip-compressed.
//!
//! Compression is recognised by content (the gzip magic `1f 8b`), never by the
//! file name, as tshark does. Decompression streams (flate2's pure-Rust backend):
//! memory holds the decoder's window and one buffer, whatever the compressed file
//! expands to, so a "gzip bomb" costs time, not memory. Concatenated gzip members
//! (`cat a.pcap.gz b.gz`) are read as one stream, as zlib-based readers do.
//!
//! Nothing here seeks: standard input and pipes work as files do.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

/// Buffer between the file (or pipe) and the reader or the decompressor. Small
/// enough to stay in the CPU's cache between the kernel's copy into it and the
/// reader's copy out: 64 KiB read a 1.1 GB capture in half the CPU time 1 MiB took
/// (`benches/engine.sh`, issue 23).
const BUF: usize = 1 << 16;

/// Buffer of decompressed bytes.
const GUNZIP_BUF: usize = 256 << 10;

/// The name that means standard input.
pub const STDIN: &str = "-";

/// Is this path the standard-input placeholder `-`?
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// How the capture bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// An opened capture input: a boxed byte stream and what it was.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub compression: Compression,
    /// Size of the file on disk when known (not for pipes and standard input).
    pub size: Option<u64>,
}

/// Open `path` (or standard input for `-`), undoing gzip compression when the
/// first bytes say so.
pub fn open(path: &Path) -> io::Result<Input> {
    if is_stdin(path) {
        return wrap(Box::new(io::stdin()), None);
    }
    let f = File::open(path)?;
    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    wrap(Box::new(f), size)
}

/// Sniff a raw byte stream and decompress it when it is gzip.
pub fn wrap(mut raw: Box<dyn Read + Send>, size: Option<u64>) -> io::Result<Input> {
    // Two bytes decide. A pipe may hand them over one at a time: read until we
    // have both or the stream ends, then put them back in front.
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match raw.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let gzip = magic[..got] == [0x1f, 0x8b];
    let prefixed = io::Cursor::new(magic[..got].to_vec()).chain(raw);
    let buffered = BufReader::with_capacity(BUF, prefixed);
    let (reader, compression): (Box<dyn Read + Send>, _) = if gzip {
        (
            // The capture reader reads record headers of a few bytes: buffer the
            // decompressed side too, so each small read is a copy, not an inflate call.
            Box::new(BufReader::with_capacity(
                GUNZIP_BUF,
                Gunzip {
                    inner: MultiGzDecoder::new(buffered),
                },
            )),
            Compression::Gzip,
        )
    } else {
        (Box::new(buffered), Compression::None)
    };
    Ok(Input {
        reader,
        compression,
        size,
    })
}

/// Gzip decoding with the errors said in capture terms.
struct Gunzip<R: BufRead> {
    inner: MultiGzDecoder<R>,
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the gzip-compressed file is cut short",
            ),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the gzip-compressed data is corrupt: {e}"),
            ),
            _ => e,
        })
    }
}

/// Characters that make an argument a glob pattern (when no file has that name).
const GLOB_CHARS: [char; 3] = ['*', '?', '['];

/// The capture files named on the command line: a directory stands for the files in
/// it (not those in its subdirectories, nor hidden ones), in name order, as a
/// `tcpdump -C`/`-G` ring buffer names them; an argument that names no file but
/// holds `*`, `?` or `[...]` is a glob pattern (for shells that do not expand it,
/// or a pattern quoted to avoid "argument list too long"), its matches in name
/// order. Other arguments, and `-`, are kept as they are: opening them says what is
/// wrong. An empty directory or a pattern that matches nothing is an error.
pub fn expand(args: &[std::path::PathBuf]) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if is_stdin(a) {
            out.push(a.clone());
        } else if a.is_dir() {
            let before = out.len();
            for e in std::fs::read_dir(a)? {
                let e = e?;
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                // Follows symbolic links, as opening the file will.
                if !hidden && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()) {
                    out.push(e.path());
                }
            }
            out[before..].sort();
            if out.len() == before {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the directory {} holds no file", a.display()),
                ));
            }
        } else if !a.exists() && a.to_string_lossy().contains(GLOB_CHARS) {
            let pattern = a.to_string_lossy();
            let paths = glob::glob(&pattern).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("bad pattern {pattern}: {e}"),
                )
            })?;
            let mut matched: Vec<_> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            if matched.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no file matches {pattern}"),
                ));
            }
            matched.sort();
            out.extend(matched);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}
