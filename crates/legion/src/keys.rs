//! Key files: created on first start with mode 0600, refused when others can read them.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};
use legion_web::Keys;
use rand::RngCore;

/// Loads the key files from `dir`, creating missing ones.
pub fn load_or_create(dir: &Path) -> Result<Keys> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create key directory {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict key directory {}", dir.display()))?;
    Ok(Keys { index_key: key_file(&dir.join("index.key"))? })
}

fn key_file(path: &Path) -> Result<[u8; 32]> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut f) => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            f.write_all(&key)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(path = %path.display(), "created key file");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by others (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                );
            }
            let mut key = [0u8; 32];
            let mut f = fs::File::open(path)?;
            let n = f.read(&mut key)?;
            let mut rest = [0u8; 1];
            if n != 32 || f.read(&mut rest)? != 0 {
                bail!("{} is not a 32-byte key file", path.display());
            }
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
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
        let k1 = load_or_create(dir.path()).unwrap();
        let k2 = load_or_create(dir.path()).unwrap();
        assert_eq!(k1.index_key, k2.index_key);
        let path = dir.path().join("index.key");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"short").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
