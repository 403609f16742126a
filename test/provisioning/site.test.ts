/**
 * A whole community on one machine, driven through the provisioning API: real mosquitto on the
 * generated configuration (mutual TLS, CRL, ACL), the hub service, a terminal started from its
 * bundle (real models, ffmpeg reading the franck video, fake GPIO), and a webhook receiver.
 *
 * The camera is gated so that "Franck walks up to the door" and "walks away" are explicit: one
 * passage = one decision.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import { FileSource, type FrameSource, type FrameSourceEvents } from '../../drivers/camera';
import { FakeGpio } from '../../drivers/gpio/fake';
import { FacePipeline } from '../../models/pipeline';
import { SystemClock } from '../../core/clock';
import { ConfigSchema, parseConfig } from '../../runtime/config';
import { silentLogger } from '../../core/log';
import type { LoopEvent } from '../../runtime/loop/door-loop';
import { startTerminal, type TerminalNotice } from '../../runtime/main';
import { freeLoopbackPort as freePort } from '../../provisioning/ports';
import {
  addAlert,
  addPerson,
  addTerminal,
  BrokerProcess,
  clearAlert,
  fleetStatus,
  startCommunityHub, type CommunityHub,
  initCommunity,
  pipelineEnroller,
  queueCommand,
  readEvents,
  revokePerson,
  revokeTerminal,
  type Community,
  type Enroller,
  type TerminalBundle,
} from '../../provisioning';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../fixtures/photos';
import { sleep, waitFor } from '../harness/wait';
import { admin } from '../harness/admin';

type Decision = Extract<LoopEvent, { type: 'decision' }>;
const PASS = 'test-passphrase-1';

/** The video's frames reach the door loop only while someone "stands at the door". */
class GatedSource implements FrameSource {
  open = false;
  constructor(private readonly inner: FrameSource) {}
  start(): void {
    this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  latest(): ReturnType<FrameSource['latest']> {
    return this.open ? this.inner.latest() : null;
  }
  hold(): ReturnType<FrameSource['hold']> {
    return this.open ? this.inner.hold() : null;
  }
  on<K extends keyof FrameSourceEvents>(event: K, listener: FrameSourceEvents[K]): () => void {
    return this.inner.on(event, listener);
  }
}

/** An MQTT client holding a bundle's credentials (as a thief with that terminal's SD card would). */
function bundleClient(bundle: TerminalBundle, url: string, clientId: string): Promise<mqtt.MqttClient> {
  const f = (n: string): Buffer => readFileSync(join(bundle.dir, n));
  return mqtt.connectAsync(url, { clientId, ca: f('ca.crt'), cert: f('device.crt'), key: f('device.key'), protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000, rejectUnauthorized: true });
}

let root: string;
let community: Community;
let broker: BrokerProcess;
let hub: CommunityHub;
let pipeline: FacePipeline;
let enroller: Enroller;
let t1: TerminalBundle;
let t2: TerminalBundle;
let webhook: Server;
const posted: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-site-'));
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const wa = webhook.address();
  const port = await freePort();
  community = initCommunity({ dir: join(root, 'community'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${port}`, timeZone: 'Asia/Shanghai', heartbeatMs: 2000, webhookUrl: `http://127.0.0.1:${typeof wa === 'object' && wa ? wa.port : 0}/alerts`, actor: 'it-staff', now: Date.now() });
  t1 = addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't1', doorId: 'door-1', buildingId: 'b-1', out: join(root, 'bundle-t1') });
  t2 = addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't2', doorId: 'door-2', buildingId: 'b-1', out: join(root, 'bundle-t2') });
  broker = new BrokerProcess(community, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
  hub = await startCommunityHub({ clock: new SystemClock(), community, passphrase: PASS, pollMs: 100, log: silentLogger() });
  pipeline = await FacePipeline.load();
  enroller = pipelineEnroller(pipeline);
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await broker?.stop();
  await pipeline?.close();
  community?.close();
  await new Promise((r) => webhook?.close(r));
});

