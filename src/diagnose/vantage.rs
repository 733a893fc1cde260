//! One FTP session seen from both sides of a NAT.
//!
//! A capture taken on a NAT device (`tcpdump -i any`), or two captures merged (the
//! client's and the server's), holds every packet twice: once with the inside
//! addresses, once with the outside ones. The tracker sees two sessions. An expert
//! reading the packets pairs them: the same commands and replies, in the same
//! order, each a fixed offset apart (the NAT's delay, or the two capture clocks'
//! difference), and an endpoint the NAT kept (the client's port, which Linux keeps
//! when it can, or the client's whole address when the server side is translated).
//! Then the interesting part is what the NAT changed: an address in PORT/EPRT or
//! in a 227 rewritten (an FTP helper, "ALG", is at work) or passed unchanged (none:
//! the far side is told an address it cannot reach).
//!
//! [`VantagePairs`] keeps a short profile of each ended session (bounded) and
//! reports each pair once, as a capture-wide finding `nat-both-sides`.
//! Not paired, because the pairing would be a guess: sessions whose NAT changed
//! the client's port too (port-translating firewalls), both ends at once, or
//! halves that do not overlap in time (a replay of a session after it ended, as
//! test suites make with rewritten addresses; two captures whose clocks differ by
//! more than half the session).

use std::collections::VecDeque;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::ftp::address::is_private;
use crate::i18n::Tr;
use crate::model::{Certainty, Evidence, Finding, Session, Severity};
use crate::text::escape;
use crate::time::Ts;
use crate::tr;

/// Exchanges compared per session (the start of a session is enough to tell).
const STEPS: usize = 32;
/// Fewer exchanges than this are too little evidence to pair.
const MIN_STEPS: usize = 4;
/// The two copies of each line are this close to the first pair's offset.
const JITTER_SECS: f64 = 0.005;
/// The two halves start at most this far apart (clock difference of two
/// capture points included).
const MAX_OFFSET_SECS: f64 = 2.0;
/// Profiles kept at most (the oldest go).
const MAX_PROFILES: usize = 4096;
/// Argument bytes kept per step.
const ARG_KEEP: usize = 96;

#[derive(Debug, Clone)]
struct Step {
    /// The catalog's spelling when known (no copy per step), else the verb sent.
    verb: Option<std::borrow::Cow<'static, str>>,
    /// The command's argument (cut), or for a 227/228/229 reply its text.
    arg: Vec<u8>,
    code: u16,
    /// The step carries an address the NAT may rewrite.
    address: bool,
    ts: Ts,
    frame: u64,
}

#[derive(Debug, Clone)]
struct Profile {
    id: usize,
    client: SocketAddr,
    server: SocketAddr,
    start: Ts,
    steps: Vec<Step>,
}

/// Finds sessions that are the same session seen on both sides of a NAT.
#[derive(Default)]
pub struct VantagePairs {
    by_port: FxHashMap<u16, Vec<Profile>>,
    order: VecDeque<u16>,
    paired: std::collections::HashSet<usize>,
    found: Vec<Finding>,
}

fn profile(s: &Session) -> Option<Profile> {
    let mut steps = Vec::with_capacity(s.exchanges.len().min(STEPS));
    for x in s.exchanges.iter().take(STEPS) {
        let first = x.replies.first();
        let fin = x.final_reply();
        let (verb, mut arg, address) = match &x.command {
            Some(c) => (
                Some(c.catalog_verb()),
                c.arg.0.clone(),
                matches!(c.verb.as_str(), "PORT" | "EPRT" | "LPRT"),
            ),
            None => (None, Vec::new(), false),
        };
        let code = fin.map_or(0, |r| r.code);
        let mut address = address;
        if let Some(r) = fin.filter(|r| matches!(r.code, 227..=229)) {
            arg = r.text.0.clone();
            address = true;
        }
        arg.truncate(ARG_KEEP);
        let (ts, frame) = match (&x.command, first) {
            (Some(c), _) => (c.ts, c.frame),
            (None, Some(r)) => (r.ts, r.frame),
            (None, None) => continue,
        };
        steps.push(Step {
            verb,
            arg,
            code,
            address,
            ts,
            frame,
        });
    }
    (steps.len() >= MIN_STEPS).then_some(Profile {
        id: s.id,
        client: s.client,
        server: s.server,
        start: s.start,
        steps,
    })
}

