#!/usr/bin/env bash
# ftps: FTPS (FTP over TLS) scenarios with real servers and clients, for reading
# TLS handshakes without keys. Each scenario writes captures/ftps-NAME.pcap and
# the client's TLS key log captures/ftps-NAME.keys (SSLKEYLOGFILE; for decryption
# tests; it protects nothing: throw-away keys of a lab run).
# Usage: ftps.sh [NAME...]   (every scenario when no argument)
#   curl-tls12     vsftpd (require_ssl_reuse=YES, its default) + curl --ssl-reqd -k
#                  --tls-max 1.2: EPSV, LIST and RETR under PROT P; both data
#                  connections resume the control connection's TLS 1.2 session.
#   curl-tls13     the same without the cap: TLS 1.3 everywhere (the data
#                  connections resume with a PSK).
#   ftplib-reuse   vsftpd (require_ssl_reuse=YES) + Python ftplib FTP_TLS, prot_p,
#                  LIST: the data connection makes a full handshake (ftplib does not
#                  pass the control connection's session) and vsftpd refuses it:
#                  "522 SSL connection failed: session reuse required".
#   implicit       vsftpd implicit_ssl=YES on port 990 + curl ftps:// -k: TLS from
#                  the first byte, RETR over a resumed data connection.
#   prot-c         vsftpd (force_local_data_ssl=NO) + curl --ftp-ssl-control -k:
#                  the control connection is encrypted, the RETR's data (PROT C)
#                  travels in clear.
#   data-requires-tls  vsftpd (force_local_data_ssl=YES) + curl --ftp-ssl-control
#                  -k: PROT C accepted, then RETR refused with "522 Data
#                  connections must be encrypted." (curl exit 19).
#   cert-fail      vsftpd + curl --ssl-reqd without -k: the self-signed certificate
#                  is not trusted, curl sends a fatal unknown_ca alert and closes.
#   proftpd-reuse  ProFTPD mod_tls (session reuse required: no `TLSOptions
#                  NoSessionReuseRequired`) + Python ftplib FTP_TLS, prot_p, LIST:
#                  the data connection's full handshake is refused; ProFTPD answers 425
#                  and keeps the control connection, ftplib quits.
#   lftp-active    vsftpd (require_ssl_reuse=YES) + lftp (GnuTLS) in active mode
#                  (PORT), PROT P: the server connects back to the client, and the
#                  data connection resumes the control connection's session.
#   implicit-mismatch  curl ftps:// (implicit) against vsftpd on 21 (explicit): the
#                  client's ClientHello meets the server's cleartext 220 greeting.
# Cipher suites for decryption with the key log (vsftpd, RETR report.bin):
#   cbc-etm        curl --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA: AES-128-CBC
#                  with HMAC-SHA1, encrypt-then-MAC (OpenSSL negotiates it).
#   chacha12       curl --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305.
#   chacha13       curl --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256.
#   cbc-mte        Python ftplib, TLS 1.2, AES256-SHA256 (RSA key exchange) with
#                  encrypt-then-MAC refused (OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC):
#                  MAC-then-encrypt; vsftpd require_ssl_reuse=NO, the data connection
#                  makes its own full handshake.
#   pureftpd       pure-ftpd -Y 3 (TLS required on control and data) + curl
#                  --ssl-reqd -k: pure-ftpd answers curl's first AUTH SSL with 500,
#                  then AUTH TLS with 234; LIST and RETR under PROT P. pure-ftpd never
#                  resumes sessions and does not require it: both data connections make
#                  full handshakes and succeed.
#   proftpd-ccc    ProFTPD mod_tls + curl --ssl-reqd -k --ftp-ssl-ccc: after the
#                  login curl sends CCC, both sides end TLS on the control connection
#                  (close_notify) and the rest of the dialogue (PASV, RETR, QUIT) is in
#                  clear, while the data connection stays TLS (PROT P).
# FTPS twins of plain scenarios made by other scripts (with the client's key log):
#   login-failed   curl --ssl-reqd -k with a wrong password: 530 to PASS, encrypted
#                  (the twin of login-retry's failed session).
#   aborted        Python ftplib (FTP_TLS, PROT P) starts RETR of a 1.5 MB file from
#                  rate-limited vsftpd (local_max_rate 200 KiB/s, require_ssl_reuse=NO:
#                  ftplib does not resume), reads ~100 KB, sends ABOR on the encrypted
#                  control connection (no Telnet IP/Synch: urgent data cannot cross TLS)
#                  and closes the data connection; vsftpd answers 426, then 225/226
#                  (the twin of aborted-download).
# Server 10.1.0.1 (vsftpd, self-signed certificate for ftp.example.test made here),
# client 10.1.0.2; captured on the server's interface.
set -euo pipefail
ALL=(curl-tls12 curl-tls13 ftplib-reuse implicit prot-c cert-fail implicit-mismatch proftpd-reuse lftp-active
     cbc-etm chacha12 chacha13 cbc-mte pureftpd login-failed aborted proftpd-ccc data-requires-tls)
