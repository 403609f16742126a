/**
 * `npm run bench:pipeline [-- --json] [--frames N] [--threads N]`: per-stage median and p90 for a 640x480
 * frame with one face and for a frame with none, and RSS after loading the models.
 */
import os from 'node:os';
import sharp from 'sharp';
import { FacePipeline, type StageTimes } from '../models/pipeline';
import type { RawFrame } from '../models/image';
import { FRANCK_STILLS, testFile } from '../test/fixtures/photos';
import { median, percentile, r2, wantsJson } from './stats';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function frameFrom(file: string, region?: { left: number; top: number; width: number; height: number }): Promise<RawFrame> {
  let img = sharp(file);
  if (region) img = img.extract(region);
  const { data, info } = await img.resize(640, 480, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, format: 'rgb24', data };
}

async function main(): Promise<void> {
  const frames = arg('--frames', 60);
  const threads = arg('--threads', 1);
  const still = testFile(FRANCK_STILLS[0]!);
  const faceFrame = await frameFrom(still);
  // the background strip left of the face, stretched to a full frame: a real scene with no face
  const emptyFrame = await frameFrom(still, { left: 0, top: 0, width: 250, height: 576 });

  const rssBefore = process.memoryUsage().rss;
  const pipeline = await FacePipeline.load({ intraOpThreads: threads });
  const rssMb = process.memoryUsage().rss / 2 ** 20;

  const measure = async (frame: RawFrame): Promise<{ total: number[]; stages: Record<keyof StageTimes, number[]>; faces: number }> => {
    const total: number[] = [];
    const stages: Record<keyof StageTimes, number[]> = { detect: [], landmarks: [], pose: [], eyes: [], liveness: [], embed: [] };
    let faces = 0;
    for (let i = 0; i < 5; i++) await pipeline.process(frame, { largestOnly: true });
    for (let i = 0; i < frames; i++) {
      const t0 = performance.now();
      const r = await pipeline.process(frame, { largestOnly: true });
      total.push(performance.now() - t0);
      faces = r.length;
      for (const k of Object.keys(stages) as (keyof StageTimes)[]) stages[k].push(pipeline.lastTimes[k]);
    }
    return { total, stages, faces };
  };

  const face = await measure(faceFrame);
  const none = await measure(emptyFrame);
  await pipeline.close();

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(`machine: ${os.cpus().length} cores, ${cpu}; node ${process.version}; onnxruntime intra-op threads ${threads}, inter-op 1`);
  console.log(`models loaded: RSS ${r2(rssMb)} MB (+${r2((process.memoryUsage().rss - rssBefore) / 2 ** 20)} MB)`);
  console.log(`frames measured per case: ${frames} (after 5 warm-up frames)`);
  for (const [label, m] of [['one face', face], ['no face', none]] as const) {
    console.log(`\n640x480 frame, ${label} (faces found: ${m.faces})`);
    console.log(`  total      p50 ${r2(median(m.total)).toFixed(2)} ms   p90 ${r2(percentile(m.total, 90)).toFixed(2)} ms`);
    for (const [k, v] of Object.entries(m.stages)) {
      console.log(`  ${k.padEnd(10)} p50 ${r2(median(v)).toFixed(2)} ms   p90 ${r2(percentile(v, 90)).toFixed(2)} ms`);
    }
  }
  if (face.faces !== 1 || none.faces !== 0) {
    console.error(`unexpected face counts: ${face.faces} (want 1) and ${none.faces} (want 0)`);
    process.exitCode = 1;
  }
  if (wantsJson()) {
    console.log(
      JSON.stringify({
        face_frame_ms_p50: r2(median(face.total)),
        face_frame_ms_p90: r2(percentile(face.total, 90)),
        noface_frame_ms_p50: r2(median(none.total)),
        noface_frame_ms_p90: r2(percentile(none.total, 90)),
        stages_face_ms_p50: Object.fromEntries(Object.entries(face.stages).map(([k, v]) => [k, r2(median(v))])),
        rss_mb: r2(rssMb),
        threads,
        frames,
      }),
    );
  }
}

void main();
