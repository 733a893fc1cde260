//! A stand-in for `ftpscope live` used by benches/live.sh while the subcommand is not
//! routed in src/main.rs: runs [`ftpscope::live::run`] with the arguments in
//! `FTPSCOPE_LIVE_ARGS` (split on whitespace; `--ftp-port P` adds a control port).
//! Ignored, so `cargo test` does not run it:
//!
//! ```text
//! FTPSCOPE_LIVE_ARGS="-i lo --format json --duration 5s" \
//!   cargo test --release --features live --test live_bench -- --ignored --exact live_bench_runner
//! ```
#![cfg(feature = "live")]

use ftpscope::live::LiveArgs;
use ftpscope::session::TrackerConfig;

#[test]
#[ignore = "run by benches/live.sh"]
fn live_bench_runner() {
    let Ok(line) = std::env::var("FTPSCOPE_LIVE_ARGS") else {
        eprintln!("FTPSCOPE_LIVE_ARGS is not set: nothing to run");
        return;
    };
    let mut cfg = TrackerConfig::default();
    let mut args = Vec::new();
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "--ftp-port" {
            let p = words
                .next()
                .and_then(|p| p.parse().ok())
                .expect("--ftp-port PORT");
            cfg.ftp_ports.push(p);
        } else {
            args.push(w.to_string());
        }
    }
    let args = LiveArgs::try_parse_from(&args).unwrap_or_else(|e| panic!("{e}"));
    let code = ftpscope::live::run(args, cfg, ftpscope::ftp::catalog::Lang::En)
        .unwrap_or_else(|e| panic!("ftpscope live: {e:#}"));
    assert_eq!(code, 0);
}
