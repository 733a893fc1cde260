#!/usr/bin/env bash
# epsv-all-port: a client violates its own EPSV ALL by sending PORT.
# Server: vsftpd (10.1.0.1:21). Client: Python ftplib (10.1.0.2): login,
# `EPSV ALL` (accepted with 200), then `PORT 10,1,0,2,195,90` (10.1.0.2:50010),
# which the server refuses (RFC 2428: after EPSV ALL only EPSV is allowed), QUIT.
# No data connection. Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init epsv-all-port

topo_pair 10.1.0.2 10.1.0.1
home_reset
fix_mtimes
start_vsftpd srv </dev/null

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
print(ftp.sendcmd("EPSV ALL"))
try:
    print("PORT accepted?!", ftp.sendcmd("PORT 10,1,0,2,195,90"))
except ftplib.error_perm as e:
    print("PORT refused:", e)
print(ftp.quit())
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
