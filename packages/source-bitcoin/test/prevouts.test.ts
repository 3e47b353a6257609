// Input resolution: same-block spends and cached transactions never hit the node; node requests are
// deduplicated, bounded in concurrency and rate-limited.
import { describe, expect, it } from 'vitest';
import { address as bjsAddress, networks } from 'bitcoinjs-lib';
import { createLogger } from '@tributary/runtime';
import { addressParams, decodeBlock, type ChainBackend, type PrevOutput } from '../src/index.ts';
import { PrevoutResolver } from '../src/prevouts.ts';
import { Lru } from '../src/lru.ts';
import { block32k } from './helpers/fixtures.ts';

const net = addressParams('mainnet');
const P2PKH = Buffer.from('76a914' + '11'.repeat(20) + '88ac', 'hex');

function fakeBackend() {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const backend: ChainBackend = {
    kind: 'esplora',
    tipHeight: async () => 0,
    blockHash: async () => null,
    rawBlock: async () => new Uint8Array(),
    async transactionOutputs(txid): Promise<PrevOutput[]> {
      calls.push(txid);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return Array.from({ length: 256 }, (_, i) => ({ value: BigInt(1000 + i), script: P2PKH }));
    },
  };
  return { backend, calls, maxInFlight: () => maxInFlight };
}

describe('PrevoutResolver', () => {
  const block = decodeBlock(block32k(), net);
  const external = new Set(
    block.transactions
      .flatMap((t) => t.inputs.map((i) => i.prevTxid))
      .filter((id): id is string => id !== null && !block.transactions.some((t) => t.txid === id)),
  );

  it('resolves same-block spends locally, fetches each other transaction once, within the concurrency and rate bounds, then serves from cache', async () => {
    const f = fakeBackend();
    const resolver = new PrevoutResolver(
      f.backend,
      net,
      { cacheSize: 10_000, requestsPerSecond: 400, concurrency: 3, retries: 0 },
      createLogger({ level: 'silent' }),
    );
    const prevouts = await resolver.resolve(block, new AbortController().signal);
    expect(f.calls.sort()).toEqual([...external].sort());
    expect(f.maxInFlight()).toBe(3);
    const inputs = block.transactions.slice(1).flatMap((t) => t.inputs);
    expect(prevouts.size).toBe(new Set(inputs.map((i) => `${i.prevTxid}:${i.prevVout}`)).size);
    const own = new Map(block.transactions.map((t) => [t.txid, t]));
    expect(inputs.some((i) => own.has(i.prevTxid!))).toBe(true);
    for (const i of inputs) {
      const inBlock = own.get(i.prevTxid!)?.outputs[i.prevVout!];
      const expected = inBlock
        ? { value: inBlock.value, address: inBlock.address, type: inBlock.type }
        : {
            value: BigInt(1000 + i.prevVout!),
            address: bjsAddress.fromOutputScript(P2PKH, networks.bitcoin),
            type: 'p2pkh',
          };
      expect(prevouts.get(`${i.prevTxid}:${i.prevVout}`)).toEqual(expected);
    }

    await resolver.resolve(block, new AbortController().signal);
    expect(f.calls.length).toBe(external.size);
  });

  it('rate-limits node requests', async () => {
    const f = fakeBackend();
    const resolver = new PrevoutResolver(
      f.backend,
      net,
      { cacheSize: 10, requestsPerSecond: 50, concurrency: 8, retries: 0 },
      createLogger({ level: 'silent' }),
    );
    const started = performance.now();
    await resolver.resolve(block, new AbortController().signal);
    const elapsedS = (performance.now() - started) / 1000;
    // 50 immediately (the bucket starts full), the rest at 50/s.
    expect(external.size).toBeGreaterThan(100);
    expect(elapsedS).toBeGreaterThanOrEqual((external.size - 50) / 50 - 0.1);
  });
});

describe('Lru', () => {
  it('evicts the least recently used key', () => {
    const l = new Lru<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    expect(l.get('a')).toBe(1);
    l.set('c', 3);
    expect([l.get('a'), l.get('b'), l.get('c'), l.size]).toEqual([1, undefined, 3, 2]);
  });
});
