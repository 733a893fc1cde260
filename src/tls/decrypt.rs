//! Record decryption with known secrets (pure: bytes in, bytes out).
//!
//! TLS 1.3 (RFC 8446): AES-128/256-GCM and ChaCha20-Poly1305, keys derived from
//! the traffic secrets by HKDF-Expand-Label, the handshake keys first, the
//! application keys after each side's Finished, updated on KeyUpdate. TLS 1.2
//! (RFC 5246): keys from the master secret by the PRF ("key expansion"); AEAD
//! suites (GCM with its explicit nonce, RFC 5288; ChaCha20-Poly1305, RFC 7905) and
//! the AES-CBC suites with HMAC-SHA1/SHA256/SHA384, MAC-then-encrypt or
//! encrypt-then-MAC (RFC 7366). Every record is authenticated: a record that does
//! not verify is an error (wrong secrets), never garbage passed on.

use aes_gcm::aead::{AeadInOut, Nonce};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::NoPadding};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

/// The hash of a suite's PRF / HKDF, and of its record MAC (CBC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            Hash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Hash::Sha384 => run::<Hmac<Sha384>>(key, parts),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha,
    Aes128Cbc,
    Aes256Cbc,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm | Cipher::Aes128Cbc => 16,
            _ => 32,
        }
    }
}

/// A cipher suite this module decrypts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    cipher: Cipher,
    /// PRF / HKDF hash.
    prf: Hash,
    /// Record MAC (CBC suites only).
    mac: Option<Hash>,
}

impl Suite {
    /// The suite by its IANA number, for TLS 1.3 (`tls13`) or 1.2. `None`: not
    /// decryptable here (export, RC4, 3DES, CCM, NULL ...).
    pub fn from_id(id: u16, tls13: bool) -> Option<Suite> {
        use Cipher::*;
        let s = |cipher, prf, mac| Some(Suite { cipher, prf, mac });
        if tls13 {
            return match id {
                0x1301 => s(Aes128Gcm, Hash::Sha256, None),
                0x1302 => s(Aes256Gcm, Hash::Sha384, None),
                0x1303 => s(ChaCha, Hash::Sha256, None),
                _ => None,
            };
        }
        match id {
            // AES-GCM: RSA, DHE-RSA, ECDHE-ECDSA, ECDHE-RSA, DHE-DSS, PSK variants.
            0x009C | 0x009E | 0x00A2 | 0xC02B | 0xC02F | 0x00A8 | 0x00AA | 0x00AC => {
                s(Aes128Gcm, Hash::Sha256, None)
            }
            0x009D | 0x009F | 0x00A3 | 0xC02C | 0xC030 | 0x00A9 | 0x00AB | 0x00AD => {
                s(Aes256Gcm, Hash::Sha384, None)
            }
            0xCCA8..=0xCCAD => s(ChaCha, Hash::Sha256, None),
            // AES-CBC with SHA-1: RSA, DHE-RSA, DHE-DSS, ECDHE-ECDSA, ECDHE-RSA.
            0x002F | 0x0033 | 0x0032 | 0xC009 | 0xC013 => {
                s(Aes128Cbc, Hash::Sha256, Some(Hash::Sha1))
            }
            0x0035 | 0x0039 | 0x0038 | 0xC00A | 0xC014 => {
                s(Aes256Cbc, Hash::Sha256, Some(Hash::Sha1))
            }
            // AES-CBC with SHA-256 / SHA-384.
            0x003C | 0x0067 | 0x0040 | 0xC023 | 0xC027 => {
                s(Aes128Cbc, Hash::Sha256, Some(Hash::Sha256))
            }
            0x003D | 0x006B | 0x006A => s(Aes256Cbc, Hash::Sha256, Some(Hash::Sha256)),
            0xC024 | 0xC028 => s(Aes256Cbc, Hash::Sha384, Some(Hash::Sha384)),
            _ => None,
        }
    }
}

/// Why a record did not decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// The record is too short for its cipher's framing.
    Short,
    /// Authentication failed: the secrets are not this connection's, or the record
    /// was damaged.
    Auth,
}

