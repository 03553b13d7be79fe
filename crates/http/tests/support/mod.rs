//! The shared test kit, under the name these tests use.

#![allow(dead_code, unused_imports)]

pub use agents_testkit::*;

/// See [`agents_testkit::on_every_store!`].
#[allow(unused_macros)]
macro_rules! on_every_store {
    ($($scenario:ident),+ $(,)?) => {
        agents_testkit::on_every_store!($($scenario),+);
    };
}
