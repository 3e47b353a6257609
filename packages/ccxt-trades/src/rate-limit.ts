// Venues answer REST abuse with 429 and, if it goes on, 418 (an IP ban), both with Retry-After. ccxt maps
// them to exceptions but drops the header, so the venue clients capture it in `handleErrors` and throw
// this instead; the follower sleeps exactly as long as the venue asked.

export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    readonly status: number,
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** Retry-After is seconds or an HTTP date; absent or unreadable means `fallbackMs`. */
export function parseRetryAfter(value: string | undefined, fallbackMs: number, now = Date.now()): number {
  if (value === undefined || value.trim() === '') return fallbackMs;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : fallbackMs;
}

/** Header lookup that ignores case (ccxt keeps the server's spelling). */
export function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers))
    if (k.toLowerCase() === want && v !== undefined && v !== null) return String(v);
  return undefined;
}

/** ccxt's `exchange.number = String`: keep the venue's decimal strings instead of parsing floats. ccxt
 * types the field as returning a number, so the assignment needs this one cast. */
export function useExactDecimals(exchange: object): void {
  Object.assign(exchange, { number: String });
}
