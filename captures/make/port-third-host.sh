#!/usr/bin/env bash
# port-third-host: PORT naming a third host (FXP-style), refused by one server and
# accepted by another.
# Namespaces: client 10.1.0.2 (cli) -- server namespace (srv: 10.1.0.1 and 10.1.0.11
# on s0; 10.1.2.1 on s1) -- third host 10.1.2.3 (oth), listening on port 50020.
#   session 1: Python ftplib -> vsftpd on 10.1.0.1:21: login, PORT 10,1,2,3,195,100
#              (10.1.2.3:50020) -> "500 Illegal PORT command.", QUIT.
#   session 2: Python ftplib -> pure-ftpd -w (FXP allowed) on 10.1.0.11:21: login,
#              TYPE I, the same PORT -> accepted, RETR fxp.bin (45056 random bytes):
#              the server connects to the third host 10.1.2.3:50020 and sends the file there;
#              QUIT.
# Captured with `tcpdump -i any` in the server namespace (both of its interfaces),
# so the link type is Linux cooked v2 (SLL2).
source "$(dirname "$0")/lib.sh"
lab_init port-third-host

ns_add cli; ns_add srv; ns_add oth
link cli c0 srv s0
link srv s1 oth o0
addr cli c0 10.1.0.2/24
addr srv s0 10.1.0.1/24
addr srv s0 10.1.0.11/24
addr srv s1 10.1.2.1/24
addr oth o0 10.1.2.3/24
route oth 10.1.0.0/24 via 10.1.2.1
home_reset
make_file "$LAB_HOME/fxp.bin" 45056 port-third-host-file
fix_mtimes

start_vsftpd srv <<'CONF'
listen_address=10.1.0.1
CONF
start_pureftpd srv -S 10.1.0.11,21 -w

cat > "$TMPD/sink.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.1.2.3", 50020)); s.listen(1); s.settimeout(25)
print("listening", flush=True)
c, peer = s.accept()
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
print(f"received {n} bytes from {peer[0]}:{peer[1]}", flush=True)
PY
bg_ns oth sink "$PYTHON" "$TMPD/sink.py"
SINK_PID=$LAST_PID
wait_listen oth 50020

capture_start srv any
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib
for host, expect_ok in (("10.1.0.1", False), ("10.1.0.11", True)):
    ftp = ftplib.FTP()
    ftp.connect(host, 21, timeout=10)
    ftp.login("ftpuser", "s3cret-pass")
    if expect_ok:
        ftp.voidcmd("TYPE I")
    try:
        print(host, "PORT:", ftp.sendcmd("PORT 10,1,2,3,195,100"))
        if expect_ok:
            print(host, ftp.sendcmd("RETR fxp.bin"))
            print(host, ftp.voidresp())
    except ftplib.error_perm as e:
        print(host, "refused:", e)
    print(host, ftp.quit())
PY
wait "$SINK_PID" || true
cat "$TMPD/sink.out" >&2
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
