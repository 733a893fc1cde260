//! A compact JSON serializer straight into a byte buffer, for every compact JSON
//! output (session lines, EVE, OCSF, Zeek JSON, the TUI's copies).
//!
//! It writes what `serde_json` with [`super::EscapingFormatter`] over its compact
//! formatter writes, byte for byte (numbers are formatted by `serde_json`'s own
//! formatter), but escapes strings in one pass that looks at eight bytes at a time:
//! `serde_json` checks each byte against a table and then hands each run to the
//! formatter, which checked it again for the characters only ftpscope escapes; on
//! reports made of short ASCII strings that double walk was a quarter of the JSON
//! report's time.
//!
//! Escapes, per character: `"` and `\` with a backslash; the C0 controls as `\b`,
//! `\t`, `\n`, `\f`, `\r` or `\u00xx`; every other [`needs_escape`] character
//! (DEL, C1 controls, bidi and invisible format characters, tag characters) as
//! `\uxxxx` UTF-16 units (a surrogate pair above U+FFFF). The rest is copied.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};

use crate::text::needs_escape;

/// Why a value could not be written (a map key that is not a string or a number,
/// or a `Serialize` implementation's own error).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// `value` as compact JSON, appended to `out`.
pub fn append<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Json { out })
}

struct Json<'a> {
    out: &'a mut Vec<u8>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The bytes of `v` that need a look, as the high bit of each: below 0x20, 0x7f
/// and above (DEL, and every byte of a non-ASCII character), `"` or `\\`. The
/// lowest set bit is exact (a borrow can only mark bytes above a marked one), so
/// it finds the first such byte; zero when all eight need nothing.
#[inline]
fn look_mask(v: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = v.wrapping_sub(LO * 0x20) & !v & HI;
    below_space
        | (v & HI)
        | zero(v ^ (LO * b'"' as u64))
        | zero(v ^ (LO * b'\\' as u64))
        | zero(v ^ (LO * 0x7f))
}

/// Bytes copied as they are: printable ASCII but `"` and `\\`.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_unit(out: &mut Vec<u8>, u: u16) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[usize::from(u >> 12)],
        HEX[usize::from((u >> 8) & 0xf)],
        HEX[usize::from((u >> 4) & 0xf)],
        HEX[usize::from(u & 0xf)],
    ]);
}

/// `s` as a JSON string (quotes included), escaped as the module says.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let n = b.len();
    let load = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
    let (mut start, mut i) = (0, 0);
    while i < n {
        if i + 8 <= n {
            let mask = look_mask(load(i));
            if mask == 0 {
                i += 8;
                continue;
            }
            i += (mask.trailing_zeros() / 8) as usize;
        } else if n >= 8 {
            // The last bytes: the eight that end the string, those already seen
            // masked out.
            let seen = 8 - (n - i);
            let mask = look_mask(load(n - 8)) >> (8 * seen) << (8 * seen);
            if mask == 0 {
                break;
            }
            i = n - 8 + (mask.trailing_zeros() / 8) as usize;
        }
        let c = b[i];
        if PLAIN[usize::from(c)] {
            i += 1;
            continue;
        }
        if c < 0x80 {
            out.extend_from_slice(&b[start..i]);
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                _ => push_unit(out, u16::from(c)),
            }
            i += 1;
            start = i;
            continue;
        }
        // A non-ASCII character: `s` is UTF-8, so one starts here.
        let ch = s[i..].chars().next().expect("a character starts here");
        let len = ch.len_utf8();
        if needs_escape(ch) {
            out.extend_from_slice(&b[start..i]);
            let mut units = [0u16; 2];
            for &u in ch.encode_utf16(&mut units).iter() {
                push_unit(out, u);
            }
            start = i + len;
        }
        i += len;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// `"key":` for a struct's field name, copied as it is: field names come from
/// the code (derived or written by hand), never from input, and none needs
/// escaping (test builds check each one written).
fn push_key(out: &mut Vec<u8>, key: &'static str) {
    debug_assert!(
        key.bytes().all(|c| PLAIN[usize::from(c)]),
        "field name {key:?} would need escaping"
    );
    out.reserve(key.len() + 3);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

impl Json<'_> {
    fn number(
        &mut self,
        f: impl FnOnce(&mut CompactFormatter, &mut Vec<u8>) -> std::io::Result<()>,
    ) {
        // Writing into a Vec cannot fail.
        let _ = f(&mut CompactFormatter, self.out);
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Json<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.number(|f, w| f.write_i8(w, v));
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.number(|f, w| f.write_i16(w, v));
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.number(|f, w| f.write_i32(w, v));
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.number(|f, w| f.write_i64(w, v));
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.number(|f, w| f.write_i128(w, v));
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.number(|f, w| f.write_u8(w, v));
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.number(|f, w| f.write_u16(w, v));
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.number(|f, w| f.write_u32(w, v));
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.number(|f, w| f.write_u64(w, v));
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.number(|f, w| f.write_u128(w, v));
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            self.number(|f, w| f.write_f32(w, v));
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.number(|f, w| f.write_f64(w, v));
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'[');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, 'b>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound {
            ser: self,
            first: true,
            close: b"}}",
        })
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        // Formatted into a reused buffer (an address, a time), then escaped.
        thread_local! {
            static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        TEXT.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => {
                s.clear();
                fmt::write(&mut *s, format_args!("{value}")).map_err(ser::Error::custom)?;
                push_str(self.out, &s);
                if s.capacity() > 4096 {
                    *s = String::new();
                }
                Ok(())
            }
            Err(_) => {
                push_str(self.out, &value.to_string());
                Ok(())
            }
        })
    }
}

