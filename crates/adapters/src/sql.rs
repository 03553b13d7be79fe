//! sea-orm implementations of the store ports, one code path for Postgres and
//! SQLite: hand-written SQL with `$n` parameters (which both accept), typed
//! bindings, and a branch only where the dialects differ.

mod accounts;
mod api_keys;
mod billing;
mod connect;
mod conversations;
mod errors;
mod probe;
mod rows;
mod runs;
mod support;
mod tokens;

pub use accounts::SeaOrmAccountStore;
pub use api_keys::SeaOrmApiKeyStore;
pub use billing::SeaOrmBillingStore;
pub use connect::{
    ConnectError, MigrateError, MigrateReport, PoolOptions, PoolUsage, SqlDatabase, SqlStores,
    connect,
};
pub use conversations::SeaOrmConversationStore;
pub use errors::{
    DB_ERRORS_TOTAL, FailureClass, classify, classify_sqlite_code, classify_sqlstate, classify_sqlx,
};
pub use probe::SqlHealthProbe;
pub use runs::SeaOrmRunStore;
pub use tokens::SeaOrmRefreshTokenStore;

pub(crate) use rows::{preview, truncate_chars};
