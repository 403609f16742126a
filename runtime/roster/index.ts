/**
 * The terminal's roster: encrypted SQLite store (store.ts), exact 1:N matcher (matcher.ts) and the
 * batch format the hub sends (batch.ts). Typical wiring (runtime/main.ts):
 *
 *   const store = RosterStore.open({ path, secretFile, logger, clock });
 *   const matcher = Matcher.fromStore(store, { modelId: FEATURE_MODEL_ID, logger });
 *   sync.onRosterDelta((batch) => store.applyBatch(batch));   // matcher follows after each commit
 *   const top = matcher.search(embedding, 2);                    // per-person best, exact cosine
 *   // -> decide() in runtime/decision/policy.ts with store.getPerson() facts
 */
export {
  RosterStore,
  RosterIntegrityError,
  RosterVersionError,
  WrongKeyError,
  type PersonRecord,
  type PersonStatus,
  type QuarantinedRow,
  type RosterChange,
  type RosterStoreOptions,
  type StoredTemplate,
} from './store';
export { Matcher, MatcherInputError, type ExactSource, type MatchResult, type MatcherOptions, type TemplateEntry } from './matcher';
export {
  RosterBatchSchema,
  RosterSnapshotSchema,
  PersonUpsertSchema,
  AuthorisationSchema,
  WeeklyWindowSchema,
  TemplateSchema,
  encodeEmbedding,
  decodeEmbedding,
  type RosterBatch,
  type RosterBatchInput,
  type RosterSnapshot,
  type RosterSnapshotInput,
  type PersonUpsert,
} from './batch';
export { InsecureSecretFileError, SecretFileError, MIN_SECRET_BYTES } from './crypto';
export { SchemaVersionError, SCHEMA_VERSION } from './migrations';
