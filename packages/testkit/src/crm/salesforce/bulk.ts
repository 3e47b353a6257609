// Bulk API 2.0 query jobs: create (query or queryAll), poll the state (UploadComplete -> InProgress ->
// JobComplete), read CSV results page by page with the Sforce-Locator header ("null" on the last page).
// The query runs when the job completes, so it sees the org as of that moment, like a real job.
import { randomBytes } from 'node:crypto';
import type { Org } from './org.ts';
import { parseSoql, runQuery, SoqlError, type SoqlQuery } from './soql.ts';
import { SYSTEM_FIELDS } from './org.ts';

export interface BulkJob {
  id: string;
  operation: 'query' | 'queryAll';
  query: SoqlQuery;
  object: string;
  apiVersion: string;
  createdAt: number;
  createdById: string;
  rows: Record<string, unknown>[] | null;
  aborted: boolean;
}

export interface BulkReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  csv?: boolean;
}

const sfDate = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return `"${s.replaceAll('"', '""')}"`;
}

export function createBulk(org: Org, o: { jobDelayMs: () => number; pageSize: () => number }) {
  const jobs = new Map<string, BulkJob>();
  const stats = { jobsCreated: 0, resultPages: 0 };

  const stateOf = (j: BulkJob) => {
    if (j.aborted) return 'Aborted';
    const age = org.now() - j.createdAt;
    if (age >= o.jobDelayMs()) {
      if (!j.rows) {
        const all = j.operation === 'queryAll';
        const known = [...SYSTEM_FIELDS, ...org.spec(j.object).fields];
        j.rows = runQuery(j.query, org.records(j.object).values(), known, all);
      }
      return 'JobComplete';
    }
    return age >= o.jobDelayMs() / 2 ? 'InProgress' : 'UploadComplete';
  };

  const info = (j: BulkJob) => {
    const state = stateOf(j);
    return {
      id: j.id,
      operation: j.operation,
      object: j.object,
      createdById: j.createdById,
      createdDate: sfDate(j.createdAt),
      systemModstamp: sfDate(j.createdAt),
      state,
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: Number(j.apiVersion),
      jobType: 'V2Query',
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
      numberRecordsProcessed: state === 'JobComplete' ? j.rows!.length : 0,
      retries: 0,
      totalProcessingTime: 0,
    };
  };

  const err = (status: number, errorCode: string, message: string): BulkReply => ({
    status,
    body: [{ errorCode, message }],
  });

  return {
    stats,
    jobs,
    create(body: unknown, apiVersion: string, userId: string): BulkReply {
      const b = (body ?? {}) as { operation?: string; query?: string };
      if (b.operation !== 'query' && b.operation !== 'queryAll')
        return err(400, 'INVALIDJOB', `Invalid operation: ${String(b.operation)}`);
      let query: SoqlQuery;
      try {
        query = parseSoql(b.query ?? '');
      } catch (e) {
        return err(400, 'INVALIDJOB', (e as Error).message);
      }
      if (!org.hasObject(query.object))
        return err(400, 'INVALIDJOB', `sObject type '${query.object}' is not supported.`);
      const known = [...SYSTEM_FIELDS, ...org.spec(query.object).fields];
      for (const f of query.fields)
        if (!known.includes(f))
          return err(400, 'INVALIDJOB', `No such column '${f}' on entity '${query.object}'.`);
      const job: BulkJob = {
        id: `750${randomBytes(6).toString('hex').slice(0, 12)}AAA`,
        operation: b.operation,
        query,
        object: query.object,
        apiVersion,
        createdAt: org.now(),
        createdById: userId,
        rows: null,
        aborted: false,
      };
      jobs.set(job.id, job);
      stats.jobsCreated++;
      return { status: 200, body: info(job) };
    },
    get(id: string, apiVersion: string): BulkReply {
      const j = jobs.get(id);
      if (!j) return err(404, 'NOT_FOUND', 'The requested resource does not exist');
      if (j.apiVersion !== apiVersion)
        return err(409, 'API_VERSION_MISMATCH', 'Use the API version the job was created with.');
      return { status: 200, body: info(j) };
    },
    abort(id: string): BulkReply {
      const j = jobs.get(id);
      if (!j) return err(404, 'NOT_FOUND', 'The requested resource does not exist');
      j.aborted = true;
      return { status: 200, body: info(j) };
    },
    remove(id: string): BulkReply {
      return jobs.delete(id)
        ? { status: 204, body: null }
        : err(404, 'NOT_FOUND', 'The requested resource does not exist');
    },
    results(id: string, apiVersion: string, params: URLSearchParams): BulkReply {
      const j = jobs.get(id);
      if (!j) return err(404, 'NOT_FOUND', 'The requested resource does not exist');
      if (j.apiVersion !== apiVersion)
        return err(409, 'API_VERSION_MISMATCH', 'Use the API version the job was created with.');
      if (stateOf(j) !== 'JobComplete') return err(400, 'INVALIDJOB', "Job isn't complete");
      const locator = params.get('locator');
      const start = locator ? Number(Buffer.from(locator, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(start) || start < 0 || start > j.rows!.length)
        return err(400, 'INVALIDLOCATOR', 'Invalid locator');
      const max = Number(params.get('maxRecords') ?? o.pageSize());
      const page = j.rows!.slice(start, start + Math.max(1, Math.min(max, o.pageSize())));
      const end = start + page.length;
      const lines = [j.query.fields.map((f) => `"${f}"`).join(',')];
      for (const r of page) lines.push(j.query.fields.map((f) => csvCell(r[f])).join(','));
      stats.resultPages++;
      return {
        status: 200,
        csv: true,
        body: lines.join('\n') + '\n',
        headers: {
          'Sforce-Locator': end < j.rows!.length ? Buffer.from(String(end)).toString('base64url') : 'null',
          'Sforce-NumberOfRecords': String(page.length),
        },
      };
    },
  };
}

export { SoqlError };
