#!/usr/bin/env bash
# icmp-rejected-ipv6: the IPv6 twin of icmp-rejected, with ICMPv6 "destination
# unreachable" errors (type 1). Client 2001:db8:1::20 -> router 2001:db8:1::1 /
# 2001:db8:2::1 -> server host 2001:db8:2::10 and ::11. Two sessions:
#  1. curl (EPSV) -> vsftpd [2001:db8:2::10], passive port 40095, which the
#     router rejects (ip6tables REJECT --reject-with icmp6-adm-prohibited: the
#     error comes from the router's 2001:db8:1::1); the kernel sends the SYN
#     once more, rejected again, and curl gives up.
#  2. curl -> [2001:db8:2::11]:21, which the server host's firewall rejects
#     (ip6tables REJECT: ICMPv6 port unreachable): the control connection
#     (its SYN also sent twice).
# Captured on the client's interface.
source "$(dirname "$0")/lib.sh"
lab_init icmp-rejected-ipv6

ns_add cli; ns_add rtr; ns_add srv
ns_ipv6 cli; ns_ipv6 rtr; ns_ipv6 srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 2001:db8:1::20/64
addr rtr r0 2001:db8:1::1/64
addr rtr r1 2001:db8:2::1/64
addr srv s0 2001:db8:2::10/64
addr srv s0 2001:db8:2::11/64
route cli default via 2001:db8:1::1
route srv default via 2001:db8:2::1
fw6() { local n; n=$(ns "$1"); shift; ip netns exec "$n" ip6tables "$@"; }
fw6 rtr -A FORWARD -d 2001:db8:2::10 -p tcp --dport 40095 -j REJECT --reject-with icmp6-adm-prohibited
fw6 srv -A INPUT -d 2001:db8:2::11 -p tcp --dport 21 -j REJECT
home_reset
make_file "$LAB_HOME/wanted.bin" 20000 icmp-rejected-ipv6-file
fix_mtimes

start_vsftpd srv <<'CONF'
listen=NO
listen_ipv6=YES
pasv_min_port=40095
pasv_max_port=40095
CONF

capture_start cli c0
fetch() { # label, curl arguments...
    local label=$1 rc=0; shift
    in_ns cli curl -sS -g --max-time 20 --connect-timeout 5 -u "$FTP_USER:$FTP_PASS" "$@" -o "$TMPD/wanted.bin" || rc=$?
    log "$label: curl exit code $rc (expected to fail)"
    [ "$rc" != 0 ] || die "$label: transfer unexpectedly succeeded"
}
fetch "vsftpd, EPSV, router's REJECT" "ftp://[2001:db8:2::10]/wanted.bin"
fetch "control connection, port unreachable" "ftp://[2001:db8:2::11]/wanted.bin"
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
