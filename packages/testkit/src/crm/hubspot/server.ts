// A HubSpot-compatible server (plain node:http) for the HubSpot source's tests and benchmark: the CRM v3
// search, list (archived), single-object and batch-read endpoints with property history, the OAuth token
// endpoint, private-app and OAuth bearer tokens that expire, HubSpot's rate limits with their 429 bodies
// and headers, injected 5xx and malformed objects, and a webhook sender with v3 signatures.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSearch, SearchError, type SearchRequest } from './search.ts';
import {
  HubSpotStore,
  lastModifiedProperty,
  type HubSpotMalformation,
  type HubSpotObject,
  type HubSpotVersion,
  type StoreChange,
} from './store.ts';
import {
  startWebhookSender,
  subscriptionPrefix,
  type HubSpotWebhookEvent,
  type WebhookSender,
  type WebhookSenderOptions,
} from './webhooks.ts';

export interface HubSpotLimits {
  /** Search requests per second per portal (HubSpot: 4-5); 0 = unlimited. */
  searchPerSecond: number;
  /** Other requests per rolling 10 s (HubSpot: 100-250 by tier); 0 = unlimited. */
  tenSecondly: number;
  /** Requests per day; 0 = unlimited. Past it every call answers 429 DAILY. */
  daily: number;
  /** Whether 429s carry `Retry-After` (HubSpot does not always send it). */
  retryAfter: 'always' | 'never' | 'alternate';
}

export interface HubSpotFaults {
  /** Every Nth CRM request answers 429 TEN_SECONDLY_ROLLING regardless of the counters (0 = never). */
  rateLimitEvery: number;
  /** Every Nth CRM request answers a 5xx (rotating 500 JSON, 502 HTML, 503) (0 = never). */
  serverErrorEvery: number;
  /** Probability that a new version is served malformed (decided once per version). */
  malformedRate: number;
  /** Expire every OAuth access token this often (0 = only by TTL). */
  expireTokensEveryMs: number;
}

export const HUBSPOT_NO_FAULTS: HubSpotFaults = {
  rateLimitEvery: 0,
  serverErrorEvery: 0,
  malformedRate: 0,
  expireTokensEveryMs: 0,
};

export const HUBSPOT_NO_LIMITS: HubSpotLimits = {
  searchPerSecond: 0,
  tenSecondly: 0,
  daily: 0,
  retryAfter: 'alternate',
};

export interface HubSpotOAuthClient {
  clientId: string;
  clientSecret: string;
  refreshTokens: string[];
}

export interface HubSpotSimulatorOptions {
  objectTypes?: string[];
  /** Private-app tokens (never expire, cannot be refreshed). Default `['pat-sim']`. */
  privateAppTokens?: string[];
  /** OAuth apps whose refresh tokens `/oauth/v1/token` accepts. Default one: sim-client/sim-secret/sim-refresh. */
  oauthClients?: HubSpotOAuthClient[];
  /** Lifetime of issued access tokens (HubSpot: 30 min). */
  accessTokenTtlMs?: number;
  /** Default: HubSpot's (search 5/s, 100 per 10 s, no daily cap, Retry-After on every other 429). */
  limits?: Partial<HubSpotLimits>;
  faults?: Partial<HubSpotFaults>;
  /** Delay before a write becomes searchable: a number or a function drawn per version. */
  indexDelayMs?: number | (() => number);
  /** Results one search query can page through (HubSpot: 10,000). */
  resultCap?: number;
  /** Search request body limit in characters (HubSpot: 3,000). */
  maxSearchBodyChars?: number;
  seed?: number;
  /** Deliver webhooks for every change to this target. Can also be started later with `startWebhooks`. */
  webhooks?: HubSpotWebhookOptions;
}

export type HubSpotWebhookOptions = Omit<WebhookSenderOptions, 'random'> & {
  portalId?: number;
  appId?: number;
  /** Object types to send events for (default: all). */
  objectTypes?: string[];
};

export interface HubSpotSimStats {
  requests: Record<string, number>;
  searches: number;
  rateLimited: Record<string, number>;
  retryAfterSent: number;
  serverErrors: number;
  unauthorized: number;
  expiredTokenRejections: number;
  tokensIssued: number;
  badRequests: number;
  /** Most search requests seen in any one second. */
  peakSearchesPerSecond: number;
  /** Malformed objects served (each serving counts). */
  malformedServed: number;
  /** The last search bodies (bounded), to check what a client asked for. */
  searchBodies: SearchRequest[];
}

