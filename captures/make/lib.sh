# lib.sh: shared functions for the ftpscope capture scripts (source it, do not run it).
#
# A capture script does, in order:
#   source "$(dirname "$0")/lib.sh"
#   lab_init <capture-name>          # temp dir, cleanup trap, checks
#   ns_add cli; ns_add srv           # network namespaces fs-<id>-cli, fs-<id>-srv
#   link cli c0 srv s0               # veth pair between them (offloads off, fixed MACs)
#   addr cli c0 10.1.0.2/24 ...      # addresses, routes
#   home_reset; make_file ...        # test files in ftpuser's home
#   start_vsftpd srv <<'CONF' ... CONF   (or start_pureftpd / start_proftpd)
#   capture_start srv s0             # tcpdump inside a namespace
#   in_ns cli curl ...               # the client
#   capture_stop
#   capture_save pcap|pcapng         # -> captures/<capture-name>.pcap[ng]
# Everything started is stopped and every namespace deleted on exit (trap).
#
# Addresses: 10.x for private ones; documentation ranges 203.0.113.0/24,
# 198.51.100.0/24 and 2001:db8::/32 for "public" ones. Nothing is routed outside
# the namespaces created here; the namespaces have no link to the host.

set -euo pipefail

LAB=/opt/ftpscope-lab
LAB_HOME=/srv/ftpscope-lab/home
VSFTPD=$LAB/vsftpd/usr/sbin/vsftpd
PUREFTPD=$LAB/pure-ftpd/usr/sbin/pure-ftpd
PROFTPD=$LAB/proftpd/usr/sbin/proftpd
PYTHON=/usr/bin/python3
FTP_USER=ftpuser
FTP_PASS=s3cret-pass

MAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPTURES_DIR=$(cd "$MAKE_DIR/.." && pwd)

# Fixed timestamp for test files, so that directory listings are the same on every run.
FILE_MTIME="2024-01-02 03:04:05"

