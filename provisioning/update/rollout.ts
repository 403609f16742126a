/**
 * A staged rollout of one version to a fleet, as a pure state machine: `startRollout` and `stepRollout`
 * take the state and an event (a terminal's report or heartbeat, an operator's pause/resume/abort) and
 * return the next state, the actions for the hub to carry out (offer the bundle to a terminal) and log
 * lines. No I/O, no clock of its own (`at` comes with each call), so the hub service can persist the
 * state in its database and replay it; it is not wired into the hub yet (the hub's HTTP service is the
 * next step).
 *
 * Rules:
 * - waves: the canary terminals first (if any), then the others up to cumulative percentages of the
 *   whole rollout (`--waves 10%,50%,100%`), in the order given (planWaves);
 * - a wave's terminals are offered the version when the wave opens; the next wave opens when the current
 *   one is healthy: no offer outstanding, at least one terminal of it committed, and no more failures
 *   than allowed;
 * - a failure (rolled back, or refused for a reason the bundle is to blame for) counts; more than
 *   `maxFailures` halts the rollout: no new offers, offers already out stand;
 * - a refusal the bundle is not to blame for (door busy, download failed, interrupted) is offered again
 *   at the terminal's next heartbeat; so is a terminal that was offline when its wave opened: it
 *   catches up whenever it comes back, even after later waves have opened;
 * - an offer with no answer (no outcome, no heartbeat on the version) for OFFER_RETRY_MS is made again at
 *   the terminal's next heartbeat: the offer or its report may have been lost on the way (a broker
 *   restart, a terminal restart before it started the agent). A second offer while an install runs is
 *   harmless: the terminal's launcher and the agent's lock refuse a second install, and the terminal
 *   only logs it;
 * - a terminal already on the version counts as committed;
 * - pause stops new offers (catch-ups included) until resume; abort ends the rollout (installed
 *   terminals keep the version: a rollback of the fleet is a rollout of the previous bundle).
 */
import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { compareVersions, VersionSchema } from '../../runtime/update/manifest';
import type { UpdateReason } from '../../runtime/protocol/schemas';

export class RolloutError extends TerminalError {
  readonly code = 'rollout';
}

export const RolloutPlanSchema = z
  .strictObject({
    version: VersionSchema,
    /** Every terminal of the rollout, in the order waves take them. */
    terminals: z.array(z.string().min(1)).min(1),
    canary: z.array(z.string().min(1)).default([]),
    /** Cumulative percentages of the non-canary terminals, ending at 100. */
    waves: z.array(z.number().int().min(1).max(100)).min(1).default([100]),
    maxFailures: z.number().int().min(0).default(0),
  })
  .refine((p) => new Set(p.terminals).size === p.terminals.length, 'terminals must be unique')
  .refine((p) => p.canary.every((t) => p.terminals.includes(t)), 'canary terminals must be among the terminals')
  .refine((p) => p.waves.every((w, i) => i === 0 || w > (p.waves[i - 1] ?? 0)) && p.waves.at(-1) === 100, 'waves must increase and end at 100');
export type RolloutPlan = z.input<typeof RolloutPlanSchema>;

export const TerminalRolloutStatusSchema = z.enum(['queued', 'offered', 'waiting', 'committed', 'failed']);
export type TerminalRolloutStatus = z.infer<typeof TerminalRolloutStatusSchema>;

export const TerminalRolloutSchema = z.strictObject({
  wave: z.number().int().min(0),
  status: TerminalRolloutStatusSchema,
  online: z.boolean(),
  /** Why it failed or is waiting (an UpdateReason, or 'offline'). */
  reason: z.string().nullable(),
  at: z.number().nullable(),
});
export type TerminalRollout = z.infer<typeof TerminalRolloutSchema>;

export const RolloutPhaseSchema = z.enum(['running', 'paused', 'halted', 'aborted', 'done']);
export type RolloutPhase = z.infer<typeof RolloutPhaseSchema>;

/** The whole state of a rollout (what the hub stores, as JSON, and reads back through this schema). */
export const RolloutStateSchema = z.strictObject({
  version: VersionSchema,
  phase: RolloutPhaseSchema,
  waves: z.array(z.array(z.string())),
  /** Index of the last wave opened. */
  opened: z.number().int().min(-1),
  maxFailures: z.number().int().min(0),
  failures: z.number().int().min(0),
  terminals: z.record(z.string(), TerminalRolloutSchema),
});
export type RolloutState = z.infer<typeof RolloutStateSchema>;

