#!/usr/bin/env bash
# HTML report benchmark (issue 19): size and time of `report --format html` on a
# capture of about 10,000 packets (240 short sessions from gen_bench_capture),
# against the targets: <= 2 MB and <= 1 s. Also the page for one session
# (--session N) and the SVG ladder.
# Usage: benches/html.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/bench-data
mkdir -p "$data"
cargo build --release --quiet --bin ftpscope --example gen_bench_capture
gen=target/release/examples/gen_bench_capture
bin=target/release/ftpscope
[ -s "$data/html10k.pcap" ] || $gen many "$data/html10k.pcap" 240 > "$data/html10k.packets"
echo "capture: $(cat "$data/html10k.packets") packets, $(stat -c %s "$data/html10k.pcap") bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # label, command...
  local label=$1; shift
  local out
  out=$( { /usr/bin/time -f "%e %M" "$@" > "$data/html.out"; } 2>&1 | tail -1)
  printf "%-34s %6.2f s %8d bytes %7.1f MB peak\n" "$label" "${out% *}" "$(stat -c %s "$data/html.out")" "$(echo "${out#* }" | awk '{print $1/1024}')"
}
run "html, whole capture" $bin report --format html "$data/html10k.pcap"
run "html, --session 120" $bin report --format html --session 120 "$data/html10k.pcap"
run "svg, --session 120" $bin report --format svg --session 120 "$data/html10k.pcap"
run "json, whole capture (reference)" $bin report --format json "$data/html10k.pcap"
