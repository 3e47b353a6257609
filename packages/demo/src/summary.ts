// The terminal summary: per connector its state, records per second, records committed, last committed
// offset and lag; the correlation processor's throughput; the latest alerts. On a terminal it redraws in
// place every second (like `tributary run`'s progress lines); otherwise it is logged every
// `everyMs` as one JSON line per connector, and each alert is logged once as it arrives.
import type { TaskStatus } from '@tributary/runtime';
import type { Alert } from '@tributary/schemas';
import type { JsonValue, Logger } from '@tributary/sdk';
import type { AlertsFeed } from './alerts-feed.ts';

/** What `tributary_source_lag` counts, per connector type (the sources set it; see the README). */
export const LAG_UNITS: Record<string, string> = {
  ethereum: 'blocks',
  bitcoin: 'blocks',
  binance: 'trades',
  coinbase: 'trades',
  salesforce: 'queued',
  hubspot: 'ms',
};

export interface ConnectorRow {
  connector: string;
  type: string;
  state: string;
  tasks: number;
  records: number;
  ratePerSec: number;
  offset: string;
  lag: number | null;
  lagUnit: string;
}

export interface SummarySources {
  status: () => TaskStatus[];
  /** Largest `tributary_source_lag` over each connector's partitions. */
  lag: () => Promise<Map<string, number>>;
  processor: () => { state: string; events: number };
  alerts: () => AlertsFeed | null;
  story: () => { rounds: number; nextAt: number | null; playing: boolean; done: boolean };
  header: string[];
}

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** A committed source offset in a few characters. */
export function shortOffset(partition: string, o: JsonValue): string {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    if ('blockNumber' in o) return `block ${String(o.blockNumber)}`;
    if ('height' in o) return `height ${String(o.height)}`;
    if ('lastTradeId' in o) return `${partition} #${String(o.lastTradeId)}`;
    const name = partition.split('/').pop() ?? partition;
    if ('replayId' in o) return o.replayId === null ? `${name} snapshot` : `${name} #${String(o.replayId)}`;
    if ('ts' in o && typeof o.ts === 'number') return `${partition} ${time(o.ts)}`;
  }
  const s = JSON.stringify(o);
  return `${partition}=${s.length > 40 ? `${s.slice(0, 39)}…` : s}`;
}

export function connectorRows(
  tasks: TaskStatus[],
  lag: Map<string, number>,
  prev: Map<string, { records: number; at: number }>,
  now: number,
): ConnectorRow[] {
  const by = new Map<string, TaskStatus[]>();
  for (const t of tasks) by.set(t.connector, [...(by.get(t.connector) ?? []), t]);
  return [...by].map(([connector, ts]) => {
    const records = ts.reduce((s, t) => s + t.records, 0);
    const p = prev.get(connector);
    const running = ts.some((t) => t.state === 'running');
    const ratePerSec = running && p && now > p.at ? ((records - p.records) * 1000) / (now - p.at) : 0;
    prev.set(connector, { records, at: now });
    const states = [...new Set(ts.map((t) => t.state))];
    const offsets = ts
      .flatMap((t) => Object.entries(t.offsets))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([partition, o]) => shortOffset(partition, o));
    const type = ts[0]!.type;
    return {
      connector,
      type,
      state: states.join('/'),
      tasks: ts.length,
      records,
      ratePerSec,
      offset: offsets.join(', ') || '-',
      lag: lag.get(connector) ?? null,
      lagUnit: LAG_UNITS[type] ?? '',
    };
  });
}

function lagText(r: ConnectorRow): string {
  if (r.lag === null) return '-';
  if (r.lagUnit === 'ms') return `${(r.lag / 1000).toFixed(1)} s`;
  return `${r.lag} ${r.lagUnit}`;
}

function alertLine(a: Alert): string {
  return `${a.time.slice(11, 19)} ${a.severity.padEnd(8)} ${a.ruleId.padEnd(22)} ${a.entity.padEnd(44)} ${a.summary}`;
}

