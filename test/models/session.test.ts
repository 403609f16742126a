/** A missing or corrupted model file stops start-up with an error naming the file and the fix. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir, entry, loadManifest, ManifestSchema } from '../../models/manifest';
import { FacePipeline } from '../../models/pipeline';
import { ModelFileError, loadModel, verifyModelFile } from '../../models/session';

const manifest = loadManifest();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorway-models-'));
  for (const m of manifest.models) copyFileSync(join(defaultModelDir(), m.file), join(dir, m.file));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('model files', () => {
  it('refuses a corrupted model file before onnxruntime loads it', async () => {
    const e = entry(manifest, 'embed');
    const p = join(dir, e.file);
    const bytes = readFileSync(p);
    const mid = bytes.length >> 1;
    bytes[mid] = (bytes[mid] ?? 0) ^ 0xff; // one flipped byte
    writeFileSync(p, bytes);
    await expect(loadModel(dir, e, { intraOpThreads: 1, interOpThreads: 1 })).rejects.toThrow(ModelFileError);
    expect(() => verifyModelFile(dir, e)).toThrow(/fr_feature\.onnx is corrupted .*npm run models/);
  });

  it('refuses a missing model file and names the fix', async () => {
    rmSync(join(dir, 'fr_pose.onnx'));
    await expect(FacePipeline.load({ modelDir: dir })).rejects.toThrow(/fr_pose\.onnx is missing: run `npm run models`/);
  });

  it('loads and warms up when every file verifies', async () => {
    const m = await loadModel(dir, entry(manifest, 'landmarks'), { intraOpThreads: 1, interOpThreads: 1 });
    const out = await m.run(new Float32Array(64 * 64));
    expect(out['output']).toHaveLength(136);
    await m.session.release();
  });
});

describe('model manifest', () => {
  it('declares every role once with its source, checksum and input shape', () => {
    expect(manifest.models.map((m) => m.role).sort()).toEqual(['detect', 'embed', 'eye', 'landmarks', 'liveness', 'pose']);
    for (const m of manifest.models) expect(m.source.package).toBe('faceplugin-face-recognition-js');
  });

  it('rejects unknown fields and a missing role', () => {
    const raw = JSON.parse(readFileSync(join(__dirname, '../../models/manifest.json'), 'utf8')) as { models: unknown[] };
    expect(ManifestSchema.safeParse({ ...raw, extra: 1 }).success).toBe(false);
    expect(ManifestSchema.safeParse({ ...raw, models: raw.models.slice(1) }).success).toBe(false);
  });
});
