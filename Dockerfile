# wp-auth-gateway image: build the TypeScript once, ship only the compiled
# server and its production dependencies.
#
#   docker build -t wp-auth-gateway .
#   docker compose up -d          (see docker-compose.yml)
#
# Configuration is by environment (README, "Configuration"): WORDPRESS_URL,
# REDIS_URL, BRIDGE_SECRET or BRIDGE_SECRET_FILE, JWT_SECRET or
# JWT_SECRET_FILE (or JWT_PRIVATE_KEY_FILE/JWT_PUBLIC_KEY_FILE), PORT, HOST,
# GATEWAY_CONFIG (default config/gateway.yaml, relative to /app; read when
# present, built-in defaults otherwise).

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: compile TypeScript, then drop the dev dependencies -------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so that editing src/ does not re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ----------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="wp-auth-gateway" \
      org.opencontainers.image.description="Standalone authentication gateway for the WordPress REST API" \
      org.opencontainers.image.licenses="MIT"

ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0

WORKDIR /app

# Owned by root, readable by everyone: the server cannot modify its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The dashboard's static files (src/dashboard/assets.ts reads them at start-up).
COPY public ./public
# Data the code reads at run time (the list of very common passwords).
COPY data ./data
COPY package.json ./
# gateway.example.yaml documents every key; a config/gateway.yaml, when present,
# is what the server reads (docker-compose.yml mounts ./config over this).
COPY config ./config

# The unprivileged user of the official Node image (uid/gid 1000).
USER node

EXPOSE 8080

# Liveness only (process up and answering); readiness is /_gateway/readyz.
# Node itself does the request: the slim image has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/_gateway/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form, node as PID 1: SIGTERM reaches the server directly, which lets
# in-flight requests finish (up to 10 s) before it exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
