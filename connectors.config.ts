// Tributary configuration: which connectors run, where Kafka is, how topics are named.
// Validated at load (`npx tributary validate`); errors name the connector and the field.
// Secrets come from the environment through `secretEnv(...)` and are never logged.
import { defineConfig, env } from '@tributary/runtime';
// For the commented examples below: import { secretEnv } from '@tributary/runtime';

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
    // Real sources are only config. Uncomment, set the env vars, `npx tributary validate`, `npx tributary run`.
    // Public trades need no keys:
    // { name: 'binance-trades', type: 'binance', config: { symbols: ['BTC/USDT', 'ETH/USDT'] } },
    // { name: 'coinbase-trades', type: 'coinbase', config: { symbols: ['BTC/USD', 'ETH/USD'] } },
    // {
    //   name: 'eth-mainnet',
    //   type: 'ethereum',
    //   config: { url: secretEnv('ETH_RPC_URL'), chainId: 1, finality: 'finalized', startBlock: 21_000_000 },
    // },
    // {
    //   name: 'btc-mainnet',
    //   type: 'bitcoin',
    //   config: {
    //     network: 'mainnet',
    //     backend: { kind: 'esplora', url: env('ESPLORA_URL', 'https://blockstream.info/api') },
    //     // or { kind: 'core-rpc', url: env('BITCOIN_RPC_URL'), username: 'rpc', password: secretEnv('BITCOIN_RPC_PASSWORD') }
    //     finality: { confirmations: 6 },
    //   },
    // },
    // {
    //   name: 'sf-prod',
    //   type: 'salesforce',
    //   config: {
    //     loginUrl: 'https://login.salesforce.com',
    //     auth: {
    //       type: 'jwt',
    //       clientId: env('SALESFORCE_CLIENT_ID'),
    //       username: env('SALESFORCE_USERNAME'),
    //       privateKey: secretEnv('SALESFORCE_JWT_KEY'),
    //     },
    //     objects: [{ name: 'Account' }, { name: 'Contact', fields: ['FirstName', 'LastName', 'Email'] }],
    //     start: 'snapshot',
    //   },
    // },
    // {
    //   name: 'hubspot',
    //   type: 'hubspot',
    //   config: {
    //     auth: { kind: 'private-app', accessToken: secretEnv('HUBSPOT_TOKEN') },
    //     objects: [{ type: 'contacts', properties: ['email', 'phone'], sensitiveProperties: ['email', 'phone'] }],
    //   },
    // },
  ],
});
