//! Setup shared by the benches: limits that never reject, a dispatcher over a given node and
//! store, the 2-worker runtime (the machine has 2 cores).
#![allow(dead_code)] // each bench uses its own subset

use std::sync::Arc;

use lsps_server::config::{Limits, Lsps1Config, Lsps2Config};
use lsps_server::dispatch::{Dispatcher, SystemClock};
use lsps_server::faults::FaultSet;
use lsps_server::service::{NodeOps, Service, ServiceState};
use lsps_server::store::Store;

/// Limits that never answer code 1: the benches measure work, not rejections.
pub fn unlimited() -> Limits {
    Limits {
        peer_requests_per_sec: u32::MAX,
        peer_burst: u32::MAX,
        max_orders_per_peer: usize::MAX,
        max_buys_per_peer: usize::MAX,
        ..Limits::default()
    }
}

/// The default LSPS1/LSPS2 service over `node`, dispatching into `store`, with [`unlimited`].
pub fn dispatcher(node: Arc<dyn NodeOps>, store: Arc<dyn Store>) -> Dispatcher {
    let service = Service::new(
        &Lsps1Config::default(),
        &Lsps2Config::default(),
        &unlimited(),
        [7; 32],
        FaultSet::NONE,
    )
    .unwrap();
    Dispatcher::new(
        service,
        node,
        ServiceState::default(),
        store,
        Arc::new(SystemClock),
    )
}

/// A multi-thread runtime with 2 workers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
