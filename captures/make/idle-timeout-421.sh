#!/usr/bin/env bash
# idle-timeout-421: the server ends an idle session with 421.
# Server: vsftpd with idle_session_timeout=3 (10.1.0.1:21). Client: Python ftplib
# (10.1.0.2): login, PWD, then idle for 5 s; after 3 s vsftpd sends "421 Timeout."
# and closes the control connection; the client then sends QUIT into the closed
# connection (answered by a TCP RST).
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init idle-timeout-421

topo_pair 10.1.0.2 10.1.0.1
home_reset
fix_mtimes
start_vsftpd srv <<'CONF'
idle_session_timeout=3
CONF

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib, time
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
print(ftp.pwd())
time.sleep(5)
try:
    print(ftp.quit())
except (ftplib.Error, OSError) as e:
    print("QUIT after idle timeout:", repr(e))
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
