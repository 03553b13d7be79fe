//! Adapters implementing the domain's ports: in-memory stores for tests and
//! embedding, sea-orm stores for Postgres and SQLite, and HTTP clients for
//! OpenAI-compatible models, Tavily and Stripe.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod limiter;
pub mod memory;
pub mod openai;
pub mod payments;
mod retry;
pub mod runs;
pub mod sql;
pub mod tavily;
