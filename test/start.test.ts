// The README's promise for operators' own connectors: with the shipped connectors.config.ts, `tributary run`
// (`npx tributary run`, `npm run tributary -- run`) starts an embedded Kafka and the synthetic source, serves
// health and status, and stops cleanly on Ctrl-C (SIGINT). `npm start` (the whole local suite) is tested in
// packages/demo.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli, waitForOutput } from '@tributary/testkit';

const root = join(import.meta.dirname, '..');

describe('tributary run (the default connectors.config.ts)', () => {
  it('runs the synthetic connector on an embedded Kafka, serves /status, and stops on SIGINT', async () => {
    // The default config says brokers: 'embedded'; make sure no outer cluster overrides it.
    const env: Record<string, string> = { KAFKA_BROKERS: '' };
    const w = spawnCli(['run', '--no-progress'], { cwd: root, env });
    await waitForOutput(w, /embedded Kafka ready/, 120_000);
    await waitForOutput(w, /task started from committed offsets/, 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const status = (await (await fetch('http://127.0.0.1:8083/status')).json()) as {
      tasks: { connector: string; state: string; records: number }[];
    };
    expect(status.tasks).toHaveLength(1);
    expect(status.tasks[0]).toMatchObject({ connector: 'synthetic-demo', state: 'running' });
    expect(status.tasks[0]!.records).toBeGreaterThan(0);
    w.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.output()).toMatch(/SIGINT: finishing open transactions and stopping/);
    expect(w.output()).toMatch(/task stopped/);
  });
});
