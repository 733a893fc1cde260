//! Diagnosis: rules that read the model and add [`Finding`]s.
//!
//! Every rule works from what is on the wire: an announcement, the connection
//! attempt that followed (or not) and what answered it, the reply codes. Each
//! finding carries its evidence (with frame numbers and times) and a remedy that
//! names the address, port, mode and setting involved. The ids are stable and
//! documented in docs/findings.md.

use std::net::{IpAddr, SocketAddr};

use crate::ftp::address::{is_private, private_networks_apart};
use crate::i18n::Tr;
use crate::model::{
    CaptureDrops, CaptureStats, Certainty, ControlAnswer, DataChannel, DataMode, DataVisibility,
    Evidence, Exchange, FailedLogin, Finding, IcmpRejection, Login, MatchKind, Outcome,
    Representation, Session, Severity, Via,
};
use crate::text::{escape, escape_str};
use crate::time::Ts;
use crate::tr;

/// Failed logins from one client address within this many seconds count together.
const GUESS_WINDOW_SECS: f64 = 300.0;
/// That many failures in the window look like password guessing.
const GUESS_THRESHOLD: usize = 5;

fn ev(what: Tr, ts: Option<Ts>, frame: Option<u64>, exchange: Option<usize>) -> Evidence {
    Evidence {
        what,
        ts,
        frame: frame.filter(|f| *f > 0),
        exchange,
    }
}

fn reply_evidence(s: &Session, ei: usize) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(x) = s.exchanges.get(ei) {
        if let Some(c) = &x.command {
            let line = format!("{} {}", escape_str(&c.verb), escape(&c.arg.0));
            let line = line.trim_end();
            out.push(ev(
                tr!("client sent: {line}", "客户端发送：{line}"),
                Some(c.ts),
                Some(c.frame),
                Some(ei),
            ));
        }
        for r in &x.replies {
            let first = r
                .lines
                .first()
                .map(|l| escape(&l.0))
                .unwrap_or_else(|| format!("{}", r.code));
            out.push(ev(
                tr!("server replied: {first}", "服务器响应：{first}"),
                Some(r.ts),
                Some(r.frame),
                Some(ei),
            ));
        }
    }
    out
}

/// A reply's text up to its first line end, escaped (a multi-line reply's
/// reason is on its first line).
fn first_line(r: &crate::model::Reply) -> String {
    escape(r.text.0.split(|b| *b == b'\n').next().unwrap_or_default())
}

/// The command that announced `d`, as findings name it: for a connection whose
/// announcement was before the capture, the commands of its mode.
fn via_text(d: &DataChannel) -> &'static str {
    match (d.via, d.mode) {
        (Via::Unseen, DataMode::Passive) => "PASV/EPSV",
        (Via::Unseen, DataMode::Active) => "PORT/EPRT",
        (v, _) => v.as_str(),
    }
}

fn announcement_evidence(s: &Session, d: &DataChannel) -> Vec<Evidence> {
    if d.via == Via::Unseen {
        // Its announcement was before the capture.
        return Vec::new();
    }
    reply_evidence(s, d.announce_exchange)
}

fn attempt_evidence(d: &DataChannel) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let (Some(c), Some(l)) = (d.connector, d.listener) {
        let n = d.syns;
        let syns = if n > 1 {
            tr!(" ({n} SYNs)", "（{n} 个 SYN）")
        } else {
            Tr::default()
        };
        out.push(ev(
            tr!("SYN {c} -> {l}{syns}", "SYN {c} -> {l}{syns}"; syns = syns),
            d.start,
            d.frame_syn,
            None,
        ));
        match d.outcome {
            Outcome::Refused => out.push(ev(
                match &d.rejected_by {
                    Some(r) => icmp::evidence_text(r),
                    None => tr!(
                        "answered by RST from {l}: connection refused",
                        "{l} 以 RST 应答：连接被拒绝"
                    ),
                },
                d.rejected_by.map_or(d.end, |r| Some(r.ts)),
                d.frame_answer,
                None,
            )),
            Outcome::Unanswered => out.push(ev(
                tr!(
                    "no answer from {l} to {} SYN(s)",
                    "{l} 未应答 {} 个 SYN",
                    d.syns.max(1)
                ),
                d.end,
                None,
                None,
            )),
            _ => {}
        }
    }
    out
}

fn control_evidence(s: &Session) -> Evidence {
    let (c, sv) = (s.client, s.server);
    ev(
        tr!("control connection: {c} -> {sv}", "控制连接：{c} -> {sv}"),
        Some(s.start),
        Some(s.start_frame),
        None,
    )
}

/// The remedy for a passive data connection an ICMP error rejected: open the
/// passive range where the rule is (the sender says where), or, for a missing
/// route, fix the address or the routing.
fn passive_icmp_remedy(r: &IcmpRejection, connector: IpAddr, target: SocketAddr) -> Tr {
    let (port, from) = (target.port(), r.from);
    let hint = port_range_hint(port);
    if !icmp::is_filter(r) {
        let ip = target.ip();
        return tr!(
            "{from} has no route to {ip}: the address the server announced is not reachable from the client (a private or wrong passive address, or a routing fault on the path). Set the server's passive address to the one clients use, or let the client use the control connection's address (EPSV; curl skips the PASV address by default).",
            "{from} 没有到 {ip} 的路由：客户端无法到达服务器通告的地址（私有或错误的被动地址，或路径上的路由故障）。把服务器的被动地址设置为客户端使用的地址，或让客户端使用控制连接的地址（EPSV；curl 默认忽略 PASV 中的地址）。"
        );
    }
    let firewalld = tr!(
        "firewalld: firewall-cmd --permanent --add-port=LOW-HIGH/tcp, then --reload",
        "firewalld：firewall-cmd --permanent --add-port=LOW-HIGH/tcp，然后 --reload"
    );
    match icmp::sender(r, connector, target.ip()) {
        icmp::Sender::Target => tr!(
            "A firewall rule on {from} itself rejects TCP to port {port} (a REJECT rule: iptables/nftables, or firewalld): open the server's passive port range there ({hint}; {firewalld}). Where {from} is a NAT router in front of the server, forward that range to the server as well as port 21. Until then, active mode (PORT/EPRT) may work if the client can accept connections.",
            "{from} 自身的防火墙规则拒绝了到端口 {port} 的 TCP（REJECT 规则：iptables/nftables 或 firewalld）：在那里放行服务器的被动模式端口范围（{hint}；{firewalld}）。如果 {from} 是服务器前面的 NAT 路由器，除了端口 21 还要把这个范围转发给服务器。在此之前，如果客户端能接受入站连接，可以改用主动模式（PORT/EPRT）。";
            hint = hint,
            firewalld = firewalld
        ),
        icmp::Sender::Connector => tr!(
            "The client's own firewall rejects its outgoing connections to port {port} (a REJECT rule on {from}): allow outgoing TCP to the server's passive port range ({hint}) there.",
            "客户端自己的防火墙拒绝了它到端口 {port} 的出站连接（{from} 上的 REJECT 规则）：在那里放行到服务器被动模式端口范围（{hint}）的出站 TCP。";
            hint = hint
        ),
        icmp::Sender::Path => tr!(
            "A router or firewall at {from}, on the path between client and server, rejects TCP to port {port} (a REJECT rule): allow the server's passive port range ({hint}) through it. Until then, active mode (PORT/EPRT) may work if the client can accept connections.",
            "客户端与服务器之间路径上 {from} 处的路由器或防火墙拒绝了到端口 {port} 的 TCP（REJECT 规则）：在它上面放行服务器的被动模式端口范围（{hint}）。在此之前，如果客户端能接受入站连接，可以改用主动模式（PORT/EPRT）。";
            hint = hint
        ),
    }
}

/// The remedy for a client that announces an address the server cannot reach.
fn use_passive_remedy(ann: SocketAddr) -> Tr {
    let (port, ip) = (ann.port(), ann.ip());
    tr!(
        "Use passive mode on the client (curl: drop --ftp-port; lftp: set ftp:passive-mode on; ftplib: set_pasv(True)). Or let the NAT rewrite FTP (Linux: nf_conntrack_ftp / nf_nat_ftp helper) or forward port {port} to {ip}.",
        "在客户端使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on；ftplib：set_pasv(True)）。或者让 NAT 改写 FTP（Linux：nf_conntrack_ftp / nf_nat_ftp 辅助模块），或把端口 {port} 转发到 {ip}。"
    )
}

/// [`use_passive_remedy`] when the server refused the PORT/EPRT itself: it takes
/// no address but the control connection's, so forwarding a port cannot help.
fn use_passive_refused_remedy() -> Tr {
    tr!(
        "Use passive mode on the client (curl: drop --ftp-port; lftp: set ftp:passive-mode on; ftplib: set_pasv(True)). Or let the NAT rewrite FTP (Linux: nf_conntrack_ftp / nf_nat_ftp helper) so that PORT names the address the server sees: this server refuses any other (vsftpd port_promiscuous=NO, ProFTPD AllowForeignAddress off), so forwarding a port alone does not help.",
        "在客户端使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on；ftplib：set_pasv(True)）。或者让 NAT 改写 FTP（Linux：nf_conntrack_ftp / nf_nat_ftp 辅助模块），使 PORT 给出服务器看到的地址：这台服务器拒绝其他任何地址（vsftpd port_promiscuous=NO，ProFTPD AllowForeignAddress off），所以仅转发端口没有用。"
    )
}

fn transfer_reply(s: &Session, d: &DataChannel) -> Option<(usize, u16)> {
    let ei = d.command_exchange?;
    let r = s.exchanges.get(ei)?.final_reply()?;
    Some((ei, r.code))
}

fn server_passive_settings(addr: &str) -> Tr {
    tr!(
        "vsftpd: pasv_address={addr} (and pasv_min_port/pasv_max_port); ProFTPD: MasqueradeAddress {addr} (and PassivePorts); pure-ftpd: -P {addr} (and -p LOW:HIGH); FileZilla Server: the public IP in Passive mode settings",
        "vsftpd：pasv_address={addr}（以及 pasv_min_port/pasv_max_port）；ProFTPD：MasqueradeAddress {addr}（以及 PassivePorts）；pure-ftpd：-P {addr}（以及 -p LOW:HIGH）；FileZilla Server：在被动模式设置中填写公网 IP"
    )
}

fn port_range_hint(port: u16) -> Tr {
    tr!(
        "vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p LOW:HIGH; the announced port {port} must be inside the opened range",
        "vsftpd pasv_min_port/pasv_max_port，ProFTPD PassivePorts，pure-ftpd -p LOW:HIGH；通告的端口 {port} 必须在放行的范围内"
    )
}

/// Exchanges listed per aggregated finding at most.
const MAX_FINDING_EXCHANGES: usize = 1000;
/// PORT/EPRT commands naming that many different ports of one host, each followed
/// by a transfer command, are a port scan through the server (nmap -b).
const SCAN_PORTS: usize = 20;

/// Run every per-session rule (the tracker calls this when a session ends).
/// `verbose`: also the info findings only given when asked (`--verbose`).
pub fn session(s: &mut Session, verbose: bool) {
    let mut f = Vec::new();
    connection_rules(s, &mut f);
    let scan = scan_rule(s, &mut f);
    data_rules(s, scan, &mut f);
    if verbose {
        for d in &s.data_channels {
            speed::network_limited(d, &mut f);
        }
    }
    login_rule(s, &mut f);
    control_rules(s, &mut f);
    closed_while_waiting(s, &mut f);
    stopped_answering(s, &mut f);
    control_loss(s, &mut f);
    slow_reply::rules(s, &mut f);
    closed_before_greeting(s, &mut f);
    invalid_replies(s, &mut f);
    run_on_codes(s, &mut f);
    refused_file_operations(s, &mut f);
    tls::rules(s, &mut f);
    refusals::rules(s, &mut f);
    capture_rules(s, &mut f);
    let mut f = aggregate(f);
    mark_injected(s, &mut f);
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    s.findings = f;
}

/// A note the proxy puts where it injected a fault.
fn is_fault_note(n: &crate::i18n::Tr) -> bool {
    n.en.contains("fault injected") || n.en.contains("injected fault")
}

/// Findings whose exchanges (or those exchanges' data connections) carry the
/// proxy's fault note are the proxy's doing: marked, and said so first in
/// their summary, so no view shows an injected failure as a real one.
fn mark_injected(s: &Session, found: &mut [Finding]) {
    let mut faulty = std::collections::HashSet::new();
    for (i, e) in s.exchanges.iter().enumerate() {
        let cmd = e.command.iter().flat_map(|c| &c.notes);
        let rep = e.replies.iter().flat_map(|r| &r.notes);
        if cmd.chain(rep).any(is_fault_note) {
            faulty.insert(i);
        }
    }
    for d in &s.data_channels {
        if d.notes.iter().any(is_fault_note) {
            faulty.insert(d.announce_exchange);
            faulty.extend(d.command_exchange);
        }
    }
    if faulty.is_empty() {
        return;
    }
    for f in found {
        if f.exchanges.iter().any(|e| faulty.contains(e)) {
            f.injected = true;
            f.summary = Tr {
                en: format!("[injected by the ftpscope proxy] {}", f.summary.en),
                zh: format!("[由 ftpscope 代理注入] {}", f.summary.zh),
            };
        }
    }
}

/// Capture-wide rules, from what the tracker kept about ended sessions.
pub fn capture(failed: &[FailedLogin]) -> Vec<Finding> {
    guessing_rule(failed)
}

/// `capture-drops`: a live capture lost packets before ftpscope read them, which
/// explains gaps in sessions.
pub fn capture_drops(d: &CaptureDrops) -> Option<Finding> {
    if d.kernel_dropped == 0 && d.interface_dropped == 0 {
        return None;
    }
    let seen = d.kernel_received.max(d.packets + d.kernel_dropped);
    let lost = d.kernel_dropped + d.interface_dropped;
    let pct = if seen > 0 {
        100.0 * lost as f64 / (seen + d.interface_dropped) as f64
    } else {
        0.0
    };
    let (kd, id) = (d.kernel_dropped, d.interface_dropped);
    let mut who = tr!("the kernel dropped {kd} packets", "内核丢弃了 {kd} 个包");
    if id > 0 {
        who.push(&tr!(
            " and the interface {id} more",
            "，网卡又丢弃了 {id} 个"
        ));
    }
    let ifc = &d.interface;
    let summary = Tr {
        en: format!(
            "{} during the live capture on {ifc} ({pct:.2}% of the traffic): sessions and data connections at those times may show gaps, replies without commands, and byte counts that are too low",
            who.en
        ),
        zh: format!(
            "在 {ifc} 上实时抓包时{}（占流量的 {pct:.2}%）：这些时段的会话和数据连接可能出现缺口、没有命令的响应，以及偏低的字节数",
            who.zh
        ),
    };
    let mut evidence: Vec<Evidence> = d
        .intervals
        .iter()
        .map(|i| Evidence {
            what: tr!(
                "{} packets dropped between {} and {} (reading {}pkt/s)",
                "{1} 至 {2} 之间丢弃了 {0} 个包（读取速率 {3}pkt/s）",
                i.dropped,
                i.from.clock(),
                i.to.clock(),
                crate::time::si(i.packets_per_sec)
            ),
            ts: Some(i.to),
            frame: Some(i.frame),
            exchange: None,
        })
        .collect();
    if d.more_intervals > 0 {
        evidence.push(Evidence {
            what: tr!(
                "and drops in {} more one-second intervals",
                "另有 {} 个一秒区间也有丢包",
                d.more_intervals
            ),
            ts: None,
            frame: None,
            exchange: None,
        });
    }
    evidence.push(Evidence {
        what: tr!(
            "libpcap counted {} packets passing the filter \"{}\"; ftpscope read {}",
            "libpcap 统计通过过滤器 \"{1}\" 的包有 {0} 个；ftpscope 读取了 {2} 个",
            d.kernel_received,
            d.filter,
            d.packets
        ),
        ts: None,
        frame: None,
        exchange: None,
    });
    Some(Finding {
        id: "capture-drops",
        severity: Severity::Warning,
        summary,
        evidence,
        remedy: tr!(
            "Capture less, or give the capture more room: narrow the filter to the FTP hosts (--filter \"host 192.0.2.7\"; not \"port 21\", which hides the data connections), enlarge the kernel buffer (--buffer-size 256), keep other load off the machine, or capture with tcpdump -w FILE and analyse the file afterwards (ftpscope report FILE).",
            "少抓一些，或给抓包更多余量：把过滤器收窄到 FTP 主机（--filter \"host 192.0.2.7\"；不要用 \"port 21\"，它会漏掉数据连接），增大内核缓冲区（--buffer-size 256），减少本机其他负载，或用 tcpdump -w FILE 抓包后再分析文件（ftpscope report FILE）。"
        ),
        ..Default::default()
    })
}

/// Findings about the capture file itself: a file that ends in the middle of a
/// record (`capture-file-truncated`) or is corrupt from some point on
/// (`capture-file-damaged`). Everything before that point was analysed; what follows it
/// is unknown, so conclusions about the end of the capture may be missing.
pub fn capture_file(stats: &CaptureStats) -> Vec<Finding> {
    let Some(err) = &stats.read_error else {
        return Vec::new();
    };
    let truncated = err.starts_with("capture is truncated");
    let (id, summary, remedy) = if truncated {
        (
            "capture-file-truncated",
            tr!(
                "the capture file ends in the middle of a packet ({}); the {} packets before it were analysed, anything after it is unknown",
                "抓包文件在一个包的中间结束（{}）；之前的 {} 个包已分析，之后的内容未知",
                crate::text::escape_str(err),
                stats.packets
            ),
            tr!(
                "The file was probably copied or read while the capture was still being written, or cut by a size limit: stop the capture cleanly (Ctrl-C on tcpdump) and copy the file again.",
                "文件很可能是在抓包仍在写入时被复制或读取的，或被大小限制截断：正常停止抓包（对 tcpdump 按 Ctrl-C）后重新复制文件。"
            ),
        )
    } else {
        (
            "capture-file-damaged",
            tr!(
                "the capture file is damaged ({}); the {} packets before the damage were analysed, anything after it is unknown",
                "抓包文件已损坏（{}）；损坏处之前的 {} 个包已分析，之后的内容未知",
                crate::text::escape_str(err),
                stats.packets
            ),
            tr!(
                "Copy the file again (a transfer in ASCII mode or a broken download damages binary files); `editcap` or `pcapfix` may recover what follows the damage.",
                "重新复制文件（以 ASCII 模式传输或下载中断都会损坏二进制文件）；`editcap` 或 `pcapfix` 也许能恢复损坏处之后的内容。"
            ),
        )
    };
    vec![Finding {
        id,
        severity: Severity::Warning,
        summary,
        evidence: vec![Evidence {
            what: tr!(
                "read error: {}",
                "读取错误：{}",
                crate::text::escape_str(err)
            ),
            ts: stats.last,
            frame: Some(stats.packets),
            exchange: None,
        }],
        remedy,
        ..Default::default()
    }]
}

/// Skipped input files named as evidence; the count says how many in all.
const MAX_SKIPPED_EVIDENCE: usize = 20;

/// Capture-wide findings from the capture's counters.
pub fn capture_stats(stats: &CaptureStats) -> Vec<Finding> {
    let mut out = Vec::new();
    if !stats.skipped_files.is_empty() {
        let n = stats.skipped_files.len();
        out.push(Finding {
            id: "capture-file-skipped",
            severity: Severity::Warning,
            summary: tr!(
                "{} of the input files could not be read and were left out: sessions and data connections they held are missing from the analysis",
                "{} 个输入文件无法读取，已被略过：其中的会话和数据连接不在分析结果中",
                n
            ),
            evidence: stats
                .skipped_files
                .iter()
                .take(MAX_SKIPPED_EVIDENCE)
                .map(|f| Evidence {
                    what: tr!(
                        "{}: {}",
                        "{}：{}",
                        crate::text::escape_str(&f.file),
                        crate::text::escape_str(&f.error)
                    ),
                    ts: None,
                    frame: None,
                    exchange: None,
                })
                .collect(),
            remedy: tr!(
                "Check that each file named is a pcap or pcapng capture (gzip-compressed or not) that this user may read; a directory given as input should hold only the capture's files. Use --strict to stop at such a file instead.",
                "检查每个列出的文件是否为本用户可读的 pcap 或 pcapng 抓包文件（可为 gzip 压缩）；作为输入的目录中应只有抓包文件。若希望遇到此类文件即停止，请使用 --strict。"
            ),
            ..Default::default()
        });
    }
    if stats.data_without_control_total > 0 {
        out.push(lone_data(stats));
    }
    if stats.duplicate_packets > 0 {
        out.push(Finding {
            id: "capture-duplicates",
            severity: Severity::Info,
            summary: tr!(
                "{} of {} packets are TCP copies of packets already in the capture (two capture points, a SPAN of both directions, or the same file merged or concatenated twice): each was counted once",
                "{1} 个包中有 {0} 个是抓包中已有 TCP 包的副本（两个抓包点、双向的 SPAN，或同一文件被合并或拼接了两次）：每个只计一次",
                stats.duplicate_packets,
                stats.packets
            ),
            remedy: tr!(
                "Nothing to fix in the network. To remove them from the file: editcap -d in.pcap out.pcap (copies next to each other), or capture at one point only.",
                "网络本身无需处理。要从文件中去掉它们：editcap -d in.pcap out.pcap（相邻的副本），或只在一个点抓包。"
            ),
            ..Default::default()
        });
    }
    out
}

