//! `--extract DIR`: the bytes of each transfer written to a file. Checked against
//! the files the lab served (the capture scripts make them from a seed with
//! Python's `random.Random(seed).randbytes(size)`, so the test makes them again)
//! and against `tshark --export-objects ftp-data`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `report --format json --extract DIR CAPTURE`: every data channel's JSON.
fn extract(capture: &Path, dir: &Path) -> Vec<serde_json::Value> {
    extract_with(capture, dir, &[])
}

/// [`extract`] with more arguments (`--tls-keylog K`).
fn extract_with(capture: &Path, dir: &Path, args: &[&std::ffi::OsStr]) -> Vec<serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args(["report", "--format", "json", "--extract"])
        .arg(dir)
        .args(args)
        .arg(capture)
        .output()
        .expect("ftpscope runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["data_channels"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

/// The files a capture script serves or uploads: name -> (size, seed), from its
/// `make_file "PATH" SIZE SEED` lines with literal size and seed.
fn served(script: &Path) -> BTreeMap<String, (u64, String)> {
    let text = std::fs::read_to_string(script).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("make_file \"") else {
            continue;
        };
        let Some((path, args)) = rest.split_once('"') else {
            continue;
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        if let [size, seed] = args[..]
            && let Ok(size) = size.parse::<u64>()
            && !seed.contains('$')
            && !path.contains("$i")
        {
            let name = path.rsplit('/').next().unwrap().to_string();
            out.insert(name, (size, seed.to_string()));
        }
    }
    out
}

/// The content `make_file` writes, made again by Python as the lab made it.
fn content(size: u64, seed: &str) -> Vec<u8> {
    let o = Command::new("python3")
        .args([
            "-c",
            "import random,sys; sys.stdout.buffer.write(random.Random(sys.argv[2]).randbytes(int(sys.argv[1])))",
            &size.to_string(),
            seed,
        ])
        .output()
        .expect("python3 runs");
    assert!(o.status.success());
    o.stdout
}

fn last_component(arg: &str) -> &str {
    arg.trim_end_matches('/').rsplit('/').next().unwrap_or(arg)
}

#[test]
fn extracted_files_are_the_files_the_lab_served() {
    if !common::require_tool("python3", "extracted_files_are_the_files_the_lab_served") {
        return;
    }
    let repo = common::repo();
    let mut complete = 0;
    let mut partial = 0;
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(repo.join("captures/make"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    // (capture, its script, extra arguments): each lab capture with the script of
    // its name, and the FTPS captures (made by ftps.sh) decrypted with their key logs.
    let mut runs: Vec<(PathBuf, PathBuf, Vec<std::ffi::OsString>)> = Vec::new();
    for script in scripts {
        let stem = script.file_stem().unwrap().to_string_lossy().to_string();
        if let Some(capture) = ["pcap", "pcapng"]
            .iter()
            .map(|e| repo.join("captures").join(format!("{stem}.{e}")))
            .find(|p| p.exists())
        {
            runs.push((capture, script, Vec::new()));
        }
    }
    let mut ftps: Vec<PathBuf> = std::fs::read_dir(repo.join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ftps-")
                && p.extension().is_some_and(|e| e == "pcap")
                && p.with_extension("keys").exists()
        })
        .collect();
    ftps.sort();
    let mut decrypted = 0;
    let mut resumed = 0;
    for capture in ftps {
        let keys = capture.with_extension("keys");
        runs.push((
            capture,
            repo.join("captures/make/ftps.sh"),
            vec!["--tls-keylog".into(), keys.into_os_string()],
        ));
    }
    for (capture, script, args) in runs {
        let stem = capture.file_stem().unwrap().to_string_lossy().to_string();
        let files = served(&script);
        if files.is_empty() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut made: HashMap<String, Vec<u8>> = HashMap::new();
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        for ch in extract_with(&capture, dir.path(), &args) {
            let (Some(cmd), Some(arg), Some(x)) = (
                ch["command"].as_str(),
                ch["arg"].as_str(),
                ch.get("extracted"),
            ) else {
                continue;
            };
            if !matches!(cmd, "RETR" | "STOR" | "APPE") {
                continue;
            }
            let Some((size, seed)) = files.get(last_component(arg)) else {
                continue;
            };
            let want = made
                .entry(last_component(arg).to_string())
                .or_insert_with(|| content(*size, seed));
            let path = dir.path().join(x["path"].as_str().unwrap());
            let got = std::fs::read(&path).unwrap();
            assert!(path.starts_with(dir.path()));
            assert_eq!(x["size"].as_u64(), Some(got.len() as u64));
            assert_eq!(
                x["sha256"].as_str(),
                Some(hex(&Sha256::digest(&got)).as_str())
            );
            let offset = x["offset"].as_u64().unwrap() as usize;
            match x["completeness"].as_str().unwrap() {
                "complete" if ch["transfer_type"] != "A" => {
                    assert_eq!(
                        hex(&Sha256::digest(&got)),
                        hex(&Sha256::digest(&want[offset..])),
                        "{stem}: {cmd} {arg} extracted {} bytes, served {}",
                        got.len(),
                        want.len() - offset
                    );
                    complete += 1;
                    if !args.is_empty() {
                        decrypted += 1;
                    }
                    if offset > 0 {
                        resumed += 1;
                    }
                }
                "aborted" | "reset" | "open" => {
                    assert!(
                        want[offset..].starts_with(&got),
                        "{stem}: {cmd} {arg}: the {} bytes of a cut transfer are a prefix",
                        got.len()
                    );
                    partial += 1;
                }
                "cut-by-gap" => {
                    // The bytes around the holes (zeros) are where they belong.
                    let w = &want[offset..];
                    assert!(got.len() <= w.len(), "{stem}: {cmd} {arg}");
                    let bad = got
                        .iter()
                        .zip(w)
                        .filter(|(a, b)| a != b && **a != 0)
                        .count();
                    assert_eq!(bad, 0, "{stem}: {cmd} {arg}: bytes out of place");
                    assert!(x["missing_bytes"].as_u64().unwrap() > 0);
                    partial += 1;
                }
                _ => {}
            }
        }
    }
    eprintln!(
        "{complete} complete ({decrypted} of them decrypted FTPS) and {partial} cut transfers checked against the served files"
    );
    assert!(decrypted >= 8, "{decrypted} FTPS transfers checked");
    // REST + RETR and SIZE + APPE (resumed-transfers.pcap): the slice from the offset.
    assert!(resumed >= 2, "{resumed} resumed transfers checked");
    assert!(complete >= 10, "{complete} complete transfers checked");
    assert!(partial >= 1, "{partial} cut transfers checked");
}

/// Every file tshark exports (`--export-objects ftp-data`) is one ftpscope
/// extracted, byte for byte, in the lab captures and in the real-world captures of
/// other projects. Two known differences, checked as such: tshark leaves out the
/// last segments of a transfer the capture cuts short (its file is then a prefix of
/// ours, which is marked `short` against the announced size), and tshark joins the
/// pieces on both sides of a gap (ours ends at the gap, marked `cut-by-gap`, so ours
/// is a prefix of tshark's).
#[test]
fn extraction_agrees_with_tshark_export_objects() {
    let t = "extraction_agrees_with_tshark_export_objects";
    if !common::require_tool("tshark", t) {
        return;
    }
    let repo = common::repo();
    let (mut exact, mut explained) = (0, 0);
    let mut captures: Vec<PathBuf> = std::fs::read_dir(repo.join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    if let Some(public) = common::public_captures(t) {
        let mut stack = vec![public];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    captures.push(p);
                }
            }
        }
    }
    captures.sort();
    for capture in captures {
        let theirs = tempfile::tempdir().unwrap();
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&capture)
            .arg("--export-objects")
            .arg(format!("ftp-data,{}", theirs.path().display()))
            .arg("-q")
            .output()
            .expect("tshark runs");
        if !o.status.success() {
            continue;
        }
        let exported: Vec<Vec<u8>> = std::fs::read_dir(theirs.path())
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        if exported.is_empty() {
            continue;
        }
        let ours_dir = tempfile::tempdir().unwrap();
        let ours: Vec<(Vec<u8>, String)> = extract(&capture, ours_dir.path())
            .iter()
            .filter_map(|c| {
                let x = c.get("extracted")?;
                let bytes = std::fs::read(ours_dir.path().join(x["path"].as_str()?)).ok()?;
                Some((bytes, x["completeness"].as_str()?.to_string()))
            })
            .collect();
        for bytes in exported {
            if ours.iter().any(|(b, _)| *b == bytes) {
                exact += 1;
                continue;
            }
            let why = ours.iter().find_map(|(b, c)| {
                (c == "short" && b.len() > bytes.len() && b.starts_with(&bytes)
                    || c == "cut-by-gap" && bytes.len() > b.len() && bytes.starts_with(b))
                .then_some(c)
            });
            assert!(
                why.is_some(),
                "{}: tshark exported {} bytes that no extracted file holds",
                capture.display(),
                bytes.len()
            );
            explained += 1;
        }
    }
    eprintln!(
        "{exact} files tshark exported are byte for byte ours, {explained} differ as explained"
    );
    assert!(exact >= 8, "{exact} files compared");
}

