import { describe, expect, inject, it } from 'vitest';
import { spawnCli, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');

describe('operating a worker', () => {
  it('serves /healthz, /metrics and /status; offsets list and reset work on a stopped connector', async () => {
    const s = syntheticConfig({ brokers, partitions: 2, ratePerSec: 300 });
    const file = writeConfig({ ...s.config, worker: { http: { host: '127.0.0.1', port: 0 } } });
    const w = spawnWorker(file);
    await waitForOutput(w, /status served/);
    const url = (/"url":"(http:\/\/[^"]+)"/.exec(w.output()) ?? [])[1]!;
    await waitForOutput(w, /task started from committed offsets/);
    await new Promise((r) => setTimeout(r, 1500));

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, unhealthy: [] });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `tributary_records_total\\{connector="${s.connector}",task="0",topic="synthetic.records",worker="[^"]+"\\} [1-9]`,
      ),
    );
    expect(metrics).toContain('tributary_transaction_commit_seconds_bucket');

    const status = spawnCli(['status', '--url', url]);
    expect(await status.exited).toBe(0);
    expect(status.output()).toMatch(
      new RegExp(
        `${s.connector}/0\\s+running\\s+\\d+ records\\s+\\{"0":\\{"next":\\d+\\},"1":\\{"next":\\d+\\}\\}`,
      ),
    );

    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);

    const list = spawnCli(['offsets', 'list', '--config', file, '--connector', s.connector]);
    expect(await list.exited).toBe(0);
    const rows = list
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith(s.connector));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^${s.connector}\\t0\\t\\{"next":[1-9]\\d*\\}\\ttask 0`));

    const reset = spawnCli(['offsets', 'reset', s.connector, '--config', file]);
    expect(await reset.exited).toBe(0);
    expect(reset.output()).toContain(`reset 2 partition(s) of ${s.connector}: 0, 1`);

    const after = spawnCli(['offsets', 'list', '--config', file, '--connector', s.connector]);
    expect(await after.exited).toBe(0);
    expect(
      after
        .output()
        .split('\n')
        .filter((l) => l.startsWith(s.connector)),
    ).toHaveLength(0);

    const again = spawnWorker(file);
    await waitForOutput(again, /task started from committed offsets/);
    expect(again.output()).toMatch(/"offsets":\{\},"msg":"task started/);
    again.kill('SIGTERM');
    expect(await again.exited).toBe(0);

    const unknown = spawnCli(['offsets', 'reset', 'nope', '--config', file]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain('no connector "nope"');
  });
});
