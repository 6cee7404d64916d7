//! The BOLT11 invoice bLIP-52 requires for a JIT purchase, and a check of any invoice against
//! those rules.

use std::time::Duration;

use bitcoin::hashes::Hash as _;
use bitcoin::hashes::sha256;
use bitcoin::secp256k1::PublicKey;
use lightning::bolt11_invoice::{
    Bolt11Invoice, Bolt11SemanticError, CreationError, Currency, InvoiceBuilder, RouteHint,
    RouteHintHop, RoutingFees,
};
use lightning::sign::{NodeSigner, Recipient};
use lightning::types::payment::{PaymentHash, PaymentSecret};

use super::JitPurchase;

/// What the wallet chooses for its invoice; the purchase fixes the rest.
#[derive(Clone, Debug)]
pub struct InvoiceTerms {
    /// From the wallet's node (LDK: `ChannelManager::create_inbound_payment`).
    pub payment_hash: PaymentHash,
    /// From the wallet's node, with the hash.
    pub payment_secret: PaymentSecret,
    /// The `d` field.
    pub description: String,
    /// The `min_final_cltv_expiry_delta` the wallet enforces on the HTLC (its normal value);
    /// the invoice advertises more (see [`advertised_min_final_cltv_expiry_delta`]).
    pub enforced_min_final_cltv_expiry_delta: u16,
    /// Confirmations of the funding the wallet waits for before releasing the preimage when it
    /// does not trust the LSP (bLIP-52 adds them to the margin). 0: claims at once.
    pub confirmations_before_claim: u16,
    /// Wanted expiry; shortened so that `timestamp + expiry ≤ valid_until`.
    pub expiry: Duration,
    /// The invoice timestamp (time since the Unix epoch; whole seconds are used).
    pub now: Duration,
    /// `lnbc`, `lntb`, `lnbcrt`, ...
    pub currency: Currency,
}

/// Why the invoice cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// `valid_until` leaves no whole second of validity after `now`.
    #[error(
        "the offer's valid_until {valid_until_secs} s is not after the invoice timestamp {now_secs} s"
    )]
    OfferExpired {
        /// `valid_until`, whole seconds since the epoch.
        valid_until_secs: u64,
        /// The invoice timestamp.
        now_secs: u64,
    },
    /// `lsp_cltv_expiry_delta` does not fit a route hint's 16-bit `cltv_expiry_delta`.
    #[error("lsp_cltv_expiry_delta {0} does not fit a BOLT11 route hint (max 65535)")]
    LspCltvDeltaTooLarge(u32),
    /// The advertised `min_final_cltv_expiry_delta` overflows 16 bits.
    #[error("min_final_cltv_expiry_delta {enforced} + margin {margin} does not fit 16 bits")]
    FinalCltvOverflow {
        /// The enforced value.
        enforced: u16,
        /// The margin bLIP-52 adds.
        margin: u32,
    },
    /// lightning-invoice refused a field.
    #[error("building the invoice: {0}")]
    Creation(CreationError),
    /// The node signer refused to sign.
    #[error("the node signer refused to sign the invoice")]
    Sign,
    /// The signed invoice is not a valid BOLT11 invoice.
    #[error("the signed invoice is invalid: {0}")]
    Semantic(Bolt11SemanticError),
}

/// The `min_final_cltv_expiry_delta` to advertise: the enforced value + 2, plus the
/// confirmations waited for when `client_trusts_lsp` is false (bLIP-52: the client enforces only
/// its normal value on the HTLC; the margin covers the LSP's hold).
pub fn advertised_min_final_cltv_expiry_delta(
    enforced: u16,
    confirmations_before_claim: u16,
    client_trusts_lsp: bool,
) -> Result<u16, InvoiceError> {
    let waited = if client_trusts_lsp {
        0
    } else {
        u32::from(confirmations_before_claim)
    };
    let margin = 2 + waited;
    u16::try_from(u32::from(enforced) + margin)
        .map_err(|_| InvoiceError::FinalCltvOverflow { enforced, margin })
}

