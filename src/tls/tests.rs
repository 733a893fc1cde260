use super::*;

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct, 3, 3];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn hs(t: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut v = vec![t, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(body);
    v
}

fn ext(t: u16, data: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn vec16(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn client_hello(sid: &[u8], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(sid.len() as u8);
    b.extend_from_slice(sid);
    b.extend_from_slice(&vec16(&[0x13, 0x02, 0xc0, 0x30]));
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&vec16(&exts.concat()));
    hs(1, &b)
}

fn server_hello(random: [u8; 32], sid: &[u8], suite: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&random);
    b.push(sid.len() as u8);
    b.extend_from_slice(sid);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    b.extend_from_slice(&vec16(&exts.concat()));
    hs(2, &b)
}

fn sni(name: &str) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&vec16(name.as_bytes()));
    ext(0, &vec16(&entry))
}

/// A TLS 1.2 exchange: (client bytes, server bytes) in order, as one flow each.
fn tls12(sid_offered: &[u8], sid_chosen: &[u8], full: bool) -> Vec<(bool, Vec<u8>)> {
    let mut server = record(22, &server_hello([1; 32], sid_chosen, 0xc030, &[]));
    if full {
        // A Certificate whose DER is not readable, then ServerHelloDone.
        let cert = [0, 0, 5, 0, 0, 2, 0x30, 0x00];
        server.extend(record(22, &hs(11, &cert)));
        server.extend(record(22, &hs(14, &[])));
    }
    server.extend(record(20, &[1]));
    server.extend(record(22, &[0; 40]));
    let mut client = record(20, &[1]);
    client.extend(record(22, &[0; 40]));
    vec![
        (
            true,
            record(22, &client_hello(sid_offered, &[sni("ftp.example.test")])),
        ),
        (false, server),
        (true, client),
        (false, record(23, &[9; 124])),
        (false, record(21, &[0; 26])),
        (true, record(21, &[0; 26])),
    ]
}

fn run(flows: &[(bool, Vec<u8>)], ended: bool) -> TlsInfo {
    let mut t = TlsConn::new();
    for (i, (c, b)) in flows.iter().enumerate() {
        t.feed(*c, b, i as u64 + 1);
    }
    t.finish(ended)
}

#[test]
fn tls12_full_handshake() {
    let i = run(&tls12(&[], &[5; 32], true), true);
    assert_eq!(i.version, Some("TLS 1.2"));
    assert_eq!(
        i.cipher_suite.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    assert_eq!(i.sni.as_deref(), Some("ftp.example.test"));
    assert_eq!(i.resumed, Some(false));
    assert_eq!(i.handshake, "complete");
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("certificate not readable")),
        "{:?}",
        i.notes
    );
    // Encrypted alerts as the last records before the end: close_notify both ways.
    assert_eq!(
        (i.close_notify.client, i.close_notify.server),
        (Some(true), Some(true))
    );
    assert_eq!(i.records.server.plaintext_estimate, Some(100));
    assert!(
        i.alerts
            .iter()
            .all(|a| a.description == "encrypted" && !a.during_handshake)
    );
}

#[test]
fn tls12_resumed_by_echoed_session_id() {
    let i = run(&tls12(&[5; 32], &[5; 32], false), false);
    assert_eq!(i.resumed, Some(true));
    assert_eq!(i.keys.offered_session_id, i.keys.server_session_id);
    // Still open: close_notify cannot be told.
    assert_eq!(i.close_notify.client, None);
}

#[test]
fn tls12_new_session_id_is_a_full_handshake() {
    let i = run(&tls12(&[5; 32], &[6; 32], true), true);
    assert_eq!(i.resumed, Some(false));
}

#[test]
fn any_chunking_gives_the_same_facts() {
    let flows = tls12(&[5; 32], &[5; 32], false);
    let whole = run(&flows, true);
    let mut t = TlsConn::new();
    for (i, (c, b)) in flows.iter().enumerate() {
        for byte in b.chunks(1) {
            t.feed(*c, byte, i as u64 + 1);
        }
    }
    let bytewise = t.finish(true);
    assert_eq!(format!("{whole:?}"), format!("{bytewise:?}"));
}

