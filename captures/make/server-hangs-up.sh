#!/usr/bin/env bash
# server-hangs-up: the server's session process dies during a session; the
# client's next command gets no reply at all (not even a 421).
# Server: vsftpd (10.1.0.1:21). Client: Python ftplib (10.1.0.2): login, PWD;
# then the session's two processes are killed (SIGKILL, as a crash or an OOM
# kill would end them): the kernel closes the control connection with a FIN; the
# client, not reading meanwhile, sends NOOP into it (answered by a TCP RST) and
# reads end of file instead of a reply.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init server-hangs-up

topo_pair 10.1.0.2 10.1.0.1
home_reset
fix_mtimes
start_vsftpd srv <<'CONF'
CONF

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY' &
import ftplib, time
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
print(ftp.pwd())
time.sleep(3)
try:
    print(ftp.voidcmd("NOOP"))
except (ftplib.Error, OSError, EOFError) as e:
    print("NOOP after the server died:", repr(e))
PY
client=$!
sleep 1.5
# The session is two processes: vsftpd's privileged parent (root, a child of
# the listener) and the logged-in child (ftpuser). Killed at once, neither says
# a word (the parent alone would answer "500 OOPS: child died").
listener=$(pgrep -o -x vsftpd) || die "no vsftpd"
session=$(pgrep -x vsftpd | grep -vx "$listener" | tr '\n' ' ')
[ -n "$session" ] || die "no vsftpd session process to kill"
kill -KILL $session
wait "$client" || true
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
