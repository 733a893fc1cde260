#!/usr/bin/env bash
# nat-pool-bad-ip: the client's NAT sends the data connection out from another
# public address than the control connection (per-connection load balancing over
# two uplinks, or a NAT pool that does not keep a client on one address), and the
# server refuses it: vsftpd (pasv_promiscuous=NO, its default) answers
# "425 Security: Bad IP connecting." although the data connection was made.
# Client 10.0.1.10 (curl, EPSV) -> router (control connections, port 21, leave
# as 203.0.113.1; everything else as 203.0.113.2) -> server 198.51.100.5 (vsftpd).
# Two captures of the same run:
#   nat-pool-bad-ip-client-side.pcap: on the client's interface (one address)
#   nat-pool-bad-ip-server-side.pcap: on the server's interface (control from
#   203.0.113.1, data from 203.0.113.2)
source "$(dirname "$0")/lib.sh"
lab_init nat-pool-bad-ip

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 10.0.1.10/24
addr rtr r0 10.0.1.1/24
addr rtr r1 203.0.113.1/24          # the two public addresses
addr rtr r1 203.0.113.2/24
addr srv s0 198.51.100.5/24
route cli default via 10.0.1.1
route rtr 198.51.100.5/32 dev r1
route srv 203.0.113.0/24 dev s0
fw rtr -t nat -A POSTROUTING -o r1 -s 10.0.1.0/24 -p tcp --dport 21 -j SNAT --to-source 203.0.113.1
fw rtr -t nat -A POSTROUTING -o r1 -s 10.0.1.0/24 -j SNAT --to-source 203.0.113.2
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT

home_reset
make_file "$LAB_HOME/wanted.bin" 81920 nat-pool-bad-ip-file
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40000
pasv_max_port=40009
CONF

capture_start cli c0 client
capture_start srv s0 server
rc=0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" \
    "ftp://198.51.100.5/wanted.bin" -o "$TMPD/wanted.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
capture_stop client
capture_stop server
capture_save pcap client nat-pool-bad-ip-client-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-pool-bad-ip-client-side
capture_save pcap server nat-pool-bad-ip-server-side
ftp_summary "$CAPTURE_FILE"
check_expect nat-pool-bad-ip-server-side
