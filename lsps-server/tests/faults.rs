//! Every fault in `faults::ALL` is observable on the wire, and the same probe passes against the
//! conformant server: the conformance self-test can rely on each fault to fail exactly its case.
#![cfg(all(feature = "faults", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lsps_server::config::{Limits, Lsps1Config, Lsps2Config, MenuEntryConfig};
use lsps_server::dispatch::{Clock, Dispatcher};
use lsps_server::faults::{ALL, Fault, FaultSet};
use lsps_server::service::{Service, ServiceState};
use lsps_server::store::MemoryStore;
use lsps_server::testing::FakeNode;
use lsps_server::transport::{Dispatch, Dispatched};
use serde_json::{Value, json};

const T0: u64 = 1_800_000_000_000;

struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn entropy(&self) -> [u8; 16] {
        rand::random()
    }
}

fn key(b: u8) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
}

struct Probe {
    dispatcher: Dispatcher,
    clock: Arc<TestClock>,
}

impl Probe {
    fn new(faults: FaultSet) -> Self {
        let entry = |min_fee_msat, proportional| MenuEntryConfig {
            min_fee_msat,
            proportional,
            valid_for_secs: 3_600,
            min_lifetime: 144,
            max_client_to_self_delay: 2_016,
            min_payment_size_msat: 1_000,
            max_payment_size_msat: 1_000_000_000,
        };
        let lsps2 = Lsps2Config {
            menu: vec![entry(546_000, 1_200), entry(1_092_000, 2_400)],
            ..Default::default()
        };
        let service = Service::new(
            &Lsps1Config::default(),
            &lsps2,
            &Limits::default(),
            [3; 32],
            faults,
        )
        .unwrap();
        let clock = Arc::new(TestClock(AtomicU64::new(T0)));
        let dispatcher = Dispatcher::new(
            service,
            Arc::new(FakeNode::new(1 << 40)),
            ServiceState::default(),
            Arc::new(MemoryStore::new()),
            clock.clone(),
        );
        Self { dispatcher, clock }
    }

    async fn raw(&self, from: u8, payload: &[u8]) -> Option<Value> {
        match self.dispatcher.dispatch(key(from), payload) {
            Dispatched::NoReply => None,
            d => Some(serde_json::from_slice(&d.resolve().await.unwrap()).unwrap()),
        }
    }

    async fn call(&self, from: u8, method: &str, params: Value) -> Value {
        let payload = json!({"jsonrpc": "2.0", "id": "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", "method": method, "params": params});
        self.raw(from, payload.to_string().as_bytes())
            .await
            .expect("a reply")
    }

    async fn menu_entry(&self, from: u8) -> Value {
        self.call(from, "lsps2.get_info", json!({})).await["result"]["opening_fee_params_menu"][0]
            .clone()
    }

    async fn buy(&self, from: u8, entry: Value, size: u64) -> Value {
        self.call(
            from,
            "lsps2.buy",
            json!({"opening_fee_params": entry, "payment_size_msat": size.to_string()}),
        )
        .await
    }
}

fn order(lsp_balance_sat: u64, client_balance_sat: u64) -> Value {
    json!({
        "lsp_balance_sat": lsp_balance_sat.to_string(),
        "client_balance_sat": client_balance_sat.to_string(),
        "required_channel_confirmations": 0,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false
    })
}

fn is_code(reply: &Value, code: i64) -> bool {
    reply["error"]["code"].as_i64() == Some(code)
}

fn has_result(reply: &Value) -> bool {
    reply.get("result").is_some()
}

