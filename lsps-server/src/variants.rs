//! Spec-legal variations of the reference server's behaviour (`--variant NAME`), for the
//! conformance runner's self-test: an LSP may answer differently from this project's own
//! choices and still follow every bLIP MUST, and the runner must not FAIL it.
//!
//! Unlike [`crate::faults`], nothing here violates the bLIPs; each variant names the sentence
//! that allows it. Variants wrap the dispatcher ([`VariantDispatch`]) and act on the raw payload
//! and the encoded reply, so the service handlers stay untouched; with no variant selected the
//! dispatcher is used directly.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::transport::{Caller, Dispatch, Dispatched};

/// One spec-legal variation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Every `lsps1.create_order` and `lsps2.buy` is answered with code 1 `client_rejected`.
    /// bLIP-50: "A LSP MAY return a `Client rejected` error in case it does not want to offer
    /// a service to the client."
    RefuseWrites,
    /// `lsps2.buy` at exactly `max_payment_size_msat` is answered 203. bLIP-52: 203 when "the
    /// LSP has insufficient incoming liquidity from the public network to receive the
    /// `payment_size_msat`".
    NoLiquidityAtMax,
    /// `lsps2.get_info` ignores a token it does not know and answers the menu. bLIP-52 defines
    /// 200 for an unrecognized token but no sentence requires it.
    AcceptUnknownTokens,
    /// Every error carries a `data` object (`{"message": …}` where the code defines none).
    /// JSON-RPC 2.0: data "may be omitted"; bLIP-50 only requires it to be an object.
    DataOnEveryError,
    /// `lsps2.buy` with an `opening_fee_params` that is not exactly the eight fields is
    /// answered 201: its promise cannot prove such an object (bLIP-52: 201 when "the `promise`
    /// did not match the parameters").
    BadFeeParamsGet201,
    /// `lsps1.get_info` results are sent after 7 s. bLIP-50 asks clients for timeouts "on the
    /// scale of minutes".
    SlowGetInfo,
}

/// A variant's name and what it does.
#[derive(Debug, Clone, Copy)]
pub struct VariantInfo {
    /// The variant.
    pub variant: Variant,
    /// Name on the command line (`--variant NAME`).
    pub name: &'static str,
    /// One line for `--help`.
    pub description: &'static str,
}

/// Every variant.
pub const ALL: &[VariantInfo] = &[
    VariantInfo {
        variant: Variant::RefuseWrites,
        name: "refuse-writes",
        description: "answer every lsps1.create_order and lsps2.buy with code 1 client_rejected",
    },
    VariantInfo {
        variant: Variant::NoLiquidityAtMax,
        name: "no-liquidity-at-max",
        description: "answer lsps2.buy at max_payment_size_msat with 203 (no inbound liquidity)",
    },
    VariantInfo {
        variant: Variant::AcceptUnknownTokens,
        name: "accept-unknown-tokens",
        description: "answer lsps2.get_info with an unknown token with the normal menu",
    },
    VariantInfo {
        variant: Variant::DataOnEveryError,
        name: "data-on-every-error",
        description: "put a data object on every error reply",
    },
    VariantInfo {
        variant: Variant::BadFeeParamsGet201,
        name: "bad-fee-params-get-201",
        description: "answer lsps2.buy with malformed opening_fee_params with 201, not -32602",
    },
    VariantInfo {
        variant: Variant::SlowGetInfo,
        name: "slow-get-info",
        description: "send lsps1.get_info results after 7 s",
    },
];

/// How long [`Variant::SlowGetInfo`] holds a reply.
pub const SLOW_REPLY_DELAY: Duration = Duration::from_secs(7);

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .find(|v| v.name == s)
            .map(|v| v.variant)
            .ok_or_else(|| {
                let names: Vec<&str> = ALL.iter().map(|v| v.name).collect();
                format!("unknown variant {s:?}; known: {}", names.join(", "))
            })
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = ALL
            .iter()
            .find(|v| v.variant == *self)
            .map(|v| v.name)
            .unwrap_or("?");
        f.write_str(name)
    }
}

/// The variants switched on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantSet(Vec<Variant>);

impl VariantSet {
    /// Parse variant names.
    pub fn from_names(names: &[String]) -> Result<Self, String> {
        let mut set = Vec::new();
        for name in names {
            let v: Variant = name.parse()?;
            if !set.contains(&v) {
                set.push(v);
            }
        }
        Ok(Self(set))
    }

