#!/usr/bin/env bash
# ascii-binary: a binary file downloaded in ASCII mode (TYPE A).
# Server: vsftpd with ascii_download_enable=YES (10.1.0.1:21, passive port 40101).
# Client: curl --use-ascii (10.1.0.2) downloads image.bin (102400 random bytes)
# via EPSV. The 150 reply announces "(102400 bytes)", but vsftpd converts every LF
# to CRLF on the wire, so the data connection carries more bytes than that; curl
# converts them back. curl sends no SIZE in ASCII mode.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init ascii-binary

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/image.bin" 102400 ascii-binary-file
fix_mtimes
"$PYTHON" - "$LAB_HOME/image.bin" >&2 <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
lf = d.count(b"\n"); crlf = d.count(b"\r\n")
print(f"[ascii-binary] image.bin: {len(d)} bytes, {lf} LF ({crlf} already after CR); "
      f"LF->CRLF on the wire gives {len(d) + lf} bytes (or {len(d) + lf - crlf} if CRLF is kept)")
PY

start_vsftpd srv <<'CONF'
pasv_min_port=40101
pasv_max_port=40101
ascii_download_enable=YES
CONF

capture_start srv s0
in_ns cli curl -sS --max-time 20 --use-ascii -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1/image.bin" -o "$TMPD/image.bin"
capture_stop
log "curl saved $(stat -c %s "$TMPD/image.bin") bytes"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
