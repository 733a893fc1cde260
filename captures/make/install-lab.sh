#!/usr/bin/env bash
# install-lab.sh: idempotent installation of the ftpscope capture lab.
#
# Installs (outside the repository):
#   - vsftpd, pure-ftpd and proftpd-core from Debian, unpacked side by side with
#     `dpkg -x` into /opt/ftpscope-lab/<name> (the packages conflict with each
#     other, and we do not want system services registered);
#   - their library dependencies, plus the clients and tools (curl, lftp, tnftp,
#     python3, tcpdump, tshark/editcap, iptables, iproute2, ethtool, openssl);
#   - a PAM service file for vsftpd (/etc/pam.d/ftpscope-vsftpd);
#   - the test user `ftpuser` (password `s3cret-pass`, home /srv/ftpscope-lab/home).
# Running it again changes nothing that is already in place.
set -euo pipefail

LAB=/opt/ftpscope-lab
LAB_HOME=/srv/ftpscope-lab/home
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" = 0 ] || { echo "install-lab.sh: must run as root" >&2; exit 1; }

TOOLS="curl lftp tnftp python3 tcpdump tshark wireshark-common iptables iproute2 ethtool openssl procps"
LIBS="libcap2 libpam0g libpam-modules libpam-runtime libssl3 libwrap0 libcrypt1 libsodium23 libacl1
      libhiredis0.14 libidn2-0 libmemcached11 libmemcachedutil2 libncursesw6 libpcre2-8-0
      libpcre2-posix3 libtinfo6 zlib1g"

missing=""
for p in $TOOLS $LIBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    # tshark asks whether non-root users may capture; answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get install -y --no-install-recommends $missing
fi

# --- servers, unpacked side by side -------------------------------------
mkdir -p "$LAB/debs"
for pkg in vsftpd pure-ftpd proftpd-core; do
    case $pkg in
        vsftpd)       dir=$LAB/vsftpd;   bin=usr/sbin/vsftpd ;;
        pure-ftpd)    dir=$LAB/pure-ftpd; bin=usr/sbin/pure-ftpd ;;
        proftpd-core) dir=$LAB/proftpd;  bin=usr/sbin/proftpd ;;
    esac
    if [ -x "$dir/$bin" ]; then
        continue
    fi
    ( cd "$LAB/debs" && ls ${pkg}_*.deb >/dev/null 2>&1 || apt-get download "$pkg" )
    deb=$(ls "$LAB/debs"/${pkg}_*.deb | head -1)
    rm -rf "$dir"; mkdir -p "$dir"
    dpkg -x "$deb" "$dir"
    dpkg-deb -f "$deb" Version > "$dir/VERSION"
    echo "unpacked $pkg $(cat "$dir/VERSION") into $dir"
done

# ProFTPD's TLS module (mod_tls) is a separate package: unpack it beside proftpd-core.
if [ ! -f "$LAB/proftpd/usr/lib/proftpd/mod_tls.so" ]; then
    ( cd "$LAB/debs" && ls proftpd-mod-crypto_*.deb >/dev/null 2>&1 || apt-get download proftpd-mod-crypto )
    dpkg -x "$(ls "$LAB/debs"/proftpd-mod-crypto_*.deb | head -1)" "$LAB/proftpd"
    echo "unpacked proftpd-mod-crypto into $LAB/proftpd"
fi

# vsftpd's secure_chroot_dir must exist.
mkdir -p /var/run/vsftpd/empty

# PAM service used by the lab's vsftpd (pam_service_name=ftpscope-vsftpd).
if [ ! -f /etc/pam.d/ftpscope-vsftpd ]; then
    cat > /etc/pam.d/ftpscope-vsftpd <<'PAM'
# ftpscope capture lab: vsftpd authentication against local users
auth     required  pam_unix.so
account  required  pam_unix.so
session  required  pam_permit.so
PAM
fi

# Unprivileged user some servers want for anonymous / privilege separation.
getent passwd ftp >/dev/null || useradd --system --home-dir /srv/ftpscope-lab/anon --shell /usr/sbin/nologin ftp
mkdir -p /srv/ftpscope-lab/anon

# --- test user ------------------------------------------------------------
mkdir -p "$LAB_HOME"
if ! getent passwd ftpuser >/dev/null; then
    useradd --home-dir "$LAB_HOME" --shell /bin/bash --no-create-home ftpuser
fi
echo 'ftpuser:s3cret-pass' | chpasswd
chown ftpuser:ftpuser "$LAB_HOME"
# pure-ftpd and vsftpd want the user's shell listed in /etc/shells.
grep -qx /bin/bash /etc/shells || echo /bin/bash >> /etc/shells

# --- quick self-check -----------------------------------------------------
"$LAB/vsftpd/usr/sbin/vsftpd" -v 0>&1 2>&1 | head -1 || true
"$LAB/pure-ftpd/usr/sbin/pure-ftpd" --help 2>&1 | head -1 || true
"$LAB/proftpd/usr/sbin/proftpd" -v 2>&1 | head -1 || true
echo "ftpscope lab ready in $LAB"
