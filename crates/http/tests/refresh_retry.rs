//! A refresh whose answer is lost after the rotation committed: the client's
//! retry within the grace window gets the same new refresh token instead of
//! revoking the login. Run on every store, with a store decorator that
//! commits the first rotation and then reports a failure (as a dropped
//! connection after COMMIT would).

#[macro_use]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::test;
use agents_domain::StoreError;
use agents_domain::account::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
use agents_http::{HttpSettings, build_app};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Rotates for real, but the first rotation then fails as if its answer
/// never came back.
struct FailsOnceAfterRotating {
    inner: Arc<dyn RefreshTokenStore>,
    failed: AtomicBool,
}

#[async_trait]
impl RefreshTokenStore for FailsOnceAfterRotating {
    async fn insert(&self, token: RefreshTokenRecord) -> Result<(), StoreError> {
        self.inner.insert(token).await
    }

    async fn rotate(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: OffsetDateTime,
        now: OffsetDateTime,
        grace: std::time::Duration,
    ) -> Result<RotateOutcome, StoreError> {
        let outcome = self
            .inner
            .rotate(presented_hash, next_hash, next_expires_at, now, grace)
            .await?;
        if !self.failed.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "connection reset after COMMIT".into(),
            ));
        }
        Ok(outcome)
    }

    async fn revoke_family(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.revoke_family(presented_hash, now).await
    }
}

mod scenarios {
    use super::*;
    use support::Stores;

    async fn post<S, B>(app: &S, uri: &str, body: Value) -> (StatusCode, Value)
    where
        S: actix_web::dev::Service<
                actix_http::Request,
                Response = actix_web::dev::ServiceResponse<B>,
                Error = actix_web::Error,
            >,
        B: actix_web::body::MessageBody,
    {
        let req = test::TestRequest::post()
            .uri(uri)
            .set_json(body)
            .to_request();
        let res = test::call_service(app, req).await;
        let status = res.status();
        let bytes = test::read_body(res).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn token(body: &Value) -> String {
        body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn a_refresh_retried_after_a_failure_past_the_rotation_succeeds(stores: Stores) {
        let flaky = Stores {
            refresh_tokens: Arc::new(FailsOnceAfterRotating {
                inner: stores.refresh_tokens.clone(),
                failed: AtomicBool::new(false),
            }),
            ..stores.clone()
        };
        let app = test::init_service(build_app(
            support::state_on(&flaky, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (status, _) = post(
            &app,
            "/api/v1/auth/register",
            json!({"username": "dana", "email": "dana@example.com", "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, login) = post(
            &app,
            "/api/v1/auth/token",
            json!({"username": "dana", "password": "correct horse"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let first = token(&login);

        let refresh = json!({"refresh_token": first});
        let (status, body) = post(&app, "/api/v1/auth/refresh", refresh.clone()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let (status, retried) = post(&app, "/api/v1/auth/refresh", refresh.clone()).await;
        assert_eq!(status, StatusCode::OK, "the retry is not theft: {retried}");
        let second = token(&retried);
        assert!(!second.is_empty() && second != first);
        let (status, again) = post(&app, "/api/v1/auth/refresh", refresh.clone()).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(token(&again), second, "the same pair's refresh token again");

        let (status, next) = post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refresh_token": second}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "the successor works: {next}");
        let third = token(&next);
        let (status, _) = post(&app, "/api/v1/auth/refresh", refresh).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "once the successor is used, the first token is theft"
        );
        let (status, _) = post(
            &app,
            "/api/v1/auth/refresh",
            json!({"refresh_token": third}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "and the login is revoked");
    }
}

on_every_store!(a_refresh_retried_after_a_failure_past_the_rotation_succeeds);
