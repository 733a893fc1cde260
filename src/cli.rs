//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// What a build without the `live` feature answers to `ftpscope live ...`.
#[cfg(not(feature = "live"))]
pub const NO_LIVE: &str = "this ftpscope was built without live capture; rebuild with `cargo install ftpscope --features live` (needs libpcap)";

#[derive(Parser, Debug)]
#[command(
    name = "ftpscope",
    version,
    about = "Rebuild FTP sessions from captures, explain every command and reply, follow data connections, and say what went wrong."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Captures to open (`-`: standard input; several are merged in time order):
    /// the terminal UI when standard output is a terminal, the text report otherwise.
    #[arg(value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Leave out the explanation under each command and reply (the text report of
    /// `ftpscope CAPTURE`).
    #[arg(long)]
    pub no_explain: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Language of the text: en or zh. `report --format html` takes several,
    /// comma-separated (`--lang en,zh`): one page holding each, with a switch.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "en",
        global = true,
        value_name = "LANG"
    )]
    pub lang: Vec<LangArg>,
    /// Show PASS arguments instead of masking them as ****.
    #[arg(long, global = true)]
    pub show_passwords: bool,
    /// Treat this TCP port as an FTP control port too (repeatable; 21 always is).
    #[arg(long = "ftp-port", value_name = "PORT", global = true)]
    pub ftp_ports: Vec<u16>,
    /// Do not look for FTP on other ports by content.
    #[arg(long, global = true)]
    pub no_detect: bool,
    /// Wrap text output (report, diagnose, explain) to N columns; 0: no wrapping.
    /// Default: COLUMNS when set, else the terminal's width, else 100.
    #[arg(long, value_name = "N", global = true)]
    pub width: Option<usize>,
    /// Times in the text report, diagnose and the terminal UI: utc (RFC 3339, the default), local
    /// (this machine's time zone, TZ applies), or relative (seconds since the
    /// capture's first packet, as Wireshark shows).
    #[arg(long, value_enum, default_value_t = TimeArg::Utc, global = true)]
    pub time: TimeArg,
    /// Also say what limited transfers that went well (`transfer-network-limited`,
    /// info): the rate and round-trip time a healthy transfer reached.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// TLS key log (SSLKEYLOGFILE format, repeatable): FTPS control and data
    /// connections are decrypted and read as plain FTP. Default: $SSLKEYLOGFILE
    /// when set.
    #[arg(long = "tls-keylog", value_name = "FILE", global = true)]
    pub tls_keylog: Vec<PathBuf>,
    /// Threads for `report` (text, json, eve, ocsf): the capture is analysed on
    /// one, sessions are written on all, in the same order whatever N (the output
    /// does not change). Default: the machine's cores.
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Stop with an error (exit status 2) at an input file that cannot be read, is
    /// not a capture, or is truncated or damaged part-way, instead of naming it in a
    /// finding and analysing the rest.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Write every transfer's bytes to a file in DIR (created when missing) as it is
    /// reassembled, named from the session and the command (`s3-RETR-name`), never
    /// replacing a file; the JSON's `extracted` gives each file's path, size,
    /// sha256 and completeness. Transfers inside TLS are extracted when decrypted
    /// (--tls-keylog).
    #[arg(long, value_name = "DIR", global = true)]
    pub extract: Option<PathBuf>,
    /// Bytes all extracted files may take in all (a number with an optional unit:
    /// 500M, 2G); files past it are cut and marked `cut-by-limit`.
    #[arg(long, value_name = "BYTES", global = true, default_value = "4G", value_parser = parse_bytes)]
    pub extract_max_bytes: u64,
    /// TYPE A transfers: write them as they crossed the wire (raw, CRLF line ends)
    /// or converted back (CRLF to LF, as an ASCII-mode client on Unix stores them).
    /// Their line ends are counted either way.
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        global = true,
        default_value = "raw"
    )]
    pub extract_ascii: ExtractAscii,
}

/// `500M`, `2G`, `1024`, `64K` (binary units).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, shift) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (
            &s[..i],
            match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("`{s}`: the unit is K, M, G or T")),
            },
        ),
        _ => (s, 0),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a number of bytes (e.g. 500M, 2G)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExtractAscii {
    Raw,
    Converted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimeArg {
    Utc,
    Local,
    Relative,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print every FTP session of a capture: diagnosis, transcript, data connections.
    Report {
        /// Capture files (pcap, pcapng, gzip-compressed or not; `-` for standard
        /// input), directories (the files in them, in name order) or quoted glob
        /// patterns (`'ring/cap*.pcap'`). Several are merged in time order into one
        /// capture; a file that cannot be read is named and left out (--strict stops).
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
        /// text, json, html (one self-contained page with a ladder diagram of each
        /// session), svg (the ladder of one session: needs --session), zeek (Zeek's
        /// ftp.log, tab-separated), zeek-json (the same in Zeek's JSON log style), eve
        /// (Suricata's EVE JSON: ftp, ftp_data and ftpscope finding events), ocsf (OCSF
        /// FTP Activity events, findings as Detection Findings).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Leave out the explanation under each command and reply.
        #[arg(long)]
        no_explain: bool,
        /// Only this session (its number in the report): html draws it whatever
        /// the number of sessions; svg needs it.
        #[arg(long, value_name = "N")]
        session: Option<usize>,
        /// Instead of a report, write the packets of the --session (its control
        /// connection and its data connections) to FILE: pcapng, or pcap when FILE
        /// ends in .pcap. The same as the terminal UI's `x`.
        #[arg(long, value_name = "FILE", requires = "session")]
        write_pcap: Option<PathBuf>,
        #[command(flatten)]
        zeek: ftpscope::report::stream::ZeekArgs,
    },
    /// Print only the findings; exit 1 when one is an error.
    Diagnose {
        /// Capture files (as for `report`); several are merged in time order.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Debugging proxy: relay FTP clients to one upstream server, rewrite data-channel
    /// addresses so data goes through the proxy too, and show or log every session live.
    Proxy(Box<ftpscope::proxy::ProxyArgs>),
    /// Print where the CA of `proxy --tls-intercept` is and how to make clients
    /// trust it (curl, lftp, Python, the system store); made on first use.
    Ca {
        /// Use this CA file (certificate and key) instead of the default one.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Capture on an interface and analyse as it goes (needs root or CAP_NET_RAW;
    /// built with `--features live`).
    #[cfg(feature = "live")]
    Live(Box<ftpscope::live::LiveArgs>),
    /// Capture on an interface and analyse as it goes: not in this build (rebuild with
    /// `cargo install ftpscope --features live`, which needs libpcap).
    #[cfg(not(feature = "live"))]
    #[command(disable_help_flag = true)]
    Live {
        /// Whatever was given: the answer is the same.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Browse a capture in the terminal UI (sessions, transcripts, data connections, findings).
    Tui {
        /// Capture files (as for `report`); several are merged in time order.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
    },
    /// Explain a reply code, a reply line or a command: `explain 530`, `explain "227 ..."`, `explain EPRT`.
    Explain {
        #[arg(required = true)]
        input: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `report` writes these too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Html,
    Svg,
    Zeek,
    ZeekJson,
    Eve,
    Ocsf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}
