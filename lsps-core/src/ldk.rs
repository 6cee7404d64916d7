//! Conversions to and from lightning-liquidity 0.2.7 types (feature `ldk`).
//!
//! Every LSPS0/1/2 params and result type, the common types they use, request ids and
//! error objects convert in both directions. A conversion is `From` when every value of the
//! source type has an exact counterpart and `TryFrom` (with [`LdkConversionError`]) when it
//! does not. The mapping follows the wire: converting a value and serializing it with the
//! other library's serde gives JSON the first library reads back as the original value
//! (the differential tests in `tests/differential_ldk/` check this in both directions).
//!
//! Where the two libraries deliberately differ:
//!
//! - **`error.data`**: LDK's [`LSPSResponseError::data`] is a string; LSPS0 wants an object.
//!   Towards LDK, `{"message": s}` becomes `s` and any other object becomes its compact
//!   JSON text (so structure other than a lone message is flattened); from LDK, the string
//!   stays a string, which [`ErrorObject`] writes as `{"message": s}`. LDK writes an absent
//!   `data` as `null`; lsps-core omits it.
//! - **`token`**: LDK writes an absent `token` as `null`; lsps-core omits it in requests and
//!   writes `""` in an order, as bLIP-51 requires. An order's `token` of `None` converts to
//!   LDK's `Some("")`, and LDK's `Some("")` or `None` to `None`.
//! - **datetimes**: LDK keeps nanoseconds and writes 0, 3, 6 or 9 fractional digits;
//!   [`Datetime`] keeps milliseconds and always writes 3. From LDK, digits below the
//!   millisecond are dropped, as lsps-core's lenient reader does.
//! - **ranges LDK does not check**: SCID parts beyond 24/24/16 bits, an outpoint index above
//!   65535, `order_id` longer than 64 characters, non-SegWit addresses and pre-1970 dates
//!   are refused when converting from LDK.
//! - **what LDK cannot represent**: payment state `HOLD`, an on-chain option without
//!   `min_fee_for_0conf` (LDK requires one), and a fee rate above `u32::MAX` sat/kWU (LDK
//!   writes it truncated to 32 bits) are refused when converting to LDK. LDK's `None`
//!   `min_onchain_payment_confirmations` (JSON `null`) becomes
//!   [`lsps1::NULL_ONCHAIN_CONFIRMATIONS`], as lsps-core reads `null`.

use core::str::FromStr;
use core::time::Duration;

use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::offers::offer::Offer;
use lightning_liquidity::lsps0::msgs::{LSPS0ListProtocolsRequest, LSPS0ListProtocolsResponse};
use lightning_liquidity::lsps0::ser::{LSPSDateTime, LSPSRequestId, LSPSResponseError};
use lightning_liquidity::lsps1::msgs::{
    LSPS1Bolt11PaymentInfo, LSPS1Bolt12PaymentInfo, LSPS1ChannelInfo, LSPS1CreateOrderRequest,
    LSPS1CreateOrderResponse, LSPS1GetInfoRequest, LSPS1GetInfoResponse, LSPS1GetOrderRequest,
    LSPS1OnchainPaymentInfo, LSPS1Options, LSPS1OrderId, LSPS1OrderParams, LSPS1OrderState,
    LSPS1PaymentInfo, LSPS1PaymentState,
};
use lightning_liquidity::lsps2::msgs::{
    LSPS2BuyRequest, LSPS2BuyResponse, LSPS2GetInfoRequest, LSPS2GetInfoResponse,
    LSPS2InterceptScid, LSPS2OpeningFeeParams, LSPS2RawOpeningFeeParams,
};
use serde_json::{Map, Value};

use crate::jsonrpc::{ErrorObject, RequestId};
use crate::lsps0::{ListProtocolsRequest, ListProtocolsResult};
use crate::lsps1;
use crate::lsps2;
use crate::types::{
    AddressError, Datetime, DatetimeError, FeeRate, Msat, OnchainAddress, Outpoint, Ppm, Sat, Scid,
    ScidError, Txid,
};

