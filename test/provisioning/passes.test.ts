/**
 * Passes and credentials on the hub side, end to end without a broker: `provision pass issue` writes a
 * real QR image that `doorway pass check` reads and judges against the terminal's own data; a revocation
 * goes out in the next signed roster delta the hub service publishes, and once the terminal applies it
 * the same image is refused as revoked. Cards and PINs reach the roster as digests only.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { run as provision } from '../../provisioning/cli';
import { addPerson, addTerminal, Community, HubService, initCommunity, setCredentials, type Enroller } from '../../provisioning';
import { run as doorway } from '../../runtime/cli';
import { loadConfig } from '../../runtime/config';
import { credentialDigest, credentialKeyFromFile } from '../../runtime/access/digest';
import { RosterDeltaSchema, SignedEnvelopeSchema } from '../../runtime/protocol/schemas';
import { RosterStore } from '../../runtime/roster/store';
import { ROSTER_STORE_SCHEMAS } from '../../runtime/sync/roster-store-sink';
import { FakeTransport } from '../../runtime/sync/fake-transport';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { waitFor } from '../harness/wait';

const PASS = 'passes-test-passphrase';
let root: string;
let c: Community;
let bundle: string;

async function cli(run: typeof provision, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-passes-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, timeZone: 'Asia/Shanghai' });
  bundle = join(root, 'gate-1');
  addTerminal(c, { id: 'gate-1', doorId: 'gate-1', buildingId: 'b-1', out: bundle, passphrase: PASS });
  process.env['PROVISION_PASSPHRASE'] = PASS;
  process.env['PROVISION_ACTOR'] = 'ops-li';
}, 60_000);

afterAll(() => {
  c.close();
  delete process.env['PROVISION_PASSPHRASE'];
  delete process.env['PROVISION_ACTOR'];
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
    expect(rec).toMatchObject({ doors: ['gate-1'], uses: 1, label: 'visitor of flat 302', issuedBy: 'ops-li', revokedAt: null });
    const audit = c.db.db.prepare("SELECT detail FROM audit WHERE action = 'pass.issue' AND subject = ?").get(info.passId) as { detail: string };
    expect(audit.detail).not.toMatch(/302/);

    const config = join(bundle, 'terminal.json');
    const check = async () => JSON.parse((await cli(doorway, 'pass', 'check', '--config', config, '--json', png)).out) as Record<string, unknown>;
    // No roster on the terminal yet: it cannot know revocations, so it admits no pass.
    expect(await check()).toMatchObject({ file: png, valid: false, reason: 'no-roster', passId: info.passId, doors: ['gate-1'] });

    // The terminal receives the roster the hub publishes (here: applied straight from the signed deltas).
    const cfg = loadConfig(config);
    const fake = new FakeTransport();
    const clock = new FakeClock(Date.now());
    const started = HubService.start({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), pollMs: 60_000 });
    await waitFor(() => fake.started, 10_000, 'the hub service to start its transport', 5);
    fake.connect();
    const svc = await started;
    const enroller: Enroller = { templates: (photos, prefix): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `${prefix}-t${i}`, modelId: 'm', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))) };
    await addPerson(c, enroller, { id: 'p-ann', photos: [png], doors: ['gate-1'] });
    await setCredentials(c, 'p-ann', { cards: [[12, 3456]], pin: '4821', duressPin: '4822' });
    await svc.tick();
    mkdirSync(cfg.paths.dataDir, { recursive: true });
    const store = RosterStore.open({ path: join(cfg.paths.dataDir, 'roster.db'), secretFile: cfg.paths.secretFile, logger: silentLogger() });
    const applyAll = (from: number): void => {
      for (const m of fake.published.filter((x) => x.topic === 'hub/roster/all')) {
        const body = RosterDeltaSchema.parse(JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(m.payload)).body));
        if (body.version > from) store.applyBatch(ROSTER_STORE_SCHEMAS.batchSchema.parse(body.batch));
      }
    };
    try {
      applyAll(0);
      store.close();
      expect(await check()).toMatchObject({ valid: true, reason: null, passId: info.passId });

      // Cards and PINs arrived as the digests the terminal computes from what is presented, nothing else.
      const delta = fake.published.find((x) => x.topic === 'hub/roster/all')?.payload ?? '';
      expect(delta).not.toMatch(/4821|3456/);
      const key = credentialKeyFromFile(cfg.paths.credentialSecretFile!);
      expect(delta).toContain(await credentialDigest('pin', '4821', key));

      expect((await cli(provision, 'pass', 'revoke', '--dir', c.paths.dir, info.passId)).code).toBe(0);
      await svc.tick();
      const reopened = RosterStore.open({ path: join(cfg.paths.dataDir, 'roster.db'), secretFile: cfg.paths.secretFile, logger: silentLogger() });
      const v = reopened.version();
      for (const m of fake.published.filter((x) => x.topic === 'hub/roster/all')) {
        const body = RosterDeltaSchema.parse(JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(m.payload)).body));
        if (body.version > v) reopened.applyBatch(ROSTER_STORE_SCHEMAS.batchSchema.parse(body.batch));
      }
      expect(reopened.isPassRevoked(info.passId)).toBe(true);
      reopened.close();
      expect(await check()).toMatchObject({ valid: false, reason: 'revoked', passId: info.passId });
      // A hub restarted later still carries the revocation in its snapshots.
      const snap = svc['roster']?.snapshot();
      expect(JSON.stringify(snap?.chunks ?? [])).toContain(info.passId);
    } finally {
      await svc.stop();
    }
  }, 120_000);

  it('refuses a pass for a door no terminal serves, and a PIN another resident holds, without saying whose', async () => {
    expect((await cli(provision, 'pass', 'issue', '--dir', c.paths.dir, '--door', 'nowhere', '--out', join(root, 'x.png'))).err).toMatch(/no active terminal serves nowhere/);
    const enroller: Enroller = { templates: (photos, prefix): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `${prefix}-t${i}`, modelId: 'm', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))) };
    await addPerson(c, enroller, { id: 'p-bob', photos: [join(root, 'visitor.png')], doors: ['gate-1'] });
    await expect(setCredentials(c, 'p-bob', { pin: '4821' })).rejects.toThrow(/not available/);
    await expect(setCredentials(c, 'p-bob', { pin: '12' })).rejects.toThrow(/4 to 8 digits/);
    await expect(setCredentials(c, 'p-bob', { pin: '5555', duressPin: '5555' })).rejects.toThrow(/differ/);
  }, 60_000);
});
