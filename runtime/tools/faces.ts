/** `doorway faces` and `doorway compare`: the face pipeline on image files, for people and scripts. */
import { basename } from 'node:path';
import { z } from 'zod';
import { decodeImage } from '../../models/decode';
import { cosine } from '../../models/embedder';
import { FacePipeline, type FaceResult } from '../../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../../models/thresholds';
import { type CliIo, parseCli } from '../command-line';
import { TerminalError } from '../../core/errors';

export class NoFaceError extends TerminalError {
  readonly code = 'no-face';
}

const round = (v: number, d = 4): number => Math.round(v * 10 ** d) / 10 ** d;

export function faceJson(f: FaceResult): Record<string, unknown> {
  const q = f.quality;
  return {
    box: f.box.map((v) => round(v, 1)),
    score: round(f.score),
    landmarks5: f.landmarks5.map(([x, y]) => [round(x, 1), round(y, 1)]),
    quality: {
      ok: q.ok,
      reasons: q.reasons,
      interEyePx: round(q.interEyePx, 1),
      facePx: round(q.facePx, 1),
      sharpness: round(q.sharpness, 1),
      brightness: round(q.brightness, 1),
      clippedFraction: round(q.clippedFraction),
      pose: q.pose && { yaw: round(q.pose.yaw, 1), pitch: round(q.pose.pitch, 1), roll: round(q.pose.roll, 1) },
      eyesOpen: q.eyes && { left: round(q.eyes.leftOpen, 3), right: round(q.eyes.rightOpen, 3), aspect: round(q.eyes.aspect, 3) },
    },
    liveness: f.liveness ? round(f.liveness.live) : null,
    embedding: f.embedding ? Array.from(f.embedding, (v) => round(v, 6)) : null,
    model: f.model,
  };
}

const FacesArgs = z.strictObject({
  json: z.boolean().default(false),
  positionals: z.array(z.string().min(1)).min(1, 'give at least one image file'),
});

export async function facesCommand(args: string[], io: CliIo): Promise<number> {
  const a = parseCli('faces', args, { json: { type: 'boolean' } }, FacesArgs);
  const pipeline = await FacePipeline.load();
  let failed = 0;
  try {
    for (const file of a.positionals) {
      let frame;
      try {
        frame = await decodeImage(file);
      } catch (e) {
        failed++;
        io.err(`doorway faces: ${file}: ${(e as Error).message}`);
        continue;
      }
      const faces = await pipeline.process(frame);
      if (a.json) {
        io.out(JSON.stringify({ file, width: frame.width, height: frame.height, faces: faces.map(faceJson) }));
      } else {
        const desc = faces.map((f) => {
          const b = f.box.map((v) => Math.round(v)).join(',');
          const q = f.quality.ok ? 'quality ok' : `quality: ${f.quality.reasons.join(', ')}`;
          return `[${b}] score ${f.score.toFixed(2)} ${q} liveness ${f.liveness?.live.toFixed(2) ?? '-'}`;
        });
        io.out(`${basename(file)} ${frame.width}x${frame.height}: ${faces.length} face(s)${desc.length ? ': ' + desc.join('; ') : ''}`);
      }
    }
  } finally {
    await pipeline.close();
  }
  return failed > 0 ? 1 : 0;
}

const CompareArgs = z.strictObject({
  json: z.boolean().default(false),
  positionals: z.tuple([z.string().min(1), z.string().min(1)], { message: 'give exactly two image files' }),
});

export async function compareCommand(args: string[], io: CliIo): Promise<number> {
  const a = parseCli('compare', args, { json: { type: 'boolean' } }, CompareArgs);
  const pipeline = await FacePipeline.load();
  try {
    const emb: Float32Array[] = [];
    for (const file of a.positionals) {
      const faces = await pipeline.process(await decodeImage(file), { largestOnly: true, pose: false, eyes: false, liveness: false });
      const e = faces[0]?.embedding;
      if (!e) throw new NoFaceError(`${file}: no face found`);
      emb.push(e);
    }
    const similarity = cosine(emb[0] as Float32Array, emb[1] as Float32Array);
    const same = similarity >= DEFAULT_MATCH_THRESHOLD;
    if (a.json) io.out(JSON.stringify({ similarity: round(similarity), threshold: DEFAULT_MATCH_THRESHOLD, same }));
    else io.out(`similarity ${similarity.toFixed(3)} (threshold ${DEFAULT_MATCH_THRESHOLD}): ${same ? 'same person' : 'different people'}`);
    return 0;
  } finally {
    await pipeline.close();
  }
}
