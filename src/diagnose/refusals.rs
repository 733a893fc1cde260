//! The server refusing on its own terms: what its reply text says it wants or
//! what broke inside it, when the reply code alone would mislead.
//!
//! `tls-required`: a login refused because the server accepts logins only over
//! TLS (vsftpd's 530 "Non-anonymous sessions must use encryption", ProFTPD's 550
//! "SSL/TLS required on the control channel", pure-ftpd's 421 "cleartext sessions
//! ... are not accepted", IIS's 534 "Policy requires SSL"): the password is not
//! the problem, the client's lack of FTPS is.
//!
//! `server-failed`: vsftpd's "500 OOPS: ..." (its fatal-error path: the session's
//! process exits after it), which a bare 500 would read as "command unknown".
//!
//! `data-setup-refused`: the server refused PASV/EPSV (or PORT/EPRT) by policy
//! (vsftpd's 550 "Permission denied." with pasv_enable=NO or port_enable=NO, a
//! 425 when no passive port is free): no transfer can start in that mode. A
//! command the server does not know (500/502/504) is `command-unsupported`'s, a
//! PORT naming another host `bounce-port`'s, a refusal before the login the
//! login's.

use super::{escape, reply_evidence};
use crate::i18n::Tr;
use crate::model::{Certainty, Exchange, Finding, Login, Reply, Session, Severity};
use crate::tr;

