// The Source contract checks every source package runs, against a regtest btcd chain.
import { describeSourceConformance } from '@tributary/testkit';
import { source } from '../src/index.ts';
import { buildScenario, startNode } from './helpers/scenario.ts';

describeSourceConformance(source, async () => {
  const s = await buildScenario(await startNode());
  return {
    config: {
      network: 'regtest',
      backend: { kind: 'core-rpc', url: s.node.rpcUrl, username: s.node.rpcUser, password: s.node.rpcPass },
      finality: { confirmations: 1 },
      // The resume check reads up to 16 batches: start 20 blocks back so the chain has them.
      startHeight: s.first - 20,
      pollIntervalMs: 100,
      resolveInputs: {},
    },
    invalid: {
      config: { network: 'regtest', backend: { kind: 'core-rpc', url: 'not a url' } },
      path: 'backend.url',
    },
    batches: 3,
    // A chain's history is fixed (no reorg here): a resumed run reproduces what followed the offset.
    deterministicResume: true,
    teardown: () => s.node.close(),
  };
});
