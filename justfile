# Recipes for the agents service. `just --list` shows them.

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target")

# Start the server on the embedded SQLite default (127.0.0.1:8000).
run *ARGS:
    cargo run -p agents-server -- {{ARGS}}

# The whole test suite (what CI runs).
test:
    cargo test --workspace

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Database migrations: just migrate up|down|status|fresh|refresh|reset (DATABASE_URL picks the database).
migrate *ARGS="up":
    cargo run -p migration -- {{ARGS}}

# Release build of the server, the bare actix-web yardstick and the load tool.
build-release:
    cargo build --release -p agents-server -p agents-http -p agents-e2e --bin agents-server --example bare_hello --bin agents-bench

# Load benchmark, one table: /health against bare actix-web, agents list, me, conversations by API key and by JWT, logins, chat and streams on SQLite and Postgres, RSS (installs wrk if missing).
bench: build-release
    scripts/bench.sh

# Postgres store benchmark: appends, list page and history reads at two sizes, pgbench for scale.
bench-db:
    cargo build --release -p agents-e2e --bin agents-bench
    scripts/bench-db.sh

# Documentation of the library crates, warnings denied.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p agents-domain -p agents-application -p agents-adapters -p agents-http

# Check the compose file (no Docker engine needed).
compose-check:
    if docker compose version >/dev/null 2>&1; then SECRET_KEY=check-only docker compose -f deploy/docker-compose.yml config --quiet; else SECRET_KEY=check-only docker-compose -f deploy/docker-compose.yml config --quiet; fi

# Fuzz the HTTP API with schemathesis (installed into $CARGO_TARGET_DIR/fuzz-venv): a fresh in-memory server with billing and the fake model, every check, the stateful phase; MAX_EXAMPLES per operation.
fuzz MAX_EXAMPLES="100":
    scripts/fuzz.sh {{MAX_EXAMPLES}}
