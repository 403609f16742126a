/**
 * `doorway liveness [--json] [--policy strict|balanced|fast] [--fps N] FILE...`: runs the face pipeline
 * and the liveness fusion over each video file (decoded with ffmpeg) or image-sequence directory (images
 * in name order, --fps apart) as the terminal would over one face track, and prints the verdict.
 * A clip that ends before the fusion decides is reported not live (fail closed).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { FacePipeline } from '../../models/pipeline';
import { PassiveBgr } from '../../models/liveness/passive';
import { imageSequence, type TimedFrame, videoFrames } from '../../models/liveness/video';
import { type CliIo, parseCli } from '../command-line';
import { LivenessFusion, type LivenessOutcome } from '../loop/liveness-fusion';

const IMAGE = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff']);

const LivenessArgs = z.strictObject({
  json: z.boolean().default(false),
  policy: z.enum(['strict', 'balanced', 'fast']).default('balanced'),
  fps: z.coerce.number().positive().max(240).default(24),
  positionals: z.array(z.string().min(1)).min(1, 'give at least one video file or image-sequence directory'),
});

function framesOf(file: string, fps: number): AsyncGenerator<TimedFrame> {
  if (statSync(file).isDirectory()) {
    const files = readdirSync(file)
      .filter((f) => IMAGE.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(file, f));
    return imageSequence(files, fps);
  }
  return videoFrames(file);
}

export interface ClipVerdict {
  file: string;
  live: boolean;
  verdict: LivenessOutcome['verdict'];
  score: number;
  reasons: string[];
  frames_used: number;
  decision_ms: number;
}

export async function judgeClip(pipeline: FacePipeline, passive: PassiveBgr, file: string, policy: 'strict' | 'balanced' | 'fast', fps = 24): Promise<ClipVerdict> {
  const fusion = new LivenessFusion(policy);
  let last: LivenessOutcome | null = null;
  let lastT = 0;
  for await (const { t, frame } of framesOf(file, fps)) {
    lastT = t;
    const face = (await pipeline.process(frame, { largestOnly: true, embedding: false, liveness: false }))[0];
    if (!face) continue;
    last = fusion.observe({ t, frame, face, passiveProbs: await passive.probs(frame, face.box) });
    if (last.verdict !== 'pending') break;
  }
  const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
  if (!last) return { file, live: false, verdict: 'not-live', score: 0, reasons: ['no-face'], frames_used: 0, decision_ms: Math.round(lastT) };
  const ended = last.verdict === 'pending';
  return {
    file,
    live: last.verdict === 'live',
    verdict: ended ? 'not-live' : last.verdict,
    score: r4(last.score),
    reasons: ended ? ['clip-ended-undecided', ...last.reasons.slice(1)] : last.reasons,
    frames_used: last.framesUsed,
    decision_ms: Math.round(last.elapsedMs),
  };
}

export async function livenessCommand(args: string[], io: CliIo): Promise<number> {
  const a = parseCli('liveness', args, { json: { type: 'boolean' }, policy: { type: 'string' }, fps: { type: 'string' } }, LivenessArgs);
  const pipeline = await FacePipeline.load();
  const passive = await PassiveBgr.load();
  let failed = 0;
  try {
    for (const file of a.positionals) {
      let v: ClipVerdict;
      try {
        v = await judgeClip(pipeline, passive, file, a.policy, a.fps);
      } catch (e) {
        failed++;
        io.err(`doorway liveness: ${file}: ${(e as Error).message}`);
        continue;
      }
      if (a.json) io.out(JSON.stringify(v));
      else io.out(`${basename(file)}: ${v.live ? 'LIVE' : 'NOT LIVE'} score ${v.score.toFixed(3)} after ${v.decision_ms} ms, ${v.frames_used} frames (${v.reasons.join(', ')})`);
    }
  } finally {
    await passive.close();
    await pipeline.close();
  }
  return failed > 0 ? 1 : 0;
}
