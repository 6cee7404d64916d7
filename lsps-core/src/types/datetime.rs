//! `LSPS0.datetime`: `YYYY-MM-DDThh:mm:ss.sssZ`, always UTC, millisecond precision.

use core::fmt;
use core::str::FromStr;

use chrono::{DateTime, Timelike, Utc};

use super::string_serde;

/// Largest instant that still has a four-digit year: 9999-12-31T23:59:59.999Z.
const MAX_UNIX_MILLIS: u64 = 253_402_300_799_999;

/// How strictly [`Datetime::parse`] reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatetimeMode {
    /// Exactly `YYYY-MM-DDThh:mm:ss.sssZ` (three fractional digits, upper-case `T` and `Z`),
    /// as bLIP-50 writes it. Use it to judge what a peer wrote.
    Strict,
    /// Any RFC 3339 timestamp (any number of fractional digits, any offset), as LDK, lspd
    /// and the bLIP-51 examples write them. Digits below the millisecond are truncated.
    Lenient,
}

/// Why a string or number is not a valid `LSPS0.datetime`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatetimeError {
    /// Strict mode: the text is not exactly `YYYY-MM-DDThh:mm:ss.sssZ`.
    #[error("datetime must be exactly YYYY-MM-DDThh:mm:ss.sssZ (3 fractional digits, UTC `Z`)")]
    NotStrictFormat,
    /// The text is not an RFC 3339 timestamp or names an impossible date or time.
    #[error("datetime is not a valid RFC 3339 timestamp: {0}")]
    NotRfc3339(String),
    /// Leap seconds (`:60`) cannot be represented as Unix milliseconds.
    #[error("datetime with a leap second (:60) is not supported")]
    LeapSecond,
    /// The instant is before 1970-01-01T00:00:00.000Z.
    #[error("datetime is before 1970-01-01T00:00:00.000Z")]
    BeforeUnixEpoch,
    /// The instant is after 9999-12-31T23:59:59.999Z, which has no four-digit year.
    #[error("datetime is after 9999-12-31T23:59:59.999Z")]
    AfterYear9999,
}

/// `LSPS0.datetime`: a UTC instant with millisecond precision, 1970 to 9999.
///
/// Always written as `YYYY-MM-DDThh:mm:ss.sssZ`. [`FromStr`] and serde read
/// [`DatetimeMode::Lenient`] (so that LDK's and the bLIP examples' variants are
/// understood); use [`Datetime::parse`] with [`DatetimeMode::Strict`] to judge a writer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datetime(u64);

impl Datetime {
    /// 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Self = Self(0);
    /// 9999-12-31T23:59:59.999Z, the last writable instant.
    pub const MAX: Self = Self(MAX_UNIX_MILLIS);

