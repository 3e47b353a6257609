import { getAddress } from 'ethers';

/** Quantity (`0x1a`) to an exact decimal string; nothing passes through a float. */
export function hexToDecimal(hex: string): string {
  return BigInt(hex).toString();
}

/** Quantity to a JS number, for values that always fit (block numbers, indexes, sizes, nonces). */
export function hexToNumber(hex: string): number {
  const n = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${hex}`);
  return n;
}

export function numberToHex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** EIP-55 checksums cost a keccak each; the same few addresses (routers, tokens) recur in every block. */
export class AddressCache {
  readonly #cache = new Map<string, string>();
  constructor(private readonly max = 50_000) {}

  checksum(address: string): string {
    const lower = address.toLowerCase();
    let out = this.#cache.get(lower);
    if (out === undefined) {
      out = getAddress(lower);
      if (this.#cache.size >= this.max) this.#cache.clear();
      this.#cache.set(lower, out);
    }
    return out;
  }

  /** A 32-byte topic word holding an address, or null when its upper 12 bytes are not zero. */
  fromWord(word: string): string | null {
    if (!/^0x0{24}[0-9a-fA-F]{40}$/.test(word)) return null;
    return this.checksum(`0x${word.slice(26)}`);
  }
}