/// Listings (LIST, NLST, MLSD) are parsed: every line of the listing's bytes
/// (written out by `--extract`, `ls`'s `total` line aside) is an entry, in the
/// real-world captures of other projects (Unix, MLSD and NLST forms, one of 7,698
/// entries) and the lab's; and a listed file the lab served has the size the
/// script gave it.
#[test]
fn listings_read_every_line_and_give_the_served_sizes() {
    let repo = common::repo();
    let mut captures: Vec<PathBuf> = std::fs::read_dir(repo.join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    if let Some(public) =
        common::public_captures("listings_read_every_line_and_give_the_served_sizes")
    {
        for sub in ["zeek", "ndpi", "suricata-verify"] {
            let mut stack = vec![public.join(sub)];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")
                        && std::fs::read(&p)
                            .is_ok_and(|b| b.windows(4).any(|w| w == b"LIST" || w == b"MLSD"))
                    {
                        captures.push(p);
                    }
                }
            }
        }
    }
    captures.sort();
    let (mut listings, mut entries, mut sized, mut formats) = (0, 0u64, 0, BTreeMap::new());
    for capture in captures {
        // The files the capture's own script made (lab captures only).
        let script = repo.join("captures/make").join(format!(
            "{}.sh",
            capture.file_stem().unwrap().to_string_lossy()
        ));
        let made = if script.exists() {
            served(&script)
        } else {
            BTreeMap::new()
        };
        let dir = tempfile::tempdir().unwrap();
        for ch in extract(&capture, dir.path()) {
            let Some(l) = ch.get("listing") else { continue };
            let Some(x) = ch.get("extracted") else {
                continue;
            };
            let bytes = std::fs::read(dir.path().join(x["path"].as_str().unwrap())).unwrap();
            let lines = String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("total "))
                .count() as u64;
            let (total, bad) = (
                l["total"].as_u64().unwrap(),
                l["unreadable"].as_u64().unwrap(),
            );
            assert_eq!(
                total + bad,
                lines,
                "{}: {}",
                capture.display(),
                ch["command"]
            );
            assert_eq!(bad, 0, "{}: unreadable lines", capture.display());
            listings += 1;
            entries += total;
            *formats
                .entry(l["format"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
            for e in l["entries"].as_array().unwrap() {
                if let (Some(size), Some((want, _))) =
                    (e["size"].as_u64(), made.get(e["name"].as_str().unwrap()))
                    && e["kind"] == "file"
                {
                    assert_eq!(size, *want, "{}: {}", capture.display(), e["name"]);
                    sized += 1;
                }
            }
        }
    }
    eprintln!("{listings} listings, {entries} entries, {sized} sizes checked, formats {formats:?}");
    assert!(
        listings >= 5 && sized >= 3,
        "{listings} listings, {sized} sizes"
    );
    assert!(formats.len() >= 3, "{formats:?}");
}

