// CRM v3 search semantics: filter groups (OR of ANDs), one sort, `limit` <= 200, an `after` offset that may
// not reach past the 10,000th result, string property values, datetimes compared as epoch ms.
import {
  isDateProperty,
  lastModifiedProperty,
  type HubSpotObject,
  type HubSpotStore,
  type HubSpotVersion,
} from './store.ts';

export interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups?: { filters?: SearchFilter[] }[];
  sorts?: (string | { propertyName: string; direction?: string })[];
  properties?: string[];
  limit?: number;
  after?: string | number;
  query?: string;
}

export class SearchError extends Error {}

export const SEARCH_LIMITS = { groups: 5, filtersPerGroup: 10, filtersTotal: 25, maxLimit: 200 };

const OPERATORS = new Set([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
]);

/** A comparable form of a property value: epoch ms for datetimes, numbers for numeric text, else text. */
function comparable(objectType: string, name: string, v: string): number | string {
  if (isDateProperty(objectType, name)) {
    const n = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isNaN(n)) throw new SearchError(`invalid datetime value "${v}" for ${name}`);
    return n;
  }
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v.toLowerCase();
}

function compare(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

type Compiled = (v: HubSpotVersion, createdAt: number) => boolean;

/** The comparable value of a property of a version; the hot ones (timestamps, id) without parsing. */
function valueOf(
  objectType: string,
  v: HubSpotVersion,
  createdAt: number,
  name: string,
): number | string | null {
  if (name === lastModifiedProperty(objectType)) return v.ts;
  if (name === 'createdate') return createdAt;
  if (name === 'hs_object_id') return Number(v.id);
  const raw = v.properties[name];
  return raw === null || raw === undefined || raw === '' ? null : comparable(objectType, name, raw);
}

/** Parses a filter's values once per request and returns its predicate. */
function compile(objectType: string, f: SearchFilter): Compiled {
  const get = (v: HubSpotVersion, c: number) => valueOf(objectType, v, c, f.propertyName);
  const want = (x: string | undefined) => {
    if (x === undefined) throw new SearchError(`filter on ${f.propertyName} ${f.operator} needs a value`);
    return comparable(objectType, f.propertyName, String(x));
  };
  const token = String(f.value ?? '')
    .replaceAll('*', '')
    .toLowerCase();
  const raw = (v: HubSpotVersion) => String(v.properties[f.propertyName] ?? '').toLowerCase();
  const cmp =
    (op: (d: number) => boolean, x: number | string): Compiled =>
    (v, c) => {
      const a = get(v, c);
      return a !== null && op(compare(a, x));
    };
  switch (f.operator) {
    case 'HAS_PROPERTY':
      return (v, c) => get(v, c) !== null;
    case 'NOT_HAS_PROPERTY':
      return (v, c) => get(v, c) === null;
    case 'EQ':
      return cmp((d) => d === 0, want(f.value));
    case 'NEQ': {
      const x = want(f.value);
      return (v, c) => {
        const a = get(v, c);
        return a === null || compare(a, x) !== 0;
      };
    }
    case 'LT':
      return cmp((d) => d < 0, want(f.value));
    case 'LTE':
      return cmp((d) => d <= 0, want(f.value));
    case 'GT':
      return cmp((d) => d > 0, want(f.value));
    case 'GTE':
      return cmp((d) => d >= 0, want(f.value));
    case 'BETWEEN': {
      const lo = want(f.value);
      const hi = want(f.highValue);
      return (v, c) => {
        const a = get(v, c);
        return a !== null && compare(a, lo) >= 0 && compare(a, hi) <= 0;
      };
    }
    case 'IN':
    case 'NOT_IN': {
      const xs = (f.values ?? []).map((x) => want(x));
      const isIn = (v: HubSpotVersion, c: number) => {
        const a = get(v, c);
        return a !== null && xs.some((x) => compare(a, x) === 0);
      };
      return f.operator === 'IN' ? isIn : (v, c) => !isIn(v, c);
    }
    case 'CONTAINS_TOKEN':
      return (v) => raw(v).includes(token);
    case 'NOT_CONTAINS_TOKEN':
      return (v) => !raw(v).includes(token);
    default:
      throw new SearchError(`unknown operator ${f.operator}`);
  }
}

export interface SearchHit {
  object: HubSpotObject;
  version: HubSpotVersion;
}

export interface SearchPage {
  total: number;
  hits: SearchHit[];
  nextAfter: number | null;
}

/** Validates a request the way HubSpot does (400s with a message) and runs it against the index. */
export function runSearch(
  store: HubSpotStore,
  objectType: string,
  req: SearchRequest,
  now: number,
  resultCap: number,
): SearchPage {
  const groups = req.filterGroups ?? [];
  if (!Array.isArray(groups)) throw new SearchError('filterGroups must be an array');
  if (groups.length > SEARCH_LIMITS.groups)
    throw new SearchError(`at most ${SEARCH_LIMITS.groups} filterGroups are allowed`);
  let total = 0;
  for (const g of groups) {
    const n = g.filters?.length ?? 0;
    if (n > SEARCH_LIMITS.filtersPerGroup)
      throw new SearchError(`at most ${SEARCH_LIMITS.filtersPerGroup} filters per group are allowed`);
    total += n;
    for (const f of g.filters ?? []) {
      if (!OPERATORS.has(f.operator)) throw new SearchError(`unknown operator ${f.operator}`);
      if (typeof f.propertyName !== 'string') throw new SearchError('filter without propertyName');
    }
  }
  if (total > SEARCH_LIMITS.filtersTotal)
    throw new SearchError(`at most ${SEARCH_LIMITS.filtersTotal} filters are allowed`);
  const sorts = req.sorts ?? [];
  if (sorts.length > 1) throw new SearchError('only one sort is allowed');
  const limit = req.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMITS.maxLimit)
    throw new SearchError(`limit must be between 1 and ${SEARCH_LIMITS.maxLimit}`);
  const after = req.after === undefined || req.after === '' ? 0 : Number(req.after);
  if (!Number.isInteger(after) || after < 0) throw new SearchError(`invalid after "${String(req.after)}"`);
  if (after + limit > resultCap)
    throw new SearchError(
      `paging past the first ${resultCap} results is not supported (after ${after} + limit ${limit})`,
    );

  const compiled = groups.map((g) => (g.filters ?? []).map((f) => compile(objectType, f)));
  const hits: SearchHit[] = [];
  for (const object of store.objects(objectType).values()) {
    const version = store.searchable(object, now);
    if (!version) continue;
    const ok =
      compiled.length === 0 || compiled.some((g) => g.every((test) => test(version, object.createdAt)));
    if (ok) hits.push({ object, version });
  }
  const sort = sorts[0];
  if (sort !== undefined) {
    const name = typeof sort === 'string' ? sort.replace(/^-/, '') : sort.propertyName;
    const desc = typeof sort === 'string' ? sort.startsWith('-') : sort.direction === 'DESCENDING';
    const key = (h: SearchHit) => valueOf(objectType, h.version, h.object.createdAt, name);
    // Stable sort: equal keys keep id order (HubSpot leaves their order unspecified).
    hits.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === null || kb === null) return ka === kb ? 0 : ka === null ? 1 : -1;
      return desc ? compare(kb, ka) : compare(ka, kb);
    });
  }
  const page = hits.slice(after, after + limit);
  const next = after + limit;
  return { total: hits.length, hits: page, nextAfter: next < hits.length && next < resultCap ? next : null };
}
