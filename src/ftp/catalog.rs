//! Catalog of FTP knowledge: every command verb and every reply code that
//! ftpscope knows, each with a one-line explanation in plain English and in
//! Simplified Chinese, plus the generic meaning of reply-code digits and the
//! common `SITE` subcommands.
//!
//! The module is pure data: no I/O, no allocation on lookup (except
//! [`reply_class`], which formats a sentence), and only `std`.
//!
//! Sources (all texts are paraphrased, not quoted):
//! - RFC 959 (base protocol: commands, reply codes, reply-code digit meanings in section 4.2),
//!   with the clarifications of RFC 1123;
//! - RFC 765 (obsolete mail commands still listed by some servers' `HELP`);
//! - RFC 775 (the experimental `X` directory commands);
//! - RFC 1639 (`LPRT`/`LPSV`, reply 228);
//! - RFC 2228 (security extensions: `AUTH`, `ADAT`, `PROT`, `PBSZ`, `CCC`, `MIC`, `CONF`, `ENC`
//!   and their replies) and RFC 4217 (FTP over TLS);
//! - RFC 2389 (`FEAT`/`OPTS`), RFC 2428 (`EPRT`/`EPSV`, replies 229 and 522),
//!   RFC 2640 (`LANG`), RFC 3659 (`MDTM`, `SIZE`, `MLST`, `MLSD`, `REST` in stream mode),
//!   RFC 7151 (`HOST`);
//! - Internet-Drafts widely implemented by servers: draft-somers-ftp-mfxx (`MFMT`, `MFCT`, `MFF`),
//!   draft-bryan-ftpext-hash (`HASH`), draft-bryan-ftp-range (`RANG`), draft-twine-ftpmd5
//!   (`MD5`, `MMD5`), draft-peterson-streamlined-ftp-command-extensions
//!   (`AVBL`, `CSID`, `DSIZ`, `RMDA`, `THMB`), draft-dd-pret (`PRET`, from the
//!   distributed servers DrFTPD and glFTPd; also in pure-ftpd, lftp and FileZilla);
//! - server documentation (wu-ftpd, ProFTPD, Microsoft IIS, IBM z/OS) for the
//!   non-standard commands and `SITE` subcommands.
//!
//! The command and reply tables are sorted (by verb, by code) without
//! duplicates; unit tests at the bottom of the file check this.

use std::fmt::Write as _;

/// Language of the explanation texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

/// One FTP command verb.
#[derive(Debug)]
pub struct CommandEntry {
    /// Upper-case verb, e.g. `"EPRT"`.
    pub verb: &'static str,
    /// Where it is defined, e.g. `"RFC 2428"` or `"common extension"`.
    pub spec: &'static str,
    /// Usage, e.g. `"EPRT |proto|address|port|"`.
    pub syntax: &'static str,
    /// One-line explanation in English.
    pub en: &'static str,
    /// One-line explanation in Simplified Chinese.
    pub zh: &'static str,
    /// Broad category of the command.
    pub kind: CommandKind,
}

/// Broad category of an FTP command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// Login, logout and working-directory commands (USER, PASS, CWD, QUIT...).
    AccessControl,
    /// Commands that set up the data connection endpoint (PASV EPSV PORT EPRT LPRT LPSV...).
    DataSetup,
    /// Commands that move data over the data connection (RETR STOR STOU APPE LIST NLST MLSD...).
    Transfer,
    /// Commands that change files or directories on the server (DELE, MKD, RNFR...).
    FileAction,
    /// Commands that ask for information on the control connection (PWD, SIZE, FEAT...).
    Info,
    /// Security commands of RFC 2228 / RFC 4217 (AUTH, PROT, PBSZ...).
    Security,
    /// Everything else (TYPE, MODE, REST, OPTS, SITE, NOOP...).
    Other,
}

/// One FTP reply code.
#[derive(Debug)]
pub struct ReplyEntry {
    /// Three-digit reply code.
    pub code: u16,
    /// Where it is defined, e.g. `"RFC 959"`.
    pub spec: &'static str,
    /// One-line explanation in English.
    pub en: &'static str,
    /// One-line explanation in Simplified Chinese.
    pub zh: &'static str,
}

impl CommandEntry {
    /// The explanation in the requested language.
    pub fn text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

impl ReplyEntry {
    /// The explanation in the requested language.
    pub fn text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

/// Looks up a command verb, ignoring ASCII case and surrounding whitespace.
pub fn command(verb: &str) -> Option<&'static CommandEntry> {
    command_exact(verb.trim())
}

/// The longest verb of the catalog fits in this many bytes (a test checks).
const LONGEST_VERB: usize = 8;

/// Looks up a verb as given (no trimming), ignoring ASCII case: the verb packed
/// upper-cased into an integer and searched among the catalog's, packed the same
/// way (big-endian and zero-padded, so the integers sort as the verbs do).
pub fn command_exact(verb: &str) -> Option<&'static CommandEntry> {
    let key = pack_verb(verb.as_bytes())?;
    let keys = &*VERB_KEYS;
    keys.binary_search(&key).ok().map(|i| &COMMANDS[i])
}

/// A verb of at most [`LONGEST_VERB`] bytes, none of them NUL, upper-cased and
/// packed; None for anything else (no catalog verb is like that).
fn pack_verb(v: &[u8]) -> Option<u64> {
    if v.len() > LONGEST_VERB || v.contains(&0) {
        return None;
    }
    let mut buf = [0u8; LONGEST_VERB];
    buf[..v.len()].copy_from_slice(v);
    Some(ascii_upper8(u64::from_be_bytes(buf)))
}

/// Each byte of `x` from `a` to `z` upper-cased, all eight at once; every other
/// byte (non-ASCII ones too) unchanged.
fn ascii_upper8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The low seven bits of each byte: adding at most 0x1f cannot carry out of it.
    let low7 = x & !HIGH;
    let from_a = low7 + ONES * (0x80 - b'a' as u64);
    let past_z = low7 + ONES * (0x80 - (b'z' as u64 + 1));
    let lower = from_a & !past_z & !x & HIGH;
    x - (lower >> 2)
}

/// The catalog's verbs packed by [`pack_verb`], in the catalog's order.
static VERB_KEYS: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
    COMMANDS
        .iter()
        .map(|e| pack_verb(e.verb.as_bytes()).expect("catalog verbs fit"))
        .collect()
});

/// Looks up an exact reply code.
pub fn reply(code: u16) -> Option<&'static ReplyEntry> {
    REPLIES
        .binary_search_by_key(&code, |e| e.code)
        .ok()
        .map(|i| &REPLIES[i])
}

/// Looks up a `SITE` subcommand (e.g. `"CHMOD"`), ignoring ASCII case and
/// surrounding whitespace; returns the `(en, zh)` explanations.
pub fn site_command(sub: &str) -> Option<(&'static str, &'static str)> {
    let sub = sub.trim();
    SITE_COMMANDS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(sub))
        .map(|&(_, en, zh)| (en, zh))
}

/// Generic meaning of a reply code from its first two digits (RFC 959 section 4.2,
/// RFC 2228 for 6yz). Works for any code; codes that are in the table are
/// introduced as "Reply NNN", others as "Unlisted reply NNN". Codes outside
/// 100..=699 get a "not a valid FTP reply code" explanation.
pub fn reply_class(code: u16, lang: Lang) -> String {
    let mut out = String::new();
    if !(100..=699).contains(&code) {
        match lang {
            Lang::En => {
                let _ = write!(
                    out,
                    "{code} is not a valid FTP reply code: FTP replies are three-digit numbers from 100 to 699 whose first digit tells success or failure."
                );
                if code >= 10000 {
                    out.push_str(" Numbers such as 10054 or 10060 are usually Windows socket (Winsock) errors on the client, e.g. connection reset or connection timed out, not FTP replies.");
                }
            }
            Lang::Zh => {
                let _ = write!(
                    out,
                    "{code} 不是有效的 FTP 应答码：FTP 应答码是 100 到 699 之间的三位数字，首位数字表示成功或失败。"
                );
                if code >= 10000 {
                    out.push_str("像 10054、10060 这样的数字通常是客户端的 Windows 套接字（Winsock）错误，例如连接被重置或连接超时，而不是 FTP 应答。");
                }
            }
        }
        return out;
    }

    let first = code / 100;
    let second = (code / 10) % 10;
    let listed = reply(code).is_some();

    let (class_en, class_zh, detail_en, detail_zh) = match first {
        1 => (
            "positive preliminary",
            "肯定预备应答",
            "The action has started; another reply will follow before the next command should be sent.",
            "操作已经开始，在发送下一条命令之前还会再收到一条应答。",
        ),
        2 => (
            "positive completion",
            "肯定完成应答",
            "The requested action finished successfully.",
            "请求的操作已成功完成。",
        ),
        3 => (
            "positive intermediate",
            "肯定中间应答",
            "The command was accepted but the server needs another command with more information.",
            "命令已被接受，但服务器还需要下一条命令提供更多信息。",
        ),
        4 => (
            "transient negative completion",
            "暂时性否定完成应答",
            "The action was not done, but the problem is temporary; retrying later may work.",
            "操作没有执行，但问题是暂时的，稍后重试可能成功。",
        ),
        5 => (
            "permanent negative completion",
            "永久性否定完成应答",
            "The action was not done, and repeating the same command unchanged will fail again.",
            "操作没有执行，原样重发同一命令仍会失败。",
        ),
        _ => (
            "protected reply (RFC 2228)",
            "受保护应答（RFC 2228）",
            "The real reply is carried inside, base64-encoded and protected by the security mechanism, and must be decoded first.",
            "真正的应答经安全机制保护并以 base64 编码放在其中，需要先解码才能读懂。",
        ),
    };

    let group = match second {
        0 => Some(("about syntax", "涉及语法")),
        1 => Some(("about information", "涉及信息")),
        2 => Some((
            "about the control or data connection",
            "涉及控制连接或数据连接",
        )),
        3 => Some(("about authentication and accounting", "涉及身份验证和账户")),
        4 => Some((
            "with no assigned category (x4z is unspecified)",
            "类别未指定（x4z 尚未分配含义）",
        )),
        5 => Some(("about the file system", "涉及文件系统")),
        _ => None,
    };

    match lang {
        Lang::En => {
            let prefix = if listed { "Reply" } else { "Unlisted reply" };
            match group {
                Some((g, _)) => {
                    let _ = write!(out, "{prefix} {code}: {class_en}, {g}. {detail_en}");
                }
                None => {
                    let _ = write!(
                        out,
                        "{prefix} {code}: {class_en}; its second digit {second} has no standard meaning. {detail_en}"
                    );
                }
            }
        }
        Lang::Zh => {
            let prefix = if listed {
                "应答码"
            } else {
                "未收录的应答码"
            };
            match group {
                Some((_, g)) => {
                    let _ = write!(out, "{prefix} {code}：{class_zh}，{g}。{detail_zh}");
                }
                None => {
                    let _ = write!(
                        out,
                        "{prefix} {code}：{class_zh}；第二位数字 {second} 没有标准含义。{detail_zh}"
                    );
                }
            }
        }
    }
    out
}

