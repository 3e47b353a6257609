// The engine's input: one normalized record with where it came from (topic/partition/offset), its event
// time and a stable id. Records are decoded with the shared schemas; anything else is rejected loudly.
import { z } from 'zod';
import {
  alert as alertSchema,
  chainTransaction,
  chainTransfer,
  crmChange,
  exchangeTrade,
  type Alert,
  type ChainTransaction,
  type ChainTransfer,
  type CrmChange,
  type ExchangeTrade,
} from '@tributary/schemas';
import { entityOf } from './identity.ts';

export interface EventRef {
  topic: string;
  partition: number;
  offset: string;
}

/** A watchlist entry published on the watchlist topic (files use the same shape after parsing): an
 * `address`, or an `entity` of the identity graph (identity.ts `entityOf`: `customer:hubspot:contact:42`,
 * `email:x@y.io`, `phone:…`, `exchange-account:…`, `account:…`). */
export const watchlistRecord = z
  .object({
    op: z.enum(['add', 'remove']).default('add'),
    address: z.string().min(1).nullable().default(null),
    entity: z.string().min(1).nullable().default(null),
    name: z.string().nullable().default(null),
    listId: z.string(),
    listVersion: z.string(),
    entryId: z.string().nullable().default(null),
    program: z.string().nullable().default(null),
    symbol: z.string().nullable().default(null),
  })
  .refine((r) => (r.address === null) !== (r.entity === null), {
    message: 'exactly one of address and entity',
    path: ['address'],
  })
  .refine((r) => r.entity === null || entityOf(r.entity) !== null, {
    message:
      'not an entity: customer:<salesforce|hubspot>:<object>:<id>, email:, phone:, exchange-account: or account:',
    path: ['entity'],
  });
export type WatchlistRecord = z.infer<typeof watchlistRecord>;

interface Base {
  id: string;
  /** Event time, ms since the epoch (from the record, never the Kafka timestamp). */
  time: number;
  ref: EventRef;
}

export type TransferEvent = Base & { kind: 'transfer'; record: ChainTransfer };
export type TransactionEvent = Base & { kind: 'transaction'; record: ChainTransaction };
export type TradeEvent = Base & { kind: 'trade'; record: ExchangeTrade };
export type CrmEvent = Base & { kind: 'crm'; record: CrmChange };
export type AlertEvent = Base & { kind: 'alert'; record: Alert };
export type WatchlistEvent = Base & { kind: 'watchlist'; record: WatchlistRecord };

export type CorrelationEvent =
  TransferEvent | TransactionEvent | TradeEvent | CrmEvent | AlertEvent | WatchlistEvent;
export type EventKind = CorrelationEvent['kind'];
export type EventOf<K extends EventKind> = Extract<CorrelationEvent, { kind: K }>;

/** Logical input name -> physical topic. */
export interface InputTopics {
  transfers: string;
  transactions: string;
  trades: string;
  crm: string;
  watchlist: string;
  alerts: string;
}

export const DEFAULT_INPUT_TOPICS: InputTopics = {
  transfers: 'chain.transfers',
  transactions: 'chain.transactions',
  trades: 'exchange.trades',
  crm: 'crm.changes',
  watchlist: 'correlation.watchlist',
  alerts: 'alerts',
};

export function transferId(r: ChainTransfer): string {
  return `${r.chain}:${r.transactionHash}:${r.index}`;
}

export function eventId(e: { kind: EventKind; record: unknown }): string {
  switch (e.kind) {
    case 'transfer':
      return transferId(e.record as ChainTransfer);
    case 'transaction': {
      const r = e.record as ChainTransaction;
      return `${r.chain}:${r.hash}`;
    }
    case 'trade': {
      const r = e.record as ExchangeTrade;
      return `${r.venue}:${r.venueSymbol}:${r.tradeId}`;
    }
    case 'crm': {
      const r = e.record as CrmChange;
      return `${r.system}:${r.objectType}:${r.recordId}@${r.sourcePosition}`;
    }
    case 'alert':
      return (e.record as Alert).alertId;
    case 'watchlist': {
      const r = e.record as WatchlistRecord;
      return `watchlist:${r.listId}:${r.listVersion}:${r.address ?? r.entity}`;
    }
  }
}

function eventTime(
  kind: EventKind,
  record: ChainTransfer | ChainTransaction | ExchangeTrade | CrmChange | Alert | WatchlistRecord,
): number | null {
  if (kind === 'crm') return Date.parse((record as CrmChange).commitTimestamp);
  if (kind === 'watchlist') return null;
  return Date.parse((record as { timestamp?: string; time?: string }).timestamp ?? (record as Alert).time);
}

