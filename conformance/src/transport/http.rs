//! HTTP target over lsps-client's `HttpTransport` (this project's binding,
//! `spec/bindings/http.md`): each payload is one POST and its body is the reply. A
//! "connection" is a caller identity: a random node id named in the binding's header.

use super::adapt;
use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use lsps_client::transport::bolt8::NodeKey;
use lsps_client::transport::http::{HttpTransport, WsTransport};
use std::sync::Arc;
use std::time::Duration;

/// An LSP reachable at an `http(s)://` URL (or `ws(s)://` with [`HttpTarget::websocket`]).
pub struct HttpTarget {
    url: String,
    /// `--node-key-file`: the one identity every connection names.
    key: Option<NodeKey>,
    websocket: bool,
}

impl HttpTarget {
    /// A target at `url`; the URL is checked by opening (not connecting) a transport.
    pub fn new(url: &str) -> Result<Self, TargetError> {
        Self::with_key(url, None)
    }

    /// A target at `url` whose connections all name `key`'s node id (a fresh random one each
    /// without it).
    pub fn with_key(url: &str, key: Option<NodeKey>) -> Result<Self, TargetError> {
        HttpTransport::new(url, None).map_err(|e| TargetError::BadAddress(e.to_string()))?;
        Ok(HttpTarget {
            url: url.to_owned(),
            key,
            websocket: false,
        })
    }

    /// Opens (and closes) a TCP connection to the URL's host and port.
    async fn check_reachable(&self) -> Result<(), TargetError> {
        let (host, port) = host_port(&self.url)
            .ok_or_else(|| TargetError::BadAddress(format!("{}: no host", self.url)))?;
        match tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(TargetError::Unreachable(format!("{}: {e}", self.url))),
            Err(_) => Err(TargetError::Unreachable(format!(
                "{}: no TCP connection within 10 s",
                self.url
            ))),
        }
    }

    /// A WebSocket target (`ws(s)://`): one socket per connection, a session like BOLT8.
    pub fn websocket(url: &str, key: Option<NodeKey>) -> Self {
        HttpTarget {
            url: url.to_owned(),
            key,
            websocket: true,
        }
    }
}

impl Target for HttpTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            transport: if self.websocket { "ws" } else { "http" }.into(),
            node_id: None,
            url: Some(self.url.clone()),
            advertised_protocols: None,
        }
    }

    fn address(&self) -> String {
        self.url.clone()
    }

    fn is_session_oriented(&self) -> bool {
        self.websocket
    }

    fn fixed_identity(&self) -> bool {
        self.key.is_some()
    }

    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>> {
        Box::pin(async move {
            let node_id = self
                .key
                .clone()
                .unwrap_or_else(NodeKey::random)
                .node_id()
                .to_string();
            if self.websocket {
                let ws = tokio::time::timeout(
                    Duration::from_secs(10),
                    WsTransport::connect(&self.url, Some(node_id.clone())),
                )
                .await
                .map_err(|_| TargetError::Unreachable(format!("{}: connect timed out", self.url)))?
                .map_err(|e| TargetError::Unreachable(e.to_string()))?;
                return Ok(adapt(Arc::new(ws), Some(node_id)));
            }
            // An HTTP "connection" opens no socket until the first POST, whose failure would
            // only show as a missing reply: dial the host first, so an unreachable target is
            // reported at once (exit 2) instead of as a run of TIMEOUTs.
            self.check_reachable().await?;
            let transport = HttpTransport::new(&self.url, Some(node_id.clone()))
                .map_err(|e| TargetError::BadAddress(e.to_string()))?;
            Ok(adapt(Arc::new(transport), Some(node_id)))
        })
    }
}

/// Host and port of an `http(s)://` URL (the scheme's default port when none is given).
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None if !authority.is_empty() => Some((authority.to_owned(), default)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::host_port;

    #[test]
    fn host_and_port_of_urls() {
        assert_eq!(
            host_port("http://127.0.0.1:8080/x").unwrap(),
            ("127.0.0.1".into(), 8080)
        );
        assert_eq!(
            host_port("https://lsp.example").unwrap(),
            ("lsp.example".into(), 443)
        );
        assert_eq!(host_port("http://[::1]:9/").unwrap(), ("::1".into(), 9));
        assert!(host_port("nonsense").is_none());
    }
}