export type RolloutEvent =
  | { type: 'heartbeat'; terminal: string; online: boolean; version: string | null }
  | { type: 'outcome'; terminal: string; version: string | null; outcome: 'committed' | 'rolled-back' | 'refused'; reason: UpdateReason | null }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort' };

export type RolloutAction = { type: 'offer'; terminal: string; version: string };

export interface RolloutStep {
  state: RolloutState;
  actions: RolloutAction[];
  log: string[];
}

/**
 * How long an offer may go unanswered before it is made again: longer than a download, an install and
 * the health gate's trial take on a door's board (a few minutes), so that a terminal busy with it is not
 * asked twice in the ordinary case.
 */
export const OFFER_RETRY_MS = 30 * 60_000;

/** Refusals the bundle is not to blame for: offered again at the terminal's next heartbeat. */
const RETRY: ReadonlySet<UpdateReason> = new Set<UpdateReason>(['door-busy', 'download-failed', 'interrupted']);

/**
 * Canaries first; then each percentage is of all the rollout's terminals, canaries included, and
 * cumulative: 10 terminals, canary t1, 10%,50%,100% -> [t1], (10% is already covered), [t2..t5], [t6..t10].
 */
export function planWaves(plan: z.output<typeof RolloutPlanSchema>): string[][] {
  const rest = plan.terminals.filter((t) => !plan.canary.includes(t));
  const waves: string[][] = plan.canary.length > 0 ? [[...plan.canary]] : [];
  let taken = plan.canary.length;
  for (const pct of plan.waves) {
    const upTo = Math.ceil((pct / 100) * plan.terminals.length);
    if (upTo > taken) waves.push(rest.slice(taken - plan.canary.length, upTo - plan.canary.length));
    taken = Math.max(taken, upTo);
  }
  return waves;
}

/**
 * `fleet`: what the hub knows of each terminal now (online, installed version). Opens the first wave.
 */
