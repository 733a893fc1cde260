//! FTPS rules: what the clear-text parts of TLS tell about a session (no keys).
//!
//! `tls-session-reuse-required`, `tls-handshake-failed`,
//! `tls-implicit-explicit-mismatch`, `tls-unclean-shutdown`, `tls-data-unprotected`
//! (docs/findings.md). They read `Session::tls_info` and `DataChannel::tls`, which
//! the tracker fills from the handshakes (`crate::tls`).

use super::ev;
use crate::i18n::Tr;
use crate::model::tls::{PROXY_OPAQUE_NOTE, TlsInfo};
use crate::model::{
    Certainty, DataChannel, EndedBy, Evidence, Finding, Outcome, Session, Severity,
};
use crate::time::Ts;
use crate::tr;

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
        handshake_failed(s, &tr!("control connection", "控制连接"), t, None, out);
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
        let (n, e) = (i + 1, endpoint(d));
        let name = tr!("data connection #{n} ({e})", "数据连接 #{n}（{e}）");
        handshake_failed(s, &name, t, Some(d), out);
        reuse_required(s, i, d, t, out);
        unclean_shutdown(s, i, d, t, out);
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
            (
                "（由 encrypted 通告）",
                "（通告是加密的：地址取自连接实际去往的地址，按两端和时间匹配）",
            ),
            ("由 encrypted 通告", "在 TLS 内通告"),
        ] {
            if f.summary.en.contains(from) {
                f.summary.en = f.summary.en.replace(from, to);
            }
            if f.summary.zh.contains(from) {
                f.summary.zh = f.summary.zh.replace(from, to);
            }
        }
    }
}

