#!/usr/bin/env bash
# FTPS through `ftpscope proxy --tls-intercept` against a direct FTPS transfer
# (issue 17: target >= 0.5x the direct throughput on this 2-core machine, where
# client, server and proxy share the cores and the proxy does the crypto twice).
#
# vsftpd from the capture lab (captures/make/install-lab.sh) with TLS required on
# control and data, session reuse required, on 127.0.0.2; curl downloads a file of
# FTPSCOPE_BENCH_BYTES (default 1 GiB) to /dev/null, ROUNDS times direct and through
# the proxy, alternately. Prints each round and the medians. Run as root.
#
#   benches/proxy_tls.sh
#   ROUNDS=3 FTPSCOPE_BENCH_BYTES=268435456 benches/proxy_tls.sh
#   FTPSCOPE_BIN=path/to/ftpscope benches/proxy_tls.sh     # a binary already built
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BYTES=${FTPSCOPE_BENCH_BYTES:-1073741824}
VSFTPD=/opt/ftpscope-lab/vsftpd/usr/sbin/vsftpd
HOME_DIR=/srv/ftpscope-lab/home
USERPASS=ftpuser:s3cret-pass
[ -x "$VSFTPD" ] || { echo "needs vsftpd from captures/make/install-lab.sh" >&2; exit 2; }
if [ -n "${FTPSCOPE_BIN:-}" ]; then
  BIN=$FTPSCOPE_BIN
else
  cargo build --release -q
  BIN=$PWD/target/release/ftpscope
fi

T=$(mktemp -d)
SUB=bench-tls-$$
cleanup() {
  [ -n "${PROXY:-}" ] && kill "$PROXY" 2>/dev/null || true
  [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
  rm -rf "$T" "$HOME_DIR/$SUB"
}
trap cleanup EXIT

# A certificate with a subjectAltName (rustls needs one; it is not checked here:
# --upstream-insecure and curl -k, since verification costs only at the handshake).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
  -days 2 -subj /CN=ftp.example.test -addext "subjectAltName=IP:127.0.0.2" 2>/dev/null
mkdir -p "$HOME_DIR/$SUB"
head -c "$BYTES" /dev/urandom > "$HOME_DIR/$SUB/file.bin"
chown -R ftpuser:ftpuser "$HOME_DIR/$SUB"

PORT=$((20000 + $$ % 10000))
cat > "$T/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.2
listen_port=$PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
pam_service_name=ftpscope-vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
connect_from_port_20=NO
ssl_enable=YES
rsa_cert_file=$T/cert.pem
rsa_private_key_file=$T/key.pem
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
EOF
"$VSFTPD" "$T/vsftpd.conf" >/dev/null 2>&1 &
SRV=$!
XDG_CONFIG_HOME=$T "$BIN" proxy --tls-intercept --upstream-insecure \
  --upstream "127.0.0.2:$PORT" --listen 127.0.0.1:0 --format json --log /dev/null \
  2> "$T/proxy.err" &
PROXY=$!
for _ in $(seq 50); do
  grep -q "listening on" "$T/proxy.err" 2>/dev/null && break
  sleep 0.1
done
LISTEN=$(sed -n 's/.*listening on \([0-9.:]*\),.*/\1/p' "$T/proxy.err" | head -1)
[ -n "$LISTEN" ] || { cat "$T/proxy.err" >&2; exit 1; }
sleep 0.3

# One download: prints the speed in MB/s (curl's average download speed).
run() {
  curl -sS -k --ssl-reqd --max-time 600 -u "$USERPASS" -o /dev/null \
    -w '%{speed_download}' "ftp://$1/$SUB/file.bin"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: > "$T/direct"; : > "$T/proxied"
for r in $(seq "$ROUNDS"); do
  d=$(run "127.0.0.2:$PORT"); p=$(run "$LISTEN")
  echo "$d" >> "$T/direct"; echo "$p" >> "$T/proxied"
  awk -v r="$r" -v d="$d" -v p="$p" \
    'BEGIN {printf "round %d: direct %.0f MB/s, through the proxy %.0f MB/s (%.2fx)\n", r, d/1e6, p/1e6, p/d}'
done
D=$(median < "$T/direct"); P=$(median < "$T/proxied")
awk -v d="$D" -v p="$P" -v b="$BYTES" -v n="$ROUNDS" \
  'BEGIN {printf "median of %d rounds, %d bytes: direct FTPS %.0f MB/s, through --tls-intercept %.0f MB/s: %.2fx (target >= 0.5x)\n", n, b, d/1e6, p/1e6, p/d}'
