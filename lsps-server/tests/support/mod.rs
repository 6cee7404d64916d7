//! What several test files share: child processes of `lsps-server` binaries (a kill-on-drop
//! guard, waiting for a ready file, `lsps-server dev chain` as a process of its own) and, in
//! [`jsonrpc`], the in-process server spoken to over JSON-RPC.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod jsonrpc;

/// Kills the child (and reaps it) when dropped, so a failing test leaves no process behind.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The text of `path` once it exists (a child writes its ready file when it serves), within
/// `timeout`.
pub fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `lsps-server dev chain` serving Bitcoin Core's RPC on a free loopback port, mining only on
/// request.
pub struct DevChainProcess {
    pub process: Kill,
    /// Its data dir (what `lsps-server dev mine --chain-dir` takes).
    pub dir: PathBuf,
    pub rpc_url: String,
    pub cookie_file: PathBuf,
}

impl DevChainProcess {
    /// Start it with its data dir at `dir`; `ready` is where it announces its RPC address.
    pub fn start(dir: &Path, ready: &Path) -> Self {
        let process = Kill(
            Command::new(env!("CARGO_BIN_EXE_lsps-server"))
                .args(["dev", "chain", "--data-dir"])
                .arg(dir)
                .args(["--rpc-listen", "127.0.0.1:0", "--block-interval-secs", "0"])
                .arg("--ready-file")
                .arg(ready)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let announced: Value =
            serde_json::from_str(&wait_for_file(ready, Duration::from_secs(60))).unwrap();
        Self {
            process,
            dir: dir.to_owned(),
            rpc_url: announced["rpc_url"].as_str().unwrap().to_owned(),
            cookie_file: PathBuf::from(announced["cookie_file"].as_str().unwrap()),
        }
    }
}
