// Rule 5: a transfer from or to a watchlisted address (exact match), or from or to an address linked to a
// watchlisted entity (a CRM customer, or its email, phone or exchange account, through the identity graph).
// The list version goes into the evidence; when a list changes, the retained recent transfers are
// re-screened.
import { defineRule, match, on, type Rule, type RuleContext } from '../dsl.ts';
import type { TransferEvent } from '../events.ts';
import type { Duration } from '../time.ts';
import type { WatchEntry } from '../watchlist.ts';
import { addr } from './helpers.ts';

export interface WatchlistTransferParams {
  /** How far back transfers are re-screened when a list changes. */
  rescreen: Duration;
  severity: number;
  mode: Rule['mode'];
}

export const WATCHLIST_TRANSFER_DEFAULTS: WatchlistTransferParams = {
  rescreen: '7d',
  severity: 95,
  mode: 'active',
};

interface Hit {
  side: 'from' | 'to';
  entry: WatchEntry;
  /** The customer the side's address is linked to, for an entity entry. */
  customer: string | null;
}

/** A listed address first (an exact match), then a listed entity of a side's customer. */
function hit(e: TransferEvent, ctx: RuleContext): Hit | null {
  const from = ctx.watchlist.lookup(e.record.from);
  if (from) return { side: 'from', entry: from, customer: null };
  const to = ctx.watchlist.lookup(e.record.to);
  if (to) return { side: 'to', entry: to, customer: null };
  const fromEntity = ctx.watchlist.lookupEntity(e.record.from);
  if (fromEntity) return { side: 'from', ...fromEntity };
  const toEntity = ctx.watchlist.lookupEntity(e.record.to);
  return toEntity ? { side: 'to', ...toEntity } : null;
}

/** What the alert says was listed: the address, or the entity and the customer it led to. */
function listed(h: Hit, address: string | null): string {
  const e = h.entry;
  const what = h.customer
    ? `${address ?? '?'} of ${h.customer}, listed as ${e.entity}`
    : `listed ${e.address}`;
  const about = [
    `${e.listId} ${e.listVersion}`,
    ...(e.entryId ? [`entry ${e.entryId}`] : []),
    ...(e.name ? [e.name] : []),
    ...(e.program ? [e.program] : []),
  ];
  return `${what} (${about.join(', ')})`;
}

export function watchlistTransfer(overrides: Partial<WatchlistTransferParams> = {}): Rule {
  const p = { ...WATCHLIST_TRANSFER_DEFAULTS, ...overrides };
  return defineRule({
    id: 'watchlist-transfer',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `transfer from or to a watchlisted address (exact match); re-screens ${p.rescreen} of traffic when a list changes`,
    pattern: match(
      on('transfer', {
        name: 'transfer touching a listed address',
        // The lookup first: it is cheaper than parsing the amount and almost always misses.
        where: (e, ctx) => hit(e, ctx) !== null && BigInt(e.record.amount) > 0n,
        key: (e, ctx) => {
          const h = hit(e, ctx)!;
          return h.customer ?? `address:${h.entry.address}`;
        },
      }),
      { rescreen: p.rescreen },
    ),
    alert(f, ctx) {
      const e = f.events[0] as TransferEvent;
      const h = hit(e, ctx)!;
      const mine = addr(h.side === 'from' ? e.record.from : e.record.to);
      const other = addr(h.side === 'from' ? e.record.to : e.record.from);
      return {
        summary: `${h.side === 'from' ? 'transfer from' : 'transfer to'} ${listed(h, mine)}: ${e.record.amount} in ${e.record.transactionHash}`,
        labels: [
          h.customer
            ? // Through CRM data: less certain than an exact address match.
              { entity: h.customer, entityType: 'customer', label: 'attacker', confidence: 0.7 }
            : { entity: h.entry.address!, entityType: 'address', label: 'attacker', confidence: 0.9 },
          ...(other
            ? [{ entity: other, entityType: 'address' as const, label: 'subject' as const, confidence: 0.9 }]
            : []),
        ],
        details: {
          listId: h.entry.listId,
          listVersion: h.entry.listVersion,
          watchlistVersion: ctx.watchlist.version,
          entryId: h.entry.entryId,
          program: h.entry.program,
          name: h.entry.name ?? null,
          symbol: h.entry.symbol,
          matchedAddress: h.entry.address ?? mine,
          matchedEntity: h.entry.entity ?? null,
          customer: h.customer,
          direction: h.side === 'from' ? 'in' : 'out',
          amount: e.record.amount,
          token: e.record.token,
        },
      };
    },
  });
}
