//! Explanations in context: the catalog's text, made specific by what the reply
//! says (a 227's address decoded) and which command it answers (530 after PASS).
//!
//! Wire text quoted in an explanation (a verb, an argument, a path) is escaped
//! here ([`crate::text::escape`]): an explanation is ready to print.

use std::net::IpAddr;

use super::address;
use super::catalog::{self, Lang};
use crate::i18n::{Tr, Ui};
use crate::text::{escape, escape_str};
use crate::tr;

/// What we know around a reply.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// The command the reply answers.
    pub verb: Option<&'a str>,
    pub arg: &'a [u8],
    /// The server's control address (for 229).
    pub server_ip: Option<IpAddr>,
}

/// The text in `lang`: only that language's text is built.
macro_rules! pick {
    ($lang:expr, $en:expr, $zh:expr $(,)?) => {
        match $lang {
            Lang::En => $en,
            Lang::Zh => $zh,
        }
    };
}

/// Bytes shown escaped, built only when a text uses them.
struct Shown<'a>(&'a [u8]);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape(self.0))
    }
}

fn base_reply(code: u16, lang: Lang) -> String {
    match catalog::reply(code) {
        Some(e) => e.text(lang).to_string(),
        None => catalog::reply_class(code, lang),
    }
}

/// `(N bytes)` in a 150 reply, as vsftpd, ProFTPD and others write it.
pub fn bytes_in_150(text: &[u8]) -> Option<u64> {
    let s = crate::text::lossy_str(text);
    let i = s.rfind(" bytes")?;
    // Bytes, not chars: the byte after the last non-digit byte is always a char
    // boundary, whereas "the char after the last non-digit char" is not `+ 1`.
    let head = &s.as_bytes()[..i];
    let start = head
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    std::str::from_utf8(&head[start..]).ok()?.parse().ok()
}

/// The number of a `213 N` reply to SIZE.
pub fn size_in_213(text: &[u8]) -> Option<u64> {
    let s = crate::text::lossy_str(text);
    s.split_whitespace().next()?.parse().ok()
}

/// The quoted path of a 257 reply (`"` doubled inside, RFC 959 appendix II).
pub fn path_in_257(text: &[u8]) -> Option<Vec<u8>> {
    let start = text.iter().position(|&b| b == b'"')? + 1;
    let mut out = Vec::new();
    let mut i = start;
    while i < text.len() {
        if text[i] == b'"' {
            if text.get(i + 1) == Some(&b'"') {
                out.push(b'"');
                i += 2;
                continue;
            }
            return Some(out);
        }
        out.push(text[i]);
        i += 1;
    }
    None
}

