//! Connection attempts answered by an ICMP "destination unreachable" error
//! instead of a RST: what the error says, who sent it, and where the rule that
//! sent it must be.
//!
//! A TCP stack answers a closed port with RST; an ICMP error in answer to a SYN
//! comes from a filter (iptables/nftables REJECT, whose default is "port
//! unreachable"; firewalld's zones answer "host/administratively prohibited") or
//! from a router with no way on. The sender's address says where: the listener's
//! own host, or a router on the path.

use std::net::IpAddr;

use crate::i18n::Tr;
use crate::model::IcmpRejection;
use crate::tr;

/// The error's name in words ("port unreachable", "communication administratively
/// prohibited").
pub fn reason_words(r: &IcmpRejection) -> Tr {
    match r.reason() {
        "net-unreachable" => tr!("network unreachable", "网络不可达"),
        "host-unreachable" => tr!("host unreachable", "主机不可达"),
        "protocol-unreachable" => tr!("protocol unreachable", "协议不可达"),
        "port-unreachable" => tr!("port unreachable", "端口不可达"),
        "source-route-failed" => tr!("source route failed", "源路由失败"),
        "host-isolated" => tr!("source host isolated", "源主机被隔离"),
        "net-prohibited" => tr!("network administratively prohibited", "网络被管理性禁止"),
        "host-prohibited" => tr!("host administratively prohibited", "主机被管理性禁止"),
        "admin-prohibited" => tr!(
            "communication administratively prohibited",
            "通信被管理性禁止"
        ),
        "precedence" => tr!("precedence violation", "优先级违规"),
        "no-route" => tr!("no route to destination", "没有到目的地的路由"),
        "beyond-scope" => tr!("beyond scope of source address", "超出源地址的范围"),
        "address-unreachable" => tr!("address unreachable", "地址不可达"),
        "source-policy-failed" => tr!(
            "source address failed ingress/egress policy",
            "源地址未通过入口/出口策略"
        ),
        "reject-route" => tr!("reject route to destination", "到目的地的路由为拒绝路由"),
        _ => tr!("destination unreachable", "目的地不可达"),
    }
}

/// "ICMP port unreachable (ICMP type 3 code 3) from 203.0.113.10".
pub fn answer(r: &IcmpRejection) -> Tr {
    let (wire, from) = (r.wire(), r.from);
    tr!(
        "ICMP {words} ({wire}) from {from}",
        "来自 {from} 的 ICMP {words}（{wire}）";
        words = reason_words(r)
    )
}

/// Evidence: the answer and what the connecting program was told.
pub fn evidence_text(r: &IcmpRejection) -> Tr {
    let errno = r.errno_text();
    tr!(
        "answered by {answer}: a program connecting from Linux is told \"{errno}\"",
        "以 {answer} 应答：Linux 上发起连接的程序得到 \"{errno}\"";
        answer = answer(r)
    )
}

/// Where the rule that answered sits, seen from the connection attempt to
/// `target` made by `connector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The listener's own host (or the device that owns its address: a NAT
    /// router with port forwarding).
    Target,
    /// The connecting host's own firewall, on its way out.
    Connector,
    /// A router or firewall between them.
    Path,
}

pub fn sender(r: &IcmpRejection, connector: IpAddr, target: IpAddr) -> Sender {
    if r.from == target {
        Sender::Target
    } else if r.from == connector {
        Sender::Connector
    } else {
        Sender::Path
    }
}

/// A filter said so, or a missing route (which no firewall rule opens).
pub fn is_filter(r: &IcmpRejection) -> bool {
    // "port unreachable" for TCP is a REJECT rule's default: stacks answer a
    // closed TCP port with RST.
    r.prohibited() || r.reason() == "port-unreachable"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v6: bool, code: u8) -> IcmpRejection {
        IcmpRejection {
            from: "192.0.2.1".parse().unwrap(),
            v6,
            code,
            ts: crate::time::Ts::default(),
            frame: 3,
        }
    }

    #[test]
    fn every_code_has_words_in_both_languages() {
        for v6 in [false, true] {
            for code in 0..=20 {
                let w = reason_words(&r(v6, code));
                assert!(!w.en.is_empty() && !w.zh.is_empty());
                let e = evidence_text(&r(v6, code));
                assert!(e.en.contains("192.0.2.1") && e.zh.contains("192.0.2.1"));
            }
        }
        assert_eq!(reason_words(&r(false, 3)).en, "port unreachable");
        assert_eq!(reason_words(&r(true, 4)).en, "port unreachable");
        assert_eq!(
            reason_words(&r(false, 13)).en,
            "communication administratively prohibited"
        );
        assert_eq!(reason_words(&r(true, 1)).en, reason_words(&r(false, 13)).en);
    }

    #[test]
    fn filters_and_routes() {
        assert!(is_filter(&r(false, 3)));
        assert!(is_filter(&r(false, 10)));
        assert!(is_filter(&r(true, 1)));
        assert!(!is_filter(&r(false, 0)));
        assert!(!is_filter(&r(false, 1)));
        assert!(!is_filter(&r(true, 0)));
        assert!(!is_filter(&r(true, 3)));
        assert_eq!(r(false, 3).errno_text(), "Connection refused");
        assert_eq!(r(false, 10).errno_text(), "No route to host");
        assert_eq!(r(true, 0).errno_text(), "Network is unreachable");
        assert_eq!(r(true, 1).errno_text(), "Permission denied");
        assert_eq!(r(true, 4).errno_text(), "Connection refused");
        assert_eq!(r(false, 13).errno_text(), "No route to host");
    }

    #[test]
    fn who_sent_it() {
        let e = r(false, 13);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(sender(&e, ip("10.0.0.2"), ip("192.0.2.1")), Sender::Target);
        assert_eq!(
            sender(&e, ip("192.0.2.1"), ip("10.0.0.9")),
            Sender::Connector
        );
        assert_eq!(sender(&e, ip("10.0.0.2"), ip("10.0.0.9")), Sender::Path);
    }
}
