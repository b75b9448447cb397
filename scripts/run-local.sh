#!/usr/bin/env bash
# Run the gateway without Docker, in front of a local WordPress (Debian's
# packages served by `php -S`, kept in .wp-local/), with Redis.
#
#   npm run local        # then: curl http://127.0.0.1:8080/wp-json/
#
# WordPress's own address is the gateway's, so its links, redirects and REST
# `_links` lead back through the gateway, and its bridge sends events there.
# The fixed local secrets are fine on a laptop, never in production.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Secrets: from the environment, else from secrets/ (scripts/generate-env.sh), else fixed local values.
[ -n "${BRIDGE_SECRET:-}" ] || { [ -f secrets/bridge_secret ] && BRIDGE_SECRET="$(cat secrets/bridge_secret)"; } || true
[ -n "${JWT_SECRET:-}" ] || { [ -f secrets/jwt_secret ] && JWT_SECRET="$(cat secrets/jwt_secret)"; } || true
export BRIDGE_SECRET="${BRIDGE_SECRET:-local-bridge-secret-0123456789abcdef0123456789ab}"
export JWT_SECRET="${JWT_SECRET:-local-jwt-secret-0123456789abcdefghijklmnopqrstuv}"
export PORT="${PORT:-8080}" HOST="${HOST:-127.0.0.1}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
GATEWAY_URL="http://127.0.0.1:$PORT"

[ -d node_modules ] || npm ci --no-audit --no-fund
# The settings are kept in .wp-local/instance.env from the first start on.
WP_PORT="${WP_PORT:-8890}" WP_DB="${WP_DB:-wpag_local}" WP_HOME_URL="$GATEWAY_URL" WP_EVENTS_URL="$GATEWAY_URL" \
  bash scripts/wordpress.sh start .wp-local
eval "$(bash scripts/wordpress.sh env .wp-local)"
export WORDPRESS_URL="${WORDPRESS_URL:-$WP_TEST_URL}"

if [[ "$REDIS_URL" =~ ^redis://(127\.0\.0\.1|localhost):([0-9]+)/?$ ]] && ! redis-cli -p "${BASH_REMATCH[2]}" ping >/dev/null 2>&1; then
  echo "run-local: starting Redis on port ${BASH_REMATCH[2]}"
  mkdir -p .wp-local/redis
  redis-server --port "${BASH_REMATCH[2]}" --bind 127.0.0.1 --daemonize yes --dir "$REPO/.wp-local/redis" \
    --appendonly yes --logfile "$REPO/.wp-local/redis/redis.log" >/dev/null
fi

npm run build --silent
echo "run-local: gateway on $GATEWAY_URL in front of $WORDPRESS_URL (Ctrl-C stops it; npm run wp:stop stops WordPress)"
exec node dist/server.js
