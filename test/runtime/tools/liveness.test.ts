/**
 * Integration: `doorway liveness` with the real models on a short clip cut from franck.mp4 (a live
 * person) and on an image sequence that repeats one still photo (a static attack).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../runtime/cli';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../../fixtures/photos';

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
    execFileSync('ffmpeg', ['-v', 'error', '-ss', '30', '-i', testFile(FRANCK_VIDEO), '-t', '1.6', '-c:v', 'libx264', '-crf', '23', '-an', clip]);
    const still = join(dir, 'still');
    execFileSync('mkdir', ['-p', still]);
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