/// All known commands, sorted by verb.
pub fn commands() -> &'static [CommandEntry] {
    COMMANDS
}

/// All known reply codes, sorted by code.
pub fn replies() -> &'static [ReplyEntry] {
    REPLIES
}

const fn cmd(
    verb: &'static str,
    spec: &'static str,
    kind: CommandKind,
    syntax: &'static str,
    en: &'static str,
    zh: &'static str,
) -> CommandEntry {
    CommandEntry {
        verb,
        spec,
        syntax,
        en,
        zh,
        kind,
    }
}

const fn rep(code: u16, spec: &'static str, en: &'static str, zh: &'static str) -> ReplyEntry {
    ReplyEntry { code, spec, en, zh }
}

use CommandKind::{AccessControl, DataSetup, FileAction, Info, Other, Security, Transfer};

const STREAMLINED: &str = "draft-peterson-streamlined-ftp-command-extensions";
const MFXX: &str = "draft-somers-ftp-mfxx";
const PRET: &str = "draft-dd-pret";
const MD5_DRAFT: &str = "draft-twine-ftpmd5";

static COMMANDS: &[CommandEntry] = &[
    cmd(
        "ABOR",
        "RFC 959",
        Other,
        "ABOR",
        "Abort the previous command and any data transfer still running; the server closes the data connection.",
        "中止上一条命令及仍在进行的数据传输，服务器会关闭数据连接。",
    ),
    cmd(
        "ACCT",
        "RFC 959",
        AccessControl,
        "ACCT account-information",
        "Send account information, which some servers require to log in or to store files.",
        "发送账户信息，部分服务器在登录或存储文件时要求提供。",
    ),
    cmd(
        "ADAT",
        "RFC 2228",
        Security,
        "ADAT base64-data",
        "Carry base64-encoded security data for the mechanism chosen with AUTH (e.g. Kerberos/GSSAPI tokens).",
        "传送经 base64 编码的安全数据，供 AUTH 选定的安全机制使用（如 Kerberos/GSSAPI 令牌）。",
    ),
    cmd(
        "ALLO",
        "RFC 959",
        Other,
        "ALLO size [R record-size]",
        "Ask the server to reserve enough space for a file about to be uploaded; most servers do not need it and reply 202.",
        "请求服务器为即将上传的文件预留足够空间；大多数服务器不需要此命令，会返回 202。",
    ),
    cmd(
        "APPE",
        "RFC 959",
        Transfer,
        "APPE pathname",
        "Upload data over the data connection and add it to the end of the named file, creating the file if it does not exist.",
        "通过数据连接上传数据并追加到指定文件末尾，文件不存在时会新建。",
    ),
    cmd(
        "AUTH",
        "RFC 2228",
        Security,
        "AUTH mechanism",
        "Start security negotiation with the named mechanism, e.g. AUTH TLS for explicit FTPS (RFC 4217) or AUTH GSSAPI.",
        "以指定机制开始安全协商，例如 AUTH TLS（显式 FTPS，RFC 4217）或 AUTH GSSAPI。",
    ),
    cmd(
        "AVBL",
        STREAMLINED,
        Info,
        "AVBL [pathname]",
        "Ask how many bytes of storage are still available to the user (in the given directory).",
        "查询用户（在指定目录下）还可使用的存储空间字节数。",
    ),
    cmd(
        "CCC",
        "RFC 2228",
        Security,
        "CCC",
        "Clear Command Channel: return the control connection to plain text after TLS was set up, e.g. so NAT firewalls can read PORT/PASV.",
        "清除命令通道：在建立 TLS 之后把控制连接恢复为明文，例如让 NAT 防火墙能够识别 PORT/PASV。",
    ),
    cmd(
        "CDUP",
        "RFC 959",
        AccessControl,
        "CDUP",
        "Change to the parent of the current working directory.",
        "切换到当前工作目录的上一级目录。",
    ),
    cmd(
        "CLNT",
        "common extension",
        Other,
        "CLNT client-name",
        "Tell the server the name and version of the client software; informational only.",
        "告诉服务器客户端软件的名称和版本，仅供参考。",
    ),
    cmd(
        "CONF",
        "RFC 2228",
        Security,
        "CONF base64-data",
        "Send a command protected for confidentiality only (encrypted but not integrity-checked), base64-encoded.",
        "发送仅做机密性保护（加密但不校验完整性）并经 base64 编码的命令。",
    ),
    cmd(
        "CSID",
        STREAMLINED,
        Info,
        "CSID Name=client-name; Version=x.y;",
        "Exchange identification (name, version, vendor) between client and server.",
        "在客户端与服务器之间交换标识信息（名称、版本、厂商等）。",
    ),
    cmd(
        "CWD",
        "RFC 959",
        AccessControl,
        "CWD pathname",
        "Change the working directory on the server.",
        "切换服务器上的当前工作目录。",
    ),
    cmd(
        "DELE",
        "RFC 959",
        FileAction,
        "DELE pathname",
        "Delete the named file on the server.",
        "删除服务器上的指定文件。",
    ),
    cmd(
        "DSIZ",
        STREAMLINED,
        Info,
        "DSIZ [pathname]",
        "Ask for the total size of a directory and everything below it.",
        "查询某个目录及其下所有内容的总大小。",
    ),
    cmd(
        "ENC",
        "RFC 2228",
        Security,
        "ENC base64-data",
        "Send a command protected for both confidentiality and integrity (private), base64-encoded.",
        "发送同时做机密性和完整性保护（私密级别）并经 base64 编码的命令。",
    ),
    cmd(
        "EPRT",
        "RFC 2428",
        DataSetup,
        "EPRT |proto|address|port|",
        "Tell the server the address and port to connect to for the next data transfer (active mode, IPv4 or IPv6); proto 1 is IPv4, 2 is IPv6.",
        "告诉服务器下一次数据传输要连接的地址和端口（主动模式，支持 IPv4 和 IPv6）；proto 为 1 表示 IPv4，2 表示 IPv6。",
    ),
    cmd(
        "EPSV",
        "RFC 2428",
        DataSetup,
        "EPSV [proto|ALL]",
        "Ask the server to listen for the data connection and reply 229 with only the port (extended passive mode, fine for IPv6 and NAT); EPSV ALL rules out PORT/PASV afterwards.",
        "要求服务器监听数据连接并以 229 应答只返回端口号（扩展被动模式，适合 IPv6 和 NAT 环境）；EPSV ALL 表示之后不再使用 PORT/PASV 等命令。",
    ),
    cmd(
        "FEAT",
        "RFC 2389",
        Info,
        "FEAT",
        "Ask the server to list the extensions it supports (multi-line reply 211, one feature per line).",
        "请求服务器列出其支持的扩展功能（多行 211 应答，每行一个功能）。",
    ),
    cmd(
        "HASH",
        "draft-bryan-ftpext-hash",
        Info,
        "HASH pathname",
        "Ask the server for a hash of a file; the algorithm (SHA-1, SHA-256, MD5...) is chosen with OPTS HASH.",
        "请求服务器计算文件的哈希值，算法（SHA-1、SHA-256、MD5 等）通过 OPTS HASH 选择。",
    ),
    cmd(
        "HELP",
        "RFC 959",
        Info,
        "HELP [command]",
        "Ask for help text, in general or about one command (reply 214 or 211).",
        "请求帮助信息，可以是总体说明或某条命令的用法（应答 214 或 211）。",
    ),
    cmd(
        "HOST",
        "RFC 7151",
        AccessControl,
        "HOST hostname",
        "Name the virtual host wanted before logging in, so that one IP address can serve several FTP sites.",
        "在登录之前指定要访问的虚拟主机，使同一 IP 地址可以提供多个 FTP 站点。",
    ),
    cmd(
        "LANG",
        "RFC 2640",
        Other,
        "LANG [language-tag]",
        "Choose the language of the server's reply texts (e.g. LANG zh-CN); without an argument, go back to the default.",
        "选择服务器应答文本的语言（例如 LANG zh-CN）；不带参数则恢复默认语言。",
    ),
    cmd(
        "LIST",
        "RFC 959",
        Transfer,
        "LIST [pathname]",
        "Send a human-readable listing of a directory or file over the data connection; the format depends on the server.",
        "通过数据连接发送目录或文件的列表，供人阅读，格式由服务器决定。",
    ),
    cmd(
        "LPRT",
        "RFC 1639",
        DataSetup,
        "LPRT af,hal,h1,...,pal,p1,...",
        "Long PORT: give the server an address of any family (with its length) and a port to connect to for the data transfer (active mode).",
        "长格式 PORT：向服务器提供任意地址族的地址（附带长度）和端口，供其连接进行数据传输（主动模式）。",
    ),
    cmd(
        "LPSV",
        "RFC 1639",
        DataSetup,
        "LPSV",
        "Long PASV: ask the server to listen for the data connection and reply 228 with an address of any family and a port.",
        "长格式 PASV：要求服务器监听数据连接，并以 228 应答返回任意地址族的地址和端口。",
    ),
    cmd(
        "MAIL",
        "RFC 765 (obsolete)",
        Other,
        "MAIL [user]",
        "Obsolete: send mail to a user, the message text following on the control connection; dropped in RFC 959.",
        "已废弃：向用户发送邮件，邮件正文随后在控制连接上发送；RFC 959 已将其删除。",
    ),
    cmd(
        "MD5",
        MD5_DRAFT,
        Info,
        "MD5 pathname",
        "Ask the server for the MD5 checksum of a file.",
        "请求服务器返回文件的 MD5 校验值。",
    ),
    cmd(
        "MDTM",
        "RFC 3659",
        Info,
        "MDTM pathname",
        "Ask for a file's last modification time; the reply is 213 YYYYMMDDHHMMSS[.sss] in UTC.",
        "查询文件的最后修改时间，应答为 213 YYYYMMDDHHMMSS[.sss]（UTC 时间）。",
    ),
    cmd(
        "MFCT",
        MFXX,
        FileAction,
        "MFCT YYYYMMDDHHMMSS pathname",
        "Set a file's creation time (UTC) on the server.",
        "设置服务器上文件的创建时间（UTC）。",
    ),
    cmd(
        "MFF",
        MFXX,
        FileAction,
        "MFF fact=value;... pathname",
        "Change file facts (such as modify time, create time or permissions) written in MLST fact syntax.",
        "以 MLST 事实（fact）的写法修改文件属性，如修改时间、创建时间或权限。",
    ),
    cmd(
        "MFMT",
        MFXX,
        FileAction,
        "MFMT YYYYMMDDHHMMSS pathname",
        "Set a file's last modification time (UTC) on the server, e.g. to keep the original time after an upload.",
        "设置服务器上文件的最后修改时间（UTC），例如上传后保留原始时间。",
    ),
    cmd(
        "MIC",
        "RFC 2228",
        Security,
        "MIC base64-data",
        "Send an integrity-protected command (signed but not encrypted), base64-encoded.",
        "发送做完整性保护（签名但不加密）并经 base64 编码的命令。",
    ),
    cmd(
        "MKD",
        "RFC 959",
        FileAction,
        "MKD pathname",
        "Create a directory; the 257 reply gives its path in double quotes.",
        "创建目录，257 应答中用双引号给出其路径。",
    ),
    cmd(
        "MLFL",
        "RFC 765 (obsolete)",
        Other,
        "MLFL [user]",
        "Obsolete: mail a file to a user, the content arriving over the data connection; dropped in RFC 959.",
        "已废弃：把通过数据连接收到的内容作为邮件发给用户；RFC 959 已将其删除。",
    ),
    cmd(
        "MLSD",
        "RFC 3659",
        Transfer,
        "MLSD [pathname]",
        "Send a machine-readable directory listing over the data connection, one entry per line with facts such as type, size and modify.",
        "通过数据连接发送机器可读的目录列表，每行一个条目，带有 type、size、modify 等事实。",
    ),
    cmd(
        "MLST",
        "RFC 3659",
        Info,
        "MLST [pathname]",
        "Return machine-readable facts about one file or directory on the control connection (reply 250).",
        "在控制连接上返回单个文件或目录的机器可读信息（应答 250）。",
    ),
    cmd(
        "MMD5",
        MD5_DRAFT,
        Info,
        "MMD5 pathname, pathname, ...",
        "Ask for the MD5 checksums of several files in one command.",
        "用一条命令请求多个文件的 MD5 校验值。",
    ),
    cmd(
        "MODE",
        "RFC 959",
        Other,
        "MODE S|B|C",
        "Set the transfer mode: S stream (default, used almost everywhere), B block, C compressed; some servers also offer Z (zlib).",
        "设置传输模式：S 流模式（默认，几乎都使用它）、B 块模式、C 压缩模式；部分服务器还支持 Z（zlib 压缩）。",
    ),
    cmd(
        "MRCP",
        "RFC 765 (obsolete)",
        Other,
        "MRCP user",
        "Obsolete: name one recipient of mail being sent through FTP; dropped in RFC 959.",
        "已废弃：为经 FTP 发送的邮件指定一位收件人；RFC 959 已将其删除。",
    ),
    cmd(
        "MRSQ",
        "RFC 765 (obsolete)",
        Other,
        "MRSQ [scheme]",
        "Obsolete: agree on how mail recipients will be given (mail recipient scheme question); dropped in RFC 959.",
        "已废弃：协商邮件收件人的指定方式（收件人方案询问）；RFC 959 已将其删除。",
    ),
    cmd(
        "MSAM",
        "RFC 765 (obsolete)",
        Other,
        "MSAM [user]",
        "Obsolete: send a message to a user's terminal and also to the mailbox; dropped in RFC 959.",
        "已废弃：把消息同时发送到用户的终端和邮箱；RFC 959 已将其删除。",
    ),
    cmd(
        "MSND",
        "RFC 765 (obsolete)",
        Other,
        "MSND [user]",
        "Obsolete: send a message to a user's terminal instead of the mailbox; dropped in RFC 959.",
        "已废弃：把消息发送到用户的终端而不是邮箱；RFC 959 已将其删除。",
    ),
    cmd(
        "MSOM",
        "RFC 765 (obsolete)",
        Other,
        "MSOM [user]",
        "Obsolete: send a message to a user's terminal, or to the mailbox if that is not possible; dropped in RFC 959.",
        "已废弃：把消息发送到用户的终端，无法送达时改发到邮箱；RFC 959 已将其删除。",
    ),
    cmd(
        "NLST",
        "RFC 959",
        Transfer,
        "NLST [pathname]",
        "Send a bare list of names (one per line) over the data connection, meant for programs such as mget.",
        "通过数据连接发送只含文件名的列表（每行一个），供程序（如 mget）处理。",
    ),
    cmd(
        "NOOP",
        "RFC 959",
        Other,
        "NOOP",
        "Do nothing except answer 200; used as a keep-alive so an idle session is not timed out.",
        "不执行任何操作，只返回 200；常用作保活，防止会话因空闲超时被断开。",
    ),
    cmd(
        "OPTS",
        "RFC 2389",
        Other,
        "OPTS command [options]",
        "Set options for another command, e.g. OPTS UTF8 ON to use UTF-8 file names, or OPTS MLST type;size; to choose MLST facts.",
        "设置其他命令的选项，例如 OPTS UTF8 ON 启用 UTF-8 文件名，或 OPTS MLST type;size; 选择 MLST 返回的事实。",
    ),
    cmd(
        "PASS",
        "RFC 959",
        AccessControl,
        "PASS password",
        "Send the user's password after USER; it travels in clear text unless the session is protected with TLS.",
        "在 USER 之后发送用户密码；若会话未用 TLS 保护，密码以明文传输。",
    ),
    cmd(
        "PASV",
        "RFC 959",
        DataSetup,
        "PASV",
        "Ask the server to listen on a port for the data connection (passive mode); the 227 reply gives the IPv4 address and port to connect to.",
        "要求服务器在某个端口上监听数据连接（被动模式）；227 应答给出客户端应连接的 IPv4 地址和端口。",
    ),
    cmd(
        "PBSZ",
        "RFC 2228",
        Security,
        "PBSZ size",
        "Set the protection buffer size; with TLS (RFC 4217) it is always PBSZ 0, sent before PROT.",
        "设置保护缓冲区大小；使用 TLS（RFC 4217）时固定为 PBSZ 0，须在 PROT 之前发送。",
    ),
    cmd(
        "PORT",
        "RFC 959",
        DataSetup,
        "PORT h1,h2,h3,h4,p1,p2",
        "Tell the server which IPv4 address and port to connect to for the data transfer (active mode); the port is p1*256+p2.",
        "告诉服务器数据传输时要连接的 IPv4 地址和端口（主动模式）；端口号 = p1*256+p2。",
    ),
    cmd(
        "PRET",
        PRET,
        DataSetup,
        "PRET RETR|STOR|LIST|... [argument]",
        "Tell the server which transfer command comes next, before PASV or EPSV, so a server spread over several machines can listen where that file is; the reply is 200 (lftp and FileZilla send it to servers that list it in FEAT).",
        "在 PASV 或 EPSV 之前告诉服务器接下来要执行的传输命令，使分布在多台机器上的服务器能在存放该文件的机器上监听；应答为 200（lftp 和 FileZilla 会向在 FEAT 中列出它的服务器发送）。",
    ),
    cmd(
        "PROT",
        "RFC 2228",
        Security,
        "PROT C|S|E|P",
        "Set the data connection protection level: C clear, S safe (integrity), E confidential, P private; with TLS, P means an encrypted data connection.",
        "设置数据连接的保护级别：C 明文、S 完整性保护、E 机密、P 私密；使用 TLS 时 P 表示加密的数据连接。",
    ),
    cmd(
        "PWD",
        "RFC 959",
        Info,
        "PWD",
        "Show the current working directory; the 257 reply gives the path in double quotes.",
        "显示当前工作目录，257 应答中用双引号给出路径。",
    ),
    cmd(
        "QUIT",
        "RFC 959",
        AccessControl,
        "QUIT",
        "Log out and close the control connection (once any transfer in progress has finished).",
        "注销并关闭控制连接（如有正在进行的传输，会等其结束后再关闭）。",
    ),
    cmd(
        "RANG",
        "draft-bryan-ftp-range",
        Other,
        "RANG start end",
        "Limit the next transfer to a byte range (start to end) for partial downloads or uploads.",
        "把下一次传输限定在某个字节范围（start 到 end），用于部分下载或上传。",
    ),
    cmd(
        "REIN",
        "RFC 959",
        AccessControl,
        "REIN",
        "Reinitialize: log the user out and reset the session to its just-connected state, keeping the control connection open.",
        "重新初始化：注销用户并把会话重置为刚连接时的状态，控制连接保持打开。",
    ),
    cmd(
        "REST",
        "RFC 959, RFC 3659",
        Other,
        "REST marker",
        "Set the restart point for the next RETR/STOR/APPE; in stream mode (RFC 3659) the marker is a byte offset, which is how transfers are resumed.",
        "为下一次 RETR/STOR/APPE 设置重启位置；在流模式下（RFC 3659）标记就是字节偏移量，断点续传即靠它实现。",
    ),
    cmd(
        "RETR",
        "RFC 959",
        Transfer,
        "RETR pathname",
        "Download: the server sends a copy of the named file over the data connection.",
        "下载：服务器通过数据连接发送指定文件的副本。",
    ),
    cmd(
        "RMD",
        "RFC 959",
        FileAction,
        "RMD pathname",
        "Remove a directory (most servers require it to be empty).",
        "删除目录（大多数服务器要求目录为空）。",
    ),
    cmd(
        "RMDA",
        STREAMLINED,
        FileAction,
        "RMDA pathname",
        "Remove a whole directory tree, including every file and subdirectory in it.",
        "删除整个目录树，包括其中所有文件和子目录。",
    ),
    cmd(
        "RNFR",
        "RFC 959",
        FileAction,
        "RNFR pathname",
        "Rename from: name the file or directory to rename; RNTO must follow (reply 350).",
        "重命名源：指定要重命名的文件或目录，之后必须紧跟 RNTO（应答 350）。",
    ),
    cmd(
        "RNTO",
        "RFC 959",
        FileAction,
        "RNTO pathname",
        "Rename to: give the new name for the item named by the preceding RNFR.",
        "重命名目标：为前一条 RNFR 指定的对象给出新名称。",
    ),
    cmd(
        "SITE",
        "RFC 959",
        Other,
        "SITE subcommand [arguments]",
        "Run a server-specific command outside the standard, e.g. SITE CHMOD or SITE UMASK.",
        "执行标准之外的服务器专用命令，例如 SITE CHMOD、SITE UMASK。",
    ),
    cmd(
        "SIZE",
        "RFC 3659",
        Info,
        "SIZE pathname",
        "Ask for a file's size in bytes as it would be transferred in the current TYPE; the reply is 213 followed by the size.",
        "查询文件按当前 TYPE 传输时的字节数，应答为 213 加上大小。",
    ),
    cmd(
        "SMNT",
        "RFC 959",
        AccessControl,
        "SMNT pathname",
        "Mount a different file system structure without logging in again; rarely implemented.",
        "在不重新登录的情况下挂载另一个文件系统结构；很少有服务器实现。",
    ),
    cmd(
        "SPSV",
        "common extension",
        DataSetup,
        "SPSV",
        "Single-port passive mode: ask for a passive data connection on the same TCP port as the control connection (rarely supported).",
        "单端口被动模式：请求使用与控制连接相同 TCP 端口的被动数据连接（很少有服务器支持）。",
    ),
    cmd(
        "STAT",
        "RFC 959",
        Info,
        "STAT [pathname]",
        "Without an argument, show the session status (or transfer progress); with a path, list it over the control connection (reply 211, 212 or 213).",
        "不带参数时显示会话状态（或传输进度）；带路径时通过控制连接返回其列表（应答 211、212 或 213）。",
    ),
    cmd(
        "STOR",
        "RFC 959",
        Transfer,
        "STOR pathname",
        "Upload: save the data received over the data connection as the named file, replacing any existing file.",
        "上传：把通过数据连接收到的数据保存为指定文件，已存在的同名文件会被覆盖。",
    ),
    cmd(
        "STOU",
        "RFC 959",
        Transfer,
        "STOU",
        "Upload under a unique name picked by the server, so no existing file is overwritten; the reply tells the name.",
        "以服务器选定的唯一文件名上传，不会覆盖已有文件；应答中会给出该文件名。",
    ),
    cmd(
        "STRU",
        "RFC 959",
        Other,
        "STRU F|R|P",
        "Set the file structure: F file (default, a plain byte stream), R record, P page.",
        "设置文件结构：F 文件结构（默认，普通字节流）、R 记录结构、P 页结构。",
    ),
    cmd(
        "SYST",
        "RFC 959",
        Info,
        "SYST",
        "Ask for the server's operating system type; the reply is 215, e.g. UNIX Type: L8.",
        "查询服务器的操作系统类型，应答为 215，例如 UNIX Type: L8。",
    ),
    cmd(
        "THMB",
        STREAMLINED,
        Transfer,
        "THMB [options] pathname",
        "Download a thumbnail of an image file on the server over the data connection.",
        "通过数据连接下载服务器上图片文件的缩略图。",
    ),
    cmd(
        "TYPE",
        "RFC 959",
        Other,
        "TYPE A|E|I|L n [N|T|C]",
        "Set the data representation: A ASCII text (line endings converted), I image/binary (bytes unchanged), E EBCDIC, L n local byte size.",
        "设置数据表示类型：A 为 ASCII 文本（会转换换行符），I 为二进制（字节原样传输），E 为 EBCDIC，L n 为本地字节长度。",
    ),
    cmd(
        "USER",
        "RFC 959",
        AccessControl,
        "USER username",
        "Send the user name to start logging in, usually followed by PASS after reply 331; anonymous is the usual name for public access.",
        "发送用户名开始登录，收到 331 后通常再发送 PASS；公开访问一般使用 anonymous 用户名。",
    ),
    cmd(
        "XCRC",
        "common extension",
        Info,
        "XCRC pathname [start [end]]",
        "Ask the server for the CRC-32 checksum of a file (or of a byte range of it).",
        "请求服务器返回文件（或其中某个字节范围）的 CRC-32 校验值。",
    ),
    cmd(
        "XCUP",
        "RFC 775",
        AccessControl,
        "XCUP",
        "Old experimental form of CDUP: change to the parent directory.",
        "CDUP 的旧实验版本：切换到上一级目录。",
    ),
    cmd(
        "XCWD",
        "RFC 775",
        AccessControl,
        "XCWD pathname",
        "Old experimental form of CWD: change the working directory.",
        "CWD 的旧实验版本：切换当前工作目录。",
    ),
    cmd(
        "XMD5",
        "common extension",
        Info,
        "XMD5 pathname [start [end]]",
        "Ask the server for the MD5 hash of a file (or of a byte range of it).",
        "请求服务器返回文件（或其中某个字节范围）的 MD5 哈希值。",
    ),
    cmd(
        "XMKD",
        "RFC 775",
        FileAction,
        "XMKD pathname",
        "Old experimental form of MKD: create a directory.",
        "MKD 的旧实验版本：创建目录。",
    ),
    cmd(
        "XPWD",
        "RFC 775",
        Info,
        "XPWD",
        "Old experimental form of PWD: show the current working directory.",
        "PWD 的旧实验版本：显示当前工作目录。",
    ),
    cmd(
        "XRMD",
        "RFC 775",
        FileAction,
        "XRMD pathname",
        "Old experimental form of RMD: remove a directory.",
        "RMD 的旧实验版本：删除目录。",
    ),
    cmd(
        "XSHA",
        "common extension",
        Info,
        "XSHA pathname [start [end]]",
        "Ask the server for the SHA-1 hash of a file; an older name for XSHA1 on servers that accept it.",
        "请求服务器返回文件的 SHA-1 哈希值；在支持它的服务器上是 XSHA1 的旧名称。",
    ),
    cmd(
        "XSHA1",
        "common extension",
        Info,
        "XSHA1 pathname [start [end]]",
        "Ask the server for the SHA-1 hash of a file (or of a byte range of it).",
        "请求服务器返回文件（或其中某个字节范围）的 SHA-1 哈希值。",
    ),
    cmd(
        "XSHA256",
        "common extension",
        Info,
        "XSHA256 pathname [start [end]]",
        "Ask the server for the SHA-256 hash of a file (or of a byte range of it).",
        "请求服务器返回文件（或其中某个字节范围）的 SHA-256 哈希值。",
    ),
    cmd(
        "XSHA512",
        "common extension",
        Info,
        "XSHA512 pathname [start [end]]",
        "Ask the server for the SHA-512 hash of a file (or of a byte range of it).",
        "请求服务器返回文件（或其中某个字节范围）的 SHA-512 哈希值。",
    ),
];

