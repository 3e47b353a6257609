import { describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { join } from 'node:path';
import { readTopic, spawnCli, writeConfig } from '@tributary/testkit';
import { alert as alertSchema, deadLetter as deadLetterSchema, type Alert } from '@tributary/schemas';
import { runProcessor, type ProcessorOptions } from '../src/processor.ts';
import { catalogue } from '../src/rules/index.ts';
import { backtestEvents } from '../src/backtest.ts';
import { loadWatchlist } from '../src/watchlist.ts';
import { makeEvent, watchlistRecord } from '../src/events.ts';
import { appendFileSync } from 'node:fs';
import {
  A3,
  createInputTopics,
  EXPECTED,
  NEW_X,
  produce,
  produceTo,
  scenario,
  scenarioEvents,
  topicsFor,
  uniquePrefix,
  waitCaughtUp,
  writeSdn,
  type Produced,
} from './scenario.ts';

const brokers = inject('kafkaBrokers');
const logger = pino({ level: 'warn' });

function expectedByEngine(phases: Produced[][], list: Awaited<ReturnType<typeof loadWatchlist>>) {
  return backtestEvents(scenarioEvents(phases), { rules: catalogue(), watchlist: list }).alerts;
}

describe('processor against real Kafka', () => {
  it('raises exactly the scenario alerts, with evidence, and nothing for the benign traffic; a restart adds none; a list change (an address in a file, an entity on the topic) re-screens; malformed input is dead-lettered', async () => {
    const prefix = uniquePrefix();
    await createInputTopics(brokers, prefix);
    const sdn = writeSdn();
    const groupId = `${prefix}correlation`;
    const { inputs, outputs } = topicsFor(prefix);
    const opts = (signal: AbortSignal): ProcessorOptions => ({
      brokers,
      groupId,
      inputs,
      outputs,
      rules: catalogue(),
      watchlistFiles: [{ path: sdn, format: 'ofac-sdn' }],
      watchlistPollMs: 200,
      logger,
      signal,
    });
    const phases = scenario(400);
    const watched = [inputs.transfers, inputs.crm];
    /** The alerts topic once it holds more than `n` records (or after 30 s: the assertions then say so). */
    const alertsBeyond = async (n: number) => {
      const deadline = Date.now() + 30_000;
      let got = await readTopic(brokers, `${prefix}alerts`);
      while (got.length <= n && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        got = await readTopic(brokers, `${prefix}alerts`);
      }
      return got;
    };

    const ac = new AbortController();
    const running = runProcessor(opts(ac.signal));
    for (const phase of phases) {
      await produce(brokers, prefix, phase);
      await waitCaughtUp(brokers, groupId, watched);
    }
    ac.abort();
    await running;

    const alerts = (await readTopic(brokers, `${prefix}alerts`)).map(
      (m) => alertSchema.parse(JSON.parse(m.value!)) as Alert,
    );
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(EXPECTED);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect(a.evidence.length).toBeGreaterThan(0);
      for (const e of a.evidence) expect(e.topic.startsWith(prefix)).toBe(true);
    }
    const takeover = alerts.find((a) => a.ruleId === 'account-takeover')!;
    expect(takeover.severity).toBe('critical');
    expect(takeover.evidence.map((e) => e.topic)).toEqual([inputs.crm, inputs.transfers]);
    const paid = alerts.find((a) => a.ruleId === 'address-poisoning-paid')!;
    expect(paid.severity).toBe('critical');
    expect(paid.evidence).toHaveLength(4);
    // The same ids the pure engine computes for the same events.
    const pure = expectedByEngine(phases, await loadWatchlist([{ path: sdn, format: 'ofac-sdn' }]));
    expect(alerts.map((a) => a.alertId).sort()).toEqual(pure.map((a) => a.alertId).sort());
    expect(await readTopic(brokers, `${prefix}alerts.test`)).toEqual([]);
    expect((await readTopic(brokers, `${prefix}correlation.changelog`)).length).toBeGreaterThan(0);

    // Restart: state comes back from the changelog; replaying the attack raises nothing new.
    const ac2 = new AbortController();
    const again = runProcessor(opts(ac2.signal));
    await produce(brokers, prefix, phases[2]!.slice(0, 50));
    await waitCaughtUp(brokers, groupId, watched);
    ac2.abort();
    await again;
    expect((await readTopic(brokers, `${prefix}alerts`)).length).toBe(alerts.length);

    // The list gains the address the account-takeover paid: a restarted processor re-screens the retained
    // traffic from the changelog without any new input, and raises exactly that one alert.
    appendFileSync(
      sdn,
      `36001,"OTHER","-0-","CYBER2",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"Digital Currency Address - ETH ${NEW_X};"\n`,
    );
    const ac3 = new AbortController();
    const third = runProcessor(opts(ac3.signal));
    const after = await alertsBeyond(alerts.length);
    ac3.abort();
    await third;
    const added = after
      .slice()
      .map((m) => alertSchema.parse(JSON.parse(m.value!)))
      .filter((a) => !alerts.some((x) => x.alertId === a.alertId));
    expect(added.map((a) => [a.ruleId, a.entity])).toEqual([['watchlist-transfer', `address:${NEW_X}`]]);
    expect(after).toHaveLength(alerts.length + 1);

    // An entity on the watchlist topic: carol's email. The processor re-screens the traffic of carol's
    // linked address through the identity graph, and raises what the pure engine raises for it.
    const listing = {
      op: 'add',
      entity: 'email:Carol@Example.com',
      name: 'reported mule',
      listId: 'fraud-desk',
      listVersion: '2026-03-02',
    };
    // With it, malformed input: not JSON, a CRM change failing the schema, an entity no graph knows. Each
    // goes to the dead-letter topic with its reason and position; the stream goes on.
    await produceTo(brokers, [
      { topic: inputs.transfers, partition: 0, value: Buffer.from('{"chain":') },
      { topic: inputs.crm, partition: 1, value: { system: 'hubspot', recordId: 7 } },
      { topic: inputs.watchlist, value: { entity: 'twitter:@mule', listId: 'x', listVersion: '1' } },
      { topic: inputs.watchlist, value: listing },
    ]);
    const ac4 = new AbortController();
    const fourth = runProcessor(opts(ac4.signal));
    const withEntity = await alertsBeyond(after.length);
    await waitCaughtUp(brokers, groupId, watched.concat(inputs.watchlist));
    ac4.abort();
    await fourth;
    const dead = (await readTopic(brokers, `${prefix}deadletter`)).map((m) =>
      deadLetterSchema.parse(JSON.parse(m.value!)),
    );
    const deadAt = (input: string) => dead.find((d) => d.sourceRef.startsWith(`${input}:`));
    expect(dead).toHaveLength(3);
    expect(deadAt(inputs.watchlist)).toMatchObject({
      reason: 'invalid',
      sourceRef: `${inputs.watchlist}:0:0`,
      error: expect.stringMatching(/entity: not an entity/),
    });
    expect(deadAt(inputs.crm)).toMatchObject({ reason: 'invalid', error: expect.stringMatching(/recordId/) });
    expect(deadAt(inputs.crm)!.sourceRef).toMatch(/:1:\d+$/);
    expect(deadAt(inputs.transfers)).toMatchObject({
      connector: `correlation:${groupId}`,
      reason: 'not-json',
      error: 'not JSON',
      payload: '{"chain":',
    });
    const byEntity = withEntity.slice(after.length).map((m) => alertSchema.parse(JSON.parse(m.value!)));
    const listEvent = makeEvent('watchlist', watchlistRecord.parse(listing), {
      topic: inputs.watchlist,
      partition: 0,
      offset: '0',
    });
    const pureEntity = backtestEvents([...scenarioEvents(phases), listEvent], {
      rules: catalogue(),
      watchlist: await loadWatchlist([{ path: sdn, format: 'ofac-sdn' }]),
    }).alerts.filter((a) => a.details.matchedEntity);
    expect(pureEntity.length).toBeGreaterThan(0);
    expect(byEntity.map((a) => a.alertId).sort()).toEqual(pureEntity.map((a) => a.alertId).sort());
    for (const a of byEntity) {
      expect([a.ruleId, a.entity]).toEqual(['watchlist-transfer', 'customer:hubspot:contact:103']);
      expect(a.details).toMatchObject({ matchedEntity: 'email:carol@example.com', matchedAddress: A3 });
    }

    // The backtest command replays the same topics and prints the same findings.
    const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
    const configFile = writeConfig({
      brokers,
      topicPrefix: prefix,
      watchlists: [{ path: sdn, format: 'ofac-sdn' }],
    });
    const bt = spawnCli(['backtest', '--config', configFile, '--json', '--from', '2026-03-01T03:00:00Z'], {
      cli,
    });
    expect(await bt.exited).toBe(0);
    const printed = bt
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"alertId"'))
      .map((l) => alertSchema.parse(JSON.parse(l)));
    // From 03:00 on (all scenario findings complete after 05:00), with the current lists (the file's and
    // the topic's entity entry): all 10.
    expect(
      printed
        .filter((a) => a.mode === 'active')
        .map((a) => a.alertId)
        .sort(),
    ).toEqual([...alerts, ...added, ...byEntity].map((a) => a.alertId).sort());
    const list = spawnCli(['rules', '--config', configFile], { cli });
    expect(await list.exited).toBe(0);
    expect(list.output().trim().split('\n')).toHaveLength(12);
    expect(list.output()).toMatch(/^velocity@1\ttest\t/m);
    const help = spawnCli(['--help'], { cli });
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('backtest');
  });
});
