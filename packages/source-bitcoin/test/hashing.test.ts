// The hand-written hot paths agree with the reference implementations byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { address as bjsAddress } from 'bitcoinjs-lib';
import { toBase58Check } from '../src/base58check.ts';
import { merkleParent, sha256 } from '../src/sha256.ts';

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

  it('hashes merkle nodes as hash256(left || right)', () => {
    for (let k = 0; k < 50; k++) {
      const [l, r] = [randomBytes(32), randomBytes(32)];
      expect(merkleParent(l, r).toString('hex')).toBe(
        nodeSha(nodeSha(Buffer.concat([l, r]))).toString('hex'),
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
