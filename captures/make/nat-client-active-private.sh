#!/usr/bin/env bash
# nat-client-active-private: an active-mode (PORT) client in a container network
# behind a NAT between two private networks, the way Docker's default bridge
# sits behind its host: client 172.17.0.2 (curl --ftp-port 172.17.0.2:50091
# --disable-eprt) -> router (MASQUERADE to its LAN address 192.168.1.5) -> server
# 192.168.1.10 (vsftpd, default port_promiscuous=NO). The server sees the client
# as 192.168.1.5 while PORT names 172.17.0.2: vsftpd answers "500 Illegal PORT
# command." and curl gives up. Two captures of the same run:
#   nat-client-active-private.pcap: on the server's interface (client seen as 192.168.1.5)
#   nat-client-active-private-client-side.pcap: on the client's interface (PORT
#     names the client's own address; the NAT is not in the capture)
source "$(dirname "$0")/lib.sh"
lab_init nat-client-active-private

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 172.17.0.2/16
addr rtr r0 172.17.0.1/16
addr rtr r1 192.168.1.5/24
addr srv s0 192.168.1.10/24
route cli default via 172.17.0.1
fw rtr -t nat -A POSTROUTING -o r1 -s 172.17.0.0/16 -j MASQUERADE
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

home_reset
make_file "$LAB_HOME/wanted.bin" 20000 nat-client-active-private-file
fix_mtimes

start_vsftpd srv <<'CONF'
connect_timeout=4
CONF

capture_start cli c0 client
capture_start srv s0 server
rc=0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port 172.17.0.2:50091 --disable-eprt \
    "ftp://192.168.1.10/wanted.bin" -o "$TMPD/wanted.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
capture_stop client
capture_stop server
capture_save pcap server nat-client-active-private
ftp_summary "$CAPTURE_FILE"
check_expect nat-client-active-private
capture_save pcap client nat-client-active-private-client-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-client-active-private-client-side
