//! Session logs written as sessions end, in any of the line formats pipelines
//! ingest: the one writer `live` and `proxy` use (and `report`'s formats are the
//! same functions), so a session logged live or through the proxy reads as the
//! same session in a report of the capture.

use std::io::{self, Write};

use super::ViewOptions;
use super::zeek::{ZeekLog, ZeekOptions};
use crate::model::{Finding, Session};
use crate::time::Ts;

/// `--format` of `live` and `proxy`: one record (or one text block) per session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text for people.
    #[default]
    Text,
    /// ftpscope's JSON, one session per line (docs/json-schema.md).
    Json,
    /// Zeek's `ftp.log` (tab-separated, with its header lines).
    Zeek,
    /// Zeek's `ftp.log` in Zeek's JSON log style.
    ZeekJson,
    /// Suricata EVE JSON: `ftp`, `ftp_data` and `ftpscope` finding events.
    Eve,
    /// OCSF FTP Activity (4008) and Detection Finding (2004) events.
    Ocsf,
}

impl LogFormat {
    /// Text, written through the escaping writer; the other formats escape
    /// themselves.
    pub fn is_text(self) -> bool {
        self == LogFormat::Text
    }

    /// What the log's messages (notes between sessions) may be: `#` lines fit
    /// text and Zeek's TSV; the JSON formats take records only.
    pub fn takes_comments(self) -> bool {
        matches!(self, LogFormat::Text | LogFormat::Zeek)
    }

    /// The name as given to `--format`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "JSON lines",
            LogFormat::Zeek => "Zeek ftp.log",
            LogFormat::ZeekJson => "Zeek JSON ftp.log",
            LogFormat::Eve => "Suricata EVE JSON",
            LogFormat::Ocsf => "OCSF JSON",
        }
    }
}

/// The Zeek formats' options on the command line (`report`, `live`, `proxy`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ZeekArgs {
    /// With --format zeek or zeek-json: add ftpscope's columns after Zeek's
    /// (ftpscope_outcome, ftpscope_findings, community_id).
    #[arg(long)]
    pub zeek_extra: bool,
    /// With --format zeek or zeek-json: log these commands too (comma-separated,
    /// as Zeek's `redef FTP::logged_commands += {...}`; `<init>` is the greeting).
    #[arg(long, value_name = "CMDS", value_delimiter = ',')]
    pub zeek_commands: Vec<String>,
}

impl ZeekArgs {
    /// The writer's options; passwords as the model holds them (`--show-passwords`).
    pub fn options(&self, show_passwords: bool) -> ZeekOptions {
        let mut o = ZeekOptions {
            extra: self.zeek_extra,
            show_passwords,
            ..Default::default()
        };
        o.logged.extend(
            self.zeek_commands
                .iter()
                .map(|v| v.trim().to_ascii_uppercase()),
        );
        o
    }
}

/// A log of sessions in one [`LogFormat`]: [`SessionLog::session`] as each ends,
/// then [`SessionLog::finish`] with the capture-wide findings.
pub struct SessionLog {
    format: LogFormat,
    opts: ViewOptions,
    zeek: Option<ZeekLog>,
}

impl SessionLog {
    /// `zeek` sets the Zeek formats' options (its `json` is taken from `format`).
    pub fn new(format: LogFormat, opts: ViewOptions, mut zeek: ZeekOptions) -> Self {
        zeek.json = format == LogFormat::ZeekJson;
        SessionLog {
            format,
            opts,
            zeek: matches!(format, LogFormat::Zeek | LogFormat::ZeekJson)
                .then(|| ZeekLog::new(zeek)),
        }
    }

    /// Whether a session's records depend on nothing but the session (not on the
    /// sessions before it, as Zeek's header does): then several logs can write
    /// sessions side by side and their records be put together in order.
    pub fn is_stateless(&self) -> bool {
        self.zeek.is_none()
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// One session's record(s); text ends with a blank line.
    pub fn session(&mut self, out: &mut dyn Write, s: &Session) -> io::Result<()> {
        match self.format {
            LogFormat::Text => {
                super::text::write_session(out, s, self.opts)?;
                writeln!(out)
            }
            LogFormat::Json => super::json::write_session(out, s, self.opts.lang),
            LogFormat::Zeek | LogFormat::ZeekJson => self
                .zeek
                .as_mut()
                .expect("a Zeek log for the Zeek formats")
                .write_session(out, s),
            LogFormat::Eve => super::eve::write_session(out, s),
            LogFormat::Ocsf => super::ocsf::write_session(out, s),
        }
    }

    /// What ends the log in the record formats: Zeek's `#close` line, EVE's and
    /// OCSF's capture-wide finding events (dated `at`). Text and ftpscope's JSON
    /// end with a summary of their own, written by the caller.
    pub fn finish(&mut self, out: &mut dyn Write, findings: &[Finding], at: Ts) -> io::Result<()> {
        match self.format {
            LogFormat::Text | LogFormat::Json => Ok(()),
            LogFormat::Zeek | LogFormat::ZeekJson => self
                .zeek
                .as_mut()
                .expect("a Zeek log for the Zeek formats")
                .finish(out, at),
            LogFormat::Eve => super::eve::write_capture_findings(out, findings, at),
            LogFormat::Ocsf => super::ocsf::write_capture_findings(out, findings, at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_session() -> Session {
        let cap = crate::engine::analyze_file(
            std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/captures/passive-refused.pcap"
            )),
            Default::default(),
        )
        .expect("the shipped capture reads");
        cap.sessions.into_iter().next().expect("a session")
    }

    #[test]
    fn each_format_writes_what_report_writes() {
        let s = one_session();
        let opts = ViewOptions::default();
        let mut want = Vec::new();
        super::super::eve::write_session(&mut want, &s).unwrap();
        let mut log = SessionLog::new(LogFormat::Eve, opts, ZeekOptions::default());
        let mut got = Vec::new();
        log.session(&mut got, &s).unwrap();
        assert_eq!(got, want);

        let mut zeek = SessionLog::new(LogFormat::Zeek, opts, ZeekOptions::default());
        let mut out = Vec::new();
        zeek.session(&mut out, &s).unwrap();
        zeek.finish(&mut out, &[], s.end).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("#separator \\x09\n"), "{text}");
        assert!(
            text.lines().last().unwrap().starts_with("#close\t"),
            "{text}"
        );
        assert!(text.lines().any(|l| l.contains("\tPASV\t")), "{text}");

        let mut zj = SessionLog::new(LogFormat::ZeekJson, opts, ZeekOptions::default());
        let mut out = Vec::new();
        zj.session(&mut out, &s).unwrap();
        zj.finish(&mut out, &[], s.end).unwrap();
        for l in String::from_utf8(out).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).expect("Zeek JSON rows only");
            assert!(v["uid"].is_string(), "{l}");
        }
    }
}