/// Explain a reply (its code and first-line text) in context.
pub fn reply(code: u16, text: &[u8], ctx: &Context<'_>, lang: Lang) -> String {
    let verb = ctx.verb.unwrap_or("");
    let arg = Shown(ctx.arg);
    let shown = Shown(verb.as_bytes());
    match (code, verb) {
        // The tracker's code for a server line with no reply code.
        (0, _) => pick!(
            lang,
            "Not a valid reply: an FTP reply starts with a three-digit code; the client cannot tell what the server meant.".into(),
            "无效的应答：FTP 应答应以三位数字代码开头，客户端无法判断服务器的意思。".into(),
        ),
        (227, _) => match address::parse_227(text) {
            Some(a) => {
                let (p1, p2) = (a.port() >> 8, a.port() & 0xff);
                pick!(
                    lang,
                    format!("Passive mode: the server listens for the data connection on {a} (port {p1}*256+{p2} = {}).", a.port()),
                    format!("被动模式：服务器在 {a} 上等待数据连接（端口 {p1}*256+{p2} = {}）。", a.port()),
                )
            }
            None => pick!(
                lang,
                "Passive mode, but the address in the reply cannot be read: the client cannot know where to connect.".into(),
                "被动模式，但回复中的地址无法解析：客户端不知道该连接到哪里。".into(),
            ),
        },
        (229, _) => match address::parse_229(text) {
            Some(p) => {
                let on = ctx.server_ip.map(|ip| format!(" ({ip})")).unwrap_or_default();
                pick!(
                    lang,
                    format!("Extended passive mode: the server listens for the data connection on port {p} of the address the client already uses for control{on}."),
                    format!("扩展被动模式：服务器在控制连接所用地址{on}的端口 {p} 上等待数据连接。"),
                )
            }
            None => pick!(lang, "Extended passive mode, but the port in the reply cannot be read.".into(), "扩展被动模式，但回复中的端口无法解析。".into()),
        },
        (228, _) => match address::parse_228(text) {
            Some(a) => pick!(lang, format!("Long passive mode: the server listens for the data connection on {a}."), format!("长被动模式：服务器在 {a} 上等待数据连接。")),
            None => base_reply(code, lang),
        },
        (150 | 125, _) => {
            let base = base_reply(code, lang);
            match bytes_in_150(text) {
                Some(n) => pick!(lang, format!("{base} The server announces {n} bytes."), format!("{base} 服务器声明大小为 {n} 字节。")),
                None => base,
            }
        }
        (213, "SIZE") => match size_in_213(text) {
            Some(n) => pick!(lang, format!("The file \"{arg}\" is {n} bytes long (in the current TYPE)."), format!("文件 \"{arg}\" 大小为 {n} 字节（按当前传输类型计算）。")),
            None => base_reply(code, lang),
        },
        (213, "MDTM") => {
            let t = crate::text::lossy_str(text);
            let t = t.trim();
            // Bytes: `t[..14]` panics when byte 14 falls inside a character. Once the
            // first 14 bytes are ASCII digits, every slice below is on a boundary.
            if t.len() >= 14 && t.as_bytes()[..14].iter().all(u8::is_ascii_digit) {
                let f = format!("{}-{}-{} {}:{}:{} UTC", &t[0..4], &t[4..6], &t[6..8], &t[8..10], &t[10..12], &t[12..14]);
                pick!(lang, format!("\"{arg}\" was last modified {f}."), format!("\"{arg}\" 的最后修改时间为 {f}。"))
            } else {
                base_reply(code, lang)
            }
        }
        (257, "MKD" | "XMKD") => match path_in_257(text) {
            Some(p) => pick!(lang, format!("Directory \"{}\" created.", escape(&p)), format!("已创建目录 \"{}\"。", escape(&p))),
            None => base_reply(code, lang),
        },
        (257, _) => match path_in_257(text) {
            Some(p) => pick!(lang, format!("The current directory is \"{}\".", escape(&p)), format!("当前目录为 \"{}\"。", escape(&p))),
            None => base_reply(code, lang),
        },
        (530, "PASS" | "USER" | "ACCT") => pick!(
            lang,
            "Login refused: wrong user name or password (or this user may not log in here).".into(),
            "登录被拒绝：用户名或密码错误（或该用户不允许在此登录）。".into(),
        ),
        (530, v) if !v.is_empty() => pick!(lang, format!("Not logged in: {shown} needs a successful login first."), format!("未登录：{shown} 需要先成功登录。")),
        (230, _) => pick!(lang, "Login accepted: the user is logged in.".into(), "登录成功：用户已登录。".into()),
        (331, "USER") => pick!(lang, format!("User name \"{arg}\" accepted; the server now wants the password (PASS)."), format!("用户名 \"{arg}\" 已接受，服务器需要密码（PASS）。")),
        (200, "PORT" | "EPRT" | "LPRT") => {
            let a = match verb {
                "PORT" => address::parse_port_arg(ctx.arg).map(|a| a.to_string()),
                "EPRT" => address::parse_eprt(ctx.arg).map(|a| a.to_string()),
                _ => address::parse_lprt(ctx.arg).map(|a| a.to_string()),
            };
            match a {
                Some(a) => pick!(lang, format!("Active mode accepted: the server will connect to the client at {a} for the next transfer."), format!("主动模式已接受：下一次传输时服务器将连接客户端 {a}。")),
                None => base_reply(code, lang),
            }
        }
        (200, "TYPE") => pick!(lang, format!("Transfer type set to {arg}."), format!("传输类型已设为 {arg}。")),
        (500 | 501 | 502 | 504, v) if v == "PORT" || v == "EPRT" => pick!(
            lang,
            format!("The server refused the active-mode address: {}", base_reply(code, Lang::En)),
            format!("服务器拒绝了主动模式地址：{}", base_reply(code, Lang::Zh)),
        ),
        (500 | 502, v) if !v.is_empty() => pick!(
            lang,
            format!("The server does not understand or does not implement {shown}. {}", base_reply(code, Lang::En)),
            format!("服务器不理解或未实现 {shown}。{}", base_reply(code, Lang::Zh)),
        ),
        (350, "REST") => pick!(lang, format!("Restart position {arg} accepted: the next RETR/STOR starts there."), format!("已接受断点位置 {arg}：下一次 RETR/STOR 从这里开始。")),
        (350, "RNFR") => pick!(lang, format!("\"{arg}\" exists; send RNTO with the new name."), format!("\"{arg}\" 存在，请发送 RNTO 指定新名称。")),
        (234, _) => pick!(
            lang,
            "TLS accepted: the TLS handshake starts now and the rest of the control connection is encrypted.".into(),
            "已接受 TLS：现在开始 TLS 握手，此后的控制连接全部加密。".into(),
        ),
        (226 | 250, v) if super::command::is_transfer(v) => pick!(
            lang,
            format!("{v} finished: the server says the transfer completed and closed the data connection (or kept it, per mode)."),
            format!("{v} 完成：服务器报告传输完成。"),
        ),
        (421, _) => {
            let t = crate::text::lossy_str(text).to_ascii_lowercase();
            let why_en = if t.contains("timeout") || t.contains("idle") {
                " It names an idle timeout."
            } else if t.contains("too many") || t.contains("maximum") {
                " It names too many connections."
            } else {
                ""
            };
            let why_zh = if !why_en.is_empty() && why_en.contains("idle") {
                "（原因：空闲超时。）"
            } else if !why_en.is_empty() {
                "（原因：连接数过多。）"
            } else {
                ""
            };
            pick!(lang, format!("{}{why_en}", base_reply(code, Lang::En)), format!("{}{why_zh}", base_reply(code, Lang::Zh)))
        }
        _ => base_reply(code, lang),
    }
}

