/**
 * `provision hub`: the composition root of a community's hub, the one place that builds its real
 * parts. It opens the roster from the store (versions keep increasing across restarts; every start
 * begins a new roster epoch continuing the recorded history, runtime/sync/README.md), the event store
 * (events.db, 0600), the MQTT connection with the hub's own certificate (CN hub), and starts the Hub
 * (hub.ts) with the store, the fleet guard, alerts, webhook and certificate renewal.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { MqttTransport, type SyncTransport } from '../../runtime/sync/transport';
import type { Community } from '../community';
import { rosterItemOf, type RosterItem } from '../db';
import { unlockedPem } from '../pki';
import type { HubOptions } from './context';
import { EventStore } from './event-store';
import { Hub } from './hub';
import { HubRosterStore, type RosterChange } from './roster';

export interface CommunityHubOptions extends HubOptions {
  community: Community;
  passphrase: string;
  clock: Clock;
  log: Logger;
  /** Replaces the MQTT connection (tests). */
  transport?: SyncTransport;
}

/** The running hub of a community. */
export type CommunityHub = Hub<RosterItem>;

/** How the store's persons become roster items: upserts and tombstones in the terminals' batch format. */
export const ROSTER_ITEM_FORMAT = {
  idOf: (it: RosterItem): string => ('revokedPersonId' in it ? it.revokedPersonId : it.personId),
  toBatch: (version: number, c: RosterChange<RosterItem>): unknown => ({
    version,
    upserts: c.upsert.filter((it) => !('revokedPersonId' in it)),
    revocations: [...c.upsert.flatMap((it) => ('revokedPersonId' in it ? [it.revokedPersonId] : [])), ...c.remove],
  }),
};

/** Load the roster from the store, connect, and start publishing. */
export async function startCommunityHub(opts: CommunityHubOptions): Promise<CommunityHub> {
  const { community: c, passphrase, clock, log, transport: given, ...options } = opts;
  const store = c.db;
  const signingKey = c.signingKey(passphrase);
  const version = store.rosterVersion();
  const items = store.persons().filter((p) => p.publishedRev > 0).map(rosterItemOf).filter((x): x is RosterItem => x !== null);
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
  const events = new EventStore(c.paths.eventsDb, { mode: 0o600 });
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
    itemOf: rosterItemOf,
    community: { community: c, passphrase },
    ownsEvents: true,
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
