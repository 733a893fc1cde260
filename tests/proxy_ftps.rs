//! FTPS through the proxy, with a real server and a real client: vsftpd from the
//! capture lab (explicit TLS, on 127.0.0.2) and curl `--ssl-reqd`, the proxy on
//! 127.0.0.1. After `AUTH TLS` the proxy relays the control connection as opaque
//! bytes and cannot rewrite the encrypted 229/227: curl connects to the proxy's
//! address at the server's passive port and is refused (exit 7), or, with
//! `--no-ftp-skip-pasv-ip`, goes to the server's own address around the proxy.
//! Either way the proxy's session must say it: encrypted, with the control
//! connection's TLS facts and its records, and a `tls-proxy-blind` finding.
//!
//! Needs the lab (`captures/make/install-lab.sh`: vsftpd under /opt/ftpscope-lab,
//! the user `ftpuser`, its PAM service) and root; skipped with a message otherwise,
//! like `proxy_pureftpd.rs`.

mod proxy_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ftpscope::model::{Session, Severity};
use proxy_support::*;

const VSFTPD: &str = "/opt/ftpscope-lab/vsftpd/usr/sbin/vsftpd";

struct Vsftpd {
    child: std::process::Child,
    addr: SocketAddr,
    /// ftpuser's directory for this test (under the lab home), removed at the end.
    dir: PathBuf,
    _conf: tempfile::TempDir,
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn available(test: &str) -> bool {
    if !Path::new(VSFTPD).exists() || !Path::new("/etc/pam.d/ftpscope-vsftpd").exists() {
        eprintln!(
            "SKIPPED {test}: needs vsftpd and its PAM service from captures/make/install-lab.sh"
        );
        return false;
    }
    lab_available(test) && require_curl(test)
}

/// vsftpd with explicit TLS (require_ssl_reuse=YES, its default) on 127.0.0.2, so
/// that the proxy (127.0.0.1) and the server have different addresses as they
/// would on a network.
async fn vsftpd_tls(tag: &str) -> Vsftpd {
    let conf = tempfile::tempdir().unwrap();
    let (cert, key) = (conf.path().join("cert.pem"), conf.path().join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=ftp.example.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "openssl makes the certificate");
    let dir = Path::new(HOME).join(format!("proxy-ftps-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_file(&dir.join("secret.bin"), 50_000);
    std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{LAB_USER}:{LAB_USER}"))
        .arg(&dir)
        .status()
        .unwrap();
    let conf_dir = conf.path().to_path_buf();
    let (child, addr) = start_listening_server("vsftpd", |port| {
        let file = conf_dir.join("vsftpd.conf");
        std::fs::write(
            &file,
            format!(
                "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.2\nlisten_port={port}\n\
                 background=NO\nanonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\n\
                 chroot_local_user=YES\nallow_writeable_chroot=YES\n\
                 pam_service_name=ftpscope-vsftpd\nsecure_chroot_dir=/var/run/vsftpd/empty\n\
                 seccomp_sandbox=NO\nconnect_from_port_20=NO\n\
                 ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\n\
                 force_local_logins_ssl=YES\nforce_local_data_ssl=YES\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        std::process::Command::new(VSFTPD)
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vsftpd starts")
    })
    .await;
    Vsftpd {
        child,
        addr: SocketAddr::from(([127, 0, 0, 2], addr.port())),
        dir,
        _conf: conf,
    }
}

/// What every proxy-relayed FTPS session must show.
fn check_session(s: &Session, what: &str) {
    assert!(s.tls, "{what}: the session is marked encrypted");
    let t = s
        .tls_info
        .as_deref()
        .expect("TLS facts of the control connection");
    assert_eq!(t.mode, "explicit", "{what}");
    assert_eq!(t.handshake, "complete", "{what}");
    assert!(
        t.version.is_some() && t.cipher_suite.is_some(),
        "{what}: {t:?}"
    );
    // USER, PASS, PBSZ, PROT, PWD, EPSV/PASV ...: one record each. Through the
    // proxy (no frame numbers) they used to be taken for the handshake's end.
    let commands = t
        .record_log
        .iter()
        .filter(|r| r.likely == "command")
        .count();
    assert!(
        commands >= 5,
        "{what}: {commands} commands in {:?}",
        t.record_log
    );
    assert!(
        t.records.client.plaintext_estimate.unwrap_or(0) > 0,
        "{what}: {:?}",
        t.records
    );
    assert!(s.data_channels.is_empty(), "{what}: {:?}", s.data_channels);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "tls-proxy-blind")
        .unwrap_or_else(|| {
            panic!(
                "{what}: no tls-proxy-blind in {:?}",
                s.findings.iter().map(|f| f.id).collect::<Vec<_>>()
            )
        });
    assert_eq!(f.severity, Severity::Warning, "{what}");
    let ev: Vec<&str> = f.evidence.iter().map(|e| &*e.what.en).collect();
    assert!(
        ev.iter().any(|e| e.contains("234")) && ev.iter().any(|e| e.contains("TLS 1.")),
        "{what}: {ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.contains("data connections through the proxy: 0")),
        "{what}: {ev:?}"
    );
    // The remedy of control-encrypted no longer sends the user to the proxy.
    for f in s.findings.iter().filter(|f| f.id == "control-encrypted") {
        assert!(!f.remedy.contains("ftpscope proxy"), "{what}: {}", f.remedy);
    }
    // The JSON line the proxy writes carries the same.
    let mut json = Vec::new();
    ftpscope::report::json::write_session(&mut json, s, ftpscope::ftp::catalog::Lang::En).unwrap();
    let json = String::from_utf8(json).unwrap();
    for needle in [
        "\"tls-proxy-blind\"",
        "\"handshake\":\"complete\"",
        "\"likely\":\"command\"",
    ] {
        assert!(json.contains(needle), "{what}: {needle} not in {json}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftps_through_the_proxy_fails_as_curl_sees_it_and_says_why() {
    if !available("ftps_through_the_proxy_fails_as_curl_sees_it_and_says_why") {
        return;
    }
    let srv = vsftpd_tls("refused").await;
    let sub = srv.dir.file_name().unwrap().to_string_lossy().to_string();
    let p = proxy(config(srv.addr)).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("got.bin").to_string_lossy().to_string();
    let url = p.url(&format!("/{sub}/secret.bin"));
    let o = lab_curl(&["--ssl-reqd", "-k", "-o", &out, &url]).await;
    // EPSV, then PASV: both to 127.0.0.1 at the server's port, where nothing listens.
    assert_eq!(
        o.status.code(),
        Some(7),
        "curl: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let sessions = p.stop().await;
    assert_eq!(sessions.len(), 1);
    check_session(&sessions[0], "curl through the proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftps_data_around_the_proxy_is_explained_too() {
    if !available("ftps_data_around_the_proxy_is_explained_too") {
        return;
    }
    let srv = vsftpd_tls("around").await;
    let sub = srv.dir.file_name().unwrap().to_string_lossy().to_string();
    let p = proxy(config(srv.addr)).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("got.bin");
    let out_s = out.to_string_lossy().to_string();
    let url = p.url(&format!("/{sub}/secret.bin"));
    // The announced address (127.0.0.2) is reachable here: curl fetches the file
    // from the server directly, the proxy relays only the control connection.
    let o = lab_curl(&[
        "--ssl-reqd",
        "-k",
        "--disable-epsv",
        "--no-ftp-skip-pasv-ip",
        "-o",
        &out_s,
        &url,
    ])
    .await;
    assert_ok(&o, "FTPS download around the proxy");
    assert_eq!(sha256(&out), sha256(&srv.dir.join("secret.bin")));
    let data = p
        .handle
        .counters()
        .data_connections
        .load(std::sync::atomic::Ordering::Relaxed);
    let sessions = p.stop().await;
    assert_eq!(data, 0, "no data connection went through the proxy");
    assert_eq!(sessions.len(), 1);
    check_session(&sessions[0], "curl around the proxy");
}