export function renderSummary(
  rows: ConnectorRow[],
  src: SummarySources,
  now: number,
  processorRate: number,
  width: number,
): string[] {
  const story = src.story();
  const feed = src.alerts();
  const proc = src.processor();
  const next = story.playing
    ? 'playing now'
    : story.done
      ? 'no more rounds (--rounds)'
      : story.nextAt === null
        ? 'waiting for steady state'
        : `next in ${Math.max(0, Math.round((story.nextAt - now) / 1000))} s`;
  const lines = [
    ...src.header,
    `attack story: ${story.rounds} round(s) played, ${next}`,
    '',
    `${'connector'.padEnd(11)} ${'state'.padEnd(9)} ${'rec/s'.padStart(8)} ${'records'.padStart(10)}  ${'lag'.padEnd(12)} last committed offset`,
    ...rows.map(
      (r) =>
        `${r.connector.padEnd(11)} ${r.state.padEnd(9)} ${r.ratePerSec.toFixed(1).padStart(8)} ${r.records.toLocaleString('en-US').padStart(10)}  ${lagText(r).padEnd(12)} ${r.offset}`,
    ),
    `${'correlation'.padEnd(11)} ${proc.state.padEnd(9)} ${processorRate.toFixed(1).padStart(8)} ${proc.events.toLocaleString('en-US').padStart(10)}  events in, ${feed?.total() ?? 0} alerts out (${feed?.testAlerts() ?? 0} test-mode)`,
    '',
    'latest alerts (rule, severity, entity, summary):',
    ...(feed?.latest(8).reverse().map(alertLine) ?? []),
  ];
  return lines.map((l) => (l.length > width - 1 ? `${l.slice(0, width - 2)}…` : l));
}

export function startSummary(
  src: SummarySources,
  o: { tty: boolean; everyMs: number; logger: Logger; out?: NodeJS.WriteStream },
): { stop: () => Promise<void> } {
  const out = o.out ?? process.stdout;
  const prev = new Map<string, { records: number; at: number }>();
  let procPrev: { events: number; at: number } | null = null;
  let drawn = 0;
  let busy: Promise<void> = Promise.resolve();
  const tick = async (final = false) => {
    const now = Date.now();
    const rows = connectorRows(
      src.status(),
      await src.lag().catch(() => new Map<string, number>()),
      prev,
      now,
    );
    const proc = src.processor();
    const procRate =
      procPrev && now > procPrev.at ? ((proc.events - procPrev.events) * 1000) / (now - procPrev.at) : 0;
    procPrev = { events: proc.events, at: now };
    if (o.tty) {
      const lines = renderSummary(rows, src, now, procRate, out.columns ?? 120);
      // Move to the top of the previous drawing, redraw, clear what is left below.
      if (drawn) out.write(`\x1b[${drawn}A`);
      for (const l of lines) out.write(`\x1b[2K${l}\n`);
      out.write('\x1b[J');
      drawn = lines.length;
      return;
    }
    for (const r of rows)
      o.logger.info(
        {
          connector: r.connector,
          state: r.state,
          ratePerSec: Math.round(r.ratePerSec * 10) / 10,
          records: r.records,
          offset: r.offset,
          lag: r.lag,
          lagUnit: r.lagUnit,
        },
        'summary: connector',
      );
    o.logger.info(
      {
        state: proc.state,
        eventsPerSec: Math.round(procRate * 10) / 10,
        events: proc.events,
        alerts: src.alerts()?.total() ?? 0,
        testAlerts: src.alerts()?.testAlerts() ?? 0,
        final,
      },
      'summary: correlation',
    );
  };
  const run = (final = false) => {
    busy = busy.then(() => tick(final)).catch((err: unknown) => o.logger.debug({ err }, 'summary failed'));
  };
  run();
  const timer = setInterval(run, o.tty ? 1_000 : o.everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      run(true);
      await busy;
    },
  };
}