log() { echo "[$CAPTURE_NAME] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# lab_init NAME: set up the temp dir and cleanup trap.
# LAB_TLS=1 makes the FTPS twin of a scenario: captures/ftps-NAME.pcap and the
# client's key log ftps-NAME.keys, with vsftpd requiring TLS for the login and the
# data (self-signed certificate made here) and every `in_ns NS curl` run with
# --ssl-reqd -k and SSLKEYLOGFILE. The scenario's network and faults are the same.
lab_init() {
    CAPTURE_NAME=$1
    if [ -n "${LAB_TLS:-}" ]; then CAPTURE_NAME="ftps-$1"; fi
    [ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
    [ -x "$VSFTPD" ] && [ -x "$PUREFTPD" ] && [ -x "$PROFTPD" ] ||
        { echo "lab not installed: run captures/make/install-lab.sh" >&2; exit 1; }
    getent passwd "$FTP_USER" >/dev/null || { echo "user $FTP_USER missing: run install-lab.sh" >&2; exit 1; }
    LAB_ID=$$
    TMPD=$(mktemp -d "/tmp/fs-$CAPTURE_NAME.XXXXXX")
    chmod 755 "$TMPD"
    if [ -n "${LAB_TLS:-}" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
            -subj "/CN=ftp.example.test/O=ftpscope lab" \
            -keyout "$TMPD/tls-key.pem" -out "$TMPD/tls-cert.pem" 2>/dev/null
        chmod 600 "$TMPD/tls-key.pem"
        LAB_KEYS="$TMPD/keys.log"
        : > "$LAB_KEYS"
    fi
    : > "$TMPD/.namespaces"
    : > "$TMPD/.pids"
    MAC_SEQ=0
    trap lab_cleanup EXIT
    trap 'exit 130' INT TERM
    log "temp dir $TMPD"
}

# lab_cleanup: stop every process we started (by PID), then delete our namespaces.
lab_cleanup() {
    local rc=$? pid ns
    set +e
    disown -a 2>/dev/null
    # tcpdump first (SIGINT lets it flush), then everything else we started.
    if [ -n "${TCPDUMP_PIDS:-}" ]; then
        for pid in $TCPDUMP_PIDS; do kill -INT "$pid" 2>/dev/null; done
        sleep 0.3
    fi
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done < "$TMPD/.pids"
    # Anything still running inside our namespaces (server session children) was
    # started by us too; stop it by PID.
    while read -r ns; do
        [ -n "$ns" ] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    done < "$TMPD/.namespaces"
    sleep 0.3
    while read -r ns; do
        [ -n "$ns" ] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done < "$TMPD/.namespaces"
    if [ "$rc" != 0 ]; then
        log "failed (exit $rc); logs kept in $TMPD"
    elif [ -z "${KEEP_TMP:-}" ]; then
        rm -rf "$TMPD"
    fi
    exit "$rc"
}

# ns NAME -> full namespace name
ns() { echo "fs-$LAB_ID-$1"; }

# ns_add NAME: create namespace fs-<id>-NAME with lo up and IPv6 off (ns_ipv6 turns it on).
ns_add() {
    local n; n=$(ns "$1")
    ip netns add "$n"
    echo "$n" >> "$TMPD/.namespaces"
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# ns_ipv6 NAME: enable IPv6 in a namespace (with DAD off, so addresses work at once).
ns_ipv6() {
    local n; n=$(ns "$1")
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
        net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.lo.disable_ipv6=0
}

# ns_router NAME: turn on forwarding in a namespace.
ns_router() {
    local n; n=$(ns "$1")
    ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1
    if ip netns exec "$n" sysctl -n net.ipv6.conf.all.disable_ipv6 | grep -q 0; then
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.forwarding=1
    fi
}

# in_ns NAME CMD...: run a command inside namespace NAME.
in_ns() {
    local n; n=$(ns "$1"); shift
    if [ -n "${LAB_TLS:-}" ] && [ "$1" = curl ]; then
        shift
        ip netns exec "$n" env SSLKEYLOGFILE="$LAB_KEYS" curl --ssl-reqd -k "$@"
    else
        ip netns exec "$n" "$@"
    fi
}

# link NS_A IF_A NS_B IF_B: veth pair between two namespaces, up, offloads off, fixed MACs.
link() {
    local a; a=$(ns "$1"); local ia=$2 b; b=$(ns "$3"); local ib=$4
    local tmpa="fs${LAB_ID}a$MAC_SEQ" tmpb="fs${LAB_ID}b$MAC_SEQ"
    ip link add "${tmpa:0:15}" type veth peer name "${tmpb:0:15}"
    ip link set "${tmpa:0:15}" netns "$a" name "$ia"
    ip link set "${tmpb:0:15}" netns "$b" name "$ib"
    MAC_SEQ=$((MAC_SEQ + 1))
    ip -n "$a" link set "$ia" address "02:00:00:00:$(printf %02x $MAC_SEQ):01"
    ip -n "$b" link set "$ib" address "02:00:00:00:$(printf %02x $MAC_SEQ):02"
    ip -n "$a" link set "$ia" up
    ip -n "$b" link set "$ib" up
    ip netns exec "$a" ethtool -K "$ia" tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$b" ethtool -K "$ib" tso off gso off gro off >/dev/null 2>&1 || true
}

# addr NS IF CIDR: add an address (IPv4 or IPv6; IPv6 gets nodad).
addr() {
    local n; n=$(ns "$1")
    case $3 in
        *:*) ip netns exec "$n" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" "net.ipv6.conf.$2.accept_dad=0"
             ip -n "$n" -6 addr add "$3" dev "$2" nodad ;;
        *)   ip -n "$n" addr add "$3" dev "$2" ;;
    esac
}

# route NS ARGS...: `ip route add ARGS` inside NS (use `-6` first for IPv6).
route() { local n; n=$(ns "$1"); shift; ip -n "$n" route add "$@"; }

# topo_pair: the simple lab: client 10.1.0.2 (fs-*-cli, c0) <-> server 10.1.0.1 (fs-*-srv, s0).
topo_pair() {
    CLI_IP=${1:-10.1.0.2}
    SRV_IP=${2:-10.1.0.1}
    ns_add cli; ns_add srv
    link cli c0 srv s0
    addr cli c0 "$CLI_IP/24"
    addr srv s0 "$SRV_IP/24"
}

# wait_listen NS PORT: wait until a TCP listener on PORT exists in NS.
wait_listen() {
    local i
    for i in $(seq 1 50); do
        if in_ns "$1" ss -Hltn "sport = :$2" | grep -q .; then return 0; fi
        sleep 0.1
    done
    die "nothing listening on port $2 in $(ns "$1")"
}

# bg_ns NS LOGNAME CMD...: start a background process in NS, remember its PID.
bg_ns() {
    local n; n=$(ns "$1"); local lg=$2; shift 2
    ip netns exec "$n" "$@" > "$TMPD/$lg.out" 2> "$TMPD/$lg.err" < /dev/null &
    local pid=$!
    echo "$pid" >> "$TMPD/.pids"
    LAST_PID=$pid
}

# ---------------------------------------------------------------- servers ---

# start_vsftpd NS [PORT]: start vsftpd in NS with the base config plus extra
# lines read from stdin (later lines override earlier ones).
start_vsftpd() {
    local nsn=$1 port=${2:-21} conf="$TMPD/vsftpd.conf"
    cat > "$conf" <<EOF
# ftpscope lab vsftpd base config
listen=YES
listen_ipv6=NO
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
pam_service_name=ftpscope-vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
connect_from_port_20=NO
xferlog_enable=YES
vsftpd_log_file=$TMPD/vsftpd.log
dual_log_enable=YES
log_ftp_protocol=YES
use_localtime=NO
EOF
    if [ -n "${LAB_TLS:-}" ]; then
        cat >> "$conf" <<TLS
ssl_enable=YES
rsa_cert_file=$TMPD/tls-cert.pem
rsa_private_key_file=$TMPD/tls-key.pem
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_ciphers=HIGH
TLS
    fi
    if [ ! -t 0 ]; then cat >> "$conf"; fi
    chmod 600 "$conf"
    bg_ns "$nsn" vsftpd "$VSFTPD" "$conf"
    SERVER_PID=$LAST_PID
    wait_listen "$nsn" "$port"
    log "vsftpd up in $(ns "$nsn") port $port (pid $SERVER_PID)"
}

# start_pureftpd NS ARGS...: start pure-ftpd in the foreground in NS. Base
# arguments: unix auth, no anonymous, chroot everyone, log to stderr via -O.
start_pureftpd() {
    local nsn=$1; shift
    bg_ns "$nsn" pureftpd "$PUREFTPD" -l unix -E -A -H -O "clf:$TMPD/pureftpd-xfer.log" "$@"
    SERVER_PID=$LAST_PID
    local port=21 a
    for a in "$@"; do case $a in *,[0-9]*) port=${a##*,} ;; esac; done
    wait_listen "$nsn" "$port"
    log "pure-ftpd up in $(ns "$nsn") port $port (pid $SERVER_PID)"
}

# start_proftpd NS [PORT]: start proftpd -n in NS with a base config plus extra
# lines read from stdin.
start_proftpd() {
    local nsn=$1 port=${2:-21} conf="$TMPD/proftpd.conf"
    cat > "$conf" <<EOF
# ftpscope lab proftpd base config
ServerName          "ftpscope lab"
ServerType          standalone
DefaultServer       on
Port                $port
UseIPv6             off
User                nobody
Group               nogroup
Umask               022
MaxInstances        30
ScoreboardFile      $TMPD/proftpd.scoreboard
PidFile             $TMPD/proftpd.pid
DelayTable          none
WtmpLog             off
UseReverseDNS       off
SystemLog           $TMPD/proftpd.log
TransferLog         $TMPD/proftpd-xfer.log
AuthOrder           mod_auth_unix.c
RequireValidShell   off
DefaultRoot         ~
<Directory />
  AllowOverwrite    on
</Directory>
EOF
    if [ ! -t 0 ]; then cat >> "$conf"; fi
    bg_ns "$nsn" proftpd "$PROFTPD" -n -q -c "$conf"
    SERVER_PID=$LAST_PID
    wait_listen "$nsn" "$port"
    log "proftpd up in $(ns "$nsn") port $port (pid $SERVER_PID)"
}

# ---------------------------------------------------------------- capture ---

TCPDUMP_PIDS=""

# capture_start NS IF [TAG [FILTER...]]: start tcpdump on IF inside NS writing
# $TMPD/TAG.pcap (TAG defaults to "raw"). Waits until tcpdump is listening.
capture_start() {
    local nsn=$1 ifc=$2 tag=${3:-raw}; shift 3 2>/dev/null || shift $#
    bg_ns "$nsn" "tcpdump-$tag" tcpdump -i "$ifc" -n -s 0 -B 32768 -U --immediate-mode -Z root -w "$TMPD/$tag.pcap" "$@"
    TCPDUMP_PIDS="$TCPDUMP_PIDS $LAST_PID"
    eval "TCPDUMP_PID_$tag=$LAST_PID"
    local i
    for i in $(seq 1 50); do
        grep -q "listening on" "$TMPD/tcpdump-$tag.err" 2>/dev/null && break
        sleep 0.1
    done
    grep -q "listening on" "$TMPD/tcpdump-$tag.err" || die "tcpdump did not start: $(cat "$TMPD/tcpdump-$tag.err")"
    sleep 0.2
}

# capture_stop [TAG]: let the last packets arrive, then stop tcpdump TAG (default raw).
capture_stop() {
    local tag=${1:-raw} pid
    sleep 0.5
    eval "pid=\$TCPDUMP_PID_$tag"
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    TCPDUMP_PIDS=$(echo "$TCPDUMP_PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ' || true)
    log "tcpdump $tag: $(grep -E 'packets captured' "$TMPD/tcpdump-$tag.err" || true)"
    if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$TMPD/tcpdump-$tag.err"; then
        die "tcpdump $tag dropped packets: $(tr '\n' ' ' < "$TMPD/tcpdump-$tag.err")"
    fi
}

# capture_save FORMAT [TAG [NAME]]: copy $TMPD/TAG.pcap to captures/NAME.FORMAT
# (FORMAT pcap or pcapng; NAME defaults to the capture name).
capture_save() {
    local fmt=$1 tag=${2:-raw} name=${3:-$CAPTURE_NAME}
    if [ -n "${LAB_TLS:-}" ]; then
        case $name in ftps-*) ;; *) name="ftps-$name" ;; esac
        cp "$LAB_KEYS" "$CAPTURES_DIR/$name.keys"
        chmod 644 "$CAPTURES_DIR/$name.keys"
    fi
    local src="$TMPD/$tag.pcap" dst="$CAPTURES_DIR/$name.$fmt"
    [ -s "$src" ] || die "no capture file $src"
    rm -f "$CAPTURES_DIR/$name.pcap" "$CAPTURES_DIR/$name.pcapng"
    case $fmt in
        pcap)   cp "$src" "$dst" ;;
        pcapng) editcap -F pcapng "$src" "$dst" ;;
        *) die "unknown format $fmt" ;;
    esac
    chmod 644 "$dst"
    log "wrote $dst ($(stat -c %s "$dst") bytes)"
    CAPTURE_FILE=$dst
}

