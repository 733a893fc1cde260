//! What the proxy says instead: data-address commands and replies rewritten so
//! that both peers connect only to the proxy, and the safety checks on them.
//!
//! Pure: no I/O. Parsing and formatting come from [`crate::ftp::address`]; this
//! module only decides which form to use and what a refusal says.
//!
//! The rule for data addresses from the client (the FTP-bounce defence): a line
//! that any server could read as PORT/EPRT/LPRT ([`active_verb`], lenient) is
//! forwarded only when the proxy read it exactly ([`ActiveVerb::parse_line`],
//! strict), and then as a line the proxy writes itself ([`ActiveVerb::command`],
//! canonical), never as the client's bytes. Anything else is answered 501. Client
//! lines with a line break the proxy's splitter did not split on (hidden in a
//! Telnet sequence, or a bare CR) are not forwarded either ([`hidden_line_break`]):
//! a server that splits there would read a command the proxy never checked.

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
    /// The address of a whole command line `VERB SP ARG` (verb in any case, one
    /// space, the argument in its exact RFC form and nothing else), or None.
    pub fn parse_line(self, line: &[u8]) -> Option<SocketAddr> {
        let (verb, arg) = line.split_at_checked(4)?;
        if !verb.eq_ignore_ascii_case(self.as_str().as_bytes()) {
            return None;
        }
        let arg = arg.strip_prefix(b" ")?;
        match self {
            ActiveVerb::Port => address::parse_port_arg_strict(arg).map(SocketAddr::V4),
            ActiveVerb::Eprt => address::parse_eprt_strict(arg),
            ActiveVerb::Lprt => address::parse_lprt_strict(arg),
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

/// The data-address verb a lenient server could read in this line: after any
/// leading white space, `PORT`, `EPRT` or `LPRT` in any case, followed by
/// anything but a letter (space, tab, a digit, the end). Used to decide which
/// lines must be parsed strictly; it never accepts a line by itself.
pub fn active_verb(line: &[u8]) -> Option<ActiveVerb> {
    let s = line.trim_ascii_start();
    let verb = s.get(..4)?;
    let v = [ActiveVerb::Port, ActiveVerb::Eprt, ActiveVerb::Lprt]
        .into_iter()
        .find(|v| verb.eq_ignore_ascii_case(v.as_str().as_bytes()))?;
    match s.get(4) {
        Some(b) if b.is_ascii_alphabetic() => None,
        _ => Some(v),
    }
}

/// The client line's bytes as received hold a CR or LF before their end (inside
/// a Telnet option or subnegotiation, after a lone IAC, or a bare CR): a server
/// that does not read Telnet, or splits on CR, would see more than one line there.
pub fn hidden_line_break(raw: &[u8]) -> bool {
    let body = raw
        .strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw);
    body.iter().any(|&b| b == b'\r' || b == b'\n')
}

/// A piece of an overlong line without its CR and LF bytes (a piece holds no
/// line end: any CR/LF in it was hidden from the proxy's splitter).
pub fn without_line_breaks(piece: Vec<u8>) -> Vec<u8> {
    if piece.iter().any(|&b| b == b'\r' || b == b'\n') {
        piece
            .into_iter()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect()
    } else {
        piece
    }
}

/// The last piece of an overlong line (its earlier pieces were relayed) without
/// CR and LF bytes before its line end.
pub fn without_hidden_breaks(raw: Vec<u8>) -> Vec<u8> {
    if !hidden_line_break(&raw) {
        return raw;
    }
    let end: &[u8] = if raw.ends_with(b"\r\n") {
        b"\r\n"
    } else if raw.ends_with(b"\n") {
        b"\n"
    } else {
        b""
    };
    let mut out = without_line_breaks(raw[..raw.len() - end.len()].to_vec());
    out.extend_from_slice(end);
    out
}

pub use crate::ftp::command::secret_start;

/// A client line as the proxy observes it: with its secret (see
/// [`secret_start`]) replaced by `****`, keeping the line end of `raw`.
pub fn masked_line(raw: &[u8], clean: &[u8]) -> Option<Vec<u8>> {
    let at = secret_start(clean)?;
    let mut v = clean[..at].to_vec();
    v.extend_from_slice(b"****");
    if raw.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    } else if raw.ends_with(b"\n") {
        v.push(b'\n');
    }
    Some(v)
}

