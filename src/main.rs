//! The `ftpscope` binary: parse arguments, run, map errors to an exit code.

mod cli;

use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Cmd, Common, Format, LangArg, ReportFormat, TimeArg};
use ftpscope::ftp::catalog::Lang;
use ftpscope::model::{CaptureStats, Finding, Severity};
use ftpscope::report::{self, ViewOptions};
use ftpscope::session::TrackerConfig;
use ftpscope::text::wrap::WrapWriter;
use ftpscope::time::TimeView;

fn lang(c: &Common) -> Lang {
    match c.lang {
        LangArg::En => Lang::En,
        LangArg::Zh => Lang::Zh,
    }
}

/// Columns for text output: `--width`, else COLUMNS, the terminal, or 100.
fn text_width(c: &Common) -> usize {
    c.width.unwrap_or_else(ftpscope::text::wrap::output_width)
}

/// How `--time` shows times; `relative` counts from the capture's first packet.
fn time_view(c: &Common, captures: &[PathBuf]) -> TimeView {
    match c.time {
        TimeArg::Utc => TimeView::Utc,
        TimeArg::Local => TimeView::Local,
        TimeArg::Relative => match captures.iter().filter_map(|p| first_packet_time(p)).min() {
            Some(t) => TimeView::Relative(t),
            None => {
                eprintln!(
                    "ftpscope: --time relative: the first packet's time cannot be read ahead; times are shown in UTC"
                );
                TimeView::Utc
            }
        },
    }
}

/// The time of a capture's first packet (read before the analysis, which writes
/// sessions as they end, long before it knows the capture's bounds).
fn first_packet_time(capture: &Path) -> Option<ftpscope::time::Ts> {
    // Standard input cannot be read twice.
    if ftpscope::capture::input::is_stdin(capture) {
        return None;
    }
    let input = ftpscope::capture::input::open(capture).ok()?;
    let mut r = ftpscope::capture::reader::CaptureReader::new(input.reader).ok()?;
    r.next_packet().ok()?.map(|p| p.ts)
}

fn tracker_config(c: &Common) -> TrackerConfig {
    let mut ports = vec![21];
    ports.extend(c.ftp_ports.iter().copied().filter(|p| *p != 21));
    TrackerConfig {
        ftp_ports: ports,
        detect_by_content: !c.no_detect,
        show_passwords: c.show_passwords,
    }
}

/// Run the engine on this thread and hand sessions, as they end, to `consume` on a
/// writer thread, so serialising does not slow the engine. The hand-over is bounded
/// by weight ([`ftpscope::engine::handover`]): the engine waits when the writer is
/// far behind, so memory grows neither with the number nor the size of sessions.
fn pipelined<F>(
    captures: &[PathBuf],
    cfg: TrackerConfig,
    consume: F,
) -> anyhow::Result<(CaptureStats, Vec<Finding>)>
where
    F: FnOnce(ftpscope::engine::handover::Receiver) -> io::Result<()> + Send,
{
    use ftpscope::engine::handover;
    let (mut tx, rx) = handover::channel(handover::IN_FLIGHT_BYTES);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || consume(rx));
        let res = ftpscope::engine::stream_files(captures, cfg, &mut |s| tx.push(s));
        drop(tx);
        let wres = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the output thread panicked"))?;
        let out = res.with_context(|| format!("cannot analyse {}", names(captures)))?;
        wres?;
        Ok(out)
    })
}

/// An error writing the (unnamed) temporary file, saying where it is.
fn in_temp_file(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "cannot write the temporary file in {} (set TMPDIR to a directory with room): {e}",
            std::env::temp_dir().display()
        ),
    )
}

