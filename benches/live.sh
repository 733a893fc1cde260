#!/usr/bin/env bash
# Live capture benchmark: replays a large FTP capture with tcpreplay on a veth pair
# inside a network namespace made for the run, while `ftpscope live` captures on the
# other end of the pair, at several rates and at full speed. For each run it prints
# what tcpreplay sent and at what rate, what ftpscope read, the packets the kernel
# dropped (pcap statistics), and ftpscope's CPU time, from which the rate one core
# keeps up with follows (bits replayed / CPU seconds). Target (issue): 1 Gbit/s of
# FTP traffic on one core without kernel drops.
#
# Usage: sudo benches/live.sh [RATE_MBPS ...|topspeed]   (default: 250 500 1000 2000 topspeed)
# Environment:
#   FTPSCOPE_BIN   an ftpscope binary with `live` routed (default: the release build);
#                  when `ftpscope live` is not routed yet, the stand-in test runner
#                  tests/live_bench.rs runs the same code (ftpscope::live::run)
#   BUFFER_MIB     kernel capture buffer for ftpscope (default 64, as `live`'s default)
#   KIND           big (default): SESSIONS downloads of MB megabytes each (2, 100);
#                  many: SESSIONS short sessions (login, EPSV LIST, QUIT; 20000), small
#                  packets, a session ending every few packets
#   NO_TCPDUMP=1   skip the tcpdump baseline at full speed
#
# Needs root, tcpreplay, python3, and cargo to build. Nothing leaves the namespace:
# the pair has no link to the host, and the namespace is deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "benches/live.sh: must run as root (network namespace, capture)" >&2; exit 1; }
for c in tcpreplay python3 ip; do
    command -v "$c" > /dev/null || { echo "benches/live.sh: $c is not installed" >&2; exit 1; }
done

rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(250 500 1000 2000 topspeed)
kind=${KIND:-big}
mb=${MB:-100}
buffer=${BUFFER_MIB:-64}
target=${CARGO_TARGET_DIR:-target}
data=$target/bench-data
mkdir -p "$data"
case $kind in
    big) sessions=${SESSIONS:-2}; cap=$data/live-big-$sessions-$mb.pcap; what="$sessions sessions downloading $mb MB each" ;;
    many) sessions=${SESSIONS:-20000}; cap=$data/live-many-$sessions.pcap; what="$sessions short sessions: login, EPSV LIST, QUIT" ;;
    *) echo "benches/live.sh: KIND is big or many" >&2; exit 1 ;;
esac

echo "building (release)..." >&2
cargo build --release --quiet --example gen_bench_capture --features live
if [ ! -s "$cap" ]; then
    if [ "$kind" = big ]; then
        "$target/release/examples/gen_bench_capture" big "$cap" "$sessions" "$mb" > "$cap.packets"
    else
        "$target/release/examples/gen_bench_capture" many "$cap" "$sessions" > "$cap.packets"
    fi
fi

# The command that runs `ftpscope live ARGS...` (arguments in $LIVE_ARGS).
bin=${FTPSCOPE_BIN:-$target/release/ftpscope}
if [ -z "${FTPSCOPE_BIN:-}" ]; then
    cargo build --release --quiet --bin ftpscope --features live
fi
if "$bin" live --help 2>/dev/null | grep -q -- --list-interfaces; then
    runner=binary
    echo "runner: $bin live" >&2
else
    runner=harness
    exe=$(cargo test --release --features live --test live_bench --no-run 2>&1 |
        sed -n 's/.*Executable.*(\(.*\)).*/\1/p' | tail -1)
    [ -x "$exe" ] || { echo "benches/live.sh: cannot build tests/live_bench.rs" >&2; exit 1; }
    echo "runner: $exe (ftpscope::live::run; \`ftpscope live\` is not routed in main.rs yet)" >&2
fi

tmp=$(mktemp -d /tmp/ftpscope-live-bench.XXXXXX)
ns=fs-live-bench-$$
pids=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
    sleep 0.2
    ip netns del "$ns" 2> /dev/null
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add vb0 type veth peer name vb1
ip -n "$ns" link set vb0 up
ip -n "$ns" link set vb1 up
# What the capture sees must be the replayed frames, not merged ones.
ip netns exec "$ns" ethtool -K vb1 gro off > /dev/null 2>&1 || true

bytes=$(stat -c %s "$cap")
packets=$(cat "$cap.packets")
echo "capture: $cap, $bytes bytes, $packets packets ($what; Ethernet)"
echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); tcpreplay $(tcpreplay -V 2>&1 | sed -n 's/.*[Vv]ersion: *\([0-9.]*\).*/\1/p' | head -1)"
echo "ftpscope: live -i vb1 --format json --log FILE --buffer-size $buffer (default filter \"tcp\")"
echo

