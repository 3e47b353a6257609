// The source against a real node (Hardhat 2), driven directly through `source.run` with a fake context.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getAddress,
  type Contract,
  type JsonRpcProvider,
  type JsonRpcSigner,
  type TransactionReceipt,
} from 'ethers';
import { freePort, startHardhat, type HardhatNode } from '@tributary/testkit';
import { TOPICS } from '@tributary/schemas';
import type { SourceBatch } from '@tributary/sdk';
import type { EthereumOffset } from '../src/index.ts';
import { byTopic, deploy, driver, rpc, runSource, validated } from './helpers.ts';

let node: HardhatNode;
let eth: JsonRpcProvider;
let alice: JsonRpcSigner;
let bob: JsonRpcSigner;
const receipts: TransactionReceipt[] = [];
const addr: Record<'token' | 'nft' | 'multi' | 'bad', string> = { token: '', nft: '', multi: '', bad: '' };
let failedTx = '';
let multiTxBlock = 0;

const wait = async (tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>) => {
  const r = await (await tx).wait();
  receipts.push(r!);
  return r!;
};
const call = (c: unknown, method: string, ...args: unknown[]) =>
  (c as Contract).getFunction(method)(...args) as Promise<{ wait(): Promise<TransactionReceipt | null> }>;

beforeAll(async () => {
  node = await startHardhat();
  eth = driver(node.url);
  [alice, bob] = [await eth.getSigner(0), await eth.getSigner(1)];
  const token = await deploy(alice, 'TestToken', 10n ** 30n);
  const nft = await deploy(alice, 'TestNFT');
  const multi = await deploy(alice, 'TestMulti');
  const bad = await deploy(alice, 'BadToken');
  Object.assign(addr, { token: token.address, nft: nft.address, multi: multi.address, bad: bad.address });
  await wait(alice.sendTransaction({ to: bob.address, value: 1_500_000_000_000_000_000n }));
  await wait(call(token, 'transfer', bob.address, 12_345n));
  await wait(call(nft, 'mint', alice.address, 7n));
  await wait(call(nft, 'transferFrom', alice.address, bob.address, 7n));
  await wait(call(multi, 'mint', alice.address, 1n, 100n));
  await wait(call(multi, 'mint', alice.address, 2n, 50n));
  await wait(call(multi, 'safeBatchTransferFrom', alice.address, bob.address, [1n, 2n], [10n, 20n]));
  await wait(call(bad, 'misbehave', bob.address));
  // A reverted transaction is still mined: status 'failed', a fee, and no transfers.
  await call(token.connect(bob), 'transfer', alice.address, 10n ** 40n, { gasLimit: 100_000 }).catch(
    () => null,
  );
  const revertedIn = await eth.getBlock('latest');
  failedTx = revertedIn!.transactions[0]!;
  // Several transactions in one block.
  await rpc(eth, 'evm_setAutomine', [false]);
  for (const v of [1n, 2n, 3n]) await alice.sendTransaction({ to: bob.address, value: v });
  await rpc(eth, 'evm_mine');
  await rpc(eth, 'evm_setAutomine', [true]);
  multiTxBlock = await eth.getBlockNumber();
}, 120_000);

afterAll(async () => {
  eth?.destroy();
  await node?.close();
});

const config = () => ({
  url: node.url,
  chainId: 31337,
  finality: 'latest' as const,
  pollIntervalMs: 100,
  concurrency: 4,
});

