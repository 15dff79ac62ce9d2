//! Stored field envelopes and wrapped keys read back from a database: decoding and opening never panic,
//! whatever the bytes, and what decodes re-encodes to the same bytes.
#![no_main]

use legion_vault::secrecy::ExposeSecret;
use legion_vault::{
    AadContext, DataKey, Envelope, Kek, KeyVersion, Keyring, RandomSource, VaultError, WrappedKey, open, seal,
    unwrap_key,
};
use libfuzzer_sys::fuzz_target;

/// Fixed "randomness" so every run uses the same keys and the fuzzer's corpus stays meaningful.
struct Fixed(u8);

impl RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError> {
        buf.fill(self.0);
        self.0 = self.0.wrapping_add(1);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let dek = DataKey::generate(KeyVersion(1), &mut Fixed(7)).unwrap();
    let kek = Kek::generate(KeyVersion(1), &mut Fixed(9)).unwrap();
    let context = AadContext::new("applicant", "passport_number", 1_i64);

    if let Ok(envelope) = Envelope::decode(data) {
        assert_eq!(envelope.encode(), data);
    }
    // Forging a tag by chance is not something a fuzzer can do; anything that opens is a bug.
    assert!(open(&dek, &context, data).is_err());
    assert!(Keyring::new(DataKey::generate(KeyVersion(1), &mut Fixed(7)).unwrap()).open(&context, data).is_err());

    if let Ok(wrapped) = WrappedKey::decode(data) {
        assert_eq!(wrapped.encode(), data);
    }
    assert!(unwrap_key(data, &kek, "pl-warsaw").is_err());

    if data.len() <= 4096 {
        let sealed = seal(&dek, &context, data, &mut Fixed(data.len() as u8)).unwrap();
        assert_eq!(open(&dek, &context, &sealed).unwrap().expose_secret(), data);
    }
});
