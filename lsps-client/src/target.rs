//! What `--target` names, and how to reach it.

use std::sync::Arc;
use std::time::Duration;

use crate::transport::bolt8::{Bolt8Connector, Bolt8Target, Bolt8Transport, NodeKey};
use crate::transport::http::{HttpTransport, WsTransport};
use crate::transport::{Transport, TransportError};

/// An LSP endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// BOLT8: `pubkey@host:port`.
    Bolt8(Bolt8Target),
    /// HTTP binding: `http(s)://host:port/…` (POST).
    Http(String),
    /// WebSocket binding: `ws(s)://host:port/ws`.
    WebSocket(String),
}

impl std::str::FromStr for Target {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, TransportError> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(Target::Http(s.to_owned()))
        } else if lower.starts_with("ws://") || lower.starts_with("wss://") {
            Ok(Target::WebSocket(s.to_owned()))
        } else {
            s.parse().map(Target::Bolt8)
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Bolt8(t) => t.fmt(f),
            Target::Http(url) | Target::WebSocket(url) => f.write_str(url),
        }
    }
}

/// Opens a transport to `target`: a reconnecting BOLT8 transport with `key`, an HTTP POST
/// transport naming `key`'s node id, or a WebSocket doing the same.
pub async fn connect(
    target: &Target,
    key: NodeKey,
    connect_timeout: Duration,
) -> Result<Arc<dyn Transport>, TransportError> {
    let node_id = key.node_id().to_string();
    Ok(match target {
        Target::Bolt8(t) => Arc::new(
            Bolt8Transport::connect(
                Bolt8Connector::new(t.clone(), key).with_connect_timeout(connect_timeout),
            )
            .await?,
        ),
        Target::Http(url) => Arc::new(HttpTransport::with_connect_timeout(
            url,
            Some(node_id),
            connect_timeout,
        )?),
        Target::WebSocket(url) => {
            let ws =
                tokio::time::timeout(connect_timeout, WsTransport::connect(url, Some(node_id)))
                    .await
                    .map_err(|_| TransportError::ConnectTimeout(url.clone()))??;
            Arc::new(ws)
        }
    })
}
