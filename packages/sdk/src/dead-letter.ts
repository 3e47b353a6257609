import { TOPICS, recordHeaders } from '@tributary/schemas';
import type { JsonValue } from './json.ts';
import type { SourceRecord } from './source.ts';

/** Header that carries a dead letter's reason (read by the worker's metrics without decoding the value). */
export const DEAD_LETTER_REASON_HEADER = 'tributary.dead-letter.reason';

export interface DeadLetterInput {
  connector: string;
  /** Short stable label, e.g. 'erc20-wrong-topic-count'; counted in metrics. */
  reason: string;
  /** Human detail: the error message. */
  error: string;
  /** Where the bad input came from (block hash, trade id, replay id...). */
  sourceRef: string;
  /** The raw payload as received, so nothing is lost. */
  payload: JsonValue | string;
  timestamp?: number;
}

/** The dead-letter topic record. Emitted in the same batch as the good records, it commits exactly once
 * with the source offset: a malformed payload is never lost and never blocks the stream. */
export function deadLetter(input: DeadLetterInput): SourceRecord {
  const at = input.timestamp ?? Date.now();
  return {
    topic: TOPICS.deadLetters.name,
    key: input.connector,
    value: {
      connector: input.connector,
      reason: input.reason,
      error: input.error,
      sourceRef: input.sourceRef,
      payload: typeof input.payload === 'string' ? input.payload : JSON.stringify(input.payload),
      at: new Date(at).toISOString(),
    },
    headers: { ...recordHeaders('dead-letter'), [DEAD_LETTER_REASON_HEADER]: input.reason },
    timestamp: at,
  };
}
