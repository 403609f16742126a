/**
 * The terminal's update agent: a process of its own (`doorway update install|resume`), beside the
 * terminal, never inside it, because it restarts the terminal and must outlive the restart. It talks to
 * the running terminal only through its /healthz on localhost (TerminalProbe) and to systemd through a
 * ServiceManager, and hands its reports to the terminal as files (UpdateReports).
 *
 *   download (mTLS, resumable) -> verify (signature, community, CPU, version, every sha256) -> unpack
 *   into the inactive slot -> wait until the door is idle -> record the trial -> switch `current` ->
 *   restart -> health gate -> commit, or switch back, restart and report why.
 *
 * A refused bundle changes nothing in the slots or `current`. A trial interrupted by a power cut is
 * finished by `resume()` (run at boot): the health gate runs again on what `current` points at.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ulid } from 'ulid';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { UpdateReason } from '../protocol/schemas';
import { UpdateRefusedError, verifyBundle, type InstallTarget, type VerifiedBundle } from './bundle';
import { download, DownloadError } from './download';
import { healthGate, sleep, type GateResult, type GateTiming } from './health-gate';
import type { Arch, UpdateManifest } from './manifest';
import { doorBusy, failingChecks, type TerminalProbe } from './probe';
import type { ServiceManager } from './service';
import { Slots, type SlotName } from './slots';
import { ensureDir, UpdateReports, UpdateStateStore, writeFileAtomic, type UpdateState } from './state';

/** Another agent run holds the lock on this terminal's update state. */
export class UpdateInProgressError extends TerminalError {
  readonly code = 'update-in-progress';
}

export interface AgentTiming {
  gate: GateTiming;
  door: { pollMs: number; idleTimeoutMs: number };
  download: { attempts: number; retryMs: number; idleTimeoutMs: number };
}

export interface TrustAnchors {
  /** The update key pinned in the terminal's config (update.publicKeyFile); null on older terminals. */
  configuredKey: KeyObject | null;
  hubKey: KeyObject;
  caSha256: string;
}

export interface UpdateAgentDeps {
  clock: Clock;
  log: Logger;
  slots: Slots;
  stateDir: string;
  service: ServiceManager;
  probe: TerminalProbe;
  trust: TrustAnchors;
  /** This terminal's CPU (process.arch). */
  arch: Arch;
  /** Version of the runtime in `current` when no update was ever recorded (the code's own version). */
  baseVersion: string;
  /** Health checks that must pass (hubConnected only when the terminal has a hub). */
  required: readonly string[];
  timing: AgentTiming;
  /** The terminal's own TLS identity, for downloads. */
  tls?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
}

export interface UpdateResult {
  outcome: 'committed' | 'rolled-back' | 'refused';
  /** The bundle's version (null when it could not be read). */
  version: string | null;
  /** The version running afterwards. */
  running: string | null;
  slot: SlotName | null;
  reason: UpdateReason | null;
  detail: string | null;
  /** After a rollback: did the previous version answer healthy again within the start timeout. */
  restored?: boolean;
}

export class UpdateAgent {
  readonly state: UpdateStateStore;
  readonly reports: UpdateReports;
  private readonly log: Logger;

  constructor(private readonly d: UpdateAgentDeps) {
    this.state = new UpdateStateStore(d.stateDir);
    this.reports = new UpdateReports(join(d.stateDir, 'reports'));
    this.log = d.log.child({ module: 'update' });
  }

  /** Where an update key learnt from a bundle's endorsement is pinned. */
  get pinnedKeyFile(): string {
    return join(this.d.stateDir, 'update-signing.pub');
  }

  /** The state, or the one implied by `current` before any update. */
  currentState(): UpdateState {
    const current = this.d.slots.current();
    if (current === null) throw new UpdateRefusedError('install-failed', `${this.d.slots.currentLink} does not exist: adopt the slot layout first`);
    return this.state.readOr(current, this.d.baseVersion);
  }

  /** What a bundle must fit on this terminal. */
  target(): InstallTarget {
    if (this.d.slots.current() === null) return { arch: this.d.arch, installed: this.d.baseVersion };
    const s = this.currentState();
    return { arch: this.d.arch, installed: s.slots[s.committed]?.version ?? this.d.baseVersion };
  }

  /** Checks a bundle exactly as install() does before touching anything; throws UpdateRefusedError. */
  verify(file: string): Promise<VerifiedBundle> {
    return verifyBundle(file, this.trust(), this.target());
  }

  /** Downloads (resuming across attempts), then installs. */
  async installFromUrl(url: string): Promise<UpdateResult> {
    return this.locked(async () => {
      let file: string;
      try {
        file = await this.fetch(url);
      } catch (e) {
        if (!(e instanceof DownloadError)) throw e;
        return this.finish({ outcome: 'refused', version: null, reason: 'download-failed', detail: e.message.slice(0, 200) });
      }
      try {
        return await this.installLocked(file);
      } finally {
        rmSync(file, { force: true });
      }
    });
  }

