/**
 * Passes and credentials on the hub side, end to end without a broker: `provision pass issue` writes a
 * real QR image that `doorway pass check` reads and judges against the terminal's own data; a revocation
 * goes out in the next signed roster delta the hub service publishes, and once the terminal applies it
 * the same image is refused as revoked. Cards and PINs reach the roster as digests only.
 */
import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, SystemClock } from '../../core/clock';
import { serveApi } from '../../provisioning/api/endpoint';
import { FakeRealNameCheck } from '../../provisioning/api/realname';
import type { HubApi } from '../../provisioning/api/server';
import { silentLogger } from '../../core/log';
import { run as provision } from '../../provisioning/cli';
import { ulid } from 'ulid';
import { addPerson, addTerminal, Community, initCommunity, issuePassAsResident, registerPerson, setCredentials, startCommunityHub, writePassImage, type CommunityHub, type Enroller } from '../../provisioning';
import { admin } from '../harness/admin';
import { decodePass } from '../../runtime/protocol/pass';
import { topicsFor } from '../../runtime/protocol/topics';
import type { SyncEvent } from '../../runtime/protocol/schemas';
import { run as doorway } from '../../runtime/cli';
import { loadConfig } from '../../runtime/config';
import { credentialDigest, credentialKeyFromFile } from '../../runtime/access/digest';
import { decodeRoster, loadRosterKeyFile } from '../../runtime/protocol/roster-seal';
import type { RosterBody } from '../../runtime/protocol/schemas';
import { RosterStore } from '../../runtime/roster/store';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../runtime/sync/roster-store-sink';
import { FakeTransport } from '../../runtime/sync/fake-transport';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { waitFor } from '../harness/wait';

const PASS = 'passes-test-passphrase';
let root: string;
let c: Community;
let bundle: string;
let api: HubApi;

async function cli(run: typeof provision, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-passes-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, timeZone: 'Asia/Shanghai', actor: 'ops-li', now: Date.now() });
  bundle = join(root, 'gate-1');
  const ops = admin(c, { passphrase: PASS });
  addTerminal(ops, { id: 'gate-1', doorId: 'gate-1', buildingId: 'b-1', out: bundle });
  addTerminal(ops, { id: 'gate-1b', doorId: 'gate-1', buildingId: 'b-1', out: join(root, 'gate-1b') });
  addTerminal(ops, { id: 'gate-2', doorId: 'gate-2', buildingId: 'b-2', out: join(root, 'gate-2') });
  // The command line goes through the hub's API (as root with the passphrase); the roster side is the hub service below.
  api = (await serveApi({ community: c, passphrase: PASS, clock: new SystemClock(), log: silentLogger(), realName: new FakeRealNameCheck([]), enroller: NO_FACE, host: '127.0.0.1', port: 0 })).api;
  process.env['PROVISION_PASSPHRASE'] = PASS;
}, 60_000);

afterAll(async () => {
  await api.close();
  c.close();
  delete process.env['PROVISION_PASSPHRASE'];
});

