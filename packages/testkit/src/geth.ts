// A real Ethereum execution client for tests and benchmarks: geth in dev mode, built once with
// `go install` into the tributary cache (like btcd) and started on free loopback ports with a temp datadir.
// Unlike Hardhat it answers `eth_getBlockReceipts`, serves requests on every core, and keeps side-chain
// blocks after a reorg (by hash, with their receipts), so a reorg while a connector is down can be retracted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goBinary } from './go-install.ts';
import { jsonRpcCaller } from './json-rpc.ts';
import { freePort } from './ports.ts';
import { spawnWatched, stopProcessGroup, untilAnswering } from './process-group.ts';

/** Pinned: dev mode (simulated beacon, `dev_` API) changes between releases. Builds with Go 1.24+. */
export const DEFAULT_GETH_VERSION = 'v1.17.10';

/** geth's built-in developer key (`DeveloperKey` in cmd/utils/flags.go): public, funded in every `--dev`
 * chain, and unlocked in the node's keystore, so `eth_sendTransaction` from it works. Test use only. */
export const GETH_DEV_KEY = '0xb71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291';
export const GETH_DEV_ACCOUNT = '0x71562b71999873DB5b286dF957af199Ec94617F7';

export interface StartGethOptions {
  version?: string;
  /** Gas limit of the dev chain's blocks (default 200M: room for benchmark blocks). */
  gasLimit?: number;
  /** geth's `--cache` in MiB (default 256; geth's own default of 2 GiB is too much beside Kafka). */
  cacheMiB?: number;
  /** JSON-RPC namespaces on HTTP (default eth, net, web3, debug, txpool, dev, admin). `admin` gives
   * `admin_exportChain`/`admin_importChain`, which reorg tests use to move a branch between two nodes. */
  httpApi?: string[];
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** Build progress (first use only). Default: stderr. */
  onProgress?: (line: string) => void;
}

export interface GethNode {
  /** HTTP JSON-RPC endpoint on loopback. */
  url: string;
  /** WebSocket JSON-RPC endpoint on loopback (eth, net, web3). */
  wsUrl: string;
  /** 1337, as in every geth dev chain. */
  chainId: number;
  /** The funded developer account (`GETH_DEV_ACCOUNT`) and its key (`GETH_DEV_KEY`). */
  devAccount: string;
  devKey: string;
  version: string;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** The node's log (stdout and stderr). */
  logFile: string;
  /** Process group of the node (see `processGroupCpuSeconds`). */
  processGroup: number;
  /** Kills the node's process group and deletes its datadir. Idempotent. */
  close(): Promise<void>;
}

/** Path of the geth binary, building it on first use (about 4 minutes on 2 cores with an empty Go module
 * and build cache; cached by version after). */
export function gethBinary(
  version = DEFAULT_GETH_VERSION,
  onProgress?: (line: string) => void,
): Promise<string> {
  return goBinary({
    name: 'geth',
    pkg: 'github.com/ethereum/go-ethereum/cmd/geth',
    version,
    goVersion: '1.24+',
    ...(onProgress ? { onProgress } : {}),
  });
}

/** Starts `geth --dev` with on-demand sealing (`--dev.period 0`: a block as soon as transactions are
 * pending; see `sendInOneBlock` for filling one block with many). */
