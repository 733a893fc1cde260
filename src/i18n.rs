//! Texts shown to people, in every language ftpscope speaks (English and
//! Simplified Chinese), from one place.
//!
//! Two kinds of text, both of which carry every language as a required field, so a
//! text without its Chinese does not compile:
//!
//! * [`Tr`]: a sentence built from parameters (a finding's summary, evidence and fix).
//!   Rules build it with the [`tr!`](crate::tr) macro, which takes the English and the
//!   Chinese template side by side, with the same named parameters:
//!   `tr!("{n} SYNs in all", "共 {n} 个 SYN")`. Views pick the language with
//!   [`Tr::get`]. JSON serialises the English text only (its fields are for machines
//!   and stay stable across `--lang`).
//! * [`Ui`]: the fixed labels of the views (headers, field names, outcomes). One table,
//!   [`ui!`](crate::ui) below, lists each key with its English and Chinese text;
//!   [`Ui::text`] looks one up.
//!
//! Conventions for the Chinese: the terms network engineers use (被动模式/主动模式,
//! 数据连接, 控制连接, 响应码, 防火墙, 网络地址转换 NAT, 重传, 窗口); identifiers stay as
//! they are (finding ids, reply codes, FTP commands, option and setting names such as
//! `pasv_address`, addresses, ports, paths). See docs/i18n.md.
//!
//! Pure data: no I/O, only `std` and `serde` (for [`Tr`]'s serialisation).

use crate::ftp::catalog::Lang;

/// A text in every language: English and Simplified Chinese.
///
/// Dereferences to the English text, so code that searches or compares findings
/// (tests, the grouping of findings) reads the stable English wording; views use
/// [`Tr::get`] with the language asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tr {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    pub zh: String,
}

impl Tr {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }

    /// A text that is the same in every language: wire text, an identifier, a command
    /// line, a number. Not for prose.
    pub fn verbatim(s: impl Into<String>) -> Tr {
        let s = s.into();
        Tr {
            zh: s.clone(),
            en: s,
        }
    }

    /// Both languages, each passed through `f` (e.g. to add a suffix).
    pub fn map(&self, mut f: impl FnMut(&str, Lang) -> String) -> Tr {
        Tr {
            en: f(&self.en, Lang::En),
            zh: f(&self.zh, Lang::Zh),
        }
    }

    /// Bytes held by both texts (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.en.capacity() + self.zh.capacity()
    }

    /// The texts as a list: joined by ", " in English and "，" in Chinese.
    pub fn list(items: &[Tr]) -> Tr {
        let join = |lang: Lang, sep: &str| {
            items
                .iter()
                .map(|t| t.get(lang))
                .collect::<Vec<_>>()
                .join(sep)
        };
        Tr {
            en: join(Lang::En, ", "),
            zh: join(Lang::Zh, "，"),
        }
    }

    /// Appends `other` in each language.
    pub fn push(&mut self, other: &Tr) {
        self.en.push_str(&other.en);
        self.zh.push_str(&other.zh);
    }
}

impl std::ops::Deref for Tr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.en
    }
}

/// Compares the English text (tests, lookups by wording).
impl PartialEq<&str> for Tr {
    fn eq(&self, other: &&str) -> bool {
        self.en == *other
    }
}

/// The English text (for messages in tests and logs; views use [`Tr::get`]).
impl std::fmt::Display for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

impl serde::Serialize for Tr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.en)
    }
}

/// Builds a [`Tr`] from an English and a Chinese `format!` template.
///
/// Both templates see the same arguments; prefer inline names (`{port}`) so the
/// Chinese can put them in its own order. Texts that are themselves [`Tr`]s go after
/// a `;` as `name = expr`: each template sees `{name}` in its own language.
#[macro_export]
macro_rules! tr {
    ($en:literal, $zh:literal $(,)?) => {
        $crate::i18n::Tr { en: format!($en), zh: format!($zh) }
    };
    ($en:literal, $zh:literal; $($name:ident = $val:expr),+ $(,)?) => {{
        $( let $name: &$crate::i18n::Tr = &$val; )+
        $crate::i18n::Tr {
            en: { $( let $name = &$name.en; )+ format!($en) },
            zh: { $( let $name = &$name.zh; )+ format!($zh) },
        }
    }};
    ($en:literal, $zh:literal, $($arg:tt)*) => {
        $crate::i18n::Tr { en: format!($en, $($arg)*), zh: format!($zh, $($arg)*) }
    };
}

/// The text of [`tr!`] in one language only, formatted only in that one: for
/// views, which show one language at a time (`tr!(...).get(lang)` formats both).
#[macro_export]
macro_rules! tr_in {
    ($lang:expr, $en:literal, $zh:literal $(,)?) => {
        match $lang {
            $crate::ftp::catalog::Lang::En => format!($en),
            $crate::ftp::catalog::Lang::Zh => format!($zh),
        }
    };
}

