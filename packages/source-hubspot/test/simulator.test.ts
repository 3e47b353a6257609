// The HubSpot simulator speaks what the source relies on: search semantics and limits, the archived list,
// property history, tokens that expire, rate-limit answers, and signed webhook deliveries with retries.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { hubSpotSignatureV3, startHubSpotSimulator, type HubSpotSimulator } from '@tributary/testkit';

let sim: HubSpotSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const T = Date.parse('2026-01-01T00:00:00.000Z');
const auth = { authorization: 'Bearer pat-sim', 'content-type': 'application/json' };

async function post(path: string, body: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(`${sim!.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function get(path: string, headers: Record<string, string> = auth) {
  const res = await fetch(`${sim!.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

type Results = { id: string; properties: Record<string, unknown>; archived: boolean }[];

describe('HubSpot simulator: search', () => {
  it('filters by epoch-ms timestamps, sorts, pages with after, returns string values and hides archived objects', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 } });
    const ids = [0, 1, 2, 3, 4].map(
      (i) => sim!.create('contacts', { email: `c${i}@x.io` }, { at: T + i * 1000 }).id,
    );
    sim.archive('contacts', ids[2]!, { at: T + 10_000 });
    const r = await post('/crm/v3/objects/contacts/search', {
      filterGroups: [
        {
          filters: [
            { propertyName: 'lastmodifieddate', operator: 'GTE', value: String(T + 1000) },
            { propertyName: 'lastmodifieddate', operator: 'LTE', value: String(T + 4000) },
          ],
        },
      ],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'DESCENDING' }],
      properties: ['email'],
      limit: 2,
    });
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(3);
    const results = r.body.results as Results;
    expect(results.map((x) => x.id)).toEqual([ids[4], ids[3]]);
    expect(results[0]!.properties).toEqual({
      email: 'c4@x.io',
      hs_object_id: ids[4],
      createdate: new Date(T + 4000).toISOString(),
      lastmodifieddate: new Date(T + 4000).toISOString(),
    });
    expect(r.body.paging).toMatchObject({ next: { after: '2' } });
    const eq = await post('/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: ids[2] }] }],
    });
    expect(eq.body.total).toBe(0);
  });

  it('answers 400 past the 10,000th result, for more than one sort, limit over 200 and bodies over 3,000 characters', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 } });
    const search = (b: unknown) => post('/crm/v3/objects/contacts/search', b);
    expect((await search({ limit: 200, after: '9800' })).status).toBe(200);
    const past = await search({ limit: 200, after: '9801' });
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect((await search({ limit: 201 })).status).toBe(400);
    expect((await search({ sorts: ['createdate', 'hs_object_id'] })).status).toBe(400);
    const long = { properties: Array.from({ length: 300 }, (_, i) => `property_${i}`) };
    expect(JSON.stringify(long).length).toBeGreaterThan(3000);
    expect((await search(long)).status).toBe(400);
  });

  it('shows a write to search only after the indexing delay', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 }, indexDelayMs: 300 });
    const v = sim.create('deals', { dealname: 'd' });
    const search = () => post('/crm/v3/objects/deals/search', {});
    expect((await search()).body.total).toBe(0);
    expect((await get(`/crm/v3/objects/deals/${v.id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 350));
    expect((await search()).body.total).toBe(1);
  });
});

describe('HubSpot simulator: list, history, auth', () => {
  it('lists archived objects with an opaque cursor, and property history newest first', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 } });
    const ids = Array.from(
      { length: 5 },
      (_, i) => sim!.create('companies', { name: `co${i}` }, { at: T + i }).id,
    );
    sim.update('companies', ids[0]!, { name: 'renamed' }, { at: T + 100, actor: { updatedByUserId: 9 } });
    for (const id of ids.slice(1)) sim.archive('companies', id, { at: T + 200 });
    const first = await get('/crm/v3/objects/companies?archived=true&limit=3&properties=name');
    const page = first.body.results as (Results[number] & { archivedAt: string })[];
    expect(page.map((x) => x.id)).toEqual(ids.slice(1, 4));
    expect(page.every((x) => x.archived && x.archivedAt === new Date(T + 200).toISOString())).toBe(true);
    const after = (first.body.paging as { next: { after: string } }).next.after;
    expect(after).not.toMatch(/^\d+$/);
    const second = await get(`/crm/v3/objects/companies?archived=true&limit=3&after=${after}`);
    expect((second.body.results as Results).map((x) => x.id)).toEqual([ids[4]]);
    expect(second.body.paging).toBeUndefined();
    const one = await get(`/crm/v3/objects/companies/${ids[0]}?propertiesWithHistory=name`);
    expect((one.body.propertiesWithHistory as { name: unknown[] }).name).toEqual([
      { value: 'renamed', timestamp: new Date(T + 100).toISOString(), sourceType: 'API', updatedByUserId: 9 },
      { value: 'co0', timestamp: new Date(T).toISOString(), sourceType: 'API' },
    ]);
    const batch = await post('/crm/v3/objects/companies/batch/read', {
      inputs: [{ id: ids[0] }, { id: ids[1] }],
      propertiesWithHistory: ['name'],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.errors).toMatchObject([{ category: 'OBJECT_NOT_FOUND', context: { ids: [ids[1]] } }]);
    const tooMany = await post('/crm/v3/objects/companies/batch/read', {
      inputs: Array.from({ length: 51 }, (_, i) => ({ id: String(i) })),
      propertiesWithHistory: ['name'],
    });
    expect(tooMany.status).toBe(400);
  });

  it('issues OAuth access tokens that expire (401 EXPIRED_AUTHENTICATION) and refresh', async () => {
    sim = await startHubSpotSimulator({ accessTokenTtlMs: 60_000 });
    const form = (refresh: string) =>
      fetch(`${sim!.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: 'sim-client',
          client_secret: 'sim-secret',
          refresh_token: refresh,
        }),
      });
    expect((await form('nope')).status).toBe(400);
    const tok = (await (await form('sim-refresh')).json()) as { access_token: string; expires_in: number };
    expect(tok.expires_in).toBe(60);
    const h = { authorization: `Bearer ${tok.access_token}` };
    expect((await get('/crm/v3/objects/contacts', h)).status).toBe(200);
    sim.expireTokens();
    const expired = await get('/crm/v3/objects/contacts', h);
    expect(expired.status).toBe(401);
    expect(expired.body.category).toBe('EXPIRED_AUTHENTICATION');
    expect((await get('/crm/v3/objects/contacts', { authorization: 'Bearer wrong' })).body.category).toBe(
      'INVALID_AUTHENTICATION',
    );
    expect((await get('/crm/v3/objects/contacts')).status).toBe(200);
  });
});

