/**
 * The management plane as a library (the `provision` CLI and demo scripts call these):
 * initCommunity / Community.open, addTerminal / revokeTerminal, addPerson / registerPerson /
 * approvePerson / updatePerson / revokePerson / importPersons, addAlert / clearAlert, HubService.start,
 * BrokerProcess / writeBrokerConfig, fleetStatus / queueCommand / readEvents.
 */
export { initCommunity, Community, CommunityError, communityPaths, type InitOptions, type CommunityConfig, type CommunityPaths } from './community';
export { addTerminal, revokeTerminal, TerminalAdminError, BUNDLE_FILES, type AddTerminalOptions, type TerminalBundle } from './terminals';
export {
  addPerson,
  registerPerson,
  approvePerson,
  updatePerson,
  revokePerson,
  importPersons,
  pipelineEnroller,
  authorisationOf,
  parseHours,
  PersonAdminError,
  type Enroller,
  type AccessSpec,
  type RegisterOptions,
  type UpdateOptions,
  type ImportRowResult,
} from './persons';
export { addAlert, clearAlert, listAlerts, AlertAdminError, type AddAlertOptions } from './alerts';
export { HubService, type HubServiceOptions } from './service';
export { BrokerProcess, writeBrokerConfig, aclText, refreshBroker, type BrokerConfigOptions } from './broker';
export { fleetStatus, queueCommand, awaitCommands, readEvents, type FleetRow, type StoredEvent } from './fleet';
export { HubDb, type PersonRecord, type TerminalRecord, type AlertRecord, type AuditRecord } from './db';
export { issuePass, issuePassAsResident, revokePass, writePassImage, PassAdminError, type IssuePassOptions, type IssuedPass } from './passes';
export { setCredentials, ensureCredentialSecret, credentialSecretPath, CredentialAdminError, type SetCredentialsOptions } from './credentials';
