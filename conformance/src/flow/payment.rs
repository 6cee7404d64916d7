//! Payments the runner controls: explicit routes payer → LSP → `jit_channel_scid` (so a
//! multi-part payment can be split, or sent one part short), and what the payer saw when a
//! payment failed.
//!
//! LDK 0.2.7 shows a payer no BOLT4 failure code, only the network update derived from it: a
//! permanent channel failure at the blamed SCID for a PERM code such as `unknown_next_peer`
//! (`PERM|10`), a temporary one for `temporary_channel_failure` (`UPDATE|7`). So the runner
//! can tell "a PERM code" from "a temporary code", which is exactly the distinction bLIP-52
//! draws between the two failures it names.

use bitcoin::hashes::Hash as _;
use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::ln::channelmanager::RecipientOnionFields;
use lightning::routing::router::{Path, Route, RouteHop};
use lightning::types::features::{ChannelFeatures, NodeFeatures};
use lightning::types::payment::PaymentHash;
use lsps_node::payments::{FailureUpdate, PaymentOutcome};
use std::time::Duration;

use super::FlowEnv;
use crate::ctx::Abort;

/// The failure the payer saw, as far as LDK shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureSeen {
    /// A PERM failure blamed on `jit_channel_scid` (what `unknown_next_peer` from the LSP
    /// produces).
    PermanentAtJitScid,
    /// A temporary failure blamed on `jit_channel_scid` (what `temporary_channel_failure`
    /// produces).
    TemporaryAtJitScid,
    /// The final node (the wallet) failed the payment.
    ByWallet,
    /// Something else (another channel blamed, no update, a local send failure).
    Other,
}

impl FailureSeen {
    /// What it means, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            FailureSeen::PermanentAtJitScid => {
                "a PERM failure at jit_channel_scid (unknown_next_peer, 0x400a; LDK shows the payer no more than PERM)"
            }
            FailureSeen::TemporaryAtJitScid => {
                "a temporary failure at jit_channel_scid (temporary_channel_failure, 0x1007, or another non-PERM code)"
            }
            FailureSeen::ByWallet => "a failure from the wallet (the final node)",
            FailureSeen::Other => "a failure LDK did not attribute to jit_channel_scid",
        }
    }
}

/// Classifies the first path failure of `outcome` (`None`: the payment succeeded or no path
/// failure was reported).
pub fn failure_seen(outcome: &PaymentOutcome, jit_scid: u64) -> Option<FailureSeen> {
    let failure = outcome.path_failures().first()?;
    if failure.initial_send {
        return Some(FailureSeen::Other);
    }
    // LDK blames no channel when the recipient itself failed the payment.
    if failure.short_channel_id.is_none() {
        return Some(FailureSeen::ByWallet);
    }
    Some(match failure.update {
        Some(FailureUpdate::Channel {
            short_channel_id,
            permanent,
        }) if short_channel_id == jit_scid => {
            if permanent {
                FailureSeen::PermanentAtJitScid
            } else {
                FailureSeen::TemporaryAtJitScid
            }
        }
        _ => FailureSeen::Other,
    })
}

/// Judges the code of a failed payment against the one bLIP-52 asks for (`wanted`): that code
/// passes (`"{what} with <code>"`), the other code at `jit_channel_scid` is a violation of
/// `rule`, a failure the payer cannot attribute is advisory (LDK shows no more), and no path
/// failure at all a harness error.
pub fn judge_code(
    outcome: &PaymentOutcome,
    jit_scid: u64,
    wanted: FailureSeen,
    what: &str,
    rule: &str,
) -> Result<String, Abort> {
    match failure_seen(outcome, jit_scid) {
        Some(seen) if seen == wanted => Ok(format!("{what} with {}", seen.describe())),
        Some(seen @ (FailureSeen::PermanentAtJitScid | FailureSeen::TemporaryAtJitScid)) => Err(
            Abort::Violation(format!("{what} with {}: {rule}", seen.describe())),
        ),
        Some(other) => Err(Abort::Advisory(format!(
            "{what}, but the payer could not tell the code: {} (LDK's view: {:?})",
            other.describe(),
            outcome.path_failures()
        ))),
        None => Err(Abort::Error(format!(
            "{what} without a path failure: {outcome:?}"
        ))),
    }
}

/// One payment along explicit routes payer → LSP → `jit_channel_scid` → wallet, one path per
/// amount in `parts`, all in one go (same hash and secret); no retries.
pub async fn pay_parts(
    env: &FlowEnv,
    invoice: &Bolt11Invoice,
    lsp_cltv_expiry_delta: u32,
    jit_scid: u64,
    parts: &[u64],
    wait: Duration,
) -> Result<PaymentOutcome, Abort> {
    let first_hop = env
        .payer
        .usable_channels_to(&env.lsp)
        .into_iter()
        .max_by_key(|c| c.outbound_capacity_msat)
        .and_then(|c| c.get_outbound_payment_scid())
        .ok_or_else(|| Abort::Error("the payer has no usable channel to the LSP".into()))?;
    let mut final_features = NodeFeatures::empty();
    if parts.len() > 1 {
        final_features.set_basic_mpp_optional();
    }
    final_features.set_payment_secret_required();
    final_features.set_variable_length_onion_required();
    let final_cltv = u32::try_from(invoice.min_final_cltv_expiry_delta()).unwrap_or(u32::MAX);
    let payee = invoice.recover_payee_pub_key();
    let path = |amount: u64| Path {
        hops: vec![
            RouteHop {
                pubkey: env.lsp,
                node_features: NodeFeatures::empty(),
                short_channel_id: first_hop,
                channel_features: ChannelFeatures::empty(),
                // The route hint's fees are 0 (bLIP-52).
                fee_msat: 0,
                cltv_expiry_delta: lsp_cltv_expiry_delta,
                maybe_announced_channel: false,
            },
            RouteHop {
                pubkey: payee,
                node_features: final_features.clone(),
                short_channel_id: jit_scid,
                channel_features: ChannelFeatures::empty(),
                fee_msat: amount,
                cltv_expiry_delta: final_cltv,
                maybe_announced_channel: false,
            },
        ],
        blinded_tail: None,
    };
    let route = Route {
        paths: parts.iter().map(|a| path(*a)).collect(),
        route_params: None,
    };
    env.payer
        .node()
        .pay_route(
            route,
            PaymentHash(invoice.payment_hash().to_byte_array()),
            RecipientOnionFields::secret_only(*invoice.payment_secret()),
            wait,
        )
        .await
        .map_err(|e| match e {
            lsps_node::NodeError::PaymentTimeout(after) => Abort::Timeout(format!(
                "the payment had no outcome within {} s",
                after.as_secs()
            )),
            other => Abort::Error(format!("sending the payment: {other}")),
        })
}
