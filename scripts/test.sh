#!/usr/bin/env bash
# `npm test`: lint, type-check, then the tap suite against real parts made for
# this run alone: a WordPress instance (scripts/wordpress.sh) with a database
# of its own, and a Redis of its own, each on a free port. Whatever happens,
# they are stopped and deleted when the run ends, so a run leaves nothing
# behind and two checkouts can test at the same time.
#
#   npm test                          everything
#   npm test -- test/e2e/foo.test.ts  some files (lint and type-check are skipped)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if [ $# -eq 0 ]; then
  npm run --silent lint
  npm run --silent typecheck
fi

# Runs that were killed before they could clean up (their servers are gone).
mkdir -p .wp-test
for old in .wp-test/run-*; do
  [ -f "$old/instance.env" ] || { [ -d "$old" ] && [ ! -f "$old/redis.pid" ] && rm -rf "$old"; continue; }
  if ! kill -0 "$(cat "$old/php.pid" 2>/dev/null || echo 0)" 2>/dev/null; then
    kill "$(cat "$old/redis.pid" 2>/dev/null || echo 0)" 2>/dev/null || true
    bash scripts/wordpress.sh stop "$old" >/dev/null 2>&1 || true
    rm -rf "$old"
  fi
done

RUN="$(mktemp -d "$REPO/.wp-test/run-XXXXXX")"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

cleanup() {
  # Redis first: stopping the ephemeral WordPress deletes the folder that holds its pid file.
  if [ -f "$RUN/redis.pid" ]; then kill "$(cat "$RUN/redis.pid")" 2>/dev/null || true; fi
  bash scripts/wordpress.sh stop "$RUN" >/dev/null 2>&1 || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# WordPress first: it installs the Debian packages (Redis among them) when missing.
EVENTS_PORT="$(free_port)"
WP_EPHEMERAL=1 WP_UNGUARDED_PORT=0 WP_EVENTS_URL="http://127.0.0.1:$EVENTS_PORT" \
  bash scripts/wordpress.sh start "$RUN"
eval "$(bash scripts/wordpress.sh env "$RUN")"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$RUN/redis.pid" --dir "$RUN" --logfile "$RUN/redis.log" >/dev/null
for _ in $(seq 1 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "test: Redis did not start; see $RUN/redis.log" >&2; exit 1; }

export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" WP_TEST_EVENTS_PORT="$EVENTS_PORT"
npx tap "$@"
