//! FTPS rules: what the clear-text parts of TLS tell about a session (no keys).
//!
//! `tls-session-reuse-required`, `tls-handshake-failed`,
//! `tls-implicit-explicit-mismatch`, `tls-unclean-shutdown`, `tls-data-unprotected`
//! (docs/findings.md). They read `Session::tls_info` and `DataChannel::tls`, which
//! the tracker fills from the handshakes (`crate::tls`).

use super::ev;
use crate::model::tls::{PROXY_OPAQUE_NOTE, TlsInfo};
use crate::model::{
    Certainty, DataChannel, EndedBy, Evidence, Finding, Outcome, Session, Severity,
};
use crate::time::Ts;

/// A data connection whose server-to-client or client-to-server plaintext is below
/// this carried no file (TLS 1.3 session tickets alone are a few hundred bytes).
const LITTLE_DATA: u64 = 1024;
/// The server closing the control connection this soon after a data connection
/// ended is taken as its answer to that data connection.
const CLOSE_AFTER_SECS: f64 = 2.0;
/// A refused data connection ends right after its handshake.
const QUICK_SECS: f64 = 0.5;

pub(super) fn rules(s: &Session, out: &mut Vec<Finding>) {
    if let Some(t) = s.tls_info.as_deref() {
        let before = out.len();
        mismatch_implicit_client(s, t, out);
        handshake_failed(s, "control connection", t, None, out);
        if out.len() > before {
            // The session never ran encrypted: "control-encrypted" would mislead.
            out.retain(|f| f.id != "control-encrypted");
        }
    }
    explicit_client_on_implicit_port(s, out);
    if !s.tls {
        return;
    }
    proxy_blind(s, out);
    for (i, d) in s.data_channels.iter().enumerate() {
        let Some(t) = d.tls.as_deref() else { continue };
        let name = format!("data connection #{} ({})", i + 1, endpoint(d));
        handshake_failed(s, &name, t, Some(d), out);
        reuse_required(s, i, d, t, out);
        unclean_shutdown(i, d, t, out);
    }
    data_unprotected(s, out);
    keys_missing(s, out);
    // The data rules name the announcement's command; here it was encrypted.
    for f in out.iter_mut() {
        for (from, to) in [
            (
                "(announced by encrypted)",
                "(the announcement is encrypted: the address is the one the connection went to, matched by peers and timing)",
            ),
            ("announced by encrypted", "announced inside TLS"),
        ] {
            if f.summary.contains(from) {
                f.summary = f.summary.replace(from, to);
            }
        }
    }
}

