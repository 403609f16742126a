/**
 * Adapter between the door loop and the liveness evidence. Until the fused liveness (issue 8) is wired
 * in, this judge uses the passive model alone: it waits for `minFrames` observations and calls the face
 * live when the median passive score passes `threshold`. The passive model is a weak signal (README):
 * this judge does not stop photos.
 */
import type { Clock } from '../clock';
import type { LivenessJudge, LivenessOutcome } from './door-loop';

export function livenessJudgeFactory(_clock: Clock, opts: { minFrames: number; threshold: number } = { minFrames: 3, threshold: 0.5 }): () => LivenessJudge {
  return () => {
    const scores: number[] = [];
    return {
      observe({ face }): LivenessOutcome {
        if (face.liveness) scores.push(face.liveness.live);
        if (scores.length < opts.minFrames) return { verdict: 'pending', score: 0, reasons: ['gathering'] };
        const sorted = [...scores].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
        return median >= opts.threshold
          ? { verdict: 'live', score: median, reasons: ['passive-only'] }
          : { verdict: 'pending', score: median, reasons: ['passive-low'] };
      },
    };
  };
}
