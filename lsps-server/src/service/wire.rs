//! Where faults change what goes on the wire. With no fault switched on none of this runs
//! except [`method_not_found`] (one branch) and [`fault_decode_error`] (identity).

use lsps_core::jsonrpc::{ErrorObject, RequestId, Response, code};
use serde_json::Value;

use crate::faults::{Fault, FaultSet};

/// The error for an unknown method (or a method of a protocol that is not offered).
pub(super) fn method_not_found(faults: FaultSet) -> ErrorObject {
    if faults.has(Fault::UnknownMethodWrongCode) {
        ErrorObject::invalid_request()
    } else {
        ErrorObject::method_not_found()
    }
}

/// The reply to a payload `decode_request` refused; `None` sends nothing.
pub(super) fn fault_decode_error(faults: FaultSet, mut reply: Response) -> Option<Response> {
    if faults.is_empty() {
        return Some(reply);
    }
    let error_code = reply.body.as_ref().err().map(|e| e.code);
    match error_code {
        Some(code::PARSE_ERROR) if faults.has(Fault::NoReplyToBadJson) => return None,
        Some(code::PARSE_ERROR) if faults.has(Fault::ParseErrorIdNotNull) => {
            reply.id = Some(RequestId(String::new()));
        }
        Some(code::METHOD_NOT_FOUND) if faults.has(Fault::UnknownMethodWrongCode) => {
            reply.body = Err(ErrorObject::invalid_request());
        }
        Some(code::INVALID_PARAMS) if faults.has(Fault::UnrecognizedMissing) => {
            // Only the -32602 for unknown params (LSPS0-R31): an invalid value's -32602 also
            // carries `unrecognized`, but empty, and keeps its data.
            if let Err(error) = &mut reply.body
                && error.unrecognized().is_some_and(|names| !names.is_empty())
            {
                error.data = None;
            }
        }
        _ => {}
    }
    Some(reply)
}

/// Encode with the wire-shape faults applied.
pub(super) fn encode_with_faults(faults: FaultSet, response: &Response) -> Vec<u8> {
    let bytes = response.to_bytes();
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return bytes;
    };
    if faults.has(Fault::StringErrorData)
        && let Some(error) = value.get_mut("error")
        && error.get("code") == Some(&Value::from(code::LSPS2_INVALID_OPENING_FEE_PARAMS))
    {
        error["data"] = Value::String("invalid opening fee params".into());
    }
    if let Some(result) = value.get_mut("result").and_then(Value::as_object_mut) {
        if faults.has(Fault::ExtraFieldInOpeningFeeParams)
            && let Some(menu) = result
                .get_mut("opening_fee_params_menu")
                .and_then(Value::as_array_mut)
        {
            for entry in menu.iter_mut().filter_map(Value::as_object_mut) {
                entry.insert("zz_extra".into(), Value::from(1));
            }
        }
        let is_order = result.contains_key("order_id");
        if is_order
            && faults.has(Fault::TokenNotMirrored)
            && result.get("token") == Some(&Value::from(""))
        {
            result.insert("token".into(), Value::Null);
        }
        if is_order
            && faults.has(Fault::DatetimeWithoutMillis)
            && let Some(Value::String(created)) = result.get_mut("created_at")
        {
            // "YYYY-MM-DDThh:mm:ss.sssZ" → "YYYY-MM-DDThh:mm:ssZ"
            if let Some(dot) = created.find('.') {
                created.replace_range(dot..created.len() - 1, "");
            }
        }
        if faults.has(Fault::AmountAsNumber)
            && result.contains_key("min_initial_client_balance_sat")
        {
            for (key, v) in result.iter_mut() {
                if key.ends_with("_sat")
                    && let Some(n) = v.as_str().and_then(|s| s.parse::<u64>().ok())
                {
                    *v = Value::from(n);
                }
            }
        }
    }
    serde_json::to_vec(&value).unwrap_or(bytes)
}
