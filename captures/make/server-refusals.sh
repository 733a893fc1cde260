#!/usr/bin/env bash
# server-refusals: a server configured so that it refuses what the user asks,
# each the way a real vsftpd says it. One capture per case:
#   chroot-writable-oops: chroot_local_user=YES with a writable home and
#       allow_writeable_chroot=NO; vsftpd answers the PASS with
#       "500 OOPS: vsftpd: refusing to run with writable root inside chroot()"
#       and closes the connection (curl, passive download).
#   login-requires-tls: ssl_enable=YES, force_local_logins_ssl=YES; a client
#       without TLS gets "530 Non-anonymous sessions must use encryption."
#       (curl without --ssl-reqd).
#   login-requires-tls-retries: the same server; curl without TLS tried six
#       times, 0.2 s apart (a scheduled job retrying): six refusals for want of
#       TLS from one client, which are no password guessing.
#   upload-write-disabled: write_enable=NO; STOR gets "550 Permission denied."
#       (curl -T, passive).
#   too-many-connections: max_per_ip=1; a second control connection from the same
#       client while the first is logged in gets "421 There are too many
#       connections from your internet address." (Python ftplib, two sessions).
#   login-requires-tls-proftpd: ProFTPD mod_tls with TLSRequired on; curl without
#       TLS gets "550 SSL/TLS required on the control channel" to USER.
#   login-requires-tls-pureftpd: pure-ftpd -Y 2; curl without TLS gets a 421
#       "Sorry, cleartext sessions and weak ciphers are not accepted", then
#       "421 Logout." (curl waits for the 421's end until --max-time).
#   passive-disabled: pasv_enable=NO; curl's EPSV and PASV both get "550
#       Permission denied." and curl gives up (exit 13).
#   active-disabled: port_enable=NO; curl --ftp-port --disable-eprt: PORT gets
#       "550 Permission denied.".
#   user-blocked: userlist_enable=YES, userlist_deny=YES with ftpuser listed:
#       vsftpd answers USER itself with "530 Permission denied." (no password
#       asked); then an anonymous login (anonymous_enable=NO) gets "530 Login
#       incorrect." after its PASS (curl, two sessions).
#   tls-not-offered: vsftpd without TLS (ssl_enable=NO) answers AUTH SSL and AUTH
#       TLS with "530 Please login with USER and PASS."; curl --ssl-reqd gives up
#       (exit 64, session 1); curl --ssl goes on in clear (session 2).
#   home-missing-oops: local_root names a directory that does not exist: vsftpd
#       answers PASS with "500 OOPS: cannot change directory:..." (curl).
#   passive-ports-busy: pure-ftpd with a passive range of one port (-p
#       40990:40990); Python ftplib logs in twice, the first session's PASV takes
#       the port, the second's PASV and EPSV get "425 All reserved TCP ports are
#       busy".
#   upload-disk-full, upload-disk-full-pureftpd: the upload directory is a 16 KiB
#       tmpfs; curl -T of 64 KiB: vsftpd answers "451 Failure writing to local
#       file.", pure-ftpd "451-Error during write to file", each after resetting
#       the data connection.
# Server: vsftpd unless named (10.1.0.1:21). Captured on the server's interface.
# Usage: server-refusals.sh [CASE...]   (default: every case)
source "$(dirname "$0")/lib.sh"
lab_init server-refusals

topo_pair 10.1.0.2 10.1.0.1
umount -q "$LAB_HOME/small" 2>/dev/null || true
home_reset
make_file "$LAB_HOME/report.bin" 20000
make_text "$LAB_HOME/notes.txt" 20
fix_mtimes

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; sleep 0.2; }
CASES=${*:-"chroot-writable-oops login-requires-tls login-requires-tls-retries upload-write-disabled too-many-connections login-requires-tls-proftpd login-requires-tls-pureftpd passive-disabled active-disabled upload-disk-full upload-disk-full-pureftpd user-blocked tls-not-offered home-missing-oops passive-ports-busy"}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=ftpscope-lab \
    -keyout "$TMPD/rt-key.pem" -out "$TMPD/rt-cert.pem" 2>/dev/null

