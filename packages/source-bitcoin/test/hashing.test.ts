// The hand-written hot paths agree with the reference implementations byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { address as bjsAddress } from 'bitcoinjs-lib';
import { toBase58Check } from '../src/base58check.ts';
import { segwitAddress } from '../src/bech32.ts';
import { checksum, hash256, merkleRootInPlace, sha256 } from '../src/sha256.ts';

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest();

describe('sha256', () => {
  it('matches node:crypto for every length up to 200 bytes', () => {
    for (let n = 0; n <= 200; n++) {
      for (let k = 0; k < 3; k++) {
        const d = randomBytes(n);
        expect(sha256(d).toString('hex'), `length ${n}`).toBe(nodeSha(d).toString('hex'));
      }
    }
  });

  const hash256Ref = (b: Uint8Array) => nodeSha(nodeSha(b));

  it('hash256 writes the digest and its byte-reversed form, short and long inputs', () => {
    const out = Buffer.alloc(40);
    const reversed = Buffer.alloc(40);
    for (const n of [0, 1, 31, 32, 55, 56, 63, 64, 65, 80, 119, 300, 5000]) {
      const d = randomBytes(n + 7);
      hash256(d, 3, 3 + n, out, 5, reversed, 8);
      const ref = hash256Ref(d.subarray(3, 3 + n));
      expect(out.subarray(5, 37).toString('hex'), `length ${n}`).toBe(ref.toString('hex'));
      expect(reversed.subarray(8, 40).toString('hex')).toBe(Buffer.from(ref).reverse().toString('hex'));
    }
  });

  it('checksum is the first four bytes of hash256', () => {
    for (let n = 0; n <= 55; n++) {
      const d = randomBytes(n);
      expect(checksum(d, 0, n) >>> 0).toBe(hash256Ref(d).readUInt32BE(0));
    }
  });

  it('computes merkle roots in place, odd levels duplicating their last node', () => {
    for (const count of [1, 2, 3, 4, 5, 7, 8, 13, 64, 101]) {
      const leaves = Array.from({ length: count }, () => randomBytes(32));
      let level: Buffer[] = leaves;
      while (level.length > 1) {
        const next: Buffer[] = [];
        for (let i = 0; i < level.length; i += 2)
          next.push(hash256Ref(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
        level = next;
      }
      const table = new Uint8Array((count + 1) * 32);
      leaves.forEach((l, i) => table.set(l, i * 32));
      merkleRootInPlace(table, count);
      expect(Buffer.from(table.subarray(0, 32)).toString('hex'), `${count} leaves`).toBe(
        level[0]!.toString('hex'),
      );
    }
  });
});

describe('toBase58Check', () => {
  it('matches bitcoinjs-lib, leading zero bytes included', () => {
    for (let k = 0; k < 2000; k++) {
      const h = randomBytes(20);
      if (k % 5 === 0) h.fill(0, 0, k % 21);
      const version = [0x00, 0x05, 0x6f, 0xc4][k % 4]!;
      expect(toBase58Check(h, version)).toBe(bjsAddress.toBase58Check(h, version));
    }
  });
});

describe('segwitAddress', () => {
  it('matches bitcoinjs-lib (bech32 for v0, bech32m for v1..16) on every prefix, version and length', () => {
    for (const hrp of ['bc', 'tb', 'bcrt']) {
      for (let version = 0; version <= 16; version++) {
        for (let n = 2; n <= 40; n++) {
          const program = randomBytes(n + 3);
          expect(segwitAddress(hrp, version, program, 2, n + 2), `${hrp} v${version} ${n} bytes`).toBe(
            bjsAddress.toBech32(program.subarray(2, n + 2), version, hrp),
          );
        }
      }
    }
  });
});
