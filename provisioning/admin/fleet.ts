/**
 * The fleet as the hub knows it: one row per terminal (status, heartbeat, roster lag, outbox, camera,
 * versions, faults, certificate), the hub's and the broker's certificates, and the events the hub
 * stored (read through its event store, provisioning/hub/event-store.ts). Read-only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { certificateInfo, certificateState, terminalCertFile, type CertificateState } from '../certificates';
import type { Health } from '../../runtime/protocol/schemas';
import { VersionSchema } from '../../runtime/update/manifest';
import type { Community } from '../community';
import { EventStore, type StoredEvent } from '../hub/event-store';
import type { AdminContext } from './context';

export interface FleetRow {
  terminalId: string;
  doorId: string;
  buildingId: string;
  status: 'active' | 'revoked';
  /** The certificate serial it was added with, when it was added, and when revoked (null: active). */
  serial: string;
  createdAt: number;
  revokedAt: number | null;
  online: boolean;
  lastHeartbeat: number | null;
  rosterVersion: number | null;
  /** Hub roster version minus the terminal's (null: never heard from). */
  rosterLag: number | null;
  /**
   * The roster epoch the terminal holds: the hub's `current` one, an `earlier` one of its history (it
   * moves on with the next delta), `unknown` to this hub (a history it does not have, e.g. after a
   * restore: the hub sends it a snapshot), or null (none reported).
   */
  rosterEpoch: 'current' | 'earlier' | 'unknown' | null;
  outboxDepth: number | null;
  cameraFps: number | null;
  softwareVersion: string | null;
  modelVersion: string | null;
  /** Faults the terminal said it runs with in its last heartbeat (relay-fault, roster-corrupt, ...). */
  faults: string[] | null;
  /** The runtime version installed and running (installedVersion). */
  version: string | null;
  /** What the update agent last did (idle, trial, committed, rolled-back, refused) and which slot runs; null: not reported. */
  update: { state: NonNullable<Health['update']>['state']; slot: 'a' | 'b' | null } | null;
  /**
   * When the certificate the terminal connects with expires: as its heartbeat reports it, or else the
   * one last issued to it (terminals/<id>.crt).
   */
  certificateExpiresAt: number | null;
  /** ok, renewal-pending (a renewed one is not in use yet), expiring (within 21 days), expired. */
  certificate: CertificateState | null;
}

export interface InfrastructureCertificate {
  name: 'hub' | 'broker';
  expiresAt: number;
  state: CertificateState;
}

/**
 * The runtime version a heartbeat says runs: the version of the slot `current` points at (once the
 * update agent has a record of it), else the terminal's own software version when it is one (MAJOR.MINOR.PATCH).
 */
export function installedVersion(h: Health | null): string | null {
  if (h?.update?.version) return h.update.version;
  const v = VersionSchema.safeParse(h?.softwareVersion);
  return v.success ? v.data : null;
}

/** A terminal is online when its last status says so and a heartbeat came within 2.5 heartbeat periods. */
export function fleetStatus(ctx: Pick<AdminContext, 'clock' | 'community' | 'store'>): FleetRow[] {
  const { community: c, store } = ctx;
  const now = ctx.clock.now();
  const hubVersion = store.rosterVersion();
  const epochs = store.rosterEpochs().map((e) => e.id);
  const status = new Map(store.statuses().map((s) => [s.terminalId, s]));
  return store.terminals().map((t) => {
    const s = status.get(t.id);
    const h = s?.health ?? null;
    return {
      terminalId: t.id,
      doorId: t.doorId,
      buildingId: t.buildingId,
      status: t.status,
      serial: t.serial,
      createdAt: t.createdAt,
      revokedAt: t.revokedAt,
      online: t.status === 'active' && s?.state === 'online' && now - s.receivedAt <= 2.5 * c.config.heartbeatMs,
      lastHeartbeat: s?.receivedAt ?? null,
      rosterVersion: h?.rosterVersion ?? null,
      rosterLag: h ? hubVersion - h.rosterVersion : null,
      rosterEpoch: !h?.rosterEpoch ? null : h.rosterEpoch.id === epochs[epochs.length - 1] ? 'current' : epochs.includes(h.rosterEpoch.id) ? 'earlier' : 'unknown',
      outboxDepth: h?.outboxDepth ?? null,
      cameraFps: h?.cameraFps ?? null,
      softwareVersion: h?.softwareVersion ?? null,
      modelVersion: h?.modelVersion ?? null,
      faults: h?.faults ?? null,
      version: installedVersion(h),
      update: h?.update ? { state: h.update.state, slot: h.update.slot } : null,
      ...certificateOf(c, t.id, t.status, h?.certificateExpiresAt ?? null, now),
    };
  });
}

function certificateOf(c: Community, id: string, status: string, reported: number | null, now: number): Pick<FleetRow, 'certificateExpiresAt' | 'certificate'> {
  const file = terminalCertFile(c, id);
  const issued = existsSync(file) ? certificateInfo(readFileSync(file)).notAfter : null;
  const inUse = reported ?? issued;
  if (inUse === null || status !== 'active') return { certificateExpiresAt: inUse, certificate: null };
  return { certificateExpiresAt: inUse, certificate: certificateState(inUse, issued, now) };
}

/** The hub's and the broker's certificates at `now`. */
export function infrastructureCertificates(ctx: Pick<AdminContext, 'clock' | 'community'>): InfrastructureCertificate[] {
  const c = ctx.community;
  const now = ctx.clock.now();
  return ([['hub', c.paths.hubTlsCert], ['broker', c.paths.brokerCert]] as const).map(([name, file]) => {
    const expiresAt = certificateInfo(readFileSync(file)).notAfter;
    return { name, expiresAt, state: certificateState(expiresAt, null, now) };
  });
}

/** Events stored by the hub after the position `after` (oldest first), read through its event store. */
export function readEvents(ctx: Pick<AdminContext, 'community'>, input: { after: number; limit?: number }): { events: StoredEvent[]; last: number } {
  const { after, limit = 500 } = input;
  const store = EventStore.openReadOnly(ctx.community.paths.eventsDb);
  if (!store) return { events: [], last: after };
  try {
    return store.read(after, limit);
  } finally {
    store.close();
  }
}

/** The position from which the last `n` events are read. */
export function eventsTailStart(ctx: Pick<AdminContext, 'community'>, input: { n: number }): number {
  const n = input.n;
  const store = EventStore.openReadOnly(ctx.community.paths.eventsDb);
  if (!store) return 0;
  try {
    return store.tailStart(n);
  } finally {
    store.close();
  }
}
