/**
 * The frame loop's way to get one liveness judge per face track: a factory bound to the door's policy.
 * runtime/main.ts calls `livenessJudgeFactory(clock, config policy)` and the loop calls the result once per
 * new track.
 */
import type { Clock } from '../clock';
import { LivenessFusion, type LivenessPolicyInput, resolvePolicy } from './liveness-fusion';

export function livenessJudgeFactory(clock: Clock, policy: LivenessPolicyInput = 'balanced'): () => LivenessFusion {
  const resolved = resolvePolicy(policy); // parse once: a bad policy fails at start-up, not on a face
  return () => new LivenessFusion(resolved, clock);
}
