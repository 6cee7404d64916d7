//! What an order flow is told and what it answers: the LSP's settings, the order's terms,
//! the node's events and the actions.

use serde::{Deserialize, Serialize};

use crate::ids::ChannelId;
use crate::lsps1::{OrderResult, OrderState, PaymentKind, PaymentState};
use crate::types::{Datetime, FeeRate, NodeId, OnchainAddress, Outpoint, Sat, Txid};

/// bLIP-51's "MUST fee-bump if the refund is unconfirmed after 6 hours".
pub const REFUND_BUMP_AFTER_MS: u64 = 6 * 60 * 60 * 1000;

/// Minutes per block when turning `channel_expiry_blocks` into `channel.expires_at`.
pub const BLOCK_INTERVAL_MS: u64 = 10 * 60 * 1000;

/// bLIP-51's "MUST treat it as confirmed after 6 confirmations".
pub const ALWAYS_CONFIRMED_AFTER: u32 = 6;

/// The LSP's settings for orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFlowConfig {
    /// How long after the payment is secured the LSP waits for the client to connect before
    /// it fails the order (no open started).
    pub client_offline_limit_ms: u64,
    /// Fail held HTLCs back when the best block is this close to their claim deadline and
    /// the channel is not ready.
    pub claim_margin_blocks: u32,
    /// Opens attempted before the order fails (a client disconnecting before the funding is
    /// published ends an attempt).
    pub max_open_attempts: u32,
    /// How long a refund may stay unconfirmed before it is fee-bumped (again). Flows stored
    /// before this setting existed read [`REFUND_BUMP_AFTER_MS`].
    #[serde(default = "default_refund_bump_after_ms")]
    pub refund_bump_after_ms: u64,
}

fn default_refund_bump_after_ms() -> u64 {
    REFUND_BUMP_AFTER_MS
}

impl Default for OrderFlowConfig {
    fn default() -> Self {
        Self {
            client_offline_limit_ms: 60 * 60 * 1000,
            claim_margin_blocks: 6,
            max_open_attempts: 3,
            refund_bump_after_ms: REFUND_BUMP_AFTER_MS,
        }
    }
}

/// A Lightning option as offered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightningTerms {
    /// When the option expires.
    pub expires_at: Datetime,
    /// What must be paid.
    pub order_total_sat: Sat,
}

/// The on-chain option as offered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnchainTerms {
    /// When the option expires.
    pub expires_at: Datetime,
    /// What must be paid.
    pub order_total_sat: Sat,
    /// Confirmations before a payment counts.
    pub min_onchain_payment_confirmations: u16,
    /// With 0 confirmations: the fee rate at which an unconfirmed payment counts.
    pub min_fee_for_0conf: Option<FeeRate>,
    /// Where refunds go.
    pub refund_onchain_address: OnchainAddress,
}

/// What was ordered and offered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTerms {
    /// The client (the channel's counterparty).
    pub client: NodeId,
    /// `lsp_balance_sat`.
    pub lsp_balance_sat: Sat,
    /// `client_balance_sat` (pushed).
    pub client_balance_sat: Sat,
    /// `required_channel_confirmations`.
    pub required_channel_confirmations: u16,
    /// `funding_confirms_within_blocks`.
    pub funding_confirms_within_blocks: u16,
    /// `channel_expiry_blocks`.
    pub channel_expiry_blocks: u32,
    /// `announce_channel`.
    pub announce_channel: bool,
    /// `payment.bolt11`, if offered.
    pub bolt11: Option<LightningTerms>,
    /// `payment.bolt12`, if offered.
    pub bolt12: Option<LightningTerms>,
    /// `payment.onchain`, if offered.
    pub onchain: Option<OnchainTerms>,
}

/// Why an order cannot be driven by a flow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderTermsError {
    /// `payment.onchain` is offered but the order has no refund address.
    #[error("payment.onchain offered without a refund_onchain_address")]
    OnchainWithoutRefundAddress,
    /// The order is not new.
    #[error("the order is not in state CREATED with every option EXPECT_PAYMENT")]
    NotNew,
}

impl OrderTerms {
    /// The terms of a freshly created order for `client`. `refund_onchain_address` is the
    /// request's (the order object may omit its mirror).
    pub fn from_order(
        order: &OrderResult,
        client: NodeId,
        refund_onchain_address: Option<OnchainAddress>,
    ) -> Result<Self, OrderTermsError> {
        let p = &order.payment;
        let new = order.order_state == OrderState::Created
            && order.channel.is_none()
            && p.bolt11
                .iter()
                .all(|o| o.state == PaymentState::ExpectPayment)
            && p.bolt12
                .iter()
                .all(|o| o.state == PaymentState::ExpectPayment)
            && p.onchain
                .iter()
                .all(|o| o.state == PaymentState::ExpectPayment);
        if !new {
            return Err(OrderTermsError::NotNew);
        }
        let onchain = match &p.onchain {
            None => None,
            Some(o) => Some(OnchainTerms {
                expires_at: o.expires_at,
                order_total_sat: o.order_total_sat,
                min_onchain_payment_confirmations: o.min_onchain_payment_confirmations,
                min_fee_for_0conf: o.min_fee_for_0conf,
                refund_onchain_address: refund_onchain_address
                    .or_else(|| o.refund_onchain_address.clone())
                    .ok_or(OrderTermsError::OnchainWithoutRefundAddress)?,
            }),
        };
        let o = &order.order;
        Ok(Self {
            client,
            lsp_balance_sat: o.lsp_balance_sat,
            client_balance_sat: o.client_balance_sat,
            required_channel_confirmations: o.required_channel_confirmations,
            funding_confirms_within_blocks: o.funding_confirms_within_blocks,
            channel_expiry_blocks: o.channel_expiry_blocks,
            announce_channel: o.announce_channel,
            bolt11: p.bolt11.as_ref().map(|b| LightningTerms {
                expires_at: b.expires_at,
                order_total_sat: b.order_total_sat,
            }),
            bolt12: p.bolt12.as_ref().map(|b| LightningTerms {
                expires_at: b.expires_at,
                order_total_sat: b.order_total_sat,
            }),
            onchain,
        })
    }
}

