//! Rules on dialogues fed to the tracker through [`ConnSink`], each where it must
//! fire and where it must not.

use std::net::SocketAddr;

use crate::model::{Certainty, DataVisibility, Outcome, Session, Severity};
use crate::session::{Tracker, TrackerConfig, bytes_in_226, type_in_reply};
use crate::tcp::{ConnEvent, ConnInfo, ConnSink, Dir, Meta};
use crate::time::Ts;

fn meta(t: i64) -> Meta {
    Meta {
        ts: Ts(t * 1_000_000),
        frame: t as u64,
    }
}

/// One control session from 10.0.0.2 to `server`:21 with these lines ('>' from
/// the client, '<' from the server), one line per millisecond. `other` adds a
/// non-TCP packet first (the capture was not filtered to port 21).
fn dialogue(server: [u8; 4], lines: &[&str], other: bool) -> Session {
    let timed: Vec<(i64, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i as i64 + 1, *l))
        .collect();
    session_at(server, &timed, other)
}

/// [`dialogue`] with each line at its own time in milliseconds (the connection
/// opens at 0 ms).
fn session_at(server: [u8; 4], lines: &[(i64, &str)], other: bool) -> Session {
    let mut t = Tracker::new(TrackerConfig::default());
    if other {
        t.note_other_packet();
    }
    let c = ConnInfo {
        id: 1,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40000)),
        responder: SocketAddr::from((server, 21)),
        handshake_seen: true,
    };
    t.open(meta(0), &c);
    t.event(meta(0), 1, ConnEvent::Accepted);
    for (ms, l) in lines {
        let (dir, text) = match l.split_at(1) {
            (">", rest) => (Dir::FromInitiator, rest),
            (_, rest) => (Dir::FromResponder, rest),
        };
        let bytes = format!("{text}\r\n");
        t.event(
            meta(*ms),
            1,
            ConnEvent::Data {
                dir,
                bytes: bytes.as_bytes(),
            },
        );
    }
    t.finish();
    t.take_finished().remove(0)
}

fn ids(s: &Session) -> Vec<&'static str> {
    s.findings.iter().map(|f| f.id).collect()
}

const LOGIN: [&str; 5] = ["<220 hi", ">USER u", "<331 pw", ">PASS p", "<230 ok"];

fn with_login(rest: &[&'static str]) -> Vec<&'static str> {
    LOGIN.iter().chain(rest).copied().collect()
}

#[test]
fn control_only_transfer_is_completed_per_replies() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">RETR f.bin",
            "<150 Opening BINARY mode data connection for f.bin (1000 bytes).",
            "<226 Transfer complete (1,000 bytes).",
        ]),
        false,
    );
    assert_eq!(s.coverage.data_visible, DataVisibility::Unknown);
    let d = &s.data_channels[0];
    assert_eq!(d.outcome, Outcome::CompletedPerReplies);
    assert_eq!(d.bytes_per_replies, Some(1000));
    assert_eq!(
        d.type_per_replies,
        Some(crate::model::Representation::Binary)
    );
    assert!(!ids(&s).contains(&"passive-data-not-attempted"));
    let info = s
        .findings
        .iter()
        .find(|f| f.id == "capture-control-only")
        .expect("says what cannot be known");
    assert_eq!(info.certainty, Certainty::CannotKnow);
}

#[test]
fn not_attempted_only_where_the_capture_would_show_it() {
    let lines = with_login(&[
        ">PASV",
        "<227 Entering Passive Mode (10,0,0,1,156,65).",
        ">RETR f.bin",
        "<425 Failed to establish connection.",
    ]);
    // The capture holds other traffic: nobody connected.
    let s = dialogue([10, 0, 0, 1], &lines, true);
    assert_eq!(s.data_channels[0].outcome, Outcome::NotAttempted);
    assert!(ids(&s).contains(&"passive-data-not-attempted"));
    // Control traffic only: the 425 is the evidence, not the absence.
    let s = dialogue([10, 0, 0, 1], &lines, false);
    assert_eq!(s.data_channels[0].outcome, Outcome::FailedPerReplies);
    assert!(!ids(&s).contains(&"passive-data-not-attempted"));
    assert!(ids(&s).contains(&"data-connection-failed"));
}

