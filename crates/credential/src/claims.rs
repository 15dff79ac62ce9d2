//! The CWT claims (RFC 8392) of an entry authorisation, and their CBOR map.
//!
//! | key      | claim                | CBOR                                   |
//! |----------|----------------------|----------------------------------------|
//! | 1        | `iss` issuing mission | text, e.g. `pl-warsaw`                |
//! | 4        | `exp` expiry          | integer, seconds since the epoch      |
//! | 5        | `nbf` not before      | integer                               |
//! | 6        | `iat` issued at       | integer                               |
//! | 7        | `cti` credential id   | 16 bytes (a UUID)                     |
//! | -65537   | purpose               | text, [`PURPOSE`]                     |
//! | -65538   | holder                | map: 1 family name, 2 given names (Latin MRZ form), 3 date of birth `YYYY-MM-DD`, 4 nationality (ISO 3166-1 alpha-2), 5 passport number |
//! | -65539   | permitted entry window | array of two texts, first and last day `YYYY-MM-DD` |
//! | -65540   | travel group id       | text, only when the holder travels in a group |
//!
//! Private claims use keys below -65536, the range RFC 8392 leaves for private use.

use chrono::NaiveDate;
use ciborium::Value;
use uuid::Uuid;

use crate::Refusal;

/// The purpose every entry authorisation carries, binding it to this use and version.
pub const PURPOSE: &str = "entry authorisation v1";

const ISS: i64 = 1;
const EXP: i64 = 4;
const NBF: i64 = 5;
const IAT: i64 = 6;
const CTI: i64 = 7;
const CLAIM_PURPOSE: i64 = -65537;
const CLAIM_HOLDER: i64 = -65538;
const CLAIM_WINDOW: i64 = -65539;
const CLAIM_GROUP: i64 = -65540;

const HOLDER_FAMILY: i64 = 1;
const HOLDER_GIVEN: i64 = 2;
const HOLDER_BIRTH: i64 = 3;
const HOLDER_NATIONALITY: i64 = 4;
const HOLDER_PASSPORT: i64 = 5;

/// Longest text accepted in any claim.
const MAX_TEXT: usize = 200;

/// The holder as printed in the passport: what the officer compares with the document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// Family name in the Latin form of the passport's machine-readable zone.
    pub family_name: String,
    /// Given names, the same way.
    pub given_names: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Nationality, ISO 3166-1 alpha-2.
    pub nationality: String,
    /// Passport number.
    pub passport_number: String,
}

/// Everything an entry authorisation states.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    /// The issuing mission.
    pub issuer: String,
    /// The credential id (`cti`): what revocation lists and crossings name.
    pub id: Uuid,
    /// Issued at, seconds since the epoch.
    pub issued_at: i64,
    /// Not valid before, seconds since the epoch.
    pub not_before: i64,
    /// Not valid from this second on.
    pub expires: i64,
    /// Must be [`PURPOSE`].
    pub purpose: String,
    /// The holder.
    pub holder: Holder,
    /// First day of the permitted entry window.
    pub entry_from: NaiveDate,
    /// Last day of the permitted entry window.
    pub entry_until: NaiveDate,
    /// The travel group, if the holder travels in one.
    pub group: Option<String>,
}