/// Active-mode data connections (from port 20) whose control connection is not
/// in the capture: what each carried and how it ended is all there is to say,
/// and the control connection would say why.
fn lone_data(stats: &CaptureStats) -> Finding {
    use crate::model::EndedBy;
    use crate::text::AddrText;
    use crate::time::{human_bytes, human_duration};
    let n = stats.data_without_control_total;
    // A data connection the server's side reset, or one that never ended, did
    // not finish as a file transfer does (the sender's FIN).
    let broken = stats
        .data_without_control
        .iter()
        .any(|d| d.ended_by != Some(EndedBy::Fin));
    let upload_cut = stats
        .data_without_control
        .iter()
        .any(|d| d.ended_by == Some(EndedBy::RstByServer) && d.bytes_to_server > d.bytes_to_client);
    let evidence = stats
        .data_without_control
        .iter()
        .map(|d| {
            let (server, client) = (AddrText::new(&d.server), AddrText::new(&d.client));
            let (server, client) = (server.as_str(), client.as_str());
            let (moved, way) = if d.bytes_to_server > d.bytes_to_client {
                (
                    d.bytes_to_server,
                    tr!("to the server's side (an upload)", "发往服务器一侧（上传）"),
                )
            } else {
                (
                    d.bytes_to_client,
                    tr!(
                        "to the client's side (a download or a listing)",
                        "发往客户端一侧（下载或列表）"
                    ),
                )
            };
            let (size, secs) = (
                human_bytes(moved),
                human_duration(d.start.secs_until(d.end)),
            );
            let ended = match d.ended_by {
                Some(EndedBy::Fin) => tr!("closed normally (FIN)", "正常关闭（FIN）"),
                Some(EndedBy::RstByServer) => tr!(
                    "reset by the server's side (port 20)",
                    "被服务器一侧（20 端口）重置"
                ),
                Some(EndedBy::RstByClient) => tr!("reset by the client's side", "被客户端一侧重置"),
                None => tr!("still open at the end of the capture", "抓包结束时仍未关闭"),
            };
            let mut parts = vec![tr!(
                "{server} -> {client}: {size} {way} in {secs}, {ended}",
                "{server} -> {client}：{size} {way}，用时 {secs}，{ended}";
                server = Tr::verbatim(server),
                client = Tr::verbatim(client),
                size = Tr::verbatim(size),
                secs = Tr::verbatim(secs),
                way = way,
                ended = ended
            )];
            if d.zero_windows > 0 {
                let z = d.zero_windows;
                parts.push(tr!(
                    "the receiver's window was full {z} times (it stopped reading)",
                    "接收方的窗口满了 {z} 次（它停止了读取）"
                ));
            }
            if d.missing_bytes > 0 {
                let m = human_bytes(d.missing_bytes);
                parts.push(tr!(
                    "{m} of it missing from the capture",
                    "其中 {m} 不在抓包中"
                ));
            }
            if !d.handshake {
                parts.push(tr!(
                    "already open when the capture began",
                    "抓包开始时已打开"
                ));
            }
            let what = Tr {
                en: parts
                    .iter()
                    .map(|p| p.en.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                zh: parts
                    .iter()
                    .map(|p| p.zh.as_str())
                    .collect::<Vec<_>>()
                    .join("；"),
            };
            Evidence {
                what,
                ts: Some(d.start),
                frame: Some(d.frame),
                exchange: None,
            }
        })
        .collect();
    Finding {
        id: "data-without-control",
        severity: if broken {
            Severity::Warning
        } else {
            Severity::Info
        },
        summary: tr!(
            "{} FTP data connection(s) from port 20 (active mode) whose control connection is not in the capture: the commands and replies that say what moved and why it ended are missing",
            "{} 个来自 20 端口的 FTP 数据连接（主动模式），其控制连接不在抓包中：说明传输内容及结束原因的命令和响应都缺失",
            n
        ),
        evidence,
        remedy: if upload_cut {
            tr!(
                "Capture the control connection too (a filter on the two hosts, not on the data port): the server's reply on it (426, 451, 552 ...) names why the transfer ended early. A server that resets an upload's data connection stopped taking the file (a full disk, a quota or size limit, an error): its log says which.",
                "同时抓取控制连接（按两台主机过滤，而不是按数据端口）：服务器在控制连接上的响应（426、451、552 等）会说明传输提前结束的原因。服务器重置上传的数据连接，说明它停止接收该文件（磁盘已满、配额或大小限制、出错）：其日志会说明原因。"
            )
        } else if broken {
            tr!(
                "Capture the control connection too (a filter on the two hosts, not on the data port): the server's reply on it (426, 451, 552 ...) names why the transfer ended early.",
                "同时抓取控制连接（按两台主机过滤，而不是按数据端口）：服务器在控制连接上的响应（426、451、552 等）会说明传输提前结束的原因。"
            )
        } else {
            tr!(
                "Capture the control connection too (a filter on the two hosts, not on the data port) to see the commands and the server's replies.",
                "同时抓取控制连接（按两台主机过滤，而不是按数据端口），以便看到命令和服务器的响应。"
            )
        },
        ..Default::default()
    }
}

/// One finding per (id, cause): the first occurrence's text and evidence, the last
/// occurrence's evidence, a count and every exchange involved. Rules that leave
/// `cause` empty group by their summary (identical findings).
fn aggregate(found: Vec<Finding>) -> Vec<Finding> {
    let mut groups: Vec<(Finding, Option<Finding>)> = Vec::new();
    let mut index: std::collections::HashMap<(&'static str, String), usize> =
        std::collections::HashMap::new();
    for mut f in found {
        if f.cause.is_empty() {
            f.cause = f.summary.en.clone();
        }
        in_time_order(&mut f.evidence);
        let mut ex: Vec<usize> = f.evidence.iter().filter_map(|e| e.exchange).collect();
        ex.sort_unstable();
        ex.dedup();
        f.count = f.count.max(1);
        match index.get(&(f.id, f.cause.clone())) {
            Some(&i) => {
                let (first, last) = &mut groups[i];
                first.count += f.count;
                first.severity = first.severity.max(f.severity);
                for e in ex {
                    if first.exchanges.len() < MAX_FINDING_EXCHANGES
                        && !first.exchanges.contains(&e)
                    {
                        first.exchanges.push(e);
                    }
                }
                *last = Some(f);
            }
            None => {
                f.exchanges = ex;
                index.insert((f.id, f.cause.clone()), groups.len());
                groups.push((f, None));
            }
        }
    }
    groups
        .into_iter()
        .map(|(mut f, last)| {
            if let Some(l) = last {
                let n = f.count;
                f.summary = f.summary.map(|s, lang| match lang {
                    crate::ftp::catalog::Lang::En => format!("{s} ({n} times)"),
                    crate::ftp::catalog::Lang::Zh => format!("{s}（{n} 次）"),
                });
                f.evidence.push(ev(
                    tr!(
                        "... {} more like this; the last one:",
                        "……另有 {} 次相同情况；最后一次：",
                        n - 1
                    ),
                    None,
                    None,
                    None,
                ));
                f.evidence.extend(l.evidence);
            }
            f
        })
        .collect()
}

/// Evidence in time order (rules gather it by topic: the announcement, then the
/// connection, ...). An item without a time stays after the one before it.
fn in_time_order(ev: &mut [Evidence]) {
    let mut last = None;
    let mut keyed: Vec<(Option<Ts>, usize)> = ev
        .iter()
        .enumerate()
        .map(|(i, e)| {
            last = e.ts.or(last);
            (last, i)
        })
        .collect();
    if keyed.is_sorted() {
        return;
    }
    keyed.sort();
    let old = ev.to_vec();
    for (slot, (_, i)) in ev.iter_mut().zip(keyed) {
        *slot = old[i].clone();
    }
}

/// The control connection itself failed: refused (RST) or never answered.
fn connection_rules(s: &Session, out: &mut Vec<Finding>) {
    let cov = &s.coverage;
    if !matches!(
        cov.control_answer,
        ControlAnswer::Refused | ControlAnswer::Unanswered
    ) {
        return;
    }
    let port = s.server.port();
    let ftps = if port == 990 {
        tr!(
            " Port 990 is implicit FTPS: the client must speak TLS from the start (curl ftps://, lftp set ftp:ssl-force, FileZilla \"implicit FTP over TLS\") and the server must be configured for it.",
            "端口 990 是隐式 FTPS：客户端必须从一开始就使用 TLS（curl ftps://，lftp set ftp:ssl-force，FileZilla \"implicit FTP over TLS\"），服务器也必须为此配置。"
        )
    } else {
        tr!(
            " If the server uses implicit FTPS it listens on port 990, not 21 (and explicit FTPS uses 21 with AUTH TLS).",
            "如果服务器使用隐式 FTPS，它监听的是端口 990 而不是 21（显式 FTPS 使用端口 21 加 AUTH TLS）。"
        )
    };
    let (client, server, server_ip) = (s.client, s.server, s.server.ip());
    let syn = ev(
        Tr::verbatim(format!("SYN {client} -> {server}")),
        Some(s.start),
        Some(s.start_frame),
        None,
    );
    match cov.control_answer {
        ControlAnswer::Refused if cov.control_rejected_by.is_some() => {
            let r = cov.control_rejected_by.expect("checked");
            let from = r.from;
            let remedy = if !icmp::is_filter(&r) {
                tr!(
                    "{from} has no route to {server_ip}: the address is wrong or not reachable from the client (a private address used from outside, a routing fault on the path). Check the address the client uses and the routes between them.",
                    "{from} 没有到 {server_ip} 的路由：地址错误，或从客户端无法到达（从外部使用了私有地址、路径上的路由故障）。请检查客户端使用的地址以及两者之间的路由。"
                )
            } else if icmp::sender(&r, client.ip(), server_ip) == icmp::Sender::Target {
                tr!(
                    "A firewall rule on {from} itself rejects TCP to port {port} (a REJECT rule: iptables/nftables, or firewalld): allow the FTP port there (firewalld: firewall-cmd --permanent --add-service=ftp, then --reload; iptables: an ACCEPT rule for port {port} before the REJECT). Where {from} is a NAT router, forward port {port} to the server.{ftps}",
                    "{from} 自身的防火墙规则拒绝了到端口 {port} 的 TCP（REJECT 规则：iptables/nftables 或 firewalld）：在那里放行 FTP 端口（firewalld：firewall-cmd --permanent --add-service=ftp，然后 --reload；iptables：在 REJECT 之前加一条放行端口 {port} 的 ACCEPT 规则）。如果 {from} 是 NAT 路由器，请把端口 {port} 转发给服务器。{ftps}";
                    ftps = ftps
                )
            } else {
                tr!(
                    "A router or firewall at {from}, on the path to {server_ip}, rejects TCP to port {port} (a REJECT rule): allow the FTP port through it.{ftps}",
                    "通往 {server_ip} 的路径上 {from} 处的路由器或防火墙拒绝了到端口 {port} 的 TCP（REJECT 规则）：在它上面放行 FTP 端口。{ftps}";
                    ftps = ftps
                )
            };
            out.push(Finding {
                id: "control-refused",
                severity: Severity::Error,
                summary: tr!(
                    "the connection to the FTP server {server} was refused: its SYN was answered by {answer}",
                    "到 FTP 服务器 {server} 的连接被拒绝：SYN 得到的应答是 {answer}";
                    answer = icmp::answer(&r)
                ),
                evidence: vec![
                    syn,
                    ev(icmp::evidence_text(&r), Some(r.ts), Some(r.frame), None),
                ],
                remedy,
                cause: format!("icmp {} {}", r.reason(), r.from),
                ..Default::default()
            });
        }
        ControlAnswer::Refused => out.push(Finding {
            id: "control-refused",
            severity: Severity::Error,
            summary: tr!(
                "the connection to the FTP server {server} was refused: its SYN was answered by RST",
                "到 FTP 服务器 {server} 的连接被拒绝：SYN 得到的应答是 RST"
            ),
            evidence: vec![
                syn,
                ev(tr!("RST from {server}", "来自 {server} 的 RST"), Some(s.end), None, None),
            ],
            remedy: tr!(
                "Nothing accepts connections on port {port} at {server_ip}: the FTP server is not running, listens on another port or address, or a firewall rejects the connection (iptables REJECT --reject-with tcp-reset). Check the server (ss -ltnp on it), the port the client uses, and the firewalls in between.{ftps}",
                "{server_ip} 上没有程序接受端口 {port} 的连接：FTP 服务器没有运行、监听在其他端口或地址上，或者防火墙拒绝了连接（iptables REJECT --reject-with tcp-reset）。请检查服务器（在其上运行 ss -ltnp）、客户端使用的端口，以及途经的防火墙。{ftps}";
                ftps = ftps
            ),
            ..Default::default()
        }),
        // One SYN and the capture ends before the client would have sent another:
        // nothing to conclude.
        ControlAnswer::Unanswered
            if s.exchanges.is_empty() && (cov.control_syns > 1 || cov.capture_after >= 3.0) =>
        {
            let n = cov.control_syns.max(1);
            let mut evidence = vec![syn];
            if n > 1 {
                let last = s.end.rfc3339();
                evidence.push(ev(
                    tr!("{n} SYNs in all, the last at {last}", "共 {n} 个 SYN，最后一个在 {last}"),
                    Some(s.end),
                    None,
                    None,
                ));
            }
            out.push(Finding {
                id: "control-unanswered",
                severity: Severity::Error,
                summary: tr!(
                    "the connection to the FTP server {server} got no answer: {n} SYN(s), no SYN-ACK or RST",
                    "到 FTP 服务器 {server} 的连接没有应答：{n} 个 SYN，没有 SYN-ACK 也没有 RST"
                ),
                evidence,
                remedy: tr!(
                    "A firewall drops the connection to port {port}, or the server host {server_ip} is down or unreachable (a wrong address, a missing route). Check that the host is up and the address right, and allow TCP port {port} to it on every firewall on the path.{ftps}",
                    "防火墙丢弃了到端口 {port} 的连接，或服务器主机 {server_ip} 已宕机或不可达（地址错误、缺少路由）。请确认主机在线、地址正确，并在路径上的每个防火墙放行到它的 TCP 端口 {port}。{ftps}";
                    ftps = ftps
                ),
                ..Default::default()
            });
        }
        _ => {}
    }
}

/// nmap's FTP bounce scan: PORT/EPRT after PORT/EPRT naming one host's ports one
/// after the other, each followed by a transfer command to make the server connect.
/// Returns whether the session is such a scan (its PORTs are then not reported one
/// by one).
fn scan_rule(s: &Session, out: &mut Vec<Finding>) -> bool {
    let mut by_host: std::collections::BTreeMap<IpAddr, Vec<&DataChannel>> = Default::default();
    for d in &s.data_channels {
        if d.mode == DataMode::Active
            && d.command.is_some()
            && let Some(a) = d.announced
        {
            by_host.entry(a.ip()).or_default().push(d);
        }
    }
    let mut scan = false;
    for (host, chans) in by_host {
        let mut ports: Vec<u16> = chans
            .iter()
            .filter_map(|d| d.announced.map(|a| a.port()))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() < SCAN_PORTS {
            continue;
        }
        scan = true;
        let (first, last) = (chans[0], chans[chans.len() - 1]);
        let accepted = chans
            .iter()
            .filter(|d| {
                s.exchanges
                    .get(d.announce_exchange)
                    .and_then(Exchange::final_reply)
                    .is_some_and(|r| r.code < 300)
            })
            .count();
        let mut evidence = announcement_evidence(s, first);
        evidence.extend(announcement_evidence(s, last));
        let mut exchanges: Vec<usize> = chans.iter().map(|d| d.announce_exchange).collect();
        exchanges.truncate(MAX_FINDING_EXCHANGES);
        let third = host != s.client.ip();
        out.push(Finding {
            id: "port-scan-bounce",
            severity: if accepted > 0 && third { Severity::Error } else { Severity::Warning },
            summary: {
                let (n, np, lo, hi) = (chans.len(), ports.len(), ports[0], ports[ports.len() - 1]);
                let then = match first.command.as_deref() {
                    Some(c) => Tr::verbatim(c),
                    None => tr!("a transfer", "一次传输"),
                };
                Tr {
                    en: format!(
                        "port scan through the server (FTP bounce, nmap -b): {n} PORT/EPRT commands naming {np} different ports of {host} ({lo}..{hi}), each followed by {}; the server accepted {accepted}",
                        then.en
                    ),
                    zh: format!(
                        "经由服务器的端口扫描（FTP bounce，nmap -b）：{n} 条 PORT/EPRT 命令指向 {host} 的 {np} 个不同端口（{lo}..{hi}），每条之后都跟着 {}；服务器接受了 {accepted} 条",
                        then.zh
                    ),
                }
            },
            evidence,
            remedy: tr!(
                "Refuse PORT/EPRT to addresses other than the client's and to privileged ports (vsftpd does unless port_promiscuous=YES; ProFTPD AllowForeignAddress off; pure-ftpd without -w), and block the scanning client.",
                "拒绝指向客户端以外地址和特权端口的 PORT/EPRT（vsftpd 默认如此，除非 port_promiscuous=YES；ProFTPD AllowForeignAddress off；pure-ftpd 不加 -w），并封禁发起扫描的客户端。"
            ),
            certainty: Certainty::Seen,
            count: chans.len(),
            exchanges,
            ..Default::default()
        });
    }
    scan
}

fn data_rules(s: &Session, scan: bool, out: &mut Vec<Finding>) {
    let server_ip = s.server.ip();
    let client_ip = s.client.ip();
    for d in &s.data_channels {
        transfer_rules(s, d, out);
        speed::rules(s, d, out);
        made_but_425(s, d, out);
        // A data connection opened in the capture after an announcement before
        // it: its attempt is judged where it went.
        let before = (d.via == Via::Unseen
            && d.syns > 0
            && matches!(d.outcome, Outcome::Refused | Outcome::Unanswered))
        .then_some(d.listener)
        .flatten();
        let Some(ann) = d.announced.or(before) else {
            continue;
        };
        match d.mode {
            DataMode::Passive => passive_rules(s, d, ann, server_ip, out),
            DataMode::Active if !scan => active_rules(s, d, ann, client_ip, out),
            DataMode::Active => {}
        }
    }
    unseen_data_rule(s, out);
    data_end_missing(s, out);
    data_mostly_unseen(s, out);
    missing_data_setup(s, out);
    speed::session_rules(s, out);
}

/// `capture-data-incomplete`: a data connection of the capture whose end (FIN or
/// RST) is not in it. Fewer bytes than announced although the server's 226/250
/// says the transfer completed: the capture lost the rest (warning: the byte
/// count and rate shown are the capture's). No final reply either: the capture
/// ended (or stopped seeing the connection) during the transfer, whose outcome
/// it cannot tell (info).
fn data_end_missing(s: &Session, out: &mut Vec<Finding>) {
    for d in &s.data_channels {
        let Some(cmd) = d.command.as_deref() else {
            continue;
        };
        if d.ended_by.is_some() || (d.connector.is_none() && d.listener.is_none()) {
            continue;
        }
        if !matches!(d.outcome, Outcome::Completed | Outcome::Open) {
            continue;
        }
        let ascii = ascii_transfer(s, d);
        let code = transfer_reply(s, d).map(|(_, c)| c);
        let name = escape(&d.arg.as_ref().map(|a| a.0.clone()).unwrap_or_default());
        let got = d.bytes;
        let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
        let last = d.last_byte.or(d.first_byte).or(d.start);
        evidence.push(ev(
            tr!(
                "the data connection's last packet in the capture: {} bytes by then, no FIN or RST after it",
                "抓包中数据连接的最后一个包：此时共 {} 字节，之后没有 FIN 或 RST",
                got
            ),
            last,
            None,
            None,
        ));
        let (severity, summary, remedy) = match (d.expected_size, code) {
            (Some(n), Some(c @ (226 | 250))) if got < n && !ascii => (
                Severity::Warning,
                tr!(
                    "the capture holds {got} of the {n} bytes of {cmd} {name} and not the end of its data connection, though the server's {c} says the transfer completed: the rest is missing from the capture, and the byte count and rate shown are the capture's, not the transfer's",
                    "抓包中只有 {cmd} {name} 的 {n} 字节中的 {got} 字节，也没有其数据连接的结束，而服务器的 {c} 表示传输已完成：其余部分不在抓包中，显示的字节数和速率是抓包的，不是传输的"
                ),
                tr!(
                    "The capture lost packets of this connection (a busy capture host, a SPAN port over capacity, a ring buffer or size limit that stopped it): capture again where the traffic passes whole, with a capture filter or a faster disk, to check the transfer itself.",
                    "抓包丢失了这个连接的包（抓包主机繁忙、SPAN 端口超出容量、环形缓冲或大小限制使其停止）：请在流量完整经过的地方重新抓包，使用抓包过滤器或更快的磁盘，以核实传输本身。"
                ),
            ),
            (n, None) if d.outcome == Outcome::Open => {
                let of = match n {
                    Some(n) => tr!(" of {n} announced", "（通告 {n} 字节）"),
                    None => Tr::default(),
                };
                (
                    Severity::Info,
                    tr!(
                        "neither the end of {cmd} {name}'s data connection nor the server's final reply is in the capture ({got} bytes{of} seen): the capture stopped during the transfer, whose outcome cannot be told",
                        "抓包中既没有 {cmd} {name} 数据连接的结束，也没有服务器的最终响应（看到 {got} 字节{of}）：抓包在传输期间停止，无法判断传输结果";
                        of = of
                    ),
                    tr!(
                        "Capture until the transfer's final reply (226) to see how it ended.",
                        "抓包直到传输的最终响应（226），才能看到它如何结束。"
                    ),
                )
            }
            _ => continue,
        };
        out.push(Finding {
            id: "capture-data-incomplete",
            severity,
            summary,
            evidence,
            remedy,
            certainty: Certainty::CannotKnow,
            ..Default::default()
        });
    }
}

/// `capture-data-incomplete` for a data connection whose end is in the capture
/// but most of whose bytes are not: the sender's sequence numbers run far past what
/// the capture holds (a capture that dropped packets, a file with the payload
/// stripped out). Its byte count is the connection's; its rate curve, TCP figures
/// and extracted file come from a fragment, and the speed verdicts stand down
/// ([`speed::mostly_unseen`]).
fn data_mostly_unseen(s: &Session, out: &mut Vec<Finding>) {
    for d in &s.data_channels {
        let Some(t) = d.tcp.as_deref() else {
            continue;
        };
        if d.ended_by.is_none() || !speed::mostly_unseen(t) || speed::is_pmtu_blackhole(t) {
            continue;
        }
        let what = speed::label(d);
        let held = t.payload_bytes - t.lost_before_capture_bytes;
        let (held_h, total_h) = (
            crate::time::human_bytes(held),
            crate::time::human_bytes(t.payload_bytes),
        );
        let pct = match 100.0 * held as f64 / t.payload_bytes.max(1) as f64 {
            p if p < 0.1 => "< 0.1%".to_string(),
            p => format!("{p:.1}%"),
        };
        out.push(Finding {
            id: "capture-data-incomplete",
            severity: Severity::Warning,
            summary: tr!(
                "the capture holds {held_h} ({pct}) of the {total_h} {what} carried (its sequence numbers run past the holes): the rate curve, TCP figures and any extracted file come from a fragment, and no speed verdict can be drawn",
                "抓包中只有 {what} 所传 {total_h} 中的 {held_h}（{pct}）（其序列号越过了缺口）：速率曲线、TCP 指标和提取的文件都只来自一个片段，无法得出任何速度结论";
                what = what
            ),
            evidence: vec![ev(
                {
                    let (missing, segs) = (t.lost_before_capture_bytes, t.data_segments);
                    tr!(
                        "{what}: {missing} bytes missing from the capture, {segs} data segments in it",
                        "{what}：抓包中缺少 {missing} 字节，抓包中有 {segs} 个数据分段";
                        what = what
                    )
                },
                d.first_byte,
                d.frame_syn,
                d.command_exchange,
            )],
            remedy: tr!(
                "The capture lost most of this connection's packets, or its payload was removed afterwards: capture again where the traffic passes whole (a capture filter, a faster disk, a SPAN port with capacity) to judge the transfer itself.",
                "抓包丢失了这个连接的大部分包，或者其负载事后被删除：请在流量完整经过的地方重新抓包（使用抓包过滤器、更快的磁盘、容量足够的 SPAN 端口），才能判断传输本身。"
            ),
            certainty: Certainty::CannotKnow,
            ..Default::default()
        });
    }
}

/// `capture-data-partial`: some of the session's data connections are in the
/// capture, others that the server's replies say it opened (1xx, then 226/250 or
/// 4xx) are not: the capture point or filter missed them (a port range, another
/// path, a capture started or stopped in between), so their bytes and ends
/// cannot be checked.
fn partly_seen_data(s: &Session, out: &mut Vec<Finding>) {
    let missing = s
        .data_channels
        .iter()
        .filter(|d| {
            matches!(
                d.outcome,
                Outcome::CompletedPerReplies | Outcome::FailedPerReplies
            )
        })
        .count();
    if missing == 0 {
        return;
    }
    let seen = s.coverage.data_connections;
    let total = missing + seen as usize;
    out.push(Finding {
        id: "capture-data-partial",
        severity: Severity::Info,
        summary: tr!(
            "{missing} of this session's {total} data connections are not in the capture although the server's replies say they were made (it holds {seen}): the capture missed some (a filter on a port range, another path, capturing started or stopped in between), so their bytes and how they ended cannot be checked",
            "这个会话的 {total} 个数据连接中有 {missing} 个不在抓包中，尽管服务器的响应表明它们已建立（抓包中有 {seen} 个）：抓包漏掉了一些（按端口范围过滤、走了另一条路径、抓包在中途开始或停止），因此无法核实它们的字节数和结束方式"
        ),
        evidence: Vec::new(),
        remedy: tr!(
            "Capture all traffic between the two hosts (tcpdump host {} and host {}), on a point every connection passes.",
            "抓取两台主机之间的全部流量（tcpdump host {} and host {}），在每个连接都经过的位置抓包。",
            s.client.ip(),
            s.server.ip()
        ),
        certainty: Certainty::CannotKnow,
        ..Default::default()
    });
}

/// `active-local-address`: PORT/EPRT names a loopback (127.0.0.1, ::1) or the
/// unspecified (0.0.0.0, ::) address while the client reaches the server from
/// elsewhere: the server cannot connect there. Clients do this when they reach
/// the server through a local tunnel or proxy (ssh -L: the control connection
/// starts at the loopback), or when their active address is set wrongly.
fn local_address(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    client_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    let via = via_text(d);
    let worked = matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies);
    let what = if ann.ip().is_loopback() {
        tr!("its loopback address", "它的回环地址")
    } else {
        tr!("the unspecified address", "未指定地址")
    };
    let mut evidence = announcement_evidence(s, d);
    evidence.push(control_evidence(s));
    out.push(Finding {
        id: "active-local-address",
        severity: if worked {
            Severity::Info
        } else {
            Severity::Error
        },
        summary: if worked {
            tr!(
                "{via} names {ann}, {what}, while the client {client_ip} reached the server from elsewhere; the transfer worked anyway (the server connected to the control address)",
                "{via} 指向 {ann}（{what}），而客户端 {client_ip} 是从别处连到服务器的；传输仍然成功了（服务器连接了控制地址）";
                what = what
            )
        } else {
            tr!(
                "{via} names {ann}, {what}, while the client {client_ip} reached the server from elsewhere: the server cannot connect there, so active mode cannot work",
                "{via} 指向 {ann}（{what}），而客户端 {client_ip} 是从别处连到服务器的：服务器无法连接到那里，所以主动模式无法工作";
                what = what
            )
        },
        evidence,
        remedy: tr!(
            "Use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on; ftplib: set_pasv(True)). A client that reaches the server through a local tunnel or port forward (ssh -L) announces its own loopback in active mode, and a tunnel carries only the control connection; otherwise set the client's active address to one the server can reach (curl --ftp-port IP, lftp set ftp:port-ipv4).",
            "使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on；ftplib：set_pasv(True)）。通过本地隧道或端口转发（ssh -L）连到服务器的客户端，在主动模式下会通告自己的回环地址，而隧道只承载控制连接；否则，把客户端的主动模式地址设为服务器能到达的地址（curl --ftp-port IP，lftp set ftp:port-ipv4）。"
        ),
        certainty: Certainty::Seen,
        ..Default::default()
    });
}

/// `data-setup-missing`: a transfer command answered 425 with no data-connection
/// setup (PORT, PASV, EPSV, EPRT, LPRT, LPSV) accepted before it in the
/// session: the client skipped the step (vsftpd: `425 Use PORT or PASV first.`).
fn missing_data_setup(s: &Session, out: &mut Vec<Finding>) {
    // The capture lost bytes the client sent: the setup may have been in them.
    if s.capture.gap_bytes[0] > 0 {
        return;
    }
    let setup = |v: &str| matches!(v, "PORT" | "PASV" | "EPSV" | "EPRT" | "LPRT" | "LPSV");
    let mut set_up = false;
    // A setup sent and refused: the client did not skip the step, and the
    // refusal's own finding says why.
    let mut tried = false;
    for (i, x) in s.exchanges.iter().enumerate() {
        let Some(v) = x.verb() else {
            // A setup's success whose command the capture lost (or was sent
            // before a capture that starts mid-session).
            if (i > 0 || s.capture.mid_session)
                && x.replies
                    .iter()
                    .any(|r| matches!(r.code, 200 | 227 | 228 | 229))
            {
                set_up = true;
            }
            continue;
        };
        if setup(v) && x.final_reply().is_some_and(|r| r.code < 300) {
            set_up = true;
            continue;
        }
        if setup(v) {
            tried = true;
            continue;
        }
        let transfer = x.command.as_ref().is_some_and(|c| c.is_transfer());
        if !transfer || x.data_channel.is_some() || set_up || tried {
            continue;
        }
        if x.final_reply().is_none_or(|r| r.code != 425) {
            continue;
        }
        let v = escape_str(v);
        let before = if s.capture.mid_session {
            tr!(
                " in the capture (which starts mid-session)",
                "（抓包从会话中途开始）"
            )
        } else {
            Tr::default()
        };
        out.push(Finding {
            id: "data-setup-missing",
            severity: Severity::Error,
            summary: tr!(
                "{v} was answered 425 and no PORT, PASV, EPSV or EPRT was accepted before it{before}: the client asked for a transfer without setting up its data connection",
                "{v} 得到 425 响应，而在它之前没有被接受的 PORT、PASV、EPSV 或 EPRT{before}：客户端在没有建立数据连接的情况下请求传输";
                before = before
            ),
            evidence: reply_evidence(s, i),
            remedy: tr!(
                "Each transfer needs a PASV/EPSV (or PORT/EPRT) first: fix the client or script (with raw commands, send EPSV before RETR/STOR/LIST), or find what removed the setup between client and server (a proxy or firewall FTP helper that drops PASV/PORT or their replies).",
                "每次传输之前都需要 PASV/EPSV（或 PORT/EPRT）：修正客户端或脚本（使用原始命令时，在 RETR/STOR/LIST 之前发送 EPSV），或找出客户端与服务器之间删除了这一步的设备（丢弃 PASV/PORT 或其响应的代理或防火墙 FTP 辅助模块）。"
            ),
            certainty: Certainty::Seen,
            ..Default::default()
        });
    }
}

/// `data-connection-failed`, the connection seen: the data connection was made
/// on the wire (SYN answered), yet the server's final reply to the transfer
/// command is 425 "cannot open data connection". What the capture shows did not
/// reach the server as it expected: a device between answered or changed it
/// (a firewall, a NAT with an FTP helper, a proxy), or the server refused where
/// it came from (vsftpd's `425 Security: Bad IP connecting.` when it comes from
/// another address than the control connection).
fn made_but_425(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    // On a TLS data connection the 425 is TLS's (ProFTPD's "Unable to build
    // data connection" when the session was not reused): the TLS rules say so.
    if d.outcome != Outcome::Failed || d.tls.is_some() {
        return;
    }
    let Some((ei, 425)) = transfer_reply(s, d) else {
        return;
    };
    let (Some(from), Some(to)) = (d.connector, d.listener) else {
        return;
    };
    let text = s.exchanges[ei]
        .final_reply()
        .map(|r| escape(&r.text.0))
        .unwrap_or_default();
    let cmd = match d.command.as_deref() {
        Some(c) => Tr::verbatim(c),
        None => tr!("the transfer", "传输命令"),
    };
    let other_ip = from.ip() != s.client.ip() && from.ip() != s.server.ip();
    let mut evidence = announcement_evidence(s, d);
    evidence.extend(attempt_evidence(d));
    evidence.extend(reply_evidence(s, ei));
    let peer = if other_ip {
        tr!(
            " The data connection came from {ip}, not from an address of the control connection: a server that checks the source (vsftpd's default, pasv_promiscuous=NO) refuses it; behind a NAT or load balancer that uses another address, allow it (vsftpd pasv_promiscuous=YES) or make the device keep the address.",
            "数据连接来自 {ip}，不是控制连接两端的地址：检查来源地址的服务器（vsftpd 默认 pasv_promiscuous=NO）会拒绝它；若 NAT 或负载均衡器使用了别的地址，请放行它（vsftpd pasv_promiscuous=YES）或让设备保持原地址。",
            ip = from.ip()
        )
    } else if text.to_ascii_lowercase().contains("bad ip") {
        tr!(
            " The server says the data connection came from an address it did not expect (vsftpd's \"Bad IP connecting\"): a NAT on the client's side sent it out from another public address than the control connection (per-connection load balancing over several uplinks, an address pool without pairing). Make the NAT keep one address per client (paired pooling, or FTP over one uplink), or let the server accept it (vsftpd pasv_promiscuous=YES).",
            "服务器表示数据连接来自它不认可的地址（vsftpd 的 \"Bad IP connecting\"）：客户端一侧的 NAT 用了与控制连接不同的公网地址发出数据连接（多条上行线路按连接负载均衡、未配对的地址池）。让 NAT 为每个客户端固定一个地址（配对地址池，或让 FTP 只走一条线路），或让服务器接受它（vsftpd pasv_promiscuous=YES）。"
        )
    } else {
        Tr::default()
    };
    out.push(Finding {
        id: "data-connection-failed",
        severity: Severity::Error,
        summary: tr!(
            "the data connection {from} -> {to} was made, yet the server answered {cmd} with 425 (`{text}`): the connection the capture shows did not reach the server as it expected",
            "数据连接 {from} -> {to} 已建立，但服务器对 {cmd} 响应 425（`{text}`）：抓包中看到的连接并没有按服务器预期的那样到达服务器";
            cmd = cmd
        ),
        evidence,
        remedy: tr!(
            "Something between client and server answered or changed the data connection (a firewall, a NAT with an FTP helper, a proxy), or the server refused where it came from. Capture on the server's side to see what reached it, and read the server's log for the reason.{peer}",
            "客户端与服务器之间的某个设备应答或修改了数据连接（防火墙、带 FTP 助手的 NAT、代理），或者服务器拒绝了它的来源。在服务器一侧抓包，看看到达服务器的是什么，并查看服务器日志中的原因。{peer}";
            peer = peer
        ),
        cause: d.via.to_string(),
        ..Default::default()
    });
}

/// The capture holds FTP control traffic only: say what cannot be known, once.
fn unseen_data_rule(s: &Session, out: &mut Vec<Finding>) {
    if s.coverage.data_visible == DataVisibility::Seen {
        partly_seen_data(s, out);
        return;
    }
    if s.coverage.data_visible != DataVisibility::Unknown {
        return;
    }
    let used: Vec<&DataChannel> = s
        .data_channels
        .iter()
        .filter(|d| d.command.is_some() || d.command_exchange.is_some())
        .collect();
    // Evidence that a data connection was made or tried, which the capture
    // should then hold: an address to connect to, and the server's replies to
    // the transfer command saying it opened, used or lost one (1xx, 226/250,
    // 425/426/451). A 227 without an address, or a RETR refused at once (550),
    // needs no data connection.
    let evident = used.iter().any(|d| {
        d.announced.is_some()
            && d.command_exchange
                .and_then(|ei| s.exchanges.get(ei))
                .is_some_and(|x| {
                    x.replies
                        .iter()
                        .any(|r| matches!(r.code, 100..=199 | 226 | 250 | 425 | 426 | 451))
                })
    });
    if !evident {
        return;
    }
    let per_replies = used
        .iter()
        .filter(|d| d.outcome == Outcome::CompletedPerReplies)
        .count();
    let failed = used
        .iter()
        .filter(|d| d.outcome == Outcome::FailedPerReplies)
        .count();
    let unknown = used
        .iter()
        .filter(|d| d.outcome == Outcome::NotInCapture)
        .count();
    out.push(Finding {
        id: "capture-control-only",
        severity: Severity::Info,
        summary: tr!(
            "the capture holds only FTP control traffic (captured with a port 21 filter, most likely): none of the {} data connection(s) is in it. By the server's replies {per_replies} transfer(s) completed, {failed} failed, {unknown} cannot be told; addresses, ports, byte counts and what stopped a connection cannot be checked",
            "抓包中只有 FTP 控制连接的流量（很可能用了 port 21 过滤器）：{} 个数据连接都不在其中。根据服务器的响应，{per_replies} 次传输完成，{failed} 次失败，{unknown} 次无法判断；地址、端口、字节数以及连接因何中断都无法核实",
            used.len()
        ),
        evidence: Vec::new(),
        remedy: tr!(
            "Capture all traffic between the two hosts, not only port 21: tcpdump -w ftp.pcap host {} and host {}",
            "抓取两台主机之间的全部流量，而不仅是端口 21：tcpdump -w ftp.pcap host {} and host {}",
            s.client.ip(),
            s.server.ip()
        ),
        certainty: Certainty::CannotKnow,
        ..Default::default()
    });
}

fn passive_rules(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    server_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    // The announced address is not where the client reached the server.
    // An IPv4 address in a 227 on an IPv6 control connection is no NAT: PASV
    // cannot carry anything else (`pasv-on-ipv6`).
    let family = ann.ip().to_canonical().is_ipv4() == server_ip.to_canonical().is_ipv4();
    let mismatch = d.via != Via::Epsv && family && ann.ip() != server_ip;
    // The server's loopback or the unspecified address: nobody else can connect
    // there (a server in a container or behind a proxy announcing the address it
    // listens on).
    let unusable = mismatch && (ann.ip().is_loopback() || ann.ip().is_unspecified());
    // Both private, in different private networks (a container's 172.17.0.2 behind
    // its host's published 192.168.1.10): a NAT between two private networks.
    let between = private_networks_apart(ann.ip(), server_ip).filter(|_| mismatch && !unusable);
    let nat = mismatch
        && !unusable
        && ((is_private(ann.ip()) && !is_private(server_ip)) || between.is_some());
    // The server announces its public address, and this client (inside the server's
    // network) reached it at a private one: right for clients outside.
    let inside = mismatch && !is_private(ann.ip()) && is_private(server_ip);
    let worked = matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies);
    if inside {
        let failed = matches!(
            d.outcome,
            Outcome::Refused
                | Outcome::Unanswered
                | Outcome::NotAttempted
                | Outcome::FailedPerReplies
        );
        let mut evidence = announcement_evidence(s, d);
        evidence.push(control_evidence(s));
        out.push(Finding {
            id: "pasv-address-mismatch",
            severity: if failed { Severity::Warning } else { Severity::Info },
            summary: {
                let (ip, via) = (ann.ip(), d.via);
                let tail = if worked {
                    tr!(
                        ", and transfers work (the client connects to the control address, or the NAT loops back)",
                        "，传输正常（客户端连接的是控制连接的地址，或 NAT 做了回环）"
                    )
                } else if failed {
                    tr!(", and the data connection did not work", "，数据连接没有建立")
                } else {
                    Tr::default()
                };
                tr!(
                    "the server announces its public address {ip} in the {via} reply, while this client reached it at the private address {server_ip}: the capture is inside the server's network{tail}",
                    "服务器在 {via} 响应中通告了它的公网地址 {ip}，而这个客户端是通过私有地址 {server_ip} 访问它的：抓包点位于服务器所在的内网{tail}";
                    tail = tail
                )
            },
            evidence,
            remedy: if failed {
                let ip = ann.ip();
                tr!(
                    "The announced public address is right for clients outside; inside, the router must loop {ip} back to the server (hairpin NAT), or the client must ignore the 227 address (curl does by default; FileZilla falls back) or use EPSV. Do not set the passive address to the private one: outside clients would break.",
                    "通告的公网地址对外部客户端是正确的；在内网中，路由器必须把 {ip} 回环到服务器（NAT 回流 hairpin NAT），或者客户端忽略 227 中的地址（curl 默认如此；FileZilla 会回退），或使用 EPSV。不要把被动地址设成私有地址：那样外部客户端会失败。"
                )
            } else {
                tr!(
                    "Nothing to fix: the announced public address is right for clients outside the network. Inside clients need EPSV, or to ignore the 227 address (most do), or a router that loops the public address back.",
                    "无需处理：通告的公网地址对网络外部的客户端是正确的。内网客户端需要使用 EPSV，或忽略 227 中的地址（多数客户端如此），或由路由器把公网地址回环回来。"
                )
            },
            certainty: Certainty::Inferred,
            cause: format!("inside {} {server_ip}", ann.ip()),
            ..Default::default()
        });
    } else if mismatch {
        let used_control = d.match_kind == Some(MatchKind::ServerControlAddress);
        let severity = if (nat || unusable) && !(used_control && worked) {
            Severity::Error
        } else {
            Severity::Warning
        };
        let (ip, via) = (ann.ip(), d.via);
        let summary = if unusable {
            let what = if ip.is_loopback() {
                tr!("the server's own loopback address", "服务器自己的回环地址")
            } else {
                tr!("the unspecified address", "未指定地址")
            };
            tr!(
                "the {via} reply announces {ip}, {what}, where no client elsewhere can connect; the client reached the server at {server_ip}",
                "{via} 响应通告的是 {ip}（{what}），其他主机上的客户端无法连接到那里；客户端是通过 {server_ip} 访问服务器的";
                via = Tr::verbatim(via.to_string()),
                ip = Tr::verbatim(ip.to_string()),
                what = what,
                server_ip = Tr::verbatim(server_ip.to_string())
            )
        } else if let Some((a, c)) = between {
            tr!(
                "the server is behind NAT (a container or VM network with published ports, or a router between two private networks) and announced its private address {ip} (in {a}) in the {via} reply; the client reached it at {server_ip} (in {c})",
                "服务器位于 NAT 之后（发布了端口的容器或虚拟机网络，或两个私有网络之间的路由器），在 {via} 响应中通告了它的私有地址 {ip}（属于 {a}）；客户端是通过 {server_ip}（属于 {c}）访问它的"
            )
        } else if nat {
            tr!(
                "the server is behind NAT and announced its private address {ip} in the {via} reply; the client reached it at {server_ip}",
                "服务器位于 NAT 之后，在 {via} 响应中通告了它的私有地址 {ip}；客户端是通过 {server_ip} 访问它的"
            )
        } else {
            tr!(
                "the {via} reply announces {ip} but the client reached the server at {server_ip}",
                "{via} 响应通告的是 {ip}，但客户端是通过 {server_ip} 访问服务器的"
            )
        };
        let mut evidence = announcement_evidence(s, d);
        evidence.push(control_evidence(s));
        if used_control {
            let port = ann.port();
            evidence.push(ev(
                tr!(
                    "the client connected to {server_ip}:{port} instead (it ignored the announced address)",
                    "客户端改为连接 {server_ip}:{port}（它忽略了通告的地址）"
                ),
                d.start,
                d.frame_syn,
                None,
            ));
        }
        // No data connection seen and the transfer refused: that is this
        // address's doing, said here rather than as a finding of its own.
        let folds = severity == Severity::Error
            && (nat || unusable)
            && (d.outcome == Outcome::NotAttempted
                || (d.outcome == Outcome::FailedPerReplies
                    && transfer_reply(s, d).is_some_and(|(_, c)| c == 425)));
        if folds && let Some(ei) = d.command_exchange {
            evidence.extend(reply_evidence(s, ei));
        }
        let remedy = if unusable || between.is_some() {
            let settings = server_passive_settings(&server_ip.to_string());
            tr!(
                "Configure the server's passive address to the one clients use, {server_ip}: {settings}. A server in a container announces its own address unless told (and the passive port range must be published as well as port 21). Or use EPSV, which carries no address. Clients that ignore the 227 address (curl by default, FileZilla's fallback) hide the problem.",
                "把服务器的被动地址配置为客户端使用的地址 {server_ip}：{settings}。容器中的服务器除非另行配置，否则会通告它自己的地址（而且除了端口 21，被动模式端口范围也必须发布出来）。或者使用不携带地址的 EPSV。忽略 227 中地址的客户端（curl 默认如此，FileZilla 会回退）会掩盖这个问题。";
                settings = settings,
                server_ip = Tr::verbatim(server_ip.to_string())
            )
        } else if nat {
            let settings = server_passive_settings(&server_ip.to_string());
            let this = if used_control && worked {
                tr!(", as this one did", "，这个客户端就是如此")
            } else {
                Tr::default()
            };
            tr!(
                "Configure the server's passive address to the public one, {server_ip}: {settings}. Or use EPSV, which carries no address. Clients that ignore the 227 address (curl by default, FileZilla's fallback) hide the problem{this}.",
                "把服务器的被动地址配置为公网地址 {server_ip}：{settings}。或者使用不携带地址的 EPSV。忽略 227 中地址的客户端（curl 默认如此，FileZilla 会回退）会掩盖这个问题{this}。";
                settings = settings,
                this = this
            )
        } else {
            tr!(
                "Check the server's passive address setting (it should be {server_ip}, the address clients use), or use EPSV.",
                "检查服务器的被动地址设置（应为 {server_ip}，即客户端使用的地址），或使用 EPSV。"
            )
        };
        out.push(Finding {
            id: "pasv-address-mismatch",
            severity,
            summary,
            evidence,
            remedy,
            cause: format!("{} {server_ip} {severity:?}", ann.ip()),
            ..Default::default()
        });
        if folds {
            return;
        }
    }
    let target = d.listener.unwrap_or(ann);
    let via = via_text(d);
    match d.outcome {
        Outcome::Refused if d.rejected_by.is_some() => {
            let r = d.rejected_by.expect("checked");
            let mut evidence = announcement_evidence(s, d);
            evidence.extend(attempt_evidence(d));
            let connector = d.connector.map_or(s.client.ip(), |c| c.ip());
            out.push(Finding {
                id: "passive-data-refused",
                severity: Severity::Error,
                summary: tr!(
                    "the client's data connection to {target} (announced by {via}) was rejected with {answer}",
                    "客户端到 {target}（由 {via} 通告）的数据连接被拒绝：{answer}";
                    answer = icmp::answer(&r)
                ),
                evidence,
                remedy: passive_icmp_remedy(&r, connector, target),
                cause: format!("icmp {} {}", r.reason(), r.from),
                ..Default::default()
            });
        }
        Outcome::Refused => {
            let mut evidence = announcement_evidence(s, d);
            evidence.extend(attempt_evidence(d));
            out.push(Finding {
                id: "passive-data-refused",
                severity: Severity::Error,
                summary: tr!(
                    "the client's data connection to {target} (announced by {via}) was refused with RST",
                    "客户端到 {target}（由 {via} 通告）的数据连接被 RST 拒绝"
                ),
                evidence,
                remedy: {
                    let port = target.port();
                    tr!(
                        "Something at or in front of the server rejects port {port}: open the server's passive port range in its firewall ({hint}), and where the server sits behind port forwarding (a NAT router, a container's published ports such as docker run -p 21:21) forward that range to it as well as port 21. If the server really does not listen there, its passive address/port settings are wrong. Until then, active mode (PORT/EPRT) may work if the client can accept connections.",
                        "服务器本身或它前面的设备拒绝了端口 {port}：在服务器的防火墙上放行被动模式端口范围（{hint}）；如果服务器位于端口转发之后（NAT 路由器、容器发布的端口，例如 docker run -p 21:21），除了端口 21 还要把这个范围转发给它。如果服务器确实没有在那里监听，说明它的被动地址/端口设置有误。在此之前，如果客户端能接受入站连接，可以改用主动模式（PORT/EPRT）。";
                        hint = port_range_hint(port)
                    )
                },
                ..Default::default()
            });
        }
        Outcome::Unanswered => {
            let mut evidence = announcement_evidence(s, d);
            evidence.extend(attempt_evidence(d));
            let tried_announced = target.ip() == ann.ip();
            let private_hint = if (is_private(target.ip())
                && !is_private(s.server.ip())
                && !unusable)
                || (nat && tried_announced)
            {
                let ip = target.ip();
                tr!(
                    "The client tried the private address {ip} the server announced, which is not reachable from here: {settings}.",
                    "客户端尝试连接服务器通告的私有地址 {ip}，从这里无法到达：{settings}。";
                    settings = server_passive_settings(&s.server.ip().to_string())
                )
            } else if unusable && tried_announced {
                let ip = target.ip();
                tr!(
                    "The client tried {ip}, the address the server announced, which no other host can reach: {settings}.",
                    "客户端尝试连接服务器通告的地址 {ip}，其他主机无法到达它：{settings}。";
                    settings = server_passive_settings(&s.server.ip().to_string())
                )
            } else {
                Tr::default()
            };
            out.push(Finding {
                id: "passive-data-unanswered",
                severity: Severity::Error,
                summary: tr!(
                    "the client's SYNs to {target} (announced by {via}) got no answer: {} SYN(s), then nothing",
                    "客户端发往 {target}（由 {via} 通告）的 SYN 没有应答：{} 个 SYN，之后再无下文",
                    d.syns.max(1)
                ),
                evidence,
                // When the client tried an address it cannot reach, that comes
                // first: no firewall rule would make it reachable.
                remedy: if private_hint.en.is_empty() {
                    tr!(
                        "A firewall between client and server drops the data connection. Allow TCP to the server's passive port range ({hint}) on every firewall and NAT on the path, or forward it to the server.",
                        "客户端与服务器之间的防火墙丢弃了数据连接。在路径上的每个防火墙和 NAT 上放行到服务器被动模式端口范围（{hint}）的 TCP，或把它转发到服务器。";
                        hint = port_range_hint(target.port())
                    )
                } else {
                    tr!(
                        "{private_hint} Then the passive port range ({hint}) must be open on every firewall and forwarded by the NAT to the server.",
                        "{private_hint}然后，被动模式端口范围（{hint}）必须在每个防火墙上放行，并由 NAT 转发到服务器。";
                        hint = port_range_hint(target.port()),
                        private_hint = private_hint
                    )
                },
                ..Default::default()
            });
        }
        Outcome::NotAttempted => {
            let mut evidence = announcement_evidence(s, d);
            if let Some(ei) = d.command_exchange {
                evidence.extend(reply_evidence(s, ei));
            }
            let failed = transfer_reply(s, d).is_some_and(|(_, c)| c >= 400);
            let why = match s.coverage.data_visible {
                DataVisibility::Seen => tr!(
                    "other data connections of this session are in the capture",
                    "这个会话的其他数据连接都在抓包中"
                ),
                _ => tr!(
                    "the capture holds other traffic than the FTP control connection, so it was not filtered to port 21",
                    "抓包中还有 FTP 控制连接以外的流量，所以它没有被过滤为只抓端口 21"
                ),
            };
            let cmd = d.command.as_deref().unwrap_or("?");
            out.push(Finding {
                id: "passive-data-not-attempted",
                severity: if failed { Severity::Error } else { Severity::Warning },
                summary: tr!(
                    "no connection to the announced data address {ann} was seen after {via} and {cmd} ({why})",
                    "在 {via} 和 {cmd} 之后没有看到到通告的数据地址 {ann} 的连接（{why}）";
                    why = why
                ),
                certainty: Certainty::Inferred,
                cause: format!("{} {failed}", d.via),
                evidence,
                remedy: tr!(
                    "The client did not connect (or went somewhere the capture does not show): check the client's outbound firewall, and that the capture filter includes the data ports (capture all TCP between the two hosts, not only port 21).",
                    "客户端没有发起连接（或连到了抓包看不到的地方）：检查客户端的出站防火墙，以及抓包过滤器是否包含数据端口（抓取两台主机之间的全部 TCP，而不仅是端口 21）。"
                ),
                ..Default::default()
            });
        }
        Outcome::FailedPerReplies if transfer_reply(s, d).is_some_and(|(_, c)| c == 425) => {
            let mut evidence = announcement_evidence(s, d);
            if let Some(ei) = d.command_exchange {
                evidence.extend(reply_evidence(s, ei));
            }
            out.push(Finding {
                id: "data-connection-failed",
                severity: Severity::Error,
                summary: tr!(
                    "the server replied 425 to {cmd}: the passive data connection to {ann} was not made. The capture holds no data connections, so whether the client tried and what stopped it cannot be seen",
                    "服务器对 {cmd} 响应 425：到 {ann} 的被动模式数据连接没有建立。抓包中没有任何数据连接，因此看不到客户端是否尝试过、又是什么阻止了它";
                    cmd = match d.command.as_deref() {
                        Some(c) => Tr::verbatim(c),
                        None => tr!("the transfer", "传输命令"),
                    }
                ),
                evidence,
                remedy: tr!(
                    "Usually a firewall or NAT between client and server blocks the passive port ({hint}), or the client connects elsewhere. Capture all traffic between the two hosts (not only port 21) to see the attempt.",
                    "通常是客户端与服务器之间的防火墙或 NAT 阻断了被动模式端口（{hint}），或客户端连到了别处。抓取两台主机之间的全部流量（而不仅是端口 21）才能看到连接尝试。";
                    hint = port_range_hint(ann.port())
                ),
                certainty: Certainty::Inferred,
                cause: d.via.to_string(),
                ..Default::default()
            });
        }
        _ => {}
    }
}

