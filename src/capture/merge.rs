//! Several capture files read as one, in time order (as `mergecap` merges them).
//!
//! A k-way merge: each file's reader keeps its next packet (one copy per file), and
//! the earliest of those goes next (ties go to the file named first). Memory holds
//! one packet per file, whatever the files' sizes; nothing seeks, so standard input
//! can be one of the files.
//!
//! Frame numbers say which file a frame came from: the frame numbers of a merged
//! read carry the file's position in their upper bits ([`frame_id`]), so every
//! frame number in the model (commands, replies, evidence) still points at a frame
//! of a file, `b.pcapng#12` as the views write it ([`FrameLabel`]). A single file
//! is read without this module and its frame numbers are plain.
//!
//! A file that is truncated or damaged part-way stops contributing; the others are
//! read to their end and the first such error is reported at the end, naming the
//! file ([`CaptureError::InFile`]).

use std::fmt;
use std::io::Read;
use std::sync::RwLock;

use super::reader::{CaptureError, CaptureReader, Packet, PacketSource};
use crate::time::Ts;

/// Bits of a frame number that count frames within a file (2^40: far beyond any
/// capture); the bits above hold 1 + the file's position among the inputs.
pub const FILE_SHIFT: u32 = 40;
const LOCAL_MASK: u64 = (1 << FILE_SHIFT) - 1;
/// Files one merge may read (the file bits of a frame number hold this many).
pub const MAX_FILES: usize = (1 << (64 - FILE_SHIFT)) - 1;

/// The frame number of frame `local` (1-based) of the file at position `file`.
pub fn frame_id(file: usize, local: u64) -> u64 {
    ((file as u64 + 1) << FILE_SHIFT) | (local & LOCAL_MASK)
}

/// The file position (for a frame of a merged read) and the frame number within it.
pub fn split_frame(frame: u64) -> (Option<usize>, u64) {
    match frame >> FILE_SHIFT {
        0 => (None, frame),
        f => (Some(f as usize - 1), frame & LOCAL_MASK),
    }
}

/// Names of the files of the merged read in progress, for [`FrameLabel`]. The
/// frame numbers in the model carry a file's position, not its name; the views
/// that write them for people look the name up here. Set by
/// [`set_file_names`] (the engine does when it merges).
static FILE_NAMES: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Record the names of the merged files (position order).
pub fn set_file_names(names: Vec<String>) {
    let mut n = FILE_NAMES.write().unwrap_or_else(|e| e.into_inner());
    *n = names;
}

/// A frame number as people read it: `12` for a frame of a single file,
/// `b.pcapng#12` for frame 12 of the merged file `b.pcapng` (`#2:12` when its
/// name is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLabel(pub u64);

impl fmt::Display for FrameLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match split_frame(self.0) {
            (None, n) => write!(f, "{n}"),
            (Some(file), n) => {
                let names = FILE_NAMES.read().unwrap_or_else(|e| e.into_inner());
                match names.get(file) {
                    Some(name) => write!(f, "{name}#{n}"),
                    None => write!(f, "#{}:{n}", file + 1),
                }
            }
        }
    }
}

/// The next packet of one file, copied out of its reader.
struct Head {
    ts: Ts,
    linktype: u32,
    orig_len: u32,
    frame: u64,
    data: Vec<u8>,
    secrets: Option<String>,
}

struct Source<R: Read> {
    name: String,
    reader: CaptureReader<R>,
    head: Option<Head>,
    /// Spare buffer (the last packet handed out), reused for the next copy.
    spare: Vec<u8>,
    done: bool,
}

impl<R: Read> Source<R> {
    /// Read this file's next packet into `head`; an error ends the file.
    fn refill(&mut self, err: &mut Option<CaptureError>) {
        if self.done || self.head.is_some() {
            return;
        }
        match self.reader.next_packet() {
            Ok(Some(p)) => {
                let mut data = std::mem::take(&mut self.spare);
                data.clear();
                data.extend_from_slice(p.data);
                self.head = Some(Head {
                    ts: p.ts,
                    linktype: p.linktype,
                    orig_len: p.orig_len,
                    frame: p.frame,
                    data,
                    secrets: p.secrets,
                });
            }
            Ok(None) => self.done = true,
            Err(e) => {
                self.done = true;
                if err.is_none() {
                    *err = Some(CaptureError::InFile {
                        file: self.name.clone(),
                        error: Box::new(e),
                    });
                }
            }
        }
    }
}

/// Packets of several captures in time order.
pub struct Merge<R: Read> {
    sources: Vec<Source<R>>,
    /// The source whose packet was handed out last: refilled on the next call.
    taken: Option<usize>,
    error: Option<CaptureError>,
    finished: bool,
    /// Stop at the first read error instead of reading the other files on.
    strict: bool,
}