#[test]
fn missing_file_is_reported_as_what_the_reply_says() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">RETR nope.txt",
            "<550 nope.txt: No such file or directory",
        ]),
        true,
    );
    assert_eq!(s.data_channels[0].outcome, Outcome::CommandFailed);
    assert_eq!(ids(&s), ["file-unavailable"]);
    assert_eq!(s.findings[0].severity, Severity::Warning);
    // A listing of an empty directory is no more than an info.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">NLST",
            "<550 No files found",
        ]),
        true,
    );
    assert_eq!(s.findings[0].severity, Severity::Info);
}

#[test]
fn other_refusals_are_transfer_refused() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">STOR big.iso",
            "<552 Disk full",
        ]),
        true,
    );
    assert_eq!(ids(&s), ["transfer-refused"]);
}

#[test]
fn illegal_port_is_not_unsupported() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[">PORT 10,0,0,9,200,10", "<500 Illegal PORT command."]),
        true,
    );
    assert!(!ids(&s).contains(&"command-unsupported"), "{:?}", ids(&s));
}

#[test]
fn repeated_findings_are_one_with_a_count() {
    let mut lines = LOGIN.to_vec();
    for _ in 0..50 {
        lines.extend([
            ">PASV",
            "<227 Entering Passive Mode (203,0,113,7,156,65).",
            ">LIST",
            "<150 Here comes the listing.",
            "<226 Directory send OK.",
        ]);
    }
    // The server (reached at a private address) announces its public one.
    let s = dialogue([10, 0, 0, 1], &lines, false);
    let f: Vec<_> = s
        .findings
        .iter()
        .filter(|f| f.id == "pasv-address-mismatch")
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 50);
    assert_eq!(f[0].exchanges.len(), 50);
    assert_eq!(f[0].severity, Severity::Info);
    // Never: set the passive address to the private one.
    assert!(
        !f[0].remedy.contains("pasv_address=10.0.0.1"),
        "{}",
        f[0].remedy
    );
    // The usual NAT case still says which public address to set.
    let s = dialogue(
        [203, 0, 113, 7],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">LIST",
            "<425 Failed to establish connection.",
        ]),
        true,
    );
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "pasv-address-mismatch")
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.remedy.contains("pasv_address=203.0.113.7"));
}

#[test]
fn bounce_scan_is_named_once() {
    let mut lines = LOGIN.to_vec();
    let cmds: Vec<String> = (0..30)
        .flat_map(|p| {
            [
                format!(">PORT 10,0,0,9,0,{}", 20 + p),
                "<200 PORT command successful.".to_string(),
                ">LIST".to_string(),
                "<425 Can't build data connection.".to_string(),
            ]
        })
        .collect();
    lines.extend(cmds.iter().map(String::as_str));
    let s = dialogue([10, 0, 0, 1], &lines, true);
    assert_eq!(
        s.findings
            .iter()
            .filter(|f| f.id == "port-scan-bounce")
            .count(),
        1
    );
    assert!(!ids(&s).contains(&"bounce-port"));
    assert!(!ids(&s).contains(&"active-data-failed"));
    // A few PORTs to another host are not a scan.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[">PORT 10,0,0,9,0,20", "<200 PORT command successful."]),
        true,
    );
    assert!(!ids(&s).contains(&"port-scan-bounce"));
    assert!(ids(&s).contains(&"bounce-port"));
}

#[test]
fn ascii_findings_need_evidence() {
    // No TYPE seen, the server says BINARY: no ASCII finding.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">STOR photo.jpg",
            "<150 Opening BINARY mode data connection for photo.jpg.",
            "<226 Transfer complete.",
        ]),
        false,
    );
    assert!(
        !ids(&s).iter().any(|i| i.starts_with("ascii")),
        "{:?}",
        ids(&s)
    );
    // The server's warning about bare linefeeds is evidence.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">TYPE A",
            "<200 Switching to ASCII mode.",
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">STOR a.bin",
            "<150 Ok to send data.",
            "<226-WARNING! 381 bare linefeeds received in ASCII mode",
            "<226 File successfully transferred",
        ]),
        false,
    );
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "ascii-mode-bare-lf")
        .expect("bare LF warning");
    assert!(f.summary.contains("381"));
}

