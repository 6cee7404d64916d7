//! Round trips for every lsps-core type: `decode(encode(x)) == x`, and encoding the decoded
//! value gives the same bytes (the encoding is canonical). Also: any change to any field a
//! promise covers, or to the client node id, fails promise verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use core::fmt::Debug;
use core::str::FromStr;

use lsps_core::jsonrpc::{
    IncomingMessage, Method, Request, RequestId, Response, decode_request, decode_response,
};
use lsps_core::lsps2::{OpeningFeeParams, PromiseSecret, RawOpeningFeeParams};
use lsps_core::types::{Datetime, DatetimeMode, Msat, NodeId, Ppm};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use lsps_core::strategies::*;

/// serde round trip plus canonical re-encoding.
fn serde_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = serde_json::to_vec(value).unwrap();
    let back: T = serde_json::from_slice(&bytes)
        .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(serde_json::to_vec(&back).unwrap(), bytes);
    Ok(())
}

/// `Display`/`FromStr` round trip, and the JSON form is the `Display` text as a string.
fn text_round_trip<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + FromStr + ToString + PartialEq + Debug,
    T::Err: Debug,
{
    let text = value.to_string();
    prop_assert_eq!(&text.parse::<T>().unwrap(), value);
    prop_assert_eq!(
        serde_json::to_value(value).unwrap(),
        serde_json::Value::String(text)
    );
    Ok(())
}

proptest! {
    #[test]
    fn common_types(
        s in sat(), m in msat(), d in datetime(), scid in scid(), node in node_id(),
        txid in txid(), op in outpoint(), addr in onchain_address(), p in ppm(),
        f in fee_rate(), id in request_id(),
    ) {
        serde_round_trip(&s)?;
        text_round_trip(&s)?;
        serde_round_trip(&m)?;
        text_round_trip(&m)?;
        serde_round_trip(&d)?;
        text_round_trip(&d)?;
        // The canonical text is exactly what the strict reader accepts.
        prop_assert_eq!(Datetime::parse(&d.to_string(), DatetimeMode::Strict).unwrap(), d);
        serde_round_trip(&scid)?;
        text_round_trip(&scid)?;
        serde_round_trip(&node)?;
        text_round_trip(&node)?;
        serde_round_trip(&txid)?;
        text_round_trip(&txid)?;
        serde_round_trip(&op)?;
        text_round_trip(&op)?;
        serde_round_trip(&addr)?;
        text_round_trip(&addr)?;
        serde_round_trip(&p)?;
        serde_round_trip(&f)?;
        serde_round_trip(&id)?;
    }

    #[test]
    fn lsps0_types(r in list_protocols_result()) {
        serde_round_trip(&lsps_core::lsps0::ListProtocolsRequest {})?;
        serde_round_trip(&r)?;
    }

    #[test]
    fn lsps1_types(
        info in lsps1_get_info_result(),
        create in create_order_request(),
        order in order_result(),
        id in order_id(),
        channel in channel_info(),
        payment in payment_info(),
        state in payment_state(),
        order_state in order_state(),
    ) {
        serde_round_trip(&lsps_core::lsps1::GetInfoRequest {})?;
        serde_round_trip(&info)?;
        serde_round_trip(&create)?;
        serde_round_trip(&order)?;
        serde_round_trip(&lsps_core::lsps1::GetOrderRequest { order_id: id.clone() })?;
        serde_round_trip(&id)?;
        serde_round_trip(&channel)?;
        serde_round_trip(&payment)?;
        serde_round_trip(&state)?;
        serde_round_trip(&order_state)?;
    }

    #[test]
    fn lsps2_types(
        get_info in lsps2_get_info_request(),
        menu in lsps2_get_info_result(),
        params in opening_fee_params(),
        buy in buy_request(),
        bought in buy_result(),
    ) {
        serde_round_trip(&get_info)?;
        serde_round_trip(&menu)?;
        serde_round_trip(&params)?;
        serde_round_trip(&buy)?;
        serde_round_trip(&bought)?;
    }

    /// A request survives `to_bytes` → `decode_request` (the LSP's classifier) exactly.
    #[test]
    fn request_envelope(id in request_id(), params in request_params()) {
        let request = Request { id, params };
        let bytes = request.to_bytes();
        let decoded = decode_request(&bytes).map_err(|reply| {
            TestCaseError::fail(format!(
                "rejected {}: {}",
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&reply.to_bytes())
            ))
        })?;
        prop_assert_eq!(&decoded, &request);
        prop_assert_eq!(decoded.to_bytes(), bytes);
    }

    /// A result survives `to_bytes` → `decode_response` (the client's classifier) exactly.
    #[test]
    fn result_envelope(id in request_id(), result in response_result()) {
        let method = result.method();
        let response = Response { id: Some(id.clone()), body: Ok(result) };
        let bytes = response.to_bytes();
        let lookup = |asked: &RequestId| (asked == &id).then_some(method);
        let decoded = decode_response(&bytes, &lookup).unwrap();
        let IncomingMessage::Response { id: got_id, method: got_method, body } = decoded else {
            return Err(TestCaseError::fail(format!("not a response: {decoded:?}")));
        };
        prop_assert_eq!(&got_id, &id);
        prop_assert_eq!(got_method, method);
        let again = Response { id: Some(got_id), body };
        prop_assert_eq!(&again, &response);
        prop_assert_eq!(again.to_bytes(), bytes);
    }

    /// An error response (data absent or an object) survives the client's classifier.
    #[test]
    fn error_envelope(id in proptest::option::of(request_id()), error in error_object()) {
        let response = Response { id: id.clone(), body: Err(error.clone()) };
        let bytes = response.to_bytes();
        let lookup = |_: &RequestId| Some(Method::Lsps2Buy);
        let decoded = decode_response(&bytes, &lookup).unwrap();
        match (decoded, id) {
            (IncomingMessage::ErrorWithoutId(got), None) => prop_assert_eq!(got, error),
            (IncomingMessage::Response { id: got_id, body: Err(got), .. }, Some(id)) => {
                prop_assert_eq!(got_id, id);
                prop_assert_eq!(got, error);
            }
            (other, id) => {
                return Err(TestCaseError::fail(format!("{other:?} for id {id:?}")));
            }
        }
    }
}