#[test]
fn tls13_psk_after_hello_retry() {
    let versions = ext(43, &[4, 3, 4, 3, 3]);
    let psk = ext(
        41,
        &[
            &vec16(&[&vec16(b"ticket-1")[..], &[0, 0, 0, 1]].concat())[..],
            &vec16(&[0; 33]),
        ]
        .concat(),
    );
    let flows = vec![
        (
            true,
            record(22, &client_hello(&[9; 32], std::slice::from_ref(&versions))),
        ),
        (
            false,
            [
                record(
                    22,
                    &server_hello(HRR_RANDOM, &[9; 32], 0x1302, &[ext(43, &[3, 4])]),
                ),
                record(20, &[1]),
            ]
            .concat(),
        ),
        (
            true,
            [
                record(20, &[1]),
                record(22, &client_hello(&[9; 32], &[versions, psk])),
            ]
            .concat(),
        ),
        (
            false,
            [
                record(
                    22,
                    &server_hello(
                        [2; 32],
                        &[9; 32],
                        0x1302,
                        &[ext(43, &[3, 4]), ext(41, &[0, 0])],
                    ),
                ),
                record(23, &[0; 40]),
            ]
            .concat(),
        ),
        (true, record(23, &[0; 53])),
        (false, record(23, &[0; 1017])),
        (false, record(23, &[0; 19])),
        (true, record(23, &[0; 19])),
    ];
    let i = run(&flows, true);
    assert_eq!(i.version, Some("TLS 1.3"));
    assert!(i.hello_retry);
    assert!(i.offered.psk);
    assert_eq!(i.resumed, Some(true));
    assert_eq!(i.versions_offered, vec!["TLS 1.3", "TLS 1.2"]);
    assert_eq!(i.handshake, "complete");
    assert_eq!(
        (i.close_notify.client, i.close_notify.server),
        (Some(true), Some(true))
    );
    // The server's encrypted handshake flight is not file data: 1017 - 17 and the
    // close_notify's 2 bytes.
    assert_eq!(i.records.server.plaintext_estimate, Some(1000 + 2));
}

#[test]
fn readable_alert_during_the_handshake() {
    let flows = vec![
        (true, record(22, &client_hello(&[], &[]))),
        (
            false,
            record(22, &server_hello([1; 32], &[3; 32], 0xc030, &[])),
        ),
        (true, record(21, &[2, 48])),
    ];
    let i = run(&flows, true);
    assert_eq!(i.handshake, "failed");
    assert_eq!(i.alerts.len(), 1);
    let a = &i.alerts[0];
    assert_eq!(
        (a.from, a.level, a.description.as_str(), a.during_handshake),
        ("client", Some("fatal"), "unknown_ca", true)
    );
}

#[test]
fn plain_bytes_are_noted_not_read() {
    let mut t = TlsConn::new();
    t.feed(false, b"220 (vsFTPd 3.0.3)\r\n", 1);
    assert!(t.plain(false));
    let i = t.finish(true);
    assert_eq!(i.handshake, "none");
    assert_eq!(i.records.server.count, 0);
    assert_eq!(i.notes.len(), 1);
}

/// A handshake message announcing 16 MiB, followed by endless handshake records:
/// the buffer never holds more than the cap plus a record, and the message is noted.
#[test]
fn huge_handshake_message_stays_bounded() {
    let mut t = TlsConn::new();
    let mut first = vec![11, 0xff, 0xff, 0xff];
    first.extend_from_slice(&[0; 1000]);
    t.feed(false, &record(22, &first), 1);
    let chunk = record(22, &[0xaa; 16384]);
    let mut peak = 0;
    for i in 0..2000 {
        t.feed(false, &chunk, i + 2);
        peak = peak.max(t.dirs[1].hs.capacity());
    }
    assert!(
        peak <= MAX_HANDSHAKE + MAX_RECORD,
        "handshake buffer grew to {peak}"
    );
    let i = t.finish(false);
    assert!(
        i.notes.iter().any(|n| n.contains("over the")),
        "{:?}",
        i.notes
    );
    assert_eq!(i.records.server.count, 2001);
}

/// Under the cap but never complete: buffered up to the message's length only.
#[test]
fn never_ending_handshake_message_is_capped() {
    let mut t = TlsConn::new();
    let mut first = vec![11, 0x00, 0xff, 0xf0];
    first.extend_from_slice(&[0; 100]);
    t.feed(false, &record(22, &first), 1);
    for i in 0..100 {
        t.feed(false, &record(22, &[0; 16000]), i + 2);
        assert!(t.dirs[1].hs.len() <= MAX_HANDSHAKE + MAX_RECORD);
    }
    let i = t.finish(false);
    assert_eq!(i.handshake, "not-seen");
}

#[test]
fn garbage_never_panics() {
    // Every prefix of a valid flow, and the flow with each byte flipped.
    let flows = tls12(&[5; 32], &[5; 32], true);
    for (c, b) in &flows {
        for cut in 0..b.len() {
            let mut t = TlsConn::new();
            t.feed(*c, &b[..cut], 1);
            let _ = t.finish(true);
            let mut x = b.clone();
            x[cut] ^= 0xff;
            let mut t = TlsConn::new();
            t.feed(*c, &x, 1);
            let _ = t.finish(false);
        }
    }
}

