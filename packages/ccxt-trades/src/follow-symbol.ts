// The gap-free loop for one symbol (one source partition): live trades from the websocket, REST backfill
// from the last written trade id on start, after every reconnect, whenever ids jump, and when the stream
// has been quiet for a while (a dropped last message shows no gap until the next trade). Ids at or below
// the last written one are duplicates and dropped; the offset yielded is always the last id written.
import {
  deadLetter,
  errorMessage,
  isFatal,
  sleep,
  type Logger,
  type SourceBatch,
  type SourceMetrics,
  type SourceRecord,
} from '@tributary/sdk';
import { restCall } from './rest-call.ts';
import { tradeRecord } from './trade-record.ts';
import type { MalformedFrame, RawTrade, VenueConnection } from './venue.ts';

export type TradeOffset = { lastTradeId: string };

export interface FollowOptions {
  connector: string;
  venue: string;
  /** Unified symbol as configured: the source partition. */
  symbol: string;
  conn: VenueConnection;
  /** Last written trade id (from the committed offset), or null on the first start. */
  committed: bigint | null;
  /** Where to begin when nothing is committed: after this id, or after the venue's newest trade. */
  startAfterId: bigint | 'latest';
  pageSize: number;
  batchSize: number;
  idleCheckMs: number;
  gapRetries: number;
  gapRetryMs: number;
  restRetries: number;
  maxRetryAfterMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Takes the websocket's unreadable frames so far (shared by the symbols of one connection). */
  drainMalformed(): MalformedFrame[];
  signal: AbortSignal;
  logger: Logger;
  metrics: SourceMetrics;
}

const IDLE: unique symbol = Symbol('idle');

const byId = (a: RawTrade, b: RawTrade) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The stream's next trades, or IDLE after `ms`; rejects on abort. Cleans up its timer and listener
 * (this runs once per message, so leaked listeners would pile up on the task's signal). */
function raceIdle<T>(p: Promise<T>, ms: number, signal: AbortSignal): Promise<T | typeof IDLE> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve(IDLE);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (e: unknown) => {
        done();
        reject(e);
      },
    );
  });
}

/** Ends quietly when its signal aborts (a stop is not a failure); any other error ends the task, which the
 * runtime restarts from the committed offsets. */
export async function* followSymbol(o: FollowOptions): AsyncGenerator<SourceBatch<TradeOffset>> {
  try {
    yield* follow(o);
  } catch (err) {
    if (o.signal.aborted) return;
    throw err;
  }
}

