#!/usr/bin/env bash
# epsv-upload: a healthy extended-passive (EPSV) upload.
# Server: pure-ftpd (10.1.0.1:21, passive port 40011). Client: curl -T (10.1.0.2)
# uploads upload.bin (307200 random bytes) with STOR over an EPSV data connection.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init epsv-upload

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$TMPD/upload.bin" 307200 epsv-upload-file
fix_mtimes

start_pureftpd srv -S 10.1.0.1,21 -p 40011:40011

capture_start srv s0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" -T "$TMPD/upload.bin" "ftp://10.1.0.1/upload.bin"
capture_stop
cmp "$TMPD/upload.bin" "$LAB_HOME/upload.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
