import { z } from 'zod';
import * as r from './records.ts';
import { TOPICS } from './topics.ts';

/** Record type -> its schema, version and topic. Bump `version` on any incompatible change. */
export const RECORD_TYPES = {
  'chain.block': { schema: r.chainBlock, version: 1, topic: TOPICS.chainBlocks.name },
  'chain.transaction': { schema: r.chainTransaction, version: 1, topic: TOPICS.chainTransactions.name },
  'chain.transfer': { schema: r.chainTransfer, version: 1, topic: TOPICS.chainTransfers.name },
  'exchange.trade': { schema: r.exchangeTrade, version: 1, topic: TOPICS.exchangeTrades.name },
  'crm.change': { schema: r.crmChange, version: 1, topic: TOPICS.crmChanges.name },
  alert: { schema: r.alert, version: 1, topic: TOPICS.alerts.name },
  'dead-letter': { schema: r.deadLetter, version: 1, topic: TOPICS.deadLetters.name },
  'synthetic.record': { schema: r.syntheticRecord, version: 1, topic: TOPICS.syntheticRecords.name },
} as const;

export type RecordType = keyof typeof RECORD_TYPES;
export type RecordOf<T extends RecordType> = z.infer<(typeof RECORD_TYPES)[T]['schema']>;

/** Validates a value against its record type; throws a ZodError naming the bad field. */
export function validateRecord<T extends RecordType>(type: T, value: unknown): RecordOf<T> {
  return RECORD_TYPES[type].schema.parse(value) as RecordOf<T>;
}

/** JSON Schema (draft 2020-12) for every record type, for consumers in other languages. */
export function jsonSchemas(): Record<RecordType, unknown> {
  const out = {} as Record<RecordType, unknown>;
  for (const [type, spec] of Object.entries(RECORD_TYPES) as [
    RecordType,
    (typeof RECORD_TYPES)[RecordType],
  ][]) {
    out[type] = {
      ...z.toJSONSchema(spec.schema),
      title: type,
      'x-tributary-version': spec.version,
      'x-tributary-topic': spec.topic,
    };
  }
  return out;
}
