// /healthz, /metrics (Prometheus) and /status (JSON) for operators and orchestrators.
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';
import type { TaskStatus } from './worker.ts';

export interface Health {
  ok: boolean;
  unhealthy: {
    connector: string;
    taskId: number;
    state: string;
    failingSince: string | null;
    lastError: string | null;
  }[];
}

/** Unhealthy when a task has failed for good, or has been failing for longer than `unhealthyAfterMs`. */
export function health(tasks: TaskStatus[], unhealthyAfterMs: number, now = Date.now()): Health {
  const unhealthy = tasks
    .filter(
      (t) =>
        t.state === 'failed' ||
        (t.failingSince !== null && now - Date.parse(t.failingSince) > unhealthyAfterMs),
    )
    .map((t) => ({
      connector: t.connector,
      taskId: t.taskId,
      state: t.state,
      failingSince: t.failingSince,
      lastError: t.lastError,
    }));
  return { ok: unhealthy.length === 0, unhealthy };
}

export function startHttp(opts: {
  host: string;
  port: number;
  metrics: Metrics;
  status: () => TaskStatus[];
  unhealthyAfterMs: number;
}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        const h = health(opts.status(), opts.unhealthyAfterMs);
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(h));
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
        res.end(await opts.metrics.registry.metrics());
      } else if (path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ tasks: opts.status() }));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /healthz, /metrics or /status\n');
      }
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      resolve({ server, url: `http://${opts.host}:${port}` });
    });
  });
}
