//! Capture inputs: standard input (`-`), gzip-compressed captures, several files
//! merged in time order, the modified pcap layouts of old patched tcpdumps, and FTP
//! inside tunnels (IP-in-IP, 6in4, GRE, ERSPAN, VXLAN). Each input is made from the
//! shipped captures; ftpscope must find on it what it finds on the original, and
//! tshark (where it reads the input) what it finds on the original.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ftpscope::capture::reader::linktype;
use ftpscope::capture::{CaptureReader, PacketSource};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpscope"))
}

fn run(args: &[&std::ffi::OsStr], stdin: Option<&[u8]>) -> Output {
    let mut c = bin();
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("ftpscope runs");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().expect("stdin is piped");
        let data = data.to_vec();
        // A writer thread: the child may fill its stdout before reading all input.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    child.wait_with_output().expect("ftpscope ends")
}

fn json_report(paths: &[&Path], stdin: Option<&[u8]>) -> String {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["report".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let o = run(&args, stdin);
    assert!(
        o.status.success(),
        "{paths:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("JSON is UTF-8")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Extra FTP ports of a capture, from its expectation (as tests/tshark.rs finds them).
fn ports(pcap: &Path) -> Vec<u16> {
    let mut ports = Vec::new();
    if let Some(e) = common::expectation_for(pcap) {
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
    ports
}

/// What tshark's FTP dissector sees, frame by frame: (frame, commands, codes).
fn tshark_ftp(pcap: &Path, ports: &[u16]) -> Vec<String> {
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
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// tshark starts slowly (about a second): its cross-checks of the variants of
/// every capture run on this sample; ftpscope's own comparisons run on all.
fn tshark_sample(pcap: &Path) -> bool {
    [
        "passive-ok",
        "active-port",
        "healthy-epsv-list",
        "eprt-ipv6",
        "auth-tls",
        "capture-truncated",
        "ftp-port-2121",
        "multi-session",
    ]
    .iter()
    .any(|n| name(pcap).starts_with(n))
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

#[test]
fn gzip_and_standard_input_read_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let tshark = common::require_tool("tshark", "gzip_and_standard_input_read_as_the_file");
    for pcap in common::committed_captures() {
        let raw = std::fs::read(&pcap).unwrap();
        let gz = gzip(&raw);
        // The name says nothing: compression is told by content.
        let gz_path = dir.path().join(format!("{}.bin", name(&pcap)));
        std::fs::write(&gz_path, &gz).unwrap();
        let want = json_report(&[&pcap], None);
        assert!(
            !want.is_empty()
                || name(&pcap).contains("refused")
                || name(&pcap).contains("unanswered")
        );
        assert_eq!(json_report(&[&gz_path], None), want, "{} gzip", name(&pcap));
        let dash = Path::new("-");
        assert_eq!(
            json_report(&[dash], Some(&raw)),
            want,
            "{} stdin",
            name(&pcap)
        );
        assert_eq!(
            json_report(&[dash], Some(&gz)),
            want,
            "{} gzip stdin",
            name(&pcap)
        );
        if tshark && tshark_sample(&pcap) {
            let p = ports(&pcap);
            assert_eq!(
                tshark_ftp(&gz_path, &p),
                tshark_ftp(&pcap, &p),
                "{} tshark",
                name(&pcap)
            );
        }
    }
    // The text report and `ftpscope -` (no subcommand, output not a terminal): the
    // same report, named `-`.
    let pcap = common::repo().join("captures/passive-ok.pcapng");
    let raw = std::fs::read(&pcap).unwrap();
    let file = run(&["report".as_ref(), pcap.as_os_str()], None);
    for args in [&["report", "-"][..], &["-"][..]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let piped = run(&args, Some(&gzip(&raw)));
        assert!(piped.status.success());
        let strip = |o: &Output| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&piped), strip(&file), "{args:?}");
        assert!(String::from_utf8_lossy(&piped.stdout).starts_with("ftpscope report: -\n"));
    }
}

/// Hands over one byte per read, as a slow pipe may, and owns its bytes.
struct OneByte(std::io::Cursor<Vec<u8>>);
impl Read for OneByte {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

type Packets = Vec<(u64, i64, u32, Vec<u8>)>;

fn packets<P: PacketSource>(mut r: P) -> (Packets, Option<String>) {
    let mut v = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => v.push((p.frame, p.ts.0, p.linktype, p.data.to_vec())),
            Ok(None) => return (v, None),
            Err(e) => return (v, Some(e.to_string())),
        }
    }
}

#[test]
fn a_stream_read_one_byte_at_a_time_gives_the_same_packets() {
    for pcap in common::committed_captures() {
        let raw = std::fs::read(&pcap).unwrap();
        let want = packets(CaptureReader::new(std::fs::File::open(&pcap).unwrap()).unwrap());
        assert!(!want.0.is_empty(), "{}", name(&pcap));
        for (what, bytes) in [("plain", raw.clone()), ("gzip", gzip(&raw))] {
            let input = ftpscope::capture::input::wrap(
                Box::new(OneByte(std::io::Cursor::new(bytes))),
                None,
            )
            .unwrap();
            let got = packets(CaptureReader::new(input.reader).unwrap());
            assert_eq!(got, want, "{} {what}", name(&pcap));
        }
    }
}

/// editcap's names for the pcap layouts of old patched tcpdumps.
const LAYOUTS: [&str; 4] = ["rh6_1pcap", "modpcap", "nokiapcap", "suse6_3pcap"];

#[test]
fn modified_pcap_layouts_read_as_tshark_reads_them() {
    let t = "modified_pcap_layouts_read_as_tshark_reads_them";
    if !common::require_tool("editcap", t) || !common::require_tool("tshark", t) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for pcap in common::committed_captures() {
        let want = json_report(&[&pcap], None);
        let p = ports(&pcap);
        let cross = tshark_sample(&pcap);
        let want_tshark = if cross {
            tshark_ftp(&pcap, &p)
        } else {
            Vec::new()
        };
        for layout in LAYOUTS {
            let out = dir.path().join(format!("{}.{layout}", name(&pcap)));
            let ok = Command::new("editcap")
                .args(["-F", layout])
                .arg(&pcap)
                .arg(&out)
                .output()
                .unwrap();
            // editcap writes these layouts for Ethernet only (a Linux cooked
            // capture cannot be one): skip what it refuses.
            if !ok.status.success() {
                continue;
            }
            assert_eq!(
                json_report(&[&out], None),
                want,
                "{} as {layout}",
                name(&pcap)
            );
            if cross {
                assert_eq!(
                    tshark_ftp(&out, &p),
                    want_tshark,
                    "{} as {layout} (tshark)",
                    name(&pcap)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} layout conversions checked");
}

#[test]
fn other_capture_formats_are_named_with_the_way_to_convert_them() {
    let t = "other_capture_formats_are_named_with_the_way_to_convert_them";
    if !common::require_tool("editcap", t) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = common::repo().join("captures/passive-ok.pcapng");
    for (format, said) in [
        ("netmon1", "Microsoft Network Monitor"),
        ("netmon2", "Microsoft Network Monitor"),
        ("ngsniffer", "Sniffer/NetXRay"),
    ] {
        let out = dir.path().join(format!("capture.{format}"));
        let ok = Command::new("editcap")
            .args(["-F", format])
            .arg(&pcap)
            .arg(&out)
            .output()
            .unwrap();
        assert!(ok.status.success(), "editcap -F {format}");
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .arg("report")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{format}: {err}");
        assert!(
            err.contains(said) && err.contains("editcap -F pcapng"),
            "{format}: {err}"
        );
    }
    // Archives and text say what they are.
    for (bytes, said) in [
        (&b"PK\x03\x04\x14\x00\x00\x00"[..], "zip archive"),
        (&[0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0][..], "zstd"),
        (&b"No.     Time           Source"[..], "text"),
    ] {
        let out = dir.path().join("not-a-capture");
        std::fs::write(&out, bytes).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .arg("report")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(said), "{said}: {err}");
    }
}

/// Solaris snoop files (what `editcap -F snoop` writes) read as the captures they
/// were made from, and as tshark reads them.
#[test]
fn snoop_files_read_as_the_captures_they_were_made_from() {
    let t = "snoop_files_read_as_the_captures_they_were_made_from";
    if !common::require_tool("editcap", t) || !common::require_tool("tshark", t) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for pcap in common::committed_captures() {
        let out = dir.path().join(format!("{}.snoop", name(&pcap)));
        let ok = Command::new("editcap")
            .args(["-F", "snoop"])
            .arg(&pcap)
            .arg(&out)
            .output()
            .unwrap();
        // editcap writes snoop for Ethernet only (and microseconds: a
        // nanosecond capture would lose digits).
        if !ok.status.success() {
            continue;
        }
        assert_eq!(
            json_report(&[&out], None),
            json_report(&[&pcap], None),
            "{} as snoop",
            name(&pcap)
        );
        if tshark_sample(&pcap) {
            let p = ports(&pcap);
            assert_eq!(
                tshark_ftp(&out, &p),
                tshark_ftp(&pcap, &p),
                "{} (tshark)",
                name(&pcap)
            );
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} snoop conversions checked");
    // A snoop file cut anywhere: the packets before the cut, then a clear error.
    let snoop = dir.path().join("passive-ok.pcapng.snoop");
    let whole = std::fs::read(&snoop).unwrap();
    for cut in [20, 16 + 10, whole.len() / 2, whole.len() - 1] {
        let f = dir.path().join("cut.snoop");
        std::fs::write(&f, &whole[..cut]).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .arg("report")
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            o.status.success() || o.status.code() == Some(2),
            "cut {cut}"
        );
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "cut {cut}"
        );
    }
}

/// Encapsulations to wrap each IP packet of a capture in.
#[derive(Clone, Copy, Debug)]
enum Tunnel {
    IpInIp,
    Gre,
    GreKeySeq,
    Erspan2,
    Vxlan,
}

fn ipv4_header(proto: u8, payload_len: usize) -> Vec<u8> {
    let total = 20 + payload_len;
    let mut h = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    h.extend_from_slice(&[198, 51, 100, 1, 198, 51, 100, 2]);
    let sum = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

fn eth(ethertype: u16, inner: &[u8]) -> Vec<u8> {
    let mut e = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb];
    e.extend_from_slice(&ethertype.to_be_bytes());
    e.extend_from_slice(inner);
    e
}

/// Wrap one IP packet (`v6`: IPv6) in `t`, inside an outer Ethernet + IPv4 frame.
fn wrap(t: Tunnel, ip: &[u8], v6: bool) -> Vec<u8> {
    let et: u16 = if v6 { 0x86dd } else { 0x0800 };
    let (proto, body) = match t {
        Tunnel::IpInIp => (if v6 { 41 } else { 4 }, ip.to_vec()),
        Tunnel::Gre => {
            let mut g = vec![0, 0];
            g.extend_from_slice(&et.to_be_bytes());
            g.extend_from_slice(ip);
            (47, g)
        }
        Tunnel::GreKeySeq => {
            let mut g = vec![0x30, 0];
            g.extend_from_slice(&et.to_be_bytes());
            g.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 1]);
            g.extend_from_slice(ip);
            (47, g)
        }
        Tunnel::Erspan2 => {
            let mut g = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1];
            g.extend_from_slice(&[0x10, 0, 0, 1, 0, 0, 0, 0]);
            g.extend_from_slice(&eth(et, ip));
            (47, g)
        }
        Tunnel::Vxlan => {
            let inner = eth(et, ip);
            let len = 8 + 8 + inner.len();
            let mut u = vec![0xc3, 0x50, 0x12, 0xb5, (len >> 8) as u8, len as u8, 0, 0];
            u.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 0x2a, 0]);
            u.extend_from_slice(&inner);
            (17, u)
        }
    };
    let mut ip4 = ipv4_header(proto, body.len());
    ip4.extend_from_slice(&body);
    eth(0x0800, &ip4)
}

