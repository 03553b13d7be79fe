//! Login with throttling, refresh-token rotation with reuse detection, logout.

use std::time::Duration;

use agents_domain::account::{Password, RotateOutcome, TokenError};
use agents_domain::ids::TokenFamilyId;
use agents_domain::limiter::RateDecision;
use agents_domain::{StoreError, UserId};

use super::AccountService;
use agents_domain::account::RefreshTokenRecord;

/// Tokens handed to a client.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Short-lived JWT.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque single-use refresh token.
    pub refresh_token: String,
}

/// Why a login failed. Unknown user, wrong password and inactive account
/// are one variant, so they cannot be told apart.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Incorrect username or password.
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// Too many failures for this username or address.
    #[error("too many failed logins")]
    Throttled {
        /// When to try again.
        retry_after: Duration,
    },
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Token signing failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Why a refresh or logout failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired, used or revoked token (a reused one revoked its family).
    #[error("invalid refresh token")]
    Invalid,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Token signing failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

fn throttle_keys(username: &str, client: &str) -> [String; 2] {
    [
        format!("login:user:{}", username.trim().to_lowercase()),
        format!("login:addr:{client}"),
    ]
}

impl AccountService {
    /// Logs in by username or email. Throttled per username and per client
    /// address after `login_max_failures` failures in `login_window`.
    pub async fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &str,
    ) -> Result<TokenPair, LoginError> {
        let limit = self.settings.login_max_failures;
        let window = self.settings.login_window;
        let keys = throttle_keys(username_or_email, client);
        if limit > 0 {
            for key in &keys {
                if let RateDecision::Limited { retry_after } =
                    self.limiter.peek(key, limit, window).await?
                {
                    return Err(LoginError::Throttled { retry_after });
                }
            }
        }
        let found = self
            .store
            .find_credentials(username_or_email.trim())
            .await
            .map_err(account_to_store)?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let matches = self
            .hasher
            .verify(&Password::presented(password), hash)
            .await?;
        let user = match user {
            Some(user) if matches && user.is_active => user,
            _ => {
                if limit > 0 {
                    for key in &keys {
                        self.limiter.hit(key, limit, window).await?;
                    }
                }
                return Err(LoginError::InvalidCredentials);
            }
        };
        if limit > 0 {
            self.limiter.reset(&keys[0]).await?;
        }
        let family = TokenFamilyId::new();
        self.issue_pair(user.id, family).await.map_err(|e| match e {
            RefreshError::Store(s) => LoginError::Store(s),
            RefreshError::Token(t) => LoginError::Token(t),
            RefreshError::Invalid => LoginError::InvalidCredentials,
        })
    }

    /// Rotates a refresh token: the presented one is used up and a new pair
    /// issued. A token presented twice revokes its whole family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        let now = self.clock.now();
        let presented = self.issuer.hash_refresh_token(refresh_token);
        let next = self.issuer.generate_refresh_token();
        let next_hash = self.issuer.hash_refresh_token(&next);
        let expires_at = now + self.settings.refresh_token_ttl;
        match self
            .refresh_tokens
            .rotate(&presented, &next_hash, expires_at, now)
            .await?
        {
            RotateOutcome::Rotated { user_id } => {
                let active = self
                    .store
                    .find_user(user_id)
                    .await
                    .map_err(account_to_store)?
                    .is_some_and(|u| u.is_active);
                if !active {
                    self.refresh_tokens.revoke_family(&next_hash, now).await?;
                    return Err(RefreshError::Invalid);
                }
                let (access_token, _) = self.issuer.issue(user_id, now)?;
                Ok(TokenPair {
                    access_token,
                    expires_in: self.issuer.lifetime_seconds(),
                    refresh_token: next,
                })
            }
            RotateOutcome::Reused => {
                tracing::warn!("refresh token reuse detected: family revoked");
                Err(RefreshError::Invalid)
            }
            RotateOutcome::Invalid => Err(RefreshError::Invalid),
        }
    }

    /// Revokes every refresh token of the login `refresh_token` belongs to.
    /// Unknown tokens are accepted silently (logout is idempotent).
    pub async fn logout(&self, refresh_token: &str) -> Result<(), RefreshError> {
        let hash = self.issuer.hash_refresh_token(refresh_token);
        self.refresh_tokens
            .revoke_family(&hash, self.clock.now())
            .await?;
        Ok(())
    }

    async fn issue_pair(
        &self,
        user: UserId,
        family: TokenFamilyId,
    ) -> Result<TokenPair, RefreshError> {
        let now = self.clock.now();
        let (access_token, _) = self.issuer.issue(user, now)?;
        let refresh_token = self.issuer.generate_refresh_token();
        self.refresh_tokens
            .insert(RefreshTokenRecord {
                token_hash: self.issuer.hash_refresh_token(&refresh_token),
                family_id: family,
                user_id: user,
                created_at: now,
                expires_at: now + self.settings.refresh_token_ttl,
            })
            .await?;
        Ok(TokenPair {
            access_token,
            expires_in: self.issuer.lifetime_seconds(),
            refresh_token,
        })
    }
}

/// Account-store errors on paths where only infrastructure failures can occur.
pub(super) fn account_to_store(err: agents_domain::account::AccountError) -> StoreError {
    match err {
        agents_domain::account::AccountError::Store(e) => e,
        other => StoreError::other(other.to_string()),
    }
}
