export {
  TOPICS,
  SCHEMA_VERSION_HEADER,
  RECORD_TYPE_HEADER,
  type TopicSpec,
  type TopicName,
} from './topics.ts';
export * from './records.ts';
export { RECORD_TYPES, validateRecord, jsonSchemas, type RecordType, type RecordOf } from './registry.ts';
export { recordHeaders } from './headers.ts';
