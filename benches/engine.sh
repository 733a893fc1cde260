#!/usr/bin/env bash
# Engine benchmark, side by side in one run: generates three captures (not committed;
# in target/bench-data/), then on each runs `tcpdump -r F -w /dev/null` (libpcap
# reading every packet: the read floor), ftpscope's JSON report, its text report and
# `diagnose`, and tshark extracting the FTP fields, and prints for each run the best
# wall time of RUNS runs (and the best CPU time, user + system, which other load on
# the machine disturbs less), the peak memory (max RSS), and the ratios the targets
# are stated in: ftpscope / read floor, tshark / ftpscope.
#
# * big:  5 sessions downloading 205 MiB each (about 1.1 GB of large transfers);
# * many: 20,000 short sessions (login, TYPE, EPSV, LIST, QUIT);
# * long: one session of about 200,000 commands (a crawler: CWD, PWD, TYPE, SIZE,
#   MDTM, NOOP, STAT, a PASV LIST now and then).
#
# Targets (issue 23, single-threaded, so these runs use --threads 1): JSON report
# within 3x of the read floor and >= 30x faster than tshark; diagnose within 2x;
# text report within 4x; the large-transfer capture within 1.5x with peak memory
# < 64 MB. Then the reports with --threads 2 (issue 20: sessions written on two
# threads, the analysis on one) and their speed-up over --threads 1.
#
# Usage: benches/engine.sh [--no-tshark]
# Environment: RUNS (default 3); FTPSCOPE_BIN (default target/release/ftpscope);
# FTPSCOPE_BASE, another ftpscope binary run alternately with it (before/after);
# ONLY, a space-separated subset of "big many long".
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/bench-data
mkdir -p "$data"
cargo build --release --quiet --bin ftpscope --example gen_bench_capture
gen=target/release/examples/gen_bench_capture
bin=${FTPSCOPE_BIN:-target/release/ftpscope}
base=${FTPSCOPE_BASE:-}
runs=${RUNS:-3}
tshark=1
[ "${1:-}" = "--no-tshark" ] && tshark=0
command -v tshark > /dev/null || tshark=0
command -v tcpdump > /dev/null || { echo "tcpdump is needed for the read floor" >&2; exit 1; }

[ -s "$data/big.packets" ] && [ -s "$data/big.pcap" ] || $gen big "$data/big.pcap" > "$data/big.packets"
[ -s "$data/many.packets" ] && [ -s "$data/many.pcap" ] || $gen many "$data/many.pcap" 20000 > "$data/many.packets"
[ -s "$data/long.packets" ] && [ -s "$data/long.pcap" ] || $gen long "$data/long.pcap" 200000 > "$data/long.packets"

timing=$(mktemp)
trap 'rm -f "$timing"' EXIT

# best N command...: sets $wall, $cpu (the best of $runs runs) and $rss (MB, the largest)
best() {
  local n=$1; shift
  wall=1e9 cpu=1e9 rss=0
  local i e u s m
  for ((i = 0; i < n; i++)); do
    /usr/bin/time -o "$timing" -f "%e %U %S %M" "$@" > /dev/null 2>&1 || true
    read -r e u s m < <(tail -1 "$timing")
    wall=$(awk -v a="$e" -v b="$wall" 'BEGIN { print (a < b) ? a : b }')
    cpu=$(awk -v a="$u" -v c="$s" -v b="$cpu" 'BEGIN { x = a + c; print (x < b) ? x : b }')
    rss=$(awk -v a="$m" -v b="$rss" 'BEGIN { a /= 1024; print (a > b) ? a : b }')
  done
}

line() { # label, floor wall, floor cpu
  awk -v l="$1" -v w="$wall" -v c="$cpu" -v m="$rss" -v fw="$2" -v fc="$3" 'BEGIN {
    if (w < 0.005) w = 0.005; if (c < 0.005) c = 0.005;
    printf "  %-34s %7.2f s wall %7.2f s cpu %8.1f MB   %5.1fx floor (cpu %5.1fx)\n",
      l, w, c, m, w / fw, c / fc }'
}

echo "machine: $(nproc) cores; load average $(cut -d" " -f1-3 /proc/loadavg); best of $runs runs each"
for cap in ${ONLY:-big many long}; do
  f=$data/$cap.pcap
  echo "$cap: $(stat -c %s "$f") bytes, $(cat "$data/$cap.packets") packets"
  cat "$f" > /dev/null # page cache warm: the disk is not what is measured
  best "$runs" tcpdump -r "$f" -w /dev/null
  fw=$wall fc=$cpu
  [ "$(awk -v a="$fw" 'BEGIN { print (a < 0.005) }')" = 1 ] && fw=0.005
  [ "$(awk -v a="$fc" 'BEGIN { print (a < 0.005) }')" = 1 ] && fc=0.005
  line "tcpdump -r F -w /dev/null (floor)" "$fw" "$fc"
  for b in $base $bin; do
    tag=""
    [ -n "$base" ] && tag=" [$( [ "$b" = "$base" ] && echo before || echo after)]"
    # Binaries from before --threads ran on one thread.
    one=()
    "$b" report --help | grep -q -- --threads && one=(--threads 1)
    best "$runs" "$b" report --format json "${one[@]}" "$f"
    json_wall=$wall
    line "report --format json$tag" "$fw" "$fc"
    best "$runs" "$b" diagnose "$f"
    line "diagnose$tag" "$fw" "$fc"
    best "$runs" "$b" report "${one[@]}" "$f"
    text_wall=$wall
    line "report (text)$tag" "$fw" "$fc"
    if [ ${#one[@]} -gt 0 ]; then
      best "$runs" "$b" report --format json --threads 2 "$f"
      line "report --format json --threads 2$tag" "$fw" "$fc"
      awk -v a="$json_wall" -v b="$wall" 'BEGIN { printf "    %-32s %5.2fx\n", "speed-up with 2 threads:", a / b }'
      best "$runs" "$b" report --threads 2 "$f"
      line "report (text) --threads 2$tag" "$fw" "$fc"
      awk -v a="$text_wall" -v b="$wall" 'BEGIN { printf "    %-32s %5.2fx\n", "speed-up with 2 threads:", a / b }'
    fi
  done
  if [ $tshark = 1 ]; then
    best 1 tshark -r "$f" -Y ftp -T fields -e ftp.request.command -e ftp.response.code
    line "tshark -Y ftp -T fields" "$fw" "$fc"
    awk -v t="$wall" -v j="$json_wall" 'BEGIN {
      printf "  tshark / ftpscope report --format json: %.1fx\n", t / j }'
  fi
done
