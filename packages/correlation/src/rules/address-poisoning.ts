// Rule 4: address poisoning. A transaction with >= 3 zero-value token transfer logs, mostly stablecoins,
// where a look-alike (first 4-6 and last 4 characters) of an address the victim recently paid appears as
// the counterparty (Forta address-poisoning zero-value variant: >= 3 logs, stablecoin share >= 0.4); one
// alert per victim of the transaction.
// Rule 4b (`address-poisoning-paid`, critical) chains on it: the victim later pays the look-alike.
import { as, custom, defineRule, on, sequence, type Finding, type Rule, type RuleContext } from '../dsl.ts';
import { isLookalike, sharedAffixes } from '../address.ts';
import type { ChainTransfer } from '@tributary/schemas';
import type { CorrelationEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';
import { addr, amountOf } from './helpers.ts';

export interface AddressPoisoningParams {
  minLogs: number;
  /** Share of the zero-value logs that must be stablecoin transfers ("mostly"). */
  stablecoinShare: number;
  /** Stablecoin token contracts, lowercase (default: Ethereum mainnet USDT, USDC, DAI). */
  stablecoins: string[];
  prefix: number;
  suffix: number;
  /** How far back the victim's counterparties count as "recent". */
  counterpartyLookback: Duration;
  severity: number;
  /** Rule 4b: the victim pays the look-alike within this time. */
  paidWithin: Duration;
  paidSeverity: number;
  mode: Rule['mode'];
}

export const ADDRESS_POISONING_DEFAULTS: AddressPoisoningParams = {
  minLogs: 3,
  stablecoinShare: 0.5,
  stablecoins: [
    '0xdac17f958d2ee523a2206206994597c13d831ec7', // USDT
    '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48', // USDC
    '0x6b175474e89094c44da98b954eedeac495271d0f', // DAI
  ],
  prefix: 4,
  suffix: 4,
  counterpartyLookback: '90d',
  severity: 55,
  paidWithin: '30d',
  paidSeverity: 95,
  mode: 'active',
};

interface Pair {
  victim: string;
  lookalike: string;
  imitates: string;
}

/** Victim/look-alike pairs among zero-value transfers: either side may imitate a recent counterparty of
 * the other (transferFrom(victim, lookalike, 0) or a fake transfer from the look-alike to the victim). */
function pairs(events: CorrelationEvent[], ctx: RuleContext, p: AddressPoisoningParams): Pair[] {
  const since = ctx.now - ms(p.counterpartyLookback);
  const out: Pair[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    if (e.kind !== 'transfer' || !e.record.from || !e.record.to) continue;
    const from = addr(e.record.from);
    const to = addr(e.record.to);
    for (const [victim, other] of [
      [from, to],
      [to, from],
    ] as const) {
      for (const known of ctx.counterparties.recent(victim, since)) {
        if (known !== other && isLookalike(other, known, p)) {
          const k = `${victim}|${other}`;
          if (!seen.has(k)) out.push({ victim, lookalike: other, imitates: known });
          seen.add(k);
        }
      }
    }
  }
  return out.sort((a, b) => (a.victim + a.lookalike < b.victim + b.lookalike ? -1 : 1));
}

/** The rule's candidate: a token transfer of nothing. Re-keyed, these go to every task (route.ts), so
 * this is the one definition both use. */
export const isZeroValueToken = (r: ChainTransfer): boolean =>
  r.kind !== 'native' && r.kind !== 'utxo' && BigInt(r.amount) === 0n;

/** The zero-value token transfers of one transaction seen so far, and the victims already alerted. */
interface TxLogs {
  ev: CorrelationEvent[];
  fired: string[];
}

/** How long a transaction's logs are kept: its logs share one timestamp, so this only has to outlast the
 * allowed lateness of their delivery. */
const TX_KEEP_MS = 60_000;
/** The logs kept per transaction (a poisoning contract may emit hundreds; the first ones decide). */
const TX_MAX_LOGS = 256;

export function addressPoisoning(overrides: Partial<AddressPoisoningParams> = {}): Rule {
  const p = { ...ADDRESS_POISONING_DEFAULTS, ...overrides };
  const stable = new Set(p.stablecoins.map((s) => s.toLowerCase()));
  const stableShare = (events: CorrelationEvent[]) =>
    events.filter((e) => e.kind === 'transfer' && stable.has(addr(e.record.token))).length /
    Math.max(1, events.length);
  return defineRule({
    id: 'address-poisoning',
    // 2: one alert per victim (keyed address:<victim>), not one per transaction.
    version: 2,
    severity: p.severity,
    mode: p.mode,
    description: `>= ${p.minLogs} zero-value token transfers in one transaction (>= ${p.stablecoinShare * 100}% stablecoins) involving a look-alike (first ${p.prefix}, last ${p.suffix} chars) of a recent counterparty of the victim; one alert per victim`,
    // One alert per victim: a poisoning contract often seeds many victims in one transaction, and each
    // victim's later payment to its look-alike is its own case (address-poisoning-paid is keyed by victim).
    // The transaction's logs are counted whole; the look-alike test needs the victim's counterparties.
    pattern: custom({
      kinds: ['transfer'],
      evaluate(e, ctx, state): Finding[] {
        if (e.kind !== 'transfer' || !isZeroValueToken(e.record)) return [];
        const key = `tx:${e.record.chain}:${e.record.transactionHash.toLowerCase()}`;
        const st = state.get<TxLogs>(key) ?? { ev: [], fired: [] };
        if (st.ev.length >= TX_MAX_LOGS || st.ev.some((x) => x.id === e.id)) return [];
        st.ev.push(e);
        const out: Finding[] = [];
        if (st.ev.length >= p.minLogs && stableShare(st.ev) >= p.stablecoinShare) {
          const byVictim = new Map<string, Pair[]>();
          for (const x of pairs(st.ev, ctx, p))
            if (!st.fired.includes(x.victim)) byVictim.set(x.victim, [...(byVictim.get(x.victim) ?? []), x]);
          for (const [victim, found] of byVictim) {
            st.fired.push(victim);
            out.push({
              key: `address:${victim}`,
              events: [...st.ev],
              facts: { victim, pairs: found.map((x) => ({ ...x })) },
            });
          }
        }
        state.set(key, st, e.time + TX_KEEP_MS);
        return out;
      },
    }),
    alert(f) {
      const found = (f.facts?.pairs ?? []) as unknown as Pair[];
      const first = found[0]!;
      const affixes = sharedAffixes(first.lookalike, first.imitates);
      const tx = as(f.events[0], 'transfer').record.transactionHash;
      return {
        summary: `address poisoning: ${f.events.length} zero-value transfers in ${tx} put look-alike ${first.lookalike} (imitating ${first.imitates}) into ${first.victim}'s history`,
        labels: [
          ...found.map((x) => ({
            entity: x.lookalike,
            entityType: 'address' as const,
            label: 'attacker' as const,
            confidence: 0.8,
          })),
          { entity: first.victim, entityType: 'address', label: 'victim', confidence: 0.8 },
        ],
        details: {
          victim: first.victim,
          lookalike: first.lookalike,
          imitates: first.imitates,
          pairs: found.map((x) => ({ ...x })),
          transactionHash: tx,
          logCount: f.events.length,
          stablecoinShare: stableShare(f.events),
          prefixLen: affixes.prefix,
          suffixLen: affixes.suffix,
        },
      };
    },
  });
}

export function addressPoisoningPaid(overrides: Partial<AddressPoisoningParams> = {}): Rule {
  const p = { ...ADDRESS_POISONING_DEFAULTS, ...overrides };
  const lookalikes = (e: CorrelationEvent): string[] => {
    const d = as(e, 'alert').record.details;
    const list = Array.isArray(d.pairs) ? (d.pairs as unknown as Pair[]) : [];
    return list.map((x) => x.lookalike);
  };
  return defineRule({
    id: 'address-poisoning-paid',
    version: 1,
    severity: p.paidSeverity,
    mode: p.mode,
    description: `the victim of an address-poisoning alert pays the look-alike within ${p.paidWithin}`,
    pattern: sequence({
      within: p.paidWithin,
      steps: [
        on('alert', {
          name: 'address poisoning alert',
          where: (e) =>
            e.record.ruleId === 'address-poisoning' && typeof e.record.details.victim === 'string',
          key: (e) => `address:${String(e.record.details.victim)}`,
        }),
        on('transfer', {
          name: 'victim pays the look-alike',
          where: (e) => amountOf(e) > 0n && !!e.record.from,
          key: (e) => `address:${addr(e.record.from)}`,
          join: (e, [poison]) => lookalikes(poison!).includes(addr(e.record.to)),
        }),
      ],
    }),
    alert(f) {
      const poison = as(f.events[0], 'alert').record;
      const pay = as(f.events[1], 'transfer');
      return {
        summary: `${addr(pay.record.from)} paid ${pay.record.amount} to look-alike ${addr(pay.record.to)} (imitating ${String(poison.details.imitates)}) after poisoning alert ${poison.alertId}`,
        labels: [
          { entity: addr(pay.record.to), entityType: 'address', label: 'attacker', confidence: 0.95 },
          { entity: addr(pay.record.from), entityType: 'address', label: 'victim', confidence: 0.95 },
        ],
        details: {
          poisoningAlertId: poison.alertId,
          imitates: String(poison.details.imitates ?? ''),
          amount: pay.record.amount,
          token: pay.record.token,
          txHash: pay.record.transactionHash,
        },
      };
    },
  });
}
