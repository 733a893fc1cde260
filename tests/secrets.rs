//! Passwords stay hidden in every output unless `--show-passwords`: PASS in any
//! spelling servers accept (leading spaces, a tab, lower case), ACCT, `SITE PSWD`,
//! and the tail of a PASS line whose start a capture gap lost.

mod common;

use std::process::Command;

use common::builder::{Pcap, sa};

const SECRETS: [&str; 6] = [
    "Spaced-Secret-1",
    "Tabbed-Secret-2",
    "Lower-Secret-3",
    "Acct-Secret-4",
    "Pswd-Secret-5",
    "Gap-Secret-6",
];

fn capture() -> Vec<u8> {
    let mut p = Pcap::new();
    let mut f = p.open(sa("10.0.0.2:40001"), sa("10.0.0.1:21"));
    p.send_b(&mut f, b"220 ready\r\n");
    p.send_a(&mut f, b"USER alice\r\n");
    p.send_b(&mut f, b"331 password\r\n");
    p.send_a(&mut f, b"  PASS Spaced-Secret-1\r\n");
    p.send_b(&mut f, b"530 no\r\n");
    p.send_a(&mut f, b"PASS\tTabbed-Secret-2\r\n");
    p.send_b(&mut f, b"530 no\r\n");
    p.send_a(&mut f, b"pass Lower-Secret-3\r\n");
    p.send_b(&mut f, b"230 ok\r\n");
    p.send_a(&mut f, b"ACCT Acct-Secret-4\r\n");
    p.send_b(&mut f, b"202 not needed\r\n");
    p.send_a(&mut f, b"SITE PSWD old Pswd-Secret-5\r\n");
    p.send_b(&mut f, b"200 changed\r\n");
    // "PASS Gap-Secret-6\r\n" whose first six bytes are lost: the server's ACK
    // covers them, so the capture has a gap, then "ap-Secret-6\r\n" arrives.
    let line = b"PASS Gap-Secret-6\r\n";
    f.seq_a = f.seq_a.wrapping_add(6);
    p.send_a(&mut f, &line[6..]);
    p.send_b(&mut f, b"503 already logged in\r\n");
    p.send_a(&mut f, b"QUIT\r\n");
    p.send_b(&mut f, b"221 bye\r\n");
    p.close(&mut f);
    p.bytes()
}

fn run(args: &[&str], file: &std::path::Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_ftpscope"))
        .args(args)
        .arg(file)
        .output()
        .expect("run ftpscope");
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn passwords_in_every_spelling_are_masked_in_every_output() {
    let d = tempfile::tempdir().expect("temp dir");
    let path = d.path().join("secrets.pcap");
    std::fs::write(&path, capture()).expect("write");
    let outputs = [
        vec!["report"],
        vec!["report", "--lang", "zh"],
        vec!["report", "--format", "json"],
        vec!["diagnose"],
        vec!["diagnose", "--format", "json"],
    ];
    for args in &outputs {
        let out = run(args, &path);
        for secret in SECRETS {
            // Any 6-byte piece of a secret's distinctive part would be a leak.
            let tail = &secret[secret.len() - 8..];
            assert!(
                !out.contains(tail),
                "`ftpscope {}` shows {secret:?}:\n{out}",
                args.join(" ")
            );
        }
    }
    // The commands are still there, masked.
    let text = run(&["report"], &path);
    assert!(text.contains("C> PASS ****"), "{text}");
    assert!(text.contains("C> ACCT ****"), "{text}");
    assert!(text.contains("C> SITE PSWD ****"), "{text}");
    assert!(text.contains("capture gap"), "the gap is reported: {text}");
    // Asked for, they are shown.
    let shown = run(&["report", "--show-passwords"], &path);
    assert!(shown.contains("Spaced-Secret-1"), "{shown}");
    assert!(shown.contains("Acct-Secret-4"), "{shown}");
}
