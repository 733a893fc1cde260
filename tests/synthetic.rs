//! Situations a lab run does not produce on demand, built packet by packet: each one
//! is a place where other tools are known to fail, or an edge of the protocol.

mod common;

use common::builder::{Pcap, sa};
use ftpscope::model::{Capture, MatchKind, Outcome, Severity};
use ftpscope::session::TrackerConfig;

fn run(p: &Pcap) -> Capture {
    ftpscope::engine::analyze_reader(&p.bytes()[..], TrackerConfig::default(), None)
        .expect("analyse")
}

fn login(p: &mut Pcap, c: &mut common::builder::Flow) {
    p.send_b(c, b"220 ready\r\n");
    p.send_a(c, b"USER alice\r\n");
    p.send_b(c, b"331 password please\r\n");
    p.send_a(c, b"PASS hunter2\r\n");
    p.send_b(c, b"230 welcome\r\n");
}

fn verbs(cap: &Capture) -> Vec<String> {
    cap.sessions[0]
        .exchanges
        .iter()
        .filter_map(|x| x.command.as_ref().map(|c| c.verb.clone()))
        .collect()
}

fn codes(cap: &Capture) -> Vec<u16> {
    cap.sessions[0]
        .exchanges
        .iter()
        .flat_map(|x| x.replies.iter().map(|r| r.code))
        .collect()
}

#[test]
fn control_lines_split_into_one_byte_segments_are_decoded_whole() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    p.trickle_b(&mut c, b"220-multi\r\n220 line greeting\r\n");
    p.trickle_a(&mut c, b"USER alice\r\n");
    p.trickle_b(&mut c, b"331 password please\r\n");
    p.trickle_a(&mut c, b"PASS hunter2\r\n");
    p.trickle_b(&mut c, b"230 welcome\r\n");
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(verbs(&cap), ["USER", "PASS"]);
    assert_eq!(codes(&cap), [220, 331, 230]);
    assert_eq!(cap.sessions[0].exchanges[0].replies[0].lines.len(), 2);
    assert_eq!(cap.sessions[0].user.as_ref().unwrap().0, b"alice");
}

#[test]
fn eprt_active_connection_from_a_port_other_than_20_is_followed() {
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    let mut c = p.open(cl, sv);
    login(&mut p, &mut c);
    p.send_a(&mut c, b"EPRT |1|192.0.2.10|50123|\r\n");
    p.send_b(&mut c, b"200 EPRT ok\r\n");
    p.send_a(&mut c, b"RETR f.bin\r\n");
    p.send_b(
        &mut c,
        b"150 Opening BINARY mode data connection for f.bin (3000 bytes)\r\n",
    );
    let mut d = p.open(sa("198.51.100.1:33333"), sa("192.0.2.10:50123"));
    p.send_a(&mut d, &[7u8; 1500]);
    p.send_a(&mut d, &[7u8; 1500]);
    p.close(&mut d);
    p.send_b(&mut c, b"226 done\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let ch = &cap.sessions[0].data_channels[0];
    assert_eq!(
        (ch.via.as_str(), ch.outcome, ch.bytes, ch.match_kind),
        ("EPRT", Outcome::Completed, 3000, Some(MatchKind::Exact))
    );
    assert_eq!(ch.command.as_deref(), Some("RETR"));
    assert_eq!(ch.bytes_to_client, 3000);
    assert_eq!(ch.direction.map(|d| d.as_str()), Some("download"));
    assert!(
        cap.sessions[0]
            .findings
            .iter()
            .all(|f| f.severity != Severity::Error)
    );
}

#[test]
fn nat_rewritten_passive_address_matches_on_the_server_control_address() {
    // The server announces its private address; the client (like curl) connects to the
    // address it used for control, same port.
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("203.0.113.7:21"));
    let mut c = p.open(cl, sv);
    login(&mut p, &mut c);
    p.send_a(&mut c, b"PASV\r\n");
    p.send_b(&mut c, b"227 Entering Passive Mode (10,0,0,5,195,80).\r\n");
    p.send_a(&mut c, b"LIST\r\n");
    let mut d = p.open(sa("192.0.2.10:40001"), sa("203.0.113.7:50000"));
    p.send_b(&mut c, b"150 Here comes the listing\r\n");
    p.send_b(&mut d, b"-rw-r--r-- 1 0 0 5 a.txt\r\n");
    p.close(&mut d);
    p.send_b(&mut c, b"226 ok\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let s = &cap.sessions[0];
    let ch = &s.data_channels[0];
    assert_eq!(ch.match_kind, Some(MatchKind::ServerControlAddress));
    assert_eq!(ch.outcome, Outcome::Completed);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "pasv-address-mismatch")
        .expect("mismatch found");
    // It worked only because the client ignored the announced address: a warning that names both.
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.summary.contains("10.0.0.5") && f.summary.contains("203.0.113.7"),
        "{}",
        f.summary
    );
    assert!(
        f.remedy.contains("pasv_address=203.0.113.7"),
        "{}",
        f.remedy
    );
}

