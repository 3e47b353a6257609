// The webhook receiver in-process: v3 signatures (bad and old ones refused), redeliveries dropped by event
// key, malformed events dead-lettered, and the acknowledgement held until the batch is committed (or,
// without a worker, handed over).
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonValue, SourceBatch } from '@tributary/sdk';
import {
  freePort,
  hubSpotSignatureV3,
  startHubSpotSimulator,
  type HubSpotSimulator,
} from '@tributary/testkit';
import {
  source,
  WEBHOOK_PARTITION,
  WEBHOOK_TASK_ID,
  type TaskConfig,
  type WebhookOffset,
} from '../src/index.ts';
import { collect, silent, simConfig } from './helpers.ts';

const SECRET = 'app-client-secret';
let sim: HubSpotSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const hookConfig = (s: HubSpotSimulator, port: number, extra: Record<string, unknown> = {}) =>
  simConfig(s, { webhook: { port, clientSecret: SECRET, ackTimeoutMs: 5_000, ...extra } });

/** A signed POST as HubSpot sends it. */
async function deliver(url: string, events: unknown, o: { secret?: string; timestamp?: number } = {}) {
  const body = JSON.stringify(events);
  const ts = o.timestamp ?? Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'X-HubSpot-Signature-v3': hubSpotSignatureV3(o.secret ?? SECRET, 'POST', url, body, ts),
      'X-HubSpot-Request-Timestamp': String(ts),
    },
    body,
  });
  return res.status;
}

const event = (eventId: number, objectId = 100 + eventId) => ({
  eventId,
  subscriptionId: 7,
  portalId: 1,
  appId: 2,
  occurredAt: Date.now(),
  subscriptionType: 'contact.propertyChange',
  attemptNumber: 0,
  objectId,
  changeSource: 'CRM',
  propertyName: 'email',
  propertyValue: `e${eventId}@x.io`,
});

/** The webhook task's run, driven by hand. */
function runReceiver(
  config: unknown,
  onCommitted?: (l: (o: ReadonlyMap<string, JsonValue>) => void) => () => void,
) {
  const parsed = source.configSchema.parse(config);
  const spec = source.tasks!(parsed, 1).find((t) => t.taskId === WEBHOOK_TASK_ID)!;
  const ac = new AbortController();
  const it = source
    .run({
      connector: 'test',
      taskId: spec.taskId,
      config: spec.config as TaskConfig,
      offsets: new Map(),
      signal: ac.signal,
      logger: silent,
      metrics: { lag: () => {}, skipped: () => {} },
      ...(onCommitted ? { onCommitted } : {}),
    })
    [Symbol.asyncIterator]();
  return {
    next: () => it.next() as Promise<IteratorResult<SourceBatch, undefined>>,
    stop: async () => {
      ac.abort();
      await it.return?.(undefined);
    },
  };
}

const settledWithin = async (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);

