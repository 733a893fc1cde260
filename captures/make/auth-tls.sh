#!/usr/bin/env bash
# auth-tls: explicit FTPS (AUTH TLS) session: only the greeting and AUTH are cleartext.
# Server: vsftpd with ssl_enable=YES and a self-signed certificate made here with
# openssl (10.1.0.1:21, passive port 40021). Client: curl --ssl-reqd -k (10.1.0.2)
# downloading secret.bin (51200 random bytes). curl sends AUTH SSL first; vsftpd
# accepts it with 234, and everything after is TLS (control and data).
# Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init auth-tls

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/secret.bin" 51200 auth-tls-file
fix_mtimes

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ftp.example.test" \
    -keyout "$TMPD/key.pem" -out "$TMPD/cert.pem" 2>/dev/null
chmod 600 "$TMPD/key.pem"

start_vsftpd srv <<CONF
pasv_min_port=40021
pasv_max_port=40021
ssl_enable=YES
rsa_cert_file=$TMPD/cert.pem
rsa_private_key_file=$TMPD/key.pem
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=NO
ssl_ciphers=HIGH
CONF

capture_start srv s0
in_ns cli curl -sS --max-time 20 --ssl-reqd -k -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1/secret.bin" -o "$TMPD/secret.bin"
capture_stop
cmp "$TMPD/secret.bin" "$LAB_HOME/secret.bin"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
[ -z "${VERBOSE:-}" ] || grep -E "FTP (command|response)" "$TMPD/vsftpd.log" >&2  # the decrypted dialogue, from the server log
check_expect
