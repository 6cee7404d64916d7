//! Receiving a payment through an LSPS2 JIT channel: the wallet side of bLIP-52.
//!
//! A wallet that has its own LDK node uses three pieces, each usable alone:
//!
//! - [`invoice`]: the BOLT11 invoice bLIP-52 requires for a purchase — one route hint LSP →
//!   `jit_channel_scid` with fees 0 and `cltv_expiry_delta = lsp_cltv_expiry_delta`,
//!   `min_final_cltv_expiry_delta` = the wallet's normal value + 2 (+ the confirmations it
//!   waits for when it does not trust the LSP), amount and `basic_mpp` per mode, expiry not
//!   past `valid_until`; signed by the node's [`NodeSigner`](lightning::sign::NodeSigner).
//! - [`policy`]: which inbound channels to take — zero-conf only from the LSP of a live
//!   purchase, unannounced, with `option_scid_alias`, our `to_self_delay` within the bought
//!   `max_client_to_self_delay`, underpaying HTLCs allowed on that channel only.
//! - [`skim`]: the check before claiming — the fee the LSP skimmed (LDK's
//!   `counterparty_skimmed_fee_msat`, the `extra_fee` TLV) is at most the promised opening fee
//!   (lsps-core's fee math), and what arrived is at least payment − fee; otherwise fail back.
//!
//! [`link`] carries LSPS messages over the wallet node's own PeerManager, so the LSP sees one
//! identity for `lsps2.buy` and the channel. With the `node` feature, [`JitWallet`] puts it all
//! together on the workspace's node kit (this is what `lsps lsps2 receive` runs).
//!
//! | bLIP-52 client rule | where |
//! |---|---|
//! | `timestamp + expiry ≤ valid_until` | [`invoice::jit_invoice`] ([`invoice::InvoiceError::OfferExpired`]) |
//! | exactly one route hint, one hop: LSP, `jit_channel_scid`, fees 0, `lsp_cltv_expiry_delta` | [`invoice::jit_invoice`], checked by [`invoice::check_jit_invoice`] |
//! | `min_final_cltv_expiry_delta` ≥ normal + 2 (+ confirmations waited) | [`invoice::advertised_min_final_cltv_expiry_delta`] |
//! | fixed mode: amount = `payment_size_msat`, `basic_mpp`; variable: no amount, no `basic_mpp` | [`invoice::jit_invoice`] |
//! | `option_scid_alias`, unannounced, client `to_self_delay` ≤ `max_client_to_self_delay` | [`policy::JitChannelPolicy`] |
//! | sum of `extra_fee` ≤ `opening_fee`; accept when total ≥ payment − fee | [`skim::check_claimable`] |
//! | each HTLC = onion amount − its `extra_fee` | LDK (it fails HTLCs whose amount plus skim falls short of the onion's) |

pub mod invoice;
pub mod link;
pub mod policy;
pub mod skim;

pub use policy::StrangerChannels;

#[cfg(feature = "node")]
mod wallet;
#[cfg(feature = "node")]
pub use wallet::{
    JitWallet, PaymentOutcome, Received, WalletConfig, WalletError, WalletNode, wallet_user_config,
};

use bitcoin::secp256k1::PublicKey;
use lsps_core::lsps2::{BuyResult, OpeningFeeParams};
use lsps_core::types::Msat;

use crate::{BuyOutcome, FeeOffer};

/// One bought JIT channel: the LSP, the menu entry bought, the size (fixed mode) and the
/// LSP's answer. Everything the invoice, the channel policy and the skim check need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitPurchase {
    /// The LSP's node id (the route hint's hop, the only peer allowed to open the channel).
    pub lsp: PublicKey,
    /// The menu entry bought.
    pub params: OpeningFeeParams,
    /// `Some`: "MPP+fixed-invoice" mode; `None`: "no-MPP+var-invoice".
    pub payment_size_msat: Option<Msat>,
    /// `jit_channel_scid`, `lsp_cltv_expiry_delta`, `client_trusts_lsp`.
    pub buy: BuyResult,
}

impl JitPurchase {
    /// The purchase `lsps2_buy(offer, payment_size_msat, ..)` returned `outcome` for.
    pub fn new(
        lsp: PublicKey,
        offer: &FeeOffer,
        payment_size_msat: Option<Msat>,
        outcome: &BuyOutcome,
    ) -> Self {
        Self {
            lsp,
            params: offer.params.clone(),
            payment_size_msat,
            buy: outcome.result.clone(),
        }
    }
}
