//! Client-side requirements checked through lsps-client's public API over an in-memory
//! transport (no network): the test plays the LSP by reading what the client sent and
//! pushing the reply it wants. Complements `client_checks.rs` (scripted BOLT8 LSP) for rules
//! no other test names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsps_client::transport::{BoxFuture, ConnectionId, Transport, TransportError, TransportEvent};
use lsps_client::{
    BuyLimits, CheckFailure, ClientError, FeeOffer, IgnoreReason, LspError, LspsClient, Target,
    sanitize,
};
use lsps_core::jsonrpc::ErrorObject;
use lsps_core::lsps1::{CreateOrderRequest, OrderParams};
use lsps_core::types::{Msat, Sat};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The LSP side of an in-memory transport: what the client sent, and a way to answer.
struct Lsp {
    sent: mpsc::UnboundedReceiver<Vec<u8>>,
    replies: mpsc::UnboundedSender<TransportEvent>,
}

impl Lsp {
    async fn next_request(&mut self) -> Value {
        let payload = tokio::time::timeout(Duration::from_secs(10), self.sent.recv())
            .await
            .expect("the client sends a request")
            .expect("transport open");
        serde_json::from_slice(&payload).unwrap()
    }

    fn reply(&self, id: &Value, result: Value) {
        let payload = json!({"jsonrpc": "2.0", "id": id, "result": result});
        self.replies
            .send(TransportEvent::Message(payload.to_string().into_bytes()))
            .unwrap();
    }
}

struct MemoryTransport {
    sent: mpsc::UnboundedSender<Vec<u8>>,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<TransportEvent>>,
    large_channels: Option<bool>,
    send_count: Arc<Mutex<usize>>,
}

impl Transport for MemoryTransport {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        *self.send_count.lock().unwrap() += 1;
        let result = self
            .sent
            .send(payload)
            .map(|()| 1)
            .map_err(|_| TransportError::Closed);
        Box::pin(async move { result })
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move { self.events.lock().await.recv().await })
    }

    fn describe(&self) -> String {
        "in-memory LSP".into()
    }

    fn peer_supports_large_channels(&self) -> Option<bool> {
        self.large_channels
    }
}

fn pair(large_channels: Option<bool>) -> (LspsClient, Lsp, Arc<Mutex<usize>>) {
    let (sent_tx, sent_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let send_count = Arc::new(Mutex::new(0));
    let transport = MemoryTransport {
        sent: sent_tx,
        events: tokio::sync::Mutex::new(event_rx),
        large_channels,
        send_count: Arc::clone(&send_count),
    };
    let lsp = Lsp {
        sent: sent_rx,
        replies: event_tx,
    };
    (LspsClient::new(transport), lsp, send_count)
}

/// A menu entry as an LSP might write it: valid, but not in lsps-core's canonical form
/// (`valid_until` without milliseconds, keys in a different order).
fn odd_menu_entry() -> Value {
    json!({
        "promise": "opaque-promise+/=~!",
        "valid_until": "2099-01-01T00:00:00Z",
        "proportional": 1000,
        "min_fee_msat": "546000",
        "min_lifetime": 1008,
        "max_client_to_self_delay": 2016,
        "min_payment_size_msat": "1000",
        "max_payment_size_msat": "1000000000"
    })
}

/// LSPS0-R29: the client sanitises `error.message` (NUL, `<`, line breaks, control
/// characters) before showing it.
#[test]
fn error_messages_are_sanitised() {
    let raw = "bad\0<script>\r\nline\u{7}end\u{1b}[31m";
    let clean = sanitize(raw);
    assert!(
        !clean
            .chars()
            .any(|c| c == '\0' || c == '<' || c == '\n' || c == '\r' || c.is_control()),
        "{clean:?}"
    );
    assert!(clean.contains("bad") && clean.contains("end"));
    let error = LspError::from_object(ErrorObject {
        code: 1,
        message: raw.into(),
        data: None,
    });
    assert_eq!(error.message, clean);
}

/// LSPS0-R55: a connection string splits at the first `@` and the last `:`, and each part
/// is validated.
#[test]
fn connection_strings_split_at_first_at_and_last_colon() {
    let key = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let Target::Bolt8(t) = format!("{key}@[::1]:9735").parse::<Target>().unwrap() else {
        panic!("not a BOLT8 target");
    };
    assert_eq!(t.host_port, "[::1]:9735");
    assert_eq!(t.node_id.to_string(), key);
    let Target::Bolt8(t) = format!("{key}@host@x:1").parse::<Target>().unwrap() else {
        panic!("not a BOLT8 target");
    };
    assert_eq!(t.host_port, "host@x:1");
    for bad in [
        format!("{key}127.0.0.1:9735"),
        format!("{key}@127.0.0.1"),
        format!("{key}@127.0.0.1:99999"),
        format!("{key}@:9735"),
        "02zz@127.0.0.1:9735".to_string(),
    ] {
        assert!(bad.parse::<Target>().is_err(), "{bad} accepted");
    }
}

/// LSPS0-R36: a request without a reply times out as a temporary failure and its id is
/// forgotten: a late reply to it is then ignored as an unknown id.
#[tokio::test]
async fn unanswered_request_times_out_and_its_id_is_forgotten() {
    let (client, mut lsp, _) = pair(None);
    let client = client.with_timeout(Duration::from_millis(200));
    let err = client.list_protocols().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    let request = lsp.next_request().await;
    lsp.reply(&request["id"], json!({"protocols": [2]}));
    let mut ignored = Vec::new();
    for _ in 0..100 {
        ignored = client.ignored_messages();
        if !ignored.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        matches!(&ignored[..], [m] if matches!(m.reason, IgnoreReason::UnknownId(_))),
        "{ignored:?}"
    );
}

/// LSPS1-R16: without option_support_large_channel negotiated, the client refuses to order
/// a channel above 16777215 sat and sends nothing.
#[tokio::test]
async fn large_channel_order_needs_the_feature() {
    let (client, _lsp, send_count) = pair(Some(false));
    let request = CreateOrderRequest {
        order: OrderParams {
            lsp_balance_sat: Sat(16_000_000),
            client_balance_sat: Sat(1_000_000),
            required_channel_confirmations: 0,
            funding_confirms_within_blocks: 6,
            channel_expiry_blocks: 144,
            token: None,
            announce_channel: false,
        },
        refund_onchain_address: None,
    };
    let err = client.lsps1_create_order(request, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::LargeChannelNotSupported {
                channel_sat: 17_000_000
            })
        ),
        "{err:?}"
    );
    assert_eq!(*send_count.lock().unwrap(), 0);
}

