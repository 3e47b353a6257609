// Builders for normalized records and events in tests.
import type { ChainTransaction, ChainTransfer, CrmChange, ExchangeTrade } from '@tributary/schemas';
import { makeEvent, type CorrelationEvent, type EventKind } from '../src/events.ts';

export const T0 = Date.parse('2026-03-01T00:00:00Z');
export const H = 3_600_000;
export const iso = (t: number) => new Date(t).toISOString();

let offset = 0;
const ref = (topic: string) => ({ topic, partition: 0, offset: String(offset++) });

export function transferRecord(
  p: Partial<ChainTransfer> & { from: string; to: string; at: number; tx?: string },
): ChainTransfer {
  return {
    op: 'upsert',
    chain: p.chain ?? 'ethereum:1',
    blockNumber: p.blockNumber ?? 100,
    blockHash: p.blockHash ?? '0xblock',
    transactionHash: p.tx ?? p.transactionHash ?? `0x${(offset + 1).toString(16).padStart(64, '0')}`,
    index: p.index ?? 0,
    kind: p.kind ?? 'native',
    token: p.token ?? null,
    tokenId: null,
    from: p.from,
    to: p.to,
    amount: p.amount ?? '1000000000000000000',
    timestamp: iso(p.at),
  };
}

export function transfer(p: Parameters<typeof transferRecord>[0]): CorrelationEvent {
  return makeEvent('transfer', transferRecord(p), ref('chain.transfers'));
}

export function crmRecord(p: Partial<CrmChange> & { recordId: string; at: number }): CrmChange {
  return {
    system: p.system ?? 'hubspot',
    objectType: p.objectType ?? 'contact',
    recordId: p.recordId,
    changeType: p.changeType ?? 'update',
    changedFields: p.changedFields ?? Object.keys(p.values ?? {}),
    values: p.values ?? {},
    ...(p.previous ? { previous: p.previous } : {}),
    actor: p.actor ?? null,
    commitTimestamp: iso(p.at),
    sourcePosition: p.sourcePosition ?? String(offset + 1),
  };
}

export function crm(p: Parameters<typeof crmRecord>[0]): CorrelationEvent {
  return makeEvent('crm', crmRecord(p), ref('crm.changes'));
}

export function tradeRecord(
  p: Partial<ExchangeTrade> & { venue: string; price: string; at: number },
): ExchangeTrade {
  return {
    venue: p.venue,
    symbol: p.symbol ?? 'BTC/USDT',
    venueSymbol: p.venueSymbol ?? 'BTCUSDT',
    tradeId: p.tradeId ?? String(offset + 1),
    price: p.price,
    amount: p.amount ?? '0.1',
    quoteAmount: p.quoteAmount ?? '1',
    takerSide: p.takerSide ?? 'buy',
    timestamp: iso(p.at),
    receivedAt: iso(p.at),
    sequence: null,
  };
}

export function trade(p: Parameters<typeof tradeRecord>[0]): CorrelationEvent {
  return makeEvent('trade', tradeRecord(p), ref('exchange.trades'));
}

export function txRecord(
  p: Partial<ChainTransaction> & { hash: string; at: number; inputCount: number; outputCount: number },
): ChainTransaction {
  return {
    op: 'upsert',
    chain: p.chain ?? 'bitcoin:mainnet',
    blockNumber: p.blockNumber ?? 800_000,
    blockHash: '00ab',
    index: p.index ?? 1,
    hash: p.hash,
    from: p.from ?? null,
    to: p.to ?? null,
    value: p.value ?? null,
    fee: p.fee ?? '1000',
    status: 'success',
    timestamp: iso(p.at),
    nonce: null,
    gasUsed: null,
    effectiveGasPrice: null,
    contractAddress: null,
    wtxid: null,
    size: 250,
    vsize: 200,
    weight: 800,
    coinbase: false,
    inputCount: p.inputCount,
    outputCount: p.outputCount,
    ...(p.extra ? { extra: p.extra } : {}),
  };
}

export function tx(p: Parameters<typeof txRecord>[0]): CorrelationEvent {
  return makeEvent('transaction', txRecord(p), ref('chain.transactions'));
}

export function kinds(events: CorrelationEvent[]): EventKind[] {
  return events.map((e) => e.kind);
}

/** 0x address from a short tag: deterministic, 40 hex chars. */
export function address(tag: string): string {
  const hex = Buffer.from(tag).toString('hex');
  return `0x${hex.padEnd(40, '0').slice(0, 40)}`;
}
