#!/usr/bin/env bash
# slow-transfer: downloads held back by one limit each, for the TCP verdicts.
# Usage: slow-transfer.sh [loss|rate-limit|receiver-stalled|window-limited|small-files|
#                          pmtu-blackhole|pmtu-icmp-filtered|nat-idle-timeout|healthy]
#        (all when no argument)
#   loss             -> captures/slow-loss.pcap: a 4 Mbit/s router (tc tbf) drops
#                       4 % of the data segments (iptables statistic); TCP
#                       retransmits them.
#   rate-limit       -> captures/slow-rate-limit.pcap: vsftpd local_max_rate=100000
#                       (bytes/s): the server sends in bursts and waits in between.
#   receiver-stalled -> captures/slow-receiver-stalled.pcap: the client (Python
#                       ftplib) reads 4 KiB every 0.3 s with a small receive buffer
#                       (tcp_rmem 4096): its window closes to zero again and again.
#   window-limited   -> captures/slow-window-limited.pcap: a 40 ms round trip (the
#                       router holds packets 20 ms each way, delay-tun.py) and a
#                       client whose receive buffer is 24 KiB (tcp_rmem): the bytes
#                       in flight sit at the window.
#   small-files      -> captures/slow-small-files.pcap: 20 files of 2 KB over a 50 ms
#                       round trip on one control connection (curl): per-file
#                       PASV/SIZE/RETR/226 round trips take the time, not the bytes.
#   pmtu-blackhole   -> captures/slow-pmtu-blackhole.pcap: the router's link to the
#                       client has an MTU of 1000 and the router's ICMP
#                       "fragmentation needed" messages are dropped: the server's
#                       full-size segments never arrive, small ones do. Captured on
#                       the server's interface (where the retransmissions are).
#   pmtu-icmp-filtered -> captures/slow-pmtu-icmp-filtered.pcap: the same small
#                       link, but the router's ICMP "fragmentation needed" messages
#                       do reach the server's interface, where the server's own
#                       firewall drops them (a "drop ICMP" rule on INPUT): the capture
#                       on the server's interface holds them, its TCP never sees them.
#   nat-idle-timeout -> captures/slow-nat-idle-timeout.pcap: the router NATs the
#                       client and forgets established TCP flows idle for 3 s
#                       (nf_conntrack_tcp_timeout_established=3, tcp_loose=0, packets
#                       of unknown flows rejected with RST); a rate-limited 8 s
#                       download keeps the control connection idle: the 226 never
#                       reaches the client, whose next packet is answered with RST.
#   VARIANT-offload-server, VARIANT-offload-client
#                    -> captures/slow-VARIANT-offload-*.pcap: VARIANT with
#                       the endpoints' NIC offloads on, as Linux has them on real
#                       NICs (TSO/GSO: the sender's capture shows segments of up to
#                       64 KB; GRO: the receiver's capture shows received segments
#                       merged; the router still forwards packet by packet),
#                       captured on the server's (sender's) or the client's
#                       (receiver's) interface.
#   healthy          -> captures/slow-healthy.pcap: a 2 MB download over a 100 ms
#                       round trip with the default buffers: nothing holds it back
#                       but the path (no verdict; `--verbose` says
#                       transfer-network-limited).
# Client 10.7.0.2 -> router (10.7.0.1 | 10.7.1.1) -> server 10.7.1.2 (vsftpd,
# passive port 40001), curl --disable-epsv unless said otherwise. Captured on the
# client's interface with a 200-byte snap length (payload bytes do not matter here),
# the lab pinned to one CPU so that veth does not reorder bursts.
set -euo pipefail
if [ $# -eq 0 ]; then
    "$0" loss
    "$0" rate-limit
    "$0" receiver-stalled
    "$0" window-limited
    "$0" small-files
    "$0" pmtu-blackhole
    "$0" pmtu-icmp-filtered
    "$0" nat-idle-timeout
    "$0" loss-offload-server
    "$0" loss-offload-client
    exec "$0" healthy
fi
variant=$1
if [ -z "${SLOW_PINNED:-}" ]; then
    SLOW_PINNED=1 exec taskset -c 0 "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
lab_init "slow-$variant"

topo_routed 10.7.0.2/24 10.7.0.1/24 10.7.1.1/24 10.7.1.2/24
offload=
case $variant in
    *-offload-server | *-offload-client)
        offload=${variant##*-offload-}
        variant=${variant%-offload-*}
        in_ns srv ethtool -K s0 tso on gso on gro on > /dev/null
        in_ns cli ethtool -K c0 tso on gso on gro on > /dev/null
        ;;
esac
name="slow-$variant${offload:+-offload-$offload}"
home_reset
size=300000
[ "$variant" = receiver-stalled ] && size=120000
[ "$variant" = window-limited ] && size=600000
[ "$variant" = nat-idle-timeout ] && size=320000
[ "$variant" = healthy ] && size=2000000
make_file "$LAB_HOME/big.bin" "$size" "slow-$variant"
urls=()
if [ "$variant" = small-files ]; then
    for i in $(seq -w 1 20); do
        make_file "$LAB_HOME/small/f$i.bin" 2000 "slow-small-$i"
        urls+=("ftp://10.7.1.2/small/f$i.bin" -o "$TMPD/f$i.bin")
    done
fi
fix_mtimes

# router_delay MS: the router holds every forwarded packet MS milliseconds.
router_delay() {
    bg_ns rtr delay "$PYTHON" "$MAKE_DIR/delay-tun.py" dtun "$1"
    local i
    for i in $(seq 1 50); do
        grep -q ready "$TMPD/delay.out" 2>/dev/null && break
        sleep 0.1
    done
    grep -q ready "$TMPD/delay.out" || die "delay-tun.py did not start: $(cat "$TMPD/delay.err")"
    in_ns rtr ip link set dtun up
    in_ns rtr sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.dtun.rp_filter=0
    in_ns rtr ip rule add iif r0 lookup 100
    in_ns rtr ip rule add iif r1 lookup 100
    in_ns rtr ip route add default dev dtun table 100
}

extra="pasv_min_port=40001
pasv_max_port=40001"
if [ "$variant" = rate-limit ]; then
    extra="$extra
local_max_rate=100000"
fi
if [ "$variant" = nat-idle-timeout ]; then
    extra="$extra
local_max_rate=40000"
fi
start_vsftpd srv <<<"$extra"

if [ "$variant" = loss ]; then
    # A 4 Mbit/s bottleneck towards the client, so that the transfer takes long
    # enough for its losses to matter.
    in_ns rtr tc qdisc add dev r0 root tbf rate 4mbit burst 16kb latency 500ms
    fw rtr -A FORWARD -p tcp --sport 40001 -m length --length 400: \
        -m statistic --mode random --probability 0.04 -j DROP
fi

case $variant in
    window-limited) router_delay 20; in_ns cli sysctl -qw net.ipv4.tcp_rmem="4096 24576 24576" ;;
    small-files) router_delay 25 ;;
    healthy) router_delay 50 ;;
    nat-idle-timeout)
        in_ns rtr sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=3 \
            net.netfilter.nf_conntrack_tcp_loose=0
        fw rtr -t nat -A POSTROUTING -o r1 -s 10.7.0.0/24 -j MASQUERADE
        fw rtr -A FORWARD -m conntrack --ctstate INVALID -p tcp -j REJECT --reject-with tcp-reset
        fw rtr -A INPUT -m conntrack --ctstate INVALID -p tcp -j REJECT --reject-with tcp-reset
        ;;
    pmtu-blackhole)
        in_ns rtr ip link set r0 mtu 1000
        fw rtr -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
        ;;
    pmtu-icmp-filtered)
        in_ns rtr ip link set r0 mtu 1000
        fw srv -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP
        ;;
