// The JSON-RPC client: ethers' providers for transport and request batching, our own retry, timeout and
// error wording (so a URL with an API key never reaches a log line or an error message).
import {
  JsonRpcProvider,
  Network,
  WebSocketProvider,
  type JsonRpcApiProvider,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
} from 'ethers';
import { RetryableError, errorMessage, sleep, withRetry, type Logger } from '@tributary/sdk';
import { hexToNumber, numberToHex } from './hex.ts';
import { JsonHttpClient } from './http-post.ts';

/** Raw JSON-RPC shapes: only the fields we read; everything is hex text as the node sent it. */
export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
  blockHash?: string | null;
}

export interface RawTransaction {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  nonce: string;
  transactionIndex: string;
  gas: string;
  gasPrice?: string | null;
  maxFeePerGas?: string | null;
  maxPriorityFeePerGas?: string | null;
  type?: string | null;
  input: string;
}

export interface RawReceipt {
  transactionHash: string;
  transactionIndex: string;
  blockHash: string;
  status?: string | null;
  gasUsed: string;
  cumulativeGasUsed: string;
  effectiveGasPrice?: string | null;
  contractAddress: string | null;
  logs: RawLog[];
  root?: string | null;
}

export interface RawBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  miner: string | null;
  size?: string | null;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas?: string | null;
  difficulty?: string | null;
  extraData?: string;
  stateRoot?: string;
  receiptsRoot?: string;
  transactionsRoot?: string;
  withdrawals?: unknown[];
  blobGasUsed?: string | null;
  excessBlobGas?: string | null;
  transactions: RawTransaction[];
}

export interface RpcOptions {
  url: string;
  batchMaxCount: number;
  requestTimeoutMs: number;
  retries: number;
  logger: Logger;
  signal: AbortSignal;
}

/** `scheme://host[:port]` only: paths, query strings and user info often carry API keys. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.pathname.length > 1 || u.search !== '' || u.username !== '' ? '/[redacted]' : '';
    return `${u.protocol}//${u.host}${hidden}`;
  } catch {
    return '[unparseable url]';
  }
}

/** The JSON-RPC error code ethers attached to a rejected request, if the node sent one. */
export function rpcErrorCode(err: unknown): number | null {
  const e = err as { error?: { code?: unknown }; info?: { error?: { code?: unknown } } } | null;
  const code = e?.error?.code ?? e?.info?.error?.code;
  return typeof code === 'number' ? code : null;
}

/** Node answered "I don't have that method" (as opposed to a transient failure). */
export function isMethodUnsupported(err: unknown): boolean {
  const code = rpcErrorCode(err);
  if (code === -32601 || code === -32004) return true;
  const e = err as { error?: { message?: unknown } } | null;
  const msg = `${typeof e?.error?.message === 'string' ? e.error.message : ''} ${errorMessage(err)}`;
  return /method .*(not (supported|found|available|exist))|does not exist|unsupported method|not implemented/i.test(
    msg,
  );
}

/** A URL whose host is this machine. */
export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** ethers' request batching over our own HTTP transport. ethers decodes every response body with a
 * pure-JS UTF-8 decoder, which profiled as the largest single cost of a backfill; fetch with native
 * decoding replaced it, and then fetch itself (web streams, Headers, AbortSignal, Response wrappers) was
 * 18% of a backfill's profile against local geth, more than our decoding and normalizing. node:http on a
 * keep-alive pool does the same work for less: 40% less CPU per request in a transport-only timing
 * against Hardhat. Only `_send` (the documented override point) and `destroy` change: queuing and
 * batching stay ethers'. */
class HttpProvider extends JsonRpcProvider {
  readonly #http: JsonHttpClient;
  readonly #timeoutMs: number;

  constructor(url: string, timeoutMs: number, network: Network, options: JsonRpcApiProviderOptions) {
    super(url, network, options);
    this.#timeoutMs = timeoutMs;
    this.#http = new JsonHttpClient(url, {
      // The block window (config `concurrency`, 32 by default) in batches of `batchMaxCount` (16) needs a
      // few connections; more only queue, and a bound keeps a wide window polite to a provider.
      maxSockets: 32,
      // Compressing for a node on this host only costs CPU (gunzip was 7% of a backfill's profile
      // against local geth); across a network it saves more than it costs.
      compress: !isLoopback(url),
    });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const body = (await this.#http.post(payload, this.#timeoutMs)) as JsonRpcResult | JsonRpcResult[];
    return Array.isArray(body) ? body : [body];
  }

  override destroy(): void {
    super.destroy();
    this.#http.destroy();
  }
}

export class RpcClient {
  readonly endpoint: string;
  readonly #provider: JsonRpcApiProvider;
  readonly #secretUrl: string;
  /** Set when the WebSocket failed or closed: ethers does not reconnect, so the task must restart. */
  #socketDown: Error | null = null;

