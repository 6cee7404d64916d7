//! Typed errors of the client, including every client-side MUST of bLIP-50/51/52.

use std::time::Duration;

use lsps_core::jsonrpc::{ErrorObject, Method, code};
use lsps_core::lsps1::{OptionMismatch, OrderError};
use lsps_core::lsps2::{FeeOverflow, MenuError, PromiseFormatError};
use lsps_core::types::{Datetime, Msat};
use serde_json::Value;

use crate::transport::TransportError;

/// A JSON-RPC error the LSP returned, with `message` sanitised (LSPS0: clients MUST sanitise
/// it; NUL, `<`, newlines and other control characters are replaced by `?`).
#[derive(Clone, Debug, PartialEq)]
pub struct LspError {
    /// The error code.
    pub code: i32,
    /// The sanitised message.
    pub message: String,
    /// `data` exactly as received.
    pub data: Option<Value>,
}

impl LspError {
    /// Wraps an error object, sanitising its message.
    pub fn from_object(error: ErrorObject) -> Self {
        Self {
            code: error.code,
            message: sanitize(&error.message),
            data: error.data,
        }
    }

    /// The spec name of the code; unknown codes read as `unrecognized` (LSPS0 SHOULD), and
    /// -32000..-32099 as `internal_error` (LSPS0: treat like -32603).
    pub fn code_name(&self) -> &'static str {
        match code::name(self.code) {
            Some(name) => name,
            None if (-32099..=-32000).contains(&self.code) => "internal_error",
            None => "unrecognized",
        }
    }
}

impl std::fmt::Display for LspError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.code_name(), self.message)?;
        if let Some(data) = &self.data {
            write!(f, " data={data}")?;
        }
        Ok(())
    }
}

/// Replaces NUL, `<`, newlines and other control characters (LSPS0 error display rule).
pub fn sanitize(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() || c == '<' { '?' } else { c })
        .collect()
}

/// Everything a client call can fail with. The check variants are raised *before* anything
/// is bought or paid.
///
/// Errors are named after what happened and nested by kind: everything a client-side spec
/// check refuses is one [`ClientError::Check`] holding a [`CheckFailure`], so
/// [`ClientError::is_check_failure`] needs no hand-kept list.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No reply within the per-request timeout (LSPS0: a temporary server failure; the id
    /// is forgotten).
    #[error("{method}: no reply within {after:?}")]
    Timeout {
        /// The method called.
        method: Method,
        /// The timeout.
        after: Duration,
    },
    /// The connection closed before the reply arrived.
    #[error("{method}: connection closed before the reply")]
    Disconnected {
        /// The method called.
        method: Method,
    },
    /// The LSP answered with a JSON-RPC error.
    #[error("{method}: LSP error {error}")]
    Lsp {
        /// The method called.
        method: Method,
        /// The error.
        error: LspError,
    },
    /// LSPS0 (SHOULD): after a bad message from the peer, stop sending on this connection.
    #[error("not sending: the LSP sent a bad message on this connection ({0}); reconnect first")]
    StoppedAfterBadMessage(String),
    /// A client-side check of bLIP-50/51/52 refused the reply or the request, before anything
    /// was bought or paid.
    #[error(transparent)]
    Check(#[from] CheckFailure),
    /// The local clock is outside the LSPS datetime range, so expiry cannot be checked.
    #[error("the local clock is not between 1970 and 9999")]
    Clock,
}

