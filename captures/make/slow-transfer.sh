#!/usr/bin/env bash
# slow-transfer: downloads held back by one limit each, for the TCP verdicts.
# Usage: slow-transfer.sh [loss|rate-limit|receiver-stalled]   (all when no argument)
#   loss             -> captures/slow-loss.pcap: a 4 Mbit/s router (tc tbf) drops
#                       4 % of the data segments (iptables statistic); TCP
#                       retransmits them.
#   rate-limit       -> captures/slow-rate-limit.pcap: vsftpd local_max_rate=100000
#                       (bytes/s): the server sends in bursts and waits in between.
#   receiver-stalled -> captures/slow-receiver-stalled.pcap: the client (Python
#                       ftplib) reads 4 KiB every 0.3 s with a small receive buffer
#                       (tcp_rmem 4096): its window closes to zero again and again.
# Client 10.7.0.2 -> router (10.7.0.1 | 10.7.1.1) -> server 10.7.1.2 (vsftpd,
# passive port 40001), curl --disable-epsv unless said otherwise. Captured on the
# client's interface with a 200-byte snap length (payload bytes do not matter here),
# the lab pinned to one CPU so that veth does not reorder bursts.
set -euo pipefail
if [ $# -eq 0 ]; then
    "$0" loss
    "$0" rate-limit
    exec "$0" receiver-stalled
fi
variant=$1
if [ -z "${SLOW_PINNED:-}" ]; then
    SLOW_PINNED=1 exec taskset -c 0 "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
lab_init "slow-$variant"

topo_routed 10.7.0.2/24 10.7.0.1/24 10.7.1.1/24 10.7.1.2/24
home_reset
size=300000
[ "$variant" = receiver-stalled ] && size=120000
make_file "$LAB_HOME/big.bin" "$size" "slow-$variant"
fix_mtimes

extra="pasv_min_port=40001
pasv_max_port=40001"
if [ "$variant" = rate-limit ]; then
    extra="$extra
local_max_rate=100000"
fi
start_vsftpd srv <<<"$extra"

if [ "$variant" = loss ]; then
    # A 4 Mbit/s bottleneck towards the client, so that the transfer takes long
    # enough for its losses to matter.
    in_ns rtr tc qdisc add dev r0 root tbf rate 4mbit burst 16kb latency 500ms
    fw rtr -A FORWARD -p tcp --sport 40001 -m length --length 400: \
        -m statistic --mode random --probability 0.04 -j DROP
fi

capture_start cli c0
case $variant in
    loss|rate-limit)
        in_ns cli curl -sS --max-time 60 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
            "ftp://10.7.1.2/big.bin" -o "$TMPD/big.bin"
        ;;
    receiver-stalled)
        in_ns cli sysctl -qw net.ipv4.tcp_rmem="4096 4096 4096"
        in_ns cli "$PYTHON" - "$FTP_USER" "$FTP_PASS" "$TMPD/big.bin" <<'PY'
import ftplib, sys, time
user, pw, out = sys.argv[1:4]
ftp = ftplib.FTP("10.7.1.2", timeout=30)
ftp.login(user, pw)
ftp.voidcmd("TYPE I")
with ftp.transfercmd("RETR big.bin") as conn, open(out, "wb") as f:
    while True:
        block = conn.recv(4096)
        if not block:
            break
        f.write(block)
        time.sleep(0.3)
ftp.voidresp()
ftp.quit()
PY
        ;;
esac
capture_stop
cmp "$TMPD/big.bin" "$LAB_HOME/big.bin"
editcap -s 200 "$TMPD/raw.pcap" "$TMPD/snap.pcap"
mv "$TMPD/snap.pcap" "$TMPD/raw.pcap"
capture_save pcap raw "slow-$variant"
ftp_summary "$CAPTURE_FILE"
check_expect "slow-$variant"
