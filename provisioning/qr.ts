/**
 * QR symbols for passes: the module matrix (qrcode-generator), a PNG (sharp, already used for photos)
 * and an SVG written here. The pass text is all in the QR alphanumeric set (base45), so it is encoded in
 * alphanumeric mode: 5.5 bits a character instead of 8.
 */
import qrcode from 'qrcode-generator';
import sharp from 'sharp';

export type EcLevel = 'L' | 'M' | 'Q' | 'H';

export interface QrMatrix {
  /** QR version, 1..40. */
  version: number;
  /** Modules per side (17 + 4 x version), without the quiet zone. */
  size: number;
  dark(row: number, col: number): boolean;
}

const ALNUM = /^[0-9A-Z $%*+\-./:]*$/;

/** The smallest QR symbol holding `text` at error-correction level `ec` (M by default: phone glare). */
export function qrMatrix(text: string, ec: EcLevel = 'M'): QrMatrix {
  const qr = qrcode(0, ec);
  qr.addData(text, ALNUM.test(text) ? 'Alphanumeric' : 'Byte');
  qr.make();
  const size = qr.getModuleCount();
  return { version: (size - 17) / 4, size, dark: (r, c) => qr.isDark(r, c) };
}

/**
 * 8-bit gray pixels of the symbol with a 4-module quiet zone, `scale` pixels a module (dark = 0,
 * light = 255). For PNGs and for the synthetic camera clips.
 */
export function qrPixels(m: QrMatrix, scale: number, quiet = 4): { width: number; data: Uint8Array } {
  const width = (m.size + 2 * quiet) * scale;
  const data = new Uint8Array(width * width).fill(255);
  for (let r = 0; r < m.size; r++) {
    for (let c = 0; c < m.size; c++) {
      if (!m.dark(r, c)) continue;
      for (let y = 0; y < scale; y++) data.fill(0, ((r + quiet) * scale + y) * width + (c + quiet) * scale, ((r + quiet) * scale + y) * width + (c + quiet + 1) * scale);
    }
  }
  return { width, data };
}

export async function qrPng(m: QrMatrix, scale = 8): Promise<Buffer> {
  const { width, data } = qrPixels(m, scale);
  return sharp(Buffer.from(data), { raw: { width, height: width, channels: 1 } }).png().toBuffer();
}

/** One path of unit squares on a white background; crisp at any size. */
export function qrSvg(m: QrMatrix, quiet = 4): string {
  const n = m.size + 2 * quiet;
  let d = '';
  for (let r = 0; r < m.size; r++) {
    for (let c = 0; c < m.size; c++) if (m.dark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges">` +
    `<rect width="${n}" height="${n}" fill="#fff"/><path d="${d}" fill="#000"/></svg>\n`;
}
