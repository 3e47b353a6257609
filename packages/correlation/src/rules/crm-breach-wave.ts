// Rule 3: one CRM actor (user, integration, API token) touches many customers in a burst (`crm-actor-burst`,
// an export-like pattern: HubSpot 2022, Mailchimp 2022), then takeover-type alerts follow among those
// customers (`crm-breach-wave`, chained on rule 1/2 alerts, in either order).
import { as, custom, defineRule, distinct, on, window, type Rule } from '../dsl.ts';
import type { CorrelationEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';

export interface CrmBreachParams {
  /** Distinct customers one actor must touch ... */
  minCustomers: number;
  /** ... within this window. */
  burstWithin: Duration;
  /** Actors never counted (e.g. the CRM's own sync user). */
  ignoreActors: string[];
  burstSeverity: number;
  /** Takeover-type rules whose alerts count toward the wave. */
  takeoverRules: string[];
  /** Distinct burst customers with a takeover-type alert ... */
  minVictims: number;
  /** ... within this time after the burst. */
  waveWithin: Duration;
  waveSeverity: number;
  mode: Rule['mode'];
}

export const CRM_BREACH_DEFAULTS: CrmBreachParams = {
  minCustomers: 10,
  burstWithin: '1h',
  ignoreActors: [],
  burstSeverity: 45,
  takeoverRules: ['account-takeover', 'payout-address-change'],
  minVictims: 2,
  waveWithin: '72h',
  waveSeverity: 95,
  mode: 'active',
};

export function crmActorBurst(overrides: Partial<CrmBreachParams> = {}): Rule {
  const p = { ...CRM_BREACH_DEFAULTS, ...overrides };
  return defineRule({
    id: 'crm-actor-burst',
    version: 1,
    severity: p.burstSeverity,
    mode: p.mode,
    description: `one CRM actor changes >= ${p.minCustomers} distinct customers within ${p.burstWithin}`,
    pattern: window({
      within: p.burstWithin,
      step: on('crm', {
        name: 'customer record changed',
        where: (e) =>
          !!e.record.actor &&
          !p.ignoreActors.includes(e.record.actor) &&
          e.record.changeType !== 'gap' &&
          e.record.changeType !== 'snapshot',
        key: (e) => `actor:${e.record.actor}`,
      }),
      measure: distinct(
        (e) =>
          `${as(e, 'crm').record.system}:${as(e, 'crm').record.objectType.toLowerCase()}:${as(e, 'crm').record.recordId}`,
      ),
      atLeast: p.minCustomers,
    }),
    alert(f, ctx) {
      const customers = [
        ...new Set(f.events.map((e) => ctx.identity.customerOfRecord(as(e, 'crm').record))),
      ].sort();
      const actor = f.key.slice('actor:'.length);
      return {
        summary: `CRM actor ${actor} changed ${customers.length} customers within ${p.burstWithin}`,
        labels: [{ entity: actor, entityType: 'crm-actor', label: 'attacker', confidence: 0.4 }],
        details: { actor, customers, count: customers.length },
      };
    },
  });
}

interface Burst {
  alertId: string;
  actor: string;
  time: number;
  event: CorrelationEvent;
}

export function crmBreachWave(overrides: Partial<CrmBreachParams> = {}): Rule {
  const p = { ...CRM_BREACH_DEFAULTS, ...overrides };
  const within = ms(p.waveWithin);
  return defineRule({
    id: 'crm-breach-wave',
    version: 1,
    severity: p.waveSeverity,
    mode: p.mode,
    description: `a CRM actor burst, then takeover-type alerts (${p.takeoverRules.join(', ')}) for >= ${p.minVictims} of those customers within ${p.waveWithin}`,
    // The burst is an actor's, the takeovers are customers': one task must see both.
    crossEntity: { consumes: ['crm-actor-burst', ...p.takeoverRules] },
    pattern: custom({
      kinds: ['alert'],
      retention: p.waveWithin,
      evaluate(e, _ctx, state) {
        const a = as(e, 'alert').record;
        const touched: string[] = [];
        if (a.ruleId === 'crm-actor-burst') {
          const customers = Array.isArray(a.details.customers) ? (a.details.customers as string[]) : [];
          const burst: Burst = { alertId: a.alertId, actor: String(a.details.actor), time: e.time, event: e };
          state.set(`burst:${a.alertId}`, burst, e.time + within);
          for (const c of customers) {
            const list = state.get<string[]>(`touch:${c}`) ?? [];
            state.set(`touch:${c}`, [...new Set([...list, a.alertId])], e.time + within);
            touched.push(c);
          }
        } else if (p.takeoverRules.includes(a.ruleId) && a.entity.startsWith('customer:')) {
          const list = state.get<CorrelationEvent[]>(`takeover:${a.entity}`) ?? [];
          if (!list.some((x) => x.id === e.id)) list.push(e);
          state.set(`takeover:${a.entity}`, list, e.time + within);
          touched.push(a.entity);
        } else return [];
        // Any burst touching these customers: count its customers with a takeover alert in the window.
        const bursts = new Set(touched.flatMap((c) => state.get<string[]>(`touch:${c}`) ?? []));
        const findings = [];
        for (const id of [...bursts].sort()) {
          const b = state.get<Burst>(`burst:${id}`);
          if (!b) continue;
          const burstAlert = as(b.event, 'alert').record;
          const customers = (burstAlert.details.customers as string[]) ?? [];
          const takeovers = customers
            .flatMap((c) =>
              (state.get<CorrelationEvent[]>(`takeover:${c}`) ?? []).filter(
                (x) => Math.abs(x.time - b.time) <= within,
              ),
            )
            .sort((x, y) => x.time - y.time || (x.id < y.id ? -1 : 1));
          const victims = [...new Set(takeovers.map((x) => as(x, 'alert').record.entity))];
          if (victims.length < p.minVictims) continue;
          const firstPerVictim = victims
            .map((v) => takeovers.find((x) => as(x, 'alert').record.entity === v)!)
            .slice(0, p.minVictims);
          findings.push({
            key: `actor:${b.actor}`,
            events: [b.event, ...takeovers],
            anchors: [b.event],
            facts: {
              actor: b.actor,
              burstAlertId: id,
              victims,
              takeoverAlertIds: takeovers.map((x) => x.id),
            },
            time: Math.max(...firstPerVictim.map((x) => x.time)),
          });
        }
        return findings;
      },
    }),
    alert(f) {
      const victims = (f.facts?.victims as string[]) ?? [];
      const actor = String(f.facts?.actor ?? '');
      return {
        summary: `CRM breach wave: actor ${actor} touched many customers, then ${victims.length} of them had takeover alerts`,
        labels: [
          { entity: actor, entityType: 'crm-actor', label: 'attacker', confidence: 0.8 },
          ...victims.map((v) => ({
            entity: v,
            entityType: 'customer' as const,
            label: 'victim' as const,
            confidence: 0.8,
          })),
        ],
      };
    },
  });
}