macro_rules! ui {
    ($( $(#[$m:meta])* $key:ident => $en:literal, $zh:literal; )*) => {
        /// A fixed label of a view. Each key has its English and Chinese text in the
        /// table of `src/i18n.rs`; a key without both does not compile.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Ui { $( $(#[$m])* $key, )* }

        impl Ui {
            /// Every key (for tests).
            pub const ALL: &'static [Ui] = &[ $( Ui::$key, )* ];

            /// The label in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( (Ui::$key, Lang::En) => $en, (Ui::$key, Lang::Zh) => $zh, )*
                }
            }
        }
    };
}

/// A state name of the model (an outcome, how a connection closed...) in `lang`.
/// The names are identifiers in JSON and filters; the Chinese views show words.
pub fn state(name: &str, lang: Lang) -> &str {
    if lang == Lang::En {
        return name;
    }
    match name {
        "open" => "未关闭",
        "quit" => "QUIT 退出",
        "fin-by-client" => "客户端 FIN 关闭",
        "fin-by-server" => "服务器 FIN 关闭",
        "rst-by-client" => "客户端 RST 重置",
        "rst-by-server" => "服务器 RST 重置",
        "refused" => "被拒绝",
        "evicted" => "被移出",
        "fin" => "FIN",
        "download" => "下载",
        "upload" => "上传",
        "accepted" => "已接受",
        "unanswered" => "无应答",
        "not-seen" => "未看到",
        "completed" => "已完成",
        "not-attempted" => "未尝试连接",
        "reset" => "被重置",
        "aborted" => "已中止",
        "rejected" => "被拒绝",
        "unused" => "未使用",
        "completed-per-replies" => "据响应已完成",
        "failed-per-replies" => "据响应失败",
        "command-failed" => "命令失败",
        "not-in-capture" => "不在抓包中",
        "encrypted" => "加密",
        "unseen" => "未见通告",
        "ok" => "成功",
        "failed" => "失败",
        "none" => "无",
        "complete" => "完成",
        "cut-by-gap" => "因抓包缺口不完整",
        "cut-by-limit" => "因提取上限被截断",
        "short" => "少于通告的大小",
        "explicit" => "显式",
        "implicit" => "隐式",
        "mid-session" => "会话中途",
        "clear" => "明文",
        "decrypted" => "已解密",
        "no-secrets" => "密钥日志中没有密钥",
        "unsupported" => "不支持",
        "no-handshake" => "没有握手",
        other => other,
    }
}

