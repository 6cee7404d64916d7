//! The LSP's side of one LSPS1 order, from `create_order` to `COMPLETED` or `FAILED`, as a
//! sans-IO state machine (quinn-proto's shape, like [`crate::lsps2::flow`]):
//! [`OrderFlow::handle`]`(event, now)` returns what to do, and the whole [`OrderFlow`] value is
//! what the store keeps. Every state change goes through [`OrderState::transition`] and
//! [`PaymentState::transition`] (the bLIP-51 tables).
//!
//! # Driving it
//!
//! Build it from the order as created ([`OrderTerms::from_order`]); feed it what the node
//! sees ([`OrderFlowEvent`]: held HTLCs of the order's invoice, outputs paying its address with
//! their confirmations, the best block, the client's connection, the channel's progress, the
//! refund transaction); call it with [`OrderFlowEvent::Timer`] at [`OrderFlow::next_timeout`];
//! perform the returned [`OrderFlowAction`]s in order, storing the flow first when the first
//! action is [`OrderFlowAction::Persist`]. The order object's `order_state`, each option's `state`
//! and `channel` are read from the flow ([`OrderFlow::order_state`],
//! [`OrderFlow::payment_state`], [`OrderFlow::channel`]).
//!
//! Repeated events are answered with no action; an event that cannot belong to the order is
//! an [`UnexpectedEvent`] and changes nothing.
//!
//! ```
//! use lsps_core::ids::ChannelId;
//! use lsps_core::lsps1::flow::{LightningOption, LightningTerms, OrderFlowAction, OrderTerms};
//! use lsps_core::lsps1::{
//!     OrderFlow, OrderFlowConfig, OrderFlowEvent, OrderState, PaymentKind, PaymentState,
//! };
//! use lsps_core::types::{Datetime, Sat};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = Datetime::from_unix_millis(1_700_000_000_000)?;
//! let terms = OrderTerms {
//!     client: "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619".parse()?,
//!     lsp_balance_sat: Sat(1_000_000),
//!     client_balance_sat: Sat(0),
//!     required_channel_confirmations: 0,
//!     funding_confirms_within_blocks: 6,
//!     channel_expiry_blocks: 144,
//!     announce_channel: false,
//!     bolt11: Some(LightningTerms {
//!         expires_at: now.checked_add_millis(3_600_000).ok_or("date")?,
//!         order_total_sat: Sat(10_000),
//!     }),
//!     bolt12: None,
//!     onchain: None,
//! };
//! let mut order = OrderFlow::new(terms, OrderFlowConfig::default());
//!
//! // The invoice's HTLCs are held: HOLD, and the channel is opened at once.
//! let held = OrderFlowEvent::HtlcsHeld {
//!     option: LightningOption::Bolt11,
//!     amount_msat: 10_000_000,
//!     claim_deadline: Some(900_000),
//! };
//! let actions = order.handle(held, now)?;
//! assert!(matches!(
//!     &actions[..],
//!     [OrderFlowAction::Persist, OrderFlowAction::OpenChannel(_)]
//! ));
//! assert_eq!(order.payment_state(PaymentKind::Bolt11), Some(PaymentState::Hold));
//!
//! // Funding published, then channel_ready: claim, PAID, COMPLETED with the channel object.
//! let channel_id = ChannelId([3; 32]);
//! let funding_outpoint = format!("{}:0", "ab".repeat(32)).parse()?;
//! let published = OrderFlowEvent::FundingPublished { attempt: 1, channel_id, funding_outpoint };
//! order.handle(published, now)?;
//! let actions = order.handle(OrderFlowEvent::ChannelReady { channel_id }, now)?;
//! assert_eq!(actions, [
//!     OrderFlowAction::Persist,
//!     OrderFlowAction::ClaimPayment { option: LightningOption::Bolt11 },
//! ]);
//! assert_eq!(order.order_state(), OrderState::Completed);
//! assert_eq!(order.channel().map(|c| c.funded_at), Some(now));
//! # Ok(())
//! # }
//! ```
//!
//! # From LDK 0.2.7 events and calls (the server's adapter)
//!
//! | node | flow |
//! |---|---|
//! | `Event::PaymentClaimable` for the order's invoice (or offer) | [`OrderFlowEvent::HtlcsHeld`] |
//! | `Event::HTLCHandlingFailed`, failure type `Receive` for its payment hash | [`OrderFlowEvent::HtlcsFailedByNode`] |
//! | the wallet's view of outputs to the order's address | [`OrderFlowEvent::OnchainOutput`] |
//! | a new best block | [`OrderFlowEvent::BestBlock`] |
//! | `Event::ChannelClosed` before `ChannelPending`: reason `DisconnectedPeer` / the client's error | [`OrderFlowEvent::DisconnectedBeforeFunding`] / [`OrderFlowEvent::ClientRejectedChannel`] |
//! | `Event::ChannelPending` (LDK broadcasts the funding at `funding_signed`) | [`OrderFlowEvent::FundingPublished`] |
//! | `Event::ChannelReady`; `Event::ChannelClosed` after `ChannelPending` | [`OrderFlowEvent::ChannelReady`]; [`OrderFlowEvent::ChannelClosed`] |
//! | [`OrderFlowAction::ClaimPayment`] / [`OrderFlowAction::FailPaymentBack`] | `claim_funds` / `fail_htlc_backwards` |
//! | [`OrderFlowAction::RefundOnchain`], [`OrderFlowAction::BumpRefund`] | the wallet's send (then [`OrderFlowEvent::RefundSent`], [`OrderFlowEvent::RefundConfirmed`]) |
//!
//! # Path, and the bLIP-51 sentence each step follows
//!
//! 1. Payment. Lightning (bolt11/bolt12): the HTLCs are held, not claimed — option `HOLD`
//!    ("MUST set HOLD on arrival"; the invoice "MUST be a hold invoice"). On-chain: outputs to
//!    the address count once they have `min_onchain_payment_confirmations` ("SHOULD treat it as
//!    confirmed after that many confirmations"), at most 6 ("MUST treat it as confirmed after 6
//!    confirmations"), or 0 when the transaction's fee rate is at least `min_fee_for_0conf`
//!    ("SHOULD treat the payment as confirmed"); once they sum to `order_total_sat` the option
//!    is `PAID` ("MUST set PAID when confirmed").
//! 2. Open. With a payment secured (Lightning `HOLD` or on-chain `PAID`) and the client
//!    connected ("MUST wait for the client to be connected before attempting"), at once
//!    ("If required_channel_confirmations == 0, MUST attempt the open immediately after
//!    payment"): [`OpenChannel`] with `lsp_balance_sat` + `client_balance_sat` capacity,
//!    `client_balance_sat` pushed, `announce_channel` respected and the funding target
//!    ("MUST attempt the open respecting announce_channel, with capacity ≥ lsp_balance_sat +
//!    client_balance_sat, pushing client_balance_sat").
//! 3. Channel ready (after `required_channel_confirmations`, which the open asks for: "MUST
//!    send channel_ready once the funding tx has required_channel_confirmations"): the held
//!    payment is claimed, option `PAID` ("On a successful channel open, MUST release the
//!    preimage and set PAID"), the order `COMPLETED` with its `channel` ("On success, MUST set
//!    order_state = COMPLETED and fill in channel"): `funded_at` is when the funding was
//!    published, `expires_at` is `funded_at` + `channel_expiry_blocks` × 10 minutes.
//! 4. Failure, the order `FAILED` ("On failure, MUST set order_state = FAILED and refund"):
//!    the client rejects the open, the open fails, the channel closes before it is ready, the
//!    client stays away past [`OrderFlowConfig::client_offline_limit_ms`] or the paid option's
//!    `expires_at` passes before an open was started, or (Lightning) the best block comes
//!    within [`OrderFlowConfig::claim_margin_blocks`] of the HTLCs' claim deadline before the
//!    channel is ready ("On open failure, order expiry, or shortly before HTLC timeout, MUST
//!    reject (fail) the HTLC and set the failure state"). Lightning: the HTLCs are failed
//!    back, option `REFUNDED`. On-chain: one [`OrderFlowAction::RefundOnchain`] to
//!    `refund_onchain_address` ("MUST refund to refund_onchain_address"), option `REFUNDED`
//!    when it is sent, and [`OrderFlowAction::BumpRefund`] every
//!    [`OrderFlowConfig::refund_bump_after_ms`] (6 hours by default) while it is unconfirmed
//!    ("MUST fee-bump if the refund is unconfirmed after 6 hours").
//!
//! # Decisions where bLIP-51 is silent (spec/README D32)
//!
//! - Every offered option expires unpaid: the order is `FAILED`; the options keep
//!   `EXPECT_PAYMENT` (their `expires_at` tells).
//! - Two options paid: the first secured payment is the order's. A later Lightning payment is
//!   failed back at once (`HOLD` then `REFUNDED`); a later on-chain payment, once confirmed, is
//!   refunded (the option's one refund).
//! - A Lightning payment after its option expired, or to a finished order, is failed back.
//! - On-chain under-payment waits for more (outputs add up) until the option expires, then
//!   everything received is refunded (the option stays `EXPECT_PAYMENT`: bLIP-51 has no move
//!   to `REFUNDED` from there); over-payment completes the order and its excess is refunded
//!   (the option stays `PAID`); amounts below [`MIN_REFUND_SAT`] are not refunded (D34). A
//!   refund of an order's payment returns everything the address received and counted.
//!   Outputs counted after the refund was requested are not refunded by the flow
//!   ([`OrderFlow::unrefunded_sat`] shows them to the operator).
//! - Confirmations of an output only grow: a reorg does not undo `PAID` (bLIP-51 has no
//!   state for it).
//! - A client that disconnects before the funding is published ends that attempt; the open
//!   is retried when it reconnects, at most [`OrderFlowConfig::max_open_attempts`] times.

