/**
 * Staged rollouts on the hub: the pure state machine (rollout.ts) with its state kept in hub.db
 * (RolloutStore), fed by what the terminals say and what operators ask, and its actions carried out.
 *
 * - start (an operator: `provision update rollout`, `POST /api/updates/rollout`): the published
 *   bundle of the version (bundles.ts), every active terminal, the fleet as the hub last heard it
 *   (online, installed version); refused while another rollout is running, paused or halted, and
 *   while an active person has face templates but none of the bundle's embedding model.
 * - pause, resume, abort (an operator).
 * - heartbeat (every terminal status the hub receives) and outcome (every `update.outcome` event the
 *   hub stores): fed by the hub's RolloutFeed (hub-feed.ts).
 * - actions: an `offer` becomes a signed `update` command (version and the bundle's URL on the hub's
 *   bundle server) queued in hub.db; the hub's command sender sends it like any command (audited as
 *   `command.sent`), and the terminal starts its update agent on it (runtime/update/launcher.ts).
 * - log: every line of the state machine goes to the rollout's log in hub.db (`provision update status
 *   --log`, `GET /api/updates/rollout/log`) and to the hub's log (module `rollout`); operators' actions
 *   and the end of a rollout (done, halted) are audited.
 *
 * Every change is one transaction on the store: the API and the hub's MQTT side, in one process, never
 * interleave inside one (better-sqlite3 is synchronous), and another process queues behind it.
 */
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { UpdateReason } from '../../runtime/protocol/schemas';
import { fleetStatus } from '../admin/fleet';
import type { Community } from '../community';
import type { PersonRecord } from '../db';
import type { RolloutLogLine, RolloutRecord } from '../store/hub-store';
import { publishedBundle } from './bundles';
import { RolloutError, startRollout, stepRollout, type RolloutEvent, type RolloutPhase, type RolloutStep } from './rollout';

/** A rollout cannot be started or changed now (one is running, no bundle, no bundle server...): nothing changed. */
export class RolloutRefusedError extends TerminalError {
  readonly code = 'rollout-refused';
}

/** The hub's actor in the audit log and on the commands it queues by itself. */
const HUB_ACTOR = 'hub';

/** Phases in which a rollout still acts (a new one waits until it is aborted or done). */
const ACTIVE: ReadonlySet<RolloutPhase> = new Set(['running', 'paused', 'halted']);

export interface RolloutsDeps {
  community: Community;
  clock: Clock;
  log: Logger;
  /** The URL a terminal downloads a bundle from by its name (null: this hub serves no bundles). */
  bundleUrl: ((name: string) => string) | null;
}

export interface RolloutStartInput {
  version: string;
  canary?: string[];
  /** Cumulative percentages of the fleet, ending at 100. */
  waves?: number[];
  maxFailures?: number;
}

/** One terminal in the rollout's status: what the rollout made of it and what the terminal last said. */
export interface RolloutTerminalView {
  terminalId: string;
  wave: number;
  /** queued, offered, waiting (offline or a retryable refusal), committed, failed. */
  status: string;
  /** Why it failed or waits (an update reason, or `offline`). */
  reason: string | null;
  online: boolean;
  /** The version it runs, as its last heartbeat said. */
  version: string | null;
  /** What its update agent last did (heartbeat). */
  updateState: string | null;
}

export interface RolloutView {
  id: number;
  version: string;
  bundle: string;
  phase: RolloutPhase;
  waves: string[][];
  /** Waves opened so far (1-based count). */
  opened: number;
  failures: number;
  maxFailures: number;
  startedBy: string;
  startedAt: number;
  updatedAt: number;
  terminals: RolloutTerminalView[];
}

/** Persons with face templates, none of them of `modelId` (persons without a face need none). */
export function personsWithoutModel(persons: readonly PersonRecord[], modelId: string): number {
  return persons.filter((p) => p.templates.length > 0 && !p.templates.some((t) => t.modelId === modelId)).length;
}

export class Rollouts {
  private readonly log: Logger;

  constructor(private readonly d: RolloutsDeps) {
    this.log = d.log.child({ module: 'rollout' });
  }

