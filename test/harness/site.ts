/**
 * A whole simulated site on one machine: a real mosquitto broker (mTLS, ACL), the hub with the master
 * roster in the terminals' own format, and several complete terminals (real models, real encrypted
 * roster, real ffmpeg on a file camera, fake GPIO), each at its own door.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGpio } from '../../drivers/gpio/fake';
import { EventIngest } from '../../provisioning/hub/ingest';
import { Hub } from '../../provisioning/hub/hub';
import { HubRosterStore, ROSTER_STORE_FORMAT } from '../../provisioning/hub/roster';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { LoopEvent } from '../../runtime/loop/door-loop';
import { startTerminal, type Terminal, type TerminalNotice } from '../../runtime/main';
import { generateSigningKeyPair } from '../../runtime/protocol/signing';
import type { PersonUpsert } from '../../runtime/roster/batch';
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
    readonly hub: Hub<PersonUpsert>,
    readonly roster: HubRosterStore<PersonUpsert>,
    readonly ingest: EventIngest,
  ) {}

  static async start(doors: { id: string; doorId: string }[], video: string): Promise<Site> {
    const dir = mkdtempSync(join(tmpdir(), 'doorway-site-'));
    const pki = TestPki.create(join(dir, 'pki'));
    const broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
    const keys = generateSigningKeyPair();
    const hubKeyFile = join(dir, 'hub-signing.pub.pem');
    writeFileSync(hubKeyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const roster = new HubRosterStore<PersonUpsert>({ signingKey: keys.privateKey, ...ROSTER_STORE_FORMAT });
    const ingest = new EventIngest(join(dir, 'hub-events.db'));
    const hub = new Hub<PersonUpsert>({ transport: mqttTransport(broker, pki, 'hub'), roster, ingest, signingKey: keys.privateKey, clock: new SystemClock(), log: silentLogger() });
    await hub.start();
    const site = new Site(dir, pki, broker, hub, roster, ingest);
    for (const d of doors) {
      const local = makeSiteDir(`doorway-${d.id}-`);
      const creds = pki.client(d.id);
      const config = terminalConfig(local, { doorId: d.doorId, video });
      config.terminalId = d.id;
      config.hub = { url: broker.url, caFile: pki.caPath, certFile: creds.certPath, keyFile: creds.keyPath, hubPublicKeyFile: hubKeyFile, heartbeatMs: 2000, reconnectMinMs: 500, reconnectMaxMs: 30_000, connectTimeoutMs: 10_000, keepaliveS: 30, stopFlushMs: 3000 };
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

  /** Events the hub has stored from a terminal, parsed. */
  hubEvents(terminalId: string): { type: string; reason?: string; personId?: string | null }[] {
    const rows = this.ingest.db.prepare('SELECT body FROM events WHERE terminal_id = ? ORDER BY id').all(terminalId) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as { type: string; reason?: string; personId?: string | null });
  }

  async stop(): Promise<void> {
    for (const t of this.terminals.values()) await t.terminal.stop();
    await this.hub.stop();
    this.ingest.close();
    await this.broker.stop();
  }
}