    /// Whether `v` is on.
    pub fn has(&self, v: Variant) -> bool {
        self.0.contains(&v)
    }

    /// Whether none is on.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `inner`, wrapped if any variant is on.
    pub fn wrap(&self, inner: Arc<dyn Dispatch>) -> Arc<dyn Dispatch> {
        if self.is_empty() {
            inner
        } else {
            Arc::new(VariantDispatch {
                inner,
                variants: self.clone(),
            })
        }
    }
}

/// A dispatcher with spec-legal variations applied around it.
pub struct VariantDispatch {
    inner: Arc<dyn Dispatch>,
    variants: VariantSet,
}

const OPENING_FEE_PARAMS_FIELDS: [&str; 8] = lsps_core::lsps2::OpeningFeeParams::FIELD_NAMES;

fn error_reply(id: &str, code: i64, message: &str, data: Value) -> Dispatched {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}});
    Dispatched::Reply(body.to_string().into_bytes())
}

impl VariantDispatch {
    /// An answer the variants give instead of the server's, or a rewritten request.
    fn before(&self, request: &Map<String, Value>) -> Option<Result<Dispatched, Vec<u8>>> {
        let id = request.get("id").and_then(Value::as_str)?;
        let method = request.get("method").and_then(Value::as_str)?;
        let params = request.get("params").and_then(Value::as_object);
        let v = &self.variants;
        if v.has(Variant::RefuseWrites) && matches!(method, "lsps1.create_order" | "lsps2.buy") {
            return Some(Ok(error_reply(
                id,
                1,
                "Client rejected",
                json!({"message": "this LSP does not sell to this client"}),
            )));
        }
        if method == "lsps2.buy"
            && let Some(fee_params) = params
                .and_then(|p| p.get("opening_fee_params"))
                .and_then(Value::as_object)
        {
            let exact = fee_params.len() == OPENING_FEE_PARAMS_FIELDS.len()
                && OPENING_FEE_PARAMS_FIELDS
                    .iter()
                    .all(|k| fee_params.contains_key(*k));
            if v.has(Variant::BadFeeParamsGet201) && !exact {
                return Some(Ok(error_reply(
                    id,
                    201,
                    "Invalid opening fee parameters",
                    json!({"message": "the promise does not prove these opening_fee_params"}),
                )));
            }
            let size = params.and_then(|p| p.get("payment_size_msat"));
            if v.has(Variant::NoLiquidityAtMax)
                && size.is_some()
                && size == fee_params.get("max_payment_size_msat")
            {
                return Some(Ok(error_reply(
                    id,
                    203,
                    "Payment size too large",
                    json!({"message": "not enough inbound liquidity for this payment size"}),
                )));
            }
        }
        if v.has(Variant::AcceptUnknownTokens)
            && method == "lsps2.get_info"
            && params.is_some_and(|p| p.contains_key("token"))
        {
            let mut rewritten = request.clone();
            if let Some(Value::Object(p)) = rewritten.get_mut("params") {
                p.remove("token");
            }
            return Some(Err(Value::Object(rewritten).to_string().into_bytes()));
        }
        None
    }

    /// The reply as the variants send it.
    fn after(&self, method: Option<&str>, reply: Vec<u8>) -> Dispatched {
        let mut reply = reply;
        if self.variants.has(Variant::DataOnEveryError)
            && let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(&reply)
            && let Some(Value::Object(error)) = message.get_mut("error")
            && !error.contains_key("data")
        {
            let text = error
                .get("message")
                .cloned()
                .unwrap_or_else(|| Value::String(String::new()));
            error.insert("data".into(), json!({ "message": text }));
            reply = Value::Object(message).to_string().into_bytes();
        }
        let is_result = reply.windows(9).any(|w| w == b"\"result\":");
        if self.variants.has(Variant::SlowGetInfo) && method == Some("lsps1.get_info") && is_result
        {
            return Dispatched::Pending(Box::pin(async move {
                tokio::time::sleep(SLOW_REPLY_DELAY).await;
                Some(reply)
            }));
        }
        Dispatched::Reply(reply)
    }
}

