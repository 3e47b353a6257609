// The webhook receiver in the real worker: the simulator delivers signed batches (some twice) while the
// worker is SIGKILLed; HubSpot's retries bring back what was not acknowledged. Every event the simulator
// saw acknowledged is in Kafka (a 2xx only after the commit), and every event exactly once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  crashLoop,
  freePort,
  readTopic,
  spawnWorker,
  startHubSpotSimulator,
  waitForOutput,
  writeConfig,
  type HubSpotSimulator,
} from '@tributary/testkit';
import { validateRecord } from '@tributary/schemas';

const brokers = inject('kafkaBrokers');
const SECRET = 'app-client-secret';
let sim: HubSpotSimulator;

beforeAll(async () => {
  sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 } });
});
afterAll(async () => {
  await sim?.close();
});

describe('hubspot webhooks in the worker (real Kafka, SIGKILLs)', () => {
  it('survives 5 SIGKILLs: every acknowledged event is in Kafka, every event exactly once', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `w${id}.`;
    const port = await freePort();
    const file = writeConfig({
      kafka: { brokers, transactionalIdPrefix: `w${id}`, transactionTimeoutMs: 30_000 },
      topics: { prefix, offsetsTopic: `w${id}.offsets`, partitions: 3 },
      worker: { http: false },
      connectors: [
        {
          name: `hubspot-${id}`,
          type: 'hubspot',
          batch: { maxRecords: 200, maxMs: 150 },
          config: {
            baseUrl: sim.url,
            auth: { kind: 'private-app', accessToken: 'pat-sim' },
            objects: [{ type: 'contacts', properties: ['email'] }],
            pollIntervalMs: 500,
            settleMs: 200,
            lookbackMs: 0,
            webhook: { port, clientSecret: SECRET },
          },
        },
      ],
    });
    const sender = sim.startWebhooks({
      url: `http://127.0.0.1:${port}/webhooks/hubspot`,
      clientSecret: SECRET,
      flushMs: 30,
      batchSize: 20,
      retryBaseMs: 100,
      retryMaxMs: 1_000,
      maxAttempts: 10_000,
      duplicateRate: 0.1,
    });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const c = sim.create('contacts', { email: `c${i}@x.io` });
        if (i % 2 === 0) sim.update('contacts', c.id, { email: `u${i}@x.io` });
        await new Promise((r) => setTimeout(r, 40));
      }
    })();

    await crashLoop({
      configFile: file,
      kills: 5,
      readyPattern: /webhook receiver listening/,
      minUptimeMs: 300,
      maxUptimeMs: 2_500,
    });
    const last = spawnWorker(file);
    await waitForOutput(last, /webhook receiver listening/, 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    writing = false;
    await writer;
    await sender.drain(60_000);
    expect(sender.stats.dropped).toBe(0);
    const acked = new Set(sender.stats.deliveredIds);
    // The last worker dies by SIGKILL too: whatever it acknowledged must already be committed.
    last.kill('SIGKILL');
    await last.exited;

    const changes = (await readTopic(brokers, `${prefix}crm.changes`)).map(
      (m) =>
        JSON.parse(m.value!) as Record<string, unknown> & { header: { source: string; eventId?: number } },
    );
    const hooks = changes.filter((c) => c.header.source === 'webhook');
    for (const h of hooks) validateRecord('crm.change', h);
    const ids = hooks.map((h) => h.header.eventId!);
    expect(ids.length).toBe(new Set(ids).size);
    expect(new Set(ids)).toEqual(acked);
    // Creations and property changes of every contact written.
    const contacts = sim.store.allVersions('contacts');
    expect(hooks.filter((h) => h.changeType === 'create')).toHaveLength(
      contacts.filter((v) => v.kind === 'create').length,
    );
    expect(hooks.filter((h) => h.changeType === 'update')).toHaveLength(
      contacts.filter((v) => v.kind === 'update').length,
    );
    // The kills hit deliveries in flight, HubSpot-style redeliveries happened, and polling ran alongside.
    expect(sender.stats.failedAttempts).toBeGreaterThan(0);
    expect(sender.stats.duplicatesSent).toBeGreaterThan(0);
    expect(changes.some((c) => c.header.source === 'search')).toBe(true);
  });
});
