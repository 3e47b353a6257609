// `npm start`: the whole suite in one process. Services up, steady traffic on, all six connectors in one
// worker (the runtime's public API, exactly-once as in `tributary run`), the correlation processor on the
// normalized topics, the attack story every few minutes, a summary. On abort everything stops in order:
// story and traffic, then the worker (open transactions commit), the processor, the services.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { processorOptionsOf, runProcessor, topicsOf } from '@tributary/correlation';
import {
  parseConfig,
  resolveConnectors,
  startServedWorker,
  type ServedWorker,
  type TaskStatus,
} from '@tributary/runtime';
import { errorMessage, sleep, type Logger } from '@tributary/sdk';
import { followAlerts, type AlertsFeed } from './alerts-feed.ts';
import { MINER_ADDRESS, prepareBitcoin } from './bitcoin-chain.ts';
import { createCrmBook } from './crm-book.ts';
import { prepareEthereum, type EthereumChain } from './ethereum-chain.ts';
import type { DemoOptions } from './options.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { startServices, type Services } from './services.ts';
import { runSteadyTraffic } from './steady-traffic.ts';
import { playRound, SANCTIONED, STORY_RULES } from './story.ts';
import { CONNECTORS, processorConfig, workerConfig } from './suite-config.ts';
import { startSummary } from './summary.ts';
import { waitUntil } from './wait-until.ts';

export interface SuiteOptions extends DemoOptions {
  logger: Logger;
  signal: AbortSignal;
  /** Progress lines for a person (a terminal); without it they go to the log only. */
  say?: (line: string) => void;
  /** Where the terminal's log file is, shown in the summary's header. */
  logFile?: string;
  /** Summary redraws in place (a terminal) instead of log lines. */
  tty: boolean;
}

export interface SuiteResult {
  exitCode: number;
  tasks: TaskStatus[];
}

class Stopped extends Error {}

