#!/usr/bin/env bash
# passive-ok: a healthy passive-mode (PASV) session.
# Server: vsftpd (10.1.0.1:21, passive port 40001 (both data connections use it)). Client: curl --disable-epsv
# (10.1.0.2), one curl run with two URLs on one control connection: LIST of the
# directory /pub, then RETR of /pub/sample.bin (204800 random bytes).
# Captured on the server's interface; saved as pcapng.
source "$(dirname "$0")/lib.sh"
lab_init passive-ok

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/pub/sample.bin" 204800 passive-ok-sample
make_file "$LAB_HOME/pub/notes.bin" 12000 passive-ok-notes
make_text "$LAB_HOME/pub/readme.txt" 40
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40001
pasv_max_port=40001
CONF

capture_start srv s0
in_ns cli curl -sS --max-time 20 --disable-epsv -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1/pub/" -o "$TMPD/list.txt" \
    "ftp://10.1.0.1/pub/sample.bin" -o "$TMPD/sample.bin"
capture_stop
cmp "$TMPD/sample.bin" "$LAB_HOME/pub/sample.bin"
log "listing: $(wc -c < "$TMPD/list.txt") bytes"
capture_save pcapng
ftp_summary "$CAPTURE_FILE"
check_expect
