//! Why a transfer was slow: the limit that held each data connection back, read
//! from its TCP figures (`model::TcpFigures`) as a TCP expert would read them.
//!
//! Only transfers that took long enough for the question to matter get a verdict
//! (at least [`MIN_SPAN_S`] from first to last data byte); a healthy fast transfer
//! gets none. Each rule names the evidence it used, so the user can check it.

use crate::i18n::Tr;
use crate::model::{Certainty, DataChannel, Finding, Session, Severity, TcpFigures};
use crate::text::escape;
use crate::time::{human_bytes, human_duration, si};
use crate::tr;

use super::ev;

/// A transfer shorter than this is not slow enough to explain.
pub const MIN_SPAN_S: f64 = 0.5;
/// Share of the transfer time a limit must account for to be named.
const SHARE: f64 = 0.25;

pub(crate) fn label(d: &DataChannel) -> Tr {
    match (d.command.as_deref(), &d.arg) {
        (Some(cmd), Some(a)) => Tr::verbatim(format!("{cmd} {}", escape(&a.0))),
        (Some(cmd), None) => Tr::verbatim(cmd),
        (None, _) if d.via == crate::model::Via::Unseen => match d.direction {
            Some(crate::model::Direction::Download) => tr!(
                "the download begun before the capture",
                "抓包开始之前已开始的下载"
            ),
            Some(crate::model::Direction::Upload) => tr!(
                "the upload begun before the capture",
                "抓包开始之前已开始的上传"
            ),
            None => tr!(
                "the data connection begun before the capture",
                "抓包开始之前已开始的数据连接"
            ),
        },
        (None, _) => tr!("data connection", "数据连接"),
    }
}

fn span(d: &DataChannel) -> Option<f64> {
    let (a, b) = (d.first_byte?, d.last_byte?);
    // Captured on the sender, a lost tail is sent again after the last new byte:
    // the transfer lasted until then.
    let b = match d.tcp.as_deref().and_then(|t| t.resent_until) {
        Some(r) => b.max(r),
        None => b,
    };
    Some(a.secs_until(b))
}

/// The receiver's median window, said to be unscaled when the handshake with its
/// scale is not in the capture.
fn window_median(t: &TcpFigures) -> Tr {
    match t.receive_window.median {
        Some(w) if t.window_scaling.is_none() => tr!(
            "{} (unscaled: the handshake is not in the capture)",
            "{}（未缩放：抓包中没有握手）",
            human_bytes(w)
        ),
        Some(w) => Tr::verbatim(human_bytes(w)),
        None => Tr::verbatim("-"),
    }
}

fn rate(t: &TcpFigures) -> String {
    t.throughput_bps
        .average
        .map(|b| format!("{}bit/s", si(b)))
        .unwrap_or_else(|| "-".into())
}

/// Transfers in a session before per-file overhead is worth naming.
const MANY_FILES: usize = 10;

/// `transfer-per-file-overhead`: many small files, where most of the time goes to
/// each file's round trips (announcement, SYN, transfer command, 150, 226) rather
/// than to moving bytes.
pub fn session_rules(s: &Session, out: &mut Vec<Finding>) {
    control_idle_rule(s, out);
    let mut n = 0usize;
    let mut bytes = 0u64;
    let mut moving = 0.0f64;
    let mut first: Option<crate::time::Ts> = None;
    let mut last: Option<crate::time::Ts> = None;
    let mut rtts = Vec::new();
    for d in &s.data_channels {
        // Transfers whose connection is in the capture (a control-only capture
        // cannot tell how long bytes moved).
        if !matches!(
            d.command.as_deref(),
            Some("RETR" | "STOR" | "APPE" | "STOU")
        ) || d.tcp.is_none()
        {
            continue;
        }
        let Some(done) = d
            .command_exchange
            .and_then(|e| s.exchanges.get(e))
            .and_then(|x| x.final_reply())
            .map(|r| r.ts)
        else {
            continue;
        };
        n += 1;
        bytes += d.bytes;
        moving += span(d).unwrap_or(0.0);
        first = Some(first.map_or(d.announced_at, |f| f.min(d.announced_at)));
        last = Some(last.map_or(done, |l| l.max(done)));
        if let Some(r) = d.tcp.as_deref().and_then(|t| t.rtt_ms) {
            rtts.push(r);
        }
    }
    let (Some(a), Some(b)) = (first, last) else {
        return;
    };
    let wall = a.secs_until(b);
    if n < MANY_FILES || wall < 2.0 || moving > 0.25 * wall {
        return;
    }
    rtts.sort_by(f64::total_cmp);
    let rtt = rtts.get(rtts.len() / 2).copied();
    let per_file = wall / n as f64;
    let trips = rtt
        .filter(|r| *r > 0.0)
        .map(|r| {
            tr!(
                ", about {:.0} round trips of {} each",
                "，约 {:.0} 次往返，每次 {}",
                per_file / (r / 1e3),
                human_duration(r / 1e3)
            )
        })
        .unwrap_or_default();
    let (all, took, each) = (
        human_bytes(bytes),
        human_duration(wall),
        human_duration(per_file),
    );
    out.push(Finding {
        id: "transfer-per-file-overhead",
        severity: Severity::Warning,
        summary: tr!(
            "{n} files ({all} in all) took {took}: {each} per file{trips}, while bytes moved {share} of that time; per-file round trips, not the network's speed, set the pace",
            "{n} 个文件（共 {all}）用了 {took}：每个文件 {each}{trips}，而真正传输字节的时间{share}；决定速度的是每个文件的往返，而不是网络速度";
            trips = trips,
            share = match 100.0 * moving / wall {
                p if p < 1.0 => tr!("under 1%", "不到 1%"),
                p => tr!("only {p:.0}%", "只占 {p:.0}%"),
            }
        ),
        evidence: vec![ev(
            tr!(
                "{n} transfers from {} to {}; time with bytes moving {}",
                "{} 至 {} 共 {n} 次传输；有字节传输的时间 {}",
                a.clock(),
                b.clock(),
                human_duration(moving)
            ),
            Some(a),
            None,
            None,
        )],
        remedy: tr!(
            "Cut the round trips per file: transfer several files at once (lftp mirror --parallel=4, or several clients), send one archive instead of many files, list with MLSD once instead of SIZE/MDTM per file, and keep one control connection for all files. A longer round trip (a distant server, a VPN) multiplies the cost of each one.",
            "减少每个文件的往返：同时传输多个文件（lftp mirror --parallel=4，或多个客户端），把许多文件打成一个归档再发送，用一次 MLSD 列目录而不是每个文件都 SIZE/MDTM，并让所有文件共用一条控制连接。往返时间越长（远程服务器、VPN），每次往返的代价越大。"
        ),
        certainty: Certainty::Seen,
        cause: "per-file-overhead".into(),
        ..Default::default()
    });
}

