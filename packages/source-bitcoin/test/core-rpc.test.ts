// The source against a real node (btcd, Bitcoin Core's JSON-RPC dialect) and against an Esplora API
// served from the same node: every record validated and checked field by field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TOPICS,
  validateRecord,
  type ChainBlock,
  type ChainTransaction,
  type ChainTransfer,
  type DeadLetter,
} from '@tributary/schemas';
import type { SourceBatch } from '@tributary/sdk';
import { configSchema, createBackend, type BitcoinConfigInput, type BitcoinOffset } from '../src/index.ts';
import { collect, valuesOf } from './helpers/run-source.ts';
import { startCoreRest } from './helpers/core-rest-server.ts';
import { startEsplora, type EsploraServer } from './helpers/esplora-server.ts';
import {
  alice,
  bob,
  buildScenario,
  carol,
  FEE,
  miner,
  OP_RETURN_DATA,
  startNode,
  type Scenario,
} from './helpers/scenario.ts';
import { p2pkh, p2tr, p2wpkh } from './helpers/wallet.ts';

const CHAIN = 'bitcoin:regtest';
let s: Scenario;
let esplora: EsploraServer;

beforeAll(async () => {
  s = await buildScenario(await startNode());
  // Five more blocks: the scenario's last block gets its sixth confirmation.
  await s.node.generate(5);
  esplora = await startEsplora(s.node);
});
afterAll(async () => {
  await esplora?.close();
  await s?.node.close();
});

function coreConfig(extra: Partial<BitcoinConfigInput> = {}): BitcoinConfigInput {
  return {
    network: 'regtest',
    backend: { kind: 'core-rpc', url: s.node.rpcUrl, username: s.node.rpcUser, password: s.node.rpcPass },
    startHeight: s.first - 1,
    endHeight: s.first + 1,
    pollIntervalMs: 100,
    resolveInputs: { requestsPerSecond: 100 },
    ...extra,
  };
}

const TYPES = {
  [TOPICS.chainBlocks.name]: 'chain.block',
  [TOPICS.chainTransactions.name]: 'chain.transaction',
  [TOPICS.chainTransfers.name]: 'chain.transfer',
  [TOPICS.deadLetters.name]: 'dead-letter',
} as const;

function validateAll(batches: SourceBatch<BitcoinOffset>[]): void {
  for (const b of batches) {
    expect(b.partition).toBe(CHAIN);
    for (const r of b.records) {
      const type = TYPES[r.topic as keyof typeof TYPES];
      expect(type, r.topic).toBeDefined();
      validateRecord(type, r.value);
      expect(r.headers?.['tributary.record.type']).toBe(type);
      if (type !== 'dead-letter') expect(r.key).toBe(CHAIN);
    }
  }
}

