//! What a write needs from the Lightning node, as data: a [`NodeWork`] list that a pure `plan`
//! produces, the [`NodeResources`] the dispatcher obtains for it (each resource once per
//! accepted request), and the [`NodeOps`] trait the dispatcher calls. The handlers never call
//! the node themselves — this is lightning-liquidity's event round trip
//! (`BuyRequest` → `invoice_parameters_generated`) done in-process.

use lsps_core::types::Scid;

/// Node operations the dispatcher performs on behalf of the handlers.
pub trait NodeOps: Send + Sync {
    /// A fresh intercept SCID (LDK `get_intercept_scid`), u64 form.
    fn intercept_scid(&self) -> u64;
    /// A BOLT11 invoice for `amount_msat`, expiring after `expiry_secs`.
    fn bolt11_invoice(&self, request: &InvoiceRequest) -> Result<String, NodeError>;
    /// A fresh on-chain receive address, if the node has a wallet.
    fn onchain_address(&self) -> Result<String, NodeError>;
    /// Inbound liquidity from the network toward this node, msat (LSPS2 203 check).
    fn inbound_liquidity_msat(&self) -> u64;
    /// The largest channel the on-chain wallet can fund now, sat (LSPS2: never sell a JIT
    /// channel the wallet cannot open).
    fn fundable_channel_sat(&self) -> u64;
}

/// Why the node could not provide a resource.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// LDK refused to create the invoice.
    #[error("creating the invoice: {0}")]
    Invoice(String),
    /// The node has no on-chain wallet.
    #[error("the node has no on-chain wallet")]
    NoWallet,
    /// The wallet could not reveal or persist a new address.
    #[error("revealing an address: {0}")]
    Wallet(String),
}

/// The BOLT11 invoice a write needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRequest {
    /// Amount, msat.
    pub amount_msat: u64,
    /// Description (does not name ids that a retry may change).
    pub description: String,
    /// Expiry, seconds.
    pub expiry_secs: u32,
    /// The invoice's `min_final_cltv_expiry_delta` (the node's minimum when `None`): how long
    /// a held payment can wait for its claim.
    pub min_final_cltv_expiry_delta: Option<u16>,
}

/// The node work one planned write needs; the dispatcher performs each item once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeWork {
    /// A BOLT11 invoice.
    pub invoice: Option<InvoiceRequest>,
    /// A fresh on-chain address.
    pub onchain_address: bool,
    /// An intercept SCID unused by every live and pending buy.
    pub intercept_scid: bool,
    /// The node's inbound liquidity (the LSPS2 203 check).
    pub inbound_liquidity: bool,
    /// The largest channel the wallet can fund (every `lsps2.buy`).
    pub fundable_channel: bool,
}

/// What the dispatcher obtained for a [`NodeWork`]; handed to `complete` and recorded, so a
/// retry of the same request reuses it instead of asking the node again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeResources {
    /// The invoice, if one was asked for.
    pub invoice: Option<String>,
    /// The on-chain address, if one was asked for and the node has a wallet.
    pub onchain_address: Option<String>,
    /// The intercept SCID, if one was asked for.
    pub intercept_scid: Option<Scid>,
    /// Inbound liquidity, msat, if asked for.
    pub inbound_liquidity_msat: Option<u64>,
    /// The largest fundable channel, sat, if asked for.
    pub fundable_channel_sat: Option<u64>,
}
