// Tributary configuration: which connectors run, where Kafka is, how topics are named.
// Validated at load (`npx tributary validate`); errors name the connector and the field.
// Secrets come from the environment through `secretEnv(...)` and are never logged.
import { defineConfig, env } from '@tributary/runtime';

export default defineConfig({
  kafka: {
    // 'embedded' starts a local Apache Kafka (from Maven Central; needs Java 17+ and Maven).
    // KAFKA_BROKERS=host:9092,host2:9092 overrides this and uses your cluster.
    brokers: 'embedded',
    clientId: 'tributary',
    transactionalIdPrefix: env('TRIBUTARY_TXN_PREFIX', 'tributary'),
    // sasl: { mechanism: 'scram-sha-512', username: 'tributary', password: secretEnv('KAFKA_PASSWORD') },
  },
  topics: {
    prefix: '', // e.g. 'prod.' gives prod.chain.blocks, prod.exchange.trades, ...
    partitions: 3,
    replicationFactor: 1,
  },
  worker: {
    http: { host: env('TRIBUTARY_HTTP_HOST', '127.0.0.1'), port: 8083 }, // /healthz, /metrics, /status
  },
  connectors: [
    {
      name: 'synthetic-demo',
      type: 'synthetic',
      config: { partitions: 2, ratePerSec: 500, recordBytes: 200 },
      batch: { maxRecords: 1000, maxMs: 500 },
    },
  ],
});
