/**
 * The health check an update must pass before it is committed, on an injected Clock:
 *
 * 1. start: within `startTimeoutMs` of the restart the terminal answers /healthz with every required
 *    check true (frame loop running, camera frames fresh, models and roster loaded, lock running, hub
 *    connected when it has a hub) -> otherwise `did-not-start`, with the checks still failing;
 * 2. window: for `windowMs` after that the process does not crash (same main pid, no restart by the
 *    service manager, still active) -> otherwise `crashed`; and the checks do not fail
 *    `failAfterProbes` probes in a row (one camera hiccup is not a failed update) -> otherwise `unhealthy`;
 * 3. the new runtime must not need re-enrolment for more persons than the old one did (its embedding
 *    model found no templates of its own for them) -> otherwise `unhealthy` (reenrolment).
 *
 * Probes run every `pollMs`.
 */
import type { Clock } from '../../core/clock';
import { failingChecks, type TerminalProbe } from './probe';
import type { ServiceManager, ServiceStatus } from './service';

export interface GateTiming {
  startTimeoutMs: number;
  windowMs: number;
  pollMs: number;
  failAfterProbes: number;
}

export type GateResult =
  | { ok: true }
  | { ok: false; reason: 'did-not-start' | 'unhealthy' | 'crashed'; detail: string };

export interface GateDeps {
  clock: Clock;
  probe: TerminalProbe;
  service: ServiceManager;
  timing: GateTiming;
  /** Checks that must be true. */
  required: readonly string[];
  /** Persons needing re-enrolment before the restart (null: unknown, not checked). */
  reenrolmentBefore: number | null;
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

function crashed(base: ServiceStatus, now: ServiceStatus): string | null {
  if (!now.active) return 'the service is no longer running';
  if (now.restarts > base.restarts) return `the service manager restarted it ${now.restarts - base.restarts} time(s)`;
  if (base.pid !== null && now.pid !== base.pid) return `its process changed (${base.pid} -> ${now.pid ?? 'none'})`;
  return null;
}

export async function healthGate(d: GateDeps): Promise<GateResult> {
  const { clock, timing } = d;
  const t0 = clock.monotonic();
  let base: ServiceStatus | null = null;
  let failing: string[] = ['no-answer'];

  const probeOnce = async (): Promise<{ crash: string | null; failing: string[] }> => {
    const s = await d.service.status();
    if (base === null) {
      if (s.active && s.pid !== null) base = s;
    } else {
      const c = crashed(base, s);
      if (c) return { crash: c, failing: [] };
    }
    const h = await d.probe.health();
    const f = failingChecks(h, d.required);
    if (h.reachable && d.reenrolmentBefore !== null && h.reenrolment !== null && h.reenrolment > d.reenrolmentBefore) {
      f.push(`reenrolment(${h.reenrolment}>${d.reenrolmentBefore})`);
    }
    return { crash: null, failing: f };
  };

  // 1. start
  for (;;) {
    const p = await probeOnce();
    if (p.crash) return { ok: false, reason: 'crashed', detail: `crashed while starting: ${p.crash}` };
    failing = p.failing;
    if (failing.length === 0 && base !== null) break;
    if (clock.monotonic() - t0 >= timing.startTimeoutMs) {
      return { ok: false, reason: 'did-not-start', detail: `not healthy within ${timing.startTimeoutMs} ms: ${failing.join(', ') || 'service not running'}` };
    }
    await sleep(clock, timing.pollMs);
  }

  // 2. window
  const healthyAt = clock.monotonic();
  let badInARow = 0;
  while (clock.monotonic() - healthyAt < timing.windowMs) {
    await sleep(clock, Math.min(timing.pollMs, Math.max(1, timing.windowMs - (clock.monotonic() - healthyAt))));
    const p = await probeOnce();
    if (p.crash) return { ok: false, reason: 'crashed', detail: `crashed ${Math.round(clock.monotonic() - healthyAt)} ms into the health window: ${p.crash}` };
    if (p.failing.length > 0) {
      badInARow++;
      if (badInARow >= timing.failAfterProbes) return { ok: false, reason: 'unhealthy', detail: `${badInARow} probes in a row failed: ${p.failing.join(', ')}` };
    } else badInARow = 0;
  }
  return { ok: true };
}