/// Do `a` and `b` look like one session seen twice? Returns the offset b - a.
fn same_session(a: &Profile, b: &Profile) -> Option<f64> {
    if (a.client, a.server) == (b.client, b.server) || a.steps.len() != b.steps.len() {
        return None;
    }
    // An endpoint the NAT kept: the client's port (source NAT), or the client's
    // whole address (destination NAT in front of the server).
    // One side translated, not both (a replay rewritten by a tool changes both).
    let kept = (a.client.port() == b.client.port()
        && a.client.ip() != b.client.ip()
        && a.server == b.server)
        || (a.client == b.client && a.server != b.server);
    if !kept {
        return None;
    }
    let offset = a.steps[0].ts.secs_until(b.steps[0].ts);
    if offset.abs() > MAX_OFFSET_SECS || a.start.secs_until(b.start).abs() > MAX_OFFSET_SECS {
        return None;
    }
    // Two copies of one session overlap in time (each packet is seen twice within
    // the NAT's delay); a session replayed after the first has ended does not.
    let span = |p: &Profile| p.steps[0].ts.secs_until(p.steps[p.steps.len() - 1].ts);
    if offset.abs() >= span(a).min(span(b)) / 2.0 {
        return None;
    }
    for (x, y) in a.steps.iter().zip(&b.steps) {
        if x.verb != y.verb || x.code != y.code {
            return None;
        }
        if !x.address && x.arg != y.arg {
            return None;
        }
        if (x.ts.secs_until(y.ts) - offset).abs() > JITTER_SECS {
            return None;
        }
    }
    Some(offset)
}

fn ev(what: Tr, ts: Ts, frame: u64) -> Evidence {
    Evidence {
        what,
        ts: Some(ts),
        frame: Some(frame),
        exchange: None,
    }
}

fn line(s: &Step) -> String {
    match &s.verb {
        Some(v) => format!("{v} {}", escape(&s.arg)),
        None => format!("{} {}", s.code, escape(&s.arg)),
    }
}