/// Runs the probe for `fault`; returns true if the violation is visible.
async fn violated(fault: Fault, p: &Probe) -> bool {
    match fault {
        Fault::UnknownMethodWrongCode => {
            !is_code(&p.call(1, "lsps9.nope", json!({})).await, -32601)
        }
        Fault::MenuUnordered => {
            let menu =
                p.call(1, "lsps2.get_info", json!({})).await["result"]["opening_fee_params_menu"]
                    .clone();
            let typed: Vec<lsps_core::lsps2::OpeningFeeParams> =
                serde_json::from_value(menu).unwrap();
            lsps_core::lsps2::validate_menu(&typed).is_err()
        }
        Fault::PromiseNotChecked => {
            let mut entry = p.menu_entry(1).await;
            entry["min_fee_msat"] = "1".into();
            has_result(&p.buy(1, entry, 50_000_000).await)
        }
        Fault::StringErrorData => {
            let mut entry = p.menu_entry(1).await;
            entry["min_fee_msat"] = "1".into();
            p.buy(1, entry, 50_000_000).await["error"]["data"].is_string()
        }
        Fault::ExtraFieldInOpeningFeeParams => {
            p.menu_entry(1).await.as_object().unwrap().len() != 8
        }
        Fault::ListProtocolsIncludesZero => {
            p.call(1, "lsps0.list_protocols", json!({})).await["result"]["protocols"]
                .as_array()
                .unwrap()
                .contains(&json!(0))
        }
        Fault::NoReplyToBadJson => p.raw(1, b"{").await.is_none(),
        Fault::MuteAfterError => {
            let _ = p.raw(1, b"{").await;
            p.raw(
                1,
                br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}}"#,
            )
            .await
            .is_none()
        }
        Fault::ValidUntilTooSoon => {
            let entry = p.menu_entry(1).await;
            let valid_until: lsps_core::types::Datetime =
                entry["valid_until"].as_str().unwrap().parse().unwrap();
            valid_until.unix_millis() < T0 + 10 * 60 * 1000
        }
        Fault::TokenNotMirrored => {
            p.call(1, "lsps1.create_order", order(1_000_000, 0)).await["result"]["token"] != ""
        }
        Fault::ParseErrorIdNotNull => p.raw(1, b"{").await.unwrap()["id"] != Value::Null,
        Fault::UnrecognizedMissing => {
            p.call(1, "lsps0.list_protocols", json!({"zz": 1})).await["error"]["data"]
                .get("unrecognized")
                .is_none()
        }
        Fault::LspBalanceNotChecked => {
            has_result(&p.call(1, "lsps1.create_order", order(100_000_001, 0)).await)
        }
        Fault::Lsps1TokenIgnored => {
            let mut params = order(1_000_000, 0);
            params["token"] = "nope".into();
            has_result(&p.call(1, "lsps1.create_order", params).await)
        }
        Fault::Lsps2TokenIgnored => {
            has_result(&p.call(1, "lsps2.get_info", json!({"token": "nope"})).await)
        }
        Fault::OrdersNotScoped => {
            let created = p.call(1, "lsps1.create_order", order(1_000_000, 0)).await;
            has_result(
                &p.call(
                    2,
                    "lsps1.get_order",
                    json!({"order_id": created["result"]["order_id"]}),
                )
                .await,
            )
        }
        Fault::OrderTotalWrong => {
            let created = p
                .call(1, "lsps1.create_order", order(1_000_000, 20_000))
                .await;
            let bolt11 = &created["result"]["payment"]["bolt11"];
            let fee: u64 = bolt11["fee_total_sat"].as_str().unwrap().parse().unwrap();
            let total: u64 = bolt11["order_total_sat"].as_str().unwrap().parse().unwrap();
            total != fee + 20_000
        }
        Fault::ExpiredParamsAccepted => {
            let entry = p.menu_entry(1).await;
            p.clock.0.store(T0 + 2 * 3_600_000, Ordering::Relaxed);
            let reply = p.buy(1, entry, 50_000_000).await;
            p.clock.0.store(T0, Ordering::Relaxed);
            has_result(&reply)
        }
        Fault::FeeEqualsSizeAccepted => has_result(&p.buy(1, p.menu_entry(1).await, 546_000).await),
        Fault::SizeRangeNotChecked => {
            has_result(&p.buy(1, p.menu_entry(1).await, 2_000_000_000).await)
        }
        Fault::PromiseTooLong => p.menu_entry(1).await["promise"].as_str().unwrap().len() > 512,
        Fault::DatetimeWithoutMillis => !p.call(1, "lsps1.create_order", order(1_000_000, 0)).await
            ["result"]["created_at"]
            .as_str()
            .unwrap()
            .contains('.'),
        Fault::AmountAsNumber => {
            p.call(1, "lsps1.get_info", json!({})).await["result"]["max_channel_balance_sat"]
                .is_number()
        }
        Fault::OptionMismatchWrongCode => !is_code(
            &p.call(1, "lsps1.create_order", order(100_000_001, 0)).await,
            100,
        ),
        Fault::UnknownOrderWrongCode => !is_code(
            &p.call(
                1,
                "lsps1.get_order",
                json!({"order_id": "00000000-0000-4000-8000-000000000000"}),
            )
            .await,
            101,
        ),
        // Money-flow faults show only when a payment goes through the LSP:
        // conformance/tests/flow.rs proves each is caught by its flow case.
        Fault::JitSkimAboveFee | Fault::JitNoChannel | Fault::Lsps1ClaimedWithoutChannel => false,
    }
}

#[tokio::test]
async fn each_fault_is_visible_and_the_conformant_server_is_not() {
    for info in ALL.iter().filter(|f| !f.fault.is_money_flow()) {
        let conformant = Probe::new(FaultSet::NONE);
        assert!(
            !violated(info.fault, &conformant).await,
            "{}: the conformant server violates its probe",
            info.name
        );
        let faulty = Probe::new(FaultSet::from_names(&[info.name]).unwrap());
        assert!(
            violated(info.fault, &faulty).await,
            "{}: fault not visible",
            info.name
        );
    }
}

/// `unrecognized-missing` breaks only LSPS0-R31 (unknown params): the -32602 for an invalid
/// value keeps its `data` (`property`, `message`, empty `unrecognized`).
#[tokio::test]
async fn unrecognized_missing_leaves_invalid_value_errors_alone() {
    let faulty = Probe::new(FaultSet::from_names(&["unrecognized-missing"]).unwrap());
    let conformant = Probe::new(FaultSet::NONE);
    let mut params = order(1_000_000, 0);
    params["lsp_balance_sat"] = json!(1_000_000);
    let from_faulty = faulty.call(1, "lsps1.create_order", params.clone()).await;
    let from_conformant = conformant.call(1, "lsps1.create_order", params).await;
    assert!(is_code(&from_faulty, -32602), "{from_faulty}");
    assert_eq!(from_faulty["error"], from_conformant["error"]);
    assert_eq!(from_faulty["error"]["data"]["property"], "lsp_balance_sat");
    // The unknown-param reply is still stripped.
    let unknown = faulty.call(1, "lsps2.get_info", json!({"zz": 1})).await;
    assert!(
        is_code(&unknown, -32602) && unknown["error"].get("data").is_none(),
        "{unknown}"
    );
}
