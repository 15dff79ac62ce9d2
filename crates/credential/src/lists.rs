//! The signed lists border posts load: the trust list (which keys may sign authorisations)
//! and the revocation list (which authorisations no longer count).
//!
//! Both are JSON objects signed by the root key: `signature` is the base64url Ed25519
//! signature of the object without its `signature` member, serialised canonically as
//! RFC 8785 (JCS) does for this content — members sorted by name, no whitespace, integers
//! only. `root` is the root's public key as a JWK, so a reader can check the signature with
//! the key it pinned. The trust list's `keys` member is a JWK Set of RFC 8037 OKP keys
//! (`kty` `OKP`, `crv` `Ed25519`, `x`, `kid` in base64url: the same 8 bytes as the COSE
//! `kid`), each with the mission it signs for (`iss`) and, for a retired key, the end of its
//! validity (`exp`).

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::keys::{IssuerKey, Kid, kid_of};

const TRUST_TYPE: &str = "legion-trust-list";
const REVOCATION_TYPE: &str = "legion-revocation-list";

/// Why a list is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// Not JSON, or not an object.
    #[error("not a JSON object")]
    Json,
    /// Another kind of document (a revocation list given as a trust list, say).
    #[error("not a {0}")]
    WrongType(&'static str),
    /// A member is missing or malformed.
    #[error("malformed member: {0}")]
    Field(&'static str),
    /// The list's signature does not verify.
    #[error("the list's signature does not verify: it was altered")]
    BadSignature,
    /// Signed by another root key than the one pinned.
    #[error("signed by another root key than the one this verifier trusts")]
    WrongRoot,
    /// A key in the list is malformed, weak, or has a `kid` that is not its own.
    #[error("bad key in the list: {0}")]
    BadKey(&'static str),
}

/// A key the trust list vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// Its id.
    pub kid: Kid,
    /// The public key.
    pub key: VerifyingKey,
    /// The mission it signs for.
    pub issuer: String,
    /// Not valid before (seconds since the epoch), if bounded.
    pub not_before: Option<i64>,
    /// Not valid from this second on, if bounded (a retired key, until its last
    /// authorisation expires).
    pub not_after: Option<i64>,
}

impl TrustedKey {
    /// An issuing key with no bounds on its validity.
    pub fn open(issuer: &IssuerKey) -> Self {
        TrustedKey {
            kid: issuer.kid(),
            key: issuer.public_key(),
            issuer: issuer.issuer().to_owned(),
            not_before: None,
            not_after: None,
        }
    }

    fn to_jwk(&self) -> Value {
        let mut jwk = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "x": B64.encode(self.key.as_bytes()),
            "kid": B64.encode(self.kid),
            "iss": self.issuer,
        });
        if let Some(t) = self.not_before {
            jwk["nbf"] = t.into();
        }
        if let Some(t) = self.not_after {
            jwk["exp"] = t.into();
        }
        jwk
    }

    fn from_jwk(v: &Value) -> Result<TrustedKey, ListError> {
        let s = |name: &'static str| v.get(name).and_then(Value::as_str).ok_or(ListError::BadKey(name));
        if s("kty")? != "OKP" || s("crv")? != "Ed25519" {
            return Err(ListError::BadKey("only OKP Ed25519 keys are accepted"));
        }
        if v.get("alg").is_some_and(|a| a != "EdDSA") {
            return Err(ListError::BadKey("alg"));
        }
        let key = okp_key(v)?;
        let kid = B64.decode(s("kid")?).map_err(|_| ListError::BadKey("kid"))?;
        if kid.as_slice() != kid_of(&key) {
            return Err(ListError::BadKey("kid is not the key's own"));
        }
        let time = |name: &'static str| match v.get(name) {
            None => Ok(None),
            Some(t) => t.as_i64().map(Some).ok_or(ListError::BadKey(name)),
        };
        Ok(TrustedKey {
            kid: kid_of(&key),
            key,
            issuer: s("iss")?.to_owned(),
            not_before: time("nbf")?,
            not_after: time("exp")?,
        })
    }
}

/// An Ed25519 public key from a JWK's `x`; weak (small-order) keys are refused.
fn okp_key(v: &Value) -> Result<VerifyingKey, ListError> {
    let x = v.get("x").and_then(Value::as_str).ok_or(ListError::BadKey("x"))?;
    let bytes: [u8; 32] =
        B64.decode(x).ok().and_then(|b| b.try_into().ok()).ok_or(ListError::BadKey("x must be 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| ListError::BadKey("x is not a curve point"))?;
    if key.is_weak() {
        return Err(ListError::BadKey("x is a small-order point"));
    }
    Ok(key)
}

fn root_jwk(root: &VerifyingKey) -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "x": B64.encode(root.as_bytes()), "kid": B64.encode(kid_of(root)) })
}

/// The keys that may sign authorisations, as of `issued_at`, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// When it was signed (seconds since the epoch).
    pub issued_at: i64,
    /// Verifiers refuse to use it from this second on.
    pub expires: i64,
    /// The keys.
    pub keys: Vec<TrustedKey>,
}

