#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
//! Shared helpers for the client's integration tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lsps_client::LspsClient;
use lsps_client::transport::bolt8::{Bolt8Connector, Bolt8Transport, NodeKey};
use lsps_core::types::Datetime;
use serde_json::{Value, json};

/// A client over a fresh reconnecting BOLT8 transport to `node_id@addr`.
pub async fn bolt8_client(connection_string: &str, timeout: Duration) -> LspsClient {
    let target = connection_string.parse().unwrap();
    let transport = Bolt8Transport::connect(Bolt8Connector::new(target, NodeKey::random()))
        .await
        .unwrap();
    LspsClient::new(transport).with_timeout(timeout)
}

/// `now + offset_secs` as an LSPS datetime string (offset may be negative).
pub fn datetime_in(offset_secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Datetime::from_unix_millis((now + offset_secs * 1000) as u64)
        .unwrap()
        .to_string()
}

/// A well-formed menu entry valid for an hour; tweak fields with `with`.
pub fn entry(min_fee_msat: u64, proportional: u32) -> Value {
    json!({
        "min_fee_msat": min_fee_msat.to_string(),
        "proportional": proportional,
        "valid_until": datetime_in(3600),
        "min_lifetime": 1008,
        "max_client_to_self_delay": 2016,
        "min_payment_size_msat": "1000000",
        "max_payment_size_msat": "1000000000",
        "promise": "a".repeat(64),
    })
}

/// `value` with `key` set to `new`.
pub fn with(mut value: Value, key: &str, new: Value) -> Value {
    value.as_object_mut().unwrap().insert(key.into(), new);
    value
}

/// The `lsps` binary as a wallet runs it: `--target target --data-dir data_dir`, then `command`
/// (e.g. `["lsps2", "receive"]`) following the dev chain in `chain_dir`, then `extra`; output
/// piped, killed when dropped, logging at `LSPS_TEST_LOG` (default `warn`).
pub fn wallet_command(
    target: &str,
    data_dir: &std::path::Path,
    command: &[&str],
    chain_dir: &std::path::Path,
    extra: &[&str],
) -> tokio::process::Command {
    let mut lsps = tokio::process::Command::new(env!("CARGO_BIN_EXE_lsps"));
    lsps.arg("--target")
        .arg(target)
        .arg("--data-dir")
        .arg(data_dir)
        .args(command)
        .arg("--chain-dir")
        .arg(chain_dir)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env(
            "RUST_LOG",
            std::env::var("LSPS_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true);
    lsps
}