/// `tls-not-decrypted` (info): secrets were given, yet some of the session's
/// connections were not decrypted: which, and why (no secrets for that handshake,
/// a suite not decrypted, a record that failed). Those connections are analysed as
/// without keys.
fn keys_missing(s: &Session, out: &mut Vec<Finding>) {
    let mut which = Vec::new();
    let mut at = None;
    let conns = s
        .tls_info
        .as_deref()
        .map(|t| ("control connection".to_string(), t, Some(s.start)))
        .into_iter()
        .chain(s.data_channels.iter().enumerate().filter_map(|(i, d)| {
            d.tls.as_deref().map(|t| {
                (
                    format!("data connection #{} ({})", i + 1, endpoint(d)),
                    t,
                    d.start,
                )
            })
        }));
    for (name, t, ts) in conns {
        let Some(x) = t.decryption.as_ref().filter(|x| x.status != "decrypted") else {
            continue;
        };
        // A handshake that never completed has no keys to find.
        if x.status == "no-secrets" && t.handshake != "complete" {
            continue;
        }
        at = at.or(ts);
        which.push(ev(
            format!(
                "{name}: {}{}",
                x.status,
                x.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
            ts,
            t.server_hello_frame,
            None,
        ));
    }
    if which.is_empty() {
        return;
    }
    out.push(Finding {
        id: "tls-not-decrypted",
        severity: Severity::Info,
        summary: format!(
            "TLS secrets were given, but {} of this session's connections {} not decrypted: {} analysed as without keys",
            which.len(),
            if which.len() == 1 { "was" } else { "were" },
            if which.len() == 1 { "it is" } else { "they are" }
        ),
        evidence: which,
        remedy: "Give the key log written by the client of this session (SSLKEYLOGFILE must be set for the whole run, data connections included; several --tls-keylog files may be given). A failed record means the secrets belong to another connection or the capture damaged it.".into(),
        certainty: Certainty::Seen,
        cause: "keys".into(),
        ..Default::default()
    });
}

fn endpoint(d: &DataChannel) -> String {
    match (d.connector, d.listener) {
        (Some(c), Some(l)) => format!("{c} -> {l}"),
        _ => "?".into(),
    }
}

fn hello_evidence(t: &TlsInfo, ts: Option<Ts>, who: &str) -> Vec<Evidence> {
    let mut e = Vec::new();
    if let Some(f) = t.client_hello_frame {
        let offered = if t.versions_offered.is_empty() {
            String::new()
        } else {
            format!(" offering {}", t.versions_offered.join(", "))
        };
        let resume = match (t.offered.psk, t.offered.ticket) {
            (true, _) => ", with a pre-shared key to resume a session",
            (_, true) => ", with a session ticket to resume",
            _ if t.version == Some("TLS 1.3") || t.versions_offered.contains(&"TLS 1.3") => {
                ", with no session to resume (no pre-shared key)"
            }
            _ if t.offered.session_id => ", with a session id to resume",
            _ => ", with no session to resume",
        };
        e.push(ev(
            format!("{who}: ClientHello{offered}{resume}"),
            ts,
            Some(f),
            None,
        ));
    }
    if let Some(f) = t.server_hello_frame {
        let res = match t.resumed {
            Some(true) => "resumed session",
            Some(false) => "full handshake (new session)",
            None => "resumption unknown",
        };
        e.push(ev(
            format!(
                "{who}: ServerHello: {} {}, {res}",
                t.version.unwrap_or("version ?"),
                t.cipher_suite.as_deref().unwrap_or("cipher ?")
            ),
            ts,
            Some(f),
            None,
        ));
    }
    e
}

/// `tls-proxy-blind`: an encrypted session relayed by `ftpscope proxy`. After the
/// 234 the proxy relays opaque bytes: it cannot rewrite the 227/229, so the data
/// connections go around it (to the server's address) or fail (curl reuses the
/// control address: the proxy's, where nothing listens on the server's port).
/// What it still knows goes into the finding: the TLS facts, the dialogue's shape
/// in records, how the session ended.
fn proxy_blind(s: &Session, out: &mut Vec<Finding>) {
    let note = format!("proxy: {PROXY_OPAQUE_NOTE}");
    if !s.anomalies.iter().any(|a| a.starts_with(&note)) {
        return;
    }
    let mut evidence = Vec::new();
    if let Some((i, _)) =
        s.exchanges.iter().enumerate().find(|(_, x)| {
            x.verb() == Some("AUTH") && x.final_reply().is_some_and(|r| r.code == 234)
        })
    {
        evidence.extend(super::reply_evidence(s, i));
    }
    let t = s.tls_info.as_deref();
    if let Some(t) = t {
        evidence.push(ev(
            format!(
                "control connection's TLS: {} {}, {}",
                t.version.unwrap_or("version ?"),
                t.cipher_suite.as_deref().unwrap_or("cipher ?"),
                match t.resumed {
                    Some(true) => "resumed session",
                    Some(false) => "full handshake",
                    None => "resumption unknown",
                }
            ),
            None,
            None,
            None,
        ));
        let n = |from: &str| {
            t.record_log
                .iter()
                .filter(|r| r.from == from && r.likely != "session ticket")
                .count()
        };
        let (c, r) = (n("client"), n("server"));
        if c + r > 0 {
            evidence.push(ev(
                format!(
                    "after the handshake: {c} record(s) from the client (likely commands), {r} from the server (likely replies){}",
                    if t.record_log.len() >= crate::model::tls::MAX_RECORD_LOG { ", and more" } else { "" }
                ),
                None,
                None,
                None,
            ));
        }
    }
    let data_seen = s.data_channels.len();
    let ended = match s.closed.as_str() {
        "open" => String::new(),
        how => {
            let last = t.and_then(|t| t.record_log.last()).map(|r| {
                format!(
                    ", {:.0} ms after the last record ({} B from the {})",
                    r.ts.secs_until(s.end).max(0.0) * 1000.0,
                    r.len,
                    r.from
                )
            });
            format!(
                "; the control connection ended ({how}){}",
                last.unwrap_or_default()
            )
        }
    };
    evidence.push(ev(
        format!("data connections through the proxy: {data_seen}{ended}"),
        Some(s.end),
        None,
        None,
    ));
    out.push(Finding {
        id: "tls-proxy-blind",
        severity: Severity::Warning,
        summary: format!(
            "FTPS through the proxy: after AUTH the proxy relays the control connection as opaque TLS{}, so it cannot see or rewrite the PASV/EPSV replies: the client's data connections do not come through the proxy. They go to the port the server announced, at the proxy's address (curl reuses the control connection's address: nothing listens there, the connection is refused, curl exits with 7 'Failed to connect') or at the server's own address (around the proxy, not seen here)",
            t.and_then(|t| t.version).map(|v| format!(" ({v})")).unwrap_or_default()
        ),
        evidence,
        remedy: "To watch the FTP dialogue through the proxy, use plain FTP on a test account (curl without --ssl-reqd/--ftp-ssl; lftp `set ftp:ssl-allow no`): the proxy then reads and rewrites every address. To diagnose the FTPS session itself, capture it instead (ftpscope live, or tcpdump and ftpscope report): ftpscope reads every TLS handshake and matches the encrypted data connections by timing. A client can reach the data connections directly when the server's announced address is reachable from it (curl --no-ftp-skip-pasv-ip), which bypasses the proxy for data.".into(),
        certainty: Certainty::Inferred,
        ..Default::default()
    });
    // The usual advice to put the proxy in between does not apply: it is there.
    for f in out.iter_mut().filter(|f| f.id == "control-encrypted") {
        f.remedy = "The proxy relays this session without its keys and sees only what a capture would. Log TLS keys on the client (SSLKEYLOGFILE) and decrypt a capture with Wireshark, or use plain FTP through the proxy on a test account.".into();
    }
}

/// `tls-session-reuse-required`: a data connection made a full handshake (the
/// client did not resume the control connection's TLS session) and the server
/// ended the session at once: vsftpd `require_ssl_reuse=YES` answers 522 and
/// closes; ProFTPD answers 425 unless `TLSOptions NoSessionReuseRequired`.
fn reuse_required(s: &Session, i: usize, d: &DataChannel, t: &TlsInfo, out: &mut Vec<Finding>) {
    if t.handshake != "complete" || t.resumed != Some(false) {
        return;
    }
    let small = |x: Option<u64>| x.is_some_and(|b| b < LITTLE_DATA);
    if !(small(t.records.client.plaintext_estimate) && small(t.records.server.plaintext_estimate)) {
        return;
    }
    // The server took another full handshake with a file behind it: it does not
    // require reuse (pure-ftpd never resumes), this one was a short listing.
    let accepted_full = s.data_channels.iter().enumerate().any(|(j, o)| {
        j != i
            && o.tls.as_deref().is_some_and(|ot| {
                ot.handshake == "complete"
                    && ot.resumed == Some(false)
                    && !(small(ot.records.client.plaintext_estimate)
                        && small(ot.records.server.plaintext_estimate))
            })
    });
    if accepted_full {
        return;
    }
    let Some(end) = d.end else { return };
    // The server's close answers this data connection only when it is the last
    // one: a data connection after it means the session went on.
    let later = s.data_channels[i + 1..]
        .iter()
        .any(|o| o.start.is_some_and(|st| st >= end));
    let server_closed = matches!(s.closed.as_str(), "fin-by-server" | "rst-by-server")
        && !later
        && end.secs_until(s.end) <= CLOSE_AFTER_SECS;
    let no_offer = !(t.offered.psk
        || t.offered.ticket
        || (t.offered.session_id && t.version != Some("TLS 1.3")));
    // Without the server closing the session (ProFTPD answers 425 and goes on): a
    // client that offered nothing to resume, a data connection over at once.
    let quick = d.start.is_some_and(|st| st.secs_until(end) <= QUICK_SECS);
    if !(server_closed || (no_offer && quick)) {
        return;
    }
    // Decrypted with the key log: the server's answer itself.
    let refusal = d
        .command_exchange
        .and_then(|e| s.exchanges.get(e))
        .and_then(|e| e.final_reply())
        .filter(|r| r.code >= 400);
    let mut evidence = hello_evidence(t, d.start, &format!("data connection #{}", i + 1));
    if let Some(r) = refusal {
        evidence.push(ev(
            format!(
                "the server answered the transfer command: {} {}",
                r.code,
                crate::text::escape(&r.text.0)
            ),
            Some(r.ts),
            None,
            d.command_exchange,
        ));
    }
    evidence.push(ev(
        format!(
            "data connection #{} ended ({}) with no file data: {} B of application data from the server, {} B from the client (estimated)",
            i + 1,
            d.ended_by.map_or("open", |e| e.as_str()),
            t.records.server.plaintext_estimate.unwrap_or(0),
            t.records.client.plaintext_estimate.unwrap_or(0)
        ),
        d.end,
        None,
        None,
    ));
    if server_closed {
        evidence.push(ev(
            format!(
                "the server closed the control connection ({}) {:.0} ms later",
                s.closed,
                end.secs_until(s.end).max(0.0) * 1000.0
            ),
            Some(s.end),
            None,
            None,
        ));
    } else if let Some(r) = s.tls_info.as_deref().and_then(|c| {
        c.record_log
            .iter()
            .find(|r| r.from == "server" && r.ts >= end)
    }) {
        evidence.push(ev(
            format!(
                "the server's next control record ({} B, likely its reply: 425/450/522 when it refuses) came {:.0} ms after the data connection ended",
                r.len,
                end.secs_until(r.ts).max(0.0) * 1000.0
            ),
            Some(r.ts),
            Some(r.frame),
            None,
        ));
    }
    let client = if no_offer {
        "the client offered no session to resume"
    } else {
        "the client offered a session the server did not resume"
    };
    let then = if let Some(r) = refusal {
        format!(
            "and the server refused it ({} {})",
            r.code,
            crate::text::escape(&r.text.0)
        )
    } else if server_closed {
        "and the server ended the session right after".to_string()
    } else {
        "and it ended at once with no file data (the server's reply is encrypted: if it is 425, 450 or 522, the server requires session reuse)".to_string()
    };
    out.push(Finding {
        id: "tls-session-reuse-required",
        severity: if server_closed || refusal.is_some() {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: format!(
            "data connection #{} ({}) made a full TLS handshake instead of resuming the control connection's TLS session ({client}), {then}: the classic FTPS 'session reuse required' failure (vsftpd: 522 SSL connection failed: session reuse required; ProFTPD: 425)",
            i + 1,
            endpoint(d)
        ),
        evidence,
        remedy: "Client side (preferred): use a client that resumes the control connection's TLS session on data connections: curl and lftp (GnuTLS) do; Python ftplib's FTP_TLS does not (subclass it to pass the control socket's `session` to `wrap_socket` in `ntransfercmd`); FileZilla does since 3.x (update old versions). Server side, at the cost of a weaker check that the data connection comes from the logged-in client: vsftpd `require_ssl_reuse=NO`; ProFTPD `TLSOptions NoSessionReuseRequired`.".into(),
        certainty: if refusal.is_some() {
            Certainty::Seen
        } else {
            Certainty::Inferred
        },
        cause: format!("reuse {i}"),
        ..Default::default()
    });
}

/// `tls-handshake-failed`: an alert during the handshake, or the connection
/// closed in the middle of it.
fn handshake_failed(
    s: &Session,
    name: &str,
    t: &TlsInfo,
    d: Option<&DataChannel>,
    out: &mut Vec<Finding>,
) {
    if t.handshake != "failed" || t.server_hello_frame.is_none() && t.alerts.is_empty() {
        // No ServerHello and no alert: the server never spoke TLS (the mismatch rule).
        return;
    }
    let ts = d.and_then(|d| d.start);
    let mut evidence = hello_evidence(t, ts, name);
    let alert = t.alerts.iter().find(|a| a.during_handshake);
    for a in t.alerts.iter().filter(|a| a.during_handshake) {
        evidence.push(ev(
            format!(
                "{name}: {} alert from the {}: {}",
                a.level.unwrap_or("encrypted"),
                a.from,
                a.description
            ),
            ts,
            Some(a.frame),
            None,
        ));
    }
    // What the server said in clear afterwards (vsftpd: "500 OOPS: ... alert unknown ca").
    for (i, x) in s.exchanges.iter().enumerate() {
        for r in &x.replies {
            if r.code >= 400 && r.ts >= s.start && s.tls {
                if let Some(tls_at) = t.client_hello_frame {
                    if r.frame > tls_at {
                        evidence.push(ev(
                            format!(
                                "server replied in clear: {} {}",
                                r.code,
                                crate::text::escape(&r.text.0)
                            ),
                            Some(r.ts),
                            Some(r.frame),
                            Some(i),
                        ));
                    }
                }
            }
        }
    }
    let (why, remedy) = match alert.map(|a| a.description.as_str()) {
        Some(d @ ("unknown_ca" | "bad_certificate" | "certificate_unknown" | "certificate_expired" | "unsupported_certificate" | "certificate_revoked")) => (
            format!("the {} rejected the {} certificate ({d})", alert.map_or("client", |a| a.from), if alert.is_some_and(|a| a.from == "client") { "server's" } else { "client's" }),
            "Make the client trust the server's certificate: give it the CA that signed it (curl --cacert FILE, lftp `set ssl:ca-file FILE`, Python `ssl.create_default_context(cafile=...)`), or give the server a certificate from a CA the clients trust, for the name they connect to. Turning verification off (curl -k, lftp `set ssl:verify-certificate no`) is for testing only: it lets anyone in the middle read the password.".to_string(),
        ),
        Some(d @ ("protocol_version" | "inappropriate_fallback")) => (
            format!("no TLS version both sides accept ({d})"),
            "Enable a common version, TLS 1.2 or 1.3, on both sides: vsftpd ssl_tlsv1_2=YES (3.0.5+; older versions follow OpenSSL's defaults), ProFTPD `TLSProtocol TLSv1.2 TLSv1.3`, pure-ftpd follows OpenSSL's defaults; clients: curl --tlsv1.2, lftp `set ssl:priority`.".to_string(),
        ),
        Some(d @ ("handshake_failure" | "insufficient_security" | "illegal_parameter")) => (
            format!("no cipher suite or parameter both sides accept ({d})"),
            "Give both sides a common cipher suite: vsftpd ssl_ciphers (e.g. HIGH), ProFTPD TLSCipherSuite, curl --ciphers / --tls13-ciphers; check the server's certificate type (RSA or ECDSA) matches suites the client offers.".to_string(),
        ),
        Some(d) => (
            format!("the {} sent {d}", alert.map_or("?", |a| a.from)),
            "Read the side's log for the reason of the alert; check certificates, versions and cipher suites on both sides.".to_string(),
        ),
        None => (
            "the connection closed before the handshake finished".to_string(),
            "Look at the side that closed: its log gives the reason (certificate, version, cipher suite, a timeout). Compare the versions and suites offered in the ClientHello with what the server chose.".to_string(),
        ),
    };
    out.push(Finding {
        id: "tls-handshake-failed",
        severity: Severity::Error,
        summary: format!("the TLS handshake on the {name} failed: {why}"),
        evidence,
        remedy,
        certainty: Certainty::Seen,
        cause: format!("handshake {name}"),
        ..Default::default()
    });
}

/// An implicit-FTPS client (TLS at once) against a server that greets in clear.
fn mismatch_implicit_client(s: &Session, t: &TlsInfo, out: &mut Vec<Finding>) {
    let Some(ch) = t.client_hello_frame else {
        return;
    };
    if t.server_hello_frame.is_some() || s.exchanges.is_empty() {
        return;
    }
    let greeting = s.exchanges.iter().enumerate().find_map(|(i, x)| {
        x.replies
            .first()
            .filter(|r| r.code == 220 && r.frame > ch)
            .map(|r| (i, r))
    });
    let Some((i, r)) = greeting else { return };
    out.push(Finding {
        id: "tls-implicit-explicit-mismatch",
        severity: Severity::Error,
        summary: format!(
            "the client started TLS at once (implicit FTPS) on port {}, but the server greets in clear (explicit FTPS or plain FTP): neither side understands the other",
            s.server.port()
        ),
        evidence: vec![
            ev("client sent a TLS ClientHello as its first bytes", Some(s.start), Some(ch), None),
            ev(
                format!("server sent its greeting in clear: {} {}", r.code, crate::text::escape(&r.text.0)),
                Some(r.ts),
                Some(r.frame),
                Some(i),
            ),
        ],
        remedy: format!(
            "Use explicit FTPS on this port: curl ftp://HOST:{p}/ --ssl-reqd (not ftps://), lftp `set ftp:ssl-force true` with ftp://, FileZilla \"Require explicit FTP over TLS\". Or make the server speak implicit FTPS (vsftpd implicit_ssl=YES with listen_port=990; ProFTPD `TLSOptions UseImplicitSSL`) and connect to that port.",
            p = s.server.port()
        ),
        certainty: Certainty::Seen,
        ..Default::default()
    });
}

/// A cleartext FTP client on the implicit-FTPS port: the server waits for a
/// ClientHello, the client for a greeting.
fn explicit_client_on_implicit_port(s: &Session, out: &mut Vec<Finding>) {
    if s.server.port() != crate::session::IMPLICIT_PORT || s.tls {
        return;
    }
    let greeting = s
        .exchanges
        .iter()
        .any(|x| x.replies.iter().any(|r| r.code == 220));
    if greeting {
        return;
    }
    let first_cmd = s
        .exchanges
        .iter()
        .enumerate()
        .find_map(|(i, x)| x.command.as_ref().map(|c| (i, c)));
    let mut evidence = vec![ev(
        format!(
            "control connection to port {} with no TLS and no greeting (closed: {})",
            s.server.port(),
            s.closed
        ),
        Some(s.start),
        Some(s.start_frame),
        None,
    )];
    if let Some((i, c)) = first_cmd {
        evidence.push(ev(
            format!("client sent in clear: {}", c.verb),
            Some(c.ts),
            Some(c.frame),
            Some(i),
        ));
    }
    out.push(Finding {
        id: "tls-implicit-explicit-mismatch",
        severity: Severity::Error,
        summary: format!(
            "port {} is implicit FTPS (TLS from the first byte), but the client spoke no TLS: it waits for a greeting the server will only send inside TLS",
            s.server.port()
        ),
        evidence,
        remedy: "Connect with implicit FTPS to this port (curl ftps://HOST/, lftp ftps://HOST, FileZilla \"Require implicit FTP over TLS\"), or use explicit FTPS on port 21 (curl ftp://HOST/ --ssl-reqd).".into(),
        certainty: Certainty::Inferred,
        ..Default::default()
    });
}

/// `tls-unclean-shutdown`: the side that sent the file closed without close_notify.
fn unclean_shutdown(i: usize, d: &DataChannel, t: &TlsInfo, out: &mut Vec<Finding>) {
    if t.handshake != "complete" {
        return;
    }
    let c = t
        .records
        .client
        .plaintext_estimate
        .unwrap_or(t.records.client.app_bytes);
    let sv = t
        .records
        .server
        .plaintext_estimate
        .unwrap_or(t.records.server.app_bytes);
    let (sender, notified) = if c > sv {
        ("client", t.close_notify.client)
    } else {
        ("server", t.close_notify.server)
    };
    if notified != Some(false) {
        return;
    }
    let upload = sender == "client";
    // A transfer the receiver broke off (ABOR, or its RST) leaves the sender no
    // chance to send close_notify: not a shutdown fault (transfer-aborted says it).
    let receiver_reset = if upload {
        EndedBy::RstByServer
    } else {
        EndedBy::RstByClient
    };
    if d.outcome == Outcome::Aborted || d.ended_by == Some(receiver_reset) {
        return;
    }
    out.push(Finding {
        id: "tls-unclean-shutdown",
        severity: if upload { Severity::Warning } else { Severity::Info },
        summary: format!(
            "data connection #{} ({}) was closed by TCP ({}) without a TLS close_notify from the {sender}, which sent the data: {}",
            i + 1,
            endpoint(d),
            d.ended_by.map_or("?", |e| e.as_str()),
            if upload {
                "on an upload the server cannot tell a complete file from one cut short"
            } else {
                "the client cannot tell a complete file from one cut short (strict clients report an error)"
            }
        ),
        evidence: vec![ev(
            format!(
                "data connection #{}: last record from the {sender} was not an alert; ended by {}",
                i + 1,
                d.ended_by.map_or("?", |e| e.as_str())
            ),
            d.end,
            None,
            None,
        )],
        remedy: "The sending side must end TLS with close_notify before closing TCP: update the client or server (old FileZilla/curl/GnuTLS versions and some appliances skip it); on vsftpd, strict_ssl_write_shutdown=YES makes it wait for a clean shutdown on uploads (strict_ssl_read_eof=YES to refuse uploads without one).".into(),
        certainty: Certainty::Inferred,
        cause: format!("shutdown {i}"),
        ..Default::default()
    });
}

/// `tls-data-unprotected`: PROT C, the files in clear although the login was encrypted.
fn data_unprotected(s: &Session, out: &mut Vec<Finding>) {
    let clear: Vec<(usize, &DataChannel)> = s
        .data_channels
        .iter()
        .enumerate()
        .filter(|(_, d)| d.tls.as_deref().is_some_and(|t| t.mode == "clear"))
        .collect();
    let Some(&(first, d)) = clear.first() else {
        return;
    };
    out.push(Finding {
        id: "tls-data-unprotected",
        severity: Severity::Warning,
        summary: format!(
            "{} of {} data connection(s) of this encrypted session carried data in clear (PROT C, or no PROT P): the login was protected, the files were not",
            clear.len(),
            s.data_channels.len()
        ),
        evidence: vec![ev(
            format!(
                "data connection #{} ({}): {} B with no TLS record",
                first + 1,
                endpoint(d),
                d.bytes
            ),
            d.start,
            d.frame_syn,
            None,
        )],
        remedy: "Protect data too: the client sends PBSZ 0 and PROT P (curl --ssl-reqd instead of --ftp-ssl-control, lftp `set ftp:ssl-protect-data true`, Python ftplib `prot_p()`); the server can require it (vsftpd force_local_data_ssl=YES, ProFTPD `TLSRequired on`, pure-ftpd -Y 3).".into(),
        certainty: Certainty::Seen,
        ..Default::default()
    });
}
