// The in-memory engine: evaluates every rule on each event (in event time, with allowed lateness), keeps
// keyed windowed state in a StateStore (the processor mirrors its changes to a compacted changelog), and
// returns the alerts. Pure with respect to Kafka: the backtest and the unit tests drive it directly.
import type { Logger } from 'pino';
import type { JsonValue } from '@tributary/sdk';
import { alertId } from './alert-id.ts';
import { normalizeAddress } from './address.ts';
import {
  band,
  type AnyStep,
  type Finding,
  type Pattern,
  type Rule,
  type RuleContext,
  type RuleState,
  type SequencePattern,
} from './dsl.ts';
import {
  describeEvent,
  makeEvent,
  type AlertEvent,
  type CorrelationEvent,
  type EventKind,
  type EventOf,
} from './events.ts';
import {
  createIdentityGraph,
  DEFAULT_IDENTITY,
  entityOf,
  type IdentityConfig,
  type IdentityGraph,
} from './identity.ts';
import type { Alert } from './json-types.ts';
import { crossEntityOwner, ownerOf, partitionOf } from './route.ts';
import { createStore, type StateScope, type StateStore, type StoredEntry } from './store.ts';
import { ms, type Duration } from './time.ts';
import { EMPTY_WATCHLIST, type WatchEntry, type Watchlist } from './watchlist.ts';

export interface EngineOptions {
  rules: Rule[];
  identity?: IdentityConfig;
  watchlist?: Watchlist;
  /** Events older than (max event time seen - allowedLateness) are late: counted, not matched. Default 1h. */
  allowedLateness?: Duration;
  /** How long `address -> counterparty` facts are kept (default 90d). */
  counterpartyRetention?: Duration;
  /** Most counterparties kept per address (default 200, most recent win). */
  maxCounterparties?: number;
  /** Most events kept per key and step (default 64, most recent win). */
  maxEventsPerKey?: number;
  /** Physical alerts topic (evidence of chained alerts). */
  alertsTopic?: string;
  store?: StateStore;
  logger?: Logger;
  /** Re-keyed input (a task of a partitioned processor behind the rekey stage, see route.ts): an event
   * reaches the task of each entity it concerns, and this task evaluates a state key only if it owns the
   * key, so each finding is raised once, by the task that holds its key's state. */
  ownership?: { task: number; partitions: number };
  /** Keep the identity graph only: no counterparty facts (the rekey stage, which runs no rules). */
  identityOnly?: boolean;
}

export interface Emitted {
  alert: Alert;
  topic: 'active' | 'test';
}

export interface EngineStats {
  events: number;
  late: number;
  alerts: number;
  duplicates: number;
  stateKeys: number;
}

export interface Engine {
  readonly store: StateStore;
  /** The identity graph, as of the last event processed. */
  readonly identity: IdentityGraph;
  /** Evaluates one event; returns the alerts it completes (including alerts of rules chained on them). */
  process(e: CorrelationEvent): Emitted[];
  /** Replaces the file watchlist; re-screens the retained recent events of `rescreen` rules. */
  setWatchlist(list: Watchlist): Emitted[];
  /** Current watermark (max event time - allowed lateness). */
  watermark(): number;
  /** Call after restoring the store from the changelog: resolves event references, rebuilds in-memory
   * indexes. */
  restored(): void;
  /** The changelog value of a state entry (see changelogMessages): JSON, in which a transfer that the
   * re-screen buffer (`rs:`) holds for at least as long as the entry lives is written as `{"$ev": id}`
   * instead of in full. A transfer sits in the windows and sequences of several rules and is rewritten
   * with each of them; its full form goes to the changelog once, as its `rs:` entry. */
  serialize(key: string, entry: StoredEntry): string;
  stats(): EngineStats;
}

type Stored = CorrelationEvent;
interface SeqState {
  s: Stored[][];
}
interface AbsState {
  a: Stored[];
  b: Stored[];
}
interface WinState {
  ev: Stored[];
  cd: number | null;
}

const DAY = 86_400_000;

/** `cp:` values as JSON (the changelog form): counterparties and the last event time each was paid, as a
 * flat list `[address, time, address, time, …]` in insertion order (`m`, an object keyed by address, is
 * the form earlier versions wrote; it is still read). */
interface CounterpartiesJson {
  n: number;
  e?: (string | number)[];
  m?: Record<string, number>;
}