/// Explain a command with its argument.
pub fn command(verb: &str, arg: &[u8], lang: Lang) -> String {
    let a = crate::text::lossy_str(arg);
    let shown = escape_str(verb);
    match verb {
        "PORT" => {
            if let Some(x) = address::parse_port_arg(arg) {
                return pick!(
                    lang,
                    format!(
                        "Active mode: the client listens on {x} and asks the server to connect there."
                    ),
                    format!("主动模式：客户端在 {x} 上监听，请服务器连接过来。"),
                );
            }
        }
        "EPRT" | "LPRT" => {
            let x = if verb == "EPRT" {
                address::parse_eprt(arg)
            } else {
                address::parse_lprt(arg)
            };
            if let Some(x) = x {
                return pick!(
                    lang,
                    format!(
                        "Active mode: the client listens on {x} and asks the server to connect there."
                    ),
                    format!("主动模式：客户端在 {x} 上监听，请服务器连接过来。"),
                );
            }
        }
        "SITE" => {
            let sub = a.split_whitespace().next().unwrap_or("");
            if let Some((en, zh)) = catalog::site_command(sub) {
                let sub = escape_str(&sub.to_ascii_uppercase());
                return pick!(
                    lang,
                    format!("SITE {sub}: {en}"),
                    format!("SITE {sub}：{zh}"),
                );
            }
            let sub = escape_str(sub);
            return pick!(
                lang,
                format!("Site-specific command SITE {sub}: its meaning depends on the server."),
                format!("站点特定命令 SITE {sub}：含义取决于服务器。"),
            );
        }
        _ => {}
    }
    match catalog::command(verb) {
        Some(e) => e.text(lang).to_string(),
        None => pick!(
            lang,
            format!("{shown}: not a command the catalog knows (a private extension or garbage)."),
            format!("{shown}：未知命令（私有扩展或无效输入）。"),
        ),
    }
}

