/**
 * Integration: `doorway liveness` with the real models on a short clip cut from franck.mp4 (a live
 * person) and on an image sequence that repeats one still photo (a static attack); and on held-out
 * windows of both genuine men of the liveness evaluation (franck.mp4 after 100 s, the other man's cap13).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programPath } from '../../../core/programs';
import { run } from '../../../runtime/cli';
import { FRANCK_STILLS, FRANCK_VIDEO, OTHER_VIDEOS, testFile } from '../../fixtures/photos';

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'doorway-liveness-'));

describe('doorway liveness', () => {
  it('prints one JSON line per clip with the documented fields, and denies a repeated still photo', async () => {
    const clip = join(dir, 'live.mp4');
    execFileSync(programPath('ffmpeg'), ['-v', 'error', '-ss', '30', '-i', testFile(FRANCK_VIDEO), '-t', '1.6', '-c:v', 'libx264', '-crf', '23', '-an', clip]);
    const still = join(dir, 'still');
    mkdirSync(still, { recursive: true });
    for (let i = 0; i < 30; i++) symlinkSync(testFile(FRANCK_STILLS[3]!), join(still, `f${String(i).padStart(3, '0')}.jpg`));
    const r = await cli('liveness', '--json', '--policy', 'fast', clip, still);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(2);
    const [a, b] = r.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(a!)).toEqual(['file', 'live', 'verdict', 'score', 'reasons', 'frames_used', 'decision_ms']);
    expect(a).toMatchObject({ file: clip });
    expect(typeof a!['score']).toBe('number');
    expect(b).toMatchObject({ file: still, live: false, verdict: 'not-live' });
    expect(b!['decision_ms'] as number).toBeLessThanOrEqual(1000);
  }, 120_000);

  it('calls a held-out window of each of the two men live under the balanced policy', async () => {
    // windows the evaluation held out (bench/liveness/dataset.ts) and judges live: franck.mp4 at 160 s,
    // cap13 (the other man's test recording) at 15 s; cut without re-encoding artefacts beyond crf 18
    const cut = (src: string, startS: number, name: string): string => {
      const out = join(dir, name);
      execFileSync(programPath('ffmpeg'), ['-v', 'error', '-ss', String(startS), '-i', src, '-t', '2.6', '-c:v', 'libx264', '-crf', '18', '-an', out]);
      return out;
    };
    const franck = cut(testFile(FRANCK_VIDEO), 160, 'franck-160.mp4');
    const other = cut(testFile(OTHER_VIDEOS[1]!), 15, 'cap13-15.mp4');
    const r = await cli('liveness', '--json', '--policy', 'balanced', franck, other);
    expect(r.err).toEqual([]);
    const verdicts = r.out.map((l) => JSON.parse(l) as { file: string; live: boolean; reasons: string[] });
    expect(verdicts.map((v) => [v.file, v.live])).toEqual([
      [franck, true],
      [other, true],
    ]);
  }, 120_000);

  it('rejects an unknown policy before loading any model', async () => {
    const r = await cli('liveness', '--policy', 'lenient', 'x.mp4');
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/policy/);
  });

  it('reports a missing file on stderr and exits non-zero', async () => {
    const r = await cli('liveness', join(dir, 'missing.mp4'));
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/missing\.mp4/);
  }, 60_000);
});
