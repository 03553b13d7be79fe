//! Readiness of the database: `SELECT 1`.

use agents_domain::StoreError;
use agents_domain::health::HealthProbe;
use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::support::store_err;

/// Pings the database with `SELECT 1`; the caller bounds the wait.
#[derive(Debug, Clone)]
pub struct SqlHealthProbe {
    db: DatabaseConnection,
}

impl SqlHealthProbe {
    /// A probe on an open connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl HealthProbe for SqlHealthProbe {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| match store_err(e) {
                // Any failure here means the database does not answer.
                StoreError::Other(cause) => StoreError::Unavailable(cause),
                unavailable => unavailable,
            })
    }
}
