//! The tracker driven directly through [`ConnSink`], without packets.

use std::net::SocketAddr;

use super::{Tracker, TrackerConfig};
use crate::tcp::{ConnEvent, ConnInfo, ConnSink, Dir, Meta, Mode};
use crate::time::Ts;

fn meta(t: i64) -> Meta {
    Meta {
        ts: Ts(t * 1_000_000_000),
        frame: t as u64,
    }
}

fn control(id: u64, client_port: u16) -> ConnInfo {
    ConnInfo {
        id,
        initiator: SocketAddr::from(([10, 0, 0, 2], client_port)),
        responder: SocketAddr::from(([10, 0, 0, 1], 21)),
        handshake_seen: true,
    }
}

/// A control connection (id 1) and a data connection between its hosts (id 2),
/// both already running when the capture began.
fn mid_control_and_running_data() -> (ConnInfo, ConnInfo) {
    let ctl = ConnInfo {
        handshake_seen: false,
        ..control(1, 40_001)
    };
    let data = ConnInfo {
        id: 2,
        initiator: SocketAddr::from(([10, 0, 0, 2], 50_000)),
        responder: SocketAddr::from(([10, 0, 0, 1], 40_100)),
        handshake_seen: false,
    };
    (ctl, data)
}

fn greet(t: &mut Tracker, at: i64, c: &ConnInfo) {
    assert_eq!(t.open(meta(at), c), Mode::Stream);
    t.event(
        meta(at),
        c.id,
        ConnEvent::Data {
            dir: Dir::FromResponder,
            bytes: b"220 hello\r\n",
        },
    );
}

/// Past the cap on open sessions the least recently active are set aside:
/// reported with `closed: "evicted"` and an anomaly, their connections ignored
/// afterwards (no new session from their later packets), the others untouched.
#[test]
fn open_sessions_past_the_cap_are_evicted_least_recent_first() {
    let mut t = Tracker::new(TrackerConfig::default());
    t.set_max_open_sessions(3);
    let conns: Vec<ConnInfo> = (1..=3).map(|i| control(i, 40_000 + i as u16)).collect();
    for (i, c) in conns.iter().enumerate() {
        greet(&mut t, i as i64 + 1, c);
    }
    // Session 1 talks again later: session 2 is now the least recently active.
    t.event(
        meta(10),
        conns[0].id,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: b"NOOP\r\n",
        },
    );
    assert!(t.take_finished().is_empty());
    let fourth = control(4, 40_004);
    greet(&mut t, 11, &fourth);
    let gone = t.take_finished();
    assert_eq!(gone.len(), 1, "a tenth of 3, at least one");
    assert_eq!(gone[0].id, 2, "the least recently active");
    assert_eq!(gone[0].closed, "evicted");
    assert!(
        gone[0]
            .anomalies
            .iter()
            .any(|a| a.contains("more than 3 sessions were open")),
        "{:?}",
        gone[0].anomalies
    );
    assert_eq!(t.evicted, 1);
    assert_eq!(t.open_sessions(), 3);
    // Later bytes of the evicted session's connection are ignored.
    let more = t.event(
        meta(12),
        conns[1].id,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: b"USER x\r\n",
        },
    );
    assert_eq!(more, Some(Mode::Ignore));
    assert_eq!(t.open_sessions(), 3, "no session made from it");
    t.closed(meta(13), conns[1].id);
    t.finish();
    let mut ids: Vec<usize> = t.take_finished().iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 3, 4]);
}

