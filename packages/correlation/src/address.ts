// Address normalization and look-alike matching.

/** Hex (0x...) and bech32 (bc1/tb1/bcrt1) addresses are case-insensitive: lowercase them; others stay exact. */
export function normalizeAddress(a: string): string {
  // Hot path (several calls per transfer): an already-lowercase 0x-hex address is returned as is.
  if (isLowerHex(a)) return a;
  const t = a.trim();
  if (/^0x[0-9a-fA-F]+$/.test(t) || /^(bc1|tb1|bcrt1)/i.test(t)) return t.toLowerCase();
  return t;
}

function isLowerHex(a: string): boolean {
  if (a.length < 3 || a.charCodeAt(0) !== 48 || a.charCodeAt(1) !== 120) return false;
  for (let i = 2; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function body(a: string): string {
  return a.startsWith('0x') ? a.slice(2).toLowerCase() : a.toLowerCase();
}

export interface LookalikeOptions {
  /** Minimum shared leading characters after `0x` (published attacks: 4-6). */
  prefix: number;
  /** Minimum shared trailing characters (published attacks: 4). */
  suffix: number;
}

/** True when `a` and `b` differ but share at least `prefix` leading and `suffix` trailing characters. */
export function isLookalike(a: string, b: string, o: LookalikeOptions): boolean {
  const x = body(a);
  const y = body(b);
  if (x === y || x.length < o.prefix + o.suffix || y.length < o.prefix + o.suffix) return false;
  return x.slice(0, o.prefix) === y.slice(0, o.prefix) && x.slice(-o.suffix) === y.slice(-o.suffix);
}

/** Leading and trailing characters two addresses share (for evidence). */
export function sharedAffixes(a: string, b: string): { prefix: number; suffix: number } {
  const x = body(a);
  const y = body(b);
  let p = 0;
  while (p < x.length && p < y.length && x[p] === y[p]) p++;
  let s = 0;
  while (s < x.length && s < y.length && x[x.length - 1 - s] === y[y.length - 1 - s]) s++;
  return { prefix: p, suffix: s };
}

/** The address a state key ends in (`acct:0xab…`, `address:bc1q…`), or null: rule state of one address is
 * written to the changelog as one record (store.ts). Lowercase 0x-hex and bech32 addresses only, which is
 * what normalizeAddress makes of them; other keys are simply not grouped. */
export function addressTail(key: string): string | null {
  const tail = key.slice(key.lastIndexOf(':') + 1);
  if (tail.length === 42 && isLowerHex(tail)) return tail;
  return /^(bc1|tb1|bcrt1)[0-9a-z]{6,}$/.test(tail) ? tail : null;
}
