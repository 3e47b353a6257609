// The scripted attack story, played into the live traffic as real source events: CRM changes in the
// HubSpot simulator and transactions on the Hardhat chain. The alerts it raises come out of the
// correlation processor like any other; nothing here writes to Kafka.
//
// One round:
//   1. CRM breach: a compromised integration (`INTEGRATION:mail-sync-app-<round>`) rewrites one customer's
//      e-mail to a phishing look-alike domain and stamps 11 more contacts it mailed: 12 customers within
//      seconds                                                  -> crm-actor-burst
//   2. It changes a second customer's payout address to an address the attacker controls.
//   3. On chain: the first customer's wallet sends 3 ETH to a never-seen address -> account-takeover;
//      the exchange's hot wallet pays the second customer's payout, 5 ETH, to the new address
//                                                               -> payout-address-change
//      Two customers of the burst now have takeover alerts    -> crm-breach-wave
//   4. Address poisoning: a wallet pays its supplier 2,500 dUSD; the poisoner's contract writes three
//      zero-value dUSD transfers from that wallet to a look-alike of the supplier (same first and last 4
//      characters) in one transaction                          -> address-poisoning
//      and the wallet then pays 900 dUSD to the look-alike   -> address-poisoning-paid
//   5. A customer wallet sends 1 ETH to an address on the watchlist -> watchlist-transfer
//
// Every round uses fresh customers and addresses, so each round's findings are new alerts.
import { parseEther } from 'ethers';
import type { JsonValue, Logger } from '@tributary/sdk';
import type { HubSpotSimulator, HubSpotVersion } from '@tributary/testkit';
import type { CrmBook } from './crm-book.ts';
import { DUSD, labelAddress, lookalikeOf, type EthereumChain } from './ethereum-chain.ts';
import type { Pipeline } from './pipeline.ts';

/** The rules one round trips, each once. */
export const STORY_RULES = [
  'crm-actor-burst',
  'account-takeover',
  'payout-address-change',
  'crm-breach-wave',
  'address-poisoning',
  'address-poisoning-paid',
  'watchlist-transfer',
] as const;

/** The watchlisted address the last step pays (written to the run's watchlist.csv at start). */
export const SANCTIONED = labelAddress('watchlist:demo-sanctioned-entity');
export const HOT_WALLET = labelAddress('exchange:hot-wallet');

export interface StoryDeps {
  eth: EthereumChain;
  hubspot: HubSpotSimulator;
  crm: CrmBook;
  pipeline: Pipeline;
  topics: { crm: string; transfers: string };
  logger: Logger;
  signal: AbortSignal;
}

type Cursor = { ts: number; id: string };

/** True when a HubSpot partition offset `{ ts, id }` covers the version `c` (see the source's README). */
function covers(offset: JsonValue | undefined, c: Cursor): boolean {
  if (!offset || typeof offset !== 'object' || Array.isArray(offset)) return false;
  const ts = Number(offset.ts);
  if (ts !== c.ts) return ts > c.ts;
  return offset.id === null || (typeof offset.id === 'string' && BigInt(offset.id) >= BigInt(c.id));
}

export async function playRound(round: number, d: StoryDeps): Promise<{ lastBlock: number }> {
  const log = d.logger.child({ story: round });
  const { eth, hubspot, signal } = d;
  const actor = { sourceType: 'INTEGRATION', sourceId: `mail-sync-app-${round}` };
  const [v1, v2, ...others] = d.crm.takeFresh(12);
  let last: Cursor = { ts: 0, id: '0' };
  const write = (v: HubSpotVersion) => {
    if (v.ts > last.ts || (v.ts === last.ts && BigInt(v.id) > BigInt(last.id))) last = { ts: v.ts, id: v.id };
  };
  const touch = (id: string) =>
    write(hubspot.update('contacts', id, { hs_lead_status: 'ATTEMPTED_TO_CONTACT' }, { actor }));
  // Each CRM step must be in Kafka and consumed before the next depends on it, as hours would separate
  // them in a real breach: the identity graph has to know a new payout address before money reaches it.
  const landed = async () => {
    const target = last;
    await d.pipeline.committed('hubspot', (o) => covers(o.contacts, target), signal);
    await d.pipeline.processed([d.topics.crm], signal);
  };

  const phished = `${v1!.email.split('@')[0]}@examp1e-support.com`;
  log.info(
    { actor: `${actor.sourceType}:${actor.sourceId}`, customer: v1!.id, email: phished },
    'story: a compromised CRM integration rewrites a customer e-mail (phishing) and starts touching contacts',
  );
  write(hubspot.update('contacts', v1!.id, { email: phished }, { actor }));
  touch(v2!.id);
  for (const c of others.slice(0, 3)) touch(c.id);
  await landed();
  for (const c of others.slice(3)) touch(c.id);
  log.info({ customers: 12 }, 'story: the integration has touched 12 customers within seconds');
  await landed();
  const newPayout = labelAddress(`attacker:payout:${round}`);
  write(hubspot.update('contacts', v2!.id, { payout_address: newPayout }, { actor }));
  log.info(
    { customer: v2!.id, from: v2!.payoutAddress, to: newPayout },
    'story: the integration changes a payout address',
  );
  await landed();

  const blocks: number[] = [];
  const mined = async (hash: string) => {
    blocks.push(await eth.mined(hash, signal));
  };
  const thief = labelAddress(`attacker:takeover:${round}`);
  await eth.fund(v1!.payoutAddress, '10');
  await eth.fund(HOT_WALLET, '100000');
  const takeover = await eth.sendEth(v1!.payoutAddress, thief, parseEther('3'));
  const payout = await eth.sendEth(HOT_WALLET, newPayout, parseEther('5'));
  log.info(
    { from: v1!.payoutAddress, to: thief, payoutTo: newPayout },
    'story: the phished customer wallet sends 3 ETH to a new address; the exchange pays 5 ETH to the changed payout address',
  );
  await mined(takeover);
  await mined(payout);

  const victim = labelAddress(`poisoning:victim:${round}`);
  const supplier = labelAddress(`poisoning:supplier:${round}`);
  const lookalike = lookalikeOf(supplier);
  await eth.fund(victim, '10');
  await mined(await eth.sendToken(eth.treasury, victim, 10_000n * DUSD));
  await mined(await eth.sendToken(victim, supplier, 2_500n * DUSD));
  log.info(
    { victim, supplier, lookalike },
    'story: address poisoning: zero-value transfers to a look-alike of the supplier',
  );
  await mined(await eth.poison(labelAddress('attacker:deployer'), victim, lookalike, 3));
  await mined(await eth.sendToken(victim, lookalike, 900n * DUSD));
  log.info({ victim, lookalike }, 'story: the poisoned wallet pays the look-alike 900 dUSD');

  const wallet = labelAddress(`customer-wallet:${round}`);
  await eth.fund(wallet, '10');
  await mined(await eth.sendEth(wallet, SANCTIONED, parseEther('1')));
  log.info({ from: wallet, to: SANCTIONED }, 'story: a wallet pays an address on the watchlist');

  const lastBlock = Math.max(...blocks);
  await d.pipeline.committed(
    'ethereum',
    (o) =>
      Object.values(o).some(
        (x) => !!x && typeof x === 'object' && !Array.isArray(x) && Number(x.blockNumber) >= lastBlock,
      ),
    signal,
  );
  await d.pipeline.processed([d.topics.transfers], signal);
  return { lastBlock };
}
