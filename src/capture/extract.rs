//! Writing the packets of some TCP connections out of captures into a new
//! pcapng file: "export what you look at" (the TUI's `x`, `report --session N
//! --write-pcap FILE`). The captures are read again from the start and every
//! packet whose TCP segment belongs to one of the connections (either
//! direction) is written as it was, with its link layer and time, through the
//! one capture writer ([`super::write`]).
//!
//! A connection is named by its two endpoints; a port reused later for another
//! connection between the same endpoints is written too (tshark's 4-tuple
//! filter does the same). IP fragments are kept only as the packet whose
//! arrival completed the datagram. Packets of a link type other than the first
//! one written are counted and left out (one pcapng interface per file).

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::decode::{Decoded, Decoder};
use super::reader::{CaptureError, CaptureReader, PacketSource};
use super::write::{Format, Header, Writer};
use crate::model::Session;

/// The connections of a session: its control connection and every data
/// connection whose both ends are known, each as (client side, server side).
pub fn session_connections(s: &Session) -> Vec<(SocketAddr, SocketAddr)> {
    let mut out = vec![(s.client, s.server)];
    for d in &s.data_channels {
        if let (Some(a), Some(b)) = (d.connector, d.listener) {
            if !out.contains(&(a, b)) {
                out.push((a, b));
            }
        }
    }
    out
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub packets: u64,
    pub connections: usize,
    /// Packets of the connections left out because their link type differs
    /// from the file's.
    pub other_link: u64,
    /// The captures could not be read to their end (damaged, truncated): what
    /// came before was exported.
    pub read_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the capture: {0}")]
    Capture(#[from] CaptureError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("standard input was read once already; save the capture to a file to export from it")]
    Stdin,
}

/// Copy the packets of `conns` from `captures` (several: merged in time order)
/// into a new pcapng (or pcap, by its name) file at `out`. The file is created
/// even when no packet matches, so a reader sees an empty capture, not an error.
pub fn write_connections(
    captures: &[PathBuf],
    conns: &[(SocketAddr, SocketAddr)],
    out: &Path,
) -> Result<Exported, ExportError> {
    if captures.iter().any(|p| super::input::is_stdin(p)) {
        return Err(ExportError::Stdin);
    }
    let mut readers = Vec::with_capacity(captures.len());
    for p in captures {
        let input = super::input::open(p).map_err(|source| ExportError::Open {
            path: p.display().to_string(),
            source,
        })?;
        readers.push((p.display().to_string(), CaptureReader::new(input.reader)?));
    }
    let file = std::fs::File::create(out).map_err(|source| ExportError::Write {
        path: out.display().to_string(),
        source,
    })?;
    let res = if readers.len() == 1 {
        let (_, r) = readers.pop().expect("one reader: checked just above");
        copy(r, conns, BufWriter::new(file), out)
    } else {
        copy(
            super::merge::Merge::new(readers)?,
            conns,
            BufWriter::new(file),
            out,
        )
    };
    res.map_err(|source| ExportError::Write {
        path: out.display().to_string(),
        source,
    })
}

fn copy<P: PacketSource, W: Write>(
    mut src: P,
    conns: &[(SocketAddr, SocketAddr)],
    out: W,
    path: &Path,
) -> io::Result<Exported> {
    let wanted: HashSet<(SocketAddr, SocketAddr)> =
        conns.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    let mut done = Exported {
        connections: conns.len(),
        ..Exported::default()
    };
    let application = concat!("ftpscope ", env!("CARGO_PKG_VERSION"), " export");
    let format = Format::for_path(path);
    let mut writer: Option<(u32, Writer<W>)> = None;
    let mut pending = Some(out);
    let mut decoder = Decoder::default();
    loop {
        let pkt = match src.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                done.read_error = Some(e.to_string());
                break;
            }
        };
        let hit = match decoder.decode(pkt.linktype, pkt.data, pkt.ts) {
            Decoded::Tcp(seg) => wanted.contains(&(seg.src, seg.dst)),
            _ => false,
        };
        if !hit {
            continue;
        }
        if writer.is_none() {
            if let Some(o) = pending.take() {
                let header = Header {
                    linktype: pkt.linktype,
                    snaplen: 0,
                    interface: None,
                    application,
                };
                writer = Some((pkt.linktype, Writer::new(o, format, &header)?));
            }
        }
        if let Some((link, w)) = &mut writer {
            if *link == pkt.linktype {
                w.packet(pkt.ts, pkt.data, pkt.orig_len)?;
                done.packets += 1;
            } else {
                done.other_link += 1;
            }
        }
    }
    match (writer, pending) {
        (Some((_, mut w)), _) => w.flush()?,
        (None, Some(o)) => {
            // Nothing matched: an empty capture (Ethernet, as tcpdump's default).
            let header = Header {
                linktype: super::write::LINKTYPE_ETHERNET,
                snaplen: 0,
                interface: None,
                application,
            };
            Writer::new(o, format, &header)?.flush()?;
        }
        (None, None) => {}
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::write::tcp_packet;
    use crate::time::Ts;

    fn sa(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    /// Packets of the chosen connections are copied in both directions, the
    /// others left out, and the file reads back with the same times and bytes.
    #[test]
    fn copies_only_the_chosen_connections_both_ways() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("in.pcapng");
        let (c, s, d) = (
            sa("10.0.0.2:40000"),
            sa("10.0.0.1:21"),
            sa("10.0.0.1:50000"),
        );
        let other = sa("10.0.0.3:40001");
        let pkts = [
            (c, s, &b"USER a\r\n"[..]),
            (s, c, &b"331 x\r\n"[..]),
            (other, s, &b"USER b\r\n"[..]),
            (c, d, &b"data"[..]),
            (d, c, &b""[..]),
        ];
        {
            let f = std::fs::File::create(&src).expect("create");
            let header = Header {
                linktype: super::super::write::LINKTYPE_RAW,
                snaplen: 0,
                interface: None,
                application: "test",
            };
            let mut w = Writer::new(f, Format::Pcapng, &header).expect("writer");
            for (i, (a, b, p)) in pkts.iter().enumerate() {
                let bytes = tcp_packet(*a, *b, 1, 1, super::super::write::ACK, p);
                w.packet(
                    Ts(i64::try_from(i).expect("small") * 1000),
                    &bytes,
                    bytes.len() as u32,
                )
                .expect("write");
            }
            w.flush().expect("flush");
        }
        let out = dir.path().join("out.pcapng");
        let e =
            write_connections(std::slice::from_ref(&src), &[(c, s), (c, d)], &out).expect("export");
        assert_eq!(e.packets, 4);
        assert_eq!(e.connections, 2);
        assert_eq!(e.read_error, None);
        let mut r = CaptureReader::new(std::fs::File::open(&out).expect("open")).expect("read");
        let mut times = Vec::new();
        while let Some(p) = r.next_packet().expect("packet") {
            times.push(p.ts.0);
        }
        assert_eq!(times, vec![0, 1000, 3000, 4000]);
        // Nothing matches: an empty but valid capture.
        let none = dir.path().join("none.pcap");
        let e = write_connections(&[src], &[(sa("1.2.3.4:1"), sa("5.6.7.8:2"))], &none)
            .expect("export");
        assert_eq!(e.packets, 0);
        let mut r = CaptureReader::new(std::fs::File::open(&none).expect("open")).expect("read");
        assert!(r.next_packet().expect("clean end").is_none());
    }

    #[test]
    fn standard_input_cannot_be_read_again() {
        let e =
            write_connections(&[PathBuf::from("-")], &[], Path::new("/nonexistent/x")).unwrap_err();
        assert!(matches!(e, ExportError::Stdin));
    }
}
