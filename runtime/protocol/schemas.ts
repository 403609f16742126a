import { z } from 'zod';
import { IdSchema } from './ids';
import { PassIdSchema } from './pass';

/**
 * Every MQTT payload between terminal and hub, as zod schemas. Each payload carries `v` (the schema
 * version); objects are strict, so an unknown field is an error, not something silently ignored.
 * Types come from z.infer; nothing here is kept by hand in a second place.
 */

export const SCHEMA_VERSION = 1 as const;
const v = z.literal(SCHEMA_VERSION);

/** Terminal ids appear inside topics, certificate names and ACL lines: the one identifier rule (./ids). */
export const TerminalIdSchema = IdSchema;
export type TerminalId = z.infer<typeof TerminalIdSchema>;

/** Event ids are ULIDs (time-ordered, 26 Crockford base32 characters). */
export const EventIdSchema = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'ULID');

const epochMs = z.number().int().nonnegative();
const unit = z.number().min(0).max(1);
const ms = z.number().nonnegative().max(3_600_000);
/** Pseudonymous person id (a roster key, never a name). */
const personId = IdSchema;

/**
 * Who asked the hub for a command: the operator as the hub's audit log names them (provisioning's
 * actorOf), an identifier under the one rule (ids.ts) like every other id that reaches a log or an event.
 */
export const OperatorIdSchema = IdSchema;

/** The id of a signed hub command on the terminal: its single-use nonce (the hub audits it as sent). */
export const CommandIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'command id');

const eventBase = { id: EventIdSchema, at: epochMs };

/**
 * Which credential was presented at the door: a face, a card, a PIN, a card followed by its PIN, or a
 * visitor pass. Events stored by builds before credentials were recorded carry none: they were faces.
 */
export const CredentialSchema = z.enum(['face', 'card', 'pin', 'card+pin', 'pass']);
export type Credential = z.infer<typeof CredentialSchema>;

export const EntryGrantedSchema = z.strictObject({
  ...eventBase,
  type: z.literal('entry.granted'),
  /** The person let in; for a pass, the pass id (a pass names no person). */
  personId,
  credential: CredentialSchema.default('face'),
  /** The pass that opened the door (credential `pass`): each such event is one use, reported to the hub. */
  passId: PassIdSchema.optional(),
  /** Older builds' name for the credential (face only); kept so their stored events still parse. */
  method: z.enum(['face', 'pin', 'card', 'qr']).optional(),
  score: unit.nullable(),
  liveness: unit.nullable(),
  latencyMs: ms,
});

/**
 * Why a door stayed shut: the decision policy's reasons (runtime/decision/policy.ts, kept identical so a
 * security office reads the same words everywhere), a refused non-face credential, or an error on the
 * decision path (the door failed closed).
 */
export const DenyReasonSchema = z.enum([
  'unknown',
  'not-live',
  'poor-quality',
  'not-authorised-here',
  'outside-hours',
  'expired',
  'revoked',
  'ambiguous',
  'bad-credential',
  // visitor passes (runtime/pass/rules.ts)
  'garbled',
  'bad-signature',
  'no-roster',
  'wrong-door',
  'not-yet-valid',
  'used-up',
  // cards and PINs (runtime/access/controller.ts)
  'wrong-pin',
  'keypad-locked',
  'method-not-accepted',
  'error',
]);

/**
 * Face denials that follow a confident identification of a live face (issue 16 item 7): only these
 * name the person. A face that was unknown, ambiguous, not live or too poor to judge names nobody: the
 * nearest resident's id is not recorded, by the terminal nor kept by the hub (`withoutNearestPerson`);
 * the best score stays, as a number only, for tuning the thresholds.
 */
export const IDENTIFIED_FACE_DENIALS: ReadonlySet<z.infer<typeof DenyReasonSchema>> = new Set(['revoked', 'not-authorised-here', 'outside-hours', 'expired', 'method-not-accepted'] as const);

/** Whether a denial may carry a person's id: a card or PIN names its holder; a face only when it was identified. */
export function denialNamesPerson(e: { credential: Credential; reason: z.infer<typeof DenyReasonSchema> }): boolean {
  return e.credential !== 'face' || IDENTIFIED_FACE_DENIALS.has(e.reason);
}

export const EntryDeniedSchema = z.strictObject({
  ...eventBase,
  type: z.literal('entry.denied'),
  reason: DenyReasonSchema,
  credential: CredentialSchema.default('face'),
  passId: PassIdSchema.optional(),
  personId: personId.nullable(),
  score: unit.nullable(),
  liveness: unit.nullable(),
  latencyMs: ms,
});

