//! The one test kit of the workspace (a dev-dependency only): scratch
//! stores on every backend, the test app built by the composition root,
//! calling it as a client would, SSE parsing, and [`on_every_store!`].
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod postgres;
pub mod stores;

pub use app::*;
pub use stores::{memory_stores, pool, postgres_stores, sqlite_stores};

pub use agents_server::Stores;

/// Runs each named `scenarios::NAME(stores)` on every store: one module per
/// backend (memory, sqlite, postgres), one test per scenario. Postgres
/// scenarios skip when it is unreachable, unless `REQUIRE_POSTGRES=1`.
#[macro_export]
macro_rules! on_every_store {
    ($($scenario:ident),+ $(,)?) => {
        $crate::on_every_store!(@backend memory, Some($crate::memory_stores()), $($scenario),+);
        $crate::on_every_store!(@backend sqlite, Some($crate::sqlite_stores().await), $($scenario),+);
        $crate::on_every_store!(@backend postgres, $crate::postgres_stores().await, $($scenario),+);
    };
    (@backend $backend:ident, $stores:expr, $($scenario:ident),+) => {
        mod $backend {
            use super::*;
            $(
                #[actix_web::test]
                async fn $scenario() {
                    if let Some(stores) = $stores {
                        scenarios::$scenario(stores).await
                    }
                }
            )+
        }
    };
}