/// Does a refusal's text say the server wants TLS (on the control connection)?
/// Words, not codes: servers use 421, 530, 534 and 550 for it.
pub(crate) fn asks_for_tls(text: &[u8]) -> bool {
    let t = crate::text::lossy_str(text).to_ascii_lowercase();
    let has_word = |w: &str| {
        t.match_indices(w).any(|(i, _)| {
            let before = t[..i].chars().next_back();
            let after = t[i + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        })
    };
    has_word("ssl")
        || has_word("tls")
        || has_word("ftps")
        || t.contains("ssl/tls")
        || t.contains("encrypt")
        || t.contains("cleartext")
        || t.contains("clear text")
        || t.contains("clear-text")
        || t.contains("plain ftp")
        || t.contains("plaintext")
}

/// vsftpd's fatal error: "500 OOPS: <what failed>".
pub(super) fn is_oops(r: &Reply) -> bool {
    r.text.0.starts_with(b"OOPS:") || r.text.0.starts_with(b"OOPS ")
}

/// The exchange where the server refused a login (or anything before one) because
/// the session is not under TLS: the first such, before any accepted AUTH.
pub(super) fn tls_refusal(s: &Session) -> Option<usize> {
    // TLS on the control connection (its AUTH before the capture, or implicit):
    // the client did start TLS, whatever a later reply says.
    if s.tls && !s.exchanges.iter().any(|x| x.verb() == Some("AUTH")) {
        return None;
    }
    for (i, x) in s.exchanges.iter().enumerate() {
        if x.verb() == Some("AUTH") && x.final_reply().is_some_and(|r| r.code == 234) {
            return None;
        }
        let before_login = matches!(x.verb(), None | Some("USER" | "PASS" | "ACCT"));
        if before_login && refuses_for_tls(x) {
            return Some(i);
        }
    }
    None
}

pub(super) fn refuses_for_tls(x: &Exchange) -> bool {
    x.replies
        .iter()
        .any(|r| r.code >= 400 && asks_for_tls(&r.text.0))
}

pub(super) fn rules(s: &Session, out: &mut Vec<Finding>) {
    tls_required(s, out);
    data_setup_refused(s, out);
    ipv4_setup_on_ipv6(s, out);
    // An OOPS after a failed TLS handshake is that failure's evidence (vsftpd's
    // "500 OOPS: ... alert unknown ca"), which `tls-handshake-failed` names.
    if !out.iter().any(|f| f.id == "tls-handshake-failed") {
        server_failed(s, out);
    }
}

/// A transfer (or its data setup) refused because the data connection would not
/// be protected: RFC 4217's 521, or a refusal that says TLS/encryption is needed
/// (vsftpd's 522 "Data connections must be encrypted.", ProFTPD's 550 "SSL/TLS
/// required on the data channel").
pub(super) fn refuses_data_for_tls(x: &Exchange) -> bool {
    let data = matches!(
        x.verb(),
        Some(
            "RETR"
                | "STOR"
                | "APPE"
                | "STOU"
                | "LIST"
                | "NLST"
                | "MLSD"
                | "PASV"
                | "EPSV"
                | "PORT"
                | "EPRT"
                | "LPSV"
                | "LPRT"
        )
    );
    // Not a TLS failure ("522 SSL connection failed: session reuse required" is
    // `tls-session-reuse-required`'s).
    let failure = |t: &[u8]| {
        let t = crate::text::lossy_str(t).to_ascii_lowercase();
        t.contains("fail") || t.contains("reuse")
    };
    data && x.final_reply().is_some_and(|r| {
        r.code >= 400
            && (r.code == 521 || asks_for_tls(&r.text.0))
            && !failure(&r.text.0)
            && !is_oops(r)
    })
}

fn tls_required(s: &Session, out: &mut Vec<Finding>) {
    tls_required_for_data(s, out);
    let Some(i) = tls_refusal(s) else {
        return;
    };
    let x = &s.exchanges[i];
    let Some(r) = x.replies.iter().find(|r| r.code >= 400) else {
        return;
    };
    let code = r.code;
    let said = escape(&r.text.0);
    // The client tried again with TLS and got in: what went wrong was only the first try.
    let then_ok = s.login == Login::Ok;
    out.push(Finding {
        id: "tls-required",
        severity: if then_ok {
            Severity::Info
        } else {
            Severity::Warning
        },
        summary: if then_ok {
            tr!(
                "the server refused the login without TLS ({code} \"{said}\"); the client then logged in",
                "服务器拒绝了未使用 TLS 的登录（{code}，\"{said}\"）；之后客户端登录成功"
            )
        } else {
            tr!(
                "the server accepts logins only over TLS, and the client did not start TLS ({code} \"{said}\"): the user name and password are not what was refused",
                "服务器只接受通过 TLS 的登录，而客户端没有启动 TLS（{code}，\"{said}\"）：被拒绝的并不是用户名和密码"
            )
        },
        evidence: reply_evidence(s, i),
        remedy: tr!(
            "Connect with explicit FTPS (AUTH TLS before USER): curl --ssl-reqd, lftp set ftp:ssl-force true, Python ftplib.FTP_TLS, FileZilla \"Require explicit FTP over TLS\". Or, if cleartext passwords are acceptable on this network, allow them on the server (vsftpd force_local_logins_ssl=NO, ProFTPD TLSRequired off, pure-ftpd -Y 1).",
            "使用显式 FTPS 连接（在 USER 之前发送 AUTH TLS）：curl --ssl-reqd，lftp set ftp:ssl-force true，Python ftplib.FTP_TLS，FileZilla“要求显式的 FTP over TLS”。或者，如果在这个网络上可以接受明文密码，在服务器上允许它（vsftpd force_local_logins_ssl=NO，ProFTPD TLSRequired off，pure-ftpd -Y 1）。"
        ),
        certainty: Certainty::Seen,
        exchanges: vec![i],
        ..Default::default()
    });
}

fn tls_required_for_data(s: &Session, out: &mut Vec<Finding>) {
    let found: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, x)| refuses_data_for_tls(x))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = found.first() else {
        return;
    };
    let x = &s.exchanges[first];
    let Some(r) = x.final_reply() else {
        return;
    };
    let (verb, code) = (x.verb().unwrap_or_default(), r.code);
    let said = super::first_line(r);
    // What the client had asked for: the last PROT before the refusal.
    let prot = s.exchanges[..first]
        .iter()
        .rev()
        .find(|y| y.verb() == Some("PROT") && y.final_reply().is_some_and(|r| r.code < 300))
        .and_then(|y| y.command.as_ref())
        .map(|c| crate::text::escape(c.arg.0.trim_ascii()));
    let asked = match prot {
        Some(p) => tr!("the client had set PROT {p}", "客户端设置了 PROT {p}"),
        None => tr!("the client never asked for PROT P", "客户端从未请求 PROT P"),
    };
    out.push(Finding {
        id: "tls-required",
        severity: Severity::Warning,
        summary: tr!(
            "the server requires TLS on data connections and refused {verb} ({code} \"{said}\"): {asked}, so the data would have crossed in clear",
            "服务器要求数据连接使用 TLS，因而拒绝了 {verb}（{code}，\"{said}\"）：{asked}，数据会以明文传输";
            asked = asked
        ),
        evidence: super::reply_evidence(s, first),
        remedy: tr!(
            "Have the client protect its data connections (PBSZ 0 and PROT P before transfers): curl --ssl-reqd rather than --ftp-ssl-control, lftp set ftp:ssl-protect-data true, Python ftplib FTP_TLS.prot_p(), FileZilla does by default. Or, if the files may cross in clear, allow it on the server (vsftpd force_local_data_ssl=NO, ProFTPD TLSRequired ctrl, pure-ftpd -Y 1).",
            "让客户端保护它的数据连接（在传输前发送 PBSZ 0 和 PROT P）：curl 使用 --ssl-reqd 而不是 --ftp-ssl-control，lftp set ftp:ssl-protect-data true，Python ftplib FTP_TLS.prot_p()，FileZilla 默认如此。或者，如果文件可以明文传输，在服务器上允许（vsftpd force_local_data_ssl=NO，ProFTPD TLSRequired ctrl，pure-ftpd -Y 1）。"
        ),
        certainty: Certainty::Seen,
        exchanges: found,
        ..Default::default()
    });
}

