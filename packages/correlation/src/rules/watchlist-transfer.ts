// Rule 5: a transfer from or to a watchlisted address (exact match). The list version goes into the
// evidence; when a list changes, the retained recent transfers are re-screened.
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

function hit(e: TransferEvent, ctx: RuleContext): { side: 'from' | 'to'; entry: WatchEntry } | null {
  const from = ctx.watchlist.lookup(e.record.from);
  if (from) return { side: 'from', entry: from };
  const to = ctx.watchlist.lookup(e.record.to);
  return to ? { side: 'to', entry: to } : null;
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
        key: (e, ctx) => `address:${hit(e, ctx)!.entry.address}`,
      }),
      { rescreen: p.rescreen },
    ),
    alert(f, ctx) {
      const e = f.events[0] as TransferEvent;
      const h = hit(e, ctx)!;
      const other = addr(h.side === 'from' ? e.record.to : e.record.from);
      return {
        summary: `${h.side === 'from' ? 'transfer from' : 'transfer to'} listed ${h.entry.address} (${h.entry.listId} ${h.entry.listVersion}${h.entry.entryId ? `, entry ${h.entry.entryId}` : ''}${h.entry.program ? `, ${h.entry.program}` : ''}): ${e.record.amount} in ${e.record.transactionHash}`,
        labels: [
          { entity: h.entry.address, entityType: 'address', label: 'attacker', confidence: 0.9 },
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
          symbol: h.entry.symbol,
          matchedAddress: h.entry.address,
          direction: h.side === 'from' ? 'in' : 'out',
          amount: e.record.amount,
          token: e.record.token,
        },
      };
    },
  });
}
