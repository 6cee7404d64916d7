//! Start-up safety (issue 16): one server per data directory, no start on a lost or read-only
//! database, the whole configuration checked before anything is created on disk, and the
//! binary's logging flags.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use lsps_server::config::ServerConfig;
use lsps_server::{ReferenceServer, SQLITE_FILE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    let second = ReferenceServer::start(ServerConfig::ephemeral(dir.path())).await;
    let err = format!("{:#}", second.err().expect("second server refused"));
    assert!(err.contains("in use by another lsps-server"), "{err}");
    first.shutdown().await;
    // Released with the first server.
    let again = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_missing_database_beside_a_node_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    server.shutdown().await;
    let db = dir.path().join(SQLITE_FILE);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("{SQLITE_FILE}{suffix}")));
    }
    std::fs::write(&db, b"").unwrap();
    let err = format!(
        "{:#}",
        ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
            .await
            .err()
            .expect("empty database refused")
    );
    assert!(err.contains("is empty"), "{err}");
    std::fs::remove_file(&db).unwrap();
    let err = format!(
        "{:#}",
        ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
            .await
            .err()
            .expect("missing database refused")
    );
    assert!(err.contains("is missing"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    server.shutdown().await;
    let db = dir.path().join(SQLITE_FILE);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = format!(
        "{:#}",
        ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
            .await
            .err()
            .expect("read-only database refused")
    );
    assert!(err.contains("read-only"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_creates_nothing_on_disk() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let mut zero = ServerConfig::ephemeral(&data);
    zero.limits.peer_burst = 0;
    let err = format!("{:#}", ReferenceServer::start(zero).await.err().unwrap());
    assert!(err.contains("peer_burst must be greater than 0"), "{err}");
    let mut bad_menu = ServerConfig::ephemeral(&data);
    bad_menu.lsps2.menu.reverse();
    assert!(ReferenceServer::start(bad_menu).await.is_err());
    let mut bad_peer = ServerConfig::ephemeral(&data);
    bad_peer.lsps1.rejected_peers = vec!["not-a-node-id".into()];
    assert!(ReferenceServer::start(bad_peer).await.is_err());
    assert!(
        !data.exists(),
        "nothing created for a refused configuration"
    );
}

fn server_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lsps-server"))
}

/// Start the binary with `flags` (on a loopback port, no HTTP, a fresh data dir), expect it
/// to refuse to start and create nothing on disk; its stderr.
fn refused_start(flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = server_binary()
        .args(flags)
        .args(["--listen", "127.0.0.1:0", "--no-http"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "exited with failure");
    assert!(!dir.path().join("data").exists(), "nothing created on disk");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_invalid_log_filter_is_a_start_up_error() {
    let stderr = refused_start(&["--log", "info,[{bad"]);
    assert!(stderr.contains("invalid --log filter"), "{stderr}");
}

#[test]
fn zero_limit_flags_are_refused() {
    let stderr = refused_start(&["--peer-requests-per-sec", "0"]);
    assert!(
        stderr.contains("peer_requests_per_sec must be greater than 0"),
        "{stderr}"
    );
}

#[test]
fn zero_worker_threads_are_refused() {
    let stderr = refused_start(&["--worker-threads", "0"]);
    assert!(stderr.contains("--worker-threads"), "{stderr}");
}

/// A configuration error is logged through the chosen format; stderr (a file here, not a
/// terminal) carries no ANSI colour codes in either format.
#[test]
fn log_format_json_and_no_colours_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        server_binary()
            .args(["--log-format", format, "--log", "debug"])
            .args(["--listen", "127.0.0.1:0", "--no-http"])
            .args(["--lsps1-fee-ppm", "1"])
            .arg("--data-dir")
            .arg(dir.path().join("occupied"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // The data dir is a file: start-up fails after the logger is installed, and logs why.
    std::fs::write(dir.path().join("occupied"), b"").unwrap();
    for format in ["text", "json"] {
        let out = run(format);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\u{1b}'),
            "{format}: ANSI escape in {stderr}"
        );
        let failure = stderr
            .lines()
            .find(|l| l.contains("start-up failed"))
            .unwrap_or_else(|| panic!("{format}: no start-up failure logged: {stderr}"));
        if format == "json" {
            let line: serde_json::Value = serde_json::from_str(failure).unwrap();
            assert_eq!(line["level"], "ERROR", "{line}");
        }
    }
}
