#!/usr/bin/env bash
# control-refused: the control connection itself is refused.
# Client 198.51.100.20 (curl) -> router -> server 203.0.113.10, where vsftpd runs
# but the router rejects TCP to port 21 with `REJECT --reject-with tcp-reset`: the
# client's SYN to 203.0.113.10:21 is answered by an RST. Captured on the client side.
source "$(dirname "$0")/lib.sh"
lab_init control-refused

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
fw rtr -A FORWARD -p tcp --dport 21 -j REJECT --reject-with tcp-reset
home_reset
fix_mtimes
start_vsftpd srv <<'CONF'
CONF

capture_start cli c0
rc=0
in_ns cli curl -sS --max-time 10 -u "$FTP_USER:$FTP_PASS" \
    "ftp://203.0.113.10/" -o /dev/null || rc=$?
log "curl exit code $rc (expected 7: connection refused)"
[ "$rc" != 0 ] || die "connection unexpectedly succeeded"
sleep 1
capture_stop
capture_save pcap
