#!/usr/bin/env bash
# aborted-download: a download aborted mid-transfer with ABOR.
# Server: vsftpd with async_abor_enable=YES and local_max_rate=204800 (200 KiB/s,
# so the transfer is slow), 10.1.0.1:21, passive port 40111. Client: tnftp
# (10.1.0.2) starts `get big.bin` (1572864 random bytes); after 1.5 s the script
# sends tnftp SIGINT, so tnftp sends Telnet IP/Synch (urgent) + ABOR; the server
# answers 426 then 226; tnftp then sends QUIT.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init aborted-download

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/big.bin" 1572864 aborted-download-file
fix_mtimes

start_vsftpd srv <<'CONF'
pasv_min_port=40111
pasv_max_port=40111
async_abor_enable=YES
local_max_rate=204800
CONF

cat > "$TMPD/cmds" <<CMDS
user $FTP_USER $FTP_PASS
binary
get big.bin $TMPD/big.part
bye
CMDS
capture_start srv s0
ip netns exec "$(ns cli)" tnftp -n -v 10.1.0.1 < "$TMPD/cmds" > "$TMPD/tnftp.out" 2> "$TMPD/tnftp.err" &
FTP_PID=$!
echo "$FTP_PID" >> "$TMPD/.pids"
sleep 1.5
kill -INT "$FTP_PID"     # one SIGINT: tnftp aborts the transfer (not wrapped in `timeout`,
                         # which would deliver the signal twice)
for _ in $(seq 1 200); do kill -0 "$FTP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$FTP_PID" 2>/dev/null && { kill -9 "$FTP_PID"; die "tnftp did not finish"; }
wait "$FTP_PID" || log "tnftp exit code $?"
capture_stop
cat "$TMPD/tnftp.out" "$TMPD/tnftp.err" >&2
log "partial file: $(stat -c %s "$TMPD/big.part" 2>/dev/null || echo none) bytes"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
