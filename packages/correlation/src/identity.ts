// Identity graph: CRM records (contacts, accounts) linked to on-chain addresses, exchange accounts, emails
// and phones through a configured field mapping (e.g. a HubSpot contact property or a Salesforce custom
// field holding a payout address). Kept in the engine's state store, so the changelog restores it.
import { z } from 'zod';
import type { CrmChange } from '@tributary/schemas';
import { normalizeAddress } from './address.ts';
import type { StateScope, StateStore } from './store.ts';

export const identityKind = z.enum(['address', 'exchange-account', 'email', 'phone', 'account']);
export type IdentityKind = z.infer<typeof identityKind>;

export const identityMapping = z.object({
  system: z.enum(['salesforce', 'hubspot']).optional(),
  objectType: z.string().optional(),
  /** CRM field name (HubSpot property, Salesforce API name such as `Payout_Address__c`). */
  field: z.string(),
  as: identityKind,
});
export type IdentityMapping = z.infer<typeof identityMapping>;

export const identityConfig = z.object({ mappings: z.array(identityMapping).default([]) });
export type IdentityConfig = z.infer<typeof identityConfig>;

export const DEFAULT_IDENTITY: IdentityConfig = {
  mappings: [
    { field: 'email', as: 'email' },
    { field: 'phone', as: 'phone' },
    { field: 'mobilephone', as: 'phone' },
    { field: 'payout_address', as: 'address' },
    { field: 'wallet_address', as: 'address' },
    { system: 'salesforce', field: 'Payout_Address__c', as: 'address' },
    { field: 'exchange_account_id', as: 'exchange-account' },
  ],
};

export type Links = Partial<Record<IdentityKind, string[]>>;

export interface IdentityGraph {
  /** Customer id of the CRM record a change is about (`customer:<system>:<object>:<id>`). */
  customerOfRecord(c: Pick<CrmChange, 'system' | 'objectType' | 'recordId'>): string;
  /** Applies a CRM change to the graph; returns the links that were added. */
  apply(c: CrmChange): Links;
  customerOf(kind: IdentityKind, value: string): string | undefined;
  customerOfAddress(address: string | null): string | undefined;
  links(customer: string): Links;
  /** The entities a watchlist can name for a customer: the customer itself and its linked values other than
   * addresses, as `entityOf` writes them (`email:x@y.io`, …). */
  entitiesOf(customer: string): string[];
  /** The addresses linked to the customer an entity (`entityOf`) names or is linked to. */
  addressesOfEntity(entity: string): string[];
  /** The mapped kind of a CRM field for this change's system and object, if any. */
  fieldKind(c: Pick<CrmChange, 'system' | 'objectType'>, field: string): IdentityKind | undefined;
}

function normalize(kind: IdentityKind, v: string): string {
  if (kind === 'address') return normalizeAddress(v);
  if (kind === 'email') return v.trim().toLowerCase();
  if (kind === 'phone') return v.replace(/[^\d+]/g, '');
  return v.trim();
}

/** An entity of the graph named in a watchlist: `customer:<system>:<object type>:<record id>` (a CRM record)
 * or `<kind>:<value>` for a linked value other than an address (`email:`, `phone:`, `exchange-account:`,
 * `account:`). Returns it normalized as the graph stores it, or null if `raw` names no such entity. */
export function entityOf(raw: string): string | null {
  const t = raw.trim();
  const colon = t.indexOf(':');
  if (colon <= 0) return null;
  const kind = t.slice(0, colon);
  const rest = t.slice(colon + 1);
  if (kind === 'customer') {
    const m = /^(salesforce|hubspot):([^:]+):(.+)$/.exec(rest);
    return m ? `customer:${m[1]}:${m[2]!.toLowerCase()}:${m[3]}` : null;
  }
  const parsed = identityKind.safeParse(kind);
  if (!parsed.success || parsed.data === 'address') return null;
  const v = normalize(parsed.data, rest);
  return v ? `${parsed.data}:${v}` : null;
}

export function createIdentityGraph(config: IdentityConfig, store: StateStore): IdentityGraph {
  const kindOf = (c: Pick<CrmChange, 'system' | 'objectType'>, field: string): IdentityKind | undefined => {
    for (const m of config.mappings) {
      if (m.field !== field) continue;
      if (m.system && m.system !== c.system) continue;
      if (m.objectType && m.objectType.toLowerCase() !== c.objectType.toLowerCase()) continue;
      return m.as;
    }
    return undefined;
  };
  const customerOfRecord = (c: Pick<CrmChange, 'system' | 'objectType' | 'recordId'>) =>
    `customer:${c.system}:${c.objectType.toLowerCase()}:${c.recordId}`;
  // One state scope per link kind (`id:x:<kind>:`): lookups by an address do not build a key string.
  const records = store.scope('id:c:');
  const byKind = Object.fromEntries(
    identityKind.options.map((k) => [k, store.scope(`id:x:${k}:`)]),
  ) as Record<IdentityKind, StateScope>;
  const addresses = byKind.address;
  const linksOf = (customer: string): Links => (records.get(customer) as Links | undefined) ?? {};
  const unlink = (customer: string, kind: IdentityKind, value: string) => {
    if (byKind[kind].get(value) === customer) byKind[kind].delete(value);
  };

  return {
    customerOfRecord,
    fieldKind: kindOf,
    apply(c) {
      const customer = customerOfRecord(c);
      const before = linksOf(customer);
      if (c.changeType === 'delete') {
        for (const [kind, values] of Object.entries(before) as [IdentityKind, string[]][])
          for (const v of values) unlink(customer, kind, v);
        records.delete(customer);
        return {};
      }
      // Each mapped field holds one current value: a change replaces the value the field had.
      const fieldValues = new Map<IdentityKind, Set<string>>();
      const next: Links = structuredClone(before);
      const added: Links = {};
      for (const [field, raw] of Object.entries(c.values)) {
        const kind = kindOf(c, field);
        if (!kind) continue;
        const prevRaw = c.previous?.[field];
        if (typeof prevRaw === 'string' && prevRaw) {
          const old = normalize(kind, prevRaw);
          next[kind] = (next[kind] ?? []).filter((v) => v !== old);
          unlink(customer, kind, old);
        }
        if (typeof raw !== 'string' || !raw) continue;
        const v = normalize(kind, raw);
        let set = fieldValues.get(kind);
        if (!set) fieldValues.set(kind, (set = new Set()));
        set.add(v);
        if (!(next[kind] ?? []).includes(v)) {
          next[kind] = [...(next[kind] ?? []), v];
          (added[kind] ??= []).push(v);
        }
        byKind[kind].set(v, customer);
      }
      if (JSON.stringify(next) !== JSON.stringify(before)) records.set(customer, next);
      return added;
    },
    customerOf: (kind, value) => byKind[kind].get(normalize(kind, value)) as string | undefined,
    customerOfAddress(address) {
      return address ? (addresses.get(normalizeAddress(address)) as string | undefined) : undefined;
    },
    links: linksOf,
    entitiesOf(customer) {
      const out = [customer];
      for (const [kind, values] of Object.entries(linksOf(customer)) as [IdentityKind, string[]][])
        if (kind !== 'address') for (const v of values) out.push(`${kind}:${v}`);
      return out;
    },
    addressesOfEntity(entity) {
      const colon = entity.indexOf(':');
      const kind = entity.slice(0, colon);
      const customer =
        kind === 'customer'
          ? entity
          : (byKind[kind as IdentityKind]?.get(entity.slice(colon + 1)) as string | undefined);
      return customer ? (linksOf(customer).address ?? []) : [];
    },
  };
}