export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  const log = o.logger;
  const t0 = Date.now();
  const say = (line: string, fields: Record<string, unknown> = {}) => {
    log.info(fields, line);
    o.say?.(line);
  };
  const check = () => {
    if (o.signal.aborted) throw new Stopped();
  };

  const runDir = mkdtempSync(join(tmpdir(), 'tributary-demo-'));
  let services: Services | null = null;
  let eth: EthereumChain | null = null;
  let feed: AlertsFeed | null = null;
  let pipeline: Pipeline | null = null;
  let http: { server: { close(): void }; url: string } | null = null;
  let summary: { stop: () => Promise<void> } | null = null;
  const traffic = new AbortController();
  const workerStop = new AbortController();
  const processorStop = new AbortController();
  const stopAll = () => traffic.abort(new Error('stopping'));
  o.signal.addEventListener('abort', stopAll, { once: true });
  let trafficDone: Promise<unknown> = Promise.resolve();
  let storyDone: Promise<unknown> = Promise.resolve();
  let workerDone: Promise<unknown> = Promise.resolve();
  let closeServed: () => Promise<void> = async () => {};
  let processorDone: Promise<unknown> = Promise.resolve();
  let status: () => TaskStatus[] = () => [];
  let processorState = 'starting';
  let processorError: unknown = null;
  let events = 0;
  const story = { rounds: 0, nextAt: null as number | null, playing: false, done: false };
  let exitCode = 0;

  try {
    say('starting the local services (Kafka, Hardhat, btcd, venue and CRM simulators)');
    services = await startServices({
      bitcoinMiningAddress: MINER_ADDRESS,
      tradesPerSec: 2,
      onReady: (service, detail) =>
        say(`  ${service} ready: ${readyText(service, detail)}`, { service, ...detail }),
    });
    check();
    const s = services;
    const prefix = o.prefix ?? (s.kafka.owned ? '' : `demo-${randomBytes(4).toString('hex')}.`);
    eth = await prepareEthereum(s.hardhat.url, o.ethBlockMs);
    say('  ethereum: dUSD and the poisoner contract deployed, a block every ' + `${o.ethBlockMs / 1000} s`, {
      dusd: eth.token,
      poisoner: eth.poisoner,
    });
    const btc = await prepareBitcoin(s.btcd);
    say(`  bitcoin: ${btc.coins()} coins spread over the wallet, a block every ${o.btcBlockMs / 1000} s`);
    const crm = createCrmBook(s.hubspot, s.salesforce);
    say(`  crm: ${crm.customers()} HubSpot contacts imported, Salesforce org seeded`);
    const watchlistFile = join(runDir, 'watchlist.csv');
    writeFileSync(watchlistFile, `address,symbol,program,entryId\n${SANCTIONED},ETH,DEMO-SDN,demo-1\n`);
    check();
    trafficDone = runSteadyTraffic({
      eth,
      btc,
      crm,
      btcBlockMs: o.btcBlockMs,
      signal: traffic.signal,
      logger: log,
    });

    // The worker, as `tributary run` builds it, from a config object instead of connectors.config.ts.
    const cfg = parseConfig(
      workerConfig({ services: s, prefix, http: { host: o.httpHost, port: o.httpPort } }),
    );
    const connectors = await resolveConnectors(cfg, fileURLToPath(import.meta.url));
    let served: ServedWorker;
    try {
      served = await startServedWorker({
        config: cfg,
        connectors,
        logger: log.child({ worker: 'demo' }),
        signal: workerStop.signal,
        workerId: 'demo',
      });
    } catch (err) {
      throw new Error(`${errorMessage(err)}; pass --http-port to use another port`, { cause: err });
    }
    const { worker, metrics } = served;
    http = served.http;
    closeServed = served.close;
    status = worker.status;
    workerDone = worker.done;
    if (http)
      say(`  worker HTTP ${http.url} (dashboard at /, /healthz, /metrics, /status)`, { url: http.url });
    const failedTask = () => {
      const f = worker.status().find((t) => t.state === 'failed');
      return f ? `connector ${f.connector} failed: ${f.lastError}` : null;
    };
    say(`  ${connectors.length} connectors starting: ${CONNECTORS.join(', ')}`);
    // Tasks run once their topics exist; the processor subscribes only to topics that exist.
    await waitUntil(
      'every connector to run',
      () =>
        worker.status().length === CONNECTORS.length && worker.status().every((t) => t.state === 'running'),
      { signal: o.signal, timeoutMs: 180_000, fail: failedTask },
    );

    const pcfg = processorConfig({
      brokers: s.kafka.brokers,
      prefix,
      watchlistFile,
      stablecoin: eth.token,
    });
    const { inputs, outputs } = topicsOf(pcfg);
    await ensureTopics(s.kafka.brokers, [inputs.watchlist, outputs.alerts, outputs.testAlerts]);
    processorDone = runProcessor(
      processorOptionsOf(pcfg, {
        logger: log.child({ component: 'correlation' }),
        signal: processorStop.signal,
        onCommit: (c) => {
          events += c.records;
          processorState = 'running';
        },
      }),
    ).then(
      () => (processorState = 'stopped'),
      (err: unknown) => {
        processorState = 'failed';
        processorError = err;
      },
    );
    feed = await followAlerts({
      brokers: s.kafka.brokers,
      alertsTopic: outputs.alerts,
      testAlertsTopic: outputs.testAlerts,
      logger: log,
      onAlert: (a) =>
        log.info({ rule: a.ruleId, severity: a.severity, entity: a.entity, summary: a.summary }, 'alert'),
    });
    pipeline = createPipeline({ brokers: s.kafka.brokers, groupId: pcfg.groupId, status: worker.status });

    await waitUntil(
      'every connector to produce and the processor to consume',
      () => {
        const tasks = worker.status();
        return CONNECTORS.every((c) => tasks.some((t) => t.connector === c && t.records > 0)) && events > 0;
      },
      {
        signal: o.signal,
        timeoutMs: 180_000,
        fail: () =>
          failedTask() ??
          (processorError ? `correlation processor failed: ${errorMessage(processorError)}` : null),
      },
    );
    const steadyMs = Date.now() - t0;
    say(
      `steady state after ${Math.round(steadyMs / 1000)} s: all six connectors running and producing, correlation processor consuming`,
      { steadyMs, prefix, alertsTopic: outputs.alerts },
    );
    story.nextAt = Date.now() + o.firstAttackMs;
    const p = pipeline;
    const f = feed;
    storyDone = (async () => {
      await sleep(o.firstAttackMs, traffic.signal);
      for (let round = 1; o.rounds === 0 || round <= o.rounds; round++) {
        const started = Date.now();
        story.playing = true;
        log.info({ round }, `story round ${round}: starting`);
        try {
          await playRound(round, {
            eth: eth!,
            hubspot: s.hubspot,
            crm,
            pipeline: p,
            topics: { crm: inputs.crm, transfers: inputs.transfers },
            logger: log,
            signal: traffic.signal,
          });
          // The alerts are the processor's; wait briefly for the feed to show them, then report.
          const seen = () => new Set(f.since(started).map((a) => a.ruleId));
          const deadline = Date.now() + 30_000;
          while (STORY_RULES.some((r) => !seen().has(r)) && Date.now() < deadline)
            await sleep(250, traffic.signal);
          const raised = f.since(started).map((a) => a.ruleId);
          log.info(
            {
              round,
              seconds: Math.round((Date.now() - started) / 1000),
              raised,
              missing: STORY_RULES.filter((r) => !raised.includes(r)),
            },
            `story round ${round}: played`,
          );
        } catch (err) {
          if (traffic.signal.aborted) return;
          log.warn(
            { round, err: errorMessage(err) },
            `story round ${round}: failed; the next round will try again`,
          );
        }
        story.playing = false;
        story.rounds = round;
        if (o.rounds !== 0 && round >= o.rounds) break;
        story.nextAt = started + o.attackEveryMs;
        await sleep(Math.max(0, story.nextAt - Date.now()), traffic.signal);
      }
      story.nextAt = null;
      story.done = true;
    })().catch(() => {});

    const header = [
      `Tributary demo: 6 connectors and the correlation processor on local services (Ctrl-C stops)`,
      `dashboard ${http ? `${http.url}/` : '(no HTTP)'}  /healthz /metrics /status   topics prefix '${prefix}'   alerts topic ${outputs.alerts}`,
      ...(o.logFile ? [`log: ${o.logFile}`] : []),
    ];
    summary = startSummary(
      {
        status: worker.status,
        lag: async () => {
          const out = new Map<string, number>();
          for (const v of (await metrics.lag.get()).values) {
            const c = String(v.labels.connector);
            out.set(c, Math.max(out.get(c) ?? 0, v.value));
          }
          return out;
        },
        processor: () => ({ state: processorState, events }),
        alerts: () => f,
        story: () => story,
        header,
      },
      { tty: o.tty, everyMs: o.summaryEveryMs, logger: log },
    );

    // Run until stopped, or until the worker or the processor ends on its own (a failure).
    await new Promise<void>((resolve) => {
      o.signal.addEventListener('abort', () => resolve(), { once: true });
      void workerDone.then(() => resolve());
      void processorDone.then(() => resolve());
    });
    if (!o.signal.aborted) {
      log.error(
        { processor: processorState, err: processorError ? errorMessage(processorError) : null },
        'the worker or the processor stopped on its own',
      );
      exitCode = 1;
    }
  } catch (err) {
    if (!(err instanceof Stopped) && !o.signal.aborted) {
      log.error({ err: errorMessage(err) }, 'the demo could not start');
      o.say?.(`error: ${errorMessage(err)}`);
      exitCode = 1;
    }
  } finally {
    // Story and traffic first: nothing new enters the sources while the pipeline drains.
    traffic.abort(new Error('stopping'));
    await Promise.allSettled([storyDone, trafficDone]);
    workerStop.abort(new Error('stopping'));
    await workerDone.catch(() => {});
    await closeServed();
    processorStop.abort(new Error('stopping'));
    await processorDone;
    await summary?.stop();
    await feed?.close();
    await pipeline?.close();
    eth?.destroy();
    await services?.close();
    o.signal.removeEventListener('abort', stopAll);
  }
  const tasks = status();
  const failed = tasks.filter((t) => t.state === 'failed');
  for (const t of failed)
    log.error({ connector: t.connector, task: t.taskId, err: t.lastError }, 'task failed');
  if (failed.length || processorError) exitCode = 1;
  log.info({ exitCode, ms: Date.now() - t0 }, 'demo stopped');
  return { exitCode, tasks };
}

function readyText(service: string, d: Record<string, unknown>): string {
  const took = `${(Number(d.ms) / 1000).toFixed(1)} s`;
  if (service === 'kafka')
    return d.embedded
      ? `embedded Apache Kafka ${String(d.version)} at ${String(d.brokers)} (${took})`
      : `the cluster in KAFKA_BROKERS, ${String(d.brokers)}`;
  return `${String(d.url ?? d.rpcUrl ?? d.restUrl)} (${took})`;
}

/** Creates topics the processor reads or writes that no connector creates (no error if they exist). */
async function ensureTopics(brokers: string[], topics: string[]): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'tributary-demo-admin', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length)
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor: -1 })),
      });
  } finally {
    await admin.disconnect();
  }
}