  private get store(): Community['db'] {
    return this.d.community.db;
  }

  /** Whether this hub can offer bundles (it serves them). */
  serving(): boolean {
    return this.d.bundleUrl !== null;
  }

  /** Starts a rollout of a published version to every active terminal; offers the first wave at once. */
  start(input: RolloutStartInput, actor: string): RolloutRecord {
    const bundleUrl = this.requireServing();
    const now = this.d.clock.now();
    const bundle = publishedBundle(this.d.community, input.version);
    if (!bundle) throw new RolloutRefusedError(`no bundle of ${input.version} is published (provision update publish FILE)`);
    const lacking = personsWithoutModel(this.store.persons({ status: 'active' }), bundle.entry.embed);
    if (lacking > 0) {
      // A terminal on that runtime would not recognise them (its health gate rolls such an update back).
      throw new RolloutRefusedError(`${lacking} active person(s) have face templates but none of the bundle's embedding model ${bundle.entry.embed}: make them first (provision update templates --version ${input.version})`);
    }
    const fleet = fleetStatus({ clock: this.d.clock, community: this.d.community, store: this.store }).filter((r) => r.status === 'active');
    if (fleet.length === 0) throw new RolloutRefusedError('there is no active terminal to update');
    const unknown = (input.canary ?? []).filter((t) => !fleet.some((r) => r.terminalId === t));
    if (unknown.length > 0) throw new RolloutRefusedError(`canary terminals that are not active terminals: ${unknown.join(', ')}`);
    const known = Object.fromEntries(fleet.map((r) => [r.terminalId, { online: r.online, version: r.version }]));
    return this.store.tx(() => {
      const running = this.store.latestRollout();
      if (running && ACTIVE.has(running.state.phase)) throw new RolloutRefusedError(`rollout ${running.id} of ${running.version} is ${running.state.phase}: abort it first`);
      let step: RolloutStep;
      try {
        step = startRollout(
          {
            version: input.version,
            terminals: fleet.map((r) => r.terminalId),
            ...(input.canary ? { canary: input.canary } : {}),
            ...(input.waves ? { waves: input.waves } : {}),
            ...(input.maxFailures !== undefined ? { maxFailures: input.maxFailures } : {}),
          },
          known,
          now,
        );
      } catch (e) {
        if (e instanceof RolloutError) throw new RolloutRefusedError(e.message);
        throw e;
      }
      const id = this.store.addRollout({ version: input.version, bundle: bundle.name, state: step.state, startedBy: actor }, now);
      this.store.audit(actor, 'update.rollout', input.version, { rollout: id, bundle: bundle.name, waves: step.state.waves, maxFailures: step.state.maxFailures }, now);
      this.carryOut(id, bundle.name, bundleUrl, step, actor, now, null);
      return this.store.rollout(id) as RolloutRecord;
    });
  }

  /** An operator's pause, resume or abort of the current rollout. */
  control(kind: 'pause' | 'resume' | 'abort', actor: string): RolloutRecord {
    const bundleUrl = kind === 'resume' ? this.requireServing() : this.d.bundleUrl;
    const now = this.d.clock.now();
    return this.store.tx(() => {
      const r = this.store.latestRollout();
      if (!r || !ACTIVE.has(r.state.phase)) throw new RolloutRefusedError(`there is no rollout to ${kind}${r ? ` (rollout ${r.id} of ${r.version} is ${r.state.phase})` : ''}`);
      if (kind === 'pause' && r.state.phase !== 'running') throw new RolloutRefusedError(`rollout ${r.id} is ${r.state.phase}, not running`);
      if (kind === 'resume' && r.state.phase !== 'paused') throw new RolloutRefusedError(`rollout ${r.id} is ${r.state.phase}, not paused`);
      this.store.audit(actor, `update.${kind}`, r.version, { rollout: r.id }, now);
      this.step(r, { type: kind }, bundleUrl, actor, now);
      return this.store.rollout(r.id) as RolloutRecord;
    });
  }

  /** A terminal's status (heartbeat or last will): `version` installed, when it said. */
  heartbeat(terminalId: string, online: boolean, version: string | null): void {
    this.feed({ type: 'heartbeat', terminal: terminalId, online, version });
  }