# ftp_summary FILE: print the FTP commands and reply codes tshark sees (a cross-check).
ftp_summary() {
    [ -n "${VERBOSE:-}" ] || return 0
    tshark -r "$1" -Y "ftp.request.command or ftp.response.code" -T fields -e ip.src -e ipv6.src -e tcp.srcport -e ftp.request.command \
        -e ftp.request.arg -e ftp.response.code -e ftp.response.arg 2>/dev/null | cut -c1-150 >&2
}

# check_expect: compare captures/NAME.expect.json with the capture (if present).
check_expect() {
    local name=${1:-$CAPTURE_NAME} f
    if [ -n "${LAB_TLS:-}" ]; then
        case $name in ftps-*) ;; *) name="ftps-$name" ;; esac
    fi
    for f in "$CAPTURES_DIR/$name.pcapng" "$CAPTURES_DIR/$name.pcap"; do
        [ -f "$f" ] && break
    done
    if [ -f "$CAPTURES_DIR/$name.expect.json" ]; then
        "$PYTHON" "$MAKE_DIR/check-expect.py" "$f" "$CAPTURES_DIR/$name.expect.json" >&2 ||
            die "$(basename "$f") differs from $name.expect.json (see above): check the capture, then update the expectation file"
    else
        log "no $name.expect.json yet; what the capture shows:"
        "$PYTHON" "$MAKE_DIR/check-expect.py" --dump "$f" "${CHECK_PORT:-21}" >&2
    fi
}