const PASSIVE: &[&str] = &["PASV", "EPSV", "LPSV"];
const ACTIVE: &[&str] = &["PORT", "EPRT", "LPRT"];

/// A data-setup command refused by policy (see the module's text).
fn refused_setup(s: &Session, i: usize, x: &Exchange) -> bool {
    let Some(v) = x.verb() else {
        return false;
    };
    if !PASSIVE.contains(&v) && !ACTIVE.contains(&v) {
        return false;
    }
    if ipv4_only_on_ipv6(s, v) || refuses_data_for_tls(x) {
        return false;
    }
    let Some(r) = x.final_reply() else {
        return false;
    };
    let extended = matches!(v, "EPSV" | "EPRT" | "LPSV" | "LPRT");
    // 501 is a syntax error (a malformed PORT, or one a NAT helper mangled), 522
    // to EPRT a family the server lacks (RFC 2428): not a refusal by policy.
    // PORT and LPRT are never `command-unsupported`'s (their refusals are about
    // the address): a server that does not implement them refuses active mode.
    let unimplemented = matches!(v, "PORT" | "LPRT")
        && (matches!(r.code, 502 | 504) || (r.code == 500 && says_unknown(&r.text.0)));
    if r.code < 400
        || (matches!(r.code, 500 | 501 | 502 | 504 | 530 | 532) && !unimplemented)
        || (r.code == 522 && extended)
    {
        return false;
    }
    if is_oops(r) {
        return false;
    }
    // After an accepted EPSV ALL the server must refuse every other setup
    // (RFC 2428): `epsv-all-violation` is the finding.
    let epsv_all = s.exchanges[..i].iter().any(|y| {
        y.verb() == Some("EPSV")
            && y.command
                .as_ref()
                .is_some_and(|c| c.arg.0.trim_ascii().eq_ignore_ascii_case(b"ALL"))
            && y.final_reply().is_some_and(|r| r.code < 300)
    });
    if epsv_all && v != "EPSV" {
        return false;
    }
    // PORT/EPRT naming another host than the client: bounce-port says why.
    if ACTIVE.contains(&v) {
        let named = s
            .data_channels
            .iter()
            .find(|d| d.announce_exchange == i)
            .and_then(|d| d.announced);
        if named.is_some_and(|a| a.ip() != s.client.ip()) {
            return false;
        }
        // Refused because a NAT changed the client's address: active-private-address.
        if s.data_channels
            .iter()
            .filter(|d| d.announce_exchange == i)
            .any(|d| super::port_refused_through_nat(s, d).is_some())
        {
            return false;
        }
    }
    true
}

