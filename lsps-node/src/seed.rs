//! The node seed: 32 random bytes in a file of the data dir, created once. Every long-lived
//! secret (LDK keys, the wallet's master key, the LSPS2 promise key) is derived from it.

use std::path::{Path, PathBuf};

use bitcoin::hashes::{Hash, HashEngine, sha256};

/// Why the seed could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// Reading or writing the seed file failed.
    #[error("seed file {path}: {source}")]
    Io {
        /// The seed file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but does not hold exactly 32 bytes.
    #[error("seed file {0} must hold exactly 32 bytes")]
    WrongLength(PathBuf),
}

/// Load the 32-byte seed from `path`, creating it from the OS RNG if absent (mode 0600, written
/// to a temp file and renamed so a crash never leaves a short seed behind).
pub fn load_or_create_seed(path: &Path) -> Result<[u8; 32], SeedError> {
    let io = |source| SeedError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            return bytes
                .as_slice()
                .try_into()
                .map_err(|_| SeedError::WrongLength(path.to_owned()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let seed: [u8; 32] = rand::random();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, seed).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(seed)
}

/// A secret for one purpose, derived from the seed: `sha256(domain || seed)`, so secrets of
/// different purposes never coincide and none reveals the seed.
pub fn derive_secret(seed: &[u8; 32], domain: &[u8]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(domain);
    engine.input(seed);
    sha256::Hash::from_engine(engine).to_byte_array()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seed_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed");
        let first = load_or_create_seed(&path).unwrap();
        assert_eq!(load_or_create_seed(&path).unwrap(), first);
        std::fs::write(&path, [1u8; 31]).unwrap();
        assert!(matches!(
            load_or_create_seed(&path),
            Err(SeedError::WrongLength(_))
        ));
    }
}
