#!/usr/bin/env bash
# nat-client-active: an active-mode (PORT) client behind NAT announces its private address.
# Client 10.0.1.10 (curl --ftp-port 10.0.1.10:50091 --disable-eprt) -> router
# (MASQUERADE to its public address 203.0.113.1) -> server 198.51.100.5 (vsftpd
# with port_promiscuous=YES, so it accepts a PORT naming an address other than the
# control connection's peer, and connect_timeout=4). PORT announces 10,0,1,10,...;
# the server's SYN to 10.0.1.10:50091 reaches the router, which drops it (it
# forwards inward only established/related flows), so the server gives up after
# 4 s and answers RETR with 425; curl quits.
# Two captures of the same run:
#   nat-client-active-client-side.pcap: on the client's interface (client 10.0.1.10)
#   nat-client-active-server-side.pcap: on the server's interface (client seen as 203.0.113.1)
source "$(dirname "$0")/lib.sh"
lab_init nat-client-active

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 10.0.1.10/24
addr rtr r0 10.0.1.1/24
addr rtr r1 203.0.113.1/24          # the router's public address (used by MASQUERADE)
addr srv s0 198.51.100.5/24
route cli default via 10.0.1.1
# The server's network and the router's public address share the link (on-link routes).
route rtr 198.51.100.5/32 dev r1
route srv 203.0.113.1/32 dev s0
route srv default via 203.0.113.1 dev s0
fw rtr -t nat -A POSTROUTING -o r1 -s 10.0.1.0/24 -j MASQUERADE
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

home_reset
make_file "$LAB_HOME/wanted.bin" 81920 nat-client-active-file
fix_mtimes

start_vsftpd srv <<'CONF'
port_promiscuous=YES
connect_timeout=4
CONF

capture_start cli c0 client
capture_start srv s0 server
rc=0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port 10.0.1.10:50091 --disable-eprt \
    "ftp://198.51.100.5/wanted.bin" -o "$TMPD/wanted.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
capture_stop client
capture_stop server
capture_save pcap client nat-client-active-client-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-client-active-client-side
capture_save pcap server nat-client-active-server-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-client-active-server-side
