/**
 * What a changed config file means for a running terminal: which sections can take effect live and
 * which need a restart. Pure: compares two parsed configs (paths already resolved by parseConfig).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config';

export type ConfigSection = keyof Config;

/**
 * Sections a running terminal applies live: the door's identity and time zone, the decision
 * thresholds, the liveness policy (for face tracks that start after the reload), the evidence
 * counts and budget, and the credential policy (what opens the door, keypad lockout). Everything else (terminal id, camera, GPIO lines, lock timing, models, hub link,
 * paths, health server, log level) is wired into drivers at start-up and needs a restart.
 */
export const LIVE_SECTIONS: ReadonlySet<ConfigSection> = new Set<ConfigSection>(['door', 'decision', 'liveness', 'evidence', 'access']);

export interface ReloadPlan {
  /** Nothing changed, everything changed can be applied live, or something needs a restart. */
  outcome: 'unchanged' | 'applied' | 'restart';
  /** Changed sections that are applied live. */
  live: ConfigSection[];
  /** Changed sections that need a restart. */
  restart: ConfigSection[];
}

export function planReload(current: Config, next: Config): ReloadPlan {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)] as ConfigSection[]);
  const live: ConfigSection[] = [];
  const restart: ConfigSection[] = [];
  for (const k of [...keys].sort()) {
    if (isDeepStrictEqual(current[k], next[k])) continue;
    if (LIVE_SECTIONS.has(k) && !(k === 'evidence' && current.evidence.trackGapMs !== next.evidence.trackGapMs)) live.push(k);
    else restart.push(k); // the face tracker is built with trackGapMs at start-up
  }
  const outcome = restart.length > 0 ? 'restart' : live.length > 0 ? 'applied' : 'unchanged';
  return { outcome, live, restart };
}
