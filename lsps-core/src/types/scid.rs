//! `LSPS0.scid`: a short channel id written `BLOCKxTXxOUTPUT`.

use core::fmt;
use core::str::FromStr;

use super::{all_digits, string_serde};

/// Why a string is not a valid `LSPS0.scid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScidError {
    /// Not three groups of decimal digits separated by lower-case `x`.
    #[error("scid must be BLOCKxTXxOUTPUT: three decimal numbers separated by lower-case `x`")]
    Format,
    /// The block height exceeds 16777215 (24 bits).
    #[error("scid block height exceeds 16777215")]
    BlockTooLarge,
    /// The transaction index exceeds 16777215 (24 bits).
    #[error("scid transaction index exceeds 16777215")]
    TxIndexTooLarge,
    /// The output index exceeds 65535 (16 bits).
    #[error("scid output index exceeds 65535")]
    OutputTooLarge,
}

/// `LSPS0.scid`: block height (24 bits), transaction index (24 bits) and output index
/// (16 bits) packed into a u64, written `539268x845x1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scid(pub u64);

impl Scid {
    /// Builds an SCID from its parts; `None` if a part exceeds its bit width.
    pub const fn from_parts(block: u32, tx_index: u32, output: u16) -> Option<Self> {
        if block > 0xFF_FFFF || tx_index > 0xFF_FFFF {
            return None;
        }
        Some(Self(
            ((block as u64) << 40) | ((tx_index as u64) << 16) | output as u64,
        ))
    }

    /// The packed u64 value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Block height (top 24 bits).
    pub const fn block(self) -> u32 {
        (self.0 >> 40) as u32
    }

    /// Transaction index within the block (middle 24 bits).
    pub const fn tx_index(self) -> u32 {
        ((self.0 >> 16) & 0xFF_FFFF) as u32
    }

    /// Output index (low 16 bits).
    pub const fn output(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
}

impl From<u64> for Scid {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl fmt::Display for Scid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block(), self.tx_index(), self.output())
    }
}

impl FromStr for Scid {
    type Err = ScidError;
    /// Reads `BxTxO`; each part is decimal digits (leading zeros accepted) within its bounds.
    fn from_str(s: &str) -> Result<Self, ScidError> {
        let mut parts = s.split('x');
        let (Some(b), Some(t), Some(o), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ScidError::Format);
        };
        if !(all_digits(b) && all_digits(t) && all_digits(o)) {
            return Err(ScidError::Format);
        }
        // Digits-only strings that do not fit in u64 are certainly out of bounds.
        let b = b.parse::<u64>().unwrap_or(u64::MAX);
        let t = t.parse::<u64>().unwrap_or(u64::MAX);
        let o = o.parse::<u64>().unwrap_or(u64::MAX);
        if b > 0xFF_FFFF {
            return Err(ScidError::BlockTooLarge);
        }
        if t > 0xFF_FFFF {
            return Err(ScidError::TxIndexTooLarge);
        }
        if o > 0xFFFF {
            return Err(ScidError::OutputTooLarge);
        }
        Ok(Self((b << 40) | (t << 16) | o))
    }
}

string_serde!(Scid, "a short channel id string BLOCKxTXxOUTPUT");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn spec_example() {
        let s: Scid = "539268x845x1".parse().unwrap();
        assert_eq!(s.0, 0x083a_8400_034d_0001);
        assert_eq!(s.to_string(), "539268x845x1");
        assert_eq!(Scid::from_parts(539268, 845, 1), Some(s));
    }

    #[test]
    fn bounds() {
        assert_eq!(
            "16777215x16777215x65535".parse::<Scid>().unwrap(),
            Scid(u64::MAX)
        );
        assert_eq!(
            "16777216x0x0".parse::<Scid>(),
            Err(ScidError::BlockTooLarge)
        );
        assert_eq!(
            "0x16777216x0".parse::<Scid>(),
            Err(ScidError::TxIndexTooLarge)
        );
        assert_eq!("0x0x65536".parse::<Scid>(), Err(ScidError::OutputTooLarge));
        assert_eq!(
            "99999999999999999999999x0x0".parse::<Scid>(),
            Err(ScidError::BlockTooLarge)
        );
        for bad in [
            "1x2", "1x2x3x4", "1X2X3", "1x-2x3", "x1x2", "1x2x", " 1x2x3", "",
        ] {
            assert_eq!(bad.parse::<Scid>(), Err(ScidError::Format), "{bad}");
        }
        assert_eq!(Scid::from_parts(1 << 24, 0, 0), None);
    }
}
