// Reorgs through the real worker CLI and real Kafka, read back with an independent read_committed
// consumer: the orphaned blocks' records, then their retractions (newest first), then the new branch; the
// view a consumer builds by applying the retractions equals the chain as the node reports it. The
// scenarios: test/worker-reorg.test.ts (Hardhat) and test/geth/worker-reorg.test.ts (geth).
import { randomUUID } from 'node:crypto';
import { expect, inject } from 'vitest';
import {
  readTopic,
  spawnWorker,
  writeConfig,
  type TopicMessage,
  type WorkerProcess,
} from '@tributary/testkit';
import { validateRecord } from '@tributary/schemas';

const brokers = inject('kafkaBrokers');
export const TOPIC_NAMES = ['chain.blocks', 'chain.transactions', 'chain.transfers'] as const;
type TopicName = (typeof TOPIC_NAMES)[number];
type Value = Record<string, unknown>;
const RECORD_TYPE = {
  'chain.blocks': 'chain.block',
  'chain.transactions': 'chain.transaction',
  'chain.transfers': 'chain.transfer',
} as const;

export interface ChainBlock {
  number: string;
  hash: string;
  transactions: { hash: string; value: string; to: string | null; input: string }[];
}

/** A connector on its own topics (prefix) and transactional ids, for one scenario. */
export function connector(url: string, chainId: number) {
  const id = randomUUID().slice(0, 8);
  const prefix = `r${id}.`;
  const file = writeConfig({
    kafka: { brokers, transactionalIdPrefix: `r${id}`, transactionTimeoutMs: 30_000 },
    topics: { prefix, offsetsTopic: `r${id}.offsets`, partitions: 1 },
    worker: { http: false },
    connectors: [
      {
        name: `eth-${id}`,
        type: 'ethereum',
        batch: { maxRecords: 200, maxMs: 200 },
        config: { url, chainId, finality: 'latest', pollIntervalMs: 200, concurrency: 4, maxReorgDepth: 16 },
      },
    ],
  });
  return { prefix, start: () => spawnWorker(file) };
}

export async function readAll(prefix: string): Promise<Record<TopicName, TopicMessage[]>> {
  const out = {} as Record<TopicName, TopicMessage[]>;
  for (const t of TOPIC_NAMES) out[t] = await readTopic(brokers, `${prefix}${t}`);
  return out;
}

export const valueOf = (m: TopicMessage) => JSON.parse(m.value!) as Value;
const blockHashOf = (topic: TopicName, v: Value) => String(topic === 'chain.blocks' ? v.hash : v.blockHash);

