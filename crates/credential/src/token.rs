//! The `LG1:` text: `COSE_Sign1` → zlib → Base45, and back, with every check in order.

use coset::{CborSerializable as _, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable as _, iana};
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::Refusal;
use crate::claims::{Claims, PURPOSE};
use crate::keys::Kid;
use crate::lists::{RevocationList, TrustList};

/// What every authorisation's text starts with.
pub const PREFIX: &str = "LG1:";
/// Longest text accepted (a version 40 QR code at level Q holds 2,420 Base45 characters).
pub const MAX_TOKEN_LEN: usize = 4096;
/// Largest COSE structure accepted once unpacked: a guard against compression bombs.
pub const MAX_COSE_LEN: usize = 4096;

pub(crate) fn sign_cose(key: &SigningKey, kid: Kid, payload: &[u8]) -> Vec<u8> {
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(kid.to_vec()).build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload.to_vec())
        .create_signature(b"", |data| key.sign(data).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .expect("a COSE_Sign1 built here always serialises")
}

/// COSE bytes → `LG1:` text.
pub fn encode(cose: &[u8]) -> String {
    let mut z = Compress::new(Compression::best(), true);
    let mut packed = Vec::with_capacity(cose.len() + 64);
    loop {
        let before = z.total_in();
        let input = &cose[usize::try_from(before).expect("in memory")..];
        packed.reserve(256);
        let status = z.compress_vec(input, &mut packed, FlushCompress::Finish).expect("zlib into memory");
        if status == Status::StreamEnd {
            break;
        }
    }
    format!("{PREFIX}{}", base45::encode(&packed))
}

/// `LG1:` text → the COSE bytes it carries, checking only the wrapping.
fn unwrap_text(text: &str) -> Result<Vec<u8>, Refusal> {
    let text = text.trim();
    if text.len() > MAX_TOKEN_LEN {
        return Err(Refusal::Oversized);
    }
    let Some(body) = text.strip_prefix(PREFIX) else { return Err(Refusal::BadPrefix) };
    let packed = base45_decode(body.as_bytes()).ok_or(Refusal::BadEncoding)?;
    inflate(&packed)
}

/// The value of each Base45 character (RFC 9285), 0xff for bytes outside the alphabet.
const BASE45_VALUES: [u8; 256] = {
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let mut table = [0xff_u8; 256];
    let mut i: u8 = 0;
    while (i as usize) < alphabet.len() {
        table[alphabet[i as usize] as usize] = i;
        i += 1;
    }
    table
};

/// Strict Base45 (RFC 9285 §4.2): characters outside the alphabet, a lone trailing
/// character, a triple above 65535 and a pair above 255 are all refused. (The `base45`
/// crate, which encodes, accepts a pair above 255 and drops its high bits.)
pub(crate) fn base45_decode(text: &[u8]) -> Option<Vec<u8>> {
    let value = |c: u8| {
        let v = BASE45_VALUES[c as usize];
        (v != 0xff).then_some(u32::from(v))
    };
    let (triples, rest) = text.as_chunks::<3>();
    let mut out = Vec::with_capacity(triples.len() * 2 + 1);
    for [a, b, c] in triples {
        let n = value(*a)? + value(*b)? * 45 + value(*c)? * 45 * 45;
        let n = u16::try_from(n).ok()?;
        out.extend_from_slice(&n.to_be_bytes());
    }
    match rest {
        [] => {}
        [a, b] => out.push(u8::try_from(value(*a)? + value(*b)? * 45).ok()?),
        _ => return None,
    }
    Some(out)
}

/// A complete zlib stream with nothing after it, at most [`MAX_COSE_LEN`] bytes unpacked.
fn inflate(packed: &[u8]) -> Result<Vec<u8>, Refusal> {
    thread_local! {
        // The inflater's state is large: made once per thread, reset for each token.
        static INFLATER: std::cell::RefCell<Decompress> = std::cell::RefCell::new(Decompress::new(true));
    }
    INFLATER.with_borrow_mut(|z| {
        z.reset(true);
        inflate_with(z, packed)
    })
}

fn inflate_with(z: &mut Decompress, packed: &[u8]) -> Result<Vec<u8>, Refusal> {
    // One call fills at most this much: a stream that wants more is too large.
    let mut out = Vec::with_capacity(MAX_COSE_LEN + 1);
    let status = z.decompress_vec(packed, &mut out, FlushDecompress::Finish).map_err(|_| Refusal::BadCompression)?;
    if out.len() > MAX_COSE_LEN {
        return Err(Refusal::Oversized);
    }
    if status != Status::StreamEnd || usize::try_from(z.total_in()).ok() != Some(packed.len()) {
        return Err(Refusal::BadCompression);
    }
    Ok(out)
}

/// Reads a token without checking its signature or anything the lists decide: for printing
/// what a refused token claims. Never use the result to admit anyone.
pub fn decode_unverified(text: &str) -> Result<(Kid, Claims), Refusal> {
    let sign1 = parse_cose(&unwrap_text(text)?)?;
    let kid = kid_from(&sign1)?;
    let claims = Claims::from_cbor(sign1.payload.as_deref().unwrap_or_default())?;
    Ok((kid, claims))
}

