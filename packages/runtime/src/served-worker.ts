// A worker with what `tributary run` serves beside it: its metrics, the web dashboard, and the HTTP server
// (health, metrics, status, operator API, dashboard) when `worker.http` is set. `tributary run` and the
// local demo (`npm start`) both start their worker through this, so they serve the same things.
import type { Server } from 'node:http';
import { errorMessage } from '@tributary/sdk';
import { createDashboard } from './dashboard/index.ts';
import { startHttp } from './http.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startWorker, type Worker, type WorkerDeps } from './worker.ts';

export type ServedWorkerOptions = Omit<WorkerDeps, 'metrics' | 'onCommit' | 'kafka'> & { workerId: string };

export interface ServedWorker {
  worker: Worker;
  metrics: Metrics;
  http: { server: Server; url: string } | null;
  /** Closes the HTTP server and stops the dashboard; call once `worker.done` has resolved. */
  close(): Promise<void>;
}

export async function startServedWorker(o: ServedWorkerOptions): Promise<ServedWorker> {
  const metrics = createMetrics({ worker: o.workerId });
  // The worker also stops when the HTTP server cannot start (below), so nothing runs unserved.
  const workerStop = new AbortController();
  const signal = AbortSignal.any([o.signal, workerStop.signal]);
  // The dashboard stops with the worker: on the signal, or when a standalone worker's tasks have all ended.
  const dashboardStop = new AbortController();
  const dashboard = o.config.worker.http
    ? createDashboard({
        config: o.config,
        metrics,
        logger: o.logger,
        signal: AbortSignal.any([signal, dashboardStop.signal]),
      })
    : null;
  const worker = startWorker({
    ...o,
    metrics,
    signal,
    ...(dashboard ? { onCommit: dashboard.onCommit } : {}),
  });
  const stopDashboard = async () => {
    dashboardStop.abort();
    await dashboard?.done;
  };
  let http: ServedWorker['http'] = null;
  if (o.config.worker.http) {
    const { host, port } = o.config.worker.http;
    try {
      http = await startHttp({
        host,
        port,
        metrics,
        status: worker.status,
        unhealthyAfterMs: o.config.worker.unhealthyAfterMs,
        control: worker.control,
        ...(dashboard ? { dashboard } : {}),
      });
    } catch (err) {
      workerStop.abort(err);
      await worker.done.catch(() => {});
      await stopDashboard();
      throw new Error(`worker HTTP server on ${host}:${port}: ${errorMessage(err)} (another worker there?)`, {
        cause: err,
      });
    }
  }
  return {
    worker,
    metrics,
    http,
    close: async () => {
      http?.server.close();
      await stopDashboard();
    },
  };
}
