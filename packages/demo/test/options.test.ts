// The demo's options and summary formatting, without services.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseOptions, shortOffset, UsageError } from '../src/index.ts';

describe('options', () => {
  it('defaults with nothing set', () => {
    expect(parseOptions([], {})).toEqual({ help: false, options: DEFAULTS });
    expect(DEFAULTS.firstAttackMs).toBe(30_000);
    expect(DEFAULTS.attackEveryMs).toBe(180_000);
  });

  it('flags win over the environment, durations take units', () => {
    const env = {
      TRIBUTARY_DEMO_FIRST_ATTACK: '90s',
      TRIBUTARY_DEMO_ATTACK_EVERY: '5m',
      TRIBUTARY_HTTP_PORT: '9000',
    };
    const { options } = parseOptions(['--first-attack', '500ms', '--no-progress', '--prefix', 'x.'], env);
    expect(options).toMatchObject({
      firstAttackMs: 500,
      attackEveryMs: 300_000,
      httpPort: 9000,
      progress: false,
      prefix: 'x.',
    });
    expect(parseOptions(['--first-attack', '45'], {}).options.firstAttackMs).toBe(45_000);
  });

  it('rejects what it cannot use, naming the option', () => {
    expect(() => parseOptions(['--attack-every', '2s'], {})).toThrow(/--attack-every: at least 10s/);
    expect(() => parseOptions(['--http-port', '70000'], {})).toThrow(UsageError);
    expect(() => parseOptions(['--prefix', 'a b'], {})).toThrow(/--prefix/);
    expect(() => parseOptions(['--bogus'], {})).toThrow(UsageError);
  });
});

describe('summary offsets', () => {
  it('shows each source offset in a few characters', () => {
    expect(shortOffset('31337', { blockNumber: 42, blockHash: '0xab' })).toBe('block 42');
    expect(shortOffset('bitcoin:regtest', { height: 120, hash: 'ff' })).toBe('height 120');
    expect(shortOffset('BTC/USDT', { lastTradeId: '17' })).toBe('BTC/USDT #17');
    expect(shortOffset('/data/ContactChangeEvent', { replayId: 9, since: null, bulk: null })).toBe(
      'ContactChangeEvent #9',
    );
    expect(shortOffset('/data/AccountChangeEvent', { replayId: null, since: null, bulk: null })).toBe(
      'AccountChangeEvent snapshot',
    );
    expect(shortOffset('contacts', { v: 1, ts: Date.UTC(2026, 0, 1, 12, 30, 5), id: '1' })).toBe(
      'contacts 12:30:05',
    );
  });
});
