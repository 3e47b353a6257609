// Reorgs through the worker and Kafka on Hardhat (evm_snapshot / evm_revert, then a different branch): a
// reorg while the worker follows the head; and a reorg while it is down, which Hardhat cannot serve (it
// forgets reverted blocks), so the worker must refuse and write nothing. The retract-on-restart case
// needs a node that keeps side blocks: test/geth/worker-reorg.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHardhat, waitForOutput, type HardhatNode } from '@tributary/testkit';
import { deploy, driver, mineHardhatBlock, rpc } from './helpers.ts';
import {
  canonicalView,
  chainUpTo,
  connector,
  expectRetractThenRewrite,
  readAll,
  TOPIC_NAMES,
  untilCommitted,
  valueOf,
} from './reorg-assertions.ts';

describe('reorgs through the worker and Kafka (Hardhat)', () => {
  let node: HardhatNode;
  let eth: ReturnType<typeof driver>;
  let accounts: string[] = [];
  let token = '';
  let salt = 0;
  const call = <T>(method: string, params: unknown[]) => rpc<T>(eth, method, params);
  const mine = async (blocks: number) => {
    const hashes: string[] = [];
    for (let i = 0; i < blocks; i++) {
      await mineHardhatBlock(eth, accounts, token, 2, (salt += 1));
      hashes.push((await eth.getBlock('latest'))!.hash!);
    }
    return hashes;
  };
  const headHash = async () => (await eth.getBlock('latest'))!.hash!;

  beforeAll(async () => {
    node = await startHardhat();
    eth = driver(node.url);
    accounts = await rpc<string[]>(eth, 'eth_accounts');
    token = (await deploy(await eth.getSigner(0), 'TestToken', 10n ** 30n)).address;
    await mine(4);
  }, 120_000);

  afterAll(async () => {
    eth?.destroy();
    await node?.close();
  });

  it('a reorg while following the head: orphaned records, their retractions newest first, then the new branch', async () => {
    const c = connector(node.url, 31337);
    const w = c.start();
    let orphaned: string[] = [];
    let branch: string[] = [];
    try {
      await untilCommitted(w, c.prefix, await headHash());
      const snapshot = await rpc<string>(eth, 'evm_snapshot');
      orphaned = await mine(3);
      await untilCommitted(w, c.prefix, orphaned.at(-1)!);
      await rpc(eth, 'evm_revert', [snapshot]);
      // Longer than the orphaned branch: the worker notices when the head passes its last block.
      branch = await mine(4);
      await untilCommitted(w, c.prefix, branch.at(-1)!);
      expect(w.output()).toMatch(/reorg: retracting orphaned blocks/);
    } finally {
      w.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);

    const topics = await readAll(c.prefix);
    const chain = await chainUpTo(call, await eth.getBlockNumber());
    const retracted = topics['chain.blocks'].map(valueOf).filter((v) => v.op === 'retract');
    expect(retracted.map((v) => v.hash)).toEqual([...orphaned].reverse());
    expectRetractThenRewrite(topics, orphaned, branch, chain, token);
  });

  it('a reorg while the worker is down: Hardhat no longer serves the orphaned blocks, so it refuses and writes nothing', async () => {
    const c = connector(node.url, 31337);
    const first = c.start();
    let orphaned: string[] = [];
    let fork = 0;
    try {
      await untilCommitted(first, c.prefix, await headHash());
      fork = await eth.getBlockNumber();
      const snapshot = await rpc<string>(eth, 'evm_snapshot');
      orphaned = await mine(2);
      await untilCommitted(first, c.prefix, orphaned.at(-1)!);
      await rpc(eth, 'evm_revert', [snapshot]);
    } finally {
      first.kill('SIGKILL');
    }
    await first.exited;
    await mine(3);
    const before = await readAll(c.prefix);

    const second = c.start();
    await waitForOutput(second, /task failed and will not be restarted/, 60_000);
    expect(second.output()).toContain(`stored offset block #${fork + 2} ${orphaned.at(-1)}`);
    expect(second.output()).toMatch(/does not serve it by hash, so its records cannot be retracted/);
    second.kill('SIGTERM');
    await second.exited;

    // Nothing written: no retraction it could not make complete, no record of the new branch.
    const after = await readAll(c.prefix);
    for (const t of TOPIC_NAMES) {
      expect(after[t].map((m) => m.value)).toEqual(before[t].map((m) => m.value));
      canonicalView(t, after[t]); // and nothing twice
    }
  });
});
