//! The `ftpscope` binary: parse arguments, run, map errors to an exit code.

mod cli;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Cmd, Common, Format, LangArg};
use ftpscope::ftp::catalog::Lang;
use ftpscope::model::{Capture, Severity};
use ftpscope::report::{self, ViewOptions};
use ftpscope::session::TrackerConfig;

fn lang(c: &Common) -> Lang {
    match c.lang {
        LangArg::En => Lang::En,
        LangArg::Zh => Lang::Zh,
    }
}

fn tracker_config(c: &Common) -> TrackerConfig {
    let mut ports = vec![21];
    ports.extend(c.ftp_ports.iter().copied().filter(|p| *p != 21));
    TrackerConfig {
        ftp_ports: ports,
        detect_by_content: !c.no_detect,
        show_passwords: c.show_passwords,
        lang: lang(c),
    }
}

fn analyze(path: &Path, c: &Common) -> anyhow::Result<Capture> {
    ftpscope::engine::analyze_file(path, tracker_config(c))
        .with_context(|| format!("cannot analyse {}", path.display()))
}

/// Exit codes: 0 fine, 1 an error-level finding (diagnose), 2 usage or input error.
fn run(cli: Cli) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let c = cli.common.clone();
    let code = match cli.command {
        Some(Cmd::Report {
            capture,
            format,
            no_explain,
        }) => {
            let cap = analyze(&capture, &c)?;
            match format {
                Format::Text => report::text::write(
                    &mut out,
                    &cap,
                    &capture.display().to_string(),
                    ViewOptions {
                        lang: lang(&c),
                        explain: !no_explain,
                    },
                )?,
                Format::Json => report::json::write(&mut out, &cap)?,
            }
            0
        }
        Some(Cmd::Diagnose { capture, format }) => {
            let cap = analyze(&capture, &c)?;
            report::diagnose_view::write(
                &mut out,
                &cap,
                &capture.display().to_string(),
                format == Format::Json,
                lang(&c),
            )?;
            let worst = cap
                .sessions
                .iter()
                .flat_map(|s| s.findings.iter())
                .chain(cap.findings.iter())
                .map(|f| f.severity)
                .max();
            u8::from(worst == Some(Severity::Error))
        }
        Some(Cmd::Explain { input }) => {
            let text = input.join(" ");
            writeln!(out, "{}", ftpscope::ftp::explain::input(&text, lang(&c)))?;
            0
        }
        None => match cli.capture {
            Some(capture) => {
                let cap = analyze(&capture, &c)?;
                report::text::write(
                    &mut out,
                    &cap,
                    &capture.display().to_string(),
                    ViewOptions {
                        lang: lang(&c),
                        explain: true,
                    },
                )?;
                0
            }
            None => {
                use clap::CommandFactory;
                Cli::command().print_help()?;
                2
            }
        },
    };
    out.flush()?;
    Ok(code)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftpscope: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
