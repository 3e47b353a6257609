// The worker's web dashboard in a real browser: headless Chromium (Debian's package, driven by
// playwright-core) opens the page of a real worker running the synthetic source, sees its record count
// move, then an alert is committed to the alerts topic the way the correlation processor writes one
// (schema-validated, in a Kafka transaction) and appears on the page with its evidence, as text.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordHeaders, validateRecord } from '@tributary/schemas';
import {
  createTopics,
  spawnWorker,
  waitForOutput,
  workerUrl,
  writeConfig,
  type WorkerProcess,
} from '@tributary/testkit';
import { ensureChromium } from './scripts/ensure-chromium.ts';

const brokers = inject('kafkaBrokers');

// Without the background-networking flags Chromium dials Google's services at start, which a closed
// network refuses (see the machine notes); none of them is needed to render a page on localhost.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let executablePath = '';
let browser: Browser | null = null;

beforeAll(async () => {
  // A fresh machine has no Chromium: this installs Debian's package (about 1.5 min) or explains how.
  executablePath = await ensureChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
});

/** The number in a cell like "12,345". */
async function numberIn(page: Page, selector: string): Promise<number> {
  const text = (await page.locator(selector).textContent({ timeout: 60_000 })) ?? '';
  const n = Number(text.replace(/,/g, ''));
  if (!Number.isFinite(n)) throw new Error(`${selector}: "${text}" is not a number`);
  return n;
}

describe('web dashboard', () => {
  it('shows live record counts and an alert with its evidence, escaped', async () => {
    const id = randomUUID().slice(0, 8);
    const connector = `syn-${id}`;
    const alertsTopic = `e2e${id}.alerts`;
    await createTopics(brokers, [{ topic: alertsTopic, numPartitions: 1 }]);
    const file = writeConfig({
      kafka: { brokers, transactionalIdPrefix: `e2e${id}`, transactionTimeoutMs: 30_000 },
      topics: { prefix: `e2e${id}.`, offsetsTopic: `e2e${id}.offsets`, partitions: 3 },
      worker: { http: { host: '127.0.0.1', port: 0 }, dashboard: { alertsTopic, alerts: 10 } },
      connectors: [
        {
          name: connector,
          type: 'synthetic',
          batch: { maxRecords: 100, maxMs: 200 },
          // Slow and steady, with one poison record per source partition for the dead-letter section.
          config: { partitions: 2, ratePerSec: 20, recordBytes: 100, batchSize: 10, poison: [3] },
        },
      ],
    });
    let w: WorkerProcess | null = null;
    try {
      w = spawnWorker(file);
      const url = await workerUrl(w);
      await waitForOutput(w, /dashboard: following the alerts topic/);

      browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${url}/`);
      await page.locator('#live[data-state="live"]').waitFor({ timeout: 60_000 });

      // Live numbers move: the connector's committed record count grows between two reads.
      const records = `tr[data-connector="${connector}"] td[data-testid="records"]`;
      await expect.poll(() => numberIn(page, records), { timeout: 60_000 }).toBeGreaterThan(0);
      const first = await numberIn(page, records);
      await expect.poll(() => numberIn(page, records), { timeout: 60_000 }).toBeGreaterThan(first);
      expect(await numberIn(page, records)).toBeGreaterThan(first);

      // The task, where it runs, the dead letters (seq 3 of both source partitions) and the chart.
      const row = page.locator(`tr[data-connector="${connector}"]`);
      await expect
        .poll(() => row.locator('tr[data-task="0"] td.state').textContent(), { timeout: 60_000 })
        .toBe('RUNNING');
      expect(await row.locator('tr[data-task="0"]').textContent()).toContain('(here)');
      await expect
        .poll(() => numberIn(page, `tr[data-connector="${connector}"] td[data-testid="dead-letters"]`), {
          timeout: 60_000,
        })
        .toBe(2);
      expect(await page.locator('table.dl-recent tbody tr').count()).toBe(2);
      expect(await page.locator('table.dl-recent').textContent()).toContain('synthetic-poison');
      await page
        .locator(`svg.chart polyline[data-connector="${connector}"]`)
        .waitFor({ state: 'attached', timeout: 60_000 });
      expect(await page.locator('#alerts').textContent()).toContain('No alerts yet.');

      // An alert as the correlation processor writes it, carrying markup where users control the text.
      const injected = '<img src=x onerror="globalThis.__xss = 1">';
      const alert = validateRecord('alert', {
        alertId: `alert-${id}`,
        ruleId: 'payout-address-change',
        ruleVersion: 1,
        mode: 'active',
        severity: 'critical',
        score: 95,
        entity: `customer:${id}`,
        time: new Date().toISOString(),
        summary: `Payout address changed to ${injected}, then 2 ETH sent to it`,
        labels: [{ entity: 'address:0xabc', entityType: 'address', label: 'attacker', confidence: 0.9 }],
        evidence: [
          {
            topic: 'crm.changes',
            partition: 1,
            offset: '17',
            id: `sf:Contact:${id}`,
            summary: 'payout changed',
          },
          { topic: 'chain.transfers', partition: 2, offset: '4242', id: '0xfeed:0', summary: '2 ETH out' },
        ],
        details: { within: '72h' },
      });
      const kafka = new Kafka({ brokers, clientId: 'e2e-dashboard', logLevel: logLevel.NOTHING });
      const producer = kafka.producer({
        transactionalId: `e2e${id}-correlation`,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      try {
        const tx = await producer.transaction();
        await tx.send({
          topic: alertsTopic,
          messages: [
            {
              key: `${alert.ruleId}:${alert.entity}`,
              value: JSON.stringify(alert),
              headers: recordHeaders('alert'),
            },
          ],
        });
        await tx.commit();
      } finally {
        await producer.disconnect();
      }

      const card = page.locator(`article[data-alert-id="alert-${id}"]`);
      await card.waitFor({ timeout: 60_000 });
      expect(await card.locator('.sev').textContent()).toBe('critical 95');
      expect(await card.locator('code.rule').textContent()).toBe('payout-address-change');
      expect(await card.locator('code.entity').textContent()).toBe(`customer:${id}`);
      // The markup arrived as text: shown literally, no element made from it, nothing ran.
      expect(await card.locator('.summary').textContent()).toBe(alert.summary);
      expect(await page.locator('#alerts img').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
      const evidence = await card
        .locator('table.evidence tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) =>
            [...(r as unknown as { cells: { textContent: string }[] }).cells].map((c) => c.textContent),
          ),
        );
      expect(evidence).toEqual([
        ['crm.changes', '1', '17', `sf:Contact:${id}`, 'payout changed'],
        ['chain.transfers', '2', '4242', '0xfeed:0', '2 ETH out'],
      ]);
      await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      if (w) {
        w.kill('SIGTERM');
        expect(await w.exited).toBe(0);
      }
    }
  });
});
