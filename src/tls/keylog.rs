//! TLS secrets from a key log: the NSS `SSLKEYLOGFILE` format that curl, lftp
//! (GnuTLS), OpenSSL, rustls, Python's `ssl` and browsers write, or the same text
//! from a pcapng Decryption Secrets Block.
//!
//! Each line is `LABEL <client random, 64 hex digits> <secret, hex>`; comments
//! start with `#`. The labels read: `CLIENT_RANDOM` (TLS 1.2 master secret, 48
//! bytes) and TLS 1.3's `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//! `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`,
//! `SERVER_TRAFFIC_SECRET_0`. Others (`EXPORTER_SECRET`, early secrets) are
//! skipped; a malformed line is counted, never fatal.
//!
//! Also kept: TLS 1.2 master secrets learned while decrypting, by the server's
//! session id, so that a connection resuming that session decrypts even when the
//! key log has no line for it (as Wireshark maps session ids to secrets). Bounded.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use rustc_hash::FxHashMap;

/// A key log larger than this is refused (a key log holds a few lines per connection:
/// this is hundreds of thousands of connections).
pub const MAX_KEYLOG_BYTES: u64 = 256 << 20;
/// Sessions remembered by id for TLS 1.2 resumption.
const MAX_LEARNED: usize = 4096;

/// The secrets of one handshake (one client random).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 (and earlier): the master secret.
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_app: Option<Vec<u8>>,
    pub server_app: Option<Vec<u8>>,
}

/// Secrets by client random.
#[derive(Debug, Default)]
pub struct KeyLog {
    by_random: FxHashMap<[u8; 32], Secrets>,
    /// Lines that could not be read.
    pub bad_lines: usize,
    /// Master secrets by TLS 1.2 session id, learned from decrypted connections.
    learned: Mutex<Learned>,
}

/// Master secrets by session id, and the ids in the order learned (oldest first).
type Learned = (FxHashMap<Vec<u8>, Vec<u8>>, Vec<Vec<u8>>);

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl KeyLog {
    /// Read key log text (any number of lines; unknown labels skipped).
    pub fn parse(text: &str) -> KeyLog {
        let mut k = KeyLog::default();
        k.add_text(text);
        k
    }

    /// Add the lines of another key log (several files, or a capture's secrets).
    pub fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                self.bad_lines += 1;
                continue;
            };
            let (Some(random), Some(secret)) = (hex(random), hex(secret)) else {
                self.bad_lines += 1;
                continue;
            };
            let Ok(random) = <[u8; 32]>::try_from(random.as_slice()) else {
                self.bad_lines += 1;
                continue;
            };
            let e = self.by_random.entry(random).or_default();
            let slot = match label {
                "CLIENT_RANDOM" if secret.len() == 48 => &mut e.master,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut e.client_handshake,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut e.server_handshake,
                "CLIENT_TRAFFIC_SECRET_0" => &mut e.client_app,
                "SERVER_TRAFFIC_SECRET_0" => &mut e.server_app,
                "CLIENT_RANDOM" => {
                    self.bad_lines += 1;
                    continue;
                }
                _ => continue,
            };
            *slot = Some(secret);
        }
    }

    /// Read a key log file (bounded by [`MAX_KEYLOG_BYTES`]).
    pub fn load(path: &Path) -> anyhow::Result<KeyLog> {
        let mut k = KeyLog::default();
        k.add_file(path)?;
        Ok(k)
    }

    /// Add a key log file's lines.
    pub fn add_file(&mut self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let f = std::fs::File::open(path)
            .with_context(|| format!("cannot open the TLS key log {}", path.display()))?;
        let mut text = String::new();
        f.take(MAX_KEYLOG_BYTES + 1)
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read the TLS key log {} as text", path.display()))?;
        if text.len() as u64 > MAX_KEYLOG_BYTES {
            anyhow::bail!(
                "the TLS key log {} is larger than {} MiB",
                path.display(),
                MAX_KEYLOG_BYTES >> 20
            );
        }
        self.add_text(&text);
        Ok(())
    }

    /// A copy of the secrets read (not the sessions learned while decrypting).
    pub fn copy_secrets(&self) -> KeyLog {
        KeyLog {
            by_random: self.by_random.clone(),
            bad_lines: self.bad_lines,
            learned: Mutex::default(),
        }
    }

    /// Handshakes with secrets.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// The secrets of the handshake with this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.by_random.get(client_random)
    }

    /// Remember a TLS 1.2 session's master secret by its session id.
    pub fn learn(&self, session_id: &[u8], master: &[u8]) {
        if session_id.is_empty() {
            return;
        }
        let Ok(mut l) = self.learned.lock() else {
            return;
        };
        let (map, order) = &mut *l;
        if map.insert(session_id.to_vec(), master.to_vec()).is_none() {
            order.push(session_id.to_vec());
            if order.len() > MAX_LEARNED {
                let old = order.remove(0);
                map.remove(&old);
            }
        }
    }

    /// The master secret of a TLS 1.2 session resumed by id.
    pub fn learned(&self, session_id: &[u8]) -> Option<Vec<u8>> {
        self.learned.lock().ok()?.0.get(session_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_by_label_and_bad_ones_counted() {
        let r = "ab".repeat(32);
        let text = format!(
            "# a comment\n\
             CLIENT_RANDOM {r} {}\n\
             CLIENT_TRAFFIC_SECRET_0 {r} {}\n\
             EXPORTER_SECRET {r} {}\n\
             CLIENT_RANDOM nothex {}\n\
             CLIENT_RANDOM {r}\n\
             CLIENT_RANDOM {r} 0011\n",
            "11".repeat(48),
            "22".repeat(32),
            "33".repeat(32),
            "11".repeat(48),
        );
        let k = KeyLog::parse(&text);
        assert_eq!(k.len(), 1);
        let s = k.get(&[0xab; 32]).unwrap();
        assert_eq!(s.master.as_deref(), Some(&[0x11; 48][..]));
        assert_eq!(s.client_app.as_deref(), Some(&[0x22; 32][..]));
        assert!(s.server_app.is_none());
        // nothex, a missing secret, a master secret of the wrong length.
        assert_eq!(k.bad_lines, 3);
    }

    #[test]
    fn learned_sessions_are_bounded() {
        let k = KeyLog::default();
        for i in 0..(MAX_LEARNED + 10) as u32 {
            k.learn(&i.to_be_bytes(), &[1; 48]);
        }
        assert!(k.learned(&0u32.to_be_bytes()).is_none());
        assert!(
            k.learned(&((MAX_LEARNED + 9) as u32).to_be_bytes())
                .is_some()
        );
        assert_eq!(k.learned.lock().unwrap().0.len(), MAX_LEARNED);
    }
}
