import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ContractFactory,
  Interface,
  JsonRpcProvider,
  type BaseContract,
  type InterfaceAbi,
  type JsonRpcSigner,
} from 'ethers';
import { pino } from 'pino';
import type { JsonValue, SourceBatch, SourceRecord, TaskContext } from '@tributary/sdk';
import { RECORD_TYPES, validateRecord, type RecordType } from '@tributary/schemas';
import {
  configSchema,
  source,
  type EthereumConfig,
  type EthereumConfigInput,
  type EthereumOffset,
} from '../src/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** A fake task context: what the runtime passes, with metrics we can look at. */
export function fakeCtx(config: EthereumConfigInput, offsets: [string, EthereumOffset][] = []) {
  const controller = new AbortController();
  const skipped: string[] = [];
  const lag = new Map<string, number>();
  const ctx: TaskContext<EthereumConfig, EthereumOffset> = {
    connector: 'eth-test',
    taskId: 0,
    config: configSchema.parse(config) as EthereumConfig,
    offsets: new Map(offsets),
    signal: controller.signal,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    metrics: { lag: (p, v) => void lag.set(p, v), skipped: (r) => void skipped.push(r) },
  };
  return { ctx, controller, skipped, lag };
}

/** Runs the source until `stop` says so (or the source ends), then aborts it; returns all batches. */
export async function runSource(
  config: EthereumConfigInput,
  opts: {
    offsets?: [string, EthereumOffset][];
    stop?: (batches: SourceBatch<EthereumOffset>[]) => boolean;
    onBatch?: (b: SourceBatch<EthereumOffset>) => Promise<void> | void;
  } = {},
) {
  const f = fakeCtx(config, opts.offsets);
  const batches: SourceBatch<EthereumOffset>[] = [];
  for await (const b of source.run(f.ctx)) {
    batches.push(b);
    await opts.onBatch?.(b);
    if (opts.stop?.(batches)) {
      f.controller.abort();
      break;
    }
  }
  return { batches, records: batches.flatMap((b) => b.records), skipped: f.skipped, lag: f.lag };
}

const TYPE_OF_TOPIC = new Map<string, RecordType>(
  Object.entries(RECORD_TYPES).map(([type, spec]): [string, RecordType] => [spec.topic, type as RecordType]),
);

/** Every record validated against its schema (and its headers against its type). */
export function validated(records: readonly SourceRecord[]) {
  return records.map((r) => {
    const type = TYPE_OF_TOPIC.get(r.topic);
    if (!type) throw new Error(`unknown topic ${r.topic}`);
    if (r.headers?.['tributary.record.type'] !== type)
      throw new Error(`record on ${r.topic} has headers ${JSON.stringify(r.headers)}`);
    return {
      topic: r.topic,
      key: r.key,
      value: validateRecord(type, r.value) as Record<string, JsonValue>,
      timestamp: r.timestamp,
    };
  });
}

export function byTopic(records: readonly SourceRecord[], topic: string) {
  return validated(records)
    .filter((r) => r.topic === topic)
    .map((r) => r.value);
}

interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
}
export function artifact(name: 'TestToken' | 'TestNFT' | 'TestMulti' | 'BadToken'): Artifact {
  return JSON.parse(readFileSync(join(here, 'contracts', `${name}.json`), 'utf8')) as Artifact;
}

export async function deploy(
  signer: JsonRpcSigner,
  name: Parameters<typeof artifact>[0],
  ...args: unknown[]
): Promise<BaseContract & { address: string }> {
  const a = artifact(name);
  const c = await new ContractFactory(a.abi, a.bytecode, signer).deploy(...args);
  await c.waitForDeployment();
  return Object.assign(c, { address: await c.getAddress() });
}

/** An ethers provider for driving the test chain (not the code under test). */
export function driver(url: string) {
  return new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
}

export async function rpc<T>(provider: JsonRpcProvider, method: string, params: unknown[] = []): Promise<T> {
  return (await provider.send(method, params)) as T;
}

/** Mines one Hardhat block holding `n` transactions, alternating ETH transfers (from accounts 1-3) and
 * ERC-20 transfers of `token` (from account 0) to accounts 4-7; `salt` makes values, and so hashes, unique. */
export async function mineHardhatBlock(
  eth: JsonRpcProvider,
  accounts: string[],
  token: string,
  n: number,
  salt: number,
): Promise<void> {
  const erc20 = new Interface(artifact('TestToken').abi);
  await rpc(eth, 'evm_setAutomine', [false]);
  const txs = Array.from({ length: n }, (_, i) => {
    const to = accounts[4 + ((salt + i) % 4)]!;
    return i % 2 === 0
      ? {
          from: accounts[1 + ((salt + i) % 3)]!,
          to,
          value: `0x${(1_000_000 + salt * 10 + i).toString(16)}`,
          gas: '0x5208',
        }
      : {
          from: accounts[0]!,
          to: token,
          data: erc20.encodeFunctionData('transfer', [to, BigInt(salt * 10 + i + 1)]),
          gas: '0x186a0',
        };
  });
  await Promise.all(txs.map((tx) => rpc(eth, 'eth_sendTransaction', [tx])));
  await rpc(eth, 'evm_mine');
  await rpc(eth, 'evm_setAutomine', [true]);
}
