//! `LSPS0.sat` and `LSPS0.msat`: amounts as decimal strings within u64.

use core::fmt;
use core::str::FromStr;

use super::{all_digits, string_serde};

/// Why a string is not a valid `LSPS0.sat` / `LSPS0.msat` amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The string is empty or contains something other than ASCII digits
    /// (signs, spaces, decimal points and exponents are all rejected).
    #[error("amount must be a non-empty string of decimal digits 0-9")]
    NotDecimal,
    /// The value does not fit in an unsigned 64-bit integer.
    #[error("amount exceeds the u64 maximum 18446744073709551615")]
    Overflow,
}

/// True when `s` is the canonical decimal form: `0`, or digits without a leading zero.
///
/// Readers accept leading zeros (the spec only says "decimal text"); a conformance
/// checker can use this to flag a writer that emits them.
pub fn is_canonical_decimal(s: &str) -> bool {
    all_digits(s) && (s == "0" || !s.starts_with('0'))
}

fn parse_amount(s: &str) -> Result<u64, AmountError> {
    if !all_digits(s) {
        return Err(AmountError::NotDecimal);
    }
    s.parse::<u64>().map_err(|_| AmountError::Overflow)
}

macro_rules! amount_type {
    ($(#[$doc:meta])* $name:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// The largest representable amount (u64::MAX).
            pub const MAX: Self = Self(u64::MAX);

            /// Wraps a raw integer amount.
            pub const fn new(value: u64) -> Self {
                Self(value)
            }

            /// The raw integer amount.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// Checked addition; `None` on u64 overflow.
            pub const fn checked_add(self, other: Self) -> Option<Self> {
                match self.0.checked_add(other.0) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// Checked subtraction; `None` when the result would be negative.
            pub const fn checked_sub(self, other: Self) -> Option<Self> {
                match self.0.checked_sub(other.0) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }

        impl From<$name> for u64 {
            fn from(v: $name) -> u64 {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = AmountError;
            /// Parses decimal digits (leading zeros accepted) within u64.
            fn from_str(s: &str) -> Result<Self, AmountError> {
                parse_amount(s).map(Self)
            }
        }

        string_serde!($name, $expecting);
    };
}

amount_type!(
    /// `LSPS0.sat`: an amount in satoshis, written as a decimal string (`"546"`).
    Sat,
    "a satoshi amount as a decimal string"
);
amount_type!(
    /// `LSPS0.msat`: an amount in millisatoshis, written as a decimal string (`"546000"`).
    Msat,
    "a millisatoshi amount as a decimal string"
);

impl Sat {
    /// The same amount in millisatoshis; `None` on u64 overflow.
    pub const fn to_msat(self) -> Option<Msat> {
        match self.0.checked_mul(1000) {
            Some(v) => Some(Msat(v)),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_bounds_and_rejects_non_decimal() {
        assert_eq!("0".parse::<Msat>().unwrap().get(), 0);
        assert_eq!("18446744073709551615".parse::<Msat>().unwrap(), Msat::MAX);
        assert_eq!(
            "18446744073709551616".parse::<Msat>(),
            Err(AmountError::Overflow)
        );
        assert_eq!("00546".parse::<Sat>().unwrap().get(), 546);
        for bad in ["", " 1", "1 ", "+1", "-1", "1.0", "1e3", "0x10", "١"] {
            assert_eq!(bad.parse::<Sat>(), Err(AmountError::NotDecimal), "{bad:?}");
        }
    }

    #[test]
    fn json_form_is_a_string_only() {
        assert_eq!(serde_json::to_string(&Msat(546000)).unwrap(), r#""546000""#);
        assert_eq!(serde_json::from_str::<Msat>(r#""42""#).unwrap(), Msat(42));
        assert!(serde_json::from_str::<Msat>("42").is_err());
        assert!(serde_json::from_str::<Msat>("null").is_err());
    }

    #[test]
    fn canonical_decimal() {
        assert!(is_canonical_decimal("0"));
        assert!(is_canonical_decimal("10"));
        assert!(!is_canonical_decimal("010"));
        assert!(!is_canonical_decimal(""));
    }

    #[test]
    fn sat_to_msat_checks_overflow() {
        assert_eq!(Sat(2).to_msat(), Some(Msat(2000)));
        assert_eq!(Sat(u64::MAX / 1000 + 1).to_msat(), None);
    }
}
