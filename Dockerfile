# syntax=docker/dockerfile:1
# One image for both programs: `docker run IMAGE gateway --config ...` or `... hub --config ...`.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 is built from source here: no prebuilt binary is downloaded.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY src src
COPY sync sync
COPY edge-config edge-config
COPY test test
RUN npx tsc -p . && npm prune --omit=dev

FROM node:20-bookworm-slim
# wireguard-tools: the gateway reads tunnel state with `wg show`.
RUN apt-get update && apt-get install -y --no-install-recommends wireguard-tools && rm -rf /var/lib/apt/lists/* \
 && groupadd --system storegw && useradd --system --gid storegw --home-dir /var/lib/storegw --shell /usr/sbin/nologin storegw \
 && install -d -o storegw -g storegw -m 0700 /var/lib/storegw
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist/src dist/src
COPY --from=build /src/dist/sync dist/sync
COPY --from=build /src/dist/edge-config dist/edge-config
COPY edge-config/examples edge-config/examples
COPY edge-config/storegw.schema.json edge-config/
USER storegw
ENV NODE_ENV=production
VOLUME ["/var/lib/storegw"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.STOREGW_ADMIN_PORT || 9080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["gateway", "--config", "/etc/storegw/gateway.yaml"]
