//! Lab captures edited in memory, as `editcap` would: packets kept by their
//! number (1-based, as tshark and editcap count them), every other block kept.

use std::path::Path;

/// The lab capture `name` (in `captures/`) with only the packets `keep` accepts,
/// pcap or pcapng as the file is.
pub fn keep_packets(name: &str, keep: impl Fn(usize) -> bool) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    let b = std::fs::read(&path).expect("a lab capture");
    if b[0..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        return pcapng(&b, keep);
    }
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let le = matches!(magic, 0xa1b2_c3d4 | 0xa1b2_3c4d);
    assert!(le || magic.swap_bytes() == 0xa1b2_c3d4 || magic.swap_bytes() == 0xa1b2_3c4d);
    let mut out = b[..24].to_vec();
    let (mut at, mut n) = (24, 1);
    while at + 16 <= b.len() {
        let len = 16 + word(&b, at + 8, le) as usize;
        if keep(n) {
            out.extend_from_slice(&b[at..at + len]);
        }
        at += len;
        n += 1;
    }
    out
}

/// pcapng: section header, interfaces and secrets kept, packets filtered.
fn pcapng(b: &[u8], keep: impl Fn(usize) -> bool) -> Vec<u8> {
    let le = b[8..12] == [0x4d, 0x3c, 0x2b, 0x1a];
    let (mut out, mut at, mut n) = (Vec::new(), 0, 1);
    while at + 12 <= b.len() {
        let (kind, len) = (word(b, at, le), word(b, at + 4, le) as usize);
        // Enhanced, simple and obsolete packet blocks.
        let packet = matches!(kind, 6 | 3 | 2);
        if !packet || keep(n) {
            out.extend_from_slice(&b[at..at + len]);
        }
        n += usize::from(packet);
        at += len;
    }
    out
}

/// The 32-bit word at `at`, little-endian or not.
fn word(b: &[u8], at: usize, le: bool) -> u32 {
    let w: [u8; 4] = b[at..at + 4].try_into().unwrap();
    if le {
        u32::from_le_bytes(w)
    } else {
        u32::from_be_bytes(w)
    }
}

/// The findings of a capture (each session's, then the capture's), as (id, severity).
pub fn finding_ids(c: &ftpscope::model::Capture) -> Vec<(&'static str, ftpscope::model::Severity)> {
    c.sessions
        .iter()
        .flat_map(|s| &s.findings)
        .chain(&c.findings)
        .map(|f| (f.id, f.severity))
        .collect()
}

/// The capture has finding `id` with `severity`.
pub fn assert_has(c: &ftpscope::model::Capture, id: &str, severity: ftpscope::model::Severity) {
    assert!(
        finding_ids(c).contains(&(id, severity)),
        "{id}: {:?}",
        finding_ids(c)
    );
}

/// The capture has no finding `id`.
pub fn assert_lacks(c: &ftpscope::model::Capture, id: &str) {
    assert!(
        !finding_ids(c).iter().any(|(i, _)| *i == id),
        "{id}: {:?}",
        finding_ids(c)
    );
}
