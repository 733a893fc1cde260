#!/usr/bin/env bash
# passive-refused: the passive data connection is refused by a firewall.
# Client 198.51.100.20 (curl --disable-epsv) -> router -> server 203.0.113.10
# (vsftpd, passive port 40061). The router rejects TCP to port 40061 with
# `REJECT --reject-with tcp-reset`, so the client's SYN to the announced
# 203.0.113.10:40061 is answered by an RST (sent by the router, in the server's name).
# Captured on the client's interface.
source "$(dirname "$0")/lib.sh"
lab_init passive-refused

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
fw rtr -A FORWARD -p tcp --dport 40061 -j REJECT --reject-with tcp-reset
home_reset
make_file "$LAB_HOME/blocked.bin" 65536 passive-refused-file
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40061
pasv_max_port=40061
CONF

capture_start cli c0
rc=0
in_ns cli curl -sS --max-time 20 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
    "ftp://203.0.113.10/blocked.bin" -o "$TMPD/blocked.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
sleep 1
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
