//! What the runner talks to: a [`Target`] opens fresh [`RawConnection`]s that carry raw LSPS
//! payloads (BOLT8 custom message 37913 bodies, or HTTP request bodies).

use crate::report::TargetInfo;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;

/// A boxed, sendable future (the trait objects below need one).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An LSP endpoint under test.
pub trait Target: Send + Sync {
    /// Static description for the report (node id or URL; the probe fills in protocols).
    fn info(&self) -> TargetInfo;
    /// The address actually dialled (volatile: kept in the report's `run` block).
    fn address(&self) -> String;
    /// Opens a new, independent connection (a new BOLT8 session with its own handshake).
    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>>;
    /// Whether one connection carries many messages and can be muted by the peer (BOLT8: yes;
    /// HTTP: each request stands alone, so "still served" checks are trivially true).
    fn is_session_oriented(&self) -> bool {
        true
    }
}

/// A live connection: payloads go out on `outgoing`; payloads from the target arrive on
/// `incoming`, which yields `None` once the connection is closed.
pub struct RawConnection {
    /// Raw payloads to send.
    pub outgoing: mpsc::UnboundedSender<Vec<u8>>,
    /// Raw payloads received; `None` = closed.
    pub incoming: mpsc::UnboundedReceiver<Vec<u8>>,
    /// The runner's node id on this connection, if the transport has one.
    pub local_node_id: Option<String>,
    /// Whatever keeps the transport alive; dropped when the connection is dropped.
    pub keepalive: Box<dyn Any + Send>,
}

impl fmt::Debug for RawConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawConnection")
            .field("local_node_id", &self.local_node_id)
            .finish_non_exhaustive()
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The address could not be parsed.
    #[error("invalid target address: {0}")]
    BadAddress(String),
    /// Connecting, the handshake or the transport failed.
    #[error("cannot connect to target: {0}")]
    Unreachable(String),
}

/// A parsed `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAddr {
    /// `pubkey@host:port`.
    Bolt8 {
        /// 66-hex node id.
        node_id: String,
        /// `host:port`.
        addr: String,
    },
    /// `http://…` or `https://…`.
    Http {
        /// The endpoint URL.
        url: String,
    },
}

impl std::str::FromStr for TargetAddr {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(TargetAddr::Http { url: s.to_owned() });
        }
        // LSPS0: split at the first '@' (and the host at the last ':').
        let Some((node_id, addr)) = s.split_once('@') else {
            return Err(TargetError::BadAddress(format!(
                "`{s}`: expected pubkey@host:port or an http(s):// URL"
            )));
        };
        if node_id.len() != 66 || !node_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TargetError::BadAddress(format!(
                "`{node_id}` is not a 66-character hex node id"
            )));
        }
        let Some((host, port)) = addr.rsplit_once(':') else {
            return Err(TargetError::BadAddress(format!("`{addr}`: missing :port")));
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(TargetError::BadAddress(format!(
                "`{addr}`: bad host or port"
            )));
        }
        Ok(TargetAddr::Bolt8 {
            node_id: node_id.to_ascii_lowercase(),
            addr: addr.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_targets() {
        let pk = "02".to_owned() + &"ab".repeat(32);
        let t: TargetAddr = format!("{pk}@127.0.0.1:9735").parse().unwrap();
        assert_eq!(
            t,
            TargetAddr::Bolt8 {
                node_id: pk.clone(),
                addr: "127.0.0.1:9735".into()
            }
        );
        assert!(matches!(
            "http://127.0.0.1:8080/".parse::<TargetAddr>().unwrap(),
            TargetAddr::Http { .. }
        ));
        assert!("nonsense".parse::<TargetAddr>().is_err());
        assert!(format!("{pk}@host").parse::<TargetAddr>().is_err());
        assert!("02ab@127.0.0.1:1".parse::<TargetAddr>().is_err());
    }
}
