// Malformed input records (not JSON, failing the shared schema, a tombstone, a by-entity record without
// its headers) go to the dead-letter topic in the platform's dead-letter format (@tributary/sdk
// `deadLetter`), in the same transaction as the consumed offsets past them: never lost, never blocking.
import type { Message } from 'kafkajs';
import { deadLetter } from '@tributary/sdk';
import type { EventRef, RejectCode } from './events.ts';

export function deadLetterMessage(
  connector: string,
  at: EventRef,
  value: Buffer | null,
  code: Exclude<RejectCode, 'retract'>,
  reason: string,
): Message {
  const r = deadLetter({
    connector,
    reason: code,
    error: reason,
    sourceRef: `${at.topic}:${at.partition}:${at.offset}`,
    payload: value === null ? '' : value.toString('utf8'),
  });
  return {
    key: r.key,
    value: JSON.stringify(r.value),
    ...(r.headers ? { headers: r.headers } : {}),
    timestamp: String(r.timestamp),
  };
}