/// What shows that a PORT/EPRT naming the client's own address (as this capture
/// sees it) was refused because the server sees the client at another address:
/// a NAT between them translated the control connection but not the address
/// inside the command. Servers refuse such a PORT by default (vsftpd
/// port_promiscuous=NO: "500 Illegal PORT command."; ProFTPD AllowForeignAddress
/// off; IIS "501 Server cannot accept argument."; FileZilla Server "421 Rejected
/// command, requested IP address does not match control connection IP.";
/// pure-ftpd "500 I won't open a connection to A (only to B)").
pub(crate) struct ForeignPort {
    /// The address the server says it sees the client at (pure-ftpd's "only to B").
    pub seen: Option<IpAddr>,
    /// The server's words say the address does not match.
    pub said: bool,
    /// The announced address's private block and the server's, when both are
    /// private and apart (captured on the client's side of a NAT between two
    /// private networks).
    pub between: Option<(&'static str, &'static str)>,
}

/// See [`ForeignPort`]: None when the refusal has another reading (a command the
/// server does not know, a privileged port, a demand for TLS, an address the
/// capture itself shows to be another host's).
pub(crate) fn port_refused_through_nat(s: &Session, d: &DataChannel) -> Option<ForeignPort> {
    let ann = d.announced?;
    if d.mode != DataMode::Active || ann.ip() != s.client.ip() {
        return None;
    }
    let r = s.exchanges.get(d.announce_exchange)?.final_reply()?;
    if r.code < 400 || refusals::asks_for_tls(&r.text.0) {
        return None;
    }
    let text = crate::text::lossy_str(&r.text.0).to_ascii_lowercase();
    let seen = text.split_once("only to ").and_then(|(_, rest)| {
        let end = rest
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
            .unwrap_or(rest.len());
        rest[..end].parse::<IpAddr>().ok()
    });
    let said = seen.is_some_and(|x| x != ann.ip())
        || [
            "does not match",
            "doesn't match",
            "not match the",
            "address mismatch",
        ]
        .iter()
        .any(|w| text.contains(w));
    if said {
        return Some(ForeignPort {
            seen: seen.filter(|x| *x != ann.ip()),
            said,
            between: private_networks_apart(ann.ip(), s.server.ip()),
        });
    }
    // No words to that effect: a refusal of a well-formed PORT to an unprivileged
    // port of the client's private address, by a server a NAT must separate from
    // it (a public server, or one in another private network).
    let between = private_networks_apart(ann.ip(), s.server.ip());
    let apart = is_private(ann.ip()) && (!is_private(s.server.ip()) || between.is_some());
    let unknown = refusals::says_unknown(&r.text.0);
    (apart && matches!(r.code, 500 | 501) && ann.port() >= 1024 && !unknown).then_some(
        ForeignPort {
            seen: None,
            said: false,
            between,
        },
    )
}

