#!/usr/bin/env bash
# client-stopped: the client stops reading a download midway and closes its end of
# the data connection without ABOR (a program cancelled, a size or time limit):
# Python ftplib's RETR callback raises after ~20 kB of a 3 MB file, ftplib closes
# the data socket with unread bytes (the kernel resets it), then reads the
# server's "426 Failure writing network stream." and quits.
# Server: vsftpd (10.1.0.1:21), client 10.1.0.2. Captured on the server's
# interface (whole packets: tests/extract.rs compares with tshark's export).
source "$(dirname "$0")/lib.sh"
lab_init client-stopped

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/big.bin" 3000000 client-stopped-file
fix_mtimes

start_vsftpd srv </dev/null
capture_start srv s0
in_ns cli timeout 20 "$PYTHON" - "$FTP_USER" "$FTP_PASS" <<'PY'
import ftplib, sys
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login(sys.argv[1], sys.argv[2])
got = 0
class Stop(Exception):
    pass
def take(block):
    global got
    got += len(block)
    if got > 20000:
        raise Stop()
try:
    ftp.retrbinary("RETR big.bin", take)
except Stop:
    print("stopped after", got)
try:
    print(ftp.getresp())
except ftplib.all_errors as e:
    print("then:", e)
ftp.quit()
PY
capture_stop
capture_save pcap
check_expect
