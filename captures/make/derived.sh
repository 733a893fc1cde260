#!/usr/bin/env bash
# derived: captures of the kinds users bring, made from the lab's own captures with
# the tools users use (no namespace needed):
#   control-only.pcap         tcpdump -r passive-ok.pcapng -w ... port 21
#                             (the usual `tcpdump port 21`: data connections filtered out)
#   control-only-425.pcap     the same filter over passive-not-attempted.pcap
#   payload-only.pcap         tshark -Y 'tcp.len>0' over healthy-epsv-list.pcapng
#                             (SYNs, FINs and pure ACKs gone; starts at the 220 greeting)
#   duplicated.pcap           mergecap of active-port.pcap with itself (every packet twice,
#                             side by side, as from two capture points)
#   duplicated-concat.pcap    mergecap -a of login-retry.pcap with itself (the whole file
#                             twice: time goes back in the middle)
#   host-filtered.pcap        tcpdump -r multi-session.pcap -w ... host 10.1.0.3 (one client)
#   tls-mid-session.pcap      editcap -r auth-tls.pcap ... 16-1000000 (explicit FTPS captured
#                             after its TLS handshake: only TLS records on the control connection)
#   mid-transfer.pcap         editcap -r slow-healthy.pcap ... 1000-2449 (tcpdump started
#                             during a download: the data connection is already running,
#                             its PASV and RETR are before the capture; the control
#                             connection shows only with the 226 and QUIT)
#   data-only-active.pcap     tcpdump -r healthy-active-eprt.pcap -w ... port 20 (a filter on
#                             the active-mode data port: no control connection at all)
#   ftps-dsb.pcapng           editcap -r "$C/slow-healthy.pcap" "$C/mid-transfer.pcap" 1000-2449
tcpdump -r "$C/healthy-active-eprt.pcap" -w "$C/data-only-active.pcap" port 20 2>/dev/null
editcap --inject-secrets tls,ftps-lftp-active.keys over
#                             ftps-lftp-active.pcap: the key log travels inside the capture
#                             (a pcapng Decryption Secrets Block), as Wireshark users share it
# Each is checked against its expectation file with check-expect.py.
set -euo pipefail
MAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
C=$(cd "$MAKE_DIR/.." && pwd)
check() {
    local f="$C/$1.pcap"
    case $1 in
        # The checker (tshark) would count both copies: check a copy without
        # them (editcap -D: duplicates within 1000 packets), which must match.
        duplicated*) editcap -D 1000 "$f" "/tmp/$1.dedup.pcap" >/dev/null; f="/tmp/$1.dedup.pcap" ;;
    esac
    if [ -f "$C/$1.expect.json" ]; then
        python3 "$MAKE_DIR/check-expect.py" "$f" "$C/$1.expect.json"
    else
        python3 "$MAKE_DIR/check-expect.py" --dump "$C/$1.pcap" 21
    fi
}
tcpdump -r "$C/passive-ok.pcapng" -w "$C/control-only.pcap" port 21 2>/dev/null
tcpdump -r "$C/passive-not-attempted.pcap" -w "$C/control-only-425.pcap" port 21 2>/dev/null
tshark -r "$C/healthy-epsv-list.pcapng" -Y 'tcp.len>0' -F pcap -w "$C/payload-only.pcap"
mergecap -F pcap -w "$C/duplicated.pcap" "$C/active-port.pcap" "$C/active-port.pcap"
mergecap -a -F pcap -w "$C/duplicated-concat.pcap" "$C/login-retry.pcap" "$C/login-retry.pcap"
tcpdump -r "$C/multi-session.pcap" -w "$C/host-filtered.pcap" host 10.1.0.3 2>/dev/null
editcap -r "$C/auth-tls.pcap" "$C/tls-mid-session.pcap" 16-1000000
editcap --inject-secrets "tls,$C/ftps-lftp-active.keys" -F pcapng "$C/ftps-lftp-active.pcap" "$C/ftps-dsb.pcapng"
chmod 644 "$C/ftps-dsb.pcapng"
python3 "$MAKE_DIR/check-expect.py" "$C/ftps-dsb.pcapng" "$C/ftps-dsb.expect.json"
chmod 644 "$C"/host-filtered.pcap "$C"/tls-mid-session.pcap "$C"/mid-transfer.pcap "$C"/data-only-active.pcap
chmod 644 "$C"/control-only.pcap "$C"/control-only-425.pcap "$C"/payload-only.pcap "$C"/duplicated.pcap "$C"/duplicated-concat.pcap
for n in control-only control-only-425 payload-only duplicated duplicated-concat host-filtered tls-mid-session mid-transfer data-only-active; do
    echo "== $n ($(stat -c %s "$C/$n.pcap") bytes)"
    check "$n"
done
