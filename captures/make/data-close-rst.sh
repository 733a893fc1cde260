#!/usr/bin/env bash
# data-close-rst: healthy transfers whose data connection ends with a RST instead
# of a FIN, as clients that close their sockets abortively do (SO_LINGER 0:
# some Windows and Java clients). Client 10.1.0.2 (Python ftplib) -> vsftpd
# 10.1.0.1, passive:
#  1. RETR of 50000 bytes: the client reads to the server's FIN, then resets;
#     226 follows. Nothing failed.
#  2. LIST: the client reads the listing to the FIN, then resets; 226. Nothing
#     failed.
#  3. STOR of 30000 bytes: the client sends everything, then resets instead of
#     closing: vsftpd answers "426 Failure reading network stream." (a sender's
#     RST does not say that every byte it sent arrived; the server gives up).
# Captured on the client's interface.
source "$(dirname "$0")/lib.sh"
lab_init data-close-rst

topo_pair
home_reset
make_file "$LAB_HOME/get.bin" 50000 data-close-rst-get
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40111
pasv_max_port=40111
CONF

capture_start cli c0
in_ns cli "$PYTHON" - "$FTP_USER" "$FTP_PASS" <<'PY'
import ftplib, socket, struct, sys
user, pw = sys.argv[1:3]

def abortive(conn):
    # SO_LINGER on, 0 s: close() sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()

ftp = ftplib.FTP("10.1.0.1", timeout=10)
ftp.login(user, pw)
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR get.bin")
got = 0
while True:
    b = conn.recv(65536)
    if not b:
        break
    got += len(b)
abortive(conn)
print("RETR", got, ftp.voidresp())
ftp.voidcmd("TYPE A")
conn = ftp.transfercmd("LIST")
listing = b""
while True:
    b = conn.recv(65536)
    if not b:
        break
    listing += b
abortive(conn)
print("LIST", len(listing), ftp.voidresp())
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("STOR put.bin")
conn.sendall(bytes(range(256)) * 117 + bytes(48))
abortive(conn)
try:
    print("STOR", ftp.voidresp())
except ftplib.error_temp as e:
    print("STOR", e)
ftp.quit()
PY
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
