//! Key bindings as data.
//!
//! [`BINDINGS`] is the one table of keys: [`lookup`] reads it to turn a key press
//! into a [`Cmd`], and the help overlay and the hint line are generated from it,
//! so what the help says is what the keys do.
//!
//! A binding belongs to a [`Ctx`]: context bindings are looked up first (the list
//! views, the session view), then the global ones. While a prompt (filter,
//! search) or the help overlay is open, keys are handled by `app::key_action`
//! before this table is consulted.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::ftp::catalog::Lang;

/// What a key asks for. Everything else that changes state (typed text, mouse,
/// resize, a new snapshot) is an [`super::app::Action`] of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    Quit,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    NextPane,
    PrevPane,
    ShowSessions,
    ShowData,
    ShowFindings,
    Sort,
    Filter,
    Search,
    NextMatch,
    PrevMatch,
    LineFilter,
    Explain,
    NextFinding,
    PrevFinding,
    WriteText,
    WriteJson,
    WritePcap,
    FaultRefuse,
    FaultDrop,
    FaultDelay,
    FaultReply,
    FaultClear,
    ToggleMouse,
    Freeze,
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    /// Every view.
    Global,
    /// The sessions, data-connection and findings lists.
    List,
    /// One session: findings and transcript.
    Session,
}

impl Ctx {
    pub fn title(self) -> &'static str {
        match self {
            Ctx::Global => "Everywhere",
            Ctx::List => "Session, data and finding lists",
            Ctx::Session => "One session (findings and transcript)",
        }
    }

    /// [`Ctx::title`] in `lang`.
    pub fn title_in(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, _) => self.title(),
            (Lang::Zh, Ctx::Global) => "所有视图",
            (Lang::Zh, Ctx::List) => "会话、数据连接和发现列表",
            (Lang::Zh, Ctx::Session) => "单个会话（发现和会话记录）",
        }
    }
}

impl Cmd {
    /// The help text of the command in Chinese (the English is in [`BINDINGS`]).
    /// Exhaustive: a new command does not compile without its Chinese.
    pub fn help_zh(self) -> &'static str {
        match self {
            Cmd::Quit => "退出",
            Cmd::Help => "显示或隐藏本帮助",
            Cmd::Up => "上移一行",
            Cmd::Down => "下移一行",
            Cmd::PageUp => "上翻一页",
            Cmd::PageDown => "下翻一页",
            Cmd::Top => "第一行",
            Cmd::Bottom => "最后一行；实时模式下重新跟随新行",
            Cmd::Open => "打开所选项（在会话中：跳到发现的证据）",
            Cmd::Back => "返回；先清除过滤或搜索",
            Cmd::NextPane => "下一个视图（在会话中：下一个窗格）",
            Cmd::PrevPane => "上一个视图（在会话中：上一个窗格）",
            Cmd::ShowSessions => "会话",
            Cmd::ShowData => "数据连接",
            Cmd::ShowFindings => "发现",
            Cmd::Sort => "会话排序：时间、字节数、发现",
            Cmd::Filter => "过滤会话（见下文）",
            Cmd::Search => "搜索会话记录（在提示符中按 Up/Down：上一个/下一个匹配）",
            Cmd::NextMatch => "下一个搜索匹配",
            Cmd::PrevMatch => "上一个搜索匹配",
            Cmd::Explain => "显示/隐藏命令和响应下的解释",
            Cmd::NextFinding => "下一条发现（跳到其证据引用的交互）",
            Cmd::PrevFinding => "上一条发现",
            Cmd::WriteText => "把所选会话写入 ./ftpscope-session-ID.txt",
            Cmd::WriteJson => "把所选会话写入 ./ftpscope-session-ID.json",
            Cmd::WritePcap => {
                "把所选会话的包（控制连接和数据连接）写入 ./ftpscope-session-ID.pcapng"
            }
            Cmd::LineFilter => "只显示有一行包含该文本的交互（!text：隐藏它们）",
            Cmd::FaultRefuse => "代理：拒绝下一个数据连接",
            Cmd::FaultDrop => "代理：在两端都连上后重置下一个数据连接",
            Cmd::FaultDelay => "代理：延迟每个响应（会询问多久：500ms、2s；0：不再延迟）",
            Cmd::FaultReply => "代理：用一个响应码回答下一条命令（会询问哪个：425、550……）",
            Cmd::FaultClear => "代理：解除所有故障注入",
            Cmd::ToggleMouse => "鼠标捕获开/关（关：用终端选择文本）",
            Cmd::Freeze => "实时：冻结/恢复更新",
        }
    }
}

