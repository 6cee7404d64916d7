//! The LSPS2 opening fee and the menu-ordering rule.

use crate::types::{Msat, Ppm, PpmOverflow};

use super::OpeningFeeParams;

/// Where the opening-fee computation overflowed u64 (the flow must abort; an LSP answers
/// `buy` with 203).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeeOverflow {
    /// `payment_size_msat * proportional` overflowed.
    #[error("opening fee overflow: payment_size_msat * proportional exceeds u64")]
    Multiply,
    /// `(payment_size_msat * proportional) + 999999` overflowed.
    #[error("opening fee overflow: payment_size_msat * proportional + 999999 exceeds u64")]
    Add,
}

/// bLIP-52's opening fee, exactly as its algorithm with every overflow check:
///
/// ```text
/// opening_fee = ((payment_size_msat * proportional) + 999999) / 1000000
/// if opening_fee < min_fee_msat: opening_fee = min_fee_msat
/// ```
///
/// The bLIP prose says `+ 9999999` and `/ 10000000`; its code and every implementation use
/// 10^6, as does the definition of `proportional`. The add is checked too, so
/// `18446744073709 × 1000000` overflows here where LDK's `div_ceil` returns a fee.
pub fn opening_fee(
    payment_size_msat: Msat,
    min_fee_msat: Msat,
    proportional: Ppm,
) -> Result<Msat, FeeOverflow> {
    let fee = proportional
        .share_of_rounded_up(payment_size_msat.get())
        .map_err(|overflow| match overflow {
            PpmOverflow::Multiply => FeeOverflow::Multiply,
            PpmOverflow::Add => FeeOverflow::Add,
        })?;
    Ok(Msat(fee.max(min_fee_msat.get())))
}

/// Why a menu is not in the order bLIP-52 requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MenuError {
    /// Entry `index` does not cost strictly more than entry `index - 1`: it needs a larger
    /// `min_fee_msat` with equal `proportional`, a larger `proportional` with equal
    /// `min_fee_msat`, or both larger.
    #[error(
        "opening_fee_params_menu.{index}: must have a larger min_fee_msat and/or a larger proportional than entry {previous} without the other being smaller or both equal"
    )]
    NotIncreasing {
        /// The offending entry.
        index: usize,
        /// `index - 1`.
        previous: usize,
    },
}

/// Checks bLIP-52's menu order: entry 0 is free; each later entry, against the one before,
/// has (a) larger `min_fee_msat` and equal `proportional`, (b) larger `proportional` and equal
/// `min_fee_msat`, or (c) both larger. Other fields (`valid_until`, sizes) do not count.
pub fn validate_menu(menu: &[OpeningFeeParams]) -> Result<(), MenuError> {
    for (index, pair) in menu.windows(2).enumerate() {
        let (prev, next) = (&pair[0], &pair[1]);
        let fee_up = next.min_fee_msat > prev.min_fee_msat;
        let fee_eq = next.min_fee_msat == prev.min_fee_msat;
        let prop_up = next.proportional > prev.proportional;
        let prop_eq = next.proportional == prev.proportional;
        if !((fee_up && prop_eq) || (prop_up && fee_eq) || (fee_up && prop_up)) {
            return Err(MenuError::NotIncreasing {
                index: index + 1,
                previous: index,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::types::Datetime;

    /// bLIP-52 fee vectors: (payment_size_msat, min_fee_msat, proportional, expected).
    const VECTORS: &[(u64, u64, u32, Result<u64, FeeOverflow>)] = &[
        (42_000, 546_000, 1200, Ok(546_000)),
        (1_000_000, 546_000, 1200, Ok(546_000)),
        (1_000_000_000, 546_000, 1200, Ok(1_200_000)),
        (1, 0, 1, Ok(1)),
        (999_999, 0, 1, Ok(1)),
        (1_000_000, 0, 1, Ok(1)),
        (1_000_001, 0, 1, Ok(2)),
        (1_000_000_000, 0, 1_000_000, Ok(1_000_000_000)),
        (18_446_744_073_708, 0, 1_000_000, Ok(18_446_744_073_708)),
        (18_446_744_073_709, 0, 1_000_000, Err(FeeOverflow::Add)),
        (18_446_744_073_710, 0, 1_000_000, Err(FeeOverflow::Multiply)),
        (u64::MAX, 0, 1, Err(FeeOverflow::Add)),
        (u64::MAX, 0, 0, Ok(0)),
    ];

    #[test]
    fn spec_catalog_vectors() {
        for &(size, min, prop, expected) in VECTORS {
            assert_eq!(
                opening_fee(Msat(size), Msat(min), Ppm(prop)),
                expected.map(Msat),
                "size={size} min={min} prop={prop}"
            );
        }
    }

    fn entry(min_fee: u64, prop: u32) -> OpeningFeeParams {
        OpeningFeeParams {
            min_fee_msat: Msat(min_fee),
            proportional: Ppm(prop),
            valid_until: Datetime::UNIX_EPOCH,
            min_lifetime: 0,
            max_client_to_self_delay: 0,
            min_payment_size_msat: Msat(0),
            max_payment_size_msat: Msat(0),
            promise: String::new(),
        }
    }

    #[test]
    fn menu_order() {
        assert_eq!(validate_menu(&[]), Ok(()));
        assert_eq!(validate_menu(&[entry(5, 5)]), Ok(()));
        assert_eq!(
            validate_menu(&[entry(1, 1), entry(2, 1), entry(2, 2), entry(3, 3)]),
            Ok(())
        );
        for (a, b) in [
            ((1, 1), (1, 1)),
            ((2, 1), (1, 2)),
            ((1, 2), (2, 1)),
            ((2, 2), (1, 1)),
        ] {
            assert_eq!(
                validate_menu(&[entry(a.0, a.1), entry(b.0, b.1)]),
                Err(MenuError::NotIncreasing {
                    index: 1,
                    previous: 0
                }),
                "{a:?} then {b:?}"
            );
        }
        assert_eq!(
            validate_menu(&[entry(1, 1), entry(2, 2), entry(2, 2)]),
            Err(MenuError::NotIncreasing {
                index: 2,
                previous: 1
            })
        );
    }
}