describe('ethereum source on a Hardhat node', () => {
  it('backfills blocks, transactions with receipts, and native/ERC-20/721/1155 transfers, field by field', async () => {
    const head = multiTxBlock;
    const out = await runSource({ ...config(), endBlock: head });
    validated(out.records); // every record passes its schema
    for (const r of out.records)
      expect(r.key).toBe(r.topic === TOPICS.deadLetters.name ? 'eth-test' : 'ethereum:31337');
    expect(out.batches.map((b) => b.partition)).toEqual(Array(head + 1).fill('31337'));
    expect(out.batches.at(-1)!.offset).toEqual({
      blockNumber: head,
      blockHash: (await eth.getBlock(head))!.hash,
    });

    // Blocks: 0..head once each, in order, linked by parent hash, fields as the node reports them.
    const blocks = byTopic(out.records, TOPICS.chainBlocks.name);
    expect(blocks.map((b) => b.number)).toEqual(Array.from({ length: head + 1 }, (_, i) => i));
    for (const b of blocks) {
      const raw = await rpc<Record<string, string>>(eth, 'eth_getBlockByNumber', [
        `0x${Number(b.number).toString(16)}`,
        false,
      ]);
      expect(b).toMatchObject({
        op: 'upsert',
        chain: 'ethereum:31337',
        hash: raw.hash,
        parentHash: raw.parentHash,
        timestamp: new Date(Number(raw.timestamp) * 1000).toISOString(),
        miner: getAddress(raw.miner!),
        size: Number(raw.size),
        gasUsed: BigInt(raw.gasUsed!).toString(),
        gasLimit: BigInt(raw.gasLimit!).toString(),
        baseFeePerGas: BigInt(raw.baseFeePerGas!).toString(),
        weight: null,
      });
      expect(b.transactionCount).toBe((raw.transactions as unknown as string[]).length);
    }

    // Transactions: each with its receipt fields.
    const txs = byTopic(out.records, TOPICS.chainTransactions.name);
    const failed = (await eth.getTransactionReceipt(failedTx))!;
    for (const r of [...receipts, failed]) {
      const tx = (await eth.getTransaction(r.hash))!;
      const t = txs.find((x) => x.hash === r.hash);
      expect(t, r.hash).toMatchObject({
        op: 'upsert',
        chain: 'ethereum:31337',
        blockNumber: r.blockNumber,
        blockHash: r.blockHash,
        index: r.index,
        from: r.from,
        to: r.to,
        value: tx.value.toString(),
        fee: r.fee.toString(),
        status: r.status === 1 ? 'success' : 'failed',
        nonce: tx.nonce,
        gasUsed: r.gasUsed.toString(),
        effectiveGasPrice: r.gasPrice.toString(),
        contractAddress: r.contractAddress,
        wtxid: null,
        coinbase: null,
      });
      expect((t!.extra as { logCount: number }).logCount).toBe(r.logs.length);
    }
    expect(txs.find((t) => t.hash === failedTx)!.status).toBe('failed');
    expect(txs.find((t) => t.contractAddress === addr.token)!.to).toBeNull();
    const inMulti = txs.filter((t) => t.blockNumber === multiTxBlock);
    expect(inMulti.map((t) => [t.index, t.value])).toEqual([
      [0, '1'],
      [1, '2'],
      [2, '3'],
    ]);
    expect(
      txs.map((t) => `${String(t.blockNumber).padStart(6, '0')}:${String(t.index).padStart(4, '0')}`),
    ).toEqual(
      txs.map((t) => `${String(t.blockNumber).padStart(6, '0')}:${String(t.index).padStart(4, '0')}`).sort(),
    );

    // Transfers: exactly these, in block/log order.
    const transfers = byTopic(out.records, TOPICS.chainTransfers.name).map((t) => [
      t.kind,
      t.token,
      t.tokenId,
      t.from,
      t.to,
      t.amount,
    ]);
    const zero = '0x0000000000000000000000000000000000000000';
    const [a, b] = [alice.address, bob.address];
    expect(transfers).toEqual([
      ['erc20', addr.token, null, zero, a, (10n ** 30n).toString()],
      ['native', null, null, a, b, '1500000000000000000'],
      ['erc20', addr.token, null, a, b, '12345'],
      ['erc721', addr.nft, '7', zero, a, '1'],
      ['erc721', addr.nft, '7', a, b, '1'],
      ['erc1155', addr.multi, '1', zero, a, '100'],
      ['erc1155', addr.multi, '2', zero, a, '50'],
      ['erc1155', addr.multi, '1', a, b, '10'],
      ['erc1155', addr.multi, '2', a, b, '20'],
      ['native', null, null, a, b, '1'],
      ['native', null, null, a, b, '2'],
      ['native', null, null, a, b, '3'],
    ]);
    const batchTransfer = byTopic(out.records, TOPICS.chainTransfers.name).filter(
      (t) => t.extra && (t.extra as { batchIndex?: number }).batchIndex !== undefined,
    );
    expect(batchTransfer.map((t) => t.extra)).toEqual([
      { operator: a, batchIndex: 0 },
      { operator: a, batchIndex: 1 },
    ]);

    // Malformed events: dead-lettered in the block's batch, counted, and the stream went on.
    const dead = byTopic(out.records, TOPICS.deadLetters.name);
    expect(dead.map((d) => d.reason)).toEqual(['transfer-wrong-topic-count', 'undecodable-log']);
    expect(out.skipped).toEqual(['transfer-wrong-topic-count', 'undecodable-log']);
    const badReceipt = receipts.at(-1)!;
    expect(dead[0]!.sourceRef).toBe(`ethereum:31337:${badReceipt.blockHash}:${badReceipt.hash}:0`);
    expect(JSON.parse(String(dead[0]!.payload))).toMatchObject({
      address: addr.bad.toLowerCase(),
      transactionHash: badReceipt.hash,
    });
    const deadBatch = out.batches.find((bt) => bt.records.some((r) => r.topic === TOPICS.deadLetters.name))!;
    expect(deadBatch.offset.blockNumber).toBe(badReceipt.blockNumber);
  });

  it('with finality { confirmations: N } stays N blocks behind the head', async () => {
    const head = await eth.getBlockNumber();
    const out = await runSource(
      { ...config(), finality: { confirmations: 3 }, startBlock: head - 5 },
      { stop: (bs) => bs.at(-1)!.offset.blockNumber >= head - 3 },
    );
    expect(out.batches.map((b) => b.offset.blockNumber)).toEqual([head - 5, head - 4, head - 3]);
    // Lag = blocks between the head and the last block written.
    expect(out.lag.get('31337')).toBe(3);
  });

  it('on a reorg retracts the orphaned blocks (newest first) before writing the new branch', async () => {
    const fork = await eth.getBlockNumber();
    const forkHash = (await eth.getBlock(fork))!.hash!;
    const snapshot = await rpc<string>(eth, 'evm_snapshot');
    const batches: SourceBatch<EthereumOffset>[] = [];
    const seen = (pred: (b: SourceBatch<EthereumOffset>) => boolean) => batches.some(pred);
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 600 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pred()).toBe(true);
    };
    // Resume from the fork point, as after a restart: the stored block is canonical.
    const running = runSource(config(), {
      offsets: [['31337', { blockNumber: fork, blockHash: forkHash }]],
      onBatch: (b) => void batches.push(b),
      stop: () =>
        seen((b) => b.offset.blockNumber === fork + 3) && batches.at(-1)!.offset.blockNumber === fork + 3,
    });

    await alice.sendTransaction({ to: bob.address, value: 111n });
    await alice.sendTransaction({ to: bob.address, value: 222n });
    await until(() => seen((b) => b.offset.blockNumber === fork + 2));
    const orphaned = batches.map((b) => b.offset.blockHash);

    await rpc(eth, 'evm_revert', [snapshot]);
    await rpc(eth, 'evm_setAutomine', [false]);
    for (const v of [333n, 444n, 555n]) {
      await alice.sendTransaction({ to: bob.address, value: v });
      await rpc(eth, 'evm_mine');
    }
    await rpc(eth, 'evm_setAutomine', [true]);
    const out = await running;

    const shape = out.batches.map((bt) =>
      validated(bt.records).map(
        (r) =>
          `${String(r.value.op)}:${r.topic}:${String(r.value.number ?? r.value.blockNumber)}:${String(r.value.value ?? r.value.amount ?? '')}`,
      ),
    );
    expect(shape).toEqual([
      [
        `upsert:chain.blocks:${fork + 1}:`,
        `upsert:chain.transactions:${fork + 1}:111`,
        `upsert:chain.transfers:${fork + 1}:111`,
      ],
      [
        `upsert:chain.blocks:${fork + 2}:`,
        `upsert:chain.transactions:${fork + 2}:222`,
        `upsert:chain.transfers:${fork + 2}:222`,
      ],
      [
        `retract:chain.transfers:${fork + 2}:222`,
        `retract:chain.transactions:${fork + 2}:222`,
        `retract:chain.blocks:${fork + 2}:`,
        `retract:chain.transfers:${fork + 1}:111`,
        `retract:chain.transactions:${fork + 1}:111`,
        `retract:chain.blocks:${fork + 1}:`,
      ],
      [
        `upsert:chain.blocks:${fork + 1}:`,
        `upsert:chain.transactions:${fork + 1}:333`,
        `upsert:chain.transfers:${fork + 1}:333`,
      ],
      [
        `upsert:chain.blocks:${fork + 2}:`,
        `upsert:chain.transactions:${fork + 2}:444`,
        `upsert:chain.transfers:${fork + 2}:444`,
      ],
      [
        `upsert:chain.blocks:${fork + 3}:`,
        `upsert:chain.transactions:${fork + 3}:555`,
        `upsert:chain.transfers:${fork + 3}:555`,
      ],
    ]);
    // A retraction is the orphaned record itself with op 'retract', committed with the fork point as offset.
    const [first, , retract] = out.batches;
    expect(retract!.records.at(-1)).toEqual({
      ...first!.records[0]!,
      value: { ...(first!.records[0]!.value as object), op: 'retract' },
    });
    expect(retract!.offset).toEqual({ blockNumber: fork, blockHash: forkHash });
    expect(out.batches[3]!.records[0]!.value).toMatchObject({ parentHash: forkHash });
    expect(out.batches.at(-1)!.offset.blockHash).toBe((await eth.getBlock(fork + 3))!.hash);

    // Restarting from an orphaned offset: Hardhat forgets reverted blocks, so they cannot be retracted;
    // the source must refuse to continue on a fork rather than leave orphaned records standing.
    await expect(
      runSource(config(), { offsets: [['31337', { blockNumber: fork + 2, blockHash: orphaned[1]! }]] }),
    ).rejects.toThrow(/no longer canonical .* does not serve it by hash/);
  });

  it('reads the same records over WebSocket as over HTTP', async () => {
    const range = { startBlock: 1, endBlock: multiTxBlock };
    const [overHttp, overWs] = [
      await runSource({ ...config(), ...range }),
      await runSource({ ...config(), ...range, url: node.url.replace('http://', 'ws://') }),
    ];
    expect(overWs.records.length).toBeGreaterThan(20);
    expect(overWs.records).toEqual(overHttp.records);
  });

  it('fails clearly on a wrong chain id', async () => {
    await expect(runSource({ ...config(), chainId: 1 })).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringMatching(/serves chain 31337, but the connector is configured for chain 1/),
    });
  });

  it.each(['http', 'ws'])(
    'reports an unreachable %s endpoint as retryable, naming the URL without its secret',
    async (scheme) => {
      const port = await freePort(); // nothing listens there
      const err = await runSource({
        url: `${scheme}://127.0.0.1:${port}/v3/SECRETKEY123?apikey=SECRET2`,
        retries: 1,
        requestTimeoutMs: 2_000,
      }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('RetryableError');
      expect((err as Error).message).toMatch(
        new RegExp(
          `^Ethereum JSON-RPC ${scheme}://127\\.0\\.0\\.1:${port}/\\[redacted\\]: eth_chainId failed after 2 attempts: .*ECONNREFUSED`,
        ),
      );
      expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toMatch(/SECRET/);
    },
  );
});