# ------------------------------------------------------------------ files ---

# home_reset: empty ftpuser's home (the FTP root for every server) and reset it.
home_reset() {
    mkdir -p "$LAB_HOME"
    find "$LAB_HOME" -mindepth 1 -delete
    chown "$FTP_USER:$FTP_USER" "$LAB_HOME"
    chmod 755 "$LAB_HOME"
}

# make_file PATH SIZE [SEED]: deterministic pseudo-random binary file (same bytes on every run).
make_file() {
    local path=$1 size=$2 seed=${3:-$1}
    mkdir -p "$(dirname "$path")"
    "$PYTHON" - "$path" "$size" "$seed" <<'PY'
import random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
with open(path, "wb") as f:
    f.write(rng.randbytes(size))
PY
    chown "$FTP_USER:$FTP_USER" "$path"
    touch -d "$FILE_MTIME" "$path"
}

# make_text PATH LINES: deterministic text file with LF line ends.
make_text() {
    local path=$1 lines=$2
    mkdir -p "$(dirname "$path")"
    "$PYTHON" - "$path" "$lines" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        f.write(f"line {i:05d}: the quick brown fox jumps over the lazy dog\n")
PY
    chown "$FTP_USER:$FTP_USER" "$path"
    touch -d "$FILE_MTIME" "$path"
}

