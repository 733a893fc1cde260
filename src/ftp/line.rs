//! Control-channel line splitting with Telnet handling.
//!
//! FTP's control channel is a Telnet NVT stream (RFC 959 §4.1). We remove IAC
//! command sequences, keep note of Interrupt Process (IAC IP) and the Synch's
//! Data Mark (IAC DM) that clients send before ABOR, undouble IAC IAC, and split
//! on LF (a CR before it is dropped; a bare LF is accepted and noted).
//!
//! Bounds: a line longer than [`MAX_LINE`] bytes is cut; its remaining bytes are
//! counted, not stored, and the line is flagged. So memory per direction is at
//! most `MAX_LINE` whatever the peer sends.

/// Longest line kept, in bytes.
pub const MAX_LINE: usize = 8 * 1024;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const DM: u8 = 242;
const IP: u8 = 244;
const SE: u8 = 240;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineFlags {
    /// IAC IP (Telnet Interrupt Process) came before or inside this line.
    pub telnet_ip: bool,
    /// IAC DM (the Synch's Data Mark) came before or inside this line.
    pub telnet_synch: bool,
    /// Other Telnet commands or option negotiation were removed.
    pub telnet_other: bool,
    /// Ended by LF without CR.
    pub bare_lf: bool,
    /// Bytes dropped because the line was longer than [`MAX_LINE`].
    pub overflow: usize,
    /// The stream ended (or broke) before the line's end.
    pub unterminated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tn {
    Data,
    Iac,
    Opt,
    Sub,
    SubIac,
}

#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    flags: LineFlags,
    tn: Tn,
    /// Bytes seen so far, for positions.
    pub consumed: u64,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl LineSplitter {
    pub fn new() -> Self {
        LineSplitter {
            buf: Vec::new(),
            flags: LineFlags::default(),
            tn: Tn::Data,
            consumed: 0,
        }
    }

    /// True when part of a line is waiting for its end.
    pub fn pending(&self) -> bool {
        !self.buf.is_empty() || self.flags.overflow > 0
    }

    /// The line read so far (Telnet removed, at most [`MAX_LINE`] bytes).
    pub fn partial_line(&self) -> &[u8] {
        &self.buf
    }

    /// Feed bytes; `on_line` gets every complete line (without CR LF).
    pub fn feed(&mut self, bytes: &[u8], mut on_line: impl FnMut(&[u8], LineFlags)) {
        self.feed_until(bytes, |l, f| {
            on_line(l, f);
            true
        });
    }

    /// Like [`feed`](Self::feed), but `on_line` may return false to stop right after
    /// that line (for example when the line switches the channel to TLS). Returns the
    /// number of bytes consumed.
    pub fn feed_until(
        &mut self,
        bytes: &[u8],
        mut on_line: impl FnMut(&[u8], LineFlags) -> bool,
    ) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match self.tn {
                Tn::Data => {
                    if b == IAC {
                        self.tn = Tn::Iac;
                    } else if b == b'\n' {
                        let mut f = self.flags;
                        if self.buf.last() == Some(&b'\r') {
                            self.buf.pop();
                        } else if f.overflow == 0 {
                            f.bare_lf = true;
                        }
                        let go_on = on_line(&self.buf, f);
                        self.buf.clear();
                        self.flags = LineFlags::default();
                        if !go_on {
                            self.consumed += i as u64 + 1;
                            return i + 1;
                        }
                    } else {
                        // The run of plain bytes up to the next LF or IAC, at once.
                        let run =
                            memchr::memchr2(b'\n', IAC, &bytes[i..]).unwrap_or(bytes.len() - i);
                        self.push_run(&bytes[i..i + run]);
                        i += run;
                        continue;
                    }
                }
                Tn::Iac => {
                    self.tn = Tn::Data;
                    match b {
                        IAC => self.push(IAC),
                        IP => self.flags.telnet_ip = true,
                        DM => self.flags.telnet_synch = true,
                        WILL | WONT | DO | DONT => {
                            self.flags.telnet_other = true;
                            self.tn = Tn::Opt;
                        }
                        SB => {
                            self.flags.telnet_other = true;
                            self.tn = Tn::Sub;
                        }
                        _ => self.flags.telnet_other = true,
                    }
                }
                Tn::Opt => self.tn = Tn::Data,
                Tn::Sub => {
                    if b == IAC {
                        self.tn = Tn::SubIac;
                    }
                }
                Tn::SubIac => self.tn = if b == SE { Tn::Data } else { Tn::Sub },
            }
            i += 1;
        }
        self.consumed += bytes.len() as u64;
        bytes.len()
    }

    /// [`push`](Self::push) each byte of `run`.
    fn push_run(&mut self, run: &[u8]) {
        let keep = run.len().min(MAX_LINE.saturating_sub(self.buf.len()));
        self.buf.extend_from_slice(&run[..keep]);
        self.flags.overflow += run.len() - keep;
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < MAX_LINE {
            self.buf.push(b);
        } else {
            self.flags.overflow += 1;
        }
    }

    /// The stream ended: hand over the partial line, if any.
    pub fn finish(&mut self) -> Option<(Vec<u8>, LineFlags)> {
        if !self.pending() {
            return None;
        }
        let mut f = self.flags;
        f.unterminated = true;
        self.flags = LineFlags::default();
        self.tn = Tn::Data;
        Some((std::mem::take(&mut self.buf), f))
    }

    /// Bytes were lost: drop the partial line (returned, flagged unterminated).
    pub fn break_line(&mut self) -> Option<(Vec<u8>, LineFlags)> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<(Vec<u8>, LineFlags)> {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l, f| out.push((l.to_vec(), f)));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn split_across_chunks_and_bare_lf() {
        let out = lines(&[b"US", b"ER an", b"on\r", b"\nPWD\nNO"]);
        assert_eq!(out[0].0, b"USER anon");
        assert!(!out[0].1.bare_lf);
        assert_eq!(out[1].0, b"PWD");
        assert!(out[1].1.bare_lf);
        assert_eq!(out[2].0, b"NO");
        assert!(out[2].1.unterminated);
    }

    #[test]
    fn telnet_ip_synch_before_abor() {
        let out = lines(&[
            &[IAC, IP, IAC],
            &[DM],
            b"ABOR\r\n",
            &[IAC, IAC, b'x', b'\n', IAC, WILL, 1, b'y', b'\n'],
        ]);
        assert_eq!(out[0].0, b"ABOR");
        assert!(out[0].1.telnet_ip && out[0].1.telnet_synch);
        assert_eq!(out[1].0, vec![IAC, b'x']);
        assert_eq!(out[2].0, b"y");
        assert!(out[2].1.telnet_other);
    }

    proptest::proptest! {
        /// Bytes fed in any pieces give the lines that feeding them one by one gives
        /// (runs of plain bytes are copied at once, one byte at a time is the
        /// state machine alone), overflow counts included.
        #[test]
        fn pieces_split_as_single_bytes(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![b'a', b' ', b'\r', b'\n', IAC, IP, DM, WILL, SB, SE]),
                    proptest::strategy::Just(b'x'),
                ],
                0..400,
            ),
            long in 0usize..(MAX_LINE + 20),
            cuts in proptest::collection::vec(0usize..500, 0..8),
        ) {
            let mut bytes = vec![b'y'; long];
            bytes.extend_from_slice(&input);
            let mut one = LineSplitter::new();
            let mut want = Vec::new();
            for b in &bytes {
                one.feed(std::slice::from_ref(b), |l, f| want.push((l.to_vec(), f)));
            }
            want.extend(one.finish());
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut s = LineSplitter::new();
            let mut got = Vec::new();
            let mut at = 0;
            for c in cuts {
                s.feed(&bytes[at..c], |l, f| got.push((l.to_vec(), f)));
                at = c;
            }
            got.extend(s.finish());
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn long_line_is_bounded() {
        let big = vec![b'a'; MAX_LINE * 3];
        let mut s = LineSplitter::new();
        let mut got = Vec::new();
        s.feed(&big, |l, f| got.push((l.len(), f.overflow)));
        s.feed(b"\r\n", |l, f| got.push((l.len(), f.overflow)));
        assert_eq!(got, vec![(MAX_LINE, MAX_LINE * 2 + 1)]);
    }
}
