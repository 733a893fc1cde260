//! The `ftpscope` binary: parse arguments, run, map errors to an exit code.

mod cli;

use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Cmd, Common, Format, LangArg, ReportFormat, TimeArg};
use ftpscope::ftp::catalog::Lang;
use ftpscope::model::{CaptureStats, Finding, Session, Severity};
use ftpscope::report::{self, ViewOptions};
use ftpscope::session::TrackerConfig;
use ftpscope::text::wrap::WrapWriter;
use ftpscope::time::TimeView;

/// The first language of `--lang` (the only one outside the HTML report).
fn lang(c: &Common) -> Lang {
    langs(c).first().copied().unwrap_or(Lang::En)
}

/// Every language of `--lang`, in order, each once.
fn langs(c: &Common) -> Vec<Lang> {
    let mut v = Vec::new();
    for l in &c.lang {
        let l = match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        };
        if !v.contains(&l) {
            v.push(l);
        }
    }
    v
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

fn tracker_config(c: &Common) -> anyhow::Result<TrackerConfig> {
    let mut ports = vec![21];
    ports.extend(c.ftp_ports.iter().copied().filter(|p| *p != 21));
    Ok(TrackerConfig {
        ftp_ports: ports,
        detect_by_content: !c.no_detect,
        show_passwords: c.show_passwords,
        verbose: c.verbose,
        tls_keys: tls_keys(c)?,
        extract: match &c.extract {
            Some(d) => Some(
                ftpscope::session::extract::ExtractDir::with_ascii(
                    d,
                    c.extract_max_bytes,
                    c.extract_ascii == cli::ExtractAscii::Converted,
                )
                .with_context(|| format!("cannot extract to {}", d.display()))?,
            ),
            None => None,
        },
    })
}

/// The TLS secrets: every `--tls-keylog` file, else `SSLKEYLOGFILE` when set and
/// readable (as curl and browsers write it).
fn tls_keys(c: &Common) -> anyhow::Result<Option<std::sync::Arc<ftpscope::tls::KeyLog>>> {
    let mut k = ftpscope::tls::KeyLog::default();
    if c.tls_keylog.is_empty() {
        match std::env::var_os("SSLKEYLOGFILE").map(PathBuf::from) {
            Some(p) if p.is_file() => k.add_file(&p)?,
            _ => return Ok(None),
        }
    }
    for p in &c.tls_keylog {
        k.add_file(p)?;
    }
    if k.is_empty() {
        eprintln!(
            "ftpscope: warning: the TLS key log has no usable line ({} unreadable)",
            k.bad_lines
        );
    }
    Ok(Some(std::sync::Arc::new(k)))
}

/// Run the engine and hand each session, as it ends, to `write` on this same thread,
/// which drops it when done: memory holds open sessions and the one being written.
/// (Sessions used to go to a writer thread in batches; freeing on one thread what
/// another allocated kept glibc's allocator in its locks, and the hand-over cost
/// more than the writing: issue 23, docs/performance.md.) After a write error the
/// analysis runs to its end without writing, and the error is returned.
fn streamed<F>(
    captures: &[PathBuf],
    cfg: TrackerConfig,
    mut write: F,
) -> anyhow::Result<(CaptureStats, Vec<Finding>)>
where
    F: FnMut(Session) -> io::Result<()>,
{
    let strict = STRICT.load(std::sync::atomic::Ordering::Relaxed);
    let mut failed = None;
    let res = ftpscope::engine::stream_files(captures, strict, cfg, &mut |s| {
        if failed.is_none()
            && let Err(e) = write(s)
        {
            failed = Some(e);
        }
    });
    let out = res.with_context(|| format!("cannot analyse {}", names(captures)))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(out)
}

/// [`streamed`] with each session written as `make()`'s renderers render it, on
/// `--threads` threads (the engine on this one; [`report::parallel`]), in the
/// order the sessions end. `each` sees every session first, on this thread.
fn streamed_rendered<'a>(
    captures: &[PathBuf],
    c: &Common,
    out: &mut dyn Write,
    make: &(dyn Fn() -> report::parallel::Renderer<'a> + Sync),
    stream: &mut dyn FnMut(&Session, &mut dyn Write) -> io::Result<()>,
    mut each: impl FnMut(&Session),
) -> anyhow::Result<(CaptureStats, Vec<Finding>)> {
    let threads = c
        .threads
        .map_or_else(report::parallel::default_threads, usize::from);
    let cfg = tracker_config(c)?;
    report::parallel::in_order(threads, make, stream, out, |sink| {
        streamed(captures, cfg, |s| {
            each(&s);
            sink(s)
        })
    })?
}

