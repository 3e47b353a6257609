// Benchmark: workers at scale. Real worker processes in one group (the default group settings: session
// 10 s, heartbeat 1 s), the synthetic source, real Kafka.
//  1. Failover: SIGKILL a worker (KILLS times, default 20) and time how long until each of its tasks has
//     committed a transaction on another worker ("first transaction committed" in the survivors' logs).
//  2. Throughput with 1, 2 and 3 workers: 6 unthrottled tasks, records committed per second over a
//     window once the group is balanced (sum of tributary_records_total over the workers), the workers'
//     CPU use and the load average.
// Prints a table; writes bench/results/runtime-scale.json.
//
//   npm run bench:scale -w @tributary/runtime   (KILLS=20 WINDOW_S=20 REPEATS=3; PARTS=failover,throughput)
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import {
  logLines,
  spawnWorker,
  startKafka,
  workerUrl,
  writeConfig,
  type WorkerProcess,
} from '@tributary/testkit';

const KILLS = Number(process.env.KILLS ?? 20);
const WINDOW_S = Number(process.env.WINDOW_S ?? 20);
/** Throughput runs per worker count; the median is reported (the machine is shared). */
const REPEATS = Number(process.env.REPEATS ?? 3);
const TASKS = 6;
/** Which parts to run (both by default): `PARTS=throughput` reruns only the scaling runs. */
const PARTS = (process.env.PARTS ?? 'failover,throughput').split(',');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function groupConfig(brokers: string[], ratePerSec: number) {
  const id = `sc${randomUUID().slice(0, 6)}`;
  return writeConfig({
    kafka: { brokers, transactionalIdPrefix: id },
    topics: { prefix: `${id}.`, offsetsTopic: `${id}.offsets`, partitions: 6 },
    worker: { http: { host: '127.0.0.1', port: 0 }, group: { id } },
    connectors: Array.from({ length: TASKS / 2 }, (_, i) => ({
      name: `c${i}`,
      type: 'synthetic',
      tasksMax: 2,
      batch: { maxRecords: 1_000, maxMs: 500 },
      config: { partitions: 2, ratePerSec, recordBytes: 200, batchSize: 500 },
    })),
  });
}

interface W {
  id: string;
  p: WorkerProcess;
  url: string;
}

async function start(file: string, id: string): Promise<W> {
  const p = spawnWorker(file, { env: { TRIBUTARY_WORKER_ID: id, LOG_LEVEL: 'info' } });
  return { id, p, url: await workerUrl(p, 120_000) };
}

type View = Map<string, { state: string; worker: string | null }>;

async function view(url: string): Promise<View> {
  const all = (await (await fetch(`${url}/connectors?expand=status`)).json()) as Record<
    string,
    { status: { name: string; tasks: { id: number; state: string; worker_id: string | null }[] } }
  >;
  const out: View = new Map();
  for (const { status } of Object.values(all))
    for (const t of status.tasks) out.set(`${status.name}/${t.id}`, { state: t.state, worker: t.worker_id });
  return out;
}

/** Waits until every task runs and each of `ids` holds TASKS / ids.length of them. */
async function balanced(url: string, ids: string[], timeoutMs = 120_000): Promise<View> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await view(url);
      const per = new Map<string, number>();
      for (const t of v.values()) if (t.worker) per.set(t.worker, (per.get(t.worker) ?? 0) + 1);
      if (
        v.size === TASKS &&
        [...v.values()].every((t) => t.state === 'RUNNING') &&
        ids.every((id) => per.get(id) === TASKS / ids.length)
      )
        return v;
    } catch {
      // a worker between requests
    }
    if (Date.now() > deadline) throw new Error(`group not balanced over ${ids.join(', ')} in time`);
    await sleep(200);
  }
}

async function failover(brokers: string[]) {
  const file = groupConfig(brokers, 200);
  let n = 0;
  const workers: W[] = await Promise.all([0, 1, 2].map(() => start(file, `w${n++}`)));
  const samples: { totalMs: number; assignedMs: number; tasks: number }[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      const before = await balanced(
        workers[0]!.url,
        workers.map((w) => w.id),
      );
      await sleep(1_000 + Math.random() * 1_000);
      const victim = workers[k % workers.length]!;
      const survivors = workers.filter((w) => w !== victim);
      const moved = [...before].filter(([, t]) => t.worker === victim.id).map(([key]) => key);
      const killedAt = Date.now();
      victim.p.kill('SIGKILL');
      await victim.p.exited;
      let done: { totalMs: number; assignedMs: number } | null = null;
      const deadline = Date.now() + 90_000;
      while (!done) {
        if (Date.now() > deadline) throw new Error(`kill ${k}: tasks ${moved.join(', ')} did not move`);
        await sleep(100);
        const lines = survivors.flatMap((w) => logLines(w.p)).filter((l) => Number(l.time) > killedAt);
        const first = moved.map((key) => {
          const [connector, task] = key.split('/');
          const t = lines
            .filter(
              (l) =>
                l.msg === 'first transaction committed' &&
                l.connector === connector &&
                String(l.task) === task,
            )
            .map((l) => Number(l.time));
          return t.length ? Math.min(...t) : null;
        });
        if (first.every((t) => t !== null)) {
          const assigned = lines
            .filter((l) => l.msg === 'tasks assigned to this worker')
            .map((l) => Number(l.time));
          done = {
            totalMs: Math.max(...(first as number[])) - killedAt,
            assignedMs: (assigned.length ? Math.min(...assigned) : NaN) - killedAt,
          };
        }
      }
      samples.push({ ...done, tasks: moved.length });
      process.stderr.write(
        `kill ${k + 1}/${KILLS}: ${victim.id} (${moved.length} tasks) -> producing elsewhere after ${done.totalMs} ms (rebalanced after ${done.assignedMs} ms)\n`,
      );
      const i = workers.indexOf(victim);
      workers[i] = await start(file, `w${n++}`);
    }
  } finally {
    for (const w of workers) w.p.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.p.exited));
  }
  return samples;
}

