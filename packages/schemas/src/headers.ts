import { RECORD_TYPES, type RecordType } from './registry.ts';
import { RECORD_TYPE_HEADER, SCHEMA_VERSION_HEADER } from './topics.ts';

/** The headers every normalized record carries: its type and schema version. */
export function recordHeaders(type: RecordType): Record<string, string> {
  return { [RECORD_TYPE_HEADER]: type, [SCHEMA_VERSION_HEADER]: String(RECORD_TYPES[type].version) };
}