/// Past the text budget, replies keep only their first line (cut) and commands a
/// cut argument, with notes; the budget is given back when the session ends.
#[test]
fn text_past_the_budget_is_cut_and_released_at_the_end() {
    let mut t = Tracker::new(TrackerConfig::default());
    t.set_max_held_text(8 * 1024);
    let c = control(1, 40_001);
    greet(&mut t, 1, &c);
    let send = |t: &mut Tracker, at: i64, dir: Dir, bytes: &[u8]| {
        t.event(meta(at), c.id, ConnEvent::Data { dir, bytes });
    };
    send(&mut t, 2, Dir::FromInitiator, b"HELP\r\n");
    let mut help = b"214-The following commands are recognized.\r\n".to_vec();
    for i in 0..200 {
        help.extend_from_slice(format!(" line {i:04} {}\r\n", "x".repeat(80)).as_bytes());
    }
    help.extend_from_slice(b"214 Help OK.\r\n");
    send(&mut t, 3, Dir::FromResponder, &help);
    let long_arg = format!("SITE {}\r\n", "y".repeat(8000));
    send(&mut t, 4, Dir::FromInitiator, long_arg.as_bytes());
    send(&mut t, 5, Dir::FromResponder, b"500 no\r\n");
    assert!(
        t.text_held() <= 8 * 1024 + 2 * 1024,
        "held {} bytes",
        t.text_held()
    );
    t.closed(meta(6), c.id);
    let s = t.take_finished().pop().expect("the session ended");
    assert_eq!(t.text_held(), 0, "given back when the session ends");
    let help_reply = &s.exchanges[1].replies[0];
    assert_eq!(help_reply.code, 214);
    assert_eq!(help_reply.lines.len(), 1, "only the first line kept");
    assert!(
        help_reply
            .notes
            .iter()
            .any(|n| n.contains("only its first line kept")),
        "{:?}",
        help_reply.notes
    );
    let site = s.exchanges[2].command.as_ref().expect("SITE");
    assert_eq!(site.arg.0.len(), super::CUT_TEXT);
    assert!(site.notes.iter().any(|n| n.contains("cut to 256")));
    assert_eq!(
        s.anomalies
            .iter()
            .filter(|a| a.contains("text budget spent"))
            .count(),
        1,
        "said once: {:?}",
        s.anomalies
    );
}

/// Past the transcript budget, exchanges that do not concern data connections,
/// login or TLS are counted per verb and final reply code instead of kept; their
/// replies still update the session (TYPE, cwd), essential ones are still kept
/// (PASV and RETR, with their data channel), and nothing goes uncounted. Past one
/// and a half times the budget every exchange is counted.
#[test]
fn exchanges_past_the_budget_are_counted_not_kept() {
    let mut t = Tracker::new(TrackerConfig::default());
    t.set_max_held_text(256 * 1024);
    let c = control(1, 40_001);
    greet(&mut t, 1, &c);
    let send = |t: &mut Tracker, at: i64, dir: Dir, bytes: &[u8]| {
        t.event(meta(at), c.id, ConnEvent::Data { dir, bytes });
    };
    const N: usize = 3000;
    for i in 0..N {
        let at = 2 + i as i64;
        send(&mut t, at, Dir::FromInitiator, b"NOOP\r\n");
        send(&mut t, at, Dir::FromResponder, b"200 NOOP ok.\r\n");
    }
    send(&mut t, 5000, Dir::FromInitiator, b"TYPE I\r\nCWD /pub\r\n");
    send(
        &mut t,
        5000,
        Dir::FromResponder,
        b"200 Switching to Binary mode.\r\n250 Directory successfully changed.\r\n",
    );
    send(&mut t, 5001, Dir::FromInitiator, b"PASV\r\n");
    send(
        &mut t,
        5001,
        Dir::FromResponder,
        b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n",
    );
    send(&mut t, 5002, Dir::FromInitiator, b"RETR f\r\n");
    send(&mut t, 5002, Dir::FromResponder, b"550 No such file.\r\n");
    let held_mid = t.text_held();
    // Far past the budget: everything is counted, even PASV.
    for i in 0..3000 {
        let at = 6000 + i as i64;
        send(&mut t, at, Dir::FromInitiator, b"PASV\r\n");
        send(
            &mut t,
            at,
            Dir::FromResponder,
            b"227 Entering Passive Mode (10,0,0,1,195,81).\r\n",
        );
    }
    assert!(
        t.text_held() <= 256 * 1024 * 3 / 2 + 4096,
        "held {} bytes (mid-way {held_mid})",
        t.text_held()
    );
    t.closed(meta(9999), c.id);
    let s = t.take_finished().pop().expect("the session ended");
    let kept = s.exchanges.iter().filter(|x| x.command.is_some()).count() as u64;
    assert!(kept < N as u64, "{kept} kept: the budget must have cut in");
    assert_eq!(
        kept + s.summarised(),
        N as u64 + 3000 + 4,
        "every command kept or counted: {:?}",
        s.summary
    );
    assert_eq!(s.command_count() as u64, N as u64 + 3000 + 4);
    let noop = s
        .summary
        .iter()
        .find(|r| r.verb.as_deref() == Some("NOOP"))
        .expect("NOOPs counted");
    assert_eq!(noop.code, Some(200));
    assert_eq!(s.type_, "I", "a counted TYPE still sets the type");
    assert_eq!(s.cwd.as_ref().map(|c| c.0.as_slice()), Some(&b"/pub"[..]));
    // The first PASV and RETR were kept (essential), with their channel.
    let retr = s
        .exchanges
        .iter()
        .find(|x| x.verb() == Some("RETR"))
        .expect("RETR kept");
    assert!(retr.data_channel.is_some(), "RETR tied to its PASV");
    assert!(
        s.summary
            .iter()
            .any(|r| r.verb.as_deref() == Some("PASV") && r.code == Some(227)),
        "PASV counted past the hard budget: {:?}",
        s.summary
    );
    assert!(
        s.data_channels.len() < 3000,
        "{} channels",
        s.data_channels.len()
    );
    let notes: Vec<&crate::i18n::Tr> = s
        .anomalies
        .iter()
        .filter(|a| a.contains("transcript budget spent"))
        .collect();
    assert_eq!(notes.len(), 2, "soft then hard, each said once: {notes:?}");
    assert_eq!(t.text_held(), 0, "given back when the session ends");
}

