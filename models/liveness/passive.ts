/**
 * The passive model (fr_liveness) read the way `npm run eval:liveness` calibrated it: B,G,R planes (the
 * OpenCV order the other faceplugin models use), class 0 = live. Per-frame AUC genuine vs attack on the
 * calibration split: 0.90 with B,G,R planes and class 0, against 0.83 at best with the R,G,B planes the
 * pipeline feeds it (class 2) — see README, liveness. Until the pipeline's own liveness stage is switched
 * to B,G,R, the liveness fusion asks this wrapper for the probabilities (one extra 128x128 run per frame).
 */
import type { RawFrame } from '../image';
import { LivenessModel } from '../liveness';
import { defaultModelDir, entry, loadManifest } from '../manifest';
import type { Box } from '../nms';
import { DEFAULT_SESSION_OPTIONS, loadModel, type LoadedModel } from '../session';

export class PassiveBgr {
  private readonly model: LivenessModel;

  private constructor(private readonly loaded: LoadedModel) {
    this.model = new LivenessModel(loaded, 0);
  }

  static async load(modelDir = defaultModelDir()): Promise<PassiveBgr> {
    return new PassiveBgr(await loadModel(modelDir, entry(loadManifest(), 'liveness'), DEFAULT_SESSION_OPTIONS));
  }

  /** Class probabilities with B,G,R planes (the frame's channel labels swapped for the crop). */
  async probs(frame: RawFrame, box: Box): Promise<[number, number, number]> {
    return (await this.model.score({ ...frame, format: frame.format === 'rgb24' ? 'bgr24' : 'rgb24' }, box)).probs;
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