export const AlarmForcedOpenSchema = z.strictObject({ ...eventBase, type: z.literal('alarm.forced-open') });
export const AlarmHeldOpenSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alarm.held-open'),
  openMs: z.number().int().nonnegative(),
});
export const AlarmTamperSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alarm.tamper'),
  input: z.string().min(1).max(32),
});
/**
 * A duress PIN was entered: the door opened as for the PIN (or refused as the person's authorisation
 * says) and nothing at the door showed it; the hub raises the alarm.
 */
export const AlarmDuressSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alarm.duress'),
  personId,
  doorId: z.string().min(1).max(64),
  credential: z.enum(['pin', 'card+pin']),
});
export const AlarmFireSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alarm.fire'),
  state: z.enum(['active', 'cleared']),
});
export const CameraStallSchema = z.strictObject({
  ...eventBase,
  type: z.literal('camera.stall'),
  silentMs: z.number().int().nonnegative(),
});
export const CameraRecoverySchema = z.strictObject({
  ...eventBase,
  type: z.literal('camera.recovery'),
  stalledMs: z.number().int().nonnegative(),
});
export const RosterIntegritySchema = z.strictObject({
  ...eventBase,
  type: z.literal('roster.integrity'),
  rejectedRows: z.number().int().nonnegative(),
  code: z.string().min(1).max(64),
});

/** A person carrying an alert tag (e.g. missing-person) was identified at a door, granted or not. */
export const AlertSightingSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alert.sighting'),
  tag: IdSchema,
  personId,
  doorId: IdSchema,
  score: unit,
});

/**
 * The hub's `wipe` command was carried out: every person and template was erased from the terminal's
 * roster and matcher (counts only, never ids). `failed`: the erase did not commit; face recognition is
 * off in memory all the same (the door fails closed) and the hub should treat the terminal as holding data.
 */
export const TerminalWipedSchema = z.strictObject({
  ...eventBase,
  type: z.literal('terminal.wiped'),
  outcome: z.enum(['erased', 'failed']),
  persons: z.number().int().nonnegative(),
  templates: z.number().int().nonnegative(),
});

/**
 * The terminal re-read its config file (hub `reload-config` command or SIGHUP). `applied`: the changed
 * sections took effect live; `restart`: a section that needs a restart changed and the process is
 * exiting so its supervisor starts it on the new file; `unchanged`; `rejected`: the file is invalid and
 * the running config stays (`problems` lists the paths in the file, never values).
 */
export const ConfigReloadSchema = z.strictObject({
  ...eventBase,
  type: z.literal('config.reload'),
  outcome: z.enum(['applied', 'restart', 'unchanged', 'rejected']),
  sections: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,31}$/)).max(32),
  problems: z.array(z.string().min(1).max(200)).max(20),
});

/**
 * The door was released (relay read back at the released level). One per release, whatever opened it:
 * a face or credential grant (`personId`), the hub's remote unlock (`commandId`, `requestedBy`), the exit
 * button, the fire alarm. `durationMs`: how long the release lasts at most (null: fire, held until the
 * alarm clears).
 */
export const DoorReleasedSchema = z.strictObject({
  ...eventBase,
  type: z.literal('door.released'),
  source: z.enum(['face', 'pin', 'card', 'qr', 'remote', 'exit-button', 'fire']),
  personId: personId.nullable(),
  commandId: CommandIdSchema.nullable(),
  requestedBy: OperatorIdSchema.nullable(),
  durationMs: z.number().int().positive().max(3_600_000).nullable(),
});

/**
 * A verified remote unlock that the terminal did not carry out: too many within the window
 * (`rate-limited`), the fire alarm already holds the door released, the relay did not release, the lock
 * is not running, or a duration the lock cannot use.
 */
export const UnlockRefusedSchema = z.strictObject({
  ...eventBase,
  type: z.literal('unlock.refused'),
  commandId: CommandIdSchema,
  requestedBy: OperatorIdSchema,
  reason: z.enum(['rate-limited', 'held-by-fire', 'relay-fault', 'not-running', 'bad-duration']),
});

/**
 * The lock relay is not (read back) at the level the door needs: `active` with the level it failed to
 * reach (the door may be released when it should be locked, or locked during a fire), `cleared` once it
 * reads back right (`intended` null).
 */
export const AlarmRelayFaultSchema = z.strictObject({
  ...eventBase,
  type: z.literal('alarm.relay-fault'),
  state: z.enum(['active', 'cleared']),
  intended: z.enum(['locked', 'released']).nullable(),
});

