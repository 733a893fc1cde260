#!/usr/bin/env bash
# offload: healthy transfers captured where most people capture, on an endpoint
# itself, with the NIC offloads Linux turns on by default: TSO/GSO (the sender's
# capture shows "segments" of up to 64 KB, which the NIC would cut later, with
# checksums the NIC would fill in) and GRO (the receiver's capture shows received
# segments merged). Client 10.1.0.2 (curl) -> vsftpd 10.1.0.1, passive:
# a RETR of 3 MB, a STOR of 2 MB, a LIST. Nothing failed.
#   offload.sh [server|client]   where to capture (both when no argument)
# Snap length 200: the control lines are whole, the data payload is cut (counted
# from the headers).
set -euo pipefail
if [ $# -eq 0 ]; then
    "$0" server
    exec "$0" client
fi
source "$(dirname "$0")/lib.sh"
side=$1
case $side in
    server) lab_init offload-server ;;
    client) lab_init offload-client ;;
    *) die "usage: offload.sh [server|client]" ;;
esac

topo_pair
# Back to the kernel's defaults for a real NIC: segmentation and receive
# offloads on (the lab turns them off everywhere else).
in_ns srv ethtool -K s0 tso on gso on gro on > /dev/null
in_ns cli ethtool -K c0 tso on gso on gro on > /dev/null
home_reset
make_file "$LAB_HOME/get.bin" 3000000 offload-get
make_file "$TMPD/put.bin" 2000000 offload-put
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40120
pasv_max_port=40120
CONF

if [ "$side" = server ]; then
    capture_start srv s0 raw -s 200
else
    capture_start cli c0 raw -s 200
fi
in_ns cli curl -sS --max-time 20 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/get.bin"
in_ns cli curl -sS --max-time 20 -T "$TMPD/put.bin" "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/put.bin"
in_ns cli curl -sS --max-time 20 -o /dev/null "ftp://$FTP_USER:$FTP_PASS@10.1.0.1/"
capture_stop
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
