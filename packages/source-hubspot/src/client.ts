// HubSpot calls through the official @hubspot/api-client, pointed at `baseUrl` with `basePath`. The client
// does the URLs, serialization, bearer auth and the OAuth token call; this module adds what it lacks for a
// connector: pacing under HubSpot's rolling limits, 429 handling that reads the policy and Retry-After, OAuth
// refresh on 401, jittered retries of transient faults, and the raw response body (the generated
// deserializer turns a bad date into Invalid Date and passes non-string property values through without a
// word, so responses are validated from the wire JSON, and a dead letter carries the payload as received).
import { Client } from '@hubspot/api-client';
import type { PublicObjectSearchRequest } from '@hubspot/api-client/lib/codegen/crm/objects/models/PublicObjectSearchRequest';
import { FatalError, sleep, withRetry, type Logger, type Secret } from '@tributary/sdk';
import { createPacer, type Pacer } from './pacer.ts';

export type AuthConfig =
  | { kind: 'private-app'; accessToken: Secret }
  | { kind: 'oauth'; clientId: string; clientSecret: Secret; refreshToken: Secret };

export interface ApiOptions {
  baseUrl: string;
  auth: AuthConfig;
  searchPerSecond: number;
  requestsPerTenSeconds: number;
  dailyLimitPauseMs: number;
  signal: AbortSignal;
  logger: Logger;
  /** Attempts for transient faults (5xx, network) before the task restarts from its offset. */
  retries?: number;
  retryMinMs?: number;
}

export interface SearchBody {
  filterGroups: { filters: { propertyName: string; operator: string; value: string }[] }[];
  sorts: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties: string[];
  limit: number;
  /** Offset paging; the source uses it only to find a window's edge (always below 10,000). */
  after?: string;
}

export interface HubSpotApi {
  /** POST /crm/v3/objects/{type}/search; the parsed response body. */
  search(objectType: string, body: SearchBody): Promise<unknown>;
  /** GET /crm/v3/objects/{type} (a page of the list, archived or not). */
  list(
    objectType: string,
    o: { limit: number; after?: string; properties: string[]; archived: boolean },
  ): Promise<unknown>;
  /** POST /crm/v3/objects/{type}/batch/read with property history. */
  batchRead(objectType: string, ids: string[], properties: string[], withHistory: string[]): Promise<unknown>;
  /** Counters for logs and tests. */
  stats: { calls: number; rateLimited: number; refreshes: number; retried: number };
}

interface HttpError {
  code: number;
  headers: Record<string, string>;
}

function httpError(err: unknown): HttpError | null {
  const e = err as Partial<HttpError> | null;
  return e && typeof e.code === 'number' && typeof e.headers === 'object' ? (e as HttpError) : null;
}

interface ResponseBodyLike {
  text(): Promise<string>;
  binary(): Promise<Buffer>;
}

/** A per-call middleware; generic so it fits every generated API module's own (identical) context types. */
interface CallMiddleware {
  pre<T>(ctx: T): Promise<T>;
  post<R extends { body: ResponseBodyLike }>(rsp: R): Promise<R>;
}

type CallOptions = { middleware: CallMiddleware[]; middlewareMergeStrategy: 'append' };

