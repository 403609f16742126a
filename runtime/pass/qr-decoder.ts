/**
 * QR codes from the frames the door camera already delivers (RGB24 or BGR24), with ZXing-C++ compiled
 * to WebAssembly (zxing-wasm, reader build). The .wasm file is read from the installed package, never
 * fetched: the package's default would download it from a CDN.
 *
 * The frame is turned into 8-bit luminance here, in one pass, and handed to ZXing's pixmap reader
 * (the package's own ImageData path wants RGBA, i.e. a 1.2 MB copy per frame for nothing). The call is
 * synchronous and bounded: QR only, one symbol, no rotation or inversion tries (a phone screen is dark
 * on light and the reader finds any orientation from the finder patterns anyway).
 */
import { readFileSync } from 'node:fs';
import { prepareZXingModule, type ReaderOptions, type ZXingReaderModule } from 'zxing-wasm/reader';
import { TerminalError } from '../../core/errors';
import type { RawFrame } from '../../models/image';

/** The decoder could not be loaded (the .wasm file missing or unreadable): passes cannot be read. */
export class QrDecoderError extends TerminalError {
  readonly code = 'qr-decoder';
}

export interface QrDecodeOptions {
  /**
   * Try harder (more scan lines, both binarizers). Off on the terminal: it costs several times more per
   * frame, and a pass held up to the camera is read on one of the next frames anyway.
   */
  tryHarder?: boolean;
  /**
   * Let ZXing also look at a downscaled copy (helps when modules are large and blurred). On by default.
   */
  tryDownscale?: boolean;
}

export interface QrReading {
  text: string;
  /** QR version (1-40) as ZXing read it. */
  version: number;
  /** Width of the symbol in the frame, in pixels (top edge of its position). */
  widthPx: number;
}

type ZXingOptions = Parameters<ZXingReaderModule['readBarcodesFromPixmap']>[3];
/** The Emscripten heap functions the module has (their typings come from @types/emscripten, not loaded here). */
type ZXingHeap = ZXingReaderModule & { _malloc(bytes: number): number; _free(ptr: number): void; HEAPU8: Uint8Array };

/** zxing-wasm's reader with the options the terminal uses. One per process is enough. */
export class QrDecoder {
  private gray = new Uint8Array(0);

  private constructor(
    private readonly zx: ZXingHeap,
    private readonly options: ZXingOptions,
  ) {}

  static async load(opts: QrDecodeOptions = {}): Promise<QrDecoder> {
    let wasm: Buffer;
    try {
      wasm = readFileSync(require.resolve('zxing-wasm/reader/zxing_reader.wasm'));
    } catch (e) {
      throw new QrDecoderError(`the QR decoder (zxing-wasm) cannot be loaded: ${(e as Error).message}; run npm install`, { cause: e });
    }
    const zx = await prepareZXingModule({
      overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer },
      fireImmediately: true,
    });
    return new QrDecoder(zx as ZXingHeap, zxingOptions(opts));
  }

  /** Every QR code found in the frame (usually none or one). Synchronous. */
  decode(frame: RawFrame): QrReading[] {
    const { width, height } = frame;
    const n = width * height;
    if (this.gray.length !== n) this.gray = new Uint8Array(n);
    toLuminance(frame, this.gray);
    return this.decodeGray(this.gray, width, height);
  }

  /** Same, from an 8-bit luminance image (one byte per pixel, row-major). */
  decodeGray(gray: Uint8Array, width: number, height: number): QrReading[] {
    const zx = this.zx;
    const ptr = zx._malloc(gray.length);
    if (!ptr) throw new QrDecoderError(`cannot allocate ${gray.length} bytes in the decoder's memory`);
    try {
      zx.HEAPU8.set(gray, ptr);
      const found = zx.readBarcodesFromPixmap(ptr, width, height, this.options);
      const out: QrReading[] = [];
      try {
        for (let i = 0; i < found.size(); i++) {
          const r = found.get(i);
          if (r && r.isValid && r.text) {
            const p = r.position;
            out.push({ text: r.text, version: Number(r.version) || 0, widthPx: Math.hypot(p.topRight.x - p.topLeft.x, p.topRight.y - p.topLeft.y) });
          }
        }
      } finally {
        // embind vectors live in the WebAssembly heap until deleted (the typings leave this out).
        (found as { delete?: () => void }).delete?.();
      }
      return out;
    } finally {
      zx._free(ptr);
    }
  }
}

function zxingOptions(opts: QrDecodeOptions): ZXingOptions {
  // The package's ReaderOptions, spelled out in the numeric form its binding takes.
  const o: Required<Pick<ReaderOptions, 'tryHarder' | 'tryRotate' | 'tryInvert' | 'tryDownscale'>> = {
    tryHarder: opts.tryHarder ?? false,
    tryRotate: false,
    tryInvert: false,
    tryDownscale: opts.tryDownscale ?? true,
  };
  return {
    ...o,
    formats: 'QRCode',
    tryDenoise: false,
    binarizer: 0, // LocalAverage
    isPure: false,
    downscaleFactor: 3,
    downscaleThreshold: 500,
    minLineCount: 2,
    maxNumberOfSymbols: 1,
    validateOptionalChecksum: false,
    returnErrors: false,
    eanAddOnSymbol: 0,
    textMode: 0, // Plain
    characterSet: 0,
    tryCode39ExtendedMode: false,
  };
}

/** ITU-R 601 luma from RGB24/BGR24, integer arithmetic (the same weights ZXing uses). */
export function toLuminance(frame: RawFrame, out: Uint8Array): void {
  const d = frame.data;
  const bgr = frame.format === 'bgr24';
  const n = frame.width * frame.height;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = d[bgr ? j + 2 : j] as number;
    const g = d[j + 1] as number;
    const b = d[bgr ? j : j + 2] as number;
    out[i] = (306 * r + 601 * g + 117 * b + 512) >> 10;
  }
}
