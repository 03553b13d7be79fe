//! Argon2id password hashing off the async executor, bounded by a semaphore
//! so a login burst queues instead of allocating 19 MiB per blocking thread.

use std::sync::Arc;

use agents_domain::StoreError;
use agents_domain::account::{Password, PasswordHasher};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// Argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane), PHC output.
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl Argon2Hasher {
    /// A hasher running at most `concurrency` hashes at once (use the core count).
    pub fn new(concurrency: usize) -> Result<Self, StoreError> {
        Self::with_params(Params::DEFAULT, concurrency)
    }

    /// A hasher with explicit parameters (tests use cheap ones).
    pub fn with_params(params: Params, concurrency: usize) -> Result<Self, StoreError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        // Verifying unknown users against a real hash of the same cost keeps
        // their timing identical to a wrong password.
        let dummy_hash = argon
            .hash_password(b"dummy password for timing equalisation")
            .map_err(|e| StoreError::other(format!("argon2 setup failed: {e}")))?
            .to_string();
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash,
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Other("password hasher closed".into()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        tokio::task::spawn_blocking(move || work(argon))
            .await
            .map_err(|e| StoreError::other(format!("password hashing task failed: {e}")))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<String, StoreError> {
        let password = password.expose().to_owned();
        self.blocking(move |argon| {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| StoreError::other(format!("password hashing failed: {e}")))
    }

    async fn verify(
        &self,
        password: &Password,
        phc_hash: Option<String>,
    ) -> Result<bool, StoreError> {
        let known = phc_hash.is_some();
        let hash = phc_hash.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.expose().to_owned();
        let matched = self
            .blocking(move |argon| {
                argon
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Hasher {
        let params = Params::new(256, 1, 1, None).expect("valid params");
        Argon2Hasher::with_params(params, 2).expect("hasher")
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let hasher = cheap();
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(
            hasher
                .verify(&password, Some(hash.clone()))
                .await
                .expect("verify")
        );
        let wrong = Password::presented("wrong horse battery");
        assert!(!hasher.verify(&wrong, Some(hash)).await.expect("verify"));
    }

    #[tokio::test]
    async fn unknown_users_never_verify_even_with_the_dummy_password() {
        let hasher = cheap();
        let dummy = Password::presented("dummy password for timing equalisation");
        assert!(!hasher.verify(&dummy, None).await.expect("verify"));
    }

    #[tokio::test]
    async fn default_parameters_meet_the_owasp_minimum() {
        let hasher = Argon2Hasher::new(1).expect("hasher");
        assert!(
            hasher
                .dummy_hash
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hasher.dummy_hash
        );
    }

    #[tokio::test]
    async fn a_garbage_stored_hash_does_not_verify() {
        let hasher = cheap();
        let password = Password::presented("anything at all");
        assert!(
            !hasher
                .verify(&password, Some("not-a-phc-string".into()))
                .await
                .expect("verify")
        );
    }
}
