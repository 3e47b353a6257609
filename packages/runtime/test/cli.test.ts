import { describe, expect, it } from 'vitest';
import { freePort, spawnCli, waitForOutput, writeConfig } from '@tributary/testkit';

describe('tributary CLI', () => {
  it.each(['', 'run', 'validate', 'offsets', 'status', 'connectors', 'workers', 'reload'])(
    '--help works for "%s"',
    async (cmd) => {
      const p = spawnCli([...(cmd ? [cmd] : []), '--help']);
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/Usage: tributary/);
    },
  );

  it('--help after a subcommand shows that command’s help', async () => {
    const p = spawnCli(['connectors', 'pause', 'x', '--help']);
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('Usage: tributary connectors <subcommand>');
    expect(p.output()).toContain('reset-offsets NAME');
  });

  it('validate exits 2 naming the connector and field', async () => {
    const file = writeConfig({
      kafka: { brokers: ['127.0.0.1:9092'] },
      connectors: [{ name: 'demo', type: 'synthetic', config: { partitions: -1 } }],
    });
    const p = spawnCli(['validate', '--config', file]);
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/connectors\[0\] "demo": config\.partitions: /);
  });

  it('validate exits 2 listing known types for an unknown type; 0 for a good config', async () => {
    const bad = spawnCli([
      'validate',
      '--config',
      writeConfig({ kafka: { brokers: ['h:1'] }, connectors: [{ name: 'n', type: 'nope' }] }),
    ]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/unknown connector type "nope" \(known types: .*synthetic/);
    const good = spawnCli([
      'validate',
      '--config',
      writeConfig({ kafka: { brokers: ['h:1'] }, connectors: [{ name: 'n', type: 'synthetic' }] }),
    ]);
    expect(await good.exited).toBe(0);
    expect(good.output()).toMatch(/OK — 1 connector\(s\): n \(synthetic\)/);
  });

  it('run with unreachable brokers: a clear error, backoff, no log flood, clean stop', async () => {
    const port = await freePort(); // nothing listens here
    const file = writeConfig({
      kafka: { brokers: [`127.0.0.1:${port}`] },
      worker: { http: false },
      connectors: [{ name: 'n', type: 'synthetic' }],
    });
    const p = spawnCli(['run', '--config', file, '--no-progress']);
    await waitForOutput(p, /Kafka unreachable/, 30_000);
    await new Promise((r) => setTimeout(r, 8_000));
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const lines = p.output().trim().split('\n');
    const errors = lines.filter((l) => l.includes('Kafka unreachable'));
    expect(errors.length).toBeGreaterThanOrEqual(2); // it keeps trying...
    expect(errors.length).toBeLessThanOrEqual(8); // ...with backoff, not a flood
    expect(lines.length).toBeLessThan(20);
    expect(errors[0]).toContain(`127.0.0.1:${port}`);
    expect(errors.map((l) => (JSON.parse(l) as { retryInMs: number }).retryInMs).every((ms) => ms > 0)).toBe(
      true,
    );
  });

  it('unknown command exits 2', async () => {
    const p = spawnCli(['frobnicate']);
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('unknown command "frobnicate"');
  });
});
