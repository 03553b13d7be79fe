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

/// Characters of a presented name that key its count when it matches no
/// account (so a huge name cannot make a huge key).
const PRESENTED_NAME_CHARS: usize = 256;

/// The failure count of a client address.
fn address_key(client: &str) -> String {
    format!("login:addr:{client}")
}

/// The limiter keys of one login attempt once the name is looked up.
struct ThrottleKeys {
    account: String,
    /// Set when the name matched an account: marks the address as one the
    /// account logged in from.
    known: Option<String>,
}

impl ThrottleKeys {
    fn new(presented: &str, user: Option<UserId>, client: &str) -> Self {
        let account = match user {
            // Username and email of one account share this count.
            Some(id) => format!("login:account:{id}"),
            None => {
                let name: String = presented.chars().take(PRESENTED_NAME_CHARS).collect();
                format!("login:name:{name}")
            }
        };
        Self {
            account,
            known: user.map(|id| format!("login:known:{id}:{client}")),
        }
    }
}

impl AccountService {
    /// Logs in by username or email. Each attempt takes a place in the
    /// failure counts of its client address and of the account (or the
    /// presented name when no account matches) before the password is
    /// checked; a success gives its places back. So N attempts sent at
    /// once are checked at most `login_max_failures` times per window.
    /// An address the account logged in from within
    /// `login_known_address_ttl` is exempt from the account's count (its
    /// own address count still applies), so failures sent from elsewhere
    /// cannot lock the owner out.
    pub async fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &str,
    ) -> Result<TokenPair, LoginError> {
        let limit = self.settings.login_max_failures;
        let window = self.settings.login_window;
        let throttled = limit > 0;
        let address = address_key(client);
        // The address first: an attacker's flood stops before the database.
        if throttled {
            self.take_place(&address, limit, window).await?;
        }
        let mut places = vec![address];
        let result = self
            .checked_login(username_or_email, password, client, &mut places)
            .await;
        let keep = matches!(result, Err(LoginError::InvalidCredentials));
        if throttled && !keep {
            for key in &places {
                if let Err(error) = self.limiter.release(key).await {
                    tracing::warn!(%error, "could not give a login attempt back to the throttle");
                }
            }
        }
        let user = result?;
        self.issue_pair(user, TokenFamilyId::new())
            .await
            .map_err(|e| match e {
                RefreshError::Store(s) => LoginError::Store(s),
                RefreshError::Token(t) => LoginError::Token(t),
                RefreshError::Invalid => LoginError::InvalidCredentials,
            })
    }

    /// Looks the account up, takes its place in the account's count (unless
    /// the address is known to it), and verifies the password. `places`
    /// collects the limiter keys holding a place of this attempt.
    async fn checked_login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &str,
        places: &mut Vec<String>,
    ) -> Result<UserId, LoginError> {
        let limit = self.settings.login_max_failures;
        let found = self
            .store
            .find_credentials(username_or_email.trim())
            .await
            .map_err(account_to_store)?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let keys = ThrottleKeys::new(username_or_email, user.as_ref().map(|u| u.id), client);
        if limit > 0 {
            let known = match &keys.known {
                Some(known) if !self.settings.login_known_address_ttl.is_zero() => {
                    self.limiter.remembers(known).await?
                }
                _ => false,
            };
            if !known {
                self.take_place(&keys.account, limit, self.settings.login_window)
                    .await?;
                places.push(keys.account);
            }
        }
        let matches = self
            .hasher
            .verify(&Password::presented(password), hash)
            .await?;
        match user {
            Some(user) if matches && user.is_active => {
                if limit > 0
                    && let Some(known) = &keys.known
                    && !self.settings.login_known_address_ttl.is_zero()
                {
                    self.limiter
                        .remember(known, self.settings.login_known_address_ttl)
                        .await?;
                }
                Ok(user.id)
            }
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// Takes one place in `key`'s failure count, or refuses the attempt.
    async fn take_place(&self, key: &str, limit: u32, window: Duration) -> Result<(), LoginError> {
        match self.limiter.acquire(key, limit, window).await? {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { retry_after } => Err(LoginError::Throttled { retry_after }),
        }
    }

    /// Rotates a refresh token: the presented one is used up and a new pair
    /// issued. The successor is derived from the presented token, so the
    /// same token presented again within `refresh_reuse_grace` of its use
    /// (a retry after a lost answer or a failure past the rotation) gets
    /// the same refresh token again, while its successor is unused. Any
    /// other second use revokes the whole family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        let now = self.clock.now();
        let presented = self.issuer.hash_refresh_token(refresh_token);
        let next = self.issuer.successor_refresh_token(refresh_token);
        let next_hash = self.issuer.hash_refresh_token(&next);
        let expires_at = now + self.settings.refresh_token_ttl;
        let user_id = match self
            .refresh_tokens
            .rotate(
                &presented,
                &next_hash,
                expires_at,
                now,
                self.settings.refresh_reuse_grace,
            )
            .await?
        {
            RotateOutcome::Rotated { user_id } => user_id,
            RotateOutcome::Replayed { user_id } => {
                tracing::info!("refresh token presented again within the grace window");
                user_id
            }
            RotateOutcome::Reused => {
                tracing::warn!("refresh token reuse detected: family revoked");
                return Err(RefreshError::Invalid);
            }
            RotateOutcome::Invalid => return Err(RefreshError::Invalid),
        };
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