/// A client pipelining without end past the budget: waiting commands are bounded.
#[test]
fn endless_pipelining_past_the_budget_is_bounded() {
    let mut t = Tracker::new(TrackerConfig::default());
    t.set_max_held_text(16 * 1024);
    let c = control(1, 40_001);
    greet(&mut t, 1, &c);
    let mut burst = Vec::new();
    for _ in 0..20_000 {
        burst.extend_from_slice(b"STAT\r\n");
    }
    t.event(
        meta(2),
        c.id,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: &burst,
        },
    );
    t.closed(meta(3), c.id);
    let s = t.take_finished().pop().expect("the session ended");
    assert_eq!(s.command_count(), 20_000, "{:?}", s.summary);
    assert!(
        s.summary
            .iter()
            .any(|r| r.verb.as_deref() == Some("STAT") && r.code.is_none()),
        "{:?}",
        s.summary
    );
}

/// A multi-line greeting whose end comes after commands the client sent
/// meanwhile keeps its place first; the commands, their replies and the data
/// channel they announce point at the right exchanges (the greeting's place is
/// kept when its first line comes, nothing is renumbered).
#[test]
fn a_late_multi_line_greeting_goes_before_the_commands_sent_meanwhile() {
    let mut t = Tracker::new(TrackerConfig::default());
    let c = control(1, 40_000);
    assert_eq!(t.open(meta(1), &c), Mode::Stream);
    let mut send = |at: i64, dir: Dir, bytes: &[u8]| {
        t.event(meta(at), c.id, ConnEvent::Data { dir, bytes });
    };
    send(1, Dir::FromResponder, b"220-welcome\r\n");
    send(2, Dir::FromInitiator, b"PASV\r\n");
    send(3, Dir::FromResponder, b"220 ready\r\n");
    send(
        4,
        Dir::FromResponder,
        b"227 Entering Passive Mode (10,0,0,1,4,1).\r\n",
    );
    t.finish();
    let s = &t.take_finished()[0];
    let shape: Vec<(Option<&str>, Vec<u16>)> = s
        .exchanges
        .iter()
        .map(|x| (x.verb(), x.replies.iter().map(|r| r.code).collect()))
        .collect();
    assert_eq!(shape, [(None, vec![220]), (Some("PASV"), vec![227])]);
    assert!(s.exchanges[0].replies[0].multiline);
    assert_eq!(s.data_channels[0].announce_exchange, 1);
    assert!(s.coverage.greeting);
}

