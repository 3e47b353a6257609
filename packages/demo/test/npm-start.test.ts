// `npm start` as a user runs it: the start script's command as a child process, real services, the real
// pipeline. It reaches steady state, the first attack story round raises each scripted alert exactly once
// (read back from the alerts topic with read_committed) within the time the README states, and SIGINT
// stops everything with exit code 0.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { logLines, readTopic, waitForOutput, type WorkerProcess } from '@tributary/testkit';
import { alert as alertSchema, type Alert } from '@tributary/schemas';
import { CONNECTORS, STORY_RULES } from '../src/index.ts';

const brokers = inject('kafkaBrokers');
const root = join(import.meta.dirname, '..', '..', '..');

/** README: steady state, then the first round 30 s later; all its alerts within 3 minutes of the start. */
const README_ALERTS_WITHIN_MS = 180_000;

/** Spawns the root `start` script's command (node --import tsx packages/demo/src/cli.ts) with `args`. */
function npmStart(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [cmd, ...scriptArgs] = pkg.scripts.start.split(' ');
  expect(cmd).toBe('node');
  const child = spawn(process.execPath, [...scriptArgs, ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, kill: (s = 'SIGTERM') => void child.kill(s) };
}

const alertsOf = async (topic: string): Promise<Alert[]> =>
  (await readTopic(brokers, topic)).map((m) => alertSchema.parse(JSON.parse(m.value!)));

describe('npm start', () => {
  it('prints usage with --help', async () => {
    const p = npmStart(['--help']);
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/Usage: npm start/);
    expect(p.output()).toMatch(/--attack-every DURATION/);
    const bad = npmStart(['--attack-every', 'soon']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--attack-every: expected a duration/);
  });

  it('runs every connector and the processor, raises each scripted alert once, and stops on SIGINT', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}.`;
    const started = Date.now();
    const p = npmStart(['--no-progress', '--http-port', '0', '--prefix', prefix, '--rounds', '1'], {
      KAFKA_BROKERS: brokers.join(','),
    });
    try {
      await waitForOutput(p, /steady state after/, 150_000);
      const url = logLines(p).find((l) => String(l.msg).includes('worker HTTP'))?.url as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const status = (await (await fetch(`${url}/status`)).json()) as {
        tasks: { connector: string; state: string; records: number }[];
      };
      expect(status.tasks.map((t) => t.connector).sort()).toEqual([...CONNECTORS].sort());
      for (const t of status.tasks) {
        expect(t.state).toBe('running');
        expect(t.records).toBeGreaterThan(0);
      }
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
        /tributary_records_total\{[^}]*connector="hubspot"/,
      );

      await waitForOutput(p, /story round 1: played/, README_ALERTS_WITHIN_MS);
      const played = logLines(p).find((l) => l.msg === 'story round 1: played')!;
      expect(played.missing).toEqual([]);
      const steady = logLines(p).find((l) => String(l.msg).startsWith('steady state after'))!;
      console.log(
        `npm start: steady state ${String(steady.steadyMs)} ms after start, round 1 took ${String(played.seconds)} s, ` +
          `all alerts ${Date.now() - started} ms after spawning`,
      );

      const alerts = await alertsOf(`${prefix}alerts`);
      // Every scripted rule exactly once, and nothing else: the steady traffic is benign.
      expect(alerts.map((a) => a.ruleId).sort()).toEqual([...STORY_RULES].sort());
      expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
      expect(Date.now() - started).toBeLessThan(README_ALERTS_WITHIN_MS);
      const byRule = new Map(alerts.map((a) => [a.ruleId, a]));
      // The phishing integration is a machine actor: the takeover is critical, and the wave names it.
      expect(byRule.get('account-takeover')!.severity).toBe('critical');
      expect(byRule.get('crm-breach-wave')!.entity).toBe('actor:INTEGRATION:mail-sync-app-1');
      expect(byRule.get('payout-address-change')!.entity).toMatch(/^customer:hubspot:contacts:\d+$/);
      // Evidence points into this run's source topics: the alerts came through the pipeline.
      for (const a of alerts)
        for (const e of a.evidence) expect(e.topic.startsWith(prefix), `${a.ruleId}: ${e.topic}`).toBe(true);
      expect(byRule.get('account-takeover')!.evidence.map((e) => e.topic)).toEqual([
        `${prefix}crm.changes`,
        `${prefix}chain.transfers`,
      ]);

      // The worker's web dashboard is set to the processor's alerts topic and shows the story's alerts.
      let board: { alerts: { topic: string; alerts: { ruleId: string }[] } | null } = { alerts: null };
      for (let i = 0; i < 80; i++) {
        board = (await (await fetch(`${url}/dashboard/data`)).json()) as typeof board;
        if (board.alerts?.alerts.some((a) => a.ruleId === 'crm-breach-wave')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(board.alerts?.topic).toBe(`${prefix}alerts`);
      expect(board.alerts?.alerts.map((a) => a.ruleId)).toContain('crm-breach-wave');

      p.kill('SIGINT');
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/SIGINT: stopping the story and traffic/);
      const stopped = logLines(p).find((l) => l.msg === 'demo stopped');
      expect(stopped?.exitCode).toBe(0);
      expect(logLines(p).filter((l) => l.msg === 'task stopped').length).toBe(CONNECTORS.length);
      // A clean stop commits what is open and adds nothing twice.
      const after = await alertsOf(`${prefix}alerts`);
      expect(new Set(after.map((a) => a.alertId)).size).toBe(after.length);
      expect(after.filter((a) => (STORY_RULES as readonly string[]).includes(a.ruleId)).length).toBe(
        STORY_RULES.length,
      );
    } finally {
      // On a failure: stop it as a user would (the Hardhat node it started has no watchdog), then force.
      if (p.child.exitCode === null) {
        p.kill('SIGINT');
        const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
        await p.exited;
        clearTimeout(timer);
      }
    }
  });
});
