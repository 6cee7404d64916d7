//! `lsps list-protocols` and `lsps raw`.

use std::sync::Arc;
use std::time::Duration;

use lsps_client::transport::bolt8::{Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_client::{LspsClient, Target, connect};
use serde_json::json;

use super::output::{Failure, Output, emit};

/// `list-protocols`: `lsps0.list_protocols`.
pub(crate) async fn list_protocols(
    client: &LspsClient,
    target: &Target,
    out: &Output,
) -> Result<(), Failure> {
    let result = client.list_protocols().await?;
    out.print(&result, || {
        let names: Vec<String> = result
            .protocols
            .iter()
            .map(|p| format!("LSPS{p}"))
            .collect();
        format!(
            "{target} supports: {}",
            if names.is_empty() {
                "(none besides LSPS0)".into()
            } else {
                names.join(", ")
            }
        )
    });
    Ok(())
}

/// `raw`: one payload out, the first message back, both verbatim. BOLT8 uses a fresh
/// single connection; nothing is checked.
pub(crate) async fn raw(
    target: &Target,
    key: NodeKey,
    connect_timeout: Duration,
    timeout: Duration,
    payload: &[u8],
    out: &Output,
) -> Result<(), Failure> {
    // BOLT8: one fresh connection, not the reconnecting transport `connect` opens.
    let transport: Arc<dyn Transport> = match target {
        Target::Bolt8(t) => Arc::new(
            Bolt8Connector::new(t.clone(), key)
                .with_connect_timeout(connect_timeout)
                .connect()
                .await?,
        ),
        Target::Http(_) | Target::WebSocket(_) => connect(target, key, connect_timeout).await?,
    };
    transport.send(payload.to_vec()).await?;
    let reply = tokio::time::timeout(timeout, async {
        match transport.recv().await {
            Some(TransportEvent::Message(bytes)) => Ok(bytes),
            Some(TransportEvent::Disconnected { .. }) | None => Err(Failure {
                code: 1,
                kind: "disconnected",
                message: "connection closed without a reply".into(),
                lsp_error: None,
            }),
        }
    })
    .await
    .map_err(|_| Failure {
        code: 1,
        kind: "timeout",
        message: format!("no reply within {timeout:?}"),
        lsp_error: None,
    })??;
    if out.json {
        let text = String::from_utf8_lossy(&reply);
        emit(&json!({"reply": text, "utf8": std::str::from_utf8(&reply).is_ok()}).to_string());
    } else {
        emit(&String::from_utf8_lossy(&reply));
    }
    Ok(())
}
