/**
 * Near-infrared frame sources for liveness. The frame loop asks the source for the NIR frame closest to
 * the colour frame it is processing and passes it to LivenessFusion.observe as `ir`. The real source
 * (an NIR camera through ffmpeg, like the colour one) is wired in runtime/main.ts when a terminal has
 * one; FakeIrSource here is scriptable for tests and demos.
 */
import type { Box } from '../../models/nms';
import type { IrFrame, IrObservation } from '../../models/liveness/ir';

export type { IrFrame, IrObservation } from '../../models/liveness/ir';

export interface IrFrameSource {
  /** The latest NIR frame (or null when the NIR camera has none yet). */
  latest(): IrFrame | null;
}

/** What the fake NIR camera sees at the face: a live face, a phone screen, a paper print, or nothing. */
export type FakeIrScene = 'live' | 'screen' | 'print' | 'none';

/**
 * A scriptable NIR source: `set(scene, box)` decides what the next frames show. Frames are synthetic:
 * a live face is bright and textured, a screen is dark (it emits no NIR), a print is lit but flat.
 */
export class FakeIrSource implements IrFrameSource {
  private scene: FakeIrScene = 'none';
  private box: Box = [0, 0, 1, 1];
  private seed = 1;

  constructor(
    readonly width = 320,
    readonly height = 240,
  ) {}

  set(scene: FakeIrScene, box: Box): void {
    this.scene = scene;
    this.box = box;
  }

  latest(): IrFrame | null {
    if (this.scene === 'none') return null;
    const { width, height } = this;
    const data = new Uint8Array(width * height);
    const rnd = (): number => {
      this.seed = (this.seed * 1103515245 + 12345) >>> 0;
      return (this.seed >>> 8) / 16777216;
    };
    const [x1, y1, x2, y2] = this.box;
    const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2, rx = (x2 - x1) / 2, ry = (y2 - y1) / 2;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inFace = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
        let v = 25 + rnd() * 4; // dim room
        if (inFace) {
          if (this.scene === 'live') v = 150 + 40 * Math.sin(x * 0.7) * Math.cos(y * 0.5) + rnd() * 30;
          else if (this.scene === 'print') v = 130 + rnd() * 2;
          else v = 12 + rnd() * 3; // a screen emits no NIR
        }
        data[y * width + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return { width, height, data };
  }

  /** Convenience: the latest frame as an observation, with the box given to `set`. */
  observation(): IrObservation | undefined {
    const frame = this.latest();
    return frame ? { frame, box: this.box } : undefined;
  }
}
