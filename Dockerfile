# syntax=docker/dockerfile:1
# storegw: one image for both programs; the entrypoint is the storegw command.
#   docker run ... IMAGE                                    storegw gateway --config /etc/storegw/gateway.yaml
#   docker run ... IMAGE hub --config /etc/storegw/hub.yaml (and STOREGW_HEALTH_URL, see HEALTHCHECK)
# Build: docker build -t storegw:0.1.0 .   Checked without Docker by test/deploy/dockerfile.test.ts,
# which lints this file and runs its build stages' commands.

# One Node for every stage, by full version: a rebuild gets the same runtime. Where the registry
# is reachable at review time, pin the digest as well (node:24.22.3-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Production dependencies. better-sqlite3 and sockopt are native: they are compiled here, from
# source, against this image's own Node headers, so the build fetches nothing but npm packages
# (no prebuilt binary from GitHub, no headers from nodejs.org) and the toolchain stays in this
# stage.
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
WORKDIR /deps
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency runs an install script but the ones rebuilt by name (the
# lockfile's only ones, package.json "allowScripts"), and the root package's "prepare" (tsc, a
# dev dependency) does not run either.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 sockopt

# The build: dev dependencies and tsc (the published build, .tsconfig.build.json: no tests, no
# source maps), then the package exactly as npm would ship it (package.json "files": the compiled
# dist/src, dist/sync and dist/edge-config, the dashboard's files, the example configs, the schema,
# and LICENSE, which npm always ships).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json .tsconfig.build.json LICENSE ./
COPY src src
COPY sync sync
COPY edge-config edge-config
RUN npx tsc -p .tsconfig.build.json \
 && npm pack --ignore-scripts --silent \
 && mkdir pkg \
 && tar -xzf storegw-*.tgz -C pkg --strip-components=1

FROM ${NODE_IMAGE}
# wireguard-tools: the gateway reads tunnel state with `wg show` (given the host's network and
# CAP_NET_ADMIN: deploy/systemd/storegw-gateway-wireguard.conf says when that is worth it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends wireguard-tools \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 storegw \
 && useradd --system --uid 10001 --gid storegw --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin storegw \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/storegw
WORKDIR /app
COPY --from=build /src/pkg ./
COPY --from=deps /deps/node_modules node_modules
ENV NODE_ENV=production
# For the gateway: V8 grows its young generation to 128 MiB under a replay burst; capped at
# 2 × 16 MiB it peaks about 100 MiB lower after a WAN outage (docs/operations.md, "Memory").
# The hub's Kubernetes deployment sets NODE_OPTIONS of its own.
ENV NODE_OPTIONS=--max-semi-space-size=16
# The gateway's journal, read cache and fleet spool (buffer.path: /var/lib/storegw/journal.db),
# or the hub's database (store.path: /var/lib/storegw/hub.db). A new volume takes the owner above.
VOLUME ["/var/lib/storegw"]
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# The gateway's store LAN port; the hub's. (The gateway's admin API stays on 127.0.0.1:9080.)
EXPOSE 8080 7070
# node, as the slim image has no curl. The gateway's admin API by default; a hub container sets
# STOREGW_HEALTH_URL=http://127.0.0.1:7070/healthz (Kubernetes uses its own probes instead).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.STOREGW_HEALTH_URL || 'http://127.0.0.1:9080/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["gateway", "--config", "/etc/storegw/gateway.yaml"]
