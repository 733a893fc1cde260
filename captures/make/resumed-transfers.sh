#!/usr/bin/env bash
# resumed-transfers: a download and an upload resumed where earlier, cut copies
# stopped (REST + RETR, then APPE), with curl --continue-at -.
# Server: vsftpd (10.1.0.1:21, passive port 40151). Client: curl (10.1.0.2):
# the client already holds the first 50,000 bytes of big.bin (120,000 random
# bytes), so `curl -C -` sends REST 50000 and RETR big.bin: the data connection
# carries bytes 50,000.. of the file. Then the server holds the first 30,000 bytes
# of up.bin (90,000 random bytes) and `curl -C - -T` sends SIZE, then APPE with
# the rest. Both copies are compared with the originals. Captured on the server's
# interface.
source "$(dirname "$0")/lib.sh"
lab_init resumed-transfers

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/big.bin" 120000 resumed-transfers-big
make_file "$TMPD/up.bin" 90000 resumed-transfers-up
head -c 30000 "$TMPD/up.bin" > "$LAB_HOME/up.bin"
chown "$FTP_USER:$FTP_USER" "$LAB_HOME/up.bin"
head -c 50000 "$LAB_HOME/big.bin" > "$TMPD/big.bin"
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40151
pasv_max_port=40151
write_enable=YES
CONF

capture_start srv s0
in_ns cli timeout 30 curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" -C - \
    -o "$TMPD/big.bin" ftp://10.1.0.1/big.bin
in_ns cli timeout 30 curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" -C - \
    -T "$TMPD/up.bin" ftp://10.1.0.1/up.bin
capture_stop
cmp "$TMPD/big.bin" "$LAB_HOME/big.bin"
cmp "$TMPD/up.bin" "$LAB_HOME/up.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
