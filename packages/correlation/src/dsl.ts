// The rules DSL: rules are plain data plus small predicate functions, readable by an analyst.
//
//   defineRule({
//     id: 'payout-address-change', version: 1, severity: 75, mode: 'active',
//     description: 'CRM payout address changed, then funds sent to the new address',
//     pattern: sequence({
//       within: '72h',
//       steps: [
//         on('crm', { name: 'payout address changed', where: (e) => changed(e, 'payout_address'), key: (e, ctx) => ctx.identity.customerOfRecord(e.record) }),
//         on('transfer', { name: 'transfer to the new address', key: (e, ctx) => ctx.identity.customerOfAddress(e.record.to),
//           join: (e, [change]) => e.record.to === newValue(change) }),
//       ],
//     }),
//     alert: (m) => ({ summary: `...`, labels: [...] }),
//   });
import type { Alert, JsonObject } from './json-types.ts';
import type { CorrelationEvent, EventKind, EventOf } from './events.ts';
import type { IdentityGraph } from './identity.ts';
import type { WatchEntry } from './watchlist.ts';
import { ms, type Duration } from './time.ts';

export type Mode = 'active' | 'test' | 'disabled';
export type Label = Alert['labels'][number];

/** What predicates can look at besides the event: reference data and facts, as of this event. */
export interface RuleContext {
  identity: IdentityGraph;
  watchlist: {
    /** The entry listing this address. */
    lookup(address: string | null): WatchEntry | undefined;
    /** An entry listing an entity of the customer this address is linked to (the customer itself, its
     * email, phone, exchange account…), with that customer. */
    lookupEntity(address: string | null): { entry: WatchEntry; customer: string } | undefined;
    readonly version: string;
  };
  counterparties: {
    /** True when `from` sent value (amount > 0) to `to` at or after event time `since`. */
    seen(from: string, to: string, since: number): boolean;
    /** Addresses `address` sent value to at or after `since`. */
    recent(address: string, since: number): string[];
  };
  /** Event time of the event being evaluated (ms). */
  readonly now: number;
}

/** One event pattern: which kind, which events of it, and the entity key they are grouped by. */
export interface Step<K extends EventKind> {
  name: string;
  kind: K;
  /** Filter evaluated when the event arrives (may use reference data as of then). */
  where?(e: EventOf<K>, ctx: RuleContext): boolean;
  /** The entity this event belongs to (e.g. `customer:...`, `address:...`); null = not keyed, skip. */
  key(e: EventOf<K>, ctx: RuleContext): string | null | undefined;
  /** Relation to the events of the earlier steps; pure (it is re-run on restored state). */
  join?(e: EventOf<K>, earlier: CorrelationEvent[]): boolean;
}

/** A step of any kind (what patterns hold). */
export type AnyStep = { [K in EventKind]: Step<K> }[EventKind];

export function on<K extends EventKind>(kind: K, spec: Omit<Step<K>, 'kind'>): Step<K> {
  return { ...spec, kind };
}

export interface MatchPattern {
  type: 'match';
  step: AnyStep;
  /** Keep matched-kind events this long and re-run the rule over them when a watchlist changes. */
  rescreen?: Duration;
}
export interface SequencePattern {
  type: 'sequence';
  steps: AnyStep[];
  /** Measured from the first step's event (EQL maxspan). */
  within: Duration;
}
export interface AbsencePattern {
  type: 'absence';
  first: AnyStep;
  missing: AnyStep;
  within: Duration;
}
export type Measure =
  | { type: 'count' }
  | { type: 'sum'; value(e: CorrelationEvent): bigint }
  | { type: 'distinct'; value(e: CorrelationEvent): string };
export interface WindowPattern {
  type: 'window';
  step: AnyStep;
  within: Duration;
  measure: Measure;
  /** Fires when the measure is >= this. */
  atLeast: number | bigint;
  /** Further condition over the events in the window. */
  having?(events: CorrelationEvent[], ctx: RuleContext): boolean;
  /** After firing, the key stays quiet this long (default: `within`). */
  cooldown?: Duration;
}

