# The Tributary worker. Build: docker build -t tributary . ; run with KAFKA_BROKERS=host:9092.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY test/package.json ./test/package.json
RUN npm ci --no-audit --no-fund
COPY connectors.config.ts tsconfig.base.json tsconfig.json ./
ENV NODE_ENV=production
EXPOSE 8083
CMD ["node", "--import", "tsx", "packages/runtime/src/cli.ts", "run", "--no-progress"]