/// Issue 17: a live view's copy of an open session ([`Tracker::open_views`])
/// has its running data connection `open` with the bytes so far and lasts
/// until the source's time; once the connection is closed, the view says
/// `completed`, as the finished session does. Before, the copy had the
/// channel `not-attempted` and a duration of 0.
#[test]
fn an_open_session_is_viewed_with_its_transfer_running() {
    use crate::model::{Outcome, Session};
    let mut t = Tracker::new(TrackerConfig::default());
    let c = control(1, 40000);
    greet(&mut t, 0, &c);
    let say = |t: &mut Tracker, at: i64, dir: Dir, line: &[u8]| {
        t.event(meta(at), c.id, ConnEvent::Data { dir, bytes: line });
    };
    say(&mut t, 1, Dir::FromInitiator, b"PASV\r\n");
    say(
        &mut t,
        1,
        Dir::FromResponder,
        b"227 Entering Passive Mode (10,0,0,1,195,80)\r\n",
    );
    let view = |t: &Tracker, now: i64| -> Session {
        let v = t.open_views(Ts(now * 1_000_000_000));
        assert_eq!(v.len(), 1);
        v.into_iter().next().unwrap()
    };
    // Announced, no transfer command yet: awaited, not judged.
    assert_eq!(view(&t, 1).data_channels[0].outcome, Outcome::Open);
    say(&mut t, 2, Dir::FromInitiator, b"RETR f\r\n");
    let data = ConnInfo {
        id: 2,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40001)),
        responder: SocketAddr::from(([10, 0, 0, 1], 50000)),
        handshake_seen: true,
    };
    t.open(meta(2), &data);
    t.event(meta(2), data.id, ConnEvent::Accepted);
    say(&mut t, 2, Dir::FromResponder, b"150 here it comes\r\n");
    t.event(
        meta(3),
        data.id,
        ConnEvent::Count {
            dir: Dir::FromResponder,
            len: 1000,
        },
    );
    let s = view(&t, 5);
    let d = &s.data_channels[0];
    assert_eq!(
        (d.outcome, d.bytes, d.ended_by),
        (Outcome::Open, 1000, None)
    );
    assert_eq!(s.duration, 5.0, "until the source's time");
    assert_eq!(view(&t, 0).duration, 3.0, "or its last event, if later");
    // The server is done and says so; the client still reads: still open.
    t.event(
        meta(6),
        data.id,
        ConnEvent::Fin {
            dir: Dir::FromResponder,
        },
    );
    say(&mut t, 6, Dir::FromResponder, b"226 done\r\n");
    assert_eq!(view(&t, 7).data_channels[0].outcome, Outcome::Open);
    t.event(
        meta(8),
        data.id,
        ConnEvent::Fin {
            dir: Dir::FromInitiator,
        },
    );
    t.closed(meta(8), data.id);
    let d = view(&t, 9).data_channels[0].clone();
    assert_eq!(d.outcome, Outcome::Completed);
    assert!(d.ended_by.is_some());
    // The session itself was not touched by the views: it ends as before.
    say(&mut t, 9, Dir::FromInitiator, b"QUIT\r\n");
    say(&mut t, 9, Dir::FromResponder, b"221 bye\r\n");
    t.closed(meta(10), c.id);
    t.finish();
    let done = t.take_finished();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].data_channels[0].outcome, Outcome::Completed);
    assert_eq!(done[0].duration, 9.0, "its last packet");
}