/**
 * Why a terminal runs degraded (machine-readable; the same codes are in its heartbeat and /healthz):
 * no face decisions while the roster, the device secret or the models are unusable; no hub link while
 * its credentials or URL are unusable; the event store (sync file) set aside or unavailable; a relay fault;
 * no cards and PINs while the reader's lines or the credential key cannot be opened; no passes while the QR
 * decoder, the hub key or the sync file (pass uses) cannot.
 */
export const TerminalFaultCodeSchema = z.enum([
  'roster-corrupt',
  'roster-wrong-key',
  'roster-schema',
  'roster-unavailable',
  'secret-insecure',
  'secret-unreadable',
  'models-unavailable',
  'event-store-replaced',
  'event-store-unavailable',
  'hub-credentials',
  'hub-url',
  'relay-fault',
  // other ways in (runtime/terminal/other-ways-in.ts): only that way is shut
  'card-reader-unavailable',
  'credential-key-unavailable',
  'passes-unavailable',
]);
export type TerminalFaultCode = z.infer<typeof TerminalFaultCodeSchema>;

/** A fault of the terminal was raised or cleared (see TerminalFaultCodeSchema). */
export const TerminalFaultSchema = z.strictObject({
  ...eventBase,
  type: z.literal('terminal.fault'),
  code: TerminalFaultCodeSchema,
  state: z.enum(['raised', 'cleared']),
});

/**
 * Why an update was refused or rolled back (runtime/update). Refusals leave the slots and `current`
 * untouched; `crashed`, `unhealthy`, `did-not-start` and `interrupted` end a trial with a rollback.
 */
export const UpdateReasonSchema = z.enum([
  'malformed',
  'truncated',
  'bad-signature',
  'untrusted-key',
  'other-community',
  'wrong-architecture',
  'downgrade',
  'already-installed',
  'not-replaceable',
  'file-mismatch',
  'download-failed',
  'door-busy',
  'install-failed',
  'did-not-start',
  'unhealthy',
  'crashed',
  'interrupted',
]);
export type UpdateReason = z.infer<typeof UpdateReasonSchema>;

const softwareVersion = z.string().regex(/^\d{1,6}\.\d{1,6}\.\d{1,6}$/);

/** Where a terminal downloads a bundle: the hub's bundle server (provisioning/update/server.ts), by name. */
export const BundleUrlSchema = z
  .string()
  .max(512)
  .regex(/^https:\/\/[A-Za-z0-9.\-[\]:]+\/updates\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.bundle$/, 'https://HOST[:PORT]/updates/NAME.bundle');

/**
 * The terminal's update agent finished with a bundle: `committed` (the new version passed its health
 * check and stays), `rolled-back` (it failed it; the previous slot runs again), `refused` (nothing was
 * changed). `version` is the bundle's (null when unreadable), `running` the version running afterwards.
 */
export const UpdateOutcomeSchema = z.strictObject({
  ...eventBase,
  type: z.literal('update.outcome'),
  outcome: z.enum(['committed', 'rolled-back', 'refused']),
  version: softwareVersion.nullable(),
  running: softwareVersion.nullable(),
  reason: UpdateReasonSchema.nullable(),
  /** What failed, for people (failing health checks, a file name); never a key or a path outside the slots. */
  detail: z.string().max(200).nullable(),
});

export const SyncEventSchema = z.discriminatedUnion('type', [
  AlertSightingSchema,
  EntryGrantedSchema,
  EntryDeniedSchema,
  AlarmForcedOpenSchema,
  AlarmHeldOpenSchema,
  AlarmTamperSchema,
  AlarmDuressSchema,
  AlarmFireSchema,
  CameraStallSchema,
  CameraRecoverySchema,
  RosterIntegritySchema,
  TerminalWipedSchema,
  ConfigReloadSchema,
  DoorReleasedSchema,
  UnlockRefusedSchema,
  AlarmRelayFaultSchema,
  TerminalFaultSchema,
  UpdateOutcomeSchema,
]);
export type SyncEvent = z.infer<typeof SyncEventSchema>;
export type SyncEventType = SyncEvent['type'];

/**
 * Security events are never dropped by a full outbox: every alarm, an alert-tag sighting, a roster
 * integrity failure, a wipe, every release of the door, a refused remote unlock and a terminal fault.
 * Entry records (granted/denied) and camera health are dropped oldest-first when the outbox is full.
 */
export const SECURITY_EVENT_TYPES: ReadonlySet<SyncEventType> = new Set<SyncEventType>([
  'alert.sighting',
  'alarm.forced-open',
  'alarm.held-open',
  'alarm.tamper',
  'alarm.duress',
  'alarm.fire',
  'roster.integrity',
  'terminal.wiped',
  'door.released',
  'unlock.refused',
  'alarm.relay-fault',
  'terminal.fault',
]);