#[test]
fn unsolicited_227_is_not_an_announcement() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[">QUIT", "<221 Goodbye.", "<227 Logout."]),
        true,
    );
    assert!(s.data_channels.is_empty());
}

#[test]
fn tls_records_mid_session_are_not_commands() {
    let mut t = Tracker::new(TrackerConfig::default());
    let c = ConnInfo {
        id: 1,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40000)),
        responder: SocketAddr::from(([10, 0, 0, 1], 21)),
        handshake_seen: false,
    };
    t.open(meta(0), &c);
    let rec = [0x17, 0x03, 0x03, 0x00, 0x05, b'U', b'S', b'E', b'R', b' '];
    for (i, dir) in [Dir::FromInitiator, Dir::FromResponder]
        .into_iter()
        .enumerate()
    {
        t.event(meta(i as i64), 1, ConnEvent::Data { dir, bytes: &rec });
    }
    t.finish();
    let s = t.take_finished().remove(0);
    assert!(s.exchanges.is_empty(), "{:?}", s.exchanges);
    assert!(ids(&s).contains(&"control-encrypted"));
}

#[test]
fn reply_byte_counts_and_types() {
    assert_eq!(
        bytes_in_226(b"Transfer complete (39695 bytes)"),
        Some(39695)
    );
    assert_eq!(
        bytes_in_226(b"Closing data connection, sent 1,234 bytes"),
        Some(1234)
    );
    assert_eq!(bytes_in_226(b"0.1 seconds, 12.3 Mbytes per second"), None);
    assert_eq!(bytes_in_226(b"12,34 bytes"), None);
    assert_eq!(bytes_in_226(b"Transfer complete."), None);
    assert_eq!(
        type_in_reply(b"Opening BINARY mode data connection"),
        Some(crate::model::Representation::Binary)
    );
    assert_eq!(
        type_in_reply(b"Opening ASCII mode data connection"),
        Some(crate::model::Representation::Ascii)
    );
    assert_eq!(type_in_reply(b"Ok to send data."), None);
}

mod capture_drops {
    use crate::diagnose::capture_drops;
    use crate::model::{CaptureDrops, DropInterval, Severity};
    use crate::time::Ts;

    fn drops(dropped: u64, if_dropped: u64) -> CaptureDrops {
        CaptureDrops {
            interface: "eth0".into(),
            filter: "tcp".into(),
            packets: 9_900,
            kernel_received: 10_000,
            kernel_dropped: dropped,
            interface_dropped: if_dropped,
            ..CaptureDrops::default()
        }
    }

    fn interval(i: i64) -> DropInterval {
        DropInterval {
            from: Ts(i * 1_000_000_000),
            to: Ts((i + 1) * 1_000_000_000),
            dropped: 5,
            frame: 100 * i as u64,
            packets_per_sec: 250_000.0,
        }
    }

    #[test]
    fn no_drops_no_finding() {
        assert!(capture_drops(&drops(0, 0)).is_none());
    }

    #[test]
    fn kernel_drops_are_a_warning_with_their_times() {
        let mut d = drops(100, 0);
        d.intervals = vec![interval(1), interval(2)];
        d.more_intervals = 3;
        let f = capture_drops(&d).unwrap();
        assert_eq!(f.id, "capture-drops");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.contains("dropped 100 packets"), "{}", f.summary);
        assert!(f.summary.contains("1.00%"), "{}", f.summary);
        assert_eq!(f.evidence[0].frame, Some(100));
        assert!(
            f.evidence[0].what.contains("250.0 kpkt/s"),
            "{:?}",
            f.evidence
        );
        assert!(f.evidence[2].what.contains("3 more"), "{:?}", f.evidence);
        assert!(f.remedy.contains("host"), "{}", f.remedy);
        assert!(f.remedy.contains("--buffer-size"), "{}", f.remedy);
    }

    #[test]
    fn interface_drops_alone_are_reported_too() {
        let f = capture_drops(&drops(0, 7)).unwrap();
        assert!(f.summary.contains("the interface 7 more"), "{}", f.summary);
    }

    #[test]
    fn drop_intervals_kept_as_evidence_are_bounded() {
        let mut d = drops(100, 0);
        for i in 0..(crate::model::MAX_DROP_EVIDENCE as i64 + 5) {
            d.add_interval(interval(i));
        }
        assert_eq!(d.intervals.len(), crate::model::MAX_DROP_EVIDENCE);
        assert_eq!(d.more_intervals, 5);
    }
}

