// SHA-256 for block decoding, where almost every hash is short: the second round of every hash256 (32
// bytes), merkle nodes (64 bytes), Base58Check checksums (21 bytes). A call into OpenSSL costs about
// 0.5 µs whatever the size (and `crypto.hash(..., 'buffer')` about 2 µs on Node 20: it allocates through
// a slow path, so the digest is taken as a latin1 string), while one compression round in JS costs about
// a third of that. So: transactions (usually several blocks long) go to OpenSSL once, everything shorter
// than one block stays in JS, and a second round never leaves the 32-bit words it was computed in.
import * as nodeCrypto from 'node:crypto';

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'latin1') => string;
// `crypto.hash` is Node >= 20.12; fall back to createHash before that.
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;
const nativeLatin1: (data: Uint8Array) => string = oneShot
  ? (data) => oneShot('sha256', data, 'latin1')
  : (data) => nodeCrypto.createHash('sha256').update(data).digest().toString('latin1');

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Message schedule of the current block; W[0..15] is the block, compress() expands the rest. */
const W = new Int32Array(64);
/** Chaining state. */
const H = new Int32Array(8);

/** The second block of a 64-byte message is always the same padding: its schedule plus K, precomputed. */
const PAD64 = (() => {
  W.fill(0);
  W[0] = 0x80000000 | 0;
  W[15] = 512;
  expand();
  const kw = new Int32Array(64);
  for (let i = 0; i < 64; i++) kw[i] = (K[i]! + W[i]!) | 0;
  return kw;
})();

function expand(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
}

/** One compression of W[0..15] into H. */
function compress(): void {
  expand();
  let a = H[0]!,
    b = H[1]!,
    c = H[2]!,
    d = H[3]!,
    e = H[4]!,
    f = H[5]!,
    g = H[6]!,
    h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        K[i]! +
        W[i]!) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** Compression with a precomputed K + W (the constant padding block of a 64-byte message). */
function compressPadding64(): void {
  let a = H[0]!,
    b = H[1]!,
    c = H[2]!,
    d = H[3]!,
    e = H[4]!,
    f = H[5]!,
    g = H[6]!,
    h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        PAD64[i]!) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** H = SHA-256(H as a 32-byte message): the second round of hash256, without leaving 32-bit words. */
function rehashState(): void {
  for (let i = 0; i < 8; i++) W[i] = H[i]!;
  W[8] = 0x80000000 | 0;
  W.fill(0, 9, 15);
  W[15] = 256;
  H.set(IV);
  compress();
}

/** H = SHA-256 of data[start, end) for lengths up to 55 bytes (one block with its padding). */
function shortSha256(data: Uint8Array, start: number, end: number): void {
  const n = end - start;
  W.fill(0, 0, 16);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const j = start + i;
    W[i >> 2] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
  }
  let last = 0;
  let shift = 24;
  for (; i < n; i++, shift -= 8) last |= data[start + i]! << shift;
  W[i >> 2] = last | (0x80 << shift);
  W[15] = n * 8;
  H.set(IV);
  compress();
}

/** H = the 32-byte digest in a latin1 string (what OpenSSL returned). */
function loadLatin1(s: string): void {
  for (let i = 0; i < 8; i++) {
    const j = i * 4;
    H[i] =
      (s.charCodeAt(j) << 24) |
      (s.charCodeAt(j + 1) << 16) |
      (s.charCodeAt(j + 2) << 8) |
      s.charCodeAt(j + 3);
  }
}

function storeState(out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) {
    const w = H[i]!;
    const j = at + i * 4;
    out[j] = w >>> 24;
    out[j + 1] = w >>> 16;
    out[j + 2] = w >>> 8;
    out[j + 3] = w;
  }
}

/** The same digest byte-reversed, as Bitcoin prints hashes. */
function storeStateReversed(out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) {
    const w = H[7 - i]!;
    const j = at + i * 4;
    out[j] = w;
    out[j + 1] = w >>> 8;
    out[j + 2] = w >>> 16;
    out[j + 3] = w >>> 24;
  }
}

/** SHA-256 of a whole buffer (tests, tools); hot paths use the functions below. */
export function sha256(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  if (data.length <= 55) {
    shortSha256(data, 0, data.length);
    storeState(out, 0);
  } else {
    out.write(nativeLatin1(data), 'latin1');
  }
  return out;
}

/** hash256 (double SHA-256) of data[start, end), written to `out` at `at` and, byte-reversed (the
 * printed form), to `reversed` at `reversedAt`. `data` must be a Buffer-backed view of the whole
 * message when it is longer than 55 bytes: OpenSSL hashes the subarray in place. */
export function hash256(
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  reversed: Uint8Array,
  reversedAt: number,
): void {
  if (end - start <= 55) shortSha256(data, start, end);
  else loadLatin1(nativeLatin1(data.subarray(start, end)));
  rehashState();
  storeState(out, at);
  storeStateReversed(reversed, reversedAt);
}

/** First four bytes of hash256(data[start, end)) as a big-endian integer (a Base58Check checksum);
 * data up to 55 bytes. */
export function checksum(data: Uint8Array, start: number, end: number): number {
  shortSha256(data, start, end);
  rehashState();
  return H[0]!;
}

/** Merkle root of `count` 32-byte hashes laid out back to back in `hashes` (which needs room for one
 * more hash: an odd level duplicates its last node), computed in place into hashes[0..32). */
export function merkleRootInPlace(hashes: Uint8Array, count: number): void {
  let n = count;
  while (n > 1) {
    if (n & 1) {
      hashes.copyWithin(n * 32, (n - 1) * 32, n * 32);
      n++;
    }
    // Node j reads slots 2j and 2j+1 and writes slot j <= 2j: in place, front to back.
    for (let j = 0; j < n / 2; j++) {
      const at = j * 64;
      for (let i = 0; i < 16; i++) {
        const k = at + i * 4;
        W[i] = (hashes[k]! << 24) | (hashes[k + 1]! << 16) | (hashes[k + 2]! << 8) | hashes[k + 3]!;
      }
      H.set(IV);
      compress();
      compressPadding64();
      rehashState();
      storeState(hashes, j * 32);
    }
    n /= 2;
  }
}
