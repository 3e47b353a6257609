// Rule 7: structuring and velocity. Structuring: >= 3 outflows of one customer (or address) just under a
// reporting threshold T (each in [0.8 T, T)) whose sum reaches T within 24 h (FATF red flags: "amounts
// under record-keeping or reporting thresholds"). Velocity: >= 20 outflows within 1 h. T is per asset
// and jurisdiction: configure it, there is no universal number.
import { as, count, defineRule, on, window, type Rule, type RuleContext } from '../dsl.ts';
import type { TransferEvent } from '../events.ts';
import type { Duration } from '../time.ts';
import { addr, amountOf } from './helpers.ts';

export interface StructuringParams {
  /** Threshold T in base units of `token` (null = native coin). */
  threshold: string;
  token: string | null;
  /** Lower edge of the band as a fraction of T. */
  bandLow: number;
  minCount: number;
  within: Duration;
  severity: number;
  velocityCount: number;
  velocityWithin: Duration;
  velocitySeverity: number;
  mode: Rule['mode'];
  /** Velocity is noisy on busy addresses: it starts in test mode. */
  velocityMode: Rule['mode'];
}

export const STRUCTURING_DEFAULTS: StructuringParams = {
  threshold: '10000000000000000000', // 10 ETH
  token: null,
  bandLow: 0.8,
  minCount: 3,
  within: '24h',
  severity: 60,
  velocityCount: 20,
  velocityWithin: '1h',
  velocitySeverity: 45,
  mode: 'active',
  velocityMode: 'test',
};

/** Customer of the sender if linked, else the sending address. */
export function senderKey(e: TransferEvent, ctx: RuleContext): string | null {
  if (!e.record.from) return null;
  return ctx.identity.customerOfAddress(e.record.from) ?? `address:${addr(e.record.from)}`;
}

export function structuring(overrides: Partial<StructuringParams> = {}): Rule {
  const p = { ...STRUCTURING_DEFAULTS, ...overrides };
  const T = BigInt(p.threshold);
  const low = (T * BigInt(Math.round(p.bandLow * 10_000))) / 10_000n;
  const token = p.token?.toLowerCase() ?? null;
  return defineRule({
    id: 'structuring',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `>= ${p.minCount} outflows each in [${p.bandLow}·T, T) summing to >= T (T = ${p.threshold}) within ${p.within}`,
    pattern: window({
      within: p.within,
      step: on('transfer', {
        name: 'outflow just under the threshold',
        where: (e) => addr(e.record.token) === (token ?? '') && amountOf(e) >= low && amountOf(e) < T,
        key: senderKey,
      }),
      measure: count(),
      atLeast: p.minCount,
      having: (events) => events.reduce((a, e) => a + amountOf(as(e, 'transfer')), 0n) >= T,
    }),
    alert(f) {
      const total = f.events.reduce((a, e) => a + amountOf(as(e, 'transfer')), 0n);
      return {
        summary: `${f.events.length} outflows just under ${p.threshold} (total ${total}) within ${p.within} by ${f.key}`,
        labels: [
          {
            entity: f.key,
            entityType: f.key.startsWith('customer:') ? 'customer' : 'address',
            label: 'subject',
            confidence: 0.6,
          },
        ],
        details: { threshold: p.threshold, total: total.toString(), token: p.token },
      };
    },
  });
}

export function velocity(overrides: Partial<StructuringParams> = {}): Rule {
  const p = { ...STRUCTURING_DEFAULTS, ...overrides };
  return defineRule({
    id: 'velocity',
    version: 1,
    severity: p.velocitySeverity,
    mode: p.velocityMode,
    description: `>= ${p.velocityCount} outflows with value within ${p.velocityWithin} by one customer or address`,
    pattern: window({
      within: p.velocityWithin,
      step: on('transfer', { name: 'outflow', where: (e) => amountOf(e) > 0n, key: senderKey }),
      measure: count(),
      atLeast: p.velocityCount,
    }),
    alert: (f) => ({
      summary: `${f.events.length} outflows within ${p.velocityWithin} by ${f.key}`,
      labels: [
        {
          entity: f.key,
          entityType: f.key.startsWith('customer:') ? 'customer' : 'address',
          label: 'subject',
          confidence: 0.4,
        },
      ],
    }),
  });
}
