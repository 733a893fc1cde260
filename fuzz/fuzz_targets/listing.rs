//! `ftp::listing::ListingParser` on any bytes, for each listing verb, fed in the
//! pieces the input's first byte chooses, and the text view of what it read.
#![no_main]

use ftpscope::ftp::listing::{ListingParser, MAX_ENTRIES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    for verb in ["LIST", "NLST", "MLSD"] {
        let mut whole = ListingParser::new(verb);
        whole.feed(data);
        let whole = whole.finish();
        let mut pieces = ListingParser::new(verb);
        for c in data.chunks(step) {
            pieces.feed(c);
        }
        // The same listing whatever the pieces.
        assert_eq!(pieces.finish(), whole);
        if let Some(l) = whole {
            assert!(l.entries.len() <= MAX_ENTRIES);
            assert!(l.total >= l.entries.len() as u64);
            // Every line is an entry or unreadable (or `ls`'s total line).
            let lines = data.split(|&b| b == b'\n').count() as u64;
            assert!(l.total + l.unreadable <= lines);
        }
    }
});
