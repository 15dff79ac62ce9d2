//! Generated tokens, each with the verdict every verifier must give: the corpus the command
//! line, the server and the offline page are tested on, and the verification benchmark's
//! input. Deterministic for a seed.
//!
//! A [`Fixture`] holds a root key, two missions' keys in the trust list, a retired key whose
//! validity has ended, a stranger's key that is not in the list, and a revocation list.
//! [`cases`] makes tokens of every kind of wrong [`crate::Refusal`] names, and valid ones.

use chrono::NaiveDate;
use coset::{CborSerializable as _, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable as _, iana};
use ed25519_dalek::Signer as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::claims::{Claims, Holder, PURPOSE};
use crate::keys::{IssuerKey, RootKey};
use crate::lists::{RevocationList, TrustList, TrustedKey};
use crate::token::{MAX_TOKEN_LEN, PREFIX, encode};

/// The verdict code of a valid token (the others are [`crate::Refusal::code`]s).
pub const VALID: &str = "valid";

/// Keys and lists the corpus is made against, at a fixed time.
#[derive(Debug)]
pub struct Fixture {
    /// Signs the lists.
    pub root: RootKey,
    /// The root key's seed (for a server that is to sign with it).
    pub root_seed: [u8; 32],
    /// In the trust list, with no bounds: `pl-warsaw`, `de-berlin`.
    pub issuers: Vec<IssuerKey>,
    /// Their seeds, in the same order.
    pub issuer_seeds: Vec<[u8; 32]>,
    /// In the trust list for `us-washington`, but its validity ended before [`Fixture::now`].
    pub retired: IssuerKey,
    /// Not in the trust list.
    pub stranger: IssuerKey,
    /// The time every case is verified at (seconds since the epoch).
    pub now: i64,
    /// The trust list, signed.
    pub trust_json: String,
    /// The revocation list, signed; empty until [`cases`] revokes some.
    pub revocations: RevocationList,
}

impl Fixture {
    /// The fixture for `seed`, at 2027-01-15T08:00:00Z.
    pub fn new(seed: u64) -> Fixture {
        Fixture::at(seed, 1_799_996_400)
    }

    /// The fixture for `seed`, at `now` (seconds since the epoch). Every time in its tokens
    /// is at least an hour away from `now`, so verifying them a little later gives the same
    /// verdicts.
    pub fn at(seed: u64, now: i64) -> Fixture {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seed32 = || {
            let mut s = [0u8; 32];
            rng.fill(&mut s);
            s
        };
        let root_seed = seed32();
        let issuer_seeds = vec![seed32(), seed32()];
        let root = RootKey::from_seed(&root_seed);
        let issuers = vec![
            IssuerKey::from_seed("pl-warsaw", &issuer_seeds[0]),
            IssuerKey::from_seed("de-berlin", &issuer_seeds[1]),
        ];
        let retired = IssuerKey::from_seed("us-washington", &seed32());
        let stranger = IssuerKey::from_seed("pl-warsaw", &seed32());
        let mut keys: Vec<TrustedKey> = issuers.iter().map(TrustedKey::open).collect();
        keys.push(TrustedKey { not_after: Some(now - 86_400), ..TrustedKey::open(&retired) });
        let trust = TrustList { issued_at: now - 3_600, expires: now + 30 * 86_400, keys };
        let trust_json = root.sign_trust_list(&trust);
        let revocations = RevocationList {
            seq: 0,
            issued_at: now - 600,
            expires: now + 7 * 86_400,
            revoked: std::collections::BTreeSet::new(),
        };
        Fixture { root, root_seed, issuers, issuer_seeds, retired, stranger, now, trust_json, revocations }
    }

    /// The revocation list, signed.
    pub fn revocations_json(&self) -> String {
        self.root.sign_revocations(&self.revocations)
    }

