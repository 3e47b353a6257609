// The committed position of one object type, and the versions remembered for the lookback's dedupe.
//
// Head cursor (ts, id): every version with (lastmodified, id) <= (ts, id) has been handled; id null means
// every version with lastmodified <= ts. Versions are emitted in (lastmodified, id) order, so this is exact
// after a crash. `settled`: every version with lastmodified <= settled is final: it was read when it was
// already older than settle + lookback (so indexed), or its range has had the second (lookback) search.
// `fast`: versions up to it not read yet will be read when already that old, so `settled` follows the head
// cursor up to it without a second search (a backlog costs one pass). `seen`: versions emitted with
// lastmodified in (settled, ts], by timestamp, so the second search emits only what the first could not
// see. `archived`: the same kind of cursor over (archivedAt, id) for deletes.
import { z } from 'zod';

export const pollOffsetSchema = z.object({
  v: z.literal(1),
  ts: z.number().int(),
  id: z.string().nullable(),
  settled: z.number().int(),
  fast: z.number().int(),
  seen: z.record(z.string(), z.array(z.string())),
  archived: z.object({ at: z.number().int(), id: z.string().nullable() }),
});

export type PollOffset = z.infer<typeof pollOffsetSchema>;

export function initialOffset(startFrom: 'beginning' | 'now' | string, now: number): PollOffset {
  const ts = startFrom === 'beginning' ? 0 : startFrom === 'now' ? now : Date.parse(startFrom);
  return { v: 1, ts, id: null, settled: ts, fast: ts, seen: {}, archived: { at: ts, id: null } };
}

/** (ts, id) ordering with numeric ids (HubSpot ids are integers as strings); null id = after every id. */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length && /^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePos(ats: number, aid: string | null, bts: number, bid: string | null): number {
  if (ats !== bts) return ats - bts;
  if (aid === bid) return 0;
  if (aid === null) return 1;
  if (bid === null) return -1;
  return compareIds(aid, bid);
}

/** The last timestamp whose versions are all handled by the head cursor. */
export function headComplete(o: PollOffset): number {
  return o.id === null ? o.ts : o.ts - 1;
}

/** The remembered versions as a set of `ts:id` for lookups. */
export function seenSet(o: PollOffset): Set<string> {
  const s = new Set<string>();
  for (const [ts, ids] of Object.entries(o.seen)) for (const id of ids) s.add(`${ts}:${id}`);
  return s;
}

/** After the head cursor moved: `settled` follows it as far as `fast` allows, and while nothing is left
 * unsettled behind the head, reads from now on are settled up to `safe` (now - settle - lookback). */
export function advanceSettled(o: PollOffset, safe: number): PollOffset {
  const head = headComplete(o);
  let next = o;
  if (o.fast > o.settled) next = settleTo(next, Math.min(o.fast, head));
  if (next.settled >= head && safe > next.fast) next = { ...next, fast: safe };
  return next;
}

export function seenCount(o: PollOffset): number {
  let n = 0;
  for (const ids of Object.values(o.seen)) n += ids.length;
  return n;
}

/** A copy with `versions` remembered: only those the lookback may search again (not at or below
 * `settled`, nor at or below `fast`: those were read when already settled). */
export function withSeen(o: PollOffset, versions: readonly { ts: number; id: string }[]): PollOffset {
  const add = new Map<string, string[]>();
  const floor = Math.max(o.settled, o.fast);
  for (const v of versions) {
    if (v.ts <= floor) continue;
    const k = String(v.ts);
    const ids = add.get(k);
    if (ids) ids.push(v.id);
    else add.set(k, [v.id]);
  }
  if (!add.size) return o;
  const seen = { ...o.seen };
  for (const [k, ids] of add) {
    const have = seen[k];
    if (!have) {
      seen[k] = [...new Set(ids)];
      continue;
    }
    const set = new Set(have);
    for (const id of ids) set.add(id);
    seen[k] = [...set];
  }
  return { ...o, seen };
}

/** A copy with `settled` moved to `to` and the versions at or below it forgotten. */
export function settleTo(o: PollOffset, to: number): PollOffset {
  if (to <= o.settled) return o;
  const seen: Record<string, string[]> = {};
  for (const [k, ids] of Object.entries(o.seen)) if (Number(k) > to) seen[k] = ids;
  return { ...o, settled: to, seen };
}

/** When the remembered versions exceed `max`, settles the oldest timestamps without their second search
 * (returns the new offset and the range given up, for a warning). */
export function capSeen(o: PollOffset, max: number): { offset: PollOffset; gaveUp: [number, number] | null } {
  let n = seenCount(o);
  if (n <= max) return { offset: o, gaveUp: null };
  const keys = Object.keys(o.seen)
    .map(Number)
    .sort((a, b) => a - b);
  let to = o.settled;
  for (const k of keys) {
    if (n <= max) break;
    n -= o.seen[String(k)]!.length;
    to = k;
  }
  return { offset: settleTo(o, to), gaveUp: [o.settled, to] };
}