describe('hubspot webhook receiver', () => {
  it('receives the simulator deliveries, each event once, even when HubSpot delivers twice', async () => {
    sim = await startHubSpotSimulator();
    const port = await freePort();
    const config = hookConfig(sim, port);
    sim.startWebhooks({
      url: `http://127.0.0.1:${port}/webhooks/hubspot`,
      clientSecret: SECRET,
      duplicateRate: 1,
      flushMs: 20,
    });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(sim.create('contacts', { email: `c${i}@x.io` }).id);
    for (const id of ids.slice(0, 10)) sim.update('contacts', id, { email: 'changed@x.io', phone: '1' });
    for (const id of ids.slice(0, 3)) sim.archive('contacts', id);
    const expected = 20 + 20 + 3;
    const got = await collect(
      config,
      (c) => c.changes.length >= expected && sim!.webhooks()!.pending() === 0,
      {
        taskIndex: 1,
      },
    );
    const keys = got.changes.map((c) => c.sourcePosition);
    expect(new Set(keys).size).toBe(expected);
    expect(got.changes).toHaveLength(expected);
    expect(sim.webhooks()!.stats.duplicatesSent).toBeGreaterThan(0);
    expect(got.changes.filter((c) => c.changeType === 'create')).toHaveLength(20);
    expect(got.changes.filter((c) => c.changeType === 'delete').map((c) => c.recordId)).toEqual(
      ids.slice(0, 3),
    );
    expect(got.changes.find((c) => c.changeType === 'update')).toMatchObject({
      objectType: 'contacts',
      changedFields: ['email'],
      values: { email: 'changed@x.io' },
      header: { source: 'webhook', subscriptionType: 'contact.propertyChange' },
    });
    expect(got.offsets.get(WEBHOOK_PARTITION)).toMatchObject({ v: 1 });
    expect((got.offsets.get(WEBHOOK_PARTITION) as WebhookOffset).recent).toHaveLength(expected);
  });

  it('refuses bad signatures, old timestamps, non-arrays and other paths; dead-letters malformed events', async () => {
    sim = await startHubSpotSimulator();
    const port = await freePort();
    const r = runReceiver(hookConfig(sim, port));
    const first = r.next();
    const url = `http://127.0.0.1:${port}/webhooks/hubspot`;
    // Wait for the server.
    for (let i = 0; i < 50; i++) {
      if (
        (await fetch(url)
          .then((x) => x.status)
          .catch(() => 0)) === 404
      )
        break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(await deliver(url, [event(1)], { secret: 'wrong' })).toBe(401);
    expect(await deliver(url, [event(1)], { timestamp: Date.now() - 6 * 60_000 })).toBe(401);
    expect(await deliver(url, { not: 'an array' })).toBe(400);
    expect(await deliver(`http://127.0.0.1:${port}/elsewhere`, [event(1)])).toBe(404);
    const unsigned = await fetch(url, { method: 'POST', body: '[]' });
    expect(unsigned.status).toBe(401);

    const ok = deliver(url, [event(2), { eventId: 3, subscriptionType: 'contact.creation' }]);
    const batch = await first;
    expect(batch.done).toBe(false);
    const records = batch.value!.records;
    expect(records.map((x) => x.topic)).toEqual(['crm.changes', 'deadletter']);
    expect(records[1]!.value).toMatchObject({ reason: 'malformed-webhook-event' });
    const pending = r.next();
    expect(await ok).toBe(204);
    await r.stop();
    await pending.catch(() => undefined);
  });

  it('answers 2xx only after the commit that holds the events (onCommitted), and a redelivery waits for it too', async () => {
    sim = await startHubSpotSimulator();
    const port = await freePort();
    let listener: ((o: ReadonlyMap<string, JsonValue>) => void) | undefined;
    const r = runReceiver(hookConfig(sim, port), (l) => {
      listener = l;
      return () => (listener = undefined);
    });
    const url = `http://127.0.0.1:${port}/webhooks/hubspot`;
    const firstBatch = r.next();
    for (let i = 0; i < 50; i++) {
      if (
        (await fetch(url)
          .then((x) => x.status)
          .catch(() => 0)) === 404
      )
        break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const ack = deliver(url, [event(10), event(11)]);
    const b = await firstBatch;
    expect(b.value!.records).toHaveLength(2);
    const offset = b.value!.offset as WebhookOffset;
    // Handed over (the consumer asked for more) but not committed: no answer yet.
    const next = r.next();
    expect(await settledWithin(ack, 300)).toBe(false);
    // HubSpot redelivers meanwhile: not emitted again, and not acknowledged before the commit either.
    const again = deliver(url, [event(11)]);
    expect(await settledWithin(again, 300)).toBe(false);
    // An unrelated commit (older sequence) does not release them.
    listener!(new Map([[WEBHOOK_PARTITION, { ...offset, seq: offset.seq - 1 }]]));
    expect(await settledWithin(ack, 200)).toBe(false);
    listener!(new Map([[WEBHOOK_PARTITION, offset as unknown as JsonValue]]));
    expect(await ack).toBe(204);
    expect(await again).toBe(204);
    // Once committed, a redelivery is acknowledged at once and yields nothing.
    expect(await deliver(url, [event(10)])).toBe(204);
    expect(await settledWithin(next, 300)).toBe(false);
    await r.stop();
    await next.catch(() => undefined);
  });

  it('answers 503 when the commit does not come in time (HubSpot retries)', async () => {
    sim = await startHubSpotSimulator();
    const port = await freePort();
    const r = runReceiver(hookConfig(sim, port, { ackTimeoutMs: 300 }), () => () => {});
    const url = `http://127.0.0.1:${port}/webhooks/hubspot`;
    const first = r.next();
    for (let i = 0; i < 50; i++) {
      if (
        (await fetch(url)
          .then((x) => x.status)
          .catch(() => 0)) === 404
      )
        break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const ack = deliver(url, [event(20)]);
    await first;
    const next = r.next();
    expect(await ack).toBe(503);
    await r.stop();
    await next.catch(() => undefined);
  });
});
