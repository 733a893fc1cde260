//! The interception CA of `ftpscope proxy --tls-intercept`, kept the way
//! mitmproxy keeps its own: made on first use under the user's configuration
//! directory (`$XDG_CONFIG_HOME/ftpscope/`, else `$HOME/.config/ftpscope/`), or
//! given with `--ca FILE` (certificate and key in one PEM file).
//!
//! Files in the directory:
//! * [`CA_KEY_FILE`]: the CA certificate and its private key, created with mode
//!   0600 (the mode is given at creation, never set afterwards: there is no
//!   moment when another user could open it);
//! * [`CA_CERT_FILE`]: the certificate alone, for clients to trust.
//!
//! Leaf certificates are issued per name (a DNS name, or an IP address as an IP
//! SAN) and cached for the life of the proxy, [`MAX_LEAVES`] at most.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA certificate and key (mode 0600).
pub const CA_KEY_FILE: &str = "ftpscope-ca.pem";
/// The CA certificate alone, to give to clients.
pub const CA_CERT_FILE: &str = "ftpscope-ca-cert.pem";
/// Leaf certificates kept (one per upstream name and client-facing address).
pub const MAX_LEAVES: usize = 256;

/// Where the CA lives by default: `$XDG_CONFIG_HOME/ftpscope`, else
/// `$HOME/.config/ftpscope`.
pub fn default_dir() -> anyhow::Result<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(x) = nonempty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("ftpscope"));
    }
    let home =
        nonempty("HOME").context("neither XDG_CONFIG_HOME nor HOME is set: give --ca FILE")?;
    Ok(PathBuf::from(home).join(".config").join("ftpscope"))
}

/// A certificate's names: the upstream name (lower case) and the address the
/// client connected to.
pub type NameKey = (String, Option<IpAddr>);

/// A leaf certificate chain and its key, ready for a rustls server config.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The CA: issues leaf certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    /// The file clients should trust (the certificate alone when ftpscope made
    /// the CA; the given file with `--ca`).
    pub cert_path: PathBuf,
    leaves: Mutex<HashMap<NameKey, Arc<LeafPair>>>,
}

/// One issued leaf, kept in the cache.
pub struct LeafPair {
    pub cert: CertificateDer<'static>,
    pub key_der: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ftpscope interception CA");
    dn.push(DnType::OrganizationName, "ftpscope");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(2);
    p.not_after = now + time::Duration::days(3650);
    p
}

/// Write `text` to a new file `path` created with `mode` (never changed later).
fn create_with_mode(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

impl Ca {
    /// The CA in `dir` ([`default_dir`] when None), made there on first use.
    pub fn load_or_create(dir: Option<&Path>) -> anyhow::Result<Ca> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => default_dir()?,
        };
        let key_file = dir.join(CA_KEY_FILE);
        let cert_file = dir.join(CA_CERT_FILE);
        if !key_file.exists() {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let key = KeyPair::generate().context("cannot generate the CA key")?;
            let cert = ca_params()
                .self_signed(&key)
                .context("cannot make the CA certificate")?;
            let both = format!("{}{}", cert.pem(), key.serialize_pem());
            create_with_mode(&key_file, &both, 0o600)?;
            // A certificate left from an earlier CA would not match: replace it.
            let _ = std::fs::remove_file(&cert_file);
            create_with_mode(&cert_file, &cert.pem(), 0o644)?;
        }
        let mut ca = Ca::from_file(&key_file)?;
        if !cert_file.exists() {
            create_with_mode(&cert_file, &pem_of(&ca.cert_der), 0o644)?;
        }
        ca.cert_path = cert_file;
        Ok(ca)
    }

    /// A CA from one PEM file holding its certificate and private key (`--ca`).
    pub fn from_file(path: &Path) -> anyhow::Result<Ca> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        let (cert_pem, key_pem) = split_pem(&text);
        let Some(cert_pem) = cert_pem else {
            bail!("{}: no CERTIFICATE block", path.display());
        };
        let Some(key_pem) = key_pem else {
            bail!(
                "{}: no PRIVATE KEY block (the CA file holds the certificate and its key)",
                path.display()
            );
        };
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("{}: the private key is not readable", path.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)
            .with_context(|| format!("{}: the certificate is not readable", path.display()))?;
        let cert_der = der_of(&cert_pem)
            .with_context(|| format!("{}: the certificate is not readable", path.display()))?;
        Ok(Ca {
            issuer,
            cert_der,
            cert_path: path.to_path_buf(),
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// The CA certificate (DER).
    pub fn cert(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// A leaf for `name` (a DNS name or an IP address), also valid for `also`
    /// (the proxy's address the client connected to, which a client that sent
    /// no SNI checks the certificate against). Cached per (name, also).
    pub fn leaf(&self, name: &str, also: Option<IpAddr>) -> anyhow::Result<Leaf> {
        let key = (name.to_ascii_lowercase(), also);
        let mut cache = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        let pair = match cache.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(self.issue(&key.0, also)?);
                if cache.len() >= MAX_LEAVES {
                    cache.clear();
                }
                cache.insert(key, p.clone());
                p
            }
        };
        Ok(Leaf {
            chain: vec![pair.cert.clone(), self.cert_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pair.key_der.clone())),
        })
    }

    fn issue(&self, name: &str, also: Option<IpAddr>) -> anyhow::Result<LeafPair> {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "ftpscope interception");
        p.distinguished_name = dn;
        let mut sans = Vec::new();
        match name.parse::<IpAddr>() {
            Ok(ip) => sans.push(SanType::IpAddress(ip)),
            Err(_) => sans.push(SanType::DnsName(
                name.to_string()
                    .try_into()
                    .with_context(|| format!("`{name}` is not a DNS name"))?,
            )),
        }
        if let Some(ip) = also {
            if !sans.contains(&SanType::IpAddress(ip)) {
                sans.push(SanType::IpAddress(ip));
            }
        }
        p.subject_alt_names = sans;
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::days(2);
        // Below the 398 days clients accept for a leaf.
        p.not_after = now + time::Duration::days(390);
        let key = KeyPair::generate().context("cannot generate a leaf key")?;
        let cert = p
            .signed_by(&key, &self.issuer)
            .context("cannot sign a leaf certificate")?;
        Ok(LeafPair {
            cert: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }
}