/// Many over-long handshake messages: each is skipped, the notes stay few.
#[test]
fn notes_stay_bounded() {
    let mut t = TlsConn::new();
    for i in 0..100 {
        // One message of 81536 bytes: this record's 16000 and the next four.
        let mut m = vec![11, 0x01, 0x3e, 0x80];
        m.extend_from_slice(&[0; 16000]);
        t.feed(false, &record(22, &m), i);
        for _ in 0..4 {
            t.feed(false, &record(22, &[0; 16384]), i);
        }
    }
    let i = t.finish(false);
    assert!(
        !i.notes.is_empty() && i.notes.len() <= MAX_ALERTS,
        "{}",
        i.notes.len()
    );
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// A chunk: random bytes, or a record of a random type with a random body,
    /// often a handshake record whose body starts like a message.
    fn chunk() -> impl Strategy<Value = (bool, Vec<u8>)> {
        let raw = proptest::collection::vec(any::<u8>(), 0..64);
        let rec = (
            20u8..=23,
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<u8>(),
        )
            .prop_map(|(ct, mut body, t)| {
                if ct == 22 && body.len() >= 4 {
                    body[0] = t % 16;
                    body[1] = 0;
                }
                let mut v = vec![ct, 3, 3];
                v.extend_from_slice(&(body.len() as u16).to_be_bytes());
                v.extend_from_slice(&body);
                v
            });
        (any::<bool>(), prop_oneof![1 => raw, 4 => rec])
    }

    proptest! {
        #[test]
        fn any_records_in_any_order_keep_the_bounds(chunks in proptest::collection::vec(chunk(), 0..40), ended: bool) {
            let mut t = TlsConn::logging_records();
            for (i, (c, b)) in chunks.iter().enumerate() {
                t.feed(*c, b, i as u64);
                prop_assert!(t.dirs.iter().all(|d| d.hs.len() <= MAX_HANDSHAKE + MAX_RECORD));
            }
            let i = t.finish(ended);
            prop_assert!(i.alerts.len() <= MAX_ALERTS);
            prop_assert!(i.notes.len() <= MAX_ALERTS + 3);
            prop_assert!(i.record_log.len() <= crate::model::tls::MAX_RECORD_LOG);
            let _ = i.summary();
        }
    }
}

/// A server repeating unreadable Certificate messages: one note each, up to the cap.
#[test]
fn repeated_unreadable_certificates_keep_the_notes_bounded() {
    let mut t = TlsConn::new();
    let cert = [0, 0, 5, 0, 0, 2, 0x30, 0x00];
    for i in 0..200 {
        t.feed(false, &record(22, &hs(11, &cert)), i);
    }
    let i = t.finish(false);
    assert!(i.notes.len() <= MAX_ALERTS, "{}", i.notes.len());
}

/// Regression: the proxy feeds a control connection's bytes with frame 0 (it has
/// no frames). The client's Finished flight was told from its commands by frame
/// number, so through the proxy every client record after the Finished counted as
/// handshake: none was logged as a command and the client's data estimate was 0.
#[test]
fn tls13_control_records_without_frame_numbers_as_the_proxy_feeds_them() {
    let versions = ext(43, &[2, 3, 4]);
    let flows = vec![
        (true, record(22, &client_hello(&[9; 32], &[versions]))),
        (
            false,
            [
                record(
                    22,
                    &server_hello([2; 32], &[9; 32], 0x1302, &[ext(43, &[3, 4])]),
                ),
                record(20, &[1]),
                record(23, &[0; 900]),
            ]
            .concat(),
        ),
        // The client's Finished, then its commands and the server's replies.
        (true, [record(20, &[1]), record(23, &[0; 53])].concat()),
        (false, record(23, &[0; 250])),
        (true, record(23, &[0; 31])),
        (false, record(23, &[0; 57])),
        (true, record(23, &[0; 35])),
        (false, record(23, &[0; 60])),
    ];
    let mut t = TlsConn::logging_records();
    for (c, b) in &flows {
        t.feed(*c, b, 0);
    }
    let i = t.finish(false);
    let client: Vec<u64> = i
        .record_log
        .iter()
        .filter(|r| r.from == "client")
        .map(|r| r.len)
        .collect();
    assert_eq!(client, vec![31, 35], "{:?}", i.record_log);
    assert!(
        i.record_log
            .iter()
            .any(|r| r.from == "server" && r.likely == "reply"),
        "{:?}",
        i.record_log
    );
    assert_eq!(i.records.client.plaintext_estimate, Some(14 + 18));
}
