// Salesforce-compatible simulator for the Salesforce source's tests and benchmarks. Names carry a
// Salesforce prefix: this module shares the testkit's export surface with the HubSpot simulator.
export {
  startSalesforceSimulator,
  NO_SALESFORCE_FAULTS,
  DEFAULT_SIM_OBJECTS as DEFAULT_SALESFORCE_OBJECTS,
  type SalesforceSimulator,
  type SalesforceSimulatorOptions,
  type SalesforceFaults,
  type SalesforceStats,
} from './server.ts';
export {
  entityChannel as salesforceEntityChannel,
  ALL_CHANGE_EVENTS as SALESFORCE_ALL_CHANGE_EVENTS,
  SYSTEM_FIELDS as SALESFORCE_SYSTEM_FIELDS,
  type SimObjectSpec as SalesforceObjectSpec,
  type SimRecord as SalesforceRecord,
  type CommittedChange as SalesforceChange,
  type CdcEvent as SalesforceCdcEvent,
  type ChangeKind as SalesforceChangeKind,
  type EventStyle as SalesforceEventStyle,
  type Transaction as SalesforceTransaction,
  type TxOptions as SalesforceTxOptions,
} from './org.ts';
export { replayIdInvalid as salesforceReplayIdInvalid } from './cometd.ts';
export type { ConnectedApp as SalesforceConnectedApp, OrgUser as SalesforceOrgUser } from './oauth.ts';
