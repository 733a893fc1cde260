//! Effects that leave the UI: writing a session to a file (the `w`/`W` keys),
//! its packets to a pcapng file (`x`).
//! The app only queues an [`Effect`]; the event loop performs it here, outside
//! [`super::app::update`], which stays free of I/O.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::app::{App, Effect};
use crate::capture::extract::{Exported, session_connections, write_connections};
use crate::ftp::catalog::Lang;
use crate::model::Session;
use crate::report::ViewOptions;

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
pub fn exported_message(id: usize, e: &Exported, path: &str) -> String {
    let mut m = format!(
        "wrote {} packet{} of session {id} ({} connection{}) to {path}",
        e.packets,
        if e.packets == 1 { "" } else { "s" },
        e.connections,
        if e.connections == 1 { "" } else { "s" },
    );
    if e.other_link > 0 {
        m.push_str(&format!(
            "; {} packets of another link type left out",
            e.other_link
        ));
    }
    if let Some(err) = &e.read_error {
        m.push_str(&format!("; the capture ends early ({err})"));
    }
    m
}

/// Write the packets of a session to a new pcapng file in `dir`.
pub fn write_session_pcap(
    s: &Session,
    captures: &[PathBuf],
    dir: &Path,
) -> Result<(PathBuf, Exported), String> {
    let path =
        new_file(dir, s.id, "pcapng").map_err(|e| format!("cannot write the packets: {e}"))?;
    let conns = session_connections(s);
    match write_connections(captures, &conns, &path) {
        Ok(e) => Ok((path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(format!("cannot write the packets: {e}"))
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
                let m = format!(
                    "wrote {}",
                    crate::text::escape_str(&p.display().to_string())
                );
                app.say(m);
                app.saved.push(p);
            }
            Err(e) => {
                let m = format!("cannot write the session: {e}");
                app.warn(m);
            }
        }
    }
}
