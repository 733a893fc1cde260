#!/usr/bin/env bash
# icmp-rejected: connections refused by an ICMP "destination unreachable" error
# rather than a RST, as iptables' REJECT does by default and firewalld's rules do
# (icmp-host-prohibited, icmp-admin-prohibited). Client 198.51.100.20 -> router
# 198.51.100.1 / 203.0.113.1 -> server host 203.0.113.10-.13. Four sessions:
#  1. curl --disable-epsv -> vsftpd 203.0.113.10, passive port 40091, which the
#     server's own firewall rejects (REJECT: ICMP port unreachable from the server);
#     curl: "Connection refused".
#  2. curl (EPSV) -> pure-ftpd 203.0.113.11, passive port 40092, which the router
#     rejects (REJECT --reject-with icmp-admin-prohibited: the error comes from the
#     router's 198.51.100.1); curl: "No route to host".
#  3. curl --ftp-port 198.51.100.20:50094 (active) -> ProFTPD 203.0.113.12: the
#     client's own firewall rejects the server's data connection (ICMP port
#     unreachable from the client); ProFTPD answers 425.
#  4. curl -> 203.0.113.13:21, which the server host rejects with
#     icmp-host-prohibited (firewalld's classic rule): the control connection
#     itself; curl: "No route to host".
# Captured on the client's interface.
source "$(dirname "$0")/lib.sh"
lab_init icmp-rejected

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
addr srv s0 203.0.113.11/24
addr srv s0 203.0.113.12/24
addr srv s0 203.0.113.13/24
fw srv -A INPUT -d 203.0.113.10 -p tcp --dport 40091 -j REJECT
fw rtr -A FORWARD -d 203.0.113.11 -p tcp --dport 40092 -j REJECT --reject-with icmp-admin-prohibited
fw cli -A INPUT -p tcp --dport 50094 -j REJECT
fw srv -A INPUT -d 203.0.113.13 -p tcp --dport 21 -j REJECT --reject-with icmp-host-prohibited
home_reset
make_file "$LAB_HOME/wanted.bin" 20000 icmp-rejected-file
fix_mtimes

start_vsftpd srv <<'CONF'
listen_address=203.0.113.10
pasv_min_port=40091
pasv_max_port=40091
CONF
start_pureftpd srv -S 203.0.113.11,21 -p 40092:40092
start_proftpd srv <<'CONF'
DefaultAddress 203.0.113.12
SocketBindTight on
CONF

capture_start cli c0
fetch() { # label, curl arguments...
    local label=$1 rc=0; shift
    in_ns cli curl -sS --max-time 20 --connect-timeout 5 -u "$FTP_USER:$FTP_PASS" "$@" -o "$TMPD/wanted.bin" || rc=$?
    log "$label: curl exit code $rc (expected to fail)"
    [ "$rc" != 0 ] || die "$label: transfer unexpectedly succeeded"
}
fetch "vsftpd, passive, server's REJECT" --disable-epsv "ftp://203.0.113.10/wanted.bin"
fetch "pure-ftpd, EPSV, router's REJECT" "ftp://203.0.113.11/wanted.bin"
fetch "ProFTPD, active, client's REJECT" --ftp-port 198.51.100.20:50094 --disable-eprt "ftp://203.0.113.12/wanted.bin"
fetch "control connection, host-prohibited" "ftp://203.0.113.13/wanted.bin"
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
