/**
 * Passes read from real video frames: the phone clip goes through H.264 (ffmpeg) like a camera's stream
 * and is decoded frame by frame by ffmpeg, then read by the terminal's QR decoder.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawFrame } from '../../../models/image';
import { videoFrames } from '../../../models/liveness/video';
import { qrMatrix } from '../../../provisioning/qr';
import { QrDecoder } from '../../../runtime/pass/qr-decoder';
import { decodePass, encodePass } from '../../../runtime/protocol/pass';
import { passClip } from '../../harness/clips';

it('reads the pass on the frames where the phone is in view, and nothing on the wall alone', async () => {
  const hub = generateKeyPairSync('ed25519');
  const text = encodePass({ passId: '1234123412341234', notBefore: 0, notAfter: 3600_000, uses: 1, doors: ['door-1'], buildings: [] }, hub.privateKey);
  const dir = mkdtempSync(join(tmpdir(), 'doorway-pass-clip-'));
  try {
    const clip = await passClip('test', [{ frames: 10, qr: null }, { frames: 20, qr: qrMatrix(text) }, { frames: 10, qr: null }], 25, dir);
    const frames: RawFrame[] = [];
    for await (const f of videoFrames(clip, { fps: 25, size: { width: 640, height: 480 } })) frames.push(f.frame);
    expect(frames.length).toBe(40);
    const decoder = await QrDecoder.load();
    const read = frames.map((f) => decoder.decode(f).map((r) => r.text));
    expect(read.slice(0, 10).flat()).toEqual([]);
    expect(read.slice(32).flat()).toEqual([]);
    const inView = read.slice(12, 28);
    expect(inView.filter((t) => t.includes(text)).length).toBeGreaterThanOrEqual(14);
    expect(decodePass(text, hub.publicKey).ok).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