# --- chroot-writable-oops
if want chroot-writable-oops; then
start_vsftpd srv <<'CONF'
allow_writeable_chroot=NO
CONF
capture_start srv s0 oops
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop oops
capture_save pcap oops chroot-writable-oops
check_expect chroot-writable-oops
stop_server
fi

# --- login-requires-tls
if want login-requires-tls; then
start_vsftpd srv <<CONF
ssl_enable=YES
rsa_cert_file=$TMPD/rt-cert.pem
rsa_private_key_file=$TMPD/rt-key.pem
force_local_logins_ssl=YES
force_local_data_ssl=YES
CONF
capture_start srv s0 notls
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop notls
capture_save pcap notls login-requires-tls
check_expect login-requires-tls
stop_server
fi

# --- login-requires-tls-retries
if want login-requires-tls-retries; then
start_vsftpd srv <<CONF
ssl_enable=YES
rsa_cert_file=$TMPD/rt-cert.pem
rsa_private_key_file=$TMPD/rt-key.pem
force_local_logins_ssl=YES
force_local_data_ssl=YES
CONF
capture_start srv s0 notls6
for _ in 1 2 3 4 5 6; do
  in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
  sleep 0.2
done
capture_stop notls6
capture_save pcap notls6 login-requires-tls-retries
check_expect login-requires-tls-retries
stop_server
fi

# --- upload-write-disabled
if want upload-write-disabled; then
start_vsftpd srv <<'CONF'
write_enable=NO
CONF
head -c 5000 /dev/urandom > "$TMPD/upload.bin"
capture_start srv s0 nowrite
in_ns cli curl -sS --max-time 10 -T "$TMPD/upload.bin" "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/upload.bin" || true
capture_stop nowrite
capture_save pcap nowrite upload-write-disabled
check_expect upload-write-disabled
stop_server
fi

# --- too-many-connections
if want too-many-connections; then
start_vsftpd srv <<'CONF'
max_per_ip=1
CONF
capture_start srv s0 many
in_ns cli timeout 30 "$PYTHON" - "$FTP_USER" "$FTP_PASS" <<'PY'
import ftplib, sys, time
user, password = sys.argv[1], sys.argv[2]
first = ftplib.FTP()
first.connect("10.1.0.1", 21, timeout=10)
first.login(user, password)
time.sleep(0.3)
second = ftplib.FTP()
try:
    second.connect("10.1.0.1", 21, timeout=10)
    second.login(user, password)
    raise SystemExit("a second connection was let in?")
except (ftplib.error_temp, ftplib.error_perm, EOFError, ConnectionError) as e:
    print("second:", e)
second.close()
print(first.nlst())
first.quit()
PY
capture_stop many
capture_save pcap many too-many-connections
check_expect too-many-connections
stop_server
fi

# --- login-requires-tls-proftpd
if want login-requires-tls-proftpd; then
start_proftpd srv <<CONF
ModulePath $LAB/proftpd/usr/lib/proftpd
LoadModule mod_tls.c
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog $TMPD/proftpd-tls.log
  TLSRSACertificateFile $TMPD/rt-cert.pem
  TLSRSACertificateKeyFile $TMPD/rt-key.pem
  TLSRequired on
</IfModule>
CONF
capture_start srv s0 proftls
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop proftls
capture_save pcap proftls login-requires-tls-proftpd
check_expect login-requires-tls-proftpd
stop_server
fi

# --- login-requires-tls-pureftpd
if want login-requires-tls-pureftpd; then
cat "$TMPD/rt-key.pem" "$TMPD/rt-cert.pem" > "$TMPD/pure-ftpd.pem"
start_pureftpd srv -S 10.1.0.1,21 -p 40990:40999 -Y 2 -2 "$TMPD/pure-ftpd.pem"
capture_start srv s0 puretls
in_ns cli curl -sS --max-time 3 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop puretls
capture_save pcap puretls login-requires-tls-pureftpd
check_expect login-requires-tls-pureftpd
stop_server
fi