export function isSecurityEvent(type: SyncEventType): boolean {
  return SECURITY_EVENT_TYPES.has(type);
}

/** door/<id>/events: one or more outbox events, oldest first. */
export const EventsMessageSchema = z.strictObject({
  v,
  events: z.array(SyncEventSchema).min(1).max(1000),
});
export type EventsMessage = z.infer<typeof EventsMessageSchema>;

/** hub/<id>/acks: ids the hub has stored (idempotently); the terminal deletes them from its outbox. */
export const AcksMessageSchema = z.strictObject({
  v,
  ids: z.array(EventIdSchema).min(1).max(1000),
});
export type AcksMessage = z.infer<typeof AcksMessageSchema>;

/**
 * A roster epoch: one line of roster history, with its own identity. The hub starts a new epoch every
 * time it starts (a hub restored from a backup starts one too, so it never signs a second, different
 * version N in an epoch whose version N a terminal may already hold). `startedAt` (the hub's clock,
 * signed with it) orders epochs: a later start is a newer epoch. `continues` says which history the
 * epoch carries on and up to which version: a terminal holding that epoch (null: a roster from before
 * epochs) at that version or below can go on with deltas; any other needs a snapshot. The acceptance
 * rule is in runtime/roster/acceptance.ts and runtime/sync/README.md.
 */
export const EpochIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'epoch id');
export const RosterEpochSchema = z.strictObject({
  id: EpochIdSchema,
  startedAt: epochMs,
  continues: z.strictObject({ epoch: EpochIdSchema.nullable(), version: z.number().int().nonnegative() }).nullable(),
});
export type RosterEpoch = z.infer<typeof RosterEpochSchema>;

/** The epoch a terminal holds, as it reports it (sync requests, heartbeats). */
export const HeldEpochSchema = z.strictObject({ id: EpochIdSchema, startedAt: epochMs });
export type HeldEpoch = z.infer<typeof HeldEpochSchema>;

export const HealthSchema = z.strictObject({
  uptimeS: z.number().nonnegative(),
  rosterVersion: z.number().int().nonnegative(),
  /** Absent while the terminal holds no epoch (and from terminals of builds before epochs). */
  rosterEpoch: HeldEpochSchema.optional(),
  /** When the TLS certificate the terminal connects with expires (absent when it cannot tell). */
  certificateExpiresAt: epochMs.optional(),
  outboxDepth: z.number().int().nonnegative(),
  outboxDropped: z.number().int().nonnegative(),
  rejectedMessages: z.number().int().nonnegative(),
  cameraFps: z.number().nonnegative().nullable(),
  lastDecisionLatencyMs: z.number().nonnegative().nullable(),
  softwareVersion: z.string().min(1).max(64),
  modelVersion: z.string().min(1).max(128),
  /** Faults the terminal runs with now (empty: none); a heartbeat without the field has none. */
  faults: z.array(TerminalFaultCodeSchema).max(32).default([]),
  /** Installed bundle (runtime/update): its version, the slot `current` points at, the agent's state. */
  update: z
    .strictObject({
      version: softwareVersion.nullable(),
      slot: z.enum(['a', 'b']).nullable(),
      state: z.enum(['idle', 'trial', 'committed', 'rolled-back', 'refused']),
    })
    .optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/** door/<id>/status (retained): `online` with health on connect and every heartbeat; `offline` as will. */
export const StatusMessageSchema = z.discriminatedUnion('state', [
  z.strictObject({ v, state: z.literal('online'), at: epochMs, health: HealthSchema }),
  z.strictObject({ v, state: z.literal('offline') }),
]);
export type StatusMessage = z.infer<typeof StatusMessageSchema>;

/**
 * door/<id>/requests: the terminal asks the hub for roster data.
 * `sync`: "I hold version N (of epoch E)": the hub replays the deltas after N when (E, N) lies on its
 * own history, or sends a snapshot. `epoch` is left out while the terminal holds none.
 * `snapshot`: send a full snapshot; with `resume`, only the listed chunks of that snapshot if the hub
 * still has it (an interrupted snapshot resumes instead of restarting).
 */
export const RequestMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ v, kind: z.literal('sync'), version: z.number().int().nonnegative(), epoch: HeldEpochSchema.optional() }),
  z.strictObject({
    v,
    kind: z.literal('snapshot'),
    resume: z
      .strictObject({
        snapshotId: z.string().min(1).max(64),
        missing: z.array(z.number().int().nonnegative()).max(100_000),
      })
      .nullable(),
  }),
]);
export type RequestMessage = z.infer<typeof RequestMessageSchema>;

