//! Signed checkpoints and key text from untrusted files: opening them never panics, and any
//! checkpoint signs and verifies back to itself.
#![no_main]

use std::sync::LazyLock;

use legion_audit::{Checkpoint, CheckpointSigner, CheckpointVerifier, Hash};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "legion.example/audit";

static SIGNER: LazyLock<CheckpointSigner> =
    LazyLock::new(|| CheckpointSigner::from_seed(ORIGIN, &[7; 32]).expect("valid key name"));
static VERIFIER: LazyLock<CheckpointVerifier> = LazyLock::new(|| SIGNER.verifier());

fuzz_target!(|data: &[u8]| {
    let _ = VERIFIER.verify(data, ORIGIN);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CheckpointVerifier::from_verifier_key(text);
        let _ = CheckpointSigner::from_signer_key(text);
    }
    // Signing costs far more than parsing, so only inputs marked 'R' take the round trip.
    if let [b'R', rest @ ..] = data
        && rest.len() >= 40
    {
        let size = u64::from_le_bytes(rest[..8].try_into().unwrap());
        let root = Hash(rest[8..40].try_into().unwrap());
        let origin = String::from_utf8_lossy(&rest[40..]);
        if let Ok(checkpoint) = Checkpoint::new(origin, size, root) {
            let note = SIGNER.sign(&checkpoint);
            assert_eq!(VERIFIER.verify(note.as_bytes(), checkpoint.origin()), Ok(checkpoint));
        }
    }
});