use serde::{Deserialize, Serialize};

use super::state::{IllegalTransition, OrderEvent as OrderMove, PaymentEvent, PaymentKind};
use super::{ChannelInfo, OrderState, PaymentState};
use crate::ids::ChannelId;
use crate::types::{Datetime, FeeRate, Outpoint, Sat, Txid};

mod events;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
mod transitions;

pub use events::{
    ALWAYS_CONFIRMED_AFTER, BLOCK_INTERVAL_MS, LightningOption, LightningTerms, OnchainTerms,
    OpenChannel, OrderFlowAction, OrderFlowConfig, OrderFlowEvent, OrderTerms, OrderTermsError,
    REFUND_BUMP_AFTER_MS,
};

/// An event that cannot belong to this order, or a move the bLIP-51 tables forbid; the flow
/// is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnexpectedEvent {
    /// The event does not fit the order.
    #[error("unexpected order event in state {state}: {reason}")]
    DoesNotFit {
        /// The order state.
        state: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A state table refused the move.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LightningProgress {
    state: PaymentState,
    held_msat: u64,
    claim_deadline: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SeenOutput {
    outpoint: Outpoint,
    amount_sat: Sat,
    confirmations: u32,
    fee_rate: Option<FeeRate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refund", rename_all = "snake_case")]
enum Refund {
    None,
    Requested {
        amount_sat: Sat,
    },
    Sent {
        txid: Txid,
        sent_at: Datetime,
        amount_sat: Sat,
    },
    Confirmed {
        txid: Txid,
        amount_sat: Sat,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct OnchainProgress {
    state: PaymentState,
    outputs: Vec<SeenOutput>,
    refund: Refund,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Securer {
    Lightning(LightningOption),
    Onchain,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ChannelProgress {
    attempt: u32,
    channel_id: Option<ChannelId>,
    funding_outpoint: Option<Outpoint>,
    funded_at: Option<Datetime>,
    ready: bool,
}

/// The open attempt of an order as [`OrderFlow::channel_attempt`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelAttempt {
    /// 1 for the first open, counting up.
    pub attempt: u32,
    /// The channel, once its funding was published.
    pub channel_id: Option<ChannelId>,
    /// Its funding outpoint, once published.
    pub funding_outpoint: Option<Outpoint>,
    /// `channel_ready` was reported.
    pub ready: bool,
}

/// An on-chain refund as [`OrderFlow::refund`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Decided, not yet sent.
    Requested {
        /// What the address received and counted.
        amount_sat: Sat,
    },
    /// Broadcast (the latest replacement).
    Sent {
        /// Its txid.
        txid: Txid,
        /// What it returns (before its fee).
        amount_sat: Sat,
    },
    /// Confirmed.
    Confirmed {
        /// Its txid.
        txid: Txid,
        /// What it returned (before its fee).
        amount_sat: Sat,
    },
}

/// On-chain amounts below this are not refunded (an under-payment or an over-payment's
/// excess): the refund's own fee would take most of it (D34).
pub const MIN_REFUND_SAT: u64 = 1_000;

/// The most outputs to the order's address the flow records; more are ignored (and do not
/// count toward the payment).
pub const MAX_ONCHAIN_OUTPUTS: usize = 32;

/// One order: what was offered, every payment seen, the channel, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFlow {
    terms: OrderTerms,
    config: OrderFlowConfig,
    order_state: OrderState,
    bolt11: Option<LightningProgress>,
    bolt12: Option<LightningProgress>,
    onchain: Option<OnchainProgress>,
    secured: Option<(Securer, Datetime)>,
    client_connected: bool,
    channel: Option<ChannelProgress>,
    open_attempts: u32,
    best_height: Option<u32>,
    channel_info: Option<ChannelInfo>,
}

impl OrderFlow {
    /// A flow for a new order; the client is connected (it just ordered).
    pub fn new(terms: OrderTerms, config: OrderFlowConfig) -> Self {
        let lightning = |t: &Option<LightningTerms>| {
            t.as_ref().map(|_| LightningProgress {
                state: PaymentState::ExpectPayment,
                held_msat: 0,
                claim_deadline: None,
            })
        };
        Self {
            bolt11: lightning(&terms.bolt11),
            bolt12: lightning(&terms.bolt12),
            onchain: terms.onchain.as_ref().map(|_| OnchainProgress {
                state: PaymentState::ExpectPayment,
                outputs: Vec::new(),
                refund: Refund::None,
            }),
            terms,
            config,
            order_state: OrderState::Created,
            secured: None,
            client_connected: true,
            channel: None,
            open_attempts: 0,
            best_height: None,
            channel_info: None,
        }
    }

    /// `order_state`.
    pub fn order_state(&self) -> OrderState {
        self.order_state
    }

    /// The `state` of an option, if offered.
    pub fn payment_state(&self, kind: PaymentKind) -> Option<PaymentState> {
        match kind {
            PaymentKind::Bolt11 => self.bolt11.as_ref().map(|l| l.state),
            PaymentKind::Bolt12 => self.bolt12.as_ref().map(|l| l.state),
            PaymentKind::Onchain => self.onchain.as_ref().map(|o| o.state),
        }
    }

    /// The `channel` object: `None` until the order is `COMPLETED`.
    pub fn channel(&self) -> Option<&ChannelInfo> {
        self.channel_info.as_ref()
    }

    /// What was ordered.
    pub fn terms(&self) -> &OrderTerms {
        &self.terms
    }

    /// The settings the flow runs with.
    pub fn config(&self) -> &OrderFlowConfig {
        &self.config
    }

    /// The open attempt in flight or done, if any: what the adapter matches the node's channel
    /// events against (and reconciles after a restart).
    pub fn channel_attempt(&self) -> Option<ChannelAttempt> {
        self.channel.as_ref().map(|c| ChannelAttempt {
            attempt: c.attempt,
            channel_id: c.channel_id,
            funding_outpoint: c.funding_outpoint,
            ready: c.ready,
        })
    }

    /// Opens started so far (attempts are numbered 1..=this).
    pub fn open_attempts(&self) -> u32 {
        self.open_attempts
    }

    /// The Lightning option whose held payment is the order's, if one is.
    pub fn secured_by_lightning(&self) -> Option<LightningOption> {
        match self.secured {
            Some((Securer::Lightning(option), _)) => Some(option),
            _ => None,
        }
    }

    /// Whether the order's payment is the on-chain one.
    pub fn secured_onchain(&self) -> bool {
        matches!(self.secured, Some((Securer::Onchain, _)))
    }

    /// The on-chain refund as it stands: `None` before one is requested.
    pub fn refund(&self) -> Option<RefundStatus> {
        match &self.onchain.as_ref()?.refund {
            Refund::None => None,
            Refund::Requested { amount_sat } => Some(RefundStatus::Requested {
                amount_sat: *amount_sat,
            }),
            Refund::Sent {
                txid, amount_sat, ..
            } => Some(RefundStatus::Sent {
                txid: *txid,
                amount_sat: *amount_sat,
            }),
            Refund::Confirmed { txid, amount_sat } => Some(RefundStatus::Confirmed {
                txid: *txid,
                amount_sat: *amount_sat,
            }),
        }
    }

    /// Whether the flow still waits on something (a payment, the channel, a refund to send
    /// or to confirm).
    pub fn is_live(&self) -> bool {
        self.order_state == OrderState::Created
            || matches!(
                self.refund(),
                Some(RefundStatus::Requested { .. } | RefundStatus::Sent { .. })
            )
    }

    /// Whether a finished order's on-chain option could still be paid (late): such a payment
    /// is refunded (D32), so an adapter keeps watching the address for a while.
    pub fn watches_late_onchain(&self) -> bool {
        self.order_state != OrderState::Created
            && self
                .onchain
                .as_ref()
                .is_some_and(|o| o.state == PaymentState::ExpectPayment)
    }

    /// Counted on-chain value not covered by the refund (or by the order): arrived after the
    /// refund was requested. Zero in the usual case; the operator's to return.
    pub fn unrefunded_sat(&self) -> Sat {
        let Some(o) = &self.onchain else {
            return Sat(0);
        };
        let counted = self.counted_sat();
        let refunded = match &o.refund {
            Refund::None => return Sat(0),
            Refund::Requested { amount_sat }
            | Refund::Sent { amount_sat, .. }
            | Refund::Confirmed { amount_sat, .. } => amount_sat.get(),
        };
        let kept = match (&self.terms.onchain, self.keeps_onchain()) {
            (Some(t), true) => t.order_total_sat.get(),
            _ => 0,
        };
        Sat(counted.saturating_sub(refunded).saturating_sub(kept))
    }

    /// When [`OrderFlowEvent::Timer`] should next be delivered, if anything waits on time.
    pub fn next_timeout(&self) -> Option<Datetime> {
        let mut next: Option<Datetime> = None;
        let mut consider = |t: Datetime| next = Some(next.map_or(t, |n| n.min(t)));
        if self.order_state == OrderState::Created {
            match self.secured {
                None => {
                    if let Some(t) = self.last_expiry() {
                        consider(t);
                    }
                }
                Some((by, at)) if self.channel.is_none() => {
                    consider(add_ms(at, self.config.client_offline_limit_ms));
                    consider(self.expiry_of(by));
                }
                Some(_) => {}
            }
        }
        if let Some(OnchainProgress {
            refund: Refund::Sent { sent_at, .. },
            ..
        }) = &self.onchain
        {
            consider(add_ms(*sent_at, self.config.refund_bump_after_ms));
        }
        next
    }

    /// Applies `event` at `now` and returns what to do. On error the flow is unchanged.
    pub fn handle(
        &mut self,
        event: OrderFlowEvent,
        now: Datetime,
    ) -> Result<Vec<OrderFlowAction>, UnexpectedEvent> {
        let mut next = self.clone();
        let mut actions = Vec::new();
        next.apply(event, now, &mut actions)?;
        next.decide(now, &mut actions)?;
        if next != *self {
            actions.insert(0, OrderFlowAction::Persist);
        }
        *self = next;
        Ok(actions)
    }

    fn unexpected(&self, reason: &'static str) -> UnexpectedEvent {
        UnexpectedEvent::DoesNotFit {
            state: self.order_state.name(),
            reason,
        }
    }

    fn lightning_mut(&mut self, option: LightningOption) -> Option<&mut LightningProgress> {
        match option {
            LightningOption::Bolt11 => self.bolt11.as_mut(),
            LightningOption::Bolt12 => self.bolt12.as_mut(),
        }
    }

    fn lightning_terms(&self, option: LightningOption) -> Option<&LightningTerms> {
        match option {
            LightningOption::Bolt11 => self.terms.bolt11.as_ref(),
            LightningOption::Bolt12 => self.terms.bolt12.as_ref(),
        }
    }

    fn expiry_of(&self, by: Securer) -> Datetime {
        match by {
            Securer::Lightning(o) => self.lightning_terms(o).map(|t| t.expires_at),
            Securer::Onchain => self.terms.onchain.as_ref().map(|t| t.expires_at),
        }
        .unwrap_or(Datetime::UNIX_EPOCH)
    }

    /// The latest `expires_at` of the offered options.
    fn last_expiry(&self) -> Option<Datetime> {
        [
            self.terms.bolt11.as_ref().map(|t| t.expires_at),
            self.terms.bolt12.as_ref().map(|t| t.expires_at),
            self.terms.onchain.as_ref().map(|t| t.expires_at),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    fn move_order(&mut self, m: OrderMove) -> Result<(), UnexpectedEvent> {
        self.order_state = self.order_state.transition(m)?;
        Ok(())
    }

    fn move_lightning(
        &mut self,
        option: LightningOption,
        e: PaymentEvent,
    ) -> Result<(), UnexpectedEvent> {
        let Some(l) = self.lightning_mut(option) else {
            return Err(UnexpectedEvent::DoesNotFit {
                state: "-",
                reason: "option not offered",
            });
        };
        l.state = l.state.transition(option.kind(), e)?;
        Ok(())
    }

    fn move_onchain(&mut self, e: PaymentEvent) -> Result<(), UnexpectedEvent> {
        if let Some(o) = &mut self.onchain {
            o.state = o.state.transition(PaymentKind::Onchain, e)?;
        }
        Ok(())
    }
}

fn add_ms(t: Datetime, ms: u64) -> Datetime {
    t.checked_add_millis(ms).unwrap_or(Datetime::MAX)
}
