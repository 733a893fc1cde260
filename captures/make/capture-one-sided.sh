#!/usr/bin/env bash
# capture-one-sided: a healthy session captured in one direction only.
# Server: ProFTPD (10.1.0.1:21, passive ports 40206-40207). Client: lftp
# (10.1.0.2): login, `get report.bin` (30720 bytes over EPSV), bye.
# Captured on the server's interface with the filter `src host 10.1.0.2`, as a
# one-way tap would: only the client's packets (its commands, and its SYN and
# ACKs on the data connection) are in the capture; no greeting, no reply, no
# data bytes.
source "$(dirname "$0")/lib.sh"
lab_init capture-one-sided

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/report.bin" 30720 capture-one-sided-file
fix_mtimes
start_proftpd srv <<'CONF'
PassivePorts 40206 40207
CONF

capture_start srv s0 raw src host 10.1.0.2
in_ns cli timeout 30 lftp -e "set net:timeout 5; set net:max-retries 1; set cmd:fail-exit yes;
    set xfer:clobber on; set ftp:passive-mode on; set ftp:prefer-epsv yes; set ftp:ssl-allow no;
    open -u $FTP_USER,$FTP_PASS ftp://10.1.0.1;
    get report.bin -o $TMPD/report.bin; bye" > "$TMPD/lftp.out"
capture_stop
cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
capture_save pcap
n_srv=$(tshark -r "$CAPTURE_FILE" -Y "ip.src != 10.1.0.2" 2>/dev/null | wc -l)
[ "$n_srv" = 0 ] || die "$n_srv packets not from the client in the capture"
ftp_summary "$CAPTURE_FILE"
check_expect