#[test]
fn a_refused_file_operation_says_whether_the_file_is_missing() {
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">DELE gone.txt",
            "<550 gone.txt: No such file or directory",
            ">RMD docs",
            "<550 docs: Permission denied",
        ]),
        true,
    );
    let refused: Vec<_> = s
        .findings
        .iter()
        .filter(|f| f.id == "file-operation-refused")
        .collect();
    assert_eq!(refused.len(), 2);
    let dele = refused
        .iter()
        .find(|f| f.summary.en.contains("DELE"))
        .unwrap();
    assert!(
        dele.remedy.en.contains("is not there"),
        "{}",
        dele.remedy.en
    );
    let rmd = refused
        .iter()
        .find(|f| f.summary.en.contains("RMD"))
        .unwrap();
    assert!(
        rmd.remedy.en.contains("rights on the server"),
        "{}",
        rmd.remedy.en
    );
}

#[test]
fn tls_required_in_other_servers_words() {
    for refusal in [
        "<534 Policy requires SSL.",
        "<530 This server does not allow plain FTP. You have to use FTP over TLS.",
    ] {
        let s = dialogue([10, 0, 0, 1], &["<220 hi", ">USER u", refusal], true);
        assert_eq!(ids(&s), ["tls-required"], "{refusal}");
        assert_eq!(s.login, crate::model::Login::Failed, "{refusal}");
    }
    // RFC 4217's 521 to a transfer under PROT C: the data protection, not the file.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PROT C",
            "<200 Protection set to Clear",
            ">PASV",
            "<227 Entering Passive Mode (10,0,0,1,156,65).",
            ">RETR a.bin",
            "<521 Data connection cannot be opened with this PROT setting.",
        ]),
        true,
    );
    let found = ids(&s);
    assert!(found.contains(&"tls-required"), "{found:?}");
    assert!(!found.contains(&"transfer-refused"), "{found:?}");
    let f = s.findings.iter().find(|f| f.id == "tls-required").unwrap();
    assert!(f.summary.en.contains("PROT C"), "{}", f.summary.en);
    // A plain 530 is a bad login, not a want of TLS.
    let s = dialogue(
        [10, 0, 0, 1],
        &[
            "<220 hi",
            ">USER u",
            "<331 pw",
            ">PASS p",
            "<530 Login incorrect.",
        ],
        true,
    );
    assert_eq!(ids(&s), ["login-failed"]);
}

#[test]
fn a_refused_data_setup_is_policy_only_when_it_is_no_syntax_or_family_error() {
    // vsftpd with port_enable=NO.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[">PORT 10,0,0,2,200,1", "<550 Permission denied."]),
        true,
    );
    assert!(ids(&s).contains(&"data-setup-refused"), "{:?}", ids(&s));
    // A malformed PORT, or an EPRT of a family the server lacks: not a policy.
    for (cmd, reply) in [
        (">PORT 10,0,0,2,200", "<501 Syntax error in parameters"),
        (
            ">EPRT |2|2001:db8::2|5000|",
            "<522 Network protocol not supported, use (1)",
        ),
    ] {
        let s = dialogue([10, 0, 0, 1], &with_login(&[cmd, reply]), true);
        assert!(
            !ids(&s).contains(&"data-setup-refused"),
            "{cmd}: {:?}",
            ids(&s)
        );
    }
    // The client falls back to another mode that works: info.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">EPSV",
            "<550 Permission denied.",
            ">PORT 10,0,0,2,200,1",
            "<200 PORT command successful.",
        ]),
        true,
    );
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "data-setup-refused")
        .unwrap();
    assert_eq!(f.severity, Severity::Info);
}

