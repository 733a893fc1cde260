//! `ftp::command::parse` on any line, plus the explanations a command line or a
//! user's `ftpscope explain INPUT` goes through, and the text escaper every wire
//! byte passes before it is printed.
#![no_main]

use ftpscope::ftp::catalog::Lang;
use ftpscope::ftp::{command, explain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let c = command::parse(data);
    // The verb is cut to MAX_VERB characters (plus the ellipsis).
    assert!(c.verb.chars().count() <= command::MAX_VERB + 1);
    // The argument is exactly what follows the first space.
    match data.iter().position(|&b| b == b' ') {
        Some(i) => assert_eq!(&c.arg[..], &data[i + 1..]),
        None => assert!(c.arg.is_empty()),
    }
    let _ = command::is_transfer(&c.verb);
    let _ = command::server_sends(&c.verb);
    for lang in [Lang::En, Lang::Zh] {
        let _ = explain::command(&c.verb, &c.arg, lang);
        let _ = explain::input(&String::from_utf8_lossy(data), lang);
    }
    let e = ftpscope::text::escape(data);
    // Escaped text is printable: no control characters reach a terminal.
    assert!(!e.chars().any(|ch| ch.is_control()), "{e:?}");
    let _ = ftpscope::text::hex(data);
    let _ = ftpscope::text::lossy(data);
});
