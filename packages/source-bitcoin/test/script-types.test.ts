// Template classification agrees with bitcoinjs-lib's payment decoders on every address type.
import { describe, expect, it } from 'vitest';
import * as ecc from 'tiny-secp256k1';
import { ECPairFactory } from 'ecpair';
import { address as bjsAddress, initEccLib, networks, opcodes, payments, script } from 'bitcoinjs-lib';
import { addressParams, classifyOutputScript } from '../src/index.ts';

initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
const key = ECPair.fromPrivateKey(Buffer.alloc(32, 7));
const key2 = ECPair.fromPrivateKey(Buffer.alloc(32, 9));

describe('classifyOutputScript', () => {
  for (const [name, net, params] of [
    ['mainnet', networks.bitcoin, addressParams('mainnet')],
    ['testnet', networks.testnet, addressParams('testnet')],
    ['regtest', networks.regtest, addressParams('regtest')],
  ] as const) {
    it(`encodes the five address types like bitcoinjs-lib on ${name}`, () => {
      const outputs = {
        p2pkh: payments.p2pkh({ pubkey: key.publicKey, network: net }).output!,
        p2sh: payments.p2sh({
          redeem: payments.p2wpkh({ pubkey: key.publicKey, network: net }),
          network: net,
        }).output!,
        p2wpkh: payments.p2wpkh({ pubkey: key.publicKey, network: net }).output!,
        p2wsh: payments.p2wsh({
          redeem: payments.p2pk({ pubkey: key.publicKey, network: net }),
          network: net,
        }).output!,
        p2tr: payments.p2tr({ internalPubkey: key.publicKey.subarray(1, 33), network: net }).output!,
      };
      for (const [type, output] of Object.entries(outputs)) {
        expect(classifyOutputScript(output, params)).toEqual({
          type,
          address: bjsAddress.fromOutputScript(output, net),
        });
      }
    });
  }

  it('keeps data, keys and scripts of outputs without an address', () => {
    const net = addressParams('regtest');
    const data = Buffer.from('tributary test payload');
    expect(classifyOutputScript(payments.embed({ data: [data] }).output!, net)).toEqual({
      type: 'nulldata',
      address: null,
      data: data.toString('hex'),
    });
    expect(classifyOutputScript(script.compile([opcodes.OP_RETURN]), net)).toEqual({
      type: 'nulldata',
      address: null,
      data: '',
    });
    expect(classifyOutputScript(payments.p2pk({ pubkey: key.publicKey }).output!, net)).toEqual({
      type: 'p2pk',
      address: null,
      pubkey: Buffer.from(key.publicKey).toString('hex'),
    });
    const ms = payments.p2ms({ m: 1, pubkeys: [key.publicKey, key2.publicKey] }).output!;
    expect(classifyOutputScript(ms, net)).toEqual({ type: 'multisig', address: null });
    expect(classifyOutputScript(script.compile([opcodes.OP_TRUE]), net)).toEqual({
      type: 'nonstandard',
      address: null,
    });
    expect(classifyOutputScript(new Uint8Array(0), net)).toEqual({ type: 'nonstandard', address: null });
    // A future witness version still has a (bech32m) address.
    const v2 = Buffer.concat([Buffer.from([0x52, 16]), Buffer.alloc(16, 1)]);
    expect(classifyOutputScript(v2, net)).toEqual({
      type: 'witness_unknown',
      address: bjsAddress.toBech32(Buffer.alloc(16, 1), 2, 'bcrt'),
    });
  });
});