# fix_mtimes: give every file and directory in the home the fixed timestamp.
fix_mtimes() {
    chown -R "$FTP_USER:$FTP_USER" "$LAB_HOME"
    find "$LAB_HOME" -mindepth 1 -exec touch -h -d "$FILE_MTIME" {} +
}

# ------------------------------------------------------- routed topologies ---

# topo_routed CLI_CIDR RTR_CLI_CIDR RTR_SRV_CIDR SRV_CIDR: client (fs-*-cli, c0) <->
# (r0) router (fs-*-rtr, ip_forward=1) (r1) <-> server (fs-*-srv, s0), with default
# routes in the client and the server pointing at the router. The router has no
# default route: nothing leaves the three namespaces.
topo_routed() {
    CLI_IP=${1%/*}; RTR_CLI_IP=${2%/*}; RTR_SRV_IP=${3%/*}; SRV_IP=${4%/*}
    ns_add cli; ns_add rtr; ns_add srv
    ns_router rtr
    link cli c0 rtr r0
    link rtr r1 srv s0
    addr cli c0 "$1"
    addr rtr r0 "$2"
    addr rtr r1 "$3"
    addr srv s0 "$4"
    route cli default via "$RTR_CLI_IP"
    route srv default via "$RTR_SRV_IP"
}

# fw NS IPTABLES-ARGS...: run iptables inside a namespace (the lab's router).
fw() { local n; n=$(ns "$1"); shift; ip netns exec "$n" iptables "$@"; }
