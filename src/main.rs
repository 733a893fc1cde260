//! The `ftpscope` binary: parse arguments, run, map errors to an exit code.

mod cli;

use std::io::{self, Seek, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Cmd, Common, Format, LangArg};
use ftpscope::ftp::catalog::Lang;
use ftpscope::model::{Capture, CaptureStats, Finding, Session, Severity};
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

/// Sessions from the engine, as they end, in batches.
struct Batches(std::sync::mpsc::Receiver<Vec<Session>>);

impl IntoIterator for Batches {
    type Item = Session;
    type IntoIter = std::iter::Flatten<std::sync::mpsc::IntoIter<Vec<Session>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
}

/// Run the engine on this thread and hand sessions, as they end, to `consume` on a
/// writer thread (bounded queue: the engine waits when the writer is far behind), so
/// serialising does not slow the engine and memory does not grow with the number of
/// sessions.
fn pipelined<F>(
    capture: &Path,
    cfg: TrackerConfig,
    consume: F,
) -> anyhow::Result<(CaptureStats, Vec<Finding>)>
where
    F: FnOnce(Batches) -> io::Result<()> + Send,
{
    // Sessions travel in batches: one hand-over per session costs more in thread
    // wake-ups than writing the session.
    const BATCH: usize = 64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Session>>(8);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || consume(Batches(rx)));
        let mut batch = Vec::with_capacity(BATCH);
        let res = ftpscope::engine::stream_file(capture, cfg, &mut |s| {
            batch.push(s);
            if batch.len() >= BATCH {
                // A send error means the writer stopped (a closed pipe, say): its
                // error is reported below.
                let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
        });
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        let wres = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the output thread panicked"))?;
        let out = res.with_context(|| format!("cannot analyse {}", capture.display()))?;
        wres?;
        Ok(out)
    })
}

/// The text report with constant memory: sessions are rendered to a temporary file as
/// they end, then the head and the diagnosis are printed, then the sessions.
fn text_report(
    out: &mut dyn Write,
    capture: &Path,
    c: &Common,
    opts: ViewOptions,
) -> anyhow::Result<()> {
    let tmp = tempfile::tempfile().context("cannot create a temporary file")?;
    let body_file = tmp.try_clone()?;
    let (tx_sum, rx_sum) = std::sync::mpsc::channel();
    let (stats, cap_findings) = pipelined(capture, tracker_config(c), move |rx| {
        let mut body = io::BufWriter::with_capacity(1 << 16, body_file);
        let mut sum = report::text::Summary::default();
        for s in rx {
            sum.add(&s);
            writeln!(body)?;
            report::text::write_session(&mut body, &s, opts)?;
        }
        body.flush()?;
        let _ = tx_sum.send(sum);
        Ok(())
    })?;
    let mut sum = rx_sum.recv().context("the report writer stopped")?;
    sum.capture_findings = cap_findings;
    report::text::write_head(out, &stats, &sum, &capture.display().to_string(), opts)?;
    let mut f = tmp;
    f.rewind()?;
    io::copy(&mut f, out)?;
    Ok(())
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
    let sink: Arc<dyn ftpscope::proxy::ProxyObserver> = if tui || cfg.log.is_some() {
        Arc::new(ftpscope::proxy::NoObserver)
    } else {
        Arc::new(ftpscope::proxy::WriterObserver::stdout(cfg.json, cfg.lang))
    };
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
        let stop = shutdown.clone();
        rt.spawn(async move {
            #[cfg(unix)]
            {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
        rt.block_on(serve)
            .map_err(|e| anyhow::anyhow!("the proxy task failed: {e}"))??;
    }
    Ok(0)
}

/// Exit codes: 0 fine, 1 an error-level finding (diagnose), 2 usage or input error.
fn run(cli: Cli) -> anyhow::Result<u8> {
    // Not locked: report writers run on their own thread.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout());
    let c = cli.common.clone();
    let code = match cli.command {
        Some(Cmd::Report {
            capture,
            format: Format::Json,
            ..
        }) => {
            pipelined(&capture, tracker_config(&c), |rx| {
                let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
                for s in rx {
                    report::json::write_session(&mut w, &s)?;
                }
                w.flush()
            })?;
            0
        }
        Some(Cmd::Report {
            capture,
            no_explain,
            ..
        }) => {
            text_report(
                &mut out,
                &capture,
                &c,
                ViewOptions {
                    lang: lang(&c),
                    explain: !no_explain,
                },
            )?;
            0
        }
        Some(Cmd::Diagnose { capture, format }) => {
            // Only the findings are printed: keep sessions without their transcripts.
            let mut sessions = Vec::new();
            let (stats, findings) =
                ftpscope::engine::stream_file(&capture, tracker_config(&c), &mut |mut s| {
                    s.exchanges = Vec::new();
                    s.data_channels = Vec::new();
                    s.anomalies = Vec::new();
                    sessions.push(s);
                })
                .with_context(|| format!("cannot analyse {}", capture.display()))?;
            sessions.sort_by_key(|s| s.id);
            let cap = Capture {
                sessions,
                stats,
                findings,
            };
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
        Some(Cmd::Proxy(args)) => run_proxy(*args, &c)?,
        #[cfg(feature = "live")]
        Some(Cmd::Live(args)) => ftpscope::live::run(*args, tracker_config(&c))?,
        Some(Cmd::Tui { capture }) => {
            ftpscope::tui::run_file(&capture, tracker_config(&c))?;
            0
        }
        Some(Cmd::Explain { input }) => {
            let text = input.join(" ");
            // The explanation quotes the argument: through the escaping writer.
            let mut out = ftpscope::text::SafeWriter::new(&mut out);
            writeln!(out, "{}", ftpscope::ftp::explain::input(&text, lang(&c)))?;
            out.flush()?;
            0
        }
        None => match cli.capture {
            Some(capture) => {
                use std::io::IsTerminal;
                if io::stdout().is_terminal() && io::stdin().is_terminal() {
                    ftpscope::tui::run_file(&capture, tracker_config(&c))?;
                } else {
                    let opts = ViewOptions {
                        lang: lang(&c),
                        explain: true,
                    };
                    text_report(&mut out, &capture, &c, opts)?;
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
