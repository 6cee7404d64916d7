//! LSPS1 params and results: `get_info`, `create_order`, `get_order`, the order object.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::jsonrpc::{Method, Params};
use crate::types::{Datetime, FeeRate, OnchainAddress, Outpoint, Sat, string_serde};

/// `lsps1.get_info` params: always `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetInfoRequest {}

impl Params for GetInfoRequest {
    const METHOD: Method = Method::Lsps1GetInfo;
    const PARAM_NAMES: &'static [&'static str] = &[];
}

/// `lsps1.get_info` result: the LSP's channel-order options (top-level keys since 2024-06-21).
/// Unknown keys are ignored when reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetInfoResult {
    /// Minimum confirmations before `channel_ready`; 0 means 0-conf is possible.
    pub min_required_channel_confirmations: u16,
    /// Fastest funding-confirmation target the LSP offers (≥ 1).
    pub min_funding_confirms_within_blocks: u16,
    /// Whether the LSP allows a zero channel reserve.
    pub supports_zero_channel_reserve: bool,
    /// Longest lease in blocks (≥ 1).
    pub max_channel_expiry_blocks: u32,
    /// Minimum `client_balance_sat`.
    pub min_initial_client_balance_sat: Sat,
    /// Maximum `client_balance_sat`.
    pub max_initial_client_balance_sat: Sat,
    /// Minimum `lsp_balance_sat`.
    pub min_initial_lsp_balance_sat: Sat,
    /// Maximum `lsp_balance_sat`.
    pub max_initial_lsp_balance_sat: Sat,
    /// Minimum channel size (`lsp_balance_sat + client_balance_sat`).
    pub min_channel_balance_sat: Sat,
    /// Maximum channel size.
    pub max_channel_balance_sat: Sat,
}

/// A `get_info` field that breaks a bLIP-51 rule, or an order that does not fit the options.
///
/// `property` is always a top-level `lsps1.get_info` key (bLIP-51's error 100 names one; the
/// spec still says `options.…`, a leftover of the pre-2024 layout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{property}: {message}")]
pub struct OptionMismatch {
    /// The `get_info` field whose rule is broken.
    pub property: &'static str,
    /// What is wrong.
    pub message: String,
}

impl OptionMismatch {
    fn new(property: &'static str, message: impl Into<String>) -> Self {
        Self {
            property,
            message: message.into(),
        }
    }

    /// The LSPS1 error 100 reply for this mismatch.
    pub fn to_error_object(&self) -> crate::jsonrpc::ErrorObject {
        crate::jsonrpc::ErrorObject::lsps1_option_mismatch(self.property, self.message.clone())
    }
}

impl GetInfoResult {
    /// Every field, in bLIP-51's order: the properties LSPS1 error 100's `data.property` may
    /// name (spec/README D7).
    pub const FIELD_NAMES: &'static [&'static str] = &[
        "min_required_channel_confirmations",
        "min_funding_confirms_within_blocks",
        "supports_zero_channel_reserve",
        "max_channel_expiry_blocks",
        "min_initial_client_balance_sat",
        "max_initial_client_balance_sat",
        "min_initial_lsp_balance_sat",
        "max_initial_lsp_balance_sat",
        "min_channel_balance_sat",
        "max_channel_balance_sat",
    ];

    /// Checks bLIP-51's rules on the options: `min_funding_confirms_within_blocks ≥ 1`,
    /// `max_channel_expiry_blocks ≥ 1`, and `min ≤ max` for each of the three pairs.
    pub fn validate(&self) -> Result<(), OptionMismatch> {
        if self.min_funding_confirms_within_blocks < 1 {
            return Err(OptionMismatch::new(
                "min_funding_confirms_within_blocks",
                "must be >= 1",
            ));
        }
        if self.max_channel_expiry_blocks < 1 {
            return Err(OptionMismatch::new(
                "max_channel_expiry_blocks",
                "must be >= 1",
            ));
        }
        for (min_name, min, max_name, max) in [
            (
                "min_initial_client_balance_sat",
                self.min_initial_client_balance_sat,
                "max_initial_client_balance_sat",
                self.max_initial_client_balance_sat,
            ),
            (
                "min_initial_lsp_balance_sat",
                self.min_initial_lsp_balance_sat,
                "max_initial_lsp_balance_sat",
                self.max_initial_lsp_balance_sat,
            ),
            (
                "min_channel_balance_sat",
                self.min_channel_balance_sat,
                "max_channel_balance_sat",
                self.max_channel_balance_sat,
            ),
        ] {
            if min > max {
                return Err(OptionMismatch::new(
                    min_name,
                    format!("must be <= {max_name}"),
                ));
            }
        }
        Ok(())
    }
}

