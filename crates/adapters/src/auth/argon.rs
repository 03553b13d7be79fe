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
    concurrency: usize,
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
            concurrency: concurrency.max(1),
            dummy_hash,
        })
    }

    /// Hashes running now (each holds one of the `concurrency` permits).
    pub fn hashes_running(&self) -> usize {
        self.concurrency
            .saturating_sub(self.permits.available_permits())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Other("password hasher closed".into()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        // The permit moves into the blocking task: a caller that goes away
        // (a client disconnecting) cannot free it while the hash still runs.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(argon)
        })
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
    use std::time::Duration;

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
    async fn an_abandoned_hash_keeps_its_permit_until_it_finishes() {
        // Costly enough (64 MiB, 4 passes) to still run after 5 ms.
        let params = Params::new(64 * 1024, 4, 1, None).expect("valid params");
        let hasher = Argon2Hasher::with_params(params, 1).expect("hasher");
        let password = Password::presented("anything at all");
        let abandoned =
            tokio::time::timeout(Duration::from_millis(5), hasher.verify(&password, None)).await;
        assert!(
            abandoned.is_err(),
            "the caller gave up before the hash ended"
        );
        assert_eq!(
            hasher.hashes_running(),
            1,
            "the running hash still holds the only permit"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while hasher.hashes_running() > 0 {
            assert!(std::time::Instant::now() < deadline, "the hash never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !hasher
                .verify(&password, None)
                .await
                .expect("the permit is free again")
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
