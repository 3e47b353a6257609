import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

/** Where resolved jars are cached between runs (outside the repo). */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'tributary');
}

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

async function have(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args, { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Java and Maven must be on PATH to run a broker from Maven Central; say both ways out when not. */
export async function requireJavaAndMaven(): Promise<void> {
  const [java, mvn] = await Promise.all([have('java', ['-version']), have('mvn', ['-v'])]);
  if (java && mvn) return;
  const missing = [!java && 'Java 17+ (`java`)', !mvn && 'Maven (`mvn`)'].filter(Boolean).join(' and ');
  throw new MissingToolError(
    `Cannot start a local Kafka broker: ${missing} not found on PATH.\n` +
      `Either install them (e.g. \`apt-get install openjdk-17-jre-headless maven\`), ` +
      `or point Tributary at an existing cluster: KAFKA_BROKERS=host:9092 ` +
      `(with Docker: \`docker compose up -d kafka\` then KAFKA_BROKERS=127.0.0.1:9092).`,
  );
}

/** Resolves artifacts and their runtime dependencies into a cached folder of jars, keyed by `key`.
 * Resolution goes to a temp folder first and is renamed into place, so a crash never leaves half a cache. */
export async function resolveJars(key: string, artifacts: MavenArtifact[]): Promise<string> {
  const libs = join(cacheRoot(), key, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;
  await requireJavaAndMaven();
  mkdirSync(join(cacheRoot(), key), { recursive: true });
  const work = mkdtempSync(join(cacheRoot(), key, 'resolve-'));
  const deps = artifacts
    .map(
      (a) =>
        `<dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId><version>${a.version}</version></dependency>`,
    )
    .join('\n');
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dev.tributary</groupId><artifactId>jars</artifactId><version>0</version><packaging>pom</packaging>
<dependencies>${deps}</dependencies></project>`,
  );
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(work, 'libs')}`,
        '-DincludeScope=runtime',
      ],
      { cwd: work, timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    const out = (err as { stdout?: string; stderr?: string }).stdout ?? '';
    throw new Error(`Maven could not resolve ${key}: ${out.slice(-2000)}`, { cause: err });
  }
  if (readdirSync(join(work, 'libs')).length === 0) throw new Error(`Maven resolved no jars for ${key}`);
  writeFileSync(join(work, 'libs', '.complete'), new Date().toISOString());
  try {
    renameSync(join(work, 'libs'), libs);
  } catch {
    // Another process won the race; its cache is as good as ours.
  }
  rmSync(work, { recursive: true, force: true });
  return libs;
}
