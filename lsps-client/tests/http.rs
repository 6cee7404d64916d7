#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The HTTP POST and WebSocket transports against a local jsonrpsee server.

use std::net::SocketAddr;
use std::time::Duration;

use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use lsps_client::transport::http::{HttpTransport, WsTransport};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_client::{ClientError, LspsClient};
use serde_json::{Value, json};

async fn jsonrpsee_lsp() -> (SocketAddr, ServerHandle) {
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let mut module = RpcModule::new(());
    module
        .register_method("lsps0.list_protocols", |_, _, _| {
            Ok::<Value, ErrorObjectOwned>(json!({"protocols": [1, 2]}))
        })
        .unwrap();
    module
        .register_method("lsps2.get_info", |_, _, _| {
            Err::<Value, ErrorObjectOwned>(ErrorObjectOwned::owned(
                200,
                "unrecognized_or_stale_token",
                None::<()>,
            ))
        })
        .unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start(module))
}

#[tokio::test]
async fn http_post_transport_calls_and_errors() {
    let (addr, _handle) = jsonrpsee_lsp().await;
    let transport = HttpTransport::new(&format!("http://{addr}/"), Some("02".repeat(33))).unwrap();
    let client = LspsClient::new(transport).with_timeout(Duration::from_secs(5));
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![1, 2]);
    match client.lsps2_get_info(None).await.unwrap_err() {
        ClientError::Lsp { error, .. } => assert_eq!(error.code, 200),
        other => panic!("expected LSP error, got {other:?}"),
    }
}

#[tokio::test]
async fn http_post_carries_raw_bytes_and_returns_the_reply_verbatim() {
    let (addr, _handle) = jsonrpsee_lsp().await;
    let transport = HttpTransport::new(&format!("http://{addr}/"), None).unwrap();
    transport
        .send(b"{\"jsonrpc\":\"2.0\",".to_vec())
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_secs(5), transport.recv())
        .await
        .unwrap()
    {
        Some(TransportEvent::Message(body)) => {
            let reply: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(reply["error"]["code"], -32700);
            assert_eq!(reply["id"], Value::Null);
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_transport_calls() {
    let (addr, _handle) = jsonrpsee_lsp().await;
    let transport = WsTransport::connect(&format!("ws://{addr}/ws"), Some("02".repeat(33)))
        .await
        .unwrap();
    let client = LspsClient::new(transport).with_timeout(Duration::from_secs(5));
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![1, 2]);
}

#[tokio::test]
async fn non_http_urls_are_refused() {
    assert!(HttpTransport::new("ftp://127.0.0.1/", None).is_err());
    assert!(HttpTransport::new("http:///nohost", None).is_err());
}

#[tokio::test]
async fn non_200_status_is_an_http_error_not_a_reply() {
    // jsonrpsee answers GET-only paths and wrong methods with 405; any non-200 is an HTTP
    // refusal per spec/bindings/http.md.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf)
            .await
            .unwrap();
        let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"missing X-Lsps-Node-Id"}}"#;
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut socket, response.as_bytes())
            .await
            .unwrap();
    });
    let transport = HttpTransport::new(&format!("http://{addr}/"), None).unwrap();
    let err = transport.send(b"{}".to_vec()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("400") && text.contains("missing X-Lsps-Node-Id"),
        "{text}"
    );
}
