#!/usr/bin/env bash
# Engine benchmark: generates two captures (about 1.1 GB of large transfers; 20,000
# short sessions), runs ftpscope (JSON and text report) and tshark extracting the FTP
# fields on the same files, side by side, and prints throughput, packets/s and peak
# memory (max RSS). Targets (issue 2): >= 1 GB/s and >= 30x tshark on the large
# capture, >= 1M packets/s on the many-sessions capture, peak memory < 64 MB.
#
# Usage: benches/engine.sh [--no-tshark]
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/bench-data
mkdir -p "$data"
cargo build --release --quiet --bin ftpscope --example gen_bench_capture
gen=target/release/examples/gen_bench_capture
bin=${FTPSCOPE_BIN:-target/release/ftpscope}

if [ ! -s "$data/big.pcap" ]; then $gen big "$data/big.pcap" > "$data/big.packets"; fi
if [ ! -s "$data/many.pcap" ]; then $gen many "$data/many.pcap" 20000 > "$data/many.packets"; fi
[ -s "$data/big.packets" ] || $gen big "$data/big.pcap" > "$data/big.packets"
[ -s "$data/many.packets" ] || $gen many "$data/many.pcap" 20000 > "$data/many.packets"

measure() { # label, file, packets, command...
  local label=$1 file=$2 packets=$3; shift 3
  # warm the page cache so the disk is not what we measure
  cat "$file" > /dev/null
  local out
  out=$( { /usr/bin/time -f "%e %M" "$@" > /dev/null; } 2>&1 | tail -1)
  local secs=${out% *} kb=${out#* }
  local bytes
  bytes=$(stat -c %s "$file")
  awk -v l="$label" -v s="$secs" -v kb="$kb" -v b="$bytes" -v p="$packets" 'BEGIN {
    if (s < 0.001) s = 0.001;
    printf "%-38s %8.2f s %9.0f MB/s %10.0f packets/s %8.1f MB peak\n", l, s, b/1e6/s, p/s, kb/1024 }'
  echo "$secs" > "$data/last.secs"
}

echo "capture sizes: big $(stat -c %s $data/big.pcap) bytes, $(cat $data/big.packets) packets; many $(stat -c %s $data/many.pcap) bytes, $(cat $data/many.packets) packets"
echo "machine: $(nproc) cores; load: $(cut -d" " -f1-3 /proc/loadavg); the engine runs on one thread, the report writer on a second"
measure "ftpscope json   big (large transfers)" "$data/big.pcap" "$(cat $data/big.packets)" $bin report --format json "$data/big.pcap"
ours_big=$(cat "$data/last.secs")
measure "ftpscope diagnose big (large transfers)" "$data/big.pcap" "$(cat $data/big.packets)" $bin diagnose "$data/big.pcap"
measure "ftpscope text   big (large transfers)" "$data/big.pcap" "$(cat $data/big.packets)" $bin report "$data/big.pcap"
measure "ftpscope diagnose many (20k sessions)" "$data/many.pcap" "$(cat $data/many.packets)" $bin diagnose "$data/many.pcap"
measure "ftpscope json   many (20k sessions)" "$data/many.pcap" "$(cat $data/many.packets)" $bin report --format json "$data/many.pcap"
ours_many=$(cat "$data/last.secs")
measure "ftpscope text   many (20k sessions)" "$data/many.pcap" "$(cat $data/many.packets)" $bin report "$data/many.pcap"

if [ "${1:-}" != "--no-tshark" ] && command -v tshark > /dev/null; then
  measure "tshark ftp fields big" "$data/big.pcap" "$(cat $data/big.packets)" \
    tshark -r "$data/big.pcap" -Y ftp -T fields -e ftp.request.command -e ftp.response.code
  theirs_big=$(cat "$data/last.secs")
  measure "tshark ftp fields many" "$data/many.pcap" "$(cat $data/many.packets)" \
    tshark -r "$data/many.pcap" -Y ftp -T fields -e ftp.request.command -e ftp.response.code
  theirs_many=$(cat "$data/last.secs")
  awk -v a="$ours_big" -v b="$theirs_big" -v c="$ours_many" -v d="$theirs_many" 'BEGIN {
    printf "ftpscope vs tshark: %.1fx faster on big, %.1fx faster on many\n", b/a, d/c }'
fi