if [ $# -eq 0 ]; then
    set -- "${ALL[@]}"
fi
if [ $# -gt 1 ]; then
    for v in "$@"; do "$0" "$v"; done
    exit 0
fi
variant=$1
source "$(dirname "$0")/lib.sh"
lab_init "ftps-$variant"

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/report.bin" 20000 ftps-file
make_text "$LAB_HOME/notes.txt" 20
fix_mtimes

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ftp.example.test/O=ftpscope lab" \
    -keyout "$TMPD/key.pem" -out "$TMPD/cert.pem" 2>/dev/null
chmod 600 "$TMPD/key.pem"
KEYS="$TMPD/keys.log"
: > "$KEYS"

# vsftpd_tls [PORT] with extra lines on stdin.
vsftpd_tls() {
    local port=${1:-21} extra
    extra=$(cat)
    start_vsftpd srv "$port" <<CONF
pasv_min_port=40990
pasv_max_port=40999
ssl_enable=YES
rsa_cert_file=$TMPD/cert.pem
rsa_private_key_file=$TMPD/key.pem
force_local_logins_ssl=YES
ssl_ciphers=HIGH
$extra
CONF
}

CURL=(curl -sS --max-time 15 -u "$FTP_USER:$FTP_PASS")
url=ftp://10.1.0.1
rc=0
case $variant in
    curl-tls12|curl-tls13)
        vsftpd_tls </dev/null
        max=(); [ "$variant" = curl-tls12 ] && max=(--tls-max 1.2)
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ssl-reqd -k "${max[@]}" \
            "$url/" -o "$TMPD/list.txt" "$url/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    cbc-etm|chacha12|chacha13)
        vsftpd_tls </dev/null
        case $variant in
            cbc-etm) suite=(--tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA) ;;
            chacha12) suite=(--tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305) ;;
            chacha13) suite=(--tls13-ciphers TLS_CHACHA20_POLY1305_SHA256) ;;
        esac
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ssl-reqd -k "${suite[@]}" \
            "$url/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    cbc-mte)
        vsftpd_tls <<<"require_ssl_reuse=NO
ssl_ciphers=AES256-SHA256"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" timeout 30 "$PYTHON" - "$TMPD/report.bin" <<'PY'
import ftplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("AES256-SHA256")
ctx.options |= 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC: MAC-then-encrypt
ctx.keylog_filename = __import__("os").environ["SSLKEYLOGFILE"]
ftp = ftplib.FTP_TLS(context=ctx)
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
ftp.prot_p()
with open(sys.argv[1], "wb") as f:
    ftp.retrbinary("RETR report.bin", f.write)
ftp.quit()
PY
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    ftplib-reuse)
        vsftpd_tls <<<"require_ssl_reuse=YES"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP_TLS()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
ftp.prot_p()
try:
    ftp.retrlines("LIST")
    raise SystemExit("LIST over a non-resumed TLS data connection succeeded?")
except (ftplib.error_perm, ftplib.error_temp, OSError) as e:
    print("LIST:", e)
try:
    ftp.quit()
except Exception as e:
    print("QUIT:", e)
PY
        capture_stop
        grep -q "522" "$TMPD/vsftpd.log" || die "no 522 in the server log"
        ;;
    implicit)
        vsftpd_tls 990 <<<"implicit_ssl=YES"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" -k --tls-max 1.2 \
            "ftps://10.1.0.1/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    prot-c)
        vsftpd_tls <<<"force_local_data_ssl=NO"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ftp-ssl-control -k --tls-max 1.2 \
            "$url/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    data-requires-tls)
        # vsftpd requires protected data (force_local_data_ssl=YES); curl protects
        # only the control connection (PROT C): RETR gets "522 Data connections
        # must be encrypted.".
        vsftpd_tls <<<"force_local_data_ssl=YES"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ftp-ssl-control -k --tls-max 1.2 \
            "$url/report.bin" -o "$TMPD/report.bin" || rc=$?
        capture_stop
        [ "$rc" = 19 ] || die "curl exit $rc, expected 19 (RETR refused)"
        ;;
    cert-fail)
        vsftpd_tls </dev/null
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ssl-reqd --tls-max 1.2 \
            "$url/report.bin" -o "$TMPD/report.bin" || rc=$?
        capture_stop
        [ "$rc" = 60 ] || die "curl exit $rc, expected 60 (certificate problem)"
        ;;
    implicit-mismatch)
        vsftpd_tls </dev/null
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" -k --tls-max 1.2 \
            "ftps://10.1.0.1:21/report.bin" -o "$TMPD/report.bin" || rc=$?
        capture_stop
        [ "$rc" = 35 ] || die "curl exit $rc, expected 35 (TLS connect error)"
        ;;
    lftp-active)
        vsftpd_tls </dev/null
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" HOME="$TMPD" timeout 30 lftp -u "$FTP_USER,$FTP_PASS" \
            -e "set ftp:passive-mode off; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; set xfer:clobber on; set net:max-retries 1; get report.bin -o $TMPD/report.bin; bye" \
            10.1.0.1
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    pureftpd)
        # pure-ftpd reads one PEM file with the key and the certificate (-2).
        cat "$TMPD/key.pem" "$TMPD/cert.pem" > "$TMPD/pure-ftpd.pem"
        chmod 600 "$TMPD/pure-ftpd.pem"
        start_pureftpd srv -S 10.1.0.1,21 -p 40990:40999 -Y 3 -2 "$TMPD/pure-ftpd.pem"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ssl-reqd -k \
            "$url/" -o "$TMPD/list.txt" "$url/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    proftpd-reuse)
        start_proftpd srv <<CONF