/// A key with its modifiers (Shift is folded into the character for letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

pub struct Binding {
    pub ctx: Ctx,
    pub keys: &'static [Key],
    pub cmd: Cmd,
    pub help: &'static str,
}

const fn b(ctx: Ctx, keys: &'static [Key], cmd: Cmd, help: &'static str) -> Binding {
    Binding {
        ctx,
        keys,
        cmd,
        help,
    }
}

/// The key table. Order is the order of the help overlay.
pub const BINDINGS: &[Binding] = &[
    b(Ctx::Global, &[ch('?')], Cmd::Help, "show or hide this help"),
    b(Ctx::Global, &[ch('q'), ctrl('c')], Cmd::Quit, "quit"),
    b(
        Ctx::Global,
        &[code(KeyCode::Up), ch('k')],
        Cmd::Up,
        "up one line",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::Down), ch('j')],
        Cmd::Down,
        "down one line",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::PageUp), ctrl('b')],
        Cmd::PageUp,
        "up one page",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::PageDown), ctrl('f'), ch(' ')],
        Cmd::PageDown,
        "down one page",
    ),
    b(
        Ctx::Global,
        &[ch('g'), code(KeyCode::Home)],
        Cmd::Top,
        "first line",
    ),
    b(
        Ctx::Global,
        &[ch('G'), code(KeyCode::End)],
        Cmd::Bottom,
        "last line; in live mode, follow new lines again",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::Enter)],
        Cmd::Open,
        "open the selected item (in a session: go to the finding's evidence)",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::Esc)],
        Cmd::Back,
        "back; clears the filter or search first",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::Tab)],
        Cmd::NextPane,
        "next view (in a session: next pane)",
    ),
    b(
        Ctx::Global,
        &[code(KeyCode::BackTab)],
        Cmd::PrevPane,
        "previous view (in a session: previous pane)",
    ),
    b(Ctx::Global, &[ch('1')], Cmd::ShowSessions, "sessions"),
    b(Ctx::Global, &[ch('2')], Cmd::ShowData, "data connections"),
    b(
        Ctx::Global,
        &[ch('3')],
        Cmd::ShowFindings,
        "findings, most severe first",
    ),
    b(
        Ctx::Global,
        &[ch('n')],
        Cmd::NextFinding,
        "next finding (jumps to the exchange its evidence cites)",
    ),
    b(
        Ctx::Global,
        &[ch('N')],
        Cmd::PrevFinding,
        "previous finding",
    ),
    b(
        Ctx::Global,
        &[ch('w')],
        Cmd::WriteText,
        "write the selected session to ./ftpscope-session-ID.txt",
    ),
    b(
        Ctx::Global,
        &[ch('W')],
        Cmd::WriteJson,
        "write the selected session to ./ftpscope-session-ID.json",
    ),
    b(
        Ctx::Global,
        &[ch('x')],
        Cmd::WritePcap,
        "write the selected session's packets (control and data connections) to ./ftpscope-session-ID.pcapng",
    ),
    b(
        Ctx::Global,
        &[ch('m')],
        Cmd::ToggleMouse,
        "mouse capture on/off (off: select text with the terminal)",
    ),
    b(
        Ctx::Global,
        &[ch('F')],
        Cmd::Freeze,
        "live: freeze / resume updates",
    ),
    b(
        Ctx::Global,
        &[ch('R')],
        Cmd::FaultRefuse,
        "proxy: refuse the next data connection",
    ),
    b(
        Ctx::Global,
        &[ch('D')],
        Cmd::FaultDrop,
        "proxy: reset the next data connection once both sides are connected",
    ),
    b(
        Ctx::Global,
        &[ch('L')],
        Cmd::FaultDelay,
        "proxy: hold every reply back (asks how long: 500ms, 2s; 0: no more)",
    ),
    b(
        Ctx::Global,
        &[ch('A')],
        Cmd::FaultReply,
        "proxy: answer the next command with a code (asks which: 425, 550, ...)",
    ),
    b(
        Ctx::Global,
        &[ch('C')],
        Cmd::FaultClear,
        "proxy: disarm every fault",
    ),
    b(
        Ctx::List,
        &[ch('f'), ch('/')],
        Cmd::Filter,
        "filter sessions (see below)",
    ),
    b(
        Ctx::List,
        &[ch('s')],
        Cmd::Sort,
        "sort sessions: time, bytes, findings",
    ),
    b(
        Ctx::Session,
        &[ch('e')],
        Cmd::Explain,
        "explanations under commands and replies on/off",
    ),
    b(
        Ctx::Session,
        &[ch('/')],
        Cmd::Search,
        "search the transcript (Up/Down in the prompt: previous/next match)",
    ),
    b(
        Ctx::Session,
        &[ch('f')],
        Cmd::LineFilter,
        "show only the exchanges with a line containing the text (!text: hide them)",
    ),
    b(
        Ctx::Session,
        &[ch(']')],
        Cmd::NextMatch,
        "next search match",
    ),
    b(
        Ctx::Session,
        &[ch('[')],
        Cmd::PrevMatch,
        "previous search match",
    ),
];