/// The representation a reply's text names: "TYPE I" as a word, "binary",
/// "ASCII"; "TYPE is now ASCII" is no TYPE I.
#[test]
fn the_type_a_reply_names_is_read_from_its_words() {
    use super::type_in_reply;
    use crate::model::Representation::{Ascii, Binary};
    for (text, want) in [
        (&b"TYPE is now 8-bit binary"[..], Some(Binary)),
        (b"Switching to Binary mode.", Some(Binary)),
        (b"Type set to I", Some(Binary)),
        (b"Type set to I.", Some(Binary)),
        (b"TYPE is now ASCII", Some(Ascii)),
        (b"Switching to ASCII mode.", Some(Ascii)),
        (b"Type set to A", Some(Ascii)),
        (b"Opening data connection for late.bin", None),
        (b"Command okay", None),
    ] {
        assert_eq!(
            type_in_reply(text),
            want,
            "{}",
            String::from_utf8_lossy(text)
        );
    }
}

/// An ICMP error in answer to a data connection's SYN makes it `refused` with
/// the error kept (`rejected_by`); a SYN sent again that gets through after all
/// makes it an ordinary connection again. On the control connection the same:
/// `refused` with `control_rejected_by`.
#[test]
fn icmp_rejections_refuse_until_something_accepts() {
    use crate::model::{ControlAnswer, IcmpRejection, Outcome};
    let rejection = |frame: u64| IcmpRejection {
        from: "192.0.2.9".parse().unwrap(),
        v6: false,
        code: 13,
        ts: Ts(frame as i64 * 1_000_000_000),
        frame,
    };
    let run = |accept_later: bool| {
        let mut t = Tracker::new(TrackerConfig::default());
        let c = control(1, 40000);
        greet(&mut t, 0, &c);
        let say = |t: &mut Tracker, at: i64, dir: Dir, line: &[u8]| {
            t.event(meta(at), c.id, ConnEvent::Data { dir, bytes: line });
        };
        say(&mut t, 1, Dir::FromInitiator, b"PASV\r\n");
        say(
            &mut t,
            1,
            Dir::FromResponder,
            b"227 Entering Passive Mode (10,0,0,1,195,80)\r\n",
        );
        let data = ConnInfo {
            id: 2,
            initiator: SocketAddr::from(([10, 0, 0, 2], 40001)),
            responder: SocketAddr::from(([10, 0, 0, 1], 50000)),
            handshake_seen: true,
        };
        t.open(meta(2), &data);
        t.event(meta(2), data.id, ConnEvent::Unreachable(rejection(2)));
        if accept_later {
            t.event(meta(3), data.id, ConnEvent::SynRetry);
            t.event(meta(3), data.id, ConnEvent::Accepted);
            t.event(
                meta(4),
                data.id,
                ConnEvent::Fin {
                    dir: Dir::FromResponder,
                },
            );
            t.event(
                meta(4),
                data.id,
                ConnEvent::Fin {
                    dir: Dir::FromInitiator,
                },
            );
        }
        t.closed(meta(5), data.id);
        say(&mut t, 6, Dir::FromInitiator, b"QUIT\r\n");
        say(&mut t, 6, Dir::FromResponder, b"221 bye\r\n");
        t.closed(meta(7), c.id);
        // A second session whose control connection an ICMP error answered.
        let c2 = control(3, 40002);
        t.open(meta(8), &c2);
        t.event(meta(8), c2.id, ConnEvent::Unreachable(rejection(8)));
        if accept_later {
            t.event(meta(9), c2.id, ConnEvent::SynRetry);
            t.event(meta(9), c2.id, ConnEvent::Accepted);
        }
        t.closed(meta(10), c2.id);
        t.finish();
        let mut done = t.take_finished();
        done.sort_by_key(|s| s.start);
        assert_eq!(done.len(), 2);
        done
    };
    let done = run(false);
    let d = &done[0].data_channels[0];
    assert_eq!(d.outcome, Outcome::Refused);
    assert_eq!(d.rejected_by, Some(rejection(2)));
    assert_eq!(d.frame_answer, Some(2));
    assert!(done[0].findings.iter().any(|f| {
        f.id == "passive-data-refused"
            && f.summary
                .contains("ICMP communication administratively prohibited")
    }));
    let cov = &done[1].coverage;
    assert_eq!(cov.control_answer, ControlAnswer::Refused);
    assert_eq!(cov.control_rejected_by, Some(rejection(8)));
    assert!(
        done[1]
            .findings
            .iter()
            .any(|f| f.id == "control-refused" && f.summary.contains("192.0.2.9"))
    );

    let done = run(true);
    let d = &done[0].data_channels[0];
    assert_eq!(d.rejected_by, None);
    assert_ne!(d.outcome, Outcome::Refused);
    assert!(
        done[0]
            .findings
            .iter()
            .all(|f| f.id != "passive-data-refused")
    );
    let cov = &done[1].coverage;
    assert_eq!(cov.control_rejected_by, None);
    assert_eq!(cov.control_answer, ControlAnswer::Accepted);
    assert!(done[1].findings.iter().all(|f| f.id != "control-refused"));
}

