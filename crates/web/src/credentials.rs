//! Entry authorisations on the server: the keys that sign them, issuing one when a case is
//! authorised, the signed lists border posts load, and verification at the border.
//!
//! Keys live in the key directory (every server sharing a database shares it, as it shares
//! the KEK): `credentials/root.key` signs the trust and revocation lists and nothing else;
//! `credentials/<mission>.<version>.key` is a mission's issuing key, created when the
//! mission is added or the server starts (or, failing that, at its first issue). A new version (`legion keys rotate-issuer`) signs from then on;
//! older ones stay in the trust list until the last authorisation they signed expires.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use legion_credential::{Claims, Holder, IssuerKey, RevocationList, RootKey, TrustList, TrustedKey};
use legion_domain::ApplicantDetails;
use legion_store::Store;

use crate::AppError;

/// How long a trust list may be used after it is signed.
pub const TRUST_LIST_VALIDITY: TimeDelta = TimeDelta::days(30);
/// How long a revocation list may be used after it is signed: border posts load a new one
/// at least this often.
pub const REVOCATION_LIST_VALIDITY: TimeDelta = TimeDelta::days(2);

/// Reads a 32-byte key file, creating it (mode 0600, random) when missing; refuses one that
/// others can read or that is not 32 bytes.
pub fn key_file(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::{Error, ErrorKind};
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut f) => {
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            f.write_all(&key).and_then(|()| f.sync_all())?;
            if let Some(dir) = path.parent() {
                fs::File::open(dir).and_then(|d| d.sync_all())?;
            }
            tracing::info!(path = %path.display(), "created key file");
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Error::other(format!(
                    "{} is readable by others (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                )));
            }
            let mut key = [0u8; 32];
            let mut f = fs::File::open(path)?;
            let n = f.read(&mut key)?;
            let mut rest = [0u8; 1];
            if n != 32 || f.read(&mut rest)? != 0 {
                return Err(Error::other(format!("{} is not a 32-byte key file", path.display())));
            }
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// The root key and the missions' issuing keys.
pub struct CredentialKeys {
    root: RootKey,
    dir: Option<PathBuf>,
    /// Keys of the in-memory form (tests): mission → seeds, oldest first.
    memory: Mutex<BTreeMap<String, Vec<[u8; 32]>>>,
    /// The key files last read, by name: read again only when the directory's listing
    /// changes (a key added here or by another process), not on every border check.
    read: Mutex<Vec<(String, IssuerVersion)>>,
}

impl std::fmt::Debug for CredentialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialKeys").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// One version of a mission's issuing key.
#[derive(Debug, Clone)]
pub struct IssuerVersion {
    /// The mission.
    pub mission: String,
    /// Its version, from 1.
    pub version: u32,
    /// The key.
    pub key: IssuerKey,
}

fn io_error(e: &std::io::Error) -> AppError {
    AppError::Internal(format!("credential keys: {e}"))
}

impl CredentialKeys {
    /// The keys under `key_dir/credentials`, creating the directory and the root key on
    /// first use.
    pub fn open(key_dir: &Path) -> std::io::Result<Self> {
        let dir = key_dir.join("credentials");
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        let root = RootKey::from_seed(&key_file(&dir.join("root.key"))?);
        Ok(CredentialKeys { root, dir: Some(dir), memory: Mutex::new(BTreeMap::new()), read: Mutex::new(Vec::new()) })
    }

    /// Keys held in memory only, from a root seed (tests).
    pub fn in_memory(root_seed: [u8; 32]) -> Self {
        CredentialKeys {
            root: RootKey::from_seed(&root_seed),
            dir: None,
            memory: Mutex::new(BTreeMap::new()),
            read: Mutex::new(Vec::new()),
        }
    }

    /// The root key.
    pub fn root(&self) -> &RootKey {
        &self.root
    }

    /// Every issuing key, by mission and version.
    pub fn all(&self) -> Result<Vec<IssuerVersion>, AppError> {
        let Some(dir) = &self.dir else {
            let memory = self.memory.lock().expect("not poisoned");
            return Ok(memory
                .iter()
                .flat_map(|(mission, seeds)| {
                    seeds.iter().zip(1..).map(|(seed, version)| IssuerVersion {
                        mission: mission.clone(),
                        version,
                        key: IssuerKey::from_seed(mission, seed),
                    })
                })
                .collect());
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error(&e))? {
            let name = entry.map_err(|e| io_error(&e))?.file_name();
            if let Some(name) = name.to_str().filter(|n| parse_key_name(n).is_some()) {
                names.push(name.to_owned());
            }
        }
        names.sort_unstable();
        let mut read = self.read.lock().expect("not poisoned");
        if !read.iter().map(|(n, _)| n).eq(names.iter()) {
            let mut fresh = Vec::with_capacity(names.len());
            for name in names {
                let (mission, version) = parse_key_name(&name).expect("filtered above");
                let seed = key_file(&dir.join(&name)).map_err(|e| io_error(&e))?;
                fresh.push((name, IssuerVersion { key: IssuerKey::from_seed(&mission, &seed), mission, version }));
            }
            *read = fresh;
        }
        let mut out: Vec<IssuerVersion> = read.iter().map(|(_, k)| k.clone()).collect();
        out.sort_by(|a, b| (&a.mission, a.version).cmp(&(&b.mission, b.version)));
        Ok(out)
    }

    /// The key `mission` issues with now (its newest version), created if it has none.
    pub fn issuer(&self, mission: &str) -> Result<IssuerKey, AppError> {
        if let Some(current) = self.all()?.into_iter().filter(|k| k.mission == mission).max_by_key(|k| k.version) {
            return Ok(current.key);
        }
        self.create(mission, 1)
    }

    /// Creates the next version of `mission`'s issuing key; returns it.
    pub fn rotate(&self, mission: &str) -> Result<IssuerVersion, AppError> {
        let next = self.all()?.iter().filter(|k| k.mission == mission).map(|k| k.version).max().unwrap_or(0) + 1;
        let key = self.create(mission, next)?;
        Ok(IssuerVersion { mission: mission.to_owned(), version: next, key })
    }

    fn create(&self, mission: &str, version: u32) -> Result<IssuerKey, AppError> {
        let Some(dir) = &self.dir else {
            let mut memory = self.memory.lock().expect("not poisoned");
            let seeds = memory.entry(mission.to_owned()).or_default();
            while seeds.len() < version as usize {
                let mut seed = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
                seeds.push(seed);
            }
            return Ok(IssuerKey::from_seed(mission, &seeds[version as usize - 1]));
        };
        // Two servers creating the same file at once both end up reading the one written.
        let seed = key_file(&dir.join(format!("{mission}.{version}.key"))).map_err(|e| io_error(&e))?;
        Ok(IssuerKey::from_seed(mission, &seed))
    }
}

/// `pl-warsaw.3.key` → (`pl-warsaw`, 3).
fn parse_key_name(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_suffix(".key")?;
    let (mission, version) = stem.rsplit_once('.')?;
    let version: u32 = version.parse().ok().filter(|v| *v > 0)?;
    legion_domain::MissionId::parse(mission).ok()?;
    Some((mission.to_owned(), version))
}

/// The hex form of a key id, as stored.
pub fn kid_hex(kid: legion_credential::Kid) -> String {
    hex::encode(kid)
}

/// The trust list as of `now`: every mission's current key, and older keys until the last
/// authorisation they signed expires.
pub async fn trust_list(keys: &CredentialKeys, store: &dyn Store, now: DateTime<Utc>) -> Result<TrustList, AppError> {
    let expiries: BTreeMap<String, DateTime<Utc>> = store.key_expiries().await?.into_iter().collect();
    let all = keys.all()?;
    let mut newest: BTreeMap<&str, u32> = BTreeMap::new();
    for k in &all {
        let v = newest.entry(&k.mission).or_default();
        *v = (*v).max(k.version);
    }
    let mut trusted = Vec::new();
    for k in &all {
        let current = newest.get(k.mission.as_str()) == Some(&k.version);
        let mut entry = TrustedKey::open(&k.key);
        if !current {
            match expiries.get(&kid_hex(k.key.kid())) {
                Some(last) if *last > now => entry.not_after = Some(last.timestamp()),
                // Nothing it signed is still valid: it has no business in the list.
                _ => continue,
            }
        }
        trusted.push(entry);
    }
    Ok(TrustList { issued_at: now.timestamp(), expires: (now + TRUST_LIST_VALIDITY).timestamp(), keys: trusted })
}

/// The revocation list as of `now`.
pub async fn revocation_list(store: &dyn Store, now: DateTime<Utc>) -> Result<RevocationList, AppError> {
    let r = store.revocations(now).await?;
    Ok(RevocationList {
        seq: u64::try_from(r.seq).unwrap_or_default(),
        issued_at: now.timestamp(),
        expires: (now + REVOCATION_LIST_VALIDITY).timestamp(),
        revoked: r.revoked.into_iter().collect(),
    })
}

/// A name as the passport's machine-readable zone prints it: Latin capitals and spaces
/// (`Müller` → `MULLER`, `Шевченко` → `SHEVCHENKO`).
pub fn mrz_form(name: &str) -> String {
    legion_screening::translit::latin_forms(name).into_iter().next().unwrap_or_default().to_uppercase()
}

/// The validity of an authorisation for the entry window `from`–`until`: the window's days
/// in every time zone (from 00:00 at UTC+14 on the first day to 24:00 at UTC−12 on the last),
/// so a border post's local date decides, whatever its zone.
pub fn validity(from: NaiveDate, until: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - TimeDelta::hours(14);
    let end = (until + Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc() + TimeDelta::hours(12);
    (start, end)
}

/// The claims of a new authorisation for a case.
pub fn claims_for(
    mission: &str,
    id: uuid::Uuid,
    details: &ApplicantDetails,
    from: NaiveDate,
    until: NaiveDate,
    now: DateTime<Utc>,
) -> Claims {
    let (not_before, expires) = validity(from, until);
    Claims {
        issuer: mission.to_owned(),
        id,
        issued_at: now.timestamp(),
        not_before: not_before.timestamp(),
        expires: expires.timestamp(),
        purpose: legion_credential::PURPOSE.to_owned(),
        holder: Holder {
            family_name: mrz_form(&details.family_name),
            given_names: mrz_form(&details.given_names),
            date_of_birth: details.date_of_birth.to_string(),
            nationality: details.nationality.as_str().to_owned(),
            passport_number: details.passport_number.as_str().to_owned(),
        },
        entry_from: from,
        entry_until: until,
        group: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_parse_only_when_well_formed() {
        assert_eq!(parse_key_name("pl-warsaw.3.key"), Some(("pl-warsaw".into(), 3)));
        assert_eq!(parse_key_name("root.key"), None);
        assert_eq!(parse_key_name("pl-warsaw.0.key"), None);
        assert_eq!(parse_key_name("pl-warsaw.x.key"), None);
    }

    #[test]
    fn rotation_keeps_old_versions_and_issues_with_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let keys = CredentialKeys::open(dir.path()).unwrap();
        let first = keys.issuer("pl-warsaw").unwrap();
        assert_eq!(keys.issuer("pl-warsaw").unwrap().kid(), first.kid());
        let rotated = keys.rotate("pl-warsaw").unwrap();
        assert_eq!(rotated.version, 2);
        assert_eq!(keys.issuer("pl-warsaw").unwrap().kid(), rotated.key.kid());
        assert_eq!(keys.all().unwrap().len(), 2);
        let again = CredentialKeys::open(dir.path()).unwrap();
        assert_eq!(again.root().public_key(), keys.root().public_key());
        // A key another process adds is seen here, though files are read only on a change.
        let third = again.rotate("pl-warsaw").unwrap();
        assert_eq!(keys.issuer("pl-warsaw").unwrap().kid(), third.key.kid());
        assert_eq!(keys.all().unwrap().len(), 3);
        let mode = fs::metadata(dir.path().join("credentials/pl-warsaw.1.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_validity_covers_the_window_in_every_time_zone() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (start, end) = validity(d("2027-01-10"), d("2027-01-12"));
        assert_eq!(start.to_rfc3339(), "2027-01-09T10:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2027-01-13T12:00:00+00:00");
        assert_eq!(mrz_form("Müller-Lüdenscheidt"), "MULLER LUDENSCHEIDT");
        assert_eq!(mrz_form("Шевченко"), "SHEVCHENKO");
    }
}
