/**
 * `provision hub`: the composition root of a community's hub, the one place that builds its real
 * parts. It opens the roster from the store (versions keep increasing across restarts; every start
 * begins a new roster epoch continuing the recorded history, runtime/sync/README.md), the event store
 * (events.db, 0600), the MQTT connection with the hub's own certificate (CN hub), and starts the Hub
 * (hub.ts) with the store, the fleet guard, alerts, pass uses and revocations, duress alarms, webhook,
 * certificate renewal and adapted templates (sealed to the hub's X25519 key, provisioning/seal-key.ts),
 * and with `rollouts` the feed of staged rollouts. The roster at start holds the published persons and the revoked passes
 * still valid.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { MqttTransport, type SyncTransport } from '../../runtime/sync/transport';
import type { Community } from '../community';
import type { HubDb, PassRecord, PersonRecord, RosterItem } from '../db';
import { unlockCommunity } from '../at-rest-key';
import { unlockedPem } from '../pki';
import { ensureSealKey } from '../seal-key';
import { withAdaptedTemplates } from './adapted-templates';
import type { HubOptions } from './context';
import { EventStore } from './event-store';
import { Hub } from './hub';
import { HubRosterStore, type RosterChange } from './roster';
import { TerminalRosters } from './terminal-rosters';
import { RolloutFeed } from '../update/hub-feed';
import type { Rollouts } from '../update/rollouts';

export interface CommunityHubOptions extends HubOptions {
  community: Community;
  passphrase: string;
  clock: Clock;
  log: Logger;
  /** Replaces the MQTT connection (tests). */
  transport?: SyncTransport;
  /** Staged rollouts to feed with the terminals' heartbeats and update reports (provisioning/update/rollouts.ts). */
  rollouts?: Rollouts;
}

/** The running hub of a community. */
export type CommunityHub = Hub<RosterItem>;

/** Pass revocations share the roster map with persons under keys no person id can have ('/' is not allowed in one). */
const passKey = (id: string): string => `pass/${id}`;

/** A revoked pass as a roster item: its id and its end only. */
export const revokedPassItem = (p: PassRecord): RosterItem => ({ revokedPassId: p.passId, notAfter: p.notAfter });

/**
 * How the store's persons and revoked passes become roster items: upserts, tombstones and pass
 * revocations in the terminals' batch format.
 */
export const ROSTER_ITEM_FORMAT = {
  idOf: (it: RosterItem): string => ('revokedPersonId' in it ? it.revokedPersonId : 'revokedPassId' in it ? passKey(it.revokedPassId) : it.personId),
  toBatch: (version: number, c: RosterChange<RosterItem>): unknown => ({
    version,
    upserts: c.upsert.filter((it) => !('revokedPersonId' in it) && !('revokedPassId' in it)),
    revocations: [...c.upsert.flatMap((it) => ('revokedPersonId' in it ? [it.revokedPersonId] : [])), ...c.remove.filter((id) => !id.startsWith('pass/'))],
    passRevocations: c.upsert.flatMap((it) => ('revokedPassId' in it ? [{ passId: it.revokedPassId, notAfter: it.notAfter }] : [])),
  }),
};

/**
 * The community's roster as the hub starts with it (also built by bench/roster-scope.ts): the persons
 * published and the revoked passes still valid, in a new epoch continuing the recorded history, and the
 * per-door rosters over it. When some terminal may still hold a roster from before per-door rosters,
 * an empty version is recorded first (it concerns no one): the snapshot of its scope is then newer than
 * what it holds, so it takes it.
 */
export function openCommunityRoster(store: HubDb, signingKey: KeyObject, itemOf: (p: PersonRecord) => RosterItem | null, clock: Clock, log: Logger): { roster: HubRosterStore<RosterItem>; scoped: TerminalRosters<RosterItem>; version: number; persons: number } {
  let version = store.rosterVersion();
  // One person at a time: only the items are kept (with the records' scopes, below), not every row.
  const published: PersonRecord[] = [];
  const items: RosterItem[] = [];
  for (const p of store.publishedPersons()) {
    published.push(p);
    const item = itemOf(p);
    if (item !== null) items.push(item);
  }
  // Revoked passes still valid are part of the snapshots of their doors too.
  const now0 = clock.now();
  const revokedPasses = store.passes().filter((p) => p.revokedAt !== null && p.notAfter > now0);
  for (const p of revokedPasses) items.push(revokedPassItem(p));
  const epochs = store.rosterEpochs();
  // No signed delta is kept for replay (per-door rosters compute catch-ups from the current state).
  const roster = new HubRosterStore<RosterItem>({
    signingKey,
    ...ROSTER_ITEM_FORMAT,
    now: () => clock.now(),
    initial: { version, items, deltas: [], epochs },
  });
  store.recordEpoch(roster.epoch(), epochs.length === 0 && version > 0 ? 'upgrade' : 'start', clock.now());
  const scoped = new TerminalRosters<RosterItem>({ store, roster, signingKey, log: log.child({ module: 'hub' }), passItemOf: revokedPassItem });
  scoped.load(published, revokedPasses);
  if (version > 0 && scoped.someUnscoped()) {
    version = roster.advance({ upsert: [], remove: [] });
    store.recordVersion(version, { persons: [], passes: [], terminals: [] }, [], clock.now());
  }
  return { roster, scoped, version, persons: items.length };
}

/** Load the roster from the store, connect, and start publishing. */
export async function startCommunityHub(opts: CommunityHubOptions): Promise<CommunityHub> {
  const { community: c, passphrase, clock, log, transport: given, rollouts, ...options } = opts;
  // Templates and photos are encrypted at rest: unlocked with the passphrase unless the caller did (--key-file).
  const sealed = unlockCommunity(c, { passphrase }, clock.now());
  if (sealed) log.child({ module: 'hub' }).info(sealed, 'templates and photos kept in clear before were encrypted in place');
  const store = c.db;
  const signingKey = c.signingKey(passphrase);
  const sealKey = ensureSealKey(c, passphrase).privateKey;
  const itemOf = withAdaptedTemplates(store);
  const { roster, scoped, version, persons } = openCommunityRoster(store, signingKey, itemOf, clock, log);
  const transport = given ?? new MqttTransport({
    url: c.config.brokerUrl,
    clientId: 'hub',
    ca: readFileSync(c.paths.ca.cert),
    cert: readFileSync(c.paths.hubTlsCert, 'utf8'),
    key: unlockedPem(c.paths.hubTlsKey, passphrase),
    reconnectMinMs: 500,
    reconnectMaxMs: 10_000,
    connectTimeoutMs: 10_000,
    keepaliveS: 30,
    log,
  });
  const events = new EventStore(c.paths.eventsDb);
  const hub = new Hub<RosterItem>({
    ...options,
    webhookUrl: options.webhookUrl !== undefined ? options.webhookUrl : c.config.webhookUrl,
    transport,
    roster,
    events,
    signingKey,
    clock,
    log,
    store,
    itemOf,
    sealKey,
    passItemOf: revokedPassItem,
    scoped,
    community: { community: c, passphrase },
    ownsEvents: true,
    ...(rollouts ? { extraParts: (ctx) => [new RolloutFeed(ctx, rollouts)] } : {}),
  });
  try {
    await hub.start();
  } catch (e) {
    await hub.stop();
    throw e;
  }
  log.child({ module: 'hub' }).info({ version, persons }, 'hub running');
  return hub;
}
