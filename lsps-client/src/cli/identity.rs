//! The client's node key: from `--node-key-file`, or kept in the data directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use lsps_client::transport::bolt8::NodeKey;

use super::output::{Failure, usage};

/// The default data directory: `$XDG_DATA_HOME/lsps`, else `$HOME/.local/share/lsps`.
pub(crate) fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("lsps"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/lsps"))
}

/// The node key in `dir/node.key` (64 hex characters), created with a fresh random key on
/// first use (owner-only permissions on Unix).
pub(crate) fn data_dir_key(dir: &Path) -> Result<NodeKey, Failure> {
    let path = dir.join("node.key");
    if path.exists() {
        return NodeKey::from_file(&path).map_err(|e| usage(e.to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        usage(format!(
            "creating the data directory {}: {e}",
            dir.display()
        ))
    })?;
    let secret: [u8; 32] = loop {
        let bytes: [u8; 32] = rand::random();
        if bitcoin::secp256k1::SecretKey::from_slice(&bytes).is_ok() {
            break bytes;
        }
    };
    // Written whole under a temporary name, then linked into place: two `lsps` started at
    // once never read a half-written key, and the second keeps the first one's key.
    let temp = dir.join(format!(
        "node.key.{}.tmp",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut file| file.write_all(hex::encode(secret).as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(usage(format!("creating {}: {e}", temp.display())));
    }
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(usage(format!("creating {}: {e}", path.display()))),
    }
    NodeKey::from_file(&path).map_err(|e| usage(e.to_string()))
}
