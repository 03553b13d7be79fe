//! Credentials adapters: Argon2id password hashing and JWT access tokens.

mod argon;
mod jwt;

pub use argon::Argon2Hasher;
pub use jwt::{JwtConfig, JwtIssuer, JwtKeyError, JwtKeys};
