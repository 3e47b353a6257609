// Real mainnet blocks from the shared fixtures folder (next to the repo, never copied into it).
import { readFileSync } from 'node:fs';
import { sharedFixturePath } from '@tributary/testkit';

export const fixturePath = (...parts: string[]): string => sharedFixturePath('bitcoin', ...parts);

export function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

export interface BjsBlockFixture {
  description: string;
  id: string;
  hex: string;
  merkleRoot: string;
  prevHash: string;
  version: number;
  timestamp: number;
  bits: number;
  nonce: number;
  height?: number;
  witnessCommit?: string;
  size?: number;
  strippedSize?: number;
  weight?: number;
  valid?: boolean;
}

export function bitcoinjsBlocks(): {
  valid: BjsBlockFixture[];
  invalid: { exception: string; hex: string }[];
} {
  return readJson('bitcoinjs-lib', 'block.json');
}

/** The ~32 KiB mainnet block (2014, 103 transactions) used by the benchmark too. */
export function block32k(): Uint8Array {
  const b = bitcoinjsBlocks().valid.find((v) => v.description === 'Block (~32 KiB)');
  if (!b) throw new Error(`bitcoinjs-lib/block.json in ${fixturePath()} has no "Block (~32 KiB)" entry`);
  return Buffer.from(b.hex, 'hex');
}