/** Resolves once the block with `hash` is committed (read_committed) to the blocks topic. */
export async function untilCommitted(w: WorkerProcess, prefix: string, hash: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (w.child.exitCode !== null)
      throw new Error(`worker exited (${w.child.exitCode}):\n${w.output().slice(-3000)}`);
    const blocks = await readTopic(brokers, `${prefix}chain.blocks`).catch(() => []);
    if (blocks.some((m) => valueOf(m).hash === hash)) return;
    if (Date.now() > deadline)
      throw new Error(`block ${hash} not committed in time:\n${w.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Identity of a record within its topic: what a retraction cancels. */
function identity(topic: TopicName, v: Value): string {
  if (topic === 'chain.blocks') return String(v.hash);
  if (topic === 'chain.transactions') return String(v.hash);
  const batchIndex = (v.extra as { batchIndex?: number } | null)?.batchIndex ?? '';
  return `${String(v.transactionHash)}:${String(v.kind)}:${String(v.index)}:${batchIndex}`;
}

/** The view a consumer builds by applying records in order. An upsert of a record already standing is a
 * duplicate, a retraction of one not standing (or different from it) is wrong: both fail the test. */
export function canonicalView(topic: TopicName, messages: TopicMessage[]): Value[] {
  const standing = new Map<string, Value>();
  for (const m of messages) {
    const v = validateRecord(RECORD_TYPE[topic], valueOf(m)) as Value;
    const id = identity(topic, v);
    if (v.op === 'upsert') {
      expect(standing.has(id), `${topic} ${id} written twice`).toBe(false);
      standing.set(id, v);
    } else {
      expect(standing.get(id), `${topic} ${id} retracted but not standing`).toEqual({ ...v, op: 'upsert' });
      standing.delete(id);
    }
  }
  return [...standing.values()];
}

/** Per topic: the records before the reorg, the orphaned blocks' records last among them, then exactly
 * their retractions in reverse order (same key, headers and fields, op 'retract'), then only the new
 * branch; and the retraction-applied view equals the node's canonical chain. */
export function expectRetractThenRewrite(
  topics: Record<TopicName, TopicMessage[]>,
  orphaned: string[],
  branch: string[],
  chain: ChainBlock[],
  token: string,
) {
  for (const topic of TOPIC_NAMES) {
    const ms = topics[topic];
    const vs = ms.map(valueOf);
    const first = vs.findIndex((v) => v.op === 'retract');
    expect(first, `${topic}: no retraction`).toBeGreaterThan(0);
    let end = first;
    while (end < vs.length && vs[end]!.op === 'retract') end++;
    const n = end - first;
    expect(
      vs.slice(end).every((v) => v.op === 'upsert'),
      `${topic}: a retraction after the new branch`,
    ).toBe(true);
    // The n records just before the retractions are the orphaned ones, and no earlier record is.
    const orphanedRecords = ms.slice(first - n, first);
    expect(new Set(orphanedRecords.map((m) => blockHashOf(topic, valueOf(m))))).toEqual(new Set(orphaned));
    expect(vs.slice(0, first - n).some((v) => orphaned.includes(blockHashOf(topic, v)))).toBe(false);
    // Retractions: those records, newest first, each the original with op 'retract'.
    const retractions = ms.slice(first, end);
    expect(
      retractions.map((m) => ({ key: m.key, headers: m.headers, value: { ...valueOf(m), op: 'upsert' } })),
    ).toEqual(
      [...orphanedRecords].reverse().map((m) => ({ key: m.key, headers: m.headers, value: valueOf(m) })),
    );
    // Then the new branch only, every block of it (its transactions and transfers with it).
    const after = new Set(vs.slice(end).map((v) => blockHashOf(topic, v)));
    expect(
      [...after].every((h) => branch.includes(h)),
      `${topic}: after the retractions, not the new branch`,
    ).toBe(true);
    if (topic === 'chain.blocks') expect([...after]).toEqual(branch);
  }

  // The canonical view equals the node's chain: blocks, transactions, and their transfers.
  const blocks = canonicalView('chain.blocks', topics['chain.blocks']);
  expect(blocks.map((b) => b.hash)).toEqual(chain.map((b) => b.hash));
  const chainTxs = chain.flatMap((b) => b.transactions);
  const txs = canonicalView('chain.transactions', topics['chain.transactions']);
  expect(txs.map((t) => t.hash)).toEqual(chainTxs.map((t) => t.hash));
  const transfers = canonicalView('chain.transfers', topics['chain.transfers']);
  expect(transfers.filter((t) => t.kind === 'native').map((t) => t.transactionHash)).toEqual(
    chainTxs.filter((t) => BigInt(t.value) > 0n).map((t) => t.hash),
  );
  expect(transfers.filter((t) => t.kind === 'erc20').map((t) => t.transactionHash)).toEqual(
    chainTxs.filter((t) => t.to === null || t.to.toLowerCase() === token.toLowerCase()).map((t) => t.hash),
  );
}

export async function chainUpTo(call: <T>(method: string, params: unknown[]) => Promise<T>, head: number) {
  return Promise.all(
    Array.from({ length: head + 1 }, (_, n) =>
      call<ChainBlock>('eth_getBlockByNumber', [`0x${n.toString(16)}`, true]),
    ),
  );
}
