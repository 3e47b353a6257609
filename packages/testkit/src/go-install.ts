// Go programs the test kit runs (btcd, geth), built once with `go install` and cached by version under
// `~/.cache/tributary/go-bin/<name>-<version>/`. The build goes to a temp GOBIN first and is moved in
// place at the end, so an interrupted build never leaves a half-written binary behind.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot, MissingToolError } from './maven.ts';

const run = promisify(execFile);

export interface GoBinary {
  /** Binary name, as `go install` writes it. */
  name: string;
  /** Module path of the main package, without the version. */
  pkg: string;
  version: string;
  /** The Go release it needs, for the error when Go is missing (e.g. '1.24+'). */
  goVersion: string;
  /** Build progress (first use only). Default: stderr. */
  onProgress?: (line: string) => void;
}

/** Path of the binary, building it on first use (minutes on 2 cores with empty Go caches). */
export async function goBinary(b: GoBinary): Promise<string> {
  const onProgress = b.onProgress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = join(cacheRoot(), 'go-bin', `${b.name}-${b.version}`);
  const bin = join(dir, b.name);
  if (existsSync(bin)) return bin;
  try {
    await run('go', ['version'], { timeout: 30_000 });
  } catch {
    throw new MissingToolError(
      `Cannot build ${b.name} ${b.version}: Go (\`go\`) not found on PATH. Install Go ${b.goVersion} (https://go.dev/dl/).`,
    );
  }
  mkdirSync(join(cacheRoot(), 'go-bin'), { recursive: true });
  const work = mkdtempSync(join(cacheRoot(), 'go-bin', 'build-'));
  const target = `${b.pkg}@${b.version}`;
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  onProgress(
    `testkit: building ${b.name} ${b.version} (go install ${target}); first use only, a few minutes`,
  );
  // go install is quiet for minutes while it compiles: a heartbeat says it is still at work.
  const heartbeat = setInterval(
    () => onProgress(`testkit: still building ${b.name} (${seconds()} s)`),
    30_000,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', target], {
        env: { ...process.env, GOBIN: work },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let tail = '';
      let partial = '';
      child.stderr.on('data', (d: Buffer) => {
        const text = partial + d.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l.trim()) onProgress(`testkit: ${l}`);
        tail = (tail + d.toString('utf8')).slice(-4000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            new Error(`go install ${target} failed (${signal ?? `exit ${code}`}): ${tail.slice(-2000)}`),
          );
      });
    });
    mkdirSync(dir, { recursive: true });
    if (!existsSync(bin)) renameSync(join(work, b.name), bin);
    onProgress(`testkit: built ${b.name} ${b.version} in ${seconds()} s: ${bin}`);
  } finally {
    clearInterval(heartbeat);
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}