/// The first CERTIFICATE block and the first private key block of a PEM text.
fn split_pem(text: &str) -> (Option<String>, Option<String>) {
    let mut cert = None;
    let mut key = None;
    let mut cur: Option<(bool, String)> = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some(label) = l
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        {
            let is_cert = label == "CERTIFICATE";
            let is_key = label.ends_with("PRIVATE KEY");
            if is_cert || is_key {
                cur = Some((is_cert, format!("{l}\n")));
            }
            continue;
        }
        if let Some((is_cert, mut s)) = cur.take() {
            s.push_str(l);
            s.push('\n');
            if l.starts_with("-----END ") {
                let slot = if is_cert { &mut cert } else { &mut key };
                if slot.is_none() {
                    *slot = Some(s);
                }
            } else {
                cur = Some((is_cert, s));
            }
        }
    }
    (cert, key)
}

fn der_of(cert_pem: &str) -> anyhow::Result<CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject as _;
    CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A DER certificate as PEM text.
pub fn pem_of(der: &CertificateDer<'_>) -> String {
    use base64_lines::encode;
    format!(
        "-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----\n",
        encode(der.as_ref())
    )
}

/// Base64 in 64-character lines (PEM's body), without another dependency.
mod base64_lines {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(b: &[u8]) -> String {
        let mut s = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// What `ftpscope ca` prints: where the CA certificate is and how to trust it.
pub fn trust_help(ca: &Ca) -> String {
    let p = ca.cert_path.display();
    format!(
        "ftpscope interception CA certificate: {p}\n\
         \n\
         Trust it in the client that talks to `ftpscope proxy --tls-intercept`:\n\
         \x20 curl:    curl --ssl-reqd --cacert {p} ftp://PROXY:PORT/...\n\
         \x20 lftp:    lftp -e 'set ssl:ca-file {p}; set ftp:ssl-force true' ftp://PROXY:PORT\n\
         \x20 Python:  ftplib.FTP_TLS(context=ssl.create_default_context(cafile=\"{p}\"))\n\
         \x20 system (Debian/Ubuntu):\n\
         \x20          cp {p} /usr/local/share/ca-certificates/ftpscope-ca.crt && update-ca-certificates\n\
         \n\
         Anyone holding the CA key can impersonate any server to a client that trusts this\n\
         certificate: trust it only in test clients, and remove it when done.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_lines::encode(b""), "");
        assert_eq!(base64_lines::encode(b"f"), "Zg==\n");
        assert_eq!(base64_lines::encode(b"fo"), "Zm8=\n");
        assert_eq!(base64_lines::encode(b"foobar"), "Zm9vYmFy\n");
    }

    #[test]
    fn ca_is_made_once_with_a_private_key_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("cfg");
        let a = Ca::load_or_create(Some(&dir)).unwrap();
        let mode = std::fs::metadata(dir.join(CA_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Ca::load_or_create(Some(&dir)).unwrap();
        assert_eq!(a.cert(), b.cert(), "the second run uses the first CA");
        assert_eq!(b.cert_path, dir.join(CA_CERT_FILE));
        let again = Ca::from_file(&dir.join(CA_KEY_FILE)).unwrap();
        assert_eq!(again.cert(), a.cert());
        let pem = std::fs::read_to_string(dir.join(CA_CERT_FILE)).unwrap();
        assert_eq!(der_of(&pem).unwrap(), *a.cert());
        assert!(trust_help(&a).contains(&*a.cert_path.to_string_lossy()));
    }

    #[test]
    fn leaves_name_the_host_or_address_and_are_cached() {
        let d = tempfile::tempdir().unwrap();
        let ca = Ca::load_or_create(Some(d.path())).unwrap();
        let l1 = ca
            .leaf("ftp.example.test", Some("127.0.0.1".parse().unwrap()))
            .unwrap();
        let l2 = ca
            .leaf("FTP.example.test", Some("127.0.0.1".parse().unwrap()))
            .unwrap();
        assert_eq!(l1.chain[0], l2.chain[0]);
        let (_, c) = x509_parser::parse_x509_certificate(&l1.chain[0]).unwrap();
        let san = c.subject_alternative_name().unwrap().unwrap().value;
        let names = format!("{:?}", san.general_names);
        assert!(
            names.contains("ftp.example.test") && names.contains("IPAddress([127, 0, 0, 1])"),
            "{names}"
        );
        let ip = ca.leaf("192.0.2.7", None).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(&ip.chain[0]).unwrap();
        let san = c.subject_alternative_name().unwrap().unwrap().value;
        assert!(format!("{:?}", san.general_names).contains("IPAddress([192, 0, 2, 7])"));
    }

    #[test]
    fn a_file_without_key_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let ca = Ca::load_or_create(Some(d.path())).unwrap();
        let e = Ca::from_file(&ca.cert_path).unwrap_err();
        assert!(format!("{e:#}").contains("PRIVATE KEY"), "{e:#}");
    }
}