  /** A terminal's `update.outcome` event, as the hub stored it. */
  outcome(terminalId: string, e: { outcome: 'committed' | 'rolled-back' | 'refused'; version: string | null; reason: UpdateReason | null }): void {
    this.feed({ type: 'outcome', terminal: terminalId, outcome: e.outcome, version: e.version, reason: e.reason });
  }

  /** The most recent rollout (whatever its phase), or null. */
  current(): RolloutRecord | null {
    return this.store.latestRollout();
  }

  /** The rollout and each of its terminals as the hub knows them now. */
  view(r: RolloutRecord): RolloutView {
    const fleet = new Map(fleetStatus({ clock: this.d.clock, community: this.d.community, store: this.store }).map((f) => [f.terminalId, f]));
    const s = r.state;
    return {
      id: r.id,
      version: r.version,
      bundle: r.bundle,
      phase: s.phase,
      waves: s.waves,
      opened: s.opened + 1,
      failures: s.failures,
      maxFailures: s.maxFailures,
      startedBy: r.startedBy,
      startedAt: r.startedAt,
      updatedAt: r.updatedAt,
      terminals: Object.entries(s.terminals)
        .sort(([, a], [, b]) => a.wave - b.wave)
        .map(([terminalId, t]) => {
          const f = fleet.get(terminalId);
          return { terminalId, wave: t.wave + 1, status: t.status, reason: t.reason, online: f?.online ?? t.online, version: f?.version ?? null, updateState: f?.update?.state ?? null };
        }),
    };
  }

  logLines(id: number, afterLine = 0): RolloutLogLine[] {
    return this.store.rolloutLog(id, afterLine);
  }

  private requireServing(): (name: string) => string {
    if (!this.d.bundleUrl) throw new RolloutRefusedError('this hub serves no bundles: start it with --updates HOST:PORT');
    return this.d.bundleUrl;
  }

  private feed(e: RolloutEvent): void {
    const now = this.d.clock.now();
    this.store.tx(() => {
      const r = this.store.latestRollout();
      if (!r || !ACTIVE.has(r.state.phase) || !(('terminal' in e) && e.terminal in r.state.terminals)) return;
      this.step(r, e, this.d.bundleUrl, HUB_ACTOR, now);
    });
  }

  private step(r: RolloutRecord, e: RolloutEvent, bundleUrl: ((name: string) => string) | null, actor: string, now: number): void {
    const step = stepRollout(r.state, e, now);
    // Heartbeats mostly change nothing: the row is written only when the state or its log did.
    if (step.actions.length === 0 && step.log.length === 0 && JSON.stringify(step.state) === JSON.stringify(r.state)) return;
    this.carryOut(r.id, r.bundle, bundleUrl, step, actor, now, r.state.phase);
  }

  /** Stores the step, logs its lines, queues its offers; audits the end of the rollout. */
  private carryOut(id: number, bundle: string, bundleUrl: ((name: string) => string) | null, step: RolloutStep, actor: string, now: number, before: RolloutPhase | null): void {
    const { state } = step;
    const lines = [...step.log];
    for (const a of step.actions) {
      if (!bundleUrl) {
        // A hub restarted without its bundle server: the terminal waits for the next heartbeat of a hub that serves.
        const t = state.terminals[a.terminal];
        if (t) Object.assign(t, { status: 'waiting', reason: 'no-bundle-server' });
        lines.push(`${a.terminal}: not offered: this hub serves no bundles`);
        continue;
      }
      this.store.queueCommand(a.terminal, { type: 'update', version: a.version, url: bundleUrl(bundle) }, actor, now);
    }
    this.store.saveRollout(id, state, now);
    this.store.addRolloutLog(id, lines, now);
    for (const l of lines) this.log.info({ rollout: id }, l);
    if (before !== state.phase && (state.phase === 'halted' || state.phase === 'done')) {
      this.store.audit(HUB_ACTOR, `update.rollout.${state.phase}`, state.version, { rollout: id, failures: state.failures }, now);
    }
  }
}
