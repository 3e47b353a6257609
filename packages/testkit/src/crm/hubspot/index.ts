// HubSpot-compatible simulator for the HubSpot source's tests and benchmark.
export {
  startHubSpotSimulator,
  HUBSPOT_NO_FAULTS,
  HUBSPOT_NO_LIMITS,
  type HubSpotSimulator,
  type HubSpotSimulatorOptions,
  type HubSpotLimits,
  type HubSpotFaults,
  type HubSpotOAuthClient,
  type HubSpotSimStats,
  type HubSpotWebhookOptions,
} from './server.ts';
export {
  HubSpotStore,
  lastModifiedProperty as hubSpotLastModifiedProperty,
  type HubSpotActor,
  type HubSpotDelete,
  type HubSpotHistoryEntry,
  type HubSpotMalformation,
  type HubSpotObject,
  type HubSpotVersion,
  type MutationOptions as HubSpotMutationOptions,
} from './store.ts';
export { runSearch as runHubSpotSearch, type SearchRequest as HubSpotSearchRequest } from './search.ts';
export {
  signV3 as hubSpotSignatureV3,
  startWebhookSender as startHubSpotWebhookSender,
  type HubSpotWebhookEvent,
  type WebhookSender as HubSpotWebhookSender,
  type WebhookStats as HubSpotWebhookStats,
} from './webhooks.ts';