  install(file: string): Promise<UpdateResult> {
    return this.locked(() => this.installLocked(file));
  }

  /** At boot: finishes a trial a power cut or a killed agent left open. null when there was none. */
  resume(): Promise<UpdateResult | null> {
    return this.locked(() => this.resumeLocked());
  }

  // ------------------------------------------------------------------------------------------ steps

  private async installLocked(file: string): Promise<UpdateResult> {
    if (this.d.slots.current() === null) {
      return this.refuse(new UpdateRefusedError('install-failed', `${this.d.slots.currentLink} does not exist: adopt the slot layout first`));
    }
    const open = await this.resumeLocked();
    if (open) this.log.warn({ outcome: open.outcome }, 'finished an interrupted trial before this update');
    let verified: VerifiedBundle;
    try {
      verified = await this.verify(file);
    } catch (e) {
      if (e instanceof UpdateRefusedError) return this.refuse(e);
      throw e;
    }
    const m = verified.manifest;
    if (verified.endorsedKey) {
      // Learnt through the roster key this terminal already pins; from now on only this key is accepted.
      ensureDir(this.d.stateDir);
      writeFileAtomic(this.pinnedKeyFile, verified.endorsedKey.export({ type: 'spki', format: 'pem' }).toString());
      this.log.info('update key pinned from the roster key\'s endorsement');
    }
    const state = this.currentState();
    let slot: SlotName;
    try {
      slot = await this.d.slots.install(file, m);
    } catch (e) {
      if (e instanceof UpdateRefusedError) return this.refuse(e);
      if (e instanceof TerminalError || isFsError(e)) return this.refuse(new UpdateRefusedError('install-failed', (e as Error).message.slice(0, 200), m.version));
      throw e;
    }
    state.slots[slot] = { version: m.version, embedModel: m.models.embed, installedAt: this.d.clock.now() };
    this.state.write(state);
    this.log.info({ version: m.version, slot }, 'bundle unpacked into the inactive slot');

    if (!(await this.waitForIdleDoor(this.d.timing.door.idleTimeoutMs, false))) {
      return this.refuse(new UpdateRefusedError('door-busy', `the door stayed busy for ${this.d.timing.door.idleTimeoutMs} ms; ${m.version} waits in slot ${slot}, not switched`, m.version));
    }
    const before = await this.d.probe.health();
    const from = state.committed;
    const fromVersion = state.slots[from]?.version ?? this.d.baseVersion;
    state.trial = { slot, version: m.version, from, fromVersion, startedAt: this.d.clock.now() };
    this.state.write(state);
    this.d.slots.switchTo(slot);
    this.log.info({ version: m.version, slot, from: fromVersion }, 'current switched; restarting the terminal');
    await this.d.service.restart();
    const gate = await healthGate({
      clock: this.d.clock,
      probe: this.d.probe,
      service: this.d.service,
      timing: this.d.timing.gate,
      required: this.d.required,
      reenrolmentBefore: before.reachable ? before.reenrolment : null,
    });
    return this.conclude(state, gate, m);
  }

  private async resumeLocked(): Promise<UpdateResult | null> {
    const state = this.currentState();
    const trial = state.trial;
    if (!trial) return null;
    if (this.d.slots.current() !== trial.slot) {
      // The power went before `current` was switched: nothing to undo.
      state.trial = null;
      this.state.write(state);
      return this.finish({ outcome: 'refused', version: trial.version, reason: 'interrupted', detail: 'the update stopped before the switch' }, state);
    }
    this.log.warn({ version: trial.version }, 'a trial was interrupted; running its health check again');
    const gate = await healthGate({ clock: this.d.clock, probe: this.d.probe, service: this.d.service, timing: this.d.timing.gate, required: this.d.required, reenrolmentBefore: null });
    return this.conclude(state, gate, null);
  }

  private async conclude(state: UpdateState, gate: GateResult, m: UpdateManifest | null): Promise<UpdateResult> {
    const trial = state.trial;
    if (!trial) throw new Error('conclude without a trial');
    if (gate.ok) {
      const before = state.slots[trial.from]?.embedModel ?? embedModelIn(this.d.slots.dir(trial.from));
      const after = state.slots[trial.slot]?.embedModel ?? m?.models.embed ?? null;
      state.committed = trial.slot;
      state.trial = null;
      const detail = before && after && before !== after ? `embedding model ${before} -> ${after}` : null;
      this.log.info({ version: trial.version, slot: trial.slot }, 'update committed');
      return this.finish({ outcome: 'committed', version: trial.version, reason: null, detail }, state);
    }
    this.log.error({ version: trial.version, reason: gate.reason, detail: gate.detail }, 'update failed its health check; rolling back');
    // A runtime that does not answer cannot say its door is busy: the rollback then does not wait for it.
    await this.waitForIdleDoor(Number.POSITIVE_INFINITY, true);
    this.d.slots.switchTo(trial.from);
    await this.d.service.restart();
    state.committed = trial.from;
    state.trial = null;
    const restored = await this.restoredHealthy();
    const r = this.finish({ outcome: 'rolled-back', version: trial.version, reason: gate.reason, detail: gate.detail.slice(0, 200) }, state);
    return { ...r, restored };
  }

