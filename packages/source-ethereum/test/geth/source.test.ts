// The source against geth in dev mode (built once with `go install`, cached): blocks, transactions and
// receipts read with eth_getBlockReceipts (receipts: 'block' has no per-transaction fallback), checked
// against the node's own per-transaction answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAddress, Interface } from 'ethers';
import { sendInOneBlock, startGeth, type GethNode } from '@tributary/testkit';
import { TOPICS } from '@tributary/schemas';
import { artifact, byTopic, runSource, validated } from '../helpers.ts';

let node: GethNode;
let token = '';
let mixedBlock = 0;
const erc20 = new Interface(artifact('TestToken').abi);
const bob = '0x00000000000000000000000000000000000b0b00';
const carol = '0x0000000000000000000000000000000000ca7010';

interface NodeReceipt {
  transactionHash: string;
  blockHash: string;
  status: string;
  gasUsed: string;
  effectiveGasPrice: string;
  contractAddress: string | null;
  logs: unknown[];
}

beforeAll(async () => {
  // The first run builds geth (minutes); later runs find it in ~/.cache/tributary/go-bin.
  node = await startGeth();
  const art = artifact('TestToken');
  const deployedIn = await sendInOneBlock(node, [
    { data: art.bytecode + erc20.encodeDeploy([10n ** 30n]).slice(2), gas: '0x2dc6c0' },
  ]);
  const [deployReceipt] = await node.rpc<NodeReceipt[]>('eth_getBlockReceipts', [
    `0x${deployedIn.toString(16)}`,
  ]);
  token = deployReceipt!.contractAddress!;
  // One block mixing ETH and ERC-20 transfers and a failed transfer (more tokens than exist). The gas is
  // ample: geth's dev chain runs the newest forks, where a first write to a storage slot costs ~146k.
  const transfer = (to: string, amount: bigint) => ({
    to: token,
    data: erc20.encodeFunctionData('transfer', [to, amount]),
    gas: '0x493e0',
  });
  mixedBlock = await sendInOneBlock(node, [
    { to: bob, value: '0x3e8', gas: '0x5208' },
    transfer(bob, 12_345n),
    { to: carol, value: '0x7d0', gas: '0x5208' },
    transfer(carol, 10n ** 40n),
    transfer(carol, 6n),
  ]);
}, 30 * 60_000);

afterAll(async () => {
  await node?.close();
});

describe('ethereum source on geth (dev mode)', () => {
  it('reads blocks, transactions and receipts (eth_getBlockReceipts) and transfers as the node reports them', async () => {
    const head = mixedBlock;
    const out = await runSource({
      url: node.url,
      chainId: node.chainId,
      finality: 'latest',
      receipts: 'block',
      endBlock: head,
    });
    validated(out.records);
    expect(out.batches.map((b) => b.offset.blockNumber)).toEqual(
      Array.from({ length: head + 1 }, (_, i) => i),
    );

    const blocks = byTopic(out.records, TOPICS.chainBlocks.name);
    const chain = await Promise.all(
      Array.from({ length: head + 1 }, (_, n) =>
        node.rpc<{
          hash: string;
          parentHash: string;
          gasUsed: string;
          baseFeePerGas: string;
          withdrawals: unknown[];
          transactions: { hash: string; from: string; to: string | null; value: string; nonce: string }[];
        }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, true]),
      ),
    );
    expect(blocks.map((b) => [b.number, b.hash, b.parentHash, b.gasUsed, b.baseFeePerGas])).toEqual(
      chain.map((b, n) => [
        n,
        b.hash,
        b.parentHash,
        BigInt(b.gasUsed).toString(),
        BigInt(b.baseFeePerGas).toString(),
      ]),
    );
    // A post-merge block: withdrawals (none in dev mode) and blob gas fields are carried in `extra`.
    expect(blocks.at(-1)!.extra).toMatchObject({ withdrawalCount: 0, blobGasUsed: '0', excessBlobGas: '0' });

    // Every transaction with its receipt, compared with eth_getTransactionReceipt (the other way to ask).
    const txs = byTopic(out.records, TOPICS.chainTransactions.name);
    const chainTxs = chain.flatMap((b) => b.transactions);
    expect(txs.map((t) => t.hash)).toEqual(chainTxs.map((t) => t.hash));
    for (const [i, t] of txs.entries()) {
      const r = await node.rpc<NodeReceipt>('eth_getTransactionReceipt', [t.hash]);
      const tx = chainTxs[i]!;
      expect(t).toMatchObject({
        blockHash: r.blockHash,
        from: getAddress(tx.from),
        to: tx.to ? getAddress(tx.to) : null,
        value: BigInt(tx.value).toString(),
        nonce: Number(tx.nonce),
        status: r.status === '0x1' ? 'success' : 'failed',
        gasUsed: BigInt(r.gasUsed).toString(),
        effectiveGasPrice: BigInt(r.effectiveGasPrice).toString(),
        fee: (BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice)).toString(),
        contractAddress: r.contractAddress ? getAddress(r.contractAddress) : null,
      });
      expect((t.extra as { logCount: number }).logCount).toBe(r.logs.length);
    }
    expect(txs.filter((t) => t.blockNumber === mixedBlock).map((t) => t.status)).toEqual([
      'success',
      'success',
      'success',
      'failed',
      'success',
    ]);

    const dev = getAddress(node.devAccount);
    const transfers = byTopic(out.records, TOPICS.chainTransfers.name).map((t) => [
      t.kind,
      t.token,
      t.from,
      t.to,
      t.amount,
    ]);
    expect(transfers).toEqual([
      ['erc20', getAddress(token), '0x0000000000000000000000000000000000000000', dev, String(10n ** 30n)],
      ['native', null, dev, getAddress(bob), '1000'],
      ['erc20', getAddress(token), dev, getAddress(bob), '12345'],
      ['native', null, dev, getAddress(carol), '2000'],
      ['erc20', getAddress(token), dev, getAddress(carol), '6'],
    ]);
  });

  it('reads the same records over WebSocket as over HTTP', async () => {
    const config = { chainId: node.chainId, finality: 'latest' as const, endBlock: mixedBlock };
    const http = await runSource({ ...config, url: node.url });
    const ws = await runSource({ ...config, url: node.wsUrl });
    expect(ws.records).toEqual(http.records);
  });
});
