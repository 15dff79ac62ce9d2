//! Key files: created on first start with mode 0600, refused when others can read them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use legion_audit::CheckpointSigner;
use legion_web::Keys;
use rand::RngCore;

/// The audit log's origin unless `--audit-origin` names another: the first line of every
/// checkpoint, and the name its key signs under. Set it once per deployment (a witness tells
/// logs apart by it) and never change it, or older checkpoints no longer verify.
pub const DEFAULT_AUDIT_ORIGIN: &str = "legion/audit";

/// The Ed25519 seed that signs audit checkpoints, in the key directory; used for nothing else.
pub const CHECKPOINT_KEY_FILE: &str = "audit-checkpoint.key";

/// Loads the key files from `dir`, creating missing ones; checkpoints name `audit_origin`.
pub fn load_or_create_for(dir: &Path, audit_origin: &str) -> Result<Keys> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create key directory {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict key directory {}", dir.display()))?;
    Ok(Keys {
        index_key: key_file(&dir.join("index.key"))?,
        checkpoint: Arc::new(checkpoint_signer(dir, audit_origin, true)?),
        credentials: Arc::new(
            legion_web::credentials::CredentialKeys::open(dir)
                .with_context(|| format!("cannot open the credential keys in {}", dir.display()))?,
        ),
    })
}

/// The audit-checkpoint signer from its key file in `dir`, signing as `origin`. The file is
/// created (mode 0600) only when `create` is set; otherwise a missing one is an error.
pub fn checkpoint_signer(dir: &Path, origin: &str, create: bool) -> Result<CheckpointSigner> {
    let path = dir.join(CHECKPOINT_KEY_FILE);
    if !create && !path.exists() {
        bail!(
            "no audit checkpoint key at {}: give the data directory of the server that signs the log \
             (it creates the key on first start), or --verifier-key",
            path.display()
        );
    }
    let seed = key_file(&path)?;
    CheckpointSigner::from_seed(origin, &seed)
        .with_context(|| format!("audit origin {origin:?} cannot name a key (no spaces or '+')"))
}

fn key_file(path: &Path) -> Result<[u8; 32]> {
    legion_web::credentials::key_file(path).with_context(|| format!("key file {}", path.display()))
}

/// A random password of 20 characters from an unambiguous alphabet (~115 bits).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_keys_and_refuses_open_ones() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = load_or_create_for(dir.path(), DEFAULT_AUDIT_ORIGIN).unwrap();
        let k2 = load_or_create_for(dir.path(), DEFAULT_AUDIT_ORIGIN).unwrap();
        assert_eq!(k1.index_key, k2.index_key);
        let path = dir.path().join("index.key");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = format!("{:#}", load_or_create_for(dir.path(), DEFAULT_AUDIT_ORIGIN).unwrap_err());
        assert!(err.contains("readable by others"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"short").unwrap();
        assert!(load_or_create_for(dir.path(), DEFAULT_AUDIT_ORIGIN).is_err());
    }

    #[test]
    fn the_checkpoint_key_is_private_stable_and_never_created_by_readers() {
        let dir = tempfile::tempdir().unwrap();
        let err = checkpoint_signer(dir.path(), DEFAULT_AUDIT_ORIGIN, false).unwrap_err().to_string();
        assert!(err.contains("no audit checkpoint key"), "{err}");
        assert!(!dir.path().join(CHECKPOINT_KEY_FILE).exists());

        let keys = load_or_create_for(dir.path(), "legion.example/audit").unwrap();
        assert_eq!(keys.audit_origin(), "legion.example/audit");
        let path = dir.path().join(CHECKPOINT_KEY_FILE);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = checkpoint_signer(dir.path(), "legion.example/audit", false).unwrap();
        assert_eq!(again.verifier(), keys.checkpoint.verifier());
        // The checkpoint key is its own: not the index key.
        assert_ne!(fs::read(&path).unwrap(), keys.index_key);

        let err = checkpoint_signer(dir.path(), "two words", false).unwrap_err().to_string();
        assert!(err.contains("cannot name a key"), "{err}");
    }
}
