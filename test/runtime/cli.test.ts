// ARM64 CI run (scripts/arm64/README.md, boundary mode): sharp makes a blank fixture image here; under `doorway faces` and `compare` the pipeline and
// sharp's decoding are proven on ARM64 by the files named below, and scripts/arm64/rootfs.ts runs both
// commands inside the arm64 image in every CI run.
// arm64 boundary: covered by test/models/pipeline.test.ts, test/models/session.test.ts, test/arm64/inference.test.ts
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run } from '../../runtime/cli';
import { DEFAULT_MATCH_THRESHOLD } from '../../models/thresholds';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../fixtures/photos';

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const franckA = testFile(FRANCK_STILLS[0]!);
const franckB = testFile(FRANCK_STILLS[10]!);
const group = testFile(GROUP_PHOTOS[6]!); // faces.jpg, three men

describe('doorway faces', () => {
  it('prints one JSON line per image with exactly the documented fields', async () => {
    const r = await cli('faces', '--json', franckA, group);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(2);
    const first = JSON.parse(r.out[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(['file', 'width', 'height', 'faces']);
    expect(first).toMatchObject({ file: franckA, width: 720, height: 576 });
    const face = (first['faces'] as Record<string, unknown>[])[0]!;
    expect(Object.keys(face)).toEqual(['box', 'score', 'landmarks5', 'quality', 'liveness', 'embedding', 'model']);
    expect(face['box']).toHaveLength(4);
    expect(face['landmarks5']).toHaveLength(5);
    expect(face['embedding']).toHaveLength(512);
    expect(face['quality']).toMatchObject({ ok: true, reasons: [] });
    expect(typeof face['liveness']).toBe('number');
    expect((JSON.parse(r.out[1]!) as { faces: unknown[] }).faces).toHaveLength(3);
  });

  it('reports an unreadable and a non-image file on stderr, still processes the rest, and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorway-cli-'));
    const notImage = join(dir, 'notes.jpg');
    writeFileSync(notImage, 'this is not a picture');
    const r = await cli('faces', notImage, join(dir, 'missing.png'), franckA);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(2);
    expect(r.err[0]).toContain('notes.jpg');
    expect(r.err[1]).toContain('missing.png');
    expect(r.out).toHaveLength(1);
    expect(r.out[0]).toMatch(/franck_01829\.jpg 720x576: 1 face/);
  });

  it('refuses a call without files as a usage error', async () => {
    const r = await cli('faces', '--json');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/at least one image/);
  });
});

describe('doorway compare', () => {
  it('says two photos of the same man are the same person', async () => {
    const r = await cli('compare', '--json', franckA, franckB);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out[0]!) as { similarity: number; threshold: number; same: boolean };
    expect(Object.keys(j)).toEqual(['similarity', 'threshold', 'same']);
    expect(j.threshold).toBe(DEFAULT_MATCH_THRESHOLD);
    expect(j.same).toBe(true);
    expect(j.similarity).toBeGreaterThan(j.threshold);
  });

  it('says different people are different', async () => {
    const j = JSON.parse((await cli('compare', '--json', franckA, group)).out[0]!) as { similarity: number; same: boolean };
    expect(j.same).toBe(false);
    expect(j.similarity).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
  });

  it('fails clearly when an image has no face', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorway-cli-'));
    const blank = join(dir, 'blank.png');
    const sharp = (await import('sharp')).default;
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#777777' } }).png().toFile(blank);
    const r = await cli('compare', franckA, blank);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/blank\.png: no face found/);
  });
});

describe('the doorway executable', () => {
  it('runs from bin/doorway.js and exits non-zero on an unknown command', async () => {
    const bin = join(__dirname, '../../bin/doorway.js');
    const ok = await promisify(execFile)(process.execPath, [bin, 'help']);
    expect(ok.stdout).toContain('faces [--json] FILE...');
    await expect(promisify(execFile)(process.execPath, [bin, 'fly'])).rejects.toMatchObject({ code: 2 });
  });
});
