//! The whole pipeline on any bytes: `engine::analyze_reader`, then the text report
//! (both languages) and the JSON report into memory. Errors are fine; panics are not.
#![no_main]

use ftpscope::ftp::catalog::Lang;
use ftpscope::report::{self, ViewOptions};
use ftpscope::session::TrackerConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(capture) = ftpscope::engine::analyze_reader(data, TrackerConfig::default(), None) else {
        return;
    };
    let mut out = Vec::new();
    for lang in [Lang::En, Lang::Zh] {
        let opts = ViewOptions {
            lang,
            explain: true,
        };
        report::text::write(&mut out, &capture, "fuzz.pcap", opts).unwrap();
        out.clear();
        report::json::write(&mut out, &capture, lang).unwrap();
    }
});
