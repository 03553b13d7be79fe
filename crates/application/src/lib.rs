//! Use cases of the agents service. Depends only on the domain's ports, so
//! any adapter can be swapped in and every use case runs over in-memory fakes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod agents;
pub mod api_keys;
pub mod billing;
pub mod cause;
pub mod chat;
pub mod conversations;
pub mod health;
pub mod runs;
pub mod runtime;
pub mod tools;

#[cfg(test)]
mod testing;
