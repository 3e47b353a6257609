// Incremental polling of HubSpot object types through the CRM v3 search API, one source partition per
// object type, each with a (lastmodified, id) cursor (see offset.ts).
//
// Head pass: the time range after the cursor, up to the fence (now - settleMs), is cut into windows of at
// most `windowMaxRecords` (the search API cannot page past 10,000); a window is read sorted by hs_object_id
// with `hs_object_id GT last` (keyset, never `after`, so records leaving the window while it is read shift
// nothing), then emitted in (lastmodified, id) order. When more than a window's worth of records share one
// timestamp, that timestamp is streamed page by page by id, with the cursor (ts, id) after each page: it
// terminates and resumes exactly. Lookback pass: once a range is older than settle + lookback, it is
// searched again and versions the head pass could not see yet (indexed late) are emitted; the versions
// already emitted are remembered in the offset for this. Deletes come from the archived list.
import {
  FatalError,
  deadLetter,
  type Logger,
  type SourceBatch,
  type SourceMetrics,
  type SourceRecord,
} from '@tributary/sdk';
import { idle, type HubSpotApi, type SearchBody } from './client.ts';
import { lastModifiedOf, type HubSpotConfig, type ObjectConfig } from './config.ts';
import { deleteRecord, versionRecord } from './normalize.ts';
import {
  advanceSettled,
  capSeen,
  comparePos,
  compareIds,
  headComplete,
  initialOffset,
  pollOffsetSchema,
  seenCount,
  seenSet,
  settleTo,
  withSeen,
  type PollOffset,
} from './offset.ts';
import {
  parseHistories,
  parseObject,
  parsePage,
  parseTime,
  type HistoryEntry,
  type ParsedObject,
  type WireObject,
} from './wire.ts';

export interface PollDeps {
  api: HubSpotApi;
  config: HubSpotConfig;
  connector: string;
  logger: Logger;
  metrics: SourceMetrics;
  signal: AbortSignal;
  now?: () => number;
}

interface TypeState {
  cfg: ObjectConfig;
  lm: string;
  properties: string[];
  offset: PollOffset;
  /** Width (ms) of the last window, to size the next one. */
  span: number | null;
  nextArchivedAt: number;
}

/** A placed item of a search result: an object, or a malformed one kept for its dead letter. */
type Item =
  Extract<ParsedObject, { kind: 'ok' | 'malformed' }> | Extract<ParsedObject, { kind: 'unplaceable' }>;

const itemTs = (i: Item) => (i.kind === 'ok' ? i.object.ts : i.kind === 'malformed' ? i.ts : null);
const itemId = (i: Item) => (i.kind === 'ok' ? i.object.id : i.id);

export function parseOffset(raw: unknown, partition: string): PollOffset {
  const p = pollOffsetSchema.safeParse(raw);
  if (!p.success)
    throw new FatalError(
      `offset of ${partition} is not a HubSpot poll offset: ${p.error.issues[0]?.message ?? ''}`,
    );
  return p.data;
}