    /// The instant `millis` milliseconds after the Unix epoch.
    ///
    /// Fails with [`DatetimeError::AfterYear9999`] past 9999-12-31T23:59:59.999Z.
    pub const fn from_unix_millis(millis: u64) -> Result<Self, DatetimeError> {
        if millis > MAX_UNIX_MILLIS {
            return Err(DatetimeError::AfterYear9999);
        }
        Ok(Self(millis))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `millis`, or `None` past [`Datetime::MAX`].
    pub const fn checked_add_millis(self, millis: u64) -> Option<Self> {
        match self.0.checked_add(millis) {
            Some(v) if v <= MAX_UNIX_MILLIS => Some(Self(v)),
            _ => None,
        }
    }

    /// Parses `s` in the given mode.
    pub fn parse(s: &str, mode: DatetimeMode) -> Result<Self, DatetimeError> {
        if mode == DatetimeMode::Strict && !has_strict_shape(s) {
            return Err(DatetimeError::NotStrictFormat);
        }
        let parsed = DateTime::parse_from_rfc3339(s)
            .map_err(|e| DatetimeError::NotRfc3339(e.to_string()))?;
        if parsed.nanosecond() >= 1_000_000_000 {
            return Err(DatetimeError::LeapSecond);
        }
        let millis = parsed.with_timezone(&Utc).timestamp_millis();
        let millis = u64::try_from(millis).map_err(|_| DatetimeError::BeforeUnixEpoch)?;
        Self::from_unix_millis(millis)
    }

    #[cfg(test)]
    fn to_chrono(self) -> DateTime<Utc> {
        // `self.0 <= MAX_UNIX_MILLIS`, which chrono represents; the fallback is unreachable.
        i64::try_from(self.0)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(DateTime::UNIX_EPOCH)
    }
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` by position; calendar validity is left to chrono.
fn has_strict_shape(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 24 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        19 => c == b'.',
        23 => c == b'Z',
        _ => c.is_ascii_digit(),
    })
}

impl Datetime {
    /// The LSPS0 text, `YYYY-MM-DDThh:mm:ss.sssZ`, as 24 ASCII bytes.
    ///
    /// Written by hand (days to civil date after Howard Hinnant's `civil_from_days`) rather
    /// than through chrono's RFC 3339 writer, which allocates and goes through `fmt` for every
    /// field: every `lsps2.get_info` menu entry writes one. A test holds it equal to chrono
    /// over the whole range.
    pub fn to_ascii(self) -> [u8; 24] {
        let millis = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, secs_of_day) = (secs / 86_400, secs % 86_400);
        // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
        let z = days + 719_468;
        let era = z / 146_097;
        let day_of_era = z % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153; // 0 = March
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);

        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: u64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, secs_of_day / 3600);
        put(14, 2, secs_of_day / 60 % 60);
        put(17, 2, secs_of_day % 60);
        put(20, 3, millis);
        out
    }
}

impl fmt::Display for Datetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_ascii();
        // `to_ascii` writes only ASCII digits and separators.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Datetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Datetime({self})")
    }
}

impl FromStr for Datetime {
    type Err = DatetimeError;
    /// Parses in [`DatetimeMode::Lenient`].
    fn from_str(s: &str) -> Result<Self, DatetimeError> {
        Self::parse(s, DatetimeMode::Lenient)
    }
}

string_serde!(Datetime, "an RFC 3339 / LSPS0 datetime string");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn writes_exactly_three_fraction_digits_and_z() {
        let d = Datetime::from_unix_millis(1_677_142_050_511).unwrap();
        assert_eq!(d.to_string(), "2023-02-23T08:47:30.511Z");
        assert_eq!(Datetime::UNIX_EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Datetime::MAX.to_string(), "9999-12-31T23:59:59.999Z");
    }

    proptest::proptest! {
        #[test]
        fn hand_written_text_equals_chronos(millis in 0..=MAX_UNIX_MILLIS) {
            let d = Datetime::from_unix_millis(millis).unwrap();
            let chrono_text = d.to_chrono().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            proptest::prop_assert_eq!(d.to_string(), chrono_text);
        }
    }

    #[test]
    fn hand_written_text_at_calendar_edges() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "1972-02-29T23:59:59.999Z",
            "1999-12-31T23:59:59.999Z",
            "2000-02-29T12:00:00.000Z",
            "2000-03-01T00:00:00.000Z",
            "2100-02-28T00:00:00.001Z",
            "2100-03-01T00:00:00.000Z",
            "2400-02-29T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            let d = Datetime::parse(text, DatetimeMode::Strict).unwrap();
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn strict_accepts_only_the_lsps0_shape() {
        let ok = Datetime::parse("2023-02-23T08:47:30.511Z", DatetimeMode::Strict).unwrap();
        assert_eq!(ok.unix_millis(), 1_677_142_050_511);
        for bad in [
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.000000Z",
            "2025-01-01T00:00:00.000+00:00",
            "2025-01-01t00:00:00.000z",
            "2025-01-01 00:00:00.000Z",
        ] {
            assert_eq!(
                Datetime::parse(bad, DatetimeMode::Strict),
                Err(DatetimeError::NotStrictFormat),
                "{bad}"
            );
        }
        assert!(matches!(
            Datetime::parse("2025-02-30T00:00:00.000Z", DatetimeMode::Strict),
            Err(DatetimeError::NotRfc3339(_))
        ));
    }

    #[test]
    fn lenient_reads_rfc3339_variants_and_truncates_below_millis() {
        let base = Datetime::parse("2025-01-01T00:00:00.000Z", DatetimeMode::Strict).unwrap();
        for s in [
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.000000Z",
            "2025-01-01T00:00:00.0009Z",
            "2025-01-01T01:00:00+01:00",
            "2025-01-01T00:00:00+00:00",
        ] {
            assert_eq!(s.parse::<Datetime>().unwrap(), base, "{s}");
        }
    }

    #[test]
    fn rejects_pre_epoch_leap_second_and_year_10000() {
        assert_eq!(
            "1969-12-31T23:59:59.999Z".parse::<Datetime>(),
            Err(DatetimeError::BeforeUnixEpoch)
        );
        assert_eq!(
            "1970-01-01T00:30:00+01:00".parse::<Datetime>(),
            Err(DatetimeError::BeforeUnixEpoch)
        );
        assert_eq!(
            "2016-12-31T23:59:60.000Z".parse::<Datetime>(),
            Err(DatetimeError::LeapSecond)
        );
        assert_eq!(
            "9999-12-31T23:59:59.999-01:00".parse::<Datetime>(),
            Err(DatetimeError::AfterYear9999)
        );
        assert_eq!(
            Datetime::from_unix_millis(MAX_UNIX_MILLIS + 1),
            Err(DatetimeError::AfterYear9999)
        );
    }

    #[test]
    fn serde_round_trip() {
        let d: Datetime = serde_json::from_str(r#""2012-04-23T18:25:43.511Z""#).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#""2012-04-23T18:25:43.511Z""#
        );
        assert!(serde_json::from_str::<Datetime>("1335205543511").is_err());
    }
}
