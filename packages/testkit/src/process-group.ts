import type { ChildProcess } from 'node:child_process';

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