/// A binary file downloaded in ASCII mode (vsftpd turns each LF not after a CR into
/// CRLF): the raw extraction is exactly what vsftpd sent, its line ends are
/// counted, and `--extract-ascii converted` gives the bytes an ASCII-mode client
/// stores (every CRLF back to LF).
#[test]
fn ascii_mode_transfer_raw_and_converted() {
    if !common::require_tool("python3", "ascii_mode_transfer_raw_and_converted") {
        return;
    }
    let repo = common::repo();
    let capture = repo.join("captures/ascii-binary.pcap");
    let (size, seed) = served(&repo.join("captures/make/ascii-binary.sh"))["image.bin"].clone();
    let original = content(size, &seed);
    let mut wire = Vec::with_capacity(original.len() + 1024);
    let mut prev = 0u8;
    for &b in &original {
        if b == b'\n' && prev != b'\r' {
            wire.push(b'\r');
        }
        wire.push(b);
        prev = b;
    }
    let mut stored = Vec::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        if wire[i] == b'\r' && wire.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        stored.push(wire[i]);
        i += 1;
    }
    for (how, want) in [("raw", &wire), ("converted", &stored)] {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
            .args([
                "report",
                "--format",
                "json",
                "--extract-ascii",
                how,
                "--extract",
            ])
            .arg(dir.path())
            .arg(&capture)
            .output()
            .unwrap();
        assert!(o.status.success());
        let json: serde_json::Value =
            serde_json::from_slice(o.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
        let x = &json["data_channels"][0]["extracted"];
        let got = std::fs::read(dir.path().join(x["path"].as_str().unwrap())).unwrap();
        assert!(
            got == *want,
            "{how}: {} bytes extracted, {} expected",
            got.len(),
            want.len()
        );
        let crlf = wire.windows(2).filter(|w| w == b"\r\n").count() as u64;
        assert_eq!(x["line_ends"]["crlf"].as_u64(), Some(crlf), "{how}");
        assert_eq!(x["line_ends"]["bare_lf"].as_u64(), Some(0), "{how}");
        assert_eq!(
            x["converted"].as_bool().unwrap_or(false),
            how == "converted"
        );
    }
}

