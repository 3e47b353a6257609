// docs/adding-a-source.md's promise: `turbo gen source` scaffolds a package that typechecks, lints, is
// formatted, loads in the runtime through `worker.plugins`, and passes its own tests as generated: the
// conformance suite, the in-process source tests and the crash test through the real worker and real
// Kafka. The generator runs non-interactively for a throwaway name in packages/, removed afterwards.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, parseConfig, resolveConnectors } from '@tributary/runtime';

const root = join(import.meta.dirname, '..');
const name = `gen-${randomBytes(4).toString('hex')}`;
const dir = join(root, 'packages', `source-${name}`);
const description = 'Throwaway source made by the generator test';

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to its end; stdin is closed, so a prompt the generator did not bypass cannot block. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  // The child vitest must not think it runs inside this one.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const child = spawn(cmd, args, { cwd, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

afterAll(() => {
  // Always: a leftover package would join every later turbo run and the lockfile check of `npm install`.
  rmSync(dir, { recursive: true, force: true });
});

describe('turbo gen source', () => {
  it(
    'scaffolds a source package that passes typecheck, lint, format and its own tests',
    { timeout: 900_000 },
    async () => {
      expect(existsSync(dir), `${dir} exists before the test`).toBe(false);
      const gen = await run('npx', ['turbo', 'gen', 'source', '--args', name, description], root, {
        TURBO_TELEMETRY_DISABLED: '1',
      });
      // turbo gen exits 0 even when a prompt rejects its argument: the files are the evidence.
      expect(gen.output).toContain('>>> Success!');
      expect(gen.code).toBe(0);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        exports: Record<string, string>;
        scripts: Record<string, string>;
      };
      expect(pkg.name).toBe(`@tributary/source-${name}`);
      expect(pkg.exports['.']).toBe('./src/index.ts');
      expect(Object.keys(pkg.scripts).sort()).toEqual(['lint', 'test', 'typecheck']);
      for (const f of ['README.md', 'tsconfig.json', 'vitest.config.ts', 'test/conformance.test.ts'])
        expect(existsSync(join(dir, f)), f).toBe(true);

      // The runtime loads it by `worker.plugins` (no npm install, no BUILTIN_SOURCES entry yet) and
      // validates a connector's config with its schema, naming the field.
      const entry = join(dir, 'src', 'index.ts');
      const cfg = (config: unknown) =>
        parseConfig({
          kafka: { brokers: ['127.0.0.1:9092'] },
          worker: { plugins: { [name]: entry } },
          connectors: [{ name: 'generated', type: name, config }],
        });
      const [resolved] = await resolveConnectors(
        cfg({ baseUrl: 'http://127.0.0.1:1', symbols: ['BTC/USD'] }),
        join(root, 'connectors.config.ts'),
      );
      expect(resolved!.source.type).toBe(name);
      expect(resolved!.source.description).toBe(description);
      const invalid = await resolveConnectors(
        cfg({ symbols: ['BTC/USD'] }),
        join(root, 'connectors.config.ts'),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(invalid).toBeInstanceOf(ConfigError);
      expect((invalid as ConfigError).issues.join('\n')).toContain(
        'connectors[0] "generated": config.baseUrl',
      );

      const tsc = await run('npx', ['tsc', '-p', 'tsconfig.json'], dir);
      expect(tsc.code, tsc.output).toBe(0);
      const lint = await run('npx', ['eslint', '.'], dir);
      expect(lint.code, lint.output).toBe(0);
      const format = await run('npx', ['prettier', '--check', '.'], dir);
      expect(format.code, format.output).toBe(0);

      // Its own suite, on this run's broker (its globalSetup reuses KAFKA_BROKERS instead of starting one).
      const tests = await run('npx', ['vitest', 'run', '--configLoader', 'runner'], dir, {
        KAFKA_BROKERS: inject('kafkaBrokers').join(','),
      });
      expect(tests.code, tests.output.slice(-5000)).toBe(0);
      const report = JSON.parse(readFileSync(join(dir, 'test-results', 'vitest.json'), 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        numPendingTests: number;
        testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
      };
      expect(report.numFailedTests).toBe(0);
      expect(report.numPendingTests).toBe(0);
      const passed = (file: string) =>
        report.testResults
          .filter((r) => r.name.endsWith(file))
          .flatMap((r) => r.assertionResults)
          .filter((a) => a.status === 'passed').length;
      // Six conformance checks, four source tests, the crash test.
      expect(passed('conformance.test.ts')).toBe(6);
      expect(passed('source.test.ts')).toBe(4);
      expect(passed('worker-crash.test.ts')).toBe(1);
    },
  );

  it('refuses a name that is taken, touching nothing', async () => {
    const existing = join(root, 'packages', 'source-synthetic', 'src', 'index.ts');
    const before = readFileSync(existing, 'utf8');
    const gen = await run('npx', ['turbo', 'gen', 'source', '--args', 'synthetic', description], root, {
      TURBO_TELEMETRY_DISABLED: '1',
    });
    expect(gen.output).toContain('packages/source-synthetic already exists');
    expect(gen.output).not.toContain('>>> Success!');
    expect(readFileSync(existing, 'utf8')).toBe(before);
  });
});
