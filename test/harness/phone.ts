/**
 * A phone held up to the door camera, showing a QR code: drawn into a 640x480 RGB frame in front of a
 * still wall. The phone is a dark rounded body with a lit screen; the QR is sampled bilinearly from the
 * symbol's module grid (rotation and sub-pixel position make real edges, not a pasted bitmap), the
 * screen's light is uneven (a glare band), the hand moves it a little from frame to frame, and the
 * camera adds sensor noise. Used by the pass tests, the demo's clip and bench:pass.
 */
import type { RawFrame } from '../../models/image';

export interface QrModules {
  size: number;
  dark(row: number, col: number): boolean;
}

export interface PhonePose {
  /** Centre of the phone in the frame, px. */
  cx: number;
  cy: number;
  /** Rotation in the image plane, radians. */
  angle: number;
  /** Pixels per QR module as the camera sees it. */
  modulePx: number;
}

/** Draws the phone over `wall` (RGB, 0..255 floats, width x height) into a new RGB24 frame. */
export function phoneFrame(wall: Float32Array, width: number, height: number, qr: QrModules | null, pose: PhonePose, noise: () => number): RawFrame {
  const out = new Uint8Array(width * height * 3);
  // Sensor noise from a table of normal samples (one per channel would cost more than the rest).
  const table = new Float32Array(4096);
  for (let k = 0; k < table.length; k++) table[k] = noise() * 3;
  const off = Math.floor(Math.abs(noise()) * 1000);
  for (let i = 0; i < out.length; i++) out[i] = clamp((wall[i] as number) + (table[(i * 7 + off) & 4095] as number));
  if (!qr) return { width, height, format: 'rgb24', data: out };
  const quiet = 3; // modules of white screen around the symbol
  const screenW = (qr.size + 2 * quiet) * pose.modulePx;
  const screenH = screenW * 1.7;
  const bezel = Math.max(4, screenW * 0.06);
  const bodyW = screenW + 2 * bezel;
  const bodyH = screenH + 2 * bezel * 1.8;
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  // The symbol sits in the upper part of the screen, as a pass page shows it.
  const qrTop = -screenH / 2 + screenW * 0.15;
  const reach = Math.hypot(bodyW, bodyH) / 2 + 1;
  const x0 = Math.max(0, Math.floor(pose.cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(pose.cx + reach));
  const y0 = Math.max(0, Math.floor(pose.cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(pose.cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // into the phone's own coordinates
      const dx = x - pose.cx;
      const dy = y - pose.cy;
      const u = cos * dx + sin * dy;
      const v = -sin * dx + cos * dy;
      if (Math.abs(u) > bodyW / 2 || Math.abs(v) > bodyH / 2 || !roundedInside(u, v, bodyW / 2, bodyH / 2, bezel * 1.5)) continue;
      let r = 28;
      let g = 29;
      let b = 33;
      if (Math.abs(u) <= screenW / 2 && Math.abs(v) <= screenH / 2) {
        // lit screen with a glare band
        const glare = 1 + 0.12 * Math.exp(-(((u + v * 0.5) / (screenW * 0.35)) ** 2));
        let lum = 232;
        const mu = (u + screenW / 2) / pose.modulePx - quiet;
        const mv = (v - qrTop) / pose.modulePx - quiet;
        if (mu >= -0.5 && mv >= -0.5 && mu < qr.size + 0.5 && mv < qr.size + 0.5) lum = 232 - 200 * darkness(qr, mu, mv);
        r = Math.min(255, lum * glare * 0.97);
        g = Math.min(255, lum * glare);
        b = Math.min(255, lum * glare * 1.03);
      }
      const i = (y * width + x) * 3;
      out[i] = clamp(r + (table[(i * 7 + off) & 4095] as number));
      out[i + 1] = clamp(g + (table[(i * 7 + 7 + off) & 4095] as number));
      out[i + 2] = clamp(b + (table[(i * 7 + 14 + off) & 4095] as number));
    }
  }
  return { width, height, format: 'rgb24', data: out };
}

/** Bilinear share of dark modules around module coordinates (mu, mv). */
function darkness(qr: QrModules, mu: number, mv: number): number {
  const x = mu - 0.5;
  const y = mv - 0.5;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (r: number, c: number): number => (r >= 0 && c >= 0 && r < qr.size && c < qr.size && qr.dark(r, c) ? 1 : 0);
  return at(y0, x0) * (1 - fx) * (1 - fy) + at(y0, x0 + 1) * fx * (1 - fy) + at(y0 + 1, x0) * (1 - fx) * fy + at(y0 + 1, x0 + 1) * fx * fy;
}

function roundedInside(u: number, v: number, hw: number, hh: number, rad: number): boolean {
  const ax = Math.abs(u) - (hw - rad);
  const ay = Math.abs(v) - (hh - rad);
  if (ax <= 0 || ay <= 0) return true;
  return ax * ax + ay * ay <= rad * rad;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Standard normal samples from a uniform generator (Box-Muller). */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
