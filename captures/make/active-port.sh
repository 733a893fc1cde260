#!/usr/bin/env bash
# active-port: a healthy active-mode (PORT) download.
# Server: proftpd (10.1.0.1:21). Client: curl --ftp-port 10.1.0.2:50001 --disable-eprt
# (10.1.0.2): PORT 10,1,0,2,195,81 then RETR of active.bin (153600 random bytes);
# the server opens the data connection to the client.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init active-port

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/active.bin" 153600 active-port-file
fix_mtimes

start_proftpd srv </dev/null

capture_start srv s0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port 10.1.0.2:50001 --disable-eprt \
    "ftp://10.1.0.1/active.bin" -o "$TMPD/active.bin"
capture_stop
cmp "$TMPD/active.bin" "$LAB_HOME/active.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
