//! Bounded IP fragment reassembly.
//!
//! Datagrams are keyed by (source, destination, identification, protocol). The pool
//! holds at most [`MAX_PENDING`] datagrams and [`MAX_BYTES`] bytes in all, and at most
//! [`MAX_FRAGMENTS`] fragments per datagram (zero-length or duplicate fragments add
//! no bytes, yet each one costs memory and a pass over the list); a datagram not
//! completed within [`TIMEOUT_NS`] of its first fragment is dropped.
//! Drops are counted so the report can say fragments were lost.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::time::Ts;

pub const MAX_PENDING: usize = 1024;
pub const MAX_BYTES: usize = 8 << 20;
pub const MAX_DATAGRAM: usize = 65_535;
pub const TIMEOUT_NS: i64 = 30_000_000_000;
/// Fragments kept per datagram. A 64 KiB datagram over the smallest IPv6 MTU takes
/// 54; more than this is an attack or a broken sender.
pub const MAX_FRAGMENTS: usize = 256;

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
        if p.pieces.len() >= MAX_FRAGMENTS {
            self.drop_key(&key);
            self.dropped += 1;
            return None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragKey {
        FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: 7,
            proto: 6,
        }
    }

    #[test]
    fn fragments_in_any_order() {
        let mut p = FragPool::default();
        assert_eq!(p.insert(key(), 8, false, b"bbbb", Ts(0)), None);
        assert_eq!(
            p.insert(key(), 0, true, b"aaaaaaaa", Ts(1)),
            Some(b"aaaaaaaabbbb".to_vec())
        );
        assert_eq!((p.pending(), p.reassembled, p.bytes), (0, 1, 0));
    }

    /// Regression: zero-length (or duplicate) fragments add no bytes, so the byte
    /// limit never stopped them: one datagram could collect millions of pieces,
    /// each insert sorting and scanning them all (quadratic time, unbounded memory).
    #[test]
    fn endless_empty_fragments_are_dropped() {
        let mut p = FragPool::default();
        // The last fragment, so every insert tries to complete the datagram.
        p.insert(key(), 64, false, b"tail", Ts(0));
        for i in 0..100_000 {
            p.insert(key(), 0, true, b"", Ts(i));
            assert!(
                p.pending
                    .get(&key())
                    .is_none_or(|d| d.pieces.len() <= MAX_FRAGMENTS)
            );
        }
        assert!(p.dropped > 0);
        // Duplicates with bytes: the same.
        let mut p = FragPool::default();
        for i in 0..10_000 {
            p.insert(key(), 0, true, b"12345678", Ts(i));
        }
        assert!(
            p.pending
                .get(&key())
                .is_none_or(|d| d.pieces.len() <= MAX_FRAGMENTS)
        );
        assert!(p.dropped > 0);
    }
}
