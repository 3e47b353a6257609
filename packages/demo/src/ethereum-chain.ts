// The local Ethereum chain (Hardhat): the demo's accounts, its two contracts, and the transactions the
// steady traffic and the attack story send. Accounts other than Hardhat's own are plain addresses derived
// from a label, funded with `hardhat_setBalance` and sent from with `hardhat_impersonateAccount`: funding
// that is not a transfer keeps their balances out of what the correlation processor sees, as an exchange's
// cold wallets would be.
import { readFileSync } from 'node:fs';
import {
  ContractFactory,
  Interface,
  JsonRpcProvider,
  JsonRpcSigner,
  getAddress,
  keccak256,
  parseEther,
  toUtf8Bytes,
  type InterfaceAbi,
} from 'ethers';
import { sleep } from '@tributary/sdk';

interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
}
function artifact(name: 'DemoStable' | 'Poisoner'): Artifact {
  return JSON.parse(readFileSync(new URL(`../contracts/${name}.json`, import.meta.url), 'utf8')) as Artifact;
}

export const CHAIN_ID = 31337;
/** dUSD has 6 decimals, like USDT and USDC. */
export const DUSD = 1_000_000n;

/** A stable, key-less address for a role, e.g. `sender:1` or `attacker:round-3`. */
export function labelAddress(label: string): string {
  return getAddress(`0x${keccak256(toUtf8Bytes(`tributary-demo:${label}`)).slice(-40)}`);
}

/** An address sharing the first 4 and last 4 hex characters of `target` (what a wallet shows), with a
 * different middle: the look-alike an address poisoner generates. */
export function lookalikeOf(target: string): string {
  const body = target.slice(2).toLowerCase();
  const middle = keccak256(toUtf8Bytes(`lookalike:${body}`)).slice(2, 2 + 32);
  // The 5th character must differ, or the look-alike would share a longer prefix than needed.
  const fifth = body[4] === 'a' ? 'b' : 'a';
  return getAddress(`0x${body.slice(0, 4)}${fifth}${middle.slice(1)}${body.slice(-4)}`);
}

export interface EthereumChain {
  url: string;
  /** Hardhat's first account: deploys dUSD and holds its supply. */
  treasury: string;
  /** dUSD, the stablecoin the steady traffic and the poisoning use. */
  token: string;
  /** The address poisoner's contract. */
  poisoner: string;
  /** Sets an address's ETH balance (not a transfer) and lets the demo send from it. */
  fund(address: string, ether: string): Promise<void>;
  sendEth(from: string, to: string, wei: bigint): Promise<string>;
  sendToken(from: string, to: string, units: bigint): Promise<string>;
  /** `times` zero-value dUSD transfers from `victim` to `lookalike` in one transaction, sent by `attacker`. */
  poison(attacker: string, victim: string, lookalike: string, times: number): Promise<string>;
  /** Resolves with the block number once the transaction is mined; throws if it reverted. */
  mined(hash: string, signal: AbortSignal): Promise<number>;
  blockNumber(): Promise<number>;
  destroy(): void;
}

const erc20 = new Interface(artifact('DemoStable').abi);
const poisonAbi = new Interface(artifact('Poisoner').abi);
const hex = (n: bigint) => `0x${n.toString(16)}`;

/** Deploys the contracts (one block each), then switches Hardhat from one block per transaction to a
 * block every `blockMs`, so blocks hold several transactions as on a real chain. */
export async function prepareEthereum(url: string, blockMs: number): Promise<EthereumChain> {
  const provider = new JsonRpcProvider(url, CHAIN_ID, { staticNetwork: true, cacheTimeout: -1 });
  const send = <T>(method: string, params: unknown[] = []) => provider.send(method, params) as Promise<T>;
  const [treasury] = await send<string[]>('eth_accounts');
  if (!treasury) throw new Error('hardhat node has no accounts');
  // A signer without the eth_accounts check: impersonated accounts are not listed there.
  const deploy = async (name: 'DemoStable' | 'Poisoner', from: string, ...args: unknown[]) => {
    const a = artifact(name);
    const c = await new ContractFactory(a.abi, a.bytecode, new JsonRpcSigner(provider, from)).deploy(...args);
    await c.waitForDeployment();
    return getAddress(await c.getAddress());
  };
  const impersonated = new Set<string>();
  const fund = async (address: string, ether: string) => {
    await send('hardhat_setBalance', [address, hex(parseEther(ether))]);
    if (!impersonated.has(address)) {
      await send('hardhat_impersonateAccount', [address]);
      impersonated.add(address);
    }
  };
  const token = await deploy('DemoStable', treasury, 1_000_000_000_000n * DUSD);
  const attackerDeployer = labelAddress('attacker:deployer');
  await fund(attackerDeployer, '10');
  const poisoner = await deploy('Poisoner', attackerDeployer);
  await send('evm_setAutomine', [false]);
  await send('evm_setIntervalMining', [blockMs]);

  const tx = (from: string, to: string, extra: { value?: bigint; data?: string; gas: number }) =>
    send<string>('eth_sendTransaction', [
      {
        from,
        to,
        gas: hex(BigInt(extra.gas)),
        ...(extra.value !== undefined ? { value: hex(extra.value) } : {}),
        ...(extra.data ? { data: extra.data } : {}),
      },
    ]);
  return {
    url,
    treasury: getAddress(treasury),
    token,
    poisoner,
    fund,
    sendEth: (from, to, wei) => tx(from, to, { value: wei, gas: 21_000 }),
    sendToken: (from, to, units) =>
      tx(from, token, { data: erc20.encodeFunctionData('transfer', [to, units]), gas: 100_000 }),
    poison: (attacker, victim, lookalike, times) =>
      tx(attacker, poisoner, {
        data: poisonAbi.encodeFunctionData('poison', [[token], victim, lookalike, times]),
        gas: 100_000 + 40_000 * times,
      }),
    async mined(hash, signal) {
      const deadline = Date.now() + blockMs * 10 + 30_000;
      for (;;) {
        const r = await send<{ status: string; blockNumber: string } | null>('eth_getTransactionReceipt', [
          hash,
        ]);
        if (r) {
          if (r.status !== '0x1') throw new Error(`transaction ${hash} reverted`);
          return Number(r.blockNumber);
        }
        if (Date.now() > deadline) throw new Error(`transaction ${hash} not mined in time`);
        await sleep(250, signal);
      }
    },
    blockNumber: async () => Number(await send<string>('eth_blockNumber')),
    destroy: () => provider.destroy(),
  };
}
