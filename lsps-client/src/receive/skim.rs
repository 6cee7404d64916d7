//! The check before claiming a JIT payment (bLIP-52 §forwarding, client MUSTs): the fee the
//! LSP skimmed from the parts (LDK's `counterparty_skimmed_fee_msat`, the sum of the
//! `extra_fee` TLVs) is at most the promised opening fee, computed with lsps-core's fee math
//! from the bought params; and what arrived is at least payment − fee. Otherwise the wallet
//! fails the parts back instead of releasing the preimage.

use lsps_core::lsps2::FeeOverflow;
use lsps_core::types::Msat;

use super::JitPurchase;

/// A claimable JIT payment that passed the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimApproved {
    /// What the parts deliver to the wallet.
    pub received_msat: Msat,
    /// What the LSP skimmed.
    pub skimmed_fee_msat: Msat,
    /// The opening fee promised for this payment.
    pub opening_fee_msat: Msat,
    /// The payment the fee was computed on: `payment_size_msat` (fixed mode) or what the
    /// payer sent (received + skimmed, variable mode).
    pub payment_msat: Msat,
}

/// Why a JIT payment must be failed back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkimViolation {
    /// The LSP took more than the promised opening fee.
    #[error("the LSP skimmed {skimmed} msat, more than the promised opening fee of {fee} msat")]
    SkimAboveFee {
        /// Skimmed.
        skimmed: Msat,
        /// Promised.
        fee: Msat,
    },
    /// Less arrived than payment − fee.
    #[error("received {received} msat, less than payment {payment} - opening fee {fee}")]
    ReceivedTooLittle {
        /// Received.
        received: Msat,
        /// The payment the fee was computed on.
        payment: Msat,
        /// The opening fee.
        fee: Msat,
    },
    /// The fee computation overflowed (bLIP-52: abort the flow).
    #[error("{0}")]
    FeeOverflow(#[from] FeeOverflow),
    /// received + skimmed overflows u64.
    #[error("received + skimmed overflows")]
    AmountOverflow,
}

/// Checks a claimable payment of `purchase`: `received_msat` (LDK's `amount_msat`) and
/// `skimmed_fee_msat` (LDK's `counterparty_skimmed_fee_msat`).
pub fn check_claimable(
    purchase: &JitPurchase,
    received_msat: u64,
    skimmed_fee_msat: u64,
) -> Result<ClaimApproved, SkimViolation> {
    let received = Msat(received_msat);
    let skimmed = Msat(skimmed_fee_msat);
    let payment = match purchase.payment_size_msat {
        Some(size) => size,
        // Variable mode: the LSP computes the fee from the HTLC it got, which is what the payer
        // meant the wallet to receive (the route hint charges nothing).
        None => received
            .checked_add(skimmed)
            .ok_or(SkimViolation::AmountOverflow)?,
    };
    let fee = purchase.params.opening_fee(payment)?;
    if skimmed > fee {
        return Err(SkimViolation::SkimAboveFee { skimmed, fee });
    }
    let minimum = payment.checked_sub(fee).unwrap_or(Msat::ZERO);
    if received < minimum {
        return Err(SkimViolation::ReceivedTooLittle {
            received,
            payment,
            fee,
        });
    }
    Ok(ClaimApproved {
        received_msat: received,
        skimmed_fee_msat: skimmed,
        opening_fee_msat: fee,
        payment_msat: payment,
    })
}