static REPLIES: &[ReplyEntry] = &[
    rep(
        110,
        "RFC 959",
        "Restart marker reply: the text holds MARK yyyy = mmmm, pairing the client's data-stream position with the server's, for resuming block- or compressed-mode transfers.",
        "重启标记应答：文本中给出 MARK yyyy = mmmm，把客户端数据流位置与服务器端位置对应起来，用于恢复块模式或压缩模式下的传输。",
    ),
    rep(
        120,
        "RFC 959",
        "The service is not ready yet and will be in a few minutes (the text gives roughly how long); wait before sending commands.",
        "服务尚未就绪，几分钟后可用（文本中会给出大约时间），请稍候再发送命令。",
    ),
    rep(
        125,
        "RFC 959",
        "The data connection is already open; the transfer is starting on it.",
        "数据连接已经打开，传输正在其上开始。",
    ),
    rep(
        150,
        "RFC 959",
        "File status is fine; the server is about to open the data connection for the transfer (also sent before LIST or MLSD listings).",
        "文件状态正常，服务器即将打开数据连接进行传输（LIST、MLSD 等列目录操作之前也会返回此码）。",
    ),
    rep(
        200,
        "RFC 959",
        "Command okay: the server accepted it (e.g. TYPE, PORT, EPRT, OPTS, EPSV ALL, LANG).",
        "命令成功：服务器已接受该命令（如 TYPE、PORT、EPRT、OPTS、EPSV ALL、LANG）。",
    ),
    rep(
        202,
        "RFC 959",
        "Command not implemented because this server has no need for it (e.g. ALLO); harmless.",
        "命令未实现，因为本服务器不需要它（如 ALLO），可以忽略。",
    ),
    rep(
        211,
        "RFC 959, RFC 2389",
        "System status or system help reply; also the reply that carries the FEAT list of supported extensions (RFC 2389).",
        "系统状态或系统帮助应答；FEAT 返回的扩展功能列表也使用此码（RFC 2389）。",
    ),
    rep(
        212,
        "RFC 959",
        "Directory status (the answer to STAT with a directory name).",
        "目录状态（对带目录名的 STAT 的应答）。",
    ),
    rep(
        213,
        "RFC 959, RFC 3659",
        "File status: the answer to STAT with a file name, or the value asked for by SIZE (bytes) or MDTM (YYYYMMDDHHMMSS in UTC, RFC 3659).",
        "文件状态：对带文件名的 STAT 的应答，或 SIZE 返回的字节数、MDTM 返回的修改时间（YYYYMMDDHHMMSS，UTC，RFC 3659）。",
    ),
    rep(
        214,
        "RFC 959",
        "Help message about the server or one command, meant for a human reader.",
        "帮助信息，介绍服务器或某条命令的用法，供人阅读。",
    ),
    rep(
        215,
        "RFC 959",
        "System type (answer to SYST), e.g. UNIX Type: L8; the first word comes from the IANA list of system names.",
        "系统类型（对 SYST 的应答），例如 UNIX Type: L8；第一个词取自 IANA 的系统名称列表。",
    ),
    rep(
        220,
        "RFC 959, RFC 7151",
        "Service ready for a new user: the server's greeting after connecting (also sent after REIN, and as the answer to HOST in RFC 7151).",
        "服务就绪，可以接受新用户：连接后服务器发出的欢迎信息（REIN 之后以及 RFC 7151 的 HOST 命令也返回此码）。",
    ),
    rep(
        221,
        "RFC 959",
        "The server is closing the control connection (the normal goodbye after QUIT); the user is logged out.",
        "服务器正在关闭控制连接（QUIT 之后的正常告别），用户已注销。",
    ),
    rep(
        225,
        "RFC 959",
        "The data connection is open but no transfer is in progress (e.g. ABOR arrived when nothing was running).",
        "数据连接已打开，但当前没有传输在进行（例如没有传输时收到了 ABOR）。",
    ),
    rep(
        226,
        "RFC 959",
        "Closing the data connection: the file transfer or listing finished successfully (or ABOR stopped the transfer as asked).",
        "正在关闭数据连接：文件传输或目录列表已成功完成（或 ABOR 已按要求中止传输）。",
    ),
    rep(
        227,
        "RFC 959",
        "Entering passive mode (h1,h2,h3,h4,p1,p2): the server listens on IPv4 address h1.h2.h3.h4, port p1*256+p2, and the client must connect there for the data transfer.",
        "进入被动模式 (h1,h2,h3,h4,p1,p2)：服务器在 IPv4 地址 h1.h2.h3.h4、端口 p1*256+p2 上监听，客户端需连接该地址进行数据传输。",
    ),
    rep(
        228,
        "RFC 1639",
        "Entering long passive mode (answer to LPSV): the server gives the address family, address length and bytes, port length and bytes to connect to.",
        "进入长格式被动模式（对 LPSV 的应答）：服务器给出要连接的地址族、地址长度和地址字节、端口长度和端口字节。",
    ),
    rep(
        229,
        "RFC 2428",
        "Entering extended passive mode (|||port|) (answer to EPSV): connect to the same host as the control connection, on the TCP port given between the bars.",
        "进入扩展被动模式 (|||port|)（对 EPSV 的应答）：客户端应连接与控制连接相同的主机，端口为竖线之间给出的 TCP 端口。",
    ),
    rep(
        230,
        "RFC 959",
        "User logged in; you may go on.",
        "用户已登录，可以继续操作。",
    ),
    rep(
        231,
        "common extension",
        "User logged out and the service is terminated (non-standard; some servers send it after logout or REIN).",
        "用户已注销，服务终止（非标准，部分服务器在注销或 REIN 之后返回）。",
    ),
    rep(
        232,
        "RFC 2228",
        "User logged in, authorized by the security data exchange; no password is needed.",
        "用户已登录，已通过安全数据交换完成授权，无需密码。",
    ),
    rep(
        234,
        "RFC 2228",
        "AUTH accepted and the security data exchange is complete; for AUTH TLS, the TLS handshake starts now.",
        "AUTH 已被接受，安全数据交换完成；对于 AUTH TLS，此时开始 TLS 握手。",
    ),
    rep(
        235,
        "RFC 2228",
        "The security data exchange finished successfully (answer to ADAT, possibly with ADAT=base64 data).",
        "安全数据交换已成功完成（对 ADAT 的应答，可能附带 ADAT=base64 数据）。",
    ),
    rep(
        250,
        "RFC 959",
        "The requested file action is done (e.g. CWD, DELE, RMD, RNTO or MLST succeeded).",
        "请求的文件操作已完成（例如 CWD、DELE、RMD、RNTO 或 MLST 成功）。",
    ),
    rep(
        257,
        "RFC 959",
        "\"PATHNAME\" created or is the current directory: the answer to MKD or PWD, with the path in double quotes.",
        "\"路径名\" 已创建或是当前目录：对 MKD 或 PWD 的应答，路径放在双引号中。",
    ),
    rep(
        331,
        "RFC 959",
        "User name accepted, password needed: send PASS next.",
        "用户名正确，需要密码：接下来请发送 PASS。",
    ),
    rep(
        332,
        "RFC 959",
        "An account is needed to log in: send ACCT next.",
        "登录需要账户信息：接下来请发送 ACCT。",
    ),
    rep(
        334,
        "RFC 2228",
        "The requested security mechanism is acceptable (answer to AUTH); continue with ADAT, possibly using the ADAT=base64 data given.",
        "所请求的安全机制可用（对 AUTH 的应答）；请继续用 ADAT 交换安全数据，可能附带 ADAT=base64 数据。",
    ),
    rep(
        335,
        "RFC 2228",
        "Security data accepted, but more is needed to finish the exchange (answer to ADAT); send another ADAT.",
        "安全数据已接受，但还需要更多数据才能完成交换（对 ADAT 的应答），请再发送 ADAT。",
    ),
    rep(
        336,
        "RFC 2228",
        "User name accepted, password needed; the text carries a challenge (e.g. for a one-time password) to answer.",
        "用户名正确，需要密码；文本中带有质询（例如一次性密码），需据此作答。",
    ),
    rep(
        350,
        "RFC 959",
        "The file action is waiting for more information: e.g. RNFR accepted, send RNTO; or REST accepted, send the transfer command.",
        "文件操作正在等待进一步的信息：例如 RNFR 已接受，请发送 RNTO；或 REST 已接受，请发送传输命令。",
    ),
    rep(
        421,
        "RFC 959",
        "Service not available, closing the control connection (server shutting down, too many users, idle timeout or connection refused).",
        "服务不可用，正在关闭控制连接（服务器关闭、用户数过多、空闲超时或拒绝连接）。",
    ),
    rep(
        425,
        "RFC 959",
        "Can't open data connection: the server could not open the data connection (check active/passive mode, firewall or NAT).",
        "无法打开数据连接：服务器无法建立数据连接（请检查主动/被动模式、防火墙或 NAT 设置）。",
    ),
    rep(
        426,
        "RFC 959",
        "Connection closed, transfer aborted: the data connection broke or was closed in the middle of the transfer.",
        "连接已关闭，传输中止：数据连接在传输过程中断开或被关闭。",
    ),
    rep(
        430,
        "common list (non-standard)",
        "Invalid user name or password (non-standard; most servers use 530 for this).",
        "用户名或密码无效（非标准，大多数服务器对此返回 530）。",
    ),
    rep(
        431,
        "RFC 2228",
        "A resource needed to process the security request is unavailable, e.g. the security mechanism cannot be used right now.",
        "处理安全请求所需的资源不可用，例如安全机制暂时无法使用。",
    ),
    rep(
        434,
        "common list (non-standard)",
        "Requested host unavailable (non-standard; usually read as the virtual host named by HOST being unknown or down).",
        "请求的主机不可用（非标准，通常表示 HOST 指定的虚拟主机不存在或不可用）。",
    ),
    rep(
        450,
        "RFC 959",
        "File action not taken: the file is unavailable right now (e.g. busy or locked); try again later.",
        "文件操作未执行：文件暂时不可用（例如被占用或锁定），请稍后重试。",
    ),
    rep(
        451,
        "RFC 959",
        "Action aborted because of a local error on the server while processing it; try again later.",
        "操作已中止：服务器在处理时发生本地错误，请稍后重试。",
    ),
    rep(
        452,
        "RFC 959",
        "Action not taken: the server does not have enough storage space right now.",
        "操作未执行：服务器当前存储空间不足。",
    ),
    rep(
        500,
        "RFC 959",
        "Syntax error: the command was not recognized (unknown command or command line too long).",
        "语法错误：无法识别该命令（命令不存在或命令行过长）。",
    ),
    rep(
        501,
        "RFC 959",
        "Syntax error in the command's arguments (missing, malformed or out of range).",
        "命令参数语法错误（缺少参数、格式错误或超出范围）。",
    ),
    rep(
        502,
        "RFC 959",
        "This server does not implement the command.",
        "本服务器没有实现该命令。",
    ),
    rep(
        503,
        "RFC 959",
        "Commands sent in the wrong order (e.g. PASS without USER, RNTO without RNFR).",
        "命令顺序错误（例如未发 USER 就发 PASS，未发 RNFR 就发 RNTO）。",
    ),
    rep(
        504,
        "RFC 959",
        "The command is not implemented for that argument (e.g. an unsupported TYPE, MODE, AUTH mechanism or LANG language).",
        "该命令不支持这个参数（例如不支持的 TYPE、MODE、AUTH 机制或 LANG 语言）。",
    ),
    rep(
        521,
        "RFC 959 (Appendix II example)",
        "The directory already exists, so nothing was done (MKD answer shown in RFC 959's examples; most servers use 550 instead).",
        "目录已存在，未做任何操作（RFC 959 示例中对 MKD 的应答；大多数服务器改用 550）。",
    ),
    rep(
        522,
        "RFC 2428",
        "Network protocol not supported (answer to EPRT); the text lists the ones that work, e.g. (1,2) for IPv4 and IPv6.",
        "不支持该网络协议（对 EPRT 的应答）；文本中列出可用的协议，例如 (1,2) 表示 IPv4 和 IPv6。",
    ),
    rep(
        530,
        "RFC 959",
        "Login refused: wrong user name or password (or this user may not log in); also sent for commands that need a login first.",
        "登录被拒绝：用户名或密码错误（或该用户不允许登录）；未登录时执行需要登录的命令也会返回此码。",
    ),
    rep(
        532,
        "RFC 959",
        "An account is needed to store files: send ACCT before uploading.",
        "存储文件需要账户信息：请先发送 ACCT 再上传。",
    ),
    rep(
        533,
        "RFC 2228",
        "The protection level of the command was refused for policy reasons.",
        "命令的保护级别因策略原因被拒绝。",
    ),
    rep(
        534,
        "RFC 2228",
        "Request denied for policy reasons, e.g. the server insists on (or forbids) TLS encryption.",
        "请求因策略原因被拒绝，例如服务器要求必须使用（或禁止使用）TLS 加密。",
    ),
    rep(
        535,
        "RFC 2228",
        "Security check failed: the integrity check of a protected command (hash, sequence number...) did not pass.",
        "安全检查失败：受保护命令的完整性校验（哈希、序列号等）未通过。",
    ),
    rep(
        536,
        "RFC 2228",
        "The requested PROT level is not supported by the security mechanism.",
        "安全机制不支持所请求的 PROT 保护级别。",
    ),
    rep(
        537,
        "RFC 2228",
        "The command protection level (MIC, CONF or ENC) is not supported by the security mechanism.",
        "安全机制不支持该命令保护级别（MIC、CONF 或 ENC）。",
    ),
    rep(
        550,
        "RFC 959",
        "Action not taken: file unavailable (not found, no permission, or not a plain file).",
        "操作未执行：文件不可用（文件不存在、没有权限或不是普通文件）。",
    ),
    rep(
        551,
        "RFC 959",
        "Action aborted: unknown page type (page-structured files).",
        "操作已中止：页面类型未知（页结构文件）。",
    ),
    rep(
        552,
        "RFC 959",
        "File action aborted: storage allocation exceeded (quota used up or disk full).",
        "文件操作已中止：超出存储分配（配额用尽或磁盘已满）。",
    ),
    rep(
        553,
        "RFC 959",
        "Action not taken: the file name is not allowed.",
        "操作未执行：文件名不被允许。",
    ),
    rep(
        554,
        "common extension",
        "Requested action not taken: invalid REST parameter (the restart point cannot be used).",
        "请求的操作未执行：REST 参数无效（无法使用该重启位置）。",
    ),
    rep(
        555,
        "common extension",
        "Requested action not taken: type or structure mismatch (e.g. the restart point does not fit the current TYPE or STRU).",
        "请求的操作未执行：类型或结构不匹配（例如重启位置与当前 TYPE 或 STRU 不符）。",
    ),
    rep(
        631,
        "RFC 2228",
        "Integrity-protected reply: the real reply is inside, base64-encoded, and is checked by the security mechanism.",
        "完整性保护应答：真正的应答经 base64 编码放在其中，由安全机制校验。",
    ),
    rep(
        632,
        "RFC 2228",
        "Confidentiality- and integrity-protected reply: the real reply is inside, encrypted, checked and base64-encoded.",
        "机密性和完整性保护应答：真正的应答经加密、校验并以 base64 编码放在其中。",
    ),
    rep(
        633,
        "RFC 2228",
        "Confidentiality-protected reply: the real reply is inside, encrypted and base64-encoded.",
        "机密性保护应答：真正的应答经加密并以 base64 编码放在其中。",
    ),
];