describe('a community provisioned with the provision API', () => {
  it('enrols, grants, revokes, alerts and unlocks through a terminal started from its bundle', async () => {
    // The terminal as installed: the bundle's config, with the franck video as its camera and fake GPIO.
    const raw = JSON.parse(readFileSync(t1.configFile, 'utf8')) as Record<string, unknown>;
    const config = parseConfig(
      {
        ...raw,
        camera: { kind: 'file', input: { kind: 'video', path: testFile(FRANCK_VIDEO) }, realtime: true, loop: true },
        gpio: { ...(raw['gpio'] as object), driver: 'fake' },
        health: { port: 0 },
        logging: { level: 'silent' },
        // A recorded video is a replay to the liveness evidence, which rightly refuses it; this test is
        // about provisioning, so this door accepts any liveness.
        ...('liveness' in ConfigSchema.shape ? { liveness: { preset: 'fast', fastAccept: 0, fastReject: 0, fastPath: 'score' } } : {}),
      },
      t1.configFile,
      dirname(t1.configFile),
    );
    if (config.camera.kind !== 'file') throw new Error('file camera expected');
    const clock = new SystemClock();
    const gpio = new FakeGpio(clock);
    const camera = new GatedSource(new FileSource(config.camera, { clock, logger: silentLogger() }));
    const decisions: Decision[] = [];
    const notices: string[] = [];
    const remoteUnlocks: number[] = [];
    const onNotice = (n: TerminalNotice): void => {
      if (n.kind === 'loop' && n.event.type === 'decision') decisions.push(n.event);
      if (n.kind === 'status') notices.push(n.message);
      if (n.kind === 'lock' && n.event.type === 'unlocked' && n.event.source === 'remote') remoteUnlocks.push(n.event.at);
    };
    const terminal = await startTerminal({ config, gpio, clock, camera, onNotice });
    const relayLocked = config.lock.lockType === 'fail-safe';
    const passage = async (what: string): Promise<Decision> => {
      const before = decisions.length;
      camera.open = true;
      const d = await waitFor(() => decisions[before], 20_000, what);
      camera.open = false;
      // He walks away: time itself must pass, as the tracker ends his track only after trackGapMs
      // without a face (no event marks it), so that his next passage is a new decision.
      await sleep((config.evidence.trackGapMs ?? 700) + 500);
      return d;
    };
    const rosterAt = (v: number): Promise<string> => waitFor(() => notices.find((m) => m.endsWith(`applied: version ${v}`)), 15_000, `roster version ${v}`);
    try {
      await waitFor(() => notices.includes('hub connected'), 15_000, 'the terminal to connect');

      // A resident is added by staff: registration and approval in one step.
      const franck = await addPerson(admin(community, { enroller, actor: 'manager-li' }), { id: 'p-franck', photos: [0, 1, 10].map((i) => testFile(FRANCK_STILLS[i]!)), doors: ['door-1'], from: '2020-01-01', until: '2099-12-31' });
      expect(franck.templates[0]?.modelId).toBe(pipeline.modelId);
      await rosterAt(1);
      const granted = await passage('a decision on franck');
      expect(granted.decision).toMatchObject({ kind: 'grant', personId: 'p-franck' });
      expect(gpio.out('lock').writes.some((w) => w.active)).toBe(true);
      // The entry record reaches the hub, which stores it and acknowledges it.
      await waitFor(() => readEvents(admin(community), { after: 0 }).events.some((e) => e.terminalId === 't1' && e.event.type === 'entry.granted'), 10_000, 'the entry at the hub');

      // Revoked: templates and photos leave the hub's store; the terminal denies him.
      const revoked = revokePerson(admin(community, { actor: 'manager-li' }), { id: 'p-franck' });
      expect(revoked.templates).toEqual([]);
      expect(community.db.person('p-franck')?.photos).toEqual([]);
      await rosterAt(2);
      const denied = await passage('a decision after the revoke');
      expect(denied.decision.kind).toBe('deny');

      // An alert tag reaches every door; a sighting becomes an alert at the hub and a webhook POST.
      await addAlert(admin(community, { enroller, actor: 'security' }), { tag: 'missing-person', photos: [testFile(FRANCK_STILLS[2]!)], subjectId: 'alert-franck', note: 'last seen at gate 3' });
      await rosterAt(3);
      const sighted = await passage('a decision on the alert subject');
      expect(sighted.decision.alerts).toEqual([{ tag: 'missing-person', personId: 'alert-franck' }]);
      const post = await waitFor(() => posted.find((p) => p['tag'] === 'missing-person'), 10_000, 'the webhook POST');
      expect(post).toMatchObject({ kind: 'alert.sighting', personId: 'alert-franck', doorId: 'door-1', terminalId: 't1' });
      expect(typeof post['score']).toBe('number');
      const stored = community.db.alerts('missing-person');
      expect(stored).toHaveLength(1);
      await waitFor(() => community.db.alerts('missing-person')[0]?.webhook === 'delivered', 5000, 'the webhook outcome');
      const cleared = clearAlert(admin(community, { actor: 'security' }), { tag: 'missing-person' });
      expect(cleared.revoked).toEqual(['alert-franck']);
      await rosterAt(4);

      // Fleet status from the heartbeats, and a signed unlock command.
      const row = await waitFor(() => fleetStatus(admin(community)).find((r) => r.terminalId === 't1' && r.online && r.rosterLag === 0), 10_000, 't1 online and up to date');
      expect(row).toMatchObject({ doorId: 'door-1', status: 'active', softwareVersion: expect.any(String) as unknown, modelVersion: pipeline.modelId });
      queueCommand(admin(community, { actor: 'guard-wang' }), { target: 'door-1', command: { type: 'unlock', durationMs: 2000 } });
      await waitFor(() => remoteUnlocks.length > 0, 10_000, 'the remote unlock');
      // The release reaches the hub with the command's id and who asked; the hub audited that id as it sent it.
      const release = await waitFor(
        () => readEvents(admin(community), { after: 0 }).events.find((e) => e.terminalId === 't1' && e.event.type === 'door.released' && e.event.source === 'remote'),
        10_000,
        'the remote release at the hub',
      );
      const sent = community.db.auditLog().find((a) => a.action === 'command.sent' && a.detail['type'] === 'unlock');
      expect(release.event).toMatchObject({ requestedBy: 'guard-wang', commandId: sent?.detail['commandId'], durationMs: 2000 });

      // A relay that no longer relocks: a relay-fault alarm at the hub, and the fault in fleet status.
      await waitFor(() => gpio.out('lock').read() === relayLocked || undefined, 5000, 'the relock after the remote unlock');
      gpio.out('lock').failWrites(Infinity);
      gpio.set('exit', 'pressed'); // its release fails, and so does driving the relay back to locked
      await waitFor(() => readEvents(admin(community), { after: 0 }).events.some((e) => e.terminalId === 't1' && e.event.type === 'alarm.relay-fault'), 10_000, 'the relay fault at the hub');
      await waitFor(() => fleetStatus(admin(community)).find((r) => r.terminalId === 't1')?.faults?.includes('relay-fault'), 10_000, 'the relay fault in fleet status');
      gpio.set('exit', false);
      gpio.out('lock').failWrites(0);
      await waitFor(() => fleetStatus(admin(community)).find((r) => r.terminalId === 't1')?.faults?.length === 0, 10_000, 'the relay fault cleared in fleet status');

      // Every step is in the audit log with who did it.
      const audit = community.db.auditLog().map((a) => `${a.actor} ${a.action} ${a.subject}`);
      expect(audit).toEqual(expect.arrayContaining([
        'installer terminal.add t1',
        'manager-li person.add p-franck',
        'manager-li person.revoke p-franck',
        'security alert.add alert-franck',
        'hub alert.sighting alert-franck',
        'security alert.clear missing-person',
        'guard-wang command.unlock t1',
      ]));
    } finally {
      await terminal.stop();
    }
  }, 150_000);

  it("keeps another terminal's credentials out of the first terminal's topics", async () => {
    const thief = await bundleClient(t2, community.config.brokerUrl, 'thief');
    try {
      const got: string[] = [];
      thief.on('message', (topic) => got.push(topic));
      // mosquitto grants the subscription on MQTT 3.1.1 but the ACL stops every message it would carry.
      await thief.subscribeAsync(['hub/t1/#', 'hub/+/commands'], { qos: 1 });
      // Something is sent to t1 meanwhile (the hub sends it whether t1 is online or not)...
      expect(community.db.queuedCommands()).toEqual([]);
      const [forT1] = queueCommand(admin(community), { target: 't1', command: { type: 'resync' } });
      await waitFor(() => community.db.command(forT1 ?? -1)?.status === 'sent', 5000, 'the command for t1 to be sent');
      // ...then, the same way, something for t2 that these credentials may read: the positive control.
      // The broker delivers a subscriber's messages in order, so once t2's command is in, t1's would be.
      const [forT2] = queueCommand(admin(community), { target: 't2', command: { type: 'resync' } });
      await waitFor(() => got.includes('hub/t2/commands'), 10_000, "t2's own command to reach the thief");
      expect(community.db.command(forT2 ?? -1)?.status).toBe('sent');
      expect(got).toEqual(['hub/t2/commands']);

      // Publishing as t1 is refused too: the hub stores nothing of it, though it stores the event the
      // same connection publishes next on t2's own topic.
      const t1Before = readEvents(admin(community), { after: 0 }).events.filter((e) => e.terminalId === 't1').length;
      const event = (id: string): string => JSON.stringify({ v: 1, events: [{ id, at: Date.now(), type: 'alarm.tamper', input: 'tamper' }] });
      await thief.publishAsync('door/t1/events', event('01JAAAAAAAAAAAAAAAAAAAAAAA'), { qos: 1 });
      await thief.publishAsync('door/t2/events', event('01JBBBBBBBBBBBBBBBBBBBBBBB'), { qos: 1 });
      await waitFor(() => readEvents(admin(community), { after: 0 }).events.some((e) => e.terminalId === 't2' && e.event.id === '01JBBBBBBBBBBBBBBBBBBBBBBB'), 10_000, "the event on t2's own topic at the hub");
      const stored = readEvents(admin(community), { after: 0 }).events;
      expect(stored.filter((e) => e.terminalId === 't1')).toHaveLength(t1Before);
      expect(stored.some((e) => e.event.id === '01JAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
    } finally {
      await thief.endAsync();
    }
  }, 30_000);

  it('refuses a revoked terminal at the broker and lists it as revoked', async () => {
    const before = await bundleClient(t2, community.config.brokerUrl, 't2');
    expect(before.connected).toBe(true);
    await before.endAsync();
    revokeTerminal(admin(community, { passphrase: PASS, actor: 'it-staff' }), { id: 't2' });
    // mosquitto handles the SIGHUP between network loops: until then t2 may still get in, so try again.
    const refused = await waitFor(
      () => bundleClient(t2, community.config.brokerUrl, 't2').then(async (c) => (await c.endAsync(), null), (e: Error) => e),
      5000,
      't2 to be refused',
      100,
    );
    expect(String(refused)).toMatch(/certificate revoked/); // the broker's CRL, re-read on SIGHUP
    expect(fleetStatus(admin(community)).find((r) => r.terminalId === 't2')).toMatchObject({ status: 'revoked', online: false });
    // t1 still connects: only t2's certificate is on the CRL.
    const ok = await bundleClient(t1, community.config.brokerUrl, 't1-check');
    expect(ok.connected).toBe(true);
    await ok.endAsync();
  }, 30_000);
});