export function startRollout(input: RolloutPlan, fleet: Record<string, { online: boolean; version: string | null }>, at: number): RolloutStep {
  const p = RolloutPlanSchema.safeParse(input);
  if (!p.success) throw new RolloutError(`rollout plan: ${p.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`).join('; ')}`);
  const plan = p.data;
  const waves = planWaves(plan);
  const terminals: Record<string, TerminalRollout> = {};
  waves.forEach((w, i) => {
    for (const t of w) terminals[t] = { wave: i, status: 'queued', online: fleet[t]?.online ?? false, reason: null, at: null };
  });
  const state: RolloutState = { version: plan.version, phase: 'running', waves, opened: -1, maxFailures: plan.maxFailures, failures: 0, terminals };
  const log = [`rollout ${plan.version}: ${waves.map((w, i) => `wave ${i + 1} [${w.join(',')}]`).join(', ')}; max failures ${plan.maxFailures}`];
  const actions: RolloutAction[] = [];
  for (const [t, f] of Object.entries(fleet)) {
    const tr = terminals[t];
    if (tr && f.version && compareVersions(f.version, plan.version) >= 0) {
      tr.status = 'committed';
      tr.reason = 'already on the version';
    }
  }
  openNext(state, at, actions, log);
  advance(state, at, actions, log);
  return { state, actions, log };
}

export function stepRollout(prev: RolloutState, e: RolloutEvent, at: number): RolloutStep {
  const state: RolloutState = structuredClone(prev);
  const actions: RolloutAction[] = [];
  const log: string[] = [];
  switch (e.type) {
    case 'pause':
      if (state.phase === 'running') {
        state.phase = 'paused';
        log.push('paused: no new offers');
      }
      break;
    case 'resume':
      if (state.phase === 'paused') {
        state.phase = 'running';
        log.push('resumed');
        for (const [t, tr] of Object.entries(state.terminals)) if (tr.wave <= state.opened && tr.status === 'waiting' && tr.online) offer(state, t, at, actions, log);
      }
      break;
    case 'abort':
      if (state.phase !== 'done' && state.phase !== 'aborted') {
        state.phase = 'aborted';
        log.push('aborted: no new offers; terminals already updated keep the version');
      }
      break;
    case 'heartbeat': {
      const tr = state.terminals[e.terminal];
      if (!tr) break;
      tr.online = e.online;
      if (e.online && e.version && compareVersions(e.version, state.version) >= 0 && tr.status !== 'committed') {
        tr.status = 'committed';
        tr.at = at;
        log.push(`${e.terminal}: runs ${e.version}`);
      } else if (e.online && tr.status === 'waiting' && tr.wave <= state.opened && state.phase === 'running') {
        log.push(`${e.terminal}: back online; catching up`);
        offer(state, e.terminal, at, actions, log);
      } else if (e.online && tr.status === 'offered' && tr.at !== null && at - tr.at >= OFFER_RETRY_MS && state.phase === 'running') {
        log.push(`${e.terminal}: no answer to the offer in ${Math.round((at - tr.at) / 60_000)} min; offered again`);
        offer(state, e.terminal, at, actions, log);
      }
      break;
    }
    case 'outcome': {
      const tr = state.terminals[e.terminal];
      if (!tr || (e.version !== null && e.version !== state.version)) break;
      tr.at = at;
      if (e.outcome === 'committed' || e.reason === 'already-installed') {
        // A heartbeat after the health gate may have said so first: one line per terminal.
        if (tr.status !== 'committed') log.push(`${e.terminal}: committed ${state.version}`);
        tr.status = 'committed';
        tr.reason = null;
      } else if (e.reason && RETRY.has(e.reason)) {
        tr.status = 'waiting';
        tr.reason = e.reason;
        log.push(`${e.terminal}: ${e.outcome} (${e.reason}); offered again at its next heartbeat`);
      } else if (tr.status !== 'failed') {
        tr.status = 'failed';
        tr.reason = e.reason;
        state.failures++;
        log.push(`${e.terminal}: ${e.outcome} (${e.reason ?? 'no reason'}); failures ${state.failures} of at most ${state.maxFailures}`);
        if (state.failures > state.maxFailures && (state.phase === 'running' || state.phase === 'paused')) {
          state.phase = 'halted';
          log.push(`halted in wave ${tr.wave + 1}: more failures than allowed; no further terminal is offered ${state.version}`);
        }
      }
      break;
    }
  }
  advance(state, at, actions, log);
  return { state, actions, log };
}

function offer(state: RolloutState, t: string, at: number, actions: RolloutAction[], log: string[]): void {
  const tr = state.terminals[t];
  if (!tr) return;
  if (!tr.online) {
    tr.status = 'waiting';
    tr.reason = 'offline';
    log.push(`${t}: offline; offered when it is back`);
    return;
  }
  tr.status = 'offered';
  tr.reason = null;
  tr.at = at;
  actions.push({ type: 'offer', terminal: t, version: state.version });
  log.push(`${t}: offered ${state.version}`);
}

function openNext(state: RolloutState, at: number, actions: RolloutAction[], log: string[]): void {
  state.opened++;
  const wave = state.waves[state.opened] ?? [];
  log.push(`wave ${state.opened + 1} opens: ${wave.join(', ')}`);
  for (const t of wave) if (state.terminals[t]?.status === 'queued') offer(state, t, at, actions, log);
}

/** Opens waves while the current one is healthy; ends the rollout when every terminal is on the version. */
function advance(state: RolloutState, at: number, actions: RolloutAction[], log: string[]): void {
  const all = Object.values(state.terminals);
  if (state.phase !== 'aborted' && all.every((t) => t.status === 'committed')) {
    if (state.phase !== 'done') log.push(`done: ${all.length} terminals on ${state.version}`);
    state.phase = 'done';
    return;
  }
  while (state.phase === 'running' && state.opened < state.waves.length - 1) {
    const wave = (state.waves[state.opened] ?? []).map((t) => state.terminals[t]).filter((t): t is TerminalRollout => !!t);
    const pending = wave.some((t) => t.status === 'offered' || t.status === 'queued');
    const committed = wave.some((t) => t.status === 'committed');
    if (pending || !committed || state.failures > state.maxFailures) return;
    log.push(`wave ${state.opened + 1} healthy`);
    openNext(state, at, actions, log);
  }
}
