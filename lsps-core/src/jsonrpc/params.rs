//! Table-driven typing of params and results: one trait per params type and one table row
//! per method, so the request classifier has no per-method code.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ErrorObject, Method, RequestParams, ResponseResult};
use crate::{lsps0, lsps1, lsps2};

/// A method's params type: the param names it knows, and serde for the values.
pub trait Params: Serialize + DeserializeOwned {
    /// The method these params belong to.
    const METHOD: Method;
    /// Every param name the method defines. Any other name in a request is answered with
    /// -32602 `data.unrecognized` (LSPS0).
    const PARAM_NAMES: &'static [&'static str];
}

/// A value that is invalid at a property: the `{property, message}` of a -32602 (request) or
/// the reason a result is rejected (response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{property}: {message}")]
pub struct InvalidProperty {
    /// Dotted path of the offending field (`opening_fee_params.promise`; array elements by
    /// index: `opening_fee_params_menu.0.valid_until`). Empty for the whole object.
    pub property: String,
    /// What rule the value breaks.
    pub message: String,
}

/// Deserializes `value` as `T`, reporting the dotted path of the first invalid field.
///
/// Missing and unknown fields are reported at the field's own path (serde reports them on the
/// enclosing object), with the messages "missing required field" and "unknown field".
pub fn from_value_at_path<T: DeserializeOwned>(value: Value) -> Result<T, InvalidProperty> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut segments: Vec<String> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let inner = e.into_inner().to_string();
        let message = if let Some(name) = backticked_after(&inner, "missing field `") {
            segments.push(name);
            "missing required field".to_owned()
        } else if let Some(name) = backticked_after(&inner, "unknown field `") {
            // serde_path_to_error already ends the path with the unknown key.
            if segments.last() != Some(&name) {
                segments.push(name);
            }
            "unknown field".to_owned()
        } else {
            inner
        };
        InvalidProperty {
            property: segments.join("."),
            message,
        }
    })
}

/// `name` from serde's "missing field `name`" / "unknown field `name`, expected ..." messages.
fn backticked_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

/// Types a params object: unknown names first (-32602 `unrecognized`), then values
/// (-32602 `{property, message}`).
fn decode_params<P: Params>(params: Map<String, Value>) -> Result<P, ErrorObject> {
    let unrecognized: Vec<&String> = params
        .keys()
        .filter(|k| !P::PARAM_NAMES.contains(&k.as_str()))
        .collect();
    if !unrecognized.is_empty() {
        return Err(ErrorObject::unrecognized_params(
            unrecognized.into_iter().cloned(),
        ));
    }
    from_value_at_path(Value::Object(params))
        .map_err(|e| ErrorObject::invalid_param(e.property, e.message))
}

/// One row per method: how to type its params and its result.
pub(crate) struct MethodSpec {
    pub(crate) method: Method,
    pub(crate) param_names: &'static [&'static str],
    pub(crate) decode_params: fn(Map<String, Value>) -> Result<RequestParams, ErrorObject>,
    pub(crate) decode_result: fn(Value) -> Result<ResponseResult, InvalidProperty>,
}

macro_rules! row {
    ($method:ident, $params:ty, $result:ty) => {
        MethodSpec {
            method: Method::$method,
            param_names: <$params as Params>::PARAM_NAMES,
            decode_params: |m| decode_params::<$params>(m).map(RequestParams::$method),
            decode_result: |v| from_value_at_path::<$result>(v).map(ResponseResult::$method),
        }
    };
}

/// The method table, in [`Method::ALL`] order.
pub(crate) const METHODS: [MethodSpec; 6] = [
    row!(
        Lsps0ListProtocols,
        lsps0::ListProtocolsRequest,
        lsps0::ListProtocolsResult
    ),
    row!(Lsps1GetInfo, lsps1::GetInfoRequest, lsps1::GetInfoResult),
    row!(
        Lsps1CreateOrder,
        lsps1::CreateOrderRequest,
        lsps1::OrderResult
    ),
    row!(Lsps1GetOrder, lsps1::GetOrderRequest, lsps1::OrderResult),
    row!(Lsps2GetInfo, lsps2::GetInfoRequest, lsps2::GetInfoResult),
    row!(Lsps2Buy, lsps2::BuyRequest, lsps2::BuyResult),
];

