// The rule catalogue. Every threshold is a parameter with a documented default.
import type { Rule } from '../dsl.ts';
import { accountTakeover, type AccountTakeoverParams } from './account-takeover.ts';
import { payoutChange, type PayoutChangeParams } from './payout-change.ts';
import { addressPoisoning, addressPoisoningPaid, type AddressPoisoningParams } from './address-poisoning.ts';
import { watchlistTransfer, type WatchlistTransferParams } from './watchlist-transfer.ts';
import { crmActorBurst, crmBreachWave, type CrmBreachParams } from './crm-breach-wave.ts';
import { peelChain, type PeelChainParams } from './peel-chain.ts';
import { structuring, velocity, type StructuringParams } from './structuring.ts';
import { accountDrain, type AccountDrainParams } from './account-drain.ts';
import { priceDeviation, type PriceDeviationParams } from './price-deviation.ts';

export * from './account-takeover.ts';
export * from './payout-change.ts';
export * from './address-poisoning.ts';
export * from './watchlist-transfer.ts';
export * from './crm-breach-wave.ts';
export * from './peel-chain.ts';
export * from './structuring.ts';
export * from './account-drain.ts';
export * from './price-deviation.ts';

export interface CatalogueParams {
  accountTakeover: Partial<AccountTakeoverParams>;
  payoutChange: Partial<PayoutChangeParams>;
  addressPoisoning: Partial<AddressPoisoningParams>;
  watchlistTransfer: Partial<WatchlistTransferParams>;
  crmBreach: Partial<CrmBreachParams>;
  peelChain: Partial<PeelChainParams>;
  structuring: Partial<StructuringParams>;
  accountDrain: Partial<AccountDrainParams>;
  priceDeviation: Partial<PriceDeviationParams>;
}

/** Every catalogue rule, with parameter overrides per rule. */
export function catalogue(params: Partial<CatalogueParams> = {}): Rule[] {
  return [
    accountTakeover(params.accountTakeover),
    payoutChange(params.payoutChange),
    addressPoisoning(params.addressPoisoning),
    addressPoisoningPaid(params.addressPoisoning),
    watchlistTransfer(params.watchlistTransfer),
    crmActorBurst(params.crmBreach),
    crmBreachWave(params.crmBreach),
    peelChain(params.peelChain),
    structuring(params.structuring),
    velocity(params.structuring),
    accountDrain(params.accountDrain),
    priceDeviation(params.priceDeviation),
  ];
}