/// A client-side spec check that failed (bLIP-50/51/52 client MUSTs, and the caller's limits).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckFailure {
    /// A message carrying our request's id that is not a valid JSON-RPC response (LSPS0 bad
    /// message format, or not a response).
    #[error("{method}: reply is not a JSON-RPC 2.0 response: {reason}")]
    BadReply {
        /// The method called.
        method: Method,
        /// What is wrong with it.
        reason: String,
    },
    /// The result does not have the method's result type.
    #[error("{method}: invalid result at `{property}`: {message}")]
    InvalidResult {
        /// The method called.
        method: Method,
        /// Dotted path of the offending field.
        property: String,
        /// What rule it breaks.
        message: String,
    },
    /// LSPS2: `opening_fee_params` has a field that is not one of the eight (client MUST abort).
    #[error(
        "lsps2: unknown field `{property}` in opening_fee_params; aborting as bLIP-52 requires"
    )]
    UnknownFeeParamsField {
        /// Dotted path of the unknown field.
        property: String,
    },
    /// LSPS2: the menu is not in the required order.
    #[error("lsps2: {0}")]
    MenuOrder(MenuError),
    /// LSPS2: a promise breaks the format rules (> 512 bytes: client MUST abort).
    #[error("lsps2: opening_fee_params_menu.{index}.promise: {error}")]
    Promise {
        /// Menu index (0 for a single entry passed to `buy`).
        index: usize,
        /// The rule.
        error: PromiseFormatError,
    },
    /// LSPS2: the chosen offer's `valid_until` is not in the future.
    #[error("lsps2: offer expired at {valid_until} (now {now})")]
    OfferExpired {
        /// The offer's expiry.
        valid_until: Datetime,
        /// The client's clock.
        now: Datetime,
    },
    /// LSPS2: `payment_size_msat` outside `[min_payment_size_msat, max_payment_size_msat]`.
    #[error("lsps2: payment_size_msat {size} outside [{min}, {max}] of the chosen offer")]
    PaymentSizeOutOfRange {
        /// The requested size.
        size: Msat,
        /// `min_payment_size_msat`.
        min: Msat,
        /// `max_payment_size_msat`.
        max: Msat,
    },
    /// LSPS2: the opening fee computation overflows u64 (the flow MUST abort).
    #[error("lsps2: {0}")]
    FeeOverflow(FeeOverflow),
    /// LSPS2: the opening fee is not below the payment size (nothing would reach the client).
    #[error("lsps2: opening fee {fee} msat is not below payment_size_msat {size}")]
    FeeNotBelowPaymentSize {
        /// The opening fee.
        fee: Msat,
        /// The payment size.
        size: Msat,
    },
    /// The (least possible) opening fee exceeds the caller's limit.
    #[error("lsps2: opening fee {fee} msat above the limit of {limit} msat")]
    FeeAboveLimit {
        /// The fee (`min_fee_msat` when no payment size is given).
        fee: Msat,
        /// The caller's limit.
        limit: Msat,
    },
    /// LSPS2: `client_trusts_lsp` is true and the caller did not accept that trust model
    /// (bLIP-52: the client MUST trust the LSP or abort).
    #[error("lsps2: the LSP requires client_trusts_lsp; not accepted by the caller")]
    ClientTrustsLspRefused,
    /// LSPS1: the order object breaks a bLIP-51 rule (e.g. `order_total_sat ≠ fee_total_sat +
    /// client_balance_sat`) or does not mirror the request.
    #[error("lsps1: {0}")]
    Order(OrderError),
    /// LSPS1: the channel is larger than 16,777,215 sat and the LSP's `init` does not
    /// advertise `option_support_large_channel` (client MUST check before ordering).
    #[error(
        "lsps1: a {channel_sat} sat channel needs option_support_large_channel, which the LSP does not advertise"
    )]
    LargeChannelNotSupported {
        /// `lsp_balance_sat + client_balance_sat`.
        channel_sat: u64,
    },
    /// LSPS1: the order does not fit the LSP's `get_info` options (checked before sending).
    #[error("lsps1: order outside the LSP's options: {}: {}", .0.property, .0.message)]
    OrderOutsideOptions(OptionMismatch),
    /// LSPS1: the `get_info` options break a bLIP-51 rule (e.g. min > max).
    #[error("lsps1: invalid get_info options: {}: {}", .0.property, .0.message)]
    InvalidOptions(OptionMismatch),
}

impl From<MenuError> for ClientError {
    fn from(e: MenuError) -> Self {
        ClientError::Check(CheckFailure::MenuOrder(e))
    }
}

impl From<FeeOverflow> for ClientError {
    fn from(e: FeeOverflow) -> Self {
        ClientError::Check(CheckFailure::FeeOverflow(e))
    }
}

impl From<OrderError> for ClientError {
    fn from(e: OrderError) -> Self {
        ClientError::Check(CheckFailure::Order(e))
    }
}

impl ClientError {
    /// True for the errors raised by a client-side spec check (as opposed to transport,
    /// timeout or LSP errors).
    pub fn is_check_failure(&self) -> bool {
        matches!(self, ClientError::Check(_))
    }

    /// The failed check, if this is one.
    pub fn check_failure(&self) -> Option<&CheckFailure> {
        match self {
            ClientError::Check(check) => Some(check),
            _ => None,
        }
    }
}