/// The sender's full-size packet on the wire: its largest segment, or the
/// receiver's MSS when the capture shows segments the NIC cut or merged later
/// (segmentation or receive offload on the endpoint the capture was taken on).
pub fn full_segment(t: &TcpFigures) -> u32 {
    t.wire_segment.unwrap_or(t.max_segment)
}

/// Segments sent again, counted as packets on the wire: a retransmitted segment
/// larger than a packet (an offloaded one, see [`full_segment`]) counts as the
/// packets it went out as, so that a capture taken on the sender weighs its loss
/// as one taken on the wire does.
pub fn wire_retransmissions(t: &TcpFigures) -> u64 {
    let n = t.retransmissions + t.spurious_retransmissions;
    match t.wire_segment {
        Some(w) if w > 0 => n.max(t.retransmitted_bytes.div_ceil(u64::from(w))),
        _ => n,
    }
}

/// Full-size segments sent again and again, none acknowledged, while the receiver
/// kept answering with small segments and an open window.
pub fn is_pmtu_blackhole(t: &TcpFigures) -> bool {
    (t.full_size_retransmissions >= 3
        && t.acked_bytes < u64::from(full_segment(t))
        && t.acked_bytes < t.payload_bytes
        && t.receiver_heard_after_retransmission == Some(true)
        && t.zero_window.episodes == 0)
        || is_blackhole_seen_from_receiver(t)
}

/// The same black hole seen from the receiver's side of it: the handshake went
/// through (small packets pass), not one data segment of the sender arrived, yet
/// a later packet of the sender without payload (its ACK of the receiver's FIN,
/// say) carries a sequence number past at least a full packet of bytes it sent:
/// they were all lost on the way, its small packets were not.
pub fn is_blackhole_seen_from_receiver(t: &TcpFigures) -> bool {
    let packet = t.mss.map_or(536, u64::from);
    t.unseen_proved_at.is_some()
        && t.rtt_ms.is_some()
        && t.data_segments == 0
        && t.acked_bytes == 0
        && t.payload_bytes >= packet
        && t.lost_before_capture_bytes == t.payload_bytes
        && t.zero_window.episodes == 0
}

