//! Captures that lost packets (tcpdump drops under load, a SPAN port over
//! capacity): lab captures with frames removed here, as `editcap FILE OUT N...`
//! would. What is left must be read as an expert reads it: no problem invented
//! from the loss, and the capture's real problem still said where the remaining
//! packets show it. Found by dropping packets from every lab capture (the audit in
//! the stop note of 2026-12-08).

mod common;

use common::edit::{assert_has, assert_lacks};

use ftpscope::model::{Capture, Outcome, Severity};

/// The lab capture `name` without the packets `dropped` (1-based frame numbers).
fn analyse(name: &str, dropped: &[usize]) -> Capture {
    ftpscope::engine::analyze_reader(
        std::io::Cursor::new(common::edit::keep_packets(name, |n| !dropped.contains(&n))),
        Default::default(),
        None,
    )
    .unwrap()
}

/// The reply to the one command waiting was lost, and the client sent its next
/// command after acknowledging the lost bytes: the replies that follow are that
/// command's and later ones', not shifted onto the command before.
#[test]
fn a_lost_reply_does_not_shift_the_replies_after_it() {
    // The 331 to USER lost: PASS gets the 230, PORT its 500.
    let c = analyse("port-third-host.pcap", &[10]);
    let s = &c.sessions[0];
    let reply = |verb: &str| {
        s.exchanges
            .iter()
            .find(|x| x.verb() == Some(verb))
            .and_then(|x| x.final_reply())
            .map(|r| r.code)
    };
    assert_eq!(reply("USER"), None);
    assert_eq!(reply("PASS"), Some(230));
    assert_lacks(&c, "command-unsupported");
    // The 230 of the second session lost: the 425 goes to the PASV, not to PASS,
    // and the login is not called failed.
    let c = analyse("passive-ports-busy.pcap", &[28]);
    assert!(
        c.sessions
            .iter()
            .all(|s| s.login != ftpscope::model::Login::Failed),
        "{:?}",
        c.sessions.iter().map(|s| s.login).collect::<Vec<_>>()
    );
    assert_has(&c, "data-setup-refused", Severity::Error);
    // The 200 to PORT lost: the PORT still counts as accepted (the client went on
    // to RETR), and the server's failure to connect back is said.
    let c = analyse("nat-client-active-client-side.pcap", &[18]);
    assert_has(&c, "active-data-failed", Severity::Error);
    assert_has(&c, "active-private-address", Severity::Error);
}

/// The 227 (or the PASV) lost: the data connection opened right after it between
/// the session's hosts is still the session's, and what happened to it is said.
#[test]
fn a_data_connection_whose_announcement_was_lost_is_still_judged() {
    let c = analyse("passive-dropped.pcap", &[18]);
    assert_has(&c, "passive-data-unanswered", Severity::Error);
    let c = analyse("passive-refused.pcap", &[18]);
    assert_has(&c, "passive-data-refused", Severity::Error);
    let c = analyse("slow-pmtu-icmp-filtered.pcap", &[17]);
    assert_has(&c, "transfer-pmtu-blackhole", Severity::Error);
    // The STOR lost: its 150, the upload and the 451 still make a failed upload.
    let c = analyse("upload-disk-full.pcap", &[24]);
    assert_has(&c, "transfer-incomplete", Severity::Error);
}

/// The final reply lost in a gap: the transfer is not judged from how TCP closed
/// alone (a client's reset after every announced byte and the server's FIN is no
/// failure), and the channel says the server's verdict is unknown.
#[test]
fn a_transfer_whose_final_reply_was_lost_is_not_called_failed() {
    let c = analyse("data-close-rst.pcap", &[82]);
    let d = c.sessions[0]
        .data_channels
        .iter()
        .find(|d| d.command.as_deref() == Some("RETR"))
        .unwrap();
    assert_eq!(d.bytes, 50_000);
    assert_eq!(d.outcome, Outcome::Completed);
    assert!(
        d.notes.iter().any(|n| n.en.contains("final reply")),
        "{:?}",
        d.notes
    );
    // The 550 to STOR lost: no "reset after 0 bytes" error.
    let c = analyse("upload-write-disabled.pcap", &[23]);
    assert_lacks(&c, "transfer-incomplete");
}

/// FTPS without keys: one lost segment of a data connection does not end the
/// count of its TLS records, so a connection that carried a file is not "no file
/// data" (no false `tls-session-reuse-required`), and its close_notify is still
/// seen (no false `tls-unclean-shutdown`).
#[test]
fn a_lost_tls_segment_does_not_end_the_record_count() {
    let c = analyse("ftps-pureftpd.pcap", &[85]);
    assert_lacks(&c, "tls-session-reuse-required");
    let c = analyse("ftps-aborted.pcap", &[50]);
    assert_lacks(&c, "tls-session-reuse-required");
    let c = analyse("auth-tls.pcap", &[82]);
    assert_lacks(&c, "tls-unclean-shutdown");
    // The server's ChangeCipherSpec lost too: its encrypted alert still ends TLS.
    let c = analyse("ftps-cbc-etm.pcap", &[39, 42, 53, 55]);
    assert_lacks(&c, "tls-unclean-shutdown");
}

/// The client's ACK of the data connection's SYN-ACK lost: its next packet, which
/// acknowledges the server's data 300 ms later, is no round trip, so no window
/// ceiling is computed from it (it gave a false `transfer-window-limited`).
#[test]
fn a_lost_handshake_ack_gives_no_round_trip() {
    let c = analyse("slow-healthy.pcap", &[22]);
    assert_lacks(&c, "transfer-window-limited");
    let d = &c.sessions[0].data_channels[0];
    let t = d.tcp.as_deref().unwrap();
    assert!(t.rtt_ms.is_none_or(|r| r < 150.0), "{:?}", t.rtt_ms);
    // The whole capture: the round trip of about 100 ms.
    let whole = analyse("slow-healthy.pcap", &[]);
    let rtt = whole.sessions[0].data_channels[0]
        .tcp
        .as_deref()
        .unwrap()
        .rtt_ms;
    assert!(rtt.is_some_and(|r| (95.0..110.0).contains(&r)), "{rtt:?}");
}

/// A gap after the slow greeting (the 230 lost, 5 s later) says nothing of the
/// 5 s the server took to greet: the slow reply is still said.
#[test]
fn a_gap_elsewhere_leaves_a_slow_reply_said() {
    let c = analyse("slow-greeting-dns.pcap", &[13]);
    assert_has(&c, "control-slow-reply", Severity::Warning);
}

/// The 234 and the client's ClientHello both lost: the server's TLS hello with
/// AUTH waiting says the session went encrypted, so ciphertext is never read as
/// replies (it gave `reply-invalid` with escaped binary) and the clear data
/// connection under PROT C is still said.
#[test]
fn a_tls_start_whose_234_and_client_hello_were_lost_is_still_tls() {
    let c = analyse("ftps-prot-c.pcap", &[10, 11]);
    assert_lacks(&c, "reply-invalid");
    assert_has(&c, "tls-data-unprotected", Severity::Warning);
    assert!(c.sessions[0].tls);
}
