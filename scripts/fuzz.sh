#!/usr/bin/env bash
# Property-based fuzzing of the HTTP API with schemathesis: a freshly built
# server (in-memory store, billing on, the fake OpenAI model of the e2e
# tests, limits off so the fuzzer is not throttled) and a registered user's
# token; every check, every phase including the stateful one. Exits non-zero
# on any failure that README.md ("Fuzzing") does not explain.
#
#   scripts/fuzz.sh [MAX_EXAMPLES]      (default 100 per operation)
#   FUZZ_MAX_TIME=90 scripts/fuzz.sh 20 (also stop after 90 s: CI's short budget)
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${1:-100}"
target="${CARGO_TARGET_DIR:-target}"
venv="$target/fuzz-venv"
report="$target/fuzz-report"
schemathesis_version="4.32.5"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "installing schemathesis $schemathesis_version into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

echo "building agents-server and the fake model ..." >&2
cargo build --quiet -p agents-server --bin agents-server -p agents-e2e --bin fake-openai

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

"$target/debug/fake-openai" >"$work/fake-url" &
for _ in $(seq 1 100); do [ -s "$work/fake-url" ] && break; sleep 0.05; done
fake_url="$(head -n1 "$work/fake-url")"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
env -i PATH="$PATH" HOST=127.0.0.1 PORT="$port" DATA_DIR="$work" \
  USE_IN_MEMORY_REPO=true ENABLE_BILLING=true STRIPE_WEBHOOK_SECRET=whsec_fuzz \
  OPENAI_BASE_URL="$fake_url" OPENAI_API_KEY=sk-fuzz \
  RATE_LIMIT_ANON_PER_MINUTE=0 RATE_LIMIT_CHAT_PER_MINUTE=0 LOGIN_MAX_FAILURES=0 \
  MAX_BODY_BYTES=65536 LOG_LEVEL=error \
  "$target/debug/agents-server" 2>"$work/server.log" &
for _ in $(seq 1 400); do curl -fsS "$base/health" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "$base/health" >/dev/null

user="fuzzer$RANDOM"
curl -fsS -X POST "$base/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"correct horse\"}" >/dev/null
token="$(curl -fsS -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"correct horse\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

mkdir -p "$report"
args=(--config-file scripts/schemathesis.toml run "$base/openapi.json"
  --checks all
  --phases examples,coverage,fuzzing,stateful
  --max-examples "$max_examples"
  --header "Authorization: Bearer $token"
  --workers 1
  --seed "${FUZZ_SEED:-20261201}"
  --report junit,ndjson --report-dir "$report")
if [ -n "${FUZZ_MAX_TIME:-}" ]; then
  args+=(--max-time "$FUZZ_MAX_TIME")
fi
status=0
# Hypothesis keeps its caches beside the venv, not in the checkout.
HYPOTHESIS_STORAGE_DIRECTORY="$target/fuzz-hypothesis" \
  "$venv/bin/schemathesis" "${args[@]}" || status=$?
if grep -q '"level":"ERROR"\|panicked' "$work/server.log" 2>/dev/null; then
  echo "the server logged errors during the run:" >&2
  grep '"level":"ERROR"\|panicked' "$work/server.log" | head -20 >&2
  status=1
fi
echo "reports in $report (junit, ndjson)" >&2
exit "$status"