impl<R: Read> Merge<R> {
    /// Merge these readers (already past their file headers), named for messages.
    /// At most [`MAX_FILES`] files.
    pub fn new(readers: Vec<(String, CaptureReader<R>)>) -> Result<Self, CaptureError> {
        if readers.len() > MAX_FILES {
            return Err(CaptureError::Corrupt {
                offset: 0,
                what: format!("more than {MAX_FILES} files to merge"),
            });
        }
        let sources = readers
            .into_iter()
            .map(|(name, reader)| Source {
                name,
                reader,
                head: None,
                spare: Vec::new(),
                done: false,
            })
            .collect();
        Ok(Merge {
            sources,
            taken: None,
            error: None,
            finished: false,
            strict: false,
        })
    }

    /// Stop at the first file's read error (`--strict`) instead of reading the
    /// other files to their end and reporting the error then.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

impl<R: Read> PacketSource for Merge<R> {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.finished {
            return Ok(None);
        }
        if let Some(i) = self.taken.take() {
            if let Some(h) = self.sources[i].head.take() {
                self.sources[i].spare = h.data;
            }
        }
        for s in &mut self.sources {
            s.refill(&mut self.error);
        }
        if self.strict
            && let Some(e) = self.error.take()
        {
            self.finished = true;
            return Err(e);
        }
        // Few files: a scan is as fast as a heap and simpler.
        let next = self
            .sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.head.as_ref().map(|h| (h.ts, i)))
            .min();
        let Some((_, i)) = next else {
            self.finished = true;
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        };
        self.taken = Some(i);
        let h = self.sources[i]
            .head
            .as_mut()
            .expect("the source chosen has a packet: it was found by its head");
        Ok(Some(Packet {
            frame: frame_id(i, h.frame),
            ts: h.ts,
            linktype: h.linktype,
            orig_len: h.orig_len,
            secrets: h.secrets.take(),
            data: &h.data,
        }))
    }

    fn offset(&self) -> u64 {
        self.sources.iter().map(|s| s.reader.offset()).sum()
    }
    fn take_secrets(&mut self) -> Option<String> {
        let all: Vec<String> = self
            .sources
            .iter_mut()
            .filter_map(|s| PacketSource::take_secrets(&mut s.reader))
            .collect();
        (!all.is_empty()).then(|| all.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(packets: &[(u32, &[u8])]) -> Vec<u8> {
        use crate::capture::write::{Format, Header, LINKTYPE_RAW, Writer};
        let header = Header {
            linktype: LINKTYPE_RAW,
            snaplen: 65535,
            interface: None,
            application: "test",
        };
        let mut w = Writer::new(Vec::new(), Format::Pcap, &header).expect("in memory");
        for (secs, d) in packets {
            w.packet(Ts(i64::from(*secs) * 1_000_000_000), d, d.len() as u32)
                .expect("in memory");
        }
        w.into_inner()
    }

    #[test]
    fn merged_in_time_order_with_file_in_the_frame_number() {
        let a = pcap(&[(1, b"a1"), (3, b"a2"), (3, b"a3"), (9, b"a4")]);
        let b = pcap(&[(0, b"b1"), (3, b"b2"), (4, b"b3")]);
        let mut cut = pcap(&[(2, b"c1"), (5, b"c2")]);
        cut.truncate(cut.len() - 1);
        let readers = vec![
            ("a".to_string(), CaptureReader::new(&a[..]).unwrap()),
            ("b".to_string(), CaptureReader::new(&b[..]).unwrap()),
            ("c".to_string(), CaptureReader::new(&cut[..]).unwrap()),
        ];
        let mut m = Merge::new(readers).unwrap();
        let mut got = Vec::new();
        let err = loop {
            match m.next_packet() {
                Ok(Some(p)) => got.push((
                    String::from_utf8(p.data.to_vec()).unwrap(),
                    split_frame(p.frame),
                )),
                Ok(None) => break None,
                Err(e) => break Some(e.to_string()),
            }
        };
        let order: Vec<&str> = got.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(order, ["b1", "a1", "c1", "a2", "a3", "b2", "b3", "a4"]);
        assert_eq!(got[0].1, (Some(1), 1));
        assert_eq!(got[4].1, (Some(0), 3));
        assert_eq!(got[2].1, (Some(2), 1));
        let err = err.expect("the cut file is reported at the end");
        assert!(err.starts_with("capture is truncated"), "{err}");
        assert!(err.ends_with("(in c)"), "{err}");
        assert!(m.next_packet().unwrap().is_none());
    }

    #[test]
    fn frame_numbers_round_trip_and_read_as_names() {
        assert_eq!(split_frame(12), (None, 12));
        assert_eq!(split_frame(frame_id(0, 12)), (Some(0), 12));
        assert_eq!(split_frame(frame_id(7, 1 << 39)), (Some(7), 1 << 39));
        assert_eq!(FrameLabel(12).to_string(), "12");
        // Names are process-wide: this test only reads a position no other test sets.
        assert_eq!(
            FrameLabel(frame_id(MAX_FILES - 1, 3)).to_string(),
            format!("#{MAX_FILES}:3")
        );
    }
}
