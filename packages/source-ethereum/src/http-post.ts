// JSON over HTTP POST with node:http on a keep-alive pool: the transport under ethers' JSON-RPC batching.
// Error messages never quote the URL (its path, query or user info may hold an API key).
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const DECODERS = new Map<string, (b: Buffer) => Promise<Buffer>>([
  ['gzip', promisify(zlib.gunzip)],
  ['x-gzip', promisify(zlib.gunzip)],
  ['deflate', promisify(zlib.inflate)],
  ['br', promisify(zlib.brotliDecompress)],
]);

export interface JsonHttpOptions {
  /** Connections open at once at most; further requests wait for one in the agent's queue. */
  maxSockets: number;
  /** Ask for gzip/deflate/br. Worth it across a network; from a node on this host it only costs CPU. */
  compress: boolean;
}

/** POSTs JSON to one URL over its own keep-alive connection pool; `destroy()` closes every connection.
 * Idle connections do not keep the process alive (the agent unrefs free sockets). User info in the URL
 * becomes basic auth. */
export class JsonHttpClient {
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #target: http.RequestOptions;
  readonly #headers: http.OutgoingHttpHeaders;

  constructor(url: string, opts: JsonHttpOptions) {
    const u = new URL(url);
    const tls = u.protocol === 'https:';
    const { protocol, hostname, port, path, auth } = urlToHttpOptions(u);
    this.#agent = new (tls ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: opts.maxSockets });
    this.#request = tls ? https.request : http.request;
    this.#target = { protocol, hostname, port, path, auth, method: 'POST', agent: this.#agent };
    this.#headers = {
      'content-type': 'application/json',
      ...(opts.compress ? { 'accept-encoding': 'gzip, deflate, br' } : {}),
    };
  }

  /** The parsed response body. Rejects on a connection error (message with its code, e.g. ECONNREFUSED),
   * a non-2xx status (`HTTP 503 Service Unavailable`) or after `timeoutMs` in all. */
  post(payload: unknown, timeoutMs: number): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      };
      const req = this.#request(
        { ...this.#target, headers: { ...this.#headers, 'content-length': body.length } },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            res.resume(); // drained, the connection goes back to the pool
            return settle(new Error(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => settle(withCode(e)));
          res.on('end', () => {
            decode(res.headers['content-encoding'], Buffer.concat(chunks))
              .then((buf) => settle(null, JSON.parse(buf.toString('utf8'))))
              .catch((e: unknown) => settle(e instanceof Error ? e : new Error(String(e))));
          });
        },
      );
      const timer = setTimeout(() => {
        settle(new Error(`timed out after ${timeoutMs} ms`));
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => settle(withCode(e)));
      req.end(body);
    });
  }

  destroy(): void {
    this.#agent.destroy();
  }
}

async function decode(encoding: string | undefined, buf: Buffer): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return buf;
  const decoder = DECODERS.get(enc);
  if (!decoder) throw new Error(`unsupported content-encoding ${enc}`);
  return decoder(buf);
}

/** Node's connection errors usually name their code ("connect ECONNREFUSED 127.0.0.1:8545"); some do
 * not ("socket hang up" is ECONNRESET). */
function withCode(err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? new Error(`${err.message} (${code})`, { cause: err }) : err;
}
