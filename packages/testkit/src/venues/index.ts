// Exchange venue simulators (Binance spot, Coinbase Exchange) for the trade sources' tests and benchmarks.
export { TradeGenerator, type GeneratedTrade, type TradeGeneratorOptions } from './trade-generator.ts';
export { NO_FAULTS, type VenueFaults, type VenueStats } from './venue-server.ts';
export {
  startBinanceSimulator,
  type SimMarket,
  type VenueSimulator,
  type VenueSimulatorOptions,
} from './binance.ts';
export { startCoinbaseSimulator } from './coinbase.ts';