/// What the signature of a token is checked over: its key id, the `Sig_structure` bytes
/// (RFC 9052 §4.4) and the signature. For measuring the raw Ed25519 rate on exactly the bytes
/// verification checks.
pub fn signature_input(text: &str) -> Result<(Kid, Vec<u8>, Vec<u8>), Refusal> {
    let sign1 = parse_cose(&unwrap_text(text)?)?;
    let kid = kid_from(&sign1)?;
    Ok((kid, sign1.tbs_data(b""), sign1.signature))
}

fn parse_cose(cose: &[u8]) -> Result<CoseSign1, Refusal> {
    CoseSign1::from_tagged_slice(cose).or_else(|_| CoseSign1::from_slice(cose)).map_err(|_| Refusal::NotCose)
}

fn kid_from(sign1: &CoseSign1) -> Result<Kid, Refusal> {
    let alg = sign1.protected.header.alg.as_ref();
    if alg != Some(&coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) || sign1.unprotected.alg.is_some() {
        return Err(Refusal::WrongAlgorithm);
    }
    let kid = &sign1.protected.header.key_id;
    if kid.is_empty() {
        return Err(Refusal::MissingKid);
    }
    Kid::try_from(kid.as_slice()).map_err(|_| Refusal::UnknownKid)
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// What it states.
    pub claims: Claims,
    /// The key that signed it.
    pub kid: Kid,
}

/// Checks tokens against one trust list and, when given, one revocation list.
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'a> {
    trust: &'a TrustList,
    revocations: Option<&'a RevocationList>,
}

impl<'a> Verifier<'a> {
    /// A verifier over lists already checked when they were loaded.
    pub fn new(trust: &'a TrustList, revocations: Option<&'a RevocationList>) -> Self {
        Verifier { trust, revocations }
    }

    /// Verifies `text` at `now` (seconds since the epoch): the wrapping, the algorithm, the
    /// key in the trust list, the signature (`verify_strict`), the claims, the issuer, the
    /// purpose, the revocation list, then the validity window.
    pub fn verify(&self, text: &str, now: i64) -> Result<Verified, Refusal> {
        if now >= self.trust.expires {
            return Err(Refusal::TrustListExpired);
        }
        if let Some(rev) = self.revocations
            && now >= rev.expires
        {
            return Err(Refusal::RevocationListExpired);
        }
        let sign1 = parse_cose(&unwrap_text(text)?)?;
        let kid = kid_from(&sign1)?;
        let key = self.trust.key(&kid).ok_or(Refusal::UnknownKid)?;
        if key.not_before.is_some_and(|t| now < t) || key.not_after.is_some_and(|t| now >= t) {
            return Err(Refusal::KeyNotValid);
        }
        let Some(payload) = sign1.payload.as_deref() else { return Err(Refusal::NotCose) };
        sign1.verify_signature(b"", |sig, data| {
            let sig = <[u8; 64]>::try_from(sig).map_err(|_| Refusal::BadSignature)?;
            key.key.verify_strict(data, &Signature::from_bytes(&sig)).map_err(|_| Refusal::BadSignature)
        })?;
        let claims = Claims::from_cbor(payload)?;
        if claims.issuer != key.issuer {
            return Err(Refusal::WrongIssuer);
        }
        if claims.purpose != PURPOSE {
            return Err(Refusal::WrongPurpose);
        }
        if self.revocations.is_some_and(|r| r.contains(&claims.id)) {
            return Err(Refusal::Revoked);
        }
        if now < claims.not_before {
            return Err(Refusal::NotYetValid);
        }
        if now >= claims.expires {
            return Err(Refusal::Expired);
        }
        Ok(Verified { claims, kid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn base45_round_trips_with_the_crate_that_encodes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(base45_decode(base45::encode(&bytes).as_bytes()), Some(bytes));
        }

        #[test]
        fn base45_refuses_what_is_not_canonical(text in "[0-9A-Z $%*+./:a-z#-]{0,40}") {
            // Whatever decodes encodes back to the same text: nothing lax is accepted.
            if let Some(bytes) = base45_decode(text.as_bytes()) {
                prop_assert_eq!(base45::encode(&bytes), text);
            }
        }
    }

    #[test]
    fn base45_examples_of_rfc_9285() {
        assert_eq!(base45_decode(b"QED8WEX0").as_deref(), Some(&b"ietf!"[..]));
        assert_eq!(base45_decode(b"%69 VD92EX0").as_deref(), Some(&b"Hello!!"[..]));
        assert_eq!(base45_decode(b"GGW"), None, "65536 is not two bytes");
        assert_eq!(base45_decode(b"::"), None, "a pair above 255");
        assert_eq!(base45_decode(b"A"), None);
    }

    #[test]
    fn inflate_refuses_truncated_trailing_and_bombs() {
        let text = encode(b"hello hello hello hello");
        let packed = base45_decode(&text.as_bytes()[PREFIX.len()..]).unwrap();
        assert_eq!(inflate(&packed).unwrap(), b"hello hello hello hello");
        for cut in 0..packed.len() {
            assert!(inflate(&packed[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert_eq!(inflate(&longer), Err(Refusal::BadCompression));
        let bomb = encode(&vec![0u8; 100_000]);
        assert!(bomb.len() < MAX_TOKEN_LEN);
        assert_eq!(unwrap_text(&bomb), Err(Refusal::Oversized));
    }
}