export async function* pollObjects(
  d: PollDeps,
  objects: ObjectConfig[],
  offsets: ReadonlyMap<string, unknown>,
): AsyncGenerator<SourceBatch<PollOffset>> {
  const c = d.config;
  const now = d.now ?? Date.now;
  const log = d.logger;
  const states: TypeState[] = objects.map((cfg) => {
    const lm = lastModifiedOf(cfg);
    const raw = offsets.get(cfg.type);
    const offset = raw === undefined ? initialOffset(c.startFrom, now()) : parseOffset(raw, cfg.type);
    const wanted = [...cfg.properties, ...cfg.sensitiveProperties];
    return {
      cfg,
      lm,
      // An empty list asks HubSpot for its default properties.
      properties: wanted.length ? [...new Set([...wanted, lm, 'createdate', 'hs_object_id'])] : [],
      offset,
      span: null,
      nextArchivedAt: 0,
    };
  });
  for (const s of states)
    log.info(
      { objectType: s.cfg.type, cursor: { ts: s.offset.ts, id: s.offset.id }, settled: s.offset.settled },
      'hubspot polling from cursor',
    );

  // ---- search helpers ---------------------------------------------------------------------------------
  const filter = (propertyName: string, operator: string, value: string | number) => ({
    propertyName,
    operator,
    value: String(value),
  });

  /** One keyset page: filters plus `hs_object_id GT after`, sorted by id. */
  const searchPage = async (
    s: TypeState,
    filters: SearchBody['filterGroups'][0]['filters'],
    afterId: string | null,
  ) => {
    const body: SearchBody = {
      filterGroups: [
        { filters: afterId === null ? filters : [...filters, filter('hs_object_id', 'GT', afterId)] },
      ],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      properties: s.properties,
      limit: c.pageSize,
    };
    const page = parsePage(await d.api.search(s.cfg.type, body), `search ${s.cfg.type}`);
    const items = page.results.map((r) => parseObject(r, s.lm, 'modified') as Item);
    // The keyset continues after the last id the server returned, placeable or not.
    let lastId: string | null = null;
    for (const i of items) if (itemId(i) !== null) lastId = itemId(i);
    return { total: page.total, items, lastId, more: page.after !== null && items.length > 0 };
  };

  /** Every page of a range (keyset by id). */
  const searchAll = async (s: TypeState, filters: SearchBody['filterGroups'][0]['filters']) => {
    const items: Item[] = [];
    let after: string | null = null;
    let total = 0;
    for (;;) {
      const p = await searchPage(s, filters, after);
      total = Math.max(total, p.total);
      items.push(...p.items);
      if (!p.more || p.lastId === null) return { items, total };
      after = p.lastId;
    }
  };

  // ---- records ----------------------------------------------------------------------------------------
  /** Sensitive-property history for the updates among `objects` (50 per call: HubSpot's cap with history). */
  const histories = async (s: TypeState, objs: WireObject[]) => {
    const out = new Map<string, Record<string, HistoryEntry[]>>();
    const sensitive = s.cfg.sensitiveProperties;
    if (!sensitive.length) return out;
    const ids = objs.filter((o) => o.createdAt !== o.ts).map((o) => o.id);
    for (let i = 0; i < ids.length; i += 50) {
      const raw = await d.api.batchRead(s.cfg.type, ids.slice(i, i + 50), [s.lm], sensitive);
      for (const [id, h] of parseHistories(raw)) out.set(id, h);
    }
    return out;
  };

  const toRecords = async (
    s: TypeState,
    items: Item[],
    pass: 'search' | 'lookback',
  ): Promise<SourceRecord[]> => {
    const ok = items.flatMap((i) => (i.kind === 'ok' ? [i.object] : []));
    const hist = await histories(s, ok);
    const needHistory = s.cfg.sensitiveProperties.length > 0;
    return items.map((i) => {
      if (i.kind === 'ok')
        return versionRecord({
          objectType: s.cfg.type,
          lastModified: s.lm,
          object: i.object,
          sensitive: s.cfg.sensitiveProperties,
          history: needHistory && i.object.createdAt !== i.object.ts ? hist.get(i.object.id) : {},
          pass,
        });
      const reason = i.kind === 'malformed' ? 'malformed-object' : 'unplaceable-object';
      d.metrics.skipped(reason);
      log.warn({ objectType: s.cfg.type, id: i.id, error: i.error }, `hubspot ${reason}: dead-lettered`);
      return deadLetter({
        connector: d.connector,
        reason,
        error: i.error,
        sourceRef: `hubspot:${s.cfg.type}:${i.id ?? '?'}${i.kind === 'malformed' ? `@${i.ts}` : ''}`,
        payload: JSON.stringify(i.raw),
        timestamp: i.kind === 'malformed' ? i.ts : now(),
      });
    });
  };

  const placed = (items: Item[]) =>
    items.flatMap((i) => {
      const ts = itemTs(i);
      const id = itemId(i);
      return ts !== null && id !== null ? [{ ts, id }] : [];
    });

  /** Cuts items (already in emission order) into batches; `offsetAfter(k)` is the offset after item k. */
  async function* emit(
    s: TypeState,
    items: Item[],
    pass: 'search' | 'lookback',
    offsetAfter: (lastIndex: number, isLast: boolean) => PollOffset,
  ): AsyncGenerator<SourceBatch<PollOffset>> {
    const n = c.batchMaxRecords;
    for (let k = 0; k < items.length; k += n) {
      const chunk = items.slice(k, k + n);
      const last = k + chunk.length - 1;
      const records = await toRecords(s, chunk, pass);
      const capped = capSeen(offsetAfter(last, last === items.length - 1), c.maxSeenVersions);
      if (capped.gaveUp)
        log.warn(
          { objectType: s.cfg.type, range: capped.gaveUp, maxSeenVersions: c.maxSeenVersions },
          'hubspot lookback cut short: too many versions to remember; changes indexed late in this range may be missed',
        );
      s.offset = capped.offset;
      yield { partition: s.cfg.type, records, offset: s.offset };
    }
  }

  /** The position of the last placed item in items[0..k] (an unplaceable one has none of its own). */
  const positionUpTo = (items: Item[], k: number): { ts: number; id: string } | null => {
    for (let j = k; j >= 0; j--) {
      const ts = itemTs(items[j]!);
      const id = itemId(items[j]!);
      if (ts !== null && id !== null) return { ts, id };
    }
    return null;
  };

  /** The last id the server returned in items[0..k] (pages are sorted by id). */
  const lastIdUpTo = (items: Item[], k: number): string | null => {
    for (let j = k; j >= 0; j--) {
      const id = itemId(items[j]!);
      if (id !== null) return id;
    }
    return null;
  };

  const byPosition = (a: Item, b: Item) => {
    const ta = itemTs(a);
    const tb = itemTs(b);
    if (ta === null || tb === null) return ta === tb ? 0 : ta === null ? 1 : -1;
    return comparePos(ta, itemId(a), tb, itemId(b));
  };

  // ---- head pass --------------------------------------------------------------------------------------
  /** The last-modified time of the n-th record (1-based) of a range in time order: one search with
   * `after` n-1 (< 10,000, so allowed), used only to place a window's upper edge. */
  const nthTimestamp = async (s: TypeState, lo: number, hi: number, n: number): Promise<number | null> => {
    const body: SearchBody = {
      filterGroups: [{ filters: [filter(s.lm, 'GTE', lo), filter(s.lm, 'LTE', hi)] }],
      sorts: [{ propertyName: s.lm, direction: 'ASCENDING' }],
      properties: [s.lm],
      limit: 1,
    };
    const page = parsePage(
      await d.api.search(s.cfg.type, { ...body, after: String(n - 1) }),
      `search ${s.cfg.type}`,
    );
    const r = page.results[0] ? parseObject(page.results[0], s.lm, 'modified') : null;
    return r && r.kind !== 'unplaceable' ? (r.kind === 'ok' ? r.object.ts : r.ts) : null;
  };

  /** One unit of the head pass: a page of a timestamp's ties, or one window. Returns whether more is
   * waiting before the fence (false: caught up). Progress without records is kept in memory only: the
   * next batch with records carries it. */
  async function* head(s: TypeState): AsyncGenerator<SourceBatch<PollOffset>, boolean> {
    const t = now();
    const fence = t - c.settleMs;
    const safe = fence - c.lookbackMs;
    s.offset = advanceSettled(s.offset, safe);
    const o = s.offset;
    if (o.id !== null) {
      // Streaming the records that share timestamp o.ts, by id.
      const p = await searchPage(s, [filter(s.lm, 'EQ', o.ts)], o.id);
      if (!p.items.length) {
        s.offset = advanceSettled({ ...o, id: null }, safe);
        return true;
      }
      yield* emit(s, p.items, 'search', (k, isLast) =>
        advanceSettled(
          withSeen(
            { ...o, id: (isLast ? p.lastId : lastIdUpTo(p.items, k)) ?? o.id },
            placed(p.items.slice(0, k + 1)),
          ),
          safe,
        ),
      );
      return true;
    }
    const lo = o.ts + 1;
    if (lo > fence) return false;
    let hi = s.span === null ? fence : Math.min(fence, lo + s.span - 1);
    let first = await searchPage(s, [filter(s.lm, 'GTE', lo), filter(s.lm, 'LTE', hi)], null);
    if (first.total > c.windowMaxRecords) {
      // Too many: the window ends just before the timestamp of the last record that fits (the n-th
      // record is the furthest HubSpot lets us look: after + limit <= 10,000).
      const edge = await nthTimestamp(s, lo, hi, c.windowMaxRecords);
      if (edge !== null && edge > lo) {
        hi = edge - 1;
        first = await searchPage(s, [filter(s.lm, 'GTE', lo), filter(s.lm, 'LTE', hi)], null);
      } else if (edge === lo) {
        // More than a window's worth share one timestamp: page it by id, the cursor (lo, id) after each page.
        log.info(
          { objectType: s.cfg.type, ts: lo },
          'hubspot: more records share one timestamp than a search window holds; paging them by id',
        );
        const tie = await searchPage(s, [filter(s.lm, 'EQ', lo)], null);
        yield* emit(s, tie.items, 'search', (k, isLast) =>
          advanceSettled(
            withSeen(
              { ...o, ts: lo, id: (isLast ? tie.lastId : lastIdUpTo(tie.items, k)) ?? '0' },
              placed(tie.items.slice(0, k + 1)),
            ),
            safe,
          ),
        );
        s.span = 1;
        return true;
      }
    }
    const rest = first.more && first.lastId !== null ? await searchAllAfter(s, lo, hi, first.lastId) : [];
    const items = [...first.items, ...rest].sort(byPosition);
    // The next window: as wide again when this one was small, the rest of the range when it was empty.
    s.span =
      items.length === 0
        ? null
        : Math.max(
            1,
            Math.round((hi - lo + 1) * Math.min(8, Math.max(0.5, c.windowMaxRecords / 2 / items.length))),
          );
    log.debug({ objectType: s.cfg.type, lo, hi, records: items.length }, 'hubspot window');
    if (!items.length) {
      s.offset = advanceSettled({ ...o, ts: hi, id: null }, safe);
      return hi < fence;
    }
    yield* emit(s, items, 'search', (k, isLast) => {
      const at = positionUpTo(items, k);
      const next = isLast ? { ...o, ts: hi, id: null } : at ? { ...o, ts: at.ts, id: at.id } : o;
      return advanceSettled(withSeen(next, placed(items.slice(0, k + 1))), safe);
    });
    return hi < fence;
  }

  const searchAllAfter = async (s: TypeState, lo: number, hi: number, afterId: string) => {
    const items: Item[] = [];
    let after = afterId;
    for (;;) {
      const p = await searchPage(s, [filter(s.lm, 'GTE', lo), filter(s.lm, 'LTE', hi)], after);
      items.push(...p.items);
      if (!p.more || p.lastId === null) return items;
      after = p.lastId;
    }
  };

  // ---- lookback pass ----------------------------------------------------------------------------------
  async function* lookback(s: TypeState): AsyncGenerator<SourceBatch<PollOffset>> {
    const safe = now() - c.settleMs - c.lookbackMs;
    const o = s.offset;
    const target = Math.min(headComplete(o), safe);
    if (target <= o.settled) return;
    const { items } = await searchAll(s, [filter(s.lm, 'GT', o.settled), filter(s.lm, 'LTE', target)]);
    const seen = seenSet(o);
    // Unplaceable objects were dead-lettered by the head pass already.
    const late = items
      .filter((i) => i.kind !== 'unplaceable' && !seen.has(`${itemTs(i)}:${itemId(i)}`))
      .sort(byPosition);
    if (late.length)
      log.info(
        { objectType: s.cfg.type, late: late.length, from: o.settled, to: target },
        'hubspot lookback found late changes',
      );
    if (!late.length) {
      s.offset = settleTo(o, target);
      return;
    }
    yield* emit(s, late, 'lookback', (k, isLast) => {
      const next = withSeen(o, placed(late.slice(0, k + 1)));
      return isLast ? settleTo(next, target) : next;
    });
  }

  // ---- deletes ----------------------------------------------------------------------------------------
  /** What can be read of an archived object whose payload failed validation: the delete is still certain. */
  const salvage = (p: Extract<ParsedObject, { kind: 'malformed' }>): WireObject => {
    const r = (typeof p.raw === 'object' && p.raw !== null ? p.raw : {}) as Record<string, unknown>;
    const props =
      typeof r.properties === 'object' && r.properties !== null
        ? (r.properties as Record<string, unknown>)
        : {};
    const properties: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(props)) if (typeof v === 'string' || v === null) properties[k] = v;
    return {
      id: p.id,
      ts: p.ts,
      archivedAt: p.ts,
      createdAt: parseTime(r.createdAt),
      updatedAt: p.ts,
      properties,
    };
  };

  async function* archived(s: TypeState): AsyncGenerator<SourceBatch<PollOffset>> {
    const fence = now() - c.settleMs;
    const cursor = s.offset.archived;
    const found: { object: WireObject; error?: string }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = parsePage(
        await d.api.list(s.cfg.type, { limit: 100, after, properties: s.properties, archived: true }),
        `list archived ${s.cfg.type}`,
      );
      for (const r of page.results) {
        const p = parseObject(r, s.lm, 'archived');
        if (p.kind === 'unplaceable') {
          log.debug(
            { objectType: s.cfg.type, error: p.error },
            'hubspot archived object without archivedAt; skipped',
          );
          continue;
        }
        const ts = p.kind === 'ok' ? p.object.ts : p.ts;
        const id = p.kind === 'ok' ? p.object.id : p.id;
        if (comparePos(ts, id, cursor.at, cursor.id) <= 0 || ts > fence) continue;
        found.push(p.kind === 'ok' ? { object: p.object } : { object: salvage(p), error: p.error });
      }
      if (!page.after) break;
      after = page.after;
    }
    found.sort((a, b) => a.object.ts - b.object.ts || compareIds(a.object.id, b.object.id));
    for (let k = 0; k < found.length; k += c.batchMaxRecords) {
      const chunk = found.slice(k, k + c.batchMaxRecords);
      const last = chunk.at(-1)!.object;
      s.offset = { ...s.offset, archived: { at: last.ts, id: last.id } };
      yield {
        partition: s.cfg.type,
        records: chunk.map((f) => deleteRecord(s.cfg.type, f.object, f.error)),
        offset: s.offset,
      };
    }
  }

  // ---- the loop ---------------------------------------------------------------------------------------
  while (!d.signal.aborted) {
    let busy = false;
    for (const s of states) {
      const moved = yield* head(s);
      busy ||= moved;
      const o = s.offset;
      if (!moved || seenCount(o) > c.maxSeenVersions / 2) yield* lookback(s);
      if (c.archived.enabled && now() >= s.nextArchivedAt) {
        s.nextArchivedAt = now() + c.archived.intervalMs;
        yield* archived(s);
      }
      d.metrics.lag(s.cfg.type, Math.max(0, now() - c.settleMs - headComplete(s.offset)));
    }
    if (!busy) await idle(c.pollIntervalMs, d.signal);
  }
}