ui! {
    Diagnosis => "Diagnosis", "诊断";
    NoProblemFound => "no problem found", "未发现问题";
    Session => "Session", "会话";
    Transcript => "Transcript", "会话记录";
    DataConnections => "Data connections", "数据连接";
    Anomalies => "Anomalies", "异常";
    Evidence => "evidence", "证据";
    Fix => "fix", "处理建议";
    Frame => "frame", "帧";
    SessionLower => "session", "会话";
    User => "user", "用户";
    Login => "login", "登录";
    Cwd => "cwd", "当前目录";
    Closed => "closed", "关闭方式";
    CaptureCovers => "capture covers", "抓包覆盖";
    ServerSystem => "server system", "服务器系统";
    Note => "note", "注";
    Data => "data", "数据";
    AfterTelnetIp => "[after Telnet IP/Synch]", "[在 Telnet IP/Synch 之后]";
    UnknownCommand => "[unknown command]", "[未知命令]";
    NoCommand => "(no command)", "（无命令）";
    InvalidReply => "invalid reply", "无效响应";
    NoReply => "no reply", "无响应";
    NoFtpSession => "No FTP session found in this capture (looked at port 21, the --ftp-port ports, and for FTP greetings/commands on any port).", "此抓包中未发现 FTP 会话（已检查 21 端口、--ftp-port 指定的端口，以及任意端口上的 FTP 问候/命令）。";
    MidSession => "capture starts mid-session: the connection's beginning is not in the capture", "抓包从会话中途开始：连接开头不在抓包中";
    CountedNotKept => "Counted, not kept (transcript budget spent)", "只计数未保留（会话记录预算已用完）";
    AsAnnounced => "as announced", "与通告一致";
    MatchedServerControl => "matched on the server's control address", "按服务器的控制连接地址匹配";
    MatchedClientControl => "matched on the client's control address", "按客户端的控制连接地址匹配";
    MatchedPortOnly => "matched by port only", "仅按端口匹配";
    MatchedPeers => "matched by its peers: no announcement in the capture", "按两端匹配：抓包中没有通告";
    MatchedTiming => "matched by peers and timing: the announcement is encrypted", "按两端和时间匹配：通告是加密的";
    NoControlHandshake => "no control handshake", "没有控制连接握手";
    GreetingAndLogin => "greeting and login", "有欢迎信息和登录";
    GreetingNoLogin => "greeting, no login", "有欢迎信息，没有登录";
    LoginNoGreeting => "login, no greeting", "有登录，没有欢迎信息";
    NoGreetingOrLogin => "no greeting or login", "没有欢迎信息和登录";
    NoDataAnnounced => "no data connection announced", "没有通告数据连接";
    NoDataThoughOther => "no data connection of this session, though the capture holds other traffic", "抓包中有其他流量，但没有这个会话的数据连接";
    ControlOnly => "FTP control traffic only: data connections cannot be seen", "只有 FTP 控制连接流量：看不到数据连接";
    NoTcpSeen => "no handshake or data seen", "没有看到握手或数据";
    Syntax => "syntax", "语法";
    TabSessions => "Sessions", "会话";
    TabData => "Data", "数据连接";
    TabFindings => "Findings", "发现";
    TuiKeys => " Keys (Esc closes) ", " 按键（Esc 关闭） ";
    TuiKeysMore => " Keys (Esc closes, Down scrolls) ", " 按键（Esc 关闭，Down 滚动） ";
    HintBack => "back", "返回";
    HintPane => "pane", "窗格";
    HintNextFinding => "next finding", "下一条发现";
    HintSearch => "search", "搜索";
    HintExplain => "explain", "解释";
    HintWrite => "write", "保存";
    HintHelp => "help", "帮助";
    HintQuit => "quit", "退出";
    HintOpen => "open", "打开";
    HintView => "view", "视图";
    HintFilter => "filter", "过滤";
    HintSort => "sort", "排序";
    PromptFilter => "filter: ", "过滤：";
    PromptSearch => "search: ", "搜索：";
    ColOutcome => "Outcome", "结果";
    ColSess => "Sess", "会话";
    ColVia => "Via", "方式";
    ColMode => "Mode", "模式";
    ColAnnounced => "Announced", "通告地址";
    ColCommand => "Command", "命令";
    ColTime => "Time", "用时";
    ColSetup => "Setup", "建立";
    ColLimit => "Limit", "瓶颈";
    ColRate => "Rate over time", "速率变化";
    ColConnection => "Connection", "连接";
    TuiFrozen => "  FROZEN (F resumes) ", "  已冻结（F 恢复） ";
    TuiFollowing => "  following ", "  跟随中 ";
    TuiScrolled => "  scrolled (End follows) ", "  已滚动（End 跟随） ";
    TuiFrozenShort => " FROZEN ", " 已冻结 ";
    TuiFollowingShort => " following ", " 跟随中 ";
    TuiFollowShort => " follow ", " 跟随 ";
    TuiScrolledShort => " scrolled ", " 已滚动 ";
    TuiLive => " LIVE ", " 实时 ";
    TuiDamagedFile => " DAMAGED FILE ", " 文件已损坏 ";
    TuiCutFile => " CUT FILE ", " 文件被截断 ";
    TuiSnaplen => " CUT BY SNAPLEN ", " 被 SNAPLEN 截断 ";
    TuiFaults => "FAULTS: ", "故障注入：";
    TuiFaultsArmed => " FAULTS ARMED (C clears) ", " 已布置故障（C 清除） ";
    PromptSort => "sort: ", "排序：";
    PromptLines => "lines: ", "行过滤：";
    PromptDelay => "delay every reply by: ", "每个响应延迟：";
    PromptReply => "answer the next command with: ", "用此响应码回答下一条命令：";
    PromptFiltering => "filtering: ", "过滤中：";
    PromptFilterHint => "   Enter keeps, Esc cancels, ? help lists the words", "   Enter 保留，Esc 取消，? 帮助列出可用的词";
    PromptSearchHint => "   Enter keeps, Esc cancels, Up/Down: matches", "   Enter 保留，Esc 取消，Up/Down：匹配项";
    PromptLinesHint => "   exchanges with this text; !text hides them; Esc cancels", "   含有此文本的交互；!text 隐藏它们；Esc 取消";
    PromptDelayHint => "   500ms, 2s (0: no delay); Enter arms, Esc cancels", "   500ms、2s（0：不延迟）；Enter 布置，Esc 取消";
    PromptReplyHint => "   a reply code (425, 550, ...); Enter arms, Esc cancels", "   一个响应码（425、550……）；Enter 布置，Esc 取消";
    ColSt => "St", "状态";
    ColClient => "Client", "客户端";
    ColServer => "Server", "服务器";
    ColUser => "User", "用户";
    ColStart => "Start", "开始";
    ColDuration => "Duration", "时长";
    ColCmds => "Cmds", "命令";
    ColXfers => "Xfers", "传输";
    ColBytes => "Bytes", "字节";
    ColFindings => "Findings", "发现";
    TuiNoSessionEnded => "no session has ended yet (sessions are listed as they end)", "还没有会话结束（会话在结束时列出）";
    TuiNoSessionYet => "no FTP session yet (sessions are listed as they start)", "还没有 FTP 会话（会话在开始时列出）";
    TuiNoSessionInCapture => "no FTP session in this capture", "这份抓包中没有 FTP 会话";
    TuiNoSessionMatches => "no session matches the filter (Esc clears it)", "没有会话符合过滤条件（Esc 清除）";
    Active => "active", "主动";
    Passive => "passive", "被动";
    TuiNoData => "no data connection", "没有数据连接";
    TuiFindingsHead => " Findings by id, most severe first (Enter opens the session at its evidence)", " 按 id 列出的发现，最严重的在前（Enter 打开会话并定位到证据）";
    TuiNoFinding => "  no finding: nothing went wrong that ftpscope can see", "  没有发现：ftpscope 没有看到任何出错之处";
    TuiNoFindingMatches => "  no finding in the sessions that match the filter", "  符合过滤条件的会话中没有发现";
    TuiMidSession => "  starts mid-session", "  从会话中途开始";
    TuiNoHandshake => "  no handshake in capture", "  抓包中没有握手";
    TuiControlOnly => "  control-only capture: data connections not visible", "  只抓了控制连接：看不到数据连接";
    ServerWord => "server", "服务器";
    TuiEHides => "(e hides explanations) ", "（e 隐藏解释） ";
    TuiEShows => "(e shows explanations) ", "（e 显示解释） ";
    TuiLine => "line", "行";
    CaptureWord => "capture", "抓包";
    Limit => "limit", "瓶颈";
    NoExchange => "(no command or reply in this session)", "（这个会话没有命令或响应）";
    CountedNotKeptShort => "counted, not kept", "只计数未保留";
    Anomaly => "anomaly", "异常";
    HtmlTitle => "ftpscope report", "ftpscope 报告";
    HtmlFindings => "Findings", "发现";
    HtmlNoProblem => "No problem found: nothing went wrong that ftpscope can see in this capture.", "未发现问题：在这份抓包中 ftpscope 没有看到任何出错之处。";
    HtmlSessions => "Sessions", "会话";
    HtmlFilter => "Filter", "过滤";
    HtmlFilterHint => "address, user, finding…", "地址、用户、发现……";
    HtmlCollapse => "Collapse transcripts", "折叠会话记录";
    HtmlExpand => "Expand transcripts", "展开会话记录";
    HtmlClient => "client", "客户端";
    HtmlServer => "server", "服务器";
    HtmlFindingsCol => "findings", "发现";
    HtmlTransfers => "transfers", "传输";
    HtmlBytes => "bytes", "字节";
    HtmlStart => "start", "开始时间";
    HtmlPackets => "packets", "包";
    HtmlTcpConnections => "TCP connections", "TCP 连接";
    HtmlFtpSessions => "FTP sessions", "FTP 会话";
    HtmlTimeSpan => "time span", "时间范围";
    HtmlCaptureFile => "capture file", "抓包文件";
    HtmlWholeCapture => "the capture as a whole", "整个抓包";
    HtmlFix => "Fix", "处理建议";
    HtmlVia => "via", "方式";
    HtmlAnnounced => "announced", "通告地址";
    HtmlCommand => "command", "命令";
    HtmlOutcome => "outcome", "结果";
    HtmlTime => "time", "用时";
    HtmlRate => "rate over time", "速率变化";
    HtmlConnection => "connection", "连接";
    Problem => "problem", "问题";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ui_key_has_both_languages_and_chinese_is_chinese() {
        for k in Ui::ALL {
            let (en, zh) = (k.text(Lang::En), k.text(Lang::Zh));
            assert!(!en.is_empty(), "{k:?}");
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{k:?}: {zh:?} has no Chinese"
            );
        }
    }

    #[test]
    fn tr_formats_both_templates_and_serialises_english() {
        let port = 21;
        let t = tr!("port {port} closed", "端口 {port} 已关闭");
        assert_eq!(t.get(Lang::En), "port 21 closed");
        assert_eq!(t.get(Lang::Zh), "端口 21 已关闭");
        assert_eq!(
            crate::report::json::to_string(&t).unwrap(),
            "\"port 21 closed\""
        );
    }
}
