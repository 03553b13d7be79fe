//! Run bus adapters: in process for one server, Redis for replicas that
//! must see each other's runs.

mod memory;
mod redis;

pub use memory::InProcessRunBus;
pub use redis::RedisRunBus;
