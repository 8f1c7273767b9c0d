# Multihome gateway image. Not built in this repository's CI (no container engine runs there); see docs/deploy.md.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; the npm `node` devDependency is not needed in the image (the base image is Node 24).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
USER node
EXPOSE 8545 8546
# The config file is mounted (see deploy/kubernetes/configmap.yaml); secrets come from the environment.
ENTRYPOINT ["node", "src/cli/main.ts", "start", "--config", "/etc/multihome/multihome.yaml"]
