//! [`Target`] implementations: BOLT8, HTTP, in-memory, and the spawned reference server.

pub mod bolt8;
pub mod http;
pub mod memory;

use crate::target::{RawConnection, Target, TargetError};
use lsps_client::transport::{Transport, TransportEvent};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Bridges an lsps-client [`Transport`] (one connection) to a [`RawConnection`]: sends run
/// concurrently (an HTTP send is a whole exchange), received payloads are forwarded, and the
/// incoming channel closes when the transport reports a disconnect.
pub fn adapt(transport: Arc<dyn Transport>, local_node_id: Option<String>) -> RawConnection {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let (in_tx, in_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let sender = transport.clone();
    let send_task = tokio::spawn(async move {
        while let Some(payload) = out_rx.recv().await {
            let t = sender.clone();
            tokio::spawn(async move {
                // A send error shows up as a missing reply (or a disconnect event).
                let _ = t.send(payload).await;
            });
        }
    });
    let receiver = transport.clone();
    let recv_task = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            match event {
                TransportEvent::Message(bytes) => {
                    if in_tx.send(bytes).is_err() {
                        return;
                    }
                }
                TransportEvent::Disconnected { .. } => return,
            }
        }
    });
    RawConnection {
        outgoing: out_tx,
        incoming: in_rx,
        local_node_id,
        keepalive: Box::new((
            transport,
            memory::AbortOnDrop(send_task),
            memory::AbortOnDrop(recv_task),
        )),
    }
}

/// Opens a target from a `--target` string, parsed by lsps-client (the same syntax as
/// `lsps`): `pubkey@host:port`, `http(s)://…` or `ws(s)://…`. With `key`, every connection
/// uses that node identity.
pub fn open(
    spec: &str,
    key: Option<lsps_client::transport::bolt8::NodeKey>,
) -> Result<Arc<dyn Target>, TargetError> {
    let parsed: lsps_client::Target =
        spec.trim()
            .parse()
            .map_err(|e: lsps_client::transport::TransportError| {
                TargetError::BadAddress(format!(
                    "`{spec}`: {e} (expected pubkey@host:port, http(s)://… or ws(s)://…)"
                ))
            })?;
    Ok(match parsed {
        lsps_client::Target::Bolt8(t) => Arc::new(bolt8::Bolt8Target::with_key(t, key)),
        lsps_client::Target::Http(url) => Arc::new(http::HttpTarget::with_key(&url, key)?),
        lsps_client::Target::WebSocket(url) => Arc::new(http::HttpTarget::websocket(&url, key)),
    })
}

/// Something to stop when the run is over (the spawned reference server).
pub type Guard = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Starts the reference LSP in-process on loopback with a temporary data dir and returns a
/// BOLT8 target for it, plus a future that shuts the server down cleanly (await it before
/// exiting, so the data dir outlives the server's last write).
#[cfg(feature = "reference")]
pub async fn spawn_reference() -> Result<(Arc<dyn Target>, Guard), String> {
    let reference = reference::Reference::start(&[], reference::self_test_config).await?;
    let target = reference.bolt8_target()?;
    Ok((target, Box::pin(reference.stop())))
}

/// Without the `reference` feature there is nothing to spawn.
#[cfg(not(feature = "reference"))]
pub async fn spawn_reference() -> Result<(Arc<dyn Target>, Guard), String> {
    Err("lsps-conformance was built without the `reference` feature".into())
}

/// A spawned reference LSP: its BOLT8 target, what stops it, its address for the flow tier's
/// nodes and its embedded chain's Bitcoin Core RPC (URL, cookie file).
pub struct Spawned {
    /// The message tier's target.
    pub target: Arc<dyn Target>,
    /// Stops the server (await it before exiting).
    pub stop: Guard,
    /// `node_id@host:port`.
    pub bolt8: lsps_client::transport::bolt8::Bolt8Target,
    /// The embedded dev chain's RPC: URL and cookie file.
    pub chain_rpc: Option<(String, std::path::PathBuf)>,
}

/// Starts the reference LSP for `run --spawn-reference`; with `flow`, configured so the flow
/// tier's timeouts are short ([`reference::flow_test_config`]).
#[cfg(feature = "reference")]
pub async fn spawn_reference_for(flow: bool) -> Result<Spawned, String> {
    let reference = if flow {
        reference::Reference::start(&[], |c| {
            reference::self_test_config(c);
            reference::flow_test_config(c);
        })
        .await?
    } else {
        reference::Reference::start(&[], reference::self_test_config).await?
    };
    let target = reference.bolt8_target()?;
    let bolt8 = reference.bolt8()?;
    let chain_rpc = reference.server.dev_chain_rpc();
    Ok(Spawned {
        target,
        stop: Box::pin(reference.stop()),
        bolt8,
        chain_rpc,
    })
}

/// Without the `reference` feature there is nothing to spawn.
#[cfg(not(feature = "reference"))]
pub async fn spawn_reference_for(_flow: bool) -> Result<Spawned, String> {
    Err("lsps-conformance was built without the `reference` feature".into())
}

#[cfg(feature = "reference")]
pub mod reference;
