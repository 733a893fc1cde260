#!/usr/bin/env bash
# all.sh: regenerate every capture in captures/ (runs install-lab.sh first).
# Usage: captures/make/all.sh [NAME...]   (default: every capture script, in order)
# Each script writes captures/<name>.pcap or .pcapng and then cross-checks it
# against captures/<name>.expect.json with check-expect.py; a regenerated capture
# can differ in details that depend on the machine (ephemeral ports, uids in
# listings), in which case the check prints what to update.
set -euo pipefail
cd "$(dirname "$0")"

SCRIPTS=(
    passive-ok epsv-upload active-port eprt-ipv6 login-retry auth-tls multi-session
    mid-session ftp-port-2121
    passive-refused passive-dropped nat-server-private nat-client-active nat-client-active-private nat-client-active-refused nat-server-container ascii-binary
    aborted-download epsv-refused-fallback epsv-all-port port-third-host idle-timeout-421 server-hangs-up nat-pool-bad-ip
    healthy-active-eprt healthy-epsv-list resumed-transfers
    passive-not-attempted transfer-reset command-unsupported-nofallback capture-truncated
    capture-gap capture-one-sided bruteforce-local healthy-lftp-mirror nat-router
    control-refused control-unanswered slow-transfer ftps server-refusals pasv-ipv6 client-stopped slow-greeting-dns
    nflog icmp-rejected icmp-rejected-ipv6 data-close-rst offload
    derived   # last: made from the captures above
)
[ $# -gt 0 ] && SCRIPTS=("$@")

./install-lab.sh >/dev/null
failed=()
for s in "${SCRIPTS[@]}"; do
    echo "=== $s"
    if ! "./$s.sh"; then
        failed+=("$s")
    fi
done
du -sh .. | sed 's/^/captures folder: /'
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all captures made"