/// LSPS2-R16 and LSPS2-R25: `buy` carries the menu entry exactly as the LSP sent it (the
/// promise uninterpreted, `valid_until` not re-formatted, no field added or dropped).
/// LSPS2-R35: a result with `client_trusts_lsp: true` aborts unless the caller accepts it.
#[tokio::test]
async fn buy_copies_the_menu_entry_verbatim_and_checks_trust() {
    let (client, mut lsp, _) = pair(None);
    let client = Arc::new(client);
    let task = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.lsps2_get_info(None).await })
    };
    let request = lsp.next_request().await;
    assert_eq!(request["method"], "lsps2.get_info");
    lsp.reply(
        &request["id"],
        json!({"opening_fee_params_menu": [odd_menu_entry()]}),
    );
    let menu = task.await.unwrap().unwrap();
    let offer: FeeOffer = menu.offers[0].clone();

    for (trusts, accept, ok) in [
        (false, false, true),
        (true, false, false),
        (true, true, true),
    ] {
        let buy = {
            let client = Arc::clone(&client);
            let offer = offer.clone();
            tokio::spawn(async move {
                let limits = BuyLimits {
                    max_fee_msat: None,
                    accept_client_trusts_lsp: accept,
                };
                client
                    .lsps2_buy(&offer, Some(Msat(50_000_000)), &limits)
                    .await
            })
        };
        let request = lsp.next_request().await;
        assert_eq!(request["method"], "lsps2.buy");
        assert_eq!(request["params"]["opening_fee_params"], odd_menu_entry());
        lsp.reply(
            &request["id"],
            json!({
                "jit_channel_scid": "29451x4815x1",
                "lsp_cltv_expiry_delta": 144,
                "client_trusts_lsp": trusts
            }),
        );
        let outcome = buy.await.unwrap();
        if ok {
            assert_eq!(outcome.unwrap().result.client_trusts_lsp, trusts);
        } else {
            assert!(
                matches!(
                    outcome,
                    Err(ClientError::Check(CheckFailure::ClientTrustsLspRefused))
                ),
                "{outcome:?}"
            );
        }
    }
}

/// LSPS0-R39: the client does not set feature bit 729 in its `init`: the LDK LSP
/// (testkit::ldk_lsp) reads our init features over real loopback BOLT8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_init_does_not_set_bit_729() {
    use lsps_client::transport::bolt8::{Bolt8Connector, NodeKey};
    use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let key = NodeKey::random();
    let _conn = Bolt8Connector::new(lsp.connection_string().parse().unwrap(), key.clone())
        .connect()
        .await
        .unwrap();
    let peers = lsp.node().peer_manager.list_peers();
    let us = peers
        .iter()
        .find(|p| p.counterparty_node_id == key.node_id())
        .expect("the LSP lists our node id");
    // Bit 729 is byte 91, bit 1 of the little-endian flags.
    let flags = us.init_features.le_flags();
    assert!(flags.len() <= 91 || flags[91] & 0b10 == 0, "{flags:?}");
}
