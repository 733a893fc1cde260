//! Streaming pcap / pcapng reader.
//!
//! Contract: [`CaptureReader::next_packet`] never panics on any input. Every block
//! and record length is checked against the format's rules and against
//! [`MAX_RECORD`] before a buffer is sized from it; a file that ends inside a
//! record is reported as [`CaptureError::Truncated`] with the offset, after all
//! complete packets before it were returned.

use std::io::{self, Read};

use crate::time::Ts;

/// Largest record (pcap caplen or pcapng block) we accept: 16 MiB.
pub const MAX_RECORD: usize = 16 << 20;

/// Link-layer header types we know (values from the tcpdump LINKTYPE registry).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW_OLD: u32 = 12;
    pub const RAW_OLD2: u32 = 14;
    pub const LOOP: u32 = 108;
    pub const RAW: u32 = 101;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("the file is empty")]
    Empty,
    #[error("not a pcap or pcapng file{hint} (first bytes {magic:02x?})", hint = looks_like(.magic))]
    NotACapture { magic: Vec<u8> },
    #[error("capture is truncated at byte {offset}: {what}")]
    Truncated { offset: u64, what: &'static str },
    #[error("corrupt capture at byte {offset}: {what}")]
    Corrupt { offset: u64, what: String },
    #[error("read error at byte {offset}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// An error in one of several files read together (the message keeps the
    /// inner error first: views tell truncation from damage by how it starts).
    // Not a `source`: the message already holds the inner one, and a chain
    // printer would say it twice.
    #[error("{error} (in {file})")]
    InFile {
        file: String,
        error: Box<CaptureError>,
    },
}

/// What a file that is not a capture we read seems to be, from its first bytes,
/// and what to do about it; empty when nothing is recognised.
pub fn looks_like(magic: &[u8]) -> &'static str {
    let starts = |p: &[u8]| magic.starts_with(p);
    if starts(b"GMBU") || starts(b"RTSS") {
        ": it is a Microsoft Network Monitor capture; convert it with `editcap -F pcapng FILE OUT.pcapng`"
    } else if starts(b"TRSNIFF") || starts(b"XCP\0") {
        ": it is a Sniffer/NetXRay capture; convert it with `editcap -F pcapng FILE OUT.pcapng`"
    } else if starts(b"btsnoop\0") {
        ": it is a Bluetooth HCI log (btsnoop), which holds no IP traffic"
    } else if starts(b"PK\x03\x04") {
        ": it is a zip archive; unzip it and give the capture inside"
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        ": it is zstd-compressed; decompress it first (`zstd -d FILE`)"
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        ": it is xz-compressed; decompress it first (`xz -dk FILE`)"
    } else if starts(b"BZh") {
        ": it is bzip2-compressed; decompress it first (`bzip2 -dk FILE`)"
    } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
        ": it is lz4-compressed; decompress it first (`lz4 -d FILE`)"
    } else if starts(b"7z\xbc\xaf") {
        ": it is a 7-Zip archive; extract the capture inside first"
    } else if magic.len() >= 4
        && magic
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        ": it is text (a tcpdump or tshark printout, a hex dump?), not a capture; write captures with `tcpdump -w` or `tshark -w`"
    } else {
        ""
    }
}

/// Anything that hands out packets one after the other: one capture
/// ([`CaptureReader`]) or several merged ([`super::merge::Merge`]).
pub trait PacketSource {
    /// Next packet, `Ok(None)` at the clean end.
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError>;
    /// Bytes read so far (for progress).
    fn offset(&self) -> u64;
    /// TLS key log text from pcapng Decryption Secrets Blocks read since the last
    /// call (`editcap --inject-secrets`).
    fn take_secrets(&mut self) -> Option<String> {
        None
    }
}

impl<R: Read> PacketSource for CaptureReader<R> {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        CaptureReader::next_packet(self)
    }
    fn offset(&self) -> u64 {
        CaptureReader::offset(self)
    }
    fn take_secrets(&mut self) -> Option<String> {
        self.secrets.take()
    }
}

/// One captured packet. `data` borrows the reader's buffer until the next call.
#[derive(Debug)]
pub struct Packet<'a> {
    /// 1-based frame number, as Wireshark counts.
    pub frame: u64,
    pub ts: Ts,
    pub linktype: u32,
    /// Length of the packet on the wire (may exceed `data.len()` when the snaplen cut it).
    pub orig_len: u32,
    pub data: &'a [u8],
    /// TLS key log text of Decryption Secrets Blocks read just before this
    /// packet (pcapng): for the connections of this packet and those after it,
    /// so it must reach them before the packet does.
    pub secrets: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
    /// Solaris `snoop` (RFC 1761): big-endian, one data link for the file.
    Snoop,
}

/// Layout of pcap packet records. Besides the standard 16-byte record header,
/// libpcap and Wireshark read files from patched tcpdumps of the late 1990s whose
/// record headers carry extra fields (interface index, protocol, packet type, ...)
/// after the standard four; we skip those fields. Which one a file is cannot be
/// told from its header alone (RedHat 6.1's tcpdump kept the standard magic), so
/// the first records decide ([`detect_pcap_variant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcapVariant {
    /// 16-byte record headers.
    Standard,
    /// Standard magic, 24-byte record headers ("RedHat 6.1 tcpdump", Wireshark's
    /// SS990417).
    RedHat61,
    /// Standard magic, 20-byte record headers (Nokia IPSO tcpdump).
    Nokia,
    /// Magic `a1b2cd34`, 24-byte record headers (Alexey Kuznetsov's patched
    /// libpcap, "modified tcpdump", Wireshark's SS991029).
    Modified,
    /// Magic `a1b2cd34`, 28-byte record headers ("SuSE 6.3 tcpdump", SS990915).
    Suse63,
}

impl PcapVariant {
    /// Bytes of each packet record header.
    pub fn record_header_len(self) -> usize {
        match self {
            PcapVariant::Standard => 16,
            PcapVariant::Nokia => 20,
            PcapVariant::RedHat61 | PcapVariant::Modified => 24,
            PcapVariant::Suse63 => 28,
        }
    }

