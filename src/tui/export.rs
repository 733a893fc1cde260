//! Effects that leave the UI: writing a session to a file (the `w`/`W` keys),
//! its packets to a pcapng file (`x`).
//! The app only queues an [`Effect`]; the event loop performs it here, outside
//! [`super::app::update`], which stays free of I/O.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::app::{App, Effect};
use crate::capture::extract::{Exported, session_connections, write_connections};
use crate::ftp::catalog::Lang;
use crate::i18n::Tr;
use crate::model::Session;
use crate::report::ViewOptions;
use crate::tr;

/// Write a session to a new file in `dir` (`ftpscope-session-ID.txt`, or
/// `-2`, `-3`, ... when that exists): the text report's session section, or JSON.
pub fn write_session(s: &Session, json: bool, dir: &Path, lang: Lang) -> io::Result<PathBuf> {
    let ext = if json { "json" } else { "txt" };
    for n in 1..1000 {
        let name = if n == 1 {
            format!("ftpscope-session-{}.{ext}", s.id)
        } else {
            format!("ftpscope-session-{}-{n}.{ext}", s.id)
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                let mut out = io::BufWriter::new(f);
                if json {
                    crate::report::json::to_writer_pretty(
                        &mut out,
                        &crate::report::json::SessionJson { s, lang },
                    )?;
                    writeln!(out)?;
                } else {
                    crate::report::text::write_session(
                        &mut out,
                        s,
                        ViewOptions {
                            lang,
                            explain: true,
                        },
                    )?;
                }
                out.flush()?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "too many ftpscope-session files here",
    ))
}

/// A new file name in `dir`: `ftpscope-session-ID.EXT`, or `-2`, `-3`, ... when
/// that exists (created empty, so two exports never pick the same name).
fn new_file(dir: &Path, id: usize, ext: &str) -> io::Result<PathBuf> {
    for n in 1..1000 {
        let name = if n == 1 {
            format!("ftpscope-session-{id}.{ext}")
        } else {
            format!("ftpscope-session-{id}-{n}.{ext}")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "too many ftpscope-session files here",
    ))
}

/// What an export of session `id` to `path` did, in one line (the TUI's status
/// row, `report --write-pcap` on standard error).
pub fn exported_message(id: usize, e: &Exported, path: &str) -> Tr {
    let (packets, conns) = (e.packets, e.connections);
    let ps = if packets == 1 { "" } else { "s" };
    let cs = if conns == 1 { "" } else { "s" };
    let mut m = tr!(
        "wrote {packets} packet{ps} of session {id} ({conns} connection{cs}) to {path}",
        "已将会话 {id} 的 {packets} 个数据包（{conns} 个连接）写入 {path}"
    );
    if e.other_link > 0 {
        let n = e.other_link;
        let more = tr!(
            "; {n} packets of another link type left out",
            "；另有 {n} 个其他链路类型的数据包未写入"
        );
        m = tr!("{m}{more}", "{m}{more}"; m = m, more = more);
    }
    if let Some(err) = &e.read_error {
        let more = tr!(
            "; the capture ends early ({err})",
            "；抓包提前结束（{err}）"
        );
        m = tr!("{m}{more}", "{m}{more}"; m = m, more = more);
    }
    m
}

/// Write the packets of a session to a new pcapng file in `dir`.
pub fn write_session_pcap(
    s: &Session,
    captures: &[PathBuf],
    dir: &Path,
) -> Result<(PathBuf, Exported), Tr> {
    let path = new_file(dir, s.id, "pcapng")
        .map_err(|e| tr!("cannot write the packets: {e}", "无法写入数据包：{e}"))?;
    let conns = session_connections(s);
    match write_connections(captures, &conns, &path) {
        Ok(e) => Ok((path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(tr!("cannot write the packets: {e}", "无法写入数据包：{e}"))
        }
    }
}

/// Perform a queued effect that does not need the terminal (writing a file), and
/// say what happened in the status row.
pub fn perform(app: &mut App, effect: &Effect, dir: &Path) {
    if let Effect::WritePcap { session } = *effect {
        let Some(s) = app.capture.sessions.get(session) else {
            return;
        };
        match write_session_pcap(s, &app.export, dir) {
            Ok((p, e)) => {
                let m =
                    exported_message(s.id, &e, &crate::text::escape_str(&p.display().to_string()));
                app.say(m);
                app.saved.push(p);
            }
            Err(m) => app.warn(m),
        }
        return;
    }
    if let Effect::Write { session, json } = *effect {
        let Some(s) = app.capture.sessions.get(session) else {
            return;
        };
        match write_session(s, json, dir, app.lang) {
            Ok(p) => {
                let p2 = crate::text::escape_str(&p.display().to_string());
                app.say(tr!("wrote {p2}", "已写入 {p2}"));
                app.saved.push(p);
            }
            Err(e) => {
                app.warn(tr!("cannot write the session: {e}", "无法写入会话：{e}"));
            }
        }
    }
}