    /// Valid claims for `issuer` with a random holder and id.
    pub fn claims(&self, issuer: &str, rng: &mut impl Rng) -> Claims {
        const FAMILY: [&str; 8] =
            ["SMITH", "KOWALSKI", "MUELLER", "OBRIEN", "NGUYEN", "GARCIA LOPEZ", "DUBOIS", "SHEVCHENKO"];
        const GIVEN: [&str; 8] = ["JOHN", "ANNA MARIA", "PETER", "SEAN", "LINH", "JOSE", "CLAIRE", "TARAS"];
        let from = NaiveDate::from_ymd_opt(2027, 1, 10).expect("date") + chrono::Days::new(rng.gen_range(0..5));
        Claims {
            issuer: issuer.to_owned(),
            id: Uuid::from_bytes(rng.r#gen()),
            issued_at: self.now - rng.gen_range(3_600..30 * 86_400),
            not_before: self.now - rng.gen_range(3_600..10 * 86_400),
            expires: self.now + rng.gen_range(3_600..30 * 86_400),
            purpose: PURPOSE.to_owned(),
            holder: Holder {
                family_name: FAMILY[rng.gen_range(0..FAMILY.len())].to_owned(),
                given_names: GIVEN[rng.gen_range(0..GIVEN.len())].to_owned(),
                date_of_birth: format!(
                    "19{:02}-{:02}-{:02}",
                    rng.gen_range(50..99),
                    rng.gen_range(1..13),
                    rng.gen_range(1..29)
                ),
                nationality: ["US", "GB", "DE", "CA", "PL", "FR"][rng.gen_range(0..6)].to_owned(),
                passport_number: format!(
                    "{}{:07}",
                    ["EA", "P", "C0", "X"][rng.gen_range(0..4)],
                    rng.gen_range(0..10_000_000)
                ),
            },
            entry_from: from,
            entry_until: from + chrono::Days::new(rng.gen_range(1..30)),
            group: rng.gen_bool(0.3).then(|| format!("grp-{}", rng.gen_range(1..500))),
        }
    }
}

/// Arbitrary bytes wrapped as a token is (zlib, Base45, prefix), unsigned: for tests of
/// what lies under the wrapping.
pub fn pack(bytes: &[u8]) -> String {
    encode(bytes)
}

/// A token and the verdict it must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The `LG1:` text (or what passes for it).
    pub token: String,
    /// [`VALID`] or a refusal code.
    pub expected: &'static str,
}

const KINDS: usize = 26;

/// `n` cases, every kind in turn (a valid token every 26th), some of their ids put on the
/// fixture's revocation list.
pub fn cases(fixture: &mut Fixture, n: usize, seed: u64) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(case(fixture, i % KINDS, &mut rng));
    }
    fixture.revocations.seq += 1;
    out
}

