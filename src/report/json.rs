//! Newline-delimited JSON: one object per session (schema in docs/json-schema.md).
//!
//! Every JSON output of ftpscope is written here, through [`EscapingFormatter`]:
//! besides what serde_json escapes (`"`, `\` and C0 controls), the characters of
//! [`crate::text::needs_escape`] (DEL, C1 controls, bidi and invisible format
//! characters, tag characters) are written as `\uXXXX` (a surrogate pair above
//! U+FFFF), so a JSON line printed to a terminal or opened in an editor shows them.
//! Printable text is written byte for byte as serde_json writes it.

use std::io::{self, Write};

use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::ftp::catalog::Lang;
use crate::model::{Bytes, Capture, Command, Exchange, Finding, Reply, Session};
use crate::text::needs_escape;

mod writer;

/// A serde_json formatter that writes [`needs_escape`] characters as `\uXXXX`,
/// and otherwise formats as `F` does.
pub struct EscapingFormatter<F>(pub F);

impl<F: Formatter> Formatter for EscapingFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json hands over the runs between the characters it escapes itself.
        // Checked without stopping early, so the check runs many bytes at a time.
        if !fragment.bytes().fold(false, |seen, b| seen | (b >= 0x7f)) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_escape(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    // What PrettyFormatter changes from the defaults (CompactFormatter changes none).
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as compact JSON (no line feed), written by [`writer`] (what serde_json
/// with [`EscapingFormatter`] writes, in one pass).
pub fn to_writer<W: Write, T: Serialize + ?Sized>(mut w: W, value: &T) -> io::Result<()> {
    let mut buf = Vec::new();
    writer::append(&mut buf, value).map_err(io::Error::other)?;
    w.write_all(&buf)
}

/// `value` as indented JSON (no final line feed).
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(w: W, value: &T) -> io::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(w, EscapingFormatter(PrettyFormatter::new()));
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// `value` as one compact JSON line.
/// The capture-wide findings (a damaged file, password guessing, duplicates, data
/// connections without their control connection) as one line
/// `{"id": null, "scope": "capture", "findings": [...]}`, when there are any: the
/// last line of `report --format json` and `diagnose --format json`.
pub fn write_capture_findings(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let v = serde_json::json!({
        "id": null,
        "scope": "capture",
        "findings": findings,
    });
    write_line(out, &v)
}

pub fn write_line<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    // Serialise into memory first: serde's many small writes are cheaper on a Vec
    // than through a `dyn Write`. The buffer is the thread's, kept from line to
    // line (a session's line is often tens of KiB: growing a new one each time
    // cost more than writing it), and given back when a huge line made it large.
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(KEEP_LINE_BUFFER));
    }
    LINE.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            // A line written while another is being serialised (not done today).
            let mut buf = Vec::new();
            writer::append(&mut buf, value).map_err(io::Error::other)?;
            buf.push(b'\n');
            return out.write_all(&buf);
        };
        buf.clear();
        let res = writer::append(&mut buf, value)
            .map_err(io::Error::other)
            .and_then(|()| {
                buf.push(b'\n');
                out.write_all(&buf)
            });
        if buf.capacity() > KEEP_LINE_BUFFER {
            buf.clear();
            buf.shrink_to(KEEP_LINE_BUFFER);
        }
        res
    })
}

/// Capacity of the line buffer kept between lines.
const KEEP_LINE_BUFFER: usize = 1 << 20;

/// `value` as a compact JSON string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut buf = Vec::new();
    writer::append(&mut buf, value).map_err(io::Error::other)?;
    // serde_json writes UTF-8 only.
    String::from_utf8(buf).map_err(io::Error::other)
}

/// `value` as an indented JSON string.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut buf = Vec::new();
    to_writer_pretty(&mut buf, value)?;
    String::from_utf8(buf).map_err(io::Error::other)
}

/// Write every session as one JSON line, explanations in `lang`.
pub fn write(out: &mut dyn Write, capture: &Capture, lang: Lang) -> io::Result<()> {
    for s in &capture.sessions {
        write_session(out, s, lang)?;
    }
    Ok(())
}

/// One session as one JSON line, explanations in `lang`.
pub fn write_session(out: &mut dyn Write, s: &Session, lang: Lang) -> io::Result<()> {
    write_line(out, &SessionJson { s, lang })
}

/// A session's JSON form (docs/json-schema.md). The model holds facts; the
/// replies' explanations are rendered here, in `lang`, as the text view does.
pub struct SessionJson<'a> {
    pub s: &'a Session,
    pub lang: Lang,
}

struct Addr<'a>(&'a std::net::SocketAddr);
impl Serialize for Addr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::text::AddrText::new(self.0).as_str())
    }
}

struct Time(crate::time::Ts);
impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::model::ser_ts(&self.0, s)
    }
}

struct Frame(u64);
impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::model::ser_frame(&self.0, s)
    }
}

/// The control connection's TLS, `false` without TLS.
struct TlsField<'a>(&'a Option<Box<crate::model::tls::TlsInfo>>);
impl Serialize for TlsField<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::model::ser_tls(self.0, s)
    }
}

