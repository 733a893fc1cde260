//! Where the engine's time goes, phase by phase, on one capture (docs/performance.md):
//! `read` reads every packet; `decode` also decodes it; `flows` also runs the TCP flow
//! table, with a sink that keeps nothing (port-21 connections streamed, others
//! counted); `all` runs the whole engine and keeps the sessions.
//!
//! Usage: `phases FILE read|decode|flows|all` (time it with `/usr/bin/time`).

use std::path::Path;

use ftpscope::capture::decode::{Decoded, Decoder};
use ftpscope::capture::reader::CaptureReader;
use ftpscope::tcp::{ConnEvent, ConnId, ConnInfo, ConnSink, FlowTable, Meta, Mode};

/// Counts the control bytes streamed to it, keeps nothing.
struct Null(u64);

impl ConnSink for Null {
    fn open(&mut self, _meta: Meta, info: &ConnInfo) -> Mode {
        if info.responder.port() == 21 {
            Mode::Stream
        } else {
            Mode::Count
        }
    }
    fn event(&mut self, _meta: Meta, _conn: ConnId, ev: ConnEvent<'_>) -> Option<Mode> {
        if let ConnEvent::Data { bytes, .. } = ev {
            self.0 += bytes.len() as u64;
        }
        None
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, phase] = args.as_slice() else {
        return Err("usage: phases FILE read|decode|flows|all".into());
    };
    let path = Path::new(path);
    if phase == "all" {
        let c = ftpscope::engine::analyze_file(path, Default::default())?;
        println!("{} sessions", c.sessions.len());
        return Ok(());
    }
    let mut reader = CaptureReader::new(ftpscope::capture::input::open(path)?.reader)?;
    let mut decoder = Decoder::default();
    let mut flows = FlowTable::new();
    let mut sink = Null(0);
    let (mut packets, mut bytes, mut tcp) = (0u64, 0u64, 0u64);
    while let Some(p) = reader.next_packet()? {
        packets += 1;
        bytes += p.data.len() as u64;
        if phase == "read" {
            continue;
        }
        if let Decoded::Tcp(seg) = decoder.decode(p.linktype, p.data, p.ts) {
            tcp += 1;
            if phase == "flows" {
                let meta = Meta {
                    ts: p.ts,
                    frame: p.frame,
                };
                flows.segment(meta, &seg, &mut sink);
            }
        }
    }
    println!(
        "{packets} packets, {bytes} bytes, {tcp} TCP segments, {} control bytes streamed",
        sink.0
    );
    Ok(())
}
