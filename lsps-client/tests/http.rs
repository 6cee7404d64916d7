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

#[tokio::test]
async fn post_sends_the_node_id_header_and_the_body_byte_for_byte() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = vec![0; 4096];
        // Read until the whole body (Content-Length) is in.
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut socket, &mut buf)
                .await
                .unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let body = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut socket, response.as_bytes())
            .await
            .unwrap();
        let _ = seen_tx.send(request);
    });
    let node_id = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let transport = HttpTransport::new(&format!("http://{addr}/"), Some(node_id.into())).unwrap();
    // Not UTF-8, with a NUL: the binding passes the body through unchanged.
    let payload = b"{\"a\":\"\xff\x00\"}".to_vec();
    transport.send(payload.clone()).await.unwrap();
    let request = seen_rx.await.unwrap();
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("post / http/1.1"), "{head}");
    assert!(
        head.contains(&format!("x-lsps-node-id: {node_id}")),
        "{head}"
    );
    assert_eq!(&request[head_end + 4..], &payload[..]);
    match transport.recv().await {
        Some(TransportEvent::Message(body)) => assert!(body.starts_with(b"{\"jsonrpc\"")),
        other => panic!("expected the reply, got {other:?}"),
    }
}

/// A host that never completes the TCP handshake: a loopback listener with a backlog of 0 whose
/// one queued connection is never accepted, so the kernel drops further SYNs. Without a connect
/// timeout a POST to it waits for the kernel's SYN retries (minutes); with one it fails with
/// `ConnectTimeout`. The outer bound only keeps a regression from hanging the suite.
#[tokio::test]
async fn http_post_to_a_host_that_never_accepts_times_out_connecting() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue (never accepted).
    let _queued = tokio::net::TcpStream::connect(addr).await.unwrap();
    let transport = HttpTransport::with_connect_timeout(
        &format!("http://{addr}/"),
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        transport.send(
            b"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"lsps0.list_protocols\"}".to_vec(),
        ),
    )
    .await
    .expect("the POST must end on its own connect timeout");
    match outcome {
        Err(lsps_client::transport::TransportError::ConnectTimeout(url)) => {
            assert!(url.contains(&addr.port().to_string()), "{url}");
        }
        other => panic!("expected ConnectTimeout, got {other:?}"),
    }
    drop(listener);
}
