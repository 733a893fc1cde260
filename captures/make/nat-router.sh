#!/usr/bin/env bash
# nat-router: an active-mode (PORT) client behind NAT, captured ON THE NAT ROUTER
# (tcpdump -i any: every packet is seen twice, inside and outside), the capture
# class "one connection seen from two sides of a NAT".
# Usage: nat-router.sh [no-alg|alg]   (both when no argument)
#   no-alg -> captures/nat-router-no-alg.pcap: plain MASQUERADE; PORT leaves the
#             router with the private address 10.0.1.10 unchanged, the server's
#             SYN back is dropped, RETR gets 425.
#   alg    -> captures/nat-router-alg.pcap: the kernel's FTP helper on the
#             router's control connection (raw-table CT --helper ftp); PORT is
#             rewritten to the router's public address 203.0.113.1, the server's
#             connection back is RELATED and translated in: the transfer works.
# Client 10.0.1.10 (curl --ftp-port 10.0.1.10:50091 --disable-eprt) -> router
# (10.0.1.1 | 203.0.113.1) -> server 198.51.100.5 (vsftpd, port_promiscuous=YES,
# connect_timeout=4).
set -euo pipefail
if [ $# -eq 0 ]; then
    "$0" no-alg
    exec "$0" alg
fi
variant=$1
source "$(dirname "$0")/lib.sh"
lab_init "nat-router-$variant"

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r0
link rtr r1 srv s0
addr cli c0 10.0.1.10/24
addr rtr r0 10.0.1.1/24
addr rtr r1 203.0.113.1/24
addr srv s0 198.51.100.5/24
route cli default via 10.0.1.1
route rtr 198.51.100.5/32 dev r1
route srv 203.0.113.1/32 dev s0
route srv default via 203.0.113.1 dev s0
fw rtr -t nat -A POSTROUTING -o r1 -s 10.0.1.0/24 -j MASQUERADE
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
if [ "$variant" = alg ]; then
    fw rtr -t raw -A PREROUTING -i r0 -p tcp --dport 21 -j CT --helper ftp
fi

home_reset
make_file "$LAB_HOME/wanted.bin" 8192 nat-router-file
fix_mtimes

start_vsftpd srv <<'CONF'
port_promiscuous=YES
connect_timeout=4
CONF

capture_start rtr any router
rc=0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" --ftp-port 10.0.1.10:50091 --disable-eprt \
    "ftp://198.51.100.5/wanted.bin" -o "$TMPD/wanted.bin" || rc=$?
log "curl exit code $rc"
if [ "$variant" = alg ]; then
    [ "$rc" = 0 ] || die "the transfer through the FTP helper failed"
else
    [ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
fi
capture_stop router
capture_save pcap router "nat-router-$variant"
ftp_summary "$CAPTURE_FILE"
check_expect "nat-router-$variant"
