//! API key secrets: 32 random bytes, URL-safe base64 after `agk_`, stored
//! as their SHA-256 in hex.

use agents_domain::api_key::{KEY_PREFIX, KeyMaterial};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Keys from the OS random generator, hashed with SHA-256.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256KeyMaterial;

impl KeyMaterial for Sha256KeyMaterial {
    fn generate(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    fn hash(&self, key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_url_safe_distinct_and_hash_to_hex() {
        let material = Sha256KeyMaterial;
        let (a, b) = (material.generate(), material.generate());
        assert_ne!(a, b);
        assert!(a.starts_with("agk_") && a.len() >= 4 + 32, "{a}");
        assert!(
            a[4..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        let hash = material.hash(&a);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, material.hash(&a));
        assert_ne!(hash, material.hash(&b));
    }
}
