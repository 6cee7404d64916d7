//! LSPS2 params and results: `get_info`, `buy`, `opening_fee_params`.

use serde::{Deserialize, Serialize};

use crate::jsonrpc::{Method, Params};
use crate::types::{Datetime, Msat, Ppm, Scid};

/// `lsps2.get_info` params.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetInfoRequest {
    /// Optional coupon / API key. Omitted when `None`; `null` is read as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Params for GetInfoRequest {
    const METHOD: Method = Method::Lsps2GetInfo;
    const PARAM_NAMES: &'static [&'static str] = &["token"];
}

/// `lsps2.get_info` result. Unknown keys are ignored, but each menu entry must have exactly
/// the eight [`OpeningFeeParams`] fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetInfoResult {
    /// Offers, cheapest first (see [`super::validate_menu`]); may be empty.
    #[serde(deserialize_with = "crate::types::map_only::array_of_objects")]
    pub opening_fee_params_menu: Vec<OpeningFeeParams>,
}

/// One `opening_fee_params` menu entry: exactly these eight fields. Unknown fields are
/// rejected (the LSP MUST NOT add any; the client MUST abort on them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningFeeParams {
    /// Minimum opening fee.
    pub min_fee_msat: Msat,
    /// Fee per million msat of payment size.
    pub proportional: Ppm,
    /// When the offer (and a JIT flow using it) expires.
    pub valid_until: Datetime,
    /// Confirmations after which the LSP may close the channel.
    pub min_lifetime: u32,
    /// Largest `to_self_delay` the client may impose on the LSP.
    pub max_client_to_self_delay: u32,
    /// Smallest payment size (inclusive).
    pub min_payment_size_msat: Msat,
    /// Largest payment size (inclusive).
    pub max_payment_size_msat: Msat,
    /// The LSP's proof it offered exactly these values; opaque to the client, passed back
    /// verbatim. See [`super::check_promise_format`] and [`super::PromiseSecret`].
    pub promise: String,
}

/// The seven fee fields an LSP signs into a promise (an [`OpeningFeeParams`] minus `promise`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawOpeningFeeParams {
    /// Minimum opening fee.
    pub min_fee_msat: Msat,
    /// Fee per million msat of payment size.
    pub proportional: Ppm,
    /// When the offer expires.
    pub valid_until: Datetime,
    /// Confirmations after which the LSP may close the channel.
    pub min_lifetime: u32,
    /// Largest `to_self_delay` the client may impose on the LSP.
    pub max_client_to_self_delay: u32,
    /// Smallest payment size (inclusive).
    pub min_payment_size_msat: Msat,
    /// Largest payment size (inclusive).
    pub max_payment_size_msat: Msat,
}

impl RawOpeningFeeParams {
    /// Attaches a promise, giving the menu entry.
    pub fn with_promise(self, promise: String) -> OpeningFeeParams {
        OpeningFeeParams {
            min_fee_msat: self.min_fee_msat,
            proportional: self.proportional,
            valid_until: self.valid_until,
            min_lifetime: self.min_lifetime,
            max_client_to_self_delay: self.max_client_to_self_delay,
            min_payment_size_msat: self.min_payment_size_msat,
            max_payment_size_msat: self.max_payment_size_msat,
            promise,
        }
    }
}

impl OpeningFeeParams {
    /// The eight members of an `opening_fee_params` object, in the bLIP's order (a client MUST
    /// abort on any other member).
    pub const FIELD_NAMES: [&'static str; 8] = [
        "min_fee_msat",
        "proportional",
        "valid_until",
        "min_lifetime",
        "max_client_to_self_delay",
        "min_payment_size_msat",
        "max_payment_size_msat",
        "promise",
    ];

    /// The seven signed fields.
    pub fn raw(&self) -> RawOpeningFeeParams {
        RawOpeningFeeParams {
            min_fee_msat: self.min_fee_msat,
            proportional: self.proportional,
            valid_until: self.valid_until,
            min_lifetime: self.min_lifetime,
            max_client_to_self_delay: self.max_client_to_self_delay,
            min_payment_size_msat: self.min_payment_size_msat,
            max_payment_size_msat: self.max_payment_size_msat,
        }
    }

    /// The opening fee for `payment_size_msat` under these params (spec algorithm).
    pub fn opening_fee(&self, payment_size_msat: Msat) -> Result<Msat, super::FeeOverflow> {
        super::opening_fee(payment_size_msat, self.min_fee_msat, self.proportional)
    }

    /// True if `payment_size_msat` is within `[min_payment_size_msat, max_payment_size_msat]`.
    pub fn accepts_payment_size(&self, payment_size_msat: Msat) -> bool {
        self.min_payment_size_msat <= payment_size_msat
            && payment_size_msat <= self.max_payment_size_msat
    }
}

/// `lsps2.buy` params.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyRequest {
    /// A menu entry copied verbatim.
    #[serde(deserialize_with = "crate::types::map_only::object")]
    pub opening_fee_params: OpeningFeeParams,
    /// Present: "MPP+fixed-invoice" mode. Absent (or `null`): "no-MPP+var-invoice" mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_size_msat: Option<Msat>,
}

impl Params for BuyRequest {
    const METHOD: Method = Method::Lsps2Buy;
    const PARAM_NAMES: &'static [&'static str] = &["opening_fee_params", "payment_size_msat"];
}

/// `lsps2.buy` result. Unknown keys are ignored when reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyResult {
    /// The SCID to put in the invoice route hint; identifies this buy.
    pub jit_channel_scid: Scid,
    /// `cltv_expiry_delta` for the route-hint hop.
    pub lsp_cltv_expiry_delta: u32,
    /// Trust model; absent reads as `false`. Always written.
    #[serde(default)]
    pub client_trusts_lsp: bool,
}
