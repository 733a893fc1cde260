//! Cross-check with an independent implementation: the command and reply sequence
//! ftpscope rebuilds from each committed capture must be the one tshark
//! (Wireshark's dissector) extracts from the same file.
//!
//! Frame by frame: every command tshark sees is a command of ours in that frame; every
//! reply code tshark sees starts one of our replies in that frame, or is the last
//! line of a multi-line reply of ours with that code (tshark reports a code on each
//! frame whose first line starts with one). Every reply of ours must be seen by tshark.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use ftpscope::session::TrackerConfig;

#[derive(Debug, Default)]
struct Frame {
    commands: Vec<String>,
    codes: Vec<u16>,
}

fn tshark_frames(pcap: &std::path::Path, ports: &[u16]) -> BTreeMap<u64, Frame> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    for p in ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},ftp"));
    }
    cmd.args([
        "-Y",
        "ftp",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-e",
        "frame.number",
        "-e",
        "ftp.request.command",
        "-e",
        "ftp.response.code",
    ]);
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.split('\t');
        let n: u64 = parts.next().unwrap_or("").parse().unwrap_or(0);
        let cmds = parts.next().unwrap_or("");
        let codes = parts.next().unwrap_or("");
        let f: &mut Frame = frames.entry(n).or_default();
        // tshark keeps Telnet IAC bytes in the verb (IAC IP / DM before ABOR) and
        // decodes TLS records after AUTH as "commands": keep the letters, drop the rest.
        f.commands.extend(
            cmds.split(',')
                .map(|s| {
                    s.chars()
                        .filter(char::is_ascii_alphabetic)
                        .collect::<String>()
                        .to_ascii_uppercase()
                })
                .filter(|s| (3..=4).contains(&s.len())),
        );
        f.codes
            .extend(codes.split(',').filter_map(|s| s.parse::<u16>().ok()));
    }
    frames
}

