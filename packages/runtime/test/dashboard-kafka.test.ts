// The dashboard against real Kafka: the alerts feed tails the alerts topic (read_committed, from a little
// before the end, then live), and a worker process serves the page and its data.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { createTopics, spawnWorker, waitForOutput, workerUrl, writeConfig } from '@tributary/testkit';
import { followAlerts, type AlertFeed } from '../src/dashboard/alerts.ts';
import type { DashboardData } from '../src/dashboard/data.ts';
import { createKafkaClient } from '../src/kafka/client.ts';
import { alertMessage, sampleAlert } from './dashboard-alert-fixture.ts';
import { LAG } from './fixtures/lagging-source.ts';
import { groupConfig, startGroupWorker, type RunningWorker } from './cluster-helpers.ts';
import { syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');
const silent = pino({ level: 'silent' });

async function until<T>(what: string, get: () => T | Promise<T>, ok: (v: T) => boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('alerts feed', () => {
  it('starts a little before the end, follows live, sees only committed alerts, waits for a missing topic', async () => {
    const topic = `alerts-${randomUUID().slice(0, 8)}`;
    const kafka = new Kafka({ brokers, clientId: 'dashboard-test', logLevel: logLevel.NOTHING });
    const producer = kafka.producer({
      transactionalId: `dash-${topic}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    // One alert per transaction, as the correlation processor commits them.
    const produce = async (ids: string[], how: 'commit' | 'abort' = 'commit', raw?: string) => {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        messages: ids.map((alertId) => {
          const m = alertMessage(sampleAlert({ alertId }));
          return raw === undefined ? m : { ...m, value: raw };
        }),
      });
      if (how === 'commit') await tx.commit();
      else await tx.abort();
    };

    const client = createKafkaClient(
      {
        brokers,
        clientId: 'dashboard-test',
        ssl: false,
        transactionTimeoutMs: 60_000,
        connectionTimeoutMs: 3_000,
        requestTimeoutMs: 30_000,
      },
      silent,
    );
    const stop = new AbortController();
    let feed: AlertFeed | null = null;
    try {
      // The topic does not exist yet: the feed says so and keeps trying.
      feed = followAlerts({ kafka: client, topic, keep: 3, logger: silent, signal: stop.signal });
      const waiting = await until(
        'waiting',
        () => feed!.state(),
        (s) => s.state === 'waiting',
      );
      expect(waiting.error).toMatch(/topic|partition/i);

      await createTopics(brokers, [{ topic, numPartitions: 1 }]);
      for (let i = 0; i < 20; i++) await produce([`old-${i}`]);
      const live = await until(
        'the newest three',
        () => feed!.state(),
        (s) => s.state === 'live' && s.alerts.length === 3,
      );
      expect(live.alerts.map((a) => a.alertId)).toEqual(['old-19', 'old-18', 'old-17']);
      // It read the tail (3 alerts and their 3 commit markers), not the 20 alerts of history.
      expect(live.received).toBe(3);

      await produce(['aborted'], 'abort');
      await produce(['garbage'], 'commit', '{"alertId": "half');
      await produce(['new-1']);
      const after = await until(
        'the live alert',
        () => feed!.state(),
        (s) => s.alerts[0]?.alertId === 'new-1',
      );
      expect(after.alerts.map((a) => a.alertId)).toEqual(['new-1', 'old-19', 'old-18']);
      expect(after.alerts[0]!.evidence.map((e) => [e.topic, e.partition, e.offset, e.id])).toEqual([
        ['crm.changes', 1, '17', 'salesforce:Contact:003'],
        ['chain.transfers', 0, '4242', '0xdeadbeef:0'],
      ]);
      expect(after.received).toBe(4);
      expect(after.undecodable).toMatchObject({
        count: 1,
        lastError: expect.stringMatching(/value is not JSON$/),
      });
    } finally {
      stop.abort();
      await feed?.done;
      await client.close();
      await producer.disconnect();
    }
    expect(feed!.state().state).toBe('stopped');
  });
});

describe('dashboard served by a worker', () => {
  it('serves the page, its assets and live data: tasks, records, throughput, dead letters; nothing from the config', async () => {
    const s = syntheticConfig({ brokers, partitions: 2, ratePerSec: 100, poison: [5, 6, 7] });
    // A second connector whose source reports lag.
    const lagging = { ...s.config.connectors[0]!, name: `lag-${s.id}`, type: 'lagging' };
    const file = writeConfig({
      ...s.config,
      worker: {
        http: { host: '127.0.0.1', port: 0 },
        plugins: { lagging: join(import.meta.dirname, 'fixtures/lagging-source.ts') },
      },
      connectors: [...s.config.connectors, { ...lagging, config: { ...lagging.config, poison: [] } }],
    });
    const w = spawnWorker(file);
    try {
      const url = await workerUrl(w);
      await waitForOutput(w, /dashboard served/);

      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('<script type="module" src="/dashboard/app.js"></script>');
      expect((await fetch(`${url}/dashboard`)).status).toBe(200);
      for (const [path, type] of [
        ['/dashboard/app.js', 'text/javascript'],
        ['/dashboard/view.js', 'text/javascript'],
        ['/dashboard/style.css', 'text/css'],
      ] as const) {
        const r = await fetch(`${url}${path}`);
        expect(r.status, path).toBe(200);
        expect(r.headers.get('content-type')).toContain(type);
        expect((await r.text()).length).toBeGreaterThan(100);
      }
      expect((await fetch(`${url}/dashboard/data`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${url}/dashboard/nope`)).status).toBe(404);

      const data = async () => (await (await fetch(`${url}/dashboard/data`)).json()) as DashboardData;
      const syn = (d: DashboardData) => d.connectors.find((x) => x.name === s.connector);
      const lagged = (d: DashboardData) => d.connectors.find((x) => x.name === lagging.name);
      const first = await until('records', data, (d) => (syn(d)?.records ?? 0) > 0);
      const later = await until(
        'more records, all dead letters, two throughput samples, lag',
        data,
        (d) =>
          syn(d)!.records > syn(first)!.records &&
          d.deadLetters.counts[0]?.total === 6 &&
          (d.throughput.find((t) => t.connector === s.connector)?.points.length ?? 0) >= 2 &&
          lagged(d)!.lag.length === 2,
      );
      expect(later.worker).toMatchObject({ mode: 'standalone', sampleMs: 2_000, windowMs: 600_000 });
      expect(later.connectors.map((x) => x.name).sort()).toEqual([lagging.name, s.connector].sort());
      const c = syn(later)!;
      expect(c).toMatchObject({ type: 'synthetic', target: 'RUNNING', deadLetters: 6, lag: [] });
      expect(c.tasks).toEqual([
        expect.objectContaining({ id: 0, state: 'RUNNING', worker: later.worker.id, here: true }),
      ]);
      expect(c.tasks[0]!.records).toBeGreaterThan(0);
      expect(later.deadLetters.counts).toEqual([
        { connector: s.connector, total: 6, byReason: { 'synthetic-poison': 6 } },
      ]);
      // Poison seqs 5, 6 and 7 of both source partitions.
      expect(later.deadLetters.recent.map((d) => d.sourceRef).sort()).toEqual([
        '0:5',
        '0:6',
        '0:7',
        '1:5',
        '1:6',
        '1:7',
      ]);
      expect(later.deadLetters.recent[0]).toMatchObject({
        connector: s.connector,
        reason: 'synthetic-poison',
        error: expect.stringMatching(/^record \d is marked poison$/),
      });
      // The lagging source's lag gauge, per source partition.
      expect(lagged(later)!.lag).toEqual([
        { partition: '0', value: LAG },
        { partition: '1', value: LAG },
      ]);
      const series = later.throughput.find((t) => t.connector === s.connector)!;
      expect(series.points.some(([, rate]) => rate > 0)).toBe(true);
      expect(later.alerts).toBeNull();
      // Names and numbers only: no broker address, topic prefix or transactional id from the config.
      const text = JSON.stringify(later);
      for (const secretish of [brokers[0]!, s.prefix, `t${s.id}-`]) expect(text).not.toContain(secretish);
    } finally {
      w.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    }
  });
});

