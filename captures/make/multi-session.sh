#!/usr/bin/env bash
# multi-session: four FTP sessions in one capture, two of them interleaved, with
# long multi-line replies (FEAT 211, HELP 214, STAT 211).
# Server: proftpd (10.1.0.1:21, PassivePorts 40031-40032). Clients:
#   sessions 1+2: Python ftplib from 10.1.0.2, two connections open at once:
#     session 1 uses PASV, session 2 uses EPSV; each sends FEAT, HELP, STAT, SYST,
#     then a LIST of /pub (session 1 first, then session 2), then QUIT.
#   session 3: lftp from 10.1.0.3 (EPSV): its own FEAT etc., quote HELP/STAT/SYST, ls, bye.
#   session 4: lftp from 10.1.0.4 with ftp:prefer-epsv off (PASV): the same.
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init multi-session

topo_pair 10.1.0.2 10.1.0.1
addr cli c0 10.1.0.3/24
addr cli c0 10.1.0.4/24
home_reset
for i in 1 2 3 4 5 6; do make_file "$LAB_HOME/pub/part-$i.bin" $((10000 * i)) "multi-session-$i"; done
make_text "$LAB_HOME/pub/index.txt" 25
fix_mtimes

start_proftpd srv <<'CONF'
PassivePorts 40031 40032
CONF

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - <<'PY'
import ftplib, socket
def open_session(epsv):
    ftp = ftplib.FTP()
    ftp.connect("10.1.0.1", 21, timeout=10, source_address=("10.1.0.2", 0))
    ftp.login("ftpuser", "s3cret-pass")
    if epsv:
        ftp.af = socket.AF_INET6   # makes ftplib use EPSV (it still connects over IPv4)
    return ftp
s1 = open_session(False)
s1.sendcmd("FEAT"); s1.sendcmd("HELP")
s2 = open_session(True)
s2.sendcmd("FEAT"); s2.sendcmd("HELP")
s1.sendcmd("STAT"); s2.sendcmd("STAT")
s1.sendcmd("SYST"); s2.sendcmd("SYST")
lines = []
s1.retrlines("LIST pub", lines.append)
s2.retrlines("LIST pub", lines.append)
print(len(lines), "listing lines")
s1.quit(); s2.quit()
PY
for src in 10.1.0.3 10.1.0.4; do
    epsv=on; [ "$src" = 10.1.0.4 ] && epsv=off
    in_ns cli timeout 30 lftp -e "set net:socket-bind-ipv4 $src; set ftp:prefer-epsv $epsv; set ftp:passive-mode on;
        set net:timeout 5; set net:max-retries 1; set cmd:fail-exit yes;
        open -u $FTP_USER,$FTP_PASS ftp://10.1.0.1;
        quote HELP; quote STAT; quote SYST; ls pub; bye" > "$TMPD/lftp-$src.out"
done
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
