// A real Ethereum JSON-RPC node for tests and benchmarks: Hardhat 2 (`hardhat node`), which runs on Node 20
// and supports evm_snapshot/evm_revert/evm_mine, enough to script reorgs as a client sees them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './ports.ts';
import { stopProcessGroup } from './process-group.ts';

export interface HardhatNode {
  /** HTTP JSON-RPC endpoint on loopback. */
  url: string;
  chainId: number;
  /** Process group of the node (see `processGroupCpuSeconds`). */
  processGroup: number;
  /** Stops the node's whole process group and deletes its temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface StartHardhatOptions {
  chainId?: number;
  /** Gas limit of every block (default 60M, room for benchmark blocks). The node automines: one block per
   * transaction, unless a test turns it off with `evm_setAutomine`. */
  blockGasLimit?: number;
  readyTimeoutMs?: number;
  /** Where Hardhat is resolved from (default: the current working directory's package). */
  from?: string;
}

/** Starts `hardhat node` on a free port with a minimal config written to a temp dir. */
export async function startHardhat(opts: StartHardhatOptions = {}): Promise<HardhatNode> {
  const chainId = opts.chainId ?? 31337;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-hardhat-'));
  const config = join(dir, 'hardhat.config.cjs');
  writeFileSync(
    config,
    `module.exports = { solidity: '0.8.30', networks: { hardhat: { chainId: ${chainId}, ` +
      `blockGasLimit: ${opts.blockGasLimit ?? 60_000_000}, mining: { auto: true }, loggingEnabled: false } } };\n`,
  );
  const port = await freePort();
  const from = opts.from ?? join(process.cwd(), 'package.json');
  const bin = createRequire(from).resolve('hardhat/internal/cli/bootstrap.js');
  // detached: the node gets its own process group, so close() can stop it and anything it forked.
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'node', '--config', config, '--port', String(port), '--hostname', '127.0.0.1'],
    {
      // Hardhat refuses to run unless it is installed locally relative to its working directory.
      cwd: dirname(from),
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(-20_000)));

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stopProcessGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`hardhat node exited during start (code ${child.exitCode}):\n${out.slice(-3000)}`);
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(
        `hardhat node not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${out.slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, chainId, processGroup: child.pid!, close };
}
