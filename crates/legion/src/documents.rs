//! Where uploaded documents are kept: a directory under the data directory by default, or
//! the object store a URL names (`s3://bucket/prefix`, credentials from the `AWS_*`
//! environment variables). Documents are sealed before they get here, so the store only
//! ever holds ciphertext under server-chosen names.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

/// The document store: `url` when given, else `<data_dir>/documents`.
pub fn open(url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn ObjectStore>> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return local(&data_dir.join("documents"));
    };
    if let Some(dir) = url.strip_prefix("file://") {
        return local(Path::new(dir));
    }
    let parsed = url::Url::parse(url).with_context(|| "the documents URL is not a URL")?;
    if !matches!(parsed.scheme(), "s3" | "s3a") {
        bail!("unsupported documents URL scheme '{}': use s3://BUCKET/PREFIX or file:///DIR", parsed.scheme());
    }
    // Only the AWS_* variables configure the S3 client (keys, region, endpoint for an
    // S3-compatible store); nothing else from the environment reaches it.
    let options = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
    let (store, prefix) = object_store::parse_url_opts(&parsed, options)
        .with_context(|| format!("cannot use {} for documents", redact(&parsed)))?;
    if prefix.as_ref().is_empty() { Ok(Arc::from(store)) } else { Ok(Arc::new(PrefixStore::new(store, prefix))) }
}

/// A directory of its own, readable by this user only.
fn local(dir: &Path) -> Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .with_context(|| format!("cannot prepare the documents directory {}", dir.display()))?;
    let store =
        LocalFileSystem::new_with_prefix(dir).with_context(|| format!("cannot use {} for documents", dir.display()))?;
    Ok(Arc::new(store))
}

/// The URL without credentials, for messages.
fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
mod tests {
    use object_store::path::Path as ObjectPath;
    use object_store::{ObjectStoreExt as _, PutPayload};

    use super::*;

    #[tokio::test]
    async fn the_default_is_a_private_directory_under_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(None, dir.path()).unwrap();
        store.put(&ObjectPath::from("gb-london/x"), PutPayload::from(vec![1, 2, 3])).await.unwrap();
        let file = dir.path().join("documents/gb-london/x");
        assert_eq!(std::fs::read(&file).unwrap(), [1, 2, 3]);
        let mode = std::fs::metadata(dir.path().join("documents")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(Some("ftp://example.org/docs"), dir.path()).unwrap_err().to_string();
        assert!(err.contains("unsupported documents URL scheme 'ftp'"), "{err}");
    }
}
