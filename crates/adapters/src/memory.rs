//! In-memory implementations of the store ports: for tests, development and
//! embedders. Each holds its state behind one lock, which is what makes
//! concurrent appends gap-free.

mod accounts;
mod api_keys;
mod billing;
mod conversations;
mod lock;
mod probe;
mod runs;
mod scripted_model;
mod tokens;

pub use accounts::InMemoryAccountStore;
pub use api_keys::InMemoryApiKeyStore;
pub use billing::InMemoryBillingStore;
pub use conversations::InMemoryConversationStore;
pub use probe::AlwaysReady;
pub use runs::InMemoryRunStore;
pub use scripted_model::{ScriptedChatModel, ScriptedTurn};
pub use tokens::InMemoryRefreshTokenStore;