impl Dispatch for VariantDispatch {
    fn dispatch_from(&self, caller: Caller, payload: &[u8]) -> Dispatched {
        let request = match serde_json::from_slice::<Value>(payload) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        let method = request
            .as_ref()
            .and_then(|r| r.get("method"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let rewritten;
        let payload = match request.as_ref().and_then(|r| self.before(r)) {
            Some(Ok(answer)) => return answer,
            Some(Err(bytes)) => {
                rewritten = bytes;
                &rewritten[..]
            }
            None => payload,
        };
        match self.inner.dispatch_from(caller, payload) {
            Dispatched::Reply(bytes) => self.after(method.as_deref(), bytes),
            Dispatched::NoReply => Dispatched::NoReply,
            Dispatched::Pending(fut) => {
                let this = VariantDispatch {
                    inner: self.inner.clone(),
                    variants: self.variants.clone(),
                };
                Dispatched::Pending(Box::pin(async move {
                    let bytes = fut.await?;
                    this.after(method.as_deref(), bytes).resolve().await
                }))
            }
        }
    }

    fn caller_disconnected(&self, caller: Caller) {
        self.inner.caller_disconnected(caller);
    }

    fn refuse(&self, caller: Caller, payload: &[u8], reason: &str) -> Dispatched {
        self.inner.refuse(caller, payload, reason)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use bitcoin::secp256k1::PublicKey;
    use std::sync::Mutex;

    /// Answers every request with a fixed reply and records what it was given.
    struct Echo {
        reply: &'static str,
        seen: Mutex<Vec<Vec<u8>>>,
    }

    impl Dispatch for Echo {
        fn dispatch_from(&self, _: Caller, payload: &[u8]) -> Dispatched {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(payload.to_vec());
            }
            Dispatched::Reply(self.reply.as_bytes().to_vec())
        }
        fn caller_disconnected(&self, _: Caller) {}
    }

    fn peer() -> PublicKey {
        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            .parse()
            .unwrap()
    }

    async fn answer(variant: &str, reply: &'static str, request: Value) -> (Value, Vec<Vec<u8>>) {
        let echo = Arc::new(Echo {
            reply,
            seen: Mutex::new(Vec::new()),
        });
        let wrapped = VariantSet::from_names(&[variant.to_owned()])
            .unwrap()
            .wrap(echo.clone());
        let bytes = wrapped
            .dispatch(peer(), request.to_string().as_bytes())
            .resolve()
            .await
            .unwrap();
        let seen = echo.seen.lock().unwrap().clone();
        (serde_json::from_slice(&bytes).unwrap(), seen)
    }

    #[tokio::test]
    async fn each_variant_changes_only_what_it_names() {
        let ok = r#"{"jsonrpc":"2.0","id":"a","result":{}}"#;
        let buy = json!({"jsonrpc":"2.0","id":"a","method":"lsps2.buy","params":{}});
        let (reply, seen) = answer("refuse-writes", ok, buy.clone()).await;
        assert_eq!(reply["error"]["code"], 1);
        assert!(seen.is_empty());
        let list = json!({"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}});
        assert_eq!(
            answer("refuse-writes", ok, list).await.0["result"],
            json!({})
        );

        let entry: Map<String, Value> = OPENING_FEE_PARAMS_FIELDS
            .iter()
            .map(|k| ((*k).to_owned(), json!("1000")))
            .collect();
        let at_max = json!({"jsonrpc":"2.0","id":"a","method":"lsps2.buy",
            "params":{"opening_fee_params": entry, "payment_size_msat": "1000"}});
        assert_eq!(
            answer("no-liquidity-at-max", ok, at_max).await.0["error"]["code"],
            203
        );
        let mut extra = entry.clone();
        extra.insert("zz".into(), json!(1));
        let bad = json!({"jsonrpc":"2.0","id":"a","method":"lsps2.buy",
            "params":{"opening_fee_params": extra}});
        assert_eq!(
            answer("bad-fee-params-get-201", ok, bad).await.0["error"]["code"],
            201
        );

        let token =
            json!({"jsonrpc":"2.0","id":"a","method":"lsps2.get_info","params":{"token":"x"}});
        let (_, seen) = answer("accept-unknown-tokens", ok, token).await;
        let forwarded: Value = serde_json::from_slice(&seen[0]).unwrap();
        assert_eq!(forwarded["params"], json!({}));

        let err = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;
        let (reply, _) = answer("data-on-every-error", err, json!({"x": 1})).await;
        assert_eq!(reply["error"]["data"], json!({"message": "Parse error"}));
    }

    #[test]
    fn names_round_trip() {
        for info in ALL {
            assert_eq!(info.name.parse::<Variant>().unwrap(), info.variant);
            assert_eq!(info.variant.to_string(), info.name);
        }
        assert!(VariantSet::from_names(&["nope".into()]).is_err());
    }
}
