// The SOQL subset the simulator answers: SELECT fields FROM object [WHERE ...] [ORDER BY ...] [LIMIT n],
// with AND/OR/NOT, parentheses, = != <> < <= > >= IN, and string, number, boolean, null and datetime
// literals. Enough for snapshots, keyset polling and fetching records by id; anything else is a
// MALFORMED_QUERY, as a real org would answer for syntax it does not know.

export interface SoqlQuery {
  fields: string[];
  object: string;
  where: Expr | null;
  orderBy: { field: string; desc: boolean }[];
  limit: number | null;
}

export type Literal = string | number | boolean | null | { datetime: number };

export type Expr =
  | { op: 'and' | 'or'; left: Expr; right: Expr }
  | { op: 'not'; expr: Expr }
  | { op: 'cmp'; field: string; cmp: string; value: Literal }
  | { op: 'in'; field: string; values: Literal[]; negate: boolean };

export class SoqlError extends Error {
  override name = 'SoqlError';
}

type Token = { t: 'id' | 'str' | 'num' | 'dt' | 'op' | 'punct'; v: string };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const dt = DATETIME.exec(s.slice(i));
    if (dt) {
      out.push({ t: 'dt', v: dt[0] });
      i += dt[0].length;
      continue;
    }
    if (c === "'") {
      let v = '';
      i++;
      while (i < s.length && s[i] !== "'") {
        if (s[i] === '\\') i++;
        v += s[i] ?? '';
        i++;
      }
      if (s[i] !== "'") throw new SoqlError('unterminated string literal');
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(s.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(s.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    if ('(),'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(s.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new SoqlError(`unexpected character '${c}' at ${i}`);
  }
  return out;
}

export function parseSoql(text: string): SoqlQuery {
  const toks = tokenize(text);
  let p = 0;
  const peek = () => toks[p];
  const kw = (word: string) => {
    const t = peek();
    return t?.t === 'id' && t.v.toUpperCase() === word;
  };
  const expectKw = (word: string) => {
    if (!kw(word)) throw new SoqlError(`expected ${word} near '${peek()?.v ?? 'end'}'`);
    p++;
  };
  const ident = () => {
    const t = toks[p++];
    if (t?.t !== 'id') throw new SoqlError(`expected a field name near '${t?.v ?? 'end'}'`);
    return t.v;
  };
  const literal = (): Literal => {
    const t = toks[p++];
    if (!t) throw new SoqlError('expected a value');
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'dt') {
      const ms = Date.parse(t.v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (Number.isNaN(ms)) throw new SoqlError(`invalid datetime ${t.v}`);
      return { datetime: ms };
    }
    if (t.t === 'id') {
      const u = t.v.toUpperCase();
      if (u === 'TRUE') return true;
      if (u === 'FALSE') return false;
      if (u === 'NULL') return null;
    }
    throw new SoqlError(`expected a value near '${t.v}'`);
  };

  expectKw('SELECT');
  const fields = [ident()];
  while (peek()?.v === ',') {
    p++;
    fields.push(ident());
  }
  expectKw('FROM');
  const object = ident();

  const primary = (): Expr => {
    if (kw('NOT')) {
      p++;
      return { op: 'not', expr: primary() };
    }
    if (peek()?.v === '(') {
      p++;
      const e = orExpr();
      if (toks[p++]?.v !== ')') throw new SoqlError('expected )');
      return e;
    }
    const field = ident();
    if (kw('IN') || kw('NOT')) {
      const negate = kw('NOT');
      if (negate) p++;
      expectKw('IN');
      if (toks[p++]?.v !== '(') throw new SoqlError('expected ( after IN');
      const values = [literal()];
      while (peek()?.v === ',') {
        p++;
        values.push(literal());
      }
      if (toks[p++]?.v !== ')') throw new SoqlError('expected ) after IN list');
      return { op: 'in', field, values, negate };
    }
    const op = toks[p++];
    if (op?.t !== 'op') throw new SoqlError(`expected an operator after ${field}`);
    return { op: 'cmp', field, cmp: op.v === '<>' ? '!=' : op.v, value: literal() };
  };
  const andExpr = (): Expr => {
    let left = primary();
    while (kw('AND')) {
      p++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): Expr => {
    let left = andExpr();
    while (kw('OR')) {
      p++;
      left = { op: 'or', left, right: andExpr() };
    }
    return left;
  };

  let where: Expr | null = null;
  if (kw('WHERE')) {
    p++;
    where = orExpr();
  }
  const orderBy: SoqlQuery['orderBy'] = [];
  if (kw('ORDER')) {
    p++;
    expectKw('BY');
    do {
      if (peek()?.v === ',') p++;
      const field = ident();
      let desc = false;
      if (kw('ASC')) p++;
      else if (kw('DESC')) {
        p++;
        desc = true;
      }
      orderBy.push({ field, desc });
    } while (peek()?.v === ',');
  }
  let limit: number | null = null;
  if (kw('LIMIT')) {
    p++;
    const n = toks[p++];
    if (n?.t !== 'num') throw new SoqlError('expected a number after LIMIT');
    limit = Number(n.v);
  }
  if (p !== toks.length) throw new SoqlError(`unexpected token '${toks[p]!.v}'`);
  return { fields, object, where, orderBy, limit };
}

/** Comparable form of a record value: datetimes (ISO strings) as epoch ms when compared with one. */
function comparable(v: unknown, against: Literal): unknown {
  if (against && typeof against === 'object' && typeof v === 'string') return Date.parse(v);
  return v;
}

function litValue(l: Literal): unknown {
  return l && typeof l === 'object' ? l.datetime : l;
}

function cmp(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

export function evaluate(e: Expr, rec: Record<string, unknown>): boolean {
  switch (e.op) {
    case 'and':
      return evaluate(e.left, rec) && evaluate(e.right, rec);
    case 'or':
      return evaluate(e.left, rec) || evaluate(e.right, rec);
    case 'not':
      return !evaluate(e.expr, rec);
    case 'in': {
      const hit = e.values.some((v) => cmp(comparable(rec[e.field], v), litValue(v)) === 0);
      return e.negate ? !hit : hit;
    }
    case 'cmp': {
      const a = comparable(rec[e.field] ?? null, e.value);
      const b = litValue(e.value);
      if (b === null) return e.cmp === '=' ? a === null : e.cmp === '!=' ? a !== null : false;
      if (a === null) return e.cmp === '!=';
      const c = cmp(a, b);
      switch (e.cmp) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
      }
      throw new SoqlError(`unknown operator ${e.cmp}`);
    }
  }
}

/** Runs a query over records; `all` includes deleted ones (queryAll). Returns projected rows. */
export function runQuery(
  q: SoqlQuery,
  records: Iterable<Record<string, unknown>>,
  known: readonly string[],
  all: boolean,
): Record<string, unknown>[] {
  for (const f of [...q.fields, ...q.orderBy.map((o) => o.field)])
    if (!known.includes(f))
      throw new SoqlError(`No such column '${f}' on entity '${q.object}'. (simulated INVALID_FIELD)`);
  let rows = [...records].filter((r) => (all || r.IsDeleted !== true) && (!q.where || evaluate(q.where, r)));
  if (q.orderBy.length)
    rows.sort((a, b) => {
      for (const o of q.orderBy) {
        const c = cmp(a[o.field], b[o.field]);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
  if (q.limit !== null) rows = rows.slice(0, q.limit);
  return rows.map((r) => Object.fromEntries(q.fields.map((f) => [f, r[f] ?? null])));
}