/// `SITE` subcommands: (name, en, zh), sorted by name.
static SITE_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "ALIAS",
        "List the directory aliases defined on the server (wu-ftpd).",
        "列出服务器上定义的目录别名（wu-ftpd）。",
    ),
    (
        "CDPATH",
        "List the search path the server uses when changing directory (wu-ftpd).",
        "列出服务器切换目录时使用的搜索路径（wu-ftpd）。",
    ),
    (
        "CHGRP",
        "Change the group owner of a file: SITE CHGRP group path (ProFTPD).",
        "修改文件的属组：SITE CHGRP 组名 路径（ProFTPD）。",
    ),
    (
        "CHMOD",
        "Change a file's Unix permission bits: SITE CHMOD mode path, e.g. SITE CHMOD 644 index.html.",
        "修改文件的 Unix 权限位：SITE CHMOD 权限 路径，例如 SITE CHMOD 644 index.html。",
    ),
    (
        "COPY",
        "Copy a file to another path on the server in one step: SITE COPY source destination (ProFTPD mod_copy).",
        "一步完成服务器端文件复制：SITE COPY 源路径 目标路径（ProFTPD mod_copy）。",
    ),
    (
        "CPFR",
        "Copy from: name the source file of a server-side copy, to be followed by SITE CPTO (ProFTPD mod_copy).",
        "复制源：指定服务器端复制的源文件，随后发送 SITE CPTO（ProFTPD mod_copy）。",
    ),
    (
        "CPTO",
        "Copy to: give the destination of a server-side copy started with SITE CPFR (ProFTPD mod_copy).",
        "复制目标：为 SITE CPFR 开始的服务器端复制指定目标路径（ProFTPD mod_copy）。",
    ),
    (
        "DIRSTYLE",
        "Toggle directory listings between MS-DOS and Unix style (Microsoft IIS FTP).",
        "在 MS-DOS 风格和 Unix 风格之间切换目录列表格式（微软 IIS FTP）。",
    ),
    (
        "EXEC",
        "Run one of a set of allowed programs on the server; usually disabled because it is a security risk (wu-ftpd).",
        "在服务器上运行允许列表中的程序；因存在安全风险通常被禁用（wu-ftpd）。",
    ),
    (
        "FILETYPE",
        "Choose how the IBM z/OS FTP server treats transfers: SEQ for data sets, JES to submit batch jobs and fetch their output, SQL to run queries.",
        "选择 IBM z/OS FTP 服务器处理传输的方式：SEQ 表示数据集，JES 表示提交批处理作业并取回输出，SQL 表示执行查询。",
    ),
    (
        "GPASS",
        "Give the password for the group requested with SITE GROUP (wu-ftpd).",
        "提供 SITE GROUP 所请求组的密码（wu-ftpd）。",
    ),
    (
        "GROUP",
        "Ask for special group access for this session, then send SITE GPASS (wu-ftpd).",
        "为本会话申请特定组的访问权限，随后发送 SITE GPASS（wu-ftpd）。",
    ),
    (
        "HELP",
        "List the SITE subcommands this server supports, or explain one of them.",
        "列出本服务器支持的 SITE 子命令，或说明其中某一个的用法。",
    ),
    (
        "IDLE",
        "Show or set the idle timeout in seconds after which the server drops an inactive session: SITE IDLE [seconds].",
        "查看或设置空闲超时秒数，会话空闲超过该时间会被服务器断开：SITE IDLE [秒数]。",
    ),
    (
        "INDEX",
        "Search the server's file index for a pattern (wu-ftpd).",
        "按模式搜索服务器的文件索引（wu-ftpd）。",
    ),
    (
        "LRECL",
        "Set the logical record length for data sets created by uploads (IBM z/OS and other mainframe servers).",
        "设置上传时新建数据集的逻辑记录长度（IBM z/OS 等大型机服务器）。",
    ),
    (
        "MINFO",
        "Like SITE NEWER, but with more details about each file (wu-ftpd).",
        "与 SITE NEWER 类似，但会给出每个文件的更多信息（wu-ftpd）。",
    ),
    (
        "MKDIR",
        "Create a directory together with any missing parent directories (ProFTPD mod_site_misc).",
        "创建目录，并一并创建缺失的上级目录（ProFTPD mod_site_misc）。",
    ),
    (
        "NEWER",
        "List files modified after a given date: SITE NEWER YYYYMMDDHHMMSS [path] (wu-ftpd).",
        "列出指定日期之后修改过的文件：SITE NEWER YYYYMMDDHHMMSS [路径]（wu-ftpd）。",
    ),
    (
        "QUOTA",
        "Show the user's disk quota and how much of it is used (some servers).",
        "显示用户的磁盘配额及已用空间（部分服务器支持）。",
    ),
    (
        "RATIO",
        "Show the user's upload/download ratio credits (some servers).",
        "显示用户的上传/下载比例额度（部分服务器支持）。",
    ),
    (
        "RECFM",
        "Set the record format (e.g. FB, VB) for data sets created by uploads (IBM z/OS and other mainframe servers).",
        "设置上传时新建数据集的记录格式（如 FB、VB）（IBM z/OS 等大型机服务器）。",
    ),
    (
        "RMDIR",
        "Remove a directory together with everything inside it (ProFTPD mod_site_misc).",
        "删除目录及其中的全部内容（ProFTPD mod_site_misc）。",
    ),
    (
        "SYMLINK",
        "Create a symbolic link on the server: SITE SYMLINK target link-name.",
        "在服务器上创建符号链接：SITE SYMLINK 目标 链接名。",
    ),
    (
        "UMASK",
        "Show or set the permission mask applied to newly created files: SITE UMASK [mask], e.g. 022.",
        "查看或设置新建文件使用的权限掩码：SITE UMASK [掩码]，例如 022。",
    ),
    (
        "UTIME",
        "Set a file's modification time; argument order varies by server (e.g. SITE UTIME time path); MFMT is the more portable choice.",
        "设置文件的修改时间；参数顺序因服务器而异（如 SITE UTIME 时间 路径），更通用的做法是使用 MFMT。",
    ),
    (
        "WHO",
        "List the users currently logged in to the server.",
        "列出当前登录到服务器的用户。",
    ),
    (
        "ZONE",
        "Report the server's time zone as an offset from UTC, so a client can convert listing times (some servers).",
        "报告服务器时区相对 UTC 的偏移量，便于客户端换算列表中的时间（部分服务器支持）。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-at-once upper-casing is `to_ascii_uppercase` on every byte.
    #[test]
    fn ascii_upper8_is_to_ascii_uppercase() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every byte value in every position, then random words.
            let w = if i < 256 * 8 {
                u64::from((i & 0xff) as u8) << (8 * (i / 256))
            } else {
                x
            };
            let want = u64::from_be_bytes(w.to_be_bytes().map(|b| b.to_ascii_uppercase()));
            assert_eq!(ascii_upper8(w), want, "{w:#018x}");
        }
        assert_eq!(command_exact("rEtR").map(|e| e.verb), Some("RETR"));
        assert_eq!(command_exact("epsv").map(|e| e.verb), Some("EPSV"));
        assert!(command_exact("RE\0R").is_none());
        assert!(command_exact("RETRRETRX").is_none());
    }

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
    }

    fn no_control(s: &str) -> bool {
        !s.chars().any(char::is_control)
    }

    const RFC959_COMMANDS: &[&str] = &[
        "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "REIN", "QUIT", "PORT", "PASV", "TYPE",
        "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR",
        "DELE", "RMD", "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP",
    ];

    const RFC959_REPLIES: &[u16] = &[
        110, 120, 125, 150, 200, 202, 211, 212, 213, 214, 215, 220, 221, 225, 226, 227, 230, 250,
        257, 331, 332, 350, 421, 425, 426, 450, 451, 452, 500, 501, 502, 503, 504, 530, 532, 550,
        551, 552, 553,
    ];

    /// The binary search finds every verb, in any case, as the linear search of
    /// the table would, and nothing longer than the longest verb is cut to match.
    #[test]
    fn lookup_agrees_with_a_linear_search() {
        assert!(COMMANDS.iter().all(|e| e.verb.len() <= LONGEST_VERB));
        let linear = |v: &str| COMMANDS.iter().find(|e| e.verb.eq_ignore_ascii_case(v));
        let mut probes: Vec<String> = Vec::new();
        for e in COMMANDS {
            probes.push(e.verb.to_string());
            probes.push(e.verb.to_ascii_lowercase());
            probes.push(format!("{}X", e.verb));
            probes.push(e.verb[1..].to_string());
            probes.push(format!(" {}", e.verb));
        }
        probes.extend(["", "RETRIEVE", "XSHA256XX", "ré", "USER\u{0}"].map(String::from));
        for p in &probes {
            let a = command_exact(p).map(|e| e.verb);
            assert_eq!(a, linear(p).map(|e| e.verb), "{p:?}");
            assert_eq!(
                command(p).map(|e| e.verb),
                linear(p.trim()).map(|e| e.verb),
                "{p:?}"
            );
        }
    }

    #[test]
    fn command_table_sorted_unique_and_upper_case() {
        for w in COMMANDS.windows(2) {
            assert!(w[0].verb < w[1].verb, "{} !< {}", w[0].verb, w[1].verb);
        }
        for e in COMMANDS {
            assert!(!e.verb.is_empty());
            assert!(
                e.verb
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{}",
                e.verb
            );
            assert!(e.syntax.starts_with(e.verb), "{}", e.verb);
        }
        assert!(COMMANDS.len() >= 60, "only {} commands", COMMANDS.len());
    }

    #[test]
    fn reply_table_sorted_unique_and_in_range() {
        for w in REPLIES.windows(2) {
            assert!(w[0].code < w[1].code, "{} !< {}", w[0].code, w[1].code);
        }
        for e in REPLIES {
            assert!((100..=699).contains(&e.code), "{}", e.code);
            assert!((e.code / 10) % 10 <= 5, "{}", e.code);
        }
    }

    #[test]
    fn site_table_sorted_unique() {
        for w in SITE_COMMANDS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} !< {}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn all_texts_non_empty_cjk_and_clean() {
        for e in COMMANDS {
            for s in [e.verb, e.spec, e.syntax, e.en, e.zh] {
                assert!(!s.trim().is_empty(), "{}", e.verb);
                assert!(no_control(s), "control char in {}", e.verb);
            }
            assert!(has_cjk(e.zh), "{}", e.verb);
            assert!(e.en.is_ascii(), "{}", e.verb);
        }
        for e in REPLIES {
            for s in [e.spec, e.en, e.zh] {
                assert!(!s.trim().is_empty(), "{}", e.code);
                assert!(no_control(s), "control char in {}", e.code);
            }
            assert!(has_cjk(e.zh), "{}", e.code);
            assert!(e.en.is_ascii(), "{}", e.code);
        }
        for (name, en, zh) in SITE_COMMANDS {
            for s in [*name, *en, *zh] {
                assert!(!s.trim().is_empty(), "{name}");
                assert!(no_control(s), "control char in {name}");
            }
            assert!(has_cjk(zh), "{name}");
            assert!(en.is_ascii(), "{name}");
        }
    }

    #[test]
    fn text_selects_language() {
        let e = command("PASV").unwrap();
        assert_eq!(e.text(Lang::En), e.en);
        assert_eq!(e.text(Lang::Zh), e.zh);
        assert_eq!(e.text(Lang::default()), e.en);
        let r = reply(530).unwrap();
        assert_eq!(r.text(Lang::En), r.en);
        assert_eq!(r.text(Lang::Zh), r.zh);
    }

    #[test]
    fn command_lookup_is_case_insensitive() {
        for v in ["pasv", "PASV", "PaSv", " pasv ", "Pasv"] {
            assert_eq!(command(v).unwrap().verb, "PASV", "{v:?}");
        }
        assert_eq!(command("xsha256").unwrap().verb, "XSHA256");
        assert_eq!(command("eprt").unwrap().verb, "EPRT");
        assert!(command("FOO").is_none());
        assert!(command("").is_none());
        assert!(command("PAS").is_none());
        assert!(command("PASVX").is_none());
        assert!(command("ｐａｓｖ").is_none());
        for e in commands() {
            let lower = e.verb.to_ascii_lowercase();
            assert!(std::ptr::eq(command(&lower).unwrap(), e));
        }
    }

    #[test]
    fn every_rfc959_command_present() {
        for v in RFC959_COMMANDS {
            let e = command(v).unwrap_or_else(|| panic!("missing {v}"));
            assert!(e.spec.contains("RFC 959"), "{v}: {}", e.spec);
        }
    }

    #[test]
    fn extension_commands_present() {
        let expected: &[(&str, &str)] = &[
            ("LPRT", "RFC 1639"),
            ("LPSV", "RFC 1639"),
            ("AUTH", "RFC 2228"),
            ("ADAT", "RFC 2228"),
            ("PROT", "RFC 2228"),
            ("PBSZ", "RFC 2228"),
            ("CCC", "RFC 2228"),
            ("MIC", "RFC 2228"),
            ("CONF", "RFC 2228"),
            ("ENC", "RFC 2228"),
            ("FEAT", "RFC 2389"),
            ("OPTS", "RFC 2389"),
            ("EPRT", "RFC 2428"),
            ("EPSV", "RFC 2428"),
            ("LANG", "RFC 2640"),
            ("MDTM", "RFC 3659"),
            ("SIZE", "RFC 3659"),
            ("REST", "RFC 3659"),
            ("MLST", "RFC 3659"),
            ("MLSD", "RFC 3659"),
            ("HOST", "RFC 7151"),
            ("XCWD", "RFC 775"),
            ("XCUP", "RFC 775"),
            ("XPWD", "RFC 775"),
            ("XMKD", "RFC 775"),
            ("XRMD", "RFC 775"),
        ];
        for (v, spec) in expected {
            let e = command(v).unwrap_or_else(|| panic!("missing {v}"));
            assert!(e.spec.contains(spec), "{v}: {}", e.spec);
        }
        for v in [
            "CLNT", "MFMT", "MFCT", "MFF", "HASH", "AVBL", "CSID", "XCRC", "XMD5", "XSHA1",
            "XSHA256", "RMDA", "DSIZ", "SPSV",
        ] {
            assert!(command(v).is_some(), "missing {v}");
        }
        assert!(command("OPTS").unwrap().en.contains("UTF8"));
        assert!(command("REST").unwrap().en.contains("stream mode"));
    }

    #[test]
    fn command_kinds() {
        for v in ["PASV", "EPSV", "PORT", "EPRT", "LPRT", "LPSV"] {
            assert_eq!(command(v).unwrap().kind, CommandKind::DataSetup, "{v}");
        }
        for v in ["RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"] {
            assert_eq!(command(v).unwrap().kind, CommandKind::Transfer, "{v}");
        }
        for v in ["AUTH", "ADAT", "PROT", "PBSZ", "CCC", "MIC", "CONF", "ENC"] {
            assert_eq!(command(v).unwrap().kind, CommandKind::Security, "{v}");
        }
        for v in ["USER", "PASS", "ACCT", "QUIT"] {
            assert_eq!(command(v).unwrap().kind, CommandKind::AccessControl, "{v}");
        }
        assert_eq!(command("DELE").unwrap().kind, CommandKind::FileAction);
        assert_eq!(command("SIZE").unwrap().kind, CommandKind::Info);
        assert_eq!(command("TYPE").unwrap().kind, CommandKind::Other);
    }

    #[test]
    fn every_rfc959_reply_present() {
        for &c in RFC959_REPLIES {
            let e = reply(c).unwrap_or_else(|| panic!("missing {c}"));
            assert!(e.spec.contains("RFC 959"), "{c}: {}", e.spec);
        }
    }

    #[test]
    fn rfc2228_and_rfc2428_replies_present() {
        for c in [
            232, 234, 235, 334, 335, 336, 431, 533, 534, 535, 536, 537, 631, 632, 633,
        ] {
            let e = reply(c).unwrap_or_else(|| panic!("missing {c}"));
            assert_eq!(e.spec, "RFC 2228", "{c}");
        }
        for c in [229, 522] {
            let e = reply(c).unwrap_or_else(|| panic!("missing {c}"));
            assert_eq!(e.spec, "RFC 2428", "{c}");
        }
        assert_eq!(reply(228).unwrap().spec, "RFC 1639");
        for c in [231, 554, 555] {
            assert!(reply(c).is_some(), "missing {c}");
        }
    }

    #[test]
    fn non_codes_absent() {
        for c in [0, 1, 99, 100, 199, 700, 999, 10054, 10060, 10061, u16::MAX] {
            assert!(reply(c).is_none(), "{c} should not be listed");
        }
    }

    #[test]
    fn key_reply_texts() {
        let r227 = reply(227).unwrap();
        assert!(r227.en.contains("h1,h2,h3,h4,p1,p2"));
        assert!(r227.en.contains("p1*256+p2"));
        assert!(r227.zh.contains("p1*256+p2"));
        assert!(r227.zh.contains("被动模式"));
        let r229 = reply(229).unwrap();
        assert!(r229.en.contains("(|||port|)"));
        assert!(r229.zh.contains("(|||port|)"));
        let r425 = reply(425).unwrap();
        assert!(
            r425.en
                .contains("the server could not open the data connection")
        );
        assert!(r425.zh.contains("数据连接"));
        let r530 = reply(530).unwrap();
        assert!(
            r530.en
                .to_ascii_lowercase()
                .contains("login refused: wrong user name or password")
        );
        assert!(r530.zh.contains("登录被拒绝"));
        assert!(reply(554).unwrap().en.contains("invalid REST parameter"));
        assert!(reply(211).unwrap().en.contains("FEAT"));
        let r213 = reply(213).unwrap();
        assert!(r213.en.contains("SIZE") && r213.en.contains("MDTM"));
    }

    #[test]
    fn reply_class_unlisted_codes() {
        assert!(reply(259).is_none());
        let en = reply_class(259, Lang::En);
        assert!(
            en.starts_with("Unlisted reply 259: positive completion, about the file system."),
            "{en}"
        );
        let zh = reply_class(259, Lang::Zh);
        assert!(zh.starts_with("未收录的应答码 259"), "{zh}");
        assert!(zh.contains("肯定完成") && zh.contains("文件系统"), "{zh}");
        // 299: the second digit is 9, which RFC 959 does not define.
        let en = reply_class(299, Lang::En);
        assert!(
            en.starts_with("Unlisted reply 299: positive completion; its second digit 9"),
            "{en}"
        );

        let en = reply_class(159, Lang::En);
        assert!(
            en.contains("positive preliminary") && en.contains("file system"),
            "{en}"
        );
        let en = reply_class(399, Lang::En);
        assert!(en.contains("positive intermediate"), "{en}");
        let en = reply_class(439, Lang::En);
        assert!(
            en.contains("transient negative") && en.contains("authentication"),
            "{en}"
        );
        let zh = reply_class(439, Lang::Zh);
        assert!(zh.contains("暂时性否定") && zh.contains("身份验证"), "{zh}");
        let en = reply_class(509, Lang::En);
        assert!(
            en.contains("permanent negative") && en.contains("syntax"),
            "{en}"
        );
        let en = reply_class(519, Lang::En);
        assert!(en.contains("information"), "{en}");
        let en = reply_class(529, Lang::En);
        assert!(en.contains("connection"), "{en}");
        let en = reply_class(549, Lang::En);
        assert!(en.contains("unspecified"), "{en}");
        let en = reply_class(600, Lang::En);
        assert!(en.contains("protected reply"), "{en}");
        let zh = reply_class(600, Lang::Zh);
        assert!(zh.contains("受保护应答"), "{zh}");

        // Second digit outside 0..=5.
        let en = reply_class(275, Lang::En);
        assert!(
            en.starts_with("Unlisted reply 275: positive completion")
                && en.contains("second digit 7 has no standard meaning"),
            "{en}"
        );
        let zh = reply_class(275, Lang::Zh);
        assert!(zh.contains("第二位数字 7"), "{zh}");
    }

    #[test]
    fn reply_class_listed_codes() {
        let en = reply_class(226, Lang::En);
        assert!(
            en.starts_with("Reply 226: positive completion, about the control or data connection."),
            "{en}"
        );
        let zh = reply_class(226, Lang::Zh);
        assert!(zh.starts_with("应答码 226：肯定完成应答"), "{zh}");
        let en = reply_class(530, Lang::En);
        assert!(
            en.contains("permanent negative") && en.contains("authentication"),
            "{en}"
        );
    }

    #[test]
    fn reply_class_invalid_codes() {
        for c in [0, 1, 99, 700, 999, 10054, 10060, u16::MAX] {
            let en = reply_class(c, Lang::En);
            assert!(
                en.starts_with(&format!("{c} is not a valid FTP reply code")),
                "{en}"
            );
            let zh = reply_class(c, Lang::Zh);
            assert!(
                zh.starts_with(&format!("{c} 不是有效的 FTP 应答码")),
                "{zh}"
            );
            assert!(no_control(&en) && no_control(&zh));
        }
        assert!(reply_class(10054, Lang::En).contains("Winsock"));
        assert!(reply_class(10060, Lang::Zh).contains("Winsock"));
        assert!(!reply_class(99, Lang::En).contains("Winsock"));
    }

    #[test]
    fn reply_class_every_valid_code_is_clean() {
        for c in 100..=699u16 {
            for lang in [Lang::En, Lang::Zh] {
                let s = reply_class(c, lang);
                assert!(!s.is_empty() && no_control(&s), "{c}");
                assert!(s.contains(&c.to_string()), "{c}");
            }
            assert!(has_cjk(&reply_class(c, Lang::Zh)));
        }
    }

    #[test]
    fn site_command_lookups() {
        let (en, zh) = site_command("CHMOD").unwrap();
        assert!(en.contains("permission"));
        assert!(zh.contains("权限"));
        assert_eq!(site_command("chmod"), site_command("CHMOD"));
        assert_eq!(site_command(" Umask "), site_command("UMASK"));
        for s in [
            "CHMOD", "UMASK", "IDLE", "HELP", "UTIME", "SYMLINK", "CPFR", "CPTO", "EXEC", "WHO",
            "ZONE",
        ] {
            assert!(site_command(s).is_some(), "missing SITE {s}");
            assert!(site_command(&s.to_ascii_lowercase()).is_some(), "SITE {s}");
        }
        assert!(site_command("").is_none());
        assert!(site_command("NOPE").is_none());
        assert!(site_command("CHMO").is_none());
    }

    #[test]
    fn accessors_return_tables() {
        assert_eq!(commands().len(), COMMANDS.len());
        assert_eq!(replies().len(), REPLIES.len());
        for e in replies() {
            assert!(std::ptr::eq(reply(e.code).unwrap(), e));
        }
    }
}
