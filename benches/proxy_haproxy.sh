#!/usr/bin/env bash
# ftpscope proxy against a real relay doing the same job (issue 17): HAProxy in TCP
# mode with splice, relaying vsftpd's control port and its passive port range, the
# server announcing the relay's address. The plain relay's targets: >= 0.95x
# HAProxy's median throughput, <= 1.25x its CPU per GiB, < 0.2 ms added per
# command round trip, with and without --log / --record.
#
# Everything is started by hand (no services): vsftpd from the capture lab
# (captures/make/install-lab.sh) twice on 127.0.0.2 (one announcing its own
# address, for the direct runs and for ftpscope, which rewrites the 227; one
# announcing 127.0.0.1, where HAProxy listens on the same passive ports), HAProxy
# from Debian (apt-get install haproxy), ftpscope from a release build. curl
# downloads a file of FTPSCOPE_BENCH_BYTES (default 1 GiB) to /dev/null, ROUNDS
# times through each path in turn; a Python client times NOOP round trips.
# Prints every round, then medians. Run as root on a quiet machine.
#
#   benches/proxy_haproxy.sh
#   ROUNDS=3 FTPSCOPE_BENCH_BYTES=268435456 benches/proxy_haproxy.sh
#   FTPSCOPE_BIN=target/release/ftpscope benches/proxy_haproxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BYTES=${FTPSCOPE_BENCH_BYTES:-1073741824}
NOOPS=${NOOPS:-2000}
VSFTPD=/opt/ftpscope-lab/vsftpd/usr/sbin/vsftpd
HOME_DIR=/srv/ftpscope-lab/home
USER_NAME=ftpuser
USER_PASS=s3cret-pass
[ -x "$VSFTPD" ] || { echo "needs vsftpd from captures/make/install-lab.sh" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "needs haproxy (apt-get install haproxy)" >&2; exit 2; }
if [ -n "${FTPSCOPE_BIN:-}" ]; then
  BIN=$FTPSCOPE_BIN
else
  cargo build --release -q
  BIN=$PWD/target/release/ftpscope
fi

T=$(mktemp -d)
SUB=bench-relay-$$
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$T" "$HOME_DIR/$SUB"
}
trap cleanup EXIT

mkdir -p "$HOME_DIR/$SUB"
head -c "$BYTES" /dev/urandom > "$HOME_DIR/$SUB/file.bin"
chown -R "$USER_NAME:$USER_NAME" "$HOME_DIR/$SUB"

BASE=$((20000 + $$ % 5000))
DIRECT_PORT=$BASE        # vsftpd announcing itself
RELAYED_PORT=$((BASE + 1)) # vsftpd announcing HAProxy's address
HAPROXY_PORT=$((BASE + 2))
PASV_LO=$((BASE + 100)); PASV_HI=$((BASE + 149))

vsftpd_conf() { # port, extra lines
  cat <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.2
listen_port=$1
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
pam_service_name=ftpscope-vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
connect_from_port_20=NO
pasv_min_port=$PASV_LO
pasv_max_port=$PASV_HI
$2
EOF
}
vsftpd_conf "$DIRECT_PORT" "" > "$T/direct.conf"
vsftpd_conf "$RELAYED_PORT" "pasv_address=127.0.0.1" > "$T/relayed.conf"
"$VSFTPD" "$T/direct.conf" >/dev/null 2>&1 & PIDS+=($!)
"$VSFTPD" "$T/relayed.conf" >/dev/null 2>&1 & PIDS+=($!)

cat > "$T/haproxy.cfg" <<EOF
global
  maxconn 1000
defaults
  mode tcp
  option splice-request
  option splice-response
  timeout connect 5s
  timeout client 600s
  timeout server 600s
listen ftp_control
  bind 127.0.0.1:$HAPROXY_PORT
  server s 127.0.0.2:$RELAYED_PORT
listen ftp_data
  bind 127.0.0.1:$PASV_LO-$PASV_HI
  server s 127.0.0.2
EOF
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 & HAPROXY=$!; PIDS+=($HAPROXY)