/// The one route hint of a JIT invoice: LSP → `jit_channel_scid`, fees 0,
/// `cltv_expiry_delta = lsp_cltv_expiry_delta`.
pub fn jit_route_hint(purchase: &JitPurchase) -> Result<RouteHint, InvoiceError> {
    let delta = purchase.buy.lsp_cltv_expiry_delta;
    let cltv_expiry_delta =
        u16::try_from(delta).map_err(|_| InvoiceError::LspCltvDeltaTooLarge(delta))?;
    Ok(RouteHint(vec![RouteHintHop {
        src_node_id: purchase.lsp,
        short_channel_id: purchase.buy.jit_channel_scid.0,
        fees: RoutingFees {
            base_msat: 0,
            proportional_millionths: 0,
        },
        cltv_expiry_delta,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }]))
}

/// The invoice bLIP-52 requires for `purchase`, signed by `signer` (the wallet node's key,
/// which is also the `n` field). Fixed mode: amount = `payment_size_msat` and `basic_mpp`;
/// variable mode: no amount and no `basic_mpp`. Expiry ends no later than `valid_until`.
pub fn jit_invoice<S: NodeSigner + ?Sized>(
    purchase: &JitPurchase,
    terms: &InvoiceTerms,
    signer: &S,
) -> Result<Bolt11Invoice, InvoiceError> {
    let payee = signer
        .get_node_id(Recipient::Node)
        .map_err(|()| InvoiceError::Sign)?;
    let now_secs = terms.now.as_secs();
    let valid_until_secs = purchase.params.valid_until.unix_millis() / 1000;
    let remaining = valid_until_secs
        .checked_sub(now_secs)
        .filter(|s| *s > 0)
        .ok_or(InvoiceError::OfferExpired {
            valid_until_secs,
            now_secs,
        })?;
    let expiry = terms.expiry.min(Duration::from_secs(remaining));
    let final_cltv = advertised_min_final_cltv_expiry_delta(
        terms.enforced_min_final_cltv_expiry_delta,
        terms.confirmations_before_claim,
        purchase.buy.client_trusts_lsp,
    )?;
    let builder = InvoiceBuilder::new(terms.currency.clone())
        .description(terms.description.clone())
        .payment_hash(sha256::Hash::from_byte_array(terms.payment_hash.0))
        .payment_secret(terms.payment_secret)
        .duration_since_epoch(Duration::from_secs(now_secs))
        .min_final_cltv_expiry_delta(u64::from(final_cltv))
        .expiry_time(expiry)
        .payee_pub_key(payee)
        .private_route(jit_route_hint(purchase)?);
    let raw = match purchase.payment_size_msat {
        Some(size) => builder
            .amount_milli_satoshis(size.get())
            .basic_mpp()
            .build_raw(),
        None => builder.build_raw(),
    }
    .map_err(InvoiceError::Creation)?;
    let signature = signer
        .sign_invoice(&raw, Recipient::Node)
        .map_err(|()| InvoiceError::Sign)?;
    let signed = raw
        .sign::<_, ()>(|_| Ok(signature))
        .map_err(|()| InvoiceError::Sign)?;
    Bolt11Invoice::from_signed(signed).map_err(InvoiceError::Semantic)
}

