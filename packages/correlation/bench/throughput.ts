// Engine throughput with every catalogue rule on: 100,000 entities, mixed traffic (transfers, zero-value
// token transfers, Bitcoin transactions with outputs, trades on two venues, CRM changes) with a trickle of
// attack patterns. Reports medians of several runs; the reference for throughput is the same engine with
// no rules (state bookkeeping and decoding only), for RSS the process before the run.
// Usage: npm run bench [-- --events 200000 --repeats 3]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { benchResultsPath, median, writeBenchResults } from '@tributary/testkit';
import { catalogue, createEngine, type CorrelationEvent, type Rule } from '../src/index.ts';
import { exitWithHelp, intOptions } from './report.ts';
import { traffic } from './traffic.ts';

const USAGE = `Usage: npx tsx bench/throughput.ts [options]   (npm run bench)
  --events N     events per repeat (default 200000)
  --entities N   distinct addresses in the traffic (default 100000)
  --repeats N    runs; medians are reported (default 3)
  --out FILE     results JSON (default bench/results/correlation.json at the repo root)
  --help         this text
The engine alone, no Kafka: see bench/processor.ts for the processor.`;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    repeats: { type: 'string', default: '3' },
    entities: { type: 'string', default: '100000' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitWithHelp(values.help, USAGE);
const {
  events: N,
  repeats: REPEATS,
  entities: ENTITIES,
} = intOptions(values, { events: 1, repeats: 1, entities: 1 }, USAGE);
const OUT = values.out ?? benchResultsPath('correlation');

interface Run {
  byRule: Record<string, number>;
  eps: number;
  /** Events per CPU-second of the process (user + system, GC threads included): the machine is shared. */
  cpuEps: number;
  alerts: number;
  p99LatencyUs: number;
  alertP99LatencyUs: number;
  peakRssMb: number;
  stateKeys: number;
  stateMb: number;
}

function runOnce(rules: Rule[], events: CorrelationEvent[]): Run {
  const engine = createEngine({ rules, allowedLateness: '1h' });
  const lat = new Float64Array(events.length);
  const alertLat: number[] = [];
  let alerts = 0;
  const byRule: Record<string, number> = {};
  let peak = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < events.length; i++) {
    const t0 = performance.now();
    const out = engine.process(events[i]!);
    const dt = performance.now() - t0;
    lat[i] = dt;
    if (out.length) {
      alerts += out.length;
      for (const o of out) byRule[o.alert.ruleId] = (byRule[o.alert.ruleId] ?? 0) + 1;
      alertLat.push(dt);
    }
    if ((i & 0x3fff) === 0) {
      engine.store.takeChanges(); // what the processor does per batch
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage().rss);
  let bytes = 0;
  for (const [k, e] of engine.store.entries()) bytes += k.length + JSON.stringify(e).length;
  const p99 = (xs: ArrayLike<number>) => {
    const s = Array.from(xs).sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! : 0;
  };
  return {
    byRule,
    eps: events.length / (elapsed / 1000),
    cpuEps: events.length / ((cpu.user + cpu.system) / 1e6),
    alerts,
    p99LatencyUs: p99(lat) * 1000,
    alertP99LatencyUs: p99(alertLat) * 1000,
    peakRssMb: peak / 2 ** 20,
    stateKeys: engine.stats().stateKeys,
    stateMb: bytes / 2 ** 20,
  };
}

const events = traffic(N, 7, ENTITIES);
globalThis.gc?.();
const baseRss = process.memoryUsage().rss / 2 ** 20;
const rules = catalogue();
const full: Run[] = [];
const bare: Run[] = [];
for (let r = 0; r < REPEATS; r++) {
  bare.push(runOnce([], events));
  full.push(runOnce(rules, events));
  console.error(
    `run ${r + 1}/${REPEATS}: ${Math.round(full[r]!.eps)} events/s (${Math.round(full[r]!.cpuEps)} per CPU-s) with ${rules.length} rules (${Math.round(bare[r]!.eps)} with none), ${full[r]!.alerts} alerts`,
  );
}
const m = (k: Exclude<keyof Run, 'byRule'>, runs = full) => median(runs.map((x) => x[k]));
const results = [
  {
    name: `engine throughput, ${rules.length} rules, ${ENTITIES} entities`,
    unit: 'events/s',
    value: m('eps'),
    reference: m('eps', bare),
    ratio: m('eps') / m('eps', bare),
  },
  {
    name: `engine throughput per CPU-second, ${rules.length} rules, ${ENTITIES} entities`,
    unit: 'events/cpu-s',
    value: m('cpuEps'),
    reference: m('cpuEps', bare),
    ratio: m('cpuEps') / m('cpuEps', bare),
  },
  {
    name: 'per-event latency p99',
    unit: 'us',
    value: m('p99LatencyUs'),
    reference: m('p99LatencyUs', bare),
    ratio: m('p99LatencyUs') / m('p99LatencyUs', bare),
  },
  {
    name: 'alert latency p99 (event in -> alert out, engine only)',
    unit: 'us',
    value: m('alertP99LatencyUs'),
    reference: null,
    ratio: null,
  },
  { name: 'alerts raised', unit: 'alerts', value: m('alerts'), reference: null, ratio: null },
  {
    name: 'peak RSS',
    unit: 'MB',
    value: m('peakRssMb'),
    reference: baseRss,
    ratio: m('peakRssMb') / baseRss,
  },
  {
    name: 'state keys',
    unit: 'keys',
    value: m('stateKeys'),
    reference: m('stateKeys', bare),
    ratio: m('stateKeys') / Math.max(1, m('stateKeys', bare)),
  },
  {
    name: 'state size (JSON)',
    unit: 'MB',
    value: m('stateMb'),
    reference: m('stateMb', bare),
    ratio: m('stateMb') / Math.max(1e-9, m('stateMb', bare)),
  },
];
writeBenchResults('correlation', results, OUT);
console.log(
  JSON.stringify(
    {
      events: N,
      entities: ENTITIES,
      repeats: REPEATS,
      node: process.version,
      alertsByRule: full[0]?.byRule,
      results,
    },
    null,
    2,
  ),
);
