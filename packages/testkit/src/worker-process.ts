// Runs the Tributary worker as a child process (the real CLI), for crash, fencing and CLI tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Path of the runtime's CLI, resolved from the caller's package (testkit does not depend on the runtime:
 * the runtime's own tests depend on testkit). */
export function workerCli(from = join(process.cwd(), 'package.json')): string {
  return createRequire(from).resolve('@tributary/runtime/cli');
}

/** Writes a JSON config to a temp file and returns its path. */
export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-cfg-'));
  const file = join(dir, 'connectors.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Starts `tributary <args>` as a plain node process (no wrapper), so a signal hits the worker itself. */
export function spawnCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; cli?: string } = {},
): WorkerProcess {
  const cli = opts.cli ?? workerCli();
  // The test's config file names the brokers: an inherited KAFKA_BROKERS (which overrides configs) must
  // not redirect a worker meant for a private or unreachable broker.
  const { KAFKA_BROKERS: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...inherited, LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, kill: (s = 'SIGTERM') => void child.kill(s) };
}

/** Starts `tributary run --config FILE`. */
export function spawnWorker(
  configFile: string,
  opts: { env?: Record<string, string>; cwd?: string; cli?: string } = {},
): WorkerProcess {
  return spawnCli(['run', '--config', configFile, '--no-progress'], opts);
}

/** Resolves when `pattern` appears in the process output (or rejects on exit/timeout). */
export async function waitForOutput(w: WorkerProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(w.output())) {
    if (w.child.exitCode !== null)
      throw new Error(`process exited (${w.child.exitCode}) before ${pattern}:\n${w.output().slice(-3000)}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${pattern}:\n${w.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The HTTP address a worker logs when its server is up (`worker.http.port: 0` picks a free port). */
export async function workerUrl(w: WorkerProcess, timeoutMs = 60_000): Promise<string> {
  const pattern = /"url":"(http:\/\/[^"]+)"/;
  await waitForOutput(w, pattern, timeoutMs);
  return pattern.exec(w.output())![1]!;
}

/** The process's JSON log lines (pino), parsed; other lines are skipped. */
export function logLines(w: WorkerProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of w.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut mid-write
    }
  }
  return out;
}

export interface CrashLoopOptions {
  configFile: string;
  /** How many SIGKILLs (at least 20 for a connector's crash test). */
  kills: number;
  /** Each kill lands uniformly at random within this window after the worker's start (ms). */
  minUptimeMs?: number;
  maxUptimeMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** When set, each kill's random delay counts from the moment this appears in the worker's output (e.g.
   * the task has started), so every kill lands while the worker is producing, however slow its start. */
  readyPattern?: RegExp;
  readyTimeoutMs?: number;
  /** Deterministic randomness for reproducible runs (default: Math.random). */
  random?: () => number;
  onKill?: (i: number, uptimeMs: number) => void;
}

/** Starts the worker, SIGKILLs it at random moments `kills` times (restarting each time), and returns the
 * uptimes used. The caller then runs it to completion and verifies the output. */
export async function crashLoop(o: CrashLoopOptions): Promise<number[]> {
  const rnd = o.random ?? Math.random;
  const min = o.minUptimeMs ?? 500;
  const max = o.maxUptimeMs ?? 4_000;
  const uptimes: number[] = [];
  for (let i = 0; i < o.kills; i++) {
    const w = spawnWorker(o.configFile, {
      ...(o.env ? { env: o.env } : {}),
      ...(o.cwd ? { cwd: o.cwd } : {}),
    });
    const uptime = Math.round(min + rnd() * (max - min));
    if (o.readyPattern) await waitForOutput(w, o.readyPattern, o.readyTimeoutMs ?? 60_000);
    await new Promise((r) => setTimeout(r, uptime));
    if (w.child.exitCode !== null)
      throw new Error(
        `worker exited on its own (code ${w.child.exitCode}) during crash loop:\n${w.output().slice(-3000)}`,
      );
    w.kill('SIGKILL');
    await w.exited;
    uptimes.push(uptime);
    o.onKill?.(i, uptime);
  }
  return uptimes;
}
