// The latest alerts for the dashboard: the worker tails the alerts topic (read_committed, from a little
// before its end, then live), decodes each record with the alert schema from @tributary/schemas and keeps
// the newest N in memory. Alerts carry user-controlled text (CRM fields, addresses): the page escapes
// everything, and strings are clipped here so one huge record cannot bloat every poll.
import { abortable, errorMessage, sleep, type Logger } from '@tributary/sdk';
import { alert as alertSchema, RECORD_TYPE_HEADER } from '@tributary/schemas';
import type { KafkaClient, ReadMessage } from '../kafka/client.ts';
import { backoff } from '../tasks.ts';
import { clip } from './dead-letters.ts';

export interface AlertView {
  alertId: string;
  ruleId: string;
  ruleVersion: number;
  mode: 'active' | 'test';
  severity: 'low' | 'medium' | 'high' | 'critical';
  score: number;
  entity: string;
  /** Event time of the finding. */
  time: string;
  summary: string;
  labels: { entity: string; entityType: string; label: string; confidence: number }[];
  /** The first `MAX_EVIDENCE` evidence events. */
  evidence: { topic: string; partition: number; offset: string; id: string; summary: string }[];
  evidenceTotal: number;
  /** Where the alert record itself sits in the alerts topic. */
  record: { partition: number; offset: string; timestamp: string };
}

export type DecodedAlert = { ok: true; alert: AlertView } | { ok: false; error: string };

export const MAX_EVIDENCE = 20;
const MAX_TEXT = 500;

/** Decodes one record of the alerts topic; a record that is not a valid alert says why. */
export function decodeAlert(m: ReadMessage): DecodedAlert {
  const type = m.headers[RECORD_TYPE_HEADER];
  if (type !== undefined && type !== 'alert') return { ok: false, error: `record type "${type}", not alert` };
  if (m.value === null) return { ok: false, error: 'empty record (tombstone)' };
  let json: unknown;
  try {
    json = JSON.parse(m.value.toString('utf8'));
  } catch {
    return { ok: false, error: 'value is not JSON' };
  }
  const parsed = alertSchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    };
  const a = parsed.data;
  const text = (s: string) => clip(s, MAX_TEXT);
  const ts = Number(m.timestamp);
  return {
    ok: true,
    alert: {
      alertId: text(a.alertId),
      ruleId: text(a.ruleId),
      ruleVersion: a.ruleVersion,
      mode: a.mode,
      severity: a.severity,
      score: a.score,
      entity: text(a.entity),
      time: a.time,
      summary: text(a.summary),
      labels: a.labels.slice(0, MAX_EVIDENCE).map((l) => ({ ...l, entity: text(l.entity) })),
      evidence: a.evidence.slice(0, MAX_EVIDENCE).map((e) => ({
        topic: text(e.topic),
        partition: e.partition,
        offset: text(e.offset),
        id: text(e.id),
        summary: text(e.summary),
      })),
      evidenceTotal: a.evidence.length,
      record: {
        partition: m.partition,
        offset: m.offset,
        timestamp: Number.isFinite(ts) ? new Date(ts).toISOString() : '',
      },
    },
  };
}

export interface AlertLog {
  add(m: ReadMessage): void;
  /** Newest first (by the alert record's Kafka timestamp, then arrival). */
  latest(): AlertView[];
  received(): number;
  undecodable(): { count: number; lastError: string | null };
}

/** Keeps the newest `keep` alerts; a replayed alert (same deterministic id) replaces its older copy. */
export function createAlertLog(keep: number): AlertLog {
  const byId = new Map<string, { alert: AlertView; seq: number; ts: number }>();
  let seq = 0;
  let received = 0;
  let bad = 0;
  let lastError: string | null = null;
  const ordered = () => [...byId.values()].sort((a, b) => b.ts - a.ts || b.seq - a.seq).map((x) => x.alert);
  return {
    add(m) {
      const d = decodeAlert(m);
      if (!d.ok) {
        bad += 1;
        lastError = clip(`partition ${m.partition} offset ${m.offset}: ${d.error}`, MAX_TEXT);
        return;
      }
      received += 1;
      byId.delete(d.alert.alertId);
      byId.set(d.alert.alertId, { alert: d.alert, seq: seq++, ts: Number(m.timestamp) || 0 });
      if (byId.size > keep) {
        const drop = ordered().slice(keep);
        for (const a of drop) byId.delete(a.alertId);
      }
    },
    latest: ordered,
    received: () => received,
    undecodable: () => ({ count: bad, lastError }),
  };
}

export interface AlertsState {
  topic: string;
  /** `waiting`: the topic could not be read yet (missing, Kafka down); it is retried. */
  state: 'starting' | 'waiting' | 'live' | 'stopped';
  error: string | null;
  keep: number;
  received: number;
  undecodable: { count: number; lastError: string | null };
  alerts: AlertView[];
}

export interface AlertFeed {
  state(): AlertsState;
  /** Resolves once the tail consumer has stopped (after the signal). */
  done: Promise<void>;
}

/** Tails `topic` until `signal` aborts; retries with backoff while the topic cannot be read. */
export function followAlerts(o: {
  kafka: KafkaClient;
  topic: string;
  keep: number;
  logger: Logger;
  signal: AbortSignal;
}): AlertFeed {
  const log = createAlertLog(o.keep);
  let state: AlertsState['state'] = 'starting';
  let error: string | null = null;
  const done = (async () => {
    for (let attempt = 1; !o.signal.aborted; attempt++) {
      try {
        // Each alert usually commits in its own transaction, whose marker takes an offset too: reading
        // back 2 x keep offsets per partition finds at least `keep` alerts where there are that many.
        const pending = o.kafka.tail(o.topic, 2 * o.keep, (m) => log.add(m));
        // Kafka may take its retries to answer (or not answer): stopping the worker does not wait for it.
        const follower = await abortable(pending, o.signal).catch((err: unknown) => {
          if (o.signal.aborted)
            void pending.then(
              (f) => f.stop(),
              () => {},
            );
          throw err;
        });
        state = 'live';
        error = null;
        o.logger.info({ topic: o.topic }, 'dashboard: following the alerts topic');
        if (!o.signal.aborted)
          await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
        await follower.stop();
        break;
      } catch (err) {
        if (o.signal.aborted) break;
        state = 'waiting';
        error = errorMessage(err);
        const delay = Math.max(5_000, backoff(attempt));
        o.logger.warn(
          { topic: o.topic, err: error, retryInMs: delay },
          'dashboard: cannot read the alerts topic',
        );
        await sleep(delay, o.signal).catch(() => {});
      }
    }
    state = 'stopped';
  })();
  return {
    state: () => ({
      topic: o.topic,
      state,
      error,
      keep: o.keep,
      received: log.received(),
      undecodable: log.undecodable(),
      alerts: log.latest(),
    }),
    done,
  };
}
