//! Rate-limiter adapters: in-process for one server, Redis for replicas
//! that must share one budget.

mod memory;
mod redis;

pub use memory::InMemoryRateLimiter;
pub use redis::RedisRateLimiter;