/// An array, object or variant being written.
pub struct Compound<'a, 'b> {
    ser: &'a mut Json<'b>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.ser.out.push(b',');
        }
    }
    fn entry<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.comma();
        push_key(self.ser.out, key);
        value.serialize(&mut *self.ser)
    }
    fn close(self) -> Result<(), Error> {
        self.ser.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.ser.out,
        })?;
        self.ser.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entry(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// A map key: a string, or a number, a boolean or a character written as one, as
/// serde_json writes them.
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

fn key_error() -> Error {
    Error("a map key must be a string".into())
}

impl MapKey<'_> {
    fn quoted(
        self,
        f: impl FnOnce(&mut CompactFormatter, &mut Vec<u8>) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        self.out.push(b'"');
        let _ = f(&mut CompactFormatter, self.out);
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(|f, w| f.write_i8(w, v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(|f, w| f.write_i16(w, v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(|f, w| f.write_i32(w, v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|f, w| f.write_i64(w, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.quoted(|f, w| f.write_i128(w, v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(|f, w| f.write_u8(w, v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(|f, w| f.write_u16(w, v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(|f, w| f.write_u32(w, v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|f, w| f.write_u64(w, v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.quoted(|f, w| f.write_u128(w, v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(key_error());
        }
        self.quoted(|f, w| f.write_f32(w, v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(key_error());
        }
        self.quoted(|f, w| f.write_f64(w, v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        push_str(self.out, &value.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;

    /// The same value through serde_json with [`super::super::EscapingFormatter`]:
    /// the reference this writer must equal byte for byte.
    fn reference<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut buf,
            super::super::EscapingFormatter(CompactFormatter),
        );
        v.serialize(&mut ser).unwrap();
        buf
    }

    fn ours<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
        let mut buf = Vec::new();
        append(&mut buf, v).unwrap();
        buf
    }

    fn text() -> impl Strategy<Value = String> {
        // Plain ASCII, controls, quotes and backslashes, DEL and C1, escaped
        // invisible characters, other non-ASCII (two, three and four bytes), in
        // runs long enough to cross the eight-byte steps.
        let ch = prop_oneof![
            4 => (0x20u32..0x7f).prop_map(|c| char::from_u32(c).unwrap()),
            1 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
            1 => Just('"'),
            1 => Just('\\'),
            1 => (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
            1 => prop::sample::select(vec!['\u{ad}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}', '\u{e0041}', '\u{2028}']),
            1 => prop::sample::select(vec!['é', '诊', '😀', '\u{10ffff}', 'ß', '\u{fffd}']),
        ];
        prop::collection::vec(ch, 0..40).prop_map(|v| v.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_with_the_escaping_formatter(s in text()) {
            prop_assert_eq!(ours(&s), reference(&s));
        }

        #[test]
        fn any_value_is_written_as_serde_json_with_the_escaping_formatter(v in value()) {
            prop_assert_eq!(ours(&v), reference(&v));
        }

        /// A field name is written as the string it is and a colon.
        #[test]
        fn a_field_name_is_written_as_a_string_and_a_colon(k in "[a-zA-Z_][a-zA-Z0-9_.-]{0,30}") {
            let k: &'static str = Box::leak(k.into_boxed_str());
            let mut a = Vec::new();
            push_key(&mut a, k);
            let mut b = Vec::new();
            push_str(&mut b, k);
            b.push(b':');
            prop_assert_eq!(a, b);
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        New(u8),
        Tuple(u8, String),
        Struct { a: f32, b: Option<char> },
    }

    #[derive(Serialize)]
    struct Inner {
        x: u16,
    }

    #[derive(Serialize)]
    struct Outer {
        #[serde(flatten)]
        inner: Inner,
        shapes: Vec<Shape>,
        keys: std::collections::BTreeMap<u32, i128>,
        flags: std::collections::BTreeMap<bool, ()>,
        bytes: serde_bytes_like::Bytes,
        tuple: (u128, f64, &'static str),
        nan: f64,
    }

    mod serde_bytes_like {
        /// Serialised with serialize_bytes.
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn every_shape_serde_derives_is_written_as_serde_json_writes_it() {
        let v = Outer {
            inner: Inner { x: 7 },
            shapes: vec![
                Shape::Unit,
                Shape::New(3),
                Shape::Tuple(1, "a\u{1b}".into()),
                Shape::Struct {
                    a: 1.5,
                    b: Some('\u{7f}'),
                },
                Shape::Struct {
                    a: f32::INFINITY,
                    b: None,
                },
            ],
            keys: [(1, -5), (40, i128::MAX)].into_iter().collect(),
            flags: [(true, ()), (false, ())].into_iter().collect(),
            bytes: serde_bytes_like::Bytes(vec![0, 255, 10]),
            tuple: (u128::MAX, 0.1, "é\"x"),
            nan: f64::NAN,
        };
        assert_eq!(
            String::from_utf8(ours(&v)).unwrap(),
            String::from_utf8(reference(&v)).unwrap()
        );
    }

    #[test]
    fn a_key_that_is_no_string_is_an_error_not_a_bad_document() {
        let v: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        let mut buf = Vec::new();
        assert!(append(&mut buf, &v).is_err());
    }

    #[test]
    fn the_eight_byte_check_finds_the_first_byte_that_needs_a_look() {
        for b in 0..=255u8 {
            let plain = (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
            for pos in 0..8 {
                let mut chunk = *b"abcdefgh";
                chunk[pos] = b;
                let mask = look_mask(u64::from_le_bytes(chunk));
                assert_eq!(mask != 0, !plain, "{b:#x} at {pos}");
                if !plain {
                    assert_eq!(mask.trailing_zeros() / 8, pos as u32, "{b:#x} at {pos}");
                }
                assert_eq!(PLAIN[usize::from(b)], plain, "{b:#x}");
            }
        }
    }
}