fn sign_with(key: &IssuerKey, protected: coset::Header, unprotected: coset::Header, payload: Vec<u8>) -> Vec<u8> {
    CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .payload(payload)
        .create_signature(b"", |data| key.key.sign(data).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .expect("serialises")
}

fn eddsa(kid: &[u8]) -> coset::Header {
    HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(kid.to_vec()).build()
}

fn with_body(token: &str, body: &str) -> String {
    debug_assert!(token.starts_with(PREFIX));
    format!("{PREFIX}{body}")
}

fn case(f: &mut Fixture, kind: usize, rng: &mut StdRng) -> Case {
    let which = rng.gen_range(0..f.issuers.len());
    let issuer = &f.issuers[which];
    let claims = f.claims(issuer.issuer(), rng);
    let good = issuer.issue(&claims);
    let body = &good[PREFIX.len()..];
    let signed = |payload: Vec<u8>| encode(&sign_with(issuer, eddsa(&issuer.kid()), coset::Header::default(), payload));
    let (token, expected) = match kind {
        0 => (good.clone(), VALID),
        1 => {
            let prefix = ["LG2:", "lg1:", "HC1:", "", "LG1", "LG1;"][rng.gen_range(0..6)];
            (format!("{prefix}{body}"), "bad_prefix")
        }
        2 => {
            let mut chars: Vec<char> = body.chars().collect();
            let at = rng.gen_range(0..chars.len());
            chars[at] = ['a', 'z', '#', '!', '@', '_', '=', '?'][rng.gen_range(0..8)];
            (with_body(&good, &chars.into_iter().collect::<String>()), "bad_encoding")
        }
        3 => {
            // Cut after whole Base45 groups (or a trailing pair), so the text still decodes.
            // Whole Base45 groups only: a cut group may not decode at all.
            let keep = rng.gen_range(0..body.len() / 3) * 3;
            (with_body(&good, &body[..keep]), "bad_compression")
        }
        4 => {
            if rng.gen_bool(0.5) {
                let mut long = good.clone();
                while long.len() <= MAX_TOKEN_LEN {
                    long.push_str(body);
                }
                (long, "oversized")
            } else {
                let mut padded = claims.to_cbor();
                padded.resize(crate::MAX_COSE_LEN + rng.gen_range(1..20_000), 0);
                (encode(&padded), "oversized")
            }
        }
        5 => {
            let mut junk = vec![0xff_u8];
            junk.extend((0..rng.gen_range(0..200)).map(|_| rng.r#gen::<u8>()));
            (encode(&junk), "not_cose")
        }
        6 => {
            // Well-formed CBOR, but not a COSE_Sign1: an array of the wrong length, a map.
            let v = if rng.gen_bool(0.5) { vec![0x83, 0x40, 0xa0, 0x40] } else { claims.to_cbor() };
            (encode(&v), "not_cose")
        }
        7 => {
            let alg = [iana::Algorithm::ES256, iana::Algorithm::PS256, iana::Algorithm::A128GCM][rng.gen_range(0..3)];
            let protected = HeaderBuilder::new().algorithm(alg).key_id(issuer.kid().to_vec()).build();
            (encode(&sign_with(issuer, protected, coset::Header::default(), claims.to_cbor())), "wrong_algorithm")
        }
        8 => {
            // The algorithm only in the unprotected header, or none at all.
            let protected = HeaderBuilder::new().key_id(issuer.kid().to_vec()).build();
            let unprotected = if rng.gen_bool(0.5) {
                HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).build()
            } else {
                coset::Header::default()
            };
            (encode(&sign_with(issuer, protected, unprotected, claims.to_cbor())), "wrong_algorithm")
        }
        9 => {
            let protected = HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).build();
            let unprotected = HeaderBuilder::new().key_id(issuer.kid().to_vec()).build();
            (encode(&sign_with(issuer, protected, unprotected, claims.to_cbor())), "missing_kid")
        }
        10 => {
            let claims = f.claims("pl-warsaw", rng);
            (f.stranger.issue(&claims), "unknown_kid")
        }
        11 => {
            let len = [1usize, 4, 7, 9, 16][rng.gen_range(0..5)];
            let odd_kid: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            (encode(&sign_with(issuer, eddsa(&odd_kid), coset::Header::default(), claims.to_cbor())), "unknown_kid")
        }
        12 => {
            let claims = f.claims("us-washington", rng);
            (f.retired.issue(&claims), "key_not_valid")
        }
        13 | 14 => {
            // One changed bit of the payload (13) or of the signature (14).
            let mut sign1 = CoseSign1::from_tagged_slice(&issuer.sign_payload(&claims.to_cbor())).expect("own token");
            let target = if kind == 13 { sign1.payload.as_mut().expect("payload") } else { &mut sign1.signature };
            let at = rng.gen_range(0..target.len());
            target[at] ^= 1 << rng.gen_range(0..8);
            (encode(&sign1.to_tagged_vec().expect("serialises")), "bad_signature")
        }
        15 => {
            // Non-canonical S (S + L), a small-order R, or a signature of the wrong length.
            let mut sign1 = CoseSign1::from_tagged_slice(&issuer.sign_payload(&claims.to_cbor())).expect("own token");
            match rng.gen_range(0..3) {
                0 => add_group_order(&mut sign1.signature[32..]),
                1 => {
                    sign1.signature[..32].fill(0);
                    sign1.signature[0] = 1;
                }
                _ => {
                    let len = sign1.signature.len();
                    sign1.signature.truncate(len - rng.gen_range(1..len));
                }
            }
            (encode(&sign1.to_tagged_vec().expect("serialises")), "bad_signature")
        }
        16 => {
            // Signed by the stranger under a trusted key's id.
            let forged = sign_with(&f.stranger, eddsa(&issuer.kid()), coset::Header::default(), claims.to_cbor());
            (encode(&forged), "bad_signature")
        }
        17 => {
            // Another token's signature on this payload.
            let other = f.claims(issuer.issuer(), rng);
            let mut sign1 = CoseSign1::from_tagged_slice(&issuer.sign_payload(&claims.to_cbor())).expect("own");
            sign1.signature =
                CoseSign1::from_tagged_slice(&issuer.sign_payload(&other.to_cbor())).expect("own").signature;
            (encode(&sign1.to_tagged_vec().expect("serialises")), "bad_signature")
        }
        18 => (signed(broken_claims(&claims, rng)), "bad_claims"),
        19 => {
            let other = if issuer.issuer() == "pl-warsaw" { "de-berlin" } else { "pl-warsaw" };
            let mut c = claims.clone();
            other.clone_into(&mut c.issuer);
            (signed(c.to_cbor()), "wrong_issuer")
        }
        20 => {
            let mut c = claims.clone();
            ["entry authorisation v2", "", "Entry Authorisation v1", "travel"][rng.gen_range(0..4)]
                .clone_into(&mut c.purpose);
            (signed(c.to_cbor()), "wrong_purpose")
        }
        21 => {
            let mut c = claims.clone();
            c.not_before = f.now + rng.gen_range(3_600..10 * 86_400);
            c.expires = c.not_before + 86_400;
            (issuer.issue(&c), "not_yet_valid")
        }
        22 => {
            let mut c = claims.clone();
            c.expires = f.now - rng.gen_range(1..10 * 86_400);
            c.not_before = c.expires - 30 * 86_400;
            c.issued_at = c.not_before;
            (issuer.issue(&c), "expired")
        }
        23 => {
            f.revocations.revoked.insert(claims.id);
            (good.clone(), "revoked")
        }
        24 => {
            // Whitespace around a valid token is not part of it.
            (
                format!(
                    "{}{good}{}",
                    [" ", "\n", "\t", ""][rng.gen_range(0..4)],
                    [" ", "\r\n", ""][rng.gen_range(0..3)]
                ),
                VALID,
            )
        }
        _ => {
            // A valid COSE_Sign1 left untagged (tag 18 is optional).
            let sign1 = CoseSign1::from_tagged_slice(&issuer.sign_payload(&claims.to_cbor())).expect("own");
            (encode(&sign1.to_vec().expect("serialises")), VALID)
        }
    };
    Case { token, expected }
}

/// Adds the group order L to a little-endian scalar (a non-canonical S that plain
/// verification might accept and `verify_strict` refuses).
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
}

