// The worker's HTTP server: /healthz, /metrics (Prometheus), /status (this worker's tasks), the
// operator API modelled on Kafka Connect's REST API (see README "Operator API") and the web dashboard.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isDashboardPath, serveDashboard, type Dashboard } from './dashboard/index.ts';
import type { Metrics } from './metrics.ts';
import { OperatorError, parseOffsetChanges, type Control } from './operator.ts';
import type { TaskStatus } from './tasks.ts';

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

interface Reply {
  status: number;
  body: unknown;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 1024 * 1024) throw new OperatorError(400, 'request body over 1 MiB');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OperatorError(400, 'request body is not JSON');
  }
}

function taskId(s: string): number {
  if (!/^\d+$/.test(s)) throw new OperatorError(404, `no task "${s}"`);
  return Number(s);
}

/** The operator API's routes; `null` when the path is not one of them. */
async function route(
  control: Control,
  method: string,
  url: URL,
  req: IncomingMessage,
): Promise<Reply | null> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const allow = (...methods: string[]) => {
    if (!methods.includes(method))
      throw new OperatorError(405, `${method} not allowed here (use ${methods.join(', ')})`);
  };
  if (parts[0] === 'reload' && parts.length === 1) {
    allow('POST');
    return { status: 200, body: await control.reload() };
  }
  if (parts[0] === 'workers' && parts.length === 1) {
    allow('GET');
    return { status: 200, body: control.workers() };
  }
  if (parts[0] !== 'connectors') return null;
  const [, name, sub, id, action] = parts;
  if (name === undefined) {
    allow('GET');
    const names = control.list();
    if (url.searchParams.get('expand') === 'status')
      return { status: 200, body: Object.fromEntries(names.map((n) => [n, { status: control.status(n) }])) };
    return { status: 200, body: names };
  }
  if (sub === undefined || (sub === 'status' && parts.length === 3)) {
    allow('GET');
    return { status: 200, body: control.status(name) };
  }
  if ((sub === 'pause' || sub === 'resume') && parts.length === 3) {
    allow('PUT');
    await control.setTarget(name, undefined, sub === 'pause' ? 'PAUSED' : 'RUNNING');
    return { status: 202, body: { connector: name, target: sub === 'pause' ? 'PAUSED' : 'RUNNING' } };
  }
  if (sub === 'restart' && parts.length === 3) {
    allow('POST');
    await control.restart(name);
    return { status: 202, body: { connector: name, restart: 'requested' } };
  }
  if (sub === 'offsets' && parts.length === 3) {
    allow('GET', 'PATCH', 'DELETE');
    if (method === 'GET') return { status: 200, body: { offsets: await control.offsets(name) } };
    if (method === 'DELETE') {
      const reset = await control.resetOffsets(name);
      return { status: 200, body: { message: `reset ${reset.length} partition(s)`, partitions: reset } };
    }
    const changes = parseOffsetChanges(await readJson(req));
    const altered = await control.alterOffsets(name, changes);
    return { status: 200, body: { message: `altered ${altered.length} partition(s)`, partitions: altered } };
  }
  if (sub === 'tasks' && id !== undefined) {
    const t = taskId(id);
    if ((action === undefined || action === 'status') && parts.length <= 5) {
      allow('GET');
      const view = control.status(name).tasks.find((x) => x.id === t);
      if (!view) throw new OperatorError(404, `connector "${name}" has no task ${t}`);
      return { status: 200, body: view };
    }
    if ((action === 'pause' || action === 'resume') && parts.length === 5) {
      allow('PUT');
      await control.setTarget(name, t, action === 'pause' ? 'PAUSED' : 'RUNNING');
      return {
        status: 202,
        body: { connector: name, task: t, target: action === 'pause' ? 'PAUSED' : 'RUNNING' },
      };
    }
    if (action === 'restart' && parts.length === 5) {
      allow('POST');
      await control.restart(name, t);
      return { status: 202, body: { connector: name, task: t, restart: 'requested' } };
    }
  }
  if (sub === 'tasks' && id === undefined) {
    allow('GET');
    return { status: 200, body: control.status(name).tasks };
  }
  throw new OperatorError(404, `no such endpoint: ${method} ${url.pathname}`);
}

export function startHttp(opts: {
  host: string;
  port: number;
  metrics: Metrics;
  status: () => TaskStatus[];
  unhealthyAfterMs: number;
  control?: Control;
  /** Serves the web dashboard at `/` (needs `control`). */
  dashboard?: Dashboard;
}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://worker');
      const method = req.method ?? 'GET';
      if (url.pathname === '/healthz') {
        const h = health(opts.status(), opts.unhealthyAfterMs);
        send(h.ok ? 200 : 503, h);
      } else if (url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
        res.end(await opts.metrics.registry.metrics());
      } else if (url.pathname === '/status') {
        send(200, { tasks: opts.status() });
      } else if (opts.dashboard && opts.control && isDashboardPath(url.pathname)) {
        await serveDashboard(opts.dashboard, opts.control, method, url.pathname, res);
      } else {
        const reply = opts.control ? await route(opts.control, method, url, req) : null;
        if (reply) send(reply.status, reply.body);
        else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found: try /, /healthz, /metrics, /status, /connectors, /workers or POST /reload\n');
        }
      }
    })().catch((err: unknown) => {
      if (err instanceof OperatorError)
        send(err.status, {
          error_code: err.status,
          message: err.message,
          ...(err.issues ? { issues: err.issues } : {}),
        });
      else send(500, { error_code: 500, message: err instanceof Error ? err.message : String(err) });
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