/// A pcap (Ethernet) of `pcap`'s packets, each IP packet wrapped in `t`; packets
/// that are not IP, or that would not fit an outer IPv4 packet, stay as they are.
fn tunnelled(pcap: &Path, t: Tunnel) -> Option<(Vec<u8>, usize)> {
    let mut wrapped = 0;
    let mut r = CaptureReader::new(std::fs::File::open(pcap).unwrap()).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    while let Ok(Some(p)) = r.next_packet() {
        if p.linktype != linktype::ETHERNET {
            return None;
        }
        let d = p.data;
        let et = d.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let frame = match et {
            Some(0x0800 | 0x86dd)
                if d.len() > 14 && p.orig_len as usize == d.len() && d.len() < 60_000 =>
            {
                wrapped += 1;
                wrap(t, &d[14..], et == Some(0x86dd))
            }
            _ => d.to_vec(),
        };
        let extra = frame.len() as u32 - d.len().min(frame.len()) as u32;
        let nanos = p.ts.0.rem_euclid(1_000_000_000);
        let secs = (p.ts.0 - nanos) / 1_000_000_000;
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&((nanos / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.orig_len + extra).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    Some((out, wrapped))
}

#[test]
fn ftp_inside_tunnels_reads_as_untunnelled_and_as_tshark_reads_it() {
    let tshark = common::require_tool(
        "tshark",
        "ftp_inside_tunnels_reads_as_untunnelled_and_as_tshark_reads_it",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for pcap in common::committed_captures() {
        if name(&pcap) == "ftps-dsb.pcapng" {
            // Its TLS secrets travel in a pcapng block the pcap written here has
            // no room for: read without them, it differs by design.
            continue;
        }
        // Snaplen-cut captures keep their cut packets untunnelled (an outer header
        // would cut the inner packet elsewhere); the others are wrapped whole.
        let want = json_report(&[&pcap], None);
        let p = ports(&pcap);
        let cross = tshark && tshark_sample(&pcap);
        let want_tshark = if cross {
            tshark_ftp(&pcap, &p)
        } else {
            Vec::new()
        };
        for t in [
            Tunnel::IpInIp,
            Tunnel::Gre,
            Tunnel::GreKeySeq,
            Tunnel::Erspan2,
            Tunnel::Vxlan,
        ] {
            let Some((bytes, wrapped)) = tunnelled(&pcap, t) else {
                continue;
            };
            assert!(wrapped > 0, "{}: no packet wrapped", name(&pcap));
            let out = dir.path().join(format!("{}.{t:?}.pcap", name(&pcap)));
            std::fs::write(&out, &bytes).unwrap();
            assert_eq!(json_report(&[&out], None), want, "{} in {t:?}", name(&pcap));
            if cross {
                assert_eq!(
                    tshark_ftp(&out, &p),
                    want_tshark,
                    "{} in {t:?} (tshark)",
                    name(&pcap)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} tunnelled captures checked");
}

/// Per session (by client address): verbs and reply codes in order.
fn transcripts(json: &str) -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    for line in json.lines() {
        let s: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut t = Vec::new();
        for x in s["exchanges"].as_array().unwrap() {
            if let Some(v) = x["command"]["verb"].as_str() {
                t.push(v.to_string());
            }
            for r in x["replies"].as_array().unwrap() {
                t.push(r["code"].to_string());
            }
        }
        m.insert(format!("{} {}", s["client"], s["server"]), t);
    }
    m
}

#[test]
fn several_captures_are_merged_in_time_order_as_mergecap_does() {
    let t = "several_captures_are_merged_in_time_order_as_mergecap_does";
    let dir = tempfile::tempdir().unwrap();
    let caps = common::repo().join("captures");
    let files: Vec<PathBuf> = [
        "passive-ok.pcapng",
        "active-port.pcap",
        "passive-refused.pcap",
        "login-retry.pcap",
    ]
    .iter()
    .map(|f| caps.join(f))
    .collect();
    // One of them gzip-compressed and one from standard input: merging takes any input.
    let gz = dir.path().join("active-port.pcap.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&files[1]).unwrap())).unwrap();
    let stdin = std::fs::read(&files[3]).unwrap();
    let args: Vec<&Path> = vec![&files[0], &gz, &files[2], Path::new("-")];
    let merged = json_report(&args, Some(&stdin));
    // Every session of every file, with its frames pointing into its own file.
    let mut want = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let single = json_report(&[f], None);
        want.extend(transcripts(&single));
        for line in single.lines() {
            let s: serde_json::Value = serde_json::from_str(line).unwrap();
            let m = merged
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|m| m["client"] == s["client"] && m["server"] == s["server"])
                .unwrap_or_else(|| {
                    panic!("session {} of {} is in the merge", s["client"], name(f))
                });
            assert_eq!(m["start_frame"]["file"], i, "{}", name(f));
            assert_eq!(m["start_frame"]["frame"], s["start_frame"], "{}", name(f));
            let first = &m["exchanges"][0]["replies"][0]["frame"];
            assert_eq!(first["file"], i);
            assert_eq!(first["frame"], s["exchanges"][0]["replies"][0]["frame"]);
        }
    }
    assert_eq!(transcripts(&merged), want);
    // Sessions come out in time order of their start.
    let starts: Vec<String> = merged
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["start"].to_string())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    // Text: frames named by their file; the head names every input.
    // Not wrapped (--width 0): the head names long paths, on one line.
    let o = run(
        &[
            "diagnose".as_ref(),
            "--width".as_ref(),
            "0".as_ref(),
            files[2].as_os_str(),
            files[0].as_os_str(),
        ],
        None,
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with(&format!(
            "ftpscope diagnose: {} + {}\n",
            files[2].display(),
            files[0].display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("frame {}#", files[2].display())),
        "evidence names the file: {text}"
    );
    // tshark on mergecap's merge sees the same commands and replies as ftpscope
    // merging itself.
    if common::require_tool("mergecap", t) && common::require_tool("tshark", t) {
        let m = dir.path().join("merged.pcapng");
        let ok = Command::new("mergecap")
            .arg("-w")
            .arg(&m)
            .args(&files)
            .status()
            .unwrap();
        assert!(ok.success());
        assert_eq!(transcripts(&json_report(&[&m], None)), want);
        let mut ours: Vec<String> = want.values().flatten().cloned().collect();
        let mut theirs: Vec<String> = Vec::new();
        for l in tshark_ftp(&m, &[]) {
            let mut f = l.split('\t').skip(1);
            let cmds = f.next().unwrap_or("");
            let codes = f.next().unwrap_or("");
            theirs.extend(
                cmds.split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            theirs.extend(
                codes
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
        }
        ours.sort();
        theirs.sort();
        // tshark counts a code on every line of a multi-line reply; ours once.
        theirs.dedup();
        ours.dedup();
        assert_eq!(ours, theirs);
    }
}

#[cfg(not(feature = "live"))]
#[test]
fn live_without_the_feature_says_how_to_get_it() {
    for args in [
        &["live", "-i", "eth0"][..],
        &["live"][..],
        &["live", "--help"][..],
    ] {
        let o = bin().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("this ftpscope was built without live capture; rebuild with `cargo install ftpscope --features live` (needs libpcap)"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_truncated_gzip_keeps_what_came_before() {
    let pcap = common::repo().join("captures/passive-ok.pcapng");
    let gz = gzip(&std::fs::read(&pcap).unwrap());
    let cut = &gz[..gz.len() * 2 / 3];
    let o = run(&["diagnose".as_ref(), "-".as_ref()], Some(cut));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("capture-file-truncated"), "{text}");
    assert!(text.contains("the gzip file is cut short"), "{text}");
    // Not gzip after all: a clear error, exit 2.
    let o = run(
        &["report".as_ref(), "-".as_ref()],
        Some(&[0x1f, 0x8b, 0xff, 0xff, 0, 1, 2]),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ftpscope: error:"));
}

/// Peak resident memory of a run, in KiB (`/usr/bin/time -f %M`).
fn peak_kib(args: &[&str], stdin: &Path) -> Option<u64> {
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_ftpscope"))
        .args(args)
        .stdin(std::fs::File::open(stdin).unwrap())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_gzip_bomb_costs_time_not_memory() {
    if !Path::new("/usr/bin/time").exists() {
        assert!(!common::in_ci(), "/usr/bin/time is required when CI is set");
        eprintln!("SKIPPED a_gzip_bomb_costs_time_not_memory: /usr/bin/time is missing");
        return;
    }
    // 256 MiB of zero-filled 16 MiB packets behind a pcap header: about 256 KiB
    // compressed. Written compressed as it is made: the test holds none of it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.pcap.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    e.write_all(&0xa1b2_c3d4u32.to_le_bytes()).unwrap();
    e.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    e.write_all(&(16u32 << 20).to_le_bytes()).unwrap();
    e.write_all(&1u32.to_le_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for i in 0..16u32 {
        for v in [i, 0, 16 << 20, 16 << 20] {
            e.write_all(&v.to_le_bytes()).unwrap();
        }
        for _ in 0..16 {
            e.write_all(&zeros).unwrap();
        }
    }
    e.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 2 << 20);
    let kib = peak_kib(&["report", "--format", "json", "-"], &path).expect("measured");
    // One 16 MiB packet buffer, the decoder's window and buffers: far below the
    // 256 MiB the file expands to.
    assert!(kib < 120 * 1024, "peak {kib} KiB");
}

/// The JSON report without what names frames and files (a merged read numbers
/// frames per file): sessions, exchanges, data channels, findings and counters.
fn without_frames(json: &str) -> Vec<serde_json::Value> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !k.contains("frame") && k != "capture" && k != "file");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    json.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            strip(&mut v);
            v
        })
        .collect()
}

/// `editcap -c N` cuts a capture into files of N packets, as a `tcpdump -C` ring
/// buffer would: read as a directory, as a quoted glob and as a list, the pieces
/// give the same sessions, exchanges, data channels and findings as the whole file,
/// sessions and connections spanning the cuts included.
#[test]
fn a_capture_cut_into_pieces_reads_as_the_whole_file() {
    let t = "a_capture_cut_into_pieces_reads_as_the_whole_file";
    if !common::require_tool("editcap", t) {
        return;
    }
    let caps = common::repo().join("captures");
    for (file, per_piece) in [
        ("healthy-lftp-mirror.pcap", "9"),
        ("multi-session.pcap", "5"),
        ("nat-server-private.pcap", "4"),
        ("ftps-curl-tls13.pcap", "6"),
    ] {
        let whole = caps.join(file);
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("editcap")
            .args(["-F", "pcap", "-c", per_piece])
            .arg(&whole)
            .arg(dir.path().join("piece.pcap"))
            .status()
            .expect("editcap runs");
        assert!(ok.success(), "editcap -c {per_piece} {file}");
        let pieces: Vec<PathBuf> = {
            let mut v: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            v.sort();
            v
        };
        assert!(pieces.len() > 3, "{file} cut into {} pieces", pieces.len());
        let want = without_frames(&json_report(&[&whole], None));
        // (The FTPS capture, read without its key log, has handshakes and records.)
        assert!(
            want.iter()
                .any(|r| r["exchanges"].as_array().is_some_and(|e| e.len() > 3)
                    || r["tls"]["version"].is_string()),
            "{file}: sessions to compare"
        );
        let by_dir = json_report(&[dir.path()], None);
        assert_eq!(
            without_frames(&by_dir),
            want,
            "{file} as the directory of its pieces"
        );
        let pattern = dir.path().join("piece_*.pcap");
        assert!(!pattern.exists());
        assert_eq!(
            without_frames(&json_report(&[&pattern], None)),
            want,
            "{file} as a glob pattern"
        );
        let listed: Vec<&Path> = pieces.iter().rev().map(|p| p.as_path()).collect();
        assert_eq!(
            without_frames(&json_report(&listed, None)),
            want,
            "{file} as its pieces listed in reverse"
        );
    }
}

/// A file among the inputs that is not a capture (or cannot be opened) is named in
/// a `capture-file-skipped` finding and the rest is analysed; `--strict` stops
/// with exit status 2 naming it, and also at a file truncated part-way.
#[test]
fn an_unreadable_input_is_skipped_and_named_or_stops_with_strict() {
    let caps = common::repo().join("captures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(caps.join("multi-session.pcap"), dir.path().join("a.pcap")).unwrap();
    std::fs::copy(caps.join("passive-refused.pcap"), dir.path().join("b.pcap")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a capture\n").unwrap();
    let args: Vec<&std::ffi::OsStr> = vec![
        "report".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        dir.path().as_os_str(),
    ];
    let out = json_report(&[dir.path()], None);
    let alone = json_report(
        &[&dir.path().join("a.pcap"), &dir.path().join("b.pcap")],
        None,
    );
    assert!(alone.lines().count() >= 2);
    // The sessions are the readable files' ...
    let (sessions, capture): (Vec<_>, Vec<_>) = without_frames(&out)
        .into_iter()
        .partition(|v| v.get("scope").is_none());
    let (alone_sessions, _) = without_frames(&alone)
        .into_iter()
        .partition::<Vec<_>, _>(|v| v.get("scope").is_none());
    assert_eq!(sessions, alone_sessions, "the readable files' sessions");
    // ... and the last line names the file left out.
    let skipped = capture[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "capture-file-skipped")
        .unwrap_or_else(|| panic!("{capture:?}"));
    assert!(
        skipped["evidence"].to_string().contains("notes.txt"),
        "{skipped}"
    );
    let o = run(
        &[
            "diagnose".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            dir.path().as_os_str(),
        ],
        None,
    );
    let diag = String::from_utf8_lossy(&o.stdout);
    let skipped = diag
        .lines()
        .find(|l| l.contains("\"capture-file-skipped\""))
        .unwrap_or_else(|| {
            panic!(
                "a capture-file-skipped finding in {} lines",
                diag.lines().count()
            )
        });
    assert!(
        skipped.contains("notes.txt") && skipped.contains("not a pcap"),
        "{skipped}"
    );

    // The text report says it too.
    let o = run(&[dir.path().as_os_str()], None);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("left out") && text.contains("notes.txt"),
        "{}",
        &text[..text.len().min(2000)]
    );

    let mut strict = args.clone();
    strict.push("--strict".as_ref());
    let o = run(&strict, None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("notes.txt"), "{err}");

    // A piece cut part-way: skipped no more, but read up to the cut; --strict stops.
    std::fs::remove_file(dir.path().join("notes.txt")).unwrap();
    let b = std::fs::read(dir.path().join("b.pcap")).unwrap();
    std::fs::write(dir.path().join("b.pcap"), &b[..b.len() - 7]).unwrap();
    let o = run(&["diagnose".as_ref(), dir.path().as_os_str()], None);
    assert!(String::from_utf8_lossy(&o.stdout).contains("capture-file-truncated"));
    assert!(run(&args, None).status.success());
    let o = run(&strict, None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("b.pcap") && err.contains("--strict"), "{err}");

    // A pattern that matches nothing and an empty directory are errors.
    let empty = tempfile::tempdir().unwrap();
    for arg in [empty.path().to_path_buf(), dir.path().join("zz*.pcap")] {
        let o = run(&["report".as_ref(), arg.as_os_str()], None);
        assert_eq!(o.status.code(), Some(2), "{arg:?}");
        assert!(!o.stderr.is_empty());
    }
}