/// What `ftpscope explain INPUT` prints: a code, a reply line, or a command.
pub fn input(s: &str, lang: Lang) -> String {
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() >= 3
        && b[..3].iter().all(u8::is_ascii_digit)
        && (b.len() == 3 || b[3] == b' ' || b[3] == b'-')
    {
        let code: u16 = t[..3].parse().unwrap_or(0);
        let text = if b.len() > 4 { &b[4..] } else { &[][..] };
        let ctx = Context::default();
        let mut out = format!("{code}: {}", reply(code, text, &ctx, lang));
        if catalog::reply(code).is_some() && !matches!(code, 227..=229) || b.len() <= 4 {
            // Keep the class meaning too, it helps with unlisted variants.
            out.push_str(&format!("\n  ({})", catalog::reply_class(code, lang)));
        }
        return out;
    }
    let (verb, arg) = match t.split_once(' ') {
        Some((v, a)) => (v, a),
        None => (t, ""),
    };
    let v = verb.to_ascii_uppercase();
    let mut out = format!("{}: {}", escape_str(&v), command(&v, arg.as_bytes(), lang));
    if let Some(e) = catalog::command(&v) {
        out.push_str(&format!(
            "\n  {}: {}   ({})",
            Ui::Syntax.text(lang),
            e.syntax,
            e.spec
        ));
    }
    out
}

/// Why `ftpscope explain` cannot explain an argument: the message says what was
/// wrong and what it takes instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot explain `{input}`: {why}")]
pub struct NotExplainable {
    /// The argument, escaped for display.
    pub input: String,
    pub why: String,
}

impl NotExplainable {
    /// The message in `lang` (its `Display` is the English one).
    pub fn message(&self, lang: Lang) -> String {
        let (input, why) = (&self.input, &self.why);
        tr!(
            "cannot explain `{input}`: {why}",
            "无法解释 `{input}`：{why}"
        )
        .get(lang)
        .to_string()
    }
}

/// What `explain` takes, for the hints.
pub const EXPLAIN_HINT: &str = "give a reply code (530), a reply line (\"227 Entering Passive Mode (10,0,0,5,4,1)\") or a command (PASV, \"PORT 10,0,0,5,4,1\")";
/// [`EXPLAIN_HINT`] in Chinese.
const EXPLAIN_HINT_ZH: &str = "请给出响应码（530）、响应行（\"227 Entering Passive Mode (10,0,0,5,4,1)\"）或命令（PASV，\"PORT 10,0,0,5,4,1\"）";

/// The arguments of `ftpscope explain`, as items to explain one by one: `530 425`
/// is two codes, `PASV EPSV` two commands, while `PORT 10,0,0,5,4,1` and
/// `227 Entering Passive Mode (...)` (unquoted) are one command and one reply line.
/// A number after a bare code, or a known verb (in capitals) after a command,
/// starts a new item; anything else continues the current one.
pub fn split_arguments(args: &[String]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for a in args {
        let t = a.trim();
        let starts_new = match items.last() {
            None => true,
            Some(cur) => {
                let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
                t.is_empty()
                    || cur.trim().is_empty()
                    || (digits(t) && digits(cur.trim()))
                    || (!cur.trim_start().starts_with(|c: char| c.is_ascii_digit())
                        && t.bytes().all(|b| b.is_ascii_uppercase())
                        && catalog::command(t).is_some())
            }
        };
        match items.last_mut() {
            Some(cur) if !starts_new => {
                cur.push(' ');
                cur.push_str(t);
            }
            _ => items.push(t.to_string()),
        }
    }
    items
}

/// Why a number is not a reply code, if it is not one: three digits, the first
/// 1 to 5 (6 for the protected replies of RFC 2228).
fn code_problem(digits: &str) -> Option<Tr> {
    let winsock = if digits.len() == 5 && (digits.starts_with("100") || digits.starts_with("110")) {
        tr!(
            " (numbers such as 10054 or 10060 are Windows socket errors on the client, e.g. connection reset or timed out, not FTP replies)",
            "（10054、10060 这类数字是客户端的 Windows 套接字错误，例如连接被重置或超时，不是 FTP 响应）"
        )
    } else {
        Tr::default()
    };
    if digits.len() != 3 {
        let n = digits.len();
        return Some(tr!(
            "FTP reply codes have three digits (220, 425, 530), this has {n}{winsock}",
            "FTP 响应码是三位数（220、425、530），这个有 {n} 位{winsock}";
            winsock = winsock
        ));
    }
    match digits.as_bytes()[0] {
        b'1'..=b'6' => None,
        _ => Some(tr!(
            "the first digit of an FTP reply code is 1 to 5 (1xx preliminary, 2xx done, 3xx more needed, 4xx transient failure, 5xx permanent failure; 6xx protected, RFC 2228)",
            "FTP 响应码的第一位是 1 到 5（1xx 初步响应，2xx 完成，3xx 需要更多信息，4xx 暂时失败，5xx 永久失败；6xx 受保护的响应，RFC 2228）"
        )),
    }
}