  /** Waits until the door is neither released, open nor in a passage. false: still busy at the deadline. */
  private async waitForIdleDoor(deadlineMs: number, rollingBack: boolean): Promise<boolean> {
    const t0 = this.d.clock.monotonic();
    let said = false;
    for (;;) {
      const h = await this.d.probe.health();
      if (!doorBusy(h)) return true;
      if (!h.reachable) {
        if (rollingBack) return true;
        if (!(await this.d.service.status()).active) return true; // nothing runs: nothing to interrupt
      }
      if (!said) {
        this.log.info({ door: h.door }, 'door busy: waiting before restarting the terminal');
        said = true;
      }
      if (this.d.clock.monotonic() - t0 >= deadlineMs) return false;
      await sleep(this.d.clock, this.d.timing.door.pollMs);
    }
  }

  private async restoredHealthy(): Promise<boolean> {
    const t0 = this.d.clock.monotonic();
    for (;;) {
      if (failingChecks(await this.d.probe.health(), this.d.required).length === 0) return true;
      if (this.d.clock.monotonic() - t0 >= this.d.timing.gate.startTimeoutMs) return false;
      await sleep(this.d.clock, this.d.timing.gate.pollMs);
    }
  }

  private refuse(e: UpdateRefusedError): UpdateResult {
    this.log.warn({ reason: e.reason, version: e.version, detail: e.message }, 'update refused');
    return this.finish({ outcome: 'refused', version: e.version, reason: e.reason, detail: e.message.slice(0, 200) });
  }

  /** Records the outcome in the state file and as a report for the hub. */
  private finish(r: Omit<UpdateResult, 'running' | 'slot'>, state: UpdateState | null = null): UpdateResult {
    const slot = this.d.slots.current();
    const s = state ?? (slot ? this.currentState() : null);
    const at = this.d.clock.now();
    if (s) {
      s.last = { outcome: r.outcome, version: r.version, reason: r.reason, detail: r.detail, at };
      this.state.write(s);
    }
    const running = slot && s ? (s.slots[slot]?.version ?? null) : null;
    this.reports.write({ id: ulid(at), at, type: 'update.outcome', outcome: r.outcome, version: r.version, running, reason: r.reason, detail: r.detail });
    return { ...r, running, slot };
  }

  private trust(): TrustAnchors & { updateKey: KeyObject | null } {
    const t = this.d.trust;
    let updateKey = t.configuredKey;
    if (!updateKey && existsSync(this.pinnedKeyFile)) updateKey = createPublicKey(readFileSync(this.pinnedKeyFile));
    return { ...t, updateKey };
  }

  private async fetch(url: string): Promise<string> {
    if (!this.d.tls) throw new DownloadError('no TLS identity configured for downloads', 0, false);
    const dir = join(this.d.stateDir, 'downloads');
    ensureDir(dir, 0o700);
    const name = basename(new URL(url).pathname);
    const dest = join(dir, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) ? name : 'bundle');
    const { attempts, retryMs, idleTimeoutMs } = this.d.timing.download;
    for (let i = 1; ; i++) {
      try {
        const r = await download({ url, dest, ...this.d.tls, idleTimeoutMs });
        this.log.info({ bytes: r.size, resumedFrom: r.resumedFrom, attempt: i }, 'bundle downloaded');
        return r.file;
      } catch (e) {
        if (!(e instanceof DownloadError) || !e.retryable || i >= attempts) throw e;
        this.log.warn({ attempt: i, kept: e.bytes, err: e.message }, 'download interrupted; resuming');
        await sleep(this.d.clock, retryMs * i);
      }
    }
  }

  /** One agent at a time per terminal: an exclusive lock file holding the pid (a dead holder's is taken over). */
  private async locked<T>(f: () => Promise<T>): Promise<T> {
    ensureDir(this.d.stateDir);
    const lock = join(this.d.stateDir, 'agent.lock');
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o644);
    } catch {
      const holder = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) throw new UpdateInProgressError(`another update agent (pid ${holder}) is running`);
      rmSync(lock, { force: true });
      fd = openSync(lock, 'wx', 0o644);
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    try {
      return await f();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isFsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code ?? '');
}

/** The embedding model id of the runtime in `dir`, from its model manifest (null when it has none). */
export function embedModelIn(dir: string): string | null {
  for (const p of ['dist/models/manifest.json', 'models/manifest.json']) {
    try {
      const m = JSON.parse(readFileSync(join(dir, p), 'utf8')) as { models?: { role?: unknown; id?: unknown }[] };
      const id = m.models?.find((e) => e.role === 'embed')?.id;
      if (typeof id === 'string') return id;
    } catch {
      // next candidate
    }
  }
  return null;
}
