// REST reads: the field list of an object (configured, or described), records by id (queryAll, so
// deleted rows come back with IsDeleted), and the server's clock.
import type { Connection } from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api';
import { withRetry, type Logger } from '@tributary/sdk';
import type { SalesforceConfig } from './config.ts';

/** Fields every queried row carries: identity, deletion and the version stamps polling relies on. */
export const BASE_FIELDS = [
  'Id',
  'IsDeleted',
  'CreatedDate',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
];

export interface RestContext {
  conn: Connection;
  config: SalesforceConfig;
  signal: AbortSignal;
  logger: Logger;
}

const retryOpts = (r: RestContext, what: string) => ({
  what,
  signal: r.signal,
  logger: r.logger,
  retries: r.config.retries,
});

/** SOQL string literal. */
export const soqlString = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** Field lists per object, described once per task when not configured. */
export function fieldResolver(r: RestContext) {
  const cache = new Map<string, Promise<string[]>>();
  return (objectType: string): Promise<string[]> => {
    let p = cache.get(objectType);
    if (!p) {
      const configured = r.config.objects.find((o) => o.name === objectType)?.fields;
      p = configured
        ? Promise.resolve([...new Set([...BASE_FIELDS, ...configured])])
        : withRetry(() => r.conn.describe(objectType), retryOpts(r, `describe ${objectType}`)).then((d) => [
            ...new Set([...BASE_FIELDS, ...d.fields.map((f) => f.name)]),
          ]);
      p.catch(() => cache.delete(objectType));
      cache.set(objectType, p);
    }
    return p;
  };
}

/** Rows by id, deleted ones included; ids with no row at all (hard-deleted) are absent. */
export async function fetchByIds(
  r: RestContext,
  objectType: string,
  fields: string[],
  ids: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const soql = `SELECT ${fields.join(', ')} FROM ${objectType} WHERE Id IN (${chunk.map(soqlString).join(', ')})`;
    const res = await withRetry(
      async () =>
        (
          await r.conn.query<Record<string, unknown>>(soql, {
            scanAll: true,
            autoFetch: true,
            maxFetch: 10_000,
          })
        ).records,
      retryOpts(r, `fetch ${objectType} by id`),
    );
    for (const row of res) out.set(String(row.Id), row);
  }
  return out;
}

/** Rows of a SOQL query through queryAll (deleted rows included), all pages. */
export async function queryAll(
  r: RestContext,
  soql: string,
  what: string,
): Promise<Record<string, unknown>[]> {
  return withRetry(
    async () =>
      (
        await r.conn.query<Record<string, unknown>>(soql, {
          scanAll: true,
          autoFetch: true,
          maxFetch: 1_000_000,
        })
      ).records,
    retryOpts(r, what),
  );
}

/** The server's clock (HTTP Date header, whole seconds) in epoch ms, rounded down a second so that
 * nothing committed in the current second is taken to be in the past. */
export async function serverTime(r: RestContext): Promise<number> {
  return withRetry(
    async () => {
      let date: string | undefined;
      const api = new HttpApi(r.conn, { responseType: 'application/json' });
      api.on('response', (res: { headers: Record<string, string | undefined> }) => (date = res.headers.date));
      await api.request({ method: 'GET', url: `${r.conn.instanceUrl}/services/data/v${r.conn.version}/` });
      const ms = date ? Date.parse(date) : NaN;
      return (Number.isNaN(ms) ? Date.now() : ms) - 1000;
    },
    retryOpts(r, 'server time'),
  );
}
