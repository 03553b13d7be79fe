//! In-memory implementations of the store ports: for tests, development and
//! embedders. Each holds its state behind one lock, which is what makes
//! concurrent appends gap-free.

mod scripted_model;
pub use scripted_model::{ScriptedChatModel, ScriptedTurn};