    /// The name Wireshark's tools give it (`editcap -F`).
    pub fn name(self) -> &'static str {
        match self {
            PcapVariant::Standard => "pcap",
            PcapVariant::RedHat61 => "RedHat 6.1 tcpdump pcap",
            PcapVariant::Nokia => "Nokia tcpdump pcap",
            PcapVariant::Modified => "modified (Kuznetzov) tcpdump pcap",
            PcapVariant::Suse63 => "SuSE 6.3 tcpdump pcap",
        }
    }
}

/// Bytes of a pcap file looked at, after the file header, to tell its variant.
pub const PROBE: usize = 64 << 10;

/// Records checked at most when telling the variant.
const PROBE_RECORDS: usize = 16;

/// Of the layouts possible for this magic, the one under which the record headers
/// in `probe` (the bytes after the file header) are plausible: fractional seconds
/// below one second, captured length within [`MAX_RECORD`] and at most the wire
/// length. Records are walked by their captured length, so a wrong header size
/// lands the next header inside packet data, where these checks almost never all
/// pass. When the probe is the whole file (`whole`), the records must also end
/// exactly where the file ends. Preference: the first layout that fits, in the
/// order Wireshark tries them; a layout other than the first needs at least one
/// whole record header to judge by. When none fits, the first is returned and
/// reading reports the bad record as it does for any corrupt file.
pub fn detect_pcap_variant(
    modified: bool,
    probe: &[u8],
    whole: bool,
    big: bool,
    nanos: bool,
) -> PcapVariant {
    let candidates: &[PcapVariant] = if modified {
        &[PcapVariant::Modified, PcapVariant::Suse63]
    } else {
        &[
            PcapVariant::Standard,
            PcapVariant::RedHat61,
            PcapVariant::Nokia,
        ]
    };
    let walks: Vec<_> = candidates
        .iter()
        .map(|v| walk(probe, v.record_header_len(), big, nanos))
        .collect();
    let fits = |i: usize, w: &Option<Walk>| match w {
        Some(w) => i == 0 || w.headers > 0,
        None => false,
    };
    if whole {
        if let Some(i) = (0..candidates.len())
            .find(|&i| fits(i, &walks[i]) && walks[i].is_some_and(|w| w.exact_end))
        {
            return candidates[i];
        }
    }
    (0..candidates.len())
        .find(|&i| fits(i, &walks[i]))
        .map_or(candidates[0], |i| candidates[i])
}

/// How a walk of the probe under one layout went (`None` from [`walk`]: a record
/// header was implausible).
#[derive(Clone, Copy, Debug)]
struct Walk {
    /// Record headers checked.
    headers: usize,
    /// The last record ended exactly at the end of the probe.
    exact_end: bool,
}

fn walk(probe: &[u8], hdr_len: usize, big: bool, nanos: bool) -> Option<Walk> {
    let frac_limit = if nanos { 1_000_000_000 } else { 1_000_000 };
    let mut p = 0usize;
    let mut headers = 0;
    while headers < PROBE_RECORDS {
        let Some(h) = probe.get(p..p + hdr_len) else {
            // The probe ends inside this header, or exactly before it.
            break;
        };
        let frac = u32_at(&h[4..], big);
        let caplen = u32_at(&h[8..], big) as usize;
        let orig = u32_at(&h[12..], big) as usize;
        if frac >= frac_limit || caplen > MAX_RECORD || caplen > orig {
            return None;
        }
        headers += 1;
        p = p + hdr_len + caplen;
    }
    Some(Walk {
        headers,
        exact_end: p == probe.len(),
    })
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Units per second of the timestamps (10^6 by default).
    units_per_sec: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    offset_secs: i64,
}

/// A streaming reader over any `Read`.
pub struct CaptureReader<R: Read> {
    /// The stream, read in large chunks; pcap packets are handed out from its
    /// buffer without a copy.
    input: Src<R>,
    format: Format,
    pcap_variant: PcapVariant,
    big_endian: bool,
    /// pcap: nanosecond timestamps.
    nanos: bool,
    pcap_linktype: u32,
    interfaces: Vec<Interface>,
    /// The current pcapng block when it was copied (a section header).
    buf: Vec<u8>,
    /// The current pcapng block when it lies in the input's buffer: (start, length).
    block_at: Option<(usize, usize)>,
    offset: u64,
    frame: u64,
    done: bool,
    /// A read error met while probing, returned when the packets before it are out.
    deferred: Option<CaptureError>,
    /// Blocks skipped because we do not use them (statistics, name resolution, ...).
    pub skipped_blocks: u64,
    /// TLS key log text of Decryption Secrets Blocks not yet taken.
    secrets: Option<String>,
    /// Secrets bytes read in all (bounded by [`MAX_SECRETS`]).
    secrets_read: usize,
}

/// Decryption secrets kept from a capture at most (beyond: skipped, counted).
pub const MAX_SECRETS: usize = 64 << 20;
/// pcapng Decryption Secrets Block, and its TLS key log secrets type ("TLSK").
pub(crate) const DSB_TYPE: u32 = 10;
pub(crate) const SECRETS_TLS_KEYLOG: u32 = 0x544c_534b;

/// Where a packet is: (start, length, time, link type, wire length), in the
/// input's buffer for pcap, in `buf` (the pcapng block) for pcapng.
type Located = (usize, usize, Ts, u32, u32);

/// Bytes asked of the underlying stream at a time.
const SRC_CHUNK: usize = 256 << 10;