#[test]
fn lpsv_and_lprt_are_followed() {
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    let mut c = p.open(cl, sv);
    login(&mut p, &mut c);
    p.send_a(&mut c, b"LPSV\r\n");
    p.send_b(
        &mut c,
        b"228 Entering Long Passive Mode (4,4,198,51,100,1,2,195,81)\r\n",
    );
    p.send_a(&mut c, b"NLST\r\n");
    let mut d = p.open(sa("192.0.2.10:40001"), sa("198.51.100.1:50001"));
    p.send_b(&mut d, b"a\r\nb\r\n");
    p.close(&mut d);
    p.send_b(&mut c, b"226 ok\r\n");
    p.send_a(&mut c, b"LPRT 4,4,192,0,2,10,2,195,82\r\n");
    p.send_b(&mut c, b"200 ok\r\n");
    p.send_a(&mut c, b"STOR up.txt\r\n");
    let mut d = p.open(sa("198.51.100.1:20"), sa("192.0.2.10:50002"));
    p.send_b(&mut d, b"hello");
    p.close(&mut d);
    p.send_b(&mut c, b"226 ok\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let ch = &cap.sessions[0].data_channels;
    assert_eq!(ch.len(), 2);
    assert_eq!(
        (ch[0].via.as_str(), ch[0].outcome, ch[0].bytes),
        ("LPSV", Outcome::Completed, 6)
    );
    assert_eq!(
        (ch[1].via.as_str(), ch[1].outcome, ch[1].bytes),
        ("LPRT", Outcome::Completed, 5)
    );
    assert_eq!(ch[1].direction.map(|d| d.as_str()), Some("upload"));
}

#[test]
fn non_utf8_file_names_are_kept_exactly_in_json() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.send_a(&mut c, b"DELE caf\xe9.txt\r\n");
    p.send_b(&mut c, b"250 deleted\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let mut out = Vec::new();
    ftpscope::report::json::write(&mut out, &cap, ftpscope::ftp::catalog::Lang::En).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let arg = &v["exchanges"][3]["command"]["arg"];
    assert_eq!(arg["hex"], "636166e92e747874", "{arg}");
    assert_eq!(arg["lossy"], "caf\u{fffd}.txt");
    // And the PASS argument is masked in the same output.
    assert_eq!(v["exchanges"][2]["command"]["arg"], "****");
    let mut text = Vec::new();
    ftpscope::report::text::write(&mut text, &cap, "x", Default::default()).unwrap();
    assert!(String::from_utf8_lossy(&text).contains("DELE caf\\xe9.txt"));
    assert!(!String::from_utf8_lossy(&text).contains("hunter2"));
}

#[test]
fn pipelined_commands_get_their_own_replies() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    // The client sends three commands before the greeting arrives.
    p.send_a(&mut c, b"USER alice\r\nPASS hunter2\r\nSYST\r\n");
    p.send_b(
        &mut c,
        b"220 ready\r\n331 password\r\n230 ok\r\n215 UNIX Type: L8\r\n",
    );
    p.close(&mut c);
    let cap = run(&p);
    let ex = &cap.sessions[0].exchanges;
    let pairs: Vec<(Option<String>, Vec<u16>)> = ex
        .iter()
        .map(|x| {
            (
                x.command.as_ref().map(|c| c.verb.clone()),
                x.replies.iter().map(|r| r.code).collect(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        // The greeting first, as the protocol orders it, though it arrived after
        // the commands.
        vec![
            (None, vec![220]),
            (Some("USER".into()), vec![331]),
            (Some("PASS".into()), vec![230]),
            (Some("SYST".into()), vec![215]),
        ]
    );
}

#[test]
fn unknown_commands_are_kept_and_marked() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.send_a(&mut c, b"XYZZ plugh\r\n");
    p.send_b(&mut c, b"500 Unknown command.\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let x = &cap.sessions[0].exchanges[3];
    let cmd = x.command.as_ref().unwrap();
    assert_eq!((cmd.verb.as_str(), cmd.unknown), ("XYZZ", true));
    assert_eq!(x.replies[0].code, 500);
}

#[test]
fn fragmented_control_segment_is_reassembled() {
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    let mut c = p.open(cl, sv);
    p.send_b(&mut c, b"220 ready\r\n");
    let l4 = common::builder::tcp_bytes(
        cl,
        sv,
        c.seq_a,
        c.seq_b,
        0x18,
        b"USER a-rather-long-user-name-to-split\r\n",
    );
    let f1 = p.ip_frame(cl.ip(), sv.ip(), &l4[..32], 77, Some((0, true)));
    let f2 = p.ip_frame(cl.ip(), sv.ip(), &l4[32..], 77, Some((32, false)));
    p.push(f2);
    p.push(f1);
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(cap.stats.fragments_reassembled, 1);
    assert_eq!(
        cap.sessions[0].user.as_ref().unwrap().lossy(),
        "a-rather-long-user-name-to-split"
    );
}

#[test]
fn qinq_vlan_and_ipv6_extension_headers() {
    let mut p = Pcap::new();
    p.vlans = vec![100, 200];
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(codes(&cap), [220, 331, 230]);

    let mut p = Pcap::new();
    p.v6_hop_by_hop = true;
    let mut c = p.open(sa("[2001:db8::10]:40000"), sa("[2001:db8::1]:21"));
    login(&mut p, &mut c);
    p.send_a(&mut c, b"EPSV\r\n");
    p.send_b(
        &mut c,
        b"229 Entering Extended Passive Mode (|||50010|)\r\n",
    );
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(codes(&cap), [220, 331, 230, 229]);
    assert_eq!(
        cap.sessions[0].data_channels[0]
            .announced
            .unwrap()
            .to_string(),
        "[2001:db8::1]:50010"
    );
}

#[test]
fn big_endian_nanosecond_pcap_reads_the_same() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.close(&mut c);
    let a = run(&p);
    let b =
        ftpscope::engine::analyze_reader(&p.bytes_be_nanos()[..], TrackerConfig::default(), None)
            .unwrap();
    let json = |c: &Capture| {
        let mut out = Vec::new();
        ftpscope::report::json::write(&mut out, c, ftpscope::ftp::catalog::Lang::En).unwrap();
        out
    };
    let (ja, jb) = (json(&a), json(&b));
    assert_eq!(ja, jb);
}

#[test]
fn telnet_interrupt_before_abor_is_recognised() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.send_a(&mut c, b"\xff\xf4\xff\xf2ABOR\r\n");
    p.send_b(&mut c, b"225 No transfer to ABOR\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let cmd = cap.sessions[0].exchanges[3].command.as_ref().unwrap();
    assert_eq!(cmd.verb, "ABOR");
    assert!(cmd.telnet_interrupt);
}

#[test]
fn ftp_on_an_unusual_port_is_found_by_its_greeting() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:8021"));
    login(&mut p, &mut c);
    p.close(&mut c);
    let cap = run(&p);
    assert_eq!(cap.sessions.len(), 1);
    assert_eq!(cap.sessions[0].detected_by, "content");
    // With detection off, nothing is found.
    let cfg = TrackerConfig {
        detect_by_content: false,
        ..Default::default()
    };
    let cap = ftpscope::engine::analyze_reader(&p.bytes()[..], cfg, None).unwrap();
    assert!(cap.sessions.is_empty());
}

#[test]
fn refused_passive_connection_is_an_error_finding() {
    let mut p = Pcap::new();
    let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    login(&mut p, &mut c);
    p.send_a(&mut c, b"PASV\r\n");
    p.send_b(
        &mut c,
        b"227 Entering Passive Mode (60,165,133,154,13,31)\r\n",
    );
    p.refused(sa("192.0.2.10:40001"), sa("60.165.133.154:3359"));
    p.close(&mut c);
    let cap = run(&p);
    let s = &cap.sessions[0];
    assert_eq!(s.data_channels[0].outcome, Outcome::Refused);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "passive-data-refused")
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.contains("60.165.133.154:3359"));
    // The announced address differs from the control address too.
    assert!(s.findings.iter().any(|f| f.id == "pasv-address-mismatch"));
}

