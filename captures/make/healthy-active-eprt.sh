#!/usr/bin/env bash
# healthy-active-eprt: a healthy active-mode upload announced with EPRT over IPv4.
# Server: pure-ftpd (10.1.0.1:21). Client: curl -T --ftp-port 10.1.0.2:50040
# (10.1.0.2) uploads eprt-up.bin (65536 random bytes): EPRT |1|10.1.0.2|50040|,
# then STOR; the server connects to the client (from port 20) and receives the file.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init healthy-active-eprt

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$TMPD/eprt-up.bin" 65536 healthy-active-eprt-file
fix_mtimes
start_pureftpd srv -S 10.1.0.1,21

capture_start srv s0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port 10.1.0.2:50040 \
    -T "$TMPD/eprt-up.bin" "ftp://10.1.0.1/eprt-up.bin"
capture_stop
cmp "$TMPD/eprt-up.bin" "$LAB_HOME/eprt-up.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