/// Commands sent before a multi-line greeting: the greeting's exchange goes
/// first and the commands keep their replies; a greeting whose last line never
/// came is still the first exchange (closed at the end of input).
#[test]
fn a_greeting_after_pipelined_commands_is_the_first_exchange() {
    for finished in [true, false] {
        let mut t = Tracker::new(TrackerConfig::default());
        let c = control(1, 40_001);
        assert_eq!(t.open(meta(1), &c), Mode::Stream);
        let say = |t: &mut Tracker, at: i64, dir: Dir, bytes: &[u8]| {
            t.event(meta(at), c.id, ConnEvent::Data { dir, bytes });
        };
        say(&mut t, 2, Dir::FromInitiator, b"USER a\r\nPASS b\r\n");
        say(&mut t, 3, Dir::FromResponder, b"220-Welcome\r\n");
        if finished {
            say(
                &mut t,
                4,
                Dir::FromResponder,
                b"220 ready\r\n331 pass\r\n230 ok\r\n",
            );
        }
        t.finish();
        let s = t.take_finished().pop().unwrap();
        let got: Vec<(Option<&str>, Vec<u16>)> = s
            .exchanges
            .iter()
            .map(|x| (x.verb(), x.replies.iter().map(|r| r.code).collect()))
            .collect();
        if finished {
            assert_eq!(
                got,
                [
                    (None, vec![220]),
                    (Some("USER"), vec![331]),
                    (Some("PASS"), vec![230])
                ]
            );
        } else {
            assert_eq!(
                got,
                [
                    (None, vec![220]),
                    (Some("USER"), vec![]),
                    (Some("PASS"), vec![])
                ]
            );
        }
    }
}

/// Connections nothing announced are held within a bound: past
/// [`super::unclaimed::MAX_UNCLAIMED`] open ones a new one is not held; closed
/// ones give way. Port-20 ones nobody claimed are counted in all and the first
/// few named.
#[test]
fn unclaimed_connections_are_bounded() {
    use super::unclaimed::MAX_UNCLAIMED;
    let mut t = Tracker::new(TrackerConfig::default());
    let n = MAX_UNCLAIMED as u64 + 500;
    let conn = |i: u64| ConnInfo {
        id: 1000 + i,
        initiator: SocketAddr::from(([10, 0, 0, 1], 20)),
        responder: SocketAddr::from(([10, 0, 0, 2], 20_000 + (i % 40_000) as u16)),
        handshake_seen: true,
    };
    let send = |t: &mut Tracker, i: u64| {
        let c = conn(i);
        let m = t.open(meta(1), &c);
        t.event(
            meta(1),
            c.id,
            ConnEvent::Data {
                dir: Dir::FromResponder,
                bytes: b"\x00\x01binary",
            },
        );
        m
    };
    for i in 0..n {
        send(&mut t, i);
    }
    assert_eq!(t.unclaimed.held(), MAX_UNCLAIMED);
    // Closed ones give way to new ones, an eighth of the table at a time.
    for i in 0..n {
        t.closed(meta(2), conn(i).id);
    }
    for i in n..n + 300 {
        send(&mut t, i);
    }
    assert!(t.unclaimed.held() <= MAX_UNCLAIMED);
    t.finish();
    let (named, total) = t.data_without_control();
    assert_eq!(named.len(), crate::model::MAX_LONE_DATA_NAMED);
    assert_eq!(
        total,
        MAX_UNCLAIMED as u64 + 300,
        "every one held was counted"
    );
    assert!(named.windows(2).all(|w| w[0].frame <= w[1].frame));
    assert_eq!(named[0].bytes_to_server, 8, "from the client's side");
}