#[test]
fn a_port_naming_the_loopback_or_nothing_is_the_clients_own_mistake() {
    for (port, reply) in [
        (">PORT 127,0,0,1,200,1", "<500 Illegal PORT command."),
        (">PORT 0,0,0,0,200,1", "<500 Illegal PORT command."),
        (
            ">PORT 127,0,0,1,200,1",
            "<200 PORT command successful. Consider using PASV.",
        ),
    ] {
        let s = dialogue(
            [203, 0, 113, 1],
            &with_login(&[port, reply, ">LIST", "<425 Failed to establish connection."]),
            true,
        );
        // Not a bounce, and the client did not skip the setup.
        assert_eq!(ids(&s), ["active-local-address"], "{port} {reply}");
        assert_eq!(s.findings[0].severity, Severity::Error);
        assert!(s.findings[0].remedy.en.contains("passive mode"));
    }
    // A client on the server's own host may name the loopback.
    let mut s = dialogue(
        [127, 0, 0, 1],
        &with_login(&[">PORT 127,0,0,1,200,1", "<200 PORT command successful."]),
        true,
    );
    s.client = SocketAddr::from(([127, 0, 0, 1], 40000));
    crate::diagnose::session(&mut s, false);
    assert!(!ids(&s).contains(&"active-local-address"), "{:?}", ids(&s));
}

/// A session with each line at its own time in milliseconds (see [`session_at`]).
fn timed(lines: &[(i64, &str)]) -> Session {
    session_at([10, 0, 0, 1], lines, false)
}

#[test]
fn a_reply_the_server_owed_at_once_and_sent_seconds_later_is_slow() {
    // The greeting 10 s after the connection: two resolver timeouts.
    let s = timed(&[
        (10_005, "<220 hi"),
        (10_010, ">USER u"),
        (10_011, "<331 pw"),
    ]);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "control-slow-reply")
        .unwrap();
    assert!(f.summary.en.contains("greeting"), "{}", f.summary.en);
    assert!(f.remedy.en.contains("2 × 5 s"), "{}", f.remedy.en);
    assert!(
        f.remedy.en.contains("reverse_lookup_enable=NO"),
        "{}",
        f.remedy.en
    );
    // A greeting late because the client's SYNs had to be sent again: the
    // handshake's delay, not the server's.
    let mut t = Tracker::new(TrackerConfig::default());
    let c = ConnInfo {
        id: 1,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40000)),
        responder: SocketAddr::from(([10, 0, 0, 1], 21)),
        handshake_seen: true,
    };
    t.open(meta(0), &c);
    t.event(meta(1_000), 1, ConnEvent::SynRetry);
    t.event(meta(3_000), 1, ConnEvent::SynRetry);
    t.event(meta(7_000), 1, ConnEvent::Accepted);
    t.event(
        meta(7_001),
        1,
        ConnEvent::Data {
            dir: Dir::FromResponder,
            bytes: b"220 hi\r\n",
        },
    );
    t.finish();
    let s = t.take_finished().remove(0);
    assert!(!ids(&s).contains(&"control-slow-reply"), "{:?}", ids(&s));
    // A 230 7 s after PASS: slow, no resolver fingerprint.
    let s = timed(&[
        (1, "<220 hi"),
        (2, ">USER u"),
        (3, "<331 pw"),
        (4, ">PASS p"),
        (7_004, "<230 ok"),
    ]);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "control-slow-reply")
        .unwrap();
    assert!(f.summary.en.contains("PASS"), "{}", f.summary.en);
    assert!(!f.remedy.en.contains("× 5 s"), "{}", f.remedy.en);
    // What is not owed at once: a refused login (delayed on purpose), a transfer's
    // final reply, a command sent while the server was busy with the one before.
    let s = timed(&[
        (1, "<220 hi"),
        (2, ">USER u"),
        (3, "<331 pw"),
        (4, ">PASS p"),
        (10_004, "<530 no"),
        (10_005, ">USER u"),
        (10_006, "<331 pw"),
        (10_007, ">PASS q"),
        (10_008, "<230 ok"),
        (10_009, ">PASV"),
        (10_010, "<227 Entering Passive Mode (10,0,0,1,156,65)."),
        (10_011, ">RETR big"),
        (10_012, "<150 here"),
        (70_000, "<226 done"),
        (70_001, ">PWD"),
        (70_002, ">CWD x"),
        (70_003, "<257 \"/\""),
        (70_004, "<250 ok"),
    ]);
    assert!(!ids(&s).contains(&"control-slow-reply"), "{:?}", ids(&s));
    let s = timed(&[
        (1, "<220 hi"),
        (2, ">PWD"),
        (3, ">CWD x"),
        (8_000, "<257 \"/\""),
        (8_001, "<250 ok"),
    ]);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "control-slow-reply")
        .unwrap();
    assert_eq!(f.exchanges.len(), 1, "only the PWD was owed at once");
}

