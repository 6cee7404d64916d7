//! What the service needs from the Lightning node, injected so handlers stay pure and tests use
//! fakes.

/// Node operations the LSPS handlers call.
pub trait NodeOps: Send + Sync {
    /// A fresh intercept SCID (LDK `get_intercept_scid`), u64 form.
    fn intercept_scid(&self) -> u64;
    /// A BOLT11 invoice for `amount_msat`, expiring after `expiry_secs`.
    fn bolt11_invoice(
        &self,
        amount_msat: u64,
        description: &str,
        expiry_secs: u32,
    ) -> Result<String, String>;
    /// A fresh on-chain receive address, if the node has a wallet.
    fn onchain_address(&self) -> Option<String>;
    /// Inbound liquidity from the network toward this node, msat (LSPS2 203 check).
    fn inbound_liquidity_msat(&self) -> u64;
}
