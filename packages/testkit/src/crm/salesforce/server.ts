// A Salesforce-compatible server on 127.0.0.1 (plain node:http) for the Salesforce source's tests and
// benchmarks: OAuth token endpoint, REST query/queryAll/sobjects, Bulk API 2.0 query jobs and the CometD
// endpoint with Change Data Capture. Tests change records through `transaction()`; REST, Bulk and the
// event stream all reflect them. Faults are injected on request: disconnects, lost responses, expired
// sessions, `403::Unknown client`, 429, 5xx, gap and malformed events.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../venues/venue-server.ts';
import { createBulk } from './bulk.ts';
import { createCometd, type CometdStats } from './cometd.ts';
import { createTokenStore, tokenFromHeader, type ConnectedApp, type OrgUser } from './oauth.ts';
import {
  createOrg,
  SYSTEM_FIELDS,
  type CommittedChange,
  type Org,
  type SimObjectSpec,
  type Transaction,
  type TxOptions,
} from './org.ts';
import { parseSoql, runQuery, SoqlError } from './soql.ts';

export interface SalesforceFaults {
  /** Every Nth REST/Bulk request answers 429 with Retry-After (0 = never). */
  rateLimitEvery: number;
  retryAfterSec: number;
  /** Every Nth REST/Bulk request answers 503 (0 = never). */
  serverErrorEvery: number;
  /** Every Nth CometD request answers 503 with an HTML body (0 = never). */
  cometdErrorEvery: number;
  /** Drop the TCP connection of held CometD connects this often (0 = never). */
  disconnectEveryMs: number;
  /** Probability a connect response carrying events is lost in flight. */
  dropResponseRate: number;
  /** Forget every CometD client this often: `403::Unknown client` (0 = never). */
  unknownClientEveryMs: number;
  /** Expire every access token this often (0 = never): REST 401 INVALID_SESSION_ID, CometD 401. */
  expireTokensEveryMs: number;
  /** Probability a transaction is published as GAP_* events. */
  gapRate: number;
  /** Probability an event is published with a corrupted payload. */
  malformedRate: number;
}

export const NO_SALESFORCE_FAULTS: SalesforceFaults = {
  rateLimitEvery: 0,
  retryAfterSec: 1,
  serverErrorEvery: 0,
  cometdErrorEvery: 0,
  disconnectEveryMs: 0,
  dropResponseRate: 0,
  unknownClientEveryMs: 0,
  expireTokensEveryMs: 0,
  gapRate: 0,
  malformedRate: 0,
};

export interface SalesforceSimulatorOptions {
  objects?: SimObjectSpec[];
  apiVersion?: string;
  app?: Partial<ConnectedApp>;
  users?: OrgUser[];
  tokenTtlMs?: number;
  retentionMs?: number;
  overflowThreshold?: number;
  modstampResolutionMs?: number;
  /** REST query page size (Salesforce: 2,000). */
  queryPageSize?: number;
  /** Bulk results page size when the client sends no maxRecords. */
  bulkPageSize?: number;
  /** Time a Bulk query job takes to complete. */
  bulkJobDelayMs?: number;
  connectTimeoutMs?: number;
  maxEventsPerConnect?: number;
  faults?: Partial<SalesforceFaults>;
  seed?: number;
}

export interface SalesforceStats {
  rest: Record<string, number>;
  queries: string[];
  rateLimited: number;
  serverErrors: number;
  cometdErrors: number;
  disconnects: number;
  unknownClientResets: number;
  tokenExpiries: number;
  unauthorized: number;
  tooLarge: number;
  tokensIssued: Record<string, number>;
  bulk: { jobsCreated: number; resultPages: number };
  cometd: CometdStats;
}

export interface SalesforceSimulator {
  url: string;
  port: number;
  apiVersion: string;
  org: Org;
  app: ConnectedApp;
  users: OrgUser[];
  faults: SalesforceFaults;
  stats: SalesforceStats;
  /** Opens a transaction; its changes become visible (REST, Bulk, CDC) on `commit()`. Each DML call
   * stamps SystemModstamp when it is made, so a transaction committed later leaves rows whose
   * SystemModstamp is older than rows committed before it: the late-commit case pollers miss. */
  begin(opts?: TxOptions): Transaction;
  /** Runs `fn` in a transaction and commits it. */
  transaction(fn: (tx: Transaction) => void, opts?: TxOptions): CommittedChange[];
  /** Every committed change, in commit order (ground truth for assertions). */
  changes(): CommittedChange[];
  expireTokens(): void;
  forgetClients(): void;
  dropConnections(): void;
  /** Purges every retained event now, as if retention had passed. */
  purgeEvents(): void;
  /** Deletes every Bulk query job, as if their results had expired (7 days). */
  expireBulkJobs(): void;
  close(): Promise<void>;
}