/// [`port_refused_through_nat`] as a finding (`active-private-address`, once per
/// session).
fn port_refused_finding(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    f: ForeignPort,
    out: &mut Vec<Finding>,
) {
    if out.iter().any(|x| x.id == "active-private-address") {
        return;
    }
    let Some(r) = s
        .exchanges
        .get(d.announce_exchange)
        .and_then(Exchange::final_reply)
    else {
        return;
    };
    let (via, code, said, sip) = (d.via, r.code, first_line(r), s.server.ip());
    let mut evidence = announcement_evidence(s, d);
    let ann_ip = ann.ip();
    let why = match (f.seen, f.between) {
        (Some(seen), _) => tr!(
            "the server sees this client as {seen}, not {ann_ip}",
            "服务器看到的客户端地址是 {seen}，而不是 {ann_ip}"
        ),
        (None, Some((a, b))) => tr!(
            "{ann_ip} (in {a}) and the server {sip} (in {b}) are in two private networks: a NAT between them translates the client's address",
            "{ann_ip}（属于 {a}）与服务器 {sip}（属于 {b}）处于两个私有网络：它们之间的 NAT 转换了客户端的地址"
        ),
        (None, None) if !is_private(sip) && is_private(ann.ip()) => tr!(
            "the server {sip} has a public address; {ann_ip} is private",
            "服务器 {sip} 是公网地址；{ann_ip} 是私有地址"
        ),
        (None, None) => tr!(
            "the server's reply says the address is not the one it sees",
            "服务器的响应表明该地址不是它看到的地址"
        ),
    };
    // The server's own words are read from its reply; the addresses are the
    // session's from its start.
    let at = if f.said {
        (Some(r.ts), Some(r.frame), Some(d.announce_exchange))
    } else {
        (Some(s.start), Some(s.start_frame), None)
    };
    evidence.push(ev(why, at.0, at.1, at.2));
    let later = refusals::later_setup(s, d.announce_exchange);
    let tail = refusals::setup_tail(later);
    let summary = match f.seen {
        Some(seen) => tr!(
            "{via} names {ann}, but the server sees this client as {seen} and refused it ({code} \"{said}\"): a NAT between them translated the control connection but not the address inside {via}, so active mode cannot work{tail}",
            "{via} 给出 {ann}，但服务器看到的客户端是 {seen}，因此拒绝了它（{code}，\"{said}\"）：两者之间的 NAT 转换了控制连接，却没有转换 {via} 里的地址，所以主动模式无法工作{tail}";
            tail = tail
        ),
        None if f.said => tr!(
            "{via} names {ann}, and the server refused it because that is not the address it sees the client at ({code} \"{said}\"): a NAT between them translated the control connection but not the address inside {via}, so active mode cannot work{tail}",
            "{via} 给出 {ann}，服务器因为这不是它看到的客户端地址而拒绝了它（{code}，\"{said}\"）：两者之间的 NAT 转换了控制连接，却没有转换 {via} 里的地址，所以主动模式无法工作{tail}";
            tail = tail
        ),
        None => tr!(
            "{via} names the client's private address {ann} and the server {sip} refused it ({code} \"{said}\"): the client is likely behind NAT (this capture, on the client's side, cannot show it); the server sees the NAT's address and, as servers do by default, refuses {via} naming any other address, so active mode cannot work{tail}",
            "{via} 给出客户端的私有地址 {ann}，服务器 {sip} 拒绝了它（{code}，\"{said}\"）：客户端很可能位于 NAT 之后（这份在客户端一侧的抓包无法显示这一点）；服务器看到的是 NAT 的地址，并按默认设置拒绝给出其他地址的 {via} 命令，所以主动模式无法工作{tail}";
            tail = tail
        ),
    };
    out.push(Finding {
        id: "active-private-address",
        severity: if later.is_some() {
            Severity::Info
        } else {
            Severity::Error
        },
        summary,
        evidence,
        remedy: use_passive_refused_remedy(),
        certainty: if f.said {
            Certainty::Seen
        } else {
            Certainty::Inferred
        },
        cause: ann.ip().to_string(),
        exchanges: vec![d.announce_exchange],
        ..Default::default()
    });
}