/// The finding for a pair: `inside` is the half with the private client (or, for
/// destination NAT, the private server).
fn finding(inside: &Profile, outside: &Profile, offset: f64) -> Finding {
    let mut what: Vec<Tr> = Vec::new();
    let (ic, oc, is, os) = (inside.client, outside.client, inside.server, outside.server);
    if ic != oc {
        what.push(tr!(
            "the client {ic} appears outside as {oc}",
            "客户端 {ic} 在外侧显示为 {oc}"
        ));
    }
    if is != os {
        what.push(tr!(
            "the server {is} is reached from outside at {os}",
            "服务器 {is} 在外侧通过 {os} 访问"
        ));
    }
    let mut evidence = vec![ev(
        tr!(
            "session {} ({} -> {}) and session {} ({} -> {}): {} exchanges alike, each {:.3} ms apart",
            "会话 {}（{} -> {}）和会话 {}（{} -> {}）：{} 次交互相同，每次相隔 {:.3} ms",
            inside.id,
            inside.client,
            inside.server,
            outside.id,
            outside.client,
            outside.server,
            inside.steps.len(),
            (offset.abs() * 1000.0)
        ),
        inside.steps[0].ts,
        inside.steps[0].frame,
    )];
    let (mut rewritten, mut passed) = (0, 0);
    let mut private_passed = false;
    for (x, y) in inside.steps.iter().zip(&outside.steps) {
        if !x.address {
            continue;
        }
        if x.arg != y.arg {
            rewritten += 1;
            evidence.push(ev(
                tr!(
                    "the NAT rewrote \"{}\" (inside) to \"{}\" (outside): an FTP helper (ALG) is at work",
                    "NAT 把 \"{}\"（内侧）改写成了 \"{}\"（外侧）：有 FTP 辅助模块（ALG）在起作用",
                    line(x),
                    line(y)
                ),
                y.ts,
                y.frame,
            ));
        } else {
            passed += 1;
            let addr = crate::ftp::address::parse_port_arg(&x.arg)
                .map(|a| std::net::IpAddr::V4(*a.ip()))
                .or_else(|| crate::ftp::address::parse_eprt(&x.arg).map(|a| a.ip()))
                .or_else(|| {
                    crate::ftp::address::parse_227(&x.arg).map(|a| std::net::IpAddr::V4(*a.ip()))
                });
            if addr.is_some_and(is_private) {
                private_passed = true;
            }
            evidence.push(ev(
                tr!(
                    "the NAT passed \"{}\" unchanged (no FTP helper rewrote it)",
                    "NAT 原样放行了 \"{}\"（没有 FTP 辅助模块改写它）",
                    line(x)
                ),
                y.ts,
                y.frame,
            ));
        }
    }
    let (a, b) = (inside.id, outside.id);
    let what = Tr {
        en: what
            .iter()
            .map(|w| w.en.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        zh: what
            .iter()
            .map(|w| w.zh.as_str())
            .collect::<Vec<_>>()
            .join("；"),
    };
    let how = match (rewritten, passed) {
        (0, 0) => Tr::default(),
        (_, 0) => tr!(
            "; the NAT rewrites the addresses in FTP commands and replies",
            "；NAT 会改写 FTP 命令和响应中的地址"
        ),
        (0, _) => tr!(
            "; the NAT does not rewrite the addresses in FTP commands and replies",
            "；NAT 不改写 FTP 命令和响应中的地址"
        ),
        _ => tr!(
            "; the NAT rewrote some addresses and passed others unchanged",
            "；NAT 改写了部分地址，其余原样放行"
        ),
    };
    let summary = tr!(
        "sessions {a} and {b} are one FTP session seen on both sides of a NAT: {what}{how}",
        "会话 {a} 和 {b} 是在 NAT 两侧看到的同一个 FTP 会话：{what}{how}";
        what = what,
        how = how
    );
    let remedy = if private_passed {
        tr!(
            "The far side is told a private address it cannot reach: use passive mode (EPSV) from the client, or enable the NAT's FTP helper (Linux: nf_conntrack_ftp and nf_nat_ftp with a helper rule; firewalls: the FTP inspection/ALG), or configure the server's passive address (vsftpd pasv_address, ProFTPD MasqueradeAddress, pure-ftpd -P). Read the two sessions together: the inside one shows what was sent, the outside one what arrived.",
            "对端拿到的是它无法到达的私有地址：让客户端使用被动模式（EPSV），或启用 NAT 的 FTP 辅助模块（Linux：nf_conntrack_ftp 和 nf_nat_ftp 加上 helper 规则；防火墙：FTP 检测/ALG），或配置服务器的被动地址（vsftpd pasv_address，ProFTPD MasqueradeAddress，pure-ftpd -P）。把两个会话对照阅读：内侧的显示发出了什么，外侧的显示到达了什么。"
        )
    } else {
        tr!(
            "Nothing to fix for the pairing itself. Read the two sessions together: the inside one shows what the sender sent, the outside one what arrived after the NAT; a finding on only one of them comes from what the NAT changed.",
            "配对本身无需处理。把两个会话对照阅读：内侧的显示发送方发出了什么，外侧的显示经过 NAT 后到达了什么；只出现在其中一个会话上的发现来自 NAT 所做的改动。"
        )
    };
    Finding {
        id: "nat-both-sides",
        severity: Severity::Info,
        summary,
        evidence,
        remedy,
        certainty: Certainty::Inferred,
        cause: format!("{} {}", inside.id, outside.id),
        ..Default::default()
    }
}

/// The two sessions a `nat-both-sides` finding pairs: (inside, outside).
pub fn pair(f: &Finding) -> Option<(usize, usize)> {
    if f.id != "nat-both-sides" {
        return None;
    }
    let (a, b) = f.cause.split_once(' ')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl VantagePairs {
    /// Look at an ended session (in any order).
    pub fn add(&mut self, s: &Session) {
        let Some(p) = profile(s) else {
            return;
        };
        // Source NAT keeps the client's port; destination NAT keeps the client's
        // whole address: one map by the client's port serves both.
        let candidates = self.by_port.get(&p.client.port()).into_iter().flatten();
        let mut hit = None;
        for q in candidates {
            if self.paired.contains(&q.id) {
                continue;
            }
            if let Some(off) = same_session(q, &p) {
                hit = Some((q.clone(), off));
                break;
            }
        }
        if let Some((q, off)) = hit {
            self.paired.insert(q.id);
            self.paired.insert(p.id);
            // The inside half: the one whose client (or server) address is private.
            let q_inside = is_private(q.client.ip()) && !is_private(p.client.ip())
                || (q.client == p.client
                    && is_private(q.server.ip())
                    && !is_private(p.server.ip()));
            let p_inside = is_private(p.client.ip()) && !is_private(q.client.ip())
                || (q.client == p.client
                    && is_private(p.server.ip())
                    && !is_private(q.server.ip()));
            let f = if p_inside && !q_inside {
                finding(&p, &q, -off)
            } else {
                finding(&q, &p, off)
            };
            self.found.push(f);
            return;
        }
        let port = p.client.port();
        let list = self.by_port.entry(port).or_default();
        list.push(p);
        if list.len() > 8 {
            list.remove(0);
        }
        self.order.push_back(port);
        if self.order.len() > MAX_PROFILES {
            if let Some(old) = self.order.pop_front() {
                if let Some(l) = self.by_port.get_mut(&old) {
                    if !l.is_empty() {
                        l.remove(0);
                    }
                    if l.is_empty() {
                        self.by_port.remove(&old);
                    }
                }
            }
        }
    }

    /// The pairs found, one finding each.
    pub fn finish(self) -> Vec<Finding> {
        self.found
    }
}
