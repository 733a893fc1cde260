//! Newline-delimited JSON: one object per session (schema in docs/json-schema.md).

use std::io::{self, Write};

use crate::model::{Bytes, Capture, Session};

/// Write every session as one JSON line.
pub fn write(out: &mut dyn Write, capture: &Capture) -> io::Result<()> {
    for s in &capture.sessions {
        write_session(out, s)?;
    }
    Ok(())
}

/// One session as one JSON line.
pub fn write_session(out: &mut dyn Write, s: &Session) -> io::Result<()> {
    {
        serde_json::to_writer(&mut *out, s).map_err(|e| match e.io_error_kind() {
            Some(kind) => io::Error::new(kind, e),
            None => io::Error::other(e),
        })?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The JSON form of wire bytes that are not valid UTF-8: `{"lossy": ..., "hex": ...}`.
pub fn bytes_value(b: &Bytes) -> serde_json::Value {
    serde_json::to_value(b).unwrap_or(serde_json::Value::Null)
}
