// Finds a Chromium for the browser tests, installing Debian's `chromium` package when it is missing.
// playwright-core drives it; Playwright's own browser download cannot be used on machines with a closed
// network, Debian's package can. `CHROMIUM_PATH` overrides the path (a Chrome or Chromium elsewhere).
// Run alone: `npx tsx test/scripts/ensure-chromium.ts`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    log(`$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${tail}`)),
    );
  });
}

/** The path of a Chromium binary; installs Debian's package first when needed (as root; about 1.5 min). */
export async function ensureChromium(log: (line: string) => void = console.log): Promise<string> {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override}: no such file`);
    return override;
  }
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (process.getuid?.() !== 0)
    throw new Error(
      `The browser test needs Chromium and ${DEBIAN_CHROMIUM} is missing. Install Debian's package as root ` +
        `(\`${INSTALL_COMMAND}\`), or set CHROMIUM_PATH to a Chromium or Chrome binary.`,
    );
  if (!existsSync('/usr/bin/apt-get'))
    throw new Error(
      `Chromium is missing and this is not a Debian-like system (no apt-get): install Chromium and set CHROMIUM_PATH.`,
    );
  log(`Chromium not found at ${DEBIAN_CHROMIUM}: installing Debian's chromium package`);
  await run('apt-get', ['update'], log);
  await run('apt-get', ['install', '-y', 'chromium'], log);
  if (!existsSync(DEBIAN_CHROMIUM))
    throw new Error(`apt-get installed chromium but ${DEBIAN_CHROMIUM} is still missing; set CHROMIUM_PATH`);
  return DEBIAN_CHROMIUM;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureChromium().then(
    (path) => console.log(`chromium: ${path}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
