// `correlation run --http-port N`: /healthz and /metrics (Prometheus) of the processor, fed by its commit and
// restart callbacks (from every thread with --threads). prom-client with its own registry: no global state.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CommitInfo } from './processor.ts';

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;

export function createProcessorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tributary_correlation_' });
  const c = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const records = c('tributary_correlation_records_total', 'Input records committed', ['topic']);
  const alerts = c('tributary_correlation_alerts_total', 'Alerts committed (active and test mode)');
  const late = c(
    'tributary_correlation_late_records_total',
    'Input records behind the watermark (no rule ran)',
  );
  const deadLetters = c(
    'tributary_correlation_dead_letters_total',
    'Malformed input records written to the dead-letter topic',
    ['topic'],
  );
  const transactions = c('tributary_correlation_transactions_total', 'Transactions committed');
  const restarts = c(
    'tributary_correlation_session_restarts_total',
    'Sessions failed and restarted from Kafka',
  );
  const lastCommit = new Gauge({
    name: 'tributary_correlation_last_commit_timestamp_seconds',
    help: 'Wall-clock time of the last committed transaction',
    registers: [registry],
  });
  let restarting: string | null = null;
  let lastAt: number | null = null;
  return {
    registry,
    commit(info: CommitInfo): void {
      records.inc({ topic: info.topic }, info.records);
      alerts.inc(info.alerts);
      late.inc(info.late);
      if (info.deadLetters) deadLetters.inc({ topic: info.topic }, info.deadLetters);
      transactions.inc();
      lastAt = Date.now();
      lastCommit.set(lastAt / 1000);
      restarting = null;
    },
    restart(error: string): void {
      restarts.inc();
      restarting = error;
    },
    /** Healthy unless the last thing that happened is a failed session (it is restarting). */
    health(): { ok: boolean; lastCommit: string | null; restarting: string | null } {
      return {
        ok: restarting === null,
        lastCommit: lastAt === null ? null : new Date(lastAt).toISOString(),
        restarting,
      };
    },
  };
}

export async function startHttp(
  port: number,
  host: string,
  metrics: ProcessorMetrics,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://processor').pathname;
    void (async () => {
      if (path === '/healthz') {
        const h = metrics.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(h));
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /healthz or /metrics\n');
      }
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, url: `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}` });
    });
  });
}
