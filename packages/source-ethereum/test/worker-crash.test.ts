// Through the real worker CLI against real Kafka: 20+ SIGKILLs at random moments during backfill and live
// follow, then every block, transaction and transfer exactly once and in chain order.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  crashLoop,
  readTopic,
  spawnWorker,
  startHardhat,
  waitForOutput,
  writeConfig,
  type HardhatNode,
  type TopicMessage,
} from '@tributary/testkit';
import { validateRecord } from '@tributary/schemas';
import { deploy, driver, mineHardhatBlock, rpc } from './helpers.ts';

const brokers = inject('kafkaBrokers');
let node: HardhatNode;
let eth: ReturnType<typeof driver>;
let accounts: string[] = [];
let token = '';
let proxy: { url: string; delayMs: number; close(): Promise<void> } | undefined;
const PREMINED = 200;

/** A remote endpoint's round trip, in front of the local node: makes the backfill last long enough for
 * kills to land in it, and sends every request through real HTTP batching. */
async function latencyProxy(target: string, delayMs: number) {
  const state = { delayMs };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      setTimeout(() => {
        fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
          .then(async (r) =>
            res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
          )
          .catch(() => res.writeHead(502).end());
      }, state.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return Object.assign(state, {
    url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
/** Mines one block holding `n` transactions, alternating ETH and ERC-20 transfers between accounts. */
const mineBlock = (n: number, salt: number) => mineHardhatBlock(eth, accounts, token, n, salt);

beforeAll(async () => {
  node = await startHardhat();
  eth = driver(node.url);
  accounts = await rpc<string[]>(eth, 'eth_accounts');
  token = (await deploy(await eth.getSigner(0), 'TestToken', 10n ** 30n)).address;
  for (let b = 0; b < PREMINED; b++) await mineBlock(4, b);
  proxy = await latencyProxy(node.url, 100);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  eth?.destroy();
  await node?.close();
});

const values = (ms: TopicMessage[]) => ms.map((m) => JSON.parse(m.value!) as Record<string, unknown>);

describe('ethereum source in the worker (real Kafka, SIGKILLs)', () => {
  it('survives 20 SIGKILLs (4 during backfill, 16 during live follow): every tx and transfer exactly once, in order', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `t${id}.`;
    const connectorConfig = {
      url: proxy!.url,
      chainId: 31337,
      finality: 'latest',
      pollIntervalMs: 200,
      concurrency: 4,
      maxReorgDepth: 8,
    };
    const config = (extra: Record<string, unknown>) => ({
      kafka: { brokers, transactionalIdPrefix: `t${id}`, transactionTimeoutMs: 30_000 },
      topics: { prefix, offsetsTopic: `t${id}.offsets`, partitions: 1 },
      worker: { http: false },
      connectors: [
        {
          name: `eth-${id}`,
          type: 'ethereum',
          batch: { maxRecords: 200, maxMs: 200 },
          config: { ...connectorConfig, ...extra },
        },
      ],
    });

    // How long a worker takes to start here and now (tsx, Kafka producer, offsets): kills are timed
    // relative to it, so they land in the stream and not all before it, on a fast or a loaded machine.
    const file = writeConfig(config({}));
    const probe = spawnWorker(file);
    const spawnedAt = Date.now();
    await waitForOutput(probe, /ethereum source starting/, 60_000);
    const startupMs = Math.max(1_500, Date.now() - spawnedAt);
    probe.kill('SIGKILL');
    await probe.exited;

    // Backfill: kills land while the premined blocks are still being written. Timed from the source's
    // start, not from the probe's start-up time: a probe measured on a loaded moment overestimates it, and
    // the four runs then had time to finish the backfill (202 blocks written once on CI). 1.2-2.4 s after
    // the start wrote 81 and 105 of the 200 here (the first second mostly sets up).
    await crashLoop({
      configFile: file,
      kills: 4,
      readyPattern: /ethereum source starting/,
      minUptimeMs: 1_200,
      maxUptimeMs: 2_400,
    });
    const duringBackfill = await readTopic(brokers, `${prefix}chain.blocks`);
    console.log(
      `ethereum crash test: ${duringBackfill.length} of ${PREMINED} blocks written by the backfill kills`,
    );
    expect(duringBackfill.length).toBeGreaterThan(0);
    expect(duringBackfill.length).toBeLessThan(PREMINED);

    // Live follow: new blocks keep coming while the worker is killed again and again (a nearer endpoint,
    // so the backfill completes between kills).
    proxy!.delayMs = 10;
    let mining = true;
    let salt = 1_000;
    const miner = (async () => {
      while (mining) {
        await mineBlock(2, salt++);
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    // Some of these land during startup, most in the stream.
    const uptimes = await crashLoop({
      configFile: file,
      kills: 16,
      minUptimeMs: startupMs * 0.8,
      maxUptimeMs: startupMs + 2_000,
    });
    mining = false;
    await miner;
    expect(uptimes).toHaveLength(16);
    const midway = await readTopic(brokers, `${prefix}chain.blocks`);
    expect(midway.length).toBeGreaterThan(PREMINED);

    // Run to a fixed end so the last worker finishes on its own.
    const head = await eth.getBlockNumber();
    const last = spawnWorker(writeConfig(config({ endBlock: head })));
    await waitForOutput(last, /task finished/, 120_000);
    expect(await last.exited).toBe(0);

    // What the chain holds: every block hash and transaction, in order (one batched round of requests).
    const chain = await Promise.all(
      Array.from({ length: head + 1 }, (_, n) =>
        rpc<{ hash: string; transactions: { hash: string; value: string; to: string | null }[] }>(
          eth,
          'eth_getBlockByNumber',
          [`0x${n.toString(16)}`, true],
        ),
      ),
    );
    const chainTxs = chain.flatMap((b) => b.transactions);

    const blocks = await readTopic(brokers, `${prefix}chain.blocks`);
    for (const m of blocks) expect(m.key).toBe('ethereum:31337');
    expect(values(blocks).map((v) => v.hash)).toEqual(chain.map((b) => b.hash));

    const txs = await readTopic(brokers, `${prefix}chain.transactions`);
    const txValues = values(txs);
    for (const v of txValues) validateRecord('chain.transaction', v);
    expect(txs[0]!.headers['tributary.record.type']).toBe('chain.transaction');
    expect(txValues.map((v) => v.hash)).toEqual(chainTxs.map((t) => t.hash));
    expect(txValues.every((v) => v.op === 'upsert' && v.status === 'success')).toBe(true);

    // Transfers: one native per valued ETH transfer, one ERC-20 per token transfer (+ the mint), in order.
    const transfers = values(await readTopic(brokers, `${prefix}chain.transfers`));
    const position = new Map(chainTxs.map((t, i) => [t.hash, i]));
    const ids = transfers.map((t) => `${String(t.transactionHash)}:${String(t.kind)}:${String(t.index)}`);
    expect(new Set(ids).size).toBe(ids.length);
    const order = transfers.map((t) => position.get(String(t.transactionHash))!);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(transfers.filter((t) => t.kind === 'native').map((t) => t.transactionHash)).toEqual(
      chainTxs.filter((t) => BigInt(t.value) > 0n).map((t) => t.hash),
    );
    expect(transfers.filter((t) => t.kind === 'erc20').map((t) => t.transactionHash)).toEqual(
      chainTxs.filter((t) => t.to?.toLowerCase() === token.toLowerCase() || t.to === null).map((t) => t.hash),
    );
    expect(chainTxs.length).toBeGreaterThan(PREMINED * 4);
  });
});
