/**
 * The management plane as a library (the `provision` command line, the hub's API and demo scripts
 * call these): initCommunity / Community.open, the admin operations `(ctx, input)` of
 * provisioning/admin/ (persons, registrations, terminals, alerts, doors, fleet, certificates,
 * updates, audit, passes, credentials), startCommunityHub, BrokerProcess / writeBrokerConfig.
 */
export { initCommunity, Community, CommunityError, communityPaths, type InitOptions, type CommunityConfig, type CommunityPaths } from './community';
export * from './admin';
export { startCommunityHub, Hub, EventStore, type CommunityHub, type CommunityHubOptions, type StoredEvent } from './hub';
export { BrokerProcess, writeBrokerConfig, aclText, refreshBroker, type BrokerConfigOptions } from './broker';
export { HubDb, type PersonRecord, type TerminalRecord, type AlertRecord, type AuditRecord } from './db';
export type { HubStore } from './store/hub-store';
