use std::time::Instant;
use legion_credential::corpus::Fixture;
use rand::SeedableRng;
fn main() {
    let f = Fixture::new(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let tokens: Vec<String> = (0..1000).map(|_| f.issuers[0].issue(&f.claims("pl-warsaw", &mut rng))).collect();
    let n = 20_000;
    for _round in 0..2 {
    let t = Instant::now();
    for i in 0..n { std::hint::black_box(legion_credential::corpus::pack(b"x")); let _ = i; }
    println!("base45 {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let packed: Vec<Vec<u8>> = tokens.iter().map(|t| base45::decode(&t[4..]).unwrap()).collect();
    let t = Instant::now();
    for i in 0..n { let mut z = flate2::Decompress::new(true); let mut out = Vec::with_capacity(4097); z.decompress_vec(&packed[i % 1000], &mut out, flate2::FlushDecompress::Finish).unwrap(); std::hint::black_box(out); }
    println!("inflate {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for i in 0..n { std::hint::black_box(legion_credential::decode_unverified(&tokens[i % 1000]).unwrap()); }
    println!("decode_unverified {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let trust = legion_credential::TrustList::from_json(&f.trust_json, None).unwrap();
    let v = legion_credential::Verifier::new(&trust, None);
    let t = Instant::now();
    for i in 0..n { std::hint::black_box(v.verify(&tokens[i % 1000], f.now).unwrap()); }
    println!("verify {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let raw: Vec<_> = tokens.iter().map(|t| legion_credential::signature_input(t).unwrap()).collect();
    let key = f.issuers[0].public_key();
    let t = Instant::now();
    for i in 0..n { let (_, d, s) = &raw[i % 1000]; std::hint::black_box(key.verify_strict(d, &ed25519_dalek::Signature::from_slice(s).unwrap()).unwrap()); }
    println!("raw {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for i in 0..n { std::hint::black_box(legion_credential::signature_input(&tokens[i % 1000]).unwrap()); }
    println!("signature_input {:.2} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
}