/// The order fields a client chooses (shared by `create_order` params and the order object).
///
/// Equality treats an empty `token` as no token (`Some("") == None`): the order object
/// writes both as `""` and reads `""` back as `None`, so this is what makes every order
/// round-trip. All other fields compare as usual.
#[derive(Clone, Debug, Eq)]
pub struct OrderParams {
    /// Inbound liquidity the LSP provides (≥ 1).
    pub lsp_balance_sat: Sat,
    /// Amount the client pays and the LSP pushes back to the client.
    pub client_balance_sat: Sat,
    /// Confirmations before the LSP sends `channel_ready`.
    pub required_channel_confirmations: u16,
    /// Blocks within which the funding transaction must confirm.
    pub funding_confirms_within_blocks: u16,
    /// Lease length in blocks.
    pub channel_expiry_blocks: u32,
    /// Coupon or auth token. In the order object absent is written `""` (bLIP-51), and `""`
    /// or `null` is read as `None`.
    pub token: Option<String>,
    /// Public (`true`) or private channel.
    pub announce_channel: bool,
}

impl PartialEq for OrderParams {
    fn eq(&self, other: &Self) -> bool {
        // Destructured so that a new field cannot be forgotten here.
        let OrderParams {
            lsp_balance_sat,
            client_balance_sat,
            required_channel_confirmations,
            funding_confirms_within_blocks,
            channel_expiry_blocks,
            token,
            announce_channel,
        } = self;
        *lsp_balance_sat == other.lsp_balance_sat
            && *client_balance_sat == other.client_balance_sat
            && *required_channel_confirmations == other.required_channel_confirmations
            && *funding_confirms_within_blocks == other.funding_confirms_within_blocks
            && *channel_expiry_blocks == other.channel_expiry_blocks
            && OrderParams::token_or_none(token) == OrderParams::token_or_none(&other.token)
            && *announce_channel == other.announce_channel
    }
}

impl OrderParams {
    /// The token, with `""` as no token (how the order object reads and writes it).
    pub fn effective_token(&self) -> Option<&str> {
        Self::token_or_none(&self.token)
    }

    fn token_or_none(token: &Option<String>) -> Option<&str> {
        token.as_deref().filter(|t| !t.is_empty())
    }

    /// Checks the order against the LSP's options, returning the first mismatch as the
    /// `get_info` property bLIP-51 error 100 names. Checks, in order: `lsp_balance_sat ≥ 1`
    /// (reported on `min_initial_lsp_balance_sat`), the client and LSP balance ranges,
    /// confirmations, funding target, expiry, then the channel size (sum) range.
    pub fn check_against(&self, options: &GetInfoResult) -> Result<(), OptionMismatch> {
        if self.lsp_balance_sat.get() < 1 {
            return Err(OptionMismatch::new(
                "min_initial_lsp_balance_sat",
                "lsp_balance_sat must be >= 1",
            ));
        }
        check_balance(
            self.client_balance_sat,
            (
                "min_initial_client_balance_sat",
                options.min_initial_client_balance_sat,
            ),
            (
                "max_initial_client_balance_sat",
                options.max_initial_client_balance_sat,
            ),
            "client_balance_sat out of range",
        )?;
        check_balance(
            self.lsp_balance_sat,
            (
                "min_initial_lsp_balance_sat",
                options.min_initial_lsp_balance_sat,
            ),
            (
                "max_initial_lsp_balance_sat",
                options.max_initial_lsp_balance_sat,
            ),
            "lsp_balance_sat out of range",
        )?;
        if self.required_channel_confirmations < options.min_required_channel_confirmations {
            return Err(OptionMismatch::new(
                "min_required_channel_confirmations",
                "required_channel_confirmations below the minimum",
            ));
        }
        if self.funding_confirms_within_blocks < options.min_funding_confirms_within_blocks {
            return Err(OptionMismatch::new(
                "min_funding_confirms_within_blocks",
                "funding_confirms_within_blocks below the minimum",
            ));
        }
        if self.channel_expiry_blocks < 1
            || self.channel_expiry_blocks > options.max_channel_expiry_blocks
        {
            return Err(OptionMismatch::new(
                "max_channel_expiry_blocks",
                "channel_expiry_blocks must be in 1..=max_channel_expiry_blocks",
            ));
        }
        let size = self.lsp_balance_sat.checked_add(self.client_balance_sat);
        match size {
            Some(s) if s < options.min_channel_balance_sat => Err(OptionMismatch::new(
                "min_channel_balance_sat",
                "lsp_balance_sat + client_balance_sat below the minimum channel size",
            )),
            Some(s) if s <= options.max_channel_balance_sat => Ok(()),
            _ => Err(OptionMismatch::new(
                "max_channel_balance_sat",
                "lsp_balance_sat + client_balance_sat above the maximum channel size",
            )),
        }
    }
}

