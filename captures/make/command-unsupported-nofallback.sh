#!/usr/bin/env bash
# command-unsupported-nofallback: the client relies on a command the server
# does not implement, and does not work around it.
# Server: vsftpd 3.0.3 (10.1.0.1:21), which has no MLST/MLSD (RFC 3659).
# Client: Python ftplib (10.1.0.2) logs in, asks for the facts of readme.txt
# with `MLST readme.txt` (sendcmd), gets "500 Unknown command.", gives up (no
# LIST, STAT, SIZE or MDTM instead) and sends QUIT. No data connection.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init command-unsupported-nofallback

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_text "$LAB_HOME/readme.txt" 40
fix_mtimes
start_vsftpd srv </dev/null

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
try:
    print("MLST answered:", ftp.sendcmd("MLST readme.txt"))
    raise SystemExit("expected MLST to be refused")
except ftplib.error_perm as e:
    print("MLST refused:", e)
    if not str(e).startswith(("500", "502", "504")):
        raise SystemExit("expected 500/502/504, got %s" % e)
print(ftp.quit())
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
