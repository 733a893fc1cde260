#!/usr/bin/env bash
# FTPS large-transfer benchmark: what reading TLS costs on a big encrypted transfer.
# Captures, with the lab's real vsftpd and curl in two namespaces (root and
# captures/make/install-lab.sh needed), one download of the same SIZE-MB file twice:
# plain FTP (the data connection is only counted: Count mode) and explicit FTPS with
# PROT P (the data connection is matched by timing and reassembled so that its TLS
# record headers are walked: Stream mode, plus its TCP figures). Then runs
# `ftpscope report --format json` on each RUNS times, alternating, and prints the
# minimum and median time, MB/s and peak memory per capture. The machine is shared:
# take the minimum.
#
# Usage: benches/ftps-real.sh [SIZE_MB [RUNS]]   (default 300 MB, 7 runs)
# Captures are kept in target/bench-data/ (ftps-big.pcap, plain-big.pcap); delete
# them to capture again.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=${1:-300}
RUNS=${2:-7}
data=$ROOT/target/bench-data
bin=${FTPSCOPE_BIN:-$ROOT/target/release/ftpscope}
mkdir -p "$data"

if [ ! -s "$data/ftps-big.pcap" ] || [ ! -s "$data/plain-big.pcap" ]; then
    # shellcheck source=../captures/make/lib.sh
    source "$ROOT/captures/make/lib.sh"
    lab_init bench-ftps
    topo_pair 10.1.0.2 10.1.0.1
    # A directory of our own in the lab home (other lab users share the home).
    sub=bench-ftps-$$
    mkdir -p "$LAB_HOME/$sub"
    chown "$FTP_USER:$FTP_USER" "$LAB_HOME/$sub"
    trap 'rm -rf "$LAB_HOME/$sub"; lab_cleanup' EXIT
    head -c "$((SIZE_MB << 20))" /dev/urandom > "$LAB_HOME/$sub/big.bin"
    chown "$FTP_USER:$FTP_USER" "$LAB_HOME/$sub/big.bin"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ftp.example.test" \
        -keyout "$TMPD/key.pem" -out "$TMPD/cert.pem" 2>/dev/null
    chmod 600 "$TMPD/key.pem"
    start_vsftpd srv <<CONF
pasv_min_port=40990
pasv_max_port=40999
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=NO
force_local_data_ssl=NO
rsa_cert_file=$TMPD/cert.pem
rsa_private_key_file=$TMPD/key.pem
CONF
    for kind in plain ftps; do
        tls=(); [ "$kind" = ftps ] && tls=(--ssl-reqd -k)
        capture_start srv s0 "$kind"
        # Rate-limited: at line rate tcpdump drops packets on this machine.
        in_ns cli curl -sS --max-time 300 --limit-rate 40M -u "$FTP_USER:$FTP_PASS" "${tls[@]}" \
            "ftp://10.1.0.1/$sub/big.bin" -o /dev/null
        capture_stop "$kind"
        cp "$TMPD/$kind.pcap" "$data/$kind-big.pcap"
    done
fi

run() { # file -> "secs kb"
    cat "$1" > /dev/null
    { /usr/bin/time -f "%e %M" "$bin" report --format json "$1" > /dev/null; } 2>&1 | tail -1
}
declare -A times mem
for i in $(seq 1 "$RUNS"); do
    for kind in plain ftps; do
        r=$(run "$data/$kind-big.pcap")
        times[$kind]+="${r% *} "
        mem[$kind]=${r#* }
    done
done
echo "machine: $(nproc) cores; load: $(cut -d" " -f1-3 /proc/loadavg); $RUNS runs each, alternating"
for kind in plain ftps; do
    f=$data/$kind-big.pcap
    # shellcheck disable=SC2086
    echo ${times[$kind]} | tr ' ' '\n' | sort -n | awk -v k="$kind" -v b="$(stat -c %s "$f")" -v kb="${mem[$kind]}" '
        { t[NR] = $1 } END {
        med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%-6s %7.0f MB  min %6.2f s (%5.0f MB/s)  median %6.2f s  peak %5.1f MB\n",
            k, b / 1e6, t[1], b / 1e6 / t[1], med, kb / 1024 }'
done