/// Why a value has no exact counterpart in the other library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdkConversionError {
    /// LDK's datetime is before 1970, after 9999 or a leap second.
    #[error("{field}: {error}")]
    Datetime {
        /// The field that holds the datetime.
        field: &'static str,
        /// The rule it breaks.
        error: DatetimeError,
    },
    /// LDK's intercept SCID has a part beyond its bit width, or is not `BxTxO`.
    #[error("jit_channel_scid: {0}")]
    Scid(ScidError),
    /// LDK's `order_id` is empty or longer than 64 characters.
    #[error("order_id: {0}")]
    OrderId(lsps1::OrderIdError),
    /// LDK's address is not SegWit P2WPKH, P2WSH or P2TR.
    #[error("{field}: {error}")]
    Address {
        /// The field that holds the address.
        field: &'static str,
        /// The rule it breaks.
        error: AddressError,
    },
    /// LDK's funding outpoint has an output index above 65535 (LSPS0 allows 16 bits).
    #[error("funding_outpoint: output index {0} exceeds 65535")]
    OutputIndex(u32),
    /// A field one side requires is absent on the other.
    #[error("{0}: required by the target type but absent")]
    Missing(&'static str),
    /// LSPS1 payment state `HOLD` does not exist in lightning-liquidity 0.2.7.
    #[error("payment state HOLD has no lightning-liquidity 0.2.7 counterpart")]
    HoldState,
    /// `bolt11.invoice` is not a BOLT11 invoice LDK can parse.
    #[error("bolt11.invoice: not a valid BOLT11 invoice: {0}")]
    Invoice(String),
    /// `bolt12.offer` is not a BOLT12 offer LDK can parse.
    #[error("bolt12.offer: not a valid BOLT12 offer")]
    Offer,
    /// `min_fee_for_0conf` exceeds `u32::MAX` sat/kWU, which LDK writes truncated.
    #[error("min_fee_for_0conf: {0} sat/kWU exceeds the 32 bits LDK writes")]
    FeeRateTooLarge(u64),
}

// ---------------------------------------------------------------------------------------
// Common types
// ---------------------------------------------------------------------------------------

impl From<RequestId> for LSPSRequestId {
    fn from(id: RequestId) -> Self {
        LSPSRequestId(id.0)
    }
}

impl From<LSPSRequestId> for RequestId {
    fn from(id: LSPSRequestId) -> Self {
        RequestId(id.0)
    }
}

impl From<Datetime> for LSPSDateTime {
    fn from(d: Datetime) -> Self {
        LSPSDateTime::new_from_duration_since_epoch(Duration::from_millis(d.unix_millis()))
    }
}

impl TryFrom<LSPSDateTime> for Datetime {
    type Error = DatetimeError;
    /// Drops digits below the millisecond, as [`crate::types::DatetimeMode::Lenient`] does.
    fn try_from(d: LSPSDateTime) -> Result<Self, DatetimeError> {
        if d.0.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(DatetimeError::LeapSecond);
        }
        let millis =
            u64::try_from(d.0.timestamp_millis()).map_err(|_| DatetimeError::BeforeUnixEpoch)?;
        Datetime::from_unix_millis(millis)
    }
}

fn datetime_from_ldk(field: &'static str, d: LSPSDateTime) -> Result<Datetime, LdkConversionError> {
    Datetime::try_from(d).map_err(|error| LdkConversionError::Datetime { field, error })
}

impl From<Scid> for LSPS2InterceptScid {
    fn from(scid: Scid) -> Self {
        LSPS2InterceptScid::from(scid.get())
    }
}

impl TryFrom<&LSPS2InterceptScid> for Scid {
    type Error = ScidError;
    /// Reads LDK's text with lsps-core's bounds; LDK's own `to_scid` shifts out-of-range
    /// parts into neighbouring bits without an error.
    fn try_from(scid: &LSPS2InterceptScid) -> Result<Self, ScidError> {
        // The text is private; serde is its only accessor. It serializes as a JSON string.
        match serde_json::to_value(scid) {
            Ok(Value::String(s)) => s.parse(),
            _ => Err(ScidError::Format),
        }
    }
}

