import { describe, expect, it } from 'vitest';
import { createIdentityGraph, DEFAULT_IDENTITY } from '../src/identity.ts';
import { createStore } from '../src/store.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  buildWatchlist,
  loadWatchlist,
  parseCsv,
  parseOfacSdn,
  parsePlainCsv,
  watchWatchlistFiles,
  type Watchlist,
} from '../src/watchlist.ts';
import { isLookalike, normalizeAddress } from '../src/address.ts';
import { ms } from '../src/time.ts';
import { crmRecord, T0 } from './fixtures.ts';

describe('identity graph', () => {
  it('links CRM records to addresses, emails and phones and follows changes and deletes', () => {
    const g = createIdentityGraph(DEFAULT_IDENTITY, createStore());
    g.apply(
      crmRecord({
        recordId: '1',
        changeType: 'create',
        at: T0,
        values: {
          email: 'A@X.io',
          phone: '+1 (555) 0100',
          payout_address: '0xABCDEF0000000000000000000000000000000001',
        },
      }),
    );
    const c = 'customer:hubspot:contact:1';
    expect(g.customerOf('email', 'a@x.io')).toBe(c);
    expect(g.customerOf('phone', '+15550100')).toBe(c);
    expect(g.customerOfAddress('0xabcdef0000000000000000000000000000000001')).toBe(c);
    g.apply(
      crmRecord({
        recordId: '1',
        at: T0 + 1,
        values: { payout_address: '0x02' },
        previous: { payout_address: '0xABCDEF0000000000000000000000000000000001' },
      }),
    );
    expect(g.customerOfAddress('0xabcdef0000000000000000000000000000000001')).toBeUndefined();
    expect(g.customerOfAddress('0x02')).toBe(c);
    expect(g.links(c).address).toEqual(['0x02']);
    g.apply(crmRecord({ recordId: '1', changeType: 'delete', at: T0 + 2 }));
    expect(g.customerOfAddress('0x02')).toBeUndefined();
    expect(g.links(c)).toEqual({});
  });

  it('honours system and object type in the mapping', () => {
    const g = createIdentityGraph(
      { mappings: [{ system: 'salesforce', objectType: 'Account', field: 'Wallet__c', as: 'address' }] },
      createStore(),
    );
    g.apply(crmRecord({ system: 'hubspot', recordId: '1', at: T0, values: { Wallet__c: '0x01' } }));
    expect(g.customerOfAddress('0x01')).toBeUndefined();
    g.apply(
      crmRecord({
        system: 'salesforce',
        objectType: 'Account',
        recordId: '001',
        at: T0,
        values: { Wallet__c: '0x01' },
      }),
    );
    expect(g.customerOfAddress('0x01')).toBe('customer:salesforce:account:001');
  });
});

describe('watchlist files', () => {
  it('parses OFAC SDN rows with several digital currency addresses', () => {
    const text =
      '12345,"LAZARUS","-0-","DPRK3",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"a.k.a. X; Digital Currency Address - ETH 0xAbC0000000000000000000000000000000000001; Digital Currency Address - XBT bc1qexample000; Digital Currency Address - TRX TXyz123"\n';
    const entries = parseOfacSdn(text, 'sdn', 'v1');
    expect(entries.map((e) => [e.symbol, e.address, e.entryId, e.program])).toEqual([
      ['ETH', '0xabc0000000000000000000000000000000000001', '12345', 'DPRK3'],
      ['XBT', 'bc1qexample000', '12345', 'DPRK3'],
      ['TRX', 'TXyz123', '12345', 'DPRK3'],
    ]);
    // The listed entity's name goes with each of its addresses.
    expect(new Set(entries.map((e) => [e.name, e.entity].join('|')))).toEqual(new Set(['LAZARUS|']));
  });

  it('takes entities of the identity graph from a plain CSV, and addresses that merely hold a colon', () => {
    const entries = parsePlainCsv(
      [
        'address,symbol,program,entryId,name',
        'email:Mule@Example.COM,,FRAUD,F-1,mule ring 4',
        'customer:hubspot:Contact:42',
        'phone:+1 (555) 010-9999',
        'exchange-account: EX-9 ',
        'bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a,BCH',
      ].join('\n'),
      'fraud',
      'v1',
    );
    expect(entries.map((e) => [e.entity, e.address, e.name])).toEqual([
      ['email:mule@example.com', null, 'mule ring 4'],
      ['customer:hubspot:contact:42', null, null],
      ['phone:+15550109999', null, null],
      ['exchange-account:EX-9', null, null],
      [null, 'bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a', null],
    ]);
    const list = buildWatchlist([
      { file: { path: 'fraud.csv', format: 'csv' }, text: 'email:a@b.c\n0x01\n' },
    ]);
    expect([...list.entities.keys()]).toEqual(['email:a@b.c']);
    expect([...list.entries.keys()]).toEqual(['0x01']);
  });

  it('parses a plain CSV and versions lists by content', () => {
    expect(
      parsePlainCsv('address,symbol\n0xAA,ETH\n# note\n1Boat,XBT\n', 'l', 'v').map((e) => e.address),
    ).toEqual(['0xaa', '1Boat']);
    const a = buildWatchlist([{ file: { path: 'x.csv', format: 'csv' }, text: '0x01\n' }]);
    const b = buildWatchlist([{ file: { path: 'x.csv', format: 'csv' }, text: '0x01\n0x02\n' }]);
    expect(a.version).not.toBe(b.version);
    expect(parseCsv('a,"b,""c"""\r\n1,2')).toEqual([
      ['a', 'b,"c"'],
      ['1', '2'],
    ]);
  });
});

describe('watchlist reload', () => {
  it('reloads a file when its content changes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wl-')), 'list.csv');
    writeFileSync(file, '0x01\n');
    const files = [{ path: file, format: 'csv' as const }];
    const first = await loadWatchlist(files);
    const seen: Watchlist[] = [];
    const ac = new AbortController();
    watchWatchlistFiles(files, first, (l) => seen.push(l), {
      signal: ac.signal,
      logger: pino({ level: 'silent' }),
      intervalMs: 20,
    });
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(file, '0x01\n0x02\n');
    const deadline = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(seen).toHaveLength(1);
    expect([...seen[0]!.entries.keys()]).toEqual(['0x01', '0x02']);
    expect(seen[0]!.version).not.toBe(first.version);
  });
});

describe('helpers', () => {
  it('look-alikes share prefix and suffix but differ', () => {
    const real = '0x9f3c77aa000000000000000000000000000a4b21';
    expect(isLookalike(real, '0x9F3C' + '1'.repeat(31) + 'A4B21', { prefix: 4, suffix: 4 })).toBe(true);
    expect(isLookalike(real, real, { prefix: 4, suffix: 4 })).toBe(false);
    expect(isLookalike(real, '0x9f3d' + '1'.repeat(31) + 'a4b21', { prefix: 4, suffix: 4 })).toBe(false);
    expect(isLookalike(real, '0x9f3c7' + '1'.repeat(30) + 'a4b21', { prefix: 6, suffix: 4 })).toBe(false);
    expect(normalizeAddress('BC1QABC')).toBe('bc1qabc');
    expect(normalizeAddress('1BoatSLR')).toBe('1BoatSLR');
  });
  it('durations', () => {
    expect(ms('24h')).toBe(86_400_000);
    expect(ms('90s')).toBe(90_000);
    expect(() => ms('soon')).toThrow();
  });
});