async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  return sum;
}

async function throughput(brokers: string[], workersN: number) {
  const file = groupConfig(brokers, 0);
  const workers: W[] = [];
  for (let i = 0; i < workersN; i++) workers.push(await start(file, `t${i}`));
  try {
    await balanced(
      workers[0]!.url,
      workers.map((w) => w.id),
    );
    await sleep(3_000); // past the start-up burst
    const sample = async () => ({
      at: performance.now(),
      records: (await Promise.all(workers.map((w) => metricSum(w.url, 'tributary_records_total')))).reduce(
        (a, b) => a + b,
        0,
      ),
      cpu: (
        await Promise.all(workers.map((w) => metricSum(w.url, 'tributary_process_process_cpu_seconds_total')))
      ).reduce((a, b) => a + b, 0),
    });
    const a = await sample();
    await sleep(WINDOW_S * 1000);
    const b = await sample();
    const load1 = loadavg()[0]!;
    const secs = (b.at - a.at) / 1000;
    return {
      workers: workersN,
      recordsPerSec: (b.records - a.records) / secs,
      workerCpuCores: (b.cpu - a.cpu) / secs,
      load1,
    };
  } finally {
    for (const w of workers) w.p.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.p.exited));
  }
}

async function main() {
  const kafka = await startKafka();
  try {
    if (PARTS.includes('failover'))
      process.stderr.write(`failover: ${KILLS} kills of one of 3 workers (${TASKS} tasks)\n`);
    const kills = PARTS.includes('failover') ? await failover(kafka.brokers) : [];
    const runs = [];
    for (const n of PARTS.includes('throughput') ? [1, 2, 3] : []) {
      const reps = [];
      for (let r = 0; r < REPEATS; r++) {
        process.stderr.write(
          `throughput with ${n} worker(s), ${WINDOW_S} s window, run ${r + 1}/${REPEATS}...\n`,
        );
        reps.push(await throughput(kafka.brokers, n));
      }
      // The median run by records/s (its CPU and load figures come with it).
      runs.push({
        ...[...reps].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[Math.floor(reps.length / 2)]!,
        all: reps.map((x) => Math.round(x.recordsPerSec)),
      });
    }
    const dir = resolve(import.meta.dirname, '../../../bench/results');
    mkdirSync(dir, { recursive: true });
    const out = join(dir, 'runtime-scale.json');
    // A partial run (PARTS=...) keeps the other part's last figures.
    const previous = (existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {}) as Record<
      string,
      unknown
    >;
    const result: Record<string, unknown> = {
      ...previous,
      benchmark: 'runtime-scale',
      kafka: kafka.version ?? null,
      node: process.version,
      cores: cpus().length,
      group: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 },
    };
    if (kills.length) {
      const total = kills.map((k) => k.totalMs);
      const assigned = kills.map((k) => k.assignedMs);
      const table = [
        ['measure', 'p50', 'p99', 'max'],
        ['kill -> rebalanced (ms)', pct(assigned, 50), pct(assigned, 99), Math.max(...assigned)].map(String),
        ['kill -> producing elsewhere (ms)', pct(total, 50), pct(total, 99), Math.max(...total)].map(String),
      ];
      const w0 = table[0]!.map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
      for (const r of table)
        console.log(r.map((c, i) => (i ? c.padStart(w0[i]!) : c.padEnd(w0[i]!))).join('  '));
      console.log(`${KILLS} kills of one of 3 workers, session timeout 10 s (default), heartbeat 1 s\n`);
      result.failover = {
        at: new Date().toISOString(),
        kills: kills.length,
        producingElsewhereMs: { p50: pct(total, 50), p99: pct(total, 99), max: Math.max(...total) },
        rebalancedMs: { p50: pct(assigned, 50), p99: pct(assigned, 99), max: Math.max(...assigned) },
        samples: kills,
      };
    }
    if (runs.length) {
      const base = runs[0]!.recordsPerSec;
      const t2 = [['workers', 'records/s', 'vs 1 worker', 'worker CPU (cores)', 'load avg 1m']];
      for (const r of runs)
        t2.push([
          String(r.workers),
          r.recordsPerSec.toFixed(0),
          (r.recordsPerSec / base).toFixed(2),
          r.workerCpuCores.toFixed(2),
          r.load1.toFixed(2),
        ]);
      const w2 = t2[0]!.map((_, i) => Math.max(...t2.map((r) => r[i]!.length)));
      for (const r of t2)
        console.log(r.map((c, i) => (i ? c.padStart(w2[i]!) : c.padEnd(w2[i]!))).join('  '));
      console.log(
        `${TASKS} unthrottled tasks of 200 B records, ${WINDOW_S} s window, median of ${REPEATS} runs; ${cpus().length} cores shared by the broker and every worker`,
      );
      result.throughput = {
        at: new Date().toISOString(),
        windowSeconds: WINDOW_S,
        repeats: REPEATS,
        runs: runs.map((r) => ({ ...r, scaling: r.recordsPerSec / base })),
      };
    }
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${out}`);
  } finally {
    await kafka.close();
  }
}

await main();
