#!/usr/bin/env bash
# login-retry: failed logins followed by a successful one.
# Server: proftpd (10.1.0.1:21). Client: Python ftplib (10.1.0.2).
#   session 1: USER ftpuser / PASS wrong-pass -> 530, then QUIT.
#   session 2: USER ftpuser / PASS wrong-again -> 530, then in the same session
#              USER ftpuser / PASS s3cret-pass -> 230, PWD, CWD docs, QUIT.
# No data connection. Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init login-retry

topo_pair 10.1.0.2 10.1.0.1
home_reset
mkdir -p "$LAB_HOME/docs"
fix_mtimes

start_proftpd srv </dev/null

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
try:
    ftp.login("ftpuser", "wrong-pass")
    raise SystemExit("login with a wrong password succeeded?")
except ftplib.error_perm as e:
    print("session 1:", e)
ftp.quit()

ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
try:
    ftp.login("ftpuser", "wrong-again")
    raise SystemExit("login with a wrong password succeeded?")
except ftplib.error_perm as e:
    print("session 2, first try:", e)
print(ftp.login("ftpuser", "s3cret-pass"))
print(ftp.pwd())
print(ftp.cwd("docs"))
print(ftp.quit())
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