export const DEFAULT_SIM_OBJECTS: SimObjectSpec[] = [
  { name: 'Account', fields: ['Name', 'Industry', 'AnnualRevenue', 'Phone'] },
  { name: 'Contact', fields: ['FirstName', 'LastName', 'Email', 'AccountId'] },
];

const sfDate = (iso: unknown) => (typeof iso === 'string' ? iso.replace('Z', '+0000') : iso);

/** REST JSON form of a row: datetimes as Salesforce prints them. */
function restRow(objectType: string, apiVersion: string, row: Record<string, unknown>) {
  const out: Record<string, unknown> = {
    attributes: { type: objectType, url: `/services/data/v${apiVersion}/sobjects/${objectType}/${row.Id}` },
  };
  for (const [k, v] of Object.entries(row))
    out[k] = k.endsWith('Date') || k === 'SystemModstamp' ? sfDate(v) : v;
  return out;
}

export async function startSalesforceSimulator(
  opts: SalesforceSimulatorOptions = {},
): Promise<SalesforceSimulator> {
  const apiVersion = opts.apiVersion ?? '60.0';
  const random = seededRandom(opts.seed ?? 7);
  const faults: SalesforceFaults = { ...NO_SALESFORCE_FAULTS, ...opts.faults };
  const state = { faults };
  const org = createOrg({
    objects: opts.objects ?? DEFAULT_SIM_OBJECTS,
    retentionMs: opts.retentionMs ?? 72 * 3600_000,
    overflowThreshold: opts.overflowThreshold ?? 100_000,
    modstampResolutionMs: opts.modstampResolutionMs ?? 1000,
    // Read through `state` so tests can change fault rates while running.
    get gapRate() {
      return state.faults.gapRate;
    },
    get malformedRate() {
      return state.faults.malformedRate;
    },
    random,
    apiVersion,
  });
  const orgId = '00D5g000004SIMAAA';
  const app: ConnectedApp = {
    clientId: opts.app?.clientId ?? '3MVG9simulatedConsumerKey',
    clientSecret: opts.app?.clientSecret ?? 'simulated-consumer-secret',
    ...(opts.app?.jwtPublicKey ? { jwtPublicKey: opts.app.jwtPublicKey } : {}),
  };
  const users: OrgUser[] = opts.users ?? [
    {
      username: 'integration@sim.example',
      password: 'sim-password',
      securityToken: 'SIMTOKEN',
      userId: '005000000000001AAA',
    },
  ];
  let base = '';
  const tokens = createTokenStore(
    {
      app,
      users,
      clientCredentialsUser: users[0]!.userId,
      orgId,
      tokenTtlMs: opts.tokenTtlMs ?? 2 * 3600_000,
      audiences: ['https://login.salesforce.com', 'https://test.salesforce.com'],
    },
    () => base,
    org.now,
  );
  const queryPageSize = opts.queryPageSize ?? 2000;
  const bulk = createBulk(org, {
    jobDelayMs: () => opts.bulkJobDelayMs ?? 300,
    pageSize: () => opts.bulkPageSize ?? 50_000,
  });
  const cometd = createCometd(org, {
    connectTimeoutMs: () => opts.connectTimeoutMs ?? 110_000,
    maxEventsPerConnect: opts.maxEventsPerConnect ?? 500,
    clientIdleMs: 40_000,
    dropResponse: () => random() < state.faults.dropResponseRate,
    checkToken: (t) => tokens.check(t),
  });
  const stats: SalesforceStats = {
    rest: {},
    queries: [],
    rateLimited: 0,
    serverErrors: 0,
    cometdErrors: 0,
    disconnects: 0,
    unknownClientResets: 0,
    tokenExpiries: 0,
    unauthorized: 0,
    tooLarge: 0,
    tokensIssued: tokens.issuedByGrant,
    bulk: bulk.stats,
    cometd: cometd.stats,
  };

  /** Query cursors for nextRecordsUrl: locator -> remaining rows. */
  const cursors = new Map<string, { objectType: string; rows: Record<string, unknown>[] }>();
  let cursorSeq = 0;
  let restCount = 0;
  let cometdCount = 0;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
    res.end(body === null ? undefined : JSON.stringify(body));
  };
  const sfError = (res: ServerResponse, status: number, errorCode: string, message: string) =>
    json(res, status, [{ message, errorCode }]);

  function queryPage(rows: Record<string, unknown>[], objectType: string) {
    const page = rows.slice(0, queryPageSize);
    const rest = rows.slice(queryPageSize);
    let nextRecordsUrl: string | undefined;
    if (rest.length) {
      const locator = `01g5g00000SIM${(++cursorSeq).toString(36)}-${queryPageSize}`;
      cursors.set(locator, { objectType, rows: rest });
      nextRecordsUrl = `/services/data/v${apiVersion}/query/${locator}`;
    }
    return {
      totalSize: rows.length,
      done: !nextRecordsUrl,
      ...(nextRecordsUrl ? { nextRecordsUrl } : {}),
      records: page.map((r) => restRow(objectType, apiVersion, r)),
    };
  }

  function rest(req: IncomingMessage, res: ServerResponse, url: URL, body: string, userId: string) {
    const m = /^\/services\/data\/v(\d+\.\d+)(\/.*)?$/.exec(url.pathname);
    if (!m) return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const version = m[1]!;
    const path = m[2] ?? '/';
    let r: RegExpExecArray | null;
    if (path === '/' && req.method === 'GET') {
      const base = `/services/data/v${version}`;
      return json(res, 200, {
        sobjects: `${base}/sobjects`,
        query: `${base}/query`,
        queryAll: `${base}/queryAll`,
        jobs: `${base}/jobs`,
      });
    }
    if ((r = /^\/(query|queryAll)\/?$/.exec(path)) && req.method === 'GET') {
      const q = url.searchParams.get('q') ?? '';
      stats.queries.push(q);
      if (stats.queries.length > 2000) stats.queries.shift();
      try {
        const parsed = parseSoql(q);
        if (!org.hasObject(parsed.object))
          return sfError(
            res,
            400,
            'INVALID_TYPE',
            `sObject type '${parsed.object}' is not supported. (simulated)`,
          );
        const known = [...SYSTEM_FIELDS, ...org.spec(parsed.object).fields];
        const rows = runQuery(parsed, org.records(parsed.object).values(), known, r[1] === 'queryAll');
        return json(res, 200, queryPage(rows, parsed.object));
      } catch (e) {
        if (e instanceof SoqlError) return sfError(res, 400, 'MALFORMED_QUERY', e.message);
        throw e;
      }
    }
    if ((r = /^\/(?:query|queryAll)\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const c = cursors.get(r[1]!);
      if (!c) return sfError(res, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
      cursors.delete(r[1]!);
      return json(res, 200, queryPage(c.rows, c.objectType));
    }
    if ((r = /^\/sobjects\/([A-Za-z0-9_]+)\/describe\/?$/.exec(path)) && req.method === 'GET') {
      if (!org.hasObject(r[1]!))
        return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      const s = org.spec(r[1]!);
      return json(res, 200, {
        name: s.name,
        keyPrefix: s.keyPrefix,
        fields: [...SYSTEM_FIELDS, ...s.fields].map((name) => ({
          name,
          type:
            name === 'Id'
              ? 'id'
              : name === 'IsDeleted'
                ? 'boolean'
                : /Date$|Modstamp$/.test(name)
                  ? 'datetime'
                  : 'string',
        })),
      });
    }
    if ((r = /^\/sobjects\/([A-Za-z0-9_]+)\/([A-Za-z0-9]{15,18})$/.exec(path)) && req.method === 'GET') {
      const rec = org.hasObject(r[1]!) ? org.records(r[1]!).get(r[2]!) : undefined;
      if (!rec || rec.IsDeleted)
        return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
      const fields = url.searchParams.get('fields')?.split(',');
      const row = fields ? Object.fromEntries(['Id', ...fields].map((f) => [f, rec[f] ?? null])) : rec;
      return json(res, 200, restRow(r[1]!, apiVersion, row));
    }
    if (path === '/jobs/query' && req.method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return sfError(res, 400, 'JSON_PARSER_ERROR', 'invalid JSON');
      }
      const reply = bulk.create(parsed, version, userId);
      return json(res, reply.status, reply.body);
    }
    if ((r = /^\/jobs\/query\/([A-Za-z0-9]+)(\/results)?$/.exec(path))) {
      const id = r[1]!;
      const reply = r[2]
        ? bulk.results(id, version, url.searchParams)
        : req.method === 'DELETE'
          ? bulk.remove(id)
          : req.method === 'PATCH'
            ? bulk.abort(id)
            : bulk.get(id, version);
      if (reply.csv) {
        res.writeHead(reply.status, { 'Content-Type': 'text/csv', ...reply.headers });
        res.end(reply.body as string);
        return;
      }
      return json(res, reply.status, reply.body, reply.headers);
    }
    return sfError(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const kind = url.pathname.startsWith('/cometd/')
      ? 'cometd'
      : url.pathname === '/services/oauth2/token'
        ? 'token'
        : url.pathname
            .replace(/\/[A-Za-z0-9]{15,18}(\/|$)/g, '/:id$1')
            .replace(/\/query\/[^/]+$/, '/query/:locator');
    stats.rest[kind] = (stats.rest[kind] ?? 0) + 1;

    if (kind === 'token') {
      if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
      const reply = tokens.token(new URLSearchParams(body));
      return json(res, reply.status, reply.body);
    }
    if (kind === 'cometd') {
      cometdCount++;
      const f = state.faults;
      if (f.cometdErrorEvery > 0 && cometdCount % f.cometdErrorEvery === 0) {
        stats.cometdErrors++;
        res.writeHead(503, { 'Content-Type': 'text/html' });
        res.end('<html><body>Service Unavailable (simulated)</body></html>');
        return;
      }
      if (Buffer.byteLength(body) > 32_768) {
        stats.tooLarge++;
        res.writeHead(413, { 'Content-Type': 'text/plain' });
        res.end('Maximum Request Size Exceeded');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return json(res, 400, [{ successful: false, error: '400::Invalid JSON' }]);
      }
      return cometd.handle(parsed, tokenFromHeader(req.headers.authorization), res);
    }
    const userId = tokens.check(tokenFromHeader(req.headers.authorization));
    if (!userId) {
      stats.unauthorized++;
      return sfError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    }
    restCount++;
    const f = state.faults;
    if (f.rateLimitEvery > 0 && restCount % f.rateLimitEvery === 0) {
      stats.rateLimited++;
      return json(
        res,
        429,
        [{ message: 'Too many requests (simulated).', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
        { 'Retry-After': String(f.retryAfterSec) },
      );
    }
    if (f.serverErrorEvery > 0 && restCount % f.serverErrorEvery === 0) {
      stats.serverErrors++;
      return sfError(res, 503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable (simulated).');
    }
    return rest(req, res, url, body, userId);
  }

  const sockets = new Set<Socket>();
  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sfError(res, 500, 'UNKNOWN_EXCEPTION', (err as Error).message);
      else res.destroy();
    });
  });
  http.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;

  const timers = { disconnect: Date.now(), unknown: Date.now(), expire: Date.now() };
  const ticker = setInterval(() => {
    const f = state.faults;
    const now = Date.now();
    if (f.disconnectEveryMs > 0 && now - timers.disconnect >= f.disconnectEveryMs) {
      timers.disconnect = now;
      stats.disconnects += cometd.dropHeld();
    }
    if (f.unknownClientEveryMs > 0 && now - timers.unknown >= f.unknownClientEveryMs) {
      timers.unknown = now;
      stats.unknownClientResets++;
      cometd.forgetClients();
    }
    if (f.expireTokensEveryMs > 0 && now - timers.expire >= f.expireTokensEveryMs) {
      timers.expire = now;
      stats.tokenExpiries++;
      tokens.expireAll();
    }
  }, 50);

  return {
    url: base,
    port,
    apiVersion,
    org,
    app,
    users,
    get faults() {
      return state.faults;
    },
    set faults(f: SalesforceFaults) {
      state.faults = f;
    },
    stats,
    begin: (o) => org.begin(o),
    transaction(fn, o) {
      const tx = org.begin(o);
      fn(tx);
      return tx.commit();
    },
    changes: () => org.committed(),
    expireTokens() {
      stats.tokenExpiries++;
      tokens.expireAll();
    },
    forgetClients() {
      stats.unknownClientResets++;
      cometd.forgetClients();
    },
    dropConnections() {
      stats.disconnects += cometd.dropHeld();
    },
    purgeEvents: () => org.purgeAll(),
    expireBulkJobs: () => bulk.jobs.clear(),
    async close() {
      clearInterval(ticker);
      cometd.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
