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
  /** The mapped kind of a CRM field for this change's system and object, if any. */
  fieldKind(c: Pick<CrmChange, 'system' | 'objectType'>, field: string): IdentityKind | undefined;
}

function normalize(kind: IdentityKind, v: string): string {
  if (kind === 'address') return normalizeAddress(v);
  if (kind === 'email') return v.trim().toLowerCase();
  if (kind === 'phone') return v.replace(/[^\d+]/g, '');
  return v.trim();
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
  };
}
