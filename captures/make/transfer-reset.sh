#!/usr/bin/env bash
# transfer-reset: a download whose data connection is reset mid-transfer.
# Client 198.51.100.20 (curl, EPSV) -> router -> server 203.0.113.10 (vsftpd,
# passive port 40202, local_max_rate=102400 so the 1048576-byte big.bin takes
# about 10 s; vsftpd sends it in 64 KiB bursts). About 1 s into the transfer,
# between two bursts, the router starts rejecting the client's packets on the
# data connection (`-p tcp --dport 40202 ! --tcp-flags
# RST RST -j REJECT --reject-with tcp-reset`): the client's next ACK is answered
# by an RST in the server's name, so the client's stack resets the connection
# (curl fails: "Recv failure: Connection reset by peer"). The server's next
# data segments reach the client, whose kernel answers them with RSTs (RSTs
# pass the rule), so vsftpd's write fails and it replies
# "426 Failure writing network stream." on the control connection.
# Captured on the client's interface. The byte count depends on timing.
source "$(dirname "$0")/lib.sh"
lab_init transfer-reset

topo_routed 198.51.100.20/24 198.51.100.1/24 203.0.113.1/24 203.0.113.10/24
home_reset
make_file "$LAB_HOME/big.bin" 1048576 transfer-reset-file
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40202
pasv_max_port=40202
local_max_rate=102400
CONF

capture_start cli c0
bg_ns cli curl curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" \
    "ftp://203.0.113.10/big.bin" -o "$TMPD/big.part"
CURL_PID=$LAST_PID
sleep 1.0
fw rtr -I FORWARD -p tcp --dport 40202 ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset
rc=0
wait "$CURL_PID" || rc=$?
log "curl exit code $rc (expected to fail): $(cat "$TMPD/curl.err")"
[ "$rc" != 0 ] || die "transfer unexpectedly succeeded"
sleep 1
capture_stop
log "partial file: $(stat -c %s "$TMPD/big.part" 2>/dev/null || echo none) bytes"
grep -h 'FTP response' "$TMPD/vsftpd.log" | tail -3 >&2 || true
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
