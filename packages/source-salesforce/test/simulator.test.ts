// The testkit's Salesforce simulator against the real client (jsforce): OAuth grants, REST paging,
// queryAll, retrieve, Bulk 2.0 locator paging, CometD replay and retention, late commits. The source's
// tests rely on these behaviours, so they are pinned here.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, OAuth2 } from 'jsforce';
import { StreamingExtension } from 'jsforce/api/streaming';
import { pino } from 'pino';
import { salesforceReplayIdInvalid } from '@tributary/testkit';
import { jwtAssertion } from '../src/index.ts';
import { resultsPage, runQueryJob } from '../src/bulk.ts';
import { keys, startSim, type Sim } from './helpers.ts';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const silent = pino({ level: 'silent' });

async function connect(s: Sim): Promise<Connection> {
  const t = await new OAuth2({
    loginUrl: s.url,
    clientId: s.app.clientId,
    clientSecret: s.app.clientSecret,
  }).requestToken({
    grant_type: 'client_credentials',
  });
  return new Connection({ instanceUrl: t.instance_url, accessToken: t.access_token, version: '60.0' });
}

describe('salesforce simulator', () => {
  it('token endpoint: JWT bearer verified against the app key; client credentials; password + security token', async () => {
    sim = await startSim();
    const jwt = (key: string, over: Partial<Parameters<typeof jwtAssertion>[0]> = {}, now = Date.now()) =>
      new OAuth2({ loginUrl: sim!.url }).requestToken({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwtAssertion(
          {
            clientId: sim!.app.clientId,
            username: sim!.users[0]!.username,
            privateKey: key,
            audience: sim!.url,
            ...over,
          },
          now,
        ),
      });
    const ok = await jwt(keys.privateKey);
    expect(ok.access_token).toMatch(/^00D/);
    expect(ok.instance_url).toBe(sim.url);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await expect(jwt(other.toString())).rejects.toMatchObject({ name: 'invalid_grant' });
    await expect(jwt(keys.privateKey, {}, Date.now() - 600_000)).rejects.toMatchObject({
      name: 'invalid_grant',
    });
    await expect(jwt(keys.privateKey, { clientId: 'nope' })).rejects.toMatchObject({
      name: 'invalid_client_id',
    });
    await expect(jwt(keys.privateKey, { audience: 'https://evil.example' })).rejects.toMatchObject({
      name: 'invalid_grant',
    });

    const o2 = new OAuth2({
      loginUrl: sim.url,
      clientId: sim.app.clientId,
      clientSecret: sim.app.clientSecret,
    });
    expect((await o2.requestToken({ grant_type: 'client_credentials' })).access_token).toBeTruthy();
    const u = sim.users[0]!;
    expect((await o2.authenticate(u.username, u.password + u.securityToken)).access_token).toBeTruthy();
    await expect(o2.authenticate(u.username, u.password)).rejects.toMatchObject({ name: 'invalid_grant' });
    expect(sim.stats.tokensIssued).toEqual({ 'jwt-bearer': 1, 'client-credentials': 1, password: 1 });
  });

  it('REST: query pages with nextRecordsUrl, queryAll adds deleted rows, retrieve by id, 401 on expired sessions', async () => {
    sim = await startSim({ queryPageSize: 7 });
    const ids: string[] = [];
    sim.transaction((tx) => {
      for (let i = 0; i < 30; i++) ids.push(tx.create('Account', { Name: `n${i}`, AnnualRevenue: i }));
    });
    sim.transaction((tx) => tx.delete('Account', ids[3]!));
    const conn = await connect(sim);
    const live = await conn.query('SELECT Id, Name FROM Account ORDER BY Name', {
      autoFetch: true,
      maxFetch: 1000,
    });
    expect(live.records).toHaveLength(29);
    expect(sim.stats.rest['/services/data/v60.0/query/:locator']).toBe(4);
    const all = await conn.query(`SELECT Id, IsDeleted FROM Account WHERE Id IN ('${ids[3]}', '${ids[4]}')`, {
      scanAll: true,
    });
    expect(all.records.map((r) => [r.Id, r.IsDeleted])).toEqual([
      [ids[3], true],
      [ids[4], false],
    ]);
    const filtered = await conn.query(
      `SELECT Id FROM Account WHERE (AnnualRevenue > 25 OR Name = 'n1') AND NOT Name = 'n27' ORDER BY Id DESC LIMIT 3`,
    );
    expect(filtered.records.map((r) => r.Id)).toEqual([ids[29], ids[28], ids[26]]);
    const one = (await conn.sobject('Account').retrieve(ids[5]!)) as Record<string, unknown>;
    expect(one).toMatchObject({ Id: ids[5], Name: 'n5', attributes: { type: 'Account' } });
    expect(String(one.SystemModstamp)).toMatch(/\.000\+0000$/);
    await expect(conn.sobject('Account').retrieve(ids[3]!)).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    await expect(conn.query('SELECT Nope FROM Account')).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
    });
    sim.expireTokens();
    await expect(conn.query('SELECT Id FROM Account')).rejects.toMatchObject({
      errorCode: 'INVALID_SESSION_ID',
    });
  });

  it('Bulk API 2.0: job states, CSV results paged by Sforce-Locator', async () => {
    sim = await startSim({ bulkJobDelayMs: 300 });
    sim.transaction((tx) => {
      for (let i = 0; i < 25; i++)
        tx.create('Contact', { LastName: `O"Brien, ${i}`, Email: i % 2 ? null : `e${i}@x` });
    });
    const conn = await connect(sim);
    const opts = {
      pollIntervalMs: 50,
      pollTimeoutMs: 10_000,
      retries: 2,
      signal: new AbortController().signal,
      logger: silent,
    };
    const job = await runQueryJob(conn, 'SELECT Id, LastName, Email FROM Contact', 'query', opts);
    expect(Math.abs(job.createdMs - Date.now())).toBeLessThan(5_000);
    const rows = [];
    let locator: string | null = null;
    let pages = 0;
    do {
      const p = await resultsPage(conn, job.id, locator, 10, opts);
      rows.push(...p.rows);
      locator = p.next;
      pages++;
    } while (locator);
    expect(pages).toBe(3);
    expect(rows).toHaveLength(25);
    expect(rows[1]).toMatchObject({ LastName: 'O"Brien, 1', Email: null });
    expect(rows[2]).toMatchObject({ Email: 'e2@x' });
  });

  it('CometD: replay ids increase non-contiguously; replay after an id, -2, and the invalid-replay error after retention', async () => {
    sim = await startSim();
    for (let i = 0; i < 10; i++) sim.transaction((tx) => tx.create('Account', { Name: `a${i}` }));
    const ids = sim.changes().map((c) => c.replayId!);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(ids.some((id, i) => i > 0 && id - ids[i - 1]! > 1)).toBe(true);
    const conn = await connect(sim);
    const subscribeFrom = (from: number, n: number) =>
      new Promise<number[]>((resolve, reject) => {
        const got: number[] = [];
        const client = conn.streaming.createClient([
          new StreamingExtension.Replay('/data/AccountChangeEvent', from),
        ]) as unknown as {
          subscribe(ch: string, cb: (m: { event: { replayId: number } }) => void): unknown;
          disconnect(): void;
        };
        const sub = client.subscribe('/data/AccountChangeEvent', (m: { event: { replayId: number } }) => {
          got.push(m.event.replayId);
          if (got.length === n) {
            client.disconnect();
            resolve(got);
          }
        });
        (sub as unknown as { errback(cb: (e: { message: string }) => void): void }).errback((e) => {
          client.disconnect();
          reject(new Error(e.message));
        });
      });
    expect(await subscribeFrom(ids[6]!, 3)).toEqual(ids.slice(7));
    expect(await subscribeFrom(-2, 10)).toEqual(ids);
    sim.purgeEvents();
    await expect(subscribeFrom(ids[6]!, 1)).rejects.toThrow(salesforceReplayIdInvalid(ids[6]!).slice(5));
    expect(sim.stats.cometd.subscribes.at(-1)).toMatchObject({ ok: false, replayFrom: ids[6] });
  });

  it('a transaction committed late leaves a SystemModstamp older than rows committed before it', async () => {
    sim = await startSim({ modstampResolutionMs: 1 });
    let early = '';
    const tx = sim.begin();
    tx.create('Account', { Name: 'late' });
    await new Promise((r) => setTimeout(r, 20));
    sim.transaction((t) => (early = t.create('Account', { Name: 'early' })));
    const [late] = tx.commit();
    const rows = [...sim.org.records('Account').values()];
    const lateRow = rows.find((r) => r.Name === 'late')!;
    const earlyRow = rows.find((r) => r.Id === early)!;
    expect(String(lateRow.SystemModstamp) < String(earlyRow.SystemModstamp)).toBe(true);
    expect(late!.commitTimestamp).toBeGreaterThanOrEqual(sim.changes()[0]!.commitTimestamp);
    expect(late!.replayId!).toBeGreaterThan(sim.changes()[0]!.replayId!);
  });
});
