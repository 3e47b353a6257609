// @tributary/correlation: joins chain, exchange and CRM streams into alerts, exactly once.
export {
  defineRule,
  on,
  match,
  sequence,
  absence,
  window,
  custom,
  count,
  sum,
  distinct,
  as,
  band,
  type Rule,
  type Mode,
  type Step,
  type AnyStep,
  type Pattern,
  type MatchPattern,
  type SequencePattern,
  type AbsencePattern,
  type WindowPattern,
  type CustomPattern,
  type Measure,
  type Finding,
  type AlertContent,
  type RuleContext,
  type RuleState,
  type Label,
} from './dsl.ts';
export { createEngine, type Engine, type EngineOptions, type Emitted, type EngineStats } from './engine.ts';
export {
  createStore,
  type StateStore,
  type StoredEntry,
  type StoredGroup,
  type StoredGroupJson,
} from './store.ts';
export {
  decodeMessage,
  decodeAs,
  kindOfTopic,
  makeEvent,
  describeEvent,
  eventId,
  watchlistRecord,
  DEFAULT_INPUT_TOPICS,
  type CorrelationEvent,
  type EventKind,
  type EventOf,
  type EventRef,
  type InputTopics,
  type WatchlistRecord,
} from './events.ts';
export {
  createIdentityGraph,
  identityConfig,
  DEFAULT_IDENTITY,
  type IdentityGraph,
  type IdentityConfig,
  type IdentityKind,
  type IdentityMapping,
} from './identity.ts';
export {
  loadWatchlist,
  buildWatchlist,
  watchWatchlistFiles,
  parseOfacSdn,
  parsePlainCsv,
  EMPTY_WATCHLIST,
  type Watchlist,
  type WatchEntry,
  type WatchlistFile,
} from './watchlist.ts';
export { isLookalike, normalizeAddress, type LookalikeOptions } from './address.ts';
export { alertId } from './alert-id.ts';
export { ms, type Duration } from './time.ts';
export {
  ProcessorConfigError,
  runProcessor,
  type ProcessorOptions,
  type OutputTopics,
  type RekeyTarget,
  type CommitInfo,
} from './processor.ts';
export {
  routesOf,
  ownerOf,
  partitionOf,
  crossEntityOwner,
  chainedAlertsOf,
  routedMessage,
  routedSource,
  type RouteOptions,
} from './route.ts';
export {
  backtestEvents,
  backtestTopics,
  rekeyedEvents,
  type BacktestOptions,
  type BacktestResult,
} from './backtest.ts';
export {
  correlationConfig,
  loadConfig,
  processorOptionsOf,
  rekeyOptionsOf,
  rulesOf,
  topicsOf,
  type CorrelationConfig,
} from './config.ts';
export * from './rules/index.ts';