impl TryFrom<LSPS2InterceptScid> for Scid {
    type Error = ScidError;
    fn try_from(scid: LSPS2InterceptScid) -> Result<Self, ScidError> {
        Scid::try_from(&scid)
    }
}

fn address_from_ldk(
    field: &'static str,
    a: bitcoin::Address,
) -> Result<OnchainAddress, LdkConversionError> {
    OnchainAddress::try_from(a).map_err(|error| LdkConversionError::Address { field, error })
}

/// LDK keeps addresses network-checked by assumption (it never checks the network either).
fn address_to_ldk(a: &OnchainAddress) -> bitcoin::Address {
    a.as_unchecked().clone().assume_checked()
}

fn outpoint_from_ldk(o: bitcoin::OutPoint) -> Result<Outpoint, LdkConversionError> {
    let vout = u16::try_from(o.vout).map_err(|_| LdkConversionError::OutputIndex(o.vout))?;
    Ok(Outpoint {
        txid: Txid(o.txid),
        vout,
    })
}

fn fee_rate_to_ldk(rate: FeeRate) -> Result<bitcoin::FeeRate, LdkConversionError> {
    if rate.get() > u64::from(u32::MAX) {
        return Err(LdkConversionError::FeeRateTooLarge(rate.get()));
    }
    Ok(bitcoin::FeeRate::from_sat_per_kwu(rate.get()))
}

impl From<ErrorObject> for LSPSResponseError {
    /// `data` becomes a string: `{"message": s}` and a bare string become `s`; any other
    /// object (and any non-object value) becomes its compact JSON text.
    fn from(e: ErrorObject) -> Self {
        let data = match e.data {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Object(m)) if is_message_only(&m) => match m.get("message") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            Some(other) => Some(other.to_string()),
        };
        LSPSResponseError {
            code: e.code,
            message: e.message,
            data,
        }
    }
}

fn is_message_only(m: &Map<String, Value>) -> bool {
    m.len() == 1 && matches!(m.get("message"), Some(Value::String(_)))
}

impl From<LSPSResponseError> for ErrorObject {
    /// A string `data` stays a string, exactly as lsps-core's reader keeps LDK's
    /// `"data": "…"`; [`ErrorObject`] writes it as `{"message": s}`.
    fn from(e: LSPSResponseError) -> Self {
        ErrorObject {
            code: e.code,
            message: e.message,
            data: e.data.map(Value::String),
        }
    }
}

// ---------------------------------------------------------------------------------------
// LSPS0
// ---------------------------------------------------------------------------------------

impl From<ListProtocolsRequest> for LSPS0ListProtocolsRequest {
    fn from(_: ListProtocolsRequest) -> Self {
        LSPS0ListProtocolsRequest {}
    }
}

impl From<LSPS0ListProtocolsRequest> for ListProtocolsRequest {
    fn from(_: LSPS0ListProtocolsRequest) -> Self {
        ListProtocolsRequest {}
    }
}

impl From<ListProtocolsResult> for LSPS0ListProtocolsResponse {
    fn from(r: ListProtocolsResult) -> Self {
        LSPS0ListProtocolsResponse {
            protocols: r.protocols,
        }
    }
}

impl From<LSPS0ListProtocolsResponse> for ListProtocolsResult {
    fn from(r: LSPS0ListProtocolsResponse) -> Self {
        ListProtocolsResult {
            protocols: r.protocols,
        }
    }
}

// ---------------------------------------------------------------------------------------
// LSPS1
// ---------------------------------------------------------------------------------------

impl From<lsps1::GetInfoRequest> for LSPS1GetInfoRequest {
    fn from(_: lsps1::GetInfoRequest) -> Self {
        LSPS1GetInfoRequest {}
    }
}

impl From<LSPS1GetInfoRequest> for lsps1::GetInfoRequest {
    fn from(_: LSPS1GetInfoRequest) -> Self {
        lsps1::GetInfoRequest {}
    }
}

