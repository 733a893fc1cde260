#!/usr/bin/env bash
# ftp-port-2121: FTP on a non-standard control port.
# Server: vsftpd listening on 10.1.0.1:2121 (passive port 40051). Client: curl
# (10.1.0.2) downloads ftp://10.1.0.1:2121/port2121.bin (98304 random bytes) in
# passive mode (EPSV, curl's default).
# Captured with `tcpdump -i any -y LINUX_SLL` in the server namespace, so this
# capture's link type is Linux cooked v1 (SLL), not Ethernet.
source "$(dirname "$0")/lib.sh"
lab_init ftp-port-2121

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/port2121.bin" 98304 ftp-port-2121-file
fix_mtimes

start_vsftpd srv 2121 <<'CONF'
pasv_min_port=40051
pasv_max_port=40051
CONF

capture_start srv any raw -y LINUX_SLL
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1:2121/port2121.bin" -o "$TMPD/port2121.bin"
capture_stop
cmp "$TMPD/port2121.bin" "$LAB_HOME/port2121.bin"
capture_save pcap
check_expect
