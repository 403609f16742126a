/**
 * Adapted templates through the hub (issue 17), on a real mosquitto, the community's real hub
 * (startCommunityHub: hub.db, its sealing key, the roster published with adapted templates) and real
 * terminal sync clients, each with its own encrypted roster, matcher and template adaptation: a template
 * learnt at door A reaches door B and survives A's restart; a template that fails the anchor (or is
 * sealed to another key, or comes from a door the person may not open) is refused and audited; an
 * operator's reset removes them on the hub and at every door; and the broker never carries the
 * embedding in clear (a spy subscribed to every topic keeps every byte).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { resetAdaptation } from '../../../provisioning/admin/adaptation';
import { initCommunity, type Community } from '../../../provisioning/community';
import { judgeAdaptedTemplate } from '../../../provisioning/hub/adapted-templates';
import { startCommunityHub, type CommunityHub } from '../../../provisioning/hub/main';
import { newPhotoKey } from '../../../provisioning/photos';
import { ensureSealKey } from '../../../provisioning/seal-key';
import type { Decision } from '../../../runtime/decision/policy';
import { generateSealKeyPair } from '../../../runtime/protocol/sealed';
import type { Passage } from '../../../runtime/roster/adaptation';
import { encodeEmbedding, isAdaptedTemplateId } from '../../../runtime/roster/batch';
import { LocalAdaptation } from '../../../runtime/roster/local-adaptation';
import { Matcher } from '../../../runtime/roster/matcher';
import { rosterKeyOf } from '../../../runtime/protocol/roster-seal';
import { RosterStore } from '../../../runtime/roster/store';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../../runtime/sync/roster-store-sink';
import { TemplateUplink } from '../../../runtime/sync/template-uplink';
import type { IncomingMessage } from '../../../runtime/sync/transport';
import { admin } from '../../harness/admin';
import { MosquittoBroker } from '../../harness/mosquitto';
import { TestPki } from '../../harness/pki';
import { makeTerminal, mqttTransport, type TestTerminal } from '../../harness/sync-site';
import { waitFor } from '../../harness/wait';
import { MODEL, writeSecret } from '../../runtime/roster/fixtures';

const DIM = 512;
const DAY = 24 * 3600 * 1000;
const PASS = 'correct horse battery staple';

/** Unit vector at `cos` from axis `axis`, leaning towards axis `towards`. */
function at(cos: number, towards = 1, axis = 0): Float32Array {
  const v = new Float32Array(DIM);
  v[axis] = cos;
  v[towards] = Math.sqrt(1 - cos * cos);
  return v;
}

const grant = (personId: string): Decision => ({ kind: 'grant', personId, reason: 'authorised', match: { personId, score: 0.8, margin: 0.8 }, alerts: [] });
const passage = (personId: string, frame: Float32Array, when: number): Passage => ({ at: when, credential: 'face', decision: grant(personId), liveness: 'live', frames: [frame, frame, frame] });

interface Door {
  id: string;
  store: RosterStore;
  matcher: Matcher;
  local: LocalAdaptation;
  term: TestTerminal;
  uplink: TemplateUplink;
  resets: number;
  dir: string;
}

