# syntax=docker/dockerfile:1
# BCC-CDS production image: production dependencies, the service source (run by tsx, as npm start
# does), the model and the data files the service reads. Build: docker build -t bcc-cds:0.1.0 .

# --- dependencies: npm ci with the build tools a native module may need (better-sqlite3 falls back
# to compiling when no prebuilt binary matches). Nothing of this stage but node_modules ships.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    BCC_CDS_MODE=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root src ./src
COPY --chown=root:root models ./models
COPY --chown=root:root cds-hooks ./cds-hooks
COPY --chown=root:root fhir-profiles/terminology ./fhir-profiles/terminology
# Files stay root-owned and read-only to the service; it writes only under /tmp (tsx cache) and,
# without DATABASE_URL, its SQLite file under /app/var.
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains in-flight hooks (SHUTDOWN_GRACE_MS); node runs as PID 1 and handles it itself.
STOPSIGNAL SIGTERM
CMD ["node", "--experimental-websocket", "--import", "tsx", "src/server.ts"]