/// A connection already running between the two peers of a session seen mid-way
/// is claimed by it, whichever came first, and the lone 226 ends its transfer;
/// one that carried much both ways is claimed with a note that it may be another
/// program's.
#[test]
fn a_running_connection_is_claimed_by_the_mid_session_between_its_peers() {
    for (data_first, both_ways) in [(true, false), (false, false), (true, true)] {
        let mut t = Tracker::new(TrackerConfig::default());
        let (ctl, data) = mid_control_and_running_data();
        let big = vec![b'x'; 100 << 10];
        let send_data = |t: &mut Tracker| {
            assert_ne!(t.open(meta(1), &data), Mode::Ignore);
            t.event(
                meta(1),
                2,
                ConnEvent::Data {
                    dir: Dir::FromResponder,
                    bytes: &big,
                },
            );
            if both_ways {
                t.event(
                    meta(1),
                    2,
                    ConnEvent::Data {
                        dir: Dir::FromInitiator,
                        bytes: &big,
                    },
                );
            }
            t.event(
                meta(2),
                2,
                ConnEvent::Fin {
                    dir: Dir::FromResponder,
                },
            );
        };
        if data_first {
            send_data(&mut t);
        }
        t.open(meta(1), &ctl);
        if !data_first {
            send_data(&mut t);
        }
        t.event(
            meta(3),
            1,
            ConnEvent::Data {
                dir: Dir::FromResponder,
                bytes: b"226 Transfer complete.\r\n",
            },
        );
        t.finish();
        let s = t.take_finished().pop().unwrap();
        assert_eq!(s.data_channels.len(), 1, "{data_first} {both_ways}");
        let d = &s.data_channels[0];
        assert_eq!(d.via, crate::model::Via::Unseen);
        assert_eq!(d.mode, crate::model::DataMode::Passive);
        assert_eq!(d.bytes_to_client, 100 << 10);
        assert_eq!(d.direction, Some(crate::model::Direction::Download));
        assert_eq!(d.outcome, crate::model::Outcome::Completed);
        assert_eq!(
            s.exchanges[d.command_exchange.unwrap()].replies[0].code,
            226
        );
        assert_eq!(
            d.notes.iter().any(|n| n.en.contains("much both ways")),
            both_ways
        );
    }
}

/// A connection from port 20 between the hosts of a session (its PORT lost or
/// rewritten on the way) is not reported as having no control connection.
#[test]
fn a_port_20_connection_between_a_sessions_hosts_is_not_without_control() {
    let mut t = Tracker::new(TrackerConfig::default());
    let c = control(1, 40_001);
    greet(&mut t, 1, &c);
    let data = ConnInfo {
        id: 2,
        initiator: SocketAddr::from(([10, 0, 0, 1], 20)),
        responder: SocketAddr::from(([10, 0, 0, 2], 50_000)),
        handshake_seen: true,
    };
    t.open(meta(2), &data);
    t.event(
        meta(2),
        2,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: b"\x00file",
        },
    );
    t.closed(meta(3), 2);
    // And one from the same server to a third host (FXP, a bounce): its
    // control connection is in the capture too.
    let third = ConnInfo {
        id: 3,
        responder: SocketAddr::from(([192, 0, 2, 9], 50_001)),
        ..data
    };
    t.open(meta(4), &third);
    t.event(
        meta(4),
        3,
        ConnEvent::Data {
            dir: Dir::FromInitiator,
            bytes: b"\x00file",
        },
    );
    t.closed(meta(5), 3);
    t.finish();
    assert_eq!(t.data_without_control().1, 0);
}

