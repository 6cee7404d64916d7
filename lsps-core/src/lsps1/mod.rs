//! LSPS1 (bLIP-51): buying a channel from the LSP.
//!
//! Flow: `lsps1.get_info` → `lsps1.create_order` → pay one option of `payment`
//! (`bolt11`, `bolt12` or `onchain`) → poll `lsps1.get_order` until `order_state` is
//! `COMPLETED` (channel funded) or `FAILED` (refunded). The LSP's side of an order after it
//! is created is [`OrderFlow`] ([`flow`]).

mod check;
pub mod flow;
mod msgs;
mod state;

pub use check::OrderError;
pub use flow::{OrderFlow, OrderFlowAction, OrderFlowConfig, OrderFlowEvent, OrderTerms};
pub use msgs::{
    Bolt11PaymentInfo, Bolt12PaymentInfo, ChannelInfo, CreateOrderRequest, GetInfoRequest,
    GetInfoResult, GetOrderRequest, NULL_ONCHAIN_CONFIRMATIONS, OnchainPaymentInfo, OptionMismatch,
    OrderId, OrderIdError, OrderParams, OrderResult, OrderState, PaymentInfo, PaymentState,
};
pub use state::{IllegalTransition, OrderEvent, PaymentEvent, PaymentKind};

/// Maximum length of `bolt11.invoice` and `bolt12.offer` (bLIP-51).
pub const MAX_PAYMENT_STRING_CHARS: usize = 2048;
