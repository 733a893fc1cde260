//! What the clear-text parts of a TLS connection tell, without keys: the handshake
//! (versions, cipher suite, SNI, ALPN, certificate for TLS <= 1.2, resumption),
//! alerts, how each direction ended, and record counts. Plain data, filled by
//! [`crate::tls`] and [`crate::session`]; documented in docs/json-schema.md (`tls`).

use serde::Serialize;

use crate::ftp::catalog::Lang;
use crate::i18n::Tr;
use crate::time::Ts;
use crate::tr;

/// The proxy's session note when AUTH is accepted and it starts relaying the
/// control connection as opaque bytes (the start of the note; the tracker keeps
/// it as a session anomaly prefixed `proxy: `). The FTPS rules recognise a
/// proxy-relayed encrypted session by it.
pub const PROXY_OPAQUE_NOTE: &str =
    "AUTH accepted (234): from here the proxy relays the control connection as opaque TLS bytes";

/// Records kept in [`TlsInfo::record_log`].
pub const MAX_RECORD_LOG: usize = 64;

/// One application-data record of a control connection.
#[derive(Clone, Debug, Serialize)]
pub struct RecordNote {
    /// "client" or "server".
    pub from: &'static str,
    #[serde(serialize_with = "super::ser_ts")]
    pub ts: Ts,
    #[serde(serialize_with = "super::ser_frame")]
    pub frame: u64,
    /// Record payload bytes (ciphertext).
    pub len: u64,
    /// What it most likely holds: "command", "reply", "session ticket" (TLS 1.3:
    /// the server's records after the handshake, before the client's first command).
    pub likely: &'static str,
}

/// TLS facts of one connection (a session's control connection or a data channel).
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsInfo {
    /// Control connection: "explicit" (AUTH then TLS), "implicit" (TLS from the
    /// first byte), "mid-session" (the capture starts inside TLS). Data channel:
    /// "protected" (TLS), "clear" (no TLS: PROT C).
    pub mode: &'static str,
    /// "complete", "incomplete" (ended or the capture ended during it), "failed"
    /// (an alert or a close during it), "not-seen" (the capture starts after it),
    /// "none" (no TLS on this connection).
    pub handshake: &'static str,
    /// Version chosen by the server ("TLS 1.2", "TLS 1.3"), null when unseen.
    pub version: Option<&'static str>,
    /// Versions the client offered (supported_versions, else the legacy version).
    pub versions_offered: Vec<&'static str>,
    /// Cipher suite chosen by the server (IANA name, or hex when unknown).
    pub cipher_suite: Option<String>,
    /// Server name the client asked for (SNI).
    pub sni: Option<String>,
    /// ALPN protocols offered and the one chosen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn_offered: Vec<String>,
    pub alpn: Option<String>,
    /// What the client offered to resume: a session id (TLS <= 1.2 meaning), a
    /// session ticket, a TLS 1.3 pre-shared key.
    pub offered: Offered,
    /// The handshake resumed a session (true), made a full one (false), or it cannot
    /// be told (null: the ServerHello is not in the capture).
    pub resumed: Option<bool>,
    /// Which connection's session was resumed: "control", "data N" (a data channel
    /// of the same session, 1-based), null when unknown or not resumed.
    pub resumed_from: Option<String>,
    /// How `resumed_from` was found: "session-id", "ticket", "psk-identity" (the same
    /// bytes on both), "psk" (a TLS 1.3 PSK whose ticket came encrypted: taken as
    /// the control connection's, the only TLS session the client had with this server).
    pub resumed_by: Option<&'static str>,
    /// The server asked for another ClientHello (TLS 1.3 HelloRetryRequest).
    pub hello_retry: bool,
    /// The server's certificate (TLS <= 1.2; encrypted in TLS 1.3).
    pub certificate: Option<Certificate>,
    /// The server asked for a client certificate (CertificateRequest, TLS <= 1.2).
    pub client_certificate_requested: bool,
    pub alerts: Vec<Alert>,
    /// Whether each direction ended with close_notify before its FIN/RST: a readable
    /// close_notify alert, an encrypted alert record (TLS <= 1.2) or a 19-byte
    /// application-data record (TLS 1.3, AEAD) as that direction's last record.
    /// Null while the connection was open at the end of the capture, or when the
    /// version is unknown and the last record was application data.
    pub close_notify: CloseNotify,
    /// Records per direction.
    pub records: RecordCounts,
    /// Frames of the ClientHello and ServerHello.
    pub client_hello_frame: Option<u64>,
    pub server_hello_frame: Option<u64>,
    /// Frame of the first application-data record (the handshake's end as seen).
    pub first_app_data_frame: Option<u64>,
    /// The control connection's first records after the handshake, in order (at
    /// most [`MAX_RECORD_LOG`]; the rest are counted in `records`): each is usually
    /// one command or one reply, so their sizes and times show the dialogue's shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record_log: Vec<RecordNote>,
    /// What could not be read (a handshake message over the cap, bytes that are
    /// not TLS records).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Decryption with a key log (`--tls-keylog`): present only when secrets were
    /// given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// Resumption keys (not serialised): the ServerHello's session id, tickets
    /// issued in clear, and what the ClientHello offered, as hashes.
    #[serde(skip)]
    pub keys: ResumeKeys,
}

