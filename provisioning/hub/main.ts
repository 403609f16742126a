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
import { readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { MqttTransport, type SyncTransport } from '../../runtime/sync/transport';
import type { Community } from '../community';
import type { PassRecord, RosterItem } from '../db';
import { unlockCommunity } from '../at-rest-key';
import { unlockedPem } from '../pki';
import { ensureSealKey } from '../seal-key';
import { withAdaptedTemplates } from './adapted-templates';
import type { HubOptions } from './context';
import { EventStore } from './event-store';
import { Hub } from './hub';
import { HubRosterStore, type RosterChange } from './roster';
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
  const version = store.rosterVersion();
  const items = store.persons().filter((p) => p.publishedRev > 0).map(itemOf).filter((x): x is RosterItem => x !== null);
  // Revoked passes still valid are part of every snapshot too.
  const now0 = clock.now();
  for (const p of store.passes()) if (p.revokedAt !== null && p.notAfter > now0) items.push(revokedPassItem(p));
  const epochs = store.rosterEpochs();
  const roster = new HubRosterStore<RosterItem>({
    signingKey,
    ...ROSTER_ITEM_FORMAT,
    now: () => clock.now(),
    initial: { version, items, deltas: store.rosterLog(Math.max(0, version - 10_000)), epochs },
  });
  store.recordEpoch(roster.epoch(), epochs.length === 0 && version > 0 ? 'upgrade' : 'start', clock.now());
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
  log.child({ module: 'hub' }).info({ version, persons: items.length }, 'hub running');
  return hub;
}