/// The table row of `method`.
pub(crate) fn spec(method: Method) -> &'static MethodSpec {
    // METHODS is in Method::ALL order; the unit test below keeps it so.
    let row = &METHODS[method as usize];
    debug_assert_eq!(row.method, method);
    row
}

/// The param names `method` defines.
pub fn param_names(method: Method) -> &'static [&'static str] {
    spec(method).param_names
}

/// Types the `result` object of a response to `method`, reporting the first invalid field.
pub fn decode_result(method: Method, result: Value) -> Result<ResponseResult, InvalidProperty> {
    (spec(method).decode_result)(result)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn table_is_in_method_order() {
        for (i, m) in Method::ALL.into_iter().enumerate() {
            assert_eq!(METHODS[i].method, m);
            assert_eq!(spec(m).method, m);
        }
    }

    #[test]
    fn paths_are_dotted() {
        let v = serde_json::json!({"opening_fee_params_menu": [{"min_fee_msat": 5}]});
        let e = from_value_at_path::<lsps2::GetInfoResult>(v).unwrap_err();
        assert_eq!(e.property, "opening_fee_params_menu.0.min_fee_msat");
        let v = serde_json::json!({"opening_fee_params": {}});
        let e = from_value_at_path::<lsps2::BuyRequest>(v).unwrap_err();
        assert_eq!(e.property, "opening_fee_params.min_fee_msat");
        assert_eq!(e.message, "missing required field");
        let mut fp = serde_json::to_value(lsps2::OpeningFeeParams {
            min_fee_msat: crate::types::Msat(1),
            proportional: crate::types::Ppm(1),
            valid_until: crate::types::Datetime::UNIX_EPOCH,
            min_lifetime: 1,
            max_client_to_self_delay: 1,
            min_payment_size_msat: crate::types::Msat(1),
            max_payment_size_msat: crate::types::Msat(1),
            promise: "p".into(),
        })
        .unwrap();
        fp["zz"] = serde_json::json!(1);
        let v = serde_json::json!({"opening_fee_params_menu": [fp]});
        let e = from_value_at_path::<lsps2::GetInfoResult>(v).unwrap_err();
        assert_eq!(e.property, "opening_fee_params_menu.0.zz");
        assert_eq!(e.message, "unknown field");
    }

    #[test]
    fn param_names_match_the_serialized_keys() {
        // A full instance of each params type serializes exactly the declared names, so the
        // unrecognized-name check and serde cannot drift apart.
        let addr = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
            .parse()
            .unwrap();
        let full = [
            serde_json::to_value(lsps0::ListProtocolsRequest {}).unwrap(),
            serde_json::to_value(lsps1::GetInfoRequest {}).unwrap(),
            serde_json::to_value(lsps1::CreateOrderRequest {
                order: lsps1::OrderParams {
                    lsp_balance_sat: crate::types::Sat(1),
                    client_balance_sat: crate::types::Sat(1),
                    required_channel_confirmations: 1,
                    funding_confirms_within_blocks: 1,
                    channel_expiry_blocks: 1,
                    token: Some("t".into()),
                    announce_channel: true,
                },
                refund_onchain_address: Some(addr),
            })
            .unwrap(),
            serde_json::json!({"order_id": "x"}),
            serde_json::to_value(lsps2::GetInfoRequest {
                token: Some("t".into()),
            })
            .unwrap(),
            serde_json::json!({"opening_fee_params": {}, "payment_size_msat": "1"}),
        ];
        for (m, v) in Method::ALL.into_iter().zip(full) {
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, param_names(m), "{m}");
        }
        let get_order: Vec<String> = serde_json::to_value(lsps1::GetOrderRequest {
            order_id: "x".parse().unwrap(),
        })
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
        assert_eq!(get_order, param_names(Method::Lsps1GetOrder));
    }
}
