#!/usr/bin/env bash
# passive-dropped: the passive data connection is silently dropped by a firewall.
# Client 198.51.100.20 (curl --disable-epsv --connect-timeout 4) -> router ->
# server 203.0.113.10 (vsftpd, passive port 40071). The router DROPs TCP to port
# 40071, so the client's SYN to the announced 203.0.113.10:40071 is retransmitted
# (3 retransmissions, 1 s apart on this kernel: net.ipv4.tcp_syn_linear_timeouts)
# and never answered; curl gives up after 4 s and closes the control connection.
# Captured on the client's interface.
source "$(dirname "$0")/lib.sh"
lab_init passive-dropped

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
fw rtr -A FORWARD -p tcp --dport 40071 -j DROP
home_reset
make_file "$LAB_HOME/blocked.bin" 65536 passive-dropped-file
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40071
pasv_max_port=40071
CONF

capture_start cli c0
rc=0
in_ns cli curl -sS --max-time 20 --connect-timeout 4 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
    "ftp://203.0.113.10/blocked.bin" -o "$TMPD/blocked.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
sleep 1
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
