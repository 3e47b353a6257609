// Rule 8: a new or dormant account drained. An outflow of >= 90% of the balance the processor has seen
// for the address (per asset), when the address (or its CRM customer) is < 7 d old and was funded < 24 h
// earlier, or when it was idle > 180 d (FATF: "a new user transferring their entire balance", activity on
// "a new or previously inactive account"). Balances are the observed flows, not chain state.
import { custom, defineRule, type Rule } from '../dsl.ts';
import type { CorrelationEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';
import { addr, amountOf } from './helpers.ts';

export interface AccountDrainParams {
  newAccountAge: Duration;
  /** New accounts: the drain must come this soon after the last deposit. */
  drainWithin: Duration;
  dormancy: Duration;
  /** Outflow / balance, percent. */
  drainPercent: number;
  /** Minimum outflow in base units. */
  minAmount: string;
  severity: number;
  mode: Rule['mode'];
}

export const ACCOUNT_DRAIN_DEFAULTS: AccountDrainParams = {
  newAccountAge: '7d',
  drainWithin: '24h',
  dormancy: '180d',
  drainPercent: 90,
  minAmount: '1',
  severity: 70,
  mode: 'active',
};

interface Account {
  first: number;
  last: number;
  bal: Record<string, string>;
  /** Written by earlier versions; the last deposit is now under `dep:<address>` (see below). */
  deposit?: CorrelationEvent | null;
}

export function accountDrain(overrides: Partial<AccountDrainParams> = {}): Rule {
  const p = { ...ACCOUNT_DRAIN_DEFAULTS, ...overrides };
  const newAge = ms(p.newAccountAge);
  const within = ms(p.drainWithin);
  const dormancy = ms(p.dormancy);
  const min = BigInt(p.minAmount);
  const keep = dormancy + 30 * 86_400_000;
  const pct = BigInt(p.drainPercent);
  return defineRule({
    id: 'account-drain',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `outflow of >= ${p.drainPercent}% of the seen balance from an account < ${p.newAccountAge} old (within ${p.drainWithin} of funding) or idle > ${p.dormancy}`,
    pattern: custom({
      kinds: ['transfer', 'crm'],
      retention: p.dormancy,
      evaluate(e, ctx, state) {
        if (e.kind === 'crm') {
          if (e.record.changeType === 'create')
            state.set(`created:${ctx.identity.customerOfRecord(e.record)}`, e.time, e.time + newAge);
          return [];
        }
        if (e.kind !== 'transfer' || !e.record.from || !e.record.to) return [];
        const amount = amountOf(e);
        if (amount <= 0n) return [];
        const asset = addr(e.record.token) || 'native';
        const from = addr(e.record.from);
        const to = addr(e.record.to);
        const findings = [];
        const src = state.get<Account>(`acct:${from}`);
        if (src) {
          // The last deposit is kept apart from the account, and only while it can count as recent: the
          // account entry lives for the dormancy period and is rewritten on every transfer, and with the
          // deposit event inside it was the largest state the processor wrote to its changelog.
          const deposit = state.get<CorrelationEvent>(`dep:${from}`) ?? src.deposit ?? null;
          const before = BigInt(src.bal[asset] ?? '0');
          const customer = ctx.identity.customerOfAddress(from);
          const created = customer ? state.get<number>(`created:${customer}`) : undefined;
          const isNew = e.time - src.first < newAge || (created !== undefined && e.time - created < newAge);
          const fundedRecently = deposit !== null && e.time - deposit.time <= within;
          const idle = e.time - src.last;
          const dormant = idle > dormancy;
          if (
            before > 0n &&
            amount >= min &&
            amount * 100n >= pct * before &&
            ((isNew && fundedRecently) || dormant)
          ) {
            findings.push({
              key: customer ?? `address:${from}`,
              events: deposit && !dormant ? [deposit, e] : [e],
              anchors: [e],
              facts: {
                address: from,
                reason: dormant ? 'dormant' : 'new',
                balanceBefore: before.toString(),
                amount: amount.toString(),
                asset,
                idleDays: Math.floor(idle / 86_400_000),
                accountAgeDays: Math.floor((e.time - src.first) / 86_400_000),
              },
            });
          }
          const left = before - amount;
          // In place: the store serializes the entry at commit, after this event; copying cost GC time.
          src.last = e.time;
          src.bal[asset] = (left > 0n ? left : 0n).toString();
          if (src.deposit !== undefined) {
            if (src.deposit) state.set(`dep:${from}`, src.deposit, src.deposit.time + within);
            delete src.deposit;
          }
          state.set(`acct:${from}`, src, e.time + keep);
        } else {
          state.set(`acct:${from}`, { first: e.time, last: e.time, bal: {} }, e.time + keep);
        }
        const dst = state.get<Account>(`acct:${to}`) ?? { first: e.time, last: e.time, bal: {} };
        // A dormant account's clock restarts only on its own outflow: an inflow does not make it active.
        dst.bal[asset] = (BigInt(dst.bal[asset] ?? '0') + amount).toString();
        delete dst.deposit;
        state.set(`acct:${to}`, dst, e.time + keep);
        // Needed while a drain can still count as "soon after funding" (swept once the watermark passes).
        state.set(`dep:${to}`, e, e.time + within);
        return findings;
      },
    }),
    alert(f) {
      return {
        summary: `${String(f.facts?.reason)} account ${String(f.facts?.address)} sent ${String(f.facts?.amount)} of its ${String(f.facts?.balanceBefore)} ${String(f.facts?.asset)} balance`,
        labels: [
          { entity: String(f.facts?.address), entityType: 'address', label: 'victim', confidence: 0.5 },
        ],
      };
    },
  });
}
