#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The client against lightning-liquidity 0.2.7's LSPS0 + LSPS2 service (testkit::ldk_lsp)
//! over real loopback BOLT8.

mod common;

use std::time::Duration;

use common::bolt8_client;
use lsps_client::transport::bolt8::{Bolt8Connector, Bolt8Transport, KeyPolicy, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_client::{BuyLimits, ClientError, LspsClient};
use lsps_core::types::Msat;
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_protocols_get_info_and_buy_against_ldk() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;

    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![2]);

    let menu = client.lsps2_get_info(None).await.unwrap().offers;
    assert_eq!(menu.len(), 2);
    assert_eq!(menu[0].params.min_fee_msat, Msat(5_000));
    assert_eq!(menu[0].params.promise.len(), 64);

    let outcome = client
        .lsps2_buy(&menu[0], Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap();
    assert_eq!(outcome.result.lsp_cltv_expiry_delta, 144);
    assert!(!outcome.result.client_trusts_lsp);
    assert_eq!(outcome.opening_fee_msat, Some(Msat(100_000)));

    // Variable-amount mode (no payment_size_msat).
    let outcome = client
        .lsps2_buy(&menu[1], None, &BuyLimits::default())
        .await
        .unwrap();
    assert_eq!(outcome.opening_fee_msat, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_errors_come_back_typed() {
    let lsp = LdkLsp::start(LdkLspConfig {
        accepted_tokens: Some(vec!["ok".into()]),
        ..LdkLspConfig::default()
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    match client
        .lsps2_get_info(Some("nope".into()))
        .await
        .unwrap_err()
    {
        ClientError::Lsp { error, .. } => {
            assert_eq!(error.code, 200);
            assert_eq!(error.code_name(), "unrecognized_or_stale_token");
        }
        other => panic!("expected LSP error 200, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_opens_independent_concurrent_connections() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let connector =
        Bolt8Connector::new(lsp.connection_string().parse().unwrap(), NodeKey::random())
            .with_key_policy(KeyPolicy::EphemeralPerConnection);
    let mut connections = Vec::new();
    for _ in 0..3 {
        connections.push(connector.connect().await.unwrap());
    }
    let ids: std::collections::HashSet<_> = connections.iter().map(|c| c.local_node_id()).collect();
    assert_eq!(ids.len(), 3);
    for conn in &connections {
        assert!(conn.is_open());
        // LDK's ChannelManager advertises option_support_large_channel in `init`, and
        // lightning-liquidity (advertise_service) bit 729.
        assert!(conn.lsp_supports_large_channels());
        assert!(conn.lsp_advertises_lsps());
    }
    // Each one is served on its own (raw payload in, raw reply out).
    for conn in &connections {
        conn.send(
            br#"{"jsonrpc":"2.0","id":"x1","method":"lsps0.list_protocols","params":{}}"#.to_vec(),
        )
        .await
        .unwrap();
        match tokio::time::timeout(TIMEOUT, conn.recv()).await.unwrap() {
            Some(TransportEvent::Message(reply)) => {
                let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
                assert_eq!(reply["id"], "x1");
                assert_eq!(reply["result"]["protocols"], serde_json::json!([2]));
            }
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_reconnects_on_demand() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let key = NodeKey::random();
    let transport = std::sync::Arc::new(
        Bolt8Transport::connect(Bolt8Connector::new(
            lsp.connection_string().parse().unwrap(),
            key.clone(),
        ))
        .await
        .unwrap(),
    );
    let client = LspsClient::from_arc(transport.clone()).with_timeout(TIMEOUT);
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![2]);
    assert_eq!(transport.local_node_id().await, Some(key.node_id()));

    transport.disconnect().await;
    assert_eq!(transport.local_node_id().await, None);
    // The next request opens a new connection with the same key.
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![2]);
    assert_eq!(transport.local_node_id().await, Some(key.node_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_node_id_fails_the_handshake() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let wrong = format!("{}@{}", NodeKey::random().node_id(), lsp.addr());
    let connector = Bolt8Connector::new(wrong.parse().unwrap(), NodeKey::random())
        .with_connect_timeout(Duration::from_secs(5));
    assert!(connector.connect().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_key_file_sets_our_node_id() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, "11".repeat(32)).unwrap();
    let key = NodeKey::from_file(&path).unwrap();
    let conn = Bolt8Connector::new(lsp.connection_string().parse().unwrap(), key.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(conn.local_node_id(), key.node_id());
    let peers = lsp.node().peer_manager.list_peers();
    let us = peers
        .iter()
        .find(|p| p.counterparty_node_id == key.node_id())
        .expect("the LSP lists our node id");
    // LSPS0: clients MUST NOT set feature bit 729 (byte 91, bit 1, little-endian).
    let flags = us.init_features.le_flags();
    assert!(flags.len() <= 91 || flags[91] & 0b10 == 0);
}

/// Why `lsps2_buy` copies the entry verbatim: LDK's promise covers `valid_until` as RFC 3339
/// text with nanoseconds; the canonical LSPS0 form (milliseconds) no longer verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reencoded_fee_params_fail_ldk_promise_check() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let menu = client.lsps2_get_info(None).await.unwrap();
    let reencoded = lsps_client::FeeOffer::from_params(menu.offers[0].params.clone());
    assert_ne!(reencoded.raw, menu.offers[0].raw);
    match client
        .lsps2_buy(&reencoded, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap_err()
    {
        ClientError::Lsp { error, .. } => assert_eq!(error.code, 201),
        other => panic!("expected LSP error 201, got {other:?}"),
    }
}
