#!/usr/bin/env bash
# epsv-refused-fallback: EPSV is refused, the client falls back to PASV.
# Server: proftpd with `<Limit EPSV> DenyAll` (10.1.0.1:21, PassivePorts 40121-40122).
# Client: curl (10.1.0.2) downloads fallback.bin (122880 random bytes): its EPSV
# gets an error reply, curl then sends PASV and the download completes.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init epsv-refused-fallback

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/fallback.bin" 122880 epsv-refused-fallback-file
fix_mtimes

start_proftpd srv <<'CONF'
PassivePorts 40121 40122
<Limit EPSV>
  DenyAll
</Limit>
CONF

capture_start srv s0
in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" "ftp://10.1.0.1/fallback.bin" -o "$TMPD/fallback.bin"
capture_stop
cmp "$TMPD/fallback.bin" "$LAB_HOME/fallback.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
