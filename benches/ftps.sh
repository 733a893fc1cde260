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

# best NAME CMD...: "wall cpu rss": the min wall time and min CPU time (user+sys:
# what one core spent, less disturbed by other work on a shared machine) of RUNS
# runs, and the peak RSS of the last.
best() {
    local name=$1 t best_t="" best_c="" rss c
    shift
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -o "$dir/time.out" -f "%e %U %S %M" "$@" >/dev/null 2>&1
        read -r t u s rss < <(tail -1 "$dir/time.out")
        c=$(awk "BEGIN{print $u+$s}")
        if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
        if [ -z "$best_c" ] || awk "BEGIN{exit !($c < $best_c)}"; then best_c=$c; fi
    done
    echo "$best_t $best_c $rss"
}

size=$(stat -c %s "$big")
printf '%-44s %8s %8s %10s %10s\n' "run ($((size >> 20)) MiB capture, $MB MiB of file)" "wall s" "cpu s" "MB/s cpu" "peak RSS"
row() {
    local label=$1 bytes=$3 t c rss
    read -r t c rss <<<"$2"
    printf '%-44s %8s %8s %10.0f %9d MB\n' "$label" "$t" "$c" "$(awk "BEGIN{print $bytes/1e6/($c>0?$c:0.001)}")" "$((rss / 1024))"
}
cpu() { echo "$1" | awk '{print $2}'; }
floor=$(best floor tcpdump -r "$big" -w /dev/null)
row "tcpdump -r F -w /dev/null (read floor)" "$floor" "$size"
nokeys=$(best nokeys "$bin" report --format json "$big")
row "ftpscope report --format json (no keys)" "$nokeys" "$size"
dec=$(best dec "$bin" report --format json --tls-keylog "$big.keys" "$big")
row "ftpscope report --format json --tls-keylog" "$dec" "$size"
echo "decrypting: $(awk "BEGIN{printf \"%.2f\", $(cpu "$dec")/$(cpu "$floor")}")x the read floor (CPU)"

if command -v tshark >/dev/null; then
    ssize=$(stat -c %s "$small")
    ours=$(RUNS=1 best ours "$bin" report --format json --tls-keylog "$small.keys" "$small")
    theirs=$(RUNS=1 best tshark tshark -r "$small" -o "tls.keylog_file:$small.keys" -Y tls.app_data)
    row "ftpscope --tls-keylog, $TSHARK_MB MiB capture" "$ours" "$ssize"
    row "tshark -o tls.keylog_file -Y tls.app_data" "$theirs" "$ssize"
    echo "tshark / ftpscope: $(awk "BEGIN{printf \"%.1f\", $(cpu "$theirs")/($(cpu "$ours")>0?$(cpu "$ours"):0.001)}")x (CPU)"
fi
