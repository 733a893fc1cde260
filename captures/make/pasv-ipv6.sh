#!/usr/bin/env bash
# pasv-ipv6: a client sending PASV on an IPv6 control connection. A 227 reply
# carries only an IPv4 address (RFC 2428 gives EPSV for IPv6), so servers answer
# it their own way. Two captures (client 2001:db8:1::2, server 2001:db8:1::1),
# a client that knows only PASV listing the root directory. curl and lftp use
# EPSV on IPv6 whatever they are told, so the client is Python's ftplib made to
# behave like an IPv4-only client (its address family set to AF_INET, so it
# sends PASV):
#   pasv-ipv6-vsftpd:   vsftpd answers "227 Entering Passive Mode (0,0,0,0,p1,p2)";
#                       ftplib ignores the 227's address (as curl does) and
#                       connects to the control address with its port, so the
#                       listing works.
#   pasv-ipv6-pureftpd: pure-ftpd answers "425 You cannot use PASV on IPv6
#                       connections. Use EPSV instead."; the client gives up.
#   pasv-ipv6-proftpd:  ProFTPD answers a malformed "227 Entering Passive Mode
#                       (1,135,147)." (three numbers); ftplib cannot parse it and
#                       gives up.
# Captured on the server's interface.
# Usage: pasv-ipv6.sh [CASE...]   (default: both)
source "$(dirname "$0")/lib.sh"
lab_init pasv-ipv6

ns_add cli; ns_add srv
ns_ipv6 cli; ns_ipv6 srv
link cli c0 srv s0
addr cli c0 2001:db8:1::2/64
addr srv s0 2001:db8:1::1/64
home_reset
make_file "$LAB_HOME/v6.bin" 3000 pasv-ipv6-file
fix_mtimes

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; sleep 0.2; }
CASES=${*:-"pasv-ipv6-vsftpd pasv-ipv6-pureftpd pasv-ipv6-proftpd"}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
list() {
    in_ns cli timeout 20 "$PYTHON" - "$FTP_USER" "$FTP_PASS" <<'PY'
import ftplib, socket, sys
ftp = ftplib.FTP()
ftp.connect("2001:db8:1::1", 21, timeout=10)
ftp.af = socket.AF_INET  # an IPv4-only client: PASV, never EPSV
ftp.login(sys.argv[1], sys.argv[2])
try:
    ftp.retrlines("LIST")
except (*ftplib.all_errors, ValueError) as e:
    print("LIST failed:", e)
ftp.quit()
PY
}

if want pasv-ipv6-vsftpd; then
start_vsftpd srv <<'CONF'
listen=NO
listen_ipv6=YES
CONF
capture_start srv s0 vs
list
capture_stop vs
capture_save pcap vs pasv-ipv6-vsftpd
check_expect pasv-ipv6-vsftpd
stop_server
fi

if want pasv-ipv6-pureftpd; then
start_pureftpd srv -p 40990:40999
capture_start srv s0 pure
list
capture_stop pure
capture_save pcap pure pasv-ipv6-pureftpd
check_expect pasv-ipv6-pureftpd
stop_server
fi

if want pasv-ipv6-proftpd; then
start_proftpd srv <<'CONF'
UseIPv6 on
CONF
capture_start srv s0 prof
list
capture_stop prof
capture_save pcap prof pasv-ipv6-proftpd
check_expect pasv-ipv6-proftpd
stop_server
fi