impl From<lsps1::GetInfoResult> for LSPS1Options {
    fn from(r: lsps1::GetInfoResult) -> Self {
        LSPS1Options {
            min_required_channel_confirmations: r.min_required_channel_confirmations,
            min_funding_confirms_within_blocks: r.min_funding_confirms_within_blocks,
            supports_zero_channel_reserve: r.supports_zero_channel_reserve,
            max_channel_expiry_blocks: r.max_channel_expiry_blocks,
            min_initial_client_balance_sat: r.min_initial_client_balance_sat.get(),
            max_initial_client_balance_sat: r.max_initial_client_balance_sat.get(),
            min_initial_lsp_balance_sat: r.min_initial_lsp_balance_sat.get(),
            max_initial_lsp_balance_sat: r.max_initial_lsp_balance_sat.get(),
            min_channel_balance_sat: r.min_channel_balance_sat.get(),
            max_channel_balance_sat: r.max_channel_balance_sat.get(),
        }
    }
}

impl From<LSPS1Options> for lsps1::GetInfoResult {
    fn from(o: LSPS1Options) -> Self {
        lsps1::GetInfoResult {
            min_required_channel_confirmations: o.min_required_channel_confirmations,
            min_funding_confirms_within_blocks: o.min_funding_confirms_within_blocks,
            supports_zero_channel_reserve: o.supports_zero_channel_reserve,
            max_channel_expiry_blocks: o.max_channel_expiry_blocks,
            min_initial_client_balance_sat: Sat(o.min_initial_client_balance_sat),
            max_initial_client_balance_sat: Sat(o.max_initial_client_balance_sat),
            min_initial_lsp_balance_sat: Sat(o.min_initial_lsp_balance_sat),
            max_initial_lsp_balance_sat: Sat(o.max_initial_lsp_balance_sat),
            min_channel_balance_sat: Sat(o.min_channel_balance_sat),
            max_channel_balance_sat: Sat(o.max_channel_balance_sat),
        }
    }
}

impl From<lsps1::GetInfoResult> for LSPS1GetInfoResponse {
    fn from(r: lsps1::GetInfoResult) -> Self {
        LSPS1GetInfoResponse { options: r.into() }
    }
}

impl From<LSPS1GetInfoResponse> for lsps1::GetInfoResult {
    fn from(r: LSPS1GetInfoResponse) -> Self {
        r.options.into()
    }
}

impl From<lsps1::OrderParams> for LSPS1OrderParams {
    fn from(p: lsps1::OrderParams) -> Self {
        LSPS1OrderParams {
            lsp_balance_sat: p.lsp_balance_sat.get(),
            client_balance_sat: p.client_balance_sat.get(),
            required_channel_confirmations: p.required_channel_confirmations,
            funding_confirms_within_blocks: p.funding_confirms_within_blocks,
            channel_expiry_blocks: p.channel_expiry_blocks,
            token: p.token,
            announce_channel: p.announce_channel,
        }
    }
}

impl From<LSPS1OrderParams> for lsps1::OrderParams {
    fn from(p: LSPS1OrderParams) -> Self {
        lsps1::OrderParams {
            lsp_balance_sat: Sat(p.lsp_balance_sat),
            client_balance_sat: Sat(p.client_balance_sat),
            required_channel_confirmations: p.required_channel_confirmations,
            funding_confirms_within_blocks: p.funding_confirms_within_blocks,
            channel_expiry_blocks: p.channel_expiry_blocks,
            token: p.token,
            announce_channel: p.announce_channel,
        }
    }
}

impl From<lsps1::CreateOrderRequest> for LSPS1CreateOrderRequest {
    fn from(r: lsps1::CreateOrderRequest) -> Self {
        LSPS1CreateOrderRequest {
            order: r.order.into(),
            refund_onchain_address: r.refund_onchain_address.as_ref().map(address_to_ldk),
        }
    }
}

