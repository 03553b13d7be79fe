//! Maps each application error to its status and stable name: the one table
//! of API.md's error names.

use super::ApiError;
use agents_application::health::ReadinessError;

impl From<ReadinessError> for ApiError {
    fn from(err: ReadinessError) -> Self {
        tracing::warn!(error = %err, "readiness check failed");
        ApiError::unavailable("The database is not answering; try again shortly.")
    }
}