describe('core-rpc backend on btcd', () => {
  let batches: SourceBatch<BitcoinOffset>[];
  beforeAll(async () => {
    const got = await collect(coreConfig());
    expect(got.error).toBeNull();
    batches = got.batches;
  });

  it('emits one batch per final block, offset = that block', async () => {
    const hashes = await Promise.all(
      [0, 1, 2].map((i) => s.node.rpc<string>('getblockhash', [s.first - 1 + i])),
    );
    expect(batches.map((b) => b.offset)).toEqual(
      hashes.map((hash, i) => ({ height: s.first - 1 + i, hash })),
    );
    validateAll(batches);
  });

  it('writes blocks with header fields', async () => {
    const blocks = valuesOf<ChainBlock>(batches, TOPICS.chainBlocks.name);
    expect(blocks.map((b) => [b.number, b.transactionCount])).toEqual([
      [s.first - 1, 1],
      [s.first, 2],
      [s.first + 1, 3],
    ]);
    const verbose = await s.node.rpc<{
      hash: string;
      previousblockhash: string;
      time: number;
      size: number;
      weight: number;
    }>('getblock', [batches[1]!.offset.hash, 1]);
    expect(blocks[1]).toMatchObject({
      op: 'upsert',
      chain: CHAIN,
      hash: verbose.hash,
      parentHash: verbose.previousblockhash,
      size: verbose.size,
      weight: verbose.weight,
      timestamp: new Date(verbose.time * 1000).toISOString(),
      miner: null,
      gasUsed: null,
    });
    expect(blocks[2]!.parentHash).toBe(blocks[1]!.hash);
  });

  it('writes transactions with ids, sizes, resolved inputs and fees', () => {
    const txs = valuesOf<ChainTransaction>(batches, TOPICS.chainTransactions.name);
    expect(txs.map((t) => [t.blockNumber, t.index, t.coinbase])).toEqual([
      [s.first - 1, 0, true],
      [s.first, 0, true],
      [s.first, 1, false],
      [s.first + 1, 0, true],
      [s.first + 1, 1, false],
      [s.first + 1, 2, false],
    ]);
    const [t1, t2, t3] = [txs[2]!, txs[4]!, txs[5]!];
    expect(t1).toMatchObject({
      hash: s.tx1.getId(),
      wtxid: s.tx1.getId(), // no witness
      size: s.tx1.byteLength(),
      vsize: s.tx1.virtualSize(),
      weight: s.tx1.weight(),
      inputCount: 1,
      outputCount: 7,
      from: p2pkh(miner).address,
      to: null,
      fee: FEE.toString(),
      value: (s.coinbase1.outs[0]!.value - FEE).toString(),
      status: 'success',
      nonce: null,
    });
    expect(t1.extra).toMatchObject({
      version: 2,
      locktime: 0,
      inputValue: s.coinbase1.outs[0]!.value.toString(),
    });
    expect(t1.extra!['inputs']).toEqual([
      {
        prevTxid: s.coinbase1.getId(),
        prevVout: 0,
        sequence: 0xffffffff,
        witness: false,
        value: '5000000000',
        address: p2pkh(miner).address,
        scriptType: 'p2pkh',
      },
    ]);
    expect(t2).toMatchObject({
      hash: s.tx2.getId(),
      wtxid: Buffer.from(s.tx2.getHash(true)).reverse().toString('hex'),
      vsize: s.tx2.virtualSize(),
      weight: s.tx2.weight(),
      from: p2wpkh(alice).address,
      fee: FEE.toString(),
    });
    expect(t2.wtxid).not.toBe(t2.hash);
    expect(t2.extra!['inputs']).toEqual([
      {
        prevTxid: s.tx1.getId(),
        prevVout: 0,
        sequence: 0xffffffff,
        witness: true,
        value: '1000000000',
        address: p2wpkh(alice).address,
        scriptType: 'p2wpkh',
      },
    ]);
    // tx3 spends tx2 in the same block: resolved from the block itself.
    expect(t3).toMatchObject({ hash: s.tx3.getId(), from: p2wpkh(alice).address, fee: FEE.toString() });
    const coinbase = txs[1]!;
    expect(coinbase).toMatchObject({ fee: '0', from: null, to: p2pkh(miner).address });
    expect((coinbase.extra!['inputs'] as { prevTxid: string | null; coinbase?: string }[])[0]).toMatchObject({
      prevTxid: null,
    });
  });

  it('writes one transfer per output with script type, address and the spending side', () => {
    const transfers = valuesOf<ChainTransfer>(batches, TOPICS.chainTransfers.name).filter(
      (t) => t.transactionHash === s.tx1.getId(),
    );
    const expected = [
      ['p2wpkh', p2wpkh(alice).address, '1000000000'],
      ['p2tr', p2tr(bob).address, '500000000'],
      ['p2pkh', p2pkh(carol).address, '300000000'],
      ['nulldata', null, '0'],
      ['p2sh', expect.stringMatching(/^2/), '100000000'],
      ['p2wsh', expect.stringMatching(/^bcrt1q.{58}$/), '100000000'],
      ['p2pkh', p2pkh(miner).address, (s.coinbase1.outs[0]!.value - 2_000_000_000n - FEE).toString()],
    ];
    expect(transfers.map((t) => [t.extra!['scriptType'], t.to, t.amount])).toEqual(expected);
    expect(transfers.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const t of transfers) {
      expect(t).toMatchObject({
        op: 'upsert',
        kind: 'utxo',
        token: null,
        tokenId: null,
        from: p2pkh(miner).address,
        blockNumber: s.first,
      });
      expect(t.extra!['inputAddresses']).toEqual([p2pkh(miner).address]);
    }
    expect(transfers[3]!.extra!['data']).toBe(OP_RETURN_DATA.toString('hex'));
    expect(transfers[3]!.extra!['script']).toBeUndefined();
  });

  it('leaves input values, addresses and fees null without resolveInputs', async () => {
    const got = await collect(coreConfig({ resolveInputs: false, startHeight: s.first, endHeight: s.first }));
    expect(got.error).toBeNull();
    validateAll(got.batches);
    const tx = valuesOf<ChainTransaction>(got.batches, TOPICS.chainTransactions.name)[1]!;
    expect(tx).toMatchObject({ hash: s.tx1.getId(), fee: null, from: null });
    expect(tx.extra!['inputs']).toEqual([
      {
        prevTxid: s.coinbase1.getId(),
        prevVout: 0,
        sequence: 0xffffffff,
        witness: false,
        value: null,
        address: null,
        scriptType: null,
      },
    ]);
    const transfers = valuesOf<ChainTransfer>(got.batches, TOPICS.chainTransfers.name);
    expect(
      transfers
        .filter((t) => t.transactionHash === s.tx1.getId())
        .every((t) => t.from === null && t.extra!['inputAddresses'] === null),
    ).toBe(true);
  });

  it('resumes after the committed offset', async () => {
    const got = await collect(coreConfig({ startHeight: 0 }), {
      offsets: new Map([[CHAIN, batches[1]!.offset]]),
    });
    expect(got.error).toBeNull();
    expect(got.batches.map((b) => b.offset)).toEqual([batches[2]!.offset]);
    expect(got.batches[0]!.records).toEqual(batches[2]!.records);
  });

  it('holds back blocks until they have the configured confirmations', async () => {
    const tip = await s.node.rpc<number>('getblockcount');
    const got = await collect(
      coreConfig({ startHeight: tip - 3, endHeight: undefined, finality: { confirmations: 3 } }),
      { until: () => false, timeoutMs: 1_500 },
    );
    // tip-3 has 4 confirmations, tip-2 has 3; tip-1 (2) and the tip (1) wait.
    expect(got.batches.map((b) => b.offset.height)).toEqual([tip - 3, tip - 2]);
  });

  it('fails fast on bad credentials', async () => {
    const got = await collect(
      coreConfig({
        backend: { kind: 'core-rpc', url: s.node.rpcUrl, username: s.node.rpcUser, password: 'wrong' },
      }),
    );
    expect(got.batches).toHaveLength(0);
    expect(String(got.error)).toMatch(/HTTP 401/);
    expect((got.error as Error).name).toBe('FatalError');
  });

  it('esplora backend yields the same records', async () => {
    const got = await collect({ ...coreConfig(), backend: { kind: 'esplora', url: esplora.url } });
    expect(got.error).toBeNull();
    expect(got.batches).toEqual(batches);
    expect(esplora.requests.some((r) => r.startsWith('/tx/'))).toBe(true);
    expect(esplora.requests.some((r) => r.endsWith('/raw'))).toBe(true);
  });

  it('core-rpc with rest: true fetches raw blocks from /rest/block/<hash>.bin', async () => {
    // A Core-shaped HTTP front (JSON-RPC and REST on one port) over the same btcd node.
    const core = await startCoreRest(s.node);
    try {
      const got = await collect(
        coreConfig({
          backend: {
            kind: 'core-rpc',
            url: core.url,
            username: s.node.rpcUser,
            password: s.node.rpcPass,
            rest: true,
          },
        }),
      );
      expect(got.error).toBeNull();
      expect(got.batches).toEqual(batches);
      // Blocks came over REST only; heights, hashes and previous outputs over JSON-RPC.
      expect(core.requests.filter((r) => r.startsWith('/rest/'))).toEqual(
        batches.map((b) => `/rest/block/${b.offset.hash}.bin`),
      );
      expect(core.requests).not.toContain('POST getblock');
      expect(core.requests).toContain('POST getblockhash');
      expect(core.requests).toContain('POST getrawtransaction');
    } finally {
      await core.close();
    }
  });

  it('REST: an unknown block is NotFound, REST switched off is fatal', async () => {
    const core = await startCoreRest(s.node);
    const off = await startCoreRest(s.node, { rest: false });
    const signal = new AbortController().signal;
    const backend = (url: string) =>
      createBackend(
        configSchema.parse(
          coreConfig({
            backend: {
              kind: 'core-rpc',
              url,
              username: s.node.rpcUser,
              password: s.node.rpcPass,
              rest: true,
            },
          }),
        ).backend,
      );
    try {
      const hash = batches[1]!.offset.hash;
      const raw = await backend(core.url).rawBlock(hash, signal);
      expect(Buffer.from(raw).toString('hex')).toBe(await s.node.rpc<string>('getblock', [hash, 0]));
      const unknown = 'ab'.repeat(32);
      await expect(backend(core.url).rawBlock(unknown, signal)).rejects.toMatchObject({
        name: 'NotFoundError',
      });
      expect(core.requests.slice(-2)).toEqual([`/rest/block/${unknown}.bin`, 'POST getblock']);
      // bitcoind without -rest: 404 for a block the node has.
      const err = await backend(off.url)
        .rawBlock(hash, signal)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'FatalError' });
      expect(String(err)).toMatch(/-rest=1/);
      // The source stops at once instead of retrying.
      const got = await collect(
        coreConfig({
          backend: {
            kind: 'core-rpc',
            url: off.url,
            username: s.node.rpcUser,
            password: s.node.rpcPass,
            rest: true,
          },
        }),
      );
      expect(got.batches).toHaveLength(0);
      expect((got.error as Error).name).toBe('FatalError');
    } finally {
      await core.close();
      await off.close();
    }
  });

  it('dead-letters a block that does not decode and carries on', async () => {
    const bad = batches[1]!.offset;
    esplora.corrupt.add(bad.hash);
    try {
      const before = esplora.requests.length;
      const got = await collect({ ...coreConfig(), backend: { kind: 'esplora', url: esplora.url } });
      expect(got.error).toBeNull();
      // Fetched twice (a response damaged in transit gets a second chance) before it is dead-lettered.
      expect(esplora.requests.slice(before).filter((r) => r === `/block/${bad.hash}/raw`)).toHaveLength(2);
      validateAll(got.batches);
      expect(got.batches.map((b) => b.offset)).toEqual(batches.map((b) => b.offset));
      expect(got.batches[1]!.records).toHaveLength(1);
      const dl = got.batches[1]!.records[0]!;
      expect(dl.topic).toBe(TOPICS.deadLetters.name);
      expect(dl.value as DeadLetter).toMatchObject({
        connector: 'btc-test',
        reason: 'bitcoin-block-decode',
        sourceRef: `${CHAIN}:${bad.height}:${bad.hash}`,
      });
      expect((dl.value as DeadLetter).error).toMatch(/merkle root/);
      expect(got.skipped).toEqual(['bitcoin-block-decode']);
      expect(got.batches[2]!.records).toEqual(batches[2]!.records);

      const failing = await collect({
        ...coreConfig(),
        backend: { kind: 'esplora', url: esplora.url },
        onDecodeError: 'fail',
      });
      expect(failing.batches.map((b) => b.offset)).toEqual([batches[0]!.offset]);
      expect((failing.error as Error).name).toBe('FatalError');
      expect(String(failing.error)).toContain(bad.hash);
    } finally {
      esplora.corrupt.delete(bad.hash);
    }
  });
});
