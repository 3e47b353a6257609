// Bitcoin Core JSON-RPC (and btcd, which speaks the same dialect for the calls used here):
// getblockcount, getblockhash, getblock <hash> 0 (raw hex), getrawtransaction <txid> 0. With `rest`
// the raw block comes from /rest/block/<hash>.bin instead: binary, half the bytes of hex in JSON.
import { Transaction } from 'bitcoinjs-lib';
import { FatalError, type Secret } from '@tributary/sdk';
import { get, NotFoundError, redact, request } from '../http.ts';
import type { ChainBackend, PrevOutput } from './types.ts';

export interface CoreRpcOptions {
  url: string;
  username?: string | undefined;
  password?: Secret | undefined;
  rest: boolean;
  timeoutMs: number;
}

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

// Core: -5 invalid address or key / not found, -8 invalid parameter (height out of range).
// btcd: -5 block not found, -1 "Block number out of range".
const NOT_FOUND = -5;
const OUT_OF_RANGE = -8;

export function coreRpcBackend(o: CoreRpcOptions): ChainBackend {
  const base = o.url.replace(/\/+$/, '');
  const auth =
    o.username !== undefined
      ? 'Basic ' + Buffer.from(`${o.username}:${o.password?.reveal() ?? ''}`).toString('base64')
      : null;
  let id = 0;

  async function call<T>(method: string, params: unknown[], signal: AbortSignal): Promise<T> {
    const res = await request(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({ jsonrpc: '1.0', id: ++id, method, params }),
      timeoutMs: o.timeoutMs,
      signal,
    });
    const text = await res.text();
    // Core answers RPC errors with HTTP 500 and a JSON body; btcd with 200. Read the body either way.
    let body: { result?: T; error?: { code: number; message: string } | null };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`${redact(base)} ${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    if (body.error)
      throw new RpcError(body.error.code, `${method}: ${body.error.message} (code ${body.error.code})`);
    if (!res.ok) throw new Error(`${redact(base)} ${method}: HTTP ${res.status}`);
    return body.result as T;
  }

  return {
    kind: 'core-rpc',
    tipHeight: (signal) => call<number>('getblockcount', [], signal),
    async blockHash(height, signal) {
      try {
        return await call<string>('getblockhash', [height], signal);
      } catch (err) {
        if (err instanceof RpcError && (err.code === OUT_OF_RANGE || /out of range/i.test(err.message)))
          return null;
        throw err;
      }
    },
    async rawBlock(hash, signal) {
      const viaRpc = async () => {
        try {
          return Buffer.from(await call<string>('getblock', [hash, 0], signal), 'hex');
        } catch (err) {
          if (err instanceof RpcError && err.code === NOT_FOUND)
            throw new NotFoundError(`block ${hash} not found`);
          throw err;
        }
      };
      if (!o.rest) return viaRpc();
      try {
        const res = await get(`${base}/rest/block/${hash}.bin`, { timeoutMs: o.timeoutMs, signal });
        return new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        // Core answers 404 both for an unknown block and for any /rest/ path when started without
        // -rest. Ask the RPC interface: if it has the block, REST is off, which retrying cannot fix.
        await viaRpc();
        throw new FatalError(
          `${redact(base)}/rest/block/${hash}.bin: HTTP 404 for a block the node has; start bitcoind with -rest=1 or set backend.rest to false`,
          { cause: err },
        );
      }
    },
    async transactionOutputs(txid, signal): Promise<PrevOutput[]> {
      let hex: string;
      try {
        hex = await call<string>('getrawtransaction', [txid, 0], signal);
      } catch (err) {
        if (err instanceof RpcError && err.code === NOT_FOUND) {
          throw new FatalError(
            `resolveInputs: transaction ${txid} not found; the node needs a transaction index (-txindex / --txindex)`,
            { cause: err },
          );
        }
        throw err;
      }
      return Transaction.fromHex(hex).outs.map((out) => ({ value: out.value, script: out.script }));
    },
  };
}
