// A JSON-RPC caller for the nodes the test kit starts (btcd, geth): one POST per call, the node's error
// thrown with its name, method and code.

export type RpcCall = <T = unknown>(method: string, params?: unknown[]) => Promise<T>;

export function jsonRpcCaller(o: {
  url: string;
  /** In errors: `<node> <method>: <message> (code N)`. */
  node: string;
  /** '1.0' for Bitcoin-style servers, '2.0' for Ethereum. */
  version: '1.0' | '2.0';
  headers?: Record<string, string>;
}): RpcCall {
  let id = 0;
  return async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...o.headers },
      body: JSON.stringify({ jsonrpc: o.version, id: ++id, method, params }),
    });
    const body = (await res.json()) as { result: T; error?: { code: number; message: string } | null };
    if (body.error) throw new Error(`${o.node} ${method}: ${body.error.message} (code ${body.error.code})`);
    return body.result;
  };
}