/** Keeps the raw response text of one call (the client's own post-processing then reads the same text). */
function captureBody(): { options: CallOptions; text(): string | undefined } {
  let text: string | undefined;
  const middleware: CallMiddleware = {
    pre: (ctx) => Promise.resolve(ctx),
    post: async (rsp) => {
      const t = await rsp.body.text();
      text = t;
      (rsp as { body: ResponseBodyLike }).body = {
        text: () => Promise.resolve(t),
        binary: () => Promise.resolve(Buffer.from(t)),
      };
      return rsp;
    },
  };
  return { options: { middleware: [middleware], middlewareMergeStrategy: 'append' }, text: () => text };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A rate in calls per second as a rolling window the pacer understands, 5% wider: requests reach
 * HubSpot's window later than they leave ours, by a varying amount. */
function pacerFor(perSecond: number): Pacer {
  if (perSecond < 1) return createPacer(1, Math.ceil(1050 / perSecond));
  const max = Math.floor(perSecond);
  return createPacer(max, Math.ceil((1050 * max) / perSecond));
}

export function createHubSpotApi(o: ApiOptions): HubSpotApi {
  // No limiterOptions and no numberOfApiCallRetries: the client's decorators are process-global
  // (ApiDecoratorService is a singleton) and its retry waits a fixed 10 s; pacing and retries live here.
  const client = new Client({ basePath: o.baseUrl, numberOfApiCallRetries: 0 });
  const searchPacer = pacerFor(o.searchPerSecond);
  const generalPacer = createPacer(o.requestsPerTenSeconds, 10_500);
  const stats = { calls: 0, rateLimited: 0, refreshes: 0, retried: 0 };
  const log = o.logger;
  let token: { value: string; expiresAt: number } | null =
    o.auth.kind === 'private-app' ? { value: o.auth.accessToken.reveal(), expiresAt: Infinity } : null;
  if (token) client.setAccessToken(token.value);
  let consecutive429 = 0;

  const refresh = async (): Promise<void> => {
    if (o.auth.kind !== 'oauth')
      throw new FatalError(
        'HubSpot rejected the private app token (401); a private app token cannot be refreshed',
      );
    const a = o.auth;
    await generalPacer.take(o.signal);
    const cap = captureBody();
    try {
      const r = await client.oauth.tokensApi.createWithHttpInfo(
        'refresh_token',
        undefined,
        undefined,
        a.clientId,
        a.clientSecret.reveal(),
        a.refreshToken.reveal(),
        cap.options,
      );
      const body = parseJson(cap.text()) as { access_token?: unknown; expires_in?: unknown } | string;
      const access = typeof body === 'object' ? body.access_token : undefined;
      if (typeof access !== 'string' || !access)
        throw new Error(`token response without access_token (${r.httpStatusCode})`);
      const ttl =
        typeof body === 'object' && typeof body.expires_in === 'number' ? body.expires_in * 1000 : 1_800_000;
      token = { value: access, expiresAt: Date.now() + ttl };
      client.setAccessToken(access);
      stats.refreshes++;
      log.info({ expiresInMs: ttl }, 'HubSpot OAuth access token refreshed');
    } catch (err) {
      const h = httpError(err);
      if (h && h.code >= 400 && h.code < 500 && h.code !== 429)
        throw new FatalError(
          `HubSpot refused the OAuth refresh token (${h.code} ${JSON.stringify(parseJson(cap.text()))})`,
        );
      throw err;
    }
  };

  const ensureToken = async () => {
    // Refresh a minute early: a token that expires between our check and HubSpot's costs a 401 round trip.
    if (!token || token.expiresAt - 60_000 < Date.now()) await refresh();
  };

  /** Waits out a 429: Retry-After when given; else 1 s doubling to 10 s (the rolling window's length). */
  const onRateLimited = (h: HttpError, body: unknown, kind: 'search' | 'general') => {
    stats.rateLimited++;
    consecutive429++;
    const policy =
      typeof body === 'object' && body !== null && 'policyName' in body ? String(body.policyName) : 'unknown';
    const retryAfter = Number(h.headers['retry-after']);
    let waitMs: number;
    if (Number.isFinite(retryAfter) && retryAfter >= 0) waitMs = retryAfter * 1000;
    else if (policy === 'DAILY') waitMs = o.dailyLimitPauseMs;
    else waitMs = Math.min(10_000, 1000 * 2 ** Math.min(consecutive429 - 1, 4)) * (0.75 + Math.random() / 4);
    const until = Date.now() + waitMs;
    // A daily or ten-secondly limit is the portal's, so every kind of call waits; the search limit is its own.
    if (kind === 'search' && policy === 'SECONDLY') searchPacer.pauseUntil(until);
    else {
      searchPacer.pauseUntil(until);
      generalPacer.pauseUntil(until);
    }
    const line = { policy, waitMs: Math.round(waitMs), retryAfter: h.headers['retry-after'] ?? null };
    if (policy === 'DAILY') log.error(line, 'HubSpot daily API limit reached; pausing');
    else log.warn(line, 'HubSpot rate limit (429); waiting');
  };

  async function call(
    kind: 'search' | 'general',
    what: string,
    send: (c: Client, opts: CallOptions) => Promise<unknown>,
    /** A status that is an answer, not an error (its body is returned). */
    answers?: number,
  ): Promise<unknown> {
    return withRetry(
      async () => {
        let refreshed = false;
        for (;;) {
          await ensureToken();
          await (kind === 'search' ? searchPacer : generalPacer).take(o.signal);
          const cap = captureBody();
          stats.calls++;
          try {
            await send(client, cap.options);
            consecutive429 = 0;
            return parseJson(cap.text());
          } catch (err) {
            const h = httpError(err);
            if (!h) throw err; // network fault or unparseable body: transient
            const body = parseJson(cap.text());
            if (h.code === 429) {
              onRateLimited(h, body, kind);
              continue;
            }
            if (h.code === 401 && !refreshed && o.auth.kind === 'oauth') {
              refreshed = true;
              log.info('HubSpot answered 401; refreshing the OAuth access token');
              await refresh();
              continue;
            }
            if (h.code === 401) await refresh(); // private app: throws FatalError
            if (h.code === answers) return body;
            if (h.code >= 500)
              throw new Error(`${what}: HubSpot ${h.code} ${JSON.stringify(body).slice(0, 200)}`);
            // Any other 4xx is our request or the config (unknown object type, bad property): retrying
            // cannot help.
            throw new FatalError(`${what}: HubSpot ${h.code} ${JSON.stringify(body).slice(0, 500)}`);
          }
        }
      },
      {
        what: `HubSpot ${what}`,
        signal: o.signal,
        logger: log,
        retries: o.retries ?? 8,
        minTimeoutMs: o.retryMinMs ?? 250,
        maxTimeoutMs: 30_000,
        shouldRetry: () => {
          stats.retried++;
          return !o.signal.aborted;
        },
      },
    );
  }

  return {
    stats,
    search: (objectType, body) =>
      call('search', `search ${objectType}`, (c, opts) =>
        c.crm.objects.searchApi.doSearchWithHttpInfo(
          objectType,
          // The generated model types `sorts` as strings; HubSpot takes {propertyName, direction} objects
          // (the serializer passes them through untouched).
          body as unknown as PublicObjectSearchRequest,
          opts,
        ),
      ),
    list: (objectType, l) =>
      call('general', `list ${objectType}`, (c, opts) =>
        c.crm.objects.basicApi.getPageWithHttpInfo(
          objectType,
          l.limit,
          l.after,
          l.properties,
          undefined,
          undefined,
          l.archived,
          opts,
        ),
      ),
    batchRead: (objectType, ids, properties, withHistory) =>
      call(
        'general',
        `batch read ${objectType}`,
        (c, opts) =>
          c.crm.objects.batchApi.readWithHttpInfo(
            objectType,
            { inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: withHistory },
            false,
            opts,
          ),
        // Every object of the batch deleted since the search: nothing to report, not a failure.
        404,
      ),
  };
}

/** Sleeps that end early on abort without throwing (for idle waits). */
export async function idle(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    /* aborted */
  }
}
