// The testkit's source contract, against the simulator with changes arriving all the time.
import { describeSourceConformance } from '@tributary/testkit';
import { source } from '../src/index.ts';
import { churn, configFor, startSim } from './helpers.ts';

describeSourceConformance(source, async () => {
  const sim = await startSim({ bulkPageSize: 20 });
  churn(sim, 60, 'pre');
  let n = 0;
  const timer = setInterval(() => {
    sim.transaction((tx) => {
      tx.create('Account', { Name: `live-${n}` });
      tx.create('Contact', { LastName: `live-${n++}` });
    });
  }, 30);
  return {
    config: configFor(sim, { bulk: { pollIntervalMs: 50, pageSize: 20 } }),
    invalid: { config: { ...configFor(sim), apiVersion: '60' }, path: 'apiVersion' },
    batches: 3,
    deterministicResume: false,
    teardown: async () => {
      clearInterval(timer);
      await sim.close();
    },
  };
});
