// kafkajs 2.2.4 drops aborted records under read_committed by walking the fetch response's aborted
// transactions in list order, but the broker does not send them in offset order: records of an aborted
// transaction leaked (seen after SIGKILLs with two producers in one partition). patches/kafkajs+2.2.4.patch
// sorts them by first offset, as the Java consumer does. This pins the patch in place.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

type Msg = {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
};
const filter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (a: {
  messages: Msg[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Msg[];

const data = (offset: number, producerId: string): Msg => ({
  offset: String(offset),
  key: Buffer.from('k'),
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, abort: boolean): Msg => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, abort ? 0 : 1]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

describe('kafkajs read_committed filter (patched)', () => {
  it('drops records of aborted transactions even when the broker lists them out of offset order', () => {
    // The layout seen in the log: producer 3 commits, producer 2 commits, both then abort interleaved.
    const messages = [
      data(3127, '3'),
      marker(3128, '3', false),
      data(3129, '2'),
      data(3130, '3'),
      marker(3131, '2', false),
      data(3132, '3'),
      data(3133, '2'),
      data(3134, '3'),
      marker(3138, '2', true),
      marker(3139, '3', true),
      data(3140, '2'),
    ];
    const kept = filter({
      messages,
      abortedTransactions: [
        { producerId: '2', firstOffset: '3133' },
        { producerId: '3', firstOffset: '3130' },
      ],
    }).filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(['3127', '3129', '3140']);
  });
});

// The same patch speeds up producing (slicing-by-8 CRC32C, unzeroed and presized encoder buffers): the
// checksum must stay the CRC32C the broker checks.
const crc32C = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  b: Buffer,
) => number;

/** Bit-at-a-time CRC32C (Castagnoli, reflected 0x82F63B78): the definition, to check the fast table. */
function crc32cReference(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('kafkajs CRC32C (patched)', () => {
  it('gives the standard check value and matches the definition at every length around the 8-byte steps', () => {
    expect(crc32C(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    for (let n = 0; n < 70; n++) {
      const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 0xff));
      expect(crc32C(b), `length ${n}`).toBe(crc32cReference(b));
    }
  });
});

// The produce-path part of the patch (varints written in place, headers without an encoder each, buffers
// sized up front) must encode the same bytes: checked byte for byte against the unpatched 2.2.4 when it
// was written; here a batch round-trips through kafkajs' own decoder and the varints match the format.
type EncoderT = {
  writeVarInt(v: number): EncoderT;
  writeVarLong(v: number): EncoderT;
  buffer: Buffer;
};
const req = createRequire(import.meta.url);
const Encoder = req('kafkajs/src/protocol/encoder.js') as new () => EncoderT;
const Decoder = req('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const Record = req('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => EncoderT;
const { RecordBatch } = req('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: object) => Promise<EncoderT>;
};
const decodeBatch = req('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: {
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
    timestamp: string;
  }[];
}>;

describe('kafkajs produce encoding (patched)', () => {
  it('writes varints as the protocol defines them (zigzag LEB128), small and large', () => {
    const hex = (e: EncoderT) => e.buffer.toString('hex');
    expect(hex(new Encoder().writeVarInt(0))).toBe('00');
    expect(hex(new Encoder().writeVarInt(-1))).toBe('01');
    expect(hex(new Encoder().writeVarInt(300))).toBe('d804');
    expect(hex(new Encoder().writeVarInt(-(2 ** 31)))).toBe('ffffffff0f');
    expect(hex(new Encoder().writeVarLong(-65))).toBe('8101');
    // 2^40 needs the 64-bit path: zigzag 2^41 = 6 groups of 7 bits
    expect(hex(new Encoder().writeVarLong(2 ** 40))).toBe('808080808040');
  });

  it('round-trips keys, values, headers and timestamps through kafkajs decoding', async () => {
    const base = 1_700_000_000_000;
    const messages = Array.from({ length: 50 }, (_, i) => ({
      key: i % 5 ? `key-${i}` : null,
      value: i % 7 ? Buffer.from('v'.repeat((i * 97) % 3000) + 'é') : null,
      headers: i % 2 ? { 'tributary.schema': 'chain.transaction', multi: ['a', 'b'] } : {},
      timestamp: base + (i % 4) * 1000 + (i === 49 ? 2 ** 33 : 0),
    }));
    const records = messages.map((m, i) =>
      Record({
        key: m.key,
        value: m.value,
        headers: m.headers,
        offsetDelta: i,
        timestampDelta: m.timestamp - base,
      }),
    );
    const batch = await RecordBatch({
      records,
      firstTimestamp: base,
      maxTimestamp: base + 2 ** 33,
      lastOffsetDelta: 49,
    });
    const decoded = await decodeBatch(new Decoder(batch.buffer));
    expect(decoded.records).toHaveLength(50);
    decoded.records.forEach((r, i) => {
      const m = messages[i]!;
      expect(r.key?.toString() ?? null).toBe(m.key);
      expect(r.value?.equals(m.value!) ?? m.value === null).toBe(true);
      expect(r.timestamp).toBe(String(m.timestamp));
      const h = Object.fromEntries(
        Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
      );
      expect(h).toEqual(m.headers);
    });
  });

  it('writes plain records (the produce request path) to the same bytes as Record encoders', async () => {
    const base = 1_700_000_000_000;
    const plain = Array.from({ length: 40 }, (_, i) => ({
      key: i % 6 ? `k-${i}-ü` : null,
      value: i % 5 ? (i % 2 ? Buffer.from('b'.repeat(i * 37)) : `{"v":"${'x'.repeat(i * 53)}é"}`) : null,
      headers: i % 3 ? { h: 'one', multi: ['a', 'b'] } : undefined,
      offsetDelta: i,
      timestampDelta: (i % 4) * 1000 + (i === 39 ? 2 ** 33 : 0),
    }));
    const args = { firstTimestamp: base, maxTimestamp: base + 2 ** 33, lastOffsetDelta: 39 };
    const direct = await RecordBatch({ ...args, records: plain });
    const viaEncoders = await RecordBatch({ ...args, records: plain.map((r) => Record(r)) });
    expect(direct.buffer.equals(viaEncoders.buffer)).toBe(true);
    expect((await decodeBatch(new Decoder(direct.buffer))).records).toHaveLength(40);
  });
});

// The default partitioner's murmur2 is rewritten in 32-bit arithmetic (the Long version was 20x slower);
// a key must still land in the partition the Java client picks.
const murmur2 = req('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: string | Buffer) => number;

describe('kafkajs murmur2 (patched)', () => {
  it("gives the Java client's hashes (Kafka's own UtilsTest vectors)", () => {
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });
});
