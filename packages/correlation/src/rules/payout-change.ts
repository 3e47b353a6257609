// Rule 2: the payout address stored in the CRM changes, then a transfer goes to that new address.
import { as, defineRule, on, sequence, type Rule } from '../dsl.ts';
import type { CrmEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';
import { normalizeAddress } from '../address.ts';
import { addr, amountOf, changedFields, newValue, oldValue } from './helpers.ts';

export interface PayoutChangeParams {
  within: Duration;
  /** CRM fields holding a payout address (HubSpot property, Salesforce custom field). */
  payoutFields: string[];
  severity: number;
  mode: Rule['mode'];
}

export const PAYOUT_CHANGE_DEFAULTS: PayoutChangeParams = {
  within: '72h',
  payoutFields: ['payout_address', 'wallet_address', 'Payout_Address__c'],
  severity: 75,
  mode: 'active',
};

function newAddresses(e: CrmEvent, fields: string[]): string[] {
  return changedFields(e, fields)
    .map((f) => newValue(e, f))
    .filter((v): v is string => !!v)
    .map(normalizeAddress);
}

export function payoutChange(overrides: Partial<PayoutChangeParams> = {}): Rule {
  const p = { ...PAYOUT_CHANGE_DEFAULTS, ...overrides };
  return defineRule({
    id: 'payout-address-change',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `CRM payout address (${p.payoutFields.join('/')}) changed, then a transfer to the new address within ${p.within}`,
    pattern: sequence({
      within: p.within,
      steps: [
        on('crm', {
          name: 'payout address changed',
          where: (e) => e.record.changeType === 'update' && newAddresses(e, p.payoutFields).length > 0,
          key: (e, ctx) => ctx.identity.customerOfRecord(e.record),
        }),
        on('transfer', {
          name: 'transfer to the new payout address',
          where: (e) => amountOf(e) > 0n && !!e.record.to,
          key: (e, ctx) => ctx.identity.customerOfAddress(e.record.to),
          join: (e, [change]) => newAddresses(as(change, 'crm'), p.payoutFields).includes(addr(e.record.to)),
        }),
      ],
    }),
    alert(f) {
      const change = as(f.events[0], 'crm');
      const t = as(f.events[1], 'transfer');
      const field = changedFields(change, p.payoutFields)[0] ?? '';
      return {
        summary: `payout address ${field} changed by ${change.record.actor ?? 'unknown'} to ${addr(t.record.to)}, then ${t.record.amount} was paid to it`,
        labels: [
          { entity: f.key, entityType: 'customer', label: 'victim', confidence: 0.6 },
          { entity: addr(t.record.to), entityType: 'address', label: 'attacker', confidence: 0.6 },
          ...(change.record.actor
            ? [
                {
                  entity: change.record.actor,
                  entityType: 'crm-actor' as const,
                  label: 'subject' as const,
                  confidence: 0.5,
                },
              ]
            : []),
        ],
        details: {
          field,
          oldAddress: oldValue(change, field),
          newAddress: addr(t.record.to),
          actor: change.record.actor,
          amount: t.record.amount,
          token: t.record.token,
          deltaSeconds: Math.round((t.time - change.time) / 1000),
          withinMs: ms(p.within),
        },
      };
    },
  });
}