  constructor(private readonly opts: RpcOptions) {
    this.#secretUrl = opts.url;
    this.endpoint = redactUrl(opts.url);
    // staticNetwork: no eth_chainId probe (and no endless "failed to detect network" loop) behind our
    // back; we check the chain id ourselves. The network object is a placeholder: we only use send().
    const network = new Network('tributary', 0n);
    const options = {
      staticNetwork: network,
      batchMaxCount: opts.batchMaxCount,
      batchStallTime: 2,
      cacheTimeout: -1,
    };
    if (/^wss?:/i.test(opts.url)) {
      // ethers does not batch over sockets; requests are pipelined on the one connection instead.
      const ws = new WebSocketProvider(opts.url, network, { ...options, batchMaxCount: 1 });
      // Without an 'error' listener a refused connection is an unhandled 'error' event: a process crash.
      const socket = ws.websocket as unknown as { on?(event: string, fn: (e?: unknown) => void): void };
      socket.on?.(
        'error',
        (e) => (this.#socketDown = new Error(`WebSocket error: ${this.#scrub(errorMessage(e))}`)),
      );
      socket.on?.('close', () => (this.#socketDown ??= new Error('WebSocket closed')));
      this.#provider = ws;
    } else {
      this.#provider = new HttpProvider(opts.url, opts.requestTimeoutMs, network, options);
    }
  }

  /** One JSON-RPC call, batched with its neighbours by ethers, retried with backoff, bounded in time. */
  async call<T>(method: string, params: unknown[]): Promise<T> {
    // Happy path without the retry machinery: a backfill makes hundreds of thousands of calls.
    try {
      return await this.#once<T>(method, params);
    } catch (err) {
      if (this.opts.retries === 0 || !this.#retryable(err)) throw this.#final(method, err);
      this.opts.logger.warn({ err: errorMessage(err) }, `${method} on ${this.endpoint} failed; backing off`);
    }
    try {
      await sleep(200, this.opts.signal);
      return await withRetry(() => this.#once<T>(method, params), {
        what: `${method} on ${this.endpoint}`,
        signal: this.opts.signal,
        logger: this.opts.logger,
        retries: this.opts.retries - 1,
        shouldRetry: (err) => this.#retryable(err),
      });
    } catch (err) {
      throw this.#final(method, err);
    }
  }

  /** "Method not found" will not improve with retries (the caller decides what to do about it), and a dead
   * WebSocket will not come back: ethers does not reconnect. */
  #retryable(err: unknown): boolean {
    return !this.opts.signal.aborted && !isMethodUnsupported(err) && this.#socketDown === null;
  }

  #final(method: string, err: unknown): unknown {
    if (this.opts.signal.aborted || isMethodUnsupported(err)) return err;
    return new RetryableError(
      `Ethereum JSON-RPC ${this.endpoint}: ${method} failed after ${this.opts.retries + 1} attempts: ${this.#scrub(errorMessage(err))}`,
      { cause: err },
    );
  }

  /** A single attempt: no retry. The timeout also covers WebSockets, where ethers has none. */
  async #once<T>(method: string, params: unknown[]): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${this.opts.requestTimeoutMs} ms`)),
        this.opts.requestTimeoutMs,
      );
      // A dead socket never answers: fail now instead of at the timeout.
      const check = () => (this.#socketDown ? reject(this.#socketDown) : (poll = setTimeout(check, 50)));
      if (this.#provider instanceof WebSocketProvider) check();
    });
    try {
      return (await Promise.race([this.#provider.send(method, params), timeout])) as T;
    } catch (err) {
      // ethers messages can quote the request URL; ours never do. No `cause`: loggers print cause chains.
      const scrubbed = new Error(this.#scrub(errorMessage(err)));
      Object.assign(scrubbed, { error: (err as { error?: unknown }).error });
      throw scrubbed;
    } finally {
      clearTimeout(timer);
      clearTimeout(poll);
    }
  }

  #scrub(text: string): string {
    return text.split(this.#secretUrl).join(this.endpoint).slice(0, 500);
  }

  async chainId(): Promise<number> {
    return hexToNumber(await this.call<string>('eth_chainId', []));
  }

  async blockNumber(): Promise<number> {
    return hexToNumber(await this.call<string>('eth_blockNumber', []));
  }

  /** Header only (no transactions), by number or tag; null when the node has no such block. */
  async header(
    tag: number | 'latest' | 'safe' | 'finalized',
  ): Promise<Pick<RawBlock, 'number' | 'hash' | 'parentHash'> | null> {
    return this.call('eth_getBlockByNumber', [typeof tag === 'number' ? numberToHex(tag) : tag, false]);
  }

  async blockWithTransactions(number: number): Promise<RawBlock | null> {
    return this.call('eth_getBlockByNumber', [numberToHex(number), true]);
  }

  async blockByHash(hash: string): Promise<RawBlock | null> {
    return this.call('eth_getBlockByHash', [hash, true]);
  }

  async blockReceipts(blockHash: string): Promise<RawReceipt[] | null> {
    // By hash, not number: the receipts then belong to the very block we fetched, even mid-reorg.
    return this.call('eth_getBlockReceipts', [blockHash]);
  }

  async receipt(txHash: string): Promise<RawReceipt | null> {
    return this.call('eth_getTransactionReceipt', [txHash]);
  }

  async close(): Promise<void> {
    try {
      this.#provider.destroy();
    } catch {
      // A socket that never connected can refuse to close; nothing is left to release.
    }
  }
}
