#!/usr/bin/env bash
# Extraction memory and speed: the large-transfer benchmark capture (5 downloads of
# 205 MiB, about 1.1 GB; generated, not committed) reported with and without
# `--extract DIR`, side by side: peak RSS (the target: flat, <= 64 MB) and time.
# The extracted files are checked against the sizes the JSON gives, then removed.
# Usage: benches/extract.sh   Environment: RUNS (default 2), DIR (default a
# temporary directory under target/).
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/bench-data
mkdir -p "$data"
cargo build --release --quiet --bin ftpscope --example gen_bench_capture
bin=target/release/ftpscope
[ -s "$data/big.pcap" ] || target/release/examples/gen_bench_capture big "$data/big.pcap" > "$data/big.packets"
runs=${RUNS:-2}
dir=${DIR:-target/bench-extract}
timing=$(mktemp)
trap 'rm -f "$timing"; rm -rf "$dir"' EXIT

run() { # label, args...
    local label=$1; shift
    local best_w=1e9 best_c=1e9 rss=0 w u s m
    for ((i = 0; i < runs; i++)); do
        rm -rf "$dir"
        /usr/bin/time -o "$timing" -f "%e %U %S %M" "$@" > "$data/extract.json"
        read -r w u s m < "$timing"
        best_w=$(echo "$w $best_w" | awk '{print ($1 < $2) ? $1 : $2}')
        best_c=$(echo "$u $s $best_c" | awk '{c = $1 + $2; print (c < $3) ? c : $3}')
        rss=$(( m > rss ? m : rss ))
    done
    printf '%-48s %8s s wall %8s s cpu %8d MB peak RSS\n' "$label" "$best_w" "$best_c" $((rss / 1024))
}

echo "capture: $(du -h "$data/big.pcap" | cut -f1) ($data/big.pcap)"
run "report --format json" "$bin" report --format json "$data/big.pcap"
run "report --format json --extract DIR" "$bin" report --format json --extract "$dir" "$data/big.pcap"
written=$(du -sb "$dir" | cut -f1)
want=$(python3 -c "
import json,sys
print(sum(c['extracted']['size'] for l in open('$data/extract.json') for c in json.loads(l)['data_channels'] if 'extracted' in c))")
echo "extracted: $(ls "$dir" | wc -l) files, $written bytes on disk (JSON says $want)"