describe('HubSpot simulator: rate limits', () => {
  it('limits search per second with the SECONDLY body and sends the rate-limit headers', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 4, retryAfter: 'never' } });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => post('/crm/v3/objects/contacts/search', {})),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.body).toMatchObject({
      status: 'error',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'SECONDLY',
    });
    expect(limited.headers.get('retry-after')).toBeNull();
    const ok = await get('/crm/v3/objects/contacts');
    expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('100');
    expect(Number(ok.headers.get('x-hubspot-ratelimit-remaining'))).toBe(99);
    expect(ok.headers.get('x-hubspot-ratelimit-daily')).not.toBeNull();
  });

  it('answers TEN_SECONDLY_ROLLING with and without Retry-After, and DAILY past the daily cap', async () => {
    sim = await startHubSpotSimulator({ limits: { tenSecondly: 3, daily: 6, retryAfter: 'alternate' } });
    const all = [];
    for (let i = 0; i < 5; i++) all.push(await get('/crm/v3/objects/contacts'));
    expect(all.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    expect(all[3]!.body).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT' });
    expect(Number(all[3]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(all[4]!.headers.get('retry-after')).toBeNull();
    sim.limits.tenSecondly = 0;
    for (let i = 0; i < 3; i++) expect((await get('/crm/v3/objects/contacts')).status).toBe(200);
    const daily = await get('/crm/v3/objects/contacts');
    expect(daily.status).toBe(429);
    expect(daily.body).toMatchObject({ policyName: 'DAILY', message: 'You have reached your daily limit.' });
    expect(sim.stats.rateLimited).toEqual({ TEN_SECONDLY_ROLLING: 2, DAILY: 1 });
  });

  it('@hubspot/api-client turns a malformed date into Invalid Date without a word (why the source validates the raw body)', async () => {
    sim = await startHubSpotSimulator({ limits: { searchPerSecond: 0, tenSecondly: 0 } });
    const v = sim.create('contacts', { email: 'a@x.io' }, { malformed: 'bad-created-at' });
    const client = new Client({ basePath: sim.url, accessToken: 'pat-sim' });
    const obj = await client.crm.objects.basicApi.getById('contacts', v.id);
    expect(obj.id).toBe(v.id);
    expect(Number.isNaN(obj.createdAt.getTime())).toBe(true);
  });
});

describe('HubSpot simulator: webhooks', () => {
  it('POSTs signed batches of events and retries until the target answers 2xx', async () => {
    const received: { body: string; sig: string; ts: string }[] = [];
    let fail = 2;
    const target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        received.push({
          body: Buffer.concat(chunks).toString('utf8'),
          sig: String(req.headers['x-hubspot-signature-v3']),
          ts: String(req.headers['x-hubspot-request-timestamp']),
        });
        res.writeHead(fail-- > 0 ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
    try {
      sim = await startHubSpotSimulator({
        webhooks: { url, clientSecret: 's3cret', retryBaseMs: 10, flushMs: 20 },
      });
      const c = sim.create('contacts', { email: 'a@x.io' });
      sim.update('contacts', c.id, { email: 'b@x.io', phone: '1' });
      sim.archive('contacts', c.id);
      await sim.webhooks()!.drain(10_000);
      expect(received.length).toBe(3);
      for (const r of received)
        expect(r.sig).toBe(hubSpotSignatureV3('s3cret', 'POST', url, r.body, Number(r.ts)));
      const events = JSON.parse(received.at(-1)!.body) as Record<string, unknown>[];
      expect(events.map((e) => e.subscriptionType)).toEqual([
        'contact.creation',
        'contact.propertyChange',
        'contact.propertyChange',
        'contact.deletion',
      ]);
      expect(events[1]).toMatchObject({
        propertyName: 'email',
        propertyValue: 'b@x.io',
        objectId: Number(c.id),
      });
      expect(events.every((e) => e.attemptNumber === 2)).toBe(true);
      expect(sim.webhooks()!.stats).toMatchObject({ delivered: 4, failedAttempts: 2, dropped: 0 });
    } finally {
      await new Promise<void>((r) => target.close(() => r()));
    }
  });
});
