import { describe, expect, it } from 'vitest';
import { RECORD_TYPES, TOPICS, jsonSchemas, recordHeaders, validateRecord } from '../src/index.ts';

const trade = {
  venue: 'binance',
  symbol: 'BTC/USDT',
  venueSymbol: 'BTCUSDT',
  tradeId: '12345',
  price: '43000.01',
  amount: '0.00100000',
  quoteAmount: '43.00001',
  takerSide: 'sell',
  timestamp: '2024-01-01T00:00:00.000Z',
  receivedAt: '2024-01-01T00:00:00.050Z',
  sequence: null,
};

describe('schemas', () => {
  it('accepts a normalized record and names the bad field of a wrong one', () => {
    expect(validateRecord('exchange.trade', trade)).toEqual(trade);
    const bad = RECORD_TYPES['exchange.trade'].schema.safeParse({ ...trade, price: 43000.01 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['price']);
    // Amounts are exact strings: a float-looking string with exponent is rejected.
    expect(RECORD_TYPES['exchange.trade'].schema.safeParse({ ...trade, amount: '1e-8' }).success).toBe(false);
    expect(
      RECORD_TYPES['chain.transfer'].schema.safeParse({
        op: 'upsert',
        chain: 'ethereum:1',
        blockNumber: 1,
        blockHash: '0x',
        transactionHash: '0x',
        index: 0,
        kind: 'erc20',
        token: '0x',
        tokenId: null,
        from: null,
        to: null,
        amount: '1.5',
        timestamp: '2024-01-01T00:00:00Z',
      }).success,
    ).toBe(false);
  });

  it('exports a JSON Schema per record type with its version and topic', () => {
    const all = jsonSchemas();
    expect(Object.keys(all).sort()).toEqual(Object.keys(RECORD_TYPES).sort());
    const t = all['exchange.trade'] as {
      type: string;
      required: string[];
      'x-tributary-topic': string;
      'x-tributary-version': number;
    };
    expect(t.type).toBe('object');
    expect(t.required).toContain('tradeId');
    expect(t['x-tributary-topic']).toBe('exchange.trades');
    expect(t['x-tributary-version']).toBe(1);
  });

  it('has unique topic names, each documented with its key', () => {
    const names = Object.values(TOPICS).map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of Object.values(TOPICS)) expect(t.key.length).toBeGreaterThan(5);
    for (const spec of Object.values(RECORD_TYPES)) expect(names).toContain(spec.topic);
  });

  it('validates alerts: deterministic id, score 0-100 with its band, labels and evidence', () => {
    const alert = {
      alertId: 'a1b2',
      ruleId: 'payout-change',
      ruleVersion: 1,
      mode: 'active',
      severity: 'critical',
      score: 95,
      entity: 'customer:42',
      time: '2024-01-01T00:00:00.000Z',
      summary: 'payout address changed, then paid',
      labels: [{ entity: '0xabc', entityType: 'address', label: 'attacker', confidence: 0.8 }],
      evidence: [
        {
          topic: 'crm.changes',
          partition: 0,
          offset: '7',
          id: 'hubspot:contact:42',
          summary: 'payout address changed',
        },
      ],
      details: {},
    };
    expect(validateRecord('alert', alert)).toEqual(alert);
    expect(RECORD_TYPES.alert.schema.safeParse({ ...alert, score: 101 }).success).toBe(false);
    expect(RECORD_TYPES.alert.schema.safeParse({ ...alert, evidence: [] }).success).toBe(false);
  });

  it('puts type and schema version in headers', () => {
    expect(recordHeaders('chain.block')).toEqual({
      'tributary.record.type': 'chain.block',
      'tributary.schema.version': '1',
    });
  });
});