/// What decrypting a connection gave.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Decryption {
    /// "decrypted" (every record so far authenticated), "no-secrets" (the key log
    /// has none for this handshake), "unsupported" (the cipher suite is not one
    /// ftpscope decrypts), "failed" (a record did not authenticate: the secrets are
    /// not this connection's, or the capture damaged it), "no-handshake" (the
    /// capture starts after it: the client random is unknown).
    pub status: &'static str,
    /// Where the secret came from: "keylog" or "resumed-session" (a TLS 1.2
    /// session resumed by id, whose master secret came from an earlier connection).
    pub secret: Option<&'static str>,
    /// Records decrypted.
    pub records: u64,
    /// Application-data plaintext bytes, per direction.
    pub plaintext_client: u64,
    pub plaintext_server: u64,
    /// What went wrong, in words.
    pub detail: Option<Tr>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Offered {
    pub session_id: bool,
    pub ticket: bool,
    pub psk: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ResumeKeys {
    pub offered_session_id: Option<u64>,
    pub server_session_id: Option<u64>,
    pub offered_ticket: Option<u64>,
    pub issued_tickets: Vec<u64>,
    pub psk_identity: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// "client" or "server".
    pub from: &'static str,
    /// "warning", "fatal", or null when encrypted.
    pub level: Option<&'static str>,
    /// The alert's name ("unknown_ca", "close_notify"), "encrypted" when not readable.
    pub description: String,
    /// During the handshake (before application data from that side).
    pub during_handshake: bool,
    pub frame: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CloseNotify {
    pub client: Option<bool>,
    pub server: Option<bool>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordCounts {
    pub client: DirRecords,
    pub server: DirRecords,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DirRecords {
    /// Records seen (every content type).
    pub count: u64,
    /// Record payload bytes (headers excluded).
    pub bytes: u64,
    /// Application-data records and their payload bytes.
    pub app_records: u64,
    pub app_bytes: u64,
    /// Estimated plaintext bytes of application data (payload less the cipher's
    /// per-record overhead), when the cipher suite is known.
    pub plaintext_estimate: Option<u64>,
}

impl TlsInfo {
    /// The proxy ended this TLS itself (`--tls-intercept`): no record was read.
    pub fn intercepted(&self) -> bool {
        self.decryption
            .as_ref()
            .is_some_and(|d| d.secret == Some("intercepted"))
    }

    /// Approximate heap bytes (see `Session::weight`).
    pub fn weight(&self) -> usize {
        use std::mem::size_of;
        size_of::<TlsInfo>()
            + self.record_log.len() * size_of::<RecordNote>()
            + self.alerts.len() * (size_of::<Alert>() + 32)
            + self.notes.iter().map(|n| n.len() + 16).sum::<usize>()
            + self.certificate.as_ref().map_or(0, |c| {
                size_of::<Certificate>() + c.subject.len() + c.issuer.len() + 64
            })
            + self.sni.as_ref().map_or(0, String::len)
            + self
                .alpn_offered
                .iter()
                .map(|a| a.len() + 24)
                .sum::<usize>()
            + self.keys.issued_tickets.len() * 8
    }

    /// The facts in one line, for the text report and the TUI.
    pub fn summary(&self) -> String {
        self.summary_in(Lang::En)
    }

    /// [`TlsInfo::summary`] in `lang`.
    pub fn summary_in(&self, lang: Lang) -> String {
        if self.mode == "clear" {
            return tr!(
                "no TLS on this connection (PROT C): the data crossed the network in clear",
                "这条连接没有 TLS（PROT C）：数据以明文经过网络"
            )
            .get(lang)
            .to_string();
        }
        let mut p: Vec<String> = Vec::new();
        let txt = |t: Tr| t.get(lang).to_string();
        let head = match (self.version, self.cipher_suite.as_deref()) {
            (Some(v), Some(c)) => Tr::verbatim(format!("{v} {c}")),
            (Some(v), None) => Tr::verbatim(v),
            _ => tr!("version not seen", "未看到版本"),
        };
        let hs = crate::i18n::state(self.handshake, lang);
        p.push(txt(
            tr!("{head}, handshake {hs}", "{head}，握手{hs}"; head = head),
        ));
        if self.hello_retry {
            p.push(txt(tr!(
                "after a HelloRetryRequest",
                "经过一次 HelloRetryRequest"
            )));
        }
        match (self.resumed, &self.resumed_from) {
            (Some(true), Some(f)) => {
                let by = self.resumed_by.unwrap_or("?");
                let conn = match f.as_str() {
                    "control" => tr!("control", "控制"),
                    other => Tr::verbatim(other),
                };
                p.push(txt(tr!(
                    "resumed the {conn} connection's session (by {by})",
                    "恢复了{conn}连接的会话（通过 {by}）";
                    conn = conn
                )))
            }
            (Some(true), None) => p.push(txt(tr!("resumed a session", "恢复了会话"))),
            (Some(false), _) => p.push(txt(tr!(
                "full handshake (new session)",
                "完整握手（新会话）"
            ))),
            (None, _) => {}
        }
        if let Some(s) = &self.sni {
            p.push(format!("SNI {s}"));
        }
        if let Some(a) = &self.alpn {
            p.push(format!("ALPN {a}"));
        }
        if let Some(c) = &self.certificate {
            let (s, a, b) = (&c.subject, &c.not_before, &c.not_after);
            let ss = if c.self_signed {
                tr!(" (self-signed)", "（自签名）")
            } else {
                Tr::default()
            };
            p.push(
                tr!("certificate {s}{ss} valid {a} to {b}", "证书 {s}{ss}，有效期 {a} 至 {b}"; ss = ss)
                    .get(lang)
                    .to_string(),
            );
        }
        for a in &self.alerts {
            let (level, what) = (a.level.unwrap_or("encrypted"), &a.description);
            let from = match a.from {
                "client" => tr!("client", "客户端"),
                "server" => tr!("server", "服务器"),
                other => Tr::verbatim(other),
            };
            p.push(
                tr!("{level} alert from the {from}: {what}", "来自{from}的 {level} 告警：{what}"; from = from)
                    .get(lang)
                    .to_string(),
            );
        }
        let yn = |x: Option<bool>| match x {
            Some(true) => tr!("yes", "是"),
            Some(false) => tr!("no", "否"),
            None => tr!("unknown", "未知"),
        };
        if self.close_notify.client.is_some() || self.close_notify.server.is_some() {
            p.push(
                tr!(
                    "close_notify: client {c}, server {s}",
                    "close_notify：客户端 {c}，服务器 {s}";
                    c = yn(self.close_notify.client),
                    s = yn(self.close_notify.server)
                )
                .get(lang)
                .to_string(),
            );
        }
        if self.intercepted() {
            // The proxy ended this TLS: no record was read, its notes say both legs.
            p.extend(self.notes.iter().cloned());
            return p.join("; ");
        }
        let r = &self.records;
        let (cc, cb, sc, sb) = (
            r.client.count,
            r.client.bytes,
            r.server.count,
            r.server.bytes,
        );
        p.push(
            tr!(
                "records: client {cc} ({cb} B), server {sc} ({sb} B)",
                "记录：客户端 {cc}（{cb} B），服务器 {sc}（{sb} B）"
            )
            .get(lang)
            .to_string(),
        );
        if let Some(d) = &self.decryption {
            let t = match d.status {
                "decrypted" => {
                    let (n, c, s) = (d.records, d.plaintext_client, d.plaintext_server);
                    tr!(
                        "decrypted: {n} records, {c} B of data from the client, {s} B from the server",
                        "已解密：{n} 个记录，客户端数据 {c} B，服务器数据 {s} B"
                    )
                }
                st => {
                    let st = Tr::verbatim(st).map(|s, l| crate::i18n::state(s, l).to_string());
                    match &d.detail {
                        Some(x) => tr!(
                            "not decrypted ({st}: {x})",
                            "未解密（{st}：{x}）";
                            st = st,
                            x = x
                        ),
                        None => tr!("not decrypted ({st})", "未解密（{st}）"; st = st),
                    }
                }
            };
            p.push(t.get(lang).to_string());
        } else if let (Some(c), Some(s)) =
            (r.client.plaintext_estimate, r.server.plaintext_estimate)
        {
            p.push(
                tr!(
                    "about {c} B of data from the client, {s} B from the server",
                    "数据约为客户端 {c} B，服务器 {s} B"
                )
                .get(lang)
                .to_string(),
            );
        }
        p.join(if lang == Lang::Zh { "；" } else { "; " })
    }
}
