// Esplora HTTP API (Blockstream's electrs, mempool.space): /blocks/tip/height, /block-height/:h (hash as
// text), /block/:hash/raw (binary), /tx/:txid (JSON with outputs).
import type { ChainBackend, PrevOutput } from './types.ts';
import { get, NotFoundError } from '../http.ts';

export interface EsploraOptions {
  url: string;
  timeoutMs: number;
}

interface EsploraTx {
  vout: { value: number; scriptpubkey: string }[];
}

export function esploraBackend(o: EsploraOptions): ChainBackend {
  const base = o.url.replace(/\/+$/, '');
  const text = async (path: string, signal: AbortSignal) =>
    (await get(`${base}${path}`, { timeoutMs: o.timeoutMs, signal })).text();

  return {
    kind: 'esplora',
    async tipHeight(signal) {
      const body = (await text('/blocks/tip/height', signal)).trim();
      if (!/^\d+$/.test(body))
        throw new Error(`esplora /blocks/tip/height: unexpected body ${body.slice(0, 100)}`);
      return Number(body);
    },
    async blockHash(height, signal) {
      try {
        return (await text(`/block-height/${height}`, signal)).trim();
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },
    async rawBlock(hash, signal) {
      const res = await get(`${base}/block/${hash}/raw`, { timeoutMs: o.timeoutMs, signal });
      return new Uint8Array(await res.arrayBuffer());
    },
    async transactionOutputs(txid, signal): Promise<PrevOutput[]> {
      const tx = JSON.parse(await text(`/tx/${txid}`, signal)) as EsploraTx;
      // Esplora reports sats as JSON numbers; every bitcoin amount is below 2^53, so this is exact.
      return tx.vout.map((v) => ({ value: BigInt(v.value), script: Buffer.from(v.scriptpubkey, 'hex') }));
    },
  };
}