impl TrustList {
    /// The key with this id.
    pub fn key(&self, kid: &Kid) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| &k.kid == kid)
    }

    pub(crate) fn to_unsigned_json(&self, root: &VerifyingKey) -> Value {
        json!({
            "type": TRUST_TYPE,
            "version": 1,
            "issued_at": self.issued_at,
            "expires_at": self.expires,
            "keys": self.keys.iter().map(TrustedKey::to_jwk).collect::<Vec<_>>(),
            "root": root_jwk(root),
        })
    }

    /// Loads a signed trust list. With `pinned`, the list must be signed by that root key;
    /// without, by the key in its `root` member (integrity only: the caller reports
    /// [`root_of`] for a person to compare).
    pub fn from_json(text: &str, pinned: Option<&VerifyingKey>) -> Result<TrustList, ListError> {
        let object = verified_object(text, TRUST_TYPE, pinned)?;
        let keys = object.get("keys").and_then(Value::as_array).ok_or(ListError::Field("keys"))?;
        let keys = keys.iter().map(TrustedKey::from_jwk).collect::<Result<Vec<_>, _>>()?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(ListError::BadKey("two keys share a kid"));
            }
        }
        Ok(TrustList { issued_at: int(&object, "issued_at")?, expires: int(&object, "expires_at")?, keys })
    }
}

/// The authorisations that no longer count: number `seq` of the series, as of `issued_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// Grows with every revocation: a list with a lower number than one already seen is stale.
    pub seq: u64,
    /// When it was signed.
    pub issued_at: i64,
    /// Verifiers refuse to use it from this second on.
    pub expires: i64,
    /// Revoked credential ids.
    pub revoked: BTreeSet<Uuid>,
}

impl RevocationList {
    /// Whether `id` is revoked.
    pub fn contains(&self, id: &Uuid) -> bool {
        self.revoked.contains(id)
    }

    pub(crate) fn to_unsigned_json(&self, root: &VerifyingKey) -> Value {
        json!({
            "type": REVOCATION_TYPE,
            "version": 1,
            "seq": self.seq,
            "issued_at": self.issued_at,
            "expires_at": self.expires,
            "revoked": self.revoked.iter().map(Uuid::to_string).collect::<Vec<_>>(),
            "root": root_jwk(root),
        })
    }

    /// Loads a signed revocation list; it must be signed by `root` (the trust list's).
    pub fn from_json(text: &str, root: &VerifyingKey) -> Result<RevocationList, ListError> {
        let object = verified_object(text, REVOCATION_TYPE, Some(root))?;
        let ids = object.get("revoked").and_then(Value::as_array).ok_or(ListError::Field("revoked"))?;
        let revoked = ids
            .iter()
            .map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or(ListError::Field("revoked")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let seq = object.get("seq").and_then(Value::as_u64).ok_or(ListError::Field("seq"))?;
        Ok(RevocationList { seq, issued_at: int(&object, "issued_at")?, expires: int(&object, "expires_at")?, revoked })
    }
}

/// The root key a signed list names in its `root` member (not yet checked against anything).
pub fn root_of(text: &str) -> Result<VerifyingKey, ListError> {
    let v: Value = serde_json::from_str(text).map_err(|_| ListError::Json)?;
    okp_key(v.get("root").ok_or(ListError::Field("root"))?)
}

fn int(object: &Map<String, Value>, name: &'static str) -> Result<i64, ListError> {
    object.get(name).and_then(Value::as_i64).ok_or(ListError::Field(name))
}

fn verified_object(
    text: &str,
    kind: &'static str,
    pinned: Option<&VerifyingKey>,
) -> Result<Map<String, Value>, ListError> {
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(text) else { return Err(ListError::Json) };
    if object.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(ListError::WrongType(kind));
    }
    if object.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(ListError::Field("version"));
    }
    let signature = object.remove("signature").ok_or(ListError::Field("signature"))?;
    let signature: [u8; 64] = signature
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(ListError::Field("signature"))?;
    let root = okp_key(object.get("root").ok_or(ListError::Field("root"))?)?;
    if pinned.is_some_and(|p| p != &root) {
        return Err(ListError::WrongRoot);
    }
    let bytes = canonical(&Value::Object(object.clone())).ok_or(ListError::Field("only integers are allowed"))?;
    root.verify_strict(bytes.as_bytes(), &Signature::from_bytes(&signature)).map_err(|_| ListError::BadSignature)?;
    Ok(object)
}

pub(crate) fn sign_json(mut unsigned: Value, sign: impl FnOnce(&[u8]) -> Signature) -> String {
    let bytes = canonical(&unsigned).expect("lists hold integers only");
    unsigned["signature"] = B64.encode(sign(bytes.as_bytes()).to_bytes()).into();
    serde_json::to_string_pretty(&unsigned).expect("JSON into memory")
}

/// RFC 8785 serialisation for JSON without fractional numbers: members sorted by name
/// (UTF-16 code units, as JCS sorts), no whitespace; `None` when a number is not an integer.
pub fn canonical(v: &Value) -> Option<String> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Some(out)
}

fn write_canonical(v: &Value, out: &mut String) -> Option<()> {
    match v {
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return None;
            }
            out.push_str(&n.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(name).ok()?);
                out.push(':');
                write_canonical(&members[name], out)?;
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).ok()?),
    }
    Some(())
}