describe('adapted templates through the hub', () => {
  let dir: string;
  let pki: TestPki;
  let broker: MosquittoBroker;
  let c: Community;
  let hub: CommunityHub;
  let sealPub: KeyObject;
  let signingPub: KeyObject;
  const doors = new Map<string, Door>();
  const spied: IncomingMessage[] = [];
  const spy = (): ReturnType<typeof mqttTransport> => spyTransport;
  let spyTransport: ReturnType<typeof mqttTransport>;

  function openDoor(id: string, d: Door | undefined, folder: string): Door {
    const store = RosterStore.open({ path: join(folder, 'roster.db'), secretFile: join(folder, 'device.secret'), logger: silentLogger() });
    const matcher = Matcher.fromStore(store, { modelId: MODEL });
    const local = new LocalAdaptation(store, matcher, silentLogger());
    local.start();
    const rosterKey = rosterKeyOf(c.db.rosterKey(id) ?? Buffer.alloc(0));
    const term = makeTerminal({ broker, pki, id, dbPath: join(folder, 'sync.db'), hubPublicKey: signingPub, overrides: { rosterKey, roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS } } });
    const uplink = new TemplateUplink({ terminalId: id, hubSealKey: sealPub, publish: (m) => term.client.publishTemplate(m), log: silentLogger() });
    const door: Door = { id, store, matcher, local, term, uplink, resets: d?.resets ?? 0, dir: folder };
    // As runtime/terminal/terminal.ts wires them: learnt templates go up sealed, the hub's reset comes down.
    local.onLearnt((t) => uplink.send(t));
    term.client.on('connected', () => uplink.flush());
    term.client.on('command', (cmd) => {
      if (cmd.type !== 'adaptation.reset') return;
      door.resets += 1;
      if (cmd.personId === undefined) local.resetAll();
      else local.reset(cmd.personId);
    });
    term.client.start();
    return door;
  }

  async function closeDoor(d: Door): Promise<void> {
    await d.term.stop();
    d.local.stop();
    d.matcher.close();
    d.store.close();
  }

  function door(id: string): Door {
    const d = doors.get(id);
    if (!d) throw new Error(`no door ${id}`);
    return d;
  }

  const adaptedAt = (d: Door, personId: string): string[] =>
    d.store.loadTemplates([personId]).templates.filter((t) => isAdaptedTemplateId(t.templateId)).map((t) => t.templateId);

  function enrol(personId: string, embedding: Float32Array, buildingIds: string[]): void {
    c.db.savePerson({
      personId,
      kind: 'resident',
      status: 'active',
      label: null,
      note: null,
      templates: [{ templateId: `${personId}-t0`, modelId: MODEL, embedding: encodeEmbedding(embedding) }],
      authorisations: [{ doorIds: [], buildingIds }],
      tags: [],
      photoKey: newPhotoKey(),
      photos: [],
    }, Date.now());
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'doorway-adapted-'));
    pki = TestPki.create(join(dir, 'pki'));
    broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
    c = initCommunity({ dir: join(dir, 'community'), passphrase: PASS, actor: 'it-wang', now: Date.now() });
    sealPub = createPublicKey(ensureSealKey(c, PASS).publicKeyPem);
    signingPub = createPublicKey(c.signingPublicKeyPem());
    const now = Date.now();
    c.db.addTerminal({ id: 't-a', doorId: 'door-a', buildingId: 'b1', serial: '01', createdAt: now });
    c.db.addTerminal({ id: 't-b', doorId: 'door-b', buildingId: 'b1', serial: '02', createdAt: now });
    c.db.addTerminal({ id: 't-c', doorId: 'door-c', buildingId: 'b2', serial: '03', createdAt: now });
    for (const id of ['t-a', 't-b', 't-c']) c.db.createRosterKey(id, now);
    enrol('li', at(1), ['b1']);
    enrol('wu', at(1, 6, 5), ['b1']);
    hub = await startCommunityHub({ community: c, passphrase: PASS, clock: new SystemClock(), log: silentLogger(), transport: mqttTransport(broker, pki, 'hub'), pollMs: 50 });
    spyTransport = mqttTransport(broker, pki, 'spy');
    let subscribed = false;
    spyTransport.start({
      onConnect: () => void spyTransport.subscribe(['#']).then(() => (subscribed = true)),
      onDisconnect: () => undefined,
      onMessage: (m) => spied.push(m),
    }, null);
    await waitFor(() => subscribed, 15_000, 'spy subscribed');
    for (const id of ['t-a', 't-b', 't-c']) {
      const folder = join(dir, id);
      mkdirSync(folder);
      writeSecret(join(folder, 'device.secret'));
      doors.set(id, openDoor(id, undefined, folder));
    }
    // li may open the doors of building b1 only: door C (building b2) never gets him.
    for (const d of [door('t-a'), door('t-b')]) await waitFor(() => d.store.loadTemplates(['li']).templates.length === 1, 15_000, `${d.id} has li`);
  }, 60_000);

  afterAll(async () => {
    for (const d of doors.values()) await closeDoor(d);
    await spy().stop();
    await hub.stop();
    c.close();
    await broker.stop();
  });

  it('hands a template learnt at door A to door B, marked adapted, and A gets it back from the roster after a restart', async () => {
    const a = door('t-a');
    const capture = at(0.75, 2); // li at door A: 0.75 against his enrolment
    a.local.learn(passage('li', capture, Date.now() - 3 * DAY));
    await waitFor(() => adaptedAt(door('t-b'), 'li').length === 1, 15_000, 'door B has the adapted template');
    const [stored] = c.db.adaptedTemplates('li');
    expect(stored?.terminalId).toBe('t-a');
    expect(stored?.anchor).toBeCloseTo(0.75, 3);
    expect(c.db.auditLog().filter((r) => r.action === 'template.adapted' && r.subject === 'li')).toHaveLength(1);
    // Door B now recognises li's later face through it, with the floor applied (his enrolment still scores it 0.68).
    const later = new Float32Array(DIM);
    later[0] = 0.68;
    later[2] = 0.72;
    later[3] = Math.sqrt(1 - 0.68 ** 2 - 0.72 ** 2);
    const [hit] = door('t-b').local.search(later, 2);
    expect(hit?.personId).toBe('li');
    expect(isAdaptedTemplateId(hit?.templateId ?? '')).toBe(true);
    expect(hit?.score).toBeGreaterThan(0.95);
    // A restart of door A: its template comes back from the encrypted roster, not from memory.
    await waitFor(() => adaptedAt(a, 'li').length === 1, 15_000, 'door A has it from the roster');
    await closeDoor(a);
    const again = openDoor('t-a', a, a.dir);
    doors.set('t-a', again);
    await waitFor(() => again.term.client.connected(), 15_000, 'door A connected again');
    expect(adaptedAt(again, 'li')).toEqual([stored?.templateId]);
    expect(again.local.search(later, 1)[0]?.score).toBeGreaterThan(0.95);
  });

  it('never lets the broker carry the embedding in clear', async () => {
    await waitFor(() => spied.some((m) => m.topic === 'door/t-a/templates'), 15_000, 'the spy saw the template message');
    const capture = at(0.75, 2);
    const raw = Buffer.from(encodeEmbedding(capture), 'base64');
    const b64 = encodeEmbedding(capture);
    // The embedding as bytes, as base64 (whole, and any 3-byte-aligned stretch of it), and its non-zero values as text.
    const needles = [raw.subarray(0, 16), raw.subarray(8, 24), Buffer.from(b64.slice(0, 24)), Buffer.from(b64.slice(4, 28)), Buffer.from('0.75'), Buffer.from('0.661')];
    const sent = spied.filter((m) => m.topic === 'door/t-a/templates');
    expect(sent).toHaveLength(1);
    const msg = JSON.parse(sent[0]?.payload.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(msg['kind']).toBe('template.adapted');
    expect(Object.keys(msg).sort()).toEqual(['at', 'id', 'kind', 'modelId', 'personId', 'sealed', 'terminalId', 'v']);
    for (const m of sent) for (const n of needles) expect(m.payload.indexOf(n)).toBe(-1);
    // The roster it came back in is sealed to each door (issue 16): it is not in clear on the hub's topics either.
    expect(spied.some((m) => m.topic === 'hub/t-b/roster')).toBe(true);
    for (const m of spied.filter((x) => x.topic.startsWith('hub/'))) for (const n of needles.slice(0, 4)) expect(m.payload.indexOf(n)).toBe(-1);
  });

  it('refuses a template that fails the anchor, one sealed to another key, and one from a door the person may not open, and audits each', async () => {
    const before = c.db.adaptedTemplates('li').map((t) => t.templateId);
    const refused0 = hub.adaptedTemplates().refused;
    // A stolen terminal at door A claims wu's face is li.
    door('t-a').uplink.send({ personId: 'li', modelId: MODEL, embedding: at(1, 6, 5), at: Date.now() });
    // A box only another key opens.
    const forged = new TemplateUplink({ terminalId: 't-a', hubSealKey: generateSealKeyPair().publicKey, publish: (m) => door('t-a').term.client.publishTemplate(m), log: silentLogger() });
    forged.send({ personId: 'li', modelId: MODEL, embedding: at(0.8, 3), at: Date.now() });
    // li's true face, learnt at door C in building b2, where he has no access.
    door('t-c').uplink.send({ personId: 'li', modelId: MODEL, embedding: at(0.8, 3), at: Date.now() });
    await waitFor(() => hub.adaptedTemplates().refused >= refused0 + 3, 15_000, 'three refusals');
    const reasons = c.db.auditLog().filter((r) => r.action === 'template.refused' && r.subject === 'li').map((r) => r.detail['reason']);
    expect(reasons.sort()).toEqual(['far-from-enrolment', 'not-authorised-here', 'sealed-box']);
    expect(c.db.adaptedTemplates('li').map((t) => t.templateId)).toEqual(before);
    await hub.tick();
    expect(adaptedAt(door('t-b'), 'li')).toEqual(before);
  });

  it('resets a person on the hub and at every door, including a template a door has not yet handed up', async () => {
    const b = door('t-b');
    b.local.onLearnt(null); // learnt at door B and kept there (the hub has not got it)
    b.local.learn(passage('li', at(0.7, 4), Date.now()));
    expect(b.local.size).toBe(1);
    const r = resetAdaptation(admin(c, { actor: 'it-wang' }), { personId: 'li' });
    expect(r.persons).toEqual([{ personId: 'li', deleted: 1 }]);
    expect(r.commands).toHaveLength(3);
    expect(c.db.adaptedTemplates('li')).toEqual([]);
    await waitFor(() => [...doors.values()].every((d) => adaptedAt(d, 'li').length === 0), 15_000, 'no door holds an adapted template of li');
    await waitFor(() => b.local.size === 0 && b.resets === 1, 15_000, 'door B forgot its own');
    expect(b.store.loadTemplates(['li']).templates.map((t) => t.templateId)).toEqual(['li-t0']);
    expect(c.db.auditLog().some((x) => x.action === 'adaptation.reset' && x.actor === 'it-wang' && x.subject === 'li')).toBe(true);
  });

  it('deletes a person\'s adapted templates on the hub when the enrolment changes or the person is revoked', () => {
    const clock = new FakeClock(Date.now());
    const judge = (personId: string, e: Float32Array, id: string): ReturnType<typeof judgeAdaptedTemplate> =>
      judgeAdaptedTemplate(c.db, { id, terminalId: 't-a', personId, modelId: MODEL, at: clock.now() }, e, { minEnrolledScore: 0.5, maxPerPerson: 2 }, clock.now());
    expect(judge('wu', at(0.8, 7, 5), '01JD0000000000000000000001').kind).toBe('accepted');
    expect(judge('wu', at(0.8, 8, 5), '01JD0000000000000000000002').kind).toBe('accepted');
    const third = judge('wu', at(0.8, 9, 5), '01JD0000000000000000000003');
    // the bound: the oldest adapted one goes, the enrolled one stays
    expect(third).toMatchObject({ kind: 'accepted', replaced: ['adapted:wu:01JD0000000000000000000001'] });
    expect(c.db.adaptedTemplates('wu').map((t) => t.templateId)).toEqual(['adapted:wu:01JD0000000000000000000002', 'adapted:wu:01JD0000000000000000000003']);
    expect(c.db.person('wu')?.templates.map((t) => t.templateId)).toEqual(['wu-t0']);
    const wu = c.db.person('wu');
    if (!wu) throw new Error('no wu');
    c.db.savePerson({ ...wu, authorisations: [{ doorIds: ['door-a'], buildingIds: ['b1'] }] }, clock.now());
    expect(c.db.adaptedTemplates('wu')).toHaveLength(2); // an access change keeps them
    c.db.savePerson({ ...wu, templates: [{ templateId: 'wu-t1', modelId: MODEL, embedding: encodeEmbedding(at(0.9, 7, 5)) }] }, clock.now());
    expect(c.db.adaptedTemplates('wu')).toEqual([]); // a new enrolment: the anchor moved
    expect(judge('wu', at(0.8, 7, 5), '01JD0000000000000000000004').kind).toBe('accepted');
    const now = c.db.person('wu');
    if (!now) throw new Error('no wu');
    c.db.savePerson({ ...now, status: 'revoked', templates: [], authorisations: [] }, clock.now());
    expect(c.db.adaptedTemplates('wu')).toEqual([]);
  });
});
