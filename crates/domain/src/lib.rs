//! Domain of the agents service: entities, value objects, typed errors and the
//! ports (traits) that adapters implement. No I/O and no framework types live
//! here, so the core can be embedded anywhere and tested with in-memory fakes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod api_key;
pub mod billing;
pub mod clock;
pub mod conversation;
pub mod error;
pub mod health;
pub mod ids;
pub mod limiter;
pub mod llm;
pub mod run;
pub mod search;
pub mod secret;

pub use error::{FieldError, StoreCause, StoreError};
pub use ids::{ApiKeyId, PlanId, RunId, SubscriptionId, TenantId, UserId};
