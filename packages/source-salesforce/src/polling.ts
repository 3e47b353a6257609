// Polling for orgs without Change Data Capture: SOQL through queryAll (deleted rows come back with
// IsDeleted) ordered by (SystemModstamp, Id), paged by keyset on that pair. A row can commit after the
// cursor has passed its SystemModstamp (the transaction stamped it earlier), which is how peers lose
// updates; every poll therefore re-reads `lookbackMs` behind the cursor and skips the versions
// (Id, SystemModstamp) it already wrote, which the offset remembers for that window.
import { sleep, type Logger, type SourceBatch, type SourceMetrics } from '@tributary/sdk';
import type { Session } from './auth.ts';
import type { SalesforceConfig } from './config.ts';
import { polledRecord, sfTime } from './normalize.ts';
import { fieldResolver, queryAll, serverTime, soqlString, type RestContext } from './rest.ts';

export type PollOffset = {
  /** SystemModstamp (epoch ms) and Id of the furthest row read; null before the first. */
  modstamp: number | null;
  id: string;
  /** Id -> SystemModstamp (epoch ms) of versions written within the lookback window. */
  seen: Record<string, number>;
};

export interface PollContext {
  config: SalesforceConfig;
  objectType: string;
  session: Session;
  signal: AbortSignal;
  logger: Logger;
  metrics: SourceMetrics;
}

/** SOQL datetime literal (whole seconds, as SystemModstamp holds them, unless the value has more). */
export const soqlDateTime = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export async function* pollBatches(
  c: PollContext,
  committed: PollOffset | undefined,
): AsyncGenerator<SourceBatch<PollOffset>> {
  const { config, objectType } = c;
  const partition = `poll:${objectType}`;
  const log = c.logger.child({ object: objectType });
  const rest: RestContext = { conn: c.session.conn, config, signal: c.signal, logger: log };
  const fields = await fieldResolver(rest)(objectType);
  const lookback = config.polling.lookbackMs;
  let off: PollOffset;
  if (committed) off = { modstamp: committed.modstamp, id: committed.id, seen: { ...committed.seen } };
  else if (config.start === -1) {
    off = { modstamp: await serverTime(rest), id: '', seen: {} };
    yield { partition, records: [], offset: off };
  } else off = { modstamp: null, id: '', seen: {} };
  log.info(
    { from: off.modstamp === null ? 'beginning' : new Date(off.modstamp).toISOString() },
    'salesforce polling',
  );

  for (;;) {
    if (c.signal.aborted) return;
    const windowStart = off.modstamp === null ? null : off.modstamp - lookback;
    let key: { ms: number; id: string } | null = null;
    let late = 0;
    for (;;) {
      const where = key
        ? ` WHERE SystemModstamp > ${soqlDateTime(key.ms)} OR (SystemModstamp = ${soqlDateTime(key.ms)} AND Id > ${soqlString(key.id)})`
        : windowStart !== null
          ? ` WHERE SystemModstamp >= ${soqlDateTime(windowStart)}`
          : '';
      const soql = `SELECT ${fields.join(', ')} FROM ${objectType}${where} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${config.polling.pageSize}`;
      const rows = await queryAll(rest, soql, `poll ${objectType}`);
      if (c.signal.aborted) return;
      const records = [];
      const seen = { ...off.seen };
      let cursor = { ms: off.modstamp, id: off.id };
      for (const row of rows) {
        const ms = sfTime(row.SystemModstamp);
        const id = String(row.Id);
        key = { ms, id };
        if (cursor.ms === null || ms > cursor.ms || (ms === cursor.ms && id > cursor.id)) cursor = { ms, id };
        if (seen[id] === ms) continue;
        if (off.modstamp !== null && ms < off.modstamp) late++;
        seen[id] = ms;
        records.push(polledRecord(objectType, row));
      }
      // Versions older than the next poll's window can never be read again.
      const keepFrom = cursor.ms === null ? -Infinity : cursor.ms - lookback;
      for (const [id, ms] of Object.entries(seen)) if (ms < keepFrom) delete seen[id];
      off = { modstamp: cursor.ms, id: cursor.id, seen };
      if (records.length || rows.length) yield { partition, records, offset: off };
      if (rows.length < config.polling.pageSize) break;
    }
    if (late)
      log.info({ late }, 'salesforce polling: rows committed behind the cursor caught by the lookback');
    await sleep(config.polling.intervalMs, c.signal).catch(() => {});
  }
}
