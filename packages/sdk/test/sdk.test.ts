import { describe, expect, it } from 'vitest';
import {
  FatalError,
  RetryableError,
  deadLetter,
  secret,
  secretSchema,
  sleep,
  withRetry,
} from '../src/index.ts';

describe('withRetry', () => {
  it('retries retryable errors with backoff and returns the result', async () => {
    let calls = 0;
    const started = Date.now();
    const v = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new RetryableError('flaky');
        return 'ok';
      },
      { what: 'op', minTimeoutMs: 20, maxTimeoutMs: 50 },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20);
  });

  it('never retries a FatalError, and honours a shouldRetry veto', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => (calls++, Promise.reject(new FatalError('bad credentials'))), {
        what: 'op',
        minTimeoutMs: 1,
      }),
    ).rejects.toThrow('bad credentials');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetry(async () => (calls++, Promise.reject(new Error('404'))), {
        what: 'op',
        minTimeoutMs: 1,
        shouldRetry: () => false,
      }),
    ).rejects.toThrow('404');
    expect(calls).toBe(1);
  });

  it('gives up after `retries` attempts and stops when aborted', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => (calls++, Promise.reject(new Error('down'))), {
        what: 'op',
        retries: 2,
        minTimeoutMs: 1,
        maxTimeoutMs: 2,
      }),
    ).rejects.toThrow('down');
    expect(calls).toBe(3);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await expect(
      withRetry(async () => Promise.reject(new Error('down')), {
        what: 'op',
        retries: Infinity,
        minTimeoutMs: 10,
        maxTimeoutMs: 20,
        signal: ac.signal,
      }),
    ).rejects.toThrow();
    expect(ac.signal.aborted).toBe(true);
  });
});

describe('helpers', () => {
  it('sleep rejects on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('bye')), 10);
    await expect(sleep(10_000, ac.signal)).rejects.toThrow('bye');
  });

  it('secretSchema wraps strings so they cannot be printed', () => {
    const s = secretSchema.parse('hunter2');
    expect(String(s)).toBe('[redacted]');
    expect(s.reveal()).toBe('hunter2');
    expect(secretSchema.parse(secret('x')).reveal()).toBe('x');
    expect(secretSchema.safeParse('').success).toBe(false);
  });

  it('deadLetter keeps the raw payload and the reason', () => {
    const r = deadLetter({
      connector: 'eth',
      reason: 'bad-log',
      error: 'wrong topic count',
      sourceRef: '0xabc',
      payload: { topics: [] },
      timestamp: 0,
    });
    expect(r.topic).toBe('deadletter');
    expect(r.key).toBe('eth');
    expect(r.value).toMatchObject({
      reason: 'bad-log',
      payload: '{"topics":[]}',
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(r.headers).toMatchObject({
      'tributary.dead-letter.reason': 'bad-log',
      'tributary.record.type': 'dead-letter',
    });
  });
});
