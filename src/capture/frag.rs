//! Bounded IP fragment reassembly.
//!
//! Datagrams are keyed by (source, destination, identification, protocol). The pool
//! holds at most [`MAX_PENDING`] datagrams and [`MAX_BYTES`] bytes in all; a
//! datagram not completed within [`TIMEOUT_NS`] of its first fragment is dropped.
//! Drops are counted so the report can say fragments were lost.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::time::Ts;

pub const MAX_PENDING: usize = 1024;
pub const MAX_BYTES: usize = 8 << 20;
pub const MAX_DATAGRAM: usize = 65_535;
pub const TIMEOUT_NS: i64 = 30_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

#[derive(Debug)]
struct Pending {
    pieces: Vec<(usize, Vec<u8>)>,
    total: Option<usize>,
    first: Ts,
    bytes: usize,
}

#[derive(Debug, Default)]
pub struct FragPool {
    pending: HashMap<FragKey, Pending>,
    bytes: usize,
    /// Datagrams put back together.
    pub reassembled: u64,
    /// Datagrams given up on (timeout, limits, inconsistent fragments).
    pub dropped: u64,
}

impl FragPool {
    /// Add a fragment; returns the whole payload when the datagram is complete.
    pub fn insert(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        ts: Ts,
    ) -> Option<Vec<u8>> {
        self.expire(ts);
        let end = offset + data.len();
        if end > MAX_DATAGRAM {
            self.drop_key(&key);
            self.dropped += 1;
            return None;
        }
        if !self.pending.contains_key(&key)
            && (self.pending.len() >= MAX_PENDING || self.bytes + data.len() > MAX_BYTES)
        {
            self.dropped += 1;
            return None;
        }
        if self.bytes + data.len() > MAX_BYTES {
            self.drop_key(&key);
            self.dropped += 1;
            return None;
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            pieces: Vec::new(),
            total: None,
            first: ts,
            bytes: 0,
        });
        if !more {
            if p.total.is_some_and(|t| t != end) {
                self.drop_key(&key);
                self.dropped += 1;
                return None;
            }
            p.total = Some(end);
        }
        p.pieces.push((offset, data.to_vec()));
        p.bytes += data.len();
        self.bytes += data.len();
        let total = p.total?;
        p.pieces.sort_by_key(|(o, _)| *o);
        let mut covered = 0;
        for (o, d) in &p.pieces {
            if *o > covered {
                return None;
            }
            covered = covered.max(o + d.len());
        }
        if covered < total {
            return None;
        }
        let p = self.pending.remove(&key)?;
        self.bytes -= p.bytes;
        let mut out = vec![0u8; total];
        for (o, d) in p.pieces {
            let e = (o + d.len()).min(total);
            if o < e {
                out[o..e].copy_from_slice(&d[..e - o]);
            }
        }
        self.reassembled += 1;
        Some(out)
    }

    fn drop_key(&mut self, key: &FragKey) {
        if let Some(p) = self.pending.remove(key) {
            self.bytes -= p.bytes;
        }
    }

    fn expire(&mut self, now: Ts) {
        if self.pending.is_empty() {
            return;
        }
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now.0.saturating_sub(p.first.0) <= TIMEOUT_NS;
            if !keep {
                freed += p.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.dropped += (before - self.pending.len()) as u64;
    }

    /// Datagrams still waiting for fragments (counted as dropped at the end).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}