/// `transfer-pmtu-blackhole`: the handshake and small segments pass, full-size
/// segments are sent again and again and never acknowledged, and the sender never
/// made them smaller (no ICMP "fragmentation needed" reached it).
fn pmtu_blackhole(
    d: &DataChannel,
    t: &TcpFigures,
    what: &Tr,
    sender: &Tr,
    receiver: &Tr,
    out: &mut Vec<Finding>,
) {
    let seg = full_segment(t);
    let again = t.full_size_retransmissions;
    if let Some(tb) = &t.too_big {
        pmtu_icmp_ignored(d, t, tb, what, sender, out);
        return;
    }
    if again < 3 && is_blackhole_seen_from_receiver(t) {
        blackhole_seen_from_receiver(d, t, what, sender, receiver, out);
        return;
    }
    out.push(Finding {
        id: "transfer-pmtu-blackhole",
        severity: Severity::Error,
        summary: tr!(
            "{what} stalled in a path-MTU black hole: {sender}'s full-size segments ({seg} bytes of payload) were sent {again} times again and never acknowledged, while the handshake and {receiver}'s small segments got through; the sender never made its segments smaller, so no ICMP \"fragmentation needed\" reached it",
            "{what} 卡在路径 MTU 黑洞中：{sender}的满长报文段（{seg} 字节载荷）重传了 {again} 次，始终没有被确认，而握手和{receiver}的小报文段都能通过；发送方从未减小报文段，说明 ICMP \"需要分片\"（fragmentation needed）消息没有到达它";
            what = what,
            sender = sender,
            receiver = receiver
        ),
        evidence: vec![
            ev(
                {
                    let (acked, all) = (human_bytes(t.acked_bytes), human_bytes(t.payload_bytes));
                    let mss = t.mss.map_or("-".into(), |m| m.to_string());
                    tr!(
                        "{what}: {acked} of {all} acknowledged; {again} retransmissions of {seg}-byte segments; MSS {mss} negotiated",
                        "{what}：{all} 中已确认 {acked}；{seg} 字节报文段重传 {again} 次；协商的 MSS 为 {mss}";
                        what = what
                    )
                },
                d.first_byte,
                d.frame_syn,
                d.command_exchange,
            ),
            ev(
                tr!(
                    "{receiver} kept sending (it is alive and the path carries small packets), acknowledging none of the large segments",
                    "{receiver}一直在发送（它是活的，路径也能传输小包），但没有确认任何大报文段";
                    receiver = receiver
                ),
                d.last_byte,
                None,
                None,
            ),
        ],
        remedy: tr!(
            "A link on the path has a smaller MTU than the ends think (a tunnel, VPN, PPPoE, a cloud overlay), and the ICMP message that would tell the sender is dropped by a firewall. Allow ICMP type 3 code 4 (IPv6: type 2, packet too big) through the firewalls on the path, or clamp the MSS on the router in front of the small link (iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu), or lower the MTU of the sender's interface. Linux senders can also probe (net.ipv4.tcp_mtu_probing=1).",
            "路径上某条链路的 MTU 比两端以为的小（隧道、VPN、PPPoE、云上的 overlay 网络），而本应通知发送方的 ICMP 消息被防火墙丢弃了。在路径上的防火墙放行 ICMP type 3 code 4（IPv6：type 2，packet too big），或在小 MTU 链路前的路由器上钳制 MSS（iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu），或调低发送方网卡的 MTU。Linux 发送方也可以开启探测（net.ipv4.tcp_mtu_probing=1）。"
        ),
        certainty: Certainty::Seen,
        cause: "pmtu-blackhole".into(),
        ..Default::default()
    });
}

/// `transfer-pmtu-blackhole` from a capture on the receiver's side of the black
/// hole: nothing of what the sender sent arrived, its small packets did.
fn blackhole_seen_from_receiver(
    d: &DataChannel,
    t: &TcpFigures,
    what: &Tr,
    sender: &Tr,
    receiver: &Tr,
    out: &mut Vec<Finding>,
) {
    let sent = human_bytes(t.payload_bytes);
    let mss = t.mss.map_or("-".into(), |m| m.to_string());
    out.push(Finding {
        id: "transfer-pmtu-blackhole",
        severity: Severity::Error,
        summary: tr!(
            "{what} stalled: {sender} sent {sent} (its own sequence numbers say so) and not one of its data packets reached {receiver}, while the handshake and its packets without data did: large packets are lost on the way, most likely in a path-MTU black hole (a link with a smaller MTU whose ICMP \"fragmentation needed\" never reaches the sender)",
            "{what} 卡住了：{sender}已发送 {sent}（它自己的序列号表明了这一点），但没有一个数据包到达{receiver}，而握手和它不带数据的包都到达了：大包在路上丢失，很可能是路径 MTU 黑洞（某条链路的 MTU 更小，而 ICMP \"需要分片\"消息没有到达发送方）";
            what = what,
            sender = sender,
            receiver = receiver
        ),
        evidence: vec![
            ev(
                tr!(
                    "{what}: handshake answered (MSS {mss} negotiated), no data segment in the capture",
                    "{what}：握手已应答（协商的 MSS 为 {mss}），抓包中没有任何数据报文段";
                    what = what
                ),
                d.start,
                d.frame_syn,
                d.command_exchange,
            ),
            ev(
                tr!(
                    "{sender}'s packet without data carries a sequence number {sent} past its first byte: sent, never arrived",
                    "{sender}不带数据的包的序列号比它的第一个字节超前 {sent}：已发送，但从未到达";
                    sender = sender
                ),
                t.unseen_proved_at,
                None,
                None,
            ),
        ],
        remedy: tr!(
            "Capture on the sender's side too: full-size segments sent again and again there confirm the black hole. A link on the path has a smaller MTU than the ends think (a tunnel, VPN, PPPoE, a cloud overlay), and the ICMP message that would tell the sender is dropped by a firewall. Allow ICMP type 3 code 4 (IPv6: type 2, packet too big) through the firewalls on the path, or clamp the MSS on the router in front of the small link (iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu); as a quick test, lower the MTU on the receiver's interface (`ip link set dev IFACE mtu 1400`: its SYN then asks for smaller segments).",
            "也在发送方一侧抓包：那里反复重传的满长报文段可以证实黑洞。路径上某条链路的 MTU 比两端以为的小（隧道、VPN、PPPoE、云上的 overlay 网络），而本应通知发送方的 ICMP 消息被防火墙丢弃了。在路径上的防火墙放行 ICMP type 3 code 4（IPv6：type 2，packet too big），或在小 MTU 链路前的路由器上钳制 MSS（iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu）；作为快速验证，可调低接收方网卡的 MTU（`ip link set dev IFACE mtu 1400`：其 SYN 便会要求更小的报文段）。"
        ),
        certainty: Certainty::Inferred,
        cause: "pmtu-blackhole".into(),
        ..Default::default()
    });
}