impl TryFrom<LSPS1CreateOrderRequest> for lsps1::CreateOrderRequest {
    type Error = LdkConversionError;
    fn try_from(r: LSPS1CreateOrderRequest) -> Result<Self, LdkConversionError> {
        Ok(lsps1::CreateOrderRequest {
            order: r.order.into(),
            refund_onchain_address: r
                .refund_onchain_address
                .map(|a| address_from_ldk("refund_onchain_address", a))
                .transpose()?,
        })
    }
}

impl From<lsps1::OrderId> for LSPS1OrderId {
    fn from(id: lsps1::OrderId) -> Self {
        LSPS1OrderId(id.as_str().to_owned())
    }
}

impl TryFrom<LSPS1OrderId> for lsps1::OrderId {
    type Error = LdkConversionError;
    fn try_from(id: LSPS1OrderId) -> Result<Self, LdkConversionError> {
        lsps1::OrderId::new(id.0).map_err(LdkConversionError::OrderId)
    }
}

impl From<lsps1::GetOrderRequest> for LSPS1GetOrderRequest {
    fn from(r: lsps1::GetOrderRequest) -> Self {
        LSPS1GetOrderRequest {
            order_id: r.order_id.into(),
        }
    }
}

impl TryFrom<LSPS1GetOrderRequest> for lsps1::GetOrderRequest {
    type Error = LdkConversionError;
    fn try_from(r: LSPS1GetOrderRequest) -> Result<Self, LdkConversionError> {
        Ok(lsps1::GetOrderRequest {
            order_id: r.order_id.try_into()?,
        })
    }
}

impl From<lsps1::OrderState> for LSPS1OrderState {
    fn from(s: lsps1::OrderState) -> Self {
        match s {
            lsps1::OrderState::Created => LSPS1OrderState::Created,
            lsps1::OrderState::Completed => LSPS1OrderState::Completed,
            lsps1::OrderState::Failed => LSPS1OrderState::Failed,
        }
    }
}

impl From<LSPS1OrderState> for lsps1::OrderState {
    fn from(s: LSPS1OrderState) -> Self {
        match s {
            LSPS1OrderState::Created => lsps1::OrderState::Created,
            LSPS1OrderState::Completed => lsps1::OrderState::Completed,
            LSPS1OrderState::Failed => lsps1::OrderState::Failed,
        }
    }
}

impl TryFrom<lsps1::PaymentState> for LSPS1PaymentState {
    type Error = LdkConversionError;
    fn try_from(s: lsps1::PaymentState) -> Result<Self, LdkConversionError> {
        match s {
            lsps1::PaymentState::ExpectPayment => Ok(LSPS1PaymentState::ExpectPayment),
            lsps1::PaymentState::Hold => Err(LdkConversionError::HoldState),
            lsps1::PaymentState::Paid => Ok(LSPS1PaymentState::Paid),
            lsps1::PaymentState::Refunded => Ok(LSPS1PaymentState::Refunded),
        }
    }
}

impl From<LSPS1PaymentState> for lsps1::PaymentState {
    fn from(s: LSPS1PaymentState) -> Self {
        match s {
            LSPS1PaymentState::ExpectPayment => lsps1::PaymentState::ExpectPayment,
            LSPS1PaymentState::Paid => lsps1::PaymentState::Paid,
            LSPS1PaymentState::Refunded => lsps1::PaymentState::Refunded,
        }
    }
}

impl TryFrom<lsps1::Bolt11PaymentInfo> for LSPS1Bolt11PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: lsps1::Bolt11PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(LSPS1Bolt11PaymentInfo {
            state: p.state.try_into()?,
            expires_at: p.expires_at.into(),
            fee_total_sat: p.fee_total_sat.get(),
            order_total_sat: p.order_total_sat.get(),
            invoice: Bolt11Invoice::from_str(&p.invoice)
                .map_err(|e| LdkConversionError::Invoice(e.to_string()))?,
        })
    }
}

impl TryFrom<LSPS1Bolt11PaymentInfo> for lsps1::Bolt11PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: LSPS1Bolt11PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(lsps1::Bolt11PaymentInfo {
            state: p.state.into(),
            expires_at: datetime_from_ldk("payment.bolt11.expires_at", p.expires_at)?,
            fee_total_sat: Sat(p.fee_total_sat),
            order_total_sat: Sat(p.order_total_sat),
            invoice: p.invoice.to_string(),
        })
    }
}

