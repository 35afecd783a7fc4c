# syntax=docker/dockerfile:1.7
#
# Credible's container image. Two stages: `build` installs every dependency, builds the SvelteKit
# app, the inference worker and the CLI, then prunes the development dependencies; `runtime` keeps
# only what `node server.js` needs and runs it as the unprivileged `node` user.
#
# scripts/image-steps.sh (`npm run check:image`) runs the same steps on a machine without a
# container engine; each step below is numbered like its counterpart there. Change both together.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Step 1: the sources, without what .dockerignore lists (the lockfile and .npmrc first, so that the
# dependency layer is cached while only the sources change).
COPY package.json package-lock.json .npmrc ./
# The dependency patches that npm's postinstall (patch-package) applies (patches/README.md).
COPY patches ./patches
# Step 2: every dependency, as locked. This registry may lack optional platform packages that the
# lockfile names; `npm install` then resolves the same pinned versions (as .ci/run does).
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY . .
# Step 3: the SvelteKit build (build/) and the worker and CLI bundles (dist/).
RUN npm run build
# Step 4: production dependencies only.
RUN npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# The repository URL; the deploy workflow passes it (docker/metadata-action sets the same label).
ARG SOURCE=""
LABEL org.opencontainers.image.title="Credible" \
      org.opencontainers.image.description="Open-source credit scoring: serve, explain, record and watch default-risk models." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
WORKDIR /app
# The PostgreSQL client programs that `backup` and `restore` run (pg_dump, pg_restore). Debian's
# are version 15: pg_dump dumps servers of its own major version or older.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
# Step 5: the runtime tree. The application's files belong to root, so the user that runs it can
# read but not change them; only /data (the embedded database, when DATABASE_URL is unset) is its.
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/build ./build
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/server.js ./
COPY --from=build --chown=root:root /app/server-drain.js ./
COPY --from=build --chown=root:root /app/otel ./otel
COPY --from=build --chown=root:root /app/drizzle ./drizzle
COPY --from=build --chown=root:root /app/models ./models
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=9464 \
    PGLITE_DIR=/data/pglite
# Step 6: run as the image's unprivileged user (uid 1000).
USER node
EXPOSE 3000 9464
VOLUME ["/data"]
# Step 7: liveness, as the orchestrators' probes see it. Node's fetch, since the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# server.js drains on SIGTERM (at most 25 s, then it exits anyway).
STOPSIGNAL SIGTERM
CMD ["node", "server.js"]
