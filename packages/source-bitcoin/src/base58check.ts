// Base58Check for P2PKH/P2SH addresses. Most outputs of older blocks are base58 addresses, so this is hot:
// bitcoinjs-lib's encoder (bs58check) runs about 90k addresses/s here. The checksum is hashed in JS
// without leaving 32-bit words (./sha256.ts), the big-number conversion works in base-58^4 limbs, and
// the characters are written to a byte buffer and read back as one latin1 string.
import { checksum } from './sha256.ts';

const ALPHABET = Buffer.from('123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz', 'latin1');
const LIMB = 58 ** 4;

// Scratch space: the encoders are synchronous and never re-entered.
const payload = new Uint8Array(64);
const limbs = new Float64Array(64);
const chars = Buffer.alloc(128);

/** Base58Check of `version || data` (version is one byte). */
export function toBase58Check(data: Uint8Array, version: number): string {
  return base58CheckAt(data, 0, data.length, version);
}

/** Base58Check of `version || src[start, end)`, for payloads up to 54 bytes (addresses have 20). */
export function base58CheckAt(src: Uint8Array, start: number, end: number, version: number): string {
  const n = end - start;
  if (n > 54) throw new RangeError('base58CheckAt: payload too long');
  payload[0] = version;
  for (let i = 0; i < n; i++) payload[i + 1] = src[start + i]!;
  const check = checksum(payload, 0, n + 1);
  payload[n + 1] = check >>> 24;
  payload[n + 2] = check >>> 16;
  payload[n + 3] = check >>> 8;
  payload[n + 4] = check;
  return base58(payload, n + 5);
}

// Big-number conversion in 3-byte chunks into base-58^4 limbs (least significant first): limb * 2^24 +
// chunk stays below 2^53, so plain doubles are exact, and a 25-byte address takes about 40 multiply-adds
// instead of the ~400 of the classic byte-by-digit loop.
function base58(bytes: Uint8Array, n: number): string {
  let zeros = 0;
  while (zeros < n && bytes[zeros] === 0) zeros++;
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
  // Digits from the least significant end backwards into `chars`, then the leading '1's.
  let at = chars.length;
  for (let j = 0; j < used; j++) {
    let limb = limbs[j]!;
    const last = j === used - 1;
    for (let k = 0; k < 4 && (!last || limb > 0); k++) {
      const q = Math.floor(limb / 58);
      chars[--at] = ALPHABET[limb - q * 58]!;
      limb = q;
    }
  }
  for (let z = 0; z < zeros; z++) chars[--at] = 0x31; // '1'
  return chars.toString('latin1', at, chars.length);
}
