# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies, then keep only the runtime ones.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY scripts ./scripts
# npm run build compiles the server (tsc, to dist/src) and the browse page (esbuild, to dist/ui), offline.
RUN npm run build && npm prune --omit=dev

# Runtime stage: compiled code, production dependencies and config, run as the unprivileged "node" user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    FILEGATE_HOST=0.0.0.0 \
    FILEGATE_PORT=8080 \
    FILEGATE_ROOT=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /data /app/var && chown node:node /app/var
USER node
EXPOSE 8080
VOLUME ["/data"]
# A JWT key must come from the environment (FILEGATE_JWT_SECRET, FILEGATE_JWT_PUBLIC_KEY_FILE
# or FILEGATE_JWKS_FILE): in production the service refuses to start without one.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FILEGATE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
