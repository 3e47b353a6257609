// Steady generated traffic at modest rates (two shared cores): Ethereum ETH and dUSD transfers every
// second (Hardhat mines a block every few seconds), two Bitcoin payments per btcd block, CRM rep updates
// every two seconds and a sign-up every ten. The venue simulators trade on their own clock.
//
// Benign by construction (the correlation rules stay quiet on it): ETH senders are funded outside the
// observed transfers and payees never send, so no balance the processor sees is drained; amounts stay far
// below the structuring band (8-10 ETH); customers' payout addresses never send. The one rule that does fire
// is `velocity` (20+ outflows an hour from one address), which ships in test mode: its alerts go to
// `alerts.test`, never to `alerts`.
import { parseEther } from 'ethers';
import type { Logger } from '@tributary/sdk';
import type { BitcoinWallet } from './bitcoin-chain.ts';
import type { CrmBook } from './crm-book.ts';
import { DUSD, labelAddress, type EthereumChain } from './ethereum-chain.ts';
import { pick, randomInt, repeat } from './repeat.ts';

export interface SteadyTrafficOptions {
  eth: EthereumChain;
  btc: BitcoinWallet;
  crm: CrmBook;
  btcBlockMs: number;
  signal: AbortSignal;
  logger: Logger;
}

const SENDERS = Array.from({ length: 5 }, (_, i) => labelAddress(`sender:${i}`));
const PAYEES = Array.from({ length: 20 }, (_, i) => labelAddress(`payee:${i}`));

/** Funds the senders, then runs every generator until the signal aborts. */
export async function runSteadyTraffic(o: SteadyTrafficOptions): Promise<void> {
  for (const s of SENDERS) await o.eth.fund(s, '100000');
  let tick = 0;
  await Promise.all([
    repeat('ethereum', 1_000, o.signal, o.logger, async () => {
      tick++;
      // 0.001 to 0.2 ETH in whole milli-ether.
      await o.eth.sendEth(
        SENDERS[tick % SENDERS.length]!,
        pick(PAYEES),
        parseEther(String(randomInt(1, 200) / 1000)),
      );
      if (tick % 2 === 0)
        await o.eth.sendToken(o.eth.treasury, pick(PAYEES), BigInt(randomInt(1, 500)) * DUSD);
    }),
    repeat('bitcoin', o.btcBlockMs, o.signal, o.logger, async () => {
      await o.btc.payAndMine(2);
    }),
    repeat('crm', 2_000, o.signal, o.logger, async () => o.crm.step()),
    repeat('sign-ups', 10_000, o.signal, o.logger, async () => o.crm.signUp()),
  ]);
}
