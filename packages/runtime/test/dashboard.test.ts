// The dashboard's data, in-process: the throughput ring buffer and its sampling, dead-letter counts,
// alert decoding and the latest-alerts log, and the page's rendering, which must escape everything.
import { describe, expect, it } from 'vitest';
import { RECORD_TYPE_HEADER } from '@tributary/schemas';
import { ConfigError, parseConfig } from '../src/config.ts';
import { createAlertLog, decodeAlert, MAX_EVIDENCE } from '../src/dashboard/alerts.ts';
import type { DashboardData } from '../src/dashboard/data.ts';
import { createDeadLetterLog, MAX_ERROR_CHARS } from '../src/dashboard/dead-letters.ts';
import { createRing } from '../src/dashboard/ring.ts';
import { createThroughput } from '../src/dashboard/throughput.ts';
import {
  escapeHtml,
  html,
  niceCeil,
  renderAlerts,
  renderConnectors,
  renderDashboard,
  renderDeadLetters,
  renderThroughput,
} from '../src/dashboard/static/view.js';
import type { ReadMessage } from '../src/kafka/client.ts';
import { alertMessage, sampleAlert } from './dashboard-alert-fixture.ts';

function message(m: Partial<ReadMessage> & { value: Buffer | null }, offset = 0): ReadMessage {
  return {
    partition: 0,
    offset: String(offset),
    key: null,
    headers: {},
    timestamp: String(Date.parse('2026-11-24T10:00:00Z') + offset),
    ...m,
  };
}

function alertRecord(over: Parameters<typeof sampleAlert>[0], offset: number): ReadMessage {
  const m = alertMessage(sampleAlert(over));
  return message({ key: m.key, value: Buffer.from(m.value), headers: m.headers }, offset);
}

