//! Captures that start late: tcpdump started in the middle of a session or of a
//! transfer. Each case is a lab capture cut here, as `editcap -r FILE OUT N-`
//! would, so the first packets (the login, the PASV or PORT, a SYN) are gone; what
//! is left must still be read as an expert reads it. Found by cutting every lab
//! capture at a quarter, half and three quarters (the audit in the stop note of
//! 2026-12-08).

mod common;

use common::edit::{assert_has, assert_lacks, finding_ids};

use ftpscope::model::{Capture, Severity};

fn analyse(name: &str, first: usize) -> Capture {
    ftpscope::engine::analyze_reader(
        std::io::Cursor::new(common::edit::keep_packets(name, |n| n >= first)),
        Default::default(),
        None,
    )
    .unwrap()
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
        .unwrap_or_else(|| panic!("{:?}", finding_ids(&c)));
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
    assert_has(&c, "transfer-incomplete", Severity::Error);
}

/// The first line of the capture is the server's "200 PORT command successful":
/// the PORT was sent before it, so the 425 that follows is no transfer without a
/// data-connection setup.
#[test]
fn a_setup_reply_at_the_capture_start_counts_as_the_setup() {
    let c = analyse("icmp-rejected.pcap", 62);
    assert_eq!(c.sessions[0].exchanges[0].replies[0].code, 200);
    assert_lacks(&c, "data-setup-missing");
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
    assert_has(&c, "passive-data-refused", Severity::Error);
}

/// The capture began during a long download: the control connection shows only
/// an ACK, then the client's FIN and the server's reset, 10 s after the data
/// ended without a 226. The idle control connection is still the session, its
/// running data connection is claimed, and the NAT idle timeout is said as in
/// the whole capture.
#[test]
fn an_idle_control_connection_during_a_transfer_is_still_its_session() {
    let c = analyse("slow-nat-idle-timeout.pcap", 105);
    assert_eq!(c.sessions.len(), 1, "{:?}", finding_ids(&c));
    let s = &c.sessions[0];
    assert!(s.capture.mid_session);
    assert!(s.exchanges.is_empty());
    assert_eq!(s.closed, ftpscope::model::Closed::RstByServer);
    assert_eq!(s.data_channels.len(), 1);
    assert_eq!(s.data_channels[0].via, ftpscope::model::Via::Unseen);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "control-idle-timeout-during-transfer")
        .unwrap_or_else(|| panic!("{:?}", finding_ids(&c)));
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.summary.en.contains("begun before the capture"),
        "{}",
        f.summary.en
    );
}

/// The capture began during a download the client then aborted: ABOR, the
/// server's FIN, 426 and 226. The transfer is aborted, not completed.
#[test]
fn an_abort_of_a_transfer_begun_before_the_capture_is_an_abort() {
    let c = analyse("aborted-download.pcap", 218);
    let s = &c.sessions[0];
    let d = &s.data_channels[0];
    assert_eq!(d.via, ftpscope::model::Via::Unseen);
    assert_eq!(d.outcome, ftpscope::model::Outcome::Aborted);
    let x = &s.exchanges[d.command_exchange.unwrap()];
    assert_eq!(x.verb(), Some("ABOR"));
    let codes: Vec<u16> = x.replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [426, 226], "the transfer's 426, then ABOR's 226");
    assert_has(&c, "transfer-aborted", Severity::Warning);
}

/// pure-ftpd over TLS closes the file's data connection first (FIN) and resets
/// the client's late close_notify. Cut so that the connection is not followed as
/// TLS, the reset after the sender's own FIN is still no failed transfer.
#[test]
fn a_reset_after_the_senders_own_fin_is_no_failure() {
    let c = analyse("ftps-pureftpd.pcap", 89);
    let d = &c.sessions[0].data_channels[0];
    assert_eq!(d.outcome, ftpscope::model::Outcome::Completed);
    assert_eq!(d.ended_by, Some(ftpscope::model::EndedBy::RstByServer));
    assert_lacks(&c, "transfer-incomplete");
}