/// The refusal sent to the client for a data-address command the proxy cannot
/// read exactly.
pub fn unreadable_reply(verb: ActiveVerb) -> String {
    format!(
        "501 Syntax error in the {} argument: the ftpscope proxy forwards only an exact address (RFC 959/2428/1639 form).",
        verb.as_str()
    )
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
            let verb = active_verb(line.as_bytes()).unwrap();
            assert_eq!(verb, v);
            assert_eq!(verb.parse_line(line.as_bytes()), Some(a), "{line}");
        }
        assert_eq!(ActiveVerb::Port.command(a), "PORT 127,0,0,1,195,81");
        let v6 = sa("[::1]:50001");
        assert_eq!(ActiveVerb::Port.command(v6), "EPRT |2|::1|50001|");
    }

    /// The canonical writer: whatever form the client used, the line the proxy
    /// forwards is the RFC form of the address it read, which the strict reader
    /// reads back as the same address.
    #[test]
    fn canonical_writer() {
        let cases = [
            ("port 10,0,0,2,4,1", "PORT 10,0,0,2,4,1"),
            ("PORT 010,000,000,002,004,001", "PORT 10,0,0,2,4,1"),
            ("eprt |1|10.0.0.2|1025|", "EPRT |1|10.0.0.2|1025|"),
            ("EPRT !1!10.0.0.2!1025!", "EPRT |1|10.0.0.2|1025|"),
            (
                "EPRT |2|2001:DB8:0:0::2|01025|",
                "EPRT |2|2001:db8::2|1025|",
            ),
            ("lprt 4,4,10,0,0,2,2,4,1", "LPRT 4,4,10,0,0,2,2,4,1"),
        ];
        for (client, canonical) in cases {
            let v = active_verb(client.as_bytes()).unwrap();
            let a = v.parse_line(client.as_bytes()).unwrap();
            let out = v.command(a);
            assert_eq!(out, canonical, "{client}");
            assert_eq!(v.parse_line(out.as_bytes()), Some(a), "{out}");
        }
    }

    /// Forms a lenient server reads (vsftpd accepts many of them) but the proxy
    /// does not: each must be recognised as a data-address command and refused.
    #[test]
    fn unreadable_active_forms_are_recognised_and_refused() {
        let refused = [
            "PORT 127,0,0,1,30,97,",
            "PORT 127,0,0,1,+30,97",
            "PORT 127,0,0,1,-30,97",
            "PORT 127,0,0,1,30,000097",
            "PORT 127,0,0,1,30, 97x",
            "PORT 127,0,0,1,30, 97",
            "PORT  127,0,0,1,30,97",
            "PORT 127,0,0,1,30,97 ",
            "PORT\t127,0,0,1,30,97",
            " PORT 127,0,0,1,30,97",
            "\tport 127,0,0,1,30,97",
            "PORT 127,0,0,1,30",
            "PORT 127,0,0,1,30,97,1",
            "PORT 127,0,0,256,30,97",
            "PORT 127.0.0.1,30,97",
            "PORT",
            "PORT127,0,0,1,30,97",
            "EPRT |1|127.0.0.01|7777|",
            "EPRT |1|127.0.0.1|+7777|",
            "EPRT |1|127.0.0.1 x|7777|",
            "EPRT |1|127.0.0.1|7777",
            "EPRT |1|127.1|7777|",
            "EPRT |1|2130706433|7777|",
            "EPRT |1|0x7f.0.0.1|7777|",
            "EPRT |1|127.0.0.1|07777x|",
            "EPRT |1|127.0.0.1|77777|",
            "EPRT |1|127.0.0.1|0|",
            "EPRT |1| 127.0.0.1|7777|",
            "EPRT |1|127.0.0.1|7777||",
            "EPRT |3|127.0.0.1|7777|",
            "EPRT |2|fe80::1%lo|7777|",
            "EPRT 1127.0.0.1177771",
            "EPRT a1a127.0.0.1a7777a",
            "EPRT .1.127.0.0.1.7777.",
            "EPRT",
            "LPRT 4,4,127,0,0,1,2,30,97,5",
            "LPRT 4,4,127,0,0,1,3,0,30,97",
            "LPRT 4,5,127,0,0,1,0,2,30,97",
            "LPRT 6,4,127,0,0,1,2,30,97",
            "LPRT 4,4,127,0,0,1,2,30,97,",
        ];
        for line in refused {
            let v = active_verb(line.as_bytes())
                .unwrap_or_else(|| panic!("{line:?} is not recognised as a data-address command"));
            assert_eq!(v.parse_line(line.as_bytes()), None, "{line:?} was read");
        }
        for other in ["PORTAL x", "NOOP PORT 127,0,0,1,30,97", "EPSV", "PASV"] {
            assert_eq!(active_verb(other.as_bytes()), None, "{other}");
        }
        // Read exactly, but an IPv4-mapped IPv6 address is the same host as its IPv4 form.
        let mapped = ActiveVerb::Eprt
            .parse_line(b"EPRT |2|::ffff:127.0.0.1|7777|")
            .unwrap();
        assert!(bounce(mapped, "127.0.0.2".parse().unwrap()).is_some());
        assert!(bounce(mapped, "127.0.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn secrets_are_found_in_every_form() {
        let m = |l: &str| {
            masked_line(format!("{l}\r\n").as_bytes(), l.as_bytes())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(m("PASS hunter2").as_deref(), Some("PASS ****\r\n"));
        assert_eq!(m("pass hunter2").as_deref(), Some("pass ****\r\n"));
        assert_eq!(m("  PASS hunter2").as_deref(), Some("  PASS ****\r\n"));
        assert_eq!(m("PASS\thunter2").as_deref(), Some("PASS\t****\r\n"));
        assert_eq!(m("PASS  two words").as_deref(), Some("PASS  ****\r\n"));
        assert_eq!(m("ACCT hunter2").as_deref(), Some("ACCT ****\r\n"));
        assert_eq!(
            m("SITE PSWD old new").as_deref(),
            Some("SITE PSWD ****\r\n")
        );
        assert_eq!(
            m("site\tpswd old new").as_deref(),
            Some("site\tpswd ****\r\n")
        );
        for plain in [
            "PASS",
            "PASS ",
            "PASSWORD x",
            "SITE CHMOD 644 f",
            "USER bob",
            "NOOP",
        ] {
            assert_eq!(m(plain), None, "{plain}");
        }
    }

    #[test]
    fn hidden_line_breaks() {
        assert!(!hidden_line_break(b"NOOP\r\n"));
        assert!(!hidden_line_break(b"NOOP\n"));
        assert!(!hidden_line_break(b"NOOP"));
        assert!(hidden_line_break(
            b"NOOP \xff\xfa\r\nPORT 1,2,3,4,5,6\r\n\xff\xf0\r\n"
        ));
        assert!(hidden_line_break(b"NOOP \xff\nPORT 1,2,3,4,5,6\r\n"));
        assert!(hidden_line_break(b"NOOP\rPORT 1,2,3,4,5,6\r\n"));
        assert_eq!(without_line_breaks(b"a\r\nb\rc".to_vec()), b"abc");
        assert_eq!(without_hidden_breaks(b"a\nb\r\n".to_vec()), b"ab\r\n");
        assert_eq!(without_hidden_breaks(b"ab\n".to_vec()), b"ab\n");
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
