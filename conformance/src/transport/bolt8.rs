//! BOLT8 target over lsps-client's `Bolt8Connector`: every connection is a fresh BOLT8 session
//! with its own random node key (LDK keeps one session per node id, and negative cases need
//! independent connections), TCP_NODELAY set, carrying raw 37913 payloads.

use super::adapt;
use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use lsps_client::transport::bolt8::{self, Bolt8Connector, KeyPolicy, NodeKey};
use std::sync::Arc;
use std::time::Duration;

/// An LSP reachable over BOLT8 at `node_id@host:port`.
pub struct Bolt8Target {
    connector: Bolt8Connector,
    fixed_identity: bool,
}

impl Bolt8Target {
    /// A target at `node_id` (66 hex) and `host:port`, with a fresh random key per connection.
    pub fn new(node_id: &str, addr: &str) -> Result<Self, TargetError> {
        let target: bolt8::Bolt8Target = format!("{node_id}@{addr}").parse().map_err(
            |e: lsps_client::transport::TransportError| TargetError::BadAddress(e.to_string()),
        )?;
        Ok(Self::with_key(target, None))
    }

    /// A target from lsps-client's parsed address. With `key` (`--node-key-file`) every
    /// connection uses that node id, so a vendor can allow-list the runner; without it each
    /// connection has a fresh random key (LDK keeps one session per node id, and negative
    /// cases need independent connections).
    pub fn with_key(target: bolt8::Bolt8Target, key: Option<NodeKey>) -> Self {
        let fixed_identity = key.is_some();
        let connector = match key {
            Some(key) => {
                Bolt8Connector::new(target, key.clone()).with_key_policy(KeyPolicy::Fixed(key))
            }
            None => Bolt8Connector::new(target, NodeKey::random())
                .with_key_policy(KeyPolicy::EphemeralPerConnection),
        }
        .with_connect_timeout(Duration::from_secs(10));
        Bolt8Target {
            connector,
            fixed_identity,
        }
    }
}

impl Target for Bolt8Target {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            transport: "bolt8".into(),
            node_id: Some(self.connector.target().node_id.to_string()),
            url: None,
            advertised_protocols: None,
        }
    }

    fn address(&self) -> String {
        self.connector.target().host_port.clone()
    }

    fn fixed_identity(&self) -> bool {
        self.fixed_identity
    }

    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>> {
        Box::pin(async move {
            let conn = self
                .connector
                .connect()
                .await
                .map_err(|e| TargetError::Unreachable(e.to_string()))?;
            let local = conn.local_node_id().to_string();
            Ok(adapt(Arc::new(conn), Some(local)))
        })
    }
}