/**
 * The signed envelope used for roster data and commands. `body` is the exact JSON text that was
 * signed (Ed25519 over its UTF-8 bytes); the receiver verifies those bytes and only then parses them,
 * so no canonicalisation or re-serialisation is ever involved.
 */
export const SignedEnvelopeSchema = z.strictObject({
  v,
  body: z.string().min(2),
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'base64 Ed25519 signature'),
});
export type SignedEnvelope = z.infer<typeof SignedEnvelopeSchema>;

/**
 * Body of a roster delta: `batch` is opaque here and validated by the roster store's own schema.
 * `epoch` is absent only in deltas signed by a hub from before epochs. `after` (per-door rosters,
 * provisioning/hub/README.md): the delta follows version `after`, not only `version - 1`; a roster
 * holding any version in [after, version) may apply it, because no version in between concerned
 * this terminal. Absent: only `version - 1`.
 */
export const RosterDeltaSchema = z.strictObject({
  v,
  kind: z.literal('roster.delta'),
  epoch: RosterEpochSchema.optional(),
  version: z.number().int().positive(),
  after: z.number().int().nonnegative().optional(),
  batch: z.unknown(),
}).refine((d) => d.after === undefined || d.after < d.version, { path: ['after'], message: 'after must be below version' });

/** Body of one snapshot chunk: `items` are opaque here and validated by the roster's item schema. */
export const RosterSnapshotChunkSchema = z.strictObject({
  v,
  kind: z.literal('roster.snapshot'),
  epoch: RosterEpochSchema.optional(),
  snapshotId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  version: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  count: z.number().int().positive().max(100_000),
  items: z.array(z.unknown()),
});

export const RosterBodySchema = z.discriminatedUnion('kind', [RosterDeltaSchema, RosterSnapshotChunkSchema]);
export type RosterDelta = z.infer<typeof RosterDeltaSchema>;
export type RosterSnapshotChunk = z.infer<typeof RosterSnapshotChunkSchema>;
export type RosterBody = z.infer<typeof RosterBodySchema>;

export const CommandSchema = z.discriminatedUnion('type', [
  /** `requestedBy`: the operator who asked (recorded with the release or the refusal on the terminal). */
  z.strictObject({ type: z.literal('unlock'), durationMs: z.number().int().positive().max(60_000), requestedBy: OperatorIdSchema }),
  z.strictObject({ type: z.literal('reload-config') }),
  z.strictObject({ type: z.literal('resync') }),
  z.strictObject({ type: z.literal('wipe') }),
  /**
   * Forget adapted templates (issue 17): one person's (`personId`) or every person's. The hub deletes
   * its own copies and republishes the persons first; this reaches templates the terminal learnt and
   * has not yet handed to the hub.
   */
  z.strictObject({ type: z.literal('adaptation.reset'), personId: personId.optional() }),
  /**
   * Install this version from the hub's bundle server (a staged rollout's offer): the terminal hands
   * the URL to its update agent, which downloads with the terminal's own certificate and verifies the
   * bundle against its pinned update key whatever the URL says (runtime/update/README.md).
   */
  z.strictObject({ type: z.literal('update'), version: softwareVersion, url: BundleUrlSchema }),
]);
export type Command = z.infer<typeof CommandSchema>;

/**
 * hub/<id>/certificate (retained, signed): the terminal's renewed TLS certificate (PEM), for the key it
 * already holds. Retained so that a terminal that was offline gets it when it comes back; the terminal
 * installs it only if it is for itself, from the pinned CA, for its own key, valid now and not older
 * than the one in use (runtime/sync/certificate.ts).
 */
export const CertificateBodySchema = z.strictObject({
  v,
  kind: z.literal('certificate'),
  terminalId: TerminalIdSchema,
  certificate: z.string().min(100).max(8192).regex(/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/, 'one PEM certificate'),
  issuedAt: epochMs,
});
export type CertificateBody = z.infer<typeof CertificateBodySchema>;

/** Body of a signed command: bound to one terminal, single use (nonce), short-lived (expiry). */
export const CommandBodySchema = z.strictObject({
  v,
  kind: z.literal('command'),
  terminalId: TerminalIdSchema,
  /** Also the command's id in the terminal's events and the hub's audit (`command.sent`). */
  nonce: CommandIdSchema,
  issuedAt: epochMs,
  expiresAt: epochMs,
  command: CommandSchema,
});
export type CommandBody = z.infer<typeof CommandBodySchema>;
