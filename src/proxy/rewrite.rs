//! What the proxy says instead: data-address commands and replies rewritten so
//! that both peers connect only to the proxy, and the safety checks on them.
//!
//! Pure: no I/O. Parsing and formatting come from [`crate::ftp::address`]; this
//! module only decides which form to use and what a refusal says.

use std::net::{IpAddr, SocketAddr};

use crate::ftp::address;

/// Commands by which the client announces where it listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveVerb {
    Port,
    Eprt,
    Lprt,
}

/// Commands by which the client asks the server to listen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassiveVerb {
    Pasv,
    Epsv,
    Lpsv,
}

impl ActiveVerb {
    pub fn parse(verb: &str) -> Option<Self> {
        match verb {
            "PORT" => Some(ActiveVerb::Port),
            "EPRT" => Some(ActiveVerb::Eprt),
            "LPRT" => Some(ActiveVerb::Lprt),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveVerb::Port => "PORT",
            ActiveVerb::Eprt => "EPRT",
            ActiveVerb::Lprt => "LPRT",
        }
    }
    /// The address in the argument.
    pub fn address(self, arg: &[u8]) -> Option<SocketAddr> {
        match self {
            ActiveVerb::Port => address::parse_port_arg(arg).map(SocketAddr::V4),
            ActiveVerb::Eprt => address::parse_eprt(arg),
            ActiveVerb::Lprt => address::parse_lprt(arg),
        }
    }
    /// The command line (without CR LF) announcing `a` in this verb's form; PORT
    /// cannot carry IPv6, so it becomes EPRT then.
    pub fn command(self, a: SocketAddr) -> String {
        match (self, a) {
            (ActiveVerb::Port, SocketAddr::V4(v4)) => {
                format!("PORT {}", address::format_port_arg(v4))
            }
            (ActiveVerb::Port | ActiveVerb::Eprt, _) => format!("EPRT {}", address::format_eprt(a)),
            (ActiveVerb::Lprt, _) => format!("LPRT {}", address::format_lprt(a)),
        }
    }
    /// What the proxy answers when it took the command on itself.
    pub fn ok_reply(self) -> String {
        format!("200 {} command successful.", self.as_str())
    }
}

impl PassiveVerb {
    /// `EPSV ALL` is not a request for a data address.
    pub fn parse(verb: &str, arg: &[u8]) -> Option<Self> {
        match verb {
            "PASV" => Some(PassiveVerb::Pasv),
            "EPSV" if !arg.trim_ascii().eq_ignore_ascii_case(b"ALL") => Some(PassiveVerb::Epsv),
            "LPSV" => Some(PassiveVerb::Lpsv),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PassiveVerb::Pasv => "PASV",
            PassiveVerb::Epsv => "EPSV",
            PassiveVerb::Lpsv => "LPSV",
        }
    }
    /// The success code of the reply.
    pub fn code(self) -> u16 {
        match self {
            PassiveVerb::Pasv => 227,
            PassiveVerb::Epsv => 229,
            PassiveVerb::Lpsv => 228,
        }
    }
    /// The reply line (without CR LF) telling the client to connect to `a`.
    /// A 227 cannot carry an IPv6 address.
    pub fn reply(self, a: SocketAddr) -> Option<String> {
        match (self, a) {
            (PassiveVerb::Pasv, SocketAddr::V4(v4)) => Some(address::format_227(v4)),
            (PassiveVerb::Pasv, SocketAddr::V6(_)) => None,
            (PassiveVerb::Epsv, _) => Some(address::format_229(a.port())),
            (PassiveVerb::Lpsv, _) => Some(format!(
                "228 Entering Long Passive Mode ({})",
                address::format_lprt(a)
            )),
        }
    }
}

/// The address a passive reply announces (a 229 names only a port: the server's
/// control address is meant).
pub fn passive_reply_address(code: u16, text: &[u8], server_ip: IpAddr) -> Option<SocketAddr> {
    match code {
        227 => address::parse_227(text).map(SocketAddr::V4),
        229 => address::parse_229(text).map(|p| SocketAddr::new(server_ip, p)),
        228 => address::parse_228(text),
        _ => None,
    }
}

