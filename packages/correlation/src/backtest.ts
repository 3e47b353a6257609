// Backtest: replay a time range of the input topics through a rule set and report what would have fired.
// Events before `from` still build state (identity graph, counterparties, windows), so a finding that
// completes inside the range is found; only alerts whose time is in [from, to] are reported.
import { Kafka, logLevel } from 'kafkajs';
import type { Alert } from './json-types.ts';
import type { Rule } from './dsl.ts';
import { createEngine, type EngineOptions } from './engine.ts';
import { decodeMessage, makeEvent, type CorrelationEvent, type InputTopics } from './events.ts';
import { chainedAlertsOf, routesOf } from './route.ts';
import type { IdentityConfig } from './identity.ts';
import { readToEnd } from './read-to-end.ts';
import type { Duration } from './time.ts';
import type { Watchlist } from './watchlist.ts';

export interface BacktestOptions {
  rules: Rule[];
  identity?: IdentityConfig;
  watchlist?: Watchlist;
  allowedLateness?: Duration;
  from?: number;
  to?: number;
  /** Replay through the re-keyed layout with this many tasks (see rekeyedEvents) instead of one engine. */
  partitions?: number;
}

export interface BacktestResult {
  alerts: Alert[];
  events: number;
  skipped: number;
  late: number;
}

/** Runs events (sorted by event time, ties by topic/partition/offset) through a fresh engine; with
 * `partitions`, through the re-keyed layout instead (see rekeyedEvents). */
export function backtestEvents(events: CorrelationEvent[], o: BacktestOptions): BacktestResult {
  const to = o.to ?? Number.POSITIVE_INFINITY;
  const from = o.from ?? Number.NEGATIVE_INFINITY;
  const sorted = events
    .filter((e) => e.time <= to)
    .sort(
      (a, b) =>
        a.time - b.time ||
        a.ref.topic.localeCompare(b.ref.topic) ||
        a.ref.partition - b.ref.partition ||
        Number(BigInt(a.ref.offset) - BigInt(b.ref.offset)),
    );
  const engineOptions = {
    rules: o.rules,
    identity: o.identity,
    watchlist: o.watchlist,
    allowedLateness: o.allowedLateness,
  };
  let raised: Alert[];
  let late: number;
  if (o.partitions !== undefined)
    ({ alerts: raised, late } = rekeyedEvents(sorted, o.partitions, engineOptions));
  else {
    const engine = createEngine(engineOptions);
    raised = sorted.flatMap((e) => engine.process(e).map((x) => x.alert));
    late = engine.stats().late;
  }
  const alerts = raised.filter((a) => Date.parse(a.time) >= from);
  return { alerts, events: sorted.length, skipped: events.length - sorted.length, late };
}

/** The re-keyed layout in one process, as the rekey stage and `partitions` tasks run it over Kafka: a
 * router (identity graph only) sends each event to the tasks `routesOf` picks, each task's engine has the
 * ownership filter, and the alerts the cross-entity rules consume are routed back to their task, as the
 * rekey stage does from the alerts topic. Tasks take turns: each drains what it was sent. */
export function rekeyedEvents(
  events: CorrelationEvent[],
  partitions: number,
  o: Omit<EngineOptions, 'ownership' | 'identityOnly' | 'store'>,
): { alerts: Alert[]; late: number } {
  const router = createEngine({ rules: [], identity: o.identity, identityOnly: true });
  const tasks = Array.from({ length: partitions }, (_, task) =>
    createEngine({ ...o, ownership: { task, partitions } }),
  );
  const chainedAlerts = chainedAlertsOf(o.rules);
  const queues: CorrelationEvent[][] = tasks.map(() => []);
  const route = (e: CorrelationEvent) => {
    router.process(e);
    // Each task gets its own copy, as it would decode its own from Kafka.
    for (const p of routesOf(e, router.identity, { partitions, chainedAlerts }))
      queues[p]!.push(structuredClone(e));
  };
  for (const e of events) route(e);
  const alerts: Alert[] = [];
  let offset = 0;
  while (queues.some((q) => q.length > 0))
    for (let p = 0; p < partitions; p++) {
      const q = queues[p]!;
      queues[p] = [];
      for (const e of q)
        for (const { alert } of tasks[p]!.process(e)) {
          alerts.push(alert);
          if (alert.mode === 'active')
            route(
              makeEvent('alert', alert, {
                topic: o.alertsTopic ?? 'alerts',
                partition: 0,
                offset: String(offset++),
              }),
            );
        }
    }
  return { alerts, late: tasks.reduce((n, t) => n + t.stats().late, 0) };
}

/** Reads the input topics to their current end (read_committed) and backtests the events. */
export async function backtestTopics(
  o: BacktestOptions & { brokers: string[]; inputs: InputTopics; signal: AbortSignal },
): Promise<BacktestResult> {
  const kafka = new Kafka({
    brokers: o.brokers,
    clientId: 'tributary-correlation-backtest',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  await admin.disconnect();
  const topics = [
    o.inputs.transfers,
    o.inputs.transactions,
    o.inputs.trades,
    o.inputs.crm,
    o.inputs.watchlist,
  ].filter((t) => existing.has(t));
  const events: CorrelationEvent[] = [];
  let undecodable = 0;
  await readToEnd(
    kafka,
    topics,
    (m) => {
      const d = decodeMessage(o.inputs, m.topic, m.partition, m.offset, m.value, Number(m.timestamp));
      if (d.ok) events.push(d.event);
      else undecodable++;
    },
    o.signal,
  );
  const r = backtestEvents(events, o);
  return { ...r, skipped: r.skipped + undecodable };
}