#[test]
fn a_capture_that_starts_mid_session_is_marked() {
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    let mut c = common::builder::Flow {
        a: cl,
        b: sv,
        seq_a: 777,
        seq_b: 999,
    };
    p.send_a(&mut c, b"PWD\r\n");
    p.send_b(&mut c, b"257 \"/pub\" is the current directory\r\n");
    p.close(&mut c);
    let cap = run(&p);
    let s = &cap.sessions[0];
    assert!(s.capture.mid_session);
    assert_eq!(s.cwd.as_ref().unwrap().0, b"/pub");
    assert!(s.findings.iter().any(|f| f.id == "capture-mid-session"));
}

/// Regression: TLS records on port 21 with no AUTH (implicit FTPS, or a capture
/// that starts after the AUTH) were described as "encrypted after AUTH".
#[test]
fn tls_without_auth_is_described_as_seen() {
    let mut p = Pcap::new();
    let mut f = p.open(sa("10.0.0.2:40001"), sa("10.0.0.1:21"));
    // A TLS ClientHello record header and some body, then the server's records.
    p.send_a(&mut f, &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0]);
    p.send_b(&mut f, &[0x16, 0x03, 0x03, 0x00, 0x05, 2, 0, 0, 1, 0]);
    p.send_a(&mut f, &[0x17, 0x03, 0x03, 0x00, 0x03, 9, 9, 9]);
    p.close(&mut f);
    let cap = run(&p);
    let s = &cap.sessions[0];
    assert!(s.tls, "TLS seen");
    let d = s.tls_description().expect("described");
    assert!(!d.contains("encrypted after AUTH"), "{d}");
    assert!(d.contains("no AUTH in the capture"), "{d}");
}

