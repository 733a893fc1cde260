//! Effects that leave the UI: writing a session to a file (the `w`/`W` keys).
//! The app only queues an [`Effect`]; the event loop performs it here, outside
//! [`super::app::update`], which stays free of I/O.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::app::{App, Effect};
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

/// Perform a queued effect that does not need the terminal (writing a file), and
/// say what happened in the status row.
pub fn perform(app: &mut App, effect: &Effect, dir: &Path) {
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
            }
            Err(e) => {
                let m = format!("cannot write the session: {e}");
                app.warn(m);
            }
        }
    }
}