describe('dashboard in a worker group', () => {
  it("each worker shows the group's tasks and owners, and records for the tasks it runs itself", async () => {
    const g = groupConfig({ brokers, connectors: [{ name: 'beta', tasks: 2, ratePerSec: 50 }] });
    const workers: RunningWorker[] = [];
    try {
      workers.push(await startGroupWorker(g.file, `w1-${g.id}`));
      workers.push(await startGroupWorker(g.file, `w2-${g.id}`));
      const views = await Promise.all(
        workers.map((w) =>
          until(
            `${w.id}: both tasks running, one here`,
            async () => (await (await fetch(`${w.url}/dashboard/data`)).json()) as DashboardData,
            (d) => {
              const tasks = d.connectors[0]?.tasks ?? [];
              const mine = tasks.filter((t) => t.here);
              return (
                tasks.length === 2 &&
                tasks.every((t) => t.state === 'RUNNING') &&
                mine.length === 1 &&
                (mine[0]!.records ?? 0) > 0 &&
                (d.connectors[0]?.records ?? 0) > 0
              );
            },
            90_000,
          ),
        ),
      );
      for (const [i, v] of views.entries()) {
        const me = workers[i]!.id;
        expect(v.worker).toMatchObject({ id: me, mode: 'distributed' });
        const tasks = v.connectors[0]!.tasks;
        // Owners come from the group's shared state; the other worker's task has no local numbers here.
        expect(new Set(tasks.map((t) => t.worker))).toEqual(new Set(workers.map((w) => w.id)));
        const other = tasks.find((t) => !t.here)!;
        expect(other.worker).not.toBe(me);
        expect(other.records).toBeNull();
        expect(tasks.find((t) => t.here)!.worker).toBe(me);
      }
    } finally {
      for (const w of workers) w.w.kill('SIGTERM');
      for (const w of workers) expect(await w.w.exited).toBe(0);
    }
  });
});