fn active_rules(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    client_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    let answer = s
        .exchanges
        .get(d.announce_exchange)
        .and_then(Exchange::final_reply)
        .map(|r| r.code);
    // Its reply lost (in a gap): the client went on to the transfer, which it
    // does only once the PORT was accepted.
    let accepted_seen = answer.is_some_and(|c| c < 300);
    let accepted = answer.map_or(d.command_exchange.is_some(), |c| c < 300);
    // The client's loopback or the unspecified address: nobody else can reach it.
    let local = ann.ip().is_loopback() || ann.ip().is_unspecified();
    if local && !client_ip.is_loopback() {
        local_address(s, d, ann, client_ip, out);
        return;
    }
    if let Some(f) = port_refused_through_nat(s, d) {
        port_refused_finding(s, d, ann, f, out);
        return;
    }
    // An address of the other family (EPRT |2| on an IPv4 control connection,
    // RFC 2428) cannot be compared with the client's: a dual-stack client may
    // name its own other address.
    let third = ann.ip() != client_ip && ann.is_ipv4() == client_ip.is_ipv4();
    if third && d.match_kind == Some(MatchKind::ClientControlAddress) {
        // The server connected to the client's control address, not to the
        // one announced: nothing went to a third host.
        port_address_mismatch(s, d, ann, client_ip, out);
        return;
    }
    let failed_conn = matches!(d.outcome, Outcome::Refused | Outcome::Unanswered);
    let code = transfer_reply(s, d);
    let reply_425 = code.is_some_and(|(_, c)| c == 425);
    // Captured on the client's side: a private client talking to a public server is
    // behind a NAT the capture cannot show.
    let client_side = !third && is_private(ann.ip()) && !is_private(s.server.ip());
    if client_side
        && accepted
        && !matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies)
        && (failed_conn || reply_425 || d.outcome == Outcome::NotAttempted)
    {
        let mut evidence = announcement_evidence(s, d);
        let (sip, ip) = (s.server.ip(), ann.ip());
        evidence.push(ev(
            tr!(
                "the server {sip} has a public address; {ip} is private",
                "服务器 {sip} 是公网地址；{ip} 是私有地址"
            ),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        out.push(Finding {
            id: "active-private-address",
            severity: Severity::Error,
            summary: {
                let via = via_text(d);
                tr!(
                    "{via} announces the private address {ann} to the public server {sip}: the client is likely behind NAT (this capture, on the client's side, cannot show it), and the server's connection back cannot reach it",
                    "{via} 向公网服务器 {sip} 通告了私有地址 {ann}：客户端很可能位于 NAT 之后（这份在客户端一侧的抓包无法显示这一点），服务器的回连无法到达它"
                )
            },
            evidence,
            remedy: use_passive_remedy(ann),
            certainty: Certainty::Inferred,
            cause: ann.ip().to_string(),
            ..Default::default()
        });
    }
    // Both private, in different private networks (a container's 172.17.0.2
    // seen as its host's 192.168.1.5, a VM's 10.0.2.15, a home network behind a
    // carrier's 100.64.x.y): a NAT between two private networks, unless the
    // announced host did take the data connection (then it is a real third host).
    let reached = matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies)
        && d.connector.is_some();
    let between = private_networks_apart(ann.ip(), client_ip).filter(|_| third && !reached);
    if third && is_private(ann.ip()) && (!is_private(client_ip) || between.is_some()) {
        let mut evidence = announcement_evidence(s, d);
        evidence.push(ev(
            tr!(
                "control connection from {client_ip} (the address the server sees)",
                "控制连接来自 {client_ip}（服务器看到的地址）"
            ),
            Some(s.start),
            Some(s.start_frame),
            None,
        ));
        let via = via_text(d);
        let (summary, certainty) = match between {
            Some((a, c)) => (
                tr!(
                    "{via} announces {ann} (in {a}) but the control connection comes from {client_ip} (in {c}): two private networks with a NAT between them (a container or VM network, a router), which translated the control connection but not this address; active mode cannot work through it (unless this is a deliberate transfer to another host, FXP)",
                    "{via} 通告了 {ann}（属于 {a}），但控制连接来自 {client_ip}（属于 {c}）：两个私有网络之间有 NAT（容器或虚拟机网络、路由器），它转换了控制连接却没有转换这个地址；主动模式无法穿过它工作（除非这是有意向另一台主机的传输，即 FXP）"
                ),
                Certainty::Inferred,
            ),
            None => (
                tr!(
                    "{via} announces the private address {ann} but the control connection comes from {client_ip}: the client is behind NAT and active mode cannot work",
                    "{via} 通告了私有地址 {ann}，但控制连接来自 {client_ip}：客户端位于 NAT 之后，主动模式无法工作"
                ),
                Certainty::default(),
            ),
        };
        let remedy = if answer.is_some_and(|c| c >= 400) {
            use_passive_refused_remedy()
        } else {
            use_passive_remedy(ann)
        };
        out.push(Finding {
            id: "active-private-address",
            severity: Severity::Error,
            summary,
            evidence,
            remedy,
            certainty,
            ..Default::default()
        });
    } else if third || ann.port() < 1024 {
        let (via, port) = (d.via, ann.port());
        let summary = if third {
            tr!(
                "{via} names {ann}, a host other than the client {client_ip}: FTP bounce (RFC 2577) or a server-to-server (FXP) transfer",
                "{via} 指向 {ann}，不是客户端 {client_ip} 的主机：FTP bounce（RFC 2577）或服务器间（FXP）传输"
            )
        } else {
            tr!(
                "{via} names the privileged port {port}: a likely bounce attempt (RFC 2577)",
                "{via} 指向特权端口 {port}：很可能是 bounce 尝试（RFC 2577）"
            )
        };
        let severity = if accepted_seen {
            Severity::Error
        } else {
            Severity::Warning
        };
        let remedy = if accepted_seen {
            tr!(
                "The server accepted it: refuse PORT/EPRT to third hosts and to ports below 1024 (vsftpd does by default unless port_promiscuous=YES; pure-ftpd without -w; ProFTPD AllowForeignAddress off), unless FXP is wanted.",
                "服务器接受了它：除非需要 FXP，否则应拒绝指向第三方主机和 1024 以下端口的 PORT/EPRT（vsftpd 默认如此，除非 port_promiscuous=YES；pure-ftpd 不加 -w；ProFTPD AllowForeignAddress off）。"
            )
        } else if answer.is_some() {
            tr!(
                "The server refused it, as it should. If this was a legitimate FXP transfer, the server must allow it explicitly (pure-ftpd -w, ProFTPD AllowForeignAddress on).",
                "服务器拒绝了它，这是正确的。如果这是正当的 FXP 传输，服务器必须显式允许（pure-ftpd -w，ProFTPD AllowForeignAddress on）。"
            )
        } else {
            tr!(
                "The capture holds no reply to it, so whether the server accepted it cannot be told: check in the server's log, and make sure it refuses PORT/EPRT to third hosts and to ports below 1024 (vsftpd does unless port_promiscuous=YES; pure-ftpd without -w; ProFTPD AllowForeignAddress off), unless FXP is wanted.",
                "抓包中没有对它的响应，无法判断服务器是否接受了它：请查看服务器日志，并确保服务器拒绝指向第三方主机和 1024 以下端口的 PORT/EPRT（vsftpd 默认如此，除非 port_promiscuous=YES；pure-ftpd 不加 -w；ProFTPD AllowForeignAddress off），除非需要 FXP。"
            )
        };
        out.push(Finding {
            id: "bounce-port",
            severity,
            summary,
            evidence: announcement_evidence(s, d),
            remedy,
            cause: format!("{} {accepted_seen} {third}", ann.ip()),
            ..Default::default()
        });
    }
    if failed_conn
        || (reply_425 && accepted)
        || (accepted && d.outcome == Outcome::NotAttempted && code.is_some_and(|(_, c)| c >= 400))
    {
        let mut evidence = announcement_evidence(s, d);
        evidence.extend(attempt_evidence(d));
        if let Some((ei, _)) = code {
            evidence.extend(reply_evidence(s, ei));
        }
        let how = match d.outcome {
            Outcome::Refused if d.rejected_by.is_some() => tr!(
                "its connection was rejected with {answer}",
                "它的连接被拒绝：{answer}";
                answer = icmp::answer(&d.rejected_by.expect("checked"))
            ),
            Outcome::Refused => tr!("its connection was refused (RST)", "它的连接被拒绝（RST）"),
            Outcome::Unanswered => tr!(
                "its {} SYN(s) got no answer",
                "它的 {} 个 SYN 没有应答",
                d.syns.max(1)
            ),
            _ if !s.coverage.data_would_show() => tr!(
                "the server replied 425 (the capture holds no data connections to show the attempt)",
                "服务器响应 425（抓包中没有数据连接，无法显示连接尝试）"
            ),
            _ => tr!("no connection reached the client", "没有连接到达客户端"),
        };
        let nat_hint = if is_private(ann.ip()) {
            tr!(
                " The announced address is private: if the client is behind NAT, active mode cannot work.",
                "通告的地址是私有地址：如果客户端位于 NAT 之后，主动模式无法工作。"
            )
        } else {
            Tr::default()
        };
        let via = via_text(d);
        out.push(Finding {
            id: "active-data-failed",
            severity: Severity::Error,
            summary: tr!(
                "after {via} {ann} the server could not connect to the client: {how}",
                "在 {via} {ann} 之后，服务器无法连接到客户端：{how}";
                how = how
            ),
            evidence,
            remedy: {
                let port = ann.port();
                let connector = d.connector.map_or(s.server.ip(), |c| c.ip());
                let target = d.listener.map_or(ann.ip(), |l| l.ip());
                let rejected = d.rejected_by.filter(|_| d.outcome == Outcome::Refused);
                match rejected.map(|r| (r, icmp::sender(&r, connector, target))) {
                    Some((r, icmp::Sender::Target)) if icmp::is_filter(&r) => {
                        let from = r.from;
                        tr!(
                            "A firewall rule on {from} rejects incoming connections to port {port} (a REJECT rule: iptables/nftables, firewalld, or the NAT router that owns that address).{nat_hint} Use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on), or allow the client's active port range in that firewall.",
                            "{from} 上的防火墙规则拒绝了到端口 {port} 的入站连接（REJECT 规则：iptables/nftables、firewalld，或拥有该地址的 NAT 路由器）。{nat_hint}请使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on），或在该防火墙上放行客户端的主动模式端口范围。";
                            nat_hint = nat_hint
                        )
                    }
                    Some((r, icmp::Sender::Connector)) => {
                        let from = r.from;
                        tr!(
                            "The server's own firewall ({from}) rejects its outgoing connection to port {port} (a REJECT rule on its OUTPUT side).{nat_hint} Allow the server's outgoing data connections there, or use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on).",
                            "服务器自己的防火墙（{from}）拒绝了它到端口 {port} 的出站连接（出站方向的 REJECT 规则）。{nat_hint}请在那里放行服务器的出站数据连接，或使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on）。";
                            nat_hint = nat_hint
                        )
                    }
                    Some((r, icmp::Sender::Path)) => {
                        let from = r.from;
                        tr!(
                            "A router or firewall at {from}, between the server and the client, rejects the server's connection to port {port}.{nat_hint} Use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on), or allow the client's active port range through it.",
                            "服务器与客户端之间 {from} 处的路由器或防火墙拒绝了服务器到端口 {port} 的连接。{nat_hint}请使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on），或在它上面放行客户端的主动模式端口范围。";
                            nat_hint = nat_hint
                        )
                    }
                    _ => tr!(
                    "The client side blocks incoming connections to port {port} (a firewall or NAT in front of the client).{nat_hint} Use passive mode (curl: drop --ftp-port; lftp: set ftp:passive-mode on), or open the port on the client's firewall.",
                    "客户端一侧阻断了到端口 {port} 的入站连接（客户端前面的防火墙或 NAT）。{nat_hint}请使用被动模式（curl：去掉 --ftp-port；lftp：set ftp:passive-mode on），或在客户端防火墙上开放该端口。";
                    nat_hint = nat_hint
                ),
                }
            },
            ..Default::default()
        });
    }
}

/// `port-address-mismatch`: PORT/EPRT named another host than the client, yet
/// the server's data connection went to the client's control address on the
/// announced port. Not a bounce: the announced address was not used (a server
/// that connects only to the control peer, or addresses rewritten between the
/// client, the server and the capture point: a NAT that left the command alone,
/// a replayed capture with new addresses).
fn port_address_mismatch(
    s: &Session,
    d: &DataChannel,
    ann: SocketAddr,
    client_ip: IpAddr,
    out: &mut Vec<Finding>,
) {
    let mut evidence = announcement_evidence(s, d);
    evidence.extend(attempt_evidence(d));
    let (via, port) = (d.via, ann.port());
    let worked = matches!(d.outcome, Outcome::Completed | Outcome::CompletedPerReplies);
    // The connection to the control address did not get through: the NAT in front
    // of the client has nothing behind that port (ProFTPD, for one, replaces a
    // private PORT address by the control connection's and connects there).
    let failed = match d.outcome {
        Outcome::Refused if d.rejected_by.is_some() => Some(tr!(
            "; that connection was rejected with {answer}, so the transfer failed",
            "；该连接被拒绝（{answer}），所以传输失败";
            answer = icmp::answer(&d.rejected_by.expect("checked"))
        )),
        Outcome::Refused => Some(tr!(
            "; that connection was refused (RST): the NAT in front of the client does not forward port {port} to it, so the transfer failed",
            "；该连接被拒绝（RST）：客户端前面的 NAT 没有把端口 {port} 转发给它，所以传输失败"
        )),
        Outcome::Unanswered => Some(tr!(
            "; that connection got no answer: the NAT or a firewall in front of the client drops it, so the transfer failed",
            "；该连接没有应答：客户端前面的 NAT 或防火墙丢弃了它，所以传输失败"
        )),
        _ => None,
    };
    let (severity, tail) = match failed {
        Some(t) => (Severity::Error, t),
        None => (Severity::Info, Tr::default()),
    };
    out.push(Finding {
        id: "port-address-mismatch",
        severity,
        summary: tr!(
            "{via} names {ann}, but the client's control connection comes from {client_ip}, and the server's data connection went there (port {port}): the announced address was not used, so this is no bounce. Addresses were rewritten between the client, the server and the capture point (a NAT that translates packets but not the PORT command, or a replayed capture with new addresses), or the server connects only to the client's control address{tail}",
            "{via} 指向 {ann}，但客户端的控制连接来自 {client_ip}，而服务器的数据连接连向了那里（端口 {port}）：通告的地址没有被使用，因此这不是 bounce。地址在客户端、服务器和抓包点之间被改写过（一个转换数据包但不改写 PORT 命令的 NAT，或被改写地址后重放的抓包），或者服务器只连接客户端的控制地址{tail}";
            tail = tail
        ),
        evidence,
        remedy: if worked {
            tr!(
                "Nothing failed here. Behind a NAT that does not rewrite PORT, active mode works only with servers that connect to the control address; passive mode (EPSV) avoids the question.",
                "这里没有失败。在不改写 PORT 的 NAT 之后，主动模式只能与连接控制地址的服务器配合工作；被动模式（EPSV）可以避免这个问题。"
            )
        } else if severity == Severity::Error {
            tr!(
                "Use passive mode (EPSV) so the client's own address never has to be announced, or let the NAT rewrite FTP commands (Linux: nf_conntrack_ftp / nf_nat_ftp helper). Forwarding the ports the client announces (its active port range, such as lftp's ftp:port-range) from the NAT to it would also work with a server that connects to the control address.",
                "使用被动模式（EPSV），客户端就不必通告自己的地址；或让 NAT 改写 FTP 命令（Linux：nf_conntrack_ftp / nf_nat_ftp 辅助模块）。对于连接控制地址的服务器，把客户端通告的端口（它的主动模式端口范围，例如 lftp 的 ftp:port-range）从 NAT 转发给它也可以。"
            )
        } else {
            tr!(
                "Use passive mode (EPSV) so the client's own address never has to be announced, or let the NAT rewrite FTP commands (Linux: nf_conntrack_ftp / nf_nat_ftp helper).",
                "使用被动模式（EPSV），客户端就不必通告自己的地址；或让 NAT 改写 FTP 命令（Linux：nf_conntrack_ftp / nf_nat_ftp 辅助模块）。"
            )
        },
        certainty: Certainty::Inferred,
        cause: format!("{} {client_ip}", ann.ip()),
        ..Default::default()
    });
}

/// The transfer moved in TYPE A as far as the evidence goes: TYPE A in effect,
/// set by a TYPE command seen or said by the server, and not contradicted by the
/// server's "BINARY mode" (the server's own words outweigh a TYPE seen, and a
/// capture that starts mid-session only assumes the default A).
fn ascii_transfer(s: &Session, d: &DataChannel) -> bool {
    d.transfer_type
        .as_deref()
        .is_some_and(|t| t.starts_with('A'))
        && d.type_per_replies != Some(Representation::Binary)
        && (type_command_before(s, d.command_exchange.unwrap_or(0))
            || d.type_per_replies == Some(Representation::Ascii))
}

/// Was a TYPE A/I actually set (a TYPE command with a 2xx reply) before exchange `ei`?
fn type_command_before(s: &Session, ei: usize) -> bool {
    s.exchanges[..ei.min(s.exchanges.len())]
        .iter()
        .any(|x| x.verb() == Some("TYPE") && x.final_reply().is_some_and(|r| r.code < 300))
}

/// "226-WARNING! 381 bare linefeeds received in ASCII mode" (vsftpd, pure-ftpd):
/// the exchange and the count.
fn bare_lf_warning(s: &Session, d: &DataChannel) -> Option<(usize, u64)> {
    let ei = d.command_exchange?;
    let x = s.exchanges.get(ei)?;
    x.replies.iter().find_map(|r| {
        let t = &r.text.0;
        let i = crate::text::find_ci(t, b"bare linefeed")?;
        let n = t[..i]
            .split(u8::is_ascii_whitespace)
            .rfind(|w| !w.is_empty())
            .and_then(|w| std::str::from_utf8(w).ok()?.parse().ok())
            .unwrap_or(0);
        Some((ei, n))
    })
}

