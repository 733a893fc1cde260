//! `CaptureReader` over any bytes: never panics, never returns a record larger than
//! `MAX_RECORD`, numbers frames 1, 2, 3..., stops for good after an error, and
//! reads the same packets whether the input arrives whole or in small pieces.
#![no_main]

use std::io::Read;

use ftpscope::capture::reader::{CaptureReader, MAX_RECORD};
use ftpscope::time::Ts;
use libfuzzer_sys::fuzz_target;

/// A reader that hands out at most `step` bytes per call (and sometimes fewer).
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        let n = (self.step - self.calls % self.step)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

type Seen = (Vec<(u64, Ts, u32, u32, Vec<u8>)>, Option<String>);

fn read_all<R: Read>(input: R) -> Seen {
    let mut out = Vec::new();
    let mut r = match CaptureReader::new(input) {
        Ok(r) => r,
        Err(e) => return (out, Some(e.to_string())),
    };
    let _ = r.format();
    let mut err = None;
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert!(p.data.len() <= MAX_RECORD);
                assert_eq!(p.frame, out.len() as u64 + 1);
                assert!(p.orig_len as usize >= p.data.len());
                out.push((p.frame, p.ts, p.linktype, p.orig_len, p.data.to_vec()));
            }
            Ok(None) => break,
            Err(e) => {
                err = Some(e.to_string());
                // After an error the reader is done.
                assert!(matches!(r.next_packet(), Ok(None)));
                break;
            }
        }
    }
    (out, err)
}

fuzz_target!(|data: &[u8]| {
    let whole = read_all(data);
    let step = data.first().map_or(1, |b| *b as usize % 13 + 1);
    let pieces = read_all(Trickle {
        data,
        step,
        calls: 0,
    });
    assert_eq!(whole, pieces);
    // Through the input layer too: bytes that start with the gzip magic are
    // inflated as they stream (truncated, corrupt or bomb-like members end in an
    // error, never a panic), the others read as above.
    if let Ok(input) = ftpscope::capture::input::wrap(Box::new(std::io::Cursor::new(data.to_vec())), None) {
        let via_input = read_all(input.reader);
        if data.get(..2) != Some(&[0x1f, 0x8b][..]) {
            assert_eq!(via_input, whole);
        }
    }
});