/// Hostile file names in the commands (`../../etc/passwd`, absolute paths, NUL and
/// escape bytes, a 10 KB name, names differing only by case or by Unicode form):
/// every file lands inside DIR under a plain name, none replaces another or a file
/// already there.
#[test]
fn hostile_names_never_leave_the_directory_or_replace_a_file() {
    use common::builder::{Pcap, sa};
    let long = "n".repeat(10_000);
    let names: Vec<Vec<u8>> = vec![
        b"../../etc/passwd".to_vec(),
        b"/etc/shadow".to_vec(),
        b"..".to_vec(),
        b"a\0b\x1b[2Jc".to_vec(),
        long.into_bytes(),
        b"Data.BIN".to_vec(),
        b"data.bin".to_vec(),
        "caf\u{e9}".as_bytes().to_vec(),
        "cafe\u{301}".as_bytes().to_vec(),
        b"keep.txt".to_vec(),
        b"..\\..\\boot.ini".to_vec(),
    ];
    let mut p = Pcap::new();
    let (cl, sv) = (sa("192.0.2.10:40000"), sa("198.51.100.1:21"));
    let mut c = p.open(cl, sv);
    p.send_b(&mut c, b"220 ready\r\n");
    p.send_a(&mut c, b"USER alice\r\n");
    p.send_b(&mut c, b"331 password please\r\n");
    p.send_a(&mut c, b"PASS hunter2\r\n");
    p.send_b(&mut c, b"230 welcome\r\n");
    for (i, name) in names.iter().enumerate() {
        let port = 50000 + i as u16;
        p.send_a(&mut c, b"EPSV\r\n");
        p.send_b(
            &mut c,
            format!("229 Entering Extended Passive Mode (|||{port}|)\r\n").as_bytes(),
        );
        let mut line = b"RETR ".to_vec();
        line.extend_from_slice(name);
        line.extend_from_slice(b"\r\n");
        p.send_a(&mut c, &line);
        let mut d = p.open(
            sa(&format!("192.0.2.10:{}", 41000 + i)),
            sa(&format!("198.51.100.1:{port}")),
        );
        p.send_b(&mut c, b"150 here it comes\r\n");
        p.send_b(&mut d, format!("content {i}").as_bytes());
        p.close(&mut d);
        p.send_b(&mut c, b"226 done\r\n");
    }
    p.close(&mut c);

    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), b"mine").unwrap();
    let cfg = ftpscope::session::TrackerConfig {
        extract: Some(ftpscope::session::extract::ExtractDir::new(&dir, 1 << 20).unwrap()),
        ..Default::default()
    };
    let cap = ftpscope::engine::analyze_reader(&p.bytes()[..], cfg, None).expect("analyse");
    let paths: Vec<String> = cap.sessions[0]
        .data_channels
        .iter()
        .map(|d| {
            d.extracted
                .as_ref()
                .expect("every transfer extracted")
                .path
                .clone()
        })
        .collect();
    assert_eq!(paths.len(), names.len());
    for (i, p) in paths.iter().enumerate() {
        assert!(
            !p.is_empty()
                && p.len() <= 130
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !p.starts_with('.'),
            "{p:?}"
        );
        assert_eq!(
            std::fs::read(dir.join(p)).unwrap(),
            format!("content {i}").as_bytes()
        );
    }
    let lower: std::collections::HashSet<String> =
        paths.iter().map(|p| p.to_ascii_lowercase()).collect();
    assert_eq!(lower.len(), paths.len(), "{paths:?}");
    assert_eq!(std::fs::read(dir.join("keep.txt")).unwrap(), b"mine");
    // Nothing outside DIR, nothing left behind in it.
    let outside: Vec<_> = std::fs::read_dir(outer.path()).unwrap().collect();
    assert_eq!(outside.len(), 1);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), names.len() + 1);
}
