//! The limiter's Redis connection: the redis crate's `ConnectionManager`
//! (one multiplexed connection, reopened after Redis closes it) with what
//! it lacks for a request path: every command has a deadline, so no request
//! waits long on a Redis that is down, and a connection that stopped
//! answering without closing (a host gone, a partition) is replaced, since
//! the manager only reconnects after errors that say the socket closed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};

/// Opening a connection gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A command on an open connection gives up after this long.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Nothing the limiter asks takes longer than this, reconnecting included.
pub(super) const COMMAND_DEADLINE: Duration = Duration::from_secs(2);

/// A cloneable handle; clones share the connection.
#[derive(Clone)]
pub(super) struct ResilientConnection {
    shared: Arc<Shared>,
}

struct Shared {
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// The manager in use and its generation (bumped on each replacement,
    /// so concurrent timeouts replace it once).
    current: RwLock<(u64, ConnectionManager)>,
}

impl ResilientConnection {
    /// Connects now, so a wrong URL or an unreachable Redis fails the start.
    pub(super) async fn connect(client: redis::Client) -> RedisResult<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One quick retry when reconnecting: the deadline bounds the rest.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(250));
        let manager = tokio::time::timeout(
            COMMAND_DEADLINE,
            client.get_connection_manager_with_config(config.clone()),
        )
        .await
        .map_err(|_| timed_out())??;
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                config,
                current: RwLock::new((0, manager)),
            }),
        })
    }

    fn current(&self) -> (u64, ConnectionManager) {
        self.shared
            .current
            .read()
            .map(|current| current.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Drops the manager of `generation` (if still in use) for a new one
    /// that opens its own connection on first use.
    fn replace(&self, generation: u64) {
        let fresh = match ConnectionManager::new_lazy_with_config(
            self.shared.client.clone(),
            self.shared.config.clone(),
        ) {
            Ok(fresh) => fresh,
            Err(err) => {
                tracing::warn!(error = %err.kind_str(), "could not create a new Redis connection manager");
                return;
            }
        };
        let mut current = self
            .shared
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.0 == generation {
            tracing::warn!("Redis stopped answering; opening a new connection");
            *current = (generation + 1, fresh);
        }
    }

    /// Runs `send` on the current manager within the deadline; a timeout
    /// replaces the manager, whose connection may be silently dead.
    async fn send<T, F, Fut>(&self, send: F) -> RedisResult<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let (generation, manager) = self.current();
        let outcome = tokio::time::timeout(COMMAND_DEADLINE, send(manager))
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        if let Err(err) = &outcome
            && err.is_timeout()
        {
            self.replace(generation);
        }
        outcome
    }
}

fn timed_out() -> RedisError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "redis did not answer in time").into()
}

/// The error class without the URL (which may hold a password).
pub(super) trait KindStr {
    fn kind_str(&self) -> String;
}

impl KindStr for RedisError {
    fn kind_str(&self) -> String {
        if self.is_timeout() {
            "timed out".to_owned()
        } else {
            format!("{:?}", self.kind())
        }
    }
}

impl ConnectionLike for ResilientConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.send(move |mut manager| async move { manager.send_packed_command(cmd).await })
            .boxed()
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.send(move |mut manager| async move {
            manager.send_packed_commands(pipeline, offset, count).await
        })
        .boxed()
    }

    fn get_db(&self) -> i64 {
        self.current().1.get_db()
    }
}
