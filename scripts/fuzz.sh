#!/usr/bin/env bash
# Run every fuzz target (or the ones named) for SECONDS each, one after another,
# one libFuzzer process at a time, and print executions and time per target.
#
#   scripts/fuzz.sh                 # 60 s per target
#   scripts/fuzz.sh 600             # 10 minutes per target
#   scripts/fuzz.sh 600 pipeline    # one target
#   SEEDS=1 scripts/fuzz.sh         # rebuild the seed corpora from captures/ first
#   NOBUILD=1 scripts/fuzz.sh 600   # use the binaries already built
#
# Reproduce a crash: fuzz/target/x86_64-unknown-linux-gnu/release/TARGET FILE
# (or `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET FILE` from fuzz/).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain the script
# sets RUSTC_BOOTSTRAP=1 so cargo-fuzz may use -Zsanitizer (or use `cargo +nightly`).
# The fuzz crate has its own workspace and target dir (fuzz/target), so it never
# takes the main build's lock.
#
# Output: fuzz/corpus/TARGET (grown corpus), fuzz/artifacts/TARGET (crashes),
# fuzz/logs/TARGET.log (libFuzzer's log), and a summary table on stdout (also in
# fuzz/logs/summary.txt). Exit status 1 when some target crashed.
set -u
cd "$(dirname "$0")/../fuzz" || exit 2

SECS=${1:-60}
shift || true
ALL="command reply_stream address capture_reader decode flow_table session_stream pipeline tls_conn tls_decrypt listing"
TARGETS=${*:-$ALL}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target"

if [ "${SEEDS:-0}" = 1 ] || [ ! -d corpus ]; then
    python3 ./seeds.py corpus || { echo "seed build failed" >&2; exit 2; }
fi
mkdir -p logs artifacts
# Build once, then run the binaries directly: `cargo fuzz run` would rebuild
# whenever a source file changed meanwhile, and count the build as fuzzing time.
if [ "${NOBUILD:-0}" != 1 ]; then
    cargo fuzz build -O >logs/build.log 2>&1 || { tail -30 logs/build.log; exit 2; }
fi
BIN="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

max_len() {
    case $1 in
        capture_reader|pipeline) echo 65536 ;;
        session_stream) echo 16384 ;;
        *) echo 4096 ;;
    esac
}
dict() {
    case $1 in
        command|reply_stream|address|session_stream) echo dicts/ftp.dict ;;
        capture_reader|decode) echo dicts/capture.dict ;;
        pipeline) echo dicts/all.dict ;;
        *) echo "" ;;
    esac
}

status=0
summary=logs/summary.txt
printf '%-16s %8s %14s %10s %s\n' target seconds executions exec/s result | tee "$summary"
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    d=$(dict "$t")
    start=$(date +%s)
    # -timeout: a single input slower than 10 s is a hang (an algorithmic blow-up);
    # -rss_limit_mb: hostile input must not make memory balloon.
    "$BIN/$t" "corpus/$t" \
        -max_total_time="$SECS" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" ${d:+-dict=$d} \
        >"logs/$t.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "logs/$t.log" | awk '{print $2}' | tail -1)
    if [ -z "$execs" ]; then
        execs=$(grep -oE '^#[0-9]+' "logs/$t.log" | tr -d '#' | tail -1)
    fi
    execs=${execs:-0}
    if [ $rc -eq 0 ]; then
        result=ok
    else
        result="CRASH (rc $rc): $(ls -t "artifacts/$t" | head -1)"
        status=1
    fi
    printf '%-16s %8s %14s %10s %s\n' "$t" "$secs" "$execs" "$(( execs / (secs > 0 ? secs : 1) ))" "$result" | tee -a "$summary"
done
exit $status