/// Which 530 texts refuse a login, and which only ask for one.
#[test]
fn a_530_that_refuses_a_login_is_told_from_one_that_asks_for_it() {
    for t in [
        "Login incorrect.",
        "Login authentication failed",
        "User cannot log in.",
        "Login or password incorrect!",
        "Access denied.",
    ] {
        assert!(super::says_login_failed(t.as_bytes()), "{t}");
    }
    for t in [
        "Please login with USER and PASS.",
        "Not logged in.",
        "Please log in with USER and PASS first.",
    ] {
        assert!(!super::says_login_failed(t.as_bytes()), "{t}");
    }
}

/// A control connection first seen without payload (idle during a transfer when
/// the capture began) becomes a session only when a data connection between its
/// hosts is there to claim, or when it carries bytes: a scan's lone ACKs or resets
/// to port 21 make none, and at most `MAX_BARE` such connections are held.
#[test]
fn an_idle_control_connection_is_a_session_only_with_something_to_show() {
    // Lone ACKs to port 21 from many ports: no session, a bounded table.
    let mut t = Tracker::new(TrackerConfig::default());
    for i in 0..3_000u64 {
        let c = ConnInfo {
            id: 10 + i,
            initiator: SocketAddr::from(([10, 0, 9, 2], 10_000 + i as u16)),
            responder: SocketAddr::from(([10, 0, 0, 1], 21)),
            handshake_seen: false,
        };
        let m = t.open_bare(meta(1), &c);
        assert_eq!(m.is_some(), i < super::unclaimed::MAX_BARE as u64, "{i}");
        t.event(
            meta(1),
            c.id,
            ConnEvent::Reset {
                dir: Dir::FromResponder,
            },
        );
    }
    assert!(t.open_sessions() == 0 && t.session_count() == 0);
    t.finish();
    assert!(t.take_finished().is_empty());
    // Not a control port: not tracked at all.
    let other = ConnInfo {
        id: 5,
        initiator: SocketAddr::from(([10, 0, 0, 2], 40_000)),
        responder: SocketAddr::from(([10, 0, 0, 1], 443)),
        handshake_seen: false,
    };
    assert_eq!(
        Tracker::new(TrackerConfig::default()).open_bare(meta(1), &other),
        None
    );

    // A running data connection between its hosts, before or after it: one
    // session, which claims it and keeps how the control connection ended.
    for data_first in [true, false] {
        let mut t = Tracker::new(TrackerConfig::default());
        let (ctl, data) = mid_control_and_running_data();
        let send_data = |t: &mut Tracker| {
            assert_ne!(t.open(meta(2), &data), Mode::Ignore);
            t.event(
                meta(2),
                2,
                ConnEvent::Data {
                    dir: Dir::FromResponder,
                    bytes: &[7u8; 4000],
                },
            );
            t.event(
                meta(5),
                2,
                ConnEvent::Fin {
                    dir: Dir::FromResponder,
                },
            );
        };
        if data_first {
            send_data(&mut t);
        }
        assert_eq!(t.open_bare(meta(1), &ctl), Some(Mode::Stream));
        if !data_first {
            send_data(&mut t);
        }
        t.event(
            meta(9),
            1,
            ConnEvent::Reset {
                dir: Dir::FromResponder,
            },
        );
        t.finish();
        let mut done = t.take_finished();
        assert_eq!(done.len(), 1, "{data_first}");
        let s = done.pop().unwrap();
        assert!(s.capture.mid_session);
        assert_eq!(s.server.port(), 21);
        assert_eq!(s.closed, crate::model::Closed::RstByServer, "{data_first}");
        assert_eq!(s.data_channels.len(), 1);
        assert_eq!(s.data_channels[0].bytes_to_client, 4000);
    }
}