describe('passes from the hub to the door', () => {
  it('issues a pass as PNG and SVG, records and audits it without its label, and the terminal judges it no-roster, then valid, then revoked', async () => {
    const png = join(root, 'visitor.png');
    const issued = await cli(provision, 'pass', 'issue', '--dir', c.paths.dir, '--door', 'gate-1', '--valid-for', '2h', '--uses', '1', '--label', 'visitor of flat 302', '--out', png, '--json');
    expect(issued.code).toBe(0);
    const info = JSON.parse(issued.out) as { passId: string; qrVersion: number };
    expect(info.qrVersion).toBeLessThanOrEqual(6);
    expect((await cli(provision, 'pass', 'issue', '--dir', c.paths.dir, '--door', 'gate-1', '--out', join(root, 'v.svg'))).code).toBe(0);
    expect(readFileSync(join(root, 'v.svg'), 'utf8')).toMatch(/^<svg /);
    const rec = c.db.pass(info.passId);
    expect(rec).toMatchObject({ doors: ['gate-1'], uses: 1, label: 'visitor of flat 302', issuedBy: 'root', revokedAt: null });
    const audit = c.db.db.prepare("SELECT detail FROM audit WHERE action = 'pass.issue' AND subject = ?").get(info.passId) as { detail: string };
    expect(audit.detail).not.toContain('flat 302'); // the label (its digits alone can be part of a timestamp)

    const config = join(bundle, 'terminal.json');
    const check = async () => JSON.parse((await cli(doorway, 'pass', 'check', '--config', config, '--json', png)).out) as Record<string, unknown>;
    // No roster on the terminal yet: it cannot know revocations, so it admits no pass.
    expect(await check()).toMatchObject({ file: png, valid: false, reason: 'no-roster', passId: info.passId, doors: ['gate-1'] });

    // The terminal receives the roster the hub publishes (here: applied straight from the signed deltas).
    const cfg = loadConfig(config);
    const fake = new FakeTransport();
    const clock = new FakeClock(Date.now());
    const startHub = async (t: FakeTransport): Promise<CommunityHub> => {
      const started = startCommunityHub({ community: c, passphrase: PASS, transport: t, clock, log: silentLogger(), pollMs: 60_000 });
      await waitFor(() => t.started, 10_000, 'the hub to start its transport', 5);
      t.connect();
      return started;
    };
    const svc = await startHub(fake);
    // The door's terminal asks for its roster as a fresh one does: the hub answers with a snapshot of its scope.
    fake.deliver(topicsFor('gate-1').requests, JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
    fake.deliver(topicsFor('gate-2').requests, JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
    const enroller: Enroller = { templates: (photos, prefix): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `${prefix}-t${i}`, modelId: 'm', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))) };
    await addPerson(admin(c, { enroller }), { id: 'p-ann', photos: [png], doors: ['gate-1'] });
    await setCredentials(admin(c), { id: 'p-ann', cards: [[12, 3456]], pin: '4821', duressPin: '4822' });
    await svc.tick();
    mkdirSync(cfg.paths.dataDir, { recursive: true });
    const store = RosterStore.open({ path: join(cfg.paths.dataDir, 'roster.db'), secretFile: cfg.paths.secretFile, logger: silentLogger() });
    // What the hub sent door gate-1, opened with the roster key of its bundle.
    const rosterKey = loadRosterKeyFile(cfg.hub?.rosterKeyFile ?? '');
    const hubKey = createPublicKey(c.signingPublicKeyPem());
    const sentToGate = (): RosterBody[] => fake.published.filter((x) => x.topic === topicsFor('gate-1').roster).map((m) => decodeRoster(Buffer.from(m.payload), hubKey, 4 << 20, 'gate-1', rosterKey));
    const applyAll = (to: RosterStore): void => {
      const sink = new RosterStoreSink(to);
      for (const body of sentToGate()) {
        if (body.kind === 'roster.snapshot' && body.version > to.version()) sink.replaceAll({ version: body.version, epoch: body.epoch, items: body.items });
        if (body.kind === 'roster.delta' && body.version > to.version()) sink.applyBatch(ROSTER_STORE_SCHEMAS.batchSchema.parse(body.batch), body.epoch, body.after);
      }
    };
    try {
      applyAll(store);
      store.close();
      expect(await check()).toMatchObject({ valid: true, reason: null, passId: info.passId });
      // Several images: one JSON line each, with exactly the issue's fields, whatever the verdict.
      const label = join(root, 'parcel-label.png');
      await writePassImage({ text: 'PARCEL 4711 FLAT 302', file: label });
      const many = await cli(doorway, 'pass', 'check', '--config', config, '--json', png, label);
      const lines = many.out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => Object.keys(l))).toEqual([KEYS, KEYS]);
      expect(lines.map((l) => [l['file'], l['valid'], l['reason']])).toEqual([[png, true, null], [label, false, 'not-a-pass']]);
      expect(many.code).toBe(1);

      // Cards and PINs arrived as the digests the terminal computes from what is presented, nothing else.
      expect(fake.published.some((x) => x.topic === 'hub/roster/all')).toBe(false);
      const delta = JSON.stringify(sentToGate().find((b) => b.kind === 'roster.delta') ?? null);
      expect(delta).not.toMatch(/4821|3456/);
      const key = credentialKeyFromFile(cfg.paths.credentialSecretFile!);
      expect(delta).toContain(await credentialDigest('pin', '4821', key));

      expect((await cli(provision, 'pass', 'revoke', '--dir', c.paths.dir, info.passId)).code).toBe(0);
      await svc.tick();
      const reopened = RosterStore.open({ path: join(cfg.paths.dataDir, 'roster.db'), secretFile: cfg.paths.secretFile, logger: silentLogger() });
      applyAll(reopened);
      expect(reopened.isPassRevoked(info.passId)).toBe(true);
      // The revocation went to the doors the pass was issued for, not to the others.
      const gate2Key = loadRosterKeyFile(join(root, 'gate-2', 'roster.key'));
      const toGate2 = fake.published.filter((x) => x.topic === topicsFor('gate-2').roster).map((m) => decodeRoster(Buffer.from(m.payload), hubKey, 4 << 20, 'gate-2', gate2Key));
      expect(toGate2.map((b) => b.kind)).toEqual(['roster.snapshot']);

      // Uses come back as the doors' entry events: counted once per event, per terminal and in total.
      const use = (): SyncEvent => ({ id: ulid(), at: Date.now(), type: 'entry.granted', personId: info.passId, credential: 'pass', passId: info.passId, score: null, liveness: null, latencyMs: 40 });
      const first = use();
      fake.deliver(topicsFor('gate-1').events, JSON.stringify({ v: 1, events: [first] }));
      fake.deliver(topicsFor('gate-1').events, JSON.stringify({ v: 1, events: [first] })); // delivered again: not a second use
      fake.deliver(topicsFor('gate-1b').events, JSON.stringify({ v: 1, events: [use()] }));
      await waitFor(() => c.db.pass(info.passId)?.used === 2, 10_000, 'both uses counted', 5);
      const listed = JSON.parse((await cli(provision, 'pass', 'list', '--dir', c.paths.dir, '--json')).out) as { passId: string; used: number; usedBy: Record<string, number> }[];
      expect(listed.find((p) => p.passId === info.passId)).toMatchObject({ used: 2, usedBy: { 'gate-1': 1, 'gate-1b': 1 } });
      expect((await cli(provision, 'pass', 'list', '--dir', c.paths.dir)).out).toContain('uses=2/1 (gate-1:1,gate-1b:1)');
      reopened.close();
      expect(await check()).toMatchObject({ valid: false, reason: 'revoked', passId: info.passId });
    } finally {
      await svc.stop();
    }
    // A hub restarted later still carries the revocation in its snapshots (hub/main.ts builds its roster from the store).
    const again = await startHub(new FakeTransport());
    try {
      expect(JSON.stringify(again['ctx'].roster.snapshot().chunks)).toContain(info.passId);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('refuses a pass for a door no terminal serves, and a PIN another resident holds, without saying whose', async () => {
    expect((await cli(provision, 'pass', 'issue', '--dir', c.paths.dir, '--door', 'nowhere', '--out', join(root, 'x.png'))).err).toMatch(/no active terminal serves nowhere/);
    const enroller: Enroller = { templates: (photos, prefix): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `${prefix}-t${i}`, modelId: 'm', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))) };
    await addPerson(admin(c, { enroller }), { id: 'p-bob', photos: [join(root, 'visitor.png')], doors: ['gate-1'] });
    await expect(setCredentials(admin(c), { id: 'p-bob', pin: '4821' })).rejects.toThrow(/not available/);
    await expect(setCredentials(admin(c), { id: 'p-bob', pin: '12' })).rejects.toThrow(/4 to 8 digits/);
    await expect(setCredentials(admin(c), { id: 'p-bob', pin: '5555', duressPin: '5555' })).rejects.toThrow(/differ/);
    await expect(setCredentials(admin(c), { id: 'p-nobody', pin: '5555' })).rejects.toMatchObject({ code: 'not-found' });
  }, 60_000);

  it('lets a resident issue a pass only for doors they may open now, ending no later than their own access, audited as theirs', async () => {
    const until = '2026-12-31';
    const now = Date.parse('2026-06-01T04:00:00Z');
    const at = (ms: number) => admin(c, { now: ms, enroller: NO_FACE, passphrase: PASS });
    await addPerson(at(now), { id: 'p-carl', photos: [], noFace: true, doors: ['gate-1'], until });
    const ok = issuePassAsResident(at(now), { personId: 'p-carl', doors: ['gate-1'], validForMs: 3 * 3600_000, uses: 1, label: 'plumber' });
    expect(ok.record).toMatchObject({ doors: ['gate-1'], issuedBy: 'p-carl', uses: 1 });
    expect(decodePass(ok.text, createPublicKey(c.signingPublicKeyPem())).ok).toBe(true);
    expect(() => issuePassAsResident(at(now), { personId: 'p-carl', doors: ['gate-2'] })).toThrow(/may not open gate-2/);
    expect(() => issuePassAsResident(at(now), { personId: 'p-carl', doors: ['gate-1'], buildings: ['b-1'] })).toThrow(/may not open building b-1/);
    expect(() => issuePassAsResident(at(Date.parse('2026-12-20T00:00:00Z')), { personId: 'p-carl', doors: ['gate-1'], validForMs: 30 * 24 * 3600_000 })).toThrow(/outlast/);
    // After the resident's access has ended: no pass at all.
    expect(() => issuePassAsResident(at(Date.parse('2027-01-02T00:00:00Z')), { personId: 'p-carl', doors: ['gate-1'] })).toThrow(/may not open gate-1/);
    await registerPerson(at(now), { id: 'p-dora', photos: [], noFace: true });
    expect(() => issuePassAsResident(at(now), { personId: 'p-dora', doors: ['gate-1'] })).toThrow(/not an active resident/);
  });
});

