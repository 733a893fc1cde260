//! Captures that start late: tcpdump started in the middle of a session or of a
//! transfer. Each case is a lab capture cut here, as `editcap -r FILE OUT N-`
//! would, so the first packets (the login, the PASV or PORT, a SYN) are gone; what
//! is left must still be read as an expert reads it. Found by cutting every lab
//! capture at a quarter, half and three quarters (the audit in the stop note of
//! 2026-12-08).

use std::path::Path;

use ftpscope::model::{Capture, Severity};

/// The capture `name` from packet `first` on (1-based), as a pcap file in memory.
fn cut(name: &str, first: usize) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    let b = std::fs::read(&path).expect("a lab capture");
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let le = matches!(magic, 0xa1b2_c3d4 | 0xa1b2_3c4d);
    assert!(le || magic.swap_bytes() == 0xa1b2_c3d4 || magic.swap_bytes() == 0xa1b2_3c4d);
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let mut out = b[..24].to_vec();
    let (mut at, mut n) = (24, 1);
    while at + 16 <= b.len() {
        let len = 16 + u32_at(at + 8) as usize;
        if n >= first {
            out.extend_from_slice(&b[at..at + len]);
        }
        at += len;
        n += 1;
    }
    out
}

fn analyse(name: &str, first: usize) -> Capture {
    ftpscope::engine::analyze_reader(
        std::io::Cursor::new(cut(name, first)),
        Default::default(),
        None,
    )
    .unwrap()
}

fn ids(c: &Capture) -> Vec<(&'static str, Severity)> {
    c.sessions
        .iter()
        .flat_map(|s| &s.findings)
        .chain(&c.findings)
        .map(|f| (f.id, f.severity))
        .collect()
}

/// An upload that failed on a full disk, the capture started after its STOR:
/// the data connection running at the start is the session's, the 451 its end,
/// and the failure is said with the storage remedy as in the whole capture.
#[test]
fn a_failed_upload_begun_before_the_capture_is_still_a_failure() {
    let c = analyse("upload-disk-full.pcap", 52);
    let s = &c.sessions[0];
    assert!(s.capture.mid_session);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "transfer-incomplete")
        .unwrap_or_else(|| panic!("{:?}", ids(&c)));
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.en.contains("451"), "{}", f.summary.en);
    assert!(f.remedy.en.contains("disk"), "{}", f.remedy.en);
    let d = &s.data_channels[0];
    assert_eq!(d.via, ftpscope::model::Via::Unseen);
    assert_eq!(d.direction, Some(ftpscope::model::Direction::Upload));
}

/// A download the client stopped reading (426), the capture started mid-transfer.
#[test]
fn a_reset_download_begun_before_the_capture_is_still_a_failure() {
    let c = analyse("client-stopped.pcap", 63);
    assert!(
        ids(&c).contains(&("transfer-incomplete", Severity::Error)),
        "{:?}",
        ids(&c)
    );
}

/// The first line of the capture is the server's "200 PORT command successful":
/// the PORT was sent before it, so the 425 that follows is no transfer without a
/// data-connection setup.
#[test]
fn a_setup_reply_at_the_capture_start_counts_as_the_setup() {
    let c = analyse("icmp-rejected.pcap", 62);
    assert_eq!(c.sessions[0].exchanges[0].replies[0].code, 200);
    assert!(
        !ids(&c).iter().any(|(id, _)| *id == "data-setup-missing"),
        "{:?}",
        ids(&c)
    );
}

/// The capture starts after the PASV, with the data connection already running:
/// the RETR that is in the capture is that connection's transfer.
#[test]
fn a_transfer_command_in_the_capture_takes_the_running_connection() {
    let c = analyse("tls-not-offered.pcap", 40);
    let s = &c.sessions[0];
    let d = s
        .data_channels
        .iter()
        .find(|d| d.via == ftpscope::model::Via::Unseen)
        .expect("the running data connection");
    assert_eq!(d.command.as_deref(), Some("RETR"));
    assert_eq!(d.bytes, 20_000);
    assert_eq!(d.outcome, ftpscope::model::Outcome::Completed);
    assert_eq!(
        s.exchanges[d.command_exchange.unwrap()].verb(),
        Some("RETR")
    );
}

/// The capture starts with the server's 227 (its PASV cut off), then the client's
/// SYN to that port refused: the 227 still announces, and the refusal is said.
#[test]
fn a_227_at_the_capture_start_still_announces() {
    let c = analyse("passive-refused.pcap", 18);
    let s = &c.sessions[0];
    assert_eq!(s.exchanges[0].replies[0].code, 227);
    assert!(
        ids(&c).contains(&("passive-data-refused", Severity::Error)),
        "{:?}",
        ids(&c)
    );
}