fn int(v: i64) -> Value {
    Value::Integer(v.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

impl Claims {
    /// The CBOR map, keys in the order of the table above.
    pub fn to_cbor(&self) -> Vec<u8> {
        let holder = Value::Map(vec![
            (int(HOLDER_FAMILY), text(&self.holder.family_name)),
            (int(HOLDER_GIVEN), text(&self.holder.given_names)),
            (int(HOLDER_BIRTH), text(&self.holder.date_of_birth)),
            (int(HOLDER_NATIONALITY), text(&self.holder.nationality)),
            (int(HOLDER_PASSPORT), text(&self.holder.passport_number)),
        ]);
        let mut map = vec![
            (int(ISS), text(&self.issuer)),
            (int(EXP), int(self.expires)),
            (int(NBF), int(self.not_before)),
            (int(IAT), int(self.issued_at)),
            (int(CTI), Value::Bytes(self.id.as_bytes().to_vec())),
            (int(CLAIM_PURPOSE), text(&self.purpose)),
            (int(CLAIM_HOLDER), holder),
            (
                int(CLAIM_WINDOW),
                Value::Array(vec![text(&self.entry_from.to_string()), text(&self.entry_until.to_string())]),
            ),
        ];
        if let Some(group) = &self.group {
            map.push((int(CLAIM_GROUP), text(group)));
        }
        let mut out = Vec::with_capacity(256);
        ciborium::into_writer(&Value::Map(map), &mut out).expect("writing CBOR to memory cannot fail");
        out
    }

    /// Reads the CBOR map; anything missing, mistyped, repeated or left over is refused.
    pub fn from_cbor(bytes: &[u8]) -> Result<Claims, Refusal> {
        let mut cursor = std::io::Cursor::new(bytes);
        let value: Value = ciborium::from_reader(&mut cursor).map_err(|_| Refusal::BadClaims("not a CBOR map"))?;
        if usize::try_from(cursor.position()).ok() != Some(bytes.len()) {
            return Err(Refusal::BadClaims("bytes after the claims"));
        }
        let mut map = Fields::new(value, "the claims are not a CBOR map")?;
        let issuer = map.text(ISS, "iss")?;
        let expires = map.int(EXP, "exp")?;
        let not_before = map.int(NBF, "nbf")?;
        let issued_at = map.int(IAT, "iat")?;
        let id = match map.take(CTI) {
            Some(Value::Bytes(b)) if b.len() == 16 => Uuid::from_slice(&b).map_err(|_| Refusal::BadClaims("cti"))?,
            _ => return Err(Refusal::BadClaims("cti must be 16 bytes")),
        };
        let purpose = map.text(CLAIM_PURPOSE, "purpose")?;
        let mut h = Fields::new(map.take(CLAIM_HOLDER).unwrap_or(Value::Null), "holder is not a map")?;
        let holder = Holder {
            family_name: h.text(HOLDER_FAMILY, "holder family name")?,
            given_names: h.text(HOLDER_GIVEN, "holder given names")?,
            date_of_birth: h.text(HOLDER_BIRTH, "holder date of birth")?,
            nationality: h.text(HOLDER_NATIONALITY, "holder nationality")?,
            passport_number: h.text(HOLDER_PASSPORT, "holder passport number")?,
        };
        let (entry_from, entry_until) = match map.take(CLAIM_WINDOW) {
            Some(Value::Array(days)) if days.len() == 2 => {
                let day = |v: &Value| match v {
                    Value::Text(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
                    _ => None,
                };
                match (day(&days[0]), day(&days[1])) {
                    (Some(a), Some(b)) if a <= b => (a, b),
                    _ => return Err(Refusal::BadClaims("entry window")),
                }
            }
            _ => return Err(Refusal::BadClaims("entry window missing")),
        };
        let group = match map.take(CLAIM_GROUP) {
            None => None,
            Some(Value::Text(t)) if t.len() <= MAX_TEXT => Some(t),
            Some(_) => return Err(Refusal::BadClaims("group")),
        };
        if !(issued_at <= expires && not_before < expires) {
            return Err(Refusal::BadClaims("validity window"));
        }
        Ok(Claims { issuer, id, issued_at, not_before, expires, purpose, holder, entry_from, entry_until, group })
    }
}

/// A CBOR map with integer keys, read one claim at a time.
struct Fields(Vec<(i64, Value)>);

impl Fields {
    fn new(value: Value, not_map: &'static str) -> Result<Self, Refusal> {
        let Value::Map(entries) = value else { return Err(Refusal::BadClaims(not_map)) };
        let mut out: Vec<(i64, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            // Text keys (registered claim names) are allowed by RFC 8392 but none is ours.
            let Value::Integer(k) = k else { continue };
            let Ok(k) = i64::try_from(k) else { continue };
            if out.iter().any(|(seen, _)| *seen == k) {
                return Err(Refusal::BadClaims("a claim appears twice"));
            }
            out.push((k, v));
        }
        Ok(Fields(out))
    }

    fn take(&mut self, key: i64) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.swap_remove(i).1)
    }

    fn text(&mut self, key: i64, what: &'static str) -> Result<String, Refusal> {
        match self.take(key) {
            Some(Value::Text(t)) if t.len() <= MAX_TEXT => Ok(t),
            _ => Err(Refusal::BadClaims(what)),
        }
    }

    fn int(&mut self, key: i64, what: &'static str) -> Result<i64, Refusal> {
        match self.take(key) {
            Some(Value::Integer(i)) => i64::try_from(i).map_err(|_| Refusal::BadClaims(what)),
            _ => Err(Refusal::BadClaims(what)),
        }
    }
}