/// A PORT naming a private address of another private network than the one the
/// control connection comes from (a container's 172.17.0.2 or a home network's
/// 192.168.1.5 seen through a NAT as 10.0.0.2): the NAT translated the control
/// connection, not the address; active mode cannot work. In the same private
/// network, or when the announced host did take the data connection, it is a
/// real third host (bounce-port, as before).
#[test]
fn a_port_to_another_private_network_is_nat_not_bounce() {
    for (p, r) in [
        (">PORT 192,168,1,5,200,10", "<500 Illegal PORT command."),
        (
            ">PORT 172,17,0,2,200,10",
            "<425 Can't open data connection.",
        ),
        (">EPRT |1|192.168.1.5|51210|", "<500 Illegal EPRT command."),
    ] {
        let s = dialogue(
            [10, 0, 0, 1],
            &with_login(&[p, r, ">QUIT", "<221 bye"]),
            true,
        );
        let f = s
            .findings
            .iter()
            .find(|f| f.id == "active-private-address")
            .unwrap_or_else(|| panic!("{p} / {r}: {:?}", ids(&s)));
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.certainty, Certainty::Inferred);
        assert!(
            f.summary.en.contains("NAT between them"),
            "{}",
            f.summary.en
        );
        assert!(f.remedy.en.contains("passive mode"), "{}", f.remedy.en);
        // Neither a bounce nor an unsupported EPRT ("Illegal" is about the address).
        assert!(!ids(&s).contains(&"bounce-port"), "{p}: {:?}", ids(&s));
        assert!(
            !ids(&s).contains(&"command-unsupported"),
            "{p}: {:?}",
            ids(&s)
        );
    }
    // Same private network: a third host.
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PORT 10,1,2,3,200,10",
            "<500 Illegal PORT command.",
            ">QUIT",
            "<221 bye",
        ]),
        true,
    );
    assert!(ids(&s).contains(&"bounce-port"), "{:?}", ids(&s));
    assert!(
        !ids(&s).contains(&"active-private-address"),
        "{:?}",
        ids(&s)
    );
    // The announced host of another private network took the data connection and
    // the listing came: it was reachable, so a deliberate third host.
    let mut t = Tracker::new(TrackerConfig::default());
    let control = ConnInfo {
        id: 1,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40000)),
        responder: SocketAddr::from(([10, 0, 0, 1], 21)),
        handshake_seen: true,
    };
    t.open(meta(0), &control);
    t.event(meta(0), 1, ConnEvent::Accepted);
    let line = |t: &mut Tracker, ms: i64, l: &str| {
        let (dir, text) = match l.split_at(1) {
            (">", rest) => (Dir::FromInitiator, rest),
            (_, rest) => (Dir::FromResponder, rest),
        };
        let bytes = format!("{text}\r\n");
        t.event(
            meta(ms),
            1,
            ConnEvent::Data {
                dir,
                bytes: bytes.as_bytes(),
            },
        );
    };
    for (i, l) in with_login(&[
        ">PORT 192,168,1,5,200,10",
        "<200 PORT command successful.",
        ">LIST",
    ])
    .iter()
    .enumerate()
    {
        line(&mut t, i as i64 + 1, l);
    }
    let data = ConnInfo {
        id: 2,
        initiator: SocketAddr::from(([10, 0, 0, 1], 20)),
        responder: SocketAddr::from(([192, 168, 1, 5], 51210)),
        handshake_seen: true,
    };
    t.open(meta(20), &data);
    t.event(meta(21), 2, ConnEvent::Accepted);
    line(&mut t, 22, "<150 Here comes the directory listing.");
    t.event(
        meta(23),
        2,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: b"-rw-r--r-- 1 0 0 5 Jan 01 00:00 a.txt\r\n",
        },
    );
    t.event(
        meta(24),
        2,
        ConnEvent::Fin {
            dir: Dir::FromInitiator,
        },
    );
    t.event(
        meta(24),
        2,
        ConnEvent::Fin {
            dir: Dir::FromResponder,
        },
    );
    t.closed(meta(25), 2);
    line(&mut t, 26, "<226 Directory send OK.");
    line(&mut t, 27, ">QUIT");
    line(&mut t, 28, "<221 bye");
    t.finish();
    let s = t.take_finished().remove(0);
    assert!(
        ids(&s).contains(&"bounce-port"),
        "{:?} {:?}",
        ids(&s),
        s.data_channels
    );
    assert!(
        !ids(&s).contains(&"active-private-address"),
        "{:?}",
        ids(&s)
    );
}

