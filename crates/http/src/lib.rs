//! HTTP delivery of the agents service over actix-web: routes, extractors,
//! the error envelope, middleware and the OpenAPI document. Handlers parse,
//! call one application service and map the result; nothing else.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod cors;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod telemetry;

pub use app::{HttpSettings, build_app, serve};
pub use error::ApiError;
pub use routes::sse::SseEncoder;
pub use state::{AppInfo, AppState};