impl TryFrom<lsps1::Bolt12PaymentInfo> for LSPS1Bolt12PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: lsps1::Bolt12PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(LSPS1Bolt12PaymentInfo {
            state: p.state.try_into()?,
            expires_at: p.expires_at.into(),
            fee_total_sat: p.fee_total_sat.get(),
            order_total_sat: p.order_total_sat.get(),
            offer: Offer::from_str(&p.offer).map_err(|_| LdkConversionError::Offer)?,
        })
    }
}

impl TryFrom<LSPS1Bolt12PaymentInfo> for lsps1::Bolt12PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: LSPS1Bolt12PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(lsps1::Bolt12PaymentInfo {
            state: p.state.into(),
            expires_at: datetime_from_ldk("payment.bolt12.expires_at", p.expires_at)?,
            fee_total_sat: Sat(p.fee_total_sat),
            order_total_sat: Sat(p.order_total_sat),
            offer: p.offer.to_string(),
        })
    }
}

impl TryFrom<lsps1::OnchainPaymentInfo> for LSPS1OnchainPaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: lsps1::OnchainPaymentInfo) -> Result<Self, LdkConversionError> {
        let min_fee_for_0conf = p.min_fee_for_0conf.ok_or(LdkConversionError::Missing(
            "payment.onchain.min_fee_for_0conf",
        ))?;
        Ok(LSPS1OnchainPaymentInfo {
            state: p.state.try_into()?,
            expires_at: p.expires_at.into(),
            fee_total_sat: p.fee_total_sat.get(),
            order_total_sat: p.order_total_sat.get(),
            address: address_to_ldk(&p.address),
            min_onchain_payment_confirmations: Some(p.min_onchain_payment_confirmations),
            min_fee_for_0conf: fee_rate_to_ldk(min_fee_for_0conf)?,
            refund_onchain_address: p.refund_onchain_address.as_ref().map(address_to_ldk),
        })
    }
}

impl TryFrom<LSPS1OnchainPaymentInfo> for lsps1::OnchainPaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: LSPS1OnchainPaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(lsps1::OnchainPaymentInfo {
            state: p.state.into(),
            expires_at: datetime_from_ldk("payment.onchain.expires_at", p.expires_at)?,
            fee_total_sat: Sat(p.fee_total_sat),
            order_total_sat: Sat(p.order_total_sat),
            address: address_from_ldk("payment.onchain.address", p.address)?,
            // LDK's `None` is JSON `null`, read as lsps-core reads `null`.
            min_onchain_payment_confirmations: p
                .min_onchain_payment_confirmations
                .unwrap_or(lsps1::NULL_ONCHAIN_CONFIRMATIONS),
            min_fee_for_0conf: Some(FeeRate(p.min_fee_for_0conf.to_sat_per_kwu())),
            refund_onchain_address: p
                .refund_onchain_address
                .map(|a| address_from_ldk("payment.onchain.refund_onchain_address", a))
                .transpose()?,
        })
    }
}

impl TryFrom<lsps1::PaymentInfo> for LSPS1PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: lsps1::PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(LSPS1PaymentInfo {
            bolt11: p.bolt11.map(TryInto::try_into).transpose()?,
            bolt12: p.bolt12.map(TryInto::try_into).transpose()?,
            onchain: p.onchain.map(TryInto::try_into).transpose()?,
        })
    }
}

impl TryFrom<LSPS1PaymentInfo> for lsps1::PaymentInfo {
    type Error = LdkConversionError;
    fn try_from(p: LSPS1PaymentInfo) -> Result<Self, LdkConversionError> {
        Ok(lsps1::PaymentInfo {
            bolt11: p.bolt11.map(TryInto::try_into).transpose()?,
            bolt12: p.bolt12.map(TryInto::try_into).transpose()?,
            onchain: p.onchain.map(TryInto::try_into).transpose()?,
        })
    }
}

