#!/usr/bin/env bash
# nat-server-container: an FTP server in a container network, published on its
# host the way `docker run -p 21:21 -p 40000-40009:40000-40009` publishes it
# (one passive port, 40005, so that the capture is the same on every run):
# vsftpd in 172.17.0.2/16 (pasv_min_port=pasv_max_port=40005, no
# pasv_address), the host (router) 192.168.1.10 on the LAN with DNAT of port 21
# and of the passive range to the container, MASQUERADE outwards, and no way in
# for anything not published. The 227 announces 172.17.0.2, the container's own
# address, which the LAN cannot reach:
#   session 1: curl --no-ftp-skip-pasv-ip (uses the 227's address, as FileZilla,
#       lftp and Windows clients do): its SYNs to 172.17.0.2 go unanswered; curl
#       gives up after --connect-timeout 4.
#   session 2: plain curl (ignores the 227's address and connects to the
#       control address, 192.168.1.10, on the announced port): the listing comes.
# Captured on the client's interface (client 192.168.1.20).
# Then nat-server-container-unpublished.pcap: the same with only port 21
# published (`docker run -p 21:21`): curl (EPSV) connects to 192.168.1.10 on the
# announced port, the host answers RST; curl gives up.
source "$(dirname "$0")/lib.sh"
lab_init nat-server-container

ns_add cli; ns_add rtr; ns_add srv
ns_router rtr
link cli c0 rtr r1
link rtr r0 srv s0
addr cli c0 192.168.1.20/24
addr rtr r1 192.168.1.10/24
addr rtr r0 172.17.0.1/16
addr srv s0 172.17.0.2/16
route cli default via 192.168.1.10
route srv default via 172.17.0.1
fw rtr -t nat -A PREROUTING -i r1 -p tcp --dport 21 -j DNAT --to-destination 172.17.0.2:21
fw rtr -t nat -A PREROUTING -i r1 -p tcp --dport 40000:40009 -j DNAT --to-destination 172.17.0.2
fw rtr -t nat -A POSTROUTING -o r1 -s 172.17.0.0/16 -j MASQUERADE
fw rtr -P FORWARD DROP
fw rtr -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
fw rtr -A FORWARD -i r1 -o r0 -m conntrack --ctstate DNAT -j ACCEPT
fw rtr -A FORWARD -i r0 -o r1 -j ACCEPT

home_reset
make_text "$LAB_HOME/notes.txt" 20
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40005
pasv_max_port=40005
CONF

capture_start cli c0 client
rc=0
in_ns cli curl -sS --max-time 15 --connect-timeout 4 --no-ftp-skip-pasv-ip --disable-epsv \
    -u "$FTP_USER:$FTP_PASS" "ftp://192.168.1.10/" -o /dev/null || rc=$?
log "curl using the 227 address: exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "the listing unexpectedly came through 172.17.0.2"
sleep 0.3
in_ns cli curl -sS --max-time 15 --disable-epsv -u "$FTP_USER:$FTP_PASS" "ftp://192.168.1.10/" -o /dev/null
capture_stop client
capture_save pcap client nat-server-container
ftp_summary "$CAPTURE_FILE"
check_expect nat-server-container

# Only port 21 published: the passive range is not forwarded.
fw rtr -t nat -D PREROUTING -i r1 -p tcp --dport 40000:40009 -j DNAT --to-destination 172.17.0.2
capture_start cli c0 unpublished
rc=0
in_ns cli curl -sS --max-time 15 -u "$FTP_USER:$FTP_PASS" "ftp://192.168.1.10/notes.txt" -o /dev/null || rc=$?
log "curl with the passive range unpublished: exit code $rc (expected to fail)"
[ "$rc" != 0 ] || die "the download unexpectedly worked"
capture_stop unpublished
capture_save pcap unpublished nat-server-container-unpublished
ftp_summary "$CAPTURE_FILE"
check_expect nat-server-container-unpublished