#[test]
fn command_and_reply_sequences_match_tshark() {
    if !common::require_tool("tshark", "command_and_reply_sequences_match_tshark") {
        return;
    }
    let mut errors = Vec::new();
    let mut checked = 0;
    for pcap in common::committed_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let mut ports: Vec<u16> = vec![];
        if let Some(e) = common::expectation_for(&pcap) {
            if let Some(p) = e["ftp_ports"].as_array() {
                ports.extend(p.iter().filter_map(|x| x.as_u64()).map(|x| x as u16));
            }
            for s in e["sessions"].as_array().cloned().unwrap_or_default() {
                if let Some(port) = s["server"]
                    .as_str()
                    .and_then(|x| x.rsplit(':').next())
                    .and_then(|x| x.parse::<u16>().ok())
                    && port != 21
                    && !ports.contains(&port)
                {
                    ports.push(port);
                }
            }
        }
        let cfg = TrackerConfig {
            ftp_ports: [21].iter().chain(ports.iter()).copied().collect(),
            ..Default::default()
        };
        let cap = ftpscope::engine::analyze_file(&pcap, cfg).unwrap();
        let ts = tshark_frames(&pcap, &ports);
        // Ours, by frame.
        let mut our_cmds: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut our_starts: BTreeMap<u64, Vec<u16>> = BTreeMap::new();
        let mut multi: Vec<(u64, u16, u64)> = Vec::new(); // (first frame, code, next reply's frame)
        for s in &cap.sessions {
            let mut replies: Vec<(u64, u16, bool)> = Vec::new();
            for x in &s.exchanges {
                if let Some(c) = &x.command {
                    our_cmds.entry(c.frame).or_default().push(c.verb.clone());
                }
                for r in &x.replies {
                    if r.code != 0 {
                        replies.push((r.frame, r.code, r.multiline));
                    }
                }
            }
            replies.sort();
            for (i, (f, c, m)) in replies.iter().enumerate() {
                our_starts.entry(*f).or_default().push(*c);
                if *m {
                    multi.push((*f, *c, replies.get(i + 1).map_or(u64::MAX, |r| r.0)));
                }
            }
        }
        // tshark -> ours.
        for (frame, f) in &ts {
            for c in &f.commands {
                if !our_cmds.get(frame).is_some_and(|v| v.contains(c)) {
                    errors.push(format!("{name}: tshark sees command {c} in frame {frame}, ftpscope does not ({:?})", our_cmds.get(frame)));
                }
            }
            for code in &f.codes {
                let starts = our_starts.get(frame).is_some_and(|v| v.contains(code));
                let continues = multi
                    .iter()
                    .any(|(first, c, next)| c == code && first <= frame && frame <= next);
                // A reply line written in several segments (vsftpd's "500 OOPS: "
                // after a failed TLS handshake): tshark dates it by its first
                // segment, ftpscope by the segment that completes the line.
                let split = (frame + 1..=frame + 3).any(|g| {
                    our_starts.get(&g).is_some_and(|v| v.contains(code))
                        && ts.get(&g).is_none_or(|x| !x.codes.contains(code))
                });
                if !starts && !continues && !split {
                    errors.push(format!("{name}: tshark sees reply {code} in frame {frame}, ftpscope has no such reply there"));
                }
            }
        }
        // ours -> tshark.
        for (frame, cmds) in &our_cmds {
            let theirs = ts
                .get(frame)
                .map(|f| f.commands.clone())
                .unwrap_or_default();
            for c in cmds {
                if !theirs.contains(c) {
                    errors.push(format!("{name}: ftpscope has command {c} in frame {frame}, tshark does not ({theirs:?})"));
                }
            }
        }
        for (frame, codes) in &our_starts {
            let theirs = ts.get(frame).map(|f| f.codes.clone()).unwrap_or_default();
            for c in codes {
                let split = (frame.saturating_sub(3)..*frame)
                    .any(|f| ts.get(&f).is_some_and(|x| x.codes.contains(c)));
                if !theirs.contains(c) && !split {
                    errors.push(format!("{name}: ftpscope has reply {c} starting in frame {frame}, tshark does not ({theirs:?})"));
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} captures checked");
    assert!(
        errors.is_empty(),
        "{} differences with tshark:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// A pcapng with several interfaces of different link types (Linux cooked and
/// Ethernet), made by Wireshark's mergecap from two committed captures, gives the
/// sessions of both.
#[test]
fn pcapng_with_several_interfaces_and_link_types() {
    if !common::require_tool("mergecap", "pcapng_with_several_interfaces_and_link_types") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.pcapng");
    let a = common::repo().join("captures/ftp-port-2121.pcap"); // Linux cooked v1
    let b = common::repo().join("captures/passive-ok.pcapng"); // Ethernet
    let st = Command::new("mergecap")
        .arg("-F")
        .arg("pcapng")
        .arg("-w")
        .arg(&out)
        .arg(&a)
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success());
    let cfg = TrackerConfig {
        ftp_ports: vec![21, 2121],
        ..Default::default()
    };
    let merged = ftpscope::engine::analyze_file(&out, cfg.clone()).unwrap();
    let one = ftpscope::engine::analyze_file(&a, cfg.clone()).unwrap();
    let two = ftpscope::engine::analyze_file(&b, cfg).unwrap();
    assert_eq!(
        merged.sessions.len(),
        one.sessions.len() + two.sessions.len()
    );
    let servers: Vec<String> = merged
        .sessions
        .iter()
        .map(|s| s.server.to_string())
        .collect();
    assert!(
        servers.iter().any(|s| s.ends_with(":2121")) && servers.iter().any(|s| s.ends_with(":21")),
        "{servers:?}"
    );
    let bytes =
        |c: &ftpscope::model::Capture| c.sessions.iter().map(|s| s.data_bytes()).sum::<u64>();
    assert_eq!(bytes(&merged), bytes(&one) + bytes(&two));
}

/// The one capture writer (`capture::write`: `live -w`, the proxy's `--record`,
/// the test fixtures) and its etherparse-built packets, read by tshark with
/// checksum validation on: every IP and TCP checksum is good, in pcap and pcapng,
/// over IPv4 and IPv6, and the FTP commands are the ones written.
#[test]
fn written_captures_have_good_checksums_for_tshark() {
    use ftpscope::capture::write::{self, ACK, PSH, SYN, tcp_packet};
    use ftpscope::time::Ts;
    const T: &str = "written_captures_have_good_checksums_for_tshark";
    if !common::require_tool("tshark", T) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("w.pcapng", write::Format::Pcapng),
        ("w.pcap", write::Format::Pcap),
    ] {
        let path = dir.path().join(name);
        let header = write::Header {
            linktype: write::LINKTYPE_RAW,
            snaplen: 0,
            interface: Some("test0"),
            application: "ftpscope tests",
        };
        let f = std::fs::File::create(&path).unwrap();
        let mut w = write::Writer::new(f, format, &header).unwrap();
        let mut n = 0;
        for (c, s) in [
            ("192.0.2.1:40000", "192.0.2.2:21"),
            ("[2001:db8::1]:40001", "[2001:db8::2]:21"),
            ("[2001:db8::1]:40002", "192.0.2.2:21"),
        ] {
            let (c, s) = (c.parse().unwrap(), s.parse().unwrap());
            let mut put = |src, dst, seq, ack, flags, payload: &[u8]| {
                n += 1;
                let p = tcp_packet(src, dst, seq, ack, flags, payload);
                w.packet(
                    Ts(1_700_000_000_000_000_000 + n * 1_000_000),
                    &p,
                    p.len() as u32,
                )
                .unwrap();
            };
            put(c, s, 100, 0, SYN, b"");
            put(s, c, 500, 101, SYN | ACK, b"");
            put(c, s, 101, 501, ACK, b"");
            put(s, c, 501, 101, PSH | ACK, b"220 ready\r\n");
            put(c, s, 101, 512, PSH | ACK, b"USER anonymous\r\n");
            // Odd payload length: the checksum's padding byte.
            put(c, s, 117, 512, PSH | ACK, b"NOOP \r\n");
        }
        drop(w);
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
            ])
            .args(["-T", "fields", "-E", "separator=\t"])
            .args(["-e", "ip.checksum.status", "-e", "tcp.checksum.status"])
            .args(["-e", "ftp.request.command"])
            .output()
            .expect("tshark runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 18, "{name}: every packet read:\n{text}");
        for r in &rows {
            // 1 = good; IPv6 has no header checksum (empty).
            assert!(r[0].is_empty() || r[0] == "1", "{name}: IP checksum: {r:?}");
            assert_eq!(r[1], "1", "{name}: TCP checksum: {r:?}\n{text}");
        }
        let commands: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.get(2))
            .filter(|c| !c.is_empty())
            .copied()
            .collect();
        assert_eq!(
            commands,
            ["USER", "NOOP", "USER", "NOOP", "USER", "NOOP"],
            "{name}"
        );
    }
}
