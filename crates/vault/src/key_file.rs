//! 32-byte key files kept outside the database: created private, refused when anyone else can read them.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};

use crate::keys::{KEY_LEN, SecretKeyBytes};
use crate::{RandomSource, VaultError};

/// A key loaded from, or just written to, a key file.
pub struct KeyFile {
    path: PathBuf,
    key: SecretKeyBytes,
    created: bool,
}

impl KeyFile {
    /// Loads the key at `path`, or creates the file with a fresh key from `rng` if there is none.
    ///
    /// A new key is written to a private temporary file in the same directory, synced, and then hard-linked
    /// into place, which fails if `path` already exists. So two processes starting together agree on one key,
    /// and a crash mid-write never leaves a short key file behind. An existing file is refused if group or
    /// others have any permission on it, if it is not a regular file, or if it is not exactly 32 bytes.
    pub fn load_or_create<R: RandomSource + ?Sized>(path: impl AsRef<Path>, rng: &mut R) -> Result<Self, VaultError> {
        let path = path.as_ref();
        match Self::load(path) {
            Err(VaultError::KeyFileIo { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            loaded => return loaded,
        }
        let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
        rng.fill(key.expose_secret_mut())?;
        if create(path, key.expose_secret(), rng)? {
            Ok(Self { path: path.to_owned(), key, created: true })
        } else {
            Self::load(path)
        }
    }

    /// Loads the key at `path`, never creating it; the checks are those of [`KeyFile::load_or_create`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let path = path.as_ref();
        let io_err = |source| VaultError::KeyFileIo { path: path.to_owned(), source };
        let mut file = File::open(path).map_err(io_err)?;
        // Checked on the open handle, not the path, so the file cannot be swapped between check and read.
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() {
            return Err(VaultError::KeyFileNotRegular { path: path.to_owned() });
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(VaultError::KeyFilePermissions { path: path.to_owned(), mode });
        }
        let size_err = |actual| VaultError::KeyFileSize { path: path.to_owned(), expected: KEY_LEN as u64, actual };
        if meta.len() != KEY_LEN as u64 {
            return Err(size_err(meta.len()));
        }
        let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
        file.read_exact(key.expose_secret_mut()).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => size_err(0),
            _ => io_err(e),
        })?;
        if file.read(&mut [0u8; 1]).map_err(io_err)? != 0 {
            return Err(size_err(meta.len() + 1));
        }
        Ok(Self { path: path.to_owned(), key, created: false })
    }

    /// The key.
    pub fn key(&self) -> &SecretKeyBytes {
        &self.key
    }

    /// The key, consuming the file handle's record of where it came from.
    pub fn into_key(self) -> SecretKeyBytes {
        self.key
    }

    /// The path it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this call created the file (worth a log line: a new KEK or index key means new data).
    pub fn was_created(&self) -> bool {
        self.created
    }
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile").field("path", &self.path).field("created", &self.created).finish_non_exhaustive()
    }
}

/// Writes `key` to `path` atomically; `Ok(false)` if another writer got there first.
fn create<R: RandomSource + ?Sized>(path: &Path, key: &[u8; KEY_LEN], rng: &mut R) -> Result<bool, VaultError> {
    let io_err = |source| VaultError::KeyFileIo { path: path.to_owned(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| io_err(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let mut suffix = [0u8; 8];
    rng.fill(&mut suffix)?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), hex::encode(suffix)));

    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(key).and_then(|()| f.sync_all()))
        .and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name must go in every case: it is a second copy of the key.
    let removed = fs::remove_file(&tmp);
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io_err(e)),
    }
    removed.map_err(io_err)?;
    // Syncing the directory makes the new name itself survive a crash.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn creates_private_32_byte_file_then_loads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        let mut rng = StdRng::seed_from_u64(1);
        let created = KeyFile::load_or_create(&path, &mut rng).unwrap();
        assert!(created.was_created());
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file left behind");

        let loaded = KeyFile::load_or_create(&path, &mut rng).unwrap();
        assert!(!loaded.was_created());
        assert_eq!(loaded.key().expose_secret(), created.key().expose_secret());
        assert_eq!(KeyFile::load(&path).unwrap().into_key().expose_secret(), created.key().expose_secret());
    }

    #[test]
    fn refuses_group_or_other_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.key");
        let mut rng = StdRng::seed_from_u64(2);
        KeyFile::load_or_create(&path, &mut rng).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o610, 0o602, 0o601, 0o644] {
            set_mode(&path, mode);
            let err = KeyFile::load_or_create(&path, &mut rng).unwrap_err();
            assert!(matches!(err, VaultError::KeyFilePermissions { mode: m, .. } if m == mode), "{mode:o}: {err}");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        set_mode(&path, 0o400);
        assert!(KeyFile::load(&path).is_ok());
    }

    #[test]
    fn refuses_wrong_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        let mut rng = StdRng::seed_from_u64(3);
        for len in [0usize, 31, 33, 64] {
            fs::write(&path, vec![7u8; len]).unwrap();
            set_mode(&path, 0o600);
            let err = KeyFile::load_or_create(&path, &mut rng).unwrap_err();
            assert!(
                matches!(err, VaultError::KeyFileSize { expected: 32, actual, .. } if actual == len as u64),
                "{len}: {err}"
            );
        }
        assert_eq!(fs::read(&path).unwrap().len(), 64, "an existing bad file must not be replaced");
    }

    #[test]
    fn refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        fs::create_dir(&path).unwrap();
        set_mode(&path, 0o700);
        let err = KeyFile::load_or_create(&path, &mut StdRng::seed_from_u64(4)).unwrap_err();
        assert!(matches!(err, VaultError::KeyFileNotRegular { .. }), "{err}");
    }

    #[test]
    fn missing_directory_is_an_io_error_and_load_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("kek.key");
        let err = KeyFile::load_or_create(&path, &mut StdRng::seed_from_u64(5)).unwrap_err();
        assert!(matches!(err, VaultError::KeyFileIo { .. }), "{err}");
        let path = dir.path().join("kek.key");
        assert!(matches!(KeyFile::load(&path), Err(VaultError::KeyFileIo { .. })));
        assert!(!path.exists());
    }

    #[test]
    fn concurrent_creators_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("kek.key"));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|seed| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let file = KeyFile::load_or_create(&*path, &mut StdRng::seed_from_u64(seed)).unwrap();
                    (file.was_created(), *file.key().expose_secret())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|(created, _)| *created).count(), 1);
        assert!(results.iter().all(|(_, key)| *key == results[0].1));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn debug_shows_path_not_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile::load_or_create(dir.path().join("k"), &mut StdRng::seed_from_u64(6)).unwrap();
        let printed = format!("{file:?}");
        assert!(printed.contains("created: true"), "{printed}");
        assert!(!printed.contains(&hex::encode(file.key().expose_secret())));
    }
}