impl From<lsps1::ChannelInfo> for LSPS1ChannelInfo {
    fn from(c: lsps1::ChannelInfo) -> Self {
        LSPS1ChannelInfo {
            funded_at: c.funded_at.into(),
            funding_outpoint: c.funding_outpoint.into(),
            expires_at: c.expires_at.into(),
        }
    }
}

impl TryFrom<LSPS1ChannelInfo> for lsps1::ChannelInfo {
    type Error = LdkConversionError;
    fn try_from(c: LSPS1ChannelInfo) -> Result<Self, LdkConversionError> {
        Ok(lsps1::ChannelInfo {
            funded_at: datetime_from_ldk("channel.funded_at", c.funded_at)?,
            funding_outpoint: outpoint_from_ldk(c.funding_outpoint)?,
            expires_at: datetime_from_ldk("channel.expires_at", c.expires_at)?,
        })
    }
}

impl TryFrom<lsps1::OrderResult> for LSPS1CreateOrderResponse {
    type Error = LdkConversionError;
    /// An absent `token` becomes `Some("")`: the order object always carries one.
    fn try_from(r: lsps1::OrderResult) -> Result<Self, LdkConversionError> {
        let mut order = LSPS1OrderParams::from(r.order);
        order.token = Some(order.token.unwrap_or_default());
        Ok(LSPS1CreateOrderResponse {
            order_id: r.order_id.into(),
            order,
            created_at: r.created_at.into(),
            order_state: r.order_state.into(),
            payment: r.payment.try_into()?,
            channel: r.channel.map(Into::into),
        })
    }
}

