// Rule 1: a CRM change of a contact channel or 2FA setting, then an outflow from the customer's address to
// an address the customer never paid before, within 24 h (exchange withdrawal locks after such changes:
// 24 h is the common period; 6 h and 72 h also occur).
import { as, defineRule, on, sequence, type Rule } from '../dsl.ts';
import { ms, type Duration } from '../time.ts';
import { addr, amountOf, changedFields, customerPaid, isMachineActor } from './helpers.ts';

export interface AccountTakeoverParams {
  within: Duration;
  /** CRM fields whose change starts the sequence (case-insensitive). */
  securityFields: string[];
  /** "Never seen": no payment from any of the customer's addresses to it within this lookback. */
  newAddressLookback: Duration;
  /** Minimum outflow in base units (exclusive lower bound is 0: zero-value transfers never count). */
  minAmount: string;
  severity: number;
  /** Score when the CRM actor looks like an integration or API token rather than a person. */
  machineActorSeverity: number;
  machineActorPatterns: string[];
  mode: Rule['mode'];
}

export const ACCOUNT_TAKEOVER_DEFAULTS: AccountTakeoverParams = {
  within: '24h',
  securityFields: [
    'email',
    'phone',
    'mobilephone',
    'hs_2fa_enabled',
    'two_factor_enabled',
    'mfa_enabled',
    'TwoFactorEnabled__c',
    'MobilePhone',
    'Email',
    'Phone',
  ],
  newAddressLookback: '90d',
  minAmount: '1',
  severity: 80,
  machineActorSeverity: 92,
  machineActorPatterns: ['integration', 'api', 'token', 'app:'],
  mode: 'active',
};

export function accountTakeover(overrides: Partial<AccountTakeoverParams> = {}): Rule {
  const p = { ...ACCOUNT_TAKEOVER_DEFAULTS, ...overrides };
  const lookback = ms(p.newAddressLookback);
  const min = BigInt(p.minAmount);
  return defineRule({
    id: 'account-takeover',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `CRM change of ${p.securityFields.join('/')} then an outflow to a never-seen address within ${p.within}`,
    pattern: sequence({
      within: p.within,
      steps: [
        on('crm', {
          name: 'contact channel or 2FA changed',
          where: (e) => e.record.changeType === 'update' && changedFields(e, p.securityFields).length > 0,
          key: (e, ctx) => ctx.identity.customerOfRecord(e.record),
        }),
        on('transfer', {
          name: 'outflow to a never-seen address',
          where: (e, ctx) => {
            const customer = ctx.identity.customerOfAddress(e.record.from);
            if (!customer || !e.record.to || amountOf(e) < min) return false;
            if (ctx.identity.customerOfAddress(e.record.to) === customer) return false;
            return !customerPaid(ctx, customer, e.record.to, ctx.now - lookback);
          },
          key: (e, ctx) => ctx.identity.customerOfAddress(e.record.from),
        }),
      ],
    }),
    alert(f) {
      const change = as(f.events[0], 'crm');
      const out = as(f.events[1], 'transfer');
      const machine = isMachineActor(change.record.actor, p.machineActorPatterns);
      const fields = changedFields(change, p.securityFields);
      const deltaS = Math.round((out.time - change.time) / 1000);
      return {
        summary: `${fields.join(', ')} changed by ${change.record.actor ?? 'unknown'}, then ${out.record.amount} sent to never-seen ${addr(out.record.to)} ${deltaS}s later`,
        score: machine ? p.machineActorSeverity : p.severity,
        labels: [
          { entity: f.key, entityType: 'customer', label: 'victim', confidence: 0.7 },
          { entity: addr(out.record.to), entityType: 'address', label: 'attacker', confidence: 0.6 },
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
          changedFields: fields,
          actor: change.record.actor,
          machineActor: machine,
          deltaSeconds: deltaS,
          destination: addr(out.record.to),
          amount: out.record.amount,
          token: out.record.token,
          withinMs: ms(p.within),
        },
      };
    },
  });
}