/// A buffered stream that can hand out the next `n` bytes in place ([`Src::consume`])
/// as well as copy them out (`Read`): a pcap record is parsed where it was read,
/// with no copy into a packet buffer and no layer of virtual reads per packet.
struct Src<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[pos..end]` is read and not yet consumed.
    pos: usize,
    end: usize,
}

impl<R: Read> Src<R> {
    fn new(inner: R) -> Self {
        Src {
            inner,
            buf: vec![0; SRC_CHUNK],
            pos: 0,
            end: 0,
        }
    }

    /// Put `prefix` back in front of what is left (the bytes looked at to tell
    /// the pcap variant).
    fn unread(&mut self, prefix: Vec<u8>) {
        let mut buf = prefix;
        buf.extend_from_slice(&self.buf[self.pos..self.end]);
        self.end = buf.len();
        self.pos = 0;
        if buf.len() < SRC_CHUNK {
            buf.resize(SRC_CHUNK, 0);
        }
        self.buf = buf;
    }

    /// Consume the next `n` bytes (fewer at the end of the stream): where they
    /// are in `self.buf`, and how many there were.
    fn consume(&mut self, n: usize) -> io::Result<(usize, usize)> {
        if self.end - self.pos < n {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            if self.buf.len() < n {
                self.buf.resize(n, 0);
            }
            while self.end < n {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => break,
                    Ok(k) => self.end += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let start = self.pos;
        let got = n.min(self.end - self.pos);
        self.pos += got;
        Ok((start, got))
    }
}

impl<R: Read> Src<R> {
    /// [`Src::consume`] without consuming.
    fn peek(&mut self, n: usize) -> io::Result<(usize, usize)> {
        let (at, got) = self.consume(n)?;
        self.pos -= got;
        Ok((at, got))
    }
}

impl<R: Read> Read for Src<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end {
            if out.len() >= self.buf.len() {
                return self.inner.read(out);
            }
            self.pos = 0;
            self.end = 0;
            let n = self.inner.read(&mut self.buf)?;
            self.end = n;
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// pcapng section header block type (a palindrome: the same in both byte orders).
const SHB_TYPE: u32 = 0x0a0d_0d0a;

/// The two pcapng packet blocks with a timestamp and an interface id.
#[derive(Clone, Copy)]
enum PacketBlock {
    /// Type 6.
    Enhanced,
    /// Type 2, obsolete: a 16-bit interface id and a drop count.
    Obsolete,
}

fn u16_at(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn u32_at(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Read exactly `n` bytes, or report how far we got.
fn fill<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl<R: Read> CaptureReader<R> {
    /// Read the file header and get ready to return packets.
    pub fn new(mut input: R) -> Result<Self, CaptureError> {
        let mut head = [0u8; 24];
        let got = fill(&mut input, &mut head).map_err(|source| io_error(0, source))?;
        if got == 0 {
            return Err(CaptureError::Empty);
        }
        if got < 4 {
            return Err(CaptureError::NotACapture {
                magic: head[..got].to_vec(),
            });
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let mut r = CaptureReader {
            input: Src::new(input),
            format: Format::Pcap,
            pcap_variant: PcapVariant::Standard,
            big_endian: false,
            nanos: false,
            pcap_linktype: 0,
            interfaces: Vec::new(),
            buf: Vec::with_capacity(1 << 16),
            block_at: None,
            offset: 0,
            frame: 0,
            done: false,
            deferred: None,
            skipped_blocks: 0,
            secrets: None,
            secrets_read: 0,
        };
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xcd, 0x34] => {
                if got < 24 {
                    return Err(CaptureError::Truncated {
                        offset: got as u64,
                        what: "inside the pcap file header",
                    });
                }
                r.big_endian = magic[0] == 0xa1;
                r.nanos = matches!(magic, [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d]);
                let major = u16_at(&head[4..], r.big_endian);
                if major != 2 {
                    return Err(CaptureError::Corrupt {
                        offset: 4,
                        what: format!("unsupported pcap version {major}"),
                    });
                }
                // The link type is the low 16 bits; the upper ones may say how long
                // the frames' FCS is (libpcap's LT_FCS_DATALINK_EXT: bit 26 set,
                // the length in bits 28-31), which readers ignore.
                r.pcap_linktype = u32_at(&head[20..], r.big_endian) & 0xffff;
                r.offset = 24;
                // Look at the first records to tell the record layout, then read
                // them again from the probe: nothing seeks, so pipes work too.
                // A read error inside the probe is reported after the packets before it.
                let mut probe = vec![0u8; PROBE];
                let (n, err) = fill_keep(&mut r.input, &mut probe);
                probe.truncate(n);
                r.deferred = err.map(|e| io_error(24 + n as u64, e));
                let modified = matches!(magic, [0x34, 0xcd, 0xb2, 0xa1] | [0xa1, 0xb2, 0xcd, 0x34]);
                let whole = n < PROBE && r.deferred.is_none();
                r.pcap_variant =
                    detect_pcap_variant(modified, &probe, whole, r.big_endian, r.nanos);
                r.input.unread(probe);
                Ok(r)
            }
            [b's', b'n', b'o', b'o'] if got >= 8 && head[4..8] == *b"p\0\0\0" => {
                if got < 16 {
                    return Err(CaptureError::Truncated {
                        offset: got as u64,
                        what: "inside the snoop file header",
                    });
                }
                let version = u32_at(&head[8..], true);
                let datalink = u32_at(&head[12..], true);
                if !(2..=5).contains(&version) {
                    return Err(CaptureError::Corrupt {
                        offset: 8,
                        what: format!("unsupported snoop version {version}"),
                    });
                }
                // 802.3 (0) and Ethernet (4); snoop's other data links (token
                // ring, FDDI, ATM...) carry no FTP anyone captures today.
                r.pcap_linktype = match datalink {
                    0 | 4 => linktype::ETHERNET,
                    other => {
                        return Err(CaptureError::Corrupt {
                            offset: 12,
                            what: format!(
                                "snoop data link {other} is not read (only Ethernet); convert it with `editcap -F pcapng FILE OUT.pcapng`"
                            ),
                        });
                    }
                };
                r.format = Format::Snoop;
                r.big_endian = true;
                r.offset = 16;
                // The first record's first bytes were read with the header.
                r.input.unread(head[16..got].to_vec());
                Ok(r)
            }
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                r.format = Format::PcapNg;
                // Put the bytes we read back in front: the SHB is parsed by the block loop.
                r.buf.extend_from_slice(&head[..got]);
                r.read_shb_from_prefix()?;
                Ok(r)
            }
            _ => Err(CaptureError::NotACapture {
                magic: head[..got.min(8)].to_vec(),
            }),
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The pcap record layout (always [`PcapVariant::Standard`] for pcapng).
    pub fn pcap_variant(&self) -> PcapVariant {
        self.pcap_variant
    }

    /// Bytes consumed so far (for progress reporting).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn io_err(&self, source: io::Error) -> CaptureError {
        io_error(self.offset, source)
    }

    /// The section header block, whose first 24 bytes (or fewer) are in `self.buf`.
    fn read_shb_from_prefix(&mut self) -> Result<(), CaptureError> {
        let have = self.buf.len();
        if have < 12 {
            return Err(CaptureError::Truncated {
                offset: have as u64,
                what: "inside the pcapng section header",
            });
        }
        let bom = [self.buf[8], self.buf[9], self.buf[10], self.buf[11]];
        let big = match bom {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            _ => {
                return Err(CaptureError::Corrupt {
                    offset: 8,
                    what: "bad pcapng byte-order magic".into(),
                });
            }
        };
        let len = u32_at(&self.buf[4..], big) as usize;
        self.check_block_len(len, 28)?;
        self.big_endian = big;
        self.interfaces.clear();
        let start = self.buf.len();
        self.buf.resize(len, 0);
        let got = fill(&mut self.input, &mut self.buf[start..]).map_err(|e| self.io_err(e))?;
        if start + got < len {
            return Err(CaptureError::Truncated {
                offset: (start + got) as u64,
                what: "inside the pcapng section header",
            });
        }
        self.check_trailer(len)?;
        self.offset += len as u64;
        Ok(())
    }

    /// The current pcapng block, whole (header, body, trailer).
    fn block(&self) -> &[u8] {
        match self.block_at {
            Some((at, len)) => &self.input.buf[at..at + len],
            None => &self.buf,
        }
    }

    fn check_block_len(&self, len: usize, min: usize) -> Result<(), CaptureError> {
        if len < min || !len.is_multiple_of(4) || len > MAX_RECORD {
            return Err(CaptureError::Corrupt {
                offset: self.offset + 4,
                what: format!(
                    "pcapng block length {len} is invalid (minimum {min}, multiple of 4, at most {MAX_RECORD})"
                ),
            });
        }
        Ok(())
    }

    fn check_trailer(&self, len: usize) -> Result<(), CaptureError> {
        let trailer = u32_at(&self.block()[len - 4..], self.big_endian) as usize;
        if trailer != len {
            return Err(CaptureError::Corrupt {
                offset: self.offset + len as u64 - 4,
                what: format!(
                    "pcapng block length mismatch: header says {len}, trailer says {trailer}"
                ),
            });
        }
        Ok(())
    }

    /// Next packet, `Ok(None)` at the clean end of the file.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let res = match self.format {
            Format::Pcap => self.next_pcap(),
            Format::PcapNg => self.next_pcapng(),
            Format::Snoop => self.next_snoop(),
        };
        match res {
            Ok(Some(meta)) => {
                self.frame += 1;
                let (start, len, ts, linktype, orig_len) = meta;
                let secrets = self.secrets.take();
                let held = match self.format {
                    Format::Pcap | Format::Snoop => &self.input.buf[..],
                    Format::PcapNg => self.block(),
                };
                Ok(Some(Packet {
                    frame: self.frame,
                    ts,
                    linktype,
                    orig_len,
                    secrets,
                    data: &held[start..start + len],
                }))
            }
            Ok(None) => {
                self.done = true;
                match self.deferred.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                }
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Returns (start, len, ts, linktype, orig_len) of the packet inside `self.buf`.
    fn next_pcap(&mut self) -> Result<Option<Located>, CaptureError> {
        let hlen = self.pcap_variant.record_header_len();
        let (at, got) = self.input.consume(hlen).map_err(|e| self.io_err(e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < hlen {
            return Err(CaptureError::Truncated {
                offset: self.offset + got as u64,
                what: "inside a packet record header",
            });
        }
        let big = self.big_endian;
        let hdr = &self.input.buf[at..at + hlen];
        let secs = u32_at(&hdr[0..], big) as i64;
        let frac = u32_at(&hdr[4..], big) as i64;
        let caplen = u32_at(&hdr[8..], big) as usize;
        let orig_len = u32_at(&hdr[12..], big);
        if caplen > MAX_RECORD {
            let layout = match self.pcap_variant {
                PcapVariant::Standard => String::new(),
                v => format!(" (read as {})", v.name()),
            };
            return Err(CaptureError::Corrupt {
                offset: self.offset + 8,
                what: format!(
                    "packet record claims {caplen} captured bytes (limit {MAX_RECORD}){layout}"
                ),
            });
        }
        let (start, got) = self.input.consume(caplen).map_err(|e| self.io_err(e))?;
        if got < caplen {
            return Err(CaptureError::Truncated {
                offset: self.offset + hlen as u64 + got as u64,
                what: "inside a packet (the file ends before the captured length)",
            });
        }
        self.offset += (hlen + caplen) as u64;
        let nanos = if self.nanos { frac } else { frac * 1000 };
        let ts = Ts::from_secs_nanos(secs, nanos);
        Ok(Some((
            start,
            caplen,
            ts,
            self.pcap_linktype,
            orig_len.max(caplen as u32),
        )))
    }

    /// A snoop record: original length, included length, record length (with
    /// this 24-byte header and the padding after the data), cumulative drops,
    /// seconds, microseconds; all big-endian.
    fn next_snoop(&mut self) -> Result<Option<Located>, CaptureError> {
        let (at, got) = self.input.consume(24).map_err(|e| self.io_err(e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < 24 {
            return Err(CaptureError::Truncated {
                offset: self.offset + got as u64,
                what: "inside a snoop record header",
            });
        }
        let hdr = &self.input.buf[at..at + 24];
        let orig_len = u32_at(&hdr[0..], true);
        let caplen = u32_at(&hdr[4..], true) as usize;
        let reclen = u32_at(&hdr[8..], true) as usize;
        let secs = u32_at(&hdr[16..], true) as i64;
        let micros = u32_at(&hdr[20..], true) as i64;
        if caplen > MAX_RECORD || reclen < 24 + caplen || reclen > MAX_RECORD + 64 {
            return Err(CaptureError::Corrupt {
                offset: self.offset,
                what: format!(
                    "snoop record of {reclen} bytes claims {caplen} captured bytes (limit {MAX_RECORD})"
                ),
            });
        }
        // Data and padding in one piece: the data's place stays valid.
        let body = reclen - 24;
        let (start, got) = self.input.consume(body).map_err(|e| self.io_err(e))?;
        if got < caplen {
            return Err(CaptureError::Truncated {
                offset: self.offset + 24 + got as u64,
                what: "inside a packet (the file ends before the captured length)",
            });
        }
        self.offset += (24 + got) as u64;
        let ts = Ts::from_secs_nanos(secs, micros * 1000);
        Ok(Some((
            start,
            caplen,
            ts,
            self.pcap_linktype,
            orig_len.max(caplen as u32),
        )))
    }

    fn next_pcapng(&mut self) -> Result<Option<Located>, CaptureError> {
        loop {
            let Some((btype, block_off, body_end)) = self.read_pcapng_block()? else {
                return Ok(None);
            };
            match btype {
                // A section header, read by read_pcapng_block.
                SHB_TYPE => {}
                1 => self.parse_idb(block_off, body_end)?,
                6 => {
                    return self
                        .packet_block(PacketBlock::Enhanced, block_off, body_end)
                        .map(Some);
                }
                3 => return self.simple_packet_block(block_off, body_end).map(Some),
                2 => {
                    return self
                        .packet_block(PacketBlock::Obsolete, block_off, body_end)
                        .map(Some);
                }
                DSB_TYPE => self.secrets_block(body_end),
                _ => self.skipped_blocks += 1,
            }
        }
    }

    /// A Decryption Secrets Block: secrets type, length, then the secrets. TLS key
    /// log text is kept for [`PacketSource::take_secrets`]; other kinds (WireGuard,
    /// SSH ...) are skipped.
    fn secrets_block(&mut self, body_end: usize) {
        let block = self.block();
        let b = &block[8..body_end.min(block.len())];
        if b.len() < 8 {
            self.skipped_blocks += 1;
            return;
        }
        let kind = u32_at(b, self.big_endian);
        let len = u32_at(&b[4..], self.big_endian) as usize;
        let Some(data) = b.get(8..8 + len) else {
            self.skipped_blocks += 1;
            return;
        };
        if kind != SECRETS_TLS_KEYLOG || self.secrets_read + len > MAX_SECRETS {
            self.skipped_blocks += 1;
            return;
        }
        let text = String::from_utf8_lossy(data).into_owned();
        self.secrets_read += len;
        let s = self.secrets.get_or_insert_with(String::new);
        s.push_str(&text);
        s.push('\n');
    }

    /// The next pcapng block into `buf`, whole and with its trailer checked:
    /// (type, offset, end of its body in `buf`); None at the end of the input. A
    /// section header block is read here (the byte order may change) and given
    /// as [`SHB_TYPE`].
    fn read_pcapng_block(&mut self) -> Result<Option<(u32, u64, usize)>, CaptureError> {
        self.block_at = None;
        let (at, got) = self.input.peek(8).map_err(|e| self.io_err(e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < 8 {
            return Err(CaptureError::Truncated {
                offset: self.offset + got as u64,
                what: "inside a pcapng block header",
            });
        }
        let mut hdr = [0u8; 8];
        hdr.copy_from_slice(&self.input.buf[at..at + 8]);
        if hdr[..4] == SHB_TYPE.to_le_bytes() {
            // A new section: byte order may change. Copied (it is rare).
            self.input.consume(8).map_err(|e| self.io_err(e))?;
            self.buf.clear();
            self.buf.extend_from_slice(&hdr);
            let mut more = [0u8; 4];
            let g = fill(&mut self.input, &mut more).map_err(|e| self.io_err(e))?;
            self.buf.extend_from_slice(&more[..g]);
            let base = self.offset;
            self.offset = 0;
            let r = self.read_shb_from_prefix();
            self.offset += base;
            r?;
            return Ok(Some((SHB_TYPE, base, 0)));
        }
        let big = self.big_endian;
        let btype = u32_at(&hdr[0..], big);
        let len = u32_at(&hdr[4..], big) as usize;
        self.check_block_len(len, 12)?;
        // The whole block, where it lies in the input's buffer.
        let (at, got) = self.input.consume(len).map_err(|e| self.io_err(e))?;
        if got < len {
            return Err(CaptureError::Truncated {
                offset: self.offset + got as u64,
                what: "inside a pcapng block",
            });
        }
        self.block_at = Some((at, len));
        self.check_trailer(len)?;
        let block_off = self.offset;
        self.offset += len as u64;
        Ok(Some((btype, block_off, len - 4)))
    }

    /// An enhanced packet block, or the obsolete packet block (the same layout
    /// with a 16-bit interface id), in `buf`.
    fn packet_block(
        &self,
        kind: PacketBlock,
        block_off: u64,
        body_end: usize,
    ) -> Result<Located, CaptureError> {
        if body_end < 28 {
            return Err(CaptureError::Corrupt {
                offset: block_off,
                what: match kind {
                    PacketBlock::Enhanced => "enhanced packet block too short",
                    PacketBlock::Obsolete => "packet block too short",
                }
                .into(),
            });
        }
        let big = self.big_endian;
        let b = self.block();
        let if_id = match kind {
            PacketBlock::Enhanced => u32_at(&b[8..], big) as usize,
            PacketBlock::Obsolete => u16_at(&b[8..], big) as usize,
        };
        let ts_hi = u32_at(&b[12..], big) as u64;
        let ts_lo = u32_at(&b[16..], big) as u64;
        let caplen = u32_at(&b[20..], big) as usize;
        let orig = u32_at(&b[24..], big);
        if caplen > body_end - 28 {
            return Err(CaptureError::Corrupt {
                offset: block_off + 20,
                what: match kind {
                    PacketBlock::Enhanced => format!(
                        "packet claims {caplen} captured bytes but its block holds {}",
                        body_end - 28
                    ),
                    PacketBlock::Obsolete => "packet longer than its block".into(),
                },
            });
        }
        let iface = *self
            .interfaces
            .get(if_id)
            .ok_or_else(|| CaptureError::Corrupt {
                offset: block_off + 8,
                what: format!("packet refers to interface {if_id}, which was not described"),
            })?;
        let ts = iface_ts(iface, (ts_hi << 32) | ts_lo);
        Ok((28, caplen, ts, iface.linktype, orig.max(caplen as u32)))
    }

    /// A simple packet block in `buf`: interface 0, no timestamp.
    fn simple_packet_block(
        &self,
        block_off: u64,
        body_end: usize,
    ) -> Result<Located, CaptureError> {
        if body_end < 12 {
            return Err(CaptureError::Corrupt {
                offset: block_off,
                what: "simple packet block too short".into(),
            });
        }
        let orig = u32_at(&self.block()[8..], self.big_endian);
        let caplen = (orig as usize).min(body_end - 12);
        let iface = *self
            .interfaces
            .first()
            .ok_or_else(|| CaptureError::Corrupt {
                offset: block_off,
                what: "simple packet block before any interface description".into(),
            })?;
        Ok((12, caplen, Ts(0), iface.linktype, orig.max(caplen as u32)))
    }

    fn parse_idb(&mut self, block_off: u64, body_end: usize) -> Result<(), CaptureError> {
        if body_end < 16 {
            return Err(CaptureError::Corrupt {
                offset: block_off,
                what: "interface description block too short".into(),
            });
        }
        let big = self.big_endian;
        let b = self.block();
        let linktype = u16_at(&b[8..], big) as u32;
        let mut iface = Interface {
            linktype,
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        // Options: code u16, length u16, value padded to 4.
        let mut p = 16;
        while p + 4 <= body_end {
            let code = u16_at(&b[p..], big);
            let olen = u16_at(&b[p + 2..], big) as usize;
            let vstart = p + 4;
            if code == 0 || vstart + olen > body_end {
                break;
            }
            let v = &b[vstart..vstart + olen];
            match (code, olen) {
                (9, 1) => {
                    let r = v[0];
                    let exp = (r & 0x7f) as u32;
                    iface.units_per_sec = if r & 0x80 != 0 {
                        2u64.checked_pow(exp).unwrap_or(0)
                    } else {
                        10u64.checked_pow(exp).unwrap_or(0)
                    };
                    if iface.units_per_sec == 0 {
                        return Err(CaptureError::Corrupt {
                            offset: block_off + vstart as u64,
                            what: format!("unusable if_tsresol {r:#x}"),
                        });
                    }
                }
                (14, 8) => {
                    let hi = u32_at(v, big) as u64;
                    let lo = u32_at(&v[4..], big) as u64;
                    let raw = if big {
                        (hi << 32) | lo
                    } else {
                        (lo << 32) | hi
                    };
                    iface.offset_secs = raw as i64;
                }
                _ => {}
            }
            p = vstart + olen.div_ceil(4) * 4;
        }
        if self.interfaces.len() >= 65_536 {
            return Err(CaptureError::Corrupt {
                offset: block_off,
                what: "more than 65536 interfaces".into(),
            });
        }
        self.interfaces.push(iface);
        Ok(())
    }
}

/// A read error in capture terms. `UnexpectedEof` comes only from a decompressor
/// (a plain file just ends): the compressed file was cut short.
fn io_error(offset: u64, source: io::Error) -> CaptureError {
    if source.kind() == io::ErrorKind::UnexpectedEof {
        return CaptureError::Truncated {
            offset,
            what: "inside the compressed data (the gzip file is cut short)",
        };
    }
    CaptureError::Io { offset, source }
}

/// Like [`fill`], but a read error does not lose the bytes read before it.
fn fill_keep<R: Read>(input: &mut R, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

fn iface_ts(iface: Interface, raw: u64) -> Ts {
    let ups = iface.units_per_sec;
    let secs = (raw / ups) as i64;
    let rem = raw % ups;
    // Microseconds, nanoseconds, any resolution dividing a second evenly: a
    // multiplication (rem < ups, so it fits); others through 128 bits.
    let nanos = if ups <= 1_000_000_000 && 1_000_000_000 % ups == 0 {
        (rem * (1_000_000_000 / ups)) as i64
    } else {
        ((rem as u128 * 1_000_000_000u128) / ups as u128) as i64
    };
    Ts::from_secs_nanos(secs.saturating_add(iface.offset_secs), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_file(big: bool, nanos: bool, linktype: u32, packets: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let w16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        for (s, f, d) in packets {
            w32(&mut v, *s);
            w32(&mut v, *f);
            w32(&mut v, d.len() as u32);
            w32(&mut v, d.len() as u32 + 10);
            v.extend_from_slice(d);
        }
        v
    }

    #[test]
    fn pcap_all_variants() {
        for big in [false, true] {
            for nanos in [false, true] {
                let f = pcap_file(big, nanos, 1, &[(10, 5, b"abc"), (11, 0, b"")]);
                let mut r = CaptureReader::new(&f[..]).unwrap();
                let p = r.next_packet().unwrap().unwrap();
                assert_eq!(p.data, b"abc");
                assert_eq!(p.frame, 1);
                assert_eq!(p.orig_len, 13);
                assert_eq!(p.ts, Ts(10_000_000_000 + if nanos { 5 } else { 5000 }));
                assert_eq!(r.next_packet().unwrap().unwrap().frame, 2);
                assert!(r.next_packet().unwrap().is_none());
            }
        }
    }

    fn snoop_file(records: &[(u32, &[u8], usize)]) -> Vec<u8> {
        let mut f = b"snoop\0\0\0".to_vec();
        f.extend_from_slice(&2u32.to_be_bytes());
        f.extend_from_slice(&4u32.to_be_bytes());
        for (secs, data, pad) in records {
            let reclen = 24 + data.len() + pad;
            for v in [data.len(), data.len(), reclen, 0, *secs as usize, 7] {
                f.extend_from_slice(&(v as u32).to_be_bytes());
            }
            f.extend_from_slice(data);
            f.extend(std::iter::repeat_n(0u8, *pad));
        }
        f
    }

    #[test]
    fn snoop_records_and_their_padding() {
        let f = snoop_file(&[(10, b"abcde", 3), (11, b"", 0), (12, b"fgh", 1)]);
        let mut r = CaptureReader::new(&f[..]).unwrap();
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(
            (p.data, p.linktype, p.ts),
            (&b"abcde"[..], 1, Ts(10_000_007_000))
        );
        assert_eq!(r.next_packet().unwrap().unwrap().data, b"");
        assert_eq!(r.next_packet().unwrap().unwrap().data, b"fgh");
        assert!(r.next_packet().unwrap().is_none());
        // Through a reader that gives a few bytes at a time: the same.
        let mut r = CaptureReader::new(Trickle { data: &f, step: 3 }).unwrap();
        let mut n = 0;
        while r.next_packet().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn damaged_snoop_files_end_with_an_error_not_a_panic() {
        let f = snoop_file(&[(10, b"abcdefgh", 0), (11, b"ijkl", 4), (12, b"mnopqrst", 0)]);
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for cut in 0..=f.len() {
            let mut g = f[..cut].to_vec();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if g.len() > 16 {
                    let at = 16 + (x as usize % (g.len() - 16));
                    g[at] = (x >> 32) as u8;
                }
            }
            for input in [&f[..cut], &g[..]] {
                if let Ok(mut r) = CaptureReader::new(input) {
                    let mut n = 0;
                    while let Ok(Some(_)) = r.next_packet() {
                        n += 1;
                        assert!(n < 100);
                    }
                }
            }
        }
    }

    /// A link-type field carrying FCS information (an Endace DAG capture of
    /// Ethernet with a 4-byte FCS: 0x24000001) is Ethernet.
    #[test]
    fn pcap_link_type_with_fcs_information() {
        for field in [0x2400_0001u32, 0x0400_0001, 0x0001_0001] {
            let f = pcap_file(false, false, field, &[(10, 5, b"abc")]);
            let mut r = CaptureReader::new(&f[..]).unwrap();
            assert_eq!(r.next_packet().unwrap().unwrap().linktype, 1, "{field:#x}");
        }
    }

    /// The fast path of the timestamp conversion is the 128-bit one wherever it
    /// is taken.
    #[test]
    fn interface_timestamps_every_resolution() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for ups in [
            1u64,
            10,
            100,
            1_000,
            1_000_000,
            1_000_000_000,
            1 << 10,
            1 << 30,
            1 << 40,
            3,
            7,
            10u64.pow(12),
        ] {
            let iface = Interface {
                linktype: 1,
                units_per_sec: ups,
                offset_secs: 0,
            };
            for _ in 0..2_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let raw = x >> 8;
                let rem = raw % ups;
                let want = Ts::from_secs_nanos(
                    (raw / ups) as i64,
                    ((rem as u128 * 1_000_000_000u128) / ups as u128) as i64,
                );
                assert_eq!(iface_ts(iface, raw), want, "{ups} {raw}");
            }
        }
    }

    /// A stream that gives at most a few bytes per read (a pipe, a slow
    /// decompressor).
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.step = self.step % 7 + 1;
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Packets handed out in place from the reader's buffer are whole and in
    /// order whatever the stream's read sizes, across the buffer's refills, and
    /// for a packet larger than the buffer.
    #[test]
    fn packets_across_refills_and_read_sizes() {
        let bodies: Vec<Vec<u8>> = (0..40u32)
            .map(|i| {
                let len = match i {
                    7 => SRC_CHUNK + 12_345,
                    8 => 0,
                    _ => (i as usize * 7_919) % 70_000,
                };
                (0..len)
                    .map(|j| (j as u32 ^ i.wrapping_mul(31)) as u8)
                    .collect()
            })
            .collect();
        let packets: Vec<(u32, u32, &[u8])> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u32, 0, &b[..]))
            .collect();
        let f = pcap_file(false, false, 1, &packets);
        for trickle in [false, true] {
            let input: Box<dyn Read + '_> = if trickle {
                Box::new(Trickle { data: &f, step: 0 })
            } else {
                Box::new(&f[..])
            };
            let mut r = CaptureReader::new(input).unwrap();
            for (i, b) in bodies.iter().enumerate() {
                let p = r.next_packet().unwrap().unwrap();
                assert_eq!(p.frame, i as u64 + 1);
                assert_eq!(p.ts, Ts(i as i64 * 1_000_000_000));
                assert!(p.data == &b[..], "packet {i} (trickle {trickle})");
            }
            assert!(r.next_packet().unwrap().is_none());
            assert_eq!(r.offset(), f.len() as u64);
        }
    }

    #[test]
    fn truncated_and_garbage() {
        let f = pcap_file(false, false, 1, &[(1, 0, b"hello")]);
        let mut r = CaptureReader::new(&f[..f.len() - 2]).unwrap();
        assert!(matches!(
            r.next_packet(),
            Err(CaptureError::Truncated { .. })
        ));
        assert!(r.next_packet().unwrap().is_none());
        assert!(matches!(
            CaptureReader::new(&b""[..]),
            Err(CaptureError::Empty)
        ));
        assert!(matches!(
            CaptureReader::new(&b"GET / HTTP/1.1\r\n"[..]),
            Err(CaptureError::NotACapture { .. })
        ));
        assert!(matches!(
            CaptureReader::new(&f[..10]),
            Err(CaptureError::Truncated { .. })
        ));
        // Giant caplen.
        let mut g = pcap_file(false, false, 1, &[]);
        g.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        let mut r = CaptureReader::new(&g[..]).unwrap();
        assert!(matches!(r.next_packet(), Err(CaptureError::Corrupt { .. })));
    }

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = 12 + body.len().div_ceil(4) * 4;
        let mut v = Vec::new();
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len - 4, 0);
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v
    }

    #[test]
    fn pcapng_interfaces_and_resolution() {
        let mut f = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        f.extend(block(0x0a0d_0d0a, &shb));
        // Interface 0: Ethernet, default microseconds.
        let mut idb0 = vec![1, 0, 0, 0];
        idb0.extend_from_slice(&0u32.to_le_bytes());
        f.extend(block(1, &idb0));
        // Interface 1: raw IP, nanoseconds (if_tsresol = 9).
        let mut idb1 = vec![101, 0, 0, 0];
        idb1.extend_from_slice(&0u32.to_le_bytes());
        idb1.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        f.extend(block(1, &idb1));
        for (iface, ts) in [(0u32, 2_000_001u64), (1, 3_000_000_005)] {
            let mut epb = Vec::new();
            epb.extend_from_slice(&iface.to_le_bytes());
            epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(ts as u32).to_le_bytes());
            epb.extend_from_slice(&3u32.to_le_bytes());
            epb.extend_from_slice(&3u32.to_le_bytes());
            epb.extend_from_slice(b"xyz");
            f.extend(block(6, &epb));
        }
        let mut r = CaptureReader::new(&f[..]).unwrap();
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(
            (p.linktype, p.ts, p.data),
            (1, Ts(2_000_001_000), &b"xyz"[..])
        );
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!((p.linktype, p.ts), (101, Ts(3_000_000_005)));
        assert!(r.next_packet().unwrap().is_none());
        // Bad trailer.
        let mut bad = f.clone();
        let n = bad.len();
        bad[n - 1] = 0x7f;
        let mut r = CaptureReader::new(&bad[..]).unwrap();
        r.next_packet().unwrap();
        assert!(matches!(r.next_packet(), Err(CaptureError::Corrupt { .. })));
    }

    /// A pcap file whose record headers are `hdr_len` bytes (the extra bytes after
    /// the standard 16 are filled with `extra`), with magic `magic` little-endian.
    fn pcap_variant_file(magic: u32, hdr_len: usize, extra: u8, packets: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&magic.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, d) in packets.iter().enumerate() {
            v.extend_from_slice(&(1_000 + i as u32).to_le_bytes());
            v.extend_from_slice(&(7 * i as u32).to_le_bytes());
            v.extend_from_slice(&(d.len() as u32).to_le_bytes());
            v.extend_from_slice(&(d.len() as u32).to_le_bytes());
            v.resize(v.len() + hdr_len - 16, extra);
            v.extend_from_slice(d);
        }
        v
    }

    fn all_packets<R: Read>(mut r: CaptureReader<R>) -> Vec<(u64, Ts, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            out.push((p.frame, p.ts, p.data.to_vec()));
        }
        out
    }

    #[test]
    fn modified_pcap_variants_are_told_by_their_records() {
        // Packets whose bytes would make a wrong layout visible: the last bytes
        // of each look like a large microsecond field.
        let pkts: Vec<Vec<u8>> = (0..5u8)
            .map(|i| {
                let mut p = vec![i; 40 + i as usize];
                p.extend_from_slice(&[0xff; 8]);
                p
            })
            .collect();
        let refs: Vec<&[u8]> = pkts.iter().map(|p| &p[..]).collect();
        let want = all_packets(
            CaptureReader::new(&pcap_variant_file(0xa1b2_c3d4, 16, 0, &refs)[..]).unwrap(),
        );
        assert_eq!(want.len(), 5);
        for (magic, hdr_len, variant) in [
            (0xa1b2_c3d4, 16, PcapVariant::Standard),
            (0xa1b2_c3d4, 24, PcapVariant::RedHat61),
            (0xa1b2_c3d4, 20, PcapVariant::Nokia),
            (0xa1b2_cd34, 24, PcapVariant::Modified),
            (0xa1b2_cd34, 28, PcapVariant::Suse63),
        ] {
            // Extra header bytes that are themselves plausible-looking (small).
            let f = pcap_variant_file(magic, hdr_len, 0, &refs);
            let r = CaptureReader::new(&f[..]).unwrap();
            assert_eq!(r.pcap_variant(), variant, "{hdr_len}-byte headers");
            assert_eq!(all_packets(r), want, "{variant:?}");
        }
    }

    #[test]
    fn a_wrong_layout_guess_is_reported_not_silently_read() {
        // Standard magic, but every record header claims an impossible
        // fraction of a second under every layout: the default layout is used
        // and the damage shows as an error, not as garbage packets.
        let mut f = pcap_variant_file(0xa1b2_c3d4, 16, 0, &[&b"abcdefgh"[..]; 3]);
        for p in [28usize, 28 + 24, 28 + 48] {
            f[p..p + 4].copy_from_slice(&2_000_000u32.to_le_bytes());
        }
        let r = CaptureReader::new(&f[..]).unwrap();
        assert_eq!(r.pcap_variant(), PcapVariant::Standard);
        // A RedHat file cut after its first record header: only one header to
        // judge by, which fits the standard layout too; reading it then fails
        // cleanly (truncated), never panics.
        let rh = pcap_variant_file(0xa1b2_c3d4, 24, 0x55, &[&b"0123456789abcdef"[..]]);
        let mut r = CaptureReader::new(&rh[..rh.len() - 3]).unwrap();
        while let Ok(Some(_)) = r.next_packet() {}
        // Garbage after a plausible first record: no layout fits, the default is
        // kept and the bad record is an error.
        let mut g = pcap_variant_file(0xa1b2_c3d4, 16, 0, &[&b"abcd"[..]]);
        g.extend_from_slice(&[0xff; 40]);
        let mut r = CaptureReader::new(&g[..]).unwrap();
        assert_eq!(r.pcap_variant(), PcapVariant::Standard);
        assert!(r.next_packet().unwrap().is_some());
        assert!(matches!(r.next_packet(), Err(CaptureError::Corrupt { .. })));
    }

    /// A reader that hands over one byte per call, as a slow pipe may.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((b, rest)), false) => {
                    buf[0] = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn one_byte_at_a_time_reads_the_same_packets() {
        let pcap = pcap_variant_file(0xa1b2_c3d4, 24, 1, &[&b"abc"[..], b"", b"defgh"]);
        let cut = &pcap[..pcap.len() - 2];
        for f in [&pcap[..], cut] {
            let mut a = CaptureReader::new(f).unwrap();
            let mut b = CaptureReader::new(OneByte(f)).unwrap();
            loop {
                match (a.next_packet(), b.next_packet()) {
                    (Ok(Some(x)), Ok(Some(y))) => {
                        assert_eq!((x.frame, x.ts, x.data), (y.frame, y.ts, y.data));
                    }
                    (Ok(None), Ok(None)) => break,
                    (Err(x), Err(y)) => {
                        assert_eq!(x.to_string(), y.to_string());
                        break;
                    }
                    (x, y) => panic!(
                        "differ: {:?} / {:?}",
                        x.map(|p| p.map(|p| p.frame)),
                        y.map(|p| p.map(|p| p.frame))
                    ),
                }
            }
        }
    }
}