/// The text report with constant memory: sessions are rendered to a temporary file as
/// they end, then the head and the diagnosis are printed, then the sessions.
fn text_report(
    out: &mut dyn Write,
    captures: &[PathBuf],
    c: &Common,
    opts: ViewOptions,
) -> anyhow::Result<()> {
    let tv = time_view(c, captures);
    let out = &mut WrapWriter::new(out, text_width(c));
    let tmp = tempfile::tempfile().with_context(|| {
        format!(
            "cannot create a temporary file in {}",
            std::env::temp_dir().display()
        )
    })?;
    let body_file = tmp.try_clone()?;
    let (tx_sum, rx_sum) = std::sync::mpsc::channel();
    let (stats, cap_findings) = pipelined(captures, tracker_config(c), move |rx| {
        let mut body = io::BufWriter::with_capacity(1 << 16, body_file);
        let mut sum = report::text::Summary::default();
        let res = (|| {
            for s in rx {
                sum.add(&s);
                writeln!(body)?;
                report::text::write_session_at(&mut body, &s, opts, tv)?;
            }
            body.flush()
        })();
        res.map_err(in_temp_file)?;
        let _ = tx_sum.send(sum);
        Ok(())
    })?;
    let mut sum = rx_sum.recv().context("the report writer stopped")?;
    sum.capture_findings = cap_findings;
    report::text::write_head_at(out, &stats, &sum, &names(captures), opts, tv)?;
    let mut f = tmp;
    f.rewind()?;
    io::copy(&mut f, out)?;
    out.flush()?;
    Ok(())
}

