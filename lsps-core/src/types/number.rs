//! `LSPS0.ppm` and `LSPS0.onchain_fee_rate`: JSON integers.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// `LSPS0.ppm`: parts per million as a JSON integer (`2500` = 0.25 %).
///
/// bLIP-50 states no upper bound; like LDK this crate uses u32.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Ppm(pub u32);

impl Ppm {
    /// The raw parts-per-million value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// `ceil(amount × self / 10^6)`, computed as `(amount × ppm + 999999) / 1000000` with
    /// both steps checked: the LSPS2 opening fee and the reference LSP's LSPS1 order fee are
    /// this same rounding, so it exists once.
    pub fn share_of_rounded_up(self, amount: u64) -> Result<u64, PpmOverflow> {
        let product = amount
            .checked_mul(u64::from(self.0))
            .ok_or(PpmOverflow::Multiply)?;
        let rounded = product.checked_add(999_999).ok_or(PpmOverflow::Add)?;
        Ok(rounded / 1_000_000)
    }
}

/// Which step of [`Ppm::share_of_rounded_up`] overflowed u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PpmOverflow {
    /// `amount × ppm`.
    Multiply,
    /// `amount × ppm + 999999`.
    Add,
}

/// `LSPS0.onchain_fee_rate`: satoshis per 1000 weight units, as a JSON integer.
///
/// 253 is the documented minimum relay rate (about 1 sat/vB); it is not enforced here.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct FeeRate(pub u64);

impl FeeRate {
    /// The raw sat/kWU value.
    pub const fn get(self) -> u64 {
        self.0
    }
}

macro_rules! int_text {
    ($ty:ident, $inner:ty) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl FromStr for $ty {
            type Err = core::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<$inner>().map(Self)
            }
        }
        impl From<$inner> for $ty {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }
    };
}
int_text!(Ppm, u32);
int_text!(FeeRate, u64);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn integers_only() {
        assert_eq!(serde_json::from_str::<Ppm>("2500").unwrap(), Ppm(2500));
        assert!(serde_json::from_str::<Ppm>("2500.5").is_err());
        assert!(serde_json::from_str::<Ppm>("\"2500\"").is_err());
        assert!(serde_json::from_str::<Ppm>("-1").is_err());
        assert!(serde_json::from_str::<Ppm>("4294967296").is_err());
        assert_eq!(serde_json::to_string(&FeeRate(253)).unwrap(), "253");
    }
}
