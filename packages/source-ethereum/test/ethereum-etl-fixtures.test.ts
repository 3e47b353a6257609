// Mainnet responses recorded by ethereum-etl, served from a tiny local JSON-RPC server: the connector must
// decode the same blocks, transactions, receipts, logs and token transfers ethereum-etl exported.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAddress } from 'ethers';
import { TOPICS } from '@tributary/schemas';
import { byTopic, runSource } from './helpers.ts';

const FIXTURES = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'ethereum',
  'ethereum-etl',
);

/** ethereum-etl's CSV: a header row, quoted fields may hold commas (log topics). */
function readCsv(file: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endField();
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

/** Recorded `result`s by method and first param. */
const recorded = new Map<string, unknown>();
let server: Server;
let url = '';
/** Server behaviour per test: whether it offers eth_getBlockReceipts, and how many HTTP requests to fail first. */
const serverState = {
  blockReceipts: false,
  failFirst: [] as number[],
  httpRequests: 0,
  batchSizes: [] as number[],
  methods: [] as string[],
};

beforeAll(async () => {
  if (!existsSync(FIXTURES)) {
    throw new Error(
      `ethereum-etl fixtures not found at ${FIXTURES}: they live outside the repo in /work/shared/fixtures (see README, "How to test")`,
    );
  }
  for (const dir of [
    'export_blocks/block_without_transactions',
    'export_blocks/block_with_logs',
    'export_receipts/receipts_with_logs',
  ]) {
    for (const f of readdirSync(join(FIXTURES, dir))) {
      const m = /^web3_response\.(eth_\w+?)_(0x[0-9a-f]+)(?:_true)?\.json$/.exec(f);
      if (!m) continue;
      const body = JSON.parse(readFileSync(join(FIXTURES, dir, f), 'utf8')) as { result: unknown };
      recorded.set(`${m[1]}:${m[2]}`, body.result);
    }
  }
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      const fault = serverState.failFirst[serverState.httpRequests++];
      if (fault !== undefined)
        return void res.writeHead(fault, { 'content-type': 'text/plain' }).end('try later');
      const parsed = JSON.parse(body) as Rpc | Rpc[];
      serverState.batchSizes.push(Array.isArray(parsed) ? parsed.length : 1);
      for (const p of Array.isArray(parsed) ? parsed : [parsed]) serverState.methods.push(p.method);
      const answer = Array.isArray(parsed) ? parsed.map(respond) : respond(parsed);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

interface Rpc {
  id: number;
  method: string;
  params: unknown[];
}
function respond({ id, method, params }: Rpc) {
  const ok = (result: unknown) => ({ jsonrpc: '2.0', id, result });
  if (method === 'eth_chainId') return ok('0x1');
  if (method === 'eth_blockNumber') return ok('0x76250');
  if (method === 'eth_getBlockByNumber') {
    const block = recorded.get(`eth_getBlockByNumber:${String(params[0])}`) as
      { transactions: { hash: string }[] } | undefined;
    if (!block) return ok(null);
    return ok(params[1] ? block : { ...block, transactions: block.transactions.map((t) => t.hash) });
  }
  if (method === 'eth_getTransactionReceipt')
    return ok(recorded.get(`eth_getTransactionReceipt:${String(params[0])}`) ?? null);
  if (method === 'eth_getBlockReceipts' && serverState.blockReceipts) {
    // Assembled from the recorded per-transaction receipts, in block order.
    const block = [...recorded.values()].find((v) => (v as { hash?: string }).hash === params[0]) as
      { transactions: { hash: string }[] } | undefined;
    return ok(
      block ? block.transactions.map((t) => recorded.get(`eth_getTransactionReceipt:${t.hash}`)) : null,
    );
  }
  // Otherwise like many older nodes: no eth_getBlockReceipts, so the per-transaction fallback is exercised.
  return {
    jsonrpc: '2.0',
    id,
    error: { code: -32601, message: `the method ${method} does not exist/is not available` },
  };
}

const iso = (unix: string) => new Date(Number(unix) * 1000).toISOString();
const orNull = (s: string | undefined) => (s === '' || s === undefined ? null : s);

describe('ethereum-etl mainnet fixtures', () => {
  it('genesis (block 0, no transactions) matches expected_blocks.csv', async () => {
    const out = await runSource({ url, chainId: 1, finality: 'latest', startBlock: 0, endBlock: 0 });
    const [expected] = readCsv('export_blocks/block_without_transactions/expected_blocks.csv');
    const blocks = byTopic(out.records, TOPICS.chainBlocks.name);
    expect(blocks).toEqual([
      {
        op: 'upsert',
        chain: 'ethereum:1',
        number: 0,
        hash: expected!.hash,
        parentHash: expected!.parent_hash,
        timestamp: iso(expected!.timestamp!),
        transactionCount: 0,
        miner: getAddress(expected!.miner!),
        size: Number(expected!.size),
        gasUsed: expected!.gas_used,
        gasLimit: expected!.gas_limit,
        baseFeePerGas: null,
        weight: null,
        extra: {
          difficulty: expected!.difficulty,
          extraData: expected!.extra_data,
          stateRoot: expected!.state_root,
          receiptsRoot: expected!.receipts_root,
          transactionsRoot: expected!.transactions_root,
        },
      },
    ]);
    expect(out.records).toHaveLength(1);
  });

  it.each([
    {
      name: 'per-transaction receipts (node without eth_getBlockReceipts), after 429/503 responses',
      blockReceipts: false,
      failFirst: [429, 503, 503],
    },
    { name: 'eth_getBlockReceipts', blockReceipts: true, failFirst: [] },
  ])(
    'block 483920 via $name: block, transactions, pre-Byzantium receipts, logs and ERC-20 transfers match ethereum-etl',
    async ({ blockReceipts, failFirst }) => {
      Object.assign(serverState, { blockReceipts, failFirst, httpRequests: 0, batchSizes: [], methods: [] });
      const out = await runSource({
        url,
        chainId: 1,
        finality: 'latest',
        startBlock: 483920,
        endBlock: 483920,
      });
      // Transient HTTP faults were retried; receipts came the way the node offers them; requests were batched.
      expect(serverState.httpRequests).toBeGreaterThan(failFirst.length);
      expect(serverState.methods.filter((m) => m === 'eth_getTransactionReceipt')).toHaveLength(
        blockReceipts ? 0 : 4,
      );
      expect(serverState.methods.filter((m) => m === 'eth_getBlockReceipts')).toHaveLength(1);
      // The four per-transaction receipt requests went out as one JSON-RPC batch.
      expect(Math.max(...serverState.batchSizes)).toBe(blockReceipts ? 1 : 4);
      expect(out.batches.map((b) => b.offset)).toEqual([
        {
          blockNumber: 483920,
          blockHash: '0x246edb4b351d93c27926f4649bcf6c24366e2a7c7c718dc9158eea20c03bc6ae',
        },
      ]);

      const [eb] = readCsv('export_blocks/block_with_logs/expected_blocks.csv');
      expect(byTopic(out.records, TOPICS.chainBlocks.name)).toEqual([
        expect.objectContaining({
          number: Number(eb!.number),
          hash: eb!.hash,
          parentHash: eb!.parent_hash,
          timestamp: iso(eb!.timestamp!),
          transactionCount: Number(eb!.transaction_count),
          miner: getAddress(eb!.miner!),
          size: Number(eb!.size),
          gasUsed: eb!.gas_used,
          gasLimit: eb!.gas_limit,
          baseFeePerGas: orNull(eb!.base_fee_per_gas),
          extra: expect.objectContaining({
            difficulty: eb!.difficulty,
            extraData: eb!.extra_data,
            stateRoot: eb!.state_root,
          }),
        }),
      ]);

      const txs = byTopic(out.records, TOPICS.chainTransactions.name);
      const expectedTxs = readCsv('export_blocks/block_with_logs/expected_transactions.csv');
      const receipts = new Map(
        readCsv('export_receipts/receipts_with_logs/expected_receipts.csv').map((r) => [
          r.transaction_hash!,
          r,
        ]),
      );
      const logs = readCsv('export_receipts/receipts_with_logs/expected_logs.csv');
      expect(txs.map((t) => t.hash)).toEqual(expectedTxs.map((t) => t.hash));
      for (const [i, e] of expectedTxs.entries()) {
        const r = receipts.get(e.hash!)!;
        const txLogs = logs.filter((l) => l.transaction_hash === e.hash);
        expect(txs[i], e.hash).toEqual({
          op: 'upsert',
          chain: 'ethereum:1',
          blockNumber: Number(e.block_number),
          blockHash: e.block_hash,
          index: Number(e.transaction_index),
          hash: e.hash,
          from: getAddress(e.from_address!),
          to: getAddress(e.to_address!),
          value: e.value,
          fee: (BigInt(r.gas_used!) * BigInt(r.effective_gas_price!)).toString(),
          // Pre-Byzantium: no status, a state root instead.
          status: orNull(r.status),
          timestamp: iso(e.block_timestamp!),
          nonce: Number(e.nonce),
          gasUsed: r.gas_used,
          effectiveGasPrice: r.effective_gas_price,
          contractAddress: orNull(r.contract_address),
          wtxid: null,
          size: null,
          vsize: null,
          weight: null,
          coinbase: null,
          inputCount: null,
          outputCount: null,
          extra: {
            type: Number(e.transaction_type),
            gas: e.gas,
            gasPrice: e.gas_price,
            cumulativeGasUsed: r.cumulative_gas_used,
            root: r.root,
            ...(e.input!.length >= 10 ? { methodId: e.input!.slice(0, 10) } : {}),
            inputBytes: (e.input!.length - 2) / 2,
            logCount: txLogs.length,
            logs: txLogs.map((l) => ({
              logIndex: Number(l.log_index),
              address: getAddress(l.address!),
              topics: l.topics!.split(','),
              data: l.data,
            })),
          },
        });
      }

      // Token transfers: ethereum-etl's extract_token_transfers reads exactly these Transfer logs.
      const transfers = byTopic(out.records, TOPICS.chainTransfers.name);
      const erc20 = transfers.filter((t) => t.kind === 'erc20');
      expect(erc20).toEqual(
        logs.map((l) => {
          const topics = l.topics!.split(',');
          return {
            op: 'upsert',
            chain: 'ethereum:1',
            blockNumber: Number(l.block_number),
            blockHash: l.block_hash,
            transactionHash: l.transaction_hash,
            index: Number(l.log_index),
            kind: 'erc20',
            token: getAddress(l.address!),
            tokenId: null,
            from: getAddress(`0x${topics[1]!.slice(26)}`),
            to: getAddress(`0x${topics[2]!.slice(26)}`),
            amount: BigInt(l.data!).toString(),
            timestamp: iso(eb!.timestamp!),
          };
        }),
      );
      // The plain value transfers of the block, as native transfers.
      expect(transfers.filter((t) => t.kind === 'native').map((t) => [t.transactionHash, t.amount])).toEqual(
        expectedTxs.filter((t) => t.value !== '0').map((t) => [t.hash, t.value]),
      );
      expect(out.skipped).toEqual([]);
    },
  );
});
