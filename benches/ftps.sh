#!/usr/bin/env bash
# FTPS decryption speed: a synthetic explicit-FTPS session (TLS 1.3, AES-128-GCM)
# downloading MB megabytes (default 1024) over a PROT P data connection, with its
# key log (examples/gen_ftps_capture.rs). Measured side by side:
#   the read floor (tcpdump -r F -w /dev/null), ftpscope without the key log (TLS
#   handshakes and record counts only), ftpscope decrypting (report --tls-keylog),
#   and, on a smaller capture (TSHARK_MB, default 128) to bound its run time, tshark
#   decrypting the same records with the same key log against ftpscope on it.
# Prints the time (min of RUNS, default 3), throughput and peak RSS of each.
# Usage: benches/ftps.sh [MB]
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}
TSHARK_MB=${TSHARK_MB:-128}
RUNS=${RUNS:-3}
cargo build --release --quiet --bin ftpscope --example gen_ftps_capture
gen=target/release/examples/gen_ftps_capture
bin=target/release/ftpscope
dir=target/bench-data
mkdir -p "$dir"
big=$dir/ftps-$MB.pcap
small=$dir/ftps-$TSHARK_MB.pcap
[ -f "$big" ] || "$gen" "$big" "$big.keys" "$MB" >/dev/null
[ -f "$small" ] || "$gen" "$small" "$small.keys" "$TSHARK_MB" >/dev/null

# best NAME CMD...: min wall time of RUNS runs and the peak RSS of the last.
best() {
    local name=$1 t best_t="" rss
    shift
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -o "$dir/time.out" -f "%e %M" "$@" >/dev/null 2>&1
        t=$(tail -1 "$dir/time.out")
        rss=${t#* }
        t=${t% *}
        if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
    done
    echo "$best_t $rss"
}

size=$(stat -c %s "$big")
printf '%-44s %8s %10s %10s\n' "run ($((size >> 20)) MiB capture, $MB MiB of file)" "time s" "MB/s" "peak RSS"
row() {
    local label=$1 r=$2 bytes=$3
    local t=${r% *} rss=${r#* }
    printf '%-44s %8s %10.0f %9d MB\n' "$label" "$t" "$(awk "BEGIN{print $bytes/1e6/($t>0?$t:0.001)}")" "$((rss / 1024))"
}
floor=$(best floor tcpdump -r "$big" -w /dev/null)
row "tcpdump -r F -w /dev/null (read floor)" "$floor" "$size"
nokeys=$(best nokeys "$bin" report --format json "$big")
row "ftpscope report --format json (no keys)" "$nokeys" "$size"
dec=$(best dec "$bin" report --format json --tls-keylog "$big.keys" "$big")
row "ftpscope report --format json --tls-keylog" "$dec" "$size"
echo "decrypting: $(awk "BEGIN{printf \"%.2f\", ${dec% *}/${floor% *}}")x the read floor"

if command -v tshark >/dev/null; then
    ssize=$(stat -c %s "$small")
    ours=$(RUNS=1 best ours "$bin" report --format json --tls-keylog "$small.keys" "$small")
    theirs=$(RUNS=1 best tshark tshark -r "$small" -o "tls.keylog_file:$small.keys" -Y tls.app_data)
    row "ftpscope --tls-keylog, $TSHARK_MB MiB capture" "$ours" "$ssize"
    row "tshark -o tls.keylog_file -Y tls.app_data" "$theirs" "$ssize"
    echo "tshark / ftpscope: $(awk "BEGIN{printf \"%.1f\", ${theirs% *}/(${ours% *}>0?${ours% *}:0.001)}")x"
fi
