import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Per-worker Prometheus metrics (own registry: no global state). Every series carries the worker's id
 * as label `worker`, so a group's workers can be scraped into one place. */
export function createMetrics(opts: { worker?: string } = {}) {
  const registry = new Registry();
  if (opts.worker) registry.setDefaultLabels({ worker: opts.worker });
  collectDefaultMetrics({ register: registry, prefix: 'tributary_process_' });
  const labels = ['connector', 'task'] as const;
  return {
    registry,
    records: new Counter({
      name: 'tributary_records_total',
      help: 'Records committed to Kafka',
      labelNames: [...labels, 'topic'],
      registers: [registry],
    }),
    batches: new Counter({
      name: 'tributary_transactions_total',
      help: 'Transactions committed',
      labelNames: labels,
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'tributary_bytes_total',
      help: 'Record bytes committed (key + value)',
      labelNames: labels,
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'tributary_transaction_commit_seconds',
      help: 'Time to write and commit one transaction',
      labelNames: labels,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'tributary_task_errors_total',
      help: 'Task failures by kind',
      labelNames: [...labels, 'kind'],
      registers: [registry],
    }),
    restarts: new Counter({
      name: 'tributary_task_restarts_total',
      help: 'Task restarts after a failure',
      labelNames: labels,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'tributary_dead_letters_total',
      help: 'Records written to the dead-letter topic',
      labelNames: [...labels, 'reason'],
      registers: [registry],
    }),
    skipped: new Counter({
      name: 'tributary_source_skipped_total',
      help: 'Source items skipped, by reason',
      labelNames: [...labels, 'reason'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'tributary_source_lag',
      help: 'Source lag in the source unit (blocks, trades, ...)',
      labelNames: ['connector', 'partition'],
      registers: [registry],
    }),
    taskState: new Gauge({
      name: 'tributary_task_running',
      help: '1 when the task is running',
      labelNames: labels,
      registers: [registry],
    }),
    taskStarts: new Counter({
      name: 'tributary_task_starts_total',
      help: 'Task starts on this worker (fenced in, offsets read, source running)',
      labelNames: labels,
      registers: [registry],
    }),
    assignedTasks: new Gauge({
      name: 'tributary_worker_tasks',
      help: 'Tasks this worker holds (running, paused or ended)',
      registers: [registry],
    }),
    rebalances: new Counter({
      name: 'tributary_group_rebalances_total',
      help: 'Assignments received from the worker group',
      registers: [registry],
    }),
    groupMember: new Gauge({
      name: 'tributary_group_member',
      help: '1 while this worker is a member of its group',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
