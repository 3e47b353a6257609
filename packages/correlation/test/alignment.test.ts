// Event-time alignment of the input partitions: a backlog on one topic must not make another topic's
// events late. The clock itself is tested as data; the processor against real Kafka, with and without
// alignment (a skew of ten years turns it off), on the same preloaded input.
import { describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { createInputClock } from '../src/input-clock.ts';
import { runProcessor } from '../src/processor.ts';
import { catalogue } from '../src/rules/index.ts';
import { address, crmRecord, H, T0, transferRecord } from './fixtures.ts';
import {
  createInputTopics,
  produce,
  topicsFor,
  uniquePrefix,
  waitCaughtUp,
  type Produced,
} from './scenario.ts';

const brokers = inject('kafkaBrokers');

describe('input clock', () => {
  const clock = () => createInputClock({ maxSkewMs: 10, idleMs: 1_000 });

  it('bounds a partition by the slowest other one that has data, plus the skew', () => {
    const c = clock();
    c.reset(['a:0', 'b:0'], 0);
    // Nothing known yet: both wait for each other's first batch.
    expect(c.bound('a:0', 0)).toBe(Number.NEGATIVE_INFINITY);
    c.update('a:0', 100, 'reading', 1);
    c.update('b:0', 500, 'held', 1);
    expect(c.bound('b:0', 2)).toBe(110);
    expect(c.bound('a:0', 2)).toBe(510);
    expect(c.release(2)).toEqual([]);
    // A held partition never idles out: a still waits for b long after b's last batch.
    c.update('a:0', 300, 'reading', 5_000);
    expect(c.bound('a:0', 5_000)).toBe(510);
    // a catches up to within the skew of b: b is released.
    c.update('a:0', 495, 'reading', 5_001);
    expect(c.release(5_001)).toEqual(['b:0']);
    expect(c.release(5_002)).toEqual([]);
  });

  it('stops waiting for a drained partition and for one that has been quiet for idleMs', () => {
    const c = clock();
    c.reset(['a:0', 'b:0', 'c:0'], 0);
    c.update('a:0', 100, 'drained', 1);
    c.update('b:0', 900, 'held', 1);
    // c never delivered: it holds everyone back until it has been quiet for idleMs.
    expect(c.bound('b:0', 500)).toBe(Number.NEGATIVE_INFINITY);
    expect(c.release(500)).toEqual([]);
    expect(c.bound('b:0', 1_001)).toBe(Number.POSITIVE_INFINITY);
    expect(c.release(1_001)).toEqual(['b:0']);
  });
});

describe('processor input alignment against real Kafka', () => {
  // Ten hours of CRM changes and of transfers, each topic preloaded in full before the processor starts:
  // one fetch holds all of both, so without alignment whichever topic comes first moves the watermark
  // ten hours ahead and most of the other arrives late.
  function preload(): Produced[] {
    const out: Produced[] = [];
    for (let i = 0; i < 150; i++) {
      const at = T0 + Math.floor((10 * H * i) / 150);
      const crm = crmRecord({
        recordId: String(i % 30),
        at,
        values: { lifecyclestage: `s${i}` },
        sourcePosition: `p${i}`,
      });
      out.push({ topic: 'crm', key: `${crm.system}:${crm.objectType}:${crm.recordId}`, value: crm });
      out.push({
        topic: 'transfers',
        key: `k${i % 7}`,
        value: transferRecord({
          from: address(`s${i % 13}`),
          to: address(`r${i % 17}`),
          at,
          tx: `0x${(i + 1).toString(16).padStart(64, '0')}`,
        }),
      });
    }
    return out;
  }

  async function run(maxSkew: string | undefined): Promise<{ records: number; late: number }> {
    const prefix = uniquePrefix();
    await createInputTopics(brokers, prefix);
    await produce(brokers, prefix, preload(), 1_000);
    const groupId = `${prefix}correlation`;
    const { inputs, outputs } = topicsFor(prefix);
    let records = 0;
    let late = 0;
    const ac = new AbortController();
    const running = runProcessor({
      brokers,
      groupId,
      inputs,
      outputs,
      rules: catalogue(),
      ...(maxSkew ? { maxSkew } : {}),
      logger: pino({ level: 'warn' }),
      signal: ac.signal,
      onCommit: (c) => {
        records += c.records;
        late += c.late;
      },
    });
    try {
      await waitCaughtUp(brokers, groupId, [inputs.transfers, inputs.crm]);
    } finally {
      ac.abort();
      await running;
    }
    return { records, late };
  }

  it('keeps a preloaded topic from running ahead: no event is late; without alignment most of one topic is', async () => {
    const aligned = await run(undefined);
    expect(aligned).toEqual({ records: 300, late: 0 });
    const unaligned = await run('3650d');
    expect(unaligned.records).toBe(300);
    expect(unaligned.late).toBeGreaterThan(100);
  });
});
