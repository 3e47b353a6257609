// The four networks the connector knows, with the address parameters the encoders need. Signet shares
// testnet's address format; regtest has its own bech32 prefix.
import { networks as bjsNetworks, type Network as BjsNetwork } from 'bitcoinjs-lib';

export const NETWORK_NAMES = ['mainnet', 'testnet', 'signet', 'regtest'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface AddressParams {
  pubKeyHash: number;
  scriptHash: number;
  bech32: string;
}

const PARAMS: Record<NetworkName, BjsNetwork> = {
  mainnet: bjsNetworks.bitcoin,
  testnet: bjsNetworks.testnet,
  signet: bjsNetworks.testnet,
  regtest: bjsNetworks.regtest,
};

export function addressParams(network: NetworkName): AddressParams {
  const n = PARAMS[network];
  return { pubKeyHash: n.pubKeyHash, scriptHash: n.scriptHash, bech32: n.bech32 };
}

/** The bitcoinjs-lib network object (tests and the reference pipeline use it). */
export function bitcoinjsNetwork(network: NetworkName): BjsNetwork {
  return PARAMS[network];
}

/** The record key and `chain` field: one Kafka partition per chain keeps blocks in height order. */
export function chainId(network: NetworkName): string {
  return `bitcoin:${network}`;
}
