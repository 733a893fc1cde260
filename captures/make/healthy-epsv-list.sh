#!/usr/bin/env bash
# healthy-epsv-list: healthy extended-passive (EPSV) directory listings and a download with lftp.
# Server: vsftpd (10.1.0.1:21, passive port 40141). Client: lftp 4.9.2 (10.1.0.2):
# `ls archive` (EPSV + LIST), `nlist archive` (EPSV + NLST), then
# `get archive/report.bin` (81920 random bytes, EPSV + RETR), bye.
# Captured on the server's interface; saved as pcapng.
source "$(dirname "$0")/lib.sh"
lab_init healthy-epsv-list

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/archive/report.bin" 81920 healthy-epsv-list-report
for i in 1 2 3 4 5 6 7 8; do make_file "$LAB_HOME/archive/log-2024-0$i.bin" $((4096 * i)) "healthy-epsv-list-$i"; done
mkdir -p "$LAB_HOME/archive/old"
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40141
pasv_max_port=40141
CONF

capture_start srv s0
in_ns cli timeout 30 lftp -e "set net:timeout 5; set net:max-retries 1; set cmd:fail-exit yes;
    set xfer:clobber on; set ftp:passive-mode on; set ftp:prefer-epsv yes; set ftp:ssl-allow no;
    open -u $FTP_USER,$FTP_PASS ftp://10.1.0.1;
    ls archive; nlist archive; get archive/report.bin -o $TMPD/report.bin; bye" > "$TMPD/lftp.out"
capture_stop
cmp "$TMPD/report.bin" "$LAB_HOME/archive/report.bin"
capture_save pcapng
ftp_summary "$CAPTURE_FILE"
check_expect