/// `transfer-pmtu-blackhole` when the capture holds the path-MTU messages: they
/// were sent and reached the capture point, yet the sender kept its full-size
/// segments, so they are lost between the capture point and the sender's TCP (the
/// sender's own firewall, when the capture was taken on it).
fn pmtu_icmp_ignored(
    d: &DataChannel,
    t: &TcpFigures,
    tb: &crate::model::TooBig,
    what: &Tr,
    sender: &Tr,
    out: &mut Vec<Finding>,
) {
    let (seg, again, n, from) = (
        full_segment(t),
        t.full_size_retransmissions,
        tb.messages,
        tb.from,
    );
    let v6 = from.is_ipv6();
    let message = if v6 {
        Tr::verbatim("ICMPv6 \"packet too big\"")
    } else {
        Tr::verbatim("ICMP \"fragmentation needed\"")
    };
    let mtu = if tb.mtu > 0 {
        tr!(
            " naming a next-hop MTU of {}",
            "，其中给出的下一跳 MTU 为 {}",
            tb.mtu
        )
    } else {
        Tr::default()
    };
    let allow = if v6 {
        "ip6tables -I INPUT -p ipv6-icmp --icmpv6-type packet-too-big -j ACCEPT"
    } else {
        "iptables -I INPUT -p icmp --icmp-type fragmentation-needed -j ACCEPT"
    };
    out.push(Finding {
        id: "transfer-pmtu-blackhole",
        severity: Severity::Error,
        summary: tr!(
            "{what} stalled in a path-MTU black hole: {sender}'s full-size segments ({seg} bytes of payload) were sent {again} times again and never acknowledged; the capture holds {n} {message} message(s) from {from} about them{mtu}, yet the sender never made its segments smaller: the messages reached the capture point but not the sender's TCP",
            "{what} 卡在路径 MTU 黑洞中：{sender}的满长报文段（{seg} 字节载荷）重传了 {again} 次，始终没有被确认；抓包中有 {n} 条来自 {from} 的关于这些报文段的 {message} 消息{mtu}，但发送方从未减小报文段：这些消息到达了抓包点，却没有到达发送方的 TCP";
            what = what,
            sender = sender,
            message = message,
            mtu = mtu
        ),
        evidence: vec![
            ev(
                {
                    let (acked, all) = (human_bytes(t.acked_bytes), human_bytes(t.payload_bytes));
                    tr!(
                        "{what}: {acked} of {all} acknowledged; {again} retransmissions of {seg}-byte segments",
                        "{what}：{all} 中已确认 {acked}；{seg} 字节报文段重传 {again} 次";
                        what = what
                    )
                },
                d.first_byte,
                d.frame_syn,
                d.command_exchange,
            ),
            ev(
                tr!(
                    "{n} {message} message(s) from {from} to the sender{mtu}",
                    "{n} 条来自 {from} 发往发送方的 {message} 消息{mtu}";
                    message = message,
                    mtu = mtu
                ),
                Some(tb.ts),
                Some(tb.frame),
                None,
            ),
        ],
        remedy: tr!(
            "The router at {from} told the sender to send smaller packets, and the sender never acted on it: something between the capture point and the sender's TCP drops these messages, most often the sender's own firewall dropping all ICMP when the capture was taken on it. Let them through ({allow}, or the same on the firewalls between), or clamp the MSS on the router in front of the small link (iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu). Linux senders can also probe (net.ipv4.tcp_mtu_probing=1).",
            "{from} 处的路由器已通知发送方发送更小的包，但发送方从未照做：抓包点与发送方 TCP 之间有东西丢弃了这些消息，最常见的是抓包就在发送方上、而它自己的防火墙丢弃了所有 ICMP。请放行这些消息（{allow}，或在途经的防火墙上做同样的设置），或在小 MTU 链路前的路由器上钳制 MSS（iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu）。Linux 发送方也可以开启探测（net.ipv4.tcp_mtu_probing=1）。"
        ),
        certainty: Certainty::Seen,
        cause: "pmtu-blackhole".into(),
        ..Default::default()
    });
}

/// A control connection silent this long during a transfer is at risk behind a NAT
/// or firewall with a short idle timeout.
const CONTROL_IDLE_S: f64 = 2.0;

