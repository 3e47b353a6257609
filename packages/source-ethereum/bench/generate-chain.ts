// The benchmark chain: a token deployment, then `blocks` blocks of `txs` transactions each, alternating
// ETH transfers and ERC-20 transfers to ten recipients. Same shape on both nodes; only the way to put many
// transactions into one block differs (Hardhat: automine off + evm_mine; geth: `sendInOneBlock`).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interface, type InterfaceAbi } from 'ethers';
import { sendInOneBlock, type DevTransaction, type GethNode } from '@tributary/testkit';

export interface Chain {
  /** Last block number; the chain is 0..head. */
  head: number;
  /** Transactions in 0..head (the deployment and the generated ones). */
  txCount: number;
}

export interface ChainShape {
  blocks: number;
  txs: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const art = JSON.parse(readFileSync(join(here, '..', 'test', 'contracts', 'TestToken.json'), 'utf8')) as {
  abi: InterfaceAbi;
  bytecode: string;
};
const token = new Interface(art.abi);
const deployData = art.bytecode + token.encodeDeploy([10n ** 30n]).slice(2);
const recipient = (i: number) => `0x${(0xbe0000 + (i % 10)).toString(16).padStart(40, '0')}`;
const progress = (b: number, total: number) => {
  if ((b + 1) % 500 === 0) console.log(`  generated ${b + 1}/${total} blocks`);
};

async function jsonRpc(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

async function call<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const r = (await jsonRpc(url, { jsonrpc: '2.0', id: 1, method, params })) as {
    result?: T;
    error?: unknown;
  };
  if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
  return r.result as T;
}

/** Hardhat: 20 funded accounts, so ETH comes from nine senders and tokens from the deployer. */
export async function generateOnHardhat(url: string, shape: ChainShape): Promise<Chain> {
  const accounts = await call<string[]>(url, 'eth_accounts');
  const deployTx = await call<string>(url, 'eth_sendTransaction', [
    { from: accounts[0], data: deployData, gas: '0x2dc6c0' },
  ]);
  const tokenAddress = (await call<{ contractAddress: string }>(url, 'eth_getTransactionReceipt', [deployTx]))
    .contractAddress;
  await call(url, 'evm_setAutomine', [false]);
  for (let b = 0; b < shape.blocks; b++) {
    const batch = Array.from({ length: shape.txs }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'eth_sendTransaction',
      params: [
        i % 2 === 0
          ? {
              from: accounts[1 + (i % 9)],
              to: accounts[10 + (i % 10)],
              value: `0x${(1_000 + b * shape.txs + i).toString(16)}`,
              gas: '0x5208',
            }
          : {
              from: accounts[0],
              to: tokenAddress,
              data: token.encodeFunctionData('transfer', [
                accounts[10 + (i % 10)],
                BigInt(b * shape.txs + i + 1),
              ]),
              gas: '0x186a0',
            },
      ],
    }));
    const res = (await jsonRpc(url, batch)) as { error?: unknown }[];
    const failed = res.find((r) => r.error);
    if (failed) throw new Error(`eth_sendTransaction: ${JSON.stringify(failed.error)}`);
    await call(url, 'evm_mine');
    progress(b, shape.blocks);
  }
  const head = Number(await call<string>(url, 'eth_blockNumber'));
  return { head, txCount: 1 + shape.blocks * shape.txs };
}

/** geth dev mode: one funded, unlocked account sends everything (each block's transactions are one nonce
 * range, which is what `sendInOneBlock` needs). ERC-20 gas is ample: the newest forks charge ~146k for a
 * first write to a storage slot. geth's on-demand sealer also adds a few empty blocks of its own (1-3%
 * here), so the chain has a few more blocks than generated; the transactions are exactly these. */
export async function generateOnGeth(node: GethNode, shape: ChainShape): Promise<Chain> {
  const deployedIn = await sendInOneBlock(node, [{ data: deployData, gas: '0x2dc6c0' }]);
  const [deploy] = await node.rpc<{ contractAddress: string; status: string }[]>('eth_getBlockReceipts', [
    `0x${deployedIn.toString(16)}`,
  ]);
  if (deploy?.status !== '0x1') throw new Error('token deployment failed');
  for (let b = 0; b < shape.blocks; b++) {
    const txs: DevTransaction[] = Array.from({ length: shape.txs }, (_, i) =>
      i % 2 === 0
        ? { to: recipient(i), value: `0x${(1_000 + b * shape.txs + i).toString(16)}`, gas: '0x5208' }
        : {
            to: deploy.contractAddress,
            data: token.encodeFunctionData('transfer', [recipient(i), BigInt(b * shape.txs + i + 1)]),
            gas: '0x493e0',
          },
    );
    await sendInOneBlock(node, txs);
    progress(b, shape.blocks);
  }
  // geth indexes transactions in the background (receipts by hash fail until it is done): time both
  // exporters against a settled node.
  while ((await node.rpc<unknown>('eth_syncing')) !== false) await new Promise((r) => setTimeout(r, 200));
  const head = Number(await node.rpc<string>('eth_blockNumber'));
  return { head, txCount: 1 + shape.blocks * shape.txs };
}
