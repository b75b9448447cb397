#!/usr/bin/env bash
# Runs a command beside real parts made for it alone, and deletes them when
# it ends, however it ends: a WordPress instance (scripts/wordpress.sh) with a
# database of its own and an "unguarded" second server of the same site, and
# a Redis of its own, each on a free port. The command finds them in
# WP_TEST_URL, WP_TEST_UNGUARDED_URL, WP_TEST_DIR, WP_TEST_EVENTS_PORT,
# TEST_REDIS_URL (and REDIS_URL, WORDPRESS_URL, BRIDGE_SECRET).
#
#   scripts/with-test-services.sh npx tap
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Runs that were killed before they could clean up (their servers are gone).
mkdir -p .wp-test
for old in .wp-test/run-*; do
  [ -d "$old" ] || continue
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

# The dashboard's browser test (test/e2e/dashboard.test.ts) drives Debian's
# Chromium: installed like WordPress's packages when missing.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "with-test-services: missing chromium; run as root, or: sudo apt-get install -y chromium" >&2; exit 1; }
  echo "with-test-services: installing chromium (for the dashboard's browser test) ..." >&2
  apt-get update -qq >/dev/null || { echo "with-test-services: apt-get update failed; check access to the Debian mirrors." >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || { echo "with-test-services: apt-get install failed; run 'apt-get install -y chromium' to see why." >&2; exit 1; }
fi

# WordPress first: it installs the Debian packages (Redis among them) when missing.
EVENTS_PORT="$(free_port)"
WP_EPHEMERAL=1 WP_UNGUARDED_PORT=0 WP_EVENTS_URL="http://127.0.0.1:$EVENTS_PORT" \
  bash scripts/wordpress.sh start "$RUN"
eval "$(bash scripts/wordpress.sh env "$RUN")"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$RUN/redis.pid" --dir "$RUN" --logfile "$RUN/redis.log" >/dev/null
for _ in $(seq 1 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "with-test-services: Redis did not start; see $RUN/redis.log" >&2; exit 1; }

export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" WP_TEST_EVENTS_PORT="$EVENTS_PORT"
export REDIS_URL="$TEST_REDIS_URL" WORDPRESS_URL="$WP_TEST_URL"
"$@"
