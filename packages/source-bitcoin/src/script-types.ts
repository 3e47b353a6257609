// Output script classification by byte template. bitcoinjs-lib's `address.fromOutputScript` tries every
// payment type in turn and throws on each miss (about 23k outputs/s); matching the standard templates
// directly and only then encoding the address is what makes decoding keep up with a node.
import { address as bjsAddress } from 'bitcoinjs-lib';
import { toBase58Check } from './base58check.ts';
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
  const n = s.length;
  if (
    n === 25 &&
    s[0] === OP_DUP &&
    s[1] === OP_HASH160 &&
    s[2] === 20 &&
    s[23] === OP_EQUALVERIFY &&
    s[24] === OP_CHECKSIG
  ) {
    return { type: 'p2pkh', address: toBase58Check(s.subarray(3, 23), net.pubKeyHash) };
  }
  if (n === 23 && s[0] === OP_HASH160 && s[1] === 20 && s[22] === OP_EQUAL) {
    return { type: 'p2sh', address: toBase58Check(s.subarray(2, 22), net.scriptHash) };
  }
  if (n === 22 && s[0] === OP_0 && s[1] === 20) {
    return { type: 'p2wpkh', address: bjsAddress.toBech32(s.subarray(2), 0, net.bech32) };
  }
  if (n === 34 && s[0] === OP_0 && s[1] === 32) {
    return { type: 'p2wsh', address: bjsAddress.toBech32(s.subarray(2), 0, net.bech32) };
  }
  if (n === 34 && s[0] === OP_1 && s[1] === 32) {
    // Encoded whether or not the key is on the curve, as Bitcoin Core does: the output is spendable
    // (or burnt) by consensus either way, and an x-only check per output would cost a field sqrt.
    return { type: 'p2tr', address: bjsAddress.toBech32(s.subarray(2), 1, net.bech32) };
  }
  // BIP 141/350: any other witness program (version 1..16, 2..40 bytes) is a valid future address.
  if (n >= 4 && n <= 42 && s[0]! >= OP_1 && s[0]! <= OP_16 && s[1] === n - 2) {
    return {
      type: 'witness_unknown',
      address: bjsAddress.toBech32(s.subarray(2), s[0]! - OP_1 + 1, net.bech32),
    };
  }
  if (n > 0 && s[0] === OP_RETURN) {
    return { type: 'nulldata', address: null, data: nullData(s) };
  }
  if (
    (n === 35 && s[0] === 33 && (s[1] === 2 || s[1] === 3) && s[34] === OP_CHECKSIG) ||
    (n === 67 && s[0] === 65 && (s[1] === 4 || s[1] === 6 || s[1] === 7) && s[66] === OP_CHECKSIG)
  ) {
    return { type: 'p2pk', address: null, pubkey: hex(s.subarray(1, n - 1)) };
  }
  if (isBareMultisig(s)) return { type: 'multisig', address: null };
  return { type: 'nonstandard', address: null };
}

/** The bytes pushed after OP_RETURN, concatenated; the raw tail when it is not push-only. */
function nullData(s: Uint8Array): string {
  const parts: Uint8Array[] = [];
  let i = 1;
  while (i < s.length) {
    const op = s[i]!;
    let len: number;
    let at: number;
    if (op <= 75) [len, at] = [op, i + 1];
    else if (op === OP_PUSHDATA1 && i + 1 < s.length) [len, at] = [s[i + 1]!, i + 2];
    else if (op === OP_PUSHDATA2 && i + 2 < s.length) [len, at] = [s[i + 1]! | (s[i + 2]! << 8), i + 3];
    else if (op === OP_PUSHDATA4 && i + 4 < s.length)
      [len, at] = [(s[i + 1]! | (s[i + 2]! << 8) | (s[i + 3]! << 16)) + s[i + 4]! * 2 ** 24, i + 5];
    else return hex(s.subarray(1));
    if (at + len > s.length) return hex(s.subarray(1));
    parts.push(s.subarray(at, at + len));
    i = at + len;
  }
  return parts.map(hex).join('');
}

/** OP_m <33- or 65-byte keys>... OP_n OP_CHECKMULTISIG with 1 <= m <= n <= 16. */
function isBareMultisig(s: Uint8Array): boolean {
  const n = s.length;
  if (n < 37 || s[n - 1] !== OP_CHECKMULTISIG) return false;
  const m = s[0]! - OP_1 + 1;
  const keys = s[n - 2]! - OP_1 + 1;
  if (m < 1 || m > 16 || keys < 1 || keys > 16 || m > keys) return false;
  let i = 1;
  for (let k = 0; k < keys; k++) {
    const len = s[i];
    if (len !== 33 && len !== 65) return false;
    i += 1 + len;
  }
  return i === n - 2;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