# ftpscope proxies: plain, --log, --record (each its own process and port).
start_ftpscope() { # name, extra options...
  local name=$1; shift
  "$BIN" proxy --upstream "127.0.0.2:$DIRECT_PORT" --listen 127.0.0.1:0 \
    --format json "$@" 2> "$T/$name.err" > /dev/null &
  PIDS+=($!)
  echo $! > "$T/$name.pid"
}
start_ftpscope plain --log /dev/null
start_ftpscope log --log "$T/sessions.jsonl"
start_ftpscope record --log /dev/null --record "$T/record.pcapng"
addr_of() {
  for _ in $(seq 50); do
    grep -q "listening on" "$T/$1.err" 2>/dev/null && break
    sleep 0.1
  done
  sed -n 's/.*listening on \([0-9.:]*\),.*/\1/p' "$T/$1.err" | head -1
}
declare -A ADDR PID
ADDR[direct]=127.0.0.2:$DIRECT_PORT
ADDR[haproxy]=127.0.0.1:$HAPROXY_PORT
PID[haproxy]=$HAPROXY
for n in plain log record; do
  ADDR[$n]=$(addr_of $n)
  PID[$n]=$(cat "$T/$n.pid")
  [ -n "${ADDR[$n]}" ] || { cat "$T/$n.err" >&2; exit 1; }
done
sleep 0.5
PATHS=${PATHS:-"direct haproxy plain log record"}

cpu_ticks() { # utime + stime of a process and its threads, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

download() { # addr -> MB/s as curl measured
  curl -sS --max-time 600 -u "$USER_NAME:$USER_PASS" -o /dev/null \
    -w '%{speed_download}' "ftp://$1/$SUB/file.bin"
}

noop_rtt() { # addr -> median NOOP round trip in microseconds
  python3 - "$1" "$NOOPS" "$USER_NAME" "$USER_PASS" <<'PY'
import socket, statistics, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n, user, pw = int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, int(port)))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
def reply():
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    return line
reply()
for cmd in (b"USER " + user.encode(), b"PASS " + pw.encode()):
    s.sendall(cmd + b"\r\n"); reply()
times = []
for _ in range(n):
    t = time.perf_counter()
    s.sendall(b"NOOP\r\n")
    reply()
    times.append(time.perf_counter() - t)
s.sendall(b"QUIT\r\n"); reply()
print(f"{statistics.median(times) * 1e6:.1f}")
PY
}

for p in $PATHS; do : > "$T/speed.$p"; : > "$T/cpu.$p"; : > "$T/rtt.$p"; done
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for p in $PATHS; do
    [ "$p" = record ] && rm -f "$T/record.pcapng" 2>/dev/null || true
    before=0; [ -n "${PID[$p]:-}" ] && before=$(cpu_ticks "${PID[$p]}")
    s=$(download "${ADDR[$p]}")
    after=0; [ -n "${PID[$p]:-}" ] && after=$(cpu_ticks "${PID[$p]}")
    echo "$s" >> "$T/speed.$p"
    awk -v t=$((after - before)) -v hz="$HZ" -v b="$BYTES" \
      'BEGIN {print t / hz / (b / 1073741824)}' >> "$T/cpu.$p"
    noop_rtt "${ADDR[$p]}" >> "$T/rtt.$p"
    line="$line $p $(awk -v s="$s" 'BEGIN {printf "%.0f", s/1e6}') MB/s"
  done
  echo "$line"
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
HS=$(median < "$T/speed.haproxy"); HC=$(median < "$T/cpu.haproxy")
DR=$(median < "$T/rtt.direct")
printf '%-8s %10s %10s %12s %10s %12s %12s\n' path "MB/s" "x haproxy" "CPU s/GiB" "x haproxy" "NOOP RTT us" "added us"
for p in $PATHS; do
  S=$(median < "$T/speed.$p"); C=$(median < "$T/cpu.$p"); R=$(median < "$T/rtt.$p")
  awk -v p="$p" -v s="$S" -v hs="$HS" -v c="$C" -v hc="$HC" -v r="$R" -v dr="$DR" 'BEGIN {
    cpu = (p == "direct") ? "-" : sprintf("%.3f", c);
    ratio = (p == "direct" || hc == 0) ? "-" : sprintf("%.2f", c / hc);
    printf "%-8s %10.0f %10.2f %12s %10s %12.1f %12.1f\n", p, s/1e6, s/hs, cpu, ratio, r, r - dr }'
done
echo "medians of $ROUNDS rounds, $BYTES bytes each; targets for ftpscope (plain, log, record): >= 0.95x HAProxy's MB/s, <= 1.25x its CPU per GiB, < 200 us added per NOOP"
