/**
 * Per-door rosters (issue 16) on a real mosquitto, the community's real hub (startCommunityHub: hub.db,
 * its roster keys) and real terminal sync clients, each with its own encrypted roster store and its
 * own roster key: a person reaches only the terminals of the doors they may open (plus every door for
 * an alert subject), moves when their access changes, leaves where they were when revoked; no name
 * reaches a terminal; a spy subscribed to every topic never sees a template or a name in clear; a
 * terminal cannot open another's roster; a terminal offline during changes catches up.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { revokePerson, updatePerson } from '../../../provisioning/admin/persons';
import { initCommunity, type Community } from '../../../provisioning/community';
import { startCommunityHub, type CommunityHub } from '../../../provisioning/hub/main';
import { newPhotoKey } from '../../../provisioning/photos';
import { ProtocolRejectError } from '../../../runtime/protocol/codec';
import { decodeRoster, rosterKeyOf } from '../../../runtime/protocol/roster-seal';
import { encodeEmbedding } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../../runtime/sync/roster-store-sink';
import type { IncomingMessage } from '../../../runtime/sync/transport';
import { admin } from '../../harness/admin';
import { MosquittoBroker } from '../../harness/mosquitto';
import { TestPki } from '../../harness/pki';
import { makeTerminal, mqttTransport, type TestTerminal } from '../../harness/sync-site';
import { waitFor } from '../../harness/wait';
import { MODEL, writeSecret } from '../../runtime/roster/fixtures';

const PASS = 'correct horse battery staple';
const DIM = 512;

/** A distinct unit embedding per person (its bytes are looked for on the broker). */
function embedding(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.sin(seed * 1000 + i * 0.37);
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}

interface Door {
  id: string;
  store: RosterStore;
  term: TestTerminal;
  dir: string;
}