/** Scoped keyed state for a custom rule (changelog-backed like everything else). */
export interface RuleState {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown, expiresAt: number | null): void;
  delete(key: string): void;
}
export interface CustomPattern {
  type: 'custom';
  kinds: EventKind[];
  evaluate(e: CorrelationEvent, ctx: RuleContext, state: RuleState): Finding[];
  /** How long the alert-id dedup marker is kept (default 30d). */
  retention?: Duration;
}

export type Pattern = MatchPattern | SequencePattern | AbsencePattern | WindowPattern | CustomPattern;

/** What a pattern found: the key, the events (in step order) and facts for the alert. */
export interface Finding {
  key: string;
  events: CorrelationEvent[];
  /** Events whose ids make the alert id (default: the first event). */
  anchors?: CorrelationEvent[];
  facts?: JsonObject;
  /** Event time of the finding (default: the latest event). */
  time?: number;
}

export interface AlertContent {
  summary: string;
  /** 0-100; default the rule's severity. */
  score?: number;
  labels?: Label[];
  details?: JsonObject;
}

export interface Rule {
  id: string;
  version: number;
  /** Base score 0-100 (bands: 0-39 low, 40-69 medium, 70-89 high, 90-100 critical). */
  severity: number;
  mode: Mode;
  description: string;
  pattern: Pattern;
  /** The evidence the alert carries (default: every event of the finding). */
  evidence?(f: Finding): CorrelationEvent[];
  alert(f: Finding, ctx: RuleContext): AlertContent;
  /** A rule that joins alerts raised for different entities (the rule ids it consumes). With re-keyed
   * inputs it runs in one task, and the rekey stage sends it those alerts through Kafka; elsewhere it
   * sees them chained in-process as any rule does. */
  crossEntity?: { consumes: string[] };
}

export function defineRule(rule: Rule): Rule {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(rule.id))
    throw new Error(`rule id '${rule.id}' must be lowercase kebab-case`);
  if (!Number.isInteger(rule.version) || rule.version < 1)
    throw new Error(`rule ${rule.id}: version must be a positive integer`);
  if (!Number.isInteger(rule.severity) || rule.severity < 0 || rule.severity > 100)
    throw new Error(`rule ${rule.id}: severity must be 0-100`);
  const p = rule.pattern;
  if (p.type === 'sequence' && p.steps.length < 2)
    throw new Error(`rule ${rule.id}: a sequence needs at least two steps`);
  if ('within' in p) ms(p.within);
  return rule;
}

export function match(step: AnyStep, opts: { rescreen?: Duration } = {}): MatchPattern {
  return { type: 'match', step, ...opts };
}
export function sequence(p: Omit<SequencePattern, 'type'>): SequencePattern {
  return { type: 'sequence', ...p };
}
export function absence(p: Omit<AbsencePattern, 'type'>): AbsencePattern {
  return { type: 'absence', ...p };
}
export function window(p: Omit<WindowPattern, 'type'>): WindowPattern {
  return { type: 'window', ...p };
}
export function custom(p: Omit<CustomPattern, 'type'>): CustomPattern {
  return { type: 'custom', ...p };
}
export const count = (): Measure => ({ type: 'count' });
export const sum = (value: (e: CorrelationEvent) => bigint): Measure => ({ type: 'sum', value });
export const distinct = (value: (e: CorrelationEvent) => string): Measure => ({ type: 'distinct', value });

/** Narrows an event from `earlier` / a finding to a kind (throws if it is another kind). */
export function as<K extends EventKind>(e: CorrelationEvent | undefined, kind: K): EventOf<K> {
  if (!e || e.kind !== kind) throw new Error(`expected a ${kind} event, got ${e?.kind ?? 'none'}`);
  return e as EventOf<K>;
}

/** Severity band of a 0-100 score. */
export function band(score: number): Alert['severity'] {
  if (score >= 90) return 'critical';
  if (score >= 70) return 'high';
  if (score >= 40) return 'medium';
  return 'low';
}
