#!/usr/bin/env bash
# slow-greeting-dns: the classic "the FTP login prompt takes seconds": ProFTPD
# with UseReverseDNS on looks up the client's address before greeting, and its
# name server never answers. The server's namespace gets its own resolv.conf
# (/etc/netns/NAME/resolv.conf, which `ip netns exec` puts over /etc/resolv.conf)
# naming the client's address as name server, with one try of 5 s; the client
# drops DNS queries silently. The greeting comes 5 s after the connection; the
# server's unanswered DNS query is in the capture.
# Server: ProFTPD (10.1.0.1:21). Client: curl (10.1.0.2), a download of a small
# file. Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init slow-greeting-dns

# The lab's ProFTPD config turns reverse lookups off; this scenario needs them on.
eval "$(declare -f start_proftpd | sed 's/UseReverseDNS       off/UseReverseDNS       on/')"

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/report.bin" 2000 slow-greeting-file
fix_mtimes

NETNS_ETC=/etc/netns/$(ns srv)
mkdir -p "$NETNS_ETC"
printf 'nameserver 10.1.0.2\noptions timeout:5 attempts:1\n' > "$NETNS_ETC/resolv.conf"
in_ns cli iptables -A INPUT -p udp --dport 53 -j DROP

start_proftpd srv </dev/null
grep -q "UseReverseDNS       on" "$TMPD/proftpd.conf" || die "UseReverseDNS not turned on"
capture_start srv s0
in_ns cli curl -sS --max-time 30 -o "$TMPD/report.bin" "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin"
capture_stop
rm -rf "$NETNS_ETC"
cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
capture_save pcap
check_expect
