/**
 * `npx tsx bench/liveness/write-clips.ts`: writes one clip of each kind (genuine, print, replay, static)
 * from the test split as H.264 files into .cache/liveness/demo/, for `doorway liveness` by hand:
 *   node bin/doorway.js liveness .cache/liveness/demo/*.mp4
 */
import { spawn } from 'node:child_process';
import { programPath } from '../../core/programs';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeImage } from '../../models/decode';
import type { RawFrame } from '../../models/image';
import { videoFrames } from '../../models/liveness/video';
import { FacePipeline } from '../../models/pipeline';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../../test/fixtures/photos';
import { cacheDir, SPEC } from './dataset';
import { printAttack, replayAttack, staticAttack } from './synth';

async function encode(frames: Iterable<RawFrame>, file: string): Promise<void> {
  const proc = spawn(programPath('ffmpeg'), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${SPEC.width}x${SPEC.height}`, '-r', String(SPEC.fps), '-i', '-', '-c:v', 'libx264', '-crf', '23', '-pix_fmt', 'yuv420p', file], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((res, rej) => proc.on('close', (c) => (c === 0 ? res() : rej(new Error(`ffmpeg exited ${c}`)))));
  for (const f of frames) if (!proc.stdin.write(f.data)) await new Promise((r) => proc.stdin.once('drain', r));
  proc.stdin.end();
  await done;
}

async function main(): Promise<void> {
  const dir = resolve(cacheDir(), 'demo');
  mkdirSync(dir, { recursive: true });
  const frames: RawFrame[] = [];
  for await (const tf of videoFrames(testFile(FRANCK_VIDEO), { startS: 150, durationS: 3 })) frames.push(tf.frame);
  const pipeline = await FacePipeline.load();
  const image = await decodeImage(testFile(FRANCK_STILLS[1]!));
  const face = (await pipeline.process(image, { largestOnly: true, embedding: false }))[0];
  await pipeline.close();
  if (!face) throw new Error('no face in the still');
  const spec = { ...SPEC, frames: frames.length };
  await encode(frames, resolve(dir, 'genuine.mp4'));
  await encode(printAttack({ image, box: face.box }, spec, 42), resolve(dir, 'print.mp4'));
  await encode(replayAttack(frames, spec, 43), resolve(dir, 'replay.mp4'));
  await encode(staticAttack({ image, box: face.box }, spec, 44), resolve(dir, 'static.mp4'));
  console.log(`wrote genuine, print, replay, static .mp4 into ${dir}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