/// Six comma-separated numbers (PORT's argument, a 227 reply's address): what is
/// wrong with them, if anything.
/// `what` is `PORT` or a 227 reply.
fn six_numbers_problem(list: &str, port: bool) -> Option<Tr> {
    const NAMES: [&str; 6] = ["h1", "h2", "h3", "h4", "p1", "p2"];
    let what = if port {
        Tr::verbatim("PORT")
    } else {
        tr!("a 227 reply", "227 响应")
    };
    let parts: Vec<&str> = list.split(',').map(str::trim).collect();
    if parts.len() != 6 {
        let n = parts.len();
        return Some(tr!(
            "{what} takes six numbers h1,h2,h3,h4,p1,p2 (the IPv4 address, then the port as p1*256+p2); this has {n}",
            "{what} 需要六个数字 h1,h2,h3,h4,p1,p2（IPv4 地址，然后是端口 p1*256+p2）；这里有 {n} 个";
            what = what
        ));
    }
    let mut bad = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let (p, name) = (escape_str(p), NAMES[i]);
        match parts[i].parse::<u64>() {
            Ok(v) if parts[i].bytes().all(|b| b.is_ascii_digit()) && v <= 255 => {}
            Ok(_) if parts[i].bytes().all(|b| b.is_ascii_digit()) => bad.push(tr!(
                "{p} ({name}) is not a byte (0-255)",
                "{p}（{name}）不是一个字节（0-255）"
            )),
            _ => bad.push(tr!(
                "`{p}` ({name}) is not a number",
                "`{p}`（{name}）不是数字"
            )),
        }
    }
    if bad.is_empty() {
        None
    } else {
        let list = Tr::list(&bad);
        let then = if port {
            tr!(" (a server answers 501)", "（服务器会响应 501）")
        } else {
            tr!(" (a client cannot connect)", "（客户端无法连接）")
        };
        Some(tr!(
            "{list}: {what} cannot name an address with it{then}",
            "{list}：{what} 无法用它表示地址{then}";
            list = list,
            what = what,
            then = then
        ))
    }
}

/// The run of digits and commas in a 227 reply that should hold its address.
fn numbers_in_227(text: &str) -> Option<&str> {
    let body = match (text.find('('), text.rfind(')')) {
        (Some(a), Some(b)) if a < b => &text[a + 1..b],
        _ => text,
    };
    let start = body.find(|c: char| c.is_ascii_digit())?;
    let rest = &body[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == ' '))
        .unwrap_or(rest.len());
    let run = rest[..end].trim().trim_end_matches(',');
    run.contains(',').then_some(run)
}

