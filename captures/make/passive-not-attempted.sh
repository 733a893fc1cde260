#!/usr/bin/env bash
# passive-not-attempted: the client never opens the passive data connection.
# Server: vsftpd (10.1.0.1:21, passive port 40201, accept_timeout=3 and
# data_connection_timeout=3). Client: Python ftplib (10.1.0.2) logs in, sends
# TYPE I and PASV (227 announces 10.1.0.1:40201), then RETR report.bin (32768
# bytes, the file exists) with sendcmd(), without ever connecting to the
# announced port. vsftpd waits 3 s for the data connection, answers
# "425 Failed to establish connection.", and the client sends QUIT.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init passive-not-attempted

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/report.bin" 32768 passive-not-attempted-file
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40201
pasv_max_port=40201
accept_timeout=3
data_connection_timeout=3
CONF

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=15)
ftp.login("ftpuser", "s3cret-pass")
print(ftp.sendcmd("TYPE I"))
print(ftp.sendcmd("PASV"))          # 227 (10,1,0,1,157,9): nobody connects there
try:
    print("RETR answered:", ftp.sendcmd("RETR report.bin"))
    raise SystemExit("expected 425")
except ftplib.error_temp as e:
    print("RETR failed:", e)
    if not str(e).startswith("425"):
        raise SystemExit("expected 425, got %s" % e)
print(ftp.quit())
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
