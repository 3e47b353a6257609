// What `npm start` can be told: flags first, then TRIBUTARY_DEMO_* environment variables, then defaults.
// Every field has a default, so `npm start` with nothing set runs the whole suite.
import { parseArgs } from 'node:util';
import { ms } from '@tributary/correlation';

export interface DemoOptions {
  /** Delay from steady state (every connector producing) to the first attack story round. */
  firstAttackMs: number;
  /** Time between the starts of two story rounds. */
  attackEveryMs: number;
  /** Story rounds to play (0: until stopped). */
  rounds: number;
  /** Refreshing summary on a terminal; otherwise JSON log lines. */
  progress: boolean;
  /** How often the summary is logged when it is not refreshing in place. */
  summaryEveryMs: number;
  /** The worker's HTTP server (/healthz, /metrics, /status, operator API). Port 0 picks a free port. */
  httpHost: string;
  httpPort: number;
  /** Prefix of every topic, transactional id and consumer group; null: '' on the embedded broker, a
   * fresh `demo-<hex>.` on an external cluster (KAFKA_BROKERS), so runs never read each other's offsets. */
  prefix: string | null;
  /** Seconds between blocks of the local chains. */
  ethBlockMs: number;
  btcBlockMs: number;
}

export const DEFAULTS: DemoOptions = {
  firstAttackMs: 30_000,
  attackEveryMs: 180_000,
  rounds: 0,
  progress: true,
  summaryEveryMs: 15_000,
  httpHost: '127.0.0.1',
  httpPort: 8083,
  prefix: null,
  ethBlockMs: 2_000,
  btcBlockMs: 5_000,
};

export const HELP = `Usage: npm start [-- options]
       node --import tsx packages/demo/src/cli.ts [options]

Runs the whole Tributary suite locally, with nothing configured: an embedded Apache Kafka (or the
cluster in KAFKA_BROKERS), a Hardhat node and a btcd node with steady generated traffic, the Binance,
Coinbase, Salesforce and HubSpot simulators, all six connectors in one worker, and the correlation
processor. A scripted attack story is played into the traffic every few minutes and raises alerts through
the whole pipeline. Ctrl-C (SIGINT) or SIGTERM stops everything cleanly (exit 0).

To run your own connectors against real sources use \`npx tributary run\` with connectors.config.ts.

Options:
  --first-attack DURATION  Delay from steady state to the first story round (default 30s)
  --attack-every DURATION  Time between story rounds (default 3m)
  --rounds N               Story rounds to play, 0 = until stopped (default 0)
  --no-progress            Log lines instead of the refreshing terminal summary
  --summary-every DURATION How often the summary is logged without a terminal (default 15s)
  --http-host HOST         Worker HTTP host (default 127.0.0.1)
  --http-port PORT         Worker HTTP port: /healthz, /metrics, /status (default 8083; 0 = any free)
  --prefix PREFIX          Topic, transactional id and group prefix (default: none on the embedded
                           broker, demo-<random>. on a KAFKA_BROKERS cluster)
  --eth-block DURATION     Hardhat block interval (default 2s)
  --btc-block DURATION     btcd block interval (default 5s)
  -h, --help               Show this help

Durations: 500ms, 30s, 3m, 1h. Environment: KAFKA_BROKERS (use a cluster instead of the embedded
broker), TRIBUTARY_DEMO_FIRST_ATTACK, TRIBUTARY_DEMO_ATTACK_EVERY, TRIBUTARY_DEMO_ROUNDS,
TRIBUTARY_DEMO_PREFIX, TRIBUTARY_HTTP_PORT, LOG_LEVEL (info).`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function duration(name: string, v: string): number {
  try {
    return ms(/^\d+$/.test(v) ? `${v}s` : v);
  } catch {
    throw new UsageError(`${name}: expected a duration such as 30s, 3m or 500ms, got "${v}"`);
  }
}

function integer(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new UsageError(`${name}: expected an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

/** Parses argv (without node and the script) and the environment; `help: true` when asked for usage. */
export function parseOptions(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): { help: boolean; options: DemoOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        'first-attack': { type: 'string' },
        'attack-every': { type: 'string' },
        rounds: { type: 'string' },
        'no-progress': { type: 'boolean' },
        'summary-every': { type: 'string' },
        'http-host': { type: 'string' },
        'http-port': { type: 'string' },
        prefix: { type: 'string' },
        'eth-block': { type: 'string' },
        'btc-block': { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const pick = (flag: string | undefined, envName: string) =>
    flag ?? (env[envName] !== undefined && env[envName] !== '' ? env[envName] : undefined);
  const o: DemoOptions = { ...DEFAULTS };
  const first = pick(v['first-attack'], 'TRIBUTARY_DEMO_FIRST_ATTACK');
  if (first !== undefined) o.firstAttackMs = duration('--first-attack', first);
  const every = pick(v['attack-every'], 'TRIBUTARY_DEMO_ATTACK_EVERY');
  if (every !== undefined) o.attackEveryMs = duration('--attack-every', every);
  if (o.attackEveryMs < 10_000) throw new UsageError('--attack-every: at least 10s (a round takes ~40s)');
  const rounds = pick(v.rounds, 'TRIBUTARY_DEMO_ROUNDS');
  if (rounds !== undefined) o.rounds = integer('--rounds', rounds, 0, 1_000_000);
  if (v['no-progress']) o.progress = false;
  if (v['summary-every'] !== undefined) o.summaryEveryMs = duration('--summary-every', v['summary-every']);
  if (v['http-host'] !== undefined) o.httpHost = v['http-host'];
  const port = pick(v['http-port'], 'TRIBUTARY_HTTP_PORT');
  if (port !== undefined) o.httpPort = integer('--http-port', port, 0, 65535);
  const prefix = pick(v.prefix, 'TRIBUTARY_DEMO_PREFIX');
  if (prefix !== undefined) {
    if (!/^[a-zA-Z0-9._-]*$/.test(prefix))
      throw new UsageError(`--prefix: letters, digits, ".", "_" and "-" only, got "${prefix}"`);
    o.prefix = prefix;
  }
  if (v['eth-block'] !== undefined) o.ethBlockMs = duration('--eth-block', v['eth-block']);
  if (v['btc-block'] !== undefined) o.btcBlockMs = duration('--btc-block', v['btc-block']);
  if (o.ethBlockMs < 500 || o.btcBlockMs < 500) throw new UsageError('block intervals: at least 500ms');
  return { help: Boolean(v.help), options: o };
}
