// A real reorg: two btcd nodes mine competing branches, then connect; the node the source follows
// switches to the longer branch. In 'latest' mode the source must retract the orphaned blocks (newest
// first) before emitting the new branch.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBtcd, type BtcdNode } from '@tributary/testkit';
import {
  TOPICS,
  validateRecord,
  type ChainBlock,
  type ChainTransaction,
  type ChainTransfer,
} from '@tributary/schemas';
import { collect, valuesOf } from './helpers/run-source.ts';
import { key, p2pkh } from './helpers/wallet.ts';

let a: BtcdNode;
let b: BtcdNode;
beforeAll(async () => {
  [a, b] = await Promise.all([
    startBtcd({ miningAddress: p2pkh(key(11)).address! }),
    startBtcd({ miningAddress: p2pkh(key(12)).address! }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('retracts the orphaned branch, newest first, then emits the new one', async () => {
  const branchA = await a.generate(3);
  const branchB = await b.generate(5);
  const genesis = await a.rpc<string>('getblockhash', [0]);
  let reorged: Promise<void> | null = null;
  const got = await collect(
    {
      network: 'regtest',
      backend: { kind: 'core-rpc', url: a.rpcUrl, username: a.rpcUser, password: a.rpcPass },
      finality: 'latest',
      startHeight: 1,
      pollIntervalMs: 100,
    },
    {
      until: (batches) => {
        // Once the source has emitted branch A, connect the nodes while it keeps polling.
        if (batches.length === 3 && !reorged) {
          reorged = (async () => {
            await a.rpc('addnode', [b.p2pAddress, 'add']);
            await waitFor(
              async () => (await a.rpc<string>('getblockhash', [5]).catch(() => null)) === branchB[4],
              'node A to switch to branch B',
            );
          })();
        }
        return batches.at(-1)?.offset.hash === branchB[4];
      },
    },
  );
  await reorged;
  expect(got.error).toBeNull();
  expect(got.batches.map((x) => x.offset)).toEqual([
    { height: 1, hash: branchA[0] },
    { height: 2, hash: branchA[1] },
    { height: 3, hash: branchA[2] },
    // Retractions: each moves the offset to the orphan's parent.
    { height: 2, hash: branchA[1] },
    { height: 1, hash: branchA[0] },
    { height: 0, hash: genesis },
    ...branchB.map((hash, i) => ({ height: i + 1, hash })),
  ]);
  const blocks = valuesOf<ChainBlock>(got.batches, TOPICS.chainBlocks.name);
  expect(blocks.map((x) => [x.op, x.number, x.hash])).toEqual([
    ...branchA.map((h, i) => ['upsert', i + 1, h]),
    ...[...branchA].reverse().map((h, i) => ['retract', 3 - i, h]),
    ...branchB.map((h, i) => ['upsert', i + 1, h]),
  ]);
  // Each retraction carries the orphan's transactions and outputs, marked as retracted.
  const retracted = got.batches.slice(3, 6);
  for (const batch of retracted) {
    for (const r of batch.records) {
      const type =
        r.topic === TOPICS.chainBlocks.name
          ? 'chain.block'
          : r.topic === TOPICS.chainTransactions.name
            ? 'chain.transaction'
            : 'chain.transfer';
      expect(validateRecord(type, r.value).op).toBe('retract');
    }
    const [tx] = valuesOf<ChainTransaction>([batch], TOPICS.chainTransactions.name);
    const [out] = valuesOf<ChainTransfer>([batch], TOPICS.chainTransfers.name);
    expect(tx!.blockHash).toBe(batch.records[0] && (batch.records[0].value as ChainBlock).hash);
    expect(out).toMatchObject({ op: 'retract', transactionHash: tx!.hash, to: p2pkh(key(11)).address });
  }
  const upserted = valuesOf<ChainTransfer>(got.batches.slice(6), TOPICS.chainTransfers.name);
  expect(upserted.every((t) => t.op === 'upsert' && t.to === p2pkh(key(12)).address)).toBe(true);

  // A restart from an offset on the orphaned branch retracts too (the offset alone is enough).
  const resumed = await collect(
    {
      network: 'regtest',
      backend: { kind: 'core-rpc', url: a.rpcUrl, username: a.rpcUser, password: a.rpcPass },
      finality: 'latest',
      endHeight: 5,
      pollIntervalMs: 100,
    },
    { offsets: new Map([['bitcoin:regtest', { height: 3, hash: branchA[2]! }]]) },
  );
  expect(resumed.error).toBeNull();
  expect(resumed.batches.map((x) => x.offset)).toEqual(got.batches.slice(3).map((x) => x.offset));
  expect(resumed.batches).toEqual(got.batches.slice(3));
});
