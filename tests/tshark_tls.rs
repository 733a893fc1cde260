//! Cross-check of the TLS handshake facts with an independent implementation:
//! for every committed capture in which ftpscope finds TLS, the version, cipher
//! suite, resumption and alerts it reports for each connection must be the ones
//! tshark (Wireshark's TLS dissector) reads from the same frames.
//!
//! tshark does not start TLS after curl's `AUTH SSL` nor on port 990 by itself, so
//! the control ports and the data connections' ports are decoded as TLS
//! (`-d tcp.port==P,tls`). Resumption by tshark's fields: TLS 1.3, the ServerHello
//! carries `pre_shared_key` (41); TLS <= 1.2, the ServerHello echoes the
//! ClientHello's non-empty session id, or the server sent no Certificate.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use ftpscope::model::tls::TlsInfo;
use ftpscope::session::TrackerConfig;

fn tshark(
    pcap: &std::path::Path,
    ports: &BTreeSet<u16>,
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    for p in ports {
        cmd.arg("-d").arg(format!("tcp.port=={p},tls"));
    }
    cmd.args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn hex16(s: &str) -> Option<u16> {
    u16::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

#[derive(Debug, Default)]
struct Stream {
    client_hello_sid: Option<String>,
    server_hello: Option<u64>,
    certificate: bool,
}

#[test]
fn tls_handshakes_match_tshark() {
    if !common::require_tool("tshark", "tls_handshakes_match_tshark") {
        return;
    }
    let mut errors = Vec::new();
    let mut checked = 0;
    for pcap in common::committed_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let cap = ftpscope::engine::analyze_file(&pcap, TrackerConfig::default()).unwrap();
        // Our connections with a handshake in the capture, and the ports to decode.
        let mut ours: Vec<(String, &TlsInfo)> = Vec::new();
        let mut ports = BTreeSet::new();
        for s in &cap.sessions {
            if let Some(t) = s.tls_info.as_deref() {
                ports.insert(s.server.port());
                ours.push((format!("session {} control", s.id), t));
            }
            for (i, d) in s.data_channels.iter().enumerate() {
                if let (Some(t), Some(l)) = (d.tls.as_deref(), d.listener) {
                    ports.insert(l.port());
                    ours.push((format!("session {} data {}", s.id, i + 1), t));
                }
            }
        }
        if ours.is_empty() {
            continue;
        }
        // tshark: the hellos, certificates and alerts, with their streams.
        let mut streams: BTreeMap<u64, Stream> = BTreeMap::new();
        let mut stream_of: BTreeMap<u64, u64> = BTreeMap::new();
        for r in tshark(
            &pcap,
            &ports,
            "tls.handshake.type == 1",
            &["frame.number", "tcp.stream", "tls.handshake.session_id"],
        ) {
            let (f, st) = (r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0));
            stream_of.insert(f, st);
            let e = streams.entry(st).or_default();
            e.client_hello_sid
                .get_or_insert(r.get(2).cloned().unwrap_or_default());
        }
        let mut server_hellos: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for r in tshark(
            &pcap,
            &ports,
            "tls.handshake.type == 2",
            &[
                "frame.number",
                "tcp.stream",
                "tls.handshake.version",
                "tls.handshake.extensions.supported_version",
                "tls.handshake.ciphersuite",
                "tls.handshake.session_id",
                "tls.handshake.extension.type",
            ],
        ) {
            let (f, st) = (r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0));
            stream_of.insert(f, st);
            streams.entry(st).or_default().server_hello = Some(f);
            server_hellos.insert(f, r);
        }
        for r in tshark(&pcap, &ports, "tls.handshake.type == 11", &["tcp.stream"]) {
            streams
                .entry(r[0].parse().unwrap_or(0))
                .or_default()
                .certificate = true;
        }
        let mut alerts: BTreeMap<u64, (String, String)> = BTreeMap::new();
        for r in tshark(
            &pcap,
            &ports,
            "tls.alert_message",
            &[
                "frame.number",
                "tls.alert_message.level",
                "tls.alert_message.desc",
            ],
        ) {
            alerts.insert(
                r[0].parse().unwrap_or(0),
                (
                    r.get(1).cloned().unwrap_or_default(),
                    r.get(2).cloned().unwrap_or_default(),
                ),
            );
        }
        let mut covered = BTreeSet::new();
        for (who, t) in &ours {
            let mut err = |m: String| errors.push(format!("{name} {who}: {m}"));
            if t.handshake == "none" || t.handshake == "not-seen" {
                continue;
            }
            if let Some(f) = t.client_hello_frame {
                match stream_of.get(&f) {
                    Some(st) => {
                        covered.insert(*st);
                    }
                    None => err(format!("ClientHello at frame {f}, tshark sees none there")),
                }
            }
            let Some(f) = t.server_hello_frame else {
                continue;
            };
            let Some(r) = server_hellos.get(&f) else {
                err(format!("ServerHello at frame {f}, tshark sees none there"));
                continue;
            };
            checked += 1;
            let st = stream_of[&f];
            // The frame's last ServerHello (a HelloRetryRequest may share the frame).
            let last = |s: &str| s.rsplit(',').next().unwrap_or("").to_string();
            let version = if r[3].is_empty() {
                last(&r[2])
            } else {
                last(&r[3])
            };
            let version = hex16(&version).and_then(ftpscope::tls::version_name);
            if version != t.version {
                err(format!("version {:?}, tshark {version:?}", t.version));
            }
            let suite = hex16(&last(&r[4])).map(ftpscope::tls::cipher_name);
            if suite != t.cipher_suite {
                err(format!(
                    "cipher suite {:?}, tshark {suite:?}",
                    t.cipher_suite
                ));
            }
            let exts: Vec<&str> = r[6].split(',').collect();
            let s = &streams[&st];
            let resumed = if version == Some("TLS 1.3") {
                exts.contains(&"41")
            } else {
                let sid = last(&r[5]);
                (!sid.is_empty() && s.client_hello_sid.as_deref() == Some(sid.as_str()))
                    || !s.certificate
            };
            if t.resumed != Some(resumed) {
                err(format!("resumed {:?}, tshark {resumed}", t.resumed));
            }
        }
        // Every TLS connection tshark saw a ClientHello on is one of ours.
        for st in stream_of.values().copied().collect::<BTreeSet<_>>() {
            if !covered.contains(&st) {
                errors.push(format!(
                    "{name}: tshark stream {st} has a ClientHello ftpscope did not read"
                ));
            }
        }
        // Alerts, frame by frame.
        let our_alerts: BTreeMap<u64, (Option<&str>, &str)> = ours
            .iter()
            .flat_map(|(_, t)| {
                t.alerts
                    .iter()
                    .map(|a| (a.frame, (a.level, a.description.as_str())))
            })
            .collect();
        for (f, (level, desc)) in &alerts {
            match our_alerts.get(f) {
                None => errors.push(format!(
                    "{name}: tshark sees an alert at frame {f}, ftpscope none"
                )),
                Some((ol, od)) => {
                    let tl = match level.as_str() {
                        "1" => Some("warning"),
                        "2" => Some("fatal"),
                        _ => None,
                    };
                    let td = desc
                        .parse::<u8>()
                        .map_or("encrypted".to_string(), ftpscope::tls::alert_name);
                    if (*ol, *od) != (tl, td.as_str()) {
                        errors.push(format!(
                            "{name}: alert at frame {f}: ours {ol:?} {od}, tshark {tl:?} {td}"
                        ));
                    }
                }
            }
        }
        for f in our_alerts.keys() {
            if !alerts.contains_key(f) {
                errors.push(format!(
                    "{name}: ftpscope sees an alert at frame {f}, tshark none"
                ));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(
        checked >= 10,
        "only {checked} handshakes cross-checked: are the FTPS captures there?"
    );
}