/// A balance against its `(option name, bound)` pair: outside the range, the mismatch names the
/// bound it crossed.
fn check_balance(
    value: Sat,
    (min_name, min): (&'static str, Sat),
    (max_name, max): (&'static str, Sat),
    message: &'static str,
) -> Result<(), OptionMismatch> {
    if value < min {
        Err(OptionMismatch::new(min_name, message))
    } else if value > max {
        Err(OptionMismatch::new(max_name, message))
    } else {
        Ok(())
    }
}

/// `lsps1.create_order` params.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOrderRequest {
    /// The requested channel.
    pub order: OrderParams,
    /// Where on-chain payments are refunded. If absent the LSP must not offer on-chain payment.
    pub refund_onchain_address: Option<OnchainAddress>,
}

impl Params for CreateOrderRequest {
    const METHOD: Method = Method::Lsps1CreateOrder;
    const PARAM_NAMES: &'static [&'static str] = &[
        "lsp_balance_sat",
        "client_balance_sat",
        "required_channel_confirmations",
        "funding_confirms_within_blocks",
        "channel_expiry_blocks",
        "token",
        "refund_onchain_address",
        "announce_channel",
    ];
}

/// The flat wire form of `create_order` params, in bLIP-51 key order.
#[derive(Serialize)]
struct CreateOrderWireRef<'a> {
    lsp_balance_sat: Sat,
    client_balance_sat: Sat,
    required_channel_confirmations: u16,
    funding_confirms_within_blocks: u16,
    channel_expiry_blocks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_onchain_address: &'a Option<OnchainAddress>,
    announce_channel: bool,
}

#[derive(Deserialize)]
struct CreateOrderWire {
    lsp_balance_sat: Sat,
    client_balance_sat: Sat,
    required_channel_confirmations: u16,
    funding_confirms_within_blocks: u16,
    channel_expiry_blocks: u32,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    refund_onchain_address: Option<OnchainAddress>,
    announce_channel: bool,
}

impl Serialize for CreateOrderRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.order;
        CreateOrderWireRef {
            lsp_balance_sat: o.lsp_balance_sat,
            client_balance_sat: o.client_balance_sat,
            required_channel_confirmations: o.required_channel_confirmations,
            funding_confirms_within_blocks: o.funding_confirms_within_blocks,
            channel_expiry_blocks: o.channel_expiry_blocks,
            token: &o.token,
            refund_onchain_address: &self.refund_onchain_address,
            announce_channel: o.announce_channel,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CreateOrderRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = CreateOrderWire::deserialize(d)?;
        Ok(Self {
            order: OrderParams {
                lsp_balance_sat: w.lsp_balance_sat,
                client_balance_sat: w.client_balance_sat,
                required_channel_confirmations: w.required_channel_confirmations,
                funding_confirms_within_blocks: w.funding_confirms_within_blocks,
                channel_expiry_blocks: w.channel_expiry_blocks,
                token: w.token,
                announce_channel: w.announce_channel,
            },
            refund_onchain_address: w.refund_onchain_address,
        })
    }
}

/// Why a string is not a valid LSPS1 order id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderIdError {
    /// Empty, or longer than the 64 characters bLIP-51 allows.
    #[error("order_id must be 1 to 64 characters")]
    Length,
}

/// An LSPS1 order id: unique, at most 64 characters (bLIP-51; a UUIDv4 is suggested).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(String);

impl OrderId {
    /// Validates and wraps an order id.
    pub fn new(id: impl Into<String>) -> Result<Self, OrderIdError> {
        let id = id.into();
        let n = id.chars().count();
        if n == 0 || n > 64 {
            return Err(OrderIdError::Length);
        }
        Ok(Self(id))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OrderId {
    type Err = OrderIdError;
    fn from_str(s: &str) -> Result<Self, OrderIdError> {
        Self::new(s)
    }
}

string_serde!(OrderId, "an order id string of 1 to 64 characters");

/// `lsps1.get_order` params.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetOrderRequest {
    /// The order to look up.
    pub order_id: OrderId,
}

impl Params for GetOrderRequest {
    const METHOD: Method = Method::Lsps1GetOrder;
    const PARAM_NAMES: &'static [&'static str] = &["order_id"];
}