/// `report --format html` (one page; sessions kept whole up to a limit) or
/// `--format svg --session N` (the ladder of that session).
fn html_report(
    out: &mut dyn Write,
    captures: &[PathBuf],
    c: &Common,
    svg: bool,
    session: Option<usize>,
) -> anyhow::Result<()> {
    use report::html;
    if svg && session.is_none() {
        anyhow::bail!(
            "--format svg draws one session: add --session N (the session numbers are in `ftpscope report`)"
        );
    }
    let tv = time_view(c, captures);
    let title = names(captures);
    let (tx, rx) = std::sync::mpsc::channel();
    let (stats, cap_findings) = pipelined(captures, tracker_config(c), move |sessions| {
        let mut b = html::Builder::new(&title, session, tv).lang(lang(c));
        let mut one = None;
        for s in sessions {
            if svg {
                if Some(s.id) == session {
                    one = Some(s);
                }
            } else {
                b.add(s);
            }
        }
        let _ = tx.send((b, one));
        Ok(())
    })?;
    let (b, one) = rx.recv().context("the report writer stopped")?;
    if let Some(n) = session
        && (svg && one.is_none() || !svg && !b.has_session(n))
    {
        anyhow::bail!("there is no session {n} in {}", names(captures));
    }
    let page = match one {
        Some(s) => html::standalone_svg(&s, tv),
        None => b.finish(&stats, &cap_findings),
    };
    out.write_all(page.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `diagnose`: the findings only, written as sessions end (constant memory: a
/// session is dropped once its findings are written). Text goes through a temporary
/// file so that capture-wide findings, known at the end, come first. Returns the
/// most severe finding.
fn diagnose(
    out: &mut dyn Write,
    captures: &[PathBuf],
    c: &Common,
    json: bool,
) -> anyhow::Result<Option<Severity>> {
    use report::diagnose_view;
    let lang = lang(c);
    let tv = time_view(c, captures);
    let out = &mut WrapWriter::new(out, if json { 0 } else { text_width(c) });
    let name = names(captures);
    let (tmp, body_file) = if json {
        (None, None)
    } else {
        let t = tempfile::tempfile().with_context(|| {
            format!(
                "cannot create a temporary file in {}",
                std::env::temp_dir().display()
            )
        })?;
        let b = t.try_clone()?;
        (Some(t), Some(b))
    };
    let (tx_sum, rx_sum) = std::sync::mpsc::channel();
    let (stats, cap_findings) = pipelined(captures, tracker_config(c), move |rx| {
        let mut sum = diagnose_view::Tally::default();
        match body_file {
            None => {
                let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
                for s in rx {
                    sum.add(&s);
                    diagnose_view::write_session(&mut w, &s, true, lang)?;
                }
                w.flush()?;
            }
            Some(f) => {
                let mut w = io::BufWriter::with_capacity(1 << 16, f);
                let res = (|| {
                    for s in rx {
                        sum.add(&s);
                        diagnose_view::write_session_at(&mut w, &s, false, lang, tv)?;
                    }
                    w.flush()
                })();
                res.map_err(in_temp_file)?;
            }
        }
        let _ = tx_sum.send(sum);
        Ok(())
    })?;
    let mut sum = rx_sum.recv().context("the diagnosis writer stopped")?;
    sum.add_capture(&cap_findings);
    if json {
        diagnose_view::write_tail(out, &stats, &cap_findings, &sum, &name, true, lang)?;
    } else {
        diagnose_view::write_head_at(out, &stats, &cap_findings, &name, lang, tv)?;
        if let Some(mut f) = tmp {
            f.rewind()?;
            io::copy(&mut f, out)?;
        }
        diagnose_view::write_tail(out, &stats, &cap_findings, &sum, &name, false, lang)?;
    }
    out.flush()?;
    Ok(sum.worst)
}

/// The debugging proxy: the live TUI on a terminal, a session log otherwise (until
/// Ctrl-C or SIGTERM).
fn run_proxy(args: ftpscope::proxy::ProxyArgs, c: &Common) -> anyhow::Result<u8> {
    use std::io::IsTerminal;
    use std::sync::Arc;
    let mut cfg = args.into_config()?;
    cfg.show_passwords = c.show_passwords;
    cfg.lang = lang(c);
    let tui =
        cfg.log.is_none() && !cfg.json && io::stdout().is_terminal() && io::stdin().is_terminal();
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    // With --log the proxy writes the file itself; the observer only prints to stdout.
    // With the TUI, messages (a log that cannot be written) show in its status line.
    let log_counts = Arc::new(ftpscope::proxy::LogObserver::default());
    let sink: Arc<dyn ftpscope::proxy::ProxyObserver> = if tui {
        Arc::new(ftpscope::proxy::NoObserver)
    } else if cfg.log.is_some() {
        log_counts.clone()
    } else {
        Arc::new(ftpscope::proxy::WriterObserver::with_options(
            Box::new(io::stdout()),
            cfg.json,
            ViewOptions {
                lang: cfg.lang,
                explain: cfg.explain,
            },
        ))
    };
    let log_path = cfg.log.clone();
    let proxy = rt.block_on(ftpscope::proxy::Proxy::bind(cfg))?;
    let handle = proxy.handle();
    let serve = rt.spawn(proxy.serve(shutdown.clone(), sink));
    if tui {
        let title = format!(
            "proxy {} -> {}",
            handle.listen_addr(),
            handle.upstream_name()
        );
        let ui = ftpscope::tui::run_live(title, Arc::new(handle), lang(c));
        shutdown.cancel();
        let served = rt
            .block_on(serve)
            .map_err(|e| anyhow::anyhow!("the proxy task failed: {e}"))?;
        ui?;
        served?;
    } else {
        // Ctrl-C or SIGTERM: stop serving, write the summary; a second one exits at once.
        let stop = shutdown.clone();
        let _signals = ftpscope::signals::StopOnSignal::install(move || stop.cancel())
            .context("cannot start the signal handler")?;
        let served = rt
            .block_on(serve)
            .map_err(|e| anyhow::anyhow!("the proxy task failed: {e}"))?;
        if let Some(p) = &log_path {
            eprintln!(
                "ftpscope proxy: stopped: {}",
                ftpscope::text::escape_str(&log_counts.summary_in(&handle, p, lang(c)))
            );
        }
        served?;
    }
    Ok(0)
}

/// `ftpscope live`: the live TUI on a terminal (the capture on its own thread),
/// a session log otherwise.
#[cfg(feature = "live")]
fn run_live(
    args: ftpscope::live::LiveArgs,
    cfg: TrackerConfig,
    lang: ftpscope::ftp::catalog::Lang,
) -> anyhow::Result<u8> {
    if !ftpscope::live::wants_tui(&args) {
        return ftpscope::live::run(args, cfg, lang);
    }
    let capture = ftpscope::live::CaptureThread::start(&args, cfg)?;
    let ui = ftpscope::tui::run_live(
        capture.title().to_string(),
        std::sync::Arc::new(capture.state().clone()),
        lang,
    );
    capture.stop();
    ui?;
    Ok(0)
}

/// Exit codes: 0 fine, 1 an error-level finding (diagnose), 2 usage or input error.
fn run(cli: Cli) -> anyhow::Result<u8> {
    // Not locked: report writers run on their own thread.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout());
    let c = cli.common.clone();
    let code = match cli.command {
        Some(Cmd::Report {
            captures,
            format: ReportFormat::Json,
            session,
            ..
        }) => {
            pipelined(&captures, tracker_config(&c), |rx| {
                let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
                for s in rx {
                    if session.is_none_or(|n| n == s.id) {
                        report::json::write_session(&mut w, &s, lang(&c))?;
                    }
                }
                w.flush()
            })?;
            0
        }
        Some(Cmd::Report {
            captures,
            format: format @ (ReportFormat::Html | ReportFormat::Svg),
            session,
            ..
        }) => {
            html_report(
                &mut out,
                &captures,
                &c,
                format == ReportFormat::Svg,
                session,
            )?;
            0
        }
        Some(Cmd::Report {
            captures,
            no_explain,
            ..
        }) => {
            text_report(
                &mut out,
                &captures,
                &c,
                ViewOptions {
                    lang: lang(&c),
                    explain: !no_explain,
                },
            )?;
            0
        }
        Some(Cmd::Diagnose { captures, format }) => {
            let worst = diagnose(&mut out, &captures, &c, format == Format::Json)?;
            u8::from(worst == Some(Severity::Error))
        }
        Some(Cmd::Proxy(args)) => run_proxy(*args, &c)?,
        #[cfg(feature = "live")]
        Some(Cmd::Live(args)) => run_live(*args, tracker_config(&c), lang(&c))?,
        #[cfg(not(feature = "live"))]
        Some(Cmd::Live { .. }) => {
            eprintln!("ftpscope: {}", cli::NO_LIVE);
            2
        }
        Some(Cmd::Tui { capture }) => {
            ftpscope::tui::run_file(&capture, tracker_config(&c), lang(&c))?;
            0
        }
        Some(Cmd::Explain { input }) => {
            use ftpscope::ftp::explain;
            // The explanation quotes the argument: through the escaping writer.
            let width = text_width(&c);
            let mut out = ftpscope::text::SafeWriter::new(WrapWriter::new(&mut out, width));
            let mut code = 0;
            for (i, item) in explain::split_arguments(&input).iter().enumerate() {
                match explain::explain_item(item, lang(&c)) {
                    Ok(text) => {
                        if i > 0 {
                            writeln!(out)?;
                        }
                        writeln!(out, "{text}")?;
                    }
                    Err(e) => {
                        out.flush()?;
                        eprintln!(
                            "ftpscope: {}",
                            ftpscope::text::escape_str(&e.message(lang(&c)))
                        );
                        code = 2;
                    }
                }
            }
            out.flush()?;
            code
        }
        None => match cli.capture {
            Some(capture) => {
                use std::io::IsTerminal;
                if io::stdout().is_terminal() && io::stdin().is_terminal() {
                    ftpscope::tui::run_file(&capture, tracker_config(&c), lang(&c))?;
                } else {
                    let opts = ViewOptions {
                        lang: lang(&c),
                        explain: !cli.no_explain,
                    };
                    text_report(&mut out, std::slice::from_ref(&capture), &c, opts)?;
                }
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

/// The inputs as the report names them: `a.pcap`, or `a.pcap + b.pcapng`.
fn names(captures: &[PathBuf]) -> String {
    captures
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ")
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
            // The chain may quote a file name or what a peer sent.
            eprintln!(
                "ftpscope: error: {}",
                ftpscope::text::escape_str(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
