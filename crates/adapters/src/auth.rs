//! Credentials adapters: Argon2id password hashing and JWT access tokens.

mod api_key;
mod argon;
mod jwt;

pub use api_key::Sha256KeyMaterial;
pub use argon::Argon2Hasher;
pub use jwt::{JwtConfig, JwtIssuer, JwtKeyError, JwtKeys};