describe('per-door rosters through the hub', () => {
  let dir: string;
  let pki: TestPki;
  let broker: MosquittoBroker;
  let c: Community;
  let hub: CommunityHub;
  let signingPub: KeyObject;
  const doors = new Map<string, Door>();
  const spied: IncomingMessage[] = [];
  let spy: ReturnType<typeof mqttTransport>;
  const seeds = new Map<string, number>();

  function openDoor(id: string, folder: string): Door {
    const store = RosterStore.open({ path: join(folder, 'roster.db'), secretFile: join(folder, 'device.secret'), logger: silentLogger() });
    const raw = c.db.rosterKey(id);
    if (!raw) throw new Error(`no roster key for ${id}`);
    const term = makeTerminal({ broker, pki, id, dbPath: join(folder, 'sync.db'), hubPublicKey: signingPub, overrides: { rosterKey: rosterKeyOf(raw), roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS } } });
    term.client.start();
    return { id, store, term, dir: folder };
  }

  async function closeDoor(d: Door): Promise<void> {
    await d.term.stop();
    d.store.close();
  }

  function door(id: string): Door {
    const d = doors.get(id);
    if (!d) throw new Error(`no door ${id}`);
    return d;
  }

  /** Person ids active in a door's roster. */
  const held = (d: Door): string[] => [...new Set(d.store.loadTemplates().templates.map((t) => t.personId))].sort();

  function enrol(personId: string, access: { doorIds?: string[]; buildingIds?: string[] }, kind: 'resident' | 'alert' = 'resident'): void {
    const seed = seeds.size + 1;
    seeds.set(personId, seed);
    c.db.savePerson({
      personId,
      kind,
      status: 'active',
      label: `Name of ${personId}`,
      note: `Note on ${personId}`,
      templates: [{ templateId: `${personId}-t0`, modelId: MODEL, embedding: encodeEmbedding(embedding(seed)) }],
      authorisations: kind === 'alert' ? [] : [{ doorIds: access.doorIds ?? [], buildingIds: access.buildingIds ?? [] }],
      tags: kind === 'alert' ? ['missing-person'] : [],
      photoKey: newPhotoKey(),
      photos: [],
    }, Date.now());
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'doorway-per-door-'));
    pki = TestPki.create(join(dir, 'pki'));
    broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
    c = initCommunity({ dir: join(dir, 'community'), passphrase: PASS, actor: 'it-wang', now: Date.now() });
    signingPub = createPublicKey(c.signingPublicKeyPem());
    const now = Date.now();
    for (const [id, doorId, buildingId] of [['t-a', 'door-a', 'b1'], ['t-b', 'door-b', 'b1'], ['t-c', 'door-c', 'b2'], ['t-gate', 'gate-1', 'gates']] as const) {
      c.db.tx(() => {
        c.db.addTerminal({ id, doorId, buildingId, serial: id, createdAt: now });
        c.db.createRosterKey(id, now);
      });
    }
    enrol('ann', { doorIds: ['door-a', 'gate-1'] });
    enrol('bo', { buildingIds: ['b1'], doorIds: ['gate-1'] });
    enrol('cy', { buildingIds: ['b2'], doorIds: ['gate-1'] });
    hub = await startCommunityHub({ community: c, passphrase: PASS, clock: new SystemClock(), log: silentLogger(), transport: mqttTransport(broker, pki, 'hub'), pollMs: 50 });
    spy = mqttTransport(broker, pki, 'spy');
    let subscribed = false;
    spy.start({ onConnect: () => void spy.subscribe(['#']).then(() => (subscribed = true)), onDisconnect: () => undefined, onMessage: (m) => spied.push(m) }, null);
    await waitFor(() => subscribed, 15_000, 'spy subscribed');
    for (const id of ['t-a', 't-b', 't-c', 't-gate']) {
      const folder = join(dir, id);
      mkdirSync(folder);
      writeSecret(join(folder, 'device.secret'));
      doors.set(id, openDoor(id, folder));
    }
    await waitFor(() => held(door('t-gate')).length === 3 && held(door('t-c')).length === 1, 20_000, 'the first rosters');
  }, 60_000);

  afterAll(async () => {
    for (const d of doors.values()) await closeDoor(d);
    await spy.stop();
    await hub.stop();
    c.close();
    await broker.stop();
  });

  it('gives each terminal only the persons allowed at its door, directly or through its building', async () => {
    await waitFor(() => held(door('t-a')).length === 2 && held(door('t-b')).length === 1, 15_000, 'doors A and B have their persons');
    expect(held(door('t-a'))).toEqual(['ann', 'bo']);
    expect(held(door('t-b'))).toEqual(['bo']);
    expect(held(door('t-c'))).toEqual(['cy']);
    expect(held(door('t-gate'))).toEqual(['ann', 'bo', 'cy']);
  });

  it('sends a person allowed at door A only to door A, not to door B', async () => {
    enrol('dee', { doorIds: ['door-a'] });
    await waitFor(() => held(door('t-a')).includes('dee'), 15_000, 'door A has dee');
    await hub.tick();
    expect(held(door('t-b'))).toEqual(['bo']);
    expect(held(door('t-gate'))).not.toContain('dee');
  });

  it('moves a person into and out of exactly the doors their new access names', async () => {
    await updatePerson(admin(c), { id: 'dee', doors: ['door-b'] });
    await waitFor(() => held(door('t-b')).includes('dee') && !held(door('t-a')).includes('dee'), 15_000, 'dee moved from door A to door B');
    expect(held(door('t-c'))).toEqual(['cy']);
  });

  it('gives an alert subject to every door', async () => {
    enrol('eve', {}, 'alert');
    await waitFor(() => [...doors.values()].every((d) => held(d).includes('eve')), 15_000, 'every door has the alert subject');
  });

  it('removes a revoked person from every terminal that held them', async () => {
    revokePerson(admin(c), { id: 'bo' });
    await waitFor(() => ['t-a', 't-b', 't-gate'].every((id) => !held(door(id)).includes('bo')), 15_000, 'bo gone from doors A, B and the gate');
    expect(held(door('t-c'))).toEqual(['cy', 'eve']);
    // Nothing of bo is left in roster_log (ids only) or in the hub's roster (a tombstone).
    const b64 = encodeEmbedding(embedding(seeds.get('bo') ?? 0));
    const log = JSON.stringify(c.db.db.prepare('SELECT * FROM roster_log').all());
    expect(c.db.rosterChanges(0).some(([, ch]) => ch.persons.some((x) => x.id === 'bo'))).toBe(true);
    expect(log).not.toContain(b64.slice(0, 24));
    expect(log).not.toContain('Name of bo');
    expect(hub['ctx'].roster.item('bo')).toEqual({ revokedPersonId: 'bo' });
  });

  it('never keeps a name at a terminal', () => {
    for (const d of doors.values()) {
      for (const id of held(d)) expect(d.store.getPerson(id)?.label).toBeUndefined();
    }
  });

  it('catches up a terminal that was offline during changes', async () => {
    const c1 = door('t-c');
    await closeDoor(c1);
    enrol('fay', { buildingIds: ['b2'] });
    await updatePerson(admin(c), { id: 'cy', doors: ['door-a'], buildings: [] });
    enrol('gus', { doorIds: ['door-a'] }); // not for door C: nothing to catch up on
    await waitFor(() => held(door('t-a')).includes('gus') && held(door('t-a')).includes('cy'), 15_000, 'door A has cy and gus');
    const again = openDoor('t-c', c1.dir);
    doors.set('t-c', again);
    await waitFor(() => held(again).join() === ['eve', 'fay'].join(), 15_000, 'door C caught up: fay in, cy out');
    expect(again.store.version()).toBe(hub.version());
  });

  it('never lets the broker carry a template or a name in clear, and no terminal can open another terminal\'s roster', async () => {
    await hub.tick();
    const rosterMsgs = spied.filter((m) => m.topic.startsWith('hub/') && m.topic.endsWith('/roster'));
    expect(rosterMsgs.length).toBeGreaterThan(4);
    expect(spied.some((m) => m.topic === 'hub/roster/all')).toBe(false);
    for (const [personId, seed] of seeds) {
      const raw = Buffer.from(encodeEmbedding(embedding(seed)), 'base64');
      const b64 = encodeEmbedding(embedding(seed));
      const needles = [raw.subarray(0, 16), raw.subarray(100, 116), Buffer.from(b64.slice(0, 24)), Buffer.from(b64.slice(400, 424)), Buffer.from(`Name of ${personId}`), Buffer.from(`Note on ${personId}`)];
      for (const m of spied) for (const n of needles) expect(m.payload.indexOf(n)).toBe(-1);
    }
    // Door B's key does not open a roster sealed to door A, whichever terminal id it claims.
    const toA = rosterMsgs.find((m) => m.topic === 'hub/t-a/roster');
    if (!toA) throw new Error('no roster message to door A');
    const keyB = rosterKeyOf(c.db.rosterKey('t-b') ?? Buffer.alloc(0));
    const keyA = rosterKeyOf(c.db.rosterKey('t-a') ?? Buffer.alloc(0));
    expect(() => decodeRoster(toA.payload, signingPub, 4 << 20, 't-b', keyB)).toThrow(expect.objectContaining({ reason: 'wrong-terminal' }) as ProtocolRejectError);
    expect(() => decodeRoster(toA.payload, signingPub, 4 << 20, 't-a', keyB)).toThrow(expect.objectContaining({ reason: 'roster-unsealed' }) as ProtocolRejectError);
    expect(decodeRoster(toA.payload, signingPub, 4 << 20, 't-a', keyA).kind).toMatch(/^roster\./);
  });
});
