//! `legion bench credential`: entry authorisations verified per second on one core, beside
//! raw Ed25519 `verify_strict` over exactly the bytes verification checks, measured in the
//! same run; issuing beside raw signing; and the offline page's verify time in Chromium.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use legion_credential::corpus::Fixture;
use legion_credential::{TrustList, Verifier};
use rand::SeedableRng;

#[derive(Debug, clap::Args)]
pub struct CredentialArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Rounds, each measuring raw `verify_strict` then full verification back to back: the
    /// ratio is taken per round (the machine's speed drifts between rounds), the median kept.
    #[arg(long, default_value_t = 9)]
    rounds: usize,
    /// Distinct valid tokens cycled through.
    #[arg(long, default_value_t = 1000)]
    tokens: usize,
    /// The offline page to time in Chromium (skipped when chromium or chromedriver is missing).
    #[arg(long, default_value = "verify-page/index.html")]
    page: PathBuf,
    /// Verifications the page makes for its timing.
    #[arg(long, default_value_t = 500)]
    page_verifications: usize,
    /// Only run N operations of one kind (`raw`, `full` or `none`: the setup alone) and time
    /// nothing: for counting instructions with `valgrind --tool=callgrind`, which the
    /// machine's drifting speed does not disturb.
    #[arg(long, value_names = ["KIND", "N"], num_args = 2)]
    only: Option<Vec<String>>,
}