# wait_for FILE TEXT SECONDS
wait_for() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1: $(cat "$1")" >&2
    return 1
}

# wait_pid PID SECONDS: wait for a child to exit, bounded.
wait_pid() {
    local i
    for i in $(seq 1 $(($2 * 10))); do
        kill -0 "$1" 2> /dev/null || { wait "$1" 2> /dev/null || true; return 0; }
        sleep 0.1
    done
    echo "process $1 did not exit within $2 s" >&2
    kill -9 "$1" 2> /dev/null
    return 1
}

printf "%-9s | %-40s | %-13s | %-8s | %-8s | %s\n" rate "tcpreplay sent" "ftpscope read" "kernel" "CPU s" "one core keeps up with"
printf "%-9s | %-40s | %-13s | %-8s | %-8s | %s\n" "" "" "" "drops" "(u+s)" "(replayed / CPU s)"
echo "----------+------------------------------------------+---------------+----------+----------+------------------------"

n=0
for rate in "${rates[@]}"; do
    n=$((n + 1))
    log=$tmp/live-$n.json err=$tmp/live-$n.err tm=$tmp/time-$n
    args="-i vb1 --format json --log $log --status-interval 0 --buffer-size $buffer"
    if [ "$runner" = binary ]; then
        # shellcheck disable=SC2086
        ip netns exec "$ns" /usr/bin/time -f "%U %S %e %M" -o "$tm" "$bin" live $args 2> "$err" &
    else
        FTPSCOPE_LIVE_ARGS=$args ip netns exec "$ns" /usr/bin/time -f "%U %S %e %M" -o "$tm" \
            "$exe" --ignored --exact live_bench_runner --nocapture > /dev/null 2> "$err" &
    fi
    tpid=$!
    pids+=("$tpid")
    wait_for "$err" "capturing on" 30
    if [ "$rate" = topspeed ]; then rarg=--topspeed; else rarg=--mbps=$rate; fi
    ip netns exec "$ns" tcpreplay -q -K -i vb0 "$rarg" "$cap" > "$tmp/replay-$n.txt" 2>&1 || {
        cat "$tmp/replay-$n.txt" >&2
        exit 1
    }
    sleep 1.5
    # /usr/bin/time ignores SIGINT while it waits: signal ftpscope, its child.
    for c in $(cat /proc/"$tpid"/task/*/children 2> /dev/null); do kill -INT "$c" 2> /dev/null || true; done
    wait_pid "$tpid" 60
    python3 - "$rate" "$tmp/replay-$n.txt" "$log" "$tm" "$bytes" << 'PY'
import json, re, sys
rate, replay, log, tm, size = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
r = open(replay).read()
m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", r)
sent, sbytes, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
mbps = sbytes * 8 / secs / 1e6 if secs > 0 else 0
lines = open(log).read().splitlines()
last = json.loads(lines[-1])["capture_summary"]["live"]
sessions = len(lines) - 1
u, s, e, kb = open(tm).read().split()[-4:]
cpu = float(u) + float(s)
core = sbytes * 8 / cpu / 1e9 if cpu > 0 else 0
kpps = sent / cpu / 1e3 if cpu > 0 else 0
print(f"{rate:<9} | {sent:>9} pkts {mbps:>6.0f} Mbit/s {sent/secs/1e3:>5.0f} kpps | {last['packets']:>13} | {last['kernel_dropped']:>8} | {cpu:>8.2f} | {core:>6.2f} Gbit/s, {kpps:>5.0f} kpps ({sessions} sessions, {int(kb)//1024} MB RSS)")
PY
done

if [ -z "${NO_TCPDUMP:-}" ] && command -v tcpdump > /dev/null; then
    echo
    echo "baseline: tcpdump -i vb1 -w /dev/null -B $((buffer * 1024)) at full speed"
    ip netns exec "$ns" tcpdump -i vb1 -n -s 0 -B $((buffer * 1024)) -w /dev/null 2> "$tmp/tcpdump.err" &
    dpid=$!
    pids+=("$dpid")
    wait_for "$tmp/tcpdump.err" "listening on" 30
    ip netns exec "$ns" tcpreplay -q -K -i vb0 --topspeed "$cap" > "$tmp/replay-td.txt" 2>&1
    sleep 1.5
    kill -INT "$dpid"
    wait_pid "$dpid" 30
    sed -n 's/.*Rated: .*, \([0-9.]*\) Mbps.*/  tcpreplay: \1 Mbit\/s/p' "$tmp/replay-td.txt"
    grep -E "captured|dropped" "$tmp/tcpdump.err" | sed 's/^/  tcpdump: /'
fi
