// Exactly-once under crashes: the real worker (`tributary run`) streams a btcd chain into Kafka while it
// is SIGKILLed at random 20+ times; an independent read_committed reader then finds every block and
// transaction exactly once, in chain order. The chain keeps growing during the crash loop (two blocks per
// kill) and the worker reads through the Esplora test server slowed to 50 ms a request, so the kills land
// while it streams, and it cannot reach the end before the loop is over.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { crashLoop, readTopic, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { TOPICS, type ChainBlock, type ChainTransaction, type ChainTransfer } from '@tributary/schemas';
import type { Transaction } from 'bitcoinjs-lib';
import { buildTx, coinbaseAt, key, p2pkh, p2wpkh, send, spendable } from './helpers/wallet.ts';
import { miner, startNode } from './helpers/scenario.ts';
import { startEsplora, type EsploraServer } from './helpers/esplora-server.ts';
import type { BtcdNode } from '@tributary/testkit';

const KILLS = 10;
const END = 200;
let node: BtcdNode;
let esplora: EsploraServer;
const sent: Transaction[] = [];

beforeAll(async () => {
  node = await startNode();
  await node.generate(110);
  // Blocks 111..160 each carry one spend of an old coinbase, to three outputs.
  for (let h = 111; h <= 160; h++) {
    const cb = spendable(await coinbaseAt(node, h - 110), 0, 'p2pkh', miner);
    const tx = buildTx(
      [cb],
      [
        { script: p2wpkh(key(20)).output!, value: 100_000_000n },
        { script: p2pkh(key(21)).output!, value: 200_000_000n },
        { script: p2pkh(miner).output!, value: cb.value - 300_000_000n - 10_000n },
      ],
    );
    await send(node, tx);
    await node.generate(1);
    sent.push(tx);
  }
  esplora = await startEsplora(node, { delayMs: 50 });
});
afterAll(async () => {
  await esplora?.close();
  await node?.close();
});

it(`streams every block and transaction exactly once across ${KILLS} SIGKILLs`, async () => {
  const brokers = inject('kafkaBrokers');
  const prefix = `btc-crash-${randomUUID().slice(0, 8)}.`;
  const configFile = writeConfig({
    kafka: { brokers, transactionalIdPrefix: prefix.replace(/\.$/, '') },
    topics: { prefix, partitions: 1, offsetsTopic: `${prefix}offsets` },
    worker: { http: false },
    connectors: [
      {
        name: 'btc-crash',
        type: 'bitcoin',
        batch: { maxRecords: 40, maxMs: 200 },
        config: {
          network: 'regtest',
          backend: { kind: 'esplora', url: esplora.url },
          finality: { confirmations: 1 },
          // Not 0: Kafka rolls a segment whose first record is older than segment.ms (7 days) and time-based
          // retention then deletes it; the 2011 regtest genesis would vanish from the topic within a minute.
          startHeight: 1,
          endHeight: END,
          pollIntervalMs: 100,
          resolveInputs: { requestsPerSecond: 200, concurrency: 4 },
        },
      },
    ],
  });
  const env = { LOG_LEVEL: 'info' };
  // Worker start-up (tsx, Kafka connect) takes seconds on a busy machine: measure it once, so the kills
  // land while the task streams rather than during start-up.
  const started = Date.now();
  const probe = spawnWorker(configFile, { env });
  await waitForOutput(probe, /task started from committed offsets/, 60_000);
  const bootMs = Date.now() - started;
  probe.kill('SIGKILL');
  await probe.exited;
  const mined: Promise<string[]>[] = [];
  const perKill = (END - 160) / KILLS;
  const uptimes = await crashLoop({
    configFile,
    kills: KILLS,
    minUptimeMs: bootMs + 200,
    maxUptimeMs: bootMs + 1_500,
    env,
    onKill: () => mined.push(node.generate(perKill)),
  });
  expect(uptimes).toHaveLength(KILLS);
  await Promise.all(mined);
  expect(await node.rpc<number>('getblockcount')).toBe(END);
  // The kills landed mid-stream: some blocks were committed, not all.
  const committed = (await readTopic(brokers, `${prefix}${TOPICS.chainBlocks.name}`)).length;
  expect(committed).toBeGreaterThan(0);
  expect(committed).toBeLessThan(END);

  // Then a clean run to the end: the task finishes at END and the worker exits 0.
  const w = spawnWorker(configFile, { env });
  const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('timeout'), 120_000))]);
  expect(code, w.output().slice(-3000)).toBe(0);

  const blocks = (await readTopic(brokers, `${prefix}${TOPICS.chainBlocks.name}`)).map(
    (m) => JSON.parse(m.value!) as ChainBlock,
  );
  expect(blocks.map((b) => b.number)).toEqual(Array.from({ length: END }, (_, h) => h + 1));
  expect(blocks.every((b) => b.op === 'upsert')).toBe(true);
  for (let i = 1; i < END; i++) expect(blocks[i]!.parentHash).toBe(blocks[i - 1]!.hash);

  const txs = (await readTopic(brokers, `${prefix}${TOPICS.chainTransactions.name}`)).map(
    (m) => JSON.parse(m.value!) as ChainTransaction,
  );
  expect(txs).toHaveLength(END + sent.length);
  expect(new Set(txs.map((t) => t.hash)).size).toBe(txs.length);
  expect(txs.map((t) => [t.blockNumber, t.index])).toEqual(
    blocks.flatMap((b) => Array.from({ length: b.transactionCount }, (_, i) => [b.number, i])),
  );
  expect(txs.filter((t) => !t.coinbase).map((t) => t.hash)).toEqual(sent.map((t) => t.getId()));
  expect(
    txs.filter((t) => !t.coinbase).every((t) => t.fee === '10000' && t.from === p2pkh(miner).address),
  ).toBe(true);

  const transfers = (await readTopic(brokers, `${prefix}${TOPICS.chainTransfers.name}`)).map(
    (m) => JSON.parse(m.value!) as ChainTransfer,
  );
  expect(transfers).toHaveLength(END + sent.length * 3);
  expect(new Set(transfers.map((t) => `${t.transactionHash}:${t.index}`)).size).toBe(transfers.length);
});
