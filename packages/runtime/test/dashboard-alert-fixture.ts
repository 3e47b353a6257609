// A schema-valid alert as the correlation processor writes it (value JSON, `alert` record headers, key
// `<rule id>:<entity>`), for the dashboard tests.
import { recordHeaders, validateRecord, type Alert } from '@tributary/schemas';

export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return validateRecord('alert', {
    alertId: 'a-1',
    ruleId: 'payout-address-change',
    ruleVersion: 1,
    mode: 'active',
    severity: 'high',
    score: 75,
    entity: 'customer:42',
    time: '2026-11-24T10:00:00.000Z',
    summary: 'payout address changed, then 2 ETH sent to it',
    labels: [{ entity: 'address:0xabc', entityType: 'address', label: 'attacker', confidence: 0.9 }],
    evidence: [
      { topic: 'crm.changes', partition: 1, offset: '17', id: 'salesforce:Contact:003', summary: 'changed' },
      { topic: 'chain.transfers', partition: 0, offset: '4242', id: '0xdeadbeef:0', summary: '2 ETH' },
    ],
    details: { within: '72h' },
    ...over,
  });
}

export function alertMessage(a: Alert) {
  return { key: `${a.ruleId}:${a.entity}`, value: JSON.stringify(a), headers: recordHeaders('alert') };
}
