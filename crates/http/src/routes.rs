//! Route modules, one resource each, each exposing `configure`.

pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod billing;
pub mod chat;
pub mod console;
pub mod conversations;
pub mod fallback;
pub mod health;
pub mod openapi;
pub mod root;
pub mod runs;
pub mod sse;
pub mod tenants;
pub mod tools;