/// `control-idle-timeout-during-transfer`: a transfer ran while the control
/// connection carried nothing; the data arrived, but its final reply never did, and
/// the control connection was then reset or went silent. A NAT or firewall forgot
/// the idle control connection.
pub fn control_idle_rule(s: &Session, out: &mut Vec<Finding>) {
    for d in &s.data_channels {
        let (Some(first), Some(last)) = (d.first_byte, d.last_byte) else {
            continue;
        };
        // The transfer's 1xx (`None`: the capture began during a transfer nothing
        // in it announced, and the control connection carried nothing from then
        // on), with no final reply and nothing else on the control connection after.
        let prelim = match d.command_exchange {
            Some(ei) => {
                let Some(x) = s.exchanges.get(ei) else {
                    continue;
                };
                let Some(prelim) = x.replies.iter().find(|r| (100..200).contains(&r.code)) else {
                    continue;
                };
                if x.final_reply().is_some_and(|r| r.code >= 200) || ei + 1 < s.exchanges.len() {
                    continue;
                }
                Some((ei, prelim))
            }
            None if d.via == crate::model::Via::Unseen
                && s.capture.mid_session
                && s.exchanges
                    .iter()
                    .all(|x| x.last_ts().is_none_or(|t| t < first)) =>
            {
                None
            }
            None => continue,
        };
        let delivered = d.ended_by == Some(crate::model::EndedBy::Fin)
            && d.expected_size.is_none_or(|n| d.bytes >= n);
        let idle = prelim.map_or(first, |(_, p)| p.ts).secs_until(last);
        let reset = matches!(
            s.closed,
            crate::model::Closed::RstByClient | crate::model::Closed::RstByServer
        );
        // Without a reset, the capture must go on long enough after the data for a
        // 226 to be overdue (a server answers within a round trip or two).
        let silent_after = last.secs_until(s.end);
        if !delivered || idle < CONTROL_IDLE_S || !(reset || silent_after >= 5.0) {
            continue;
        }
        let what = label(d);
        let after = human_duration(silent_after);
        let how = if reset {
            let closed = s.closed;
            tr!(
                "the control connection was then reset ({closed}) {after} after the last data byte",
                "随后在最后一个数据字节之后 {after}，控制连接被重置（{closed}）"
            )
        } else {
            tr!(
                "nothing came on the control connection for {after} after the last data byte",
                "最后一个数据字节之后 {after} 内，控制连接上没有任何数据"
            )
        };
        let idle = human_duration(idle);
        out.push(Finding {
            id: "control-idle-timeout-during-transfer",
            severity: Severity::Error,
            summary: tr!(
                "{what} delivered all its data, but the final reply (226) never arrived: the control connection sat idle for {idle} during the transfer and {how}; a NAT or firewall on the path most likely dropped the idle control connection",
                "{what} 已传完全部数据，但最终响应（226）始终没有到达：传输期间控制连接空闲了 {idle}，{how}；很可能是路径上的 NAT 或防火墙丢弃了空闲的控制连接";
                what = what,
                how = how
            ),
            evidence: vec![
                match prelim {
                    Some((ei, prelim)) => ev(
                        tr!(
                            "server replied {} {}; then nothing on the control connection",
                            "服务器响应 {} {}；之后控制连接上再无数据",
                            prelim.code,
                            escape(&prelim.text.0)
                        ),
                        Some(prelim.ts),
                        Some(prelim.frame),
                        Some(ei),
                    ),
                    None => ev(
                        tr!(
                            "the capture began during the transfer; nothing on the control connection from then on",
                            "抓包开始时传输已在进行；此后控制连接上再无数据"
                        ),
                        Some(first),
                        d.frame_syn,
                        None,
                    ),
                },
                ev(
                    {
                        let (b, t) = (human_bytes(d.bytes), human_duration(first.secs_until(last)));
                        tr!(
                            "{what}: {b} in {t}, ended by FIN",
                            "{what}：{t} 内传输 {b}，以 FIN 结束";
                            what = what
                        )
                    },
                    Some(last),
                    d.frame_syn,
                    None,
                ),
                ev(
                    tr!("session ended: {}", "会话结束：{}", s.closed.as_str()),
                    Some(s.end),
                    None,
                    None,
                ),
            ],
            remedy: tr!(
                "Keep the control connection alive during long transfers, or let the middlebox wait longer: TCP keepalives on the control connection (curl --keepalive-time 30; in your own code SO_KEEPALIVE with a short net.ipv4.tcp_keepalive_time), a client that sends NOOP during transfers (FileZilla's keep-alive option), or a longer idle timeout for established TCP on the NAT/firewall (Linux conntrack: nf_conntrack_tcp_timeout_established; firewalls: the TCP idle timeout). Servers' own idle timeouts (vsftpd idle_session_timeout) do not run during a transfer.",
                "在长时间传输期间保持控制连接活跃，或让中间设备等待更久：在控制连接上启用 TCP keepalive（curl --keepalive-time 30；自己的代码中用 SO_KEEPALIVE 配合较短的 net.ipv4.tcp_keepalive_time），使用在传输期间发送 NOOP 的客户端（FileZilla 的保持连接选项），或在 NAT/防火墙上调长已建立 TCP 连接的空闲超时（Linux conntrack：nf_conntrack_tcp_timeout_established；防火墙：TCP 空闲超时）。服务器自身的空闲超时（vsftpd idle_session_timeout）在传输期间不生效。"
            ),
            certainty: Certainty::Inferred,
            cause: "control-idle-timeout".into(),
            ..Default::default()
        });
    }
}

/// The limit that held a data connection back, when one did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    PmtuBlackhole,
    ReceiverStalled,
    Loss,
    Sender,
    Window,
}

impl Limit {
    /// The finding it gives.
    pub fn id(self) -> &'static str {
        match self {
            Limit::PmtuBlackhole => "transfer-pmtu-blackhole",
            Limit::ReceiverStalled => "transfer-receiver-stalled",
            Limit::Loss => "transfer-loss-limited",
            Limit::Sender => "transfer-sender-limited",
            Limit::Window => "transfer-window-limited",
        }
    }
    /// A word for a table column.
    pub fn short(self) -> &'static str {
        match self {
            Limit::PmtuBlackhole => "PMTU",
            Limit::ReceiverStalled => "receiver",
            Limit::Loss => "loss",
            Limit::Sender => "sender",
            Limit::Window => "window",
        }
    }
}

