// Bitcoin Core's HTTP interface in front of a btcd node, for the `rest: true` path: btcd speaks Core's
// JSON-RPC dialect but has no REST interface. Like bitcoind, one port serves both: JSON-RPC POSTs to `/`
// (passed through to btcd, credentials included) and the unauthenticated REST endpoint
// `/rest/block/<hash>.bin` with the raw block, answering errors the way Core's rest.cpp does
// (400 "Invalid hash: ...", 404 "<hash> not found", text/plain). With `rest: false` it behaves like
// bitcoind started without -rest: no REST handler, every /rest/ path is 404.
import { createServer, type Server } from 'node:http';
import type { BtcdNode } from '@tributary/testkit';

export interface CoreRestServer {
  url: string;
  /** Every request path, in order (REST and RPC: RPC as `POST <method>`). */
  requests: string[];
  close(): Promise<void>;
}

export async function startCoreRest(node: BtcdNode, opts: { rest?: boolean } = {}): Promise<CoreRestServer> {
  const rest = opts.rest ?? true;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const reply = (status: number, body: string | Buffer, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const handle = async () => {
      if (req.method === 'POST' && path === '/') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        requests.push(`POST ${(JSON.parse(body.toString('utf8')) as { method: string }).method}`);
        const upstream = await fetch(node.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
          body,
        });
        return reply(upstream.status, Buffer.from(await upstream.arrayBuffer()), 'application/json');
      }
      requests.push(path);
      const m = /^\/rest\/block\/([^/]*)\.bin$/.exec(path);
      if (!rest || req.method !== 'GET' || !m) return reply(404, 'Not found');
      const hash = m[1]!;
      if (!/^[0-9a-f]{64}$/.test(hash)) return reply(400, `Invalid hash: ${hash}\r\n`);
      let hex: string;
      try {
        hex = await node.rpc<string>('getblock', [hash, 0]);
      } catch {
        return reply(404, `${hash} not found\r\n`);
      }
      return reply(200, Buffer.from(hex, 'hex'), 'application/octet-stream');
    };
    handle().catch((err: unknown) => reply(500, String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
