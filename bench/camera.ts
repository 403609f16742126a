// bench:camera: decode rate, CPU and frame age of the RTSP source at 640x480 against the local test
// RTSP server (GStreamer, loopback, H.264 25 fps). Frames carry their send time (the server's `stamp`
// source writes the wall clock into the picture just before encoding), so frame age here is
// source-to-delivery: encode + RTSP + ffmpeg decode + pipe + frame assembly, as the consumer sees it.
// Usage: npm run bench:camera [-- --seconds 15] [--decoder ffmpeg|gstreamer|both] [--json]
// With --json the last line is one object: top-level figures are the first decoder's (ffmpeg, the
// default), `decoders` holds each decoder's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { SystemClock } from '../core/clock';
import { silentLogger } from '../core/log';
import { RtspSource, rtspSourceConfigSchema } from '../drivers/camera';
import { rtspFfmpegArgs, rtspGstArgs } from '../drivers/camera/rtsp';
import { RtspTestServer, stampAgeMs } from '../test/harness/rtsp';
import { waitFor } from '../test/harness/wait';

const args = process.argv.slice(2);
const json = args.includes('--json');
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 15;
const decoderIdx = args.indexOf('--decoder');
const decoderArg = (decoderIdx >= 0 ? args[decoderIdx + 1] : 'both') as 'ffmpeg' | 'gstreamer' | 'both';
const WARMUP_MS = 2_000;
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

function cpuTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
  } catch {
    return null;
  }
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Measured {
  decoder: 'ffmpeg' | 'gstreamer';
  seconds: number;
  frames: number;
  fps: number;
  frame_age_ms_p50: number;
  frame_age_ms_p95: number;
  frame_age_ms_max: number;
  unstamped_frames: number;
  decode_cpu_cores: number | null;
  reader_cpu_cores: number;
  server_cpu_cores: number | null;
  first_frame_ms: number;
  args: string;
}

async function measure(decoder: 'ffmpeg' | 'gstreamer'): Promise<Measured> {
  const server = await RtspTestServer.start({ source: 'stamp', width: 640, height: 480, fps: 25 });
  const config = rtspSourceConfigSchema.parse({ url: server.url, width: 640, height: 480, decoder });
  const src = new RtspSource(config, { clock: new SystemClock(), logger: silentLogger() });
  const t0 = Date.now();
  let firstFrameMs: number | null = null;
  let measuring = false;
  let frames = 0;
  const ages: number[] = [];
  let unstamped = 0;
  src.on('frame', (f) => {
    if (firstFrameMs === null) firstFrameMs = Date.now() - t0;
    if (!measuring) return;
    frames += 1;
    const age = stampAgeMs(f, Date.now());
    if (age === null) unstamped += 1;
    else ages.push(age);
  });
  src.on('error', (e) => process.stderr.write(`camera error: ${e.message}\n`));
  try {
    src.start();
    const firstFrame = await waitFor(() => firstFrameMs, 30_000, `a frame from the RTSP server (${decoder})`);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const pid = src.pid ?? -1;
    const ff0 = cpuTicks(pid);
    const srv0 = cpuTicks(server.pid ?? -1);
    const node0 = process.cpuUsage();
    const m0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const elapsed = (performance.now() - m0) / 1000;
    const ff1 = cpuTicks(pid);
    const srv1 = cpuTicks(server.pid ?? -1);
    const node1 = process.cpuUsage(node0);
    return {
      decoder,
      seconds: Number(elapsed.toFixed(2)),
      frames,
      fps: Number((frames / elapsed).toFixed(2)),
      frame_age_ms_p50: Number(pct(ages, 50).toFixed(1)),
      frame_age_ms_p95: Number(pct(ages, 95).toFixed(1)),
      frame_age_ms_max: Number(Math.max(...ages).toFixed(1)),
      unstamped_frames: unstamped,
      decode_cpu_cores: ff0 !== null && ff1 !== null ? Number(((ff1 - ff0) / TICK / elapsed).toFixed(3)) : null,
      reader_cpu_cores: Number(((node1.user + node1.system) / 1e6 / elapsed).toFixed(3)),
      server_cpu_cores: srv0 !== null && srv1 !== null ? Number(((srv1 - srv0) / TICK / elapsed).toFixed(3)) : null,
      first_frame_ms: firstFrame,
      args: (decoder === 'ffmpeg' ? rtspFfmpegArgs(config) : rtspGstArgs(config)).join(' ').replace(server.url, '<url>'),
    };
  } finally {
    await src.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const machine = `${os.cpus().length}-core ${os.arch()} (${os.cpus()[0]?.model ?? 'unknown cpu'}), shared`;
  const decoders: Array<'ffmpeg' | 'gstreamer'> = decoderArg === 'both' ? ['ffmpeg', 'gstreamer'] : [decoderArg];
  const results: Measured[] = [];
  process.stdout.write(`camera bench on ${machine}: RTSP H.264 640x480 @ 25 fps from the loopback test server, ${seconds} s per decoder\n`);
  for (const d of decoders) {
    const r = await measure(d);
    results.push(r);
    process.stdout.write(
      [
        `[${d}]`,
        `  decoded fps           ${r.fps} (${r.frames} frames)`,
        `  frame age p50 / p95   ${r.frame_age_ms_p50} / ${r.frame_age_ms_p95} ms (source send -> delivery; max ${r.frame_age_ms_max} ms)`,
        `  decoder CPU           ${r.decode_cpu_cores} cores`,
        `  node reader CPU       ${r.reader_cpu_cores} cores (whole bench process)`,
        `  test server CPU       ${r.server_cpu_cores} cores (encoder, not counted)`,
        `  first frame after     ${r.first_frame_ms} ms`,
      ].join('\n') + '\n',
    );
  }
  const main = results[0];
  if (json && main) {
    const { args: _args, ...top } = main;
    const out = {
      bench: 'camera', machine, width: 640, height: 480, source_fps: 25, ...top,
      decoders: Object.fromEntries(results.map((r) => [r.decoder, r])),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:camera failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
