/**
 * `npm run bench:pass [-- --json] [--rounds R] [--passages N]`: what reading passes from the camera costs.
 *
 * 1. QR decode time per 640x480 frame (zxing-wasm as the terminal runs it, and jsQR for comparison) on the
 *    frames of a synthetic pass clip: a phone showing a real signed pass, held in front of a wall,
 *    through an H.264 round trip (test/harness/clips.ts passClip), and the frames of the same clip
 *    without the phone.
 * 2. The smallest QR module size (pixels a module) that still decodes through that camera chain.
 * 3. The face path with pass scanning off and on, in one process: bench/e2e.ts's face-to-relay
 *    measurement (franck on a plaster wall, the default liveness policy), with the pass scanner running
 *    next to the terminal on the same camera and thread at its default rate for the "on" run, as
 *    runtime/terminal/other-ways-in.ts runs it. Goal: p50 moves by at most 10%.
 * The last line with --json: snake_case keys naming figure and unit.
 */
import os from 'node:os';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import Database from 'better-sqlite3';
import jsQR from 'jsqr';
import { silentLogger } from '../core/log';
import type { RawFrame } from '../models/image';
import { videoFrames } from '../models/liveness/video';
import { qrMatrix } from '../provisioning/qr';
import { credentialDigest, credentialKeyFromSecret } from '../runtime/access/digest';
import { PassLedger } from '../runtime/pass/ledger';
import { QrDecoder } from '../runtime/pass/qr-decoder';
import { PassScanConfigSchema, PassScanner } from '../runtime/pass/scanner';
import { encodePass } from '../runtime/protocol/pass';
import { passClip } from '../test/harness/clips';
import { faceToRelay } from './e2e';
import { median, percentile, r2, wantsJson } from './stats';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function frames(clip: string): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  for await (const f of videoFrames(clip, { fps: 25, size: { width: 640, height: 480 } })) out.push(f.frame);
  return out;
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

function rgba(f: RawFrame): Uint8ClampedArray {
  const out = new Uint8ClampedArray(f.width * f.height * 4);
  for (let i = 0, j = 0; j < f.data.length; i += 4, j += 3) {
    out[i] = f.data[j] as number;
    out[i + 1] = f.data[j + 1] as number;
    out[i + 2] = f.data[j + 2] as number;
    out[i + 3] = 255;
  }
  return out;
}

