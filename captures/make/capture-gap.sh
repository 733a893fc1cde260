#!/usr/bin/env bash
# capture-gap: a capture with control-connection segments missing.
# Server: vsftpd (10.1.0.1:21, passive port 40205). Client: Python ftplib
# (10.1.0.2): login, PWD, CWD pub, RETR pub/data.bin (TYPE I, PASV; 40960
# bytes), QUIT: a healthy session, captured on the server's interface.
# The capture is then edited with editcap: two frames that carry control data
# are deleted from the middle: the client's "PWD" command and the server's
# "250 Directory successfully changed." reply to CWD. The peers' later ACKs
# acknowledge the deleted bytes, so the capture shows they were delivered.
source "$(dirname "$0")/lib.sh"
lab_init capture-gap

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_file "$LAB_HOME/pub/data.bin" 40960 capture-gap-file
fix_mtimes
start_vsftpd srv <<'CONF'
pasv_min_port=40205
pasv_max_port=40205
CONF

capture_start srv s0
in_ns cli timeout 30 "$PYTHON" - "$TMPD/data.bin" <<'PY'
import ftplib, sys
ftp = ftplib.FTP()
ftp.connect("10.1.0.1", 21, timeout=10)
ftp.login("ftpuser", "s3cret-pass")
print(ftp.pwd())
print(ftp.cwd("pub"))
with open(sys.argv[1], "wb") as f:
    print(ftp.retrbinary("RETR data.bin", f.write))
print(ftp.quit())
PY
capture_stop
cmp "$TMPD/data.bin" "$LAB_HOME/pub/data.bin"

# The frames to delete: each must be one whole command or reply.
frame_of() {
    tshark -r "$TMPD/raw.pcap" -Y "$1" -T fields -e frame.number 2>/dev/null
}
f_pwd=$(frame_of 'tcp.dstport == 21 and ftp.request.command == "PWD"')
f_250=$(frame_of 'tcp.srcport == 21 and ftp.response.code == 250')
[ "$(echo "$f_pwd" | wc -w)" = 1 ] && [ "$(echo "$f_250" | wc -w)" = 1 ] ||
    die "expected one PWD frame and one 250 frame, got '$f_pwd' and '$f_250'"
log "deleting frame $f_pwd (PWD) and frame $f_250 (250 reply to CWD)"
editcap "$TMPD/raw.pcap" "$TMPD/gap.pcap" "$f_pwd" "$f_250"
[ $(($(capinfos -c -M "$TMPD/raw.pcap" | awk '/Number of packets/ {print $NF}') - 2)) = \
  "$(capinfos -c -M "$TMPD/gap.pcap" | awk '/Number of packets/ {print $NF}')" ] || die "editcap did not delete 2 frames"
capture_save pcap gap
ftp_summary "$CAPTURE_FILE"

# check-expect.py reassembles the control connection with tshark, which stops
# at the first hole, so the check is in two parts:
# 1. the unedited capture against the expectation with the two deleted lines put
#    back (PWD before CWD; 250 after 257): the whole scenario, data channel included;
# 2. the edited capture, decoded frame by frame by tshark, against the
#    expectation's commands and reply codes as they are (without PWD and 250).
EXPECT=$CAPTURES_DIR/$CAPTURE_NAME.expect.json
if [ -f "$EXPECT" ]; then
    "$PYTHON" - "$EXPECT" "$TMPD/full.expect.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
s = e["sessions"][0]
s["commands"].insert(s["commands"].index("CWD"), "PWD")
s["reply_codes"].insert(s["reply_codes"].index(257) + 1, 250)
json.dump(e, open(sys.argv[2], "w"))
PY
    "$PYTHON" "$MAKE_DIR/check-expect.py" "$TMPD/raw.pcap" "$TMPD/full.expect.json" >&2 ||
        die "the unedited capture differs from the scenario in $CAPTURE_NAME.expect.json (see above)"
    "$PYTHON" - "$CAPTURE_FILE" "$EXPECT" <<'PY' >&2 || die "the edited capture differs from $CAPTURE_NAME.expect.json"
import json, subprocess, sys
cap, exp = sys.argv[1], json.load(open(sys.argv[2]))["sessions"][0]
out = subprocess.run(["tshark", "-r", cap, "-Y", "tcp.port == 21 and ftp", "-T", "fields",
                      "-e", "ftp.request.command", "-e", "ftp.response.code"],
                     check=True, capture_output=True, text=True).stdout
cmds, codes = [], []
for line in out.splitlines():
    c, r = (line.split("\t") + [""])[:2]
    if c:
        cmds.append(c.upper())
    if r:
        codes.append(int(r.split(",")[0]))
ok = cmds == exp["commands"] and codes == exp["reply_codes"]
print("edited capture, frame by frame:", cmds, codes, "OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
PY
else
    "$PYTHON" "$MAKE_DIR/check-expect.py" --dump "$TMPD/raw.pcap" >&2
fi
