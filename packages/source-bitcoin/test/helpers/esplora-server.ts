// An Esplora-compatible HTTP server over a btcd node (the subset the source uses), so the Esplora backend
// is tested against real blocks. `corrupt` serves a damaged copy of the named blocks.
import { createServer, type Server } from 'node:http';
import { Transaction } from 'bitcoinjs-lib';
import type { BtcdNode } from '@tributary/testkit';

export interface EsploraServer {
  url: string;
  corrupt: Set<string>;
  requests: string[];
  close(): Promise<void>;
}

/** `delayMs` slows every response (a slow remote API), e.g. to give a crash test time to kill mid-stream. */
export async function startEsplora(node: BtcdNode, opts: { delayMs?: number } = {}): Promise<EsploraServer> {
  const corrupt = new Set<string>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const reply = (status: number, body: string | Buffer, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const handle = async () => {
      let m: RegExpMatchArray | null;
      if (path === '/blocks/tip/height') return reply(200, String(await node.rpc<number>('getblockcount')));
      if ((m = path.match(/^\/block-height\/(\d+)$/))) {
        try {
          return reply(200, await node.rpc<string>('getblockhash', [Number(m[1])]));
        } catch {
          return reply(404, 'Block not found');
        }
      }
      if ((m = path.match(/^\/block\/([0-9a-f]{64})\/raw$/))) {
        let raw: Buffer;
        try {
          raw = Buffer.from(await node.rpc<string>('getblock', [m[1], 0]), 'hex');
        } catch {
          return reply(404, 'Block not found');
        }
        if (corrupt.has(m[1]!)) raw[raw.length - 5]! ^= 0xff;
        return reply(200, raw, 'application/octet-stream');
      }
      if ((m = path.match(/^\/tx\/([0-9a-f]{64})$/))) {
        let tx: Transaction;
        try {
          tx = Transaction.fromHex(await node.rpc<string>('getrawtransaction', [m[1], 0]));
        } catch {
          return reply(404, 'Transaction not found');
        }
        const vout = tx.outs.map((o) => ({
          scriptpubkey: Buffer.from(o.script).toString('hex'),
          value: Number(o.value),
        }));
        return reply(
          200,
          JSON.stringify({ txid: m[1], version: tx.version, locktime: tx.locktime, vout }),
          'application/json',
        );
      }
      return reply(404, 'not found');
    };
    const delay = new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
    delay.then(handle).catch((err: unknown) => reply(500, String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    corrupt,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