/// `order_state` of an LSPS1 order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    /// Order created, channel not yet funded (the default).
    Created,
    /// The funding transaction was published.
    Completed,
    /// The channel open failed; the payment is refunded.
    Failed,
}

/// `state` of one payment option.
///
/// `CANCELLED` (deprecated by bLIP-51, still told to LSPs in the prose) is read as
/// [`PaymentState::Refunded`] and never written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    /// Waiting for the client to pay.
    ExpectPayment,
    /// Lightning only: the HTLC arrived and is held (preimage not released).
    Hold,
    /// Paid: preimage released (Lightning) or payment confirmed (on-chain).
    Paid,
    /// The payment was failed back or refunded.
    #[serde(alias = "CANCELLED")]
    Refunded,
}

/// `payment.bolt11`: pay a BOLT11 hold invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bolt11PaymentInfo {
    /// Payment state (EXPECT_PAYMENT, HOLD, PAID, REFUNDED).
    pub state: PaymentState,
    /// When this option expires.
    pub expires_at: Datetime,
    /// Total fee.
    pub fee_total_sat: Sat,
    /// Amount to pay: `fee_total_sat + client_balance_sat`.
    pub order_total_sat: Sat,
    /// BOLT11 hold invoice for `order_total_sat`, at most 2048 characters.
    pub invoice: String,
}

/// `payment.bolt12`: pay a BOLT12 offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bolt12PaymentInfo {
    /// Payment state (EXPECT_PAYMENT, HOLD, PAID, REFUNDED).
    pub state: PaymentState,
    /// When this option expires.
    pub expires_at: Datetime,
    /// Total fee.
    pub fee_total_sat: Sat,
    /// Amount to pay: `fee_total_sat + client_balance_sat`.
    pub order_total_sat: Sat,
    /// BOLT12 offer, at most 2048 characters.
    pub offer: String,
}

/// What a `null` `min_onchain_payment_confirmations` reads as: 1. The LSP did not promise to
/// count an unconfirmed payment, so a reader must not assume 0-conf (whose `min_fee_for_0conf`
/// rule applies only at 0).
pub const NULL_ONCHAIN_CONFIRMATIONS: u16 = 1;

fn u16_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    Ok(Option::<u16>::deserialize(d)?.unwrap_or(NULL_ONCHAIN_CONFIRMATIONS))
}

/// `payment.onchain`: pay on-chain (only offered when a refund address was given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnchainPaymentInfo {
    /// Payment state (EXPECT_PAYMENT, PAID, REFUNDED).
    pub state: PaymentState,
    /// When this option expires.
    pub expires_at: Datetime,
    /// Total fee.
    pub fee_total_sat: Sat,
    /// Amount to pay: `fee_total_sat + client_balance_sat`.
    pub order_total_sat: Sat,
    /// Address to pay `order_total_sat` to.
    pub address: OnchainAddress,
    /// Confirmations before the payment counts. JSON `null` (lsp#67 allowed it; LDK's type
    /// is optional) is read as [`NULL_ONCHAIN_CONFIRMATIONS`]; a number is always written.
    #[serde(deserialize_with = "u16_or_null")]
    pub min_onchain_payment_confirmations: u16,
    /// Fee rate above which a 0-conf payment is accepted; absent (or `null`) when
    /// `min_onchain_payment_confirmations > 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fee_for_0conf: Option<FeeRate>,
    /// Mirror of the request's refund address (may be omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_onchain_address: Option<OnchainAddress>,
}

/// The `payment` object: one entry per offered payment method. Absent options are omitted
/// when writing; `null` is read as absent (LDK writes `null`). Unknown options are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// BOLT11 hold invoice option.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::types::map_only::optional_object"
    )]
    pub bolt11: Option<Bolt11PaymentInfo>,
    /// BOLT12 offer option.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::types::map_only::optional_object"
    )]
    pub bolt12: Option<Bolt12PaymentInfo>,
    /// On-chain option.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::types::map_only::optional_object"
    )]
    pub onchain: Option<OnchainPaymentInfo>,
}

/// The `channel` object, present once the funding transaction is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// When the funding transaction was published.
    pub funded_at: Datetime,
    /// The funding outpoint.
    pub funding_outpoint: Outpoint,
    /// Earliest time the LSP may close the channel.
    pub expires_at: Datetime,
}

/// The order object: `lsps1.create_order` and `lsps1.get_order` result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderResult {
    /// The order id.
    pub order_id: OrderId,
    /// The mirrored order parameters.
    pub order: OrderParams,
    /// When the order was created.
    pub created_at: Datetime,
    /// Order state.
    pub order_state: OrderState,
    /// Payment options.
    pub payment: PaymentInfo,
    /// The channel; `None` (written `null`) until the funding transaction is published.
    pub channel: Option<ChannelInfo>,
}

