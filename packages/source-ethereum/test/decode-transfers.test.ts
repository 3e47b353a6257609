import { describe, expect, it } from 'vitest';
import { AbiCoder, zeroPadValue } from 'ethers';
import {
  TRANSFER_BATCH_TOPIC,
  TRANSFER_SINGLE_TOPIC,
  TRANSFER_TOPIC,
  decodeTransfers,
} from '../src/index.ts';
import { AddressCache } from '../src/hex.ts';
import type { RawLog } from '../src/rpc.ts';

const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const A = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
const B = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const word = (a: string) => zeroPadValue(a, 32);
const u256 = (n: bigint) => AbiCoder.defaultAbiCoder().encode(['uint256'], [n]);
const log = (topics: string[], data: string, logIndex = 7): RawLog => ({
  address: TOKEN,
  topics,
  data,
  logIndex: `0x${logIndex.toString(16)}`,
  transactionHash: '0x01',
});

describe('decodeTransfers', () => {
  const addresses = new AddressCache();

  it('decodes ERC-20 (3 topics, amount in data) with exact amounts beyond 2^53 and checksummed addresses', () => {
    const { transfers, malformed } = decodeTransfers(
      [log([TRANSFER_TOPIC, word(A), word(B)], u256(2n ** 200n + 1n))],
      addresses,
    );
    expect(malformed).toEqual([]);
    expect(transfers).toEqual([
      {
        kind: 'erc20',
        logIndex: 7,
        token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        tokenId: null,
        from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
        to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        amount: (2n ** 200n + 1n).toString(),
      },
    ]);
  });

  it('decodes ERC-721 (4 topics, token id in topic 3, amount 1)', () => {
    const { transfers } = decodeTransfers(
      [log([TRANSFER_TOPIC, word(A), word(B), u256(42n)], '0x')],
      addresses,
    );
    expect(transfers).toMatchObject([{ kind: 'erc721', tokenId: '42', amount: '1' }]);
  });

  it('decodes ERC-1155 TransferSingle and TransferBatch (one transfer per id, with batchIndex and operator)', () => {
    const single = log(
      [TRANSFER_SINGLE_TOPIC, word(A), word(A), word(B)],
      AbiCoder.defaultAbiCoder().encode(['uint256', 'uint256'], [5n, 100n]),
      1,
    );
    const batch = log(
      [TRANSFER_BATCH_TOPIC, word(A), word(A), word(B)],
      AbiCoder.defaultAbiCoder().encode(
        ['uint256[]', 'uint256[]'],
        [
          [1n, 2n],
          [10n, 20n],
        ],
      ),
      2,
    );
    const { transfers, malformed } = decodeTransfers([single, batch], addresses);
    expect(malformed).toEqual([]);
    expect(
      transfers.map((t) => [t.kind, t.logIndex, t.tokenId, t.amount, t.batchIndex ?? null, t.operator]),
    ).toEqual([
      ['erc1155', 1, '5', '100', null, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'],
      ['erc1155', 2, '1', '10', 0, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'],
      ['erc1155', 2, '2', '20', 1, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'],
    ]);
  });

  it('ignores unrelated events', () => {
    const approval = log(
      ['0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925', word(A), word(B)],
      u256(1n),
    );
    expect(decodeTransfers([approval], addresses)).toEqual({ transfers: [], malformed: [] });
  });

  it('returns malformed logs with a stable reason instead of throwing', () => {
    const cases: [RawLog, string][] = [
      [log([TRANSFER_TOPIC, word(A)], u256(1n)), 'transfer-wrong-topic-count'],
      [log([TRANSFER_TOPIC], `0x${'00'.repeat(96)}`), 'transfer-wrong-topic-count'],
      [log([TRANSFER_TOPIC, word(A), word(B)], '0x01'), 'erc20-bad-data'],
      [log([TRANSFER_TOPIC, `0x${'ff'.repeat(32)}`, word(B)], u256(1n)), 'transfer-bad-address'],
      [log([TRANSFER_TOPIC, word(A), word(B), u256(1n)], u256(1n)), 'erc721-bad-data'],
      [log([TRANSFER_SINGLE_TOPIC, word(A), word(B)], u256(1n)), 'erc1155-wrong-topic-count'],
      [log([TRANSFER_SINGLE_TOPIC, word(A), word(A), word(B)], u256(1n)), 'erc1155-bad-data'],
      [log([TRANSFER_BATCH_TOPIC, word(A), word(A), word(B)], '0xabcdef'), 'undecodable-log'],
      [
        log(
          [TRANSFER_BATCH_TOPIC, word(A), word(A), word(B)],
          AbiCoder.defaultAbiCoder().encode(['uint256[]', 'uint256[]'], [[1n], [1n, 2n]]),
        ),
        'erc1155-batch-length-mismatch',
      ],
    ];
    const { transfers, malformed } = decodeTransfers(
      cases.map(([l]) => l),
      addresses,
    );
    expect(transfers).toEqual([]);
    expect(malformed.map((m) => m.reason)).toEqual(cases.map(([, reason]) => reason));
    for (const m of malformed) expect(m.error.length).toBeGreaterThan(0);
  });
});
