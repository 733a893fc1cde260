#!/usr/bin/env bash
# healthy-lftp-mirror: lftp mirrors a small directory tree (healthy, EPSV).
# Server: pure-ftpd (10.1.0.1:21, passive port 40208). Client: lftp 4.9.2
# (10.1.0.2): `mirror site` copies site/ (index.html and three binary files)
# and site/img/ (two binary files) into a local directory: one listing per
# directory and one RETR per file, each on its own EPSV data connection, on a
# single control connection; then bye. The script compares the local copy with
# the server's files. Captured on the server's interface.
source "$(dirname "$0")/lib.sh"
lab_init healthy-lftp-mirror

topo_pair 10.1.0.2 10.1.0.1
home_reset
make_text "$LAB_HOME/site/index.html" 60
make_file "$LAB_HOME/site/app.bin" 24576 healthy-lftp-mirror-app
make_file "$LAB_HOME/site/data.bin" 16384 healthy-lftp-mirror-data
make_file "$LAB_HOME/site/notes.bin" 8192 healthy-lftp-mirror-notes
make_file "$LAB_HOME/site/img/logo.bin" 12288 healthy-lftp-mirror-logo
make_file "$LAB_HOME/site/img/banner.bin" 20480 healthy-lftp-mirror-banner
fix_mtimes
start_pureftpd srv -S 10.1.0.1,21 -p 40208:40208

mkdir -p "$TMPD/mirror"
capture_start srv s0
in_ns cli timeout 60 lftp -e "set net:timeout 5; set net:max-retries 1; set cmd:fail-exit yes;
    set xfer:clobber on; set ftp:passive-mode on; set ftp:prefer-epsv yes; set ftp:ssl-allow no;
    set mirror:parallel-transfer-count 1; set mirror:parallel-directories no; set ftp:use-utf8 no;
    open -u $FTP_USER,$FTP_PASS ftp://10.1.0.1;
    mirror site $TMPD/mirror/site; bye" > "$TMPD/lftp.out"
capture_stop
diff -r "$TMPD/mirror/site" "$LAB_HOME/site" >&2 || die "the mirror differs from the server's files"
capture_save pcap
ftp_summary "$CAPTURE_FILE"
check_expect
