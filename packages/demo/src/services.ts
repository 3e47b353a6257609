// The real local services the suite runs against, all from the testkit: Kafka (embedded, or the
// KAFKA_BROKERS cluster), a Hardhat node, a btcd node, and the Binance, Coinbase, Salesforce and HubSpot
// simulators. Each reports when it is up; `close()` stops whatever started, in reverse order.
import { fileURLToPath } from 'node:url';
import {
  startBinanceSimulator,
  startBtcd,
  startCoinbaseSimulator,
  startHardhat,
  startHubSpotSimulator,
  startKafka,
  startSalesforceSimulator,
  type BtcdNode,
  type HardhatNode,
  type HubSpotSimulator,
  type KafkaBroker,
  type SalesforceSimulator,
  type VenueSimulator,
} from '@tributary/testkit';

export interface Services {
  kafka: KafkaBroker;
  hardhat: HardhatNode;
  btcd: BtcdNode;
  binance: VenueSimulator;
  coinbase: VenueSimulator;
  salesforce: SalesforceSimulator;
  hubspot: HubSpotSimulator;
  close(): Promise<void>;
}

/** Venue markets: Binance quotes in USDT, Coinbase in USD, as on the real venues. The two simulators price
 * each market independently, so the same unified symbol on both would look like a cross-venue price
 * deviation; different quote currencies keep the price rule quiet on benign traffic. */
export const BINANCE_MARKETS = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT' },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT' },
];
export const COINBASE_MARKETS = [
  { id: 'BTC-USD', base: 'BTC', quote: 'USD' },
  { id: 'ETH-USD', base: 'ETH', quote: 'USD' },
];

/** Salesforce objects with the fields the demo writes; `Payout_Address__c` links a contact to an address
 * in the correlation identity graph. */
export const SALESFORCE_OBJECTS = [
  { name: 'Account', fields: ['Name', 'Industry', 'AnnualRevenue', 'Phone'] },
  {
    name: 'Contact',
    fields: ['FirstName', 'LastName', 'Email', 'Phone', 'Title', 'AccountId', 'Payout_Address__c'],
  },
];

export interface StartServicesOptions {
  /** Coinbase address of the btcd miner (the Bitcoin traffic's key holds it). */
  bitcoinMiningAddress: string;
  /** Trades per second per market on each venue. */
  tradesPerSec: number;
  /** Reports each service as it comes up. */
  onReady: (service: string, detail: Record<string, unknown>) => void;
}

type Closer = { name: string; close: () => Promise<void> };

async function closeAll(closers: Closer[]): Promise<void> {
  for (const c of [...closers].reverse()) await c.close().catch(() => {});
}

export async function startServices(o: StartServicesOptions): Promise<Services> {
  const closers: Closer[] = [];
  const track = <T extends { close(): Promise<void> }>(name: string, s: T): T => {
    closers.push({ name, close: () => s.close() });
    return s;
  };
  try {
    const started = Date.now();
    const kafka = track('kafka', await startKafka());
    o.onReady('kafka', {
      brokers: kafka.brokers,
      embedded: kafka.owned,
      ...(kafka.owned ? { version: kafka.version } : {}),
      ms: Date.now() - started,
    });
    // The nodes and simulators are independent: start them together, report each as it comes up.
    const at = Date.now();
    const ready = <T>(name: string, p: Promise<T>, detail: (s: T) => Record<string, unknown>) =>
      p.then((s) => {
        o.onReady(name, { ...detail(s), ms: Date.now() - at });
        return s;
      });
    const results = await Promise.allSettled([
      ready(
        'hardhat',
        // Hardhat is resolved from this package (hoisted to the repository's node_modules).
        startHardhat({ from: fileURLToPath(new URL('../package.json', import.meta.url)) }),
        (h) => ({ url: h.url, chainId: h.chainId }),
      ),
      ready('btcd', startBtcd({ miningAddress: o.bitcoinMiningAddress }), (b) => ({ rpcUrl: b.rpcUrl })),
      ready(
        'binance-simulator',
        startBinanceSimulator({ markets: BINANCE_MARKETS, ratePerSec: o.tradesPerSec, prefill: 100 }),
        (s) => ({ restUrl: s.restUrl, wsUrl: s.wsUrl }),
      ),
      ready(
        'coinbase-simulator',
        startCoinbaseSimulator({ markets: COINBASE_MARKETS, ratePerSec: o.tradesPerSec, prefill: 100 }),
        (s) => ({ restUrl: s.restUrl, wsUrl: s.wsUrl }),
      ),
      ready(
        'salesforce-simulator',
        startSalesforceSimulator({ objects: SALESFORCE_OBJECTS, bulkJobDelayMs: 200 }),
        (s) => ({ url: s.url }),
      ),
      ready(
        'hubspot-simulator',
        startHubSpotSimulator({ objectTypes: ['contacts'], indexDelayMs: 300 }),
        (s) => ({
          url: s.url,
        }),
      ),
    ]);
    const names = ['hardhat', 'btcd', 'binance', 'coinbase', 'salesforce', 'hubspot'];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') closers.push({ name: names[i]!, close: () => r.value.close() });
    });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [hardhat, btcd, binance, coinbase, salesforce, hubspot] = results.map(
      (r) => (r as PromiseFulfilledResult<unknown>).value,
    ) as [HardhatNode, BtcdNode, VenueSimulator, VenueSimulator, SalesforceSimulator, HubSpotSimulator];
    binance.start();
    coinbase.start();
    return { kafka, hardhat, btcd, binance, coinbase, salesforce, hubspot, close: () => closeAll(closers) };
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}
