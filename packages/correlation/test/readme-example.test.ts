// The DSL example of the README, verbatim, so the documentation stays true.
import { describe, expect, it } from 'vitest';
import { defineRule, on, sequence, as, createEngine } from '../src/index.ts';
import { crm, H, T0, transfer, address } from './fixtures.ts';

export const payoutChange = defineRule({
  id: 'payout-address-change',
  version: 1, // part of the alert id: bump it when the logic changes
  severity: 75, // 0-100 base score
  mode: 'active', // active | test (alerts go to alerts.test) | disabled
  description: 'CRM payout address changed, then a transfer to the new address within 72h',
  pattern: sequence({
    within: '72h', // measured from the first step (EQL maxspan)
    steps: [
      on('crm', {
        name: 'payout address changed',
        where: (e) => e.record.changedFields.includes('payout_address'),
        key: (e, ctx) => ctx.identity.customerOfRecord(e.record),
      }),
      on('transfer', {
        name: 'transfer to the new address',
        key: (e, ctx) => ctx.identity.customerOfAddress(e.record.to),
        join: (e, [change]) => as(change, 'crm').record.values.payout_address === e.record.to,
      }),
    ],
  }),
  evidence: (f) => f.events, // optional; default: every event of the finding
  alert: (f) => ({
    summary: `payout address changed, then paid: ${f.key}`,
    labels: [{ entity: f.key, entityType: 'customer', label: 'victim', confidence: 0.6 }],
  }),
});

describe('README example rule', () => {
  it('fires on a payout change then a payment to the new address, not to the old one', () => {
    const NEW = address('new');
    const engine = createEngine({ rules: [payoutChange] });
    const events = [
      crm({ recordId: '9', changeType: 'create', at: T0, values: { payout_address: address('old') } }),
      crm({
        recordId: '9',
        at: T0 + H,
        values: { payout_address: NEW },
        previous: { payout_address: address('old') },
      }),
      transfer({ from: address('hot'), to: address('old'), at: T0 + 2 * H }),
      transfer({ from: address('hot'), to: NEW, at: T0 + 3 * H }),
    ];
    const out = events.flatMap((e) => engine.process(e));
    expect(out.map((o) => [o.alert.entity, o.alert.severity, o.alert.evidence.length])).toEqual([
      ['customer:hubspot:contact:9', 'high', 2],
    ]);
  });
});
