import { z } from 'zod';

// Normalized record types. Amounts are exact decimal strings: base units (wei, sats) for chains and the
// venue's own decimal text for exchanges. Nothing passes through a float.

const intString = z.string().regex(/^-?\d+$/, 'expected an integer string');
const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string');
const isoTime = z.iso.datetime({ offset: true });

/** `upsert` is a new canonical record; `retract` withdraws a record of an orphaned block (reorg). */
export const op = z.enum(['upsert', 'retract']);

export const chainBlock = z.object({
  op,
  chain: z.string(), // 'ethereum:1', 'bitcoin:regtest'
  number: z.number().int().nonnegative(),
  hash: z.string(),
  parentHash: z.string(),
  timestamp: isoTime,
  transactionCount: z.number().int().nonnegative(),
  miner: z.string().nullable(),
  size: z.number().int().nonnegative().nullable(),
  gasUsed: intString.nullable(),
  gasLimit: intString.nullable(),
  baseFeePerGas: intString.nullable(),
  weight: z.number().int().nonnegative().nullable(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

export const chainTransaction = z.object({
  op,
  chain: z.string(),
  blockNumber: z.number().int().nonnegative(),
  blockHash: z.string(),
  index: z.number().int().nonnegative(),
  hash: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  value: intString.nullable(),
  fee: intString.nullable(),
  status: z.enum(['success', 'failed']).nullable(),
  timestamp: isoTime,
  // Ethereum receipt fields; null on Bitcoin.
  nonce: z.number().int().nonnegative().nullable(),
  gasUsed: intString.nullable(),
  effectiveGasPrice: intString.nullable(),
  contractAddress: z.string().nullable(),
  // Bitcoin fields; null on Ethereum.
  wtxid: z.string().nullable(),
  size: z.number().int().nonnegative().nullable(),
  vsize: z.number().int().nonnegative().nullable(),
  weight: z.number().int().nonnegative().nullable(),
  coinbase: z.boolean().nullable(),
  inputCount: z.number().int().nonnegative().nullable(),
  outputCount: z.number().int().nonnegative().nullable(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

export const chainTransfer = z.object({
  op,
  chain: z.string(),
  blockNumber: z.number().int().nonnegative(),
  blockHash: z.string(),
  transactionHash: z.string(),
  /** Position of the transfer within its transaction (log index, output index). */
  index: z.number().int().nonnegative(),
  kind: z.enum(['native', 'erc20', 'erc721', 'erc1155', 'utxo']),
  token: z.string().nullable(),
  tokenId: intString.nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  amount: intString,
  timestamp: isoTime,
  extra: z.record(z.string(), z.unknown()).optional(),
});

export const exchangeTrade = z.object({
  venue: z.string(),
  symbol: z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/, 'expected BASE/QUOTE'),
  venueSymbol: z.string(),
  tradeId: z.string(),
  price: decimalString,
  amount: decimalString,
  quoteAmount: decimalString,
  takerSide: z.enum(['buy', 'sell']),
  timestamp: isoTime,
  receivedAt: isoTime,
  sequence: z.string().nullable(),
});

export const crmChange = z.object({
  system: z.enum(['salesforce', 'hubspot']),
  objectType: z.string(),
  /** One record per changed object: a source event naming several ids becomes several records. */
  recordId: z.string(),
  /** All ids of the source event this record came from, when it named more than one. */
  recordIds: z.array(z.string()).optional(),
  changeType: z.enum(['create', 'update', 'delete', 'undelete', 'gap', 'snapshot']),
  changedFields: z.array(z.string()),
  /** New values of the changed fields (all fields for create and snapshot). */
  values: z.record(z.string(), z.unknown()),
  /** Old values, where the source knows them (HubSpot property history for sensitive fields). */
  previous: z.record(z.string(), z.unknown()).optional(),
  /** Fields set to null by this change. */
  nulledFields: z.array(z.string()).optional(),
  actor: z.string().nullable(),
  /** Groups the changes of one source transaction (Salesforce `transactionKey`). */
  transactionKey: z.string().nullable().optional(),
  commitTimestamp: isoTime,
  /** Where this change sits in the source (replay id, cursor), as a string. */
  sourcePosition: z.string(),
  /** The source's own change header, every field it carried (Salesforce ChangeEventHeader). */
  header: z.record(z.string(), z.unknown()).optional(),
});

export const alertEvidence = z.object({
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  offset: z.string(),
  id: z.string(),
  summary: z.string(),
});

export const alert = z.object({
  /** Deterministic: hash of rule id, rule version, key and the first evidence ids; a replay yields the same id. */
  alertId: z.string(),
  ruleId: z.string(),
  ruleVersion: z.number().int().positive(),
  /** `test`-mode alerts go to a separate topic; they never page anyone. */
  mode: z.enum(['active', 'test']),
  /** Band of `score`: 0-39 low, 40-69 medium, 70-89 high, 90-100 critical. */
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  score: z.number().int().min(0).max(100),
  /** The key the rule matched by (`customer:...`, `address:...`). */
  entity: z.string(),
  /** Event time of the finding (the last evidence event). */
  time: isoTime,
  summary: z.string(),
  /** Entities the alert names, with their role and how sure the rule is (0-1). */
  labels: z.array(
    z.object({
      entity: z.string(),
      entityType: z.enum([
        'address',
        'customer',
        'crm-record',
        'crm-actor',
        'transaction',
        'exchange-account',
        'market',
      ]),
      label: z.enum(['attacker', 'victim', 'subject']),
      confidence: z.number().min(0).max(1),
    }),
  ),
  evidence: z.array(alertEvidence).min(1),
  /** Rule-specific facts (thresholds used, amounts, list version). */
  details: z.record(z.string(), z.unknown()),
});

export const deadLetter = z.object({
  connector: z.string(),
  reason: z.string(),
  error: z.string(),
  sourceRef: z.string(),
  payload: z.string(),
  at: isoTime,
});

export const syntheticRecord = z.object({
  connector: z.string(),
  partition: z.string(),
  seq: z.number().int().nonnegative(),
  payload: z.string(),
});

export type ChainBlock = z.infer<typeof chainBlock>;
export type ChainTransaction = z.infer<typeof chainTransaction>;
export type ChainTransfer = z.infer<typeof chainTransfer>;
export type ExchangeTrade = z.infer<typeof exchangeTrade>;
export type CrmChange = z.infer<typeof crmChange>;
export type Alert = z.infer<typeof alert>;
export type DeadLetter = z.infer<typeof deadLetter>;
export type SyntheticRecord = z.infer<typeof syntheticRecord>;