/// The command the proxy sends upstream to have the server listen.
pub fn upstream_passive(server: SocketAddr) -> PassiveVerb {
    if server.is_ipv4() {
        PassiveVerb::Pasv
    } else {
        PassiveVerb::Epsv
    }
}

/// The same host, IPv4-mapped IPv6 addresses counted as their IPv4 form.
pub fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// Why an active-mode address is refused (RFC 2577), or None when it is fine:
/// it must be the client's own address and not a privileged port.
pub fn bounce(a: SocketAddr, client: IpAddr) -> Option<String> {
    if !same_ip(a.ip(), client) {
        Some(format!(
            "{a} is not the client's address {client}: an FTP bounce (RFC 2577) or a server-to-server (FXP) transfer"
        ))
    } else if a.port() < 1024 {
        Some(format!(
            "{a} names the privileged port {}: an FTP bounce attempt (RFC 2577)",
            a.port()
        ))
    } else {
        None
    }
}

/// The refusal sent to the client for a bounce.
pub fn bounce_reply(verb: ActiveVerb) -> String {
    format!(
        "504 {} refused by the ftpscope proxy: the address must be your own, port 1024 or above (--allow-fxp permits others).",
        verb.as_str()
    )
}

/// A reply the proxy makes up for an injected fault.
pub fn fault_reply(code: u16, verb: &str) -> String {
    let what = match code {
        421 => "Service not available, closing control connection",
        425 => "Can't open data connection",
        426 => "Connection closed; transfer aborted",
        450 => "Requested file action not taken",
        451 => "Requested action aborted: local error in processing",
        452 => "Insufficient storage space",
        500 => "Syntax error, command unrecognized",
        502 => "Command not implemented",
        530 => "Not logged in",
        550 => "Requested action not taken",
        552 => "Exceeded storage allocation",
        c if c < 200 => "Wait",
        c if c < 300 => "OK",
        c if c < 400 => "More information needed",
        c if c < 500 => "Transient failure",
        _ => "Failure",
    };
    format!("{code} {what} (fault injected by the ftpscope proxy for {verb}).")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn active_forms_round_trip() {
        let a = sa("127.0.0.1:50001");
        for v in [ActiveVerb::Port, ActiveVerb::Eprt, ActiveVerb::Lprt] {
            let line = v.command(a);
            let (verb, arg) = line.split_once(' ').unwrap();
            let back = ActiveVerb::parse(verb).unwrap().address(arg.as_bytes());
            assert_eq!(back, Some(a), "{line}");
        }
        assert_eq!(ActiveVerb::Port.command(a), "PORT 127,0,0,1,195,81");
        let v6 = sa("[::1]:50001");
        assert_eq!(ActiveVerb::Port.command(v6), "EPRT |2|::1|50001|");
    }

    #[test]
    fn passive_replies_round_trip() {
        let a = sa("127.0.0.1:50001");
        for v in [PassiveVerb::Pasv, PassiveVerb::Epsv, PassiveVerb::Lpsv] {
            let line = v.reply(a).unwrap();
            let code: u16 = line[..3].parse().unwrap();
            assert_eq!(code, v.code());
            let got = passive_reply_address(code, &line.as_bytes()[4..], a.ip());
            assert_eq!(got, Some(a), "{line}");
        }
        assert!(PassiveVerb::Pasv.reply(sa("[::1]:1")).is_none());
        assert_eq!(PassiveVerb::parse("EPSV", b"ALL"), None);
        assert_eq!(PassiveVerb::parse("EPSV", b"2"), Some(PassiveVerb::Epsv));
    }

    #[test]
    fn bounce_rules() {
        let c: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(bounce(sa("10.0.0.2:40000"), c).is_none());
        assert!(
            bounce(sa("10.0.0.3:40000"), c)
                .unwrap()
                .contains("not the client")
        );
        assert!(bounce(sa("10.0.0.2:25"), c).unwrap().contains("privileged"));
        assert!(bounce(sa("[::ffff:10.0.0.2]:40000"), c).is_none());
        assert!(fault_reply(425, "RETR").starts_with("425 "));
    }
}
