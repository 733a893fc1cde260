#!/usr/bin/env bash
# capture-truncated: a healthy session captured with a small snaplen.
# Server: pure-ftpd (10.1.0.1:21, passive port 40204). Client: curl (10.1.0.2)
# downloads notes.bin (20480 bytes) over EPSV and quits. Two tcpdumps run on the
# server's interface at the same time: one with `-s 80` (saved: every frame is
# cut after 80 bytes, i.e. 14 bytes of TCP payload after the Ethernet, IP and
# TCP-with-timestamps headers, so most commands and replies are cut), and one
# with the full snaplen, kept only to check the expectation file against
# (check-expect.py cannot read cut lines).
source "$(dirname "$0")/lib.sh"
lab_init capture-truncated

SNAPLEN=80
topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/notes.bin" 20480 capture-truncated-file
fix_mtimes
start_pureftpd srv -S 10.1.0.1,21 -p 40204:40204

# The truncated capture: as capture_start, but with -s $SNAPLEN.
bg_ns srv tcpdump-cut tcpdump -i s0 -n -s "$SNAPLEN" -B 32768 -U --immediate-mode -Z root -w "$TMPD/cut.pcap"
TCPDUMP_PIDS="$TCPDUMP_PIDS $LAST_PID"
TCPDUMP_PID_cut=$LAST_PID
for _ in $(seq 1 50); do grep -q "listening on" "$TMPD/tcpdump-cut.err" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$TMPD/tcpdump-cut.err" || die "tcpdump did not start: $(cat "$TMPD/tcpdump-cut.err")"
# The full-snaplen reference.
capture_start srv s0 full

in_ns cli curl -sS --max-time 20 -u "$FTP_USER:$FTP_PASS" \
    "ftp://10.1.0.1/notes.bin" -o "$TMPD/notes.bin"
capture_stop full
capture_stop cut
cmp "$TMPD/notes.bin" "$LAB_HOME/notes.bin"
capture_save pcap cut
ftp_summary "$TMPD/full.pcap"

snap=$(capinfos -l "$CAPTURE_FILE" | sed -n 's/.*file hdr: \([0-9]*\) bytes.*/\1/p')
[ "$snap" = "$SNAPLEN" ] || die "snapshot length $snap, expected $SNAPLEN"
cut=$(tshark -r "$CAPTURE_FILE" -Y "tcp.port == 21 and frame.cap_len < frame.len" 2>/dev/null | wc -l)
[ "$cut" -gt 0 ] || die "no control frame was cut"
log "$cut control-connection frames cut at $SNAPLEN bytes"
# The scenario (commands, replies, data connection) is checked on the
# full-snaplen copy of the same packets.
if [ -f "$CAPTURES_DIR/$CAPTURE_NAME.expect.json" ]; then
    "$PYTHON" "$MAKE_DIR/check-expect.py" "$TMPD/full.pcap" "$CAPTURES_DIR/$CAPTURE_NAME.expect.json" >&2 ||
        die "the full-snaplen copy differs from $CAPTURE_NAME.expect.json (see above)"
    [ "$(capinfos -c -M "$TMPD/full.pcap" | awk '/Number of packets/ {print $NF}')" = \
      "$(capinfos -c -M "$CAPTURE_FILE" | awk '/Number of packets/ {print $NF}')" ] ||
        die "the two captures do not hold the same packets"
else
    "$PYTHON" "$MAKE_DIR/check-expect.py" --dump "$TMPD/full.pcap" >&2
fi
