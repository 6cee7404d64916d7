//! [`Target`] implementations: BOLT8, HTTP, in-memory, and the spawned reference server.

pub mod bolt8;
pub mod http;
pub mod memory;

use crate::target::{Target, TargetAddr, TargetError};
use std::sync::Arc;

/// Opens a target from a `--target` string.
pub fn open(spec: &str) -> Result<Arc<dyn Target>, TargetError> {
    match spec.parse::<TargetAddr>()? {
        TargetAddr::Bolt8 { node_id, addr } => {
            Ok(Arc::new(bolt8::Bolt8Target::new(&node_id, &addr)?))
        }
        TargetAddr::Http { url } => Ok(Arc::new(http::HttpTarget::new(&url)?)),
    }
}

/// Starts the reference LSP in-process on loopback with a temporary data dir and returns a
/// BOLT8 target for it, plus a guard that stops the server when dropped.
#[cfg(feature = "reference")]
pub async fn spawn_reference() -> Result<(Arc<dyn Target>, Box<dyn std::any::Any>), String> {
    reference::spawn(&[]).await
}

/// Without the `reference` feature there is nothing to spawn.
#[cfg(not(feature = "reference"))]
pub async fn spawn_reference() -> Result<(Arc<dyn Target>, Box<dyn std::any::Any>), String> {
    Err("lsps-conformance was built without the `reference` feature".into())
}

#[cfg(feature = "reference")]
pub mod reference;
