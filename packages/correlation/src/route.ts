// Re-keying by entity: which partition of the by-entity topic an event goes to, and which task owns a
// state key. One module for both sides, so the rekey stage that writes and the processor tasks that read
// can never disagree: the rekey stage routes an event to the partition of every routing entity it
// concerns, and a task evaluates a state key only if the key's routing entity hashes to its partition.
import type { KafkaMessage, Message } from 'kafkajs';
import {
  decodeAs,
  type CorrelationEvent,
  type DecodeResult,
  type EventKind,
  type EventRef,
} from './events.ts';
import type { IdentityGraph } from './identity.ts';
import type { Rule } from './dsl.ts';
import { normalizeAddress } from './address.ts';
import { isZeroValueToken } from './rules/address-poisoning.ts';

/** 32-bit FNV-1a with murmur3's finalizer (FNV's low bits alone split similar addresses 35/65 over two
 * partitions): a stable, even spread of entities over partitions. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export const partitionOf = (routingEntity: string, partitions: number): number =>
  hash(routingEntity) % partitions;

/** The routing entity that owns a state or finding key, or null for a key that is not an entity's (a
 * transaction, a peel chain): such keys are evaluated by every task from what that task receives.
 * `address:X` belongs to X's customer when the identity graph links one (so a customer's CRM changes and
 * the transfers of all of its addresses meet in one task), else to the address. */
export function ownerOf(key: string, identity: Pick<IdentityGraph, 'customerOfAddress'>): string | null {
  if (key.startsWith('address:')) {
    const a = key.slice('address:'.length);
    return identity.customerOfAddress(a) ?? `address:${normalizeAddress(a)}`;
  }
  if (key.startsWith('customer:') || key.startsWith('actor:') || key.startsWith('market:')) return key;
  return null;
}

/** The routing entity of a rule that joins alerts of different entities (`Rule.crossEntity`): it runs in
 * one task, and the rekey stage sends the alerts it consumes there. */
export const crossEntityOwner = (ruleId: string): string => `rule:${ruleId}`;

/** Alert rule id -> the routing entities of the enabled cross-entity rules that consume those alerts. */
export function chainedAlertsOf(rules: Pick<Rule, 'id' | 'mode' | 'crossEntity'>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rules)
    if (r.crossEntity && r.mode !== 'disabled')
      for (const id of r.crossEntity.consumes) out.set(id, [...(out.get(id) ?? []), crossEntityOwner(r.id)]);
  return out;
}

export interface RouteOptions {
  partitions: number;
  /** Alerts (by rule id) consumed by cross-entity rules, and the routing entity of each such rule. */
  chainedAlerts: Map<string, string[]>;
}

/** The partitions of the by-entity topic an event goes to (sorted, each once), given the identity graph
 * after the event was applied:
 * - a transfer: the owners of its sender and of its receiver; a UTXO output also goes to its chain's
 *   task (`chain:<chain>`), where the chain's transactions are (the peel-chain rule joins the two);
 * - a zero-value token transfer: every partition. Address poisoning counts a transaction's zero-value
 *   logs whole, and tests each victim against the victim's counterparties, which only the victim's task
 *   holds; a poisoning transaction often seeds victims of several tasks;
 * - a transaction: `chain:<chain>` (only the peel-chain rule reads transactions);
 * - a trade: `market:<symbol>` (the venues of one symbol meet);
 * - a CRM change: every partition. CRM changes are few next to transfers, and so every task holds the whole
 *   identity graph, in the order the rekey stage applied it: a task's answer to "who owns this address"
 *   is the rekey stage's answer when it routed the event;
 * - an alert: the tasks of the cross-entity rules that consume it (none for most alerts). */
export function routesOf(e: CorrelationEvent, identity: IdentityGraph, o: RouteOptions): number[] {
  const at = new Set<number>();
  const add = (entity: string) => at.add(partitionOf(entity, o.partitions));
  switch (e.kind) {
    case 'transfer':
      if (isZeroValueToken(e.record)) {
        for (let p = 0; p < o.partitions; p++) at.add(p);
        break;
      }
      for (const a of [e.record.from, e.record.to]) if (a) add(ownerOf(`address:${a}`, identity)!);
      if (e.record.kind === 'utxo') add(`chain:${e.record.chain}`);
      if (at.size === 0) add(`chain:${e.record.chain}`);
      break;
    case 'transaction':
      add(`chain:${e.record.chain}`);
      break;
    case 'trade':
      add(`market:${e.record.symbol}`);
      break;
    case 'crm':
      for (let p = 0; p < o.partitions; p++) at.add(p);
      break;
    case 'alert':
      for (const owner of o.chainedAlerts.get(e.record.ruleId) ?? []) add(owner);
      break;
    case 'watchlist':
      break; // read whole by every task, outside the group
  }
  return [...at].sort((a, b) => a - b);
}

// The by-entity record: the source record's bytes, unchanged, with where it came from in headers, so a
// task decodes it as the source topic's kind and its evidence names the source position.
const KIND = 'tributary-rekey-kind';
const SOURCE = 'tributary-rekey-source';

export function routedMessage(e: CorrelationEvent, value: Buffer, partition: number): Message {
  return {
    partition,
    key: e.id,
    value,
    headers: { [KIND]: e.kind, [SOURCE]: `${e.ref.partition}:${e.ref.offset}:${e.ref.topic}` },
  };
}

/** A by-entity record: decoded as its source's kind, its evidence naming the source position. */
export function decodeRouted(m: Pick<KafkaMessage, 'headers' | 'value' | 'timestamp'>): DecodeResult {
  const source = routedSource(m.headers);
  if (typeof source === 'string') return { ok: false, code: 'invalid', reason: source };
  return decodeAs(source.kind, source.ref, m.value, Number(m.timestamp));
}

const ROUTED_KINDS = new Set<string>(['transfer', 'transaction', 'trade', 'crm', 'alert']);

/** The kind and source position of a by-entity record, or a reason it has none. */
export function routedSource(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): { kind: EventKind; ref: EventRef } | string {
  const header = (name: string): string | undefined => {
    const v = headers?.[name];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined ? undefined : one.toString();
  };
  const kind = header(KIND);
  const source = header(SOURCE);
  if (!kind || !ROUTED_KINDS.has(kind)) return `no or unknown ${KIND} header`;
  const m = source ? /^(\d+):(\d+):(.+)$/.exec(source) : null;
  if (!m) return `no or malformed ${SOURCE} header`;
  return { kind: kind as EventKind, ref: { topic: m[3]!, partition: Number(m[1]), offset: m[2]! } };
}
