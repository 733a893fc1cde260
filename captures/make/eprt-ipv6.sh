#!/usr/bin/env bash
# eprt-ipv6: a healthy active-mode session over IPv6 (EPRT).
# Server: vsftpd with listen_ipv6=YES on [2001:db8:1::1]:21. Client: curl -g
# --ftp-port '[2001:db8:1::2]:50002-50003' ([2001:db8:1::2]) in one run with two URLs:
# LIST of /pub, then RETR of /pub/v6.bin (102400 random bytes). Each data
# connection is announced with EPRT |2|2001:db8:1::2|PORT| and opened by the server.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init eprt-ipv6

ns_add cli; ns_add srv
ns_ipv6 cli; ns_ipv6 srv
link cli c0 srv s0
addr cli c0 2001:db8:1::2/64
addr srv s0 2001:db8:1::1/64
home_reset
make_file "$LAB_HOME/pub/v6.bin" 102400 eprt-ipv6-file
make_file "$LAB_HOME/pub/other.bin" 30000 eprt-ipv6-other
fix_mtimes

start_vsftpd srv <<'CONF'
listen=NO
listen_ipv6=YES
CONF

capture_start srv s0
in_ns cli curl -sS --max-time 20 -g -u "$FTP_USER:$FTP_PASS" --ftp-port '[2001:db8:1::2]:50002-50003' \
    "ftp://[2001:db8:1::1]/pub/" -o "$TMPD/list.txt" \
    "ftp://[2001:db8:1::1]/pub/v6.bin" -o "$TMPD/v6.bin"
capture_stop
cmp "$TMPD/v6.bin" "$LAB_HOME/pub/v6.bin"
log "listing: $(wc -l < "$TMPD/list.txt") lines"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
