/**
 * `npm run bench:e2e [-- --json] [--passages N]`: face-to-relay latency of the whole terminal.
 *
 * A 640x480 25 fps clip shows 1 s of an empty scene (no face), then 3 s (`--face-seconds`) of the franck
 * video; it loops, so every 4 s a new face appears at a known frame (the 26th of each loop). For each appearance: time
 * from the delivery of that frame by the camera source to the relay command (the fake relay records
 * the write). Real ffmpeg, real models, real encrypted roster; only the relay is faked. The liveness
 * policy is the shipped default (`--liveness strict|balanced|fast|none` to compare). `--backdrop
 * plaster|tiles`: franck keyed onto a still textured wall instead of his recorded blue screen (on which
 * the background-motion cue has nothing to measure).
 */
import os from 'node:os';
import { FileSource } from '../drivers/camera';
import { FakeGpio } from '../drivers/gpio/fake';
import { FacePipeline } from '../models/pipeline';
import { SystemClock } from '../core/clock';
import { silentLogger } from '../core/log';
import { startTerminal } from '../runtime/main';
import { CLIP_FPS, EMPTY_FRAMES, keyedPassagesClip, passagesClip } from '../test/harness/clips';
import { franckUpsert, makeSiteDir, terminalConfig, WIRING_LIVENESS, writeRoster } from '../test/harness/terminal-site';
import { waitFor } from '../test/harness/wait';

import { median, percentile, r2, wantsJson } from './stats';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

export interface FaceToRelayOptions {
  passages: number;
  backdrop: 'blue' | 'plaster' | 'tiles';
  liveness: 'strict' | 'balanced' | 'fast' | 'none';
  faceSeconds: number;
  /**
   * Started next to the terminal on the same camera and clock, stopped before it (bench:pass runs the
   * pass scanner here to measure what it costs the face path).
   */
  alongside?: (deps: { camera: FileSource; clock: SystemClock }) => { stop(): void };
}

export interface FaceToRelayResult {
  latencies: number[];
  missed: number;
  loopFrames: number;
  config: ReturnType<typeof terminalConfig>;
  rssBefore: number;
}

/** Runs one terminal on the looped passage clip and measures face frame delivered -> relay command. */
export async function faceToRelay(o: FaceToRelayOptions): Promise<FaceToRelayResult> {
  const { passages, backdrop, liveness } = o;
  // the visitor stays in view 3 s (a resident waits at the door until it opens): a 2 s window would end
  // passages before the liveness budget (2 s) in front of a plain wall, where there is no fast path
  const faceFrames = Math.round(o.faceSeconds * CLIP_FPS);
  const loopFrames = EMPTY_FRAMES + faceFrames;
  const clip = backdrop === 'blue' ? passagesClip(0, faceFrames) : await keyedPassagesClip(backdrop, 0, EMPTY_FRAMES, faceFrames, CLIP_FPS);
  const site = makeSiteDir('doorway-bench-e2e-');
  const p = await FacePipeline.load();
  writeRoster(site, [await franckUpsert(p)]);
  await p.close();

  const clock = new SystemClock();
  const gpio = new FakeGpio(clock);
  // 'none' is not a shipped policy: it removes the wait for liveness evidence (live after four frames of a
  // moving face) to show how much of the latency is recognition and how much is liveness.
  const config = terminalConfig(site, { video: clip, liveness: liveness === 'none' ? WIRING_LIVENESS : liveness });
  config.lock.unlockPulseMs = 1000; // relock before the next appearance
  const camera = new FileSource({ ...config.camera, kind: undefined } as never, { clock, logger: silentLogger() });
  const appearedAt: number[] = []; // monotonic ms at delivery of each loop's first face frame
  camera.on('frame', (f) => {
    if ((f.seq - 1) % loopFrames === EMPTY_FRAMES) appearedAt.push(clock.monotonic());
  });
  const rssBefore = process.memoryUsage().rss;
  const terminal = await startTerminal({ config, gpio, clock, camera, logger: silentLogger(), onNotice: (n) => { if (process.env['E2E_DEBUG'] && n.kind === 'loop') console.error(JSON.stringify(n.event)); } });
  const extra = o.alongside?.({ camera, clock });
  const relay = gpio.out('lock');
  const latencies: number[] = [];
  let missed = 0;
  // A run cut short by the deadline reports the passages it did not see as missed.
  const allowedMs = (passages + 3) * (loopFrames / CLIP_FPS) * 1000 + 10_000;
  await waitFor(() => appearedAt.length >= passages + 1, allowedMs, 'the passages', 200).catch(() => undefined);
  extra?.stop();
  await terminal.stop();

  // pair each appearance with the first relay activation after it and before the next appearance
  const opens = relay.writes.filter((w) => w.active).map((w) => w.at);
  for (let i = 0; i < Math.min(passages, appearedAt.length - 1); i++) {
    const from = appearedAt[i] as number;
    const next = appearedAt[i + 1] as number;
    const open = opens.find((t) => t >= from && t < next);
    if (open === undefined) missed++;
    else latencies.push(open - from);
  }
  return { latencies, missed, loopFrames, config, rssBefore };
}

async function main(): Promise<void> {
  const passages = arg('--passages', 20);
  const backdropArg = process.argv.indexOf('--backdrop');
  const backdrop = backdropArg >= 0 ? process.argv[backdropArg + 1] : 'blue';
  if (backdrop !== 'blue' && backdrop !== 'plaster' && backdrop !== 'tiles') throw new Error(`--backdrop: blue, plaster or tiles, not ${backdrop}`);
  const policyArg = process.argv.indexOf('--liveness');
  const liveness = (policyArg >= 0 ? process.argv[policyArg + 1] : 'balanced') as 'strict' | 'balanced' | 'fast' | 'none';
  const { latencies, missed, loopFrames, config, rssBefore } = await faceToRelay({ passages, backdrop, liveness, faceSeconds: arg('--face-seconds', 3) });
  console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; node ${process.version}`);
  console.log(`clip: ${loopFrames} frames at ${CLIP_FPS} fps, face from frame ${EMPTY_FRAMES + 1} to ${loopFrames}; evidence: ${config.evidence.minFrames} frames, budget ${config.evidence.budgetMs} ms; liveness policy: ${liveness}; background: ${backdrop === 'blue' ? 'recorded blue screen' : `${backdrop} wall (keyed)`}`);
  console.log(`passages: ${latencies.length + missed} (unlocked ${latencies.length}, missed ${missed}); RSS ${r2(process.memoryUsage().rss / 2 ** 20)} MB (+${r2((process.memoryUsage().rss - rssBefore) / 2 ** 20)} MB for the terminal)`);
  console.log(`face frame delivered -> relay command: p50 ${r2(median(latencies))} ms, p95 ${r2(percentile(latencies, 95))} ms, max ${r2(Math.max(...latencies))} ms`);
  if (wantsJson()) {
    console.log(JSON.stringify({ face_to_relay_ms_p50: r2(median(latencies)), face_to_relay_ms_p95: r2(percentile(latencies, 95)), passages: latencies.length, missed, liveness, backdrop }));
  }
  if (latencies.length === 0) process.exitCode = 1;
}

if (require.main === module) void main();