export async function startGeth(opts: StartGethOptions = {}): Promise<GethNode> {
  const version = opts.version ?? DEFAULT_GETH_VERSION;
  const bin = await gethBinary(version, opts.onProgress);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-geth-'));
  const [httpPort, wsPort, authPort] = [await freePort(), await freePort(), await freePort()];
  const logFile = join(dir, 'geth.log');
  const args = [
    '--dev',
    '--dev.period=0',
    `--dev.gaslimit=${opts.gasLimit ?? 200_000_000}`,
    `--datadir=${join(dir, 'data')}`,
    `--cache=${opts.cacheMiB ?? 256}`,
    // Dev mode already turns P2P off (no listener, no dialing); say so anyway.
    '--nodiscover',
    '--maxpeers=0',
    '--ipcdisable',
    '--http',
    '--http.addr=127.0.0.1',
    `--http.port=${httpPort}`,
    `--http.api=${(opts.httpApi ?? ['eth', 'net', 'web3', 'debug', 'txpool', 'dev', 'admin']).join(',')}`,
    '--ws',
    '--ws.addr=127.0.0.1',
    `--ws.port=${wsPort}`,
    '--ws.api=eth,net,web3',
    // The engine API port is opened even in dev mode: a free one, so parallel nodes don't collide on 8551.
    '--authrpc.addr=127.0.0.1',
    `--authrpc.port=${authPort}`,
    // Room for `sendInOneBlock`: up to ~1,000 transactions wait behind a nonce gap (geth's default: 64).
    '--txpool.accountqueue=1024',
    '--txpool.globalqueue=4096',
    '--verbosity=2',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawnWatched(bin, args, logFile);

  const url = `http://127.0.0.1:${httpPort}`;
  const rpc = jsonRpcCaller({ url, node: 'geth', version: '2.0' });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // The datadir is thrown away: no need for geth's orderly shutdown.
    await stopProcessGroup(child, { signal: 'SIGKILL' });
    rmSync(dir, { recursive: true, force: true });
  };

  const chainId = await untilAnswering(
    child,
    { name: 'geth', timeoutMs: opts.readyTimeoutMs ?? 60_000, exitHint: '; see its log', close },
    async () => Number(await rpc<string>('eth_chainId')),
  );
  const [devAccount] = await rpc<string[]>('eth_accounts');
  if (devAccount?.toLowerCase() !== GETH_DEV_ACCOUNT.toLowerCase()) {
    await close();
    throw new Error(`geth dev account is ${devAccount}, expected ${GETH_DEV_ACCOUNT}`);
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    chainId,
    devAccount: GETH_DEV_ACCOUNT,
    devKey: GETH_DEV_KEY,
    version,
    rpc,
    logFile,
    processGroup: child.pid!,
    close,
  };
}

/** A transaction from the dev account, as `eth_sendTransaction` takes it (hex quantities). */
export interface DevTransaction {
  to?: string;
  value?: string;
  data?: string;
  gas: string;
}

/** Sends `txs` from the dev account so that they land in one block, and returns that block's number.
 *
 * With `--dev.period 0` geth seals a block as soon as a transaction becomes executable, so sending them
 * one by one gives a block per transaction (or a few). The trick: send all but the first with explicit
 * nonces behind a gap (they wait in the pool's queue, which announces nothing), then the first: the pool
 * promotes all of them at once, and the simulated beacon seals them together. The block is checked. */
export async function sendInOneBlock(
  node: Pick<GethNode, 'rpc' | 'url' | 'devAccount'>,
  txs: DevTransaction[],
  opts: { timeoutMs?: number } = {},
): Promise<number> {
  if (txs.length === 0) throw new Error('sendInOneBlock: no transactions');
  const nonce = Number(await node.rpc<string>('eth_getTransactionCount', [node.devAccount, 'pending']));
  const request = (i: number) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'eth_sendTransaction',
    params: [{ from: node.devAccount, ...txs[i], nonce: `0x${(nonce + i).toString(16)}` }],
  });
  if (txs.length > 1) {
    const res = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(txs.slice(1).map((_, i) => request(i + 1))),
    });
    const body = (await res.json()) as { error?: { message: string } }[];
    const failed = body.find((r) => r.error);
    if (failed) throw new Error(`geth eth_sendTransaction: ${failed.error!.message}`);
  }
  const first = await node.rpc<string>('eth_sendTransaction', [request(0).params[0]]);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    // geth indexes transactions in the background and says so rather than answer null meanwhile.
    const receipt = await node
      .rpc<{ blockNumber: string } | null>('eth_getTransactionReceipt', [first])
      .catch((err: unknown) => {
        if (/indexing is in progress/.test(String(err))) return null;
        throw err;
      });
    if (receipt) {
      const block = Number(receipt.blockNumber);
      const count = Number(
        await node.rpc<string>('eth_getBlockTransactionCountByNumber', [receipt.blockNumber]),
      );
      if (count !== txs.length)
        throw new Error(`geth sealed ${count} of ${txs.length} transactions in block ${block}`);
      return block;
    }
    if (Date.now() > deadline) throw new Error(`geth did not seal transaction ${first} in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
