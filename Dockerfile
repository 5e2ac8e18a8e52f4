# Touchline's container image: one image for every service; the command picks which one runs
# (gateway by default; `subgraph registry|scheduler|monitoring`; `up` for everything on SQLite; `compose --out FILE`).
#
#   docker build -t touchline .
#   docker run --rm -p 4000:4000 -e TOUCHLINE_INTERNAL_SECRET=... -e DATABASE_URL=... touchline gateway
#
# Uses no BuildKit-only syntax, so the classic builder builds it too. No secret is baked in: every secret comes
# from the environment at run time.

# Both stages use the same base, so the native addon built in the first runs in the second. The tag is pinned
# here; for reproducible production builds pin the digest as well, either here or at build time:
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> .
# (`docker buildx imagetools inspect node:20-bookworm-slim` shows the current digest.)
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 is a native addon compiled at install: these are its build tools.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Compile better-sqlite3 against this image's own Node headers (/usr/local/include/node) instead of downloading a
# prebuilt binary or headers: the build then needs only the npm registry and the Debian mirror.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false
WORKDIR /app
# Dependencies first, so that a change to the code alone reuses this layer. Install scripts run only for the
# packages that package.json's allowScripts approves (today better-sqlite3 alone), whatever npm version the
# base image brings: npm 10, in Node 20 images, does not read allowScripts.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts \
 && npm rebuild better-sqlite3
COPY . .
# Compile, drop the dev dependencies, and compose the supergraph once (it loads every service's code): a module
# missing after the prune fails the build here rather than a service at start-up.
RUN npm run build \
 && npm prune --omit=dev \
 && node dist/cli/index.js compose > /dev/null

FROM ${NODE_IMAGE} AS runtime
# TOUCHLINE_HOST: a container must listen beyond its own loopback. NODE_ENV is left unset on purpose: Apollo
# Server would turn introspection (and with it the playground) off under NODE_ENV=production.
ENV TOUCHLINE_HOST=0.0.0.0 \
    TOUCHLINE_LOG_FORMAT=json
WORKDIR /app
# The code belongs to root and is read-only to the service; only data/ (SQLite files, for `up`) is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir data && chown node:node data
# `node` (uid 1000) comes with the official Node image.
USER node
EXPOSE 4000 4001 4002 4003
# Liveness of the gateway, the default command: `touchline health` asks GET /healthz on the gateway's port.
# A container running a subgraph overrides it with `health <name>` (docker-compose.yml does). /healthz, not
# /readyz: a gateway whose subgraph is briefly down is not broken, and an orchestrator that restarts unhealthy
# containers must not restart it. A subgraph only listens once its migrations are done.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/cli/index.js", "health"]
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["gateway"]