/// A reply's words say the command is unknown or not implemented.
pub(crate) fn says_unknown(text: &[u8]) -> bool {
    let t = crate::text::lossy_str(text).to_ascii_lowercase();
    [
        "unknown",
        "not understood",
        "not implemented",
        "unrecognized",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The first data setup (PASV, EPSV, PORT, EPRT ...) after exchange `after` that
/// the server accepted: its verb.
pub(crate) fn later_setup(s: &Session, after: usize) -> Option<&str> {
    s.exchanges.get(after + 1..)?.iter().find_map(|y| {
        let v = y.verb()?;
        (PASSIVE.contains(&v) || ACTIVE.contains(&v))
            .then_some(())
            .and(y.final_reply().filter(|r| r.code < 400))
            .map(|_| v)
    })
}

/// How a refused data setup's summary ends: the setup the client made instead,
/// or none.
pub(crate) fn setup_tail(then: Option<&str>) -> Tr {
    match then {
        Some(v) => tr!(
            "; the client then set up the data connection with {v}",
            "；之后客户端用 {v} 建立了数据连接"
        ),
        None => tr!(
            ", and no data connection was set up another way",
            "，而且没有用其他方式建立数据连接"
        ),
    }
}

fn data_setup_refused(s: &Session, out: &mut Vec<Finding>) {
    let refused: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(i, x)| refused_setup(s, *i, x))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = refused.first() else {
        return;
    };
    let last = *refused.last().unwrap_or(&first);
    let verb = |i: usize| s.exchanges[i].verb().unwrap_or_default();
    let passive = PASSIVE.contains(&verb(first));
    // The client got a data connection set up afterwards (the other mode, or the
    // same command once the server had a free port).
    let then = later_setup(s, last);
    let mut verbs: Vec<&str> = refused.iter().map(|&i| verb(i)).collect();
    verbs.dedup();
    let verbs = crate::text::escape_str(&verbs.join(", "));
    let r = s.exchanges[first].final_reply();
    let code = r.map(|r| r.code).unwrap_or_default();
    let said = r.map(super::first_line).unwrap_or_default();
    // No free port in the passive range (pure-ftpd: "425 All reserved TCP ports
    // are busy"): a capacity problem, not a policy.
    let exhausted = passive && {
        let t = r
            .map(|r| crate::text::lossy_str(&r.text.0).to_ascii_lowercase())
            .unwrap_or_default();
        code == 425 || t.contains("busy") || t.contains("no free") || t.contains("in use")
    };
    let mode = if passive {
        tr!("passive mode", "被动模式")
    } else {
        tr!("active mode", "主动模式")
    };
    let summary = match then {
        _ if exhausted => {
            let tail = setup_tail(then);
            tr!(
                "the server had no free passive port to offer ({verbs}: {code} \"{said}\"){tail}",
                "服务器没有空闲的被动端口可提供（{verbs}：{code}，\"{said}\"）{tail}";
                tail = tail
            )
        }
        Some(v) => tr!(
            "the server refused {mode} ({verbs}: {code} \"{said}\"); the client then set up the data connection with {v}",
            "服务器拒绝了{mode}（{verbs}：{code}，\"{said}\"）；之后客户端用 {v} 建立了数据连接";
            mode = mode
        ),
        None => tr!(
            "the server refused {mode} ({verbs}: {code} \"{said}\"), and no data connection was set up another way: no listing or file could move",
            "服务器拒绝了{mode}（{verbs}：{code}，\"{said}\"），而且没有用其他方式建立数据连接：列表和文件都无法传输";
            mode = mode
        ),
    };
    let remedy = if exhausted {
        tr!(
            "Every port of the server's passive range is taken (by other sessions' open passive ports): widen the range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p LOW:HIGH) and open the wider range in the firewall, or allow fewer simultaneous sessions.",
            "服务器被动端口范围内的每个端口都被占用了（被其他会话打开的被动端口占用）：扩大范围（vsftpd pasv_min_port/pasv_max_port，ProFTPD PassivePorts，pure-ftpd -p LOW:HIGH）并在防火墙中放行扩大后的范围，或允许更少的同时会话。"
        )
    } else if passive {
        tr!(
            "The server does not allow passive mode here (vsftpd pasv_enable=NO; ProFTPD <Limit PASV EPSV>; an FTP proxy's policy): allow it on the server, or use active mode if the server can connect back to the client (curl --ftp-port -, lftp set ftp:passive-mode off, ftplib set_pasv(False)).",
            "服务器在这里不允许被动模式（vsftpd pasv_enable=NO；ProFTPD <Limit PASV EPSV>；FTP 代理的策略）：在服务器上允许它，或者在服务器能连回客户端时使用主动模式（curl --ftp-port -，lftp set ftp:passive-mode off，ftplib set_pasv(False)）。"
        )
    } else {
        tr!(
            "The server does not allow active mode (vsftpd port_enable=NO; ProFTPD <Limit PORT EPRT>; many servers refuse it by policy, since it makes them connect out): use passive mode (curl's default, lftp set ftp:passive-mode on, ftplib set_pasv(True)), or allow it on the server.",
            "服务器不允许主动模式（vsftpd port_enable=NO；ProFTPD <Limit PORT EPRT>；许多服务器按策略拒绝它，因为它要求服务器向外连接）：使用被动模式（curl 的默认方式，lftp set ftp:passive-mode on，ftplib set_pasv(True)），或在服务器上允许它。"
        )
    };
    let mut evidence = super::reply_evidence(s, first);
    if last != first {
        evidence.extend(super::reply_evidence(s, last));
    }
    out.push(Finding {
        id: "data-setup-refused",
        severity: if then.is_some() {
            Severity::Info
        } else {
            Severity::Error
        },
        summary,
        evidence,
        remedy,
        certainty: Certainty::Seen,
        exchanges: refused,
        ..Default::default()
    });
}

/// PASV or PORT, which carry only IPv4 addresses, on an IPv6 control connection.
fn ipv4_only_on_ipv6(s: &Session, verb: &str) -> bool {
    matches!(verb, "PASV" | "PORT") && s.server.ip().to_canonical().is_ipv6()
}

fn ipv4_setup_on_ipv6(s: &Session, out: &mut Vec<Finding>) {
    let found: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, x)| {
            x.verb().is_some_and(|v| ipv4_only_on_ipv6(s, v))
                && x.final_reply().is_some_and(|r| {
                    // A PORT the server took (a dual-stack server connecting over
                    // IPv4) is no problem.
                    r.code >= 400 || x.verb() == Some("PASV")
                })
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = found.first() else {
        return;
    };
    let last = *found.last().unwrap_or(&first);
    let x = &s.exchanges[first];
    let verb = x.verb().unwrap_or_default();
    let Some(r) = x.final_reply() else {
        return;
    };
    let code = r.code;
    let said = super::first_line(r);
    // A data connection made from one of them anyway (the client connected to the
    // control address with the 227's port, as curl does).
    let worked = s.data_channels.iter().any(|d| {
        found.contains(&d.announce_exchange)
            && matches!(
                d.outcome,
                crate::model::Outcome::Completed | crate::model::Outcome::CompletedPerReplies
            )
    });
    let extended = s.exchanges[last + 1..].iter().find_map(|y| {
        let v = y.verb()?;
        matches!(v, "EPSV" | "EPRT" | "LPSV" | "LPRT")
            .then_some(())
            .and(y.final_reply().filter(|r| r.code < 400))
            .map(|_| v)
    });
    let server = s.server;
    let (tail, severity) = if worked {
        (
            tr!(
                "; the data connection worked only because the client connected to the control address with the reply's port",
                "；数据连接之所以成功，只是因为客户端用响应中的端口连接了控制地址"
            ),
            Severity::Info,
        )
    } else if let Some(v) = extended {
        (
            tr!("; the client then used {v}", "；之后客户端改用了 {v}"),
            Severity::Info,
        )
    } else {
        (
            tr!(
                "; no data connection could be set up this way",
                "；用这种方式无法建立数据连接"
            ),
            Severity::Error,
        )
    };
    out.push(Finding {
        id: "pasv-on-ipv6",
        severity,
        summary: tr!(
            "{verb} on an IPv6 control connection ({server}): {verb} carries only IPv4 addresses (RFC 2428 gives EPSV and EPRT for IPv6), and the server answered {code} \"{said}\"{tail}",
            "在 IPv6 控制连接（{server}）上使用了 {verb}：{verb} 只能携带 IPv4 地址（RFC 2428 为 IPv6 规定了 EPSV 和 EPRT），服务器响应 {code}，\"{said}\"{tail}";
            tail = tail
        ),
        evidence: super::reply_evidence(s, first),
        remedy: tr!(
            "Use EPSV (and EPRT for active mode) on IPv6: curl, lftp, FileZilla and Python's ftplib do so by themselves on an IPv6 connection; clients that cannot (Windows ftp.exe, old embedded clients) must connect over IPv4. The server is not at fault, and no passive address setting can fix this.",
            "在 IPv6 上使用 EPSV（主动模式用 EPRT）：curl、lftp、FileZilla 和 Python 的 ftplib 在 IPv6 连接上会自动这样做；做不到的客户端（Windows ftp.exe、旧的嵌入式客户端）必须通过 IPv4 连接。服务器没有问题，任何被动地址设置都无法解决这个问题。"
        ),
        certainty: Certainty::Seen,
        exchanges: found,
        ..Default::default()
    });
}

fn server_failed(s: &Session, out: &mut Vec<Finding>) {
    let Some((i, r)) = s
        .exchanges
        .iter()
        .enumerate()
        .find_map(|(i, x)| x.replies.iter().find(|r| is_oops(r)).map(|r| (i, r)))
    else {
        return;
    };
    let said = escape(&r.text.0);
    let t = crate::text::lossy_str(&r.text.0).to_ascii_lowercase();
    let after = match s.exchanges[i].verb() {
        Some(v) => {
            let v = crate::text::escape_str(v);
            tr!(" answering {v}", "（在回答 {v} 时）")
        }
        None => Tr::default(),
    };
    let remedy = if t.contains("writable root") || t.contains("writeable root") {
        tr!(
            "The user's home directory, where vsftpd locks the session (chroot_local_user), is writable by the user, which vsftpd 3 refuses: remove the write permission (chmod a-w on the home directory) and give the user a writable subdirectory for uploads, or set allow_writeable_chroot=YES.",
            "用户的主目录（vsftpd 用 chroot_local_user 把会话锁定在其中）对该用户可写，vsftpd 3 拒绝这样做：去掉写权限（对主目录执行 chmod a-w），另给用户一个可写的子目录用于上传，或设置 allow_writeable_chroot=YES。"
        )
    } else if t.contains("cannot change directory") || t.contains("chdir") {
        tr!(
            "The user's home directory (or vsftpd's local_root) does not exist or the server may not enter it: create it, check its owner and permissions, and on SELinux systems the FTP booleans (getsebool -a | grep ftp).",
            "用户的主目录（或 vsftpd 的 local_root）不存在，或服务器无权进入：创建它，检查它的属主和权限；在 SELinux 系统上检查 FTP 相关的布尔值（getsebool -a | grep ftp）。"
        )
    } else if t.contains("bind") {
        tr!(
            "vsftpd could not bind a socket it needed: in active mode, connect_from_port_20=YES fails where port 20 may not be bound (containers, namespaces, no CAP_NET_BIND_SERVICE): set connect_from_port_20=NO; in passive mode, check that the passive range (pasv_min_port/pasv_max_port) is free.",
            "vsftpd 无法绑定它需要的套接字：在主动模式下，如果不能绑定 20 端口（容器、命名空间、没有 CAP_NET_BIND_SERVICE），connect_from_port_20=YES 会失败：设置 connect_from_port_20=NO；在被动模式下，检查被动端口范围（pasv_min_port/pasv_max_port）是否空闲。"
        )
    } else if t.contains("priv_sock") || t.contains("child died") || t.contains("seccomp") {
        tr!(
            "A vsftpd helper process died, which often is its seccomp sandbox meeting a newer kernel or C library: set seccomp_sandbox=NO and read vsftpd's log.",
            "vsftpd 的一个辅助进程退出了，这常常是它的 seccomp 沙箱与较新的内核或 C 库不兼容：设置 seccomp_sandbox=NO，并查看 vsftpd 的日志。"
        )
    } else if t.contains("ssl") || t.contains("tls") || t.contains("certificate") {
        tr!(
            "vsftpd's TLS failed: check rsa_cert_file and rsa_private_key_file (readable, matching each other), ssl_ciphers, and the TLS versions the client offers.",
            "vsftpd 的 TLS 失败：检查 rsa_cert_file 和 rsa_private_key_file（可读且相互匹配）、ssl_ciphers，以及客户端提供的 TLS 版本。"
        )
    } else if t.contains("pam") {
        tr!(
            "PAM refused the session: check the PAM service vsftpd uses (pam_service_name, /etc/pam.d/) and the user's shell (pam_shells wants it listed in /etc/shells).",
            "PAM 拒绝了会话：检查 vsftpd 使用的 PAM 服务（pam_service_name，/etc/pam.d/）和用户的 shell（pam_shells 要求它列在 /etc/shells 中）。"
        )
    } else {
        tr!(
            "vsftpd stopped on an error it cannot go on from; its reply says what failed: read vsftpd's log (vsftpd_log_file or the system log) and fix the setting or file it names.",
            "vsftpd 遇到无法继续的错误而停止；它的响应说明了失败的内容：查看 vsftpd 的日志（vsftpd_log_file 或系统日志），修正其中提到的设置或文件。"
        )
    };
    out.push(Finding {
        id: "server-failed",
        severity: Severity::Error,
        summary: tr!(
            "the server failed{after} and ended the session: \"{said}\" (vsftpd's fatal-error reply, not a refused command)",
            "服务器{after}失败并结束了会话：\"{said}\"（vsftpd 的致命错误响应，而不是拒绝了命令）";
            after = after
        ),
        evidence: reply_evidence(s, i),
        remedy,
        certainty: Certainty::Seen,
        cause: "vsftpd-oops".into(),
        exchanges: vec![i],
        ..Default::default()
    });
}

#[cfg(test)]
mod tests {
    use super::asks_for_tls;

    #[test]
    fn refusals_that_ask_for_tls_are_told_from_others() {
        for t in [
            "Non-anonymous sessions must use encryption.",
            "SSL/TLS required on the control channel",
            "Sorry, cleartext sessions and weak ciphers are not accepted on this server.",
            "Policy requires SSL.",
            "This server does not allow plain FTP. You have to use FTP over TLS.",
            "TLS required",
            "Please use FTPS",
        ] {
            assert!(asks_for_tls(t.as_bytes()), "{t}");
        }
        for t in [
            "Login incorrect.",
            "Permission denied.",
            "Login authentication failed",
            "User settlsx not allowed",
            "Bustling server, try later",
            "Only anonymous logins accepted",
        ] {
            assert!(!asks_for_tls(t.as_bytes()), "{t}");
        }
    }
}