/// Explain one item of `ftpscope explain` (see [`split_arguments`]), or say why it
/// cannot be explained. An address that cannot be read (`PORT 10,0,0,5,300,1`) is
/// explained with a `problem:` line naming the bad numbers.
pub fn explain_item(item: &str, lang: Lang) -> Result<String, NotExplainable> {
    let t = item.trim();
    let reject = |why: Tr| NotExplainable {
        input: escape_str(t),
        why: why.get(lang).to_string(),
    };
    let (hint, hint_zh) = (EXPLAIN_HINT, EXPLAIN_HINT_ZH);
    if t.is_empty() {
        return Err(reject(tr!(
            "nothing to explain; {hint}",
            "没有要解释的内容；{hint_zh}"
        )));
    }
    let head = t.split([' ', '-']).next().unwrap_or("");
    if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(why) = code_problem(head) {
            return Err(reject(why));
        }
        let mut out = input(t, lang);
        if t.starts_with("227") {
            let text = t.get(4..).unwrap_or("").trim();
            if !text.is_empty() && address::parse_227(text.as_bytes()).is_none() {
                let why = match numbers_in_227(text) {
                    Some(run) => six_numbers_problem(run, false),
                    None => Some(tr!(
                        "no address h1,h2,h3,h4,p1,p2 in the reply (a client cannot connect)",
                        "响应中没有地址 h1,h2,h3,h4,p1,p2（客户端无法连接）"
                    )),
                };
                if let Some(w) = why {
                    out.push_str(&format!("\n  {}: {}", Ui::Problem.text(lang), w.get(lang)));
                }
            }
        }
        return Ok(out);
    }
    let (verb, arg) = t.split_once([' ', '\t']).unwrap_or((t, ""));
    let v = verb.to_ascii_uppercase();
    if catalog::command(&v).is_none() {
        let looks_like_code = v.len() < 6 && v.bytes().any(|b| b.is_ascii_digit());
        let why = if looks_like_code {
            tr!(
                "not a reply code or a command; {hint}",
                "不是响应码也不是命令；{hint_zh}"
            )
        } else {
            let v = escape_str(&v);
            tr!(
                "{v} is not an FTP command ftpscope knows; {hint}",
                "{v} 不是 ftpscope 认识的 FTP 命令；{hint_zh}"
            )
        };
        return Err(reject(why));
    }
    let mut out = input(t, lang);
    let arg = arg.trim();
    let problem = match v.as_str() {
        "PORT" if !arg.is_empty() && address::parse_port_arg(arg.as_bytes()).is_none() => {
            six_numbers_problem(arg, true)
        }
        "EPRT" if !arg.is_empty() && address::parse_eprt(arg.as_bytes()).is_none() => Some(tr!(
            "the argument is not |1|IPv4|port| or |2|IPv6|port| with a valid address and a port of 0-65535 (a server answers 501)",
            "参数不是带有效地址和 0-65535 端口的 |1|IPv4|port| 或 |2|IPv6|port|（服务器会响应 501）"
        )),
        "LPRT" if !arg.is_empty() && address::parse_lprt(arg.as_bytes()).is_none() => Some(tr!(
            "the argument is not af,hal,h1,...,pal,p1,p2 with numbers of 0-255 (a server answers 501)",
            "参数不是由 0-255 的数字组成的 af,hal,h1,...,pal,p1,p2（服务器会响应 501）"
        )),
        _ => None,
    };
    if let Some(p) = problem {
        out.push_str(&format!("\n  {}: {}", Ui::Problem.text(lang), p.get(lang)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_rejects_what_it_cannot_explain() {
        for bad in [
            "", "  ", "999", "5301", "22", "099", "10054", "FOOBAR", "530x",
        ] {
            let e = explain_item(bad, Lang::En).unwrap_err();
            assert!(!e.why.is_empty(), "{bad}");
        }
        assert!(
            explain_item("5301", Lang::En)
                .unwrap_err()
                .why
                .contains("three digits")
        );
        assert!(
            explain_item("10054", Lang::En)
                .unwrap_err()
                .why
                .contains("Windows")
        );
        for good in [
            "530",
            "226 Transfer complete.",
            "PASV",
            "site chmod 644 x",
            "631 abc",
        ] {
            assert!(explain_item(good, Lang::En).is_ok(), "{good}");
        }
    }

    #[test]
    fn explain_flags_numbers_that_are_not_bytes() {
        let s = explain_item("PORT 10,0,0,5,300,1", Lang::En).unwrap();
        assert!(s.contains("problem: 300 (p1) is not a byte"), "{s}");
        let s = explain_item("227 Entering Passive Mode (10,0,0,256,4,1)", Lang::En).unwrap();
        assert!(s.contains("256 (h4) is not a byte"), "{s}");
        let s = explain_item("PORT 10,0,0,5,4", Lang::En).unwrap();
        assert!(s.contains("this has 5"), "{s}");
        let s = explain_item("PORT 10,0,0,5,4,1", Lang::En).unwrap();
        assert!(!s.contains("problem"), "{s}");
        let s = explain_item("227", Lang::En).unwrap();
        assert!(!s.contains("problem"), "{s}");
        let s = explain_item("EPRT |1|10.0.0.300|5000|", Lang::En).unwrap();
        assert!(s.contains("problem:"), "{s}");
    }

    #[test]
    fn explain_splits_its_arguments() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(split_arguments(&v(&["530", "425"])), v(&["530", "425"]));
        assert_eq!(split_arguments(&v(&["PASV", "EPSV"])), v(&["PASV", "EPSV"]));
        assert_eq!(
            split_arguments(&v(&["PORT", "10,0,0,5,4,1"])),
            v(&["PORT 10,0,0,5,4,1"])
        );
        assert_eq!(split_arguments(&v(&["REST", "500"])), v(&["REST 500"]));
        assert_eq!(
            split_arguments(&v(&["227", "Entering", "Passive", "Mode", "(1,2,3,4,5,6)"])),
            v(&["227 Entering Passive Mode (1,2,3,4,5,6)"])
        );
        assert_eq!(split_arguments(&v(&["530", ""])), v(&["530", ""]));
    }

    /// Regression (fuzz target `reply_stream`): a non-ASCII character right before
    /// the number of a 150 reply made `bytes_in_150` slice inside that character.
    #[test]
    fn bytes_in_150_after_multibyte_char_does_not_panic() {
        assert_eq!(bytes_in_150("for f\u{e9}123 bytes".as_bytes()), Some(123));
        assert_eq!(bytes_in_150(b"for f (12\xff\xfe4672 bytes)"), Some(4672));
        assert_eq!(bytes_in_150("データ bytes".as_bytes()), None);
        assert_eq!(
            bytes_in_150(b"Opening BINARY mode data connection for f (1234 bytes)"),
            Some(1234)
        );
        let s = reply(
            150,
            "x\u{fffd}9 bytes".as_bytes(),
            &Context::default(),
            Lang::En,
        );
        assert!(s.contains("9 bytes"), "{s}");
    }

    /// Regression (fuzz target `reply_stream`): a 213 reply to MDTM with a
    /// multi-byte character across byte 14 made the date check slice inside it.
    #[test]
    fn mdtm_reply_with_multibyte_char_does_not_panic() {
        let ctx = Context {
            verb: Some("MDTM"),
            arg: b"f",
            server_ip: None,
        };
        for text in [
            "2024010112000\u{e9}",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}x",
            "20240101120000\u{e9}",
        ] {
            let _ = reply(213, text.as_bytes(), &ctx, Lang::En);
        }
        let s = reply(213, b"20240101120000", &ctx, Lang::En);
        assert!(s.contains("2024-01-01 12:00:00 UTC"), "{s}");
    }

    #[test]
    fn classic_227_is_decoded() {
        let s = reply(
            227,
            b"Entering Passive Mode (60,165,133,154,13,31)",
            &Context::default(),
            Lang::En,
        );
        assert!(s.contains("60.165.133.154:3359"), "{s}");
        assert!(s.contains("13*256+31"), "{s}");
        let z = reply(
            227,
            b"Entering Passive Mode (60,165,133,154,13,31)",
            &Context::default(),
            Lang::Zh,
        );
        assert!(z.contains("被动模式") && z.contains("3359"), "{z}");
    }

    #[test]
    fn context_changes_meaning() {
        let ctx = Context {
            verb: Some("PASS"),
            ..Default::default()
        };
        assert!(
            reply(530, b"Login incorrect.", &ctx, Lang::En).contains("wrong user name or password")
        );
        let ctx = Context {
            verb: Some("LIST"),
            ..Default::default()
        };
        assert!(reply(530, b"Please login", &ctx, Lang::En).contains("Not logged in"));
        assert!(
            reply(425, b"", &Context::default(), Lang::En)
                .to_lowercase()
                .contains("data connection")
        );
        let ctx = Context {
            verb: Some("SIZE"),
            arg: b"a.bin",
            ..Default::default()
        };
        assert!(reply(213, b"1048576", &ctx, Lang::En).contains("1048576 bytes"));
    }

    #[test]
    fn helpers() {
        assert_eq!(
            bytes_in_150(b"Opening BINARY mode data connection for a.bin (204800 bytes)."),
            Some(204800)
        );
        assert_eq!(bytes_in_150(b"Here comes the directory listing."), None);
        assert_eq!(
            path_in_257(b"\"/home/a \"\"q\"\"\" is the current directory"),
            Some(b"/home/a \"q\"".to_vec())
        );
    }

    #[test]
    fn explain_input_forms() {
        assert!(input("530", Lang::En).starts_with("530:"));
        assert!(input("EPRT", Lang::En).contains("RFC 2428"));
        assert!(
            input("227 Entering Passive Mode (60,165,133,154,13,31)", Lang::En).contains("3359")
        );
        assert!(input("FOOBAR", Lang::En).contains("not a command"));
        assert!(input("site chmod 644 x", Lang::En).contains("SITE CHMOD"));
    }
}