/** Who an address paid, and when last. In memory a Map: as a plain object with up to 250 address keys,
 * every lookup had to internalize the address string and every new key reshaped a dictionary object. The
 * order the counterparties are listed in is still a plain object's (`entries`). */
class Counterparties {
  constructor(
    /** Entries in `m` (kept so a hub address costs O(1) per transfer, not O(entries)). */
    public n: number,
    public m: Map<string, number>,
  ) {}

  static from(json: CounterpartiesJson): Counterparties {
    if (!json.e) return new Counterparties(json.n, new Map(Object.entries(json.m ?? {})));
    const m = new Map<string, number>();
    for (let i = 0; i + 1 < json.e.length; i += 2) m.set(json.e[i] as string, json.e[i + 1] as number);
    return new Counterparties(json.n, m);
  }

  /** The entries in the order a plain object enumerates its keys (array-index keys first, ascending, then
   * insertion order), which is the order the facts had when they were stored as an object. */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    let indexes: [string, number][] | null = null;
    for (const entry of this.m) {
      if (isArrayIndex(entry[0])) (indexes ??= []).push(entry);
      else out.push(entry);
    }
    if (!indexes) return out;
    indexes.sort((a, b) => Number(a[0]) - Number(b[0]));
    return [...indexes, ...out];
  }

  toJSON(): CounterpartiesJson {
    // A flat array: an object keyed by address was a dictionary-mode object built for every write, and
    // slow to serialize.
    const e: (string | number)[] = [];
    for (const [k, t] of this.m) e.push(k, t);
    return { n: this.n, e };
  }
}

/** True for the keys a JS object orders numerically ahead of the others ('0', '17', not '0x1f', '01'). */
function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  return /^(?:0|[1-9]\d*)$/.test(k) && Number(k) < 4294967295;
}

/** The event kinds a pattern can react to. */
function kindsOf(p: Pattern): EventKind[] {
  switch (p.type) {
    case 'match':
    case 'window':
      return [p.step.kind];
    case 'sequence':
      return p.steps.map((s) => s.kind);
    case 'absence':
      return [p.first.kind, p.missing.kind];
    case 'custom':
      return p.kinds;
  }
}

function retention(rule: Rule): number {
  const p = rule.pattern;
  if (p.type === 'custom') return ms(p.retention ?? '30d');
  if (p.type === 'match') return Math.max(DAY, p.rescreen ? ms(p.rescreen) : 0);
  return ms(p.within);
}

function byTime(a: Stored, b: Stored): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function insertSorted(list: Stored[], e: Stored, cap: number): void {
  for (let i = 0; i < list.length; i++) if (list[i]!.id === e.id) return;
  // Binary insertion (the list is sorted and ids are unique): same order as push + sort, without the sort.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byTime(list[mid]!, e) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, e);
  if (list.length > cap) list.splice(0, list.length - cap);
}

function inChain(chain: Stored[], c: Stored): boolean {
  for (const x of chain) if (x.id === c.id) return true;
  return false;
}

function maxTimeOf(lists: Stored[][]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const l of lists) for (const x of l) if (x.time > m) m = x.time;
  return m;
}

/** Every chain (one event per step, in time order, within `within` of the first) containing `e` at
 * position `at`, earliest first, at most 8. Hoisted out of runSequence: no closure per event. */
function searchChains(
  steps: AnyStep[],
  lists: Stored[][],
  at: number,
  e: Stored,
  within: number,
  chain: Stored[],
  pos: number,
  found: Stored[][],
): void {
  if (found.length >= 8) return;
  if (pos === steps.length) {
    found.push([...chain]);
    return;
  }
  const candidates = lists[pos]!;
  const n = pos === at ? 1 : candidates.length;
  for (let ci = 0; ci < n; ci++) {
    const c = pos === at ? e : candidates[ci]!;
    const prev = chain[pos - 1];
    if (prev && c.time < prev.time) continue;
    if (inChain(chain, c)) continue;
    if (pos > 0 && c.time - chain[0]!.time > within) continue;
    if (pos > at && c.time < e.time) continue;
    const step = steps[pos]!;
    if (pos > 0 && step.join && !step.join(c as never, chain)) continue;
    chain.push(c);
    searchChains(steps, lists, at, e, within, chain, pos + 1, found);
    chain.pop();
  }
}

