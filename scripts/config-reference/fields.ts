// A zod config schema as rows of a reference table: every field (nested objects, array items and union
// variants included) with its type, default and the path the doc-comment lookup follows. Types and
// defaults come from zod's own JSON Schema export, so the table describes what validation accepts.
import { z } from 'zod';
import { isSecret } from '@tributary/sdk';

/** One step from a config object to a field, for the TypeScript doc-comment lookup. */
export type Step =
  | { prop: string }
  | { items: true }
  /** A member of a union: the one whose discriminant properties have these literal values, or the
   * object member when `match` is empty (`false | { ... }`). */
  | { variant: Record<string, string | number | boolean> };

export interface FieldRow {
  /** Dotted path as written in the config: `kafka.sasl.password`, `objects[].type`. */
  path: string;
  steps: Step[];
  type: string;
  required: boolean;
  default?: unknown;
  /** From `.describe()`/`.meta()`; doc comments are looked up separately. */
  description?: string;
  /** The union variant a field belongs to, e.g. `kind: 'oauth'`. */
  when?: string;
}

type Json = {
  type?: string | string[];
  properties?: Record<string, Json>;
  required?: string[];
  additionalProperties?: Json | boolean;
  items?: Json;
  anyOf?: Json[];
  oneOf?: Json[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
  'x-secret'?: boolean;
};

// zod's bounds for `.int()` without limits: noise in a reference.
const SAFE = Number.MAX_SAFE_INTEGER;

export function jsonSchemaOf(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    // What an operator writes: defaults make fields optional, transforms are not applied yet.
    io: 'input',
    // Secret values are a `z.custom` inside a union; it has no JSON Schema form.
    unrepresentable: 'any',
    override: (ctx) => {
      // A secret field is one whose parsed value is a Secret (sdk `secretSchema`, refined or optional).
      // The probe is a URL so that secrets refined to URLs (RPC endpoints with keys) qualify too.
      const probe = z.safeParse(ctx.zodSchema, 'https://probe.example/');
      if (probe.success && isSecret(probe.data)) (ctx.jsonSchema as Json)['x-secret'] = true;
    },
  }) as Json;
}

/** `'a'`, `3`, `{ host: '127.0.0.1', port: 8083 }`: values as they are written in connectors.config.ts. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`);
    return `{ ${entries.map(([k, x]) => `${key(k)}: ${formatValue(x)}`).join(', ')} }`;
  }
  return String(v);
}

function members(s: Json): Json[] | undefined {
  return s.anyOf ?? s.oneOf;
}

function isObject(s: Json): boolean {
  return s.type === 'object' && s.properties !== undefined;
}

/** Literal-valued properties of an object variant: what tells the variants apart. */
function discriminants(s: Json): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, p] of Object.entries(s.properties ?? {}))
    if (typeof p.const === 'string' || typeof p.const === 'number' || typeof p.const === 'boolean')
      out[k] = p.const;
  return out;
}

function numberRange(s: Json): string {
  const lo =
    s.exclusiveMinimum !== undefined
      ? `> ${s.exclusiveMinimum}`
      : s.minimum !== undefined && s.minimum > -SAFE
        ? `≥ ${s.minimum}`
        : '';
  const hi =
    s.exclusiveMaximum !== undefined
      ? `< ${s.exclusiveMaximum}`
      : s.maximum !== undefined && s.maximum < SAFE
        ? `≤ ${s.maximum}`
        : '';
  return [lo, hi].filter(Boolean).join(', ');
}

export function typeOf(s: Json): string {
  if (s['x-secret']) return 'secret';
  if (s.const !== undefined) return formatValue(s.const);
  if (s.enum) return s.enum.map(formatValue).join(' | ');
  const union = members(s);
  if (union) {
    if (union.every(isObject)) {
      const keys = Object.keys(discriminants(union[0]!));
      return keys.length
        ? `object by ${keys.join(', ')}: ${union.map((m) => formatValue(Object.values(discriminants(m))[0])).join(' | ')}`
        : 'object';
    }
    return union.map(typeOf).join(' | ');
  }
  switch (s.type) {
    case 'string': {
      if (s.format === 'uri') return 'string (URL)';
      if (s.format === 'date-time') return 'string (ISO date-time)';
      return 'string';
    }
    case 'integer':
    case 'number': {
      const range = numberRange(s);
      return range ? `${s.type} ${range}` : s.type;
    }
    case 'boolean':
      return 'boolean';
    case 'array': {
      const item = s.items ? typeOf(s.items) : 'unknown';
      const list = /[ |]/.test(item) ? `(${item})[]` : `${item}[]`;
      return s.minItems ? `${list}, at least ${s.minItems}` : list;
    }
    case 'object': {
      if (s.properties) return 'object';
      const value = typeof s.additionalProperties === 'object' ? typeOf(s.additionalProperties) : 'unknown';
      return `Record<string, ${value}>`;
    }
    default:
      return 'unknown';
  }
}

/** Every field under an object schema, depth first, in declaration order. */
export function fieldRows(schema: Json, prefix = '', steps: Step[] = [], when?: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const required = new Set(schema.required ?? []);
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const at: Step[] = [...steps, { prop: name }];
    rows.push({
      path,
      steps: at,
      type: typeOf(field),
      required: required.has(name) && field.default === undefined,
      ...(field.default !== undefined ? { default: field.default } : {}),
      ...(field.description ? { description: field.description } : {}),
      ...(when ? { when } : {}),
    });
    rows.push(...nested(field, path, at, when));
  }
  return rows;
}

function nested(field: Json, path: string, steps: Step[], when?: string): FieldRow[] {
  if (field['x-secret']) return [];
  if (isObject(field)) return fieldRows(field, path, steps, when);
  if (field.type === 'array' && field.items) {
    const items = field.items;
    if (isObject(items)) return fieldRows(items, `${path}[]`, [...steps, { items: true }], when);
    if (members(items)) return nested(items, `${path}[]`, [...steps, { items: true }], when);
    return [];
  }
  const union = members(field);
  if (!union) return [];
  const objects = union.filter(isObject);
  return objects.flatMap((m) => {
    const match = objects.length > 1 ? discriminants(m) : {};
    const label = Object.entries(match)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join(', ');
    return fieldRows(m, path, [...steps, { variant: match }], label || when);
  });
}
