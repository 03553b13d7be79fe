#!/usr/bin/env bash
# Load benchmark: our server against a bare actix-web hello, with wrk.
# Prints one table. Needs a release build (the justfile builds it).
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}/release"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-64}"
port_ours=18080
port_bare=18081
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

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

# run KEY NAME URL [wrk args...] -> "name | req/s | p50 | p99"; req/s saved under KEY
run() {
  local key="$1" name="$2" url="$3"; shift 3
  local out
  out="$(wrk -t2 -c"$connections" -d"$duration" --latency "$@" "$url")"
  local rps p50 p99
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  printf '| %-34s | %12s | %9s | %9s |\n' "$name" "$rps" "$p50" "$p99"
  echo "$rps" >"$work/$key.rps"
}

(cd "$work" && USE_IN_MEMORY_REPO=true PORT=$port_ours LOG_LEVEL=warn DATA_DIR="$work/data" \
  "$OLDPWD/$target/agents-server" >"$work/server.log" 2>&1 &)
"$target/examples/bare_hello" "$port_bare" >/dev/null 2>&1 &
wait_up $port_ours
wait_up $port_bare

server_pid="$(pgrep -f "$target/agents-server" | head -n1)"
idle_rss_kb="$(awk '/VmRSS/ {print $2}' /proc/"$server_pid"/status)"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t2 -c$connections -d$duration"
echo
printf '| %-34s | %12s | %9s | %9s |\n' "scenario" "requests/s" "p50" "p99"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "--------------" "-----------" "-----------"
run bare "bare actix-web GET /health" "http://127.0.0.1:$port_bare/health"
run health "agents-server GET /health" "http://127.0.0.1:$port_ours/health"
run agents "agents-server GET /api/v1/agents" "http://127.0.0.1:$port_ours/api/v1/agents"
ours="$(cat "$work/health.rps")"
bare="$(cat "$work/bare.rps")"
echo
awk -v o="$ours" -v b="$bare" 'BEGIN {printf "our /health reaches %.0f%% of bare actix-web\n", 100*o/b}'
echo "idle RSS of agents-server: $((idle_rss_kb / 1024)) MiB ($idle_rss_kb KiB)"
