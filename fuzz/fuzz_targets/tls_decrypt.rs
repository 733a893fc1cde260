//! The decryption path of `tls::TlsConn`: both directions of a connection, in
//! chunks whose sizes and directions come from the input, with a key log holding
//! the secrets of client random 01..01 (the control connection that
//! `examples/gen_ftps_capture.rs` writes, whose bytes make good seeds). Any input:
//! no panic, plaintext held within its bound, a record that does not authenticate
//! stops decryption (never garbage passed on).
//!
//! Input: chunks of `[hi] [lo] [bytes]`: bit 7 of `hi` = from the server, the other
//! 15 bits the chunk's length (cut to what is left). `fuzz/seeds.py` writes the
//! control connection of a small generated capture this way.
#![no_main]

use std::sync::Arc;

use ftpscope::tls::{KeyLog, MAX_PLAIN_HELD, TlsConn};
use libfuzzer_sys::fuzz_target;

fn keys() -> Arc<KeyLog> {
    let r = "01".repeat(32);
    let s = |label: u8| format!("{:02x}", label ^ 1).repeat(32);
    Arc::new(KeyLog::parse(&format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {}\nCLIENT_TRAFFIC_SECRET_0 {r} {}\nSERVER_TRAFFIC_SECRET_0 {r} {}\nCLIENT_RANDOM {r} {}\n",
        s(1),
        s(2),
        s(3),
        s(4),
        "02".repeat(48)
    )))
}

fuzz_target!(|data: &[u8]| {
    let mut t = TlsConn::logging_records().with_keys(Some(keys()), true);
    let mut stream = data;
    let mut frame = 1;
    while stream.len() >= 2 {
        let from_client = stream[0] & 0x80 == 0;
        let size = (usize::from(stream[0] & 0x7f) << 8 | usize::from(stream[1])).max(1);
        stream = &stream[2..];
        let size = size.min(stream.len());
        t.feed(from_client, &stream[..size], frame);
        let plain = t.take_plain(from_client);
        assert!(plain.len() <= MAX_PLAIN_HELD);
        stream = &stream[size..];
        frame += 1;
    }
    let info = t.finish(true);
    if let Some(d) = &info.decryption {
        assert!(matches!(
            d.status,
            "decrypted" | "failed" | "no-secrets" | "unsupported" | "no-handshake"
        ));
    }
    let _ = info.summary();
});
