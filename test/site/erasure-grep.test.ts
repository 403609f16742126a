/**
 * Erasure that is real (issue 16 item 2), shown on a whole community: real mosquitto on the generated
 * configuration, the hub service with its folders (hub.db, events.db, photos/), a terminal started from
 * its bundle (real models, encrypted roster) that stays online, and a second terminal whose persistent
 * session is offline, so the broker queues the roster for it. Two persons are enrolled from real photos:
 * one added by staff with a label and a note, one registered through the tenant app with a name, a
 * room, an identity number and the identity document's photo. After they are revoked and the broker is
 * stopped cleanly, no file under the community folder (the broker's data folder is inside it) holds
 * their name, label, note, room, masked number, any stretch of their templates (float32 bytes or
 * base64) or of their photos.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import mqtt from 'mqtt';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { FacePipeline } from '../../models/pipeline';
import { addPerson, addTerminal, BrokerProcess, erasureStatus, initCommunity, pipelineEnroller, revokePerson, startCommunityHub, type Community, type CommunityHub, type Enroller, type TerminalBundle } from '../../provisioning';
import { approveRegistration, submitRegistration } from '../../provisioning/api/registrations';
import { FakeRealNameCheck } from '../../provisioning/api/realname';
import { freeLoopbackPort } from '../../provisioning/ports';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';
import { startBundleTerminal, type BundleTerminal } from '../harness/bundle-terminal';
import { admin } from '../harness/admin';
import { sleep, waitFor } from '../harness/wait';

const PASS = 'erasure-grep-pass';
const LABEL = 'Zelda Quixbottom-Erasure';
const NOTE = 'Quixbottom-note-7731: carries a red umbrella';
const NAME = '欧阳觅真';
const ID_NUMBER = '110101199003079999';
const ROOM = 'Q-7731';

let root: string;
let community: Community;
let broker: BrokerProcess;
let hub: CommunityHub;
let pipeline: FacePipeline;
let enroller: Enroller;
let t1: TerminalBundle;
let t2: TerminalBundle;
let door: BundleTerminal | null = null;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'erasure-grep-'));
  const port = await freeLoopbackPort();
  community = initCommunity({ dir: join(root, 'community'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${port}`, timeZone: 'Asia/Shanghai', heartbeatMs: 1000, actor: 'it-staff', now: Date.now() });
  t1 = addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't1', doorId: 'door-1', buildingId: 'b-1', out: join(root, 'bundle-t1') });
  t2 = addTerminal(admin(community, { passphrase: PASS, actor: 'installer' }), { id: 't2', doorId: 'door-2', buildingId: 'b-1', out: join(root, 'bundle-t2') });
  broker = new BrokerProcess(community, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
  hub = await startCommunityHub({ clock: new SystemClock(), community, passphrase: PASS, pollMs: 100, log: silentLogger() });
  pipeline = await FacePipeline.load();
  enroller = pipelineEnroller(pipeline);
}, 60_000);

afterAll(async () => {
  await door?.stop();
  await hub?.stop();
  await broker?.stop();
  await pipeline?.close();
  community?.close();
});

/** Every file under `dir`, recursively (links are not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Stretches of `b` of `size` bytes at every `size` (a copy split across database pages still shows one). */
function windows(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + size <= b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/** Which needles each file holds, binary-safe: `file: what`. */
function grep(dir: string, needles: Array<{ what: string; bytes: Buffer[] }>): string[] {
  const hits: string[] = [];
  for (const f of filesUnder(dir)) {
    if (statSync(f).size === 0) continue;
    const data = readFileSync(f);
    for (const n of needles) if (n.bytes.some((b) => data.includes(b))) hits.push(`${relative(dir, f)}: ${n.what}`);
  }
  return [...new Set(hits)].sort();
}

describe('erasure that is real', () => {
  it('leaves no name, note, template or photo of a revoked person in any file of the community folder or the broker', async () => {
    // t2 goes offline with a persistent session: the broker queues every roster message for it.
    const f = (n: string): Buffer => readFileSync(join(t2.dir, n));
    const offline = await mqtt.connectAsync(community.config.brokerUrl, { clientId: 't2', clean: false, ca: f('ca.crt'), cert: f('device.crt'), key: f('device.key'), protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    await offline.subscribeAsync(['hub/t2/#', 'hub/roster/all'], { qos: 1 });
    await offline.endAsync();

    door = await startBundleTerminal(t1);
    await waitFor(() => door?.notices.includes('hub connected'), 20_000, 'terminal t1 to connect');

    // A resident added by staff, with a label and a note, from three real photos.
    const staffPhotos = [0, 1, 2].map((i) => testFile(FRANCK_STILLS[i]!));
    await addPerson(admin(community, { enroller, actor: 'manager-li' }), { id: 'p-zelda', label: LABEL, note: NOTE, photos: staffPhotos, doors: ['door-1', 'door-2'] });
    // A tenant registered through the app (name, identity number, room, selfies; the identity
    // document's photo from the real-name check), approved by the manager.
    const idPhoto = testFile(FRANCK_STILLS[5]!);
    const selfies = [3, 4].map((i) => testFile(FRANCK_STILLS[i]!));
    const port = { community, clock: new SystemClock(), now: Date.now(), actor: 'tenant' };
    const reg = await submitRegistration(port, new FakeRealNameCheck([{ name: NAME, idNumber: ID_NUMBER, photo: idPhoto }]), enroller, {
      name: NAME, idNumber: ID_NUMBER, buildingId: 'b-1', room: ROOM, photos: selfies.map((p) => ({ contentType: 'image/jpeg' as const, data: readFileSync(p).toString('base64') })),
    });
    await approveRegistration({ ...port, now: Date.now(), actor: 'manager-li' }, reg.id, { doors: ['door-1', 'door-2'] }, enroller);

    const ids = ['p-zelda', reg.personId];
    const persons = ids.map((id) => community.db.person(id)!);
    const templates = persons.flatMap((p) => p.templates.map((t) => Buffer.from(t.embedding, 'base64')));
    expect(templates.length).toBe(3 + 2 + 1);
    const needles = [
      { what: 'label', bytes: [Buffer.from(LABEL)] },
      { what: 'note', bytes: [Buffer.from(NOTE)] },
      { what: 'registered name', bytes: [Buffer.from(NAME)] },
      { what: 'room', bytes: [Buffer.from(ROOM)] },
      { what: 'masked identity number', bytes: [Buffer.from(reg.idNumberMasked)] },
      { what: 'template float32 bytes', bytes: templates.flatMap((t) => windows(t, 48)) },
      { what: 'template base64', bytes: templates.flatMap((t) => windows(Buffer.from(t.toString('base64')), 64)) },
      { what: 'photo bytes', bytes: [...staffPhotos, ...selfies, idPhoto].flatMap((p) => windows(readFileSync(p), 4096).slice(1, 4)) },
    ];
    const published = (): boolean => ids.every((id) => { const p = community.db.person(id); return p !== null && p.publishedRev >= p.rev; });
    await waitFor(published, 15_000, 'both persons published');
    await door.rosterAt(community.db.rosterVersion());
    // The test can fail: while they are enrolled, the names, note, room and number are there to be found.
    // Templates and photos are not, in any form: they are encrypted at rest (test/provisioning/store/
    // at-rest.test.ts shows this grep finding them when a copy is left in clear); they are still looked
    // for after the revocation, in case a copy escapes the encryption.
    const before = grep(community.paths.dir, needles).map((h) => h.replace(/^.*: /, ''));
    expect(new Set(before)).toEqual(new Set(['label', 'note', 'registered name', 'room', 'masked identity number']));

    for (const id of ids) revokePerson(admin(community, { actor: 'manager-li' }), { id, reason: 'moved out' });
    await waitFor(published, 15_000, 'the tombstones published');
    await door.rosterAt(community.db.rosterVersion());
    await sleep(500); // the hub's next ticks (compaction runs in the tick that publishes)

    // The online door confirms the deletion with its next heartbeat; the offline one is still pending.
    await waitFor(() => erasureStatus(admin(community), { id: 'p-zelda' }).confirmed.length > 0, 10_000, 't1 to confirm');
    // Per-door rosters: only the terminals the tombstone was sent to are waited for (t2, offline since
    // before it was ever sent a roster, never held them: it will get a snapshot of its scope).
    for (const id of ids) {
      const status = erasureStatus(admin(community), { id });
      const sentTo = community.db.rosterChanges((status.tombstoneVersion ?? 1) - 1)[0]?.[1].terminals ?? [];
      expect(status).toMatchObject({ kind: 'revoke', requestedBy: 'manager-li', confirmed: [{ terminalId: 't1' }], pending: sentTo.filter((t) => t !== 't1') });
    }

    await broker.stop(); // cleanly: a broker with persistence writes its file now
    expect(grep(community.paths.dir, needles)).toEqual([]);
  }, 120_000);
});
