//! Randomness as a parameter, so tests can be deterministic and no crypto function reaches for a global RNG.

use crate::VaultError;

/// A source of cryptographically secure random bytes for keys and nonces.
///
/// Implemented for every `rand` 0.8 generator that is marked [`rand::CryptoRng`], which includes
/// [`rand::rngs::OsRng`] (production) and seeded [`rand::rngs::StdRng`] (tests).
pub trait RandomSource {
    /// Fills `buf` entirely with random bytes, or fails without a partial result being used.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError>;
}

impl<R: rand::RngCore + rand::CryptoRng + ?Sized> RandomSource for R {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError> {
        self.try_fill_bytes(buf).map_err(|e| VaultError::Randomness(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn os_rng_fills_the_whole_buffer() {
        let mut buf = [0u8; 64];
        rand::rngs::OsRng.fill(&mut buf).unwrap();
        assert_ne!(buf, [0u8; 64]);
    }

    #[test]
    fn seeded_rng_is_reproducible() {
        let (mut a, mut b) = ([0u8; 24], [0u8; 24]);
        rand::rngs::StdRng::seed_from_u64(7).fill(&mut a).unwrap();
        rand::rngs::StdRng::seed_from_u64(7).fill(&mut b).unwrap();
        assert_eq!(a, b);
    }
}