impl Serialize for SessionJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let mut m = ser.serialize_struct("Session", 27)?;
        m.serialize_field("id", &s.id)?;
        m.serialize_field("client", &Addr(&s.client))?;
        m.serialize_field("server", &Addr(&s.server))?;
        m.serialize_field(
            "community_id",
            &crate::model::community_id::tcp(s.client, s.server),
        )?;
        m.serialize_field("start", &Time(s.start))?;
        m.serialize_field("end", &Time(s.end))?;
        m.serialize_field("duration", &s.duration)?;
        m.serialize_field("start_frame", &Frame(s.start_frame))?;
        m.serialize_field("user", &s.user)?;
        m.serialize_field("login", &s.login)?;
        m.serialize_field("tls", &TlsField(&s.tls_info))?;
        m.serialize_field("encrypted_bytes", &s.encrypted_bytes)?;
        m.serialize_field("type", &s.type_)?;
        m.serialize_field("mode", &s.mode)?;
        m.serialize_field("stru", &s.stru)?;
        m.serialize_field("cwd", &s.cwd)?;
        m.serialize_field("client_software", &s.client_software)?;
        m.serialize_field("server_system", &s.server_system)?;
        m.serialize_field("closed", &s.closed)?;
        m.serialize_field(
            "exchanges",
            &Exchanges {
                x: &s.exchanges,
                server_ip: s.server.ip(),
                lang: self.lang,
            },
        )?;
        let channels: Vec<DataChannelJson<'_>> = s
            .data_channels
            .iter()
            .map(|d| DataChannelJson {
                community_id: d
                    .connector
                    .zip(d.listener)
                    .and_then(|(a, b)| crate::model::community_id::tcp(a, b)),
                d,
            })
            .collect();
        m.serialize_field("data_channels", &channels)?;
        m.serialize_field("findings", &s.findings)?;
        m.serialize_field("capture", &s.capture)?;
        m.serialize_field("coverage", &s.coverage)?;
        m.serialize_field("anomalies", &s.anomalies)?;
        m.serialize_field("detected_by", &s.detected_by)?;
        if !s.summary.is_empty() {
            m.serialize_field("summary", &s.summary)?;
        }
        m.end()
    }
}

/// A data channel's JSON form: the model's fields, then the Community ID of its TCP
/// connection (null when no connection was seen).
#[derive(Serialize)]
struct DataChannelJson<'a> {
    #[serde(flatten)]
    d: &'a crate::model::DataChannel,
    community_id: Option<String>,
}

struct Exchanges<'a> {
    x: &'a [Exchange],
    server_ip: IpAddr,
    lang: Lang,
}

impl Serialize for Exchanges<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.x.len()))?;
        for x in self.x {
            seq.serialize_element(&ExchangeJson {
                x,
                server_ip: self.server_ip,
                lang: self.lang,
            })?;
        }
        seq.end()
    }
}

struct ExchangeJson<'a> {
    x: &'a Exchange,
    server_ip: IpAddr,
    lang: Lang,
}

impl Serialize for ExchangeJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let x = self.x;
        let mut m = ser.serialize_struct("Exchange", 3)?;
        m.serialize_field("command", &x.command)?;
        m.serialize_field(
            "replies",
            &Replies {
                x,
                server_ip: self.server_ip,
                lang: self.lang,
            },
        )?;
        if let Some(d) = x.data_channel {
            m.serialize_field("data_channel", &d)?;
        }
        m.end()
    }
}

/// An exchange's replies, each with its explanation.
struct Replies<'a> {
    x: &'a Exchange,
    server_ip: IpAddr,
    lang: Lang,
}

impl Serialize for Replies<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(self.x.replies.len()))?;
        for r in &self.x.replies {
            seq.serialize_element(&ReplyJson {
                r,
                command: self.x.command.as_ref(),
                server_ip: self.server_ip,
                lang: self.lang,
            })?;
        }
        seq.end()
    }
}

struct ReplyJson<'a> {
    r: &'a Reply,
    command: Option<&'a Command>,
    server_ip: IpAddr,
    lang: Lang,
}

impl Serialize for ReplyJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let r = self.r;
        let mut m = ser.serialize_struct("Reply", 8)?;
        m.serialize_field("code", &r.code)?;
        m.serialize_field("text", &r.text)?;
        m.serialize_field("ts", &Time(r.ts))?;
        m.serialize_field("frame", &Frame(r.frame))?;
        if let Some(t) = r.response_time {
            m.serialize_field("response_time", &t)?;
        }
        m.serialize_field(
            "explanation",
            &r.explanation(self.command, self.server_ip, self.lang),
        )?;
        if r.multiline {
            m.serialize_field("multiline", &true)?;
        }
        if !r.notes.is_empty() {
            m.serialize_field("notes", &r.notes)?;
        }
        if r.retransmissions > 0 {
            m.serialize_field("retransmissions", &r.retransmissions)?;
        }
        m.end()
    }
}

/// The JSON form of wire bytes that are not valid UTF-8: `{"lossy": ..., "hex": ...}`.
pub fn bytes_value(b: &Bytes) -> serde_json::Value {
    serde_json::to_value(b).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_written_as_unicode_escapes() {
        let s = "a\u{1b}b\u{7f}\u{85}\u{9b}\u{ad}\u{202e}\u{2066}\u{2028}\u{200b}\u{feff}\u{e0041}\"\\é诊";
        let got = to_string(s).unwrap();
        assert_eq!(
            got,
            r#""a\u001bb\u007f\u0085\u009b\u00ad\u202e\u2066\u2028\u200b\ufeff\udb40\udc41\"\\é诊""#
        );
        let back: String = serde_json::from_str(&got).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "compares with serde_json's own output"
    )]
    fn printable_text_is_written_as_serde_json_writes_it() {
        let v = serde_json::json!({"a": ["x y", 1, null, {"b": "会话 café"}], "c": 2.5});
        assert_eq!(to_string(&v).unwrap(), serde_json::to_string(&v).unwrap());
        assert_eq!(
            to_string_pretty(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }
}
