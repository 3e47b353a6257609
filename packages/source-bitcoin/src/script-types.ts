// Output script classification by byte template. bitcoinjs-lib's `address.fromOutputScript` tries every
// payment type in turn and throws on each miss (about 23k outputs/s); matching the standard templates
// directly and only then encoding the address (./base58check.ts, ./bech32.ts, both tested against
// bitcoinjs-lib) is what makes decoding keep up with a node. Works on offsets into the raw block: no
// script is copied.
import { base58CheckAt } from './base58check.ts';
import { segwitAddress } from './bech32.ts';
import type { AddressParams } from './networks.ts';

export type ScriptType =
  | 'p2pkh'
  | 'p2sh'
  | 'p2wpkh'
  | 'p2wsh'
  | 'p2tr'
  | 'witness_unknown'
  | 'p2pk'
  | 'multisig'
  | 'nulldata'
  | 'nonstandard';

export interface ClassifiedScript {
  type: ScriptType;
  /** Encoded address for address-bearing templates; null otherwise (never derived or guessed). */
  address: string | null;
  /** OP_RETURN payload (the pushed bytes, concatenated), hex. */
  data?: string;
  /** The public key of a pay-to-pubkey output, hex (it has no address of its own). */
  pubkey?: string;
}

const OP_0 = 0x00;
const OP_PUSHDATA1 = 0x4c;
const OP_PUSHDATA2 = 0x4d;
const OP_PUSHDATA4 = 0x4e;
const OP_1 = 0x51;
const OP_16 = 0x60;
const OP_RETURN = 0x6a;
const OP_DUP = 0x76;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_HASH160 = 0xa9;
const OP_CHECKSIG = 0xac;
const OP_CHECKMULTISIG = 0xae;

export function classifyOutputScript(s: Uint8Array, net: AddressParams): ClassifiedScript {
  return classifyScriptAt(asBuffer(s), 0, s.length, net);
}

/** Classifies the script at b[start, end) (the block decoder passes offsets into the raw block). */
export function classifyScriptAt(
  b: Buffer,
  start: number,
  end: number,
  net: AddressParams,
): ClassifiedScript {
  const n = end - start;
  const s0 = n > 0 ? b[start]! : -1;
  if (
    n === 25 &&
    s0 === OP_DUP &&
    b[start + 1] === OP_HASH160 &&
    b[start + 2] === 20 &&
    b[start + 23] === OP_EQUALVERIFY &&
    b[start + 24] === OP_CHECKSIG
  ) {
    return { type: 'p2pkh', address: base58CheckAt(b, start + 3, start + 23, net.pubKeyHash) };
  }
  if (n === 23 && s0 === OP_HASH160 && b[start + 1] === 20 && b[start + 22] === OP_EQUAL) {
    return { type: 'p2sh', address: base58CheckAt(b, start + 2, start + 22, net.scriptHash) };
  }
  if (s0 === OP_0 && n === 22 && b[start + 1] === 20) {
    return { type: 'p2wpkh', address: segwitAddress(net.bech32, 0, b, start + 2, end) };
  }
  if (s0 === OP_0 && n === 34 && b[start + 1] === 32) {
    return { type: 'p2wsh', address: segwitAddress(net.bech32, 0, b, start + 2, end) };
  }
  if (s0 === OP_1 && n === 34 && b[start + 1] === 32) {
    // Encoded whether or not the key is on the curve, as Bitcoin Core does: the output is spendable
    // (or burnt) by consensus either way, and an x-only check per output would cost a field sqrt.
    return { type: 'p2tr', address: segwitAddress(net.bech32, 1, b, start + 2, end) };
  }
  // BIP 141/350: any other witness program (version 1..16, 2..40 bytes) is a valid future address.
  if (n >= 4 && n <= 42 && s0 >= OP_1 && s0 <= OP_16 && b[start + 1] === n - 2) {
    return {
      type: 'witness_unknown',
      address: segwitAddress(net.bech32, s0 - OP_1 + 1, b, start + 2, end),
    };
  }
  if (s0 === OP_RETURN) {
    return { type: 'nulldata', address: null, data: nullData(b, start, end) };
  }
  if (
    (n === 35 && s0 === 33 && (b[start + 1] === 2 || b[start + 1] === 3) && b[end - 1] === OP_CHECKSIG) ||
    (n === 67 &&
      s0 === 65 &&
      (b[start + 1] === 4 || b[start + 1] === 6 || b[start + 1] === 7) &&
      b[end - 1] === OP_CHECKSIG)
  ) {
    return { type: 'p2pk', address: null, pubkey: b.toString('hex', start + 1, end - 1) };
  }
  if (isBareMultisig(b, start, end)) return { type: 'multisig', address: null };
  return { type: 'nonstandard', address: null };
}

/** The bytes pushed after OP_RETURN, concatenated; the raw tail when it is not push-only. */
function nullData(b: Buffer, start: number, end: number): string {
  let out = '';
  let i = start + 1;
  while (i < end) {
    const op = b[i]!;
    let len: number;
    let at: number;
    if (op <= 75) [len, at] = [op, i + 1];
    else if (op === OP_PUSHDATA1 && i + 1 < end) [len, at] = [b[i + 1]!, i + 2];
    else if (op === OP_PUSHDATA2 && i + 2 < end) [len, at] = [b[i + 1]! | (b[i + 2]! << 8), i + 3];
    else if (op === OP_PUSHDATA4 && i + 4 < end)
      [len, at] = [(b[i + 1]! | (b[i + 2]! << 8) | (b[i + 3]! << 16)) + b[i + 4]! * 2 ** 24, i + 5];
    else return b.toString('hex', start + 1, end);
    if (at + len > end) return b.toString('hex', start + 1, end);
    out += b.toString('hex', at, at + len);
    i = at + len;
  }
  return out;
}

/** OP_m <33- or 65-byte keys>... OP_n OP_CHECKMULTISIG with 1 <= m <= n <= 16. */
function isBareMultisig(b: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (n < 37 || b[end - 1] !== OP_CHECKMULTISIG) return false;
  const m = b[start]! - OP_1 + 1;
  const keys = b[end - 2]! - OP_1 + 1;
  if (m < 1 || m > 16 || keys < 1 || keys > 16 || m > keys) return false;
  let i = start + 1;
  for (let k = 0; k < keys; k++) {
    // Bitcoin Core's CPubKey::ValidSize: the key's first byte must agree with its length.
    const len = b[i]!;
    const h = b[i + 1];
    if (len === 33 ? h !== 2 && h !== 3 : len !== 65 || (h !== 4 && h !== 6 && h !== 7)) return false;
    i += 1 + len;
    if (i > end - 2) return false;
  }
  return i === end - 2;
}

/** A Buffer view of the same bytes (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