export interface HubSpotSimulator {
  /** The base path for `@hubspot/api-client` (`basePath`), e.g. `http://127.0.0.1:PORT`. */
  url: string;
  store: HubSpotStore;
  limits: HubSpotLimits;
  faults: HubSpotFaults;
  stats: HubSpotSimStats;
  create: HubSpotStore['create'];
  update: HubSpotStore['update'];
  archive: HubSpotStore['archive'];
  restore: HubSpotStore['restore'];
  /** `n` objects sharing one last-modified timestamp (HubSpot's bulk updates), returns their ids. */
  createMany(
    objectType: string,
    n: number,
    opts?: { at?: number; props?: (i: number) => Record<string, string | null> },
  ): string[];
  /** Expires every OAuth access token now (the next call with one answers 401). */
  expireTokens(): void;
  /** Starts (or retargets) webhook delivery; events for changes from now on. */
  startWebhooks(o: HubSpotWebhookOptions): WebhookSender;
  webhooks(): WebhookSender | undefined;
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG so fault patterns reproduce. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Timestamps of recent calls, for rolling-window limits. */
function rolling(windowMs: number) {
  const hits: number[] = [];
  return {
    count(now: number): number {
      while (hits.length && hits[0]! <= now - windowMs) hits.shift();
      return hits.length;
    },
    add(now: number) {
      hits.push(now);
    },
    /** Ms until one slot frees up. */
    waitMs(now: number): number {
      return hits.length ? Math.max(0, hits[0]! + windowMs - now) : 0;
    },
  };
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Raw text body (HTML error pages). */
  text?: string;
}

const MALFORMATIONS: HubSpotMalformation[] = ['non-string-property', 'bad-created-at', 'properties-missing'];
const SYSTEM = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate']);
const DEFAULT_PROPS: Record<string, string[]> = {
  contacts: ['email', 'firstname', 'lastname'],
  companies: ['domain', 'name'],
  deals: ['amount', 'dealname', 'dealstage'],
  tickets: ['content', 'subject'],
};

function error(
  status: number,
  category: string,
  message: string,
  extra: Record<string, unknown> = {},
): Reply {
  return {
    status,
    body: { status: 'error', message, correlationId: randomUUID(), category, ...extra },
  };
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const iso = (ms: number) => new Date(ms).toISOString();

export async function startHubSpotSimulator(o: HubSpotSimulatorOptions = {}): Promise<HubSpotSimulator> {
  const random = seeded(o.seed ?? 42);
  const limits: HubSpotLimits = {
    searchPerSecond: 5,
    tenSecondly: 100,
    daily: 0,
    retryAfter: 'alternate',
    ...o.limits,
  };
  const state = { faults: { ...HUBSPOT_NO_FAULTS, ...o.faults } };
  const objectTypes = new Set(o.objectTypes ?? ['contacts', 'companies', 'deals', 'tickets']);
  const resultCap = o.resultCap ?? 10_000;
  const maxBody = o.maxSearchBodyChars ?? 3_000;
  const ttl = o.accessTokenTtlMs ?? 30 * 60_000;
  const privateTokens = new Set(o.privateAppTokens ?? ['pat-sim']);
  const oauthClients = o.oauthClients ?? [
    { clientId: 'sim-client', clientSecret: 'sim-secret', refreshTokens: ['sim-refresh'] },
  ];
  const accessTokens = new Map<string, number>(); // token -> expiresAt
  const delay = o.indexDelayMs;
  const stats: HubSpotSimStats = {
    requests: {},
    searches: 0,
    rateLimited: {},
    retryAfterSent: 0,
    serverErrors: 0,
    unauthorized: 0,
    expiredTokenRejections: 0,
    tokensIssued: 0,
    badRequests: 0,
    peakSearchesPerSecond: 0,
    malformedServed: 0,
    searchBodies: [],
  };

  let sender: WebhookSender | undefined;
  let hookOpts: HubSpotWebhookOptions | undefined;
  let nextEventId = 5_000_001;
  const subscriptionIds = new Map<string, number>();
  const subscriptionId = (type: string) => {
    let id = subscriptionIds.get(type);
    if (id === undefined) subscriptionIds.set(type, (id = 100_000 + subscriptionIds.size));
    return id;
  };
  const onChange = (c: StoreChange) => {
    if (!sender || !hookOpts) return;
    if (hookOpts.objectTypes && !hookOpts.objectTypes.includes(c.object.objectType)) return;
    const { prefix, objectTypeId } = subscriptionPrefix(c.object.objectType);
    const base = (type: string, occurredAt: number) => ({
      eventId: nextEventId++,
      subscriptionId: subscriptionId(`${prefix}.${type}`),
      portalId: hookOpts?.portalId ?? 62515,
      appId: hookOpts?.appId ?? 54321,
      occurredAt,
      subscriptionType: `${prefix}.${type}`,
      objectId: Number(c.object.id),
      changeSource: 'CRM',
      ...(objectTypeId ? { objectTypeId } : {}),
    });
    const events: Omit<HubSpotWebhookEvent, 'attemptNumber'>[] = [];
    if (c.kind === 'archive') events.push({ ...base('deletion', c.archivedAt), changeFlag: 'DELETED' });
    else if (c.kind === 'create') events.push({ ...base('creation', c.version.ts), changeFlag: 'CREATED' });
    else if (c.kind === 'restore') events.push({ ...base('restore', c.version.ts), changeFlag: 'RESTORED' });
    else
      for (const name of c.version.changed)
        events.push({
          ...base('propertyChange', c.version.ts),
          propertyName: name,
          propertyValue: c.version.properties[name] ?? '',
        });
    sender.enqueue(events);
  };

  const store = new HubSpotStore({
    now: () => Date.now(),
    indexDelayMs: () => (typeof delay === 'function' ? delay() : (delay ?? 0)),
    malformed: () =>
      state.faults.malformedRate > 0 && random() < state.faults.malformedRate
        ? MALFORMATIONS[Math.floor(random() * MALFORMATIONS.length)]!
        : null,
    onChange,
  });

  // ---- serialization ------------------------------------------------------------------------------
  const propsFor = (type: string, requested: string[] | undefined, forSearch: boolean): string[] => {
    const base = requested && requested.length ? requested : (DEFAULT_PROPS[type] ?? []);
    // Search always returns the id, created and last-modified properties.
    const system =
      forSearch || !requested?.length ? ['hs_object_id', 'createdate', lastModifiedProperty(type)] : [];
    return [...new Set([...base, ...system])];
  };

  const history = (obj: HubSpotObject, names: string[]) => {
    const out: Record<string, unknown[]> = {};
    for (const n of names)
      out[n] = [...(obj.history.get(n) ?? [])].reverse().map((e) => ({
        value: e.value,
        timestamp: iso(e.timestamp),
        sourceType: e.sourceType,
        ...(e.sourceId !== undefined ? { sourceId: e.sourceId } : {}),
        ...(e.updatedByUserId !== undefined ? { updatedByUserId: e.updatedByUserId } : {}),
      }));
    return out;
  };

  const serialize = (
    obj: HubSpotObject,
    v: HubSpotVersion,
    names: string[],
    withHistory: string[] = [],
  ): Record<string, unknown> => {
    const properties: Record<string, unknown> = {};
    for (const n of names) properties[n] = v.properties[n] ?? null;
    const out: Record<string, unknown> = {
      id: obj.id,
      properties,
      createdAt: iso(obj.createdAt),
      updatedAt: iso(obj.archivedAt ?? v.ts),
      archived: obj.archivedAt !== null,
    };
    if (obj.archivedAt !== null) out.archivedAt = iso(obj.archivedAt);
    if (withHistory.length) out.propertiesWithHistory = history(obj, withHistory);
    if (v.malformed) {
      stats.malformedServed++;
      if (v.malformed === 'non-string-property') {
        const victim = names.find((n) => !SYSTEM.has(n)) ?? 'sim_broken';
        properties[victim] = { unexpected: ['object', 'instead', 'of', 'string'] };
      } else if (v.malformed === 'bad-created-at') {
        out.createdAt = 'not-a-date';
        properties.createdate = 'sometime last week';
      } else delete out.properties;
    }
    return out;
  };

  // ---- auth, limits, faults -------------------------------------------------------------------------
  const search = rolling(1_000);
  const general = rolling(10_000);
  let day = { start: Date.now(), count: 0 };
  let crmRequests = 0;
  let limited = 0;

  const rateHeaders = (now: number): Record<string, string> => {
    const h: Record<string, string> = {
      'X-HubSpot-RateLimit-Daily': String(limits.daily || 1_000_000),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, (limits.daily || 1_000_000) - day.count)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
    };
    if (limits.tenSecondly) {
      h['X-HubSpot-RateLimit-Max'] = String(limits.tenSecondly);
      h['X-HubSpot-RateLimit-Remaining'] = String(Math.max(0, limits.tenSecondly - general.count(now)));
    }
    if (limits.searchPerSecond) {
      h['X-HubSpot-RateLimit-Secondly'] = String(limits.searchPerSecond);
      h['X-HubSpot-RateLimit-Secondly-Remaining'] = String(
        Math.max(0, limits.searchPerSecond - search.count(now)),
      );
    }
    return h;
  };

  const tooMany = (policy: string, message: string, retryAfterMs: number | null): Reply => {
    stats.rateLimited[policy] = (stats.rateLimited[policy] ?? 0) + 1;
    limited++;
    const withHeader =
      retryAfterMs !== null &&
      (limits.retryAfter === 'always' || (limits.retryAfter === 'alternate' && limited % 2 === 1));
    if (withHeader) stats.retryAfterSent++;
    return {
      status: 429,
      body: {
        status: 'error',
        message,
        errorType: 'RATE_LIMIT',
        correlationId: randomUUID(),
        policyName: policy,
        groupName: `publicapi:portal-${policy.toLowerCase()}:62515`,
      },
      ...(withHeader
        ? { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } }
        : {}),
    };
  };