/// [`FILTER_HELP`] in Chinese (same lines, same order; the length is checked by the type).
pub const FILTER_HELP_ZH: [&str; 12] = [
    "过滤：以空格分隔的词，必须全部匹配；a or b 表示任一，not a（!a）表示取反，( ) 分组。",
    "  code:530  code:5xx   带有该响应码的响应（x：任意数字）",
    "  code:4xx|5xx         任一备选值（每个键都接受 |）",
    "  user:anon            用户名包含该文本",
    "  host:10.0.0.5        客户端、服务器或数据连接地址（IP、IP:port 或文本）",
    "  finding:passive      id 包含该文本的发现",
    "  mode:active          该模式的数据连接（active/passive）",
    "  status:error         最严重的发现：error、warning、info 或 ok",
    "  bytes>1M             数据字节数：> >= < <= =；k M G（1000 进制），KiB MiB GiB",
    "  duration>5s          会话时长（ms、s、m、h）",
    "  cmds>10  data>=2     命令数、数据连接数",
    "  其他任何文本         出现在地址、用户、发现、命令、响应中的文本",
];

/// Help text for the filter language (not key bindings, so not in the table).
pub const FILTER_HELP: [&str; 12] = [
    "Filter: words separated by spaces, all must match; a or b, not a (!a), ( ) group.",
    "  code:530  code:5xx   a reply with that code (x: any digit)",
    "  code:4xx|5xx         any of the alternatives (every key: takes |)",
    "  user:anon            user name contains",
    "  host:10.0.0.5        client, server or data address (IP, IP:port or text)",
    "  finding:passive      a finding whose id contains the text",
    "  mode:active          a data connection in that mode (active/passive)",
    "  status:error         worst finding: error, warning, info or ok",
    "  bytes>1M             data bytes: > >= < <= =; k M G (1000s), KiB MiB GiB",
    "  duration>5s          session duration (ms, s, m, h)",
    "  cmds>10  data>=2     number of commands, of data connections",
    "  anything else        text in addresses, user, findings, commands, replies",
];