/// Valid claims with one thing wrong in their map.
fn broken_claims(claims: &Claims, rng: &mut StdRng) -> Vec<u8> {
    use ciborium::Value;
    let Value::Map(mut map) = ciborium::from_reader::<Value, _>(claims.to_cbor().as_slice()).expect("own CBOR") else {
        unreachable!("claims are a map")
    };
    match rng.gen_range(0..8) {
        7 => {
            let mut out = claims.to_cbor();
            out.push(0);
            return out;
        }
        0 => {
            map.remove(rng.gen_range(0..8));
        }
        1 => map[4].1 = Value::Bytes(vec![1; 15]),
        2 => map[1].1 = Value::Text("tomorrow".into()),
        3 => map[7].1 = Value::Array(vec![Value::Text("2027-02-01".into()), Value::Text("2027-01-01".into())]),
        4 => map.push((Value::Integer(1.into()), Value::Text("de-berlin".into()))),
        5 => {
            let mut out = Vec::new();
            ciborium::into_writer(&Value::Array(map.into_iter().map(|(_, v)| v).collect()), &mut out).expect("memory");
            return out;
        }
        _ => map[6].1 = Value::Map(vec![(Value::Integer(1.into()), Value::Text("X".repeat(201)))]),
    }
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(map), &mut out).expect("memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_order_added_is_the_same_scalar_mod_l() {
        let mut s = [0u8; 32];
        s[0] = 5;
        add_group_order(&mut s);
        assert_eq!(s[0], 0xf2);
        assert_eq!(s[31], 0x10);
    }
}