/// Data connections opened in the capture whose PASV, EPSV or EPRT was before it
/// (the SYN, or only the SYN-ACK, first in the capture; the control connection's
/// first line after it): each is its session's and its transfer's.
#[test]
fn a_data_connection_opened_after_its_lost_announcement_is_claimed() {
    use ftpscope::model::{DataMode, Outcome};
    // name, first packet, verb, bytes, mode
    for (name, first, verb, bytes, mode) in [
        ("pasv-ipv6-vsftpd.pcap", 19, "LIST", 64, DataMode::Passive),
        ("capture-gap.pcap", 22, "RETR", 40_960, DataMode::Passive),
        ("eprt-ipv6.pcap", 41, "RETR", 102_400, DataMode::Active),
        ("nflog.pcap", 35, "RETR", 20_000, DataMode::Passive),
    ] {
        let c = analyse(name, first);
        let s = &c.sessions[0];
        let d = s
            .data_channels
            .iter()
            .find(|d| d.via == ftpscope::model::Via::Unseen)
            .unwrap_or_else(|| panic!("{name}: {:?}", s.data_channels));
        assert_eq!(d.command.as_deref(), Some(verb), "{name}");
        assert_eq!(d.bytes, bytes, "{name}");
        assert_eq!(d.mode, mode, "{name}");
        assert_eq!(d.outcome, Outcome::Completed, "{name}");
    }
    // The connection was accepted, then carried nothing: the RETR's file never
    // came (a path-MTU black hole in the whole capture).
    let c = analyse("slow-pmtu-blackhole-offload-client.pcap", 17);
    let d = &c.sessions[0].data_channels[0];
    assert_eq!(d.command.as_deref(), Some("RETR"));
    assert_ne!(d.outcome, Outcome::Unanswered);
    assert_has(&c, "transfer-incomplete", Severity::Error);
}

/// The capture began with the client's ClientHello on the control connection (its
/// AUTH TLS before the capture) and vsftpd's "500 OOPS: ... alert unknown ca": a
/// failed handshake, not a client that did not start TLS.
#[test]
fn a_failed_tls_handshake_seen_mid_way_is_no_missing_tls() {
    let c = analyse("ftps-cert-fail.pcap", 11);
    assert_has(&c, "tls-handshake-failed", Severity::Error);
    assert_lacks(&c, "tls-required");
}

/// Sessions of a password guesser seen from their middle, each opening with a lone
/// "530 Login incorrect.": each has its failed login said, and the capture the
/// guessing.
#[test]
fn a_lone_login_refusal_is_a_failed_login() {
    let c = analyse("bruteforce-local.pcap", 71);
    let failed: Vec<_> = c
        .sessions
        .iter()
        .filter(|s| s.login == ftpscope::model::Login::Failed)
        .collect();
    assert!(failed.len() >= 3, "{}", failed.len());
    for s in failed {
        assert!(
            s.findings.iter().any(|f| f.id == "login-failed"),
            "session {}: {:?}",
            s.id,
            s.findings.iter().map(|f| f.id).collect::<Vec<_>>()
        );
    }
}

/// A control connection on port 2121 joined mid-way: its first line is a 226 (no
/// greeting, no USER), a reply only FTP sends, so it is found by its content, and
/// its running data connection with it.
#[test]
fn a_control_connection_on_another_port_joined_mid_way_is_found_by_content() {
    for first in [32, 64, 96] {
        let c = analyse("ftp-port-2121.pcap", first);
        assert_eq!(c.sessions.len(), 1, "from {first}");
        let s = &c.sessions[0];
        assert_eq!(s.server.port(), 2121);
        assert_eq!(s.detected_by, ftpscope::model::DetectedBy::Content);
        assert_eq!(s.data_channels.len(), 1, "from {first}");
        assert_eq!(
            s.data_channels[0].outcome,
            ftpscope::model::Outcome::Completed
        );
    }
}

/// The capture began while the client's SYNs to the passive port went unanswered
/// (a firewall dropping them; the PASV and 227 before the capture): the attempt is
/// still judged.
#[test]
fn an_unanswered_data_connection_whose_pasv_was_before_the_capture_is_judged() {
    let c = analyse("passive-dropped.pcap", 20);
    let f = c.sessions[0]
        .findings
        .iter()
        .find(|f| f.id == "passive-data-unanswered")
        .unwrap_or_else(|| panic!("{:?}", finding_ids(&c)));
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.en.contains("PASV/EPSV"), "{}", f.summary.en);
}

/// Only the client's side of the control connection is in the capture, joined
/// mid-way: the data connection the client closed after no byte cannot be judged
/// (the server's side of it is not in the capture either).
#[test]
fn a_one_sided_capture_joined_mid_way_judges_no_transfer() {
    let c = analyse("capture-one-sided.pcap", 13);
    assert!(
        !finding_ids(&c)
            .iter()
            .any(|(_, sev)| *sev == Severity::Error),
        "{:?}",
        finding_ids(&c)
    );
}