/// A 227 naming an address no client elsewhere can use: the server's loopback,
/// 0.0.0.0, or a private address of another private network than the one the
/// client reached (a container's 172.17.0.2 published on its host's
/// 192.168.1.10). One error naming the address and the setting, with the failed
/// transfer as its evidence, not a second finding telling to check the client's
/// firewall.
#[test]
fn a_227_no_client_can_use_is_one_error_about_the_address() {
    for (ann, words) in [
        ("0,0,0,0", "the unspecified address"),
        ("127,0,0,1", "loopback"),
        ("172,17,0,2", "(in 172.16.0.0/12)"),
    ] {
        let reply = format!("<227 Entering Passive Mode ({ann},156,65).");
        let lines: Vec<&str> = LOGIN
            .iter()
            .copied()
            .chain([
                ">PASV",
                reply.as_str(),
                ">LIST",
                "<425 Failed to establish connection.",
                ">QUIT",
                "<221 bye",
            ])
            .collect();
        let s = dialogue([192, 168, 1, 10], &lines, true);
        assert_eq!(ids(&s), ["pasv-address-mismatch"], "{ann}");
        let f = &s.findings[0];
        assert_eq!(f.severity, Severity::Error, "{ann}");
        assert!(f.summary.en.contains(words), "{}", f.summary.en);
        assert!(
            f.remedy.en.contains("pasv_address=192.168.1.10"),
            "{}",
            f.remedy.en
        );
        assert!(
            f.evidence.iter().any(|e| e.what.en.contains("425")),
            "{ann}: {:?}",
            f.evidence
        );
    }
}