/// A writer to the temporary file whose errors say where it is.
struct TempFile<W: Write>(W);

impl<W: Write> Write for TempFile<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b).map_err(in_temp_file)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b).map_err(in_temp_file)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(in_temp_file)
    }
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
/// `report --session N --write-pcap FILE`: the session's packets to a new capture.
fn write_session_pcap(
    captures: &[PathBuf],
    n: usize,
    file: &Path,
    c: &Common,
) -> anyhow::Result<u8> {
    if captures
        .iter()
        .any(|p| ftpscope::capture::input::is_stdin(p))
    {
        anyhow::bail!(
            "--write-pcap reads the capture twice (to find the session, then its packets): save standard input to a file first"
        );
    }
    let mut found = None;
    ftpscope::engine::stream_files(captures, c.strict, tracker_config(c)?, &mut |s| {
        if s.id == n {
            found = Some(s);
        }
    })?;
    let Some(s) = found else {
        eprintln!(
            "ftpscope: no session {n} in {} (`ftpscope report` lists them)",
            ftpscope::text::escape_str(&names(captures))
        );
        return Ok(2);
    };
    let conns = ftpscope::capture::extract::session_connections(&s);
    let e = ftpscope::capture::extract::write_connections(captures, &conns, file)?;
    eprintln!(
        "ftpscope: {}",
        ftpscope::text::escape_str(
            ftpscope::tui::export::exported_message(s.id, &e, &file.display().to_string())
                .get(lang(c))
        )
    );
    Ok(0)
}

/// What a live UI leaves behind, told on standard error once the terminal is
/// back: the files the source wrote and those written from the UI, or that
/// nothing was saved and how to keep something next time.
fn saved_message(files: &[(&str, Option<&Path>)], how: &str, from_ui: &[PathBuf]) -> String {
    let mut parts: Vec<String> = files
        .iter()
        .filter_map(|(what, p)| p.map(|p| format!("{what} {}", p.display())))
        .collect();
    if !from_ui.is_empty() {
        let names: Vec<String> = from_ui.iter().map(|p| p.display().to_string()).collect();
        parts.push(format!("written from the UI: {}", names.join(", ")));
    }
    if parts.is_empty() {
        format!("stopped; nothing was saved ({how})")
    } else {
        format!("stopped; {}", parts.join("; "))
    }
}

/// The live terminal UI's options: `--time relative` counts from when it starts.
fn live_tui_options(c: &Common) -> ftpscope::tui::Options {
    let time = match c.time {
        TimeArg::Utc => TimeView::Utc,
        TimeArg::Local => TimeView::Local,
        TimeArg::Relative => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            TimeView::Relative(ftpscope::time::Ts(
                i64::try_from(now.as_nanos()).unwrap_or(i64::MAX),
            ))
        }
    };
    ftpscope::tui::Options {
        lang: lang(c),
        time,
        ..ftpscope::tui::Options::default()
    }
}

/// The terminal UI on capture files, with the options it shares with the text
/// report (`--lang`, `--time`).
fn tui_files(captures: &[PathBuf], c: &Common) -> anyhow::Result<()> {
    let stdin = captures
        .iter()
        .any(|p| ftpscope::capture::input::is_stdin(p));
    let opts = ftpscope::tui::Options {
        lang: lang(c),
        time: time_view(c, captures),
        export: if stdin { Vec::new() } else { captures.to_vec() },
        no_export: ftpscope::tr!(
            "the capture came from standard input, which cannot be read twice: save it to a file to export packets",
            "抓包来自标准输入，无法再读一次：请先保存为文件再导出数据包"
        ),
        ..ftpscope::tui::Options::default()
    };
    let saved = ftpscope::tui::run_files(captures, c.strict, tracker_config(c)?, opts)?;
    if !saved.is_empty() {
        let names: Vec<String> = saved.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "ftpscope: written from the UI: {}",
            ftpscope::text::escape_str(&names.join(", "))
        );
    }
    Ok(())
}

