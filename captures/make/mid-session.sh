#!/usr/bin/env bash
# mid-session: the capture starts after the client has logged in.
# Server: pure-ftpd (10.1.0.1:21, passive port 40041). Client: Python ftplib
# (10.1.0.2) connects and logs in, then waits until tcpdump runs (a flag file);
# only then does it LIST /data (PASV), RETR /data/late.bin (262144 random bytes, PASV)
# and QUIT. The capture has no SYN, greeting, USER or PASS for the control connection.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init mid-session

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/data/late.bin" 262144 mid-session-file
make_file "$LAB_HOME/data/early.bin" 20480 mid-session-early
fix_mtimes

start_pureftpd srv -S 10.1.0.1,21 -p 40041:40041

cat > "$TMPD/client.py" <<'PY'
import ftplib, os, sys, time
go, out = sys.argv[1], sys.argv[2]
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
print("logged-in", flush=True)
for _ in range(200):              # wait for the capture to start (at most 20 s)
    if os.path.exists(go):
        break
    time.sleep(0.1)
lines = []
ftp.retrlines("LIST data", lines.append)
with open(out, "wb") as f:
    ftp.retrbinary("RETR data/late.bin", f.write)
ftp.quit()
print("done", len(lines), flush=True)
PY
bg_ns cli client timeout 30 "$PYTHON" "$TMPD/client.py" "$TMPD/go" "$TMPD/late.bin"
CLIENT_PID=$LAST_PID
for _ in $(seq 1 100); do grep -q logged-in "$TMPD/client.out" && break; sleep 0.1; done
grep -q logged-in "$TMPD/client.out" || die "client did not log in: $(cat "$TMPD/client.err")"
sleep 0.5
capture_start srv s0
touch "$TMPD/go"
wait "$CLIENT_PID" || die "client failed: $(cat "$TMPD/client.err")"
capture_stop
cmp "$TMPD/late.bin" "$LAB_HOME/data/late.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