/// Borrowed flat wire form of the order object, in bLIP-51 example key order.
#[derive(Serialize)]
struct OrderWireRef<'a> {
    order_id: &'a OrderId,
    lsp_balance_sat: Sat,
    client_balance_sat: Sat,
    required_channel_confirmations: u16,
    funding_confirms_within_blocks: u16,
    channel_expiry_blocks: u32,
    token: &'a str,
    created_at: Datetime,
    announce_channel: bool,
    order_state: OrderState,
    payment: &'a PaymentInfo,
    channel: &'a Option<ChannelInfo>,
}

#[derive(Deserialize)]
struct OrderWire {
    order_id: OrderId,
    lsp_balance_sat: Sat,
    client_balance_sat: Sat,
    required_channel_confirmations: u16,
    funding_confirms_within_blocks: u16,
    channel_expiry_blocks: u32,
    #[serde(default)]
    token: Option<String>,
    created_at: Datetime,
    announce_channel: bool,
    order_state: OrderState,
    #[serde(deserialize_with = "crate::types::map_only::object")]
    payment: PaymentInfo,
    #[serde(default, deserialize_with = "crate::types::map_only::optional_object")]
    channel: Option<ChannelInfo>,
}

impl Serialize for OrderResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.order;
        OrderWireRef {
            order_id: &self.order_id,
            lsp_balance_sat: o.lsp_balance_sat,
            client_balance_sat: o.client_balance_sat,
            required_channel_confirmations: o.required_channel_confirmations,
            funding_confirms_within_blocks: o.funding_confirms_within_blocks,
            channel_expiry_blocks: o.channel_expiry_blocks,
            token: o.token.as_deref().unwrap_or(""),
            created_at: self.created_at,
            announce_channel: o.announce_channel,
            order_state: self.order_state,
            payment: &self.payment,
            channel: &self.channel,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for OrderResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = OrderWire::deserialize(d)?;
        Ok(Self {
            order_id: w.order_id,
            order: OrderParams {
                lsp_balance_sat: w.lsp_balance_sat,
                client_balance_sat: w.client_balance_sat,
                required_channel_confirmations: w.required_channel_confirmations,
                funding_confirms_within_blocks: w.funding_confirms_within_blocks,
                channel_expiry_blocks: w.channel_expiry_blocks,
                token: w.token.filter(|t| !t.is_empty()),
                announce_channel: w.announce_channel,
            },
            created_at: w.created_at,
            order_state: w.order_state,
            payment: w.payment,
            channel: w.channel,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn options() -> GetInfoResult {
        GetInfoResult {
            min_required_channel_confirmations: 0,
            min_funding_confirms_within_blocks: 1,
            supports_zero_channel_reserve: false,
            max_channel_expiry_blocks: 4320,
            min_initial_client_balance_sat: Sat(0),
            max_initial_client_balance_sat: Sat(1_000),
            min_initial_lsp_balance_sat: Sat(10),
            max_initial_lsp_balance_sat: Sat(2_000),
            min_channel_balance_sat: Sat(10),
            max_channel_balance_sat: Sat(2_500),
        }
    }

    #[test]
    fn field_names_are_the_serialized_keys_in_order() {
        let value = serde_json::to_value(options()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // serde_json keeps insertion order here (`preserve_order`), so the order is checked too.
        assert_eq!(keys, GetInfoResult::FIELD_NAMES);
    }

    #[test]
    fn balances_outside_their_range_name_the_bound_they_cross() {
        let order = |client: u64, lsp: u64| OrderParams {
            lsp_balance_sat: Sat(lsp),
            client_balance_sat: Sat(client),
            required_channel_confirmations: 0,
            funding_confirms_within_blocks: 1,
            channel_expiry_blocks: 1,
            token: None,
            announce_channel: false,
        };
        let property = |o: OrderParams| o.check_against(&options()).map_err(|e| e.property);
        assert_eq!(property(order(0, 10)), Ok(()));
        assert_eq!(
            property(order(1_001, 10)),
            Err("max_initial_client_balance_sat")
        );
        assert_eq!(property(order(0, 9)), Err("min_initial_lsp_balance_sat"));
        assert_eq!(
            property(order(0, 2_001)),
            Err("max_initial_lsp_balance_sat")
        );
        assert_eq!(property(order(0, 0)), Err("min_initial_lsp_balance_sat"));
        assert_eq!(
            property(order(1_000, 2_000)),
            Err("max_channel_balance_sat")
        );
    }
}
