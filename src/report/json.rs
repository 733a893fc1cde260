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
    // Serialise into memory first: serde's many small writes are cheaper on a Vec
    // than through a `dyn Write`.
    let mut buf = Vec::with_capacity(8192);
    serde_json::to_writer(&mut buf, s).map_err(io::Error::other)?;
    buf.push(b'\n');
    out.write_all(&buf)
}

/// The JSON form of wire bytes that are not valid UTF-8: `{"lossy": ..., "hex": ...}`.
pub fn bytes_value(b: &Bytes) -> serde_json::Value {
    serde_json::to_value(b).unwrap_or(serde_json::Value::Null)
}
