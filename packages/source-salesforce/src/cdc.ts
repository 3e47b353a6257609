// One CDC channel as a sequence of batches. The offset is the position after the batch's records:
// the last replay id written, or (before the first event) the time the stream position was taken, plus
// any Bulk read in progress (a snapshot, or the re-read a GAP_OVERFLOW asks for), so a restart resumes
// mid-read from the job and page it reached. Records and the position they advance to always leave in
// the same batch.
import {
  FatalError,
  RetryableError,
  deadLetter,
  type JsonObject,
  type Logger,
  type SourceBatch,
  type SourceMetrics,
  type SourceRecord,
} from '@tributary/sdk';
import { replayExpiredAlert } from './alert.ts';
import type { Session } from './auth.ts';
import { isJobGone, resultsPage, runQueryJob, waitForJob } from './bulk.ts';
import type { ChannelPlan, SalesforceConfig } from './config.ts';
import {
  eventRecords,
  gapRecord,
  isGap,
  isWildcard,
  parseMessage,
  snapshotRecord,
  type CdcEvent,
  type ChangeEventHeader,
} from './normalize.ts';
import { soqlDateTime } from './polling.ts';
import { fetchByIds, fieldResolver, serverTime, type RestContext } from './rest.ts';
import { openChannelStream, type ChannelStream, type StreamItem } from './streaming.ts';

export type BulkProgress = {
  kind: 'snapshot' | 'overflow';
  /** Objects still to read, the current one first. */
  objects: string[];
  /** The current object's job, once created. */
  jobId: string | null;
  /** Locator of the next results page (null: first page, or the job is not created yet). */
  locator: string | null;
  /** Overflow: rows with SystemModstamp from this (epoch ms) on; null: every row (a wildcard record id).
   * Open-ended: a record changed again since the overflow carries the overflowed values only in its
   * current row (its later event names just the fields changed then). */
  window: { from: number } | null;
  /** Overflow: the event the re-read stands for; the stream continues after it. */
  event: { replayId: number; header: JsonObject } | null;
};

export type ChannelOffset = {
  /** Last event written; null before the first. */
  replayId: number | null;
  /** Skip events committed before this (epoch ms): set from where the stream position was taken until
   * the first event at or after it is written. With replayId null the stream replays from -2 (every
   * retained event), so null for both means "every retained event". */
  since: number | null;
  bulk: BulkProgress | null;
};

export interface ChannelContext {
  connector: string;
  config: SalesforceConfig;
  plan: ChannelPlan;
  session: Session;
  signal: AbortSignal;
  logger: Logger;
  metrics: SourceMetrics;
}

const snapshotOf = (objects: string[]): BulkProgress => ({
  kind: 'snapshot',
  objects,
  jobId: null,
  locator: null,
  window: null,
  event: null,
});

