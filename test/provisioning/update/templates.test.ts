/**
 * A bundle with another embedding model: the rollout is refused until the hub has made every active
 * person's templates of that model from their enrolment photos, with the bundle's own models (real
 * ONNX files inside a real bundle, real photos, the real face pipeline). The bundle's embedding model
 * here is the same network under a new id, so the new templates must equal the old ones: they were
 * computed, not copied under a new name, and computed with the bundle's manifest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { defaultModelDir } from '../../../models/manifest';
import { FacePipeline } from '../../../models/pipeline';
import { pipelineEnroller } from '../../../provisioning/admin/enrol';
import { addPerson } from '../../../provisioning/admin/persons';
import { addTerminal } from '../../../provisioning/admin/terminals';
import type { Community } from '../../../provisioning/community';
import { buildBundle } from '../../../provisioning/update/build';
import { publishBundle } from '../../../provisioning/update/bundles';
import { Rollouts } from '../../../provisioning/update/rollouts';
import { prepareTemplates } from '../../../provisioning/update/templates';
import { FRANCK_STILLS, testFile } from '../../fixtures/photos';
import { admin } from '../../harness/admin';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { modelManifestWithEmbed, runtimeTree, tempDir } from '../../harness/update';

const NEXT_MODEL = 'faceplugin@0.0.2/fr_feature';
let c: Community;
let pipeline: FacePipeline;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  c = makeCommunity('templates test community');
  pipeline = await FacePipeline.load();
  addTerminal(admin(c, { passphrase: PASSPHRASE }), { id: 't1', doorId: 'door-t1', out: join(tempDir('terminal'), 't1') });
  await addPerson(admin(c, { enroller: pipelineEnroller(pipeline) }), { id: 'p-franck', photos: [0, 1, 10].map((i) => testFile(FRANCK_STILLS[i] ?? FRANCK_STILLS[0]!)), doors: ['door-t1'] });
  // the release: the real model files, its manifest naming the embedding model anew
  const models = Object.fromEntries(readdirSync(defaultModelDir()).filter((f) => f.endsWith('.onnx')).map((f) => [`models/${f}`, readFileSync(join(defaultModelDir(), f))]));
  const tree = runtimeTree(tempDir('tree'), { version: '0.2.0', files: { ...models, 'dist/models/manifest.json': modelManifestWithEmbed(NEXT_MODEL) } });
  const b = await buildBundle(c, { from: tree, version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('b'), '0.2.0.bundle'), passphrase: PASSPHRASE, now: clock.now(), actor: 'it-wang' });
  await publishBundle(c, b.file, { arch: 'arm64', actor: 'it-wang', now: clock.now() });
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
  c?.close();
});

it("makes each active person's templates of the bundle's embedding model from the enrolment photos with the bundle's models, keeps the old ones, and the rollout may then start", async () => {
  const rollouts = new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: (n) => `https://hub.test:8443/updates/${n}` });
  expect(() => rollouts.start({ version: '0.2.0' }, 'it-wang')).toThrow(/1 active person\(s\) have face templates but none of the bundle's embedding model faceplugin@0\.0\.2\/fr_feature/);

  const before = c.db.person('p-franck');
  const r = await prepareTemplates(c, { version: '0.2.0', actor: 'it-wang', now: clock.now() });
  expect(r).toMatchObject({ model: NEXT_MODEL, added: ['p-franck'], failed: [] });
  const after = c.db.person('p-franck');
  const old = (before?.templates ?? []).filter((t) => t.modelId === pipeline.modelId);
  const made = (after?.templates ?? []).filter((t) => t.modelId === NEXT_MODEL);
  expect(old.length).toBeGreaterThan(0);
  expect(after?.templates.filter((t) => t.modelId === pipeline.modelId)).toEqual(old);
  expect(made.map((t) => t.embedding)).toEqual(old.map((t) => t.embedding));
  expect(after?.rev).toBeGreaterThan(before?.rev ?? 0); // published to the terminals with the next roster delta

  // nothing left to do a second time; the rollout starts
  expect(await prepareTemplates(c, { version: '0.2.0', actor: 'it-wang', now: clock.now() })).toMatchObject({ added: [], failed: [] });
  expect(rollouts.start({ version: '0.2.0' }, 'it-wang').state.phase).toBe('running');
  expect(c.db.auditPage({ limit: 10, action: 'update.templates' })[0]?.detail).toMatchObject({ model: NEXT_MODEL, added: 1 });
}, 120_000);