async function main(): Promise<void> {
  const load0 = os.loadavg()[0] ?? 0;
  // A fixed key and window: the same pass text every run, so the cached clips always show this pass.
  const seed = createHash('sha256').update('bench:pass hub key').digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const hub = { privateKey, publicKey: createPublicKey(privateKey) };
  const text = encodePass({ passId: '0badc0ffee15600d', notBefore: Date.UTC(2026, 0, 1), notAfter: Date.UTC(2036, 0, 1), uses: 1, doors: ['door-1'], buildings: [] }, hub.privateKey);
  const tag = createHash('sha256').update(text).digest('hex').slice(0, 8); // clip cache names follow the pass
  const qr = qrMatrix(text);

  // 1. decode time on real (synthetic, H.264) frames
  const clip = await passClip(`bench-${tag}`, [{ frames: 25, qr: null }, { frames: 50, qr, modulePx: 3 }, { frames: 25, qr: null }]);
  const all = await frames(clip);
  const withQr = all.slice(30, 70); // well inside the phone segment
  const without = [...all.slice(0, 20), ...all.slice(80)];
  const decoder = await QrDecoder.load();
  for (const f of withQr.slice(0, 5)) decoder.decode(f); // warm-up
  const z = { with: [] as number[], without: [] as number[], found: 0 };
  for (let rep = 0; rep < 3; rep++) {
    for (const f of withQr) {
      const [r, ms] = time(() => decoder.decode(f));
      z.with.push(ms);
      if (rep === 0 && r.some((x) => x.text === text)) z.found++;
    }
    for (const f of without) z.without.push(time(() => decoder.decode(f))[1]);
  }
  const j = { with: [] as number[], without: [] as number[], found: 0 };
  for (const f of withQr) {
    const data = rgba(f);
    const [r, ms] = time(() => jsQR(data, f.width, f.height, { inversionAttempts: 'dontInvert' }));
    j.with.push(ms);
    if (r?.data === text) j.found++;
  }
  for (const f of without.slice(0, 20)) {
    const data = rgba(f);
    j.without.push(time(() => jsQR(data, f.width, f.height, { inversionAttempts: 'dontInvert' }))[1]);
  }
  console.log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; node ${process.version}; load ${load0.toFixed(2)}`);
  console.log(`pass: ${text.length} characters, QR version ${qr.version} (${qr.size} modules), error correction M; clip: phone 3 px/module, H.264`);
  console.log(`zxing-wasm: frame with the pass p50 ${r2(median(z.with))} ms, p90 ${r2(percentile(z.with, 90))} ms, read ${z.found}/${withQr.length}; frame without p50 ${r2(median(z.without))} ms, p90 ${r2(percentile(z.without, 90))} ms`);
  console.log(`jsQR:       frame with the pass p50 ${r2(median(j.with))} ms, read ${j.found}/${withQr.length}; frame without p50 ${r2(median(j.without))} ms`);

  // 2. module size sweep
  const sweep: { px_per_module: number; read_rate: number }[] = [];
  for (const px of [1.25, 1.5, 1.75, 2, 2.5, 3, 4]) {
    const fs = (await frames(await passClip(`bench-${tag}-px${px}`, [{ frames: 20, qr, modulePx: px }]))).slice(2);
    const read = fs.filter((f) => decoder.decode(f).some((r) => r.text === text)).length;
    sweep.push({ px_per_module: px, read_rate: r2(read / fs.length) });
  }
  console.log(`read rate by module size (px/module: share of frames read): ${sweep.map((x) => `${x.px_per_module}: ${Math.round(x.read_rate * 100)}%`).join(', ')}`);

  // 2b. what one card or PIN digest costs (runtime/access/digest.ts): at the door, and per guess offline
  const key = credentialKeyFromSecret(Buffer.alloc(32, 7));
  const digestMs: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await credentialDigest('pin', String(100000 + i), key);
    digestMs.push(performance.now() - t0);
  }
  console.log(`card/PIN digest (scrypt N=2^14 r=8): p50 ${r2(median(digestMs.slice(2)))} ms`);

  // 3. the face path with scanning off and on, same process, alternating (off, on, off, on...) so that the
  // machine's changing load falls on both alike
  const rounds = arg('--rounds', 2);
  const passages = arg('--passages', 10);
  const base = { passages, backdrop: 'plaster' as const, liveness: 'balanced' as const, faceSeconds: 3 };
  const scanStats = { scanned: 0, decodeMs: [] as number[] };
  const off = { latencies: [] as number[], missed: 0 };
  const on = { latencies: [] as number[], missed: 0 };
  for (let round = 0; round < rounds; round++) {
    const a = await faceToRelay(base);
    off.latencies.push(...a.latencies);
    off.missed += a.missed;
    const b = await faceToRelay({ ...base, alongside: alongside(scanStats) });
    on.latencies.push(...b.latencies);
    on.missed += b.missed;
  }
  function alongside(stats: typeof scanStats): Parameters<typeof faceToRelay>[0]['alongside'] {
    return ({ camera, clock }) => {
      const config = PassScanConfigSchema.parse({});
      const scanner = new PassScanner({
        clock, logger: silentLogger(), frames: { latest: () => camera.latest() }, decoder, hubPublicKey: hub.publicKey,
        door: () => ({ doorId: 'door-1', buildingId: 'b-1' }),
        revocations: { revocationsKnown: () => true, isPassRevoked: () => false },
        ledger: new PassLedger(new Database(':memory:')), lock: { grant: () => 'unlocked' }, emit: () => {}, config,
      });
      let seen = 0;
      const tick = clock.setInterval(() => {
        if (scanner.lastDecodeMs !== null && scanner.scanned > seen) stats.decodeMs.push(scanner.lastDecodeMs);
        stats.scanned += scanner.scanned - seen;
        seen = scanner.scanned;
      }, config.intervalMs);
      scanner.start();
      return { stop: () => { scanner.stop(); tick.cancel(); } };
    };
  }
  const offP50 = median(off.latencies);
  const onP50 = median(on.latencies);
  const load1 = os.loadavg()[0] ?? 0;
  console.log(`face -> relay, scanning off: p50 ${r2(offP50)} ms, p95 ${r2(percentile(off.latencies, 95))} ms (${off.latencies.length} unlocked, ${off.missed} missed)`);
  console.log(`face -> relay, scanning on:  p50 ${r2(onP50)} ms, p95 ${r2(percentile(on.latencies, 95))} ms (${on.latencies.length} unlocked, ${on.missed} missed); ${scanStats.scanned} frames scanned, decode p50 ${r2(median(scanStats.decodeMs))} ms`);
  console.log(`on / off p50: ${r2(onP50 / offP50)} (goal <= 1.10; ${rounds} alternating rounds of ${passages} passages each); load ${load0.toFixed(2)} -> ${load1.toFixed(2)}`);
  if (wantsJson()) {
    console.log(JSON.stringify({
      qr_decode_ms_p50: r2(median(z.with)),
      qr_decode_ms_p90: r2(percentile(z.with, 90)),
      qr_decode_no_code_ms_p50: r2(median(z.without)),
      qr_read_rate: r2(z.found / withQr.length),
      jsqr_decode_ms_p50: r2(median(j.with)),
      jsqr_decode_no_code_ms_p50: r2(median(j.without)),
      qr_version: qr.version,
      credential_digest_ms_p50: r2(median(digestMs.slice(2))),
      read_rate_by_px_per_module: sweep,
      face_to_relay_ms_p50_scan_off: r2(offP50),
      face_to_relay_ms_p50_scan_on: r2(onP50),
      face_to_relay_ms_p95_scan_off: r2(percentile(off.latencies, 95)),
      face_to_relay_ms_p95_scan_on: r2(percentile(on.latencies, 95)),
      face_to_relay_p50_ratio_on_off: r2(onP50 / offP50),
      frames_scanned: scanStats.scanned,
      load_avg_1m_start: r2(load0),
      load_avg_1m_end: r2(load1),
    }));
  }
}

void main();