/// Captured on the client's side of a NAT that does not rewrite FTP: PORT names
/// the client's own (private) address, and the server, which sees the NAT's
/// address, refuses it in each server's words. One `active-private-address`, not
/// a policy refusal, not a missing command; with the server's own words it is
/// seen, from the addresses alone inferred.
#[test]
fn port_refused_because_a_nat_changed_the_clients_address() {
    let public = [198, 51, 100, 7];
    let cases: &[([u8; 4], &str, &str, bool)] = &[
        (
            public,
            "PORT 10,0,0,2,200,10",
            "500 Illegal PORT command.",
            false,
        ),
        (
            public,
            "PORT 10,0,0,2,200,10",
            "501 Server cannot accept argument.",
            false,
        ),
        (
            public,
            "EPRT |1|10.0.0.2|51210|",
            "500 Illegal EPRT command.",
            false,
        ),
        // Another private network: a container's or VM's NAT.
        (
            [192, 168, 1, 10],
            "PORT 10,0,0,2,200,10",
            "500 Illegal PORT command.",
            false,
        ),
        (
            public,
            "PORT 10,0,0,2,200,10",
            "421 Rejected command, requested IP address does not match control connection IP.",
            true,
        ),
        (
            public,
            "PORT 10,0,0,2,200,10",
            "500 I won't open a connection to 10.0.0.2 (only to 203.0.113.5)",
            true,
        ),
    ];
    for (server, cmd, reply, said) in cases {
        let (cmd, reply) = (format!(">{cmd}"), format!("<{reply}"));
        let lines: Vec<&str> = LOGIN
            .iter()
            .copied()
            .chain([cmd.as_str(), reply.as_str(), ">QUIT", "<221 bye"])
            .collect();
        let s = dialogue(*server, &lines, true);
        let f: Vec<_> = s
            .findings
            .iter()
            .filter(|f| f.id != "service-closing")
            .collect();
        assert_eq!(f.len(), 1, "{reply}: {:?}", ids(&s));
        let f = f[0];
        assert_eq!(f.id, "active-private-address", "{reply}");
        assert_eq!(f.severity, Severity::Error, "{reply}");
        let want = if *said {
            Certainty::Seen
        } else {
            Certainty::Inferred
        };
        assert_eq!(f.certainty, want, "{reply}");
        assert!(f.summary.contains("10.0.0.2:51210"), "{}", f.summary);
        assert!(f.remedy.contains("passive mode"), "{}", f.remedy);
        assert!(f.remedy.contains("forwarding a port alone does not help"));
        if reply.contains("only to") {
            assert!(
                f.summary.contains("sees this client as 203.0.113.5"),
                "{}",
                f.summary
            );
        }
        if server[0] == 192 {
            let e: Vec<String> = f.evidence.iter().map(|e| e.what.to_string()).collect();
            assert!(
                e.iter()
                    .any(|e| e.contains("10.0.0.0/8") && e.contains("192.168.0.0/16")),
                "{e:?}"
            );
        }
    }
}

/// The same refusal, then passive mode that worked: said, as information.
#[test]
fn port_refused_through_nat_then_passive_is_information() {
    let s = dialogue(
        [198, 51, 100, 7],
        &with_login(&[
            ">PORT 10,0,0,2,200,10",
            "<500 Illegal PORT command.",
            ">PASV",
            "<227 Entering Passive Mode (198,51,100,7,156,65).",
            ">LIST",
            "<150 Here comes the directory listing.",
            "<226 Directory send OK.",
        ]),
        true,
    );
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "active-private-address")
        .expect("active-private-address");
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.summary
            .contains("then set up the data connection with PASV"),
        "{}",
        f.summary
    );
}

/// What is not that reading: a server that does not implement PORT refuses
/// active mode (`data-setup-refused`, whatever the addresses); a refused PORT on
/// the server's own private network (no NAT can be between them) and a
/// privileged port are not read as NAT.
#[test]
fn port_refusals_that_are_not_a_nat() {
    for server in [[198, 51, 100, 7], [10, 0, 0, 1]] {
        let s = dialogue(
            server,
            &with_login(&[
                ">PORT 10,0,0,2,200,10",
                "<502 Command not implemented.",
                ">QUIT",
                "<221 bye",
            ]),
            true,
        );
        assert_eq!(ids(&s), ["data-setup-refused"], "{server:?}");
        assert!(s.findings[0].summary.contains("refused active mode"));
    }
    let s = dialogue(
        [10, 0, 0, 1],
        &with_login(&[
            ">PORT 10,0,0,2,200,10",
            "<500 Illegal PORT command.",
            ">QUIT",
            "<221 bye",
        ]),
        true,
    );
    assert!(
        !ids(&s).contains(&"active-private-address"),
        "{:?}",
        ids(&s)
    );
    let s = dialogue(
        [198, 51, 100, 7],
        &with_login(&[
            ">PORT 10,0,0,2,0,21",
            "<500 Illegal PORT command.",
            ">QUIT",
            "<221 bye",
        ]),
        true,
    );
    assert!(
        !ids(&s).contains(&"active-private-address"),
        "{:?}",
        ids(&s)
    );
}