// ----- Promise tamper resistance -----

/// One field a promise covers, with the change to make to it.
#[derive(Debug, Clone)]
enum Tamper {
    MinFee(u64),
    Proportional(u32),
    ValidUntil(u64),
    MinLifetime(u32),
    MaxClientToSelfDelay(u32),
    MinPaymentSize(u64),
    MaxPaymentSize(u64),
}

/// A non-zero change for every covered field; the new value always differs from the old.
fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (1..=u64::MAX).prop_map(Tamper::MinFee),
        (1..=u32::MAX).prop_map(Tamper::Proportional),
        (1..=Datetime::MAX.unix_millis()).prop_map(Tamper::ValidUntil),
        (1..=u32::MAX).prop_map(Tamper::MinLifetime),
        (1..=u32::MAX).prop_map(Tamper::MaxClientToSelfDelay),
        (1..=u64::MAX).prop_map(Tamper::MinPaymentSize),
        (1..=u64::MAX).prop_map(Tamper::MaxPaymentSize),
    ]
}

/// Applies `t` by wrapping addition, so the field changes and stays in range.
fn apply(p: &OpeningFeeParams, t: &Tamper) -> OpeningFeeParams {
    let mut p = p.clone();
    match *t {
        Tamper::MinFee(d) => p.min_fee_msat = Msat(p.min_fee_msat.get().wrapping_add(d)),
        Tamper::Proportional(d) => p.proportional = Ppm(p.proportional.get().wrapping_add(d)),
        Tamper::ValidUntil(d) => {
            let span = Datetime::MAX.unix_millis() + 1;
            let ms = (p.valid_until.unix_millis() + d) % span;
            p.valid_until = Datetime::from_unix_millis(ms).unwrap();
        }
        Tamper::MinLifetime(d) => p.min_lifetime = p.min_lifetime.wrapping_add(d),
        Tamper::MaxClientToSelfDelay(d) => {
            p.max_client_to_self_delay = p.max_client_to_self_delay.wrapping_add(d)
        }
        Tamper::MinPaymentSize(d) => {
            p.min_payment_size_msat = Msat(p.min_payment_size_msat.get().wrapping_add(d))
        }
        Tamper::MaxPaymentSize(d) => {
            p.max_payment_size_msat = Msat(p.max_payment_size_msat.get().wrapping_add(d))
        }
    }
    p
}

fn issue(secret: &PromiseSecret, node: &NodeId, raw: RawOpeningFeeParams) -> OpeningFeeParams {
    let p = secret.issue(node, raw);
    assert!(
        p.check_promise_format().is_ok(),
        "issued promise breaks the format rules"
    );
    p
}

proptest! {
    #[test]
    fn promise_verifies_for_its_params_and_node(
        secret in any::<[u8; 32]>(), node in node_id(), raw in raw_opening_fee_params(),
    ) {
        let secret = PromiseSecret(secret);
        let p = issue(&secret, &node, raw);
        prop_assert!(secret.verify(&node, &p));
        // The JSON round trip (what a client sends back) still verifies.
        let back: OpeningFeeParams =
            serde_json::from_slice(&serde_json::to_vec(&p).unwrap()).unwrap();
        prop_assert!(secret.verify(&node, &back));
    }

    #[test]
    fn promise_fails_after_any_field_change(
        secret in any::<[u8; 32]>(), node in node_id(), raw in raw_opening_fee_params(),
        t in tamper(),
    ) {
        let secret = PromiseSecret(secret);
        let p = issue(&secret, &node, raw);
        let tampered = apply(&p, &t);
        prop_assert_ne!(&tampered, &p);
        prop_assert!(!secret.verify(&node, &tampered), "{:?} still verifies", t);
    }

    #[test]
    fn promise_fails_for_another_node(
        secret in any::<[u8; 32]>(), node in node_id(), other in node_id(),
        raw in raw_opening_fee_params(),
    ) {
        prop_assume!(node != other);
        let secret = PromiseSecret(secret);
        let p = issue(&secret, &node, raw);
        prop_assert!(!secret.verify(&other, &p));
    }

    #[test]
    fn promise_fails_after_any_promise_change(
        secret in any::<[u8; 32]>(), node in node_id(), raw in raw_opening_fee_params(),
        position in 0usize..64, digit in 0u8..15,
    ) {
        let secret = PromiseSecret(secret);
        let p = issue(&secret, &node, raw);
        let mut bytes = p.promise.clone().into_bytes();
        let hex = b"0123456789abcdef";
        let old = hex.iter().position(|&c| c == bytes[position]).unwrap() as u8;
        // Another hex digit (never the same one, never a case change).
        bytes[position] = hex[usize::from((old + 1 + digit) % 16)];
        let tampered = OpeningFeeParams { promise: String::from_utf8(bytes).unwrap(), ..p };
        prop_assert!(!secret.verify(&node, &tampered));
    }

    #[test]
    fn promise_fails_under_another_secret(
        secret in any::<[u8; 32]>(), other in any::<[u8; 32]>(), node in node_id(),
        raw in raw_opening_fee_params(),
    ) {
        prop_assume!(secret != other);
        let p = issue(&PromiseSecret(secret), &node, raw);
        prop_assert!(!PromiseSecret(other).verify(&node, &p));
    }
}
