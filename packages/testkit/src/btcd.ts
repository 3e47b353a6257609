// A real Bitcoin node for tests: btcd (Go), built once with `go install` into the tributary cache and
// started on free loopback ports with a temp datadir. btcd speaks Bitcoin Core's JSON-RPC dialect for
// the calls sources use (getblockcount, getblockhash, getblock <hash> 0, getrawtransaction <txid> 0),
// and mines on demand with `generate` once it has a `--miningaddr`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goBinary } from './go-install.ts';
import { jsonRpcCaller } from './json-rpc.ts';
import { freePort } from './ports.ts';
import { spawnWatched, stopProcessGroup, untilAnswering } from './process-group.ts';

/** Pinned: btcd's RPC behaviour (errors, verbosity types) differs between releases. */
export const DEFAULT_BTCD_VERSION = 'v0.24.2';

export interface StartBtcdOptions {
  /** Address that `generate` pays the coinbase to (a regtest/simnet address whose key the test holds). */
  miningAddress: string;
  network?: 'regtest' | 'simnet';
  version?: string;
  /** Keep a transaction index (getrawtransaction for any confirmed tx). Default true. */
  txindex?: boolean;
  /** Peers (`host:port`) to connect to at start. */
  connect?: string[];
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface BtcdNode {
  /** JSON-RPC endpoint (plain HTTP on loopback). */
  rpcUrl: string;
  rpcUser: string;
  rpcPass: string;
  /** P2P `host:port`, for another node's `connect`/`addnode`. */
  p2pAddress: string;
  network: 'regtest' | 'simnet';
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Mines `n` blocks to the mining address; returns their hashes. */
  generate(n: number): Promise<string[]>;
  logFile: string;
  /** Kills the node's process group and deletes its datadir. Idempotent. */
  close(): Promise<void>;
}

/** Path of the btcd binary, building it on first use (a few minutes on 2 cores; cached after). */
export function btcdBinary(version = DEFAULT_BTCD_VERSION): Promise<string> {
  return goBinary({ name: 'btcd', pkg: 'github.com/btcsuite/btcd', version, goVersion: '1.22+' });
}

export async function startBtcd(opts: StartBtcdOptions): Promise<BtcdNode> {
  const bin = await btcdBinary(opts.version);
  const network = opts.network ?? 'regtest';
  const dir = mkdtempSync(join(tmpdir(), 'tributary-btcd-'));
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const rpcUser = 'tributary';
  const rpcPass = `pass-${Math.random().toString(36).slice(2)}`;
  const logFile = join(dir, 'btcd.out');
  const args = [
    `--${network}`,
    `--datadir=${join(dir, 'data')}`,
    `--logdir=${join(dir, 'logs')}`,
    `--rpcuser=${rpcUser}`,
    `--rpcpass=${rpcPass}`,
    // Plain HTTP is acceptable only because both listeners are on loopback.
    '--notls',
    `--rpclisten=127.0.0.1:${rpcPort}`,
    `--listen=127.0.0.1:${p2pPort}`,
    `--miningaddr=${opts.miningAddress}`,
    '--nodnsseed',
    '--debuglevel=info',
    ...(opts.txindex === false ? [] : ['--txindex']),
    ...(opts.connect ?? []).map((p) => `--connect=${p}`),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawnWatched(bin, args, logFile);

  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const auth = 'Basic ' + Buffer.from(`${rpcUser}:${rpcPass}`).toString('base64');
  const rpc = jsonRpcCaller({ url: rpcUrl, node: 'btcd', version: '1.0', headers: { authorization: auth } });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stopProcessGroup(child, { signal: 'SIGKILL' });
    rmSync(dir, { recursive: true, force: true });
  };

  await untilAnswering(child, { name: 'btcd', timeoutMs: opts.readyTimeoutMs ?? 30_000, close }, () =>
    rpc('getblockcount'),
  );
  return {
    rpcUrl,
    rpcUser,
    rpcPass,
    p2pAddress: `127.0.0.1:${p2pPort}`,
    network,
    rpc,
    generate: (n) => rpc<string[]>('generate', [n]),
    logFile,
    close,
  };
}
