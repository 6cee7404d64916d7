#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The LDK client fixture against the LDK service fixture over loopback BOLT8.

use testkit::ldk_client::{LdkClient, LdkClientError};
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_client_lists_gets_info_and_buys_from_ldk_lsp() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let client = LdkClient::connect(lsp.node_id(), lsp.addr()).await.unwrap();

    assert_eq!(client.list_protocols().await.unwrap(), vec![2]);

    let menu = client.lsps2_get_info(None).await.unwrap();
    assert_eq!(menu.len(), 2);
    assert!(menu[0].min_fee_msat < menu[1].min_fee_msat);

    let bought = client
        .lsps2_buy(menu[0].clone(), Some(50_000_000))
        .await
        .unwrap();
    assert_eq!(bought.cltv_expiry_delta, 144);
    assert_ne!(bought.intercept_scid, 0);

    // Below min_payment_size_msat: LDK answers 202 (docs/ldk-notes.md §2).
    let err = client
        .lsps2_buy(menu[0].clone(), Some(1))
        .await
        .unwrap_err();
    match err {
        LdkClientError::Lsp(e) => assert_eq!(e.code, 202),
        other => panic!("expected LSP error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_lsp_rejects_unlisted_token_with_200() {
    let config = LdkLspConfig {
        accepted_tokens: Some(vec!["good".into()]),
        ..LdkLspConfig::default()
    };
    let lsp = LdkLsp::start(config).await.unwrap();
    let client = LdkClient::connect(lsp.node_id(), lsp.addr()).await.unwrap();
    assert_eq!(
        client
            .lsps2_get_info(Some("good".into()))
            .await
            .unwrap()
            .len(),
        2
    );
    match client.lsps2_get_info(Some("bad".into())).await.unwrap_err() {
        LdkClientError::Lsp(e) => assert_eq!(e.code, 200),
        other => panic!("expected LSP error, got {other:?}"),
    }
}