/// HKDF-Expand-Label (RFC 8446 §7.1).
fn expand_label(h: Hash, secret: &[u8], label: &str, ctx: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(4 + 6 + label.len() + ctx.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(ctx.len() as u8);
    info.extend_from_slice(ctx);
    let mut out = vec![0; len];
    match h {
        Hash::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        Hash::Sha1 => return None,
    }
    Some(out)
}

/// The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed), `len` bytes.
fn prf(h: Hash, secret: &[u8], label: &[u8], seed: &[&[u8]], len: usize) -> Vec<u8> {
    let mut s = label.to_vec();
    for p in seed {
        s.extend_from_slice(p);
    }
    let mut out = Vec::with_capacity(len + h.len());
    let mut a = h.hmac(secret, &[&s]);
    while out.len() < len {
        out.extend_from_slice(&h.hmac(secret, &[&a, &s]));
        a = h.hmac(secret, &[&a]);
    }
    out.truncate(len);
    out
}

/// One direction's keys and record counter.
#[derive(Clone)]
pub struct DirKeys {
    suite: Suite,
    key: Vec<u8>,
    /// TLS 1.3 and ChaCha: the 12-byte IV; TLS 1.2 GCM: the 4-byte salt.
    iv: Vec<u8>,
    mac_key: Vec<u8>,
    seq: u64,
    /// TLS 1.3: the traffic secret (for KeyUpdate).
    secret: Vec<u8>,
    etm: bool,
}

impl std::fmt::Debug for DirKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("DirKeys")
            .field("suite", &self.suite)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl DirKeys {
    /// TLS 1.3 keys from a traffic secret.
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<DirKeys> {
        let key = expand_label(suite.prf, secret, "key", &[], suite.cipher.key_len())?;
        let iv = expand_label(suite.prf, secret, "iv", &[], 12)?;
        Some(DirKeys {
            suite,
            key,
            iv,
            mac_key: Vec::new(),
            seq: 0,
            secret: secret.to_vec(),
            etm: false,
        })
    }

    /// TLS 1.3 KeyUpdate: the next generation of this direction's keys.
    pub fn update(&self) -> Option<DirKeys> {
        let next = expand_label(
            self.suite.prf,
            &self.secret,
            "traffic upd",
            &[],
            self.suite.prf.len(),
        )?;
        DirKeys::tls13(self.suite, &next)
    }

    /// TLS 1.2 keys of both directions (client's, server's) from the master secret.
    pub fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        etm: bool,
    ) -> (DirKeys, DirKeys) {
        let mac_len = suite.mac.map_or(0, Hash::len);
        let key_len = suite.cipher.key_len();
        let iv_len = match suite.cipher {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => 4,
            Cipher::ChaCha => 12,
            // TLS 1.1+ CBC: the IV is in each record.
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => 0,
        };
        let block = prf(
            suite.prf,
            master,
            b"key expansion",
            &[server_random, client_random],
            2 * (mac_len + key_len + iv_len),
        );
        let mut at = 0;
        let mut take = |n: usize| {
            let v = block[at..at + n].to_vec();
            at += n;
            v
        };
        let (cm, sm) = (take(mac_len), take(mac_len));
        let (ck, sk) = (take(key_len), take(key_len));
        let (ci, si) = (take(iv_len), take(iv_len));
        let dir = |key, iv, mac_key| DirKeys {
            suite,
            key,
            iv,
            mac_key,
            seq: 0,
            secret: Vec::new(),
            etm,
        };
        (dir(ck, ci, cm), dir(sk, si, sm))
    }

    fn nonce_xor(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n.copy_from_slice(&self.iv[..12]);
        for (i, b) in self.seq.to_be_bytes().iter().enumerate() {
            n[4 + i] ^= b;
        }
        n
    }

    fn aead_open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), DecryptError> {
        let r = match self.suite.cipher {
            Cipher::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key)
                .map_err(|_| DecryptError::Auth)?
                .decrypt_in_place(&Nonce::<Aes128Gcm>::from(*nonce), aad, buf),
            Cipher::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key)
                .map_err(|_| DecryptError::Auth)?
                .decrypt_in_place(&Nonce::<Aes256Gcm>::from(*nonce), aad, buf),
            Cipher::ChaCha => ChaCha20Poly1305::new_from_slice(&self.key)
                .map_err(|_| DecryptError::Auth)?
                .decrypt_in_place(&Nonce::<ChaCha20Poly1305>::from(*nonce), aad, buf),
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => return Err(DecryptError::Auth),
        };
        r.map_err(|_| DecryptError::Auth)
    }

    /// TLS 1.3: decrypt one record (header `hdr`) in place: `buf` holds its body
    /// and then the plaintext (padding removed); returns the inner content type.
    pub fn open13(&mut self, hdr: &[u8; 5], buf: &mut Vec<u8>) -> Result<u8, DecryptError> {
        if buf.len() < 17 {
            return Err(DecryptError::Short);
        }
        let nonce = self.nonce_xor();
        self.aead_open(&nonce, hdr, buf)?;
        self.seq += 1;
        // The inner type is the last non-zero byte; zeros after it are padding.
        let end = buf
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(DecryptError::Auth)?;
        let t = buf[end];
        buf.truncate(end);
        Ok(t)
    }

    /// TLS 1.2: decrypt one record (header `hdr`) in place: `buf` holds its body
    /// and then the plaintext.
    pub fn open12_in_place(
        &mut self,
        hdr: &[u8; 5],
        buf: &mut Vec<u8>,
    ) -> Result<(), DecryptError> {
        match self.suite.cipher {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                if buf.len() < 8 + 16 {
                    return Err(DecryptError::Short);
                }
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(&self.iv[..4]);
                nonce[4..].copy_from_slice(&buf[..8]);
                buf.drain(..8);
                let aad = self.aad12(hdr, buf.len() - 16);
                self.aead_open(&nonce, &aad, buf)?;
            }
            Cipher::ChaCha => {
                if buf.len() < 16 {
                    return Err(DecryptError::Short);
                }
                let nonce = self.nonce_xor();
                let aad = self.aad12(hdr, buf.len() - 16);
                self.aead_open(&nonce, &aad, buf)?;
            }
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => {
                let p = self.open12(hdr, buf)?;
                *buf = p;
                return Ok(());
            }
        }
        self.seq += 1;
        Ok(())
    }

    /// The additional data of a TLS 1.2 AEAD record.
    fn aad12(&self, hdr: &[u8; 5], len: usize) -> [u8; 13] {
        let mut a = [0u8; 13];
        a[..8].copy_from_slice(&self.seq.to_be_bytes());
        a[8..11].copy_from_slice(&hdr[..3]);
        a[11..].copy_from_slice(&(len as u16).to_be_bytes());
        a
    }

    /// TLS 1.2: decrypt one record of content type `ctype` (header `hdr`).
    pub fn open12(&mut self, hdr: &[u8; 5], body: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let seq = self.seq.to_be_bytes();
        let (ctype, ver) = (hdr[0], [hdr[1], hdr[2]]);
        let aad = |len: usize| {
            let mut a = Vec::with_capacity(13);
            a.extend_from_slice(&seq);
            a.push(ctype);
            a.extend_from_slice(&ver);
            a.extend_from_slice(&(len as u16).to_be_bytes());
            a
        };
        let out = match self.suite.cipher {
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                if body.len() < 8 + 16 {
                    return Err(DecryptError::Short);
                }
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(&self.iv[..4]);
                nonce[4..].copy_from_slice(&body[..8]);
                let mut buf = body[8..].to_vec();
                self.aead_open(&nonce, &aad(buf.len() - 16), &mut buf)?;
                buf
            }
            Cipher::ChaCha => {
                if body.len() < 16 {
                    return Err(DecryptError::Short);
                }
                let nonce = self.nonce_xor();
                let mut buf = body.to_vec();
                self.aead_open(&nonce, &aad(buf.len() - 16), &mut buf)?;
                buf
            }
            Cipher::Aes128Cbc | Cipher::Aes256Cbc => self.open_cbc(body, &aad)?,
        };
        self.seq += 1;
        Ok(out)
    }

    fn cbc_decrypt(&self, iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if ct.is_empty() || !ct.len().is_multiple_of(16) {
            return Err(DecryptError::Short);
        }
        let mut buf = ct.to_vec();
        let n = match self.suite.cipher {
            Cipher::Aes128Cbc => cbc::Decryptor::<aes::Aes128>::new_from_slices(&self.key, iv)
                .map_err(|_| DecryptError::Auth)?
                .decrypt_padded::<NoPadding>(&mut buf)
                .map_err(|_| DecryptError::Auth)?
                .len(),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&self.key, iv)
                .map_err(|_| DecryptError::Auth)?
                .decrypt_padded::<NoPadding>(&mut buf)
                .map_err(|_| DecryptError::Auth)?
                .len(),
        };
        buf.truncate(n);
        // TLS padding: the last byte says how many bytes before it pad, each of
        // that value.
        let pad = usize::from(*buf.last().ok_or(DecryptError::Short)?);
        if pad + 1 > buf.len()
            || buf[buf.len() - 1 - pad..]
                .iter()
                .any(|b| usize::from(*b) != pad)
        {
            return Err(DecryptError::Auth);
        }
        buf.truncate(buf.len() - 1 - pad);
        Ok(buf)
    }

    fn open_cbc(
        &self,
        body: &[u8],
        aad: &dyn Fn(usize) -> Vec<u8>,
    ) -> Result<Vec<u8>, DecryptError> {
        let mac = self.suite.mac.ok_or(DecryptError::Auth)?;
        let ml = mac.len();
        if body.len() < 16 + ml {
            return Err(DecryptError::Short);
        }
        let equal = |a: &[u8], b: &[u8]| {
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        };
        if self.etm {
            // Encrypt-then-MAC: the MAC covers the IV and the ciphertext.
            let (enc, tag) = body.split_at(body.len() - ml);
            if !equal(&mac.hmac(&self.mac_key, &[&aad(enc.len()), enc]), tag) {
                return Err(DecryptError::Auth);
            }
            return self.cbc_decrypt(&enc[..16], &enc[16..]);
        }
        let mut pt = self.cbc_decrypt(&body[..16], &body[16..])?;
        if pt.len() < ml {
            return Err(DecryptError::Auth);
        }
        let tag = pt.split_off(pt.len() - ml);
        if !equal(&mac.hmac(&self.mac_key, &[&aad(pt.len()), &pt]), &tag) {
            return Err(DecryptError::Auth);
        }
        Ok(pt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hkdf_expand_label_gives_rfc8448_keys() {
        // RFC 8448 §3 (simple 1-RTT handshake): the server's handshake traffic
        // secret and the key and IV derived from it.
        let secret = unhex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let s = Suite::from_id(0x1301, true).unwrap();
        let k = DirKeys::tls13(s, &secret).unwrap();
        assert_eq!(
            k.key,
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(k.iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    #[test]
    fn prf_matches_a_known_tls12_vector() {
        // The widely used TLS 1.2 PRF (SHA-256) test vector (from the IETF TLS
        // working group's list).
        let secret = unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = prf(Hash::Sha256, &secret, b"test label", &[&seed], 100);
        assert_eq!(
            &out[..16],
            &unhex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53")[..]
        );
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn a_tampered_record_is_refused_not_passed_on() {
        // Encrypt with the same construction, then flip a bit.
        let s = Suite::from_id(0x1301, true).unwrap();
        let mut k = DirKeys::tls13(s, &[7u8; 32]).unwrap();
        let plain = b"RETR file\r\n\x17".to_vec();
        let hdr = [23u8, 3, 3, 0, (plain.len() + 16) as u8];
        let c = Aes128Gcm::new_from_slice(&k.key).unwrap();
        let mut buf = plain.clone();
        c.encrypt_in_place(&Nonce::<Aes128Gcm>::from(k.nonce_xor()), &hdr, &mut buf)
            .unwrap();
        let mut bad = buf.clone();
        bad[3] ^= 1;
        let mut k2 = k.clone();
        assert_eq!(k2.open13(&hdr, &mut bad), Err(DecryptError::Auth));
        let mut short = buf[..10].to_vec();
        let mut p = buf.clone();
        let t = k.open13(&hdr, &mut p).unwrap();
        assert_eq!((t, p.as_slice()), (23, &b"RETR file\r\n"[..]));
        assert_eq!(k.seq, 1);
        assert_eq!(k.open13(&hdr, &mut short), Err(DecryptError::Short));
    }
}