  const authorize = (req: IncomingMessage, now: number): Reply | null => {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    if (token && privateTokens.has(token)) return null;
    const expiresAt = token ? accessTokens.get(token) : undefined;
    if (expiresAt === undefined) {
      stats.unauthorized++;
      return error(
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
    }
    if (expiresAt <= now) {
      stats.unauthorized++;
      stats.expiredTokenRejections++;
      return error(
        401,
        'EXPIRED_AUTHENTICATION',
        `The OAuth token used to make this call expired ${Math.max(1, Math.round((now - expiresAt) / 1000))} second(s) ago.`,
      );
    }
    return null;
  };

  /** Limits and injected faults, in HubSpot's order: daily cap, then the burst windows. */
  const gate = (isSearch: boolean, now: number): Reply | null => {
    if (now - day.start >= 86_400_000) day = { start: now, count: 0 };
    if (limits.daily && day.count >= limits.daily)
      return tooMany('DAILY', 'You have reached your daily limit.', null);
    crmRequests++;
    const f = state.faults;
    if (f.serverErrorEvery > 0 && crmRequests % f.serverErrorEvery === 0) {
      stats.serverErrors++;
      const kind = stats.serverErrors % 3;
      if (kind === 1)
        return { status: 502, body: null, text: '<html><body><h1>502 Bad Gateway</h1></body></html>' };
      if (kind === 2)
        return error(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable (simulated).');
      return error(500, 'INTERNAL_ERROR', 'internal error (simulated)');
    }
    if (f.rateLimitEvery > 0 && crmRequests % f.rateLimitEvery === 0)
      return tooMany('TEN_SECONDLY_ROLLING', 'You have reached your ten_secondly_rolling limit.', 1_000);
    if (isSearch) {
      if (limits.searchPerSecond && search.count(now) >= limits.searchPerSecond)
        return tooMany('SECONDLY', 'You have reached your secondly limit.', search.waitMs(now));
      search.add(now);
      stats.searches++;
      stats.peakSearchesPerSecond = Math.max(stats.peakSearchesPerSecond, search.count(now));
    } else {
      if (limits.tenSecondly && general.count(now) >= limits.tenSecondly)
        return tooMany(
          'TEN_SECONDLY_ROLLING',
          'You have reached your ten_secondly_rolling limit.',
          general.waitMs(now),
        );
      general.add(now);
    }
    day.count++;
    return null;
  };

  // ---- handlers -------------------------------------------------------------------------------------
  const badType = (type: string) =>
    objectTypes.has(type)
      ? null
      : error(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${type}`);

  const handleSearch = (type: string, raw: string, now: number): Reply => {
    if (raw.length > maxBody)
      return error(400, 'VALIDATION_ERROR', `Request body exceeds the ${maxBody} character limit.`);
    let req: SearchRequest;
    try {
      req = JSON.parse(raw) as SearchRequest;
    } catch {
      return error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1');
    }
    stats.searchBodies.push(req);
    if (stats.searchBodies.length > 200) stats.searchBodies.shift();
    try {
      const page = runSearch(store, type, req, now, resultCap);
      const names = propsFor(type, req.properties, true);
      const body: Record<string, unknown> = {
        total: page.total,
        results: page.hits.map((h) => serialize(h.object, h.version, names)),
      };
      if (page.nextAfter !== null)
        body.paging = {
          next: { after: String(page.nextAfter), link: `?after=${page.nextAfter}` },
        };
      return { status: 200, body };
    } catch (err) {
      if (err instanceof SearchError) return error(400, 'VALIDATION_ERROR', err.message);
      throw err;
    }
  };

  /** A list parameter, repeated (`?p=a&p=b`, as @hubspot/api-client sends it) or comma-separated. */
  const list = (q: URLSearchParams, name: string) =>
    q
      .getAll(name)
      .flatMap((v) => v.split(','))
      .filter(Boolean);

  const handleList = (type: string, q: URLSearchParams): Reply => {
    const archived = q.get('archived') === 'true';
    const withHistory = list(q, 'propertiesWithHistory');
    const max = withHistory.length ? 50 : 100;
    const limit = Math.min(max, Math.max(1, Number(q.get('limit') ?? 10)));
    const after = q.get('after');
    const afterId = after ? Number(Buffer.from(after, 'base64url').toString('utf8')) : 0;
    if (Number.isNaN(afterId)) return error(400, 'VALIDATION_ERROR', `invalid after "${after}"`);
    const names = propsFor(type, list(q, 'properties'), false);
    const results: Record<string, unknown>[] = [];
    let next: string | null = null;
    for (const obj of store.objects(type).values()) {
      if (Number(obj.id) <= afterId || (obj.archivedAt !== null) !== archived) continue;
      if (results.length === limit) {
        next = Buffer.from(String(results.at(-1)!.id), 'utf8').toString('base64url');
        break;
      }
      results.push(serialize(obj, obj.versions.at(-1)!, names, withHistory));
    }
    const body: Record<string, unknown> = { results };
    if (next) body.paging = { next: { after: next, link: `?after=${next}` } };
    return { status: 200, body };
  };

  const notFound = () => error(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.');

  const handleGet = (type: string, id: string, q: URLSearchParams): Reply => {
    const obj = store.get(type, id);
    const archived = q.get('archived') === 'true';
    if (!obj || (obj.archivedAt !== null) !== archived) return notFound();
    const names = propsFor(type, list(q, 'properties'), false);
    return {
      status: 200,
      body: serialize(obj, obj.versions.at(-1)!, names, list(q, 'propertiesWithHistory')),
    };
  };

  const handleBatchRead = (type: string, raw: string, q: URLSearchParams): Reply => {
    let req: { inputs?: { id: string }[]; properties?: string[]; propertiesWithHistory?: string[] };
    try {
      req = JSON.parse(raw) as typeof req;
    } catch {
      return error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1');
    }
    const inputs = req.inputs ?? [];
    const withHistory = req.propertiesWithHistory ?? [];
    if (withHistory.length && inputs.length > 50)
      return error(
        400,
        'VALIDATION_ERROR',
        'The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again',
      );
    if (inputs.length > 100) return error(400, 'VALIDATION_ERROR', 'Batch input limit is 100.');
    const archived = q.get('archived') === 'true';
    const names = propsFor(type, req.properties, false);
    const results: Record<string, unknown>[] = [];
    const missing: string[] = [];
    for (const { id } of inputs) {
      const obj = store.get(type, String(id));
      if (!obj || (obj.archivedAt !== null) !== archived) missing.push(String(id));
      else results.push(serialize(obj, obj.versions.at(-1)!, names, withHistory));
    }
    const body: Record<string, unknown> = {
      status: 'COMPLETE',
      results,
      startedAt: iso(Date.now()),
      completedAt: iso(Date.now()),
    };
    if (!missing.length) return { status: 200, body };
    body.numErrors = 1;
    body.errors = [
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: `Could not get some ${type} objects, they may be deleted or not exist. Check that ids are valid.`,
        context: { ids: missing },
      },
    ];
    return { status: 207, body };
  };

  const handleToken = (raw: string): Reply => {
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'refresh_token')
      return { status: 400, body: { status: 'BAD_GRANT_TYPE', message: 'unsupported grant_type' } };
    const client = oauthClients.find(
      (c) => c.clientId === form.get('client_id') && c.clientSecret === form.get('client_secret'),
    );
    if (!client)
      return { status: 400, body: { status: 'BAD_CLIENT_ID', message: 'missing or unknown client id' } };
    const refresh = form.get('refresh_token') ?? '';
    if (!client.refreshTokens.includes(refresh))
      return {
        status: 400,
        body: { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token' },
      };
    const token = `sim-at-${randomUUID()}`;
    accessTokens.set(token, Date.now() + ttl);
    stats.tokensIssued++;
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        refresh_token: refresh,
        access_token: token,
        expires_in: Math.round(ttl / 1000),
      },
    };
  };

  const route = async (req: IncomingMessage): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const raw = method === 'POST' ? await readBody(req) : '';
    const now = Date.now();
    if (path === '/oauth/v1/token' && method === 'POST') return handleToken(raw);
    const m = /^\/crm\/v3\/objects\/([^/]+)(?:\/(search|batch\/read|[^/]+))?$/.exec(path);
    if (!m) return error(404, 'NOT_FOUND', `no route ${method} ${path}`);
    const type = decodeURIComponent(m[1]!);
    const sub = m[2];
    const denied = authorize(req, now);
    if (denied) return denied;
    const isSearch = sub === 'search' && method === 'POST';
    const limitedReply = gate(isSearch, now);
    if (limitedReply) return { ...limitedReply, headers: { ...rateHeaders(now), ...limitedReply.headers } };
    const wrong = badType(type);
    const reply = wrong
      ? wrong
      : isSearch
        ? handleSearch(type, raw, now)
        : sub === 'batch/read' && method === 'POST'
          ? handleBatchRead(type, raw, url.searchParams)
          : sub === undefined && method === 'GET'
            ? handleList(type, url.searchParams)
            : sub !== undefined && method === 'GET'
              ? handleGet(type, decodeURIComponent(sub), url.searchParams)
              : error(405, 'METHOD_NOT_ALLOWED', `${method} ${path}`);
    return { ...reply, headers: { ...rateHeaders(now), ...reply.headers } };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const key = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname.replace(/\/\d+$/, '/{id}')}`;
    stats.requests[key] = (stats.requests[key] ?? 0) + 1;
    route(req)
      .then((r) => {
        if (r.status === 400) stats.badRequests++;
        if (r.text !== undefined) {
          res.writeHead(r.status, { 'Content-Type': 'text/html', ...r.headers }).end(r.text);
          return;
        }
        res.writeHead(r.status, { 'Content-Type': 'application/json;charset=utf-8', ...r.headers });
        res.end(JSON.stringify(r.body));
      })
      .catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 'error', message: String(err), category: 'INTERNAL_ERROR' }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const expireTokens = () => {
    const now = Date.now();
    for (const t of accessTokens.keys()) accessTokens.set(t, now - 1);
  };
  let lastExpiry = Date.now();
  const expirer = setInterval(() => {
    const every = state.faults.expireTokensEveryMs;
    if (every > 0 && Date.now() - lastExpiry >= every) {
      lastExpiry = Date.now();
      expireTokens();
    }
  }, 50);

  const startWebhooks = (w: HubSpotWebhookOptions) => {
    sender?.close();
    hookOpts = w;
    sender = startWebhookSender({ ...w, random });
    return sender;
  };
  if (o.webhooks) startWebhooks(o.webhooks);

  return {
    url: `http://127.0.0.1:${port}`,
    store,
    limits,
    get faults() {
      return state.faults;
    },
    set faults(f: HubSpotFaults) {
      state.faults = f;
    },
    stats,
    create: (...a) => store.create(...a),
    update: (...a) => store.update(...a),
    archive: (...a) => store.archive(...a),
    restore: (...a) => store.restore(...a),
    createMany(objectType, n, opts = {}) {
      const at = opts.at ?? Date.now();
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(store.create(objectType, opts.props?.(i) ?? {}, { at }).id);
      return ids;
    },
    expireTokens,
    startWebhooks,
    webhooks: () => sender,
    async close() {
      clearInterval(expirer);
      sender?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