fn text_report(
    out: &mut dyn Write,
    captures: &[PathBuf],
    c: &Common,
    opts: ViewOptions,
) -> anyhow::Result<()> {
    let tv = time_view(c, captures);
    let width = text_width(c);
    let out = &mut WrapWriter::new(out, width);
    let tmp = tempfile::tempfile().with_context(|| {
        format!(
            "cannot create a temporary file in {}",
            std::env::temp_dir().display()
        )
    })?;
    let mut body = TempFile(io::BufWriter::with_capacity(1 << 16, tmp.try_clone()?));
    let mut sum = report::text::Summary::default();
    // Each session escaped and wrapped by the thread that renders it (wrapping
    // is line by line, so a session wraps alone as it does in the whole text).
    let make = || -> report::parallel::Renderer<'_> {
        let mut wrap = WrapWriter::new(Vec::new(), width);
        Box::new(move |s, buf| {
            std::mem::swap(wrap.get_mut(), buf);
            let res = writeln!(wrap)
                .and_then(|()| report::text::write_session_at(&mut wrap, s, opts, tv))
                .and_then(|()| wrap.flush());
            std::mem::swap(wrap.get_mut(), buf);
            res
        })
    };
    // A heavy session: wrapped on its way out, never held whole.
    let mut stream = |s: &Session, out: &mut dyn Write| {
        let mut wrap = WrapWriter::new(out, width);
        writeln!(wrap)?;
        report::text::write_session_at(&mut wrap, s, opts, tv)?;
        wrap.flush()
    };
    let (stats, cap_findings) =
        streamed_rendered(captures, c, &mut body, &make, &mut stream, |s| sum.add(s))?;
    body.flush()?;
    drop(body);
    sum.capture_findings = cap_findings;
    report::text::write_head_at(out, &stats, &sum, &names(captures), opts, tv)?;
    out.flush()?;
    let mut f = tmp;
    f.rewind()?;
    io::copy(&mut f, out.get_mut())?;
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
    let mut b = html::Builder::new(&title, session, tv).langs(&langs(c));
    let mut one = None;
    let (stats, cap_findings) = streamed(captures, tracker_config(c)?, |s| {
        if svg {
            if Some(s.id) == session {
                one = Some(s);
            }
        } else {
            b.add(s);
        }
        Ok(())
    })?;
    if let Some(n) = session
        && (svg && one.is_none() || !svg && !b.has_session(n))
    {
        anyhow::bail!("there is no session {n} in {}", names(captures));
    }
    let page = match one {
        Some(s) => html::standalone_svg(&s, tv, lang(c)),
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
    let tmp = if json {
        None
    } else {
        Some(tempfile::tempfile().with_context(|| {
            format!(
                "cannot create a temporary file in {}",
                std::env::temp_dir().display()
            )
        })?)
    };
    let mut sum = diagnose_view::Tally::default();
    let (stats, cap_findings) = match &tmp {
        None => {
            let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
            let res = streamed(captures, tracker_config(c)?, |s| {
                sum.add(&s);
                diagnose_view::write_session(&mut w, &s, true, lang)
            })?;
            w.flush()?;
            res
        }
        Some(f) => {
            let mut w = io::BufWriter::with_capacity(1 << 16, f.try_clone()?);
            let res = streamed(captures, tracker_config(c)?, |s| {
                sum.add(&s);
                diagnose_view::write_session_at(&mut w, &s, false, lang, tv).map_err(in_temp_file)
            })?;
            w.flush().map_err(in_temp_file)?;
            res
        }
    };
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
    cfg.extract = tracker_config(c)?.extract;
    cfg.show_passwords = c.show_passwords;
    cfg.zeek.show_passwords = c.show_passwords;
    cfg.verbose = c.verbose;
    cfg.lang = lang(c);
    let tui = cfg.log.is_none()
        && cfg.format == ftpscope::report::stream::LogFormat::Text
        && io::stdout().is_terminal()
        && io::stdin().is_terminal();
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
        Arc::new(ftpscope::proxy::WriterObserver::with_log(
            Box::new(io::stdout()),
            cfg.session_log(),
        ))
    };
    let log_path = cfg.log.clone();
    let record = cfg.record.clone();
    let proxy = rt.block_on(ftpscope::proxy::Proxy::bind(cfg))?;
    let handle = proxy.handle();
    let serve = rt.spawn(proxy.serve(shutdown.clone(), sink));
    if tui {
        let title = format!(
            "proxy {} -> {}",
            handle.listen_addr(),
            handle.upstream_name()
        );
        let mut opts = live_tui_options(c);
        match &record {
            Some(r) => opts.export = vec![r.clone()],
            None => {
                opts.no_export = ftpscope::tr!(
                    "the proxy keeps no packets: start it with --record FILE.pcapng to export them",
                    "代理不保留数据包：请用 --record FILE.pcapng 启动它以便导出"
                );
            }
        }
        let ui = ftpscope::tui::run_live(title, Arc::new(handle), opts);
        shutdown.cancel();
        let served = rt
            .block_on(serve)
            .map_err(|e| anyhow::anyhow!("the proxy task failed: {e}"))?;
        let saved = ui?;
        served?;
        eprintln!(
            "ftpscope proxy: {}",
            ftpscope::text::escape_str(&saved_message(
                &[("packets recorded in", record.as_deref())],
                "--record FILE.pcapng keeps the packets, --log FILE the sessions",
                &saved
            ))
        );
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
fn run_live(args: ftpscope::live::LiveArgs, cfg: TrackerConfig, c: &Common) -> anyhow::Result<u8> {
    if !ftpscope::live::wants_tui(&args) {
        return ftpscope::live::run(args, cfg, lang(c));
    }
    let capture = ftpscope::live::CaptureThread::start(&args, cfg)?;
    let mut opts = live_tui_options(c);
    match &args.write {
        Some(w) => opts.export = vec![w.clone()],
        None => {
            opts.no_export = ftpscope::tr!(
                "live capture keeps no packets: start it with -w FILE.pcapng to export them",
                "实时抓包不保留数据包：请用 -w FILE.pcapng 启动它以便导出"
            );
        }
    }
    let ui = ftpscope::tui::run_live(
        capture.title().to_string(),
        std::sync::Arc::new(capture.state().clone()),
        opts,
    );
    capture.stop();
    let saved = ui?;
    eprintln!(
        "ftpscope live: {}",
        ftpscope::text::escape_str(&saved_message(
            &[("packets written to", args.write.as_deref())],
            "-w FILE.pcapng keeps the packets",
            &saved
        ))
    );
    Ok(0)
}

/// `--strict`, for [`streamed`] (set once in [`run`]).
static STRICT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Directories and glob patterns among the capture arguments, replaced by the
/// files they stand for ([`ftpscope::capture::input::expand`]).
fn expand_captures(cli: &mut Cli) -> anyhow::Result<()> {
    let list = match &mut cli.command {
        Some(Cmd::Report { captures, .. })
        | Some(Cmd::Diagnose { captures, .. })
        | Some(Cmd::Tui { captures }) => captures,
        None => &mut cli.captures,
        _ => return Ok(()),
    };
    *list = ftpscope::capture::input::expand(list)?;
    Ok(())
}

/// Exit codes: 0 fine, 1 an error-level finding (diagnose), 2 usage or input error.
fn run(mut cli: Cli) -> anyhow::Result<u8> {
    expand_captures(&mut cli)?;
    STRICT.store(cli.common.strict, std::sync::atomic::Ordering::Relaxed);
    // Not locked: some views write standard output through a buffer of their own.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout());
    let c = cli.common.clone();
    if langs(&c).len() > 1
        && !matches!(
            cli.command,
            Some(Cmd::Report {
                format: ReportFormat::Html,
                ..
            })
        )
    {
        anyhow::bail!(
            "several languages in --lang are for `report --format html` (one page with a language switch); this output takes one: --lang en or --lang zh"
        );
    }
    let code = match cli.command {
        Some(Cmd::Report {
            captures,
            session: Some(n),
            write_pcap: Some(file),
            ..
        }) => write_session_pcap(&captures, n, &file, &c)?,
        Some(Cmd::Report {
            captures,
            format: ReportFormat::Json,
            session,
            ..
        }) => {
            let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
            let lang = lang(&c);
            let make = || -> report::parallel::Renderer<'_> {
                Box::new(move |s, buf| {
                    if session.is_none_or(|n| n == s.id) {
                        report::json::write_session(buf, s, lang)?;
                    }
                    Ok(())
                })
            };
            let mut stream = |s: &Session, out: &mut dyn Write| {
                if session.is_none_or(|n| n == s.id) {
                    report::json::write_session(out, s, lang)?;
                }
                Ok(())
            };
            let (_, findings) =
                streamed_rendered(&captures, &c, &mut w, &make, &mut stream, |_| {})?;
            if session.is_none() {
                report::json::write_capture_findings(&mut w, &findings)?;
            }
            w.flush()?;
            0
        }
        Some(Cmd::Report {
            captures,
            format:
                format @ (ReportFormat::Zeek
                | ReportFormat::ZeekJson
                | ReportFormat::Eve
                | ReportFormat::Ocsf),
            session,
            zeek,
            ..
        }) => {
            use ftpscope::report::stream::{LogFormat, SessionLog};
            let format = match format {
                ReportFormat::Zeek => LogFormat::Zeek,
                ReportFormat::ZeekJson => LogFormat::ZeekJson,
                ReportFormat::Eve => LogFormat::Eve,
                _ => LogFormat::Ocsf,
            };
            let view = ViewOptions {
                lang: lang(&c),
                explain: true,
            };
            let mut log = SessionLog::new(format, view, zeek.options(c.show_passwords));
            let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout());
            let (stats, findings) = if log.is_stateless() {
                // Each session's records stand alone: written on every thread.
                let make = || -> report::parallel::Renderer<'_> {
                    let mut log = SessionLog::new(format, view, Default::default());
                    Box::new(move |s, buf| {
                        if session.is_none_or(|n| n == s.id) {
                            log.session(buf, s)?;
                        }
                        Ok(())
                    })
                };
                let mut one = SessionLog::new(format, view, Default::default());
                let mut stream = |s: &Session, out: &mut dyn Write| {
                    if session.is_none_or(|n| n == s.id) {
                        one.session(out, s)?;
                    }
                    Ok(())
                };
                streamed_rendered(&captures, &c, &mut w, &make, &mut stream, |_| {})?
            } else {
                streamed(&captures, tracker_config(&c)?, |s| {
                    if session.is_none_or(|n| n == s.id) {
                        log.session(&mut w, &s)?;
                    }
                    Ok(())
                })?
            };
            // Zeek's #close is dated by the last session (the clock dates an empty
            // log); the capture-wide findings are dated at the capture's end.
            let at = stats
                .last
                .or(stats.first)
                .unwrap_or_else(ftpscope::time::Ts::now);
            let capture_findings = if session.is_none() {
                &findings[..]
            } else {
                &[]
            };
            log.finish(&mut w, capture_findings, at)?;
            w.flush()?;
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
        Some(Cmd::Live(args)) => run_live(*args, tracker_config(&c)?, &c)?,
        #[cfg(not(feature = "live"))]
        Some(Cmd::Live { .. }) => {
            eprintln!("ftpscope: {}", cli::NO_LIVE);
            2
        }
        Some(Cmd::Tui { captures }) => {
            tui_files(&captures, &c)?;
            0
        }
        Some(Cmd::Ca { ca }) => {
            let ca = match ca {
                Some(f) => ftpscope::proxy::ca::Ca::from_file(&f)?,
                None => ftpscope::proxy::ca::Ca::load_or_create(None)?,
            };
            out.write_all(ftpscope::proxy::ca::trust_help(&ca).as_bytes())?;
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
        None if cli.captures.is_empty() => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            2
        }
        None => {
            use std::io::IsTerminal;
            if io::stdout().is_terminal() && io::stdin().is_terminal() {
                tui_files(&cli.captures, &c)?;
            } else {
                let opts = ViewOptions {
                    lang: lang(&c),
                    explain: !cli.no_explain,
                };
                text_report(&mut out, &cli.captures, &c, opts)?;
            }
            0
        }
    };
    out.flush()?;
    Ok(code)
}

/// The inputs as the report names them: `a.pcap`, `a.pcap + b.pcapng`, or for
/// more than four (a ring buffer's directory) the first and the last with the count.
fn names(captures: &[PathBuf]) -> String {
    if let [first, .., last] = captures
        && captures.len() > 4
    {
        return format!(
            "{} + ... + {} ({} files)",
            first.display(),
            last.display(),
            captures.len()
        );
    }
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

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
