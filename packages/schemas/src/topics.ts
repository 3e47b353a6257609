// Every topic Tributary writes, in one place: logical name, what one record is, and why the key is what
// it is. Operators map logical names to physical ones with `topics` in connectors.config.ts.

export interface TopicSpec {
  /** Logical name, used by sources in `SourceRecord.topic`. */
  name: string;
  description: string;
  /** What the Kafka key is, and why. Order in Kafka only holds within a partition, i.e. per key. */
  key: string;
  /** Compacted topics keep only the last value per key. */
  compacted?: boolean;
}

export const TOPICS = {
  chainBlocks: {
    name: 'chain.blocks',
    description: 'One record per block (Ethereum, Bitcoin), and retractions of orphaned blocks.',
    key: '`<chain>` (e.g. `ethereum:1`, `bitcoin:mainnet`): one partition per chain keeps blocks in height order.',
  },
  chainTransactions: {
    name: 'chain.transactions',
    description: 'One record per transaction with its receipt fields, and retractions.',
    key: '`<chain>`: transactions stay in block and index order, behind their block.',
  },
  chainTransfers: {
    name: 'chain.transfers',
    description:
      'Value movements: native value, ERC-20/721/1155 transfers, Bitcoin outputs (with spending side).',
    key: '`<chain>`: same partition as the transactions they belong to; consumers re-key by address.',
  },
  exchangeTrades: {
    name: 'exchange.trades',
    description: 'Public trades from exchanges, one record per venue trade.',
    key: '`<venue>:<venue symbol>`: trade-id order holds per market.',
  },
  crmChanges: {
    name: 'crm.changes',
    description: 'Record changes from CRMs (Salesforce CDC/polling, HubSpot).',
    key: '`<system>:<object type>:<record id>`: all changes of one record in order.',
  },
  alerts: {
    name: 'alerts',
    description: 'Fraud and attack alerts raised by the correlation processor, with evidence.',
    key: '`<rule id>:<entity>`: one alert stream per rule and entity.',
  },
  deadLetters: {
    name: 'deadletter',
    description:
      'Source payloads that could not be normalized, with the reason; nothing is dropped silently.',
    key: '`<connector>`.',
  },
  syntheticRecords: {
    name: 'synthetic.records',
    description: 'Deterministic numbered records from the synthetic source (tests, benchmarks, demo).',
    key: '`<connector>:<partition>`: sequence order per synthetic partition.',
  },
  sourceOffsets: {
    name: 'tributary.offsets',
    description:
      'Source offsets, written in the same transaction as the records they cover (runtime-internal).',
    key: 'JSON `[connector, sourcePartition]`: compaction keeps the last offset of each source partition.',
    compacted: true,
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS]['name'];

/** Header carrying the schema version of a record's value, so consumers can evolve safely. */
export const SCHEMA_VERSION_HEADER = 'tributary.schema.version';
/** Header naming the record type (`chain.block`, `exchange.trade`, ...). */
export const RECORD_TYPE_HEADER = 'tributary.record.type';
