#!/usr/bin/env bash
# Run the gateway without Docker, in front of a local WordPress (Debian's
# packages served by `php -S`, the same one the tests use), with Redis.
#
#   npm run local        # then: curl http://127.0.0.1:8080/wp-json/
#
# Secrets: taken from the environment when set, else from .env when present,
# else the fixed test values (fine on a laptop, never in production).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if [ -f .env ]; then
  set -a; . ./.env; set +a
fi
export BRIDGE_SECRET="${BRIDGE_SECRET:-test-bridge-secret-0123456789abcdef0123456789abcdef}"
export JWT_SECRET="${JWT_SECRET:-local-jwt-secret-0123456789abcdefghijklmnopqrstuv}"
export WP_TEST_PORT="${WP_TEST_PORT:-8890}"
export WORDPRESS_URL="${WORDPRESS_URL:-http://127.0.0.1:$WP_TEST_PORT}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export PORT="${PORT:-8080}" HOST="${HOST:-127.0.0.1}"

[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/test-wordpress.sh start
npm run build --silent
echo "run-local: gateway on http://$HOST:$PORT in front of $WORDPRESS_URL (Ctrl-C stops it; npm run wp:stop stops WordPress)"
exec node dist/server.js