ModulePath $LAB/proftpd/usr/lib/proftpd
LoadModule mod_tls.c
PassivePorts 40990 40999
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog $TMPD/proftpd-tls.log
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile $TMPD/cert.pem
  TLSRSACertificateKeyFile $TMPD/key.pem
  TLSRequired on
  TLSVerifyClient off
</IfModule>
CONF
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" timeout 30 "$PYTHON" - <<'PY'
import ftplib
ftp = ftplib.FTP_TLS()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
ftp.prot_p()
try:
    ftp.retrlines("LIST")
    raise SystemExit("LIST over a non-resumed TLS data connection succeeded?")
except (ftplib.error_perm, ftplib.error_temp, OSError) as e:
    print("LIST:", e)
try:
    print(ftp.quit())
except Exception as e:
    print("QUIT:", e)
PY
        capture_stop
        grep -qi "reuse" "$TMPD/proftpd-tls.log" || die "no session-reuse complaint in the TLS log"
        ;;
    proftpd-ccc)
        start_proftpd srv <<CONF
ModulePath $LAB/proftpd/usr/lib/proftpd
LoadModule mod_tls.c
PassivePorts 40990 40999
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog $TMPD/proftpd-tls.log
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile $TMPD/cert.pem
  TLSRSACertificateKeyFile $TMPD/key.pem
  TLSRequired auth+data
  TLSVerifyClient off
</IfModule>
CONF
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" "${CURL[@]}" --ssl-reqd -k --ftp-ssl-ccc \
            "$url/report.bin" -o "$TMPD/report.bin"
        capture_stop
        cmp "$TMPD/report.bin" "$LAB_HOME/report.bin"
        ;;
    login-failed)
        vsftpd_tls </dev/null
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" curl -sS --max-time 15 -u "$FTP_USER:wrong-pass" \
            --ssl-reqd -k "$url/" -o "$TMPD/list.txt" || rc=$?
        capture_stop
        [ "$rc" = 67 ] || die "curl exit $rc, expected 67 (login denied)"
        ;;
    aborted)
        make_file "$LAB_HOME/big.bin" 1572864 ftps-aborted-file
        fix_mtimes
        vsftpd_tls <<<"require_ssl_reuse=NO
local_max_rate=204800"
        capture_start srv s0
        in_ns cli env SSLKEYLOGFILE="$KEYS" timeout 30 "$PYTHON" - <<'PY'
import ftplib, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = __import__("os").environ["SSLKEYLOGFILE"]
ftp = ftplib.FTP_TLS(context=ctx)
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
ftp.prot_p()
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR big.bin")
got = 0
while got < 100000:
    d = conn.recv(65536)
    if not d:
        break
    got += len(d)
print("read", got, "bytes, aborting")
ftp.putcmd("ABOR")
conn.close()
for _ in range(2):
    try:
        r = ftp.getmultiline()
    except Exception as e:
        print("reply:", e)
        break
    print(r)
    if not r.startswith("426"):
        break
print(ftp.quit())
PY
        capture_stop
        ;;
    *) die "unknown scenario $variant (one of ${ALL[*]})" ;;
esac
capture_save pcap
cp "$KEYS" "$CAPTURES_DIR/$CAPTURE_NAME.keys"
chmod 644 "$CAPTURES_DIR/$CAPTURE_NAME.keys"
ftp_summary "$CAPTURE_FILE"
[ -z "${VERBOSE:-}" ] || [ ! -f "$TMPD/vsftpd.log" ] || grep -E "FTP (command|response)" "$TMPD/vsftpd.log" >&2
[ "$variant" = implicit ] && CHECK_PORT=990
check_expect
