// Shared by the in-process tests: a simulator with a JWT-enabled connected app, configs pointing at it,
// and a collector that runs the source like the runtime does (offsets fed back on restart).
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import type { JsonValue, SourceBatch } from '@tributary/sdk';
import { TOPICS, type CrmChange, type DeadLetter, type Alert } from '@tributary/schemas';
import { startSalesforceSimulator, type SalesforceSimulatorOptions } from '@tributary/testkit';
import { configSchema, source, type SalesforceConfigInput } from '../src/index.ts';

export const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

export async function startSim(o: SalesforceSimulatorOptions = {}) {
  return startSalesforceSimulator({
    bulkJobDelayMs: 50,
    connectTimeoutMs: 5_000,
    ...o,
    app: { jwtPublicKey: keys.publicKey, ...o.app },
  });
}

export type Sim = Awaited<ReturnType<typeof startSim>>;

export function configFor(sim: Sim, extra: Partial<SalesforceConfigInput> = {}): SalesforceConfigInput {
  return {
    loginUrl: sim.url,
    auth: {
      type: 'jwt',
      clientId: sim.app.clientId,
      username: sim.users[0]!.username,
      privateKey: keys.privateKey,
    },
    objects: [{ name: 'Account' }, { name: 'Contact' }],
    snapshotOverlapMs: 0,
    bulk: { pollIntervalMs: 50 },
    polling: { intervalMs: 200 },
    streamingRetrySec: 0.2,
    ...extra,
  };
}

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Collected {
  batches: SourceBatch[];
  changes: CrmChange[];
  deadLetters: DeadLetter[];
  alerts: Alert[];
  offsets: Map<string, JsonValue>;
  skipped: string[];
  /** Highest queue length (events received, not yet taken) the source reported. */
  maxLag: number;
}

/** Runs the source until `until` holds, then `settleMs` longer (so a duplicate arriving late is seen),
 * with `offsets` as the committed offsets. Throws if `until` never holds within the timeout. */
export async function collect(
  config: SalesforceConfigInput,
  until: (c: Collected) => boolean,
  o: {
    offsets?: Map<string, JsonValue>;
    timeoutMs?: number;
    settleMs?: number;
    onBatch?: (c: Collected) => void | Promise<void>;
  } = {},
): Promise<Collected> {
  const parsed = configSchema.parse(config);
  const ac = new AbortController();
  const out: Collected = {
    batches: [],
    changes: [],
    deadLetters: [],
    alerts: [],
    offsets: new Map(o.offsets ?? []),
    skipped: [],
    maxLag: 0,
  };
  const it = source
    .run({
      connector: 'sf-test',
      taskId: 0,
      config: { ...parsed, partitions: source.tasks!(parsed, 1)[0]!.config.partitions },
      offsets: new Map(o.offsets ?? []) as never,
      signal: ac.signal,
      logger,
      metrics: {
        lag: (_p, n) => (out.maxLag = Math.max(out.maxLag, n)),
        skipped: (r) => out.skipped.push(r),
      },
    })
    [Symbol.asyncIterator]();
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let settleUntil = 0;
  let pending: Promise<IteratorResult<SourceBatch>> | null = null;
  try {
    for (;;) {
      if (!settleUntil && until(out)) settleUntil = Date.now() + (o.settleMs ?? 300);
      const stopAt = settleUntil || deadline;
      if (Date.now() >= stopAt) break;
      pending ??= it.next();
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        pending,
        new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), stopAt - Date.now()))),
      ]);
      clearTimeout(timer);
      if (r === 'timeout') break;
      pending = null;
      if (r.done) break;
      const b = r.value;
      out.batches.push(b);
      out.offsets.set(b.partition, b.offset);
      for (const rec of b.records) {
        if (rec.topic === TOPICS.crmChanges.name) out.changes.push(rec.value as unknown as CrmChange);
        else if (rec.topic === TOPICS.deadLetters.name)
          out.deadLetters.push(rec.value as unknown as DeadLetter);
        else if (rec.topic === TOPICS.alerts.name) out.alerts.push(rec.value as unknown as Alert);
      }
      await o.onBatch?.(out);
    }
  } finally {
    ac.abort();
    pending?.catch(() => {});
    await Promise.race([it.return?.(undefined), new Promise((r) => setTimeout(r, 3_000))]);
  }
  if (!until(out)) throw new Error(`collect ended before its condition: ${out.changes.length} changes`);
  return out;
}

/** Makes `n` single-change transactions alternating creates and updates on a few Accounts. */
export function churn(sim: Sim, n: number, tag = 'c'): void {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    if (ids.length < 5 || i % 3 === 0)
      sim.transaction((tx) => ids.push(tx.create('Account', { Name: `${tag}-${i}`, Industry: 'Tech' })));
    else sim.transaction((tx) => tx.update('Account', ids[i % ids.length]!, { Name: `${tag}-${i}` }));
  }
}

/** Position the stream was taken at (the snapshot's `since`), from the collected offsets. */
export function sinceOf(c: Collected, partition: string): number {
  const o = c.offsets.get(partition) as { since?: number | null } | undefined;
  const b = c.batches.find((x) => x.partition === partition && (x.offset as { since?: unknown }).since);
  return Number((b?.offset as { since?: number } | undefined)?.since ?? o?.since ?? 0);
}

/** The stream changes (not snapshot rows) as `recordId@replayId`. */
export const streamKeys = (changes: CrmChange[]) =>
  changes.filter((c) => c.changeType !== 'snapshot').map((c) => `${c.recordId}@${c.sourcePosition}`);

/** Every change the simulator published with its own event (normal or gap) at or after `since`, and
 * still retained, appears exactly once, and each record's changes are in replay order. */
export function expectExactlyOnce(
  sim: Sim,
  changes: CrmChange[],
  o: { since?: number; objects?: string[]; expect: (v: unknown) => { toEqual(x: unknown): void } },
): void {
  const want = sim
    .changes()
    .filter(
      (c) =>
        c.replayId !== null &&
        // Events purged by retention (tests that expire a position) can only be covered by a snapshot.
        c.replayId > sim.org.purgedUpTo() &&
        (c.style === 'normal' || c.style === 'gap') &&
        c.commitTimestamp >= (o.since ?? 0) &&
        (!o.objects || o.objects.includes(c.objectType)),
    )
    .map((c) => `${c.recordId}@${c.replayId}`);
  const got = streamKeys(changes);
  o.expect([...got].sort()).toEqual([...want].sort());
  const byRecord = new Map<string, number[]>();
  for (const c of changes)
    if (c.changeType !== 'snapshot')
      byRecord.set(c.recordId, [...(byRecord.get(c.recordId) ?? []), Number(c.sourcePosition)]);
  for (const [, seq] of byRecord) o.expect(seq).toEqual([...seq].sort((a, b) => a - b));
}
