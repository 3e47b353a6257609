// Bulk API 2.0 query jobs through jsforce, read one results page at a time. jsforce's own `bulk2.query`
// concatenates every page into one stream; a snapshot that must resume after a crash needs the job id
// and the `Sforce-Locator` of the next page, which it keeps in its committed offset instead.
import type { Connection } from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2';
import { withRetry, type Logger } from '@tributary/sdk';

export interface BulkOptions {
  pollIntervalMs: number;
  pollTimeoutMs: number;
  retries: number;
  signal: AbortSignal;
  logger: Logger;
}

export type CsvRow = Record<string, string | null>;

/** The job is gone (results expire after 7 days, or someone deleted it), failed or was aborted:
 * retrying the same job cannot help; a new one can. */
export function isJobGone(err: unknown): boolean {
  const e = err as { errorCode?: string; message?: string } | null;
  // The results call asks for CSV, so jsforce cannot parse a JSON error body there: the code is then
  // ERROR_HTTP_404 with the raw body as the message.
  return (
    e?.errorCode === 'NOT_FOUND' ||
    e?.errorCode === 'ERROR_HTTP_404' ||
    /"NOT_FOUND"|Query job failed to complete|Job has been aborted/.test(e?.message ?? '')
  );
}

/** Creates a query (or queryAll) job and waits until it completes. Returns its id and creation time
 * (server clock). */
export async function runQueryJob(
  conn: Connection,
  soql: string,
  operation: 'query' | 'queryAll',
  o: BulkOptions,
): Promise<{ id: string; createdMs: number }> {
  const retry = { signal: o.signal, logger: o.logger, retries: o.retries };
  const job = new QueryJobV2(conn, {
    bodyParams: { query: soql, operation },
    pollingOptions: { pollInterval: o.pollIntervalMs, pollTimeout: o.pollTimeoutMs },
  });
  const info = await withRetry(() => job.open(), { what: 'bulk query job create', ...retry });
  o.logger.info({ jobId: info.id, operation, soql }, 'salesforce bulk query job created');
  await waitForJob(conn, info.id, o);
  return { id: info.id, createdMs: Date.parse(info.createdDate.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) };
}

/** Waits until an existing job completes. */
export async function waitForJob(conn: Connection, jobId: string, o: BulkOptions): Promise<void> {
  const job = conn.bulk2.job('query', { id: jobId });
  await withRetry(() => job.poll(o.pollIntervalMs, o.pollTimeoutMs), {
    what: `bulk query job ${jobId} poll`,
    signal: o.signal,
    logger: o.logger,
    retries: o.retries,
    shouldRetry: (err) => !isJobGone(err),
  });
}

/** One page of a completed job's results: rows (empty CSV cells as null) and the next locator. */
export async function resultsPage(
  conn: Connection,
  jobId: string,
  locator: string | null,
  maxRecords: number,
  o: Pick<BulkOptions, 'retries' | 'signal' | 'logger'>,
): Promise<{ rows: CsvRow[]; next: string | null }> {
  return withRetry(
    async () => {
      let next: string | null = null;
      const api = new HttpApi(conn, { responseType: 'text/csv' });
      api.on('response', (res: { headers: Record<string, string | undefined> }) => {
        const l = res.headers['sforce-locator'];
        next = l && l !== 'null' ? l : null;
      });
      const q = new URLSearchParams({ maxRecords: String(maxRecords) });
      if (locator) q.set('locator', locator);
      const url = `${conn.instanceUrl}/services/data/v${conn.version}/jobs/query/${jobId}/results?${q}`;
      const body: unknown = await api.request({ method: 'GET', url, headers: { Accept: 'text/csv' } });
      // An empty page parses to a string (no header row); a page has at least the header otherwise.
      const parsed = Array.isArray(body) ? (body as Record<string, string>[]) : [];
      const rows = parsed.map((r) => {
        const out: CsvRow = {};
        for (const [k, v] of Object.entries(r)) out[k] = v === '' ? null : v;
        return out;
      });
      return { rows, next };
    },
    {
      what: `bulk results of ${jobId}`,
      signal: o.signal,
      logger: o.logger,
      retries: o.retries,
      shouldRetry: (err) => !isJobGone(err),
    },
  );
}