/** Builds an event from a decoded record; `time` defaults to the record's own event time. */
export function makeEvent<K extends EventKind>(
  kind: K,
  record: EventOf<K>['record'],
  ref: EventRef,
  time?: number,
): EventOf<K> {
  const t = time ?? eventTime(kind, record) ?? 0;
  return { kind, record, ref, time: t, id: eventId({ kind, record }) } as EventOf<K>;
}

/** Why a record was not decoded: `retract` is a reorged chain record (skipped, see README); the others
 * are malformed input, which the processor dead-letters. */
export type RejectCode = 'retract' | 'tombstone' | 'not-json' | 'invalid' | 'unknown-topic';

export type DecodeResult =
  { ok: true; event: CorrelationEvent } | { ok: false; code: RejectCode; reason: string };

const invalid = (reason: string): DecodeResult => ({ ok: false, code: 'invalid', reason });
const RETRACT: DecodeResult = { ok: false, code: 'retract', reason: 'retract' };

/** The event kind an input topic carries, if it is one. */
export function kindOfTopic(topics: InputTopics, topic: string): EventKind | null {
  if (topic === topics.transfers) return 'transfer';
  if (topic === topics.transactions) return 'transaction';
  if (topic === topics.trades) return 'trade';
  if (topic === topics.crm) return 'crm';
  if (topic === topics.watchlist) return 'watchlist';
  if (topic === topics.alerts) return 'alert';
  return null;
}

/** Decodes one Kafka message of an input topic. Retractions (reorged blocks) are skipped: see README. */
export function decodeMessage(
  topics: InputTopics,
  topic: string,
  partition: number,
  offset: string,
  value: Buffer | null,
  timestamp: number,
): DecodeResult {
  const kind = kindOfTopic(topics, topic);
  if (!kind) return { ok: false, code: 'unknown-topic', reason: `unknown topic ${topic}` };
  return decodeAs(kind, { topic, partition, offset }, value, timestamp);
}

/** Decodes a record of a known kind (an input topic's, or a by-entity record's from its headers). */
export function decodeAs(
  kind: EventKind,
  ref: EventRef,
  value: Buffer | null,
  timestamp: number,
): DecodeResult {
  if (!value) return { ok: false, code: 'tombstone', reason: 'tombstone (no value)' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, code: 'not-json', reason: 'not JSON' };
  }
  const parse = <T>(schema: z.ZodType<T>): T | string => {
    const r = schema.safeParse(json);
    return r.success ? r.data : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  switch (kind) {
    case 'transfer': {
      const r = parse(chainTransfer);
      if (typeof r === 'string') return invalid(r);
      if (r.op === 'retract') return RETRACT;
      return { ok: true, event: makeEvent('transfer', r, ref) };
    }
    case 'transaction': {
      const r = parse(chainTransaction);
      if (typeof r === 'string') return invalid(r);
      if (r.op === 'retract') return RETRACT;
      return { ok: true, event: makeEvent('transaction', r, ref) };
    }
    case 'trade': {
      const r = parse(exchangeTrade);
      return typeof r === 'string' ? invalid(r) : { ok: true, event: makeEvent('trade', r, ref) };
    }
    case 'crm': {
      const r = parse(crmChange);
      return typeof r === 'string' ? invalid(r) : { ok: true, event: makeEvent('crm', r, ref) };
    }
    case 'watchlist': {
      const r = parse(watchlistRecord);
      return typeof r === 'string'
        ? invalid(r)
        : { ok: true, event: makeEvent('watchlist', r, ref, timestamp) };
    }
    case 'alert': {
      const r = parse(alertSchema);
      return typeof r === 'string' ? invalid(r) : { ok: true, event: makeEvent('alert', r, ref) };
    }
  }
}

/** One line describing an event, for evidence. */
export function describeEvent(e: CorrelationEvent): string {
  switch (e.kind) {
    case 'transfer': {
      const r = e.record;
      return `${r.kind} transfer ${r.amount}${r.token ? ` of ${r.token}` : ''} ${r.from ?? '?'} -> ${r.to ?? '?'} in ${r.transactionHash}`;
    }
    case 'transaction':
      return `tx ${e.record.hash} ${e.record.from ?? '?'} -> ${e.record.to ?? '?'} (${e.record.inputCount ?? '?'} in, ${e.record.outputCount ?? '?'} out)`;
    case 'trade':
      return `${e.record.venue} ${e.record.symbol} ${e.record.takerSide} ${e.record.amount} @ ${e.record.price}`;
    case 'crm':
      return `${e.record.system} ${e.record.objectType} ${e.record.recordId} ${e.record.changeType} [${e.record.changedFields.join(', ')}] by ${e.record.actor ?? 'unknown'}`;
    case 'alert':
      return `alert ${e.record.ruleId} ${e.record.alertId}: ${e.record.summary}`;
    case 'watchlist':
      return `watchlist ${e.record.op} ${e.record.address ?? e.record.entity} (${e.record.listId} ${e.record.listVersion})`;
  }
}
