//! The login throttle under real concurrency: the real app served over TCP
//! by four workers, 40 login attempts sent at once, and a hasher that counts
//! password checks. Run on the in-process limiter and on Redis (the real
//! local Redis; skipped with a reason when unreachable, unless
//! `REQUIRE_REDIS=1`). Client addresses come from `X-Forwarded-For` behind
//! the trusted loopback peer, fresh per run so earlier runs' Redis counts
//! never interfere.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use agents_adapters::auth::Argon2Hasher;
use agents_adapters::limiter::{InMemoryRateLimiter, RedisRateLimiter};
use agents_application::accounts::{AccountService, AccountSettings};
use agents_domain::StoreError;
use agents_domain::account::{Password, PasswordHasher};
use agents_domain::clock::SystemClock;
use agents_domain::limiter::RateLimiter;
use agents_http::extract::TrustedProxies;
use agents_http::{HttpSettings, serve};
use async_trait::async_trait;
use serde_json::json;

/// Argon2 (cheap parameters) that counts verifications and holds each one
/// a little, so concurrent attempts overlap on the password check.
struct CountingHasher {
    inner: Argon2Hasher,
    checks: AtomicUsize,
}

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &Password) -> Result<String, StoreError> {
        self.inner.hash(password).await
    }

    async fn verify(&self, password: &Password, hash: Option<String>) -> Result<bool, StoreError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.inner.verify(password, hash).await
    }
}

struct Server {
    base: String,
    hasher: Arc<CountingHasher>,
    handle: ServerHandle,
    _stores: support::Stores,
}

impl Server {
    async fn start(limiter: Arc<dyn RateLimiter>) -> Self {
        let stores = support::memory_stores();
        let mut state = support::state_on(&stores, None).await;
        state.trusted_proxies = TrustedProxies(vec!["127.0.0.0/8".parse().expect("cidr")]);
        let params = argon2::Params::new(1024, 1, 1, None).expect("argon2 params");
        let hasher = Arc::new(CountingHasher {
            inner: Argon2Hasher::with_params(params, 4).expect("hasher"),
            checks: AtomicUsize::new(0),
        });
        state.accounts = Arc::new(AccountService::new(
            stores.accounts.clone(),
            stores.refresh_tokens.clone(),
            hasher.clone(),
            Arc::new(support::jwt()),
            limiter,
            Arc::new(SystemClock),
            AccountSettings {
                login_max_failures: 5,
                login_window: Duration::from_secs(60),
                ..AccountSettings::default()
            },
        ));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let settings = HttpSettings {
            workers: Some(4),
            shutdown_timeout_secs: 1,
            ..HttpSettings::default()
        };
        let server = serve(listener, state, settings).expect("serve");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base,
            hasher,
            handle,
            _stores: stores,
        }
    }

    fn checks(&self) -> usize {
        self.hasher.checks.load(Ordering::SeqCst)
    }

    async fn login(&self, name: &str, password: &str, address: &str) -> (u16, Option<String>) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", self.base))
            .header("X-Forwarded-For", address)
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .expect("the server answers");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (response.status().as_u16(), retry_after)
    }

    async fn register(&self, name: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/register", self.base))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 201);
    }

    /// Sends `attempts` wrong passwords for `name` at once, each from its
    /// own fresh address; returns the statuses.
    async fn guess_at_once(&self, name: &str, attempts: usize) -> Vec<u16> {
        let guesses = (0..attempts).map(|i| async move {
            let (status, retry_after) = self
                .login(name, &format!("guess number {i}"), &address())
                .await;
            if status == 429 {
                assert!(
                    retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
                    "429 carries Retry-After"
                );
            }
            status
        });
        futures::future::join_all(guesses).await
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A client address no other run uses (Redis counts outlive a test).
fn address() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    format!("10.{}.{}.{}", bytes[0], bytes[1], bytes[2])
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn redis() -> Option<Arc<dyn RateLimiter>> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    match RedisRateLimiter::connect(&url).await {
        Ok(limiter) => Some(Arc::new(limiter)),
        Err(err) if std::env::var("REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("REQUIRE_REDIS=1 but Redis is unreachable: {err}")
        }
        Err(err) => {
            eprintln!("skipping the Redis login throttle test: {err}");
            None
        }
    }
}

/// 40 wrong passwords for one account sent at once from 40 addresses, with
/// `LOGIN_MAX_FAILURES=5`: five password checks, 35 refusals. Then the
/// account's email shares that count, and an unknown name has its own.
async fn concurrent_guesses_are_checked_at_most_the_limit(limiter: Arc<dyn RateLimiter>) {
    let server = Server::start(limiter).await;
    let name = format!("victim{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    server.register(&name).await;

    let statuses = server.guess_at_once(&name, 40).await;
    assert_eq!(server.checks(), 5, "{statuses:?}");
    assert_eq!(
        (count(&statuses, 401), count(&statuses, 429)),
        (5, 35),
        "{statuses:?}"
    );

    let (status, _) = server
        .login(&format!("{name}@example.com"), "guess by email", &address())
        .await;
    assert_eq!(status, 429, "username and email share one count");
    assert_eq!(server.checks(), 5, "the refused attempt checked nothing");

    let ghost = format!("ghost-{}", uuid::Uuid::new_v4());
    let statuses = server.guess_at_once(&ghost, 40).await;
    assert_eq!(server.checks(), 10, "an unknown name is counted too");
    assert_eq!(count(&statuses, 429), 35, "{statuses:?}");
    server.stop().await;
}

#[actix_web::test]
async fn concurrent_guesses_are_checked_at_most_the_limit_in_process() {
    concurrent_guesses_are_checked_at_most_the_limit(Arc::new(InMemoryRateLimiter::new())).await;
}

#[actix_web::test]
async fn concurrent_guesses_are_checked_at_most_the_limit_on_redis() {
    if let Some(limiter) = redis().await {
        concurrent_guesses_are_checked_at_most_the_limit(limiter).await;
    }
}

/// The lock-out is no free account lock: an attacker elsewhere fills the
/// account's count, yet its owner still logs in from an address they
/// logged in from before. That address keeps its own failure count.
#[actix_web::test]
async fn failures_from_elsewhere_do_not_lock_the_owner_out_of_a_known_address() {
    let server = Server::start(Arc::new(InMemoryRateLimiter::new())).await;
    server.register("owner").await;
    let (home, attacker, stranger) = (address(), address(), address());
    assert_eq!(
        server.login("owner", "correct horse", &home).await.0,
        200,
        "the owner logs in from home"
    );

    for _ in 0..5 {
        assert_eq!(server.login("owner", "wrong guess", &attacker).await.0, 401);
    }
    assert_eq!(server.login("owner", "wrong guess", &attacker).await.0, 429);
    assert_eq!(
        server.login("owner", "correct horse", &stranger).await.0,
        429,
        "the account is locked for addresses it never logged in from"
    );
    assert_eq!(
        server.login("owner", "correct horse", &home).await.0,
        200,
        "but not for the owner's own address"
    );

    for _ in 0..5 {
        assert_eq!(server.login("owner", "typo typo", &home).await.0, 401);
    }
    assert_eq!(
        server.login("owner", "correct horse", &home).await.0,
        429,
        "a known address is still limited by its own count"
    );
    server.stop().await;
}
