//! Timestamps as they come from a capture (or a proxy's receive time).
//!
//! A [`Ts`] is nanoseconds since the Unix epoch. The engine never reads the clock:
//! every timestamp comes with an event, so the same input gives the same output.

use std::fmt;

/// Nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    /// This machine's clock now (the epoch when the clock is set before it).
    pub fn now() -> Ts {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ts::from_secs_nanos(d.as_secs() as i64, i64::from(d.subsec_nanos()))
    }

    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Ts {
        Ts(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// Seconds (with fraction) from `self` to `later`; negative when `later` is earlier.
    pub fn secs_until(self, later: Ts) -> f64 {
        (later.0.saturating_sub(self.0)) as f64 / 1e9
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-23T20:10:00.123456Z`
    /// (the [`Display`](fmt::Display) form, which writes it without allocating).
    pub fn rfc3339(self) -> String {
        self.to_string()
    }

    /// Time of day only, `HH:MM:SS.mmm`, for compact transcripts.
    pub fn clock(self) -> String {
        self.clock_text().to_string()
    }

    /// [`Ts::clock`] written on the stack (views write one per line).
    pub fn clock_text(self) -> ClockText {
        let secs = self.0.div_euclid(1_000_000_000);
        let millis = self.0.rem_euclid(1_000_000_000) / 1_000_000;
        let sod = secs.rem_euclid(86_400);
        let mut b = *b"00:00:00.000";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 2, sod / 3600);
        put(3, 2, (sod / 60) % 60);
        put(6, 2, sod % 60);
        put(9, 3, millis);
        ClockText::Fixed(b)
    }
}

/// A compact time of day as [`TimeView::clock`] gives it: on the stack for UTC
/// (the common case: one per transcript line), a string otherwise.
pub enum ClockText {
    Fixed([u8; 12]),
    Owned(String),
}

impl std::ops::Deref for ClockText {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            // Only ASCII digits and punctuation are ever written into it.
            ClockText::Fixed(b) => std::str::from_utf8(b).unwrap_or(""),
            ClockText::Owned(s) => s,
        }
    }
}

impl std::fmt::Display for ClockText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// RFC 3339 in UTC with microseconds (see [`Ts::rfc3339`]). Views write many
/// timestamps per session, so the digits are written into a buffer on the stack.
/// (Nanoseconds in an `i64` span the years 1677-2262; the formatter's path for
/// other years only keeps this total.)
impl Ts {
    /// The RFC 3339 form `Display` writes (`2023-11-14T22:13:20.000007Z`), as bytes
    /// without the formatting machinery, for years 0-9999 (None outside them).
    pub fn rfc3339_bytes(self) -> Option<[u8; 27]> {
        // Reports write many times within one second: the date and time of day
        // of the last second written are kept and only the fraction is formatted.
        thread_local! {
            static LAST: std::cell::Cell<(i64, [u8; 20])> =
                const { std::cell::Cell::new((i64::MIN, [0; 20])) };
        }
        let secs = self.0.div_euclid(1_000_000_000);
        let (last, head) = LAST.get();
        if last == secs {
            let mut b = *b"0000-00-00T00:00:00.000000Z";
            b[..20].copy_from_slice(&head);
            let mut v = self.0.rem_euclid(1_000_000_000) / 1000;
            for i in (20..26).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            return Some(b);
        }
        let b = self.rfc3339_full()?;
        let mut head = [0; 20];
        head.copy_from_slice(&b[..20]);
        LAST.set((secs, head));
        Some(b)
    }

    /// [`Ts::rfc3339_bytes`] computed from the calendar each time.
    fn rfc3339_full(self) -> Option<[u8; 27]> {
        let c = self.civil();
        if !(0..=9999).contains(&c.year) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, c.year as u64);
        put(5, 2, u64::from(c.month));
        put(8, 2, u64::from(c.day));
        put(11, 2, c.hour as u64);
        put(14, 2, c.minute as u64);
        put(17, 2, c.second as u64);
        put(20, 6, c.micros as u64);
        Some(b)
    }

    /// The UTC calendar date and time of day.
    fn civil(self) -> Civil {
        let secs = self.0.div_euclid(1_000_000_000);
        let sod = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: (sod / 60) % 60,
            second: sod % 60,
            micros: self.0.rem_euclid(1_000_000_000) / 1000,
        }
    }
}

/// A time in UTC, field by field.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = self.rfc3339_bytes() {
            // Only ASCII digits and separators were written.
            return f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?);
        }
        let c = self.civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
        )
    }
}

/// Days since the epoch to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's well-known algorithm, written out here from its description.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A rate with an SI prefix and a trailing space or prefix: `1.2 M`, `830.0 k`, `12 `.
pub fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else if v >= 0.0 {
        format!("{} ", v.round_ties_even() as u64)
    } else {
        format!("{v:.0} ")
    }
}

/// Human duration: `850 µs`, `12.3 ms`, `4.56 s`, `3 min 20 s`; below half a
/// microsecond (what the timestamps cannot tell from zero) `< 1 µs`.
pub fn human_duration(secs: f64) -> String {
    HumanDuration(secs).to_string()
}

/// [`human_duration`] written straight into a formatter (views write one per
/// reply: no String for each).
#[derive(Clone, Copy, Debug)]
pub struct HumanDuration(pub f64);

impl std::fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0;
        if !secs.is_finite() || secs < 0.0 {
            f.write_str("-")
        } else if secs < 5e-7 {
            f.write_str("< 1 µs")
        } else if secs < 1e-3 {
            // What `{:.0}` writes (the nearest integer, ties to even), without the
            // exact float formatter, which fell back to its slow bignum path here.
            write!(f, "{} µs", (secs * 1e6).round_ties_even() as u64)
        } else if secs < 1.0 {
            write!(f, "{:.1} ms", secs * 1e3)
        } else if secs < 120.0 {
            write!(f, "{secs:.2} s")
        } else {
            write!(f, "{} min {} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
        }
    }
}

/// Human byte count: `512 B`, `1.5 KiB`, `200.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// How times are shown in text: `--time utc|local|relative`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeView {
    /// RFC 3339 in UTC (the default: the same output everywhere).
    #[default]
    Utc,
    /// The local time zone of the machine running ftpscope (`TZ` applies).
    Local,
    /// Seconds since the first packet of the capture, as Wireshark shows by default.
    Relative(Ts),
}

impl TimeView {
    /// A full timestamp: `2026-11-23T20:25:02.526131Z`,
    /// `2026-11-23T21:25:02.526131+01:00`, or `4.002303 s` after the first packet.
    pub fn full(self, t: Ts) -> String {
        match self {
            TimeView::Utc => t.rfc3339(),
            TimeView::Local => match local(t) {
                Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string(),
                None => t.rfc3339(),
            },
            TimeView::Relative(origin) => format!("{:.6} s", origin.secs_until(t)),
        }
    }

    /// A compact time for transcripts, 12 columns: `20:25:02.579` (UTC or local),
    /// or `      53.123` seconds since the first packet.
    pub fn clock(self, t: Ts) -> ClockText {
        match self {
            TimeView::Utc => t.clock_text(),
            TimeView::Local => match local(t) {
                Some(d) => ClockText::Owned(d.format("%H:%M:%S%.3f").to_string()),
                None => t.clock_text(),
            },
            TimeView::Relative(origin) => {
                ClockText::Owned(format!("{:>12.3}", origin.secs_until(t)))
            }
        }
    }
}

fn local(t: Ts) -> Option<chrono::DateTime<chrono::Local>> {
    use chrono::TimeZone;
    let secs = t.0.div_euclid(1_000_000_000);
    let nanos = t.0.rem_euclid(1_000_000_000) as u32;
    chrono::Local.timestamp_opt(secs, nanos).earliest()
}

/// The one parser of durations given on the command line (proxy timeouts, fault
/// delay, live `--duration`, ...): a number with a unit, `500ms`, `2s`, `1.5s`,
/// `1m`, `1h` (also `us`, `min`, `sec`). A bare number is refused with a hint (it
/// used to mean seconds in one option and read as milliseconds in the docs), except
/// `0`, which needs no unit.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let v: f64 = match num.parse() {
        Ok(v) if !num.is_empty() => v,
        _ => {
            return Err(format!(
                "`{t}` is not a duration: write a number with a unit, e.g. 500ms, 30s, 5m, 1h"
            ));
        }
    };
    let secs = match unit {
        "" if v == 0.0 => 0.0,
        "" => {
            return Err(format!(
                "`{t}` has no unit: write {t}ms for milliseconds or {t}s for seconds (units: ms, s, m, h)"
            ));
        }
        "us" | "µs" => v / 1e6,
        "ms" => v / 1e3,
        "s" | "sec" | "secs" => v,
        "m" | "min" | "mins" => v * 60.0,
        "h" | "hr" | "hrs" => v * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{t}` (units: ms, s, m, h)"
            ));
        }
    };
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("`{t}` is out of range for a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Microseconds and small rates are rounded as `{:.0}` rounds them (ties to
    /// even, on the exact binary value): every half-integer tie, and values a hair
    /// either side of one, and values from products as the views compute them.
    #[test]
    fn whole_microseconds_and_small_rates_round_as_the_float_formatter_does() {
        let mut values: Vec<f64> = Vec::new();
        for k in 0..2000u32 {
            let x = f64::from(k) / 2.0;
            values.extend([x, x.next_up(), x.next_down().max(0.0)]);
        }
        for ns in (500..1_000_000u64).step_by(7) {
            values.push(ns as f64 / 1e9 * 1e6);
        }
        for secs in values.iter().map(|us| us / 1e6) {
            if (5e-7..1e-3).contains(&secs) {
                assert_eq!(
                    human_duration(secs),
                    format!("{:.0} µs", secs * 1e6),
                    "{secs:e}"
                );
            }
        }
        for v in values {
            if v < 1e3 {
                assert_eq!(si(v), format!("{v:.0} "), "{v:e}");
            }
        }
    }

    #[test]
    fn durations_need_a_unit() {
        for (s, d) in [
            ("500ms", Duration::from_millis(500)),
            ("2s", Duration::from_secs(2)),
            ("1.5s", Duration::from_millis(1500)),
            ("1m", Duration::from_secs(60)),
            ("5min", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            (" 250 ms ", Duration::from_millis(250)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(s), Ok(d), "{s}");
        }
        let e = parse_duration("500").unwrap_err();
        assert!(e.contains("500ms") && e.contains("500s"), "{e}");
        for bad in ["", "ms", "5x", "-1s", "1e400s", "1.2.3s", "s5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    /// The clock written on the stack is what the formatter wrote before it,
    /// before 1970 and around midnight too.
    #[test]
    fn clock_text_is_the_formatted_clock() {
        let formatted = |t: Ts| {
            let secs = t.0.div_euclid(1_000_000_000);
            let nanos = t.0.rem_euclid(1_000_000_000);
            let sod = secs.rem_euclid(86_400);
            format!(
                "{:02}:{:02}:{:02}.{:03}",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60,
                nanos / 1_000_000
            )
        };
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = match i {
                0 => Ts(0),
                1 => Ts(-1),
                2 => Ts(86_400 * 1_000_000_000 - 1),
                3 => Ts(i64::MAX),
                4 => Ts(i64::MIN),
                _ => Ts(x as i64),
            };
            assert_eq!(&*t.clock_text(), formatted(t), "{}", t.0);
            assert_eq!(t.clock(), formatted(t));
        }
    }

    #[test]
    fn time_views() {
        let t = Ts::from_secs_nanos(951_827_696, 789_012_000);
        assert_eq!(TimeView::Utc.full(t), "2000-02-29T12:34:56.789012Z");
        assert_eq!(&*TimeView::Utc.clock(t), "12:34:56.789");
        let o = Ts::from_secs_nanos(951_827_690, 0);
        assert_eq!(TimeView::Relative(o).full(t), "6.789012 s");
        assert_eq!(&*TimeView::Relative(o).clock(t), "       6.789");
        assert_eq!(TimeView::Relative(o).clock(t).len(), t.clock().len());
        assert_eq!(human_duration(0.0), "< 1 µs");
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(Ts(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29T12:34:56.789012Z
        let t = Ts::from_secs_nanos(951_827_696, 789_012_000);
        assert_eq!(t.rfc3339(), "2000-02-29T12:34:56.789012Z");
        assert_eq!(
            Ts::from_secs_nanos(-1, 0).rfc3339(),
            "1969-12-31T23:59:59.000000Z"
        );
        // The extremes a timestamp can hold (hostile captures).
        assert_eq!(Ts(i64::MAX).rfc3339(), "2262-04-11T23:47:16.854775Z");
        assert_eq!(Ts(i64::MIN).rfc3339(), "1677-09-21T00:12:43.145224Z");
    }

    /// The kept last second gives what the calendar gives, for times in the same
    /// second, the next, the previous, and far apart, in any order.
    #[test]
    fn rfc3339_bytes_with_the_kept_second_equal_the_calendar() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut t = 1_700_000_000_000_000_000i64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t = match x % 5 {
                0 => t + (x % 1_000) as i64,
                1 => t + (x % 2_000_000_000) as i64,
                2 => t - (x % 1_500_000_000) as i64,
                3 => (x >> 2) as i64 - (1 << 61),
                _ => t,
            };
            assert_eq!(Ts(t).rfc3339_bytes(), Ts(t).rfc3339_full(), "{t}");
        }
        for t in [i64::MIN, -1, 0, 999, i64::MAX, i64::MAX - 1] {
            assert_eq!(Ts(t).rfc3339_bytes(), Ts(t).rfc3339_full(), "{t}");
        }
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(0.0125), "12.5 ms");
        assert_eq!(human_duration(-1.0), "-");
    }
}