esac

if [ "$offload" = client ]; then
    capture_start cli c0
elif [ "$variant" = pmtu-blackhole ] || [ "$variant" = pmtu-icmp-filtered ] || [ "$offload" = server ]; then
    capture_start srv s0
else
    capture_start cli c0
fi
case $variant in
    small-files)
        in_ns cli curl -sS --max-time 60 --disable-epsv -u "$FTP_USER:$FTP_PASS" "${urls[@]}"
        ;;
    nat-idle-timeout)
        rc=0
        in_ns cli curl -sS --max-time 16 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
            "ftp://10.7.1.2/big.bin" -o "$TMPD/big.bin" || rc=$?
        [ "$rc" != 0 ] || die "the 226 passed the NAT"
        log "curl exit code $rc (expected: no 226)"
        ;;
    pmtu-blackhole|pmtu-icmp-filtered)
        rc=0
        in_ns cli curl -sS --max-time 12 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
            "ftp://10.7.1.2/big.bin" -o "$TMPD/big.bin" || rc=$?
        [ "$rc" != 0 ] || die "the download passed the black hole"
        log "curl exit code $rc (expected: the transfer stalls)"
        ;;
    loss|rate-limit|window-limited|healthy)
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
if [ "$variant" = small-files ]; then
    for i in $(seq -w 1 20); do cmp "$TMPD/f$i.bin" "$LAB_HOME/small/f$i.bin"; done
elif [ "$variant" = pmtu-blackhole ] || [ "$variant" = pmtu-icmp-filtered ]; then
    :
elif [ "$variant" = nat-idle-timeout ]; then
    cmp "$TMPD/big.bin" "$LAB_HOME/big.bin" # the data arrived; the 226 did not
else
    cmp "$TMPD/big.bin" "$LAB_HOME/big.bin"
fi
editcap -s 200 "$TMPD/raw.pcap" "$TMPD/snap.pcap"
mv "$TMPD/snap.pcap" "$TMPD/raw.pcap"
capture_save pcap raw "$name"
ftp_summary "$CAPTURE_FILE"
check_expect "$name"