async function* follow(o: FollowOptions): AsyncGenerator<SourceBatch<TradeOffset>> {
  const { conn, symbol, signal } = o;
  const log = o.logger.child({ symbol });
  const rest = <T>(what: string, fn: () => Promise<T>) =>
    restCall(fn, {
      what: `${o.venue} ${what} ${symbol}`,
      signal,
      logger: log,
      retries: o.restRetries,
      maxRetryAfterMs: o.maxRetryAfterMs,
      onRateLimited: (e) => o.metrics.skipped(`rate-limited-${e.status}`),
    });

  let last: bigint;
  if (o.committed !== null) last = o.committed;
  else if (o.startAfterId !== 'latest') last = o.startAfterId;
  else last = (await rest('latest trade', () => conn.latestId(symbol, signal))) ?? 0n;
  log.info({ lastTradeId: String(last) }, 'following trades');

  // Records not yet yielded, each with the trade id it accounts for (null: a frame with no trade id).
  const pending: { record: SourceRecord; id: bigint | null }[] = [];
  let yieldedUpTo = last;
  const accept = (t: RawTrade) => {
    const n = conn.normalize(symbol, t);
    if (n.ok) pending.push({ record: tradeRecord(n.trade), id: t.id });
    else {
      // The venue's own trade is unreadable: keep it in the dead-letter topic and move past its id, or
      // the stream would stop here forever.
      o.metrics.skipped(n.reason);
      const record = deadLetter({
        connector: o.connector,
        reason: n.reason,
        error: n.error,
        sourceRef: `${o.venue}:${symbol}:${t.id}`,
        payload: JSON.stringify(t.info) ?? 'undefined',
        timestamp: t.receivedAt,
      });
      pending.push({ record, id: t.id });
    }
    last = t.id;
  };
  const takeMalformed = () => {
    for (const f of o.drainMalformed()) {
      o.metrics.skipped(f.reason);
      const record = deadLetter({
        connector: o.connector,
        reason: f.reason,
        error: f.error,
        sourceRef: `${o.venue}:${symbol}:ws`,
        payload: f.payload,
        timestamp: f.receivedAt,
      });
      pending.push({ record, id: null });
    }
  };
  /** Yields what was accepted, in batches; the offset always names the last id in (or before) them. */
  function* flush(): Generator<SourceBatch<TradeOffset>> {
    takeMalformed();
    while (pending.length > 0) {
      const chunk = pending.splice(0, o.batchSize);
      for (const p of chunk) if (p.id !== null) yieldedUpTo = p.id;
      yield {
        partition: symbol,
        records: chunk.map((p) => p.record),
        offset: { lastTradeId: String(yieldedUpTo) },
      };
    }
  }
  /** REST pages from `last` until a short page: the venue has nothing newer. */
  async function* backfill(): AsyncGenerator<SourceBatch<TradeOffset>> {
    for (;;) {
      const from = last;
      const page = await rest('backfill', () => conn.fetchAfter(symbol, from, o.pageSize, signal));
      let taken = 0;
      // ccxt sorts parsed trades by timestamp only; trades of one millisecond come back in any order.
      page.sort(byId);
      for (const t of page) {
        if (t.id <= last) continue;
        accept(t);
        taken++;
      }
      yield* flush();
      if (page.length < o.pageSize || taken === 0) return;
    }
  }

  let inflight: Promise<RawTrade[]> | undefined;
  let failures = 0;
  let needBackfill = true;
  try {
    while (!signal.aborted) {
      if (needBackfill) {
        yield* backfill();
        needBackfill = false;
      }
      if (!inflight) {
        inflight = conn.watch(symbol);
        // Settled later (or never, on shutdown): keep a rejection from surfacing as unhandled.
        inflight.catch(() => {});
      }
      let live: RawTrade[] | typeof IDLE;
      try {
        live = await raceIdle(inflight, o.idleCheckMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        inflight = undefined;
        if (isFatal(err)) throw err;
        failures++;
        const wait =
          Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(failures - 1, 16)) *
          (0.5 + Math.random() / 2);
        log.warn(
          { err: errorMessage(err), failures, waitMs: Math.round(wait) },
          'trade stream failed; reconnecting, then backfilling',
        );
        await sleep(wait, signal);
        needBackfill = true;
        continue;
      }
      if (live === IDLE) {
        // Quiet stream: ask REST whether something was missed (a dropped final message shows no gap).
        needBackfill = true;
        yield* flush();
        continue;
      }
      inflight = undefined;
      failures = 0;
      live.sort(byId);
      for (const t of live) {
        if (t.id <= last) continue; // duplicate or already backfilled
        if (t.id > last + 1n) {
          o.metrics.skipped('trade-gap');
          log.debug({ expected: String(last + 1n), got: String(t.id) }, 'gap in trade ids; backfilling');
          for (let attempt = 0; attempt <= o.gapRetries && last < t.id - 1n; attempt++) {
            if (attempt > 0) await sleep(o.gapRetryMs, signal); // REST may lag the stream by a moment
            yield* backfill();
          }
          if (last < t.id - 1n) {
            o.metrics.skipped('trade-gap-unfilled');
            log.warn(
              { from: String(last + 1n), to: String(t.id - 1n) },
              'venue REST does not have these trade ids; moving on',
            );
          }
          if (t.id <= last) continue;
        }
        accept(t);
      }
      yield* flush();
      o.metrics.lag(symbol, 0);
    }
  } finally {
    inflight?.catch(() => {});
  }
}