/// A Lightning option: bolt11 or bolt12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LightningOption {
    /// `payment.bolt11`.
    Bolt11,
    /// `payment.bolt12`.
    Bolt12,
}

impl LightningOption {
    /// The option's kind in the state tables.
    pub const fn kind(self) -> PaymentKind {
        match self {
            LightningOption::Bolt11 => PaymentKind::Bolt11,
            LightningOption::Bolt12 => PaymentKind::Bolt12,
        }
    }
}

/// Something the node saw that concerns this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderFlowEvent {
    /// The HTLCs paying this option's invoice arrived and are held (the node's "payment
    /// claimable").
    HtlcsHeld {
        /// Which option.
        option: LightningOption,
        /// Their sum.
        amount_msat: u64,
        /// The block height by which they must be claimed, if the node says.
        claim_deadline: Option<u32>,
    },
    /// The node failed this option's held HTLCs back by itself.
    HtlcsFailedByNode {
        /// Which option.
        option: LightningOption,
    },
    /// An output paying the on-chain option's address, as the chain now shows it.
    OnchainOutput {
        /// The output.
        outpoint: Outpoint,
        /// Its value.
        amount_sat: Sat,
        /// Its confirmations (0 = in the mempool).
        confirmations: u32,
        /// Its transaction's fee rate, when known.
        fee_rate: Option<FeeRate>,
    },
    /// The best block's height.
    BestBlock {
        /// Height.
        height: u32,
    },
    /// Time passed.
    Timer,
    /// The client (re)connected.
    ClientConnected,
    /// The client disconnected. An open in flight is ended by
    /// [`OrderFlowEvent::DisconnectedBeforeFunding`], not by this.
    ClientDisconnected,
    /// The node dropped the unfunded channel of `attempt` because the client disconnected
    /// before the funding was signed. Deliver it in the node's event order.
    DisconnectedBeforeFunding {
        /// The attempt.
        attempt: u32,
    },
    /// The client refused the open.
    ClientRejectedChannel {
        /// The attempt.
        attempt: u32,
    },
    /// The LSP could not make the open.
    OpenFailed {
        /// The attempt.
        attempt: u32,
    },
    /// The funding transaction was published.
    FundingPublished {
        /// The attempt.
        attempt: u32,
        /// The channel.
        channel_id: ChannelId,
        /// Its funding outpoint.
        funding_outpoint: Outpoint,
    },
    /// `channel_ready` was exchanged (after `required_channel_confirmations`).
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The channel closed.
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The refund transaction was broadcast (or re-broadcast with a higher fee).
    RefundSent {
        /// Its txid.
        txid: Txid,
    },
    /// The refund transaction confirmed.
    RefundConfirmed {
        /// Its txid.
        txid: Txid,
    },
}

/// The channel to open for the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenChannel {
    /// The counterparty.
    pub client: NodeId,
    /// 1 for the first open, counting up; events name it back.
    pub attempt: u32,
    /// `lsp_balance_sat + client_balance_sat`.
    pub capacity_sat: Sat,
    /// `client_balance_sat`, pushed to the client.
    pub push_sat: Sat,
    /// `announce_channel`.
    pub announce: bool,
    /// `required_channel_confirmations` (0: usable at once).
    pub required_confirmations: u16,
    /// Fee the funding to confirm within this many blocks.
    pub funding_confirms_within_blocks: u16,
    /// Keep the channel open at least this long.
    pub channel_expiry_blocks: u32,
}

/// What the server does next, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OrderFlowAction {
    /// Store the flow value now, before performing the actions after this one.
    Persist,
    /// Open the channel.
    OpenChannel(OpenChannel),
    /// Claim this option's held HTLCs (release the preimage).
    ClaimPayment {
        /// Which option.
        option: LightningOption,
    },
    /// Fail this option's held HTLCs back.
    FailPaymentBack {
        /// Which option.
        option: LightningOption,
    },
    /// Send `amount_sat` minus the transaction's fee to `address`.
    RefundOnchain {
        /// `refund_onchain_address`.
        address: OnchainAddress,
        /// What the address received and counted.
        amount_sat: Sat,
    },
    /// Replace the refund with a higher fee (it is unconfirmed after 6 hours).
    BumpRefund {
        /// The unconfirmed refund.
        txid: Txid,
    },
}
