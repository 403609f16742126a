/**
 * A whole simulated site on one machine: a real mosquitto broker (mTLS, ACL), the real hub (its store
 * in a real hub.db, its event store in events.db, the fleet guard, the roster published from the
 * store, commands, alerts), and several complete terminals (real models, real encrypted roster, real
 * ffmpeg on a file camera, fake GPIO), each at its own door and registered in the hub's store.
 */
import { AtRestCipher } from '../../provisioning/store/at-rest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGpio } from '../../drivers/gpio/fake';
import { HubDb, rosterItemOf, type RosterItem } from '../../provisioning/db';
import { EventStore } from '../../provisioning/hub/event-store';
import { Hub } from '../../provisioning/hub/hub';
import { openCommunityRoster, revokedPassItem } from '../../provisioning/hub/main';
import { newPhotoKey } from '../../provisioning/photos';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { LoopEvent } from '../../runtime/loop/door-loop';
import { startTerminal, type Terminal, type TerminalNotice } from '../../runtime/main';
import { generateSigningKeyPair } from '../../runtime/protocol/signing';
import type { PersonUpsert } from '../../runtime/roster/batch';
import type { SyncEvent } from '../../runtime/protocol/schemas';
import { MosquittoBroker } from './mosquitto';
import { TestPki } from './pki';
import { mqttTransport } from './sync-site';
import { makeSiteDir, terminalConfig } from './terminal-site';

export type Decision = Extract<LoopEvent, { type: 'decision' }>;

export interface SiteTerminal {
  id: string;
  doorId: string;
  terminal: Terminal;
  gpio: FakeGpio;
  decisions: Decision[];
  notices: TerminalNotice[];
}

export class Site {
  readonly terminals = new Map<string, SiteTerminal>();

  private constructor(
    readonly dir: string,
    readonly pki: TestPki,
    readonly broker: MosquittoBroker,
    readonly hub: Hub<RosterItem>,
    readonly store: HubDb,
    readonly events: EventStore,
  ) {}

  static async start(doors: { id: string; doorId: string }[], video: string): Promise<Site> {
    const dir = mkdtempSync(join(tmpdir(), 'doorway-site-'));
    const pki = TestPki.create(join(dir, 'pki'));
    const broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
    const keys = generateSigningKeyPair();
    const hubKeyFile = join(dir, 'hub-signing.pub.pem');
    writeFileSync(hubKeyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const clock = new SystemClock();
    const store = new HubDb(join(dir, 'hub.db'));
    store.useAtRest(AtRestCipher.random(), clock.now()); // templates are encrypted at rest, as in the hub
    // Each terminal with its roster key, as `provision terminal add` creates it (the hub seals its roster to it).
    const rosterKeyFiles = new Map<string, string>();
    for (const d of doors) {
      store.addTerminal({ id: d.id, doorId: d.doorId, buildingId: 'default', serial: '01', createdAt: clock.now() });
      const keyFile = join(dir, `${d.id}-roster.key`);
      writeFileSync(keyFile, store.createRosterKey(d.id, clock.now()), { mode: 0o600 });
      rosterKeyFiles.set(d.id, keyFile);
    }
    const { roster, scoped } = openCommunityRoster(store, keys.privateKey, rosterItemOf, clock, silentLogger());
    const events = new EventStore(join(dir, 'events.db'));
    const hub = new Hub<RosterItem>({ transport: mqttTransport(broker, pki, 'hub'), roster, scoped, events, signingKey: keys.privateKey, clock, log: silentLogger(), store, itemOf: rosterItemOf, passItemOf: revokedPassItem, pollMs: 100 });
    await hub.start();
    const site = new Site(dir, pki, broker, hub, store, events);
    for (const d of doors) {
      const local = makeSiteDir(`doorway-${d.id}-`);
      const creds = pki.client(d.id);
      const config = terminalConfig(local, { doorId: d.doorId, video });
      config.terminalId = d.id;
      config.hub = { url: broker.url, caFile: pki.caPath, certFile: creds.certPath, keyFile: creds.keyPath, hubPublicKeyFile: hubKeyFile, rosterKeyFile: rosterKeyFiles.get(d.id), heartbeatMs: 2000, reconnectMinMs: 500, reconnectMaxMs: 30_000, connectTimeoutMs: 10_000, keepaliveS: 30, stopFlushMs: 3000 };
      config.lock.unlockPulseMs = 1000;
      const clock = new SystemClock();
      const gpio = new FakeGpio(clock);
      const st: SiteTerminal = { id: d.id, doorId: d.doorId, terminal: null as unknown as Terminal, gpio, decisions: [], notices: [] };
      st.terminal = await startTerminal({
        config,
        gpio,
        clock,
        logger: silentLogger(),
        onNotice: (n) => {
          st.notices.push(n);
          if (n.kind === 'loop' && n.event.type === 'decision') st.decisions.push(n.event);
        },
      });
      site.terminals.set(d.id, st);
    }
    return site;
  }

  t(id: string): SiteTerminal {
    const t = this.terminals.get(id);
    if (!t) throw new Error(`no terminal ${id}`);
    return t;
  }

  /**
   * Persons enrolled and approved at the hub (as `provision person add` stores them); the hub
   * publishes them to the doors their access names.
   */
  async enrol(...persons: PersonUpsert[]): Promise<void> {
    const now = Date.now();
    this.store.tx(() => {
      for (const p of persons) {
        const prev = this.store.person(p.personId);
        this.store.savePerson({
          personId: p.personId,
          kind: 'resident',
          status: 'active',
          label: p.label ?? null,
          note: null,
          templates: p.templates,
          authorisations: p.authorisations,
          tags: p.tags,
          photoKey: prev?.photoKey ?? newPhotoKey(),
          photos: [],
        }, now);
      }
    });
    await this.hub.tick();
  }

  /** Persons revoked at the hub; the hub publishes their tombstones at once. */
  async revoke(...ids: string[]): Promise<void> {
    const now = Date.now();
    this.store.tx(() => {
      for (const id of ids) {
        const p = this.store.person(id);
        if (p) this.store.savePerson({ ...p, status: 'revoked', templates: [], authorisations: [], tags: [] }, now);
      }
    });
    await this.hub.tick();
  }

  /** Events the hub has stored from a terminal, parsed. */
  hubEvents(terminalId: string): SyncEvent[] {
    return this.events.ofTerminal(terminalId);
  }

  async stop(): Promise<void> {
    for (const t of this.terminals.values()) await t.terminal.stop();
    await this.hub.stop();
    this.events.close();
    this.store.close();
    await this.broker.stop();
  }
}
