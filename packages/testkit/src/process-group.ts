import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';

/** Stops a child started with `detached: true` (its own process group): `signal` to the whole group,
 * SIGKILL after `graceMs`, and resolves once the child has exited. A no-op when it already has. */
export async function stopProcessGroup(
  child: ChildProcess,
  opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  kill(opts.signal ?? 'SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), opts.graceMs ?? 5_000);
  await exited;
  clearTimeout(timer);
}

/** Starts `bin args` in its own process group (for `stopProcessGroup`) with stdout and stderr appended to
 * `logFile`, under a shell wrapper that kills it when our stdin closes: a test run that is SIGKILLed
 * leaves no node behind. Nothing of it keeps the event loop alive. */
export function spawnWatched(bin: string, args: string[], logFile: string): ChildProcess {
  const out = createWriteStream(logFile, { flags: 'a' });
  const script =
    'exec 3<&0; "$0" "$@" </dev/null & j=$!; trap "kill $j 2>/dev/null; wait $j; exit 143" TERM INT; ' +
    '(cat <&3 >/dev/null; kill $j 2>/dev/null) & wait $j';
  const child = spawn('bash', ['-c', script, bin, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.on('exit', () => out.end());
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr])
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses):
 * state, ppid, pgrp, ...; null when the process is gone or there is no /proc. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) used so far by the live processes of process group `pgid`, from /proc
 * (Linux); NaN where there is no /proc. Benchmarks sample it to see when a node has gone quiet. */
export function processGroupCpuSeconds(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(e); // null: exited meanwhile
    if (f && Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** CPU seconds (user + system) used so far by process `pid` (Linux /proc); NaN when it is gone. */
export function processCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : Number.NaN;
}

/** Polls `probe` every 100 ms until it answers (its answer is returned) for a node started with
 * `spawnWatched`. Fails, after `close()`, when the child exits first (`<name> exited during start (code
 * N)<exitHint>`) or when `timeoutMs` passes (`<name> not ready after N ms: <last error>`). */
export async function untilAnswering<T>(
  child: ChildProcess,
  opts: { name: string; timeoutMs: number; exitHint?: string; close: () => Promise<void> },
  probe: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await opts.close().catch(() => {});
      throw new Error(`${opts.name} exited during start (code ${child.exitCode})${opts.exitHint ?? ''}`);
    }
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) {
        await opts.close();
        throw new Error(`${opts.name} not ready after ${opts.timeoutMs} ms: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
