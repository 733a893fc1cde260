#!/usr/bin/env bash
# nat-server-private: a server behind NAT announces its private address in 227.
# Client 198.51.100.20 (curl --disable-epsv --no-ftp-skip-pasv-ip --connect-timeout 4)
# connects to 203.0.113.7:21, which the router DNATs to the server 10.0.0.5:21
# (vsftpd, passive port 40081, no pasv_address set). The 227 reply announces
# 10,0,0,5 (10.0.0.5:40081); curl, told to use the announced address, sends its
# SYN to 10.0.0.5, which the router does not forward (it forwards only DNAT'd and
# established flows), so the SYN goes unanswered and curl gives up after 4 s.
# Captured on the client's side of the router (client interface c0).
source "$(dirname "$0")/lib.sh"
lab_init nat-server-private

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 198.51.100.20/24
addr rtr r0 198.51.100.1/24
addr rtr r0 203.0.113.7/32          # the server's public address, owned by the router
addr rtr r1 10.0.0.1/24
addr srv s0 10.0.0.5/24
route cli default via 198.51.100.1
route srv default via 10.0.0.1
fw rtr -t nat -A PREROUTING -i r0 -d 203.0.113.7 -p tcp --dport 21 -j DNAT --to-destination 10.0.0.5:21
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate DNAT -j ACCEPT

home_reset
make_file "$LAB_HOME/behind-nat.bin" 40960 nat-server-private-file
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40081
pasv_max_port=40081
CONF

capture_start cli c0
rc=0
in_ns cli curl -sS --max-time 20 --connect-timeout 4 --disable-epsv --no-ftp-skip-pasv-ip \
    -u "$FTP_USER:$FTP_PASS" "ftp://203.0.113.7/behind-nat.bin" -o "$TMPD/behind-nat.bin" || rc=$?
log "curl exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