export function createEngine(opts: EngineOptions): Engine {
  const store = opts.store ?? createStore();
  const identity = createIdentityGraph(opts.identity ?? DEFAULT_IDENTITY, store);
  // Rules ask for the customer of the same one or two addresses many times per transfer; the graph cannot
  // change while one event is evaluated, so answers are memoized per event (cleared in process()).
  const addrMemo = new Map<string, string | undefined>();
  const ruleIdentity: IdentityGraph = {
    ...identity,
    customerOfAddress(address) {
      if (!address) return undefined;
      if (addrMemo.has(address)) return addrMemo.get(address);
      const c = identity.customerOfAddress(address);
      addrMemo.set(address, c);
      return c;
    },
  };
  // Watchlist entries from the topic, mirrored from the store (`wl:` keys: an address, or an entity, which
  // always holds a colon) so the per-transfer lookups do not probe the large state map; rebuilt by
  // restored(). Entries stored before entity entries existed have no `entity` field: addresses.
  const wlTopic = new Map<string, WatchEntry>();
  const wlTopicEntities = new Map<string, WatchEntry>();
  const mirrorWatchlist = () => {
    wlTopic.clear();
    wlTopicEntities.clear();
    for (const [k, entry] of wlState.entries()) {
      const w = entry.v as unknown as WatchEntry;
      (w.entity ? wlTopicEntities : wlTopic).set(k, w);
    }
  };
  // Every prefix of the engine's state gets its own scope (see store.ts: no key string per lookup).
  const meta = store.scope('meta:');
  const findings = store.scope('f:');
  const wlState = store.scope('wl:');
  const rsState = store.scope('rs:');
  const cpState = store.scope('cp:');
  mirrorWatchlist();
  const lateness = ms(opts.allowedLateness ?? '1h');
  const cpRetention = ms(opts.counterpartyRetention ?? '90d');
  const maxCp = opts.maxCounterparties ?? 200;
  const cap = opts.maxEventsPerKey ?? 64;
  const windowCap = Math.max(cap, 4096);
  const alertsTopic = opts.alertsTopic ?? 'alerts';
  const own = opts.ownership;
  // A cross-entity rule runs in one task only (route.ts); the other tasks leave it out.
  const rules = opts.rules.filter(
    (r) =>
      r.mode !== 'disabled' &&
      (!own || !r.crossEntity || partitionOf(crossEntityOwner(r.id), own.partitions) === own.task),
  );
  // Whether this task owns a key, memoized per event (a CRM change can move an address's owner).
  const ownMemo = new Map<string, boolean>();
  const owns = (key: string): boolean => {
    if (!own) return true;
    let v = ownMemo.get(key);
    if (v === undefined) {
      const owner = ownerOf(key, ruleIdentity);
      v = owner === null || partitionOf(owner, own.partitions) === own.task;
      ownMemo.set(key, v);
    }
    return v;
  };
  // Rule state of one address goes to the changelog as one record (store.ts).
  const ruleStates = new Map<Rule, StateScope>(
    rules.map((r) => [r, store.scope(`r:${r.id}:`, { byAddress: true })]),
  );
  const stateOf = (rule: Rule): StateScope => ruleStates.get(rule)!;
  // Durations parsed once per rule (ms() runs a regex; it ran several times per event).
  const withins = new Map<Rule, number>(
    rules.map((r) => [r, 'within' in r.pattern ? ms(r.pattern.within) : 0]),
  );
  const withinOf = (rule: Rule): number => withins.get(rule)!;
  const retentions = new Map<Rule, number>(rules.map((r) => [r, retention(r)]));
  // The rules an event kind can concern (a step or a custom rule's kinds takes it), in catalogue order: the
  // others would return at once, so evaluate() skips them.
  const rulesByKind = new Map<EventKind, Rule[]>();
  const rulesFor = (kind: EventKind): Rule[] => {
    let list = rulesByKind.get(kind);
    if (!list) rulesByKind.set(kind, (list = rules.filter((r) => kindsOf(r.pattern).includes(kind))));
    return list;
  };
  const ids = new Set<string>();
  for (const r of opts.rules) {
    if (ids.has(r.id)) throw new Error(`duplicate rule id ${r.id}`);
    ids.add(r.id);
  }
  let fileList = opts.watchlist ?? EMPTY_WATCHLIST;
  const stats = { events: 0, late: 0, alerts: 0, duplicates: 0 };
  const rescreenMs = Math.max(
    0,
    ...rules.map((r) => (r.pattern.type === 'match' && r.pattern.rescreen ? ms(r.pattern.rescreen) : 0)),
  );
  // Absence rules: state keys with a pending deadline (rebuilt from the store after a restore). One map in
  // insertion order over all rules, keyed by the full state key, so deadlines fire in the order they were
  // set; absence rules are rare, so building the key here costs nothing that matters.
  interface Pending {
    rule: Rule;
    key: string;
    due: number;
  }
  const pending = new Map<string, Pending>();
  const setPending = (rule: Rule, key: string, due: number): void => {
    const sk = `r:${rule.id}:${key}`;
    const cur = pending.get(sk);
    if (cur) cur.due = due;
    else pending.set(sk, { rule, key, due });
  };

  let maxTime = (meta.get('maxTime') as number | undefined) ?? Number.NEGATIVE_INFINITY;
  let lastSweep = maxTime;
  let sinceSweep = 0;
  let now = 0;

  const watchlist = {
    lookup(address: string | null): WatchEntry | undefined {
      if (!address) return undefined;
      const a = normalizeAddress(address);
      const fromTopic = wlTopic.size ? wlTopic.get(a) : undefined;
      return fromTopic ?? fileList.entries.get(a);
    },
    lookupEntity(address: string | null) {
      // Entity lists are rare and short; the customer lookup is memoized per event.
      if (!address || (wlTopicEntities.size === 0 && fileList.entities.size === 0)) return undefined;
      const customer = ruleIdentity.customerOfAddress(address);
      if (!customer) return undefined;
      for (const entity of identity.entitiesOf(customer)) {
        const entry = wlTopicEntities.get(entity) ?? fileList.entities.get(entity);
        if (entry) return { entry, customer };
      }
      return undefined;
    },
    get version() {
      return `${fileList.version}/${(meta.get('wlTopicVersion') as string | undefined) ?? '-'}`;
    },
  };
  const counterparties = {
    seen(from: string, to: string, since: number): boolean {
      const t = cpOf(normalizeAddress(from))?.m.get(normalizeAddress(to));
      return t !== undefined && t >= since;
    },
    recent(address: string, since: number): string[] {
      const cp = cpOf(normalizeAddress(address));
      const out: string[] = [];
      if (cp) for (const [a, t] of cp.entries()) if (t >= since) out.push(a);
      return out;
    },
  };
  const ctx: RuleContext = {
    identity: ruleIdentity,
    watchlist,
    counterparties,
    get now() {
      return now;
    },
  };
  const wm = () => maxTime - lateness;

  function stepKey(step: AnyStep, e: CorrelationEvent): string | null {
    if (step.kind !== e.kind) return null;
    if (step.where && !step.where(e as never, ctx)) return null;
    const key = step.key(e as never, ctx) ?? null;
    return key === null || owns(key) ? key : null;
  }

  function evidenceOf(e: CorrelationEvent): Alert['evidence'] {
    if (e.kind === 'alert')
      return e.record.evidence.map((x) => ({
        ...x,
        summary: `[via ${e.record.ruleId} ${e.record.alertId}] ${x.summary}`,
      }));
    return [
      {
        topic: e.ref.topic,
        partition: e.ref.partition,
        offset: e.ref.offset,
        id: e.id,
        summary: describeEvent(e),
      },
    ];
  }

  function emit(rule: Rule, f: Finding, depth: number, out: Emitted[]): void {
    const anchors = f.anchors ?? f.events.slice(0, 1);
    const id = alertId(
      rule.id,
      rule.version,
      f.key,
      anchors.map((a) => a.id),
    );
    if (findings.has(id)) {
      stats.duplicates++;
      return;
    }
    const time = f.time ?? Math.max(...f.events.map((e) => e.time));
    const anchorTime = Math.min(...anchors.map((a) => a.time));
    findings.set(id, 1, Math.max(anchorTime + retentions.get(rule)!, time) + lateness);
    const c = rule.alert(f, ctx);
    const score = Math.max(0, Math.min(100, Math.round(c.score ?? rule.severity)));
    const evidence = (rule.evidence ? rule.evidence(f) : f.events).flatMap(evidenceOf);
    const alert: Alert = {
      alertId: id,
      ruleId: rule.id,
      ruleVersion: rule.version,
      mode: rule.mode === 'test' ? 'test' : 'active',
      severity: band(score),
      score,
      entity: f.key,
      time: new Date(time).toISOString(),
      summary: c.summary,
      labels: c.labels ?? [],
      evidence,
      details: { ...(f.facts ?? {}), ...(c.details ?? {}) },
    };
    stats.alerts++;
    out.push({ alert, topic: alert.mode });
    if (depth < 3) {
      const ev: AlertEvent = makeEvent(
        'alert',
        alert,
        { topic: alertsTopic, partition: 0, offset: '-1' },
        time,
      );
      evaluate(ev, depth + 1, out);
    }
  }

  // One scoped state per rule, built once (not per event).
  const scopes = new Map<Rule, RuleState>();
  function scoped(rule: Rule): RuleState {
    let sc = scopes.get(rule);
    if (!sc) scopes.set(rule, (sc = makeScope(rule)));
    return sc;
  }
  function makeScope(rule: Rule): RuleState {
    const st = stateOf(rule);
    return {
      get: <T>(k: string) => st.get(k) as T | undefined,
      set: (k, v, exp) => st.set(k, v as JsonValue, exp),
      delete: (k) => st.delete(k),
    };
  }

  function runSequence(rule: Rule, p: SequencePattern, e: Stored, depth: number, out: Emitted[]): void {
    const { steps } = p;
    // The keys of the steps e matches, all computed before any state changes. Most events match none:
    // then nothing is allocated.
    let keys: (string | null)[] | null = null;
    for (let i = 0; i < steps.length; i++) {
      const k = stepKey(steps[i]!, e);
      if (k) (keys ??= steps.map(() => null))[i] = k;
    }
    if (!keys) return;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key) advanceSequence(rule, steps, i, key, e, depth, out);
    }
  }

  /** Adds e as step `i` of `key`'s sequence state and fires the first new chain it completes. */
  function advanceSequence(
    rule: Rule,
    steps: AnyStep[],
    i: number,
    key: string,
    e: Stored,
    depth: number,
    out: Emitted[],
  ): void {
    const within = withinOf(rule);
    const state = stateOf(rule);
    const st = (state.get(key) as unknown as SeqState | undefined) ?? { s: steps.map(() => []) };
    const w = wm();
    const floor = w - within;
    // A later-step event x needs a first-step event at or before x.time. Events still to come are at or
    // after the watermark, so once the watermark passed x and no stored first-step event precedes it, x
    // can never complete a chain: drop it (most keys only ever see later-step events).
    const first = st.s[0]!.length ? st.s[0]![0]!.time : Number.POSITIVE_INFINITY;
    for (let j = 0; j < st.s.length; j++) {
      const list = st.s[j]!;
      for (let k = list.length - 1; k >= 0; k--) {
        const t = list[k]!.time;
        if (t < floor || (j > 0 && t < w && t < first)) list.splice(k, 1);
      }
    }
    insertSorted(st.s[i]!, e, cap);
    // Every chain containing e at position i, earliest first; the first one whose alert is new fires.
    // No chain can complete while another step has no events yet (the common case): skip the search.
    let complete = true;
    for (let j = 0; j < st.s.length; j++) if (j !== i && st.s[j]!.length === 0) complete = false;
    const found: Stored[][] = [];
    if (complete) searchChains(steps, st.s, i, e, within, [], 0, found);
    // Without a first-step event, the entry is only needed until the watermark passes its events.
    state.set(key, st as unknown as JsonValue, maxTimeOf(st.s) + (st.s[0]!.length ? within : 0));
    for (const events of found) {
      const before = out.length;
      emit(rule, { key, events }, depth, out);
      if (out.length > before) break;
    }
  }

  function runWindow(rule: Rule, e: Stored, depth: number, out: Emitted[]): void {
    const p = rule.pattern;
    if (p.type !== 'window') return;
    const key = stepKey(p.step, e);
    if (!key) return;
    const within = withinOf(rule);
    const state = stateOf(rule);
    const st = (state.get(key) as unknown as WinState | undefined) ?? { ev: [], cd: null };
    if (st.cd !== null && e.time <= st.cd) return;
    insertSorted(st.ev, e, windowCap);
    const last = st.ev[st.ev.length - 1]!.time;
    // The list is sorted: drop the expired prefix in place (no new array per event).
    let drop = 0;
    while (drop < st.ev.length && st.ev[drop]!.time < last - within) drop++;
    if (drop > 0) st.ev.splice(0, drop);
    let value: number | bigint;
    const m = p.measure;
    if (m.type === 'count') value = st.ev.length;
    else if (m.type === 'sum') value = st.ev.reduce((a, x) => a + m.value(x), 0n);
    else value = new Set(st.ev.map((x) => m.value(x))).size;
    const reached = typeof p.atLeast === 'bigint' ? BigInt(value) >= p.atLeast : Number(value) >= p.atLeast;
    if (reached && (!p.having || p.having(st.ev, ctx))) {
      const events = [...st.ev];
      const anchorCount = m.type === 'count' ? Math.min(events.length, Number(p.atLeast)) : 1;
      emit(
        rule,
        {
          key,
          events,
          anchors: events.slice(0, anchorCount),
          facts: { measure: m.type, value: String(value), threshold: String(p.atLeast) },
        },
        depth,
        out,
      );
      st.ev = [];
      st.cd = last + ms(p.cooldown ?? p.within);
    }
    state.set(key, st as unknown as JsonValue, Math.max(last + within, st.cd ?? 0));
  }

  function runAbsence(rule: Rule, e: Stored): void {
    const p = rule.pattern;
    if (p.type !== 'absence') return;
    const within = ms(p.within);
    for (const [step, slot] of [
      [p.first, 'a'],
      [p.missing, 'b'],
    ] as const) {
      const key = stepKey(step, e);
      if (!key) continue;
      const state = stateOf(rule);
      const st = (state.get(key) as unknown as AbsState | undefined) ?? { a: [], b: [] };
      insertSorted(st[slot], e, cap);
      const due = Math.min(...st.a.map((x) => x.time + within));
      if (Number.isFinite(due)) setPending(rule, key, due);
      state.set(key, st as unknown as JsonValue, Math.max(...[...st.a, ...st.b].map((x) => x.time)) + within);
    }
  }

  /** Fires absence rules whose deadline the watermark passed. */
  function checkAbsences(out: Emitted[]): void {
    const w = wm();
    for (const [sk, pend] of pending) {
      const { rule, key, due } = pend;
      if (due >= w) continue;
      const state = stateOf(rule);
      const st = state.get(key) as unknown as AbsState | undefined;
      if (rule.pattern.type !== 'absence' || !st) {
        pending.delete(sk);
        continue;
      }
      const within = ms(rule.pattern.within);
      const missing = rule.pattern.missing;
      const keep: Stored[] = [];
      for (const a of st.a) {
        if (a.time + within >= w) {
          keep.push(a);
          continue;
        }
        const answered = st.b.some(
          (b) =>
            b.time >= a.time && b.time <= a.time + within && (!missing.join || missing.join(b as never, [a])),
        );
        if (!answered) {
          now = a.time + within;
          emit(
            rule,
            { key, events: [a], time: a.time + within, facts: { missing: missing.name, withinMs: within } },
            0,
            out,
          );
        }
      }
      st.a = keep;
      st.b = st.b.filter((b) => b.time + within >= w - within);
      if (st.a.length === 0) pending.delete(sk);
      else pend.due = Math.min(...st.a.map((x) => x.time + within));
      if (st.a.length === 0 && st.b.length === 0) state.delete(key);
      else
        state.set(
          key,
          st as unknown as JsonValue,
          Math.max(...[...st.a, ...st.b].map((x) => x.time)) + within,
        );
    }
  }

  function evaluate(e: CorrelationEvent, depth: number, out: Emitted[]): void {
    for (const rule of rulesFor(e.kind)) {
      const p = rule.pattern;
      // Chained alerts: active rules only see active alerts; test rules see both.
      if (e.kind === 'alert' && e.record.mode === 'test' && rule.mode !== 'test') continue;
      if (e.kind === 'alert' && e.record.ruleId === rule.id) continue;
      switch (p.type) {
        case 'match': {
          const key = stepKey(p.step, e);
          if (key) emit(rule, { key, events: [e] }, depth, out);
          break;
        }
        case 'sequence':
          runSequence(rule, p, e, depth, out);
          break;
        case 'window':
          runWindow(rule, e, depth, out);
          break;
        case 'absence':
          runAbsence(rule, e);
          break;
        case 'custom':
          // Custom rules keep their own state; what is filtered is the finding (a cross-entity rule is
          // in this engine only if this task owns the rule).
          for (const f of p.evaluate(e, ctx, scoped(rule)))
            if (rule.crossEntity || owns(f.key)) emit(rule, f, depth, out);
          break;
      }
    }
  }

  /** The stored counterparty facts of an address (revived if restored from the changelog). */
  function cpOf(address: string): Counterparties | undefined {
    const v = cpState.get(address) as unknown as Counterparties | CounterpartiesJson | undefined;
    return v === undefined || v instanceof Counterparties ? v : Counterparties.from(v);
  }

  function recordFacts(e: CorrelationEvent): void {
    if (e.kind !== 'transfer' || opts.identityOnly) return;
    const r = e.record;
    if (!r.from || !r.to || BigInt(r.amount) <= 0n) return;
    const key = normalizeAddress(r.from);
    // Re-keyed: the sender's task keeps its facts (another task's partial copy would let it see a
    // look-alike of a counterparty and raise a finding that belongs to the sender's task).
    if (own && !owns(`address:${key}`)) return;
    const cp = cpOf(key) ?? new Counterparties(0, new Map());
    const to = normalizeAddress(r.to);
    const prev = cp.m.get(to);
    if (prev === undefined) cp.n++;
    cp.m.set(to, Math.max(prev ?? 0, e.time));
    if (cp.n > maxCp * 1.25) {
      // Keep the most recent maxCp (amortized: runs once per maxCp/4 new counterparties).
      const kept = cp
        .entries()
        .sort((a, b) => b[1] - a[1])
        .slice(0, maxCp);
      cp.m = new Map(kept);
      cp.n = kept.length;
    }
    const entryExp = Math.max(e.time, prev ?? 0) + cpRetention;
    cpState.set(key, cp as unknown as JsonValue, entryExp);
    if (rescreenMs > 0) {
      retain(e);
      rsState.set(e.id, e as unknown as JsonValue, e.time + rescreenMs);
    }
  }

  function rescreen(addresses: Set<string> | null, out: Emitted[]): void {
    if (rescreenMs === 0) return;
    const events: CorrelationEvent[] = [];
    for (const [, entry] of rsState.entries()) events.push(entry.v as unknown as CorrelationEvent);
    events.sort(byTime);
    for (const e of events) {
      if (e.kind !== 'transfer') continue;
      const addrs = [e.record.from, e.record.to].filter((a): a is string => !!a).map(normalizeAddress);
      if (addresses && !addrs.some((a) => addresses.has(a))) continue;
      now = e.time;
      for (const rule of rules) {
        const p = rule.pattern;
        if (p.type !== 'match' || !p.rescreen || e.time < maxTime - ms(p.rescreen)) continue;
        const key = stepKey(p.step, e);
        if (key) emit(rule, { key, events: [e] }, 0, out);
      }
    }
  }

  /** The addresses to re-screen for these watchlist entries: a listed address, or those linked to the
   * customer a listed entity names or is linked to (as the identity graph stands now). */
  function addressesToRescreen(entries: Iterable<WatchEntry>): Set<string> {
    const out = new Set<string>();
    for (const w of entries)
      if (w.entity) for (const a of identity.addressesOfEntity(w.entity)) out.add(normalizeAddress(a));
      else if (w.address) out.add(w.address);
    return out;
  }

  function applyWatchlistRecord(e: EventOf<'watchlist'>, out: Emitted[]): void {
    const r = e.record;
    // The schema lets through exactly one of them, and only an entity entityOf accepts.
    const entity = r.entity === null ? null : entityOf(r.entity);
    const k = entity ?? normalizeAddress(r.address!);
    const mirror = entity ? wlTopicEntities : wlTopic;
    if (r.op === 'remove') {
      wlState.delete(k);
      mirror.delete(k);
    } else {
      const entry: WatchEntry = {
        address: entity ? null : k,
        entity,
        name: r.name,
        listId: r.listId,
        listVersion: r.listVersion,
        entryId: r.entryId,
        program: r.program,
        symbol: r.symbol,
      };
      wlState.set(k, entry as unknown as JsonValue);
      mirror.set(k, entry);
    }
    meta.set('wlTopicVersion', r.listVersion);
    if (r.op === 'add') {
      const addresses = addressesToRescreen([mirror.get(k)!]);
      if (addresses.size > 0) rescreen(addresses, out);
    }
  }

  // How a retained transfer is written (serialize): the expiry of the state entry being written, or
  // +Infinity outside serialize (then every event is written in full).
  let writingExp = Number.POSITIVE_INFINITY;
  /** toJSON of the transfers rs: holds: a reference when the rs: entry outlives the entry being written.
   * A toJSON on the retained events, rather than a replacer, keeps JSON.stringify on its native path for
   * everything else in the value (a replacer cost a JavaScript call per key and value). */
  function retainedToJSON(this: Stored): unknown {
    const kept = rsState.entry(this.id);
    return kept !== undefined && kept.v === (this as unknown) && kept.exp !== null && kept.exp >= writingExp
      ? { $ev: this.id }
      : this;
  }
  /** Gives a retained transfer this engine's toJSON. An event object fed to several engines (tests, a
   * backtest next to a processor) carries the last one's: another engine then writes it in full, which
   * is always correct, only not compact (a reference needs the engine that holds it to be writing). */
  function retain(e: Stored): void {
    Object.defineProperty(e, 'toJSON', { value: retainedToJSON, enumerable: false, configurable: true });
  }

  /** Replaces `{"$ev": id}` in a restored value by the event the re-screen buffer holds (see serialize). */
  function resolveRefs(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = resolveRefs(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    const ref = o.$ev;
    if (typeof ref === 'string') {
      const e = rsState.get(ref);
      // The writer only refers to events whose rs: entry outlives the referring entry: a miss is a bug.
      if (e === undefined)
        throw new Error(`changelog: state refers to event ${ref}, which rs: does not hold`);
      return e;
    }
    for (const k of Object.keys(o)) o[k] = resolveRefs(o[k]);
    return o;
  }

  return {
    store,
    identity,
    serialize(key, entry) {
      // Only rule state holds events next to their rs: copy; rs: entries themselves are written in full.
      if (rescreenMs === 0 || entry.exp === null || !key.startsWith('r:')) return JSON.stringify(entry);
      writingExp = entry.exp;
      try {
        return JSON.stringify(entry);
      } finally {
        writingExp = Number.POSITIVE_INFINITY;
      }
    },
    process(e) {
      stats.events++;
      addrMemo.clear();
      ownMemo.clear();
      const out: Emitted[] = [];
      // An alert read from an input topic was raised after its event time, by another processor or task:
      // the rules that consume alerts bound time themselves, so it is never late.
      const late = e.kind !== 'alert' && e.time < wm();
      if (e.kind === 'crm') {
        identity.apply(e.record);
        addrMemo.clear();
        ownMemo.clear();
      }
      if (e.kind === 'watchlist') {
        applyWatchlistRecord(e, out);
        return out;
      }
      if (e.time > maxTime) {
        maxTime = e.time;
        meta.set('maxTime', maxTime);
      }
      now = e.time;
      if (late) {
        stats.late++;
        opts.logger?.debug(
          {
            id: e.id,
            kind: e.kind,
            time: new Date(e.time).toISOString(),
            watermark: new Date(wm()).toISOString(),
          },
          'late event: not matched',
        );
        recordFacts(e);
        return out;
      }
      evaluate(e, 0, out);
      recordFacts(e);
      checkAbsences(out);
      // Sweeping visits every key: do it when enough events passed to amortize it to O(1) per event.
      if (++sinceSweep >= Math.max(10_000, store.size() / 2) && maxTime > lastSweep) {
        store.sweep(wm());
        lastSweep = maxTime;
        sinceSweep = 0;
      }
      return out;
    },
    setWatchlist(list) {
      const out: Emitted[] = [];
      addrMemo.clear();
      ownMemo.clear();
      fileList = list;
      if (meta.get('wlFileVersion') === list.version) return out;
      meta.set('wlFileVersion', list.version);
      // Re-screen against every entry: alert ids are deterministic, so findings already raised dedupe.
      const addresses = addressesToRescreen([...list.entries.values(), ...list.entities.values()]);
      if (addresses.size > 0) rescreen(addresses, out);
      return out;
    },
    watermark: wm,
    restored() {
      maxTime = (meta.get('maxTime') as number | undefined) ?? Number.NEGATIVE_INFINITY;
      lastSweep = maxTime;
      pending.clear();
      addrMemo.clear();
      mirrorWatchlist();
      for (const [, entry] of rsState.entries()) retain(entry.v as unknown as Stored);
      for (const rule of rules)
        for (const [, entry] of stateOf(rule).entries()) entry.v = resolveRefs(entry.v) as JsonValue;
      // Counterparty facts come back as JSON: turn them into their in-memory form once, not per lookup.
      for (const [k, entry] of cpState.entries())
        if (!(entry.v instanceof Counterparties))
          store.restore(cpState.prefix + k, {
            v: Counterparties.from(entry.v as unknown as CounterpartiesJson) as unknown as JsonValue,
            exp: entry.exp,
          });
      for (const rule of rules) {
        if (rule.pattern.type !== 'absence') continue;
        const within = ms(rule.pattern.within);
        for (const [k, entry] of stateOf(rule).entries()) {
          const st = entry.v as unknown as AbsState;
          if (st.a.length) setPending(rule, k, Math.min(...st.a.map((x) => x.time + within)));
        }
      }
    },
    stats: () => ({ ...stats, stateKeys: store.size() }),
  };
}
