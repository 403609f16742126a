import type { RawFrame } from '../../../models/image';
import type { Box } from '../../../models/nms';
import { bezelScore, faceLuma, moireScore } from '../../../models/liveness/screen';
import { seeded } from './face3d';

const W = 320, H = 240;
const BOX: Box = [120, 70, 200, 170];

/** A smooth, textured scene with a brighter face blob: no straight lines, no periodic pattern. */
function scene(seed: number, edit?: (x: number, y: number, v: number) => number): RawFrame {
  const r = seeded(seed);
  const data = new Uint8Array(W * H * 3);
  const ph = [r() * 6, r() * 6, r() * 6];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 100 + 20 * Math.sin(0.05 * x + (ph[0] as number)) * Math.cos(0.04 * y + (ph[1] as number)) + 8 * (r() - 0.5);
      if (((x - 160) / 40) ** 2 + ((y - 120) / 50) ** 2 < 1) v += 50 + 10 * Math.sin(0.3 * x + (ph[2] as number));
      if (edit) v = edit(x, y, v);
      const c = Math.max(0, Math.min(255, Math.round(v)));
      data.set([c, c, c], (y * W + x) * 3);
    }
  }
  return { width: W, height: H, format: 'rgb24', data };
}

describe('screen cues', () => {
  it('scores a fine periodic pattern over the face (moire) above plain skin texture', () => {
    const plain = moireScore(scene(1), BOX);
    const moire = moireScore(scene(1, (x, y, v) => v * (1 - 0.08 * (0.5 + 0.5 * Math.cos(2 * Math.PI * (x * 0.29 + y * 0.11))))), BOX);
    expect(moire).toBeGreaterThan(plain + 0.5);
  });

  it('scores a dark straight frame around the face (a bezel or paper edge) above an open scene', () => {
    const open = bezelScore(scene(2), BOX);
    const framed = bezelScore(
      scene(2, (x, y, v) => {
        const inside = x > 75 && x < 245 && y > 20 && y < 220;
        return inside ? v : 15;
      }),
      BOX,
    );
    expect(framed).toBeGreaterThan(open * 2);
  });

  it('measures the face brightness', () => {
    expect(faceLuma(scene(3), BOX)).toBeGreaterThan(faceLuma(scene(3, (_x, _y, v) => v * 0.5), BOX) + 40);
  });
});