/// Which limit held this data connection back (the first that applies, in this
/// order: a PMTU black hole; then, for transfers of at least [`MIN_SPAN_S`], a
/// stalled receiver, loss, an idle sender, the receive window).
/// More than a quarter of the bytes the sender's sequence numbers account for
/// never reached the capture (holes never filled: a capture host or SPAN port
/// that dropped packets, a file with the payload stripped). The figures then
/// describe a fragment: no rate, loss or window verdict is drawn from them.
pub fn mostly_unseen(t: &TcpFigures) -> bool {
    t.lost_before_capture_bytes > 0 && t.lost_before_capture_bytes * 4 > t.payload_bytes
}

pub fn limit(d: &DataChannel) -> Option<Limit> {
    let t = d.tcp.as_deref()?;
    if is_pmtu_blackhole(t) {
        return Some(Limit::PmtuBlackhole);
    }
    if mostly_unseen(t) {
        return None;
    }
    let span = span(d)?;
    if span < MIN_SPAN_S || t.payload_bytes == 0 {
        return None;
    }
    let zw = &t.zero_window;
    if zw.total_s >= SHARE * span && zw.episodes > 0 {
        return Some(Limit::ReceiverStalled);
    }
    let lost = wire_retransmissions(t);
    let loss_rate = t.retransmitted_bytes as f64 / t.payload_bytes.max(1) as f64;
    if lost >= 3 && loss_rate >= 0.005 {
        return Some(Limit::Loss);
    }
    if t.idle.total_s >= SHARE * span && t.idle.episodes > 0 && lost == 0 {
        return Some(Limit::Sender);
    }
    let (w, rtt, avg) = (
        t.receive_window.median?,
        t.rtt_ms.filter(|r| *r >= 1.0)?,
        t.throughput_bps.average?,
    );
    let ceiling = w as f64 * 8.0 / (rtt / 1e3);
    let pinned = t
        .bytes_in_flight
        .median
        .is_some_and(|f| f as f64 >= 0.8 * w as f64);
    (w > 0 && (avg >= 0.6 * ceiling || pinned)).then_some(Limit::Window)
}

/// `transfer-network-limited` (info, only with `--verbose`): a transfer long enough
/// to judge for which no limit stood out (no loss, no stalled receiver, the sender
/// busy, the window not the ceiling): it ran as fast as the path carried it. Says
/// the rate and round-trip time reached, never a warning.
pub fn network_limited(d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(t) = d.tcp.as_deref() else {
        return;
    };
    // The sender's own sending time (its first to last data byte): a wait before
    // the sender's first byte (a server slow to answer a TLS ClientHello) is not
    // the path's doing.
    let Some(span) = t.sending_s else {
        return;
    };
    if span < MIN_SPAN_S || t.payload_bytes == 0 || mostly_unseen(t) || limit(d).is_some() {
        return;
    }
    let what = label(d);
    let rtt = match t.rtt_ms {
        Some(r) => {
            let r = human_duration(r / 1e3);
            tr!(", round-trip time {r}", "，往返时间 {r}")
        }
        None => Tr::default(),
    };
    let r = rate(t);
    let (bytes, took, retr, zw, idle) = (
        human_bytes(t.payload_bytes),
        human_duration(span),
        t.retransmissions,
        t.zero_window.episodes,
        human_duration(t.idle.total_s),
    );
    out.push(Finding {
        id: "transfer-network-limited",
        severity: Severity::Info,
        summary: tr!(
            "{what} was network-limited at {r}{rtt}: no loss, no stalled receiver, no idle sender and no window ceiling held it back",
            "{what} 受限于网络，速率 {r}{rtt}：没有丢包、接收方没有停滞、发送方没有空闲、窗口也没有成为上限";
            what = what,
            rtt = rtt
        ),
        evidence: vec![ev(
            tr!(
                "{what}: {bytes} in {took} ({r}), {retr} retransmissions, {zw} zero-window episodes, idle {idle}",
                "{what}：{bytes}，用时 {took}（{r}），{retr} 次重传，{zw} 次零窗口，空闲 {idle}";
                what = what
            ),
            d.first_byte,
            d.frame_syn,
            d.command_exchange,
        )],
        remedy: tr!(
            "Nothing to fix in FTP or TCP settings: this is what the path between the two hosts carries. To go faster, a faster path or several transfers in parallel.",
            "FTP 或 TCP 设置中没有需要修正的：这就是两台主机之间的路径所能承载的速率。要更快，只能换更快的路径，或并行进行多个传输。"
        ),
        certainty: Certainty::Inferred,
        cause: "network-limited".into(),
        ..Default::default()
    });
}

