// The operator API of a group of two workers, over HTTP and the CLI: list, pause/resume (connector and
// task), restart, offsets (paused only), reload (HTTP and SIGHUP) that touches only what changed, clear
// 4xx answers that change nothing; per-task metrics and health.
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { logLines, spawnCli, spawnWorker, workerUrl, writeConfig } from '@tributary/testkit';
import {
  call,
  getJson,
  groupConfig,
  groupView,
  rewriteConfig,
  startCounts,
  startGroupWorker,
  syntheticConnector,
  tasksPerWorker,
  until,
  withDump,
  type RunningWorker,
} from './cluster-helpers.ts';

const brokers = inject('kafkaBrokers');

async function cli(args: string[]) {
  const p = spawnCli(args);
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('operator API (a group of two workers)', () => {
  it('lists, pauses, resumes, restarts, edits offsets of paused connectors and reloads the config', async () => {
    const g = groupConfig({
      brokers,
      connectors: [
        { name: 'alpha', tasks: 2, ratePerSec: 100 },
        { name: 'beta', tasks: 2, ratePerSec: 100 },
      ],
    });
    const workers: RunningWorker[] = await Promise.all(
      ['w1', 'w2'].map((id) => startGroupWorker(g.file, id)),
    );
    const [w1, w2] = workers as [RunningWorker, RunningWorker];
    try {
      await withDump(workers, async () => {
        const allRunning = (n: number) => async () => {
          const v = await groupView(w1.url);
          return v.size === n && [...v.values()].every((t) => t.state === 'RUNNING') && v;
        };
        const view = await until('4 tasks running, 2 per worker', async () => {
          const v = await allRunning(4)();
          if (!v) return false;
          const per = tasksPerWorker(v);
          return per.w1 === 2 && per.w2 === 2 && v;
        });
        expect(tasksPerWorker(view)).toEqual({ w1: 2, w2: 2 });

        // The CLI lists every task with its state and worker, from either worker.
        const list = await cli(['connectors', 'list', '--url', w2.url]);
        expect(list.code).toBe(0);
        expect(list.out).toMatch(/alpha \(synthetic\) RUNNING/);
        expect(list.out).toMatch(/task 0 +RUNNING +w[12]/);

        // Unknown names: 404; offsets of a running connector: 409; a bad body: 400. Nothing changes.
        expect((await call('PUT', `${w1.url}/connectors/nope/pause`)).status).toBe(404);
        expect((await call('POST', `${w1.url}/connectors/beta/tasks/9/restart`)).status).toBe(404);
        expect((await call('GET', `${w1.url}/connectors/nope/offsets`)).status).toBe(404);
        const running = await call('DELETE', `${w1.url}/connectors/alpha/offsets`);
        expect(running.status).toBe(409);
        expect(String(running.body!.message)).toContain('pause it first');
        expect((await call('PATCH', `${w1.url}/connectors/alpha/offsets`, { offsets: 'x' })).status).toBe(
          400,
        );
        const nope = await cli(['connectors', 'pause', 'nope', '--url', w1.url]);
        expect(nope.code).toBe(1);
        expect(nope.out).toContain('404: connector "nope" not found');

        // Pause alpha (through the other worker): both its tasks stop, wherever they run.
        expect((await cli(['connectors', 'pause', 'alpha', '--url', w2.url])).code).toBe(0);
        await until('alpha paused', async () => {
          const v = await groupView(w1.url);
          return v.get('alpha/0')!.state === 'PAUSED' && v.get('alpha/1')!.state === 'PAUSED';
        });
        const paused1 = await getJson<{ offsets: { partition: string; offset: { next: number } }[] }>(
          `${w1.url}/connectors/alpha/offsets`,
        );
        expect(paused1.offsets.map((o) => o.partition)).toEqual(['0', '1']);
        expect(paused1.offsets.every((o) => o.offset.next > 0)).toBe(true);
        await new Promise((r) => setTimeout(r, 1_000));
        // Paused means nothing more is committed.
        expect(await getJson(`${w2.url}/connectors/alpha/offsets`)).toEqual(paused1);
        expect((await groupView(w1.url)).get('beta/0')!.state).toBe('RUNNING');

        // Alter one partition, then reset all (CLI).
        const alter = await call('PATCH', `${w1.url}/connectors/alpha/offsets`, {
          offsets: [{ partition: '0', offset: { next: 5 } }],
        });
        expect(alter.status).toBe(200);
        const altered = await getJson<{ offsets: { partition: string; offset: unknown }[] }>(
          `${w2.url}/connectors/alpha/offsets`,
        );
        expect(altered.offsets[0]).toEqual({ partition: '0', offset: { next: 5 } });
        const reset = await cli(['connectors', 'reset-offsets', 'alpha', '--url', w1.url]);
        expect(reset.code).toBe(0);
        expect(reset.out).toContain('reset 2 partition(s)');
        expect(await getJson(`${w1.url}/connectors/alpha/offsets`)).toEqual({ offsets: [] });

        // Resume: alpha's tasks start again from the (now empty) offsets.
        const startsBefore = startCounts(workers);
        expect((await call('PUT', `${w1.url}/connectors/alpha/resume`)).status).toBe(202);
        await until('alpha running again', allRunning(4));
        await until('alpha tasks started afresh', async () => {
          const fresh = workers
            .flatMap((x) => logLines(x.w))
            .filter(
              (l) =>
                l.msg === 'task started from committed offsets' &&
                l.connector === 'alpha' &&
                JSON.stringify(l.offsets) === '{}',
            );
          return fresh.length >= 2;
        });
        const startsAfterResume = startCounts(workers);
        expect(startsAfterResume.get('alpha/0')).toBe((startsBefore.get('alpha/0') ?? 0) + 1);
        expect(startsAfterResume.get('beta/0')).toBe(startsBefore.get('beta/0'));

        // One task: pause beta/1 only, then resume it; restart beta/0 only.
        expect((await call('PUT', `${w2.url}/connectors/beta/tasks/1/pause`)).status).toBe(202);
        await until('beta/1 paused', async () => (await groupView(w1.url)).get('beta/1')!.state === 'PAUSED');
        expect((await groupView(w1.url)).get('beta/0')!.state).toBe('RUNNING');
        expect((await call('PUT', `${w2.url}/connectors/beta/tasks/1/resume`)).status).toBe(202);
        await until(
          'beta/1 running',
          async () => (await groupView(w1.url)).get('beta/1')!.state === 'RUNNING',
        );
        const beforeRestart = startCounts(workers);
        expect((await cli(['connectors', 'restart', 'beta', '--task', '0', '--url', w1.url])).code).toBe(0);
        await until(
          'beta/0 restarted',
          async () => startCounts(workers).get('beta/0') === (beforeRestart.get('beta/0') ?? 0) + 1,
        );
        await until('all running', allRunning(4));
        expect(startCounts(workers).get('beta/1')).toBe(beforeRestart.get('beta/1'));

        // Reload: alpha removed, gamma added, beta untouched (its tasks are not restarted).
        const config = structuredClone(g.config);
        config.connectors = [
          syntheticConnector({ name: 'beta', tasks: 2, ratePerSec: 100 }),
          syntheticConnector({ name: 'gamma', tasks: 2, ratePerSec: 100 }),
        ];
        rewriteConfig(g.file, config);
        const betaStarts = startCounts(workers);
        const reload = await cli(['reload', '--url', w2.url]);
        expect(reload.code).toBe(0);
        expect(reload.out).toContain('added [gamma], removed [alpha], changed [], 1 unchanged');
        const afterReload = await until('gamma running, alpha gone', async () => {
          const names = await getJson<string[]>(`${w1.url}/connectors`);
          const v = await groupView(w1.url);
          return (
            JSON.stringify(names) === '["beta","gamma"]' &&
            v.size === 4 &&
            [...v.values()].every((t) => t.state === 'RUNNING') &&
            Object.values(tasksPerWorker(v)).join() === '2,2' &&
            v
          );
        });
        expect(Object.values(tasksPerWorker(afterReload)).sort()).toEqual([2, 2]);
        for (const x of workers)
          expect(
            (await getJson<{ tasks: { connector: string }[] }>(`${x.url}/status`)).tasks.map(
              (t) => t.connector,
            ),
          ).not.toContain('alpha');
        const startsAfterReload = startCounts(workers);
        expect(startsAfterReload.get('beta/0')).toBe(betaStarts.get('beta/0'));
        expect(startsAfterReload.get('beta/1')).toBe(betaStarts.get('beta/1'));
        expect(startsAfterReload.get('gamma/0')).toBeGreaterThanOrEqual(1);

        // An invalid file: 400 naming connector and field, and nothing changes.
        const bad = structuredClone(config);
        (bad.connectors[1]!.config as { partitions: number }).partitions = -1;
        rewriteConfig(g.file, bad);
        const invalid = await call('POST', `${w1.url}/reload`);
        expect(invalid.status).toBe(400);
        expect(String(invalid.body!.message)).toMatch(/connectors\[1\] "gamma": config\.partitions/);
        const invalidCli = await cli(['reload', '--url', w1.url]);
        expect(invalidCli.code).toBe(2);
        await new Promise((r) => setTimeout(r, 1_000));
        expect(startCounts(workers)).toEqual(startsAfterReload);
        expect(await getJson(`${w1.url}/connectors`)).toEqual(['beta', 'gamma']);

        // SIGHUP on one worker: the group reloads (delta added).
        config.connectors.push(syntheticConnector({ name: 'delta', tasks: 1, ratePerSec: 50 }));
        rewriteConfig(g.file, config);
        w1.w.kill('SIGHUP');
        await until(
          'delta running',
          async () => (await groupView(w2.url)).get('delta/0')?.state === 'RUNNING',
        );
        expect(startCounts(workers).get('beta/0')).toBe(betaStarts.get('beta/0'));

        // Per-task metrics carry connector, task and worker.
        const metrics = await (await fetch(`${w1.url}/metrics`)).text();
        expect(metrics).toMatch(
          /tributary_records_total\{connector="(beta|gamma)",task="\d",topic="synthetic.records",worker="w1"\} [1-9]/,
        );
        expect(metrics).toMatch(/tributary_task_starts_total\{connector="\w+",task="\d",worker="w1"\} [1-9]/);
        const workersOut = await cli(['workers', '--url', w2.url]);
        expect(workersOut.code).toBe(0);
        expect(workersOut.out).toMatch(/w1.*task\(s\)/);
      });
    } finally {
      for (const x of workers) x.w.kill('SIGTERM');
    }
    for (const x of workers) expect(await x.w.exited).toBe(0);
  });
});

describe('health', () => {
  it('/healthz turns 503 once a task has been failing longer than worker.unhealthyAfterMs', async () => {
    const file = writeConfig({
      kafka: { brokers, transactionalIdPrefix: `h${Date.now()}` },
      topics: { prefix: `h${Date.now()}.`, offsetsTopic: `h${Date.now()}.offsets` },
      worker: {
        http: { host: '127.0.0.1', port: 0 },
        unhealthyAfterMs: 1_500,
        plugins: { failing: join(import.meta.dirname, 'fixtures/failing-source.ts') },
      },
      connectors: [
        { name: 'down', type: 'failing' },
        syntheticConnector({ name: 'fine', tasks: 1, ratePerSec: 50 }),
      ],
    });
    const w = spawnWorker(file);
    try {
      const url = await workerUrl(w);
      const red = await until('healthz 503', async () => {
        const res = await fetch(`${url}/healthz`);
        return (
          res.status === 503 && ((await res.json()) as { unhealthy: { connector: string; state: string }[] })
        );
      });
      expect(red.unhealthy).toEqual([expect.objectContaining({ connector: 'down', state: 'restarting' })]);
      const status = await getJson<{ tasks: { connector: string; state: string; lastError: string }[] }>(
        `${url}/status`,
      );
      expect(status.tasks.find((t) => t.connector === 'down')!.lastError).toContain('upstream unreachable');
      expect(status.tasks.find((t) => t.connector === 'fine')!.state).toBe('running');
      // Logs of a task carry connector, task and worker.
      const line = logLines(w).find((l) => l.msg === 'task failed; restarting from committed offsets')!;
      expect(line).toMatchObject({ connector: 'down', task: 0 });
      expect(typeof line.worker).toBe('string');
    } finally {
      w.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
  });
});