/// The server answers the login, then nothing: CWD waits 30 s for a reply until
/// the client closes. `control-no-reply`; not when the wait is short, nor for a
/// QUIT the client does not wait for.
#[test]
fn a_server_that_stops_answering_is_said() {
    let build = |verb: &[u8], wait_us: u64| {
        let mut p = Pcap::new();
        let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
        login(&mut p, &mut c);
        p.send_a(&mut c, verb);
        p.ts_us += wait_us;
        p.close(&mut c);
        run(&p)
    };
    let ids = |cap: &Capture| -> Vec<(&'static str, Severity)> {
        cap.sessions[0]
            .findings
            .iter()
            .map(|f| (f.id, f.severity))
            .collect()
    };
    let cap = build(b"CWD /data\r\n", 30_000_000);
    assert!(
        ids(&cap).contains(&("control-no-reply", Severity::Warning)),
        "{:?}",
        ids(&cap)
    );
    let f = &cap.sessions[0].findings[0];
    assert!(f.summary.en.contains("CWD"), "{}", f.summary.en);
    for (verb, wait) in [
        (&b"CWD /data\r\n"[..], 2_000_000),
        (&b"QUIT\r\n"[..], 30_000_000),
    ] {
        let cap = build(verb, wait);
        assert!(
            !ids(&cap).iter().any(|f| f.0 == "control-no-reply"),
            "{}: {:?}",
            String::from_utf8_lossy(verb),
            ids(&cap)
        );
    }
}

