//! An in-process target driven by a handler function: used by the runner's own tests (a
//! scripted LSP without sockets) and handy for vendors testing a library without a node.

use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the handler returns for one payload: zero or more reply payloads, or `None` to close.
pub type Handler = dyn Fn(u64, &[u8]) -> Option<Vec<Vec<u8>>> + Send + Sync;

/// A target whose every connection is served by `handler(connection number, payload)`.
pub struct MemoryTarget {
    handler: Arc<Handler>,
    next: std::sync::atomic::AtomicU64,
}

impl MemoryTarget {
    /// Wraps a handler.
    pub fn new(
        handler: impl Fn(u64, &[u8]) -> Option<Vec<Vec<u8>>> + Send + Sync + 'static,
    ) -> Self {
        MemoryTarget {
            handler: Arc::new(handler),
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }
}

impl Target for MemoryTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            transport: "memory".into(),
            node_id: Some("memory".into()),
            url: None,
            advertised_protocols: None,
        }
    }

    fn address(&self) -> String {
        "memory".into()
    }

    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>> {
        let handler = self.handler.clone();
        let number = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move {
            let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let (in_tx, in_rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let task = tokio::spawn(async move {
                while let Some(payload) = out_rx.recv().await {
                    match handler(number, &payload) {
                        Some(replies) => {
                            for reply in replies {
                                if in_tx.send(reply).is_err() {
                                    return;
                                }
                            }
                        }
                        None => return,
                    }
                }
            });
            Ok(RawConnection {
                outgoing: out_tx,
                incoming: in_rx,
                local_node_id: Some(format!("memory-peer-{number}")),
                keepalive: Box::new(AbortOnDrop(task)),
            })
        })
    }
}

/// Aborts a task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