/// Calls `f` on items in turn until `seconds` pass; the rate per second.
fn rate<T>(items: &[T], seconds: f64, mut f: impl FnMut(&T)) -> f64 {
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut n = 0usize;
    while start.elapsed() < budget {
        for _ in 0..64 {
            f(&items[n % items.len()]);
            n += 1;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let done = n as f64;
    done / start.elapsed().as_secs_f64()
}

pub async fn run(args: &CredentialArgs) -> Result<()> {
    let now = legion_domain::Clock::now(&legion_domain::SystemClock).timestamp();
    let fixture = Fixture::at(1, now);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let tokens: Vec<String> = (0..args.tokens.max(1))
        .map(|i| {
            let issuer = &fixture.issuers[i % fixture.issuers.len()];
            issuer.issue(&fixture.claims(issuer.issuer(), &mut rng))
        })
        .collect();
    let trust = TrustList::from_json(&fixture.trust_json, Some(&fixture.root.public_key()))?;
    let revocations =
        legion_credential::RevocationList::from_json(&fixture.revocations_json(), &fixture.root.public_key())?;
    let verifier = Verifier::new(&trust, Some(&revocations));
    // The raw operation on the same bytes: each token's Sig_structure, signature and key.
    let raw: Vec<(VerifyingKey, Vec<u8>, Signature)> = tokens
        .iter()
        .map(|t| {
            let (kid, data, sig) = legion_credential::signature_input(t).expect("own token");
            let key = trust.key(&kid).expect("trusted").key;
            (key, data, Signature::from_slice(&sig).expect("64 bytes"))
        })
        .collect();
    if let Some(only) = &args.only {
        let n: usize = only[1].parse().context("--only KIND N: N is a count")?;
        for i in 0..n {
            match only[0].as_str() {
                "raw" => {
                    let (key, data, sig) = &raw[i % raw.len()];
                    assert!(key.verify_strict(data, sig).is_ok());
                }
                "full" => assert!(verifier.verify(&tokens[i % tokens.len()], now).is_ok()),
                "none" => {}
                other => bail!("--only {other}: raw, full or none"),
            }
        }
        return Ok(());
    }
    let average_len = raw.iter().map(|r| r.1.len()).sum::<usize>() / raw.len();
    let average_token = tokens.iter().map(String::len).sum::<usize>() / tokens.len();
    let qr_version = legion_credential::qr::version(&tokens[0])?;
    println!(
        "{} tokens, {average_token} characters on average (QR version {qr_version} at level Q); \
         signed bytes {average_len} on average; one core; {} rounds of {:.1} s per measurement, interleaved",
        tokens.len(),
        args.rounds,
        args.seconds
    );

    let mut raw_rates = Vec::new();
    let mut full_rates = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..args.rounds.max(1) {
        let raw_rate = rate(&raw, args.seconds, |(key, data, sig)| {
            assert!(key.verify_strict(data, sig).is_ok());
        });
        let full_rate = rate(&tokens, args.seconds, |t| {
            assert!(verifier.verify(t, now).is_ok());
        });
        raw_rates.push(raw_rate);
        full_rates.push(full_rate);
        ratios.push(full_rate / raw_rate);
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        (lo, hi)
    };
    let ((rlo, rhi), (flo, fhi), (qlo, qhi)) = (spread(&raw_rates), spread(&full_rates), spread(&ratios));
    println!(
        "verify: {:.0}/s median ({flo:.0}–{fhi:.0}); raw verify_strict {:.0}/s median ({rlo:.0}–{rhi:.0}); \
         ratio per round: median {:.3} ({qlo:.3}–{qhi:.3})",
        median(&full_rates),
        median(&raw_rates),
        median(&ratios),
    );

    // Issuing: claims to CBOR, COSE, sign, zlib, Base45 — beside signing the same bytes raw.
    let key = SigningKey::from_bytes(&fixture.issuer_seeds[0]);
    let claims: Vec<_> = (0..256).map(|_| fixture.claims("pl-warsaw", &mut rng)).collect();
    let messages: Vec<Vec<u8>> = raw.iter().take(256).map(|r| r.1.clone()).collect();
    let sign_raw = rate(&messages, args.seconds, |m| {
        std::hint::black_box(key.sign(m));
    });
    let issue = rate(&claims, args.seconds, |c| {
        std::hint::black_box(fixture.issuers[0].issue(c));
    });
    println!("issue: {issue:.0}/s; raw Ed25519 sign {sign_raw:.0}/s; ratio {:.3}", issue / sign_raw);

    page(args, &fixture, &tokens, &raw).await
}

/// The offline page in headless Chromium: milliseconds per verification (WebCrypto), beside
/// WebCrypto's raw Ed25519 verify of the same bytes in the same page.
async fn page(
    args: &CredentialArgs,
    fixture: &Fixture,
    tokens: &[String],
    raw: &[(VerifyingKey, Vec<u8>, Signature)],
) -> Result<()> {
    const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
    const CHROMIUM: &str = "/usr/bin/chromium";
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        println!("page: skipped (apt-get install -y chromium chromium-driver)");
        return Ok(());
    }
    let page = args.page.canonicalize().with_context(|| format!("no verifier page at {}", args.page.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _driver = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let profile = tempfile::tempdir()?;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": CHROMIUM, "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={}", profile.path().display())]}),
    );
    let mut attempt = 0;
    let client = loop {
        match fantoccini::ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if attempt < 100 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => bail!("chromedriver: {e}"),
        }
    };
    client.goto(&format!("file://{}", page.display())).await?;
    let n = args.page_verifications.min(tokens.len()).max(1);
    let sample: Vec<&str> = tokens.iter().take(n).map(String::as_str).collect();
    let raw_sample: Vec<serde_json::Value> = raw
        .iter()
        .take(n)
        .map(|(k, d, s)| serde_json::json!([B64.encode(k.as_bytes()), B64.encode(d), B64.encode(s.to_bytes())]))
        .collect();
    let script = "const [trust, rev, tokens, raw, done] = arguments; const v = window.legionVerify;
        const bytes = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
        (async () => {
          v.forget(); await v.setTrustList(trust); await v.setRevocations(rev);
          for (const t of tokens.slice(0, 20)) await v.verify(t);
          let start = performance.now(); let ok = 0;
          for (const t of tokens) { if ((await v.verify(t)).valid) ok++; }
          const page = performance.now() - start;
          const prepared = [];
          for (const [k, d, s] of raw) {
            prepared.push([await crypto.subtle.importKey('raw', bytes(k), {name: 'Ed25519'}, false, ['verify']), bytes(d), bytes(s)]);
          }
          start = performance.now();
          for (const [k, d, s] of prepared) { if (!(await crypto.subtle.verify({name: 'Ed25519'}, k, s, d))) throw new Error('raw'); }
          const rawTime = performance.now() - start;
          v.forget();
          done({ok, page, raw: rawTime, ua: navigator.userAgent});
        })().catch((e) => done({error: String(e)}));";
    let out = client
        .execute_async(
            script,
            vec![
                serde_json::json!(fixture.trust_json),
                serde_json::json!(fixture.revocations_json()),
                serde_json::json!(sample),
                serde_json::json!(raw_sample),
            ],
        )
        .await?;
    client.close().await?;
    if let Some(e) = out.get("error") {
        bail!("the page failed: {e}");
    }
    let ok = out["ok"].as_u64().unwrap_or(0);
    if ok != n as u64 {
        bail!("the page found {ok} of {n} valid tokens valid");
    }
    let page_ms = out["page"].as_f64().unwrap_or(f64::NAN);
    let raw_ms = out["raw"].as_f64().unwrap_or(f64::NAN);
    #[allow(clippy::cast_precision_loss)]
    let per = |ms: f64| ms / n as f64;
    println!(
        "page ({}): {:.3} ms per verification ({:.0}/s) over {n} tokens; WebCrypto Ed25519 verify alone {:.3} ms ({:.0}/s); ratio {:.3}",
        out["ua"].as_str().unwrap_or("Chromium").split(' ').find(|p| p.starts_with("Chrome/")).unwrap_or("Chromium"),
        per(page_ms),
        1000.0 / per(page_ms),
        per(raw_ms),
        1000.0 / per(raw_ms),
        raw_ms / page_ms
    );
    Ok(())
}