fn is_binary_name(name: &[u8]) -> bool {
    let n = crate::text::lossy_str(name).to_ascii_lowercase();
    [
        ".bin", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jpg", ".jpeg",
        ".png", ".gif", ".pdf", ".exe", ".dll", ".iso", ".img", ".mp3", ".mp4", ".so", ".jar",
        ".deb", ".rpm",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

fn transfer_rules(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(cmd) = d.command.as_deref().or_else(|| {
        // A transfer begun before the capture, or whose command the capture lost
        // (its replies came to an exchange without one): the bytes say which way
        // the file went.
        let lost = d
            .command_exchange
            .and_then(|e| s.exchanges.get(e))
            .is_some_and(|x| x.command.is_none());
        (d.via == crate::model::Via::Unseen || lost).then_some(match d.direction {
            Some(crate::model::Direction::Upload) => "STOR",
            _ => "RETR",
        })
    }) else {
        return;
    };
    let file_cmd = matches!(cmd, "RETR" | "STOR" | "APPE" | "STOU");
    let upload = matches!(cmd, "STOR" | "APPE" | "STOU");
    let code = transfer_reply(s, d);
    let name = d.arg.as_ref().map(|a| a.0.clone()).unwrap_or_default();
    // A 1yz before the final reply (or, when the capture lost it, data moved on
    // the connection: the server went ahead).
    let preliminary = d
        .command_exchange
        .and_then(|e| s.exchanges.get(e))
        .is_some_and(|x| x.replies.iter().any(|r| (100..200).contains(&r.code)))
        || d.bytes > 0;
    // The server refused the command itself: that is the finding, whatever the data
    // connection did (a client may connect before sending the command).
    // Refused because the data would not be protected: `tls-required` says so.
    if d.command_exchange
        .and_then(|e| s.exchanges.get(e))
        .is_some_and(refusals::refuses_data_for_tls)
    {
        return;
    }
    if let Some((ei, c)) = code.filter(|(_, c)| *c >= 400 && *c != 425 && !preliminary) {
        let text = s
            .exchanges
            .get(ei)
            .and_then(Exchange::final_reply)
            .map(|r| escape(&r.text.0))
            .unwrap_or_default();
        let listing = matches!(cmd, "LIST" | "NLST" | "MLSD");
        let (id, severity, remedy) = match c {
            450 | 550 | 553 if upload => (
                "file-unavailable",
                Severity::Warning,
                tr!(
                    "The server does not let this user write that file: check the directory (the current one after CWD, the chroot) and that the user may write to it on the server's disk, and the server's own switches (vsftpd write_enable=YES, and anon_upload_enable for anonymous; ProFTPD <Limit WRITE>/<Limit STOR> and AllowOverwrite for an existing file; pure-ftpd -i forbids anonymous uploads), and its log for the reason. The data connection is not at fault.",
                    "服务器不允许该用户写这个文件：检查目录（CWD 之后的当前目录、chroot）以及该用户在服务器磁盘上是否有写权限，还有服务器自己的开关（vsftpd write_enable=YES，匿名用户还需 anon_upload_enable；ProFTPD <Limit WRITE>/<Limit STOR>，覆盖已有文件需 AllowOverwrite；pure-ftpd -i 禁止匿名上传），并查看其日志了解原因。数据连接没有问题。"
                ),
            ),
            450 | 550 | 553 => (
                "file-unavailable",
                if listing {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                tr!(
                    "The server says the file or directory is not there or not allowed: check the name and path (case, the current directory after CWD, the chroot), and its permissions on the server. The data connection is not at fault.",
                    "服务器表示文件或目录不存在或不允许访问：检查名称和路径（大小写、CWD 之后的当前目录、chroot），以及它在服务器上的权限。数据连接没有问题。"
                ),
            ),
            530 | 532 => (
                "transfer-refused",
                Severity::Warning,
                tr!(
                    "The server wants a login (or an account) before transfers: log in first, or check the user's rights.",
                    "服务器要求在传输前先登录（或提供账户）：先登录，或检查用户的权限。"
                ),
            ),
            _ => (
                "transfer-refused",
                Severity::Warning,
                tr!(
                    "The server refused the transfer command before any data moved: read its reply (disk full: 452/552; a bad argument: 501) and its log. The data connection is not at fault.",
                    "服务器在传输任何数据之前就拒绝了传输命令：查看它的响应（磁盘满：452/552；参数错误：501）和日志。数据连接没有问题。"
                ),
            ),
        };
        out.push(Finding {
            id,
            severity,
            summary: {
                let name = if name.is_empty() {
                    String::new()
                } else {
                    format!(" {}", escape(&name))
                };
                tr!(
                    "the server refused {cmd}{name}: {c} {text}",
                    "服务器拒绝了 {cmd}{name}：{c} {text}"
                )
            },
            evidence: reply_evidence(s, ei),
            remedy,
            certainty: Certainty::Seen,
            cause: format!("{cmd} {c}"),
            ..Default::default()
        });
        return;
    }
    let ascii = ascii_transfer(s, d);
    if let Some((ei, lf)) = bare_lf_warning(s, d) {
        out.push(Finding {
            id: "ascii-mode-bare-lf",
            severity: Severity::Warning,
            summary: tr!(
                "the server warns that {lf} bare linefeeds were received in ASCII mode for {cmd} {}: the file was altered in transfer",
                "服务器警告：{cmd} {} 以 ASCII 模式传输时收到了 {lf} 个单独的换行符（LF）：文件在传输中被改动了",
                escape(&name)
            ),
            evidence: reply_evidence(s, ei),
            remedy: tr!(
                "Transfer files in binary mode: send TYPE I before STOR/RETR (curl: do not use --use-ascii; lftp: set ftp:use-binary; ftplib: storbinary).",
                "以二进制模式传输文件：在 STOR/RETR 之前发送 TYPE I（curl：不要用 --use-ascii；lftp：set ftp:use-binary；ftplib：storbinary）。"
            ),
            certainty: Certainty::Seen,
            cause: "bare-lf".into(),
            ..Default::default()
        });
    }
    if ascii && file_cmd && d.outcome == Outcome::Completed {
        if let Some(n) = d.expected_size.filter(|n| *n != d.bytes) {
            let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
            let (got, ty) = (d.bytes, d.transfer_type.as_deref().unwrap_or("A"));
            evidence.push(ev(
                tr!(
                    "the server announced {n} bytes; {got} bytes crossed the data connection in TYPE {ty}",
                    "服务器通告 {n} 字节；以 TYPE {ty} 经数据连接传输了 {got} 字节"
                ),
                d.first_byte,
                d.frame_syn,
                d.command_exchange,
            ));
            // With --extract: what the bytes themselves say.
            if let Some(x) = d.extracted.as_deref()
                && let Some(le) = x.line_ends
            {
                let (k, c, l) = (x.kind, le.crlf, le.bare_lf);
                evidence.push(ev(
                    tr!(
                        "the transferred bytes start like a {k} file and hold {c} CRLF line ends (and {l} bare LF): the server's ASCII conversion",
                        "传输的字节开头像 {k} 文件，含 {c} 个 CRLF 行尾（{l} 个单独 LF）：服务器的 ASCII 转换"
                    ),
                    d.first_byte,
                    None,
                    d.command_exchange,
                ));
            }
            out.push(Finding {
                id: "ascii-mode-size-mismatch",
                severity: Severity::Warning,
                summary: tr!(
                    "\"{}\" moved in ASCII mode (TYPE A): {n} bytes announced, {got} bytes transferred; line endings were converted and the file arrives altered",
                    "\"{}\" 以 ASCII 模式（TYPE A）传输：通告 {n} 字节，实际传输 {got} 字节；行尾被转换，文件到达时已被改动",
                    escape(&name)
                ),
                evidence,
                remedy: tr!(
                    "Transfer files in binary mode: send TYPE I before RETR/STOR (curl: do not use --use-ascii / ;type=a; lftp: set ftp:use-binary / default; ftplib: retrbinary).",
                    "以二进制模式传输文件：在 RETR/STOR 之前发送 TYPE I（curl：不要用 --use-ascii / ;type=a；lftp：set ftp:use-binary / 默认值；ftplib：retrbinary）。"
                ),
                ..Default::default()
            });
        } else if is_binary_name(&name) {
            out.push(Finding {
                id: "ascii-mode-size-mismatch",
                severity: Severity::Warning,
                summary: tr!(
                    "\"{}\" looks like a binary file but moved in ASCII mode (TYPE A): line-ending conversion may alter it",
                    "\"{}\" 看起来是二进制文件，却以 ASCII 模式（TYPE A）传输：行尾转换可能改动它",
                    escape(&name)
                ),
                evidence: reply_evidence(s, d.command_exchange.unwrap_or(0)),
                remedy: tr!(
                    "Send TYPE I before transferring binary files.",
                    "传输二进制文件之前发送 TYPE I。"
                ),
                ..Default::default()
            });
        }
    }
    let aborted_by_abor = s
        .exchanges
        .iter()
        .skip(d.command_exchange.unwrap_or(usize::MAX))
        .take(8)
        .find_map(|x| {
            x.command
                .as_ref()
                .filter(|c| c.verb == "ABOR")
                .map(|c| (c.clone(), x))
        });
    if d.outcome == Outcome::Aborted {
        if let Some((c, x)) = &aborted_by_abor {
            let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
            let what = if c.telnet_interrupt {
                tr!(
                    "client sent ABOR with the Telnet IP/Synch sequence",
                    "客户端发送了 ABOR，带有 Telnet IP/Synch 序列"
                )
            } else {
                tr!(
                    "client sent ABOR without the Telnet IP/Synch sequence RFC 959 asks for",
                    "客户端发送了 ABOR，但没有 RFC 959 要求的 Telnet IP/Synch 序列"
                )
            };
            evidence.push(ev(what, Some(c.ts), Some(c.frame), None));
            for r in &x.replies {
                evidence.push(ev(
                    tr!(
                        "server replied to ABOR: {}",
                        "服务器对 ABOR 的响应：{}",
                        r.lines.first().map(|l| escape(&l.0)).unwrap_or_default()
                    ),
                    Some(r.ts),
                    Some(r.frame),
                    None,
                ));
            }
            // A transfer begun before the capture has no command in it to name.
            let what = if d.command.is_none() {
                speed::label(d)
            } else {
                Tr::verbatim(format!("{cmd} {}", escape(&name)))
            };
            out.push(Finding {
                id: "transfer-aborted",
                severity: Severity::Warning,
                summary: {
                    let bytes = d.bytes;
                    tr!(
                        "the client aborted {what} after {bytes} bytes",
                        "客户端在传输 {bytes} 字节后中止了 {what}";
                        what = what
                    )
                },
                evidence,
                remedy: tr!(
                    "The user or client program stopped the transfer (a timeout, a cancel, a rate limit). If nobody cancelled it, check the client's timeouts.",
                    "用户或客户端程序停止了传输（超时、取消、限速）。如果没有人取消，请检查客户端的超时设置。"
                ),
                ..Default::default()
            });
            return;
        }
    }
    let short = d.expected_size.is_some_and(|n| d.bytes < n && !ascii);
    let bad_reply = code.is_some_and(|(_, c)| matches!(c, 426 | 451 | 452 | 552));
    // The server's own failure (a full disk or quota, a write or read error): its
    // final reply says why, and a reset it sent is the consequence.
    let local_error = code
        .filter(|(_, c)| matches!(c, 451 | 452 | 552))
        .map(|(ei, c)| {
            let text = s
                .exchanges
                .get(ei)
                .and_then(Exchange::final_reply)
                .map(first_line)
                .unwrap_or_default();
            (c, text)
        });
    // Short counts an end (FIN/RST) in the capture: a connection whose end is not
    // in it, confirmed by the server's 226, lost packets in the capture instead.
    let short = short && d.ended_by.is_some();
    // The capture lost bytes of this connection (a gap, a TLS stream it could not
    // decrypt past), yet the sender's sequence span covers the announced size: the
    // count is the capture's, not the transfer's.
    let short = short
        && !d.expected_size.is_some_and(|n| {
            d.tcp
                .as_deref()
                .is_some_and(|t| t.lost_before_capture_bytes > 0 && t.payload_bytes >= n)
        });
    // A path-MTU black hole explains the cut (its own finding says so and how to fix it).
    if d.tcp.as_deref().is_some_and(speed::is_pmtu_blackhole) {
        return;
    }
    if d.outcome == Outcome::Reset
        || d.outcome == Outcome::Aborted
        || (short && d.outcome == Outcome::Completed)
        || bad_reply
    {
        let mut evidence = reply_evidence(s, d.command_exchange.unwrap_or(0));
        if let Some(e) = &d.ended_by {
            evidence.push(ev(
                tr!(
                    "data connection {} -> {} ended by {e} after {} bytes",
                    "数据连接 {} -> {} 在 {} 字节后以 {e} 结束",
                    d.connector.map(|a| a.to_string()).unwrap_or_default(),
                    d.listener.map(|a| a.to_string()).unwrap_or_default(),
                    d.bytes
                ),
                d.end,
                None,
                None,
            ));
        }
        let got = d.bytes;
        // The side that was reading reset the connection: it stopped reading.
        let receiver_reset = match d.ended_by {
            Some(crate::model::EndedBy::RstByClient) => !upload,
            Some(crate::model::EndedBy::RstByServer) => upload,
            _ => false,
        };
        // Reset in the sending side's name: a forged reset on the path, or the
        // sender stopping (or closing abortively, without a FIN).
        let sender_reset = d.outcome == Outcome::Reset
            && match d.ended_by {
                Some(crate::model::EndedBy::RstByClient) => upload,
                Some(crate::model::EndedBy::RstByServer) => !upload,
                _ => false,
            };
        // The receiving side closed the connection with a FIN while the sender had
        // not, and the server never answered the transfer (see the outcome): the
        // receiver gave up on a transfer that had stopped moving.
        let gave_up = d.outcome == Outcome::Aborted
            && code.is_none()
            && d.ended_by == Some(crate::model::EndedBy::Fin);
        let (reader, sender) = if upload {
            (tr!("the server", "服务器"), tr!("the client", "客户端"))
        } else {
            (tr!("the client", "客户端"), tr!("the server", "服务器"))
        };
        let why = if let Some((c, text)) = &local_error {
            tr!(
                "the server failed on its side after {got} bytes: {c} \"{text}\"",
                "服务器在 {got} 字节后在它自己一侧失败：{c}，\"{text}\""
            )
        } else if let Some(n) = d.expected_size.filter(|_| short) {
            tr!(
                "{got} of {n} announced bytes arrived",
                "通告的 {n} 字节中只到达了 {got} 字节"
            )
        } else if gave_up {
            tr!(
                "{reader} closed the data connection after {got} bytes while {sender} had not finished sending (no FIN from it, no final reply)",
                "{reader} 在 {got} 字节后关闭了数据连接，而 {sender} 还没有发送完（它没有发 FIN，也没有最终响应）";
                reader = reader,
                sender = sender
            )
        } else if d.outcome == Outcome::Reset {
            tr!(
                "the data connection was reset after {got} bytes",
                "数据连接在 {got} 字节后被重置"
            )
        } else if let Some((_, c)) = code {
            tr!("the server replied {c}", "服务器响应 {c}")
        } else {
            tr!("the transfer ended early", "传输提前结束")
        };
        out.push(Finding {
            id: "transfer-incomplete",
            severity: Severity::Error,
            summary: {
                // " name", or nothing for a LIST without argument.
                let name = if name.is_empty() {
                    String::new()
                } else {
                    format!(" {}", escape(&name))
                };
                tr!(
                    "{cmd}{name} did not complete: {why}",
                    "{cmd}{name} 没有完成：{why}";
                    why = why
                )
            },
            evidence,
            remedy: match &local_error {
                None if receiver_reset => tr!(
                    "The receiving side reset the data connection before the end (a reset from the side that was reading, not a cut in the network): the program there stopped reading: cancelled by the user, a timeout or a size limit (curl --max-time, --max-filesize), or a crash; or a firewall between forged the reset in its name. The server's 426 or 451, if any, is the consequence. Retry with REST to resume.",
                    "接收方在传输结束前重置了数据连接（重置来自正在读取的一方，而不是网络中断）：那边的程序停止了读取：被用户取消、超时或大小限制（curl --max-time、--max-filesize），或者崩溃；也可能是中间的防火墙以它的名义伪造了重置。服务器的 426 或 451（如果有）是其结果。可用 REST 续传重试。"
                ),
                Some(_) if upload => tr!(
                    "The server could not store the file: its disk (or the file system under the user's directory) is full or the user's quota is reached (452/552), or writing failed (451). Free space or raise the quota on the server (df, quota), and read its log; the network is not at fault. Retry with REST (or APPE) to resume.",
                    "服务器无法保存该文件：它的磁盘（或用户目录所在的文件系统）已满，或达到了用户的配额（452/552），或写入失败（451）。在服务器上释放空间或提高配额（df、quota），并查看其日志；网络没有问题。可用 REST（或 APPE）续传重试。"
                ),
                Some(_) => tr!(
                    "The server failed on its side (a read error on its disk, a limit, a crash of its transfer process): read its log; the network is not at fault. Retry with REST to resume.",
                    "服务器在它自己一侧失败（磁盘读取错误、某种限制、传输进程崩溃）：查看其日志；网络没有问题。可用 REST 续传重试。"
                ),
                None if sender_reset => {
                    let side = if upload {
                        tr!("the client", "客户端")
                    } else {
                        tr!("the server", "服务器")
                    };
                    tr!(
                        "The data connection was reset in the name of the side that was sending ({side}): a firewall, NAT or proxy on the path forged the reset (an idle timeout, a rule; the same transfer captured at the other end tells), or the program there stopped the transfer (cancelled, killed, crashed), or it closed its socket abortively (SO_LINGER 0) instead of with a FIN, which the receiver cannot tell from a failure. Retry with REST to resume.",
                        "数据连接以发送方（{side}）的名义被重置：路径上的防火墙、NAT 或代理伪造了重置（空闲超时、某条规则；在另一端抓同一次传输即可分辨），或那边的程序停止了传输（被取消、被终止、崩溃），或它以异常方式关闭套接字（SO_LINGER 0）而不是用 FIN，接收方无法把这与失败区分开。可用 REST 续传重试。";
                        side = side
                    )
                }
                None if gave_up => tr!(
                    "The transfer stalled and {reader} gave up, most likely on its own timeout after the data stopped coming (or the user cancelled without ABOR). Find out why {sender} stopped sending: retransmissions of full-size segments in a capture at the sender point at the path (loss, a path-MTU black hole), a zero window at the reader's side, a server that stalled on its disk or its own limit. Raise the client's timeout only if the transfer is merely slow. Retry with REST to resume.",
                    "传输停滞，{reader} 放弃了，很可能是数据不再到达后它自己的超时（或用户未发 ABOR 就取消了）。查明 {sender} 为何停止发送：在发送端抓包，若看到满长度分段反复重传，问题在路径上（丢包、路径 MTU 黑洞）；读取方一侧的零窗口；服务器卡在磁盘或自身限制上。只有传输只是慢的时候才提高客户端超时。可用 REST 续传重试。";
                    reader = reader,
                    sender = sender
                ),
                None => tr!(
                    "Something cut the data connection: look for a firewall or NAT idle timeout, a proxy, or a server-side limit (disk full: 452/552; a crash). Retry with REST to resume.",
                    "有东西切断了数据连接：检查防火墙或 NAT 的空闲超时、代理，或服务器端的限制（磁盘满：452/552；崩溃）。可用 REST 续传重试。"
                ),
            },
            ..Default::default()
        });
    }
}

fn login_rule(s: &Session, out: &mut Vec<Finding>) {
    // Refusals for want of TLS are `tls-required`'s, not a bad password.
    let for_tls = refusals::tls_refusal(s).is_some();
    let fails: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|&(i, x)| {
            // A lone 530 opening a session seen from its middle answers a PASS
            // sent before the capture, when its words refuse a login.
            let lone_first = i == 0
                && x.command.is_none()
                && s.capture.mid_session
                && x.final_reply()
                    .is_some_and(|r| crate::session::says_login_failed(&r.text.0));
            (lone_first || matches!(x.verb(), Some("PASS" | "USER" | "ACCT")))
                && x.final_reply().is_some_and(|r| r.code == 530)
                && !(for_tls && refusals::refuses_for_tls(x))
        })
        .map(|(i, _)| i)
        .collect();
    if fails.is_empty() {
        return;
    }
    let user = s
        .user
        .as_ref()
        .map(|u| escape(&u.0))
        .unwrap_or_else(|| "?".into());
    let mut evidence = Vec::new();
    for &i in fails.iter().take(5) {
        evidence.extend(reply_evidence(s, i));
    }
    let then_ok = s.login == Login::Ok;
    // The server's own words may give the reason (the last refusal's text).
    let said = fails
        .last()
        .and_then(|&i| s.exchanges[i].final_reply())
        .map(|r| crate::text::lossy_str(&r.text.0).to_ascii_lowercase())
        .unwrap_or_default();
    let limit = ["connection", "client", "user", "session", "login"]
        .iter()
        .any(|w| said.contains(w))
        && [
            "per host", "per ip", "maximum", "max", "too many", "limit", "only ", "reached",
        ]
        .iter()
        .any(|w| said.contains(w));
    let anonymous_only = said.contains("anonymous only") || said.contains("only anonymous");
    // Refused at USER, before any password was asked: the name itself is barred.
    let at_user = fails
        .last()
        .is_some_and(|&i| s.exchanges[i].verb() == Some("USER"));
    let anonymous = s.user.as_ref().is_some_and(|u| {
        u.0.eq_ignore_ascii_case(b"anonymous") || u.0.eq_ignore_ascii_case(b"ftp")
    });
    let remedy = if limit {
        tr!(
            "The server refused the login for a connection limit, not for the password (its reply says so): this client (or this user) already has as many sessions open as the server allows. Close other sessions or lower the client's parallel connections (FileZilla: Maximum simultaneous transfers; lftp: set net:connection-limit), or raise the limit on the server (ProFTPD MaxClientsPerHost/MaxClientsPerUser, vsftpd max_per_ip, pure-ftpd -C).",
            "服务器因连接数限制而拒绝登录，而不是因为密码（它的响应如此说明）：这个客户端（或用户）已打开服务器允许的最多会话数。关闭其他会话或减少客户端的并行连接（FileZilla：最大同时传输数；lftp：set net:connection-limit），或在服务器上提高限制（ProFTPD MaxClientsPerHost/MaxClientsPerUser，vsftpd max_per_ip，pure-ftpd -C）。"
        )
    } else if anonymous_only {
        tr!(
            "The server accepts anonymous logins only (its reply says so): log in as anonymous, or use a server that allows this user.",
            "服务器只接受匿名登录（它的响应如此说明）：请以 anonymous 登录，或使用允许该用户的服务器。"
        )
    } else if anonymous {
        tr!(
            "The server does not accept anonymous logins (vsftpd anonymous_enable=NO, its default; ProFTPD without an <Anonymous> section; pure-ftpd -E): log in with an account, or enable anonymous access on the server.",
            "服务器不接受匿名登录（vsftpd anonymous_enable=NO，这是它的默认值；ProFTPD 没有 <Anonymous> 段；pure-ftpd -E）：请用一个账户登录，或在服务器上启用匿名访问。"
        )
    } else if at_user {
        tr!(
            "The server refused the user name itself, before asking for a password: this user may not log in here, whatever the password (vsftpd: listed in user_list with userlist_enable=YES and userlist_deny=YES, or not listed with userlist_deny=NO; ProFTPD: <Limit LOGIN>, RootLogin; pure-ftpd: -u with a minimum uid). Use another account, or allow this one on the server.",
            "服务器在要求密码之前就拒绝了这个用户名：无论密码是什么，这个用户都不能在这里登录（vsftpd：userlist_enable=YES 且 userlist_deny=YES 时列在 user_list 中，或 userlist_deny=NO 时不在其中；ProFTPD：<Limit LOGIN>、RootLogin；pure-ftpd：-u 设定的最小 uid）。请换一个账户，或在服务器上允许这个账户。"
        )
    } else {
        tr!(
            "Check the user name and password; on the server, check the user is allowed (vsftpd: local_enable, userlist; ProFTPD: <Limit LOGIN>, RequireValidShell; pure-ftpd: -E for non-anonymous) and its log for the reason.",
            "检查用户名和密码；在服务器上检查该用户是否被允许登录（vsftpd：local_enable、userlist；ProFTPD：<Limit LOGIN>、RequireValidShell；pure-ftpd：非匿名用户需 -E），并查看其日志了解原因。"
        )
    };
    out.push(Finding {
        id: "login-failed",
        severity: if then_ok {
            Severity::Info
        } else {
            Severity::Warning
        },
        summary: {
            let n = fails.len();
            let s = if n == 1 { "" } else { "s" };
            let then = if then_ok {
                tr!(", then a successful one", "，之后登录成功")
            } else {
                Tr::default()
            };
            tr!(
                "{n} failed login{s} for user {user} (530){then}",
                "用户 {user} 登录失败 {n} 次（530）{then}";
                then = then
            )
        },
        evidence,
        remedy,
        ..Default::default()
    });
}

fn control_rules(s: &Session, out: &mut Vec<Finding>) {
    if s.tls && !s.tls_decrypted() {
        // The AUTH the server accepted (curl's AUTH SSL may be refused first).
        let auth = s
            .exchanges
            .iter()
            .enumerate()
            .find(|(_, x)| {
                // A 234 with no command: its AUTH was lost in a capture gap.
                matches!(x.verb(), Some("AUTH") | None)
                    && x.final_reply().is_some_and(|r| r.code == 234)
            })
            .or_else(|| {
                s.exchanges
                    .iter()
                    .enumerate()
                    .find(|(_, x)| x.verb() == Some("AUTH"))
            });
        let clear_again = s.anomalies.iter().any(|a| a.contains("in the clear again"));
        out.push(Finding {
            id: "control-encrypted",
            severity: Severity::Info,
            summary: {
                let since = if auth.is_some() {
                    tr!("after AUTH", "（自 AUTH 之后）")
                } else if s.tls_info.as_deref().is_some_and(|t| t.mode == "implicit") {
                    tr!(
                        "from its first byte (implicit FTPS: a TLS ClientHello opened the connection)",
                        "（从第一个字节起；隐式 FTPS：连接以 TLS ClientHello 开始）"
                    )
                } else {
                    tr!(
                        "from the start of the capture (TLS records: implicit FTPS, or the capture began after AUTH TLS)",
                        "（从抓包开始起；TLS 记录：隐式 FTPS，或抓包开始于 AUTH TLS 之后）"
                    )
                };
                let what = if clear_again {
                    tr!(
                        "the commands sent under TLS cannot be read; the session went back to cleartext afterwards (CCC), and what followed is decoded",
                        "TLS 下发送的命令无法读取；会话之后回到了明文（CCC），其后的内容已解码"
                    )
                } else {
                    tr!(
                        "commands, replies and data addresses cannot be read from this capture",
                        "无法从这份抓包中读取命令、响应和数据地址"
                    )
                };
                let (c, sv) = (s.encrypted_bytes[0], s.encrypted_bytes[1]);
                tr!(
                    "the control connection is encrypted {since} ({c} B from the client, {sv} B from the server): {what}",
                    "控制连接已加密{since}（客户端 {c} B，服务器 {sv} B）：{what}";
                    since = since,
                    what = what
                )
            },
            certainty: Certainty::Seen,
            evidence: auth.map(|(i, _)| reply_evidence(s, i)).unwrap_or_default(),
            remedy: tr!(
                "To see inside, put ftpscope's debugging proxy between client and server (ftpscope proxy), or log TLS keys on the client (SSLKEYLOGFILE=keys.log for curl, lftp or Python) and give them to ftpscope: --tls-keylog keys.log. A firewall cannot follow passive ports of an encrypted session: open the passive range explicitly.",
                "要看到加密内容，可在客户端和服务器之间放置 ftpscope 的调试代理（ftpscope proxy），或在客户端记录 TLS 密钥（curl、lftp 或 Python 使用 SSLKEYLOGFILE=keys.log）并交给 ftpscope：--tls-keylog keys.log。防火墙无法跟踪加密会话的被动模式端口：请显式放行被动端口范围。"
            ),
            ..Default::default()
        });
    }
    // The server closes a session once: its first 421 says why (pure-ftpd follows
    // its reason with "421 Logout."). One refusing a login without TLS is
    // `tls-required`'s.
    if let Some((i, r)) = s
        .exchanges
        .iter()
        .enumerate()
        .find_map(|(i, x)| x.replies.iter().find(|r| r.code == 421).map(|r| (i, r)))
    {
        if refusals::tls_refusal(s).is_none_or(|t| t > i) {
            out.push(service_closing(s, i, &r.text.0));
        }
    }
    let mut epsv_all: Option<usize> = None;
    for (i, x) in s.exchanges.iter().enumerate() {
        let Some(c) = &x.command else {
            continue;
        };
        let code = x.final_reply().map(|r| r.code);
        if c.verb == "EPSV"
            && crate::text::lossy_str(&c.arg.0)
                .trim()
                .eq_ignore_ascii_case("ALL")
            && code.is_some_and(|c| c < 300)
        {
            epsv_all = Some(i);
        } else if let Some(a) = epsv_all {
            if matches!(c.verb.as_str(), "PORT" | "EPRT" | "PASV" | "LPRT" | "LPSV") {
                let mut evidence = reply_evidence(s, a);
                evidence.extend(reply_evidence(s, i));
                out.push(Finding {
                    id: "epsv-all-violation",
                    severity: Severity::Warning,
                    summary: {
                        let v = &c.verb;
                        tr!(
                            "{v} sent after EPSV ALL: RFC 2428 forbids every data-setup command but EPSV once EPSV ALL was accepted",
                            "在 EPSV ALL 之后发送了 {v}：EPSV ALL 被接受后，RFC 2428 禁止除 EPSV 以外的任何数据连接设置命令"
                        )
                    },
                    evidence,
                    remedy: tr!(
                        "Fix the client: after EPSV ALL it must use only EPSV. (NAT devices rely on EPSV ALL to stop inspecting the session.)",
                        "修正客户端：EPSV ALL 之后只能使用 EPSV。（NAT 设备依靠 EPSV ALL 来停止检查该会话。）"
                    ),
                    ..Default::default()
                });
            }
        }
        // AUTH refused in any words: 500/502/504, but vsftpd without ssl_enable
        // answers "530 Please login with USER and PASS.", others 534 or 431.
        if c.verb == "AUTH" {
            if let Some(cd) = code.filter(|cd| *cd >= 400 && *cd != 421) {
                auth_refused(s, i, cd, out);
            }
            continue;
        }
        // 501 to a bare EPSV/EPRT/LPSV/LPRT is how ProFTPD says "not allowed here".
        let setup = matches!(c.verb.as_str(), "EPSV" | "EPRT" | "LPSV" | "LPRT");
        if let Some(cd) = code.filter(|cd| matches!(cd, 500 | 502 | 504) || (*cd == 501 && setup)) {
            if c.unknown && c.verb.len() > 4 {
                continue;
            }
            // vsftpd's "500 OOPS": the server failed, the command was not refused.
            if x.final_reply().is_some_and(refusals::is_oops) {
                continue;
            }
            // A refused PORT/EPRT address is about the address (bounce, NAT), not
            // support: vsftpd answers an EPRT to a foreign address "500 Illegal
            // EPRT command.", where a server without EPRT says it does not
            // understand it.
            let illegal = x.final_reply().is_some_and(|r| {
                crate::text::lossy_str(&r.text.0)
                    .to_ascii_lowercase()
                    .contains("illegal")
            });
            if matches!(c.verb.as_str(), "PORT" | "LPRT")
                || (c.verb == "EPRT" && (cd == 501 || illegal))
            {
                continue;
            }
            let alt: &[&str] = match c.verb.as_str() {
                "EPSV" | "LPSV" => &["PASV"],
                "EPRT" | "LPRT" => &["PORT"],
                "MLSD" => &["LIST", "NLST"],
                "MLST" => &["LIST", "STAT", "SIZE", "MDTM", "NLST"],
                "SIZE" | "MDTM" => &["LIST", "MLST", "STAT", "NLST"],
                _ => &[],
            };
            let fallback = s.exchanges[i + 1..]
                .iter()
                .take(4)
                .find(|y| y.verb().is_some_and(|v| alt.contains(&v)));
            // The client went on: a later command (not QUIT) the server accepted.
            let went_on = s.exchanges[i + 1..].iter().any(|y| {
                y.verb().is_some_and(|v| v != "QUIT")
                    && y.final_reply().is_some_and(|r| r.code < 400)
            });
            // Commands a client sends to tell or to ask, on which nothing depends:
            // their refusal is the server's answer, not a fault, once the
            // session went on (FileZilla's SITE HELP, NcFTP's CLNT, OPTS UTF8).
            let arg = crate::text::lossy_str(&c.arg.0);
            let arg = arg.trim();
            let probe = matches!(
                c.verb.as_str(),
                "CLNT"
                    | "HELP"
                    | "SYST"
                    | "FEAT"
                    | "OPTS"
                    | "LANG"
                    | "NOOP"
                    | "ALLO"
                    | "CSID"
                    | "HOST"
                    | "AVBL"
            ) || (c.verb == "SITE"
                && (arg.is_empty()
                    || arg.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("HELP"))))
                || (c.verb == "STAT" && arg.is_empty());
            if probe && went_on {
                continue;
            }
            let v = &c.verb;
            let (severity, summary, remedy) = match fallback {
                Some(y) => (
                    Severity::Info,
                    tr!(
                        "the server does not support {v} ({cd}); the client fell back to {}",
                        "服务器不支持 {v}（{cd}）；客户端退回使用 {}",
                        y.verb().unwrap_or("")
                    ),
                    if matches!(v.as_str(), "EPSV" | "EPRT" | "LPSV" | "LPRT") {
                        tr!(
                            "Nothing to fix for this transfer. Enabling {v} on the server helps clients behind NAT and on IPv6.",
                            "这次传输无需处理。在服务器上启用 {v} 有助于 NAT 之后和 IPv6 上的客户端。"
                        )
                    } else {
                        tr!(
                            "Nothing to fix: the client got the same from another command.",
                            "无需处理：客户端通过另一条命令得到了相同的信息。"
                        )
                    },
                ),
                None if went_on => (
                    Severity::Info,
                    tr!(
                        "the server does not support {v} ({cd}); the client went on without it",
                        "服务器不支持 {v}（{cd}）；客户端在没有它的情况下继续"
                    ),
                    tr!(
                        "Nothing to fix unless the client needed what {v} gives: then enable {v} on the server, or use a client that works without it.",
                        "除非客户端需要 {v} 提供的功能，否则无需处理：如有需要，请在服务器上启用 {v}，或使用不依赖它的客户端。"
                    ),
                ),
                None => (
                    Severity::Warning,
                    tr!(
                        "the server answered {cd} to {v}: not supported, and the client did not work around it",
                        "服务器对 {v} 响应 {cd}：不支持，而客户端没有变通处理"
                    ),
                    tr!(
                        "Enable {v} on the server, or configure the client not to use it.",
                        "在服务器上启用 {v}，或配置客户端不使用它。"
                    ),
                ),
            };
            out.push(Finding {
                id: "command-unsupported",
                severity,
                summary,
                evidence: reply_evidence(s, i),
                remedy,
                ..Default::default()
            });
        }
    }
}

/// `command-unsupported` for AUTH: the server offers no TLS. Info when the client
/// went on in clear (the password crossed the network readable); a warning when
/// it gave up, wanting TLS (curl --ssl-reqd): the session failed for it.
fn auth_refused(s: &Session, i: usize, cd: u16, out: &mut Vec<Finding>) {
    // One mechanism refused, another accepted (curl: AUTH SSL, then AUTH TLS).
    let accepted_later = s.exchanges[i + 1..].iter().any(|y| {
        y.verb() == Some("AUTH") && y.final_reply().is_some_and(|r| matches!(r.code, 234 | 334))
    });
    if accepted_later {
        return;
    }
    let went_on = s.exchanges[i + 1..]
        .iter()
        .any(|y| matches!(y.verb(), Some("USER" | "PASS")));
    let said = s.exchanges[i]
        .final_reply()
        .map(first_line)
        .unwrap_or_default();
    out.push(Finding {
        id: "command-unsupported",
        severity: if went_on {
            Severity::Info
        } else {
            Severity::Warning
        },
        summary: if went_on {
            tr!(
                "the server refused AUTH ({cd} \"{said}\"): it offers no TLS, and the client went on without encryption, so the password crossed the network in clear",
                "服务器拒绝了 AUTH（{cd}，\"{said}\"）：它不提供 TLS，而客户端在未加密的情况下继续，因此密码以明文经过网络"
            )
        } else {
            tr!(
                "the server refused AUTH ({cd} \"{said}\"): it offers no TLS, and the client, which wanted TLS, gave up before logging in",
                "服务器拒绝了 AUTH（{cd}，\"{said}\"）：它不提供 TLS，而需要 TLS 的客户端在登录前放弃了"
            )
        },
        evidence: reply_evidence(s, i),
        remedy: if went_on {
            tr!(
                "If the password matters, enable TLS on the server (vsftpd ssl_enable=YES, ProFTPD mod_tls, pure-ftpd -Y 1) and require it on the client (curl --ssl-reqd, lftp set ftp:ssl-force true).",
                "如果密码重要，请在服务器上启用 TLS（vsftpd ssl_enable=YES，ProFTPD mod_tls，pure-ftpd -Y 1），并在客户端强制使用（curl --ssl-reqd，lftp set ftp:ssl-force true）。"
            )
        } else {
            tr!(
                "Enable TLS on the server (vsftpd ssl_enable=YES with rsa_cert_file, which answers AUTH with 530 \"Please login with USER and PASS\" while it is off; ProFTPD mod_tls with TLSEngine on; pure-ftpd -Y 1 and a certificate), or connect to the server's FTPS port if it has one. Only if the password may cross in clear, let the client go on without TLS (curl --ssl instead of --ssl-reqd, lftp set ftp:ssl-force false).",
                "在服务器上启用 TLS（vsftpd ssl_enable=YES 并配置 rsa_cert_file，关闭时它对 AUTH 回答 530 \"Please login with USER and PASS\"；ProFTPD mod_tls 并设置 TLSEngine on；pure-ftpd -Y 1 并提供证书），或者连接服务器的 FTPS 端口（如果有）。只有在密码可以明文传输时，才让客户端不用 TLS 继续（curl 用 --ssl 代替 --ssl-reqd，lftp set ftp:ssl-force false）。"
            )
        },
        ..Default::default()
    });
}

/// Both directions of the control connection are whole in the capture: no gap,
/// nothing cut by the snaplen (what is absent from them is then evidence).
fn control_whole(lim: &crate::model::CaptureLimits) -> bool {
    lim.gaps == 0 && lim.gap_bytes == [0, 0] && lim.cut_bytes == [0, 0]
}

/// `control-closed-unanswered`: the server's side closed the control connection
/// (FIN or RST, not after QUIT) while the client's last command had no reply at
/// all, not even a 421. What is not seen cannot count: both directions must be
/// whole (no gap, nothing cut) and the server must have spoken on the connection
/// before (so its direction is in the capture).
fn closed_while_waiting(s: &Session, out: &mut Vec<Finding>) {
    use crate::model::Closed;
    if !matches!(s.closed, Closed::FinByServer | Closed::RstByServer) {
        return;
    }
    let lim = &s.capture;
    if !control_whole(lim) {
        return;
    }
    let Some(i) = s.exchanges.len().checked_sub(1) else {
        return;
    };
    let x = &s.exchanges[i];
    let Some(c) = &x.command else {
        return;
    };
    if !x.replies.is_empty() || c.verb == "QUIT" || c.unknown && c.verb.is_empty() {
        return;
    }
    if !s.exchanges[..i].iter().any(|e| !e.replies.is_empty()) {
        return;
    }
    let verb = escape_str(&c.verb);
    let closed = s.closed;
    let waited = crate::time::human_duration(c.ts.secs_until(s.end).max(0.0));
    let mut evidence = reply_evidence(s, i);
    evidence.push(ev(
        tr!(
            "control connection ended ({closed}) {waited} after the command, without a reply",
            "控制连接在该命令之后 {waited} 结束（{closed}），没有响应"
        ),
        Some(s.end),
        None,
        None,
    ));
    out.push(Finding {
        id: "control-closed-unanswered",
        severity: Severity::Error,
        summary: tr!(
            "the server's side closed the control connection ({closed}) and {verb} got no reply, not even a 421",
            "服务器一侧关闭了控制连接（{closed}），{verb} 没有得到任何响应，连 421 也没有"
        ),
        evidence,
        remedy: tr!(
            "The server process ended or dropped the session without a word: look in the server's log at that time (a crash, a killed session, a limit, a command it refuses by closing). A firewall or NAT device that closes connections would look the same from the client's side: capture on the server too to tell them apart.",
            "服务器进程在没有任何说明的情况下结束或丢弃了会话：查看服务器当时的日志（崩溃、会话被终止、达到限制、以关闭连接来拒绝某条命令）。从客户端看，关闭连接的防火墙或 NAT 设备表现相同：同时在服务器端抓包以区分两者。"
        ),
        ..Default::default()
    });
}

/// `control-no-reply`: the server answered earlier commands, then the session's
/// last commands got no reply at all for 5 s or more until the client closed
/// the connection or the capture ended: the server (or the path back) stopped
/// answering. Not for QUIT (clients close without waiting for the 221), not
/// while a data connection was open (servers read no commands during a transfer,
/// a keep-alive NOOP waits), not across a gap, and not when the server closed
/// (`control-closed-unanswered` says that).
fn stopped_answering(s: &Session, out: &mut Vec<Finding>) {
    use crate::model::Closed;
    if matches!(
        s.closed,
        Closed::FinByServer | Closed::RstByServer | Closed::Refused
    ) || s.tls
    {
        return;
    }
    let lim = &s.capture;
    if !control_whole(lim) {
        return;
    }
    // The trailing commands without any reply.
    let tail = s
        .exchanges
        .iter()
        .rev()
        .take_while(|x| x.command.is_some() && x.replies.is_empty())
        .count();
    if tail == 0 {
        return;
    }
    let first = s.exchanges.len() - tail;
    if !s.exchanges[..first].iter().any(|x| !x.replies.is_empty()) {
        return;
    }
    let x = &s.exchanges[first];
    let Some(c) = &x.command else { return };
    if c.verb == "QUIT" || c.unknown && c.verb.is_empty() {
        return;
    }
    let waited = c.ts.secs_until(s.end);
    if waited < 5.0 {
        return;
    }
    // A data connection open when the command went out (or after): the server
    // may be busy with the transfer.
    if s.data_channels
        .iter()
        .any(|d| d.start.is_some_and(|t| t <= s.end) && d.end.is_none_or(|e| e >= c.ts))
    {
        return;
    }
    let verb = escape_str(&c.verb);
    let wait = crate::time::human_duration(waited);
    let closed = s.closed;
    let end = if closed == Closed::Open {
        tr!("the capture ends", "抓包结束")
    } else {
        tr!(
            "the client closed the connection ({closed})",
            "客户端关闭了连接（{closed}）"
        )
    };
    let mut evidence = reply_evidence(s, first);
    evidence.push(ev(
        tr!(
            "no reply from the server in the {wait} after it; then {end}",
            "之后 {wait} 内服务器没有任何响应；然后{end}";
            end = end
        ),
        Some(s.end),
        None,
        None,
    ));
    out.push(Finding {
        id: "control-no-reply",
        severity: Severity::Warning,
        summary: tr!(
            "the server stopped answering: {verb} and the {tail} command(s) from it on got no reply in {wait}, after the server had answered the ones before",
            "服务器停止了响应：{verb} 及之后的 {tail} 条命令在 {wait} 内没有得到响应，而之前的命令都得到了响应"
        ),
        evidence,
        remedy: tr!(
            "Look at the server at that time (a hung session process, a slow disk or name lookup, a command it blocks on) and at the path back from it (a firewall or NAT that dropped the control connection's state stops the replies but not the commands). Capturing on the server's side tells whether it received the command.",
            "查看服务器当时的状态（会话进程挂起、磁盘或名称查询缓慢、某条命令使其阻塞），以及从服务器返回的路径（丢失了控制连接状态的防火墙或 NAT 会挡住响应而不挡命令）。在服务器一侧抓包可以看出它是否收到了命令。"
        ),
        certainty: Certainty::Seen,
        ..Default::default()
    });
}

/// `control-retransmissions`: TCP sent control-connection lines again, and it
/// cost the session time: a command sent again while it waited for a reply that
/// then came 0.5 s or more after it (or never), or one reply sent three times or
/// more. A single copy of an answered line (a lost ACK, a spurious timeout) is
/// noted on the line only. Every copy of a command means its sender heard no
/// acknowledgement for a whole retransmission timeout: packets lost or held up
/// between the two ends, not an FTP fault.
fn control_loss(s: &Session, out: &mut Vec<Finding>) {
    const MAX_LISTED: usize = 5;
    let mut hit: Vec<(usize, Tr, Ts, u64)> = Vec::new();
    let (mut by_client, mut by_server) = (0u64, 0u64);
    let mut worst: Option<(f64, usize)> = None;
    for (ei, x) in s.exchanges.iter().enumerate() {
        if let Some(c) = x.command.as_ref().filter(|c| c.retransmissions > 0) {
            by_client += u64::from(c.retransmissions);
            let reply = x.replies.first().map(|r| c.ts.secs_until(r.ts));
            if reply.is_none_or(|t| t >= 0.5) {
                let verb = escape_str(&c.verb);
                let times = c.retransmissions + 1;
                let over = crate::time::human_duration(
                    c.ts.secs_until(c.last_retransmission.unwrap_or(c.ts))
                        .max(0.0),
                );
                let what = match reply {
                    Some(t) => {
                        let wait = crate::time::human_duration(t);
                        tr!(
                            "the client sent {verb} {times} times over {over}; the first reply came {wait} after the first",
                            "客户端在 {over} 内发送了 {verb} {times} 次；第一条响应在首次发送之后 {wait} 才到"
                        )
                    }
                    None => tr!(
                        "the client sent {verb} {times} times over {over}, and no reply came",
                        "客户端在 {over} 内发送了 {verb} {times} 次，没有响应"
                    ),
                };
                hit.push((ei, what, c.ts, c.frame));
                let cost = reply.unwrap_or_else(|| c.ts.secs_until(s.end));
                if worst.is_none_or(|(w, _)| cost > w) {
                    worst = Some((cost, hit.len() - 1));
                }
            }
        }
        for r in x.replies.iter().filter(|r| r.retransmissions > 0) {
            by_server += u64::from(r.retransmissions);
            if r.retransmissions >= 2 {
                let code = r.code;
                let times = r.retransmissions + 1;
                let over = crate::time::human_duration(
                    r.ts.secs_until(r.last_retransmission.unwrap_or(r.ts))
                        .max(0.0),
                );
                hit.push((
                    ei,
                    tr!(
                        "the server sent its {code} reply {times} times over {over}",
                        "服务器在 {over} 内发送了它的 {code} 响应 {times} 次"
                    ),
                    r.ts,
                    r.frame,
                ));
                worst.get_or_insert((0.0, hit.len() - 1));
            }
        }
    }
    let Some((_, w)) = worst else { return };
    let total = by_client + by_server;
    let mut evidence = vec![control_evidence(s)];
    evidence.push(ev(
        tr!(
            "{total} control segment(s) sent again in all: {by_client} by the client, {by_server} by the server",
            "控制连接上共有 {total} 个报文段被重传：客户端 {by_client} 个，服务器 {by_server} 个"
        ),
        None,
        None,
        None,
    ));
    let exchanges: Vec<usize> = hit.iter().map(|h| h.0).collect();
    let n = hit.len();
    let summary_what = hit[w].1.clone();
    for (ei, what, ts, frame) in hit.into_iter().take(MAX_LISTED) {
        evidence.push(ev(what, Some(ts), Some(frame), Some(ei)));
    }
    if n > MAX_LISTED {
        let more = n - MAX_LISTED;
        evidence.push(ev(
            tr!("{more} more line(s) sent again", "另有 {more} 行被重传"),
            None,
            None,
            None,
        ));
    }
    out.push(Finding {
        id: "control-retransmissions",
        severity: Severity::Warning,
        summary: tr!(
            "packets were lost on the control connection: {what}",
            "控制连接上有丢包：{what}";
            what = summary_what
        ),
        evidence,
        remedy: tr!(
            "Find where packets are lost between client and server: a Wi-Fi or mobile link, a congested or faulty link (interface errors, a duplex mismatch), a firewall, NAT device or IPS that drops or holds packets. Each loss on the control connection costs at least one retransmission timeout (0.2 s to 3 s, doubling each time), enough for a client to give up. A capture taken at the other end shows on which side the packets disappear; the FTP server and client are not at fault.",
            "找出客户端与服务器之间丢包的位置：Wi-Fi 或移动网络链路、拥塞或有故障的链路（接口错误、双工不匹配）、丢弃或滞留报文的防火墙、NAT 设备或 IPS。控制连接上每丢一个包至少要等一个重传超时（0.2 秒到 3 秒，每次加倍），足以让客户端放弃。在另一端同时抓包可以看出报文在哪一侧丢失；FTP 服务器和客户端本身没有问题。"
        ),
        certainty: Certainty::Seen,
        exchanges,
        ..Default::default()
    });
}

/// `control-closed-before-greeting`: the server accepted the control
/// connection (its SYN-ACK is in the capture) and the connection ended without
/// a single reply, not even the greeting: closed by the server (TCP wrappers,
/// a limit that drops silently, a session process that cannot start), or by a
/// client that waited at least 3 s for it. Both directions must be whole (the
/// handshake seen, no gap, nothing cut) and the session not encrypted
/// (implicit FTPS has no clear greeting).
fn closed_before_greeting(s: &Session, out: &mut Vec<Finding>) {
    use crate::model::{Closed, ControlAnswer};
    let lim = &s.capture;
    if s.tls
        || !s.coverage.control_handshake
        || s.coverage.control_answer != ControlAnswer::Accepted
        || !lim.seen[1]
        || lim.mid_session
        || !control_whole(lim)
        || s.exchanges.iter().any(|x| !x.replies.is_empty())
    {
        return;
    }
    let lasted = s.start.secs_until(s.end).max(0.0);
    let by_server = matches!(s.closed, Closed::FinByServer | Closed::RstByServer);
    let by_client = matches!(s.closed, Closed::FinByClient | Closed::RstByClient);
    if !(by_server || by_client && lasted >= 3.0) {
        return;
    }
    let closed = s.closed;
    let waited = crate::time::human_duration(lasted);
    let cmds = s.exchanges.iter().filter(|x| x.command.is_some()).count();
    let mut evidence = vec![control_evidence(s)];
    evidence.push(ev(
        tr!(
            "the server accepted the connection (SYN-ACK); it ended ({closed}) {waited} after the client's SYN with no reply from the server, {cmds} command(s) from the client unanswered",
            "服务器接受了连接（SYN-ACK）；连接在客户端 SYN 之后 {waited} 结束（{closed}），服务器没有任何响应，客户端的 {cmds} 条命令没有得到响应"
        ),
        Some(s.end),
        None,
        None,
    ));
    let (severity, summary, remedy) = if by_server {
        (
            Severity::Error,
            tr!(
                "the server accepted the TCP connection and closed it ({closed}) without a greeting: no 220, not even a 421",
                "服务器接受了 TCP 连接，然后在没有欢迎信息的情况下关闭了它（{closed}）：没有 220，连 421 也没有"
            ),
            tr!(
                "The server refused the session without a word: look in its log at that time. Usual causes: TCP wrappers (hosts.deny, vsftpd tcp_wrappers=YES), a per-host or total connection limit set to drop silently, a session process that cannot start (chroot, PAM, a missing secure_chroot_dir), or a firewall/IPS that resets the connection. A server answering on this port may not be an FTP server at all.",
                "服务器一言不发地拒绝了会话：查看它当时的日志。常见原因：TCP wrappers（hosts.deny，vsftpd tcp_wrappers=YES）、被设置为静默丢弃的单主机或总连接数限制、无法启动的会话进程（chroot、PAM、缺少 secure_chroot_dir），或重置连接的防火墙/IPS。在这个端口上应答的也可能根本不是 FTP 服务器。"
            ),
        )
    } else {
        (
            Severity::Warning,
            tr!(
                "the server accepted the TCP connection but sent no greeting in {waited}; the client gave up ({closed})",
                "服务器接受了 TCP 连接，但在 {waited} 内没有发送欢迎信息；客户端放弃了（{closed}）"
            ),
            tr!(
                "The server hangs before greeting: most often a reverse DNS or ident lookup of the client that times out (vsftpd reverse_lookup_enable, ProFTPD UseReverseDNS/IdentLookups, pure-ftpd without -H), or an overloaded server. Turn the lookups off or fix the server's DNS; a service on this port that waits for the client to speak first is not FTP.",
                "服务器在发送欢迎信息前挂起：最常见的是对客户端的反向 DNS 或 ident 查询超时（vsftpd reverse_lookup_enable，ProFTPD UseReverseDNS/IdentLookups，pure-ftpd 未加 -H），或服务器过载。关闭这些查询或修复服务器的 DNS；在此端口上等待客户端先发言的服务不是 FTP。"
            ),
        )
    };
    out.push(Finding {
        id: "control-closed-before-greeting",
        severity,
        summary,
        evidence,
        remedy,
        ..Default::default()
    });
}

/// `file-operation-refused`: the server refused a command that changes files
/// or directories (DELE, RMD, RNFR/RNTO, SITE CHMOD ..., MFMT; MKD unless the
/// directory exists): the operation did not happen. One finding per verb, with
/// the count and the first refusal as evidence. Not for "not supported"
/// (500/502/504: `command-unsupported`), nor CWD (clients probe with it).
fn refused_file_operations(s: &Session, out: &mut Vec<Finding>) {
    let mut by_verb: Vec<(String, usize, usize)> = Vec::new();
    for (i, x) in s.exchanges.iter().enumerate() {
        let Some(v) = x.verb() else { continue };
        if !matches!(
            v,
            "DELE" | "RMD" | "XRMD" | "MKD" | "XMKD" | "RNFR" | "RNTO" | "SITE" | "MFMT" | "MFF"
        ) {
            continue;
        }
        let Some(r) = x.final_reply() else { continue };
        if r.code < 400 || matches!(r.code, 500 | 502 | 504) {
            continue;
        }
        let text = crate::text::lossy_str(&r.text.0).to_ascii_lowercase();
        if matches!(v, "MKD" | "XMKD") && text.contains("exist") {
            continue;
        }
        match by_verb.iter_mut().find(|(w, ..)| w == v) {
            Some((_, _, n)) => *n += 1,
            None => by_verb.push((v.to_string(), i, 1)),
        }
    }
    for (v, i, n) in by_verb {
        let x = &s.exchanges[i];
        let arg = x
            .command
            .as_ref()
            .map(|c| escape(&c.arg.0[..c.arg.0.len().min(120)]))
            .unwrap_or_default();
        let (code, text) = x
            .final_reply()
            .map(|r| (r.code, escape(&r.text.0[..r.text.0.len().min(120)])))
            .unwrap_or_default();
        let v = escape_str(&v);
        out.push(Finding {
            id: "file-operation-refused",
            severity: Severity::Warning,
            summary: if n == 1 {
                tr!(
                    "the server refused {v} {arg}: {code} {text}",
                    "服务器拒绝了 {v} {arg}：{code} {text}"
                )
            } else {
                tr!(
                    "the server refused {n} {v} commands (first: {v} {arg}: {code} {text})",
                    "服务器拒绝了 {n} 条 {v} 命令（第一条：{v} {arg}：{code} {text}）"
                )
            },
            evidence: reply_evidence(s, i),
            remedy: if x.final_reply().is_some_and(|r| says_missing(&r.text.0)) {
                tr!(
                    "The operation did not happen because the file or directory it names is not there (the server says so): check the name (case matters on most servers), the current directory after CWD and the chroot; the user's rights are not in question.",
                    "操作没有执行，因为它指定的文件或目录不存在（服务器如此说明）：检查名称（大多数服务器区分大小写）、CWD 之后的当前目录和 chroot；与用户的权限无关。"
                )
            } else {
                tr!(
                    "The operation did not happen: check the path (the current directory, the chroot) and the user's rights on the server (vsftpd: write_enable, chmod_enable for SITE CHMOD; ProFTPD: <Limit WRITE>, AllowOverwrite; pure-ftpd: the account's permissions), and its log for the reason.",
                    "操作没有执行：检查路径（当前目录、chroot）和用户在服务器上的权限（vsftpd：write_enable，SITE CHMOD 需 chmod_enable；ProFTPD：<Limit WRITE>、AllowOverwrite；pure-ftpd：账户的权限），并查看其日志了解原因。"
                )
            },
            certainty: Certainty::Seen,
            ..Default::default()
        });
    }
}

/// Does a refusal's text say the file or directory is not there ("No such file
/// or directory", "File not found", "does not exist")?
fn says_missing(text: &[u8]) -> bool {
    let t = crate::text::lossy_str(text).to_ascii_lowercase();
    [
        "no such file",
        "no such directory",
        "not found",
        "does not exist",
        "doesn't exist",
        "cannot find",
        "can't find",
        "can't check for file existence",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// `reply-invalid`: commands whose only answer was a line that is not an FTP
/// reply (no three-digit code followed by a space or hyphen, RFC 959 §4.2): the
/// client cannot read it. One finding per session, the first as evidence.
fn invalid_replies(s: &Session, out: &mut Vec<Finding>) {
    let bad: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, x)| {
            x.command.is_some() && !x.replies.is_empty() && x.replies.iter().all(|r| r.code == 0)
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = bad.first() else {
        return;
    };
    let n = bad.len();
    let verb = escape_str(s.exchanges[first].verb().unwrap_or("?"));
    let line = s.exchanges[first]
        .replies
        .first()
        .map(|r| escape(&r.text.0[..r.text.0.len().min(80)]))
        .unwrap_or_default();
    out.push(Finding {
        id: "reply-invalid",
        severity: Severity::Warning,
        summary: tr!(
            "{n} command(s) got a line that is not an FTP reply as their only answer (first: {verb} answered \"{line}\"): a reply starts with a three-digit code and a space or hyphen (RFC 959), so the client cannot tell what the server said",
            "{n} 条命令得到的唯一回答不是 FTP 响应（第一条：{verb} 得到 \"{line}\"）：响应以三位数字代码加空格或连字符开头（RFC 959），客户端无法判断服务器说了什么"
        ),
        evidence: reply_evidence(s, first),
        remedy: tr!(
            "A broken or non-FTP server on this port, or something between rewriting the replies (a proxy, a firewall FTP helper, a load balancer): check what answers on the port, and capture on the server's side to see whether it sent this.",
            "这个端口上的服务器有缺陷或不是 FTP 服务器，或者中间有设备改写了响应（代理、防火墙 FTP 辅助模块、负载均衡器）：检查在该端口上应答的是什么，并在服务器一侧抓包，看它是否发送了这些内容。"
        ),
        certainty: Certainty::Seen,
        cause: "no-code".into(),
        ..Default::default()
    });
}

/// A reply whose code runs straight into other text ("230_no_space"): RFC 959
/// puts a space (or a hyphen, for a multi-line reply) after the three digits.
fn code_runs_on(r: &crate::model::Reply) -> bool {
    r.code != 0
        && r.lines
            .first()
            .and_then(|l| l.0.get(3))
            .is_some_and(|b| !matches!(b, b' ' | b'-' | b'\r' | b'\n'))
}

/// `reply-invalid`, second form: replies that have a code, but with something
/// other than a space or hyphen right after it. Clients differ on such a line:
/// curl does not take it as a reply and keeps waiting, Python's ftplib reads
/// the first digit; either way the server is at fault.
fn run_on_codes(s: &Session, out: &mut Vec<Finding>) {
    let bad: Vec<usize> = s
        .exchanges
        .iter()
        .enumerate()
        .filter(|(_, x)| x.replies.iter().any(code_runs_on))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = bad.first() else {
        return;
    };
    let n = bad.len();
    let x = &s.exchanges[first];
    let line = x
        .replies
        .iter()
        .find(|r| code_runs_on(r))
        .and_then(|r| r.lines.first())
        .map(|l| escape(&l.0[..l.0.len().min(80)]))
        .unwrap_or_default();
    let to = match x.verb() {
        Some(v) => {
            let v = escape_str(v);
            tr!(", to {v}", "，回答 {v}")
        }
        None => Tr::default(),
    };
    out.push(Finding {
        id: "reply-invalid",
        severity: Severity::Warning,
        summary: tr!(
            "{n} reply line(s) have no space after the code (first: \"{line}\"{to}): RFC 959 needs a space or hyphen after the three digits, so strict clients such as curl do not take the line as a reply and keep waiting, while lenient ones such as Python's ftplib read the code",
            "{n} 行响应在代码后面没有空格（第一行：\"{line}\"{to}）：RFC 959 要求三位数字后面是空格或连字符，所以严格的客户端（如 curl）不把这一行当作响应而继续等待，宽松的客户端（如 Python 的 ftplib）则读取其中的代码";
            n = Tr::verbatim(n.to_string()),
            line = Tr::verbatim(line),
            to = to
        ),
        evidence: reply_evidence(s, first),
        remedy: tr!(
            "Fix or replace the server (or the proxy, firewall FTP helper or load balancer rewriting its replies): every reply line must be the code, a space (or a hyphen on the first lines of a multi-line reply), then the text.",
            "修正或更换服务器（或改写其响应的代理、防火墙 FTP 辅助模块、负载均衡器）：每行响应都必须是代码、一个空格（多行响应的前几行是连字符），然后是文本。"
        ),
        certainty: Certainty::Seen,
        cause: "run-on".into(),
        exchanges: bad,
        ..Default::default()
    });
}

fn service_closing(s: &Session, i: usize, text: &[u8]) -> Finding {
    let t = crate::text::lossy_str(text).to_ascii_lowercase();
    let remedy = if t.contains("timeout") || t.contains("idle") {
        tr!(
            "The server closed an idle session: the client should send NOOP while idle, or raise the server's idle timeout (vsftpd idle_session_timeout, ProFTPD TimeoutIdle, pure-ftpd -I).",
            "服务器关闭了空闲会话：客户端应在空闲时发送 NOOP，或调大服务器的空闲超时（vsftpd idle_session_timeout，ProFTPD TimeoutIdle，pure-ftpd -I）。"
        )
    } else if t.contains("too many") || t.contains("maximum") || t.contains("limit") {
        tr!(
            "The server refused another connection: raise its limits (vsftpd max_clients/max_per_ip, ProFTPD MaxClients/MaxClientsPerHost, pure-ftpd -c/-C) or close idle sessions.",
            "服务器拒绝了新的连接：调高它的限制（vsftpd max_clients/max_per_ip，ProFTPD MaxClients/MaxClientsPerHost，pure-ftpd -c/-C），或关闭空闲会话。"
        )
    } else {
        tr!(
            "The server is closing the session (shutdown or a limit): read its reply text and its log.",
            "服务器正在关闭会话（关机或达到限制）：查看它的响应文本和日志。"
        )
    };
    Finding {
        id: "service-closing",
        severity: Severity::Warning,
        summary: tr!(
            "the server closed the session with 421: {}",
            "服务器以 421 关闭了会话：\"{}\"",
            escape(text)
        ),
        evidence: reply_evidence(s, i),
        remedy,
        ..Default::default()
    }
}

fn capture_rules(s: &Session, out: &mut Vec<Finding>) {
    let lim = &s.capture;
    if lim.mid_session {
        out.push(Finding {
            id: "capture-mid-session",
            severity: Severity::Info,
            summary: tr!(
                "the capture starts after this control connection was opened: the login and earlier commands are not in it",
                "抓包开始于这个控制连接建立之后：登录和更早的命令不在其中"
            ),
            evidence: vec![ev(
                tr!(
                    "first packet seen: frame {}",
                    "看到的第一个包：帧 {}",
                    crate::capture::merge::FrameLabel(s.start_frame)
                ),
                Some(s.start),
                Some(s.start_frame),
                None,
            )],
            remedy: tr!(
                "Start capturing before the client connects to see the login, the greeting and the negotiated settings.",
                "在客户端连接之前开始抓包，才能看到登录、欢迎信息和协商的设置。"
            ),
            ..Default::default()
        });
    }
    if lim.cut_bytes.iter().sum::<u64>() > 0 {
        out.push(Finding {
            id: "capture-truncated",
            severity: Severity::Warning,
            summary: tr!(
                "{} bytes of the control connection were cut by the capture's snaplen; those lines could not be read",
                "控制连接有 {} 字节被抓包的 snaplen 截掉；这些行无法读取",
                lim.cut_bytes[0] + lim.cut_bytes[1]
            ),
            evidence: Vec::new(),
            remedy: tr!(
                "Capture with a full snaplen (tcpdump -s 0, the default in modern tcpdump).",
                "以完整的 snaplen 抓包（tcpdump -s 0，新版 tcpdump 的默认值）。"
            ),
            ..Default::default()
        });
    }
    if lim.gaps > 0 {
        out.push(Finding {
            id: "capture-gap",
            severity: Severity::Warning,
            summary: tr!(
                "{} gap(s) in the control connection: {} bytes from the client and {} from the server are missing from the capture",
                "控制连接中有 {} 处缺口：抓包中缺少客户端的 {} 字节和服务器的 {} 字节",
                lim.gaps,
                lim.gap_bytes[0],
                lim.gap_bytes[1]
            ),
            evidence: lim
                .gap_at
                .iter()
                .flat_map(|v| v.iter())
                .map(|&(frame, ts, from_client, len)| {
                    let text = if from_client {
                        tr!(
                            "{len} bytes from the client missing from the capture here",
                            "抓包在此处缺少客户端的 {len} 字节"
                        )
                    } else {
                        tr!(
                            "{len} bytes from the server missing from the capture here",
                            "抓包在此处缺少服务器的 {len} 字节"
                        )
                    };
                    ev(text, Some(ts), Some(frame), None)
                })
                .collect(),
            remedy: tr!(
                "The capture dropped packets (a busy capture host, a SPAN port over capacity). Exchanges around the gaps may be incomplete; capture again with a capture filter or a faster disk.",
                "抓包丢了包（抓包主机繁忙，SPAN 端口超出容量）。缺口附近的交互可能不完整；请使用抓包过滤器或更快的磁盘重新抓包。"
            ),
            ..Default::default()
        });
    }
    let cmds = s.exchanges.iter().filter(|x| x.command.is_some()).count();
    let replies = s.exchanges.iter().map(|x| x.replies.len()).sum::<usize>();
    // The silent side must be absent from the capture: no payload, FIN or RST
    // of it (a server that accepted and closed without a greeting sent FIN).
    // A handshake is no evidence either way: the flow table counts one from a
    // lone SYN-ACK as well as from a lone SYN.
    let client_seen = lim.seen[0];
    let server_seen = lim.seen[1];
    if !s.tls
        && ((cmds > 0 && replies == 0 && !server_seen)
            || (replies > 0 && cmds == 0 && s.exchanges.len() > 1 && !client_seen))
    {
        let summary = if replies == 0 {
            tr!(
                "only the client's side of the control connection is in the capture; the server's side is missing",
                "抓包中只有控制连接的客户端一侧；缺少服务器一侧"
            )
        } else {
            tr!(
                "only the server's side of the control connection is in the capture; the client's side is missing",
                "抓包中只有控制连接的服务器一侧；缺少客户端一侧"
            )
        };
        out.push(Finding {
            id: "capture-one-sided",
            severity: Severity::Warning,
            summary,
            evidence: Vec::new(),
            remedy: tr!(
                "Asymmetric routing or a one-way tap: capture where both directions pass (both ports of a SPAN, or on a host). Replies and outcomes cannot be checked.",
                "非对称路由或单向分光：在两个方向都经过的地方抓包（SPAN 的两个端口，或在主机上）。响应和结果无法核实。"
            ),
            ..Default::default()
        });
    }
}

/// Many failed logins from one client address in a short time: password guessing.
fn guessing_rule(failed: &[FailedLogin]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut fails: Vec<(IpAddr, Ts, usize)> =
        failed.iter().map(|f| (f.client, f.ts, f.session)).collect();
    fails.sort_by_key(|(ip, ts, _)| (*ip, *ts));
    let mut i = 0;
    while i < fails.len() {
        let ip = fails[i].0;
        let j = fails[i..]
            .iter()
            .position(|f| f.0 != ip)
            .map_or(fails.len(), |p| i + p);
        let group = &fails[i..j];
        // Largest number of failures inside any window.
        let mut best = (0, 0);
        let mut lo = 0;
        for hi in 0..group.len() {
            while group[lo].1.secs_until(group[hi].1) > GUESS_WINDOW_SECS {
                lo += 1;
            }
            if hi - lo + 1 > best.1 - best.0 {
                best = (lo, hi + 1);
            }
        }
        let n = best.1 - best.0;
        if n >= GUESS_THRESHOLD {
            let w = &group[best.0..best.1];
            let secs = w[0].1.secs_until(w[n - 1].1);
            let sessions: std::collections::BTreeSet<usize> = w.iter().map(|f| f.2).collect();
            out.push(Finding {
                id: "login-failed",
                severity: Severity::Warning,
                summary: tr!(
                    "{n} failed logins from {ip} within {secs:.0} s across {} session(s): likely password guessing",
                    "{ip} 在 {secs:.0} 秒内、{} 个会话中登录失败 {n} 次：很可能是密码猜测",
                    sessions.len()
                ),
                evidence: vec![
                    ev(
                        tr!("first failure at {}", "首次失败于 {}", w[0].1.rfc3339()),
                        Some(w[0].1),
                        None,
                        None,
                    ),
                    ev(
                        tr!("last failure at {}", "最后一次失败于 {}", w[n - 1].1.rfc3339()),
                        Some(w[n - 1].1),
                        None,
                        None,
                    ),
                ],
                remedy: tr!(
                    "Block or rate-limit {ip} (fail2ban, the server's max login attempts: vsftpd max_login_fails, ProFTPD MaxLoginAttempts), and make sure FTP accounts have strong passwords or use key-based SFTP instead.",
                    "封禁 {ip} 或对其限速（fail2ban，服务器的最大登录尝试次数：vsftpd max_login_fails，ProFTPD MaxLoginAttempts），并确保 FTP 账户使用强密码，或改用基于密钥的 SFTP。"
                ),
                ..Default::default()
            });
        }
        i = j;
    }
    out
}

pub mod icmp;
pub(crate) mod refusals;
mod slow_reply;
pub mod speed;
mod tls;
pub mod vantage;

#[cfg(test)]
mod tests;
