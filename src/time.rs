//! Timestamps as they come from a capture (or a proxy's receive time).
//!
//! A [`Ts`] is nanoseconds since the Unix epoch. The engine never reads the clock:
//! every timestamp comes with an event, so the same input gives the same output.

use std::fmt;

/// Nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
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

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-23T20:10:00.123456Z`.
    pub fn rfc3339(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            nanos / 1000
        )
    }

    /// Time of day only, `HH:MM:SS.mmm`, for compact transcripts.
    pub fn clock(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let sod = secs.rem_euclid(86_400);
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            nanos / 1_000_000
        )
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
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

/// Human duration: `850 µs`, `12.3 ms`, `4.56 s`, `3 min 20 s`.
/// A rate with an SI prefix and a trailing space or prefix: `1.2 M`, `830.0 k`, `12 `.
pub fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0} ")
    }
}

pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".into();
    }
    if secs < 1e-3 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else if secs < 120.0 {
        format!("{secs:.2} s")
    } else {
        format!("{} min {} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(0.0125), "12.5 ms");
        assert_eq!(human_duration(-1.0), "-");
    }
}
