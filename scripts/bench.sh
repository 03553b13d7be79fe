#!/usr/bin/env bash
# Load benchmark of the release build, loopback only: wrk on /health (ours
# against a bare actix-web hello) and /api/v1/agents, then agents-bench
# (tests/src/bin/agents-bench) for authenticated `me`, logins, chat and
# streams on SQLite and Postgres with the fake model, and the memory of
# 1,000 open streams (each a run), and runs with and without a reattached
# watcher, in process and through Redis. Progress goes to stderr; ONE table is printed at the end.
# Needs a release build (the justfile builds it) and, for the Postgres rows,
# a Postgres at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}/release"
duration="${BENCH_DURATION:-10}"
connections="${BENCH_CONNECTIONS:-64}"
port_ours=18080
port_bare=18081
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
rows="$work/rows"
: >"$rows"

# 1,000 open streams hold about 3,000 descriptors across the processes.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)..." >&2
  apt-get install -y wrk >/dev/null
fi

wait_up() {
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

row() { printf '| %-56s | %14s | %13s | %9s |\n' "$@" >>"$rows"; }

# wrk_run KEY NAME URL: a table row; req/s saved under KEY
wrk_run() {
  local key="$1" name="$2" url="$3"
  echo "wrk: $name" >&2
  local out rps p50 p99
  out="$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$url")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  echo "$rps" >"$work/$key.rps"
  row "$name" "$(printf '%.0f/s' "$rps")" "$p50" "$p99"
}

# bench SCENARIO ARGS...: agents-bench rows appended to the table
bench() {
  echo "agents-bench $*" >&2
  if ! "$target/agents-bench" "$@" --duration "$duration" >>"$rows"; then
    row "agents-bench $* FAILED (see above)" "" "" ""
  fi
}

server_bin="$(realpath "$target/agents-server")"
(cd "$work" && USE_IN_MEMORY_REPO=true PORT=$port_ours LOG_LEVEL=warn DATA_DIR="$work/data" \
  exec "$server_bin" >"$work/server.log" 2>&1) &
server_pid=$!
"$target/examples/bare_hello" "$port_bare" >/dev/null 2>&1 &
bare_pid=$!
wait_up $port_ours
wait_up $port_bare

idle_rss_kb="$(awk '/VmRSS/ {print $2}' /proc/"$server_pid"/status)"

wrk_run bare "bare actix-web GET /health" "http://127.0.0.1:$port_bare/health"
wrk_run health "agents-server GET /health" "http://127.0.0.1:$port_ours/health"
ratio="$(awk -v o="$(cat "$work/health.rps")" -v b="$(cat "$work/bare.rps")" 'BEGIN {printf "%.0f%%", 100*o/b}')"
row "  our /health as a share of bare actix-web" "$ratio" "" ""
wrk_run agents "agents-server GET /api/v1/agents" "http://127.0.0.1:$port_ours/api/v1/agents"
kill "$server_pid" "$bare_pid" 2>/dev/null || true
wait "$server_pid" "$bare_pid" 2>/dev/null || true

bench me --store sqlite --concurrency "$connections"
bench me --store postgres --concurrency "$connections"
bench keys --store sqlite --concurrency "$connections"
bench keys --store postgres --concurrency "$connections"
bench login --store sqlite
bench chat --store sqlite --concurrency 32
bench chat --store postgres --concurrency 32
bench stream --store sqlite --concurrency 32
bench stream --store postgres --concurrency 32
bench streams --store sqlite --count 1000
# Runs: logging every event, and a watcher reattached to each run.
bench runs --store sqlite --concurrency 16
bench runs --store sqlite --concurrency 16 --watch
if redis-cli -u "${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}" ping >/dev/null 2>&1 || [ -n "${BENCH_REDIS_URL:-}" ]; then
  bench runs --store postgres --concurrency 16 --redis "${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}"
  bench runs --store postgres --concurrency 16 --watch --redis "${BENCH_REDIS_URL:-redis://127.0.0.1:6379/0}"
else
  row "runs on Postgres + Redis: skipped (no Redis; set BENCH_REDIS_URL)" "" "" ""
fi
row "idle RSS of agents-server (in-memory store)" "$(awk -v k="$idle_rss_kb" 'BEGIN {printf "%.1f MiB", k/1024}')" "" ""

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server: release build, LOG_LEVEL=warn, default workers (one per core); wrk -t2 -c$connections; ${duration} s per row"
echo
printf '| %-56s | %14s | %13s | %9s |\n' "scenario" "throughput" "p50" "p99"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------------------" "----------------:" "--------------:" "----------:"
cat "$rows"
