//! `run --spawn-reference`: the reference LSP (`lsps-server`) in-process on loopback with a
//! temporary data directory.

use super::bolt8::Bolt8Target;
use crate::target::Target;
use lsps_server::config::ServerConfig;
use lsps_server::{ReferenceServer, ServerHandle};
use std::sync::Arc;

/// A running reference server and its data directory; stop it with [`Reference::stop`].
pub struct Reference {
    /// The server.
    pub server: ServerHandle,
    /// Its temporary data directory (deleted on drop).
    pub data_dir: tempfile::TempDir,
}

impl Reference {
    /// Starts a server with the given faults (names of `lsps_server::faults::ALL`; they need the
    /// `lsps-server/faults` cargo feature) after `adjust` has edited its configuration.
    pub async fn start(
        faults: &[&str],
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Result<Reference, String> {
        let data_dir = tempfile::tempdir().map_err(|e| format!("temporary data dir: {e}"))?;
        let mut config = ServerConfig::ephemeral(data_dir.path());
        config.faults = faults.iter().map(|f| (*f).to_owned()).collect();
        adjust(&mut config);
        let server = ReferenceServer::start(config)
            .await
            .map_err(|e| format!("{e:#}"))?;
        Ok(Reference { server, data_dir })
    }

    /// A BOLT8 target for this server.
    pub fn bolt8_target(&self) -> Result<Arc<dyn Target>, String> {
        let target = Bolt8Target::new(
            &self.server.node_id().to_string(),
            &self.server.bolt8_addr().to_string(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Arc::new(target))
    }

    /// The server's `node_id@host:port`, for the flow tier's nodes.
    pub fn bolt8(&self) -> Result<lsps_client::transport::bolt8::Bolt8Target, String> {
        format!("{}@{}", self.server.node_id(), self.server.bolt8_addr())
            .parse()
            .map_err(|e: lsps_client::transport::TransportError| e.to_string())
    }

    /// An HTTP target for this server, if its HTTP binding is on.
    pub fn http_target(&self) -> Option<Result<Arc<dyn Target>, String>> {
        self.server.http_url().map(|url| {
            super::http::HttpTarget::new(&url)
                .map(|t| Arc::new(t) as Arc<dyn Target>)
                .map_err(|e| e.to_string())
        })
    }

    /// Shuts the server down, then removes its data directory.
    pub async fn stop(self) {
        self.server.shutdown().await;
        drop(self.data_dir);
    }
}

/// Adjusts the default configuration so that every case's precondition holds and each fault is
/// observable: a minimum of 1 confirmation (so "below the minimum" exists), a channel maximum
/// between `max_initial_lsp_balance_sat` and the sum of both maxima (so the LSP-balance and
/// channel-size checks are separable), and menu entries whose `min_payment_size_msat` is below
/// `min_fee_msat` (so a size whose fee equals it, the 202 boundary, is inside the range), and a
/// last, dearest entry whose range reaches sizes where the fee computation overflows u64 (so the
/// overflow case runs).
pub fn self_test_config(config: &mut ServerConfig) {
    config.lsps1.min_required_channel_confirmations = 1;
    config.lsps1.max_initial_lsp_balance_sat = 100_000_000;
    config.lsps1.max_initial_client_balance_sat = 10_000_000;
    config.lsps1.max_channel_balance_sat = 105_000_000;
    for entry in &mut config.lsps2.menu {
        entry.min_payment_size_msat = 100_000;
    }
    // 4 800 ppm overflows from about 3.8e15 msat; 1e16 msat (100 000 BTC) is below the 21 M
    // BTC supply, so the entry is a legal one.
    push_dearest_entry(config, |entry| {
        entry.max_payment_size_msat = 10_000_000_000_000_000;
    });
}

/// The flow tier against the reference, with waits CI can afford: a 10 s hold timeout for an
/// incomplete MPP group (bLIP-52 asks for at least 90 s; the reference lets it be configured),
/// and a last, dearest menu entry valid for only 8 s, so the `valid_until` case runs without
/// `--long` (the message tier's `valid_until` SHOULD case warns about that entry).
pub fn flow_test_config(config: &mut ServerConfig) {
    config.lsps2.hold_timeout_ms = 10_000;
    push_dearest_entry(config, |entry| {
        entry.valid_for_secs = 8;
        entry.min_payment_size_msat = 1_000_000;
        entry.max_payment_size_msat = 4_000_000_000;
    });
}

/// Appends a copy of the last menu entry at twice its fees (so the menu stays ordered by
/// price), changed by `adjust`.
fn push_dearest_entry(
    config: &mut ServerConfig,
    adjust: impl FnOnce(&mut lsps_server::config::MenuEntryConfig),
) {
    if let Some(mut entry) = config.lsps2.menu.last().cloned() {
        entry.min_fee_msat *= 2;
        entry.proportional *= 2;
        adjust(&mut entry);
        config.lsps2.menu.push(entry);
    }
}
