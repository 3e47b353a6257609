// Small fetch wrapper shared by both backends: a per-request timeout tied to the task's signal, and
// status codes mapped to the sdk's error contract (bad credentials are fatal, the rest is retried).
import { FatalError } from '@tributary/sdk';

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The resource does not exist (unknown block or transaction): retrying will not make it appear. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export async function request(url: string, opts: RequestOptions): Promise<Response> {
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    signal,
  });
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new FatalError(`${redact(url)}: HTTP ${res.status} (check the credentials)`);
  }
  return res;
}

/** GET that expects 2xx; 404 becomes NotFoundError. */
export async function get(url: string, opts: Omit<RequestOptions, 'method' | 'body'>): Promise<Response> {
  const res = await request(url, opts);
  if (res.status === 404) {
    await res.body?.cancel();
    throw new NotFoundError(`${redact(url)}: not found`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new HttpStatusError(res.status, `${redact(url)}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  return res;
}

/** URLs may carry user:password; never log them. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