describe('worker.dashboard config', () => {
  const kafka = { brokers: ['127.0.0.1:9092'] };
  it('is optional; alerts default to the latest 20', () => {
    expect(parseConfig({ kafka }).worker.dashboard).toBeUndefined();
    expect(parseConfig({ kafka, worker: { dashboard: { alertsTopic: 'alerts' } } }).worker.dashboard).toEqual(
      {
        alertsTopic: 'alerts',
        alerts: 20,
      },
    );
  });

  it('names the field of a bad value', () => {
    let err: unknown;
    try {
      parseConfig({ kafka, worker: { dashboard: { alertsTopic: 'no spaces', alerts: 0 } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      'worker.dashboard.alertsTopic: a Kafka topic name',
      expect.stringMatching(/^worker\.dashboard\.alerts: /),
    ]);
  });
});

describe('ring buffer', () => {
  it('keeps the newest items, oldest first', () => {
    const r = createRing<number>(3);
    expect(r.items()).toEqual([]);
    r.push(1);
    r.push(2);
    expect(r.items()).toEqual([1, 2]);
    for (const n of [3, 4, 5]) r.push(n);
    expect(r.items()).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
    expect(() => createRing(0)).toThrow(RangeError);
  });
});

describe('throughput sampling', () => {
  it('turns committed record counts into records per second per connector over a bounded window', () => {
    // 2 s samples over 6 s: four samples, three rates.
    const t = createThroughput({ intervalMs: 2_000, windowMs: 6_000 });
    t.sample(0);
    t.add('alpha', 100);
    t.sample(2_000);
    t.add('alpha', 300);
    t.add('beta', 10);
    t.sample(4_000);
    t.sample(6_000);
    expect(t.series()).toEqual([
      {
        connector: 'alpha',
        points: [
          [2_000, 50],
          [4_000, 150],
          [6_000, 0],
        ],
      },
      {
        connector: 'beta',
        points: [
          [2_000, 0],
          [4_000, 5],
          [6_000, 0],
        ],
      },
    ]);
    t.add('beta', 40);
    t.sample(8_000);
    // The first sample fell out of the window; the totals are live and never sampled away.
    expect(t.series().find((s) => s.connector === 'beta')!.points).toEqual([
      [4_000, 5],
      [6_000, 0],
      [8_000, 20],
    ]);
    expect(Object.fromEntries(t.totals())).toEqual({ alpha: 400, beta: 50 });
  });

  it('holds 300 samples for the default 10 minutes at 2 s', () => {
    const t = createThroughput({ intervalMs: 2_000, windowMs: 600_000 });
    for (let i = 0; i <= 1_000; i++) {
      t.add('c', 2);
      t.sample(i * 2_000);
    }
    const points = t.series()[0]!.points;
    expect(points).toHaveLength(300);
    expect(points[0]![0]).toBe(701 * 2_000);
    expect(points.every((p) => p[1] === 1)).toBe(true);
  });
});

describe('dead letters', () => {
  it('counts per connector and reason and keeps the latest few, newest first, clipped', () => {
    const log = createDeadLetterLog(2);
    const d = (reason: string, ref: string, error = 'bad') => ({
      reason,
      error,
      sourceRef: ref,
      at: '2026-11-24T10:00:00.000Z',
    });
    log.add('b', 0, [d('parse', 'p:1'), d('parse', 'p:2')]);
    log.add('a', 1, [d('schema', 'p:3', 'x'.repeat(5_000))]);
    log.add('a', 1, []);
    expect(log.counts()).toEqual([
      { connector: 'a', total: 1, byReason: { schema: 1 } },
      { connector: 'b', total: 2, byReason: { parse: 2 } },
    ]);
    const recent = log.recent();
    expect(recent.map((r) => [r.connector, r.task, r.sourceRef])).toEqual([
      ['a', 1, 'p:3'],
      ['b', 0, 'p:2'],
    ]);
    expect(recent[0]!.error).toHaveLength(MAX_ERROR_CHARS);
    expect(recent[0]!.error.endsWith('…')).toBe(true);
  });
});

describe('alert decoding', () => {
  it('decodes a schema-valid alert with its evidence and where it sits in the alerts topic', () => {
    const d = decodeAlert(alertRecord({}, 7));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.alert).toMatchObject({
      alertId: 'a-1',
      ruleId: 'payout-address-change',
      severity: 'high',
      entity: 'customer:42',
      summary: 'payout address changed, then 2 ETH sent to it',
      evidenceTotal: 2,
      record: { partition: 0, offset: '7', timestamp: '2026-11-24T10:00:00.007Z' },
    });
    expect(d.alert.evidence[1]).toEqual({
      topic: 'chain.transfers',
      partition: 0,
      offset: '4242',
      id: '0xdeadbeef:0',
      summary: '2 ETH',
    });
    // Rule details are not part of the view.
    expect(JSON.stringify(d.alert)).not.toContain('72h');
  });

  it('says why a record is not an alert', () => {
    const wrongType = decodeAlert(
      message({ value: Buffer.from('{}'), headers: { [RECORD_TYPE_HEADER]: 'crm.change' } }),
    );
    expect(wrongType).toEqual({ ok: false, error: 'record type "crm.change", not alert' });
    expect(decodeAlert(message({ value: null }))).toEqual({ ok: false, error: 'empty record (tombstone)' });
    expect(decodeAlert(message({ value: Buffer.from('{"alertId":') }))).toEqual({
      ok: false,
      error: 'value is not JSON',
    });
    const { evidence: _dropped, ...noEvidence } = sampleAlert();
    const invalid = decodeAlert(message({ value: Buffer.from(JSON.stringify(noEvidence)) }));
    expect(invalid.ok).toBe(false);
    expect(!invalid.ok && invalid.error).toMatch(/^evidence: /);
  });

  it('clips long text and long evidence lists', () => {
    const evidence = Array.from({ length: 50 }, (_, i) => ({
      topic: 'chain.transfers',
      partition: 0,
      offset: String(i),
      id: `t${i}`,
      summary: 's',
    }));
    const d = decodeAlert(alertRecord({ summary: 'y'.repeat(10_000), evidence }, 0));
    expect(d.ok && d.alert.summary.length).toBe(500);
    expect(d.ok && d.alert.evidence.length).toBe(MAX_EVIDENCE);
    expect(d.ok && d.alert.evidenceTotal).toBe(50);
  });
});

describe('latest alerts', () => {
  it('keeps the newest N by record time, replaces a replayed alert, and counts what it could not decode', () => {
    const log = createAlertLog(2);
    log.add(alertRecord({ alertId: 'one' }, 1));
    log.add(alertRecord({ alertId: 'three' }, 3));
    log.add(alertRecord({ alertId: 'two' }, 2));
    expect(log.latest().map((a) => a.alertId)).toEqual(['three', 'two']);
    // The same deterministic id again (a replay): one entry, at its newer position.
    log.add(alertRecord({ alertId: 'two', summary: 'again' }, 4));
    expect(log.latest().map((a) => [a.alertId, a.summary])).toEqual([
      ['two', 'again'],
      ['three', 'payout address changed, then 2 ETH sent to it'],
    ]);
    log.add(message({ value: Buffer.from('not json') }, 5));
    expect(log.received()).toBe(4);
    expect(log.undecodable()).toEqual({ count: 1, lastError: 'partition 0 offset 5: value is not JSON' });
  });
});

/** Dashboard data as the worker answers it, with hostile text where users can put text. */
function hostileData(): DashboardData {
  const evil = '<img src=x onerror="alert(1)">';
  const d = decodeAlert(
    alertRecord(
      {
        alertId: 'x" onmouseover="alert(2)',
        ruleId: `<script>alert(3)</script>`,
        entity: `customer:${evil}`,
        summary: `wire to ${evil} & more`,
        labels: [{ entity: evil, entityType: 'customer', label: 'victim', confidence: 1 }],
        evidence: [{ topic: 'crm.changes', partition: 2, offset: '9', id: evil, summary: `'${evil}'` }],
      },
      3,
    ),
  );
  if (!d.ok) throw new Error(d.error);
  return {
    worker: {
      id: 'w<1>',
      mode: 'standalone',
      startedAt: '2026-11-24T09:59:00.000Z',
      now: '2026-11-24T10:00:10.000Z',
      sampleMs: 2_000,
      windowMs: 600_000,
    },
    connectors: [
      {
        name: 'syn<b>',
        type: 'synthetic',
        target: 'RUNNING',
        records: 12_345,
        perSec: 99.6,
        lag: [{ partition: '<p>', value: 3 }],
        deadLetters: 1,
        tasks: [
          {
            id: 0,
            state: 'RUNNING',
            worker: 'w<1>',
            here: true,
            records: 12_345,
            restarts: 0,
            lastError: evil,
          },
        ],
      },
    ],
    throughput: [
      {
        connector: 'syn<b>',
        points: [
          [Date.parse('2026-11-24T10:00:06Z'), 50],
          [Date.parse('2026-11-24T10:00:08Z'), 150],
        ],
      },
    ],
    deadLetters: {
      counts: [{ connector: 'syn<b>', total: 1, byReason: { [evil]: 1 } }],
      recent: [
        {
          connector: 'syn<b>',
          task: 0,
          reason: evil,
          error: evil,
          sourceRef: evil,
          at: '2026-11-24T10:00:00Z',
        },
      ],
    },
    alerts: {
      topic: 'alerts',
      state: 'live',
      error: null,
      keep: 20,
      received: 1,
      undecodable: { count: 1, lastError: evil },
      alerts: [d.alert],
    },
  };
}

describe('rendering escapes every value', () => {
  it('escapes text and attribute values', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeHtml(42)).toBe('42');
  });

  it('the html tag escapes values, keeps its own fragments, and escapes look-alike objects from data', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${[html`<br />`, '<br>']}${null}${undefined}${false}${0}</p>`.html).toBe(
      '<p><b>&lt;i&gt;</b><br />&lt;br&gt;0</p>',
    );
    const forged = JSON.parse('{"html":"<script>alert(1)</script>"}') as unknown;
    expect(html`${forged}`.html).toBe('[object Object]');
  });

  it('renders hostile alerts, dead letters, connectors and names as text', () => {
    const data = hostileData();
    const page = Object.values(renderDashboard(data)).join('\n');
    // No element or attribute from the data made it through, only their escaped text.
    expect(page).not.toMatch(/<img|<script|<p>|<b>|<1>|onerror="|onmouseover="/);
    const alerts = renderAlerts(data).html;
    expect(alerts).toContain('wire to &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more');
    expect(alerts).toContain('data-alert-id="x&quot; onmouseover=&quot;alert(2)"');
    expect(alerts).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
    expect(alerts).toContain('class="alert sev-high"');
    // Evidence: topic, partition, offset and id of each event.
    expect(alerts).toMatch(
      /<td class="mono">crm\.changes<\/td>\s*<td class="num">2<\/td>\s*<td class="num mono">9<\/td>/,
    );
    expect(renderDeadLetters(data).html).toContain(
      '<code>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</code>',
    );
    const connectors = renderConnectors(data).html;
    expect(connectors).toContain('data-connector="syn&lt;b&gt;"');
    expect(connectors).toContain('<td class="num" data-testid="records">12,345</td>');
    expect(connectors).toContain('<td class="num" data-testid="rate">100</td>');
  });

  it('a severity or task state outside the schema cannot choose a CSS class', () => {
    const data = hostileData();
    const a = data.alerts!.alerts[0]!;
    data.alerts!.alerts[0] = { ...a, severity: 'x onclick=y' as 'low' };
    data.connectors[0]!.tasks[0]!.state = 'RUNNING" onclick="y' as 'RUNNING';
    expect(renderAlerts(data).html).toContain('class="alert sev-low"');
    expect(renderConnectors(data).html).toContain('class="state state-UNASSIGNED"');
  });

  it('draws one line per connector, scaled to a readable maximum', () => {
    expect([0, 0.3, 1, 7, 20, 151].map(niceCeil)).toEqual([1, 0.5, 1, 10, 20, 200]);
    const svg = renderThroughput(hostileData()).html;
    const line = /<polyline\s+class="s0"\s+data-connector="syn&lt;b&gt;"\s+points="([^"]+)"/.exec(svg);
    expect(line).not.toBeNull();
    expect(line![1]!.split(' ')).toHaveLength(2);
    expect(svg).toContain('>200</text>');
  });
});