/// The verdicts for one data connection.
pub fn rules(s: &Session, d: &DataChannel, out: &mut Vec<Finding>) {
    let Some(t) = d.tcp.as_deref() else {
        return;
    };
    let Some(limit) = limit(d) else {
        return;
    };
    let what = label(d);
    let sender = match t.sender {
        Some("server") => tr!("the server", "服务器"),
        Some("client") => tr!("the client", "客户端"),
        _ => tr!("the sender", "发送方"),
    };
    let receiver = if t.sender == Some("client") {
        tr!("the server", "服务器")
    } else {
        tr!("the client", "客户端")
    };
    if limit == Limit::PmtuBlackhole {
        pmtu_blackhole(d, t, &what, &sender, &receiver, out);
        return;
    }
    let span = span(d).unwrap_or(0.0);
    let base = ev(
        {
            let (b, took, r) = (human_bytes(t.payload_bytes), human_duration(span), rate(t));
            tr!("{what}: {b} in {took} ({r})", "{what}：{took} 内传输 {b}（{r}）"; what = what)
        },
        d.first_byte,
        d.frame_syn,
        d.command_exchange,
    );

    let zw = &t.zero_window;
    if limit == Limit::ReceiverStalled {
        out.push(Finding {
            id: "transfer-receiver-stalled",
            severity: Severity::Warning,
            summary: {
                let (n, total, pct) = (zw.episodes, human_duration(zw.total_s), 100.0 * zw.total_s / span);
                tr!(
                    "{receiver} stopped reading during {what}: its receive window was zero {n} times for {total} in all ({pct:.0}% of the transfer), so {sender} could not send",
                    "{receiver}在 {what} 期间停止了读取：它的接收窗口 {n} 次为零，共 {total}（占传输时间的 {pct:.0}%），所以{sender}无法发送";
                    receiver = receiver,
                    what = what,
                    sender = sender
                )
            },
            evidence: vec![
                base,
                ev(
                    {
                        let (n, longest) = (zw.episodes, human_duration(zw.longest_s));
                        tr!(
                            "zero-window episodes: {n}, longest {longest}; receive window median {win}",
                            "零窗口次数：{n}，最长 {longest}；接收窗口中位数 {win}";
                            win = window_median(t)
                        )
                    },
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: tr!(
                "The network is not the limit: the receiving program on {receiver} did not read the data as fast as it arrived. Look at what it does with the bytes: a slow or full disk, an antivirus scanning the file, a client that processes each block before reading the next, or a tiny receive buffer (net.ipv4.tcp_rmem).",
                "瓶颈不在网络：{receiver}上的接收程序读取数据的速度跟不上数据到达的速度。看看它如何处理这些字节：磁盘慢或已满、杀毒软件在扫描文件、客户端处理完每个数据块才读取下一个，或接收缓冲区太小（net.ipv4.tcp_rmem）。";
                receiver = receiver
            ),
            certainty: Certainty::Seen,
            cause: "receiver-stalled".into(),
            ..Default::default()
        });
        return;
    }

    // Packets on the wire (an offloaded segment counts as several); the evidence
    // gives the segments as captured.
    let lost = wire_retransmissions(t);
    let captured = t.retransmissions + t.spurious_retransmissions;
    let loss_rate = t.retransmitted_bytes as f64 / t.payload_bytes.max(1) as f64;
    if limit == Limit::Loss {
        let place = if t.lost_before_capture_bytes * 2 >= t.retransmitted_bytes {
            let missed = human_bytes(t.lost_before_capture_bytes);
            tr!(
                "between {sender} and the capture point: the capture never saw {missed} of the first copies",
                "发生在{sender}与抓包点之间：抓包中从未出现首次发送的 {missed}";
                sender = sender
            )
        } else {
            tr!(
                "after the capture point (towards {receiver}), or the acknowledgements were lost on the way back: the capture saw the first copies",
                "发生在抓包点之后（朝向{receiver}），或确认在返回途中丢失：抓包中看到了首次发送的数据";
                receiver = receiver
            )
        };
        out.push(Finding {
            id: "transfer-loss-limited",
            severity: Severity::Warning,
            summary: {
                let (b, pct, dup) = (human_bytes(t.retransmitted_bytes), 100.0 * loss_rate, t.duplicate_acks);
                tr!(
                    "packet loss held {what} back: {lost} segments ({b}, {pct:.1}% of the bytes) were sent again, {dup} duplicate acknowledgements; loss seems to happen {place}",
                    "丢包拖慢了 {what}：{lost} 个报文段（{b}，占字节数的 {pct:.1}%）被重传，{dup} 个重复确认；丢包似乎{place}";
                    what = what,
                    place = place
                )
            },
            evidence: vec![
                base,
                ev(
                    {
                        let (fast, spurious, dup) = (t.fast_retransmissions, t.spurious_retransmissions, t.duplicate_acks);
                        let rtt = match t.rtt_ms {
                            Some(r) => Tr::verbatim(human_duration(r / 1e3)),
                            None => tr!("unknown", "未知"),
                        };
                        let lost = captured;
                        tr!(
                            "retransmissions: {lost} ({fast} fast, {spurious} spurious), duplicate ACKs: {dup}, round trip {rtt}",
                            "重传：{lost}（快速重传 {fast}，虚假重传 {spurious}），重复 ACK：{dup}，往返时间 {rtt}";
                            rtt = rtt
                        )
                    },
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: tr!(
                "TCP slows down after every loss. Find the lossy link: compare captures taken at both ends, check interface error and drop counters (ip -s link, ethtool -S), a congested or policed link, duplex mismatches, Wi-Fi. A capture on the other side of the suspected link tells where the segments vanish.",
                "每次丢包后 TCP 都会降速。找出丢包的链路：比较两端的抓包，检查网卡的错误和丢包计数（ip -s link，ethtool -S）、拥塞或被限速的链路、双工不匹配、Wi-Fi。在可疑链路另一侧抓包，就能知道报文段在哪里消失。"
            ),
            certainty: Certainty::Seen,
            cause: "loss".into(),
            ..Default::default()
        });
        return;
    }

    let idle = &t.idle;
    if limit == Limit::Sender {
        let who = if t.sender == Some("client") {
            tr!(
                "the client's upload loop or a client rate limit (curl --limit-rate, lftp net:limit-rate)",
                "客户端的上传循环或客户端限速（curl --limit-rate，lftp net:limit-rate）"
            )
        } else {
            tr!(
                "a server rate limit (vsftpd local_max_rate/anon_max_rate, pure-ftpd -T, ProFTPD TransferRate) or a server reading its disk slowly",
                "服务器限速（vsftpd local_max_rate/anon_max_rate，pure-ftpd -T，ProFTPD TransferRate）或服务器读盘缓慢"
            )
        };
        out.push(Finding {
            id: "transfer-sender-limited",
            severity: Severity::Warning,
            summary: {
                let (total, pct, n) = (human_duration(idle.total_s), 100.0 * idle.total_s / span, idle.episodes);
                tr!(
                    "{sender} held {what} back: for {total} ({pct:.0}% of the transfer, {n} pauses) it had everything acknowledged and sent nothing, with the window open and no loss",
                    "{sender}拖慢了 {what}：有 {total}（占传输时间的 {pct:.0}%，暂停 {n} 次）它的数据已全部被确认却没有发送任何数据，而窗口是打开的，也没有丢包";
                    sender = sender,
                    what = what
                )
            },
            evidence: vec![
                base,
                ev(
                    {
                        let win = window_median(t);
                        let pause = human_duration(idle.longest_s);
                        let flight = t
                            .bytes_in_flight
                            .median
                            .map(human_bytes)
                            .unwrap_or_else(|| "-".into());
                        tr!(
                            "longest pause {pause}; bytes in flight median {flight}; receive window median {win}",
                            "最长暂停 {pause}；在途字节中位数 {flight}；接收窗口中位数 {win}";
                            win = win
                        )
                    },
                    d.first_byte,
                    None,
                    None,
                ),
            ],
            remedy: tr!(
                "The network and {receiver} were waiting for data. Look at {who}; raise or remove the limit if the speed is not what you configured.",
                "网络和{receiver}都在等待数据。检查{who}；如果速度不是你配置的值，调高或取消该限制。";
                receiver = receiver,
                who = who
            ),
            certainty: Certainty::Seen,
            cause: "sender-limited".into(),
            ..Default::default()
        });
        return;
    }

    // The rate sits at the ceiling the receiver's window allows over the round trip
    // (window / RTT), wherever the capture was taken; near the sender the bytes in
    // flight also sit at the window.
    if let (Some(w), Some(rtt), Some(avg)) = (
        t.receive_window.median,
        t.rtt_ms.filter(|r| *r >= 1.0),
        t.throughput_bps.average,
    ) {
        let ceiling = w as f64 * 8.0 / (rtt / 1e3);
        if limit == Limit::Window {
            let scaling = match t.window_scaling {
                Some(false) => tr!(
                    " Window scaling is off on this connection (one side did not offer it, or a middlebox stripped the option): the window cannot exceed 64 KiB.",
                    "这条连接上的窗口缩放（window scaling）是关闭的（有一端没有提供，或中间设备去掉了这个选项）：窗口不能超过 64 KiB。"
                ),
                _ => Tr::default(),
            };
            out.push(Finding {
                id: "transfer-window-limited",
                severity: Severity::Warning,
                summary: {
                    let (win, rt, max, got) = (human_bytes(w), human_duration(rtt / 1e3), si(ceiling), si(avg));
                    tr!(
                        "{receiver}'s receive window held {what} back: a window of {win} over a {rt} round trip allows at most {max}bit/s, and the transfer ran at {got}bit/s",
                        "{receiver}的接收窗口限制了 {what}：{rt} 的往返时间下，{win} 的窗口最多允许 {max}bit/s，而传输速率为 {got}bit/s";
                        receiver = receiver,
                        what = what
                    )
                },
                evidence: vec![
                    base,
                    ev(
                        tr!(
                            "receive window median {} (max {}), window scale {}/{}; bytes in flight median {}",
                            "接收窗口中位数 {}（最大 {}），窗口缩放因子 {}/{}；在途字节中位数 {}",
                            human_bytes(w),
                            t.receive_window.max.map(human_bytes).unwrap_or_else(|| "-".into()),
                            t.window_scale.client.map_or("-".into(), |x| x.to_string()),
                            t.window_scale.server.map_or("-".into(), |x| x.to_string()),
                            t.bytes_in_flight.median.map(human_bytes).unwrap_or_else(|| "-".into())
                        ),
                        d.first_byte,
                        None,
                        None,
                    ),
                ],
                remedy: tr!(
                    "Give {receiver} a larger receive buffer (Linux: net.ipv4.tcp_rmem and net.core.rmem_max; or the program's own socket buffer setting) and keep window scaling on end to end; the rate then grows until the path or the sender limits it.{scaling}",
                    "给{receiver}更大的接收缓冲区（Linux：net.ipv4.tcp_rmem 和 net.core.rmem_max；或程序自己的套接字缓冲区设置），并保证端到端开启窗口缩放；速率会随之增长，直到受限于路径或发送方。{scaling}";
                    receiver = receiver,
                    scaling = scaling
                ),
                certainty: Certainty::Seen,
                cause: "window-limited".into(),
                ..Default::default()
            });
        }
    }
    let _ = s;
}
