//! `control-slow-reply`: the server took seconds to answer something it answers
//! at once when healthy: the greeting (a reverse DNS or ident lookup of the
//! client timing out, the classic "the login prompt takes 10 seconds"), the
//! login (an authentication backend waiting on something), a passive port, a
//! directory operation (a slow or network file system).
//!
//! Only replies the server owed while idle count: a transfer's final reply comes
//! after the data, a command sent while the server was still busy with another
//! waits its turn, a 1yz means a long operation started. Refusals are left out
//! (servers delay failed logins on purpose), and so are waits across a gap of the
//! control connection (lost packets, not the server, would explain them).

use super::reply_evidence;
use crate::model::{Certainty, Finding, Session, Severity};
use crate::tr;

/// A reply this late is slow whatever the network (a round trip is well under).
const SLOW_SECS: f64 = 5.0;

pub(super) fn rules(s: &Session, out: &mut Vec<Finding>) {
    // The control connection's gaps, when every one is known: a wait that spans
    // none of them is the server's (a gap elsewhere in the session says nothing of
    // it); more gaps than are kept, and the session is left out.
    let gaps: &[crate::model::GapAt] = s.capture.gap_at.as_deref().map_or(&[], |g| g);
    if s.capture.mid_session
        || s.capture.gaps as usize > gaps.len()
        || out.iter().any(|f| f.id == "control-retransmissions")
    {
        return;
    }
    // A gap shown (by the packet after the hole) between the command and its first
    // reply may hold what the wait was really about (the real first reply lost,
    // the one seen a later command's); one shown after it cannot.
    let spans_gap =
        |from: crate::time::Ts, to: crate::time::Ts| gaps.iter().any(|g| g.1 >= from && g.1 <= to);
    // (exchange, seconds waited) of every slow reply.
    let mut slow: Vec<(usize, f64)> = Vec::new();
    let mut idle_since = s.start;
    for (i, x) in s.exchanges.iter().enumerate() {
        let Some(first) = x.replies.first() else {
            continue;
        };
        let last = x.replies.last().unwrap_or(first);
        let asked = match &x.command {
            // The greeting: owed from the connection's start, when its first SYN
            // was answered (retried SYNs delay the handshake, not the server).
            None if i == 0 && s.coverage.control_syns <= 1 => Some(s.start),
            None => None,
            Some(c) => {
                let verb = c.verb.as_str();
                let owed_now = !c.is_transfer()
                    && !matches!(verb, "ABOR" | "STAT" | "SITE" | "QUIT" | "NOOP")
                    && c.ts >= idle_since;
                owed_now.then_some(c.ts)
            }
        };
        if let Some(t) = asked {
            let waited = t.secs_until(first.ts);
            if waited >= SLOW_SECS && (200..400).contains(&first.code) && !spans_gap(t, first.ts) {
                slow.push((i, waited));
            }
        }
        if last.ts > idle_since {
            idle_since = last.ts;
        }
    }
    let Some(&(i, waited)) = slow.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return;
    };
    let verb = s.exchanges[i].verb();
    let wait = crate::time::human_duration(waited);
    let what = match verb {
        None => tr!("the greeting", "欢迎信息"),
        Some(v) => {
            let v = crate::text::escape_str(v);
            tr!("the reply to {v}", "对 {v} 的响应")
        }
    };
    let n = slow.len();
    let more = if n > 1 {
        let others = n - 1;
        tr!(
            " ({others} more slow replies in this session)",
            "（本会话中另有 {others} 个慢响应）"
        )
    } else {
        crate::i18n::Tr::default()
    };
    let remedy = match verb {
        None => tr!(
            "The server waits before greeting: almost always a reverse DNS or ident lookup of the client that times out. Turn the lookups off (ProFTPD UseReverseDNS off and IdentLookups off, pure-ftpd -H, vsftpd reverse_lookup_enable=NO in Red Hat builds) or fix the server's DNS (its resolver, a PTR record for the client's address).",
            "服务器在发送欢迎信息之前等待：几乎总是对客户端的反向 DNS 或 ident 查询超时。关闭这些查询（ProFTPD UseReverseDNS off 和 IdentLookups off，pure-ftpd -H，Red Hat 版本的 vsftpd reverse_lookup_enable=NO），或修复服务器的 DNS（它的解析器、客户端地址的 PTR 记录）。"
        ),
        Some("USER" | "PASS" | "ACCT") => tr!(
            "The server's authentication waits on something slow: PAM with a remote directory (LDAP, SSSD, Kerberos), a reverse DNS lookup of the client for PAM's rhost (ProFTPD UseReverseDNS, vsftpd reverse_lookup_enable in Red Hat builds), or TCP wrappers. Check the server's resolver and its authentication backend, or turn the lookups off.",
            "服务器的认证在等待某个慢的东西：使用远程目录的 PAM（LDAP、SSSD、Kerberos），为 PAM 的 rhost 对客户端做的反向 DNS 查询（ProFTPD UseReverseDNS，Red Hat 版本的 vsftpd reverse_lookup_enable），或 TCP wrappers。检查服务器的解析器和认证后端，或关闭这些查询。"
        ),
        Some("PASV" | "EPSV" | "LPSV" | "PORT" | "EPRT" | "LPRT") => tr!(
            "The server was slow to set up the data connection: resolving its passive address (vsftpd pasv_addr_resolve with a host name), finding a free port in a busy passive range, or an overloaded server. Give the passive address as a number and a wide enough port range.",
            "服务器建立数据连接很慢：解析它的被动地址（vsftpd pasv_addr_resolve 使用主机名）、在繁忙的被动端口范围内寻找空闲端口，或服务器过载。把被动地址写成数字，并给出足够宽的端口范围。"
        ),
        Some(_) => tr!(
            "The server was slow on a file or directory operation: its file system (a network file system, a slow or busy disk, a very large directory) or an overloaded server. Look at the server at that time.",
            "服务器在文件或目录操作上很慢：它的文件系统（网络文件系统、慢或繁忙的磁盘、非常大的目录）或服务器过载。查看服务器当时的状态。"
        ),
    };
    // Resolvers wait 5 s per try by default (glibc's timeout:5): a wait of a
    // whole number of those is the fingerprint of a DNS lookup timing out.
    let tries = (waited / 5.0).round();
    let remedy = if tries >= 1.0 && (waited - tries * 5.0).abs() <= 0.3 {
        let n = tries as u32;
        tr!(
            "A wait of {n} × 5 s matches the DNS resolver's default timeout (5 s per try): a name lookup timing out is the likely cause. {remedy}",
            "等待时间为 {n} × 5 秒，与 DNS 解析器的默认超时（每次尝试 5 秒）相符：很可能是名称查询超时。{remedy}";
            remedy = remedy
        )
    } else {
        remedy
    };
    let mut evidence = reply_evidence(s, i);
    if verb.is_none() {
        evidence.insert(
            0,
            super::ev(
                tr!("control connection opened", "控制连接建立"),
                Some(s.start),
                Some(s.start_frame),
                None,
            ),
        );
    }
    out.push(Finding {
        id: "control-slow-reply",
        severity: Severity::Warning,
        summary: tr!(
            "the server took {wait} to send {what}, which a healthy server sends at once{more}",
            "服务器用了 {wait} 才发送{what}，而正常的服务器会立即发送{more}";
            what = what,
            more = more
        ),
        evidence,
        remedy,
        certainty: Certainty::Seen,
        exchanges: slow.iter().map(|(i, _)| *i).collect(),
        ..Default::default()
    });
}