export async function* channelBatches(
  c: ChannelContext,
  committed: ChannelOffset | undefined,
): AsyncGenerator<SourceBatch<ChannelOffset>> {
  const { config, plan } = c;
  const partition = plan.channel;
  const log = c.logger.child({ channel: partition });
  const rest: RestContext = { conn: c.session.conn, config, signal: c.signal, logger: log };
  const fieldsOf = fieldResolver(rest);

  let off: ChannelOffset;
  /** Subscribe with -1 this time (a first start with `start: -1`); restarts use -2 + since. */
  let live = false;
  if (committed) {
    off = { replayId: committed.replayId, since: committed.since ?? null, bulk: committed.bulk ?? null };
    log.info({ offset: off }, 'salesforce channel resuming from its committed offset');
  } else if (config.start === 'snapshot') {
    off = { replayId: null, since: null, bulk: snapshotOf(plan.objects) };
    log.info({ objects: plan.objects }, 'salesforce channel has no offset: snapshot first');
  } else if (config.start === -1) {
    // The position is "now": made durable right away, so a restart before the first event replays from
    // it instead of skipping to a later "now".
    off = { replayId: null, since: await serverTime(rest), bulk: null };
    live = true;
    log.info(
      { since: new Date(off.since!).toISOString() },
      'salesforce channel has no offset: new events only (-1)',
    );
    yield { partition, records: [], offset: off };
  } else {
    off = { replayId: null, since: null, bulk: null };
    log.info('salesforce channel has no offset: all retained events (-2)');
  }

  /** Reads the Bulk job(s) of `off.bulk` page by page; each page is a batch. */
  async function* bulkRead(): AsyncGenerator<SourceBatch<ChannelOffset>> {
    const o = {
      pollIntervalMs: config.bulk.pollIntervalMs,
      pollTimeoutMs: config.bulk.pollTimeoutMs,
      retries: config.retries,
      signal: c.signal,
      logger: log,
    };
    if (off.bulk!.kind === 'snapshot' && off.since === null && off.replayId === null) {
      // Take the stream position before reading: every change committed from here on comes from the stream.
      off = { ...off, since: (await serverTime(rest)) - config.snapshotOverlapMs };
      log.info(
        { since: new Date(off.since!).toISOString(), objects: off.bulk!.objects },
        'salesforce snapshot starting; the stream will replay events committed after since',
      );
      yield { partition, records: [], offset: off };
    }
    // A channel that carries no configured object has nothing to snapshot.
    if (off.bulk!.objects.length === 0) off = { ...off, bulk: null };
    let lostJobs = 0;
    while (off.bulk && off.bulk.objects.length > 0) {
      if (c.signal.aborted) return;
      const b: BulkProgress = off.bulk;
      const objectType = b.objects[0]!;
      let jobId = b.jobId;
      if (!jobId) {
        const fields = await fieldsOf(objectType);
        const where = b.window
          ? ` WHERE SystemModstamp >= ${soqlDateTime(Math.floor(b.window.from / 1000) * 1000)}`
          : '';
        const soql = `SELECT ${fields.join(', ')} FROM ${objectType}${where}`;
        jobId = (await runQueryJob(c.session.conn, soql, b.kind === 'overflow' ? 'queryAll' : 'query', o)).id;
      }
      let page: Awaited<ReturnType<typeof resultsPage>>;
      try {
        // A job created before a restart may not have completed.
        if (b.jobId && b.locator === null) await waitForJob(c.session.conn, jobId, o);
        page = await resultsPage(c.session.conn, jobId, b.locator, config.bulk.pageSize, o);
      } catch (err) {
        if (!isJobGone(err)) throw err;
        if (++lostJobs > 3)
          throw new RetryableError(`salesforce bulk jobs keep failing: ${(err as Error).message}`);
        // Rows of this object already written come again from the new job (snapshot rows are states,
        // so a repeat is harmless; a gap in them would not be).
        log.warn(
          { jobId, object: objectType, err: (err as Error).message },
          'salesforce bulk job gone (expired, deleted or failed); reading the object again with a new job',
        );
        off = { ...off, bulk: { ...b, jobId: null, locator: null } };
        continue;
      }
      const records: SourceRecord[] = page.rows.map((row) =>
        b.kind === 'snapshot'
          ? snapshotRecord(objectType, row, jobId)
          : gapRecord(
              { replayId: b.event!.replayId, header: b.event!.header as ChangeEventHeader, fields: {} },
              objectType,
              String(row.Id),
              row,
            ),
      );
      const nextBulk: BulkProgress | null = page.next
        ? { ...b, jobId, locator: page.next }
        : b.objects.length > 1
          ? { ...b, objects: b.objects.slice(1), jobId: null, locator: null }
          : null;
      if (!nextBulk) {
        log.info({ kind: b.kind, objects: plan.objects }, `salesforce ${b.kind} read complete`);
        off = {
          replayId: b.kind === 'overflow' ? b.event!.replayId : off.replayId,
          since: off.since,
          bulk: null,
        };
      } else off = { ...off, bulk: nextBulk };
      yield { partition, records, offset: off };
    }
  }

  /** Replay position lost: alert, then a new snapshot (or stop). Returns the alert record. */
  function expired(serverError: string | null): SourceRecord {
    const alert = replayExpiredAlert({
      connector: c.connector,
      channel: partition,
      replayId: off.replayId,
      since: off.since,
      policy: config.replayExpired,
      serverError,
      at: Date.now(),
    });
    log.error(
      { replayId: off.replayId, since: off.since, policy: config.replayExpired, serverError },
      config.replayExpired === 'resnapshot'
        ? 'salesforce replay position expired (older than the org retains): changes since it are lost from the stream; alerting and re-snapshotting'
        : 'salesforce replay position expired (older than the org retains): changes since it are lost; alerting and stopping (replayExpired: fail)',
    );
    return alert;
  }

  for (;;) {
    if (c.signal.aborted) return;
    if (off.bulk) {
      yield* bulkRead();
      continue;
    }
    if (off.replayId === null && off.since !== null && !live && off.since < Date.now() - config.retentionMs) {
      const alert = expired(null);
      if (config.replayExpired === 'fail') {
        yield { partition, records: [alert], offset: off };
        throw new FatalError(`salesforce ${partition}: stream position expired (replayExpired: fail)`);
      }
      off = { replayId: null, since: null, bulk: snapshotOf(plan.objects) };
      yield { partition, records: [alert], offset: off };
      continue;
    }
    const replayFrom = off.replayId ?? (live ? -1 : -2);
    live = false;
    log.info({ replayFrom, since: off.since }, 'salesforce channel subscribing');
    const stream = openChannelStream({
      session: c.session,
      channel: partition,
      replayFrom,
      logger: log,
      retrySec: config.streamingRetrySec,
      highWater: config.maxQueuedEvents,
    });
    try {
      const next = yield* streamBatches(stream);
      if (next === 'stopped') return;
    } finally {
      stream.close();
    }
  }

  /** Batches from an open stream until the signal aborts ('stopped') or the position must change
   * ('restart': a new snapshot was scheduled in `off`). */
  async function* streamBatches(
    stream: ChannelStream,
  ): AsyncGenerator<SourceBatch<ChannelOffset>, 'stopped' | 'restart'> {
    for (;;) {
      const items = await stream.take(config.maxBatchEvents, c.signal);
      if (items.length === 0) return 'stopped';
      c.metrics.lag(partition, stream.queued());
      let records: SourceRecord[] = [];
      for (let i = 0; i < items.length; i++) {
        const item: StreamItem = items[i]!;
        if (item.kind === 'error') throw new RetryableError(`salesforce ${partition}: ${item.error.message}`);
        if (item.kind === 'replay-invalid') {
          if (item.afterRehandshake)
            log.warn(
              { replayId: item.replayId },
              'faye re-subscribed after 403::Unknown client with a replay id the server no longer holds; jsforce reports nothing here (jsforce#1709) and the stream would stay silent',
            );
          const alert = expired(item.error);
          records.push(alert);
          if (config.replayExpired === 'fail') {
            yield { partition, records, offset: off };
            throw new FatalError(`salesforce ${partition}: ${item.error} (replayExpired: fail)`);
          }
          off = { replayId: null, since: null, bulk: snapshotOf(plan.objects) };
          yield { partition, records, offset: off };
          return 'restart';
        }
        const parsed = parseMessage(item.data);
        if (
          !parsed.ok &&
          off.since !== null &&
          parsed.commitTimestamp !== null &&
          parsed.commitTimestamp < off.since
        ) {
          // Before the stream position, like any other event there: not ours to emit.
          if (parsed.replayId !== null) off = { replayId: parsed.replayId, since: off.since, bulk: null };
          continue;
        }
        if (!parsed.ok) {
          c.metrics.skipped('salesforce-malformed-event');
          log.warn(
            { replayId: parsed.replayId, error: parsed.error },
            'malformed change event dead-lettered',
          );
          records.push(
            deadLetter({
              connector: c.connector,
              reason: 'salesforce-malformed-event',
              error: parsed.error,
              sourceRef: `${partition}@${parsed.replayId ?? 'unknown'}`,
              payload: safeJson(item.data),
            }),
          );
          if (parsed.replayId !== null && (off.replayId === null || parsed.replayId > off.replayId))
            off = { replayId: parsed.replayId, since: off.since, bulk: null };
          continue;
        }
        const ev = parsed.event;
        if (off.replayId !== null && ev.replayId <= off.replayId) {
          log.debug({ replayId: ev.replayId }, 'event at or before the written position skipped');
          continue;
        }
        if (off.since !== null && ev.header.commitTimestamp < off.since) {
          // Replayed from -2 to reach the position taken before the snapshot: already in the snapshot.
          // `since` stays until the first event at or after it is written.
          off = { replayId: ev.replayId, since: off.since, bulk: null };
          continue;
        }
        const h = ev.header;
        if (h.changeType === 'GAP_OVERFLOW' || h.recordIds.some(isWildcard)) {
          // Records beyond the overflow threshold (or a wildcard id): re-read the object for the window.
          log.warn(
            { replayId: ev.replayId, entity: h.entityName, changeType: h.changeType, recordIds: h.recordIds },
            'salesforce overflow event: re-reading the object for the affected window',
          );
          yield { partition, records, offset: off };
          records = [];
          const wildcard = h.recordIds.some(isWildcard);
          off = {
            ...off,
            bulk: {
              kind: 'overflow',
              objects: [h.entityName],
              jobId: null,
              locator: null,
              window: wildcard ? null : { from: h.commitTimestamp - config.overflowLookbackMs },
              event: { replayId: ev.replayId, header: h as JsonObject },
            },
          };
          yield* bulkRead();
          continue;
        }
        if (isGap(h)) {
          records.push(...(await gapRecords(ev)));
        } else records.push(...eventRecords(ev));
        off = { replayId: ev.replayId, since: null, bulk: null };
      }
      yield { partition, records, offset: off };
    }
  }

  async function gapRecords(ev: CdcEvent): Promise<SourceRecord[]> {
    const h = ev.header;
    log.info(
      {
        replayId: ev.replayId,
        changeType: h.changeType,
        entity: h.entityName,
        recordIds: h.recordIds.length,
      },
      'salesforce gap event: fetching the records by id',
    );
    const rows = await fetchByIds(rest, h.entityName, await fieldsOf(h.entityName), h.recordIds);
    return h.recordIds.map((id) => gapRecord(ev, h.entityName, id, rows.get(id) ?? null));
  }
}

function safeJson(v: unknown): string {
  try {
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}