describe('a resident who declines face enrolment', () => {
  it('is added with --no-face (no photo, no template, the models never loaded) and is given a card instead; a photo with --no-face is refused', async () => {
    const added = await cli(provision, 'person', 'add', '--dir', c.paths.dir, '--id', 'p-eve', '--no-face', '--doors', 'gate-1');
    expect(added).toMatchObject({ code: 0 });
    expect(added.out).toMatch(/p-eve: active with no face/);
    expect(c.db.person('p-eve')).toMatchObject({ templates: [], photos: [] });
    const cards = await cli(provision, 'person', 'credentials', '--dir', c.paths.dir, 'p-eve', '--card', '7:4242');
    expect(cards.code).toBe(0);
    expect(c.db.person('p-eve')?.credentials?.cards).toHaveLength(1);
    const refused = await cli(provision, 'person', 'add', '--dir', c.paths.dir, '--id', 'p-fay', '--no-face', '--photo', join(root, 'visitor.png'), '--doors', 'gate-1');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/declines face enrolment gives no --photo/);
    expect(c.db.person('p-fay')).toBeNull();
  });
});

const KEYS = ['file', 'valid', 'reason', 'passId', 'doors', 'notAfter'];
const NO_FACE: Enroller = { templates: () => Promise.reject(new Error('no face is enrolled here')) };