impl TryFrom<LSPS1CreateOrderResponse> for lsps1::OrderResult {
    type Error = LdkConversionError;
    /// `token` `""` and `null` both become `None`, as lsps-core's reader does.
    fn try_from(r: LSPS1CreateOrderResponse) -> Result<Self, LdkConversionError> {
        let mut order = lsps1::OrderParams::from(r.order);
        order.token = order.token.filter(|t| !t.is_empty());
        Ok(lsps1::OrderResult {
            order_id: r.order_id.try_into()?,
            order,
            created_at: datetime_from_ldk("created_at", r.created_at)?,
            order_state: r.order_state.into(),
            payment: r.payment.try_into()?,
            channel: r.channel.map(TryInto::try_into).transpose()?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// LSPS2
// ---------------------------------------------------------------------------------------

impl From<lsps2::GetInfoRequest> for LSPS2GetInfoRequest {
    fn from(r: lsps2::GetInfoRequest) -> Self {
        LSPS2GetInfoRequest { token: r.token }
    }
}

impl From<LSPS2GetInfoRequest> for lsps2::GetInfoRequest {
    fn from(r: LSPS2GetInfoRequest) -> Self {
        lsps2::GetInfoRequest { token: r.token }
    }
}

impl From<lsps2::OpeningFeeParams> for LSPS2OpeningFeeParams {
    fn from(p: lsps2::OpeningFeeParams) -> Self {
        LSPS2OpeningFeeParams {
            min_fee_msat: p.min_fee_msat.get(),
            proportional: p.proportional.get(),
            valid_until: p.valid_until.into(),
            min_lifetime: p.min_lifetime,
            max_client_to_self_delay: p.max_client_to_self_delay,
            min_payment_size_msat: p.min_payment_size_msat.get(),
            max_payment_size_msat: p.max_payment_size_msat.get(),
            promise: p.promise,
        }
    }
}

impl TryFrom<LSPS2OpeningFeeParams> for lsps2::OpeningFeeParams {
    type Error = LdkConversionError;
    fn try_from(p: LSPS2OpeningFeeParams) -> Result<Self, LdkConversionError> {
        Ok(lsps2::OpeningFeeParams {
            min_fee_msat: Msat(p.min_fee_msat),
            proportional: Ppm(p.proportional),
            valid_until: datetime_from_ldk("valid_until", p.valid_until)?,
            min_lifetime: p.min_lifetime,
            max_client_to_self_delay: p.max_client_to_self_delay,
            min_payment_size_msat: Msat(p.min_payment_size_msat),
            max_payment_size_msat: Msat(p.max_payment_size_msat),
            promise: p.promise,
        })
    }
}

impl From<lsps2::RawOpeningFeeParams> for LSPS2RawOpeningFeeParams {
    /// For an LSP that hands its menu to LDK's `opening_fee_params_generated`.
    fn from(p: lsps2::RawOpeningFeeParams) -> Self {
        LSPS2RawOpeningFeeParams {
            min_fee_msat: p.min_fee_msat.get(),
            proportional: p.proportional.get(),
            valid_until: p.valid_until.into(),
            min_lifetime: p.min_lifetime,
            max_client_to_self_delay: p.max_client_to_self_delay,
            min_payment_size_msat: p.min_payment_size_msat.get(),
            max_payment_size_msat: p.max_payment_size_msat.get(),
        }
    }
}

impl TryFrom<LSPS2RawOpeningFeeParams> for lsps2::RawOpeningFeeParams {
    type Error = LdkConversionError;
    fn try_from(p: LSPS2RawOpeningFeeParams) -> Result<Self, LdkConversionError> {
        Ok(lsps2::RawOpeningFeeParams {
            min_fee_msat: Msat(p.min_fee_msat),
            proportional: Ppm(p.proportional),
            valid_until: datetime_from_ldk("valid_until", p.valid_until)?,
            min_lifetime: p.min_lifetime,
            max_client_to_self_delay: p.max_client_to_self_delay,
            min_payment_size_msat: Msat(p.min_payment_size_msat),
            max_payment_size_msat: Msat(p.max_payment_size_msat),
        })
    }
}

impl From<lsps2::GetInfoResult> for LSPS2GetInfoResponse {
    fn from(r: lsps2::GetInfoResult) -> Self {
        LSPS2GetInfoResponse {
            opening_fee_params_menu: r
                .opening_fee_params_menu
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

impl TryFrom<LSPS2GetInfoResponse> for lsps2::GetInfoResult {
    type Error = LdkConversionError;
    fn try_from(r: LSPS2GetInfoResponse) -> Result<Self, LdkConversionError> {
        Ok(lsps2::GetInfoResult {
            opening_fee_params_menu: r
                .opening_fee_params_menu
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<lsps2::BuyRequest> for LSPS2BuyRequest {
    fn from(r: lsps2::BuyRequest) -> Self {
        LSPS2BuyRequest {
            opening_fee_params: r.opening_fee_params.into(),
            payment_size_msat: r.payment_size_msat.map(Msat::get),
        }
    }
}

impl TryFrom<LSPS2BuyRequest> for lsps2::BuyRequest {
    type Error = LdkConversionError;
    fn try_from(r: LSPS2BuyRequest) -> Result<Self, LdkConversionError> {
        Ok(lsps2::BuyRequest {
            opening_fee_params: r.opening_fee_params.try_into()?,
            payment_size_msat: r.payment_size_msat.map(Msat),
        })
    }
}

impl From<lsps2::BuyResult> for LSPS2BuyResponse {
    fn from(r: lsps2::BuyResult) -> Self {
        LSPS2BuyResponse {
            jit_channel_scid: r.jit_channel_scid.into(),
            lsp_cltv_expiry_delta: r.lsp_cltv_expiry_delta,
            client_trusts_lsp: r.client_trusts_lsp,
        }
    }
}

impl TryFrom<LSPS2BuyResponse> for lsps2::BuyResult {
    type Error = LdkConversionError;
    fn try_from(r: LSPS2BuyResponse) -> Result<Self, LdkConversionError> {
        Ok(lsps2::BuyResult {
            jit_channel_scid: Scid::try_from(&r.jit_channel_scid)
                .map_err(LdkConversionError::Scid)?,
            lsp_cltv_expiry_delta: r.lsp_cltv_expiry_delta,
            client_trusts_lsp: r.client_trusts_lsp,
        })
    }
}
