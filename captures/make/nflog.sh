#!/usr/bin/env bash
# nflog: a healthy EPSV session captured through the Linux netfilter log
# (iptables -j NFLOG, then tcpdump -i nflog:5): link type 239, where every packet
# sits inside a netfilter message, as captures taken on firewalls often are.
# Server: vsftpd (10.1.0.1:21, passive port 40011). Client: curl (10.1.0.2): LIST of
# /pub, then RETR of /pub/sample.bin (20000 random bytes) on one control connection.
# Logged in the server's namespace (INPUT and OUTPUT chains, TCP only).
source "$(dirname "$0")/lib.sh"
lab_init nflog

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/pub/sample.bin" 20000 nflog-sample
make_text "$LAB_HOME/pub/readme.txt" 10
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40011
pasv_max_port=40011
CONF

fw srv -A INPUT -p tcp -j NFLOG --nflog-group 5
fw srv -A OUTPUT -p tcp -j NFLOG --nflog-group 5
capture_start srv nflog:5
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1/pub/" -o "$TMPD/list.txt" \
    "ftp://10.1.0.1/pub/sample.bin" -o "$TMPD/sample.bin"
capture_stop
cmp "$TMPD/sample.bin" "$LAB_HOME/pub/sample.bin"
capture_save pcap
[ "$(tshark -r "$CAPTURE_FILE" -T fields -e frame.protocols -c 1 2>/dev/null | cut -d: -f1)" = nflog ] ||
    die "the capture is not NFLOG"
ftp_summary "$CAPTURE_FILE"
check_expect
