//! The `lsps2.buy` rules both sides apply to a chosen menu entry and payment size: the client
//! before it sends (bLIP-52 client MUSTs) and the LSP before it accepts (LSP MUSTs). One
//! function, so the two sides cannot drift apart; the promise (which only the LSP can verify)
//! is checked separately ([`super::ClientPromises::verify`]).

use crate::jsonrpc::ErrorObject;
use crate::types::{Datetime, Msat};

use super::{FeeOverflow, OpeningFeeParams};

/// Why a `lsps2.buy` of an entry and size cannot go ahead. Each variant is a fact about the
/// request; [`BuyRejection::to_error_object`] gives the error the LSP answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuyRejection {
    /// `valid_until` is in the past (bLIP-52: the LSP MUST reject it with 201).
    #[error("opening_fee_params expired at {valid_until} (now {now})")]
    Expired {
        /// The entry's `valid_until`.
        valid_until: Datetime,
        /// The time of the check.
        now: Datetime,
    },
    /// `payment_size_msat` is below the entry's `min_payment_size_msat`.
    #[error("payment_size_msat {size} is below min_payment_size_msat {min}")]
    SizeBelowMinimum {
        /// The requested size.
        size: Msat,
        /// The entry's minimum.
        min: Msat,
    },
    /// `payment_size_msat` is above the entry's `max_payment_size_msat`.
    #[error("payment_size_msat {size} is above max_payment_size_msat {max}")]
    SizeAboveMaximum {
        /// The requested size.
        size: Msat,
        /// The entry's maximum.
        max: Msat,
    },
    /// The opening fee for the size overflows u64 (bLIP-52: the client MUST abort, the LSP
    /// answers 203).
    #[error(transparent)]
    FeeOverflow(#[from] FeeOverflow),
    /// The opening fee is not below the payment size (bLIP-52: the LSP MUST reject with 202,
    /// the client MUST abort).
    #[error("opening fee {fee} is not below payment_size_msat {size}")]
    FeeNotBelowSize {
        /// The computed opening fee.
        fee: Msat,
        /// The requested size.
        size: Msat,
    },
}

impl BuyRejection {
    /// The error object the LSP answers with:
    /// - expired → 201 `invalid_opening_fee_params`;
    /// - below the minimum, fee not below size → 202 `payment_size_too_small`;
    /// - above the maximum, fee overflow → 203 `payment_size_too_large`.
    ///
    /// bLIP-52 names no code for a size outside `[min, max]`; like LDK's service this maps
    /// the two sides to "too small" and "too large" (spec/README records the choice).
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            BuyRejection::Expired { .. } => ErrorObject::lsps2_invalid_opening_fee_params(),
            BuyRejection::SizeBelowMinimum { .. } | BuyRejection::FeeNotBelowSize { .. } => {
                ErrorObject::lsps2_payment_size_too_small()
            }
            BuyRejection::SizeAboveMaximum { .. } | BuyRejection::FeeOverflow(_) => {
                ErrorObject::lsps2_payment_size_too_large()
            }
        }
    }
}

impl OpeningFeeParams {
    /// bLIP-52's checks of this entry for a buy at `now`; returns the opening fee when a
    /// `payment_size_msat` is given (MPP+fixed-invoice mode), `None` otherwise.
    ///
    /// "`valid_until` is not a past datetime": the instant itself is still valid, so an entry
    /// whose `valid_until` equals `now` passes.
    pub fn check_buy(
        &self,
        payment_size_msat: Option<Msat>,
        now: Datetime,
    ) -> Result<Option<Msat>, BuyRejection> {
        if self.valid_until < now {
            return Err(BuyRejection::Expired {
                valid_until: self.valid_until,
                now,
            });
        }
        let Some(size) = payment_size_msat else {
            return Ok(None);
        };
        if size < self.min_payment_size_msat {
            return Err(BuyRejection::SizeBelowMinimum {
                size,
                min: self.min_payment_size_msat,
            });
        }
        if size > self.max_payment_size_msat {
            return Err(BuyRejection::SizeAboveMaximum {
                size,
                max: self.max_payment_size_msat,
            });
        }
        let fee = self.opening_fee(size)?;
        if fee >= size {
            return Err(BuyRejection::FeeNotBelowSize { fee, size });
        }
        Ok(Some(fee))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::jsonrpc::code;
    use crate::lsps2::RawOpeningFeeParams;
    use crate::types::Ppm;

    fn entry(valid_until_ms: u64) -> OpeningFeeParams {
        RawOpeningFeeParams {
            min_fee_msat: Msat(2_000),
            proportional: Ppm(10_000),
            valid_until: Datetime::from_unix_millis(valid_until_ms).unwrap(),
            min_lifetime: 144,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: Msat(1_000),
            max_payment_size_msat: Msat(1_000_000),
        }
        .with_promise("00".repeat(32))
    }

    fn at(ms: u64) -> Datetime {
        Datetime::from_unix_millis(ms).unwrap()
    }

    #[test]
    fn valid_until_instant_is_still_valid_and_one_ms_later_is_not() {
        let e = entry(10_000);
        assert_eq!(e.check_buy(None, at(10_000)), Ok(None));
        let err = e.check_buy(None, at(10_001)).unwrap_err();
        assert!(matches!(err, BuyRejection::Expired { .. }));
        assert_eq!(
            err.to_error_object().code,
            code::LSPS2_INVALID_OPENING_FEE_PARAMS
        );
    }

    #[test]
    fn size_range_edges_and_codes() {
        let e = entry(10_000);
        let now = at(0);
        assert_eq!(
            e.check_buy(Some(Msat(1_000_000)), now),
            Ok(Some(Msat(10_000)))
        );
        let below = e.check_buy(Some(Msat(999)), now).unwrap_err();
        assert_eq!(
            below.to_error_object().code,
            code::LSPS2_PAYMENT_SIZE_TOO_SMALL
        );
        let above = e.check_buy(Some(Msat(1_000_001)), now).unwrap_err();
        assert_eq!(
            above.to_error_object().code,
            code::LSPS2_PAYMENT_SIZE_TOO_LARGE
        );
    }

    #[test]
    fn fee_equal_to_size_is_rejected_with_202() {
        let e = entry(10_000);
        // min_fee 2000 msat ≥ size 2000 msat.
        let err = e.check_buy(Some(Msat(2_000)), at(0)).unwrap_err();
        assert_eq!(
            err,
            BuyRejection::FeeNotBelowSize {
                fee: Msat(2_000),
                size: Msat(2_000)
            }
        );
        assert_eq!(
            err.to_error_object().code,
            code::LSPS2_PAYMENT_SIZE_TOO_SMALL
        );
        assert_eq!(e.check_buy(Some(Msat(2_001)), at(0)), Ok(Some(Msat(2_000))));
    }

    #[test]
    fn fee_overflow_is_203() {
        let mut e = entry(10_000);
        e.max_payment_size_msat = Msat(u64::MAX);
        e.proportional = Ppm(u32::MAX);
        let err = e.check_buy(Some(Msat(u64::MAX / 2)), at(0)).unwrap_err();
        assert!(matches!(err, BuyRejection::FeeOverflow(_)));
        assert_eq!(
            err.to_error_object().code,
            code::LSPS2_PAYMENT_SIZE_TOO_LARGE
        );
    }
}
