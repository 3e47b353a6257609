import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { secret } from '@tributary/sdk';
import { ConfigError, parseConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { resolveConnectors } from '../src/registry.ts';

const base = { kafka: { brokers: ['127.0.0.1:9092'] } };

async function issuesOf(raw: unknown): Promise<string[]> {
  try {
    await resolveConnectors(parseConfig(raw), import.meta.filename);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  it('names the connector and the field path of a bad source setting', async () => {
    const issues = await issuesOf({
      ...base,
      connectors: [
        { name: 'ok', type: 'synthetic' },
        { name: 'demo', type: 'synthetic', config: { recordBytes: 'big' } },
      ],
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^connectors\[1\] "demo": config\.recordBytes: .*number/);
  });

  it('lists the known types for an unknown connector type', async () => {
    const issues = await issuesOf({ ...base, connectors: [{ name: 'x', type: 'kafka-streams' }] });
    expect(issues[0]).toContain('connectors[0] "x": type: unknown connector type "kafka-streams"');
    expect(issues[0]).toMatch(/known types: .*bitcoin.*ethereum.*synthetic/);
  });

  it('rejects duplicate names, bad broker addresses and a batch longer than the transaction timeout', async () => {
    const issues = await issuesOf({
      kafka: { brokers: ['nohostport'], transactionTimeoutMs: 20_000 },
      connectors: [
        { name: 'a', type: 'synthetic', batch: { maxMs: 15_000 } },
        { name: 'a', type: 'synthetic' },
      ],
    });
    expect(issues.join('\n')).toContain('kafka.brokers');
    expect(issues.join('\n')).toContain('connectors[1] "a": name: duplicate connector name "a"');
    expect(issues.join('\n')).toContain(
      'connectors[0] "a": batch.maxMs: must be at least 10 s below kafka.transactionTimeoutMs',
    );
  });

  it('KAFKA_BROKERS overrides the configured brokers', () => {
    process.env.KAFKA_BROKERS = 'a:1, b:2';
    try {
      expect(parseConfig({ kafka: { brokers: 'embedded' } }).kafka.brokers).toEqual(['a:1', 'b:2']);
    } finally {
      delete process.env.KAFKA_BROKERS;
    }
  });
});

describe('secrets never reach logs', () => {
  function capture() {
    const lines: string[] = [];
    const dest = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    return { logger: createLogger({ level: 'info', destination: dest }), text: () => lines.join('') };
  }

  it('redacts secret-named fields at any depth and Secret values anywhere', () => {
    const { logger, text } = capture();
    const cfg = parseConfig({
      kafka: { brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', password: 'hunter2-kafka' } },
    });
    logger.info({ kafka: cfg.kafka }, 'config');
    logger.info(
      {
        connector: {
          config: { auth: { clientSecret: 'cs-hunter2', privateKey: 'pk-hunter2', note: 'kept' } },
        },
      },
      'nested',
    );
    logger.info({ whatever: secret('plain-hunter2') }, 'secret value');
    const out = text();
    expect(out).not.toMatch(/hunter2/);
    expect(out).toContain('kept');
    expect(out.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(4);
  });

  it('a Secret prints as [redacted] through String, JSON and inspect', async () => {
    const s = secret('hunter2');
    const { inspect } = await import('node:util');
    expect(`${s}`).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });
});