fn normalize(k: KeyEvent) -> Key {
    let mut mods = k.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    // Shift is part of the character (G, N, ?); BackTab carries its own shift.
    if !matches!(k.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods |= k.modifiers & KeyModifiers::SHIFT;
    }
    if let KeyCode::Char(c) = k.code {
        if mods.contains(KeyModifiers::CONTROL) {
            return Key {
                code: KeyCode::Char(c.to_ascii_lowercase()),
                mods,
            };
        }
    }
    Key { code: k.code, mods }
}

/// The command bound to a key in a context (context bindings first, then global).
pub fn lookup(ctx: Ctx, key: KeyEvent) -> Option<Cmd> {
    let key = normalize(key);
    let find = |c: Ctx| {
        BINDINGS
            .iter()
            .find(|b| b.ctx == c && b.keys.contains(&key))
            .map(|b| b.cmd)
    };
    if ctx != Ctx::Global {
        if let Some(c) = find(ctx) {
            return Some(c);
        }
    }
    find(Ctx::Global)
}

/// A key's name as the help shows it.
pub fn key_name(k: &Key) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        other => format!("{other:?}"),
    };
    if k.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// The first key bound to a command in a context (or globally), for hints.
pub fn first_key(ctx: Ctx, cmd: Cmd) -> Option<String> {
    BINDINGS
        .iter()
        .filter(|b| b.cmd == cmd && (b.ctx == ctx || b.ctx == Ctx::Global))
        .find_map(|b| b.keys.first())
        .map(key_name)
}

/// The help overlay's lines: one heading per context, one line per binding, then
/// the filter language.
pub fn help_lines() -> Vec<(bool, String)> {
    help_lines_in(Lang::En)
}

/// [`help_lines`] in `lang`.
pub fn help_lines_in(lang: Lang) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for ctx in [Ctx::Global, Ctx::List, Ctx::Session] {
        out.push((true, ctx.title_in(lang).to_string()));
        for b in BINDINGS.iter().filter(|b| b.ctx == ctx) {
            let keys: Vec<String> = b.keys.iter().map(key_name).collect();
            let help = match lang {
                Lang::En => b.help,
                Lang::Zh => b.cmd.help_zh(),
            };
            out.push((false, format!("  {:<18} {}", keys.join(" "), help)));
        }
        out.push((false, String::new()));
    }
    let filter = match lang {
        Lang::En => FILTER_HELP,
        Lang::Zh => FILTER_HELP_ZH,
    };
    for l in filter {
        out.push((false, l.to_string()));
    }
    out
}

/// The help lines wrapped to `width` columns (descriptions continue under
/// their column), as the overlay draws them and as `update` scrolls them.
pub fn help_rows(width: usize) -> Vec<(bool, String)> {
    help_rows_in(width, Lang::En)
}

/// [`help_rows`] in `lang`.
pub fn help_rows_in(width: usize, lang: Lang) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (heading, text) in help_lines_in(lang) {
        let indent = if text.starts_with("  ") { 21 } else { 2 };
        for row in super::lines::wrap(&[(super::lines::Role::Plain, text)], width, indent) {
            out.push((heading, row.into_iter().map(|(_, s)| s).collect()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn context_bindings_win_over_global() {
        let slash = key(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(lookup(Ctx::List, slash), Some(Cmd::Filter));
        assert_eq!(lookup(Ctx::Session, slash), Some(Cmd::Search));
        assert_eq!(
            lookup(Ctx::Session, key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Cmd::Quit)
        );
    }

    #[test]
    fn shift_and_ctrl_are_normalized() {
        assert_eq!(
            lookup(Ctx::List, key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Cmd::Bottom)
        );
        assert_eq!(
            lookup(Ctx::List, key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Cmd::Quit)
        );
        assert_eq!(
            lookup(Ctx::List, key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Cmd::PrevPane)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                if a.ctx == b.ctx {
                    for k in a.keys {
                        assert!(!b.keys.contains(k), "{k:?} bound twice in {:?}", a.ctx);
                    }
                }
            }
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let help = help_lines();
        for b in BINDINGS {
            assert!(help.iter().any(|(_, l)| l.contains(b.help)), "{}", b.help);
        }
    }
}