/// "the client"/"the server" (as TLS names the side), in both languages.
fn party(who: &str) -> Tr {
    match who {
        "client" => tr!("client", "客户端"),
        "server" => tr!("server", "服务器"),
        other => Tr::verbatim(other),
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
        .map(|t| (tr!("control connection", "控制连接"), t, Some(s.start)))
        .into_iter()
        .chain(s.data_channels.iter().enumerate().filter_map(|(i, d)| {
            d.tls.as_deref().map(|t| {
                let (n, e) = (i + 1, endpoint(d));
                (
                    tr!("data connection #{n} ({e})", "数据连接 #{n}（{e}）"),
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
        // The status is an identifier (as in the JSON); its detail is prose.
        let status = Tr::verbatim(x.status);
        let what = match &x.detail {
            Some(d) => tr!(
                "{name}: {status}: {d}",
                "{name}：{status}：{d}";
                name = name,
                status = status,
                d = d
            ),
            None => tr!("{name}: {status}", "{name}：{status}"; name = name, status = status),
        };
        which.push(ev(what, ts, t.server_hello_frame, None));
    }
    if which.is_empty() {
        return;
    }
    let n = which.len();
    out.push(Finding {
        id: "tls-not-decrypted",
        severity: Severity::Info,
        summary: if n == 1 {
            tr!(
                "TLS secrets were given, but 1 of this session's connections was not decrypted: it is analysed as without keys",
                "已提供 TLS 密钥，但本会话有 1 个连接未能解密：按没有密钥的情况分析"
            )
        } else {
            tr!(
                "TLS secrets were given, but {n} of this session's connections were not decrypted: they are analysed as without keys",
                "已提供 TLS 密钥，但本会话有 {n} 个连接未能解密：按没有密钥的情况分析"
            )
        },
        evidence: which,
        remedy: tr!(
            "Give the key log written by the client of this session (SSLKEYLOGFILE must be set for the whole run, data connections included; several --tls-keylog files may be given). A failed record means the secrets belong to another connection or the capture damaged it.",
            "请提供本会话客户端写下的密钥日志（SSLKEYLOGFILE 必须在整个运行期间设置，包括数据连接；可以给出多个 --tls-keylog 文件）。记录解密失败说明密钥属于另一个连接，或抓包损坏了该记录。"
        ),
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

fn hello_evidence(t: &TlsInfo, ts: Option<Ts>, who: &Tr) -> Vec<Evidence> {
    let mut e = Vec::new();
    if let Some(f) = t.client_hello_frame {
        let offered = if t.versions_offered.is_empty() {
            Tr::default()
        } else {
            let v = t.versions_offered.join(", ");
            tr!(" offering {v}", "，提供 {v}")
        };
        let resume = match (t.offered.psk, t.offered.ticket) {
            (true, _) => tr!(
                ", with a pre-shared key to resume a session",
                "，带有用于恢复会话的预共享密钥（PSK）"
            ),
            (_, true) => tr!(
                ", with a session ticket to resume",
                "，带有用于恢复的会话票据"
            ),
            _ if t.version == Some("TLS 1.3") || t.versions_offered.contains(&"TLS 1.3") => tr!(
                ", with no session to resume (no pre-shared key)",
                "，没有可恢复的会话（无预共享密钥）"
            ),
            _ if t.offered.session_id => {
                tr!(", with a session id to resume", "，带有用于恢复的会话 ID")
            }
            _ => tr!(", with no session to resume", "，没有可恢复的会话"),
        };
        e.push(ev(
            tr!(
                "{who}: ClientHello{offered}{resume}",
                "{who}：ClientHello{offered}{resume}";
                who = who,
                offered = offered,
                resume = resume
            ),
            ts,
            Some(f),
            None,
        ));
    }
    if let Some(f) = t.server_hello_frame {
        let res = match t.resumed {
            Some(true) => tr!("resumed session", "恢复了会话"),
            Some(false) => tr!("full handshake (new session)", "完整握手（新会话）"),
            None => tr!("resumption unknown", "是否恢复未知"),
        };
        let (v, c) = (
            t.version.unwrap_or("version ?"),
            t.cipher_suite.as_deref().unwrap_or("cipher ?"),
        );
        e.push(ev(
            tr!(
                "{who}: ServerHello: {v} {c}, {res}",
                "{who}：ServerHello：{v} {c}，{res}";
                who = who,
                res = res
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
        let v = Tr::verbatim(t.version.unwrap_or("?"));
        let c = Tr::verbatim(t.cipher_suite.as_deref().unwrap_or("?"));
        let how = match t.resumed {
            Some(true) => tr!("resumed session", "恢复的会话"),
            Some(false) => tr!("full handshake", "完整握手"),
            None => tr!("resumption unknown", "是否恢复会话未知"),
        };
        evidence.push(ev(
            tr!(
                "control connection's TLS: {v} {c}, {how}",
                "控制连接的 TLS：{v} {c}，{how}";
                v = v,
                c = c,
                how = how
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
            let more = t.record_log.len() >= crate::model::tls::MAX_RECORD_LOG;
            let what = if more {
                tr!(
                    "after the handshake: {c} record(s) from the client (likely commands), {r} from the server (likely replies), and more",
                    "握手之后：客户端 {c} 个记录（可能是命令），服务器 {r} 个（可能是响应），还有更多"
                )
            } else {
                tr!(
                    "after the handshake: {c} record(s) from the client (likely commands), {r} from the server (likely replies)",
                    "握手之后：客户端 {c} 个记录（可能是命令），服务器 {r} 个（可能是响应）"
                )
            };
            evidence.push(ev(what, None, None, None));
        }
    }
    let data_seen = s.data_channels.len();
    let ended = match s.closed.as_str() {
        "open" => Tr::verbatim(""),
        how => {
            let how = Tr::verbatim(how).map(|x, l| crate::i18n::state(x, l).to_string());
            let last = t.and_then(|t| t.record_log.last()).map(|r| {
                let (ms, len) = (
                    format!("{:.0}", r.ts.secs_until(s.end).max(0.0) * 1000.0),
                    r.len,
                );
                tr!(
                    ", {ms} ms after the last record ({len} B from the {who})",
                    "，距最后一个记录（{who}的 {len} B）{ms} ms";
                    who = party(r.from)
                )
            });
            match last {
                Some(last) => tr!(
                    "; the control connection ended ({how}){last}",
                    "；控制连接已结束（{how}）{last}";
                    how = how,
                    last = last
                ),
                None => tr!(
                    "; the control connection ended ({how})",
                    "；控制连接已结束（{how}）";
                    how = how
                ),
            }
        }
    };
    evidence.push(ev(
        tr!(
            "data connections through the proxy: {data_seen}{ended}",
            "经过代理的数据连接：{data_seen}{ended}";
            ended = ended
        ),
        Some(s.end),
        None,
        None,
    ));
    let v = Tr::verbatim(
        t.and_then(|t| t.version)
            .map(|v| format!(" ({v})"))
            .unwrap_or_default(),
    );
    out.push(Finding {
        id: "tls-proxy-blind",
        severity: Severity::Warning,
        summary: tr!(
            "FTPS through the proxy: after AUTH the proxy relays the control connection as opaque TLS{v}, so it cannot see or rewrite the PASV/EPSV replies: the client's data connections do not come through the proxy. They go to the port the server announced, at the proxy's address (curl reuses the control connection's address: nothing listens there, the connection is refused, curl exits with 7 'Failed to connect') or at the server's own address (around the proxy, not seen here)",
            "经代理的 FTPS：AUTH 之后代理把控制连接作为不透明的 TLS{v} 转发，因此看不到也无法改写 PASV/EPSV 响应：客户端的数据连接不经过代理。它们连向服务器通告的端口，地址是代理的地址（curl 复用控制连接的地址：那里没有监听，连接被拒绝，curl 以 7 'Failed to connect' 退出），或是服务器自己的地址（绕过代理，这里看不到）";
            v = v
        ),
        evidence,
        remedy: tr!(
            "To watch the FTP dialogue through the proxy, use plain FTP on a test account (curl without --ssl-reqd/--ftp-ssl; lftp `set ftp:ssl-allow no`): the proxy then reads and rewrites every address. To diagnose the FTPS session itself, capture it instead (ftpscope live, or tcpdump and ftpscope report): ftpscope reads every TLS handshake and matches the encrypted data connections by timing. A client can reach the data connections directly when the server's announced address is reachable from it (curl --no-ftp-skip-pasv-ip), which bypasses the proxy for data.",
            "要通过代理观察 FTP 对话，请在测试账号上使用明文 FTP（curl 不加 --ssl-reqd/--ftp-ssl；lftp `set ftp:ssl-allow no`）：这样代理能读取并改写每个地址。要诊断 FTPS 会话本身，请改为抓包（ftpscope live，或 tcpdump 后用 ftpscope report）：ftpscope 读取每次 TLS 握手，并按时间匹配加密的数据连接。如果服务器通告的地址对客户端可达（curl --no-ftp-skip-pasv-ip），客户端可以直接连接数据连接，数据绕过代理。"
        ),
        certainty: Certainty::Inferred,
        ..Default::default()
    });
    // The usual advice to put the proxy in between does not apply: it is there.
    for f in out.iter_mut().filter(|f| f.id == "control-encrypted") {
        f.remedy = tr!(
            "The proxy relays this session without its keys and sees only what a capture would. Log TLS keys on the client (SSLKEYLOGFILE) and decrypt a capture with Wireshark, or use plain FTP through the proxy on a test account.",
            "代理在没有密钥的情况下转发这个会话，只能看到抓包能看到的内容。请在客户端记录 TLS 密钥（SSLKEYLOGFILE）并用 Wireshark 解密抓包，或在测试账号上通过代理使用明文 FTP。"
        );
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
    // Plaintext estimates come from the records of a capture; a connection the
    // proxy ended itself (`--tls-intercept`) has none, its bytes are plaintext.
    let little = |o: &DataChannel, ot: &TlsInfo| match (
        ot.records.client.plaintext_estimate,
        ot.records.server.plaintext_estimate,
    ) {
        (None, None) if ot.intercepted() => o.bytes < LITTLE_DATA,
        (c, sv) => small(c) && small(sv),
    };
    if !little(d, t) {
        return;
    }
    // The server took another full handshake with a file behind it: it does not
    // require reuse (pure-ftpd never resumes), this one was a short listing.
    let accepted_full = s.data_channels.iter().enumerate().any(|(j, o)| {
        j != i
            && o.tls.as_deref().is_some_and(|ot| {
                ot.handshake == "complete" && ot.resumed == Some(false) && !little(o, ot)
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
    let n = i + 1;
    let mut evidence = hello_evidence(t, d.start, &tr!("data connection #{n}", "数据连接 #{n}"));
    if let Some(r) = refusal {
        let (code, text) = (r.code, crate::text::escape(&r.text.0));
        evidence.push(ev(
            tr!(
                "the server answered the transfer command: {code} {text}",
                "服务器对传输命令的响应：{code} {text}"
            ),
            Some(r.ts),
            None,
            d.command_exchange,
        ));
    }
    evidence.push(ev(
        tr!(
            "data connection #{} ended ({}) with no file data: {} B of application data from the server, {} B from the client (estimated)",
            "数据连接 #{} 结束（{}），没有文件数据：来自服务器的应用数据 {} B，来自客户端的 {} B（估计值）",
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
            tr!(
                "the server closed the control connection ({}) {:.0} ms later",
                "服务器在 {1:.0} ms 后关闭了控制连接（{0}）",
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
            tr!(
                "the server's next control record ({} B, likely its reply: 425/450/522 when it refuses) came {:.0} ms after the data connection ended",
                "服务器的下一条控制连接记录（{} B，很可能是它的响应：拒绝时为 425/450/522）在数据连接结束 {:.0} ms 后到达",
                r.len,
                end.secs_until(r.ts).max(0.0) * 1000.0
            ),
            Some(r.ts),
            Some(r.frame),
            None,
        ));
    }
    let client = if no_offer {
        tr!(
            "the client offered no session to resume",
            "客户端没有提供可恢复的会话"
        )
    } else {
        tr!(
            "the client offered a session the server did not resume",
            "客户端提供的会话没有被服务器恢复"
        )
    };
    let then = if let Some(r) = refusal {
        let (code, text) = (r.code, crate::text::escape(&r.text.0));
        // The Chinese names the code only: the reply's (English) text is in the
        // evidence, and would break the sentence.
        tr!(
            "and the server refused it ({code} {text})",
            "服务器拒绝了它（响应码 {code}）"
        )
    } else if server_closed {
        tr!(
            "and the server ended the session right after",
            "随后服务器立即结束了会话"
        )
    } else {
        tr!(
            "and it ended at once with no file data (the server's reply is encrypted: if it is 425, 450 or 522, the server requires session reuse)",
            "并且立即结束、没有文件数据（服务器的响应是加密的：如果是 425、450 或 522，说明服务器要求会话复用）"
        )
    };
    let e = endpoint(d);
    out.push(Finding {
        id: "tls-session-reuse-required",
        severity: if server_closed || refusal.is_some() {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: tr!(
            "data connection #{n} ({e}) made a full TLS handshake instead of resuming the control connection's TLS session ({client}), {then}: the classic FTPS 'session reuse required' failure (vsftpd: 522 SSL connection failed: session reuse required; ProFTPD: 425)",
            "数据连接 #{n}（{e}）做了完整的 TLS 握手，而没有恢复控制连接的 TLS 会话（{client}），{then}：这是典型的 FTPS“要求会话复用”失败（vsftpd：522 SSL connection failed: session reuse required；ProFTPD：425）";
            client = client,
            then = then
        ),
        evidence,
        remedy: tr!(
            "Client side (preferred): use a client that resumes the control connection's TLS session on data connections: curl and lftp (GnuTLS) do; Python ftplib's FTP_TLS does not (subclass it to pass the control socket's `session` to `wrap_socket` in `ntransfercmd`); FileZilla does since 3.x (update old versions). Server side, at the cost of a weaker check that the data connection comes from the logged-in client: vsftpd `require_ssl_reuse=NO`; ProFTPD `TLSOptions NoSessionReuseRequired`.",
            "客户端（推荐）：使用会在数据连接上恢复控制连接 TLS 会话的客户端：curl 和 lftp（GnuTLS）会；Python ftplib 的 FTP_TLS 不会（继承它，在 `ntransfercmd` 中把控制套接字的 `session` 传给 `wrap_socket`）；FileZilla 从 3.x 起会（请升级旧版本）。服务器端（代价是减弱对数据连接来自已登录客户端的检查）：vsftpd `require_ssl_reuse=NO`；ProFTPD `TLSOptions NoSessionReuseRequired`。"
        ),
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
    name: &Tr,
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
        let (level, from, what) = (
            a.level.unwrap_or("encrypted"),
            party(a.from),
            &a.description,
        );
        evidence.push(ev(
            tr!(
                "{name}: {level} alert from the {from}: {what}",
                "{name}：来自{from}的 {level} 告警：{what}";
                name = name,
                from = from
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
                            tr!(
                                "server replied in clear: {} {}",
                                "服务器以明文响应：{} {}",
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
        Some(
            d @ ("unknown_ca"
            | "bad_certificate"
            | "certificate_unknown"
            | "certificate_expired"
            | "unsupported_certificate"
            | "certificate_revoked"),
        ) => (
            if alert.is_some_and(|a| a.from == "client") {
                tr!(
                    "the client rejected the server's certificate ({d})",
                    "客户端拒绝了服务器的证书（{d}）"
                )
            } else if alert.is_some_and(|a| a.from != "server") {
                let from = alert.map_or("client", |a| a.from);
                tr!(
                    "the {from} rejected the client's certificate ({d})",
                    "{from} 拒绝了客户端的证书（{d}）"
                )
            } else {
                tr!(
                    "the server rejected the client's certificate ({d})",
                    "服务器拒绝了客户端的证书（{d}）"
                )
            },
            tr!(
                "Make the client trust the server's certificate: give it the CA that signed it (curl --cacert FILE, lftp `set ssl:ca-file FILE`, Python `ssl.create_default_context(cafile=...)`), or give the server a certificate from a CA the clients trust, for the name they connect to. Turning verification off (curl -k, lftp `set ssl:verify-certificate no`) is for testing only: it lets anyone in the middle read the password.",
                "让客户端信任服务器的证书：给它签发该证书的 CA（curl --cacert FILE，lftp `set ssl:ca-file FILE`，Python `ssl.create_default_context(cafile=...)`），或给服务器换一张客户端信任的 CA 签发的、与连接所用名称相符的证书。关闭证书验证（curl -k，lftp `set ssl:verify-certificate no`）只能用于测试：这会让中间任何人都能读到密码。"
            ),
        ),
        Some(d @ ("protocol_version" | "inappropriate_fallback")) => (
            tr!(
                "no TLS version both sides accept ({d})",
                "没有双方都接受的 TLS 版本（{d}）"
            ),
            tr!(
                "Enable a common version, TLS 1.2 or 1.3, on both sides: vsftpd ssl_tlsv1_2=YES (3.0.5+; older versions follow OpenSSL's defaults), ProFTPD `TLSProtocol TLSv1.2 TLSv1.3`, pure-ftpd follows OpenSSL's defaults; clients: curl --tlsv1.2, lftp `set ssl:priority`.",
                "在两端启用共同的版本 TLS 1.2 或 1.3：vsftpd ssl_tlsv1_2=YES（3.0.5+；更早的版本遵循 OpenSSL 的默认值），ProFTPD `TLSProtocol TLSv1.2 TLSv1.3`，pure-ftpd 遵循 OpenSSL 的默认值；客户端：curl --tlsv1.2，lftp `set ssl:priority`。"
            ),
        ),
        Some(d @ ("handshake_failure" | "insufficient_security" | "illegal_parameter")) => (
            tr!(
                "no cipher suite or parameter both sides accept ({d})",
                "没有双方都接受的密码套件或参数（{d}）"
            ),
            tr!(
                "Give both sides a common cipher suite: vsftpd ssl_ciphers (e.g. HIGH), ProFTPD TLSCipherSuite, curl --ciphers / --tls13-ciphers; check the server's certificate type (RSA or ECDSA) matches suites the client offers.",
                "给两端配置共同的密码套件：vsftpd ssl_ciphers（例如 HIGH），ProFTPD TLSCipherSuite，curl --ciphers / --tls13-ciphers；检查服务器的证书类型（RSA 或 ECDSA）与客户端提供的套件是否匹配。"
            ),
        ),
        Some(d) => (
            tr!("the {from} sent {d}", "{from}发送了 {d}"; from = party(alert.map_or("?", |a| a.from))),
            tr!(
                "Read the side's log for the reason of the alert; check certificates, versions and cipher suites on both sides.",
                "查看该端的日志了解告警原因；检查两端的证书、版本和密码套件。"
            ),
        ),
        None => (
            tr!(
                "the connection closed before the handshake finished",
                "连接在握手完成前关闭"
            ),
            tr!(
                "Look at the side that closed: its log gives the reason (certificate, version, cipher suite, a timeout). Compare the versions and suites offered in the ClientHello with what the server chose.",
                "查看关闭连接的一端：它的日志会给出原因（证书、版本、密码套件、超时）。比较 ClientHello 中提供的版本和套件与服务器所选的。"
            ),
        ),
    };
    out.push(Finding {
        id: "tls-handshake-failed",
        severity: Severity::Error,
        summary: tr!(
            "the TLS handshake on the {name} failed: {why}",
            "{name}上的 TLS 握手失败：{why}";
            name = name,
            why = why
        ),
        evidence,
        remedy,
        certainty: Certainty::Seen,
        cause: format!("handshake {}", name.en),
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
        summary: tr!(
            "the client started TLS at once (implicit FTPS) on port {}, but the server greets in clear (explicit FTPS or plain FTP): neither side understands the other",
            "客户端在端口 {} 上一开始就发起 TLS（隐式 FTPS），但服务器以明文发送欢迎信息（显式 FTPS 或普通 FTP）：双方都听不懂对方",
            s.server.port()
        ),
        evidence: vec![
            ev(
                tr!(
                    "client sent a TLS ClientHello as its first bytes",
                    "客户端发送的头几个字节是 TLS ClientHello"
                ),
                Some(s.start),
                Some(ch),
                None,
            ),
            ev(
                tr!(
                    "server sent its greeting in clear: {} {}",
                    "服务器以明文发送欢迎信息：{} {}",
                    r.code,
                    crate::text::escape(&r.text.0)
                ),
                Some(r.ts),
                Some(r.frame),
                Some(i),
            ),
        ],
        remedy: tr!(
            "Use explicit FTPS on this port: curl ftp://HOST:{p}/ --ssl-reqd (not ftps://), lftp `set ftp:ssl-force true` with ftp://, FileZilla \"Require explicit FTP over TLS\". Or make the server speak implicit FTPS (vsftpd implicit_ssl=YES with listen_port=990; ProFTPD `TLSOptions UseImplicitSSL`) and connect to that port.",
            "在这个端口上使用显式 FTPS：curl ftp://HOST:{p}/ --ssl-reqd（不是 ftps://），lftp 用 ftp:// 并 `set ftp:ssl-force true`，FileZilla 选 \"Require explicit FTP over TLS\"。或者让服务器使用隐式 FTPS（vsftpd implicit_ssl=YES 并设 listen_port=990；ProFTPD `TLSOptions UseImplicitSSL`），并连接那个端口。",
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
        tr!(
            "control connection to port {} with no TLS and no greeting (closed: {})",
            "到端口 {} 的控制连接，没有 TLS 也没有欢迎信息（关闭方式：{}）",
            s.server.port(),
            s.closed
        ),
        Some(s.start),
        Some(s.start_frame),
        None,
    )];
    if let Some((i, c)) = first_cmd {
        evidence.push(ev(
            tr!("client sent in clear: {}", "客户端以明文发送：{}", c.verb),
            Some(c.ts),
            Some(c.frame),
            Some(i),
        ));
    }
    out.push(Finding {
        id: "tls-implicit-explicit-mismatch",
        severity: Severity::Error,
        summary: tr!(
            "port {} is implicit FTPS (TLS from the first byte), but the client spoke no TLS: it waits for a greeting the server will only send inside TLS",
            "端口 {} 是隐式 FTPS（从第一个字节起就是 TLS），但客户端没有使用 TLS：它在等待服务器只会在 TLS 内发送的欢迎信息",
            s.server.port()
        ),
        evidence,
        remedy: tr!(
            "Connect with implicit FTPS to this port (curl ftps://HOST/, lftp ftps://HOST, FileZilla \"Require implicit FTP over TLS\"), or use explicit FTPS on port 21 (curl ftp://HOST/ --ssl-reqd).",
            "用隐式 FTPS 连接这个端口（curl ftps://HOST/，lftp ftps://HOST，FileZilla \"Require implicit FTP over TLS\"），或在端口 21 上使用显式 FTPS（curl ftp://HOST/ --ssl-reqd）。"
        ),
        certainty: Certainty::Inferred,
        ..Default::default()
    });
}

/// `tls-unclean-shutdown`: the side that sent the file closed without close_notify.
fn unclean_shutdown(s: &Session, i: usize, d: &DataChannel, t: &TlsInfo, out: &mut Vec<Finding>) {
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
    // No records counted (a source that ended the TLS itself, the proxy's
    // --tls-intercept, hands over plaintext): the channel's bytes tell the sender.
    let (c, sv) = if c == 0 && sv == 0 {
        (d.bytes_to_server, d.bytes_to_client)
    } else {
        (c, sv)
    };
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
    // A server's 426/451 after the sender's unclean end (an upload to a server
    // that wants close_notify, vsftpd with OpenSSL 3) is this fault's result:
    // said here.
    let abor = d.command_exchange.is_some_and(|k| {
        s.exchanges
            .iter()
            .skip(k + 1)
            .any(|e| e.command.as_ref().is_some_and(|c| c.verb == "ABOR"))
    });
    if (d.outcome == Outcome::Aborted && abor) || d.ended_by == Some(receiver_reset) {
        return;
    }
    out.push(Finding {
        id: "tls-unclean-shutdown",
        severity: if upload { Severity::Warning } else { Severity::Info },
        summary: {
            let (n, e, by) = (i + 1, endpoint(d), d.ended_by.map_or("?", |e| e.as_str()));
            let why = if upload {
                tr!(
                    "on an upload the server cannot tell a complete file from one cut short",
                    "对于上传，服务器无法区分完整的文件和被截断的文件"
                )
            } else {
                tr!(
                    "the client cannot tell a complete file from one cut short (strict clients report an error)",
                    "客户端无法区分完整的文件和被截断的文件（严格的客户端会报错）"
                )
            };
            tr!(
                "data connection #{n} ({e}) was closed by TCP ({by}) without a TLS close_notify from the {sender}, which sent the data: {why}",
                "数据连接 #{n}（{e}）由 TCP 关闭（{by}），而发送数据的{sender}没有发送 TLS close_notify：{why}";
                sender = party(sender),
                why = why
            )
        },
        evidence: vec![ev(
            {
                let (n, by) = (i + 1, d.ended_by.map_or("?", |e| e.as_str()));
                tr!(
                    "data connection #{n}: last record from the {sender} was not an alert; ended by {by}",
                    "数据连接 #{n}：来自{sender}的最后一条记录不是告警；以 {by} 结束";
                    sender = party(sender)
                )
            },
            d.end,
            None,
            None,
        )],
        remedy: tr!(
            "The sending side must end TLS with close_notify before closing TCP: update the client or server (old FileZilla/curl/GnuTLS versions and some appliances skip it); on vsftpd, strict_ssl_write_shutdown=YES makes it wait for a clean shutdown on uploads (strict_ssl_read_eof=YES to refuse uploads without one).",
            "发送方必须在关闭 TCP 之前用 close_notify 结束 TLS：升级客户端或服务器（旧版 FileZilla/curl/GnuTLS 和一些设备会跳过它）；在 vsftpd 上，strict_ssl_write_shutdown=YES 会让它在上传时等待干净的关闭（strict_ssl_read_eof=YES 则拒绝没有干净关闭的上传）。"
        ),
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
        summary: tr!(
            "{} of {} data connection(s) of this encrypted session carried data in clear (PROT C, or no PROT P): the login was protected, the files were not",
            "这个加密会话的 {1} 个数据连接中有 {0} 个以明文传输数据（PROT C，或没有 PROT P）：登录受到保护，文件却没有",
            clear.len(),
            s.data_channels.len()
        ),
        evidence: vec![ev(
            tr!(
                "data connection #{} ({}): {} B with no TLS record",
                "数据连接 #{}（{}）：{} B，没有 TLS 记录",
                first + 1,
                endpoint(d),
                d.bytes
            ),
            d.start,
            d.frame_syn,
            None,
        )],
        remedy: tr!(
            "Protect data too: the client sends PBSZ 0 and PROT P (curl --ssl-reqd instead of --ftp-ssl-control, lftp `set ftp:ssl-protect-data true`, Python ftplib `prot_p()`); the server can require it (vsftpd force_local_data_ssl=YES, ProFTPD `TLSRequired on`, pure-ftpd -Y 3).",
            "数据也要保护：客户端发送 PBSZ 0 和 PROT P（curl 用 --ssl-reqd 而不是 --ftp-ssl-control，lftp `set ftp:ssl-protect-data true`，Python ftplib `prot_p()`）；服务器可以强制要求（vsftpd force_local_data_ssl=YES，ProFTPD `TLSRequired on`，pure-ftpd -Y 3）。"
        ),
        certainty: Certainty::Seen,
        ..Default::default()
    });
}
