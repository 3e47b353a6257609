// HubSpot's wire shapes, validated from the raw JSON: a search or list page, one CRM object, property
// history entries. An object that can be placed (id and last-modified time known) but is otherwise broken
// becomes a dead letter at its position; one that cannot be placed is reported separately.
import { z } from 'zod';

/** Epoch ms from HubSpot's datetime text: ISO 8601 in responses, epoch ms in some places. NaN if neither. */
export function parseTime(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v !== 'string' || v === '') return NaN;
  if (/^\d+$/.test(v)) return Number(v);
  return /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
}

const isoTime = z.string().refine((s) => !Number.isNaN(parseTime(s)), 'expected an ISO datetime');

const objectSchema = z.object({
  id: z.string().regex(/^\d+$/, 'expected a numeric id'),
  properties: z.record(z.string(), z.string().nullable()),
  createdAt: isoTime,
  updatedAt: isoTime,
  archived: z.boolean().optional(),
  archivedAt: isoTime.optional(),
});

export interface WireObject {
  id: string;
  /** Position: last-modified time (ms); for an archived object, its archive time. */
  ts: number;
  createdAt: number;
  updatedAt: number;
  archivedAt: number | null;
  properties: Record<string, string | null>;
}

export type ParsedObject =
  | { kind: 'ok'; object: WireObject }
  | { kind: 'malformed'; id: string; ts: number; error: string; raw: unknown }
  | { kind: 'unplaceable'; id: string | null; error: string; raw: unknown };

const record = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** Validates one object. `position` picks what orders it: last-modified (search) or archivedAt (deletes). */
export function parseObject(
  raw: unknown,
  lastModified: string,
  position: 'modified' | 'archived',
): ParsedObject {
  const r = record(raw);
  const id = r && (typeof r.id === 'string' || typeof r.id === 'number') ? String(r.id) : null;
  const props = r ? record(r.properties) : null;
  // Where it sits: the property HubSpot filtered on, falling back to updatedAt (the same time) when the
  // properties are unusable.
  const ts =
    position === 'archived'
      ? parseTime(r?.archivedAt)
      : (() => {
          const t = parseTime(props?.[lastModified]);
          return Number.isNaN(t) ? parseTime(r?.updatedAt) : t;
        })();
  if (id === null || !/^\d+$/.test(id) || Number.isNaN(ts))
    return {
      kind: 'unplaceable',
      id: id !== null && /^\d+$/.test(id) ? id : null,
      error: `object without a usable id or ${position === 'archived' ? 'archivedAt' : lastModified}`,
      raw,
    };
  const parsed = objectSchema.safeParse(raw);
  if (!parsed.success) {
    const error = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(object)'}: ${i.message}`)
      .join('; ');
    return { kind: 'malformed', id, ts, error, raw };
  }
  const o = parsed.data;
  return {
    kind: 'ok',
    object: {
      id,
      ts,
      createdAt: parseTime(o.createdAt),
      updatedAt: parseTime(o.updatedAt),
      archivedAt: o.archivedAt === undefined ? null : parseTime(o.archivedAt),
      properties: o.properties,
    },
  };
}

const pageSchema = z.object({
  total: z.number().int().nonnegative().optional(),
  results: z.array(z.unknown()),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});

export interface Page {
  total: number;
  results: unknown[];
  after: string | null;
}

/** A search or list page; a page that is not one is a server fault (retried), not a record to skip. */
export function parsePage(raw: unknown, what: string): Page {
  const p = pageSchema.safeParse(raw);
  if (!p.success) throw new Error(`${what}: malformed page (${p.error.issues[0]?.message ?? 'unknown'})`);
  return {
    total: p.data.total ?? p.data.results.length,
    results: p.data.results,
    after: p.data.paging?.next?.after ?? null,
  };
}

export interface HistoryEntry {
  value: string | null;
  timestamp: number;
  sourceType: string | null;
  sourceId: string | null;
  updatedByUserId: number | null;
}

const historyEntry = z.object({
  value: z.string().nullable().optional(),
  timestamp: isoTime,
  sourceType: z.string().optional(),
  sourceId: z.string().optional(),
  updatedByUserId: z.number().optional(),
});

/** id -> property -> history, newest first, from a batch-read response (unparseable entries dropped). */
export function parseHistories(raw: unknown): Map<string, Record<string, HistoryEntry[]>> {
  const out = new Map<string, Record<string, HistoryEntry[]>>();
  const body = record(raw);
  const results = body?.results ?? (body?.category === 'OBJECT_NOT_FOUND' ? [] : undefined);
  if (!Array.isArray(results)) throw new Error('batch read: response without results');
  for (const r of results) {
    const o = record(r);
    const h = record(o?.propertiesWithHistory);
    if (!o || typeof o.id !== 'string' || !h) continue;
    const props: Record<string, HistoryEntry[]> = {};
    for (const [name, entries] of Object.entries(h)) {
      if (!Array.isArray(entries)) continue;
      props[name] = entries
        .map((e) => historyEntry.safeParse(e))
        .filter((e) => e.success)
        .map(({ data: e }) => ({
          value: e.value ?? null,
          timestamp: parseTime(e.timestamp),
          sourceType: e.sourceType ?? null,
          sourceId: e.sourceId ?? null,
          updatedByUserId: e.updatedByUserId ?? null,
        }))
        .sort((a, b) => b.timestamp - a.timestamp);
    }
    out.set(o.id, props);
  }
  return out;
}
