#!/usr/bin/env bash
# bruteforce-local: password guessing: many failed logins from one address.
# Client 203.0.113.66 (Python ftplib) -> router -> server 198.51.100.10
# (vsftpd, defaults delay_failed_login=1 and max_login_fails=3; PAM adds its
# own delay of about 2 s to each failure). Like a password-guessing tool with 4
# parallel tasks, the client opens 4 sessions at once (0.2 s apart) and in each
# tries two wrong passwords for ftpuser (USER/PASS, 530, USER/PASS, 530), then
# QUIT: 8 failed logins within about 7 s, no success. No data connection.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init bruteforce-local

topo_routed 203.0.113.66/24 203.0.113.1/24 198.51.100.1/24 198.51.100.10/24
home_reset
fix_mtimes
start_vsftpd srv </dev/null

capture_start srv s0
in_ns cli timeout 60 "$PYTHON" - <<'PY'
import ftplib, threading, time
guesses = ["123456", "password", "ftpuser", "admin", "letmein", "qwerty", "ftp123", "welcome1"]
errors = []

def task(pws):
    try:
        ftp = ftplib.FTP()
        ftp.connect("198.51.100.10", 21, timeout=15)
        for pw in pws:
            try:
                ftp.login("ftpuser", pw)
                errors.append("login with a wrong password succeeded?")
            except ftplib.error_perm as e:
                print(pw, "->", e, flush=True)
                if not str(e).startswith("530"):
                    errors.append("expected 530, got %s" % e)
        ftp.quit()
    except Exception as e:
        errors.append(repr(e))

threads = []
for i in range(0, len(guesses), 2):
    t = threading.Thread(target=task, args=(guesses[i:i + 2],))
    t.start()
    threads.append(t)
    time.sleep(0.2)
for t in threads:
    t.join()
if errors:
    raise SystemExit("; ".join(errors))
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
