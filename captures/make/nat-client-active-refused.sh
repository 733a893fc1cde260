#!/usr/bin/env bash
# nat-client-active-refused: an active-mode (PORT) client behind a home router's
# NAT that does not rewrite FTP (no nf_nat_ftp helper), seen from the client's
# side, against two servers that refuse a PORT naming another address than the
# one they see, as they do by default. Client 10.0.1.10 -> router (MASQUERADE to
# its public address 203.0.113.1) -> servers:
#   198.51.100.5: vsftpd (port_promiscuous=NO): "500 Illegal PORT command."
#   198.51.100.6: pure-ftpd: "500 I won't open a connection to 10.0.1.10 (only to
#                 203.0.113.1)"
#   198.51.100.7: ProFTPD 1.3.8: accepts a PORT naming a private address from a
#                 client it sees at a public one ("200 PORT command successful")
#                 and connects to the control connection's address instead
#                 (203.0.113.1, the router, which resets it: seen on a server-side
#                 capture of this run, not kept): "425 Unable to build data
#                 connection: Connection refused"
# curl --ftp-port 10.0.1.10:PORT --disable-eprt gives up after each refusal (the
# first two); Python's ftplib in active mode (set_pasv(False)) against ProFTPD
# raises the 425 and leaves with QUIT.
# Two captures of the same run:
#   nat-client-active-refused.pcap: on the client's interface (the NAT is not in
#     the capture, only the private address, the public servers and their words)
#   nat-client-active-refused-server-side.pcap: on the servers' interface (the
#     client seen as 203.0.113.1; ProFTPD's connection to it and the router's RST)
source "$(dirname "$0")/lib.sh"
lab_init nat-client-active-refused

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 10.0.1.10/24
addr rtr r0 10.0.1.1/24
addr rtr r1 203.0.113.1/24
addr srv s0 198.51.100.5/24
addr srv s0 198.51.100.6/24
addr srv s0 198.51.100.7/24
route cli default via 10.0.1.1
route rtr 198.51.100.0/24 dev r1
route srv 203.0.113.1/32 dev s0
route srv default via 203.0.113.1 dev s0
fw rtr -t nat -A POSTROUTING -o r1 -s 10.0.1.0/24 -j MASQUERADE
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

home_reset
make_file "$LAB_HOME/wanted.bin" 20000 nat-client-active-refused-file
fix_mtimes

start_vsftpd srv <<'CONF'
listen_address=198.51.100.5
connect_timeout=4
CONF
start_pureftpd srv -S 198.51.100.6,21
start_proftpd srv <<'CONF'
DefaultAddress 198.51.100.7
SocketBindTight on
CONF

capture_start cli c0 client
capture_start srv s0 server
for target in 198.51.100.5:50091 198.51.100.6:50092; do
    host=${target%:*} port=${target#*:}
    rc=0
    in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port "10.0.1.10:$port" --disable-eprt \
        "ftp://$host/wanted.bin" -o "$TMPD/wanted.bin" || rc=$?
    log "curl to $host: exit code $rc (expected to fail)"
    [ "$rc" != 0 ] || die "transfer from $host unexpectedly succeeded"
done
rc=0
in_ns cli "$PYTHON" - <<PY || rc=$?
import ftplib, socket

class FTP(ftplib.FTP):
    # ftplib's own active-mode port, on a fixed port number so that the
    # expectation can name it (ftplib would take any free one).
    def makeport(self):
        sock = socket.create_server(("10.0.1.10", 50093), family=socket.AF_INET, backlog=1)
        self.sendport("10.0.1.10", 50093)
        sock.settimeout(self.timeout)
        return sock

with FTP("198.51.100.7", timeout=10) as f:
    f.login("$FTP_USER", "$FTP_PASS")
    f.set_pasv(False)
    try:
        f.retrbinary("RETR wanted.bin", lambda b: None)
    except ftplib.all_errors as e:
        print("ftplib:", e)
        raise SystemExit(1)
PY
log "ftplib to 198.51.100.7: exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer from 198.51.100.7 unexpectedly succeeded"
capture_stop client
capture_stop server
capture_save pcap client
ftp_summary "$CAPTURE_FILE"
check_expect
capture_save pcap server nat-client-active-refused-server-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-client-active-refused-server-side
