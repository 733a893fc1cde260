#!/usr/bin/env bash
# control-unanswered: the control connection gets no answer.
# Client 198.51.100.20 (curl --connect-timeout 4) -> router -> server 203.0.113.10,
# where vsftpd runs but the router DROPs TCP to port 21: the client's SYNs (one a
# second on this kernel) get no answer and curl gives up. Captured on the client side.
source "$(dirname "$0")/lib.sh"
lab_init control-unanswered

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
fw rtr -A FORWARD -p tcp --dport 21 -j DROP
home_reset
fix_mtimes
start_vsftpd srv <<'CONF'
CONF

capture_start cli c0
rc=0
in_ns cli curl -sS --connect-timeout 4 -u "$FTP_USER:$FTP_PASS" \
    "ftp://203.0.113.10/" -o /dev/null || rc=$?
log "curl exit code $rc (expected 28: connect timeout)"
[ "$rc" != 0 ] || die "connection unexpectedly succeeded"
sleep 1
capture_stop
capture_save pcap
