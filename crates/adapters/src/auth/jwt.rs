//! JWT access tokens: HS256 with the secret key, or EdDSA with a PEM key
//! pair. Validation pins the algorithm and checks exp, iss and aud.

use agents_domain::UserId;
use agents_domain::account::{AccessClaims, TokenError, TokenIssuer};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Signing material.
pub enum JwtKeys {
    /// HMAC secret (at least 32 bytes; checked by the caller's configuration).
    Hs256(Vec<u8>),
    /// Ed25519 key pair, PEM encoded.
    EdDsa {
        /// PKCS#8 private key PEM.
        private_pem: Vec<u8>,
        /// SPKI public key PEM.
        public_pem: Vec<u8>,
    },
}

/// Issuer settings.
pub struct JwtConfig {
    /// Signing material.
    pub keys: JwtKeys,
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Token lifetime in seconds.
    pub lifetime_seconds: i64,
    /// Clock skew tolerated on `exp`, in seconds.
    pub leeway_seconds: u64,
}

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid JWT key: {0}")]
pub struct JwtKeyError(String);

/// Issues and verifies access tokens.
pub struct JwtIssuer {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    lifetime_seconds: i64,
    /// Derives refresh-token successors; from the signing material, so
    /// replicas sharing the key derive the same successor.
    successor_key: [u8; 32],
}

/// The successor key: a hash of the secret signing material under a label
/// of its own, so it is never the signing key itself.
fn successor_key(keys: &JwtKeys) -> [u8; 32] {
    let material: &[u8] = match keys {
        JwtKeys::Hs256(secret) => secret,
        JwtKeys::EdDsa { private_pem, .. } => private_pem,
    };
    let mut hasher = Sha256::new();
    hasher.update(b"agents refresh-token successor key v1\0");
    hasher.update(material);
    hasher.finalize().into()
}

impl JwtIssuer {
    /// Loads the keys and fixes the validation rules.
    pub fn new(config: JwtConfig) -> Result<Self, JwtKeyError> {
        let key_err = |e: jsonwebtoken::errors::Error| JwtKeyError(e.to_string());
        let (algorithm, encoding, decoding) = match &config.keys {
            JwtKeys::Hs256(secret) => (
                Algorithm::HS256,
                EncodingKey::from_secret(secret).map_err(key_err)?,
                DecodingKey::from_secret(secret).map_err(key_err)?,
            ),
            JwtKeys::EdDsa {
                private_pem,
                public_pem,
            } => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_pem(private_pem).map_err(key_err)?,
                DecodingKey::from_ed_pem(public_pem).map_err(key_err)?,
            ),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.leeway_seconds;
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Ok(Self {
            algorithm,
            encoding,
            decoding,
            validation,
            issuer: config.issuer,
            audience: config.audience,
            lifetime_seconds: config.lifetime_seconds,
            successor_key: successor_key(&config.keys),
        })
    }
}

impl TokenIssuer for JwtIssuer {
    fn issue(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(String, AccessClaims), TokenError> {
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            sub: user.to_string(),
            iat,
            exp: iat + self.lifetime_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok((token, claims))
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    fn lifetime_seconds(&self) -> i64 {
        self.lifetime_seconds
    }

    fn generate_refresh_token(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    fn successor_refresh_token(&self, presented: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail; the fallback
        // (a random token) only loses the retry-with-the-same-token grace.
        match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.successor_key) {
            Ok(mut mac) => {
                mac.update(presented.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => self.generate_refresh_token(),
        }
    }

    fn hash_refresh_token(&self, token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }
}

#[cfg(test)]
mod tests;