/// A way an invoice breaks bLIP-52's rules for a purchase.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceFault {
    /// `timestamp + expiry` is after `valid_until`.
    #[error("timestamp + expiry ({expires_at_secs} s) is after valid_until ({valid_until_secs} s)")]
    ExpiresAfterValidUntil {
        /// `timestamp + expiry`.
        expires_at_secs: u64,
        /// `valid_until` in whole seconds.
        valid_until_secs: u64,
    },
    /// Not exactly one route hint with exactly one hop.
    #[error("expected exactly one route hint with one hop, found {0:?} hops per hint")]
    RouteHintShape(Vec<usize>),
    /// The hop is not LSP → `jit_channel_scid`, fees 0, `lsp_cltv_expiry_delta`.
    #[error(
        "route hint hop is not LSP -> jit_channel_scid with fees 0 and lsp_cltv_expiry_delta: {0}"
    )]
    RouteHintHop(String),
    /// Fixed mode needs amount = `payment_size_msat`; variable mode no amount.
    #[error("amount {found:?} msat, expected {expected:?}")]
    Amount {
        /// In the invoice.
        found: Option<u64>,
        /// For the mode.
        expected: Option<u64>,
    },
    /// `basic_mpp` must be set in fixed mode and unset in variable mode.
    #[error("basic_mpp is {}, the mode requires the opposite", if *.0 { "set" } else { "unset" })]
    Mpp(bool),
    /// `min_final_cltv_expiry_delta` below the enforced value + 2.
    #[error("min_final_cltv_expiry_delta {found} is below the required {required}")]
    FinalCltv {
        /// In the invoice.
        found: u64,
        /// Enforced + 2.
        required: u64,
    },
    /// The payee (`n` or the signing key) is not the client.
    #[error("the payee is {found}, not the client")]
    Payee {
        /// The invoice's payee.
        found: PublicKey,
    },
}

/// Checks `invoice` against bLIP-52's invoice rules for `purchase`, for a client `client`
/// that enforces `enforced_min_final_cltv_expiry_delta` on the HTLC. Returns every fault.
pub fn check_jit_invoice(
    invoice: &Bolt11Invoice,
    purchase: &JitPurchase,
    client: PublicKey,
    enforced_min_final_cltv_expiry_delta: u16,
) -> Vec<InvoiceFault> {
    let mut faults = Vec::new();
    let valid_until_secs = purchase.params.valid_until.unix_millis() / 1000;
    let expires_at_secs = invoice
        .duration_since_epoch()
        .saturating_add(invoice.expiry_time())
        .as_secs();
    if expires_at_secs > valid_until_secs {
        faults.push(InvoiceFault::ExpiresAfterValidUntil {
            expires_at_secs,
            valid_until_secs,
        });
    }
    let hints = invoice.route_hints();
    let shape: Vec<usize> = hints.iter().map(|h| h.0.len()).collect();
    if shape != [1] {
        faults.push(InvoiceFault::RouteHintShape(shape));
    } else if let Some(hop) = hints.first().and_then(|h| h.0.first()) {
        let expected_delta = u16::try_from(purchase.buy.lsp_cltv_expiry_delta).ok();
        if hop.src_node_id != purchase.lsp
            || hop.short_channel_id != purchase.buy.jit_channel_scid.0
            || hop.fees.base_msat != 0
            || hop.fees.proportional_millionths != 0
            || Some(hop.cltv_expiry_delta) != expected_delta
        {
            faults.push(InvoiceFault::RouteHintHop(format!(
                "{} scid {} fees {}/{} cltv {}",
                hop.src_node_id,
                hop.short_channel_id,
                hop.fees.base_msat,
                hop.fees.proportional_millionths,
                hop.cltv_expiry_delta
            )));
        }
    }
    let expected_amount = purchase.payment_size_msat.map(|s| s.get());
    if invoice.amount_milli_satoshis() != expected_amount {
        faults.push(InvoiceFault::Amount {
            found: invoice.amount_milli_satoshis(),
            expected: expected_amount,
        });
    }
    let mpp = invoice.features().is_some_and(|f| f.supports_basic_mpp());
    if mpp != purchase.payment_size_msat.is_some() {
        faults.push(InvoiceFault::Mpp(mpp));
    }
    let required = u64::from(enforced_min_final_cltv_expiry_delta) + 2;
    if invoice.min_final_cltv_expiry_delta() < required {
        faults.push(InvoiceFault::FinalCltv {
            found: invoice.min_final_cltv_expiry_delta(),
            required,
        });
    }
    let payee = invoice.get_payee_pub_key();
    if payee != client {
        faults.push(InvoiceFault::Payee { found: payee });
    }
    faults
}