/// A command TCP had to send again (no ACK for a whole retransmission timeout)
/// and whose reply then came late is packet loss on the control connection, said
/// as such; a copy answered at once and a keep-alive probe are not (a capture
/// merged with itself: tests/public_captures.rs, ftp-crack).
#[test]
fn a_command_sent_again_before_a_late_reply_is_control_loss() {
    use common::builder::{ACK, PSH};
    // `copies` retransmissions of CWD, `gap_us` apart, then the reply.
    let build = |copies: u32, gap_us: u64| {
        let mut p = Pcap::new();
        let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
        login(&mut p, &mut c);
        let cmd = b"CWD /data\r\n";
        let (seq, ack) = (c.seq_a, c.seq_b);
        p.segment(c.a, c.b, seq, ack, ACK | PSH, cmd);
        for _ in 0..copies {
            p.ts_us += gap_us;
            p.segment(c.a, c.b, seq, ack, ACK | PSH, cmd);
        }
        c.seq_a = c.seq_a.wrapping_add(cmd.len() as u32);
        p.segment(c.b, c.a, c.seq_b, c.seq_a, ACK, b"");
        // A keep-alive probe: one byte before the next expected, repeated.
        p.segment(c.a, c.b, c.seq_a.wrapping_sub(1), c.seq_b, ACK, b"");
        p.send_b(&mut c, b"250 ok\r\n");
        p.send_a(&mut c, b"QUIT\r\n");
        p.send_b(&mut c, b"221 bye\r\n");
        p.close(&mut c);
        run(&p)
    };
    let loss = |cap: &Capture| {
        cap.sessions[0]
            .findings
            .iter()
            .find(|f| f.id == "control-retransmissions")
            .cloned()
    };
    let cwd = |cap: &Capture| {
        cap.sessions[0]
            .exchanges
            .iter()
            .filter_map(|x| x.command.as_ref())
            .find(|c| c.verb == "CWD")
            .cloned()
            .expect("CWD")
    };
    // 3 copies 1 s apart: the reply comes > 3 s after the command.
    let cap = build(3, 1_000_000);
    let f = loss(&cap).expect("control-retransmissions");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.summary.en.contains("CWD 4 times"), "{}", f.summary.en);
    assert!(!f.summary.zh.is_empty() && f.summary.zh != f.summary.en);
    let c = cwd(&cap);
    assert_eq!(c.retransmissions, 3);
    assert!(
        c.notes.iter().any(|n| n.en.contains("again 3 time(s)")),
        "{:?}",
        c.notes
    );
    // The keep-alive probe counted on nothing.
    let others: u32 = cap.sessions[0]
        .exchanges
        .iter()
        .filter_map(|x| x.command.as_ref())
        .filter(|c| c.verb != "CWD")
        .map(|c| c.retransmissions)
        .sum();
    assert_eq!(others, 0);
    // One copy 200 ms later, the reply right after: noted, no finding.
    let cap = build(1, 200_000);
    assert_eq!(cwd(&cap).retransmissions, 1);
    assert!(loss(&cap).is_none(), "{:?}", loss(&cap));
}

/// A download the client gave up on: the server sent part of a listing and then
/// nothing (no FIN, no 226), and the client closed the data connection (its
/// timeout). Only the sender's FIN ends a file in stream mode, so the transfer
/// ended early: `aborted`, with a finding, not `completed` for a FIN. The same
/// connection ended by the server's FIN first is `completed`.
#[test]
fn a_download_the_receiver_closed_before_the_sender_is_aborted() {
    use common::builder::{ACK, FIN};
    let build = |sender_fin_first: bool| {
        let mut p = Pcap::new();
        let mut c = p.open(sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
        login(&mut p, &mut c);
        p.send_a(&mut c, b"PASV\r\n");
        p.send_b(
            &mut c,
            b"227 Entering Passive Mode (198,51,100,1,156,64)\r\n",
        );
        p.send_a(&mut c, b"LIST\r\n");
        let mut d = p.open(sa("192.0.2.10:40001"), sa("198.51.100.1:40000"));
        p.send_b(&mut c, b"150 Here comes the directory listing.\r\n");
        p.send_b(&mut d, &[b'x'; 1000]);
        p.ts_us += 20_000_000;
        if sender_fin_first {
            p.send_b(&mut c, b"226 Directory send OK.\r\n");
            p.segment(d.b, d.a, d.seq_b, d.seq_a, FIN | ACK, b"");
            p.segment(d.a, d.b, d.seq_a, d.seq_b + 1, FIN | ACK, b"");
            p.segment(d.b, d.a, d.seq_b + 1, d.seq_a + 1, ACK, b"");
        } else {
            // The client's FIN, acknowledged; the server's side stays open.
            p.segment(d.a, d.b, d.seq_a, d.seq_b, FIN | ACK, b"");
            p.segment(d.b, d.a, d.seq_b, d.seq_a + 1, ACK, b"");
        }
        p.close(&mut c);
        run(&p)
    };
    let cap = build(false);
    let s = &cap.sessions[0];
    assert_eq!(s.data_channels[0].outcome, Outcome::Aborted);
    assert_eq!(s.data_channels[0].bytes, 1000);
    let ids: Vec<_> = s.findings.iter().map(|f| (f.id, f.severity)).collect();
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "transfer-incomplete")
        .unwrap_or_else(|| panic!("{ids:?}"));
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.summary
            .en
            .contains("the client closed the data connection after 1000 bytes")
            && f.remedy.en.contains("the client gave up"),
        "{} / {}",
        f.summary.en,
        f.remedy.en
    );
    let cap = build(true);
    let s = &cap.sessions[0];
    assert_eq!(s.data_channels[0].outcome, Outcome::Completed);
    assert!(
        !s.findings.iter().any(|f| f.id.starts_with("transfer-")),
        "{:?}",
        s.findings.iter().map(|f| f.id).collect::<Vec<_>>()
    );
}