# --- passive-disabled
if want passive-disabled; then
start_vsftpd srv <<'CONF'
pasv_enable=NO
CONF
capture_start srv s0 nopasv
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop nopasv
capture_save pcap nopasv passive-disabled
check_expect passive-disabled
stop_server
fi

# --- active-disabled
if want active-disabled; then
start_vsftpd srv <<'CONF'
port_enable=NO
CONF
capture_start srv s0 noport
in_ns cli curl -sS --max-time 10 --ftp-port 10.1.0.2 --disable-eprt -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop noport
capture_save pcap noport active-disabled
check_expect active-disabled
stop_server
fi

# --- upload-disk-full and upload-disk-full-pureftpd
# The tmpfs is mounted before the server starts: `ip netns exec` gives the server
# its own copy of the mount table, which later mounts do not reach.
small_mount() {
    mkdir -p "$LAB_HOME/small"
    mount -t tmpfs -o size=16k tmpfs "$LAB_HOME/small"
    chown "$FTP_USER:$FTP_USER" "$LAB_HOME/small"
    head -c 65536 /dev/urandom > "$TMPD/big.bin"
}
full_upload() {
    local tag=$1 name=$2
    capture_start srv s0 "$tag"
    in_ns cli curl -sS --max-time 10 -T "$TMPD/big.bin" "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/small/big.bin" || true
    capture_stop "$tag"
    capture_save pcap "$tag" "$name"
    check_expect "$name"
}
if want upload-disk-full; then
small_mount
start_vsftpd srv </dev/null
full_upload full upload-disk-full
stop_server
umount "$LAB_HOME/small"
fi
if want upload-disk-full-pureftpd; then
small_mount
start_pureftpd srv -S 10.1.0.1,21 -p 40990:40999
full_upload fullpure upload-disk-full-pureftpd
stop_server
umount "$LAB_HOME/small"
fi

# --- user-blocked
if want user-blocked; then
echo "$FTP_USER" > "$TMPD/user_list"
start_vsftpd srv <<CONF
userlist_enable=YES
userlist_deny=YES
userlist_file=$TMPD/user_list
CONF
capture_start srv s0 blocked
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://10.1.0.1/report.bin" || true
capture_stop blocked
capture_save pcap blocked user-blocked
check_expect user-blocked
stop_server
fi

# --- tls-not-offered
if want tls-not-offered; then
start_vsftpd srv </dev/null
capture_start srv s0 notoffered
in_ns cli curl -sS --max-time 10 --ssl-reqd -k -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
in_ns cli curl -sS --max-time 10 --ssl -k -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop notoffered
capture_save pcap notoffered tls-not-offered
check_expect tls-not-offered
stop_server
fi

# --- home-missing-oops
if want home-missing-oops; then
start_vsftpd srv <<'CONF'
local_root=/srv/ftpscope-lab/no-such-dir
CONF
capture_start srv s0 nohome
in_ns cli curl -sS --max-time 10 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/report.bin" || true
capture_stop nohome
capture_save pcap nohome home-missing-oops
check_expect home-missing-oops
stop_server
fi


# --- passive-ports-busy
if want passive-ports-busy; then
start_pureftpd srv -S 10.1.0.1,21 -p 40990:40990
capture_start srv s0 busy
in_ns cli timeout 20 "$PYTHON" - "$FTP_USER" "$FTP_PASS" <<'PY'
import ftplib, sys
user, password = sys.argv[1], sys.argv[2]
first = ftplib.FTP()
first.connect("10.1.0.1", 21, timeout=10)
first.login(user, password)
second = ftplib.FTP()
second.connect("10.1.0.1", 21, timeout=10)
second.login(user, password)
print("first:", first.sendcmd("PASV"))
for cmd in ("PASV", "EPSV"):
    try:
        print("second:", second.sendcmd(cmd))
    except ftplib.all_errors as e:
        print("second:", cmd, "->", e)
second.quit()
first.quit()
PY
capture_stop busy
capture_save pcap busy passive-ports-busy
check_expect passive-ports-busy
stop_server
fi
