// The suite's configuration, as plain data: the worker's config (the same shape connectors.config.ts
// exports) with all six connectors pointed at the local services, and the correlation processor's config
// (the same shape as its `--config` JSON). Pointing at real sources is the commented examples in
// connectors.config.ts and `npx tributary run`; this file only wires the local ones.
import { correlationConfig, type CorrelationConfig } from '@tributary/correlation';
import type { TributaryConfigInput } from '@tributary/runtime';
import {
  HUBSPOT_PROPERTIES,
  HUBSPOT_SENSITIVE,
  HUBSPOT_SYNC_ACTOR,
  SALESFORCE_SYNC_USER,
} from './crm-book.ts';
import { CHAIN_ID } from './ethereum-chain.ts';
import type { Services } from './services.ts';

/** Connector names: the summary and the README use them. */
export const CONNECTORS = ['ethereum', 'bitcoin', 'binance', 'coinbase', 'salesforce', 'hubspot'] as const;

export interface SuiteConfigInput {
  services: Services;
  prefix: string;
  http: { host: string; port: number };
}

export function workerConfig({ services: s, prefix, http }: SuiteConfigInput): TributaryConfigInput {
  // Small transactions, committed at least every 500 ms: the story's events reach Kafka within a second.
  const batch = { maxRecords: 1000, maxMs: 500 };
  return {
    kafka: { brokers: s.kafka.brokers, clientId: 'tributary-demo', transactionalIdPrefix: `${prefix}demo` },
    topics: { prefix, partitions: 3, offsetsTopic: `${prefix}tributary.offsets` },
    // The web dashboard on worker.http shows the correlation processor's alerts next to the connectors.
    worker: { id: 'demo', http, dashboard: { alertsTopic: `${prefix}alerts` } },
    connectors: [
      {
        name: 'ethereum',
        type: 'ethereum',
        batch,
        // Hardhat does not reorganize on its own: follow the head.
        config: { url: s.hardhat.url, chainId: CHAIN_ID, finality: 'latest', pollIntervalMs: 500 },
      },
      {
        name: 'bitcoin',
        type: 'bitcoin',
        batch,
        config: {
          network: 'regtest',
          backend: {
            kind: 'core-rpc',
            url: s.btcd.rpcUrl,
            username: s.btcd.rpcUser,
            password: s.btcd.rpcPass,
          },
          finality: 'latest',
          pollIntervalMs: 1000,
          resolveInputs: {},
        },
      },
      {
        name: 'binance',
        type: 'binance',
        batch,
        config: {
          symbols: ['BTC/USDT', 'ETH/USDT'],
          restUrl: s.binance.restUrl,
          wsUrl: s.binance.wsUrl,
          startFrom: { afterId: '0' },
        },
      },
      {
        name: 'coinbase',
        type: 'coinbase',
        batch,
        config: {
          symbols: ['BTC/USD', 'ETH/USD'],
          restUrl: s.coinbase.restUrl,
          wsUrl: s.coinbase.wsUrl,
          startFrom: { afterId: '0' },
        },
      },
      {
        name: 'salesforce',
        type: 'salesforce',
        batch,
        config: {
          loginUrl: s.salesforce.url,
          auth: {
            type: 'password',
            clientId: s.salesforce.app.clientId,
            clientSecret: s.salesforce.app.clientSecret,
            username: s.salesforce.users[0]!.username,
            password: s.salesforce.users[0]!.password,
            ...(s.salesforce.users[0]!.securityToken
              ? { securityToken: s.salesforce.users[0]!.securityToken }
              : {}),
          },
          objects: [{ name: 'Account' }, { name: 'Contact' }],
          start: 'snapshot',
        },
      },
      {
        name: 'hubspot',
        type: 'hubspot',
        batch,
        config: {
          baseUrl: s.hubspot.url,
          auth: { kind: 'private-app', accessToken: 'pat-sim' },
          objects: [
            { type: 'contacts', properties: HUBSPOT_PROPERTIES, sensitiveProperties: HUBSPOT_SENSITIVE },
          ],
          // Poll every second, reading changes once they are a second old (the simulator indexes in 0.3 s).
          pollIntervalMs: 1000,
          settleMs: 1000,
        },
      },
    ],
  };
}

export interface ProcessorConfigInput {
  brokers: string[];
  prefix: string;
  watchlistFile: string;
  /** dUSD's address: the stablecoin the poisoning rule counts (its default list is mainnet USDT/USDC/DAI). */
  stablecoin: string;
}

export function processorConfig(o: ProcessorConfigInput): CorrelationConfig {
  return correlationConfig.parse({
    brokers: o.brokers,
    clientId: 'tributary-demo-correlation',
    groupId: `${o.prefix}tributary-correlation`,
    topicPrefix: o.prefix,
    watchlists: [{ path: o.watchlistFile, format: 'csv', listId: 'demo-watchlist' }],
    watchlistPollMs: 2_000,
    // A stopped demo's group is dropped quickly, so a restarted one gets its partitions at once.
    sessionTimeoutMs: 10_000,
    rules: {
      params: {
        addressPoisoning: { stablecoins: [o.stablecoin.toLowerCase()] },
        // The sign-up syncs touch every customer by design; an operator lists such actors the same way.
        crmBreach: { ignoreActors: [HUBSPOT_SYNC_ACTOR, SALESFORCE_SYNC_USER] },
      },
      modes: {},
    },
  });
}
