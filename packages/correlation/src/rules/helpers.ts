// Small predicates the catalogue rules share.
import { normalizeAddress } from '../address.ts';
import type { RuleContext } from '../dsl.ts';
import type { CrmEvent, TransferEvent } from '../events.ts';

const lower = (s: string) => s.toLowerCase();

/** Fields of `fields` (case-insensitive) this CRM change changed. */
export function changedFields(e: CrmEvent, fields: readonly string[]): string[] {
  const want = new Set(fields.map(lower));
  return e.record.changedFields.filter((f) => want.has(lower(f)));
}

/** New value of a changed field, as a string (null if absent). */
export function newValue(e: CrmEvent, field: string): string | null {
  const v = Object.entries(e.record.values).find(([k]) => lower(k) === lower(field))?.[1];
  return typeof v === 'string' && v ? v : null;
}

export function oldValue(e: CrmEvent, field: string): string | null {
  const v = Object.entries(e.record.previous ?? {}).find(([k]) => lower(k) === lower(field))?.[1];
  return typeof v === 'string' && v ? v : null;
}

export function amountOf(e: TransferEvent): bigint {
  return BigInt(e.record.amount);
}

/** True when any address of `customer` sent value to `to` since `since`. */
export function customerPaid(ctx: RuleContext, customer: string, to: string, since: number): boolean {
  for (const a of ctx.identity.links(customer).address ?? [])
    if (ctx.counterparties.seen(a, to, since)) return true;
  return false;
}

export function addr(a: string | null): string {
  return a ? normalizeAddress(a) : '';
}

/** Pattern-match an actor as machine (integration/API) rather than a person. */
export function isMachineActor(actor: string | null, patterns: readonly string[]): boolean {
  if (!actor) return false;
  const a = lower(actor);
  return patterns.some((p) => a.includes(lower(p)));
}
