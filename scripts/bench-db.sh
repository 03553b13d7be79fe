#!/usr/bin/env bash
# Store benchmark on Postgres: agents-bench db (appends from 32 tasks, list
# page and last-20-messages reads at two table sizes, all on a fresh
# database dropped afterwards), then pgbench on a scratch database for
# scale. Progress goes to stderr; ONE table is printed at the end.
# TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names the server; loopback only.
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}/release"
admin_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
base_url="${admin_url%/*}"
scratch="agents_pgbench_$$"
pg_seconds="${PGBENCH_SECONDS:-20}"
work="$(mktemp -d)"
trap 'psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
rows="$work/rows"
: >"$rows"
row() { printf '| %-56s | %14s | %13s | %9s |\n' "$@" >>"$rows"; }

echo "agents-bench db" >&2
if ! "$target/agents-bench" db "$@" >>"$rows"; then
  row "agents-bench db FAILED (see above)" "" "" ""
fi

# pgbench_run NAME ARGS...: tps and average latency of one pgbench run
pgbench_run() {
  local name="$1"; shift
  echo "pgbench $*" >&2
  local out tps lat
  out="$(pgbench -n "$@" "$base_url/$scratch" 2>&1)"
  tps="$(awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]}' <<<"$out" | head -n1)"
  lat="$(awk -F'= ' '/^latency average/ {print $2}' <<<"$out")"
  row "$name" "$(printf '%.0f tx/s' "$tps")" "${lat} avg" ""
}

echo "pgbench -i -s 10" >&2
psql -q "$admin_url" -c "CREATE DATABASE $scratch" >/dev/null
pgbench -i -q -s 10 "$base_url/$scratch" >/dev/null 2>&1
pgbench_run "pgbench -S (select only), -c 32 -j 2, scale 10" -c 32 -j 2 -T "$pg_seconds" -S
pgbench_run "pgbench TPC-B-like, -c 32 -j 2, scale 10" -c 32 -j 2 -T "$pg_seconds"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(psql -Atq "$admin_url" -c 'SHOW server_version' | cut -d' ' -f1 | sed 's/^/PostgreSQL /'); store through agents_adapters::sql, pool of 32"
echo
printf '| %-56s | %14s | %13s | %9s |\n' "store operation (Postgres)" "throughput" "p50" "p99"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------------------" "----------------:" "--------------:" "----------:"
cat "$rows"
