//! `agents-bench`: load benchmarks of the release `agents-server` (each
//! scenario starts its own server on a free loopback port, with the fake
//! model in this process) and of the Postgres conversation store. Every
//! scenario prints rows of the `scripts/bench.sh` table on stdout; details
//! go to stderr. Runs are bounded in time and in requests.
#![forbid(unsafe_code)]

mod db;
mod http;
mod keys;
mod runs;
mod server;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::http::Load;
use crate::server::Store;

#[derive(Parser)]
#[command(about = "Load benchmarks of agents-server (loopback only)")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args, Clone)]
struct Common {
    /// The server binary (default: agents-server next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the server keeps its data.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: Store,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured warm-up seconds.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// At most this many requests per phase.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
}

#[derive(Subcommand)]
enum Scenario {
    /// Authenticated `GET /api/v1/auth/me` (on Postgres also SQL statements per request).
    Me {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// `GET /api/v1/conversations` by an API key and by a JWT, side by side
    /// (on Postgres also SQL statements per request).
    Keys {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// `POST /api/v1/auth/token` with correct passwords.
    Login {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients (default: twice the cores, at least 8).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// `POST /api/v1/chat` with the fake model answering at once.
    Chat {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// `POST /api/v1/chat/stream`: first delta and per-event latency.
    Stream {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// The fake model's pause between chunks, in milliseconds.
        #[arg(long, default_value_t = 5)]
        pause_ms: u64,
    },
    /// Streams as runs: first-delta and per-event latency, optionally with
    /// a watcher reattached to each run, in process or through Redis.
    Runs {
        #[command(flatten)]
        common: Common,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// The fake model's pause between chunks, in milliseconds.
        #[arg(long, default_value_t = 5)]
        pause_ms: u64,
        /// Reattach a watcher to each run after its first event.
        #[arg(long)]
        watch: bool,
        /// Run events and cancels through this Redis (`REDIS_URL`).
        #[arg(long)]
        redis: Option<String>,
    },
    /// Many streams open at once: the server's resident memory.
    Streams {
        #[command(flatten)]
        common: Common,
        /// Streams open at once.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// The fake model's pause between chunks, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        pause_ms: u64,
    },
    /// The Postgres conversation store: appends, list page and history reads at two sizes.
    Db {
        /// Concurrent appending tasks (and pool connections).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Conversations the appends spread over.
        #[arg(long, default_value_t = 1000)]
        conversations: u64,
        /// Measured seconds of appends.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Reads timed per figure.
        #[arg(long, default_value_t = 1000)]
        reads: usize,
        /// Users at the small size (100 conversations, 1,000 messages each).
        #[arg(long, default_value_t = 100)]
        small_users: u64,
        /// Users at the large size.
        #[arg(long, default_value_t = 1000)]
        large_users: u64,
    },
}

impl Common {
    fn load(&self, concurrency: usize) -> Load {
        Load {
            concurrency: concurrency.max(1),
            duration: Duration::from_secs(self.duration.max(1)),
            warmup: Duration::from_secs(self.warmup),
            max_requests: self.max_requests,
        }
    }

    fn binary(&self) -> PathBuf {
        self.server.clone().unwrap_or_else(server::default_binary)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.scenario {
        Scenario::Me {
            common,
            concurrency,
        } => http::me(&common.binary(), common.store, common.load(concurrency)).await,
        Scenario::Keys {
            common,
            concurrency,
        } => keys::conversations(&common.binary(), common.store, common.load(concurrency)).await,
        Scenario::Login {
            common,
            concurrency,
        } => {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            let concurrency = concurrency.unwrap_or((2 * cores).max(8));
            http::logins(&common.binary(), common.store, common.load(concurrency)).await
        }
        Scenario::Chat {
            common,
            concurrency,
        } => http::chat(&common.binary(), common.store, common.load(concurrency)).await,
        Scenario::Stream {
            common,
            concurrency,
            pause_ms,
        } => {
            http::stream(
                &common.binary(),
                common.store,
                common.load(concurrency),
                Duration::from_millis(pause_ms),
            )
            .await
        }
        Scenario::Runs {
            common,
            concurrency,
            pause_ms,
            watch,
            redis,
        } => {
            runs::runs(
                &common.binary(),
                common.store,
                redis.as_deref(),
                common.load(concurrency),
                Duration::from_millis(pause_ms),
                watch,
            )
            .await
        }
        Scenario::Streams {
            common,
            count,
            pause_ms,
        } => {
            http::open_streams(
                &common.binary(),
                common.store,
                count,
                Duration::from_millis(pause_ms),
            )
            .await
        }
        Scenario::Db {
            concurrency,
            conversations,
            duration,
            reads,
            small_users,
            large_users,
        } => {
            db::run(db::DbBench {
                concurrency: concurrency.max(1),
                conversations: conversations.max(1),
                duration: Duration::from_secs(duration.max(1)),
                reads: reads.max(1),
                small_users: small_users.max(1),
                large_users: large_users.max(small_users + 1),
            })
            .await
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agents-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
