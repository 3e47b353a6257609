// A reorg while the worker is down, retracted on restart, on geth: two dev nodes share a history, each
// mines its own branch, and the longer one is moved into the node the worker reads with admin_importChain
// (as a node receives a heavier fork); geth keeps the orphaned blocks by hash, so the worker can retract
// them. Runs with `npm run test:geth` (the first run builds geth with `go install`, minutes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface } from 'ethers';
import { sendInOneBlock, startGeth, type GethNode } from '@tributary/testkit';
import { artifact } from '../helpers.ts';
import {
  chainUpTo,
  connector,
  expectRetractThenRewrite,
  readAll,
  untilCommitted,
  valueOf,
} from '../reorg-assertions.ts';

describe('reorg while the worker is down, retracted on restart (geth keeps side blocks)', () => {
  let main: GethNode;
  let side: GethNode;
  let token = '';
  let salt = 0;
  const erc20 = new Interface(artifact('TestToken').abi);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-reorg-'));
  /** One block of `n` transactions on `node`, ETH and ERC-20 alternating; returns its hash. */
  const mine = async (node: GethNode, n = 2) => {
    salt += 1;
    const to = `0x${(0xa11ce0 + (salt % 7)).toString(16).padStart(40, '0')}`;
    const number = await sendInOneBlock(
      node,
      Array.from({ length: n }, (_, i) =>
        i % 2 === 0
          ? { to, value: `0x${(1_000_000 + salt * 10 + i).toString(16)}`, gas: '0x5208' }
          : {
              to: token,
              data: erc20.encodeFunctionData('transfer', [to, BigInt(salt * 10 + i)]),
              gas: '0x493e0',
            },
      ),
    );
    return (await node.rpc<{ hash: string }>('eth_getBlockByNumber', [`0x${number.toString(16)}`, false]))
      .hash;
  };
  const head = async (node: GethNode) =>
    node.rpc<{ number: string; hash: string }>('eth_getBlockByNumber', ['latest', false]);

  beforeAll(async () => {
    // The first run builds geth (minutes); later runs find it in ~/.cache/tributary/go-bin.
    main = await startGeth();
    side = await startGeth();
    const deployedIn = await sendInOneBlock(main, [
      { data: artifact('TestToken').bytecode + erc20.encodeDeploy([10n ** 30n]).slice(2), gas: '0x2dc6c0' },
    ]);
    token = (
      await main.rpc<{ contractAddress: string }[]>('eth_getBlockReceipts', [`0x${deployedIn.toString(16)}`])
    )[0]!.contractAddress;
    for (let i = 0; i < 3; i++) await mine(main);
    // Both nodes share this history (same dev genesis, blocks copied over).
    const file = join(dir, 'prefix.rlp');
    await main.rpc('admin_exportChain', [file, 1, Number((await head(main)).number)]);
    await side.rpc('admin_importChain', [file]);
    expect((await head(side)).hash).toBe((await head(main)).hash);
  }, 30 * 60_000);

  afterAll(async () => {
    await main?.close();
    await side?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on restart finds its stored block orphaned, retracts the orphaned blocks newest first, then writes the new branch', async () => {
    const c = connector(main.url, main.chainId);
    const first = c.start();
    const orphaned: string[] = [];
    let fork = 0;
    try {
      await untilCommitted(first, c.prefix, (await head(main)).hash);
      fork = Number((await head(main)).number);
      orphaned.push(await mine(main), await mine(main));
      await untilCommitted(first, c.prefix, orphaned.at(-1)!);
      first.kill('SIGKILL');
      await first.exited;

      // The other node's branch from the same fork point, longer and spending the same nonces, arrives.
      for (let i = 0; i < 3; i++) await mine(side, 3);
      const file = join(dir, 'branch.rlp');
      await side.rpc('admin_exportChain', [file, fork + 1, Number((await head(side)).number)]);
      await main.rpc('admin_importChain', [file]);
      expect((await head(main)).hash).toBe((await head(side)).hash);
      // The orphaned blocks are still served by hash: what the worker needs to retract them.
      expect(
        (await main.rpc<{ number: string } | null>('eth_getBlockByHash', [orphaned[0], false]))?.number,
      ).toBe(`0x${(fork + 1).toString(16)}`);
    } finally {
      first.kill('SIGKILL');
    }

    const second = c.start();
    try {
      await untilCommitted(second, c.prefix, (await head(main)).hash);
      expect(second.output()).toMatch(/reorg while stopped: retracting orphaned blocks/);
    } finally {
      second.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);

    const topics = await readAll(c.prefix);
    const chain = await chainUpTo(main.rpc, Number((await head(main)).number));
    const branch = chain.slice(fork + 1).map((b) => b.hash);
    const retracted = topics['chain.blocks']
      .map(valueOf)
      .filter((v) => v.op === 'retract')
      .map((v) => v.hash);
    expect(retracted).toEqual([...orphaned].reverse());
    expectRetractThenRewrite(topics, orphaned, branch, chain, token);
  });
});
