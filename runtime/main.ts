/**
 * The terminal process: the only place that builds real drivers and wires every component together
 * (constructor injection everywhere else). Start-up order puts the door first: GPIO and the lock
 * controller start before anything that can fail slowly (models, roster, hub), so the exit button and
 * the fire alarm work even when face recognition cannot.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ulid } from 'ulid';
import { FileSource, RtspSource, type FrameSource } from '../drivers/camera';
import { openDoorLines, type DoorLines, type GpioFactory } from '../drivers/gpio';
import { FakeGpio } from '../drivers/gpio/fake';
import { OnoffGpio } from '../drivers/gpio/onoff';
import { installLockExitGuards, LockController, type LockEvent } from '../drivers/lock';
import { FacePipeline } from '../models/pipeline';
import { SystemClock, type Clock } from '../core/clock';
import { ConfigError, loadConfig, updateStateDir, type Config } from './config';
import { planReload, type ConfigSection } from './config-reload';
import type { PersonFacts } from './decision/policy';
import { TerminalError } from '../core/errors';
import { HealthServer, TerminalMetrics, type HealthReport } from './health';
import { createLogger, type Logger } from '../core/log';
import { DoorLoop, type LoopConfig, type LoopEvent } from './loop/door-loop';
import type { Command, SyncEvent } from './protocol/schemas';
import { Matcher } from './roster/matcher';
import { LocalAdaptation } from './roster/local-adaptation';
import { RosterStore, WipeInterruptedError } from './roster/store';
import { SyncClient } from './sync/client';
import { openSyncDb, type SyncDb } from './sync/db';
import { Outbox } from './sync/outbox';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from './sync/roster-store-sink';
import { stagingKeyFromSecretFile } from './sync/snapshot-staging';
import { CertificateInstaller } from './sync/certificate';
import { MqttTransport } from './sync/transport';
import { LivenessFusion } from './loop/liveness-fusion';
import { SystemdNotifier } from './systemd';
import { UpdateLink } from './update/terminal-link';
import { OtherWaysIn } from './other-ways-in';
import type { PassEvent } from './pass/scanner';
import type { AccessEvent } from './access/controller';

export const SOFTWARE_VERSION = '0.1.0';

/** Exit status when the frame loop is stuck (EX_SOFTWARE): the supervisor restarts the process. */
export const EXIT_LOOP_STALLED = 70;
/**
 * Exit status after a config reload whose changes need a restart (EX_TEMPFAIL): the process stopped
 * cleanly (relay safe, outbox flushed) and its supervisor (systemd, Restart=always) starts it again
 * on the new file.
 */
export const EXIT_RESTART_FOR_CONFIG = 75;

/** What a config reload did (also recorded as a `config.reload` event). */
export interface ReloadResult {
  outcome: 'applied' | 'restart' | 'unchanged' | 'rejected';
  /** Changed sections (applied live, or needing the restart). */
  sections: ConfigSection[];
  /** Paths in the file of what is invalid (rejected only). */
  problems: string[];
}

/** What a terminal tells the world (the demo prints these; the outbox carries them to the hub). */
export type TerminalNotice =
  | { kind: 'loop'; event: LoopEvent }
  | { kind: 'lock'; event: LockEvent }
  | { kind: 'camera'; event: 'stall' | 'recovered' | 'error'; detail: string }
  | { kind: 'status'; message: string }
  | { kind: 'pass'; event: PassEvent }
  | { kind: 'access'; event: AccessEvent };

export interface TerminalOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Replaces the GPIO driver chosen by config (site tests inject their own fake to script inputs). */
  gpio?: GpioFactory;
  /** Replaces the camera built from config (benchmarks observe frame delivery; tests script frames). */
  camera?: FrameSource;
  onNotice?: (n: TerminalNotice) => void;
  /** The config file `config` was read from: `reload-config` (and SIGHUP) re-read it. */
  configFile?: string;
  /** Ends the process (default process.exit); tests observe the restart exit instead. */
  exit?: (code: number) => void;
}

export class Terminal {
  private camera: FrameSource | null = null;
  private loop: DoorLoop | null = null;
  private pipeline: FacePipeline | null = null;
  private store: RosterStore | null = null;
  private matcher: Matcher | null = null;
  private adaptation: LocalAdaptation | null = null;
  private otherWays: OtherWaysIn | null = null;
  private sync: SyncClient | null = null;
  private syncDb: SyncDb | null = null;
  private outbox: Outbox | null = null;
  private health: HealthServer | null = null;
  private watchdog: { cancel(): void } | null = null;
  private fpsTimer: { cancel(): void } | null = null;
  private updateTimer: { cancel(): void } | null = null;
  private updates: UpdateLink | null = null;
  private removeGuards: (() => void) | null = null;
  private systemd: SystemdNotifier | null = null;
  private lastLinkUp: number;
  private framesInWindow = 0;
  private fps = 0;
  private stopping = false;
  private current: Config;
  /** The frame loop reads this object at every step: door, thresholds and evidence are swapped in it. */
  private loopConfig: LoopConfig | null = null;
  /** Face matching switched off in memory (a wipe that could not be completed): every face is unknown. */
  private faceOff = false;
  private reloading: Promise<ReloadResult> | null = null;
  /** The wipe in progress (rows being erased, file being scrubbed), if any. */
  private wiping: Promise<void> | null = null;
  private configFile: string | null = null;
  private exit: (code: number) => void = (code) => process.exit(code);
  readonly metrics = new TerminalMetrics();
  readonly lock: LockController;
  readonly lines: DoorLines;
  healthPort = 0;

  private constructor(
    config: Config,
    readonly clock: Clock,
    readonly log: Logger,
    readonly gpio: GpioFactory,
    private readonly notify: (n: TerminalNotice) => void,
  ) {
    this.current = config;
    const relayLocked = LockController.relayActiveWhen(config.lock.lockType, true);
    this.lines = openDoorLines(gpio, config.gpio, relayLocked);
    this.lock = new LockController({ relay: this.lines.relay, inputs: this.lines.inputs, clock, config: config.lock, logger: log });
    this.lastLinkUp = clock.now();
  }

  static async start(opts: TerminalOptions): Promise<Terminal> {
    const { config } = opts;
    const clock = opts.clock ?? new SystemClock();
    const log = opts.logger ?? createLogger({ level: config.logging.level });
    // The only place real drivers are built.
    const gpio = opts.gpio ?? (config.gpio.driver === 'onoff' ? new OnoffGpio(clock, log) : new FakeGpio(clock));
    const t = new Terminal(config, clock, log, gpio, opts.onNotice ?? (() => {}));
    t.camera = opts.camera ?? null;
    t.configFile = opts.configFile ?? null;
    if (opts.exit) t.exit = opts.exit;
    await t.startAll();
    return t;
  }

  /** The config in force (replaced by a reload that applies live). */
  get config(): Config {
    return this.current;
  }

  private async startAll(): Promise<void> {
    const { config, clock, log } = this;
    // 1. The door: lock controller first (exit button and fire alarm must work whatever fails later).
    this.lock.onEvent((e) => this.onLockEvent(e));
    this.lock.start();

    // 2. Durable event outbox (events are stored before anything is published).
    mkdirSync(config.paths.dataDir, { recursive: true });
    this.syncDb = openSyncDb(join(config.paths.dataDir, 'sync.db'));

    // 3. Roster (decrypted in memory only) and the face models.
    this.store = RosterStore.open({ path: join(config.paths.dataDir, 'roster.db'), secretFile: config.paths.secretFile, logger: log, clock });
    try {
      this.pipeline = await FacePipeline.load(config.pipeline);
    } catch (e) {
      // No face decisions without models: the door stays locked, exit/fire still work, the hub is told.
      log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'face models failed to load');
      this.notify({ kind: 'status', message: `face models failed to load: ${(e as Error).message}` });
    }
    this.matcher = Matcher.fromStore(this.store, { modelId: this.pipeline?.modelId ?? 'unavailable', logger: log });
    this.adaptation = new LocalAdaptation(this.store, this.matcher, log, config.adaptation);
    this.adaptation.start();
    const resumed = this.store.wipeFinishedAtOpen();
    if (resumed) {
      // A wipe the process stopped in the middle of was finished at open: the hub hears of it now.
      this.record({ id: ulid(), at: clock.now(), type: 'terminal.wiped', outcome: 'erased', persons: resumed.persons, templates: resumed.templates });
    }
    const quarantined = this.store.quarantined().length;
    if (quarantined > 0) this.record({ id: ulid(), at: clock.now(), type: 'roster.integrity', rejectedRows: quarantined, code: 'roster-integrity' });

    // 4. Hub link (optional: the door decides without it).
    if (config.hub) {
      const hub = config.hub;
      this.sync = new SyncClient({
        terminalId: config.terminalId,
        transport: new MqttTransport({
          url: hub.url,
          clientId: config.terminalId,
          ca: readFileSync(hub.caFile),
          cert: readFileSync(hub.certFile),
          key: readFileSync(hub.keyFile),
          reconnectMinMs: 500,
          reconnectMaxMs: 30_000,
          connectTimeoutMs: 10_000,
          keepaliveS: 30,
          log,
        }),
        clock,
        log,
        db: this.syncDb,
        // Staged snapshot chunks are sealed with a key of their own from the same device secret.
        stagingKey: stagingKeyFromSecretFile(this.syncDb, config.paths.secretFile),
        hubPublicKey: createPublicKey(readFileSync(hub.hubPublicKeyFile)),
        roster: { sink: new RosterStoreSink(this.store), ...ROSTER_STORE_SCHEMAS },
        // Renewed certificates from the hub replace the bundle's certFile (runtime/sync/certificate.ts).
        certificates: new CertificateInstaller({ terminalId: config.terminalId, files: { certFile: hub.certFile, keyFile: hub.keyFile, caFile: hub.caFile }, clock, log }),
        health: () => ({ cameraFps: this.camera ? this.fps : null, lastDecisionLatencyMs: this.loop?.lastDecisionLatencyMs ?? null, ...this.updateHeartbeat() }),
        versions: { software: SOFTWARE_VERSION, model: this.pipeline?.modelId ?? 'unavailable' },
        timing: { heartbeatMs: hub.heartbeatMs },
      });
      this.outbox = this.sync.outbox;
      this.sync.on('connected', () => this.notify({ kind: 'status', message: 'hub connected' }));
      this.sync.on('disconnected', () => {
        this.lastLinkUp = clock.now();
        this.notify({ kind: 'status', message: 'hub disconnected' });
      });
      this.sync.on('roster-applied', (r) => this.notify({ kind: 'status', message: `roster ${r.kind} applied: version ${r.version}` }));
      this.sync.on('command', (c) => this.handleCommand(c));
      this.sync.start();
    } else {
      this.outbox = new Outbox(this.syncDb, { capacity: 100_000, log });
    }
    // The update agent (a process of its own) leaves its reports as files; they go to the outbox.
    this.updates = new UpdateLink(updateStateDir(config), config.update.root);
    this.drainUpdateReports();
    this.updateTimer = clock.setInterval(() => this.drainUpdateReports(), config.update.reportPollMs);

    // 5. Camera and the frame loop.
    // The sources find their decoder themselves (core/programs.ts) and report a missing one as a camera error.
    this.camera ??= config.camera.kind === 'rtsp'
      ? new RtspSource(config.camera, { clock, logger: log })
      : new FileSource(config.camera, { clock, logger: log });
    this.camera.on('frame', () => this.framesInWindow++);
    this.camera.on('stall', (i) => {
      this.notify({ kind: 'camera', event: 'stall', detail: `${i.sinceLastFrameMs} ms without a frame` });
      this.record({ id: ulid(), at: clock.now(), type: 'camera.stall', silentMs: Math.round(i.sinceLastFrameMs) });
    });
    this.camera.on('recovered', (i) => {
      this.notify({ kind: 'camera', event: 'recovered', detail: `after ${i.downMs} ms` });
      this.record({ id: ulid(), at: clock.now(), type: 'camera.recovery', stalledMs: Math.round(i.downMs) });
    });
    this.camera.on('error', (e) => this.notify({ kind: 'camera', event: 'error', detail: e.message }));
    this.fpsTimer = clock.setInterval(() => {
      this.fps = this.framesInWindow / 5;
      this.framesInWindow = 0;
    }, 5000);

    if (this.pipeline) {
      const pipeline = this.pipeline;
      const adaptation = this.adaptation;
      const store = this.store;
      this.loopConfig = loopConfigOf(config);
      this.loop = new DoorLoop({
        clock,
        logger: log,
        frames: { latest: () => this.camera?.latest() ?? null },
        pipeline,
        identifier: { search: (e, k) => (this.faceOff ? [] : adaptation.search(e, k)) },
        passages: (p) => adaptation.learn(p),
        persons: { facts: (id) => (this.faceOff ? null : personFacts(store, id)) },
        // Read at each new face track, so a reloaded liveness policy applies from the next passage.
        livenessFor: () => new LivenessFusion(this.current.liveness, clock, 'bgr'),
        // A door whose policy does not accept faces still recognises them (alert sightings) but opens for none.
        lock: { grant: (source) => (this.current.access.accept.includes('face') ? this.lock.grant(source) : 'method-not-accepted') },
        emit: (e) => this.onLoopEvent(e),
        config: this.loopConfig,
      });
    }
    this.camera.start();
    this.loop?.start();

    // 5b. Passes, cards and PINs (runtime/other-ways-in.ts).
    const roster = this.store;
    this.otherWays = new OtherWaysIn({
      config: () => this.current, clock, logger: log, gpio: this.gpio, store: roster, syncDb: this.syncDb,
      frames: { latest: () => this.camera?.latest() ?? null },
      persons: { facts: (id) => (this.faceOff ? null : personFacts(roster, id)) },
      lock: this.lock, record: (e) => this.record(e),
      notify: (e) => this.notify(e.type === 'pass' ? { kind: 'pass', event: e } : { kind: 'access', event: e }),
    });
    await this.otherWays.start();

    // 6. Health, metrics, stall watchdog, signals.
    this.health = new HealthServer(config.health, () => this.checks(), this.metrics, () => this.refreshGauges());
    this.healthPort = await this.health.start();
    this.watchdog = clock.setInterval(() => this.checkStall(), Math.max(250, Math.floor(config.health.stallExitMs / 4)));
    this.systemd = new SystemdNotifier(process.env, clock, log);
    this.systemd.ready();
    this.systemd.startWatchdog(() => !this.loop || clock.monotonic() - this.loop.lastProgress < config.health.stallExitMs);
    this.notify({ kind: 'status', message: `terminal ${config.terminalId} running at door ${config.door.doorId}` });
  }

  /**
   * Installs SIGTERM/SIGINT handling (stop cleanly, exit 0), SIGHUP (reload the config file, as the
   * hub's `reload-config` does) and the last-gasp relay guard.
   */
  installSignalHandlers(): void {
    const remove = installLockExitGuards(this.lock, { exitOnSignal: false });
    const onSignal = (): void => {
      this.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    const onHup = (): void => {
      this.reloadConfig().catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'config reload failed'));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.on('SIGHUP', onHup);
    this.removeGuards = () => {
      remove();
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGHUP', onHup);
    };
  }

  /** Carries out a verified hub command (the sync client has checked signature, expiry and nonce). */
  handleCommand(c: Command): void {
    switch (c.type) {
      case 'unlock': {
        // The hub chooses how long; the lock controller cuts it to lock.maxUnlockMs and refuses a
        // nonsense duration (door stays locked).
        const r = this.lock.grant('remote', c.durationMs);
        if (r !== 'unlocked') this.log.warn({ result: r }, 'remote unlock not carried out');
        this.notify({ kind: 'status', message: `remote unlock: ${r}` });
        return;
      }
      case 'resync':
        // The sync client has asked the hub for a full snapshot; a wiped roster may take it now, or
        // once a wipe still erasing has finished (then the snapshot is asked for again).
        if (this.wiping) {
          this.wiping
            .then(() => {
              this.releaseHold();
              this.sync?.requestSnapshotAgain();
            })
            .catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'resync after the wipe failed'));
        } else this.releaseHold();
        return;
      case 'wipe':
        this.wipe().catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'wipe failed'));
        return;
      case 'reload-config':
        this.reloadConfig().catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'config reload failed'));
        return;
    }
  }

  private releaseHold(): void {
    if (this.store && this.store.wipedAt() !== null) {
      this.store.releaseWipeHold();
      this.notify({ kind: 'status', message: 'roster hold released: resync ordered' });
    }
  }

  /**
   * Erases every person and template (roster file and matcher), so that no face can match any more;
   * the door keeps working for exit button, fire alarm and remote unlock. Before this returns its
   * promise the roster is held (the hold is on disk, a restart finishes the wipe) and the matcher is
   * empty; the rows are then erased in small transactions and the file scrubbed on a worker thread,
   * so the event loop (fire alarm, exit button) is never held for long. The roster stays empty until
   * the hub sends `resync`. Entry records waiting in the outbox stay: they carry pseudonymous person
   * ids only, and entry records must not be lost. A second wipe while one runs joins it.
   */
  wipe(): Promise<void> {
    this.wiping ??= this.doWipe().finally(() => (this.wiping = null));
    return this.wiping;
  }

  private async doWipe(): Promise<void> {
    const at = this.clock.now();
    const store = this.store;
    try {
      if (!store) throw new Error('roster not open');
      // Synchronous up to the first batch: hold committed, reads empty, matcher emptied.
      const erasing = store.wipe();
      // The matcher follows the store's change; if it did not empty, matching stays off in memory.
      if ((this.matcher?.size ?? 0) > 0) {
        this.faceOff = true;
        this.log.error({ left: this.matcher?.size }, 'matcher not empty after the wipe; face matching switched off');
      }
      this.sync?.rosterWiped();
      const r = await erasing;
      this.record({ id: ulid(), at, type: 'terminal.wiped', outcome: 'erased', persons: r.persons, templates: r.templates });
      this.notify({ kind: 'status', message: `roster wiped: ${r.persons} persons, ${r.templates} templates erased` });
    } catch (e) {
      // Fail closed: no face opens this door until the terminal is seen to.
      this.faceOff = true;
      if (this.stopping && e instanceof WipeInterruptedError) {
        this.log.warn('wipe interrupted by the stop; it is finished when the roster is next opened');
        return;
      }
      this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'wipe failed; face matching switched off');
      this.record({ id: ulid(), at, type: 'terminal.wiped', outcome: 'failed', persons: 0, templates: 0 });
      this.notify({ kind: 'status', message: `wipe failed: ${(e as Error).message}` });
    }
  }

  /**
   * Re-reads the config file the terminal started with. Invalid: the running config stays, the problem
   * paths are logged and reported. Valid: door, decision, liveness and evidence changes apply live (the
   * liveness policy from the next face track); any other change stops the terminal cleanly (the SIGTERM
   * path) and exits with EXIT_RESTART_FOR_CONFIG for the supervisor to start it on the new file.
   */
  reloadConfig(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    const at = this.clock.now();
    const report = (r: ReloadResult): ReloadResult => {
      this.record({ id: ulid(), at, type: 'config.reload', outcome: r.outcome, sections: r.sections, problems: r.problems.slice(0, 20).map((p) => p.slice(0, 200)) });
      this.notify({ kind: 'status', message: `config reload ${r.outcome}${r.sections.length ? `: ${r.sections.join(', ')}` : ''}` });
      return r;
    };
    if (this.stopping) return { outcome: 'unchanged', sections: [], problems: [] };
    if (!this.configFile) {
      this.log.warn('config reload asked, but this terminal was not started from a config file');
      return report({ outcome: 'rejected', sections: [], problems: ['(no config file)'] });
    }
    let next: Config;
    try {
      next = loadConfig(this.configFile);
    } catch (e) {
      const paths = e instanceof ConfigError ? [...new Set(e.paths)] : ['(file)'];
      // Paths only: a message could quote the file's text.
      this.log.error({ file: this.configFile, problems: paths }, 'config reload rejected: the new file is invalid; running config kept');
      this.metrics.errors.inc({ code: 'config' });
      return report({ outcome: 'rejected', sections: [], problems: paths });
    }
    const plan = planReload(this.current, next);
    if (plan.outcome === 'unchanged') {
      this.log.info('config reload: nothing changed');
      return report({ outcome: 'unchanged', sections: [], problems: [] });
    }
    if (plan.outcome === 'restart') {
      this.log.warn({ restart: plan.restart, live: plan.live }, 'config reload: changes need a restart; stopping');
      const r = report({ outcome: 'restart', sections: [...plan.restart, ...plan.live], problems: [] });
      await this.stop();
      this.exit(EXIT_RESTART_FOR_CONFIG);
      return r;
    }
    this.current = next;
    if (this.loopConfig) Object.assign(this.loopConfig, loopConfigOf(next, this.loopConfig.tracker));
    this.log.info({ sections: plan.live }, 'config reload applied');
    return report({ outcome: 'applied', sections: plan.live, problems: [] });
  }

  checks(): HealthReport {
    const frame = this.camera?.latest();
    const lock = this.lock.getState();
    return {
      loopRunning: !!this.loop && this.clock.monotonic() - this.loop.lastProgress < this.config.health.stallExitMs,
      cameraFresh: !!frame && this.clock.now() - frame.capturedAt <= this.config.health.frameFreshMs,
      modelsLoaded: this.pipeline !== null,
      rosterLoaded: this.store !== null && this.matcher !== null,
      lockOk: this.lock.getState().state !== 'stopped',
      hubConnected: this.sync ? this.sync.connected() : null,
      door: { lock: lock.state, doorOpen: lock.doorOpen, passage: this.loop?.passageInProgress ?? false },
      reenrolment: this.matcher?.needsReenrolment().length ?? 0,
    };
  }

  private drainUpdateReports(): void {
    try {
      const r = this.updates?.drain((e) => (this.sync ? this.sync.record(e) : this.outbox?.enqueue(e)));
      if (r?.invalid) this.log.warn({ invalid: r.invalid }, 'unreadable update reports discarded');
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'update reports could not be read');
    }
  }

  private updateHeartbeat(): { update?: NonNullable<ReturnType<UpdateLink['heartbeat']>> } {
    const u = this.updates?.heartbeat();
    return u ? { update: u } : {};
  }

  private refreshGauges(): void {
    this.metrics.outboxDepth.set(this.outbox?.depth() ?? 0);
    this.metrics.rosterVersion.set(this.store?.version() ?? 0);
    this.metrics.cameraFps.set(this.fps);
    if (this.sync?.connected()) this.lastLinkUp = this.clock.now();
    this.metrics.syncLag.set(this.sync ? (this.clock.now() - this.lastLinkUp) / 1000 : 0);
  }

  /** A loop that makes no progress while frames keep arriving is stuck: exit so the supervisor restarts us. */
  private checkStall(): void {
    if (!this.loop || this.stopping) return;
    if (this.loop.stalled(this.config.health)) {
      this.log.fatal({ idleMs: Math.round(this.clock.monotonic() - this.loop.lastProgress) }, 'frame loop stalled; exiting for a restart');
      this.lock.stop();
      process.exit(EXIT_LOOP_STALLED);
    }
  }

  private onLoopEvent(e: LoopEvent): void {
    this.notify({ kind: 'loop', event: e });
    if (e.type === 'error') {
      this.metrics.errors.inc({ code: e.code });
      this.record({ id: ulid(), at: e.at, type: 'entry.denied', reason: 'error', credential: 'face', personId: null, score: null, liveness: null, latencyMs: 0 });
      return;
    }
    const d = e.decision;
    this.metrics.frames.inc(e.frames);
    this.metrics.decisions.inc({ outcome: d.kind, reason: d.kind === 'grant' ? 'authorised' : d.reason });
    this.metrics.latency.observe(e.latencyMs / 1000);
    const liveness = clamp01(e.liveness.score);
    const score = d.match ? clamp01(d.match.score) : null;
    const latencyMs = Math.min(3_600_000, Math.round(e.latencyMs));
    if (d.kind === 'grant' && e.lock === 'method-not-accepted') {
      this.record({ id: ulid(), at: e.at, type: 'entry.denied', reason: 'method-not-accepted', credential: 'face', personId: d.personId, score, liveness, latencyMs });
    } else if (d.kind === 'grant') {
      this.record({ id: ulid(), at: e.at, type: 'entry.granted', personId: d.personId, credential: 'face', score, liveness, latencyMs });
    } else {
      this.record({ id: ulid(), at: e.at, type: 'entry.denied', reason: d.reason, credential: 'face', personId: d.match?.personId ?? null, score, liveness, latencyMs });
    }
    for (const a of d.alerts) {
      this.record({ id: ulid(), at: e.at, type: 'alert.sighting', tag: a.tag, personId: a.personId, doorId: this.config.door.doorId, score: score ?? 0 });
    }
  }

  private onLockEvent(e: LockEvent): void {
    this.notify({ kind: 'lock', event: e });
    this.metrics.lockEvents.inc({ type: e.type });
    const at = e.at;
    if (e.type === 'alarm') {
      switch (e.alarm) {
        case 'forced-open':
          return this.record({ id: ulid(), at, type: 'alarm.forced-open' });
        case 'held-open':
          return this.record({ id: ulid(), at, type: 'alarm.held-open', openMs: this.config.lock.heldOpenAlarmMs });
        case 'tamper':
          return this.record({ id: ulid(), at, type: 'alarm.tamper', input: 'tamper' });
        case 'fire':
          return this.record({ id: ulid(), at, type: 'alarm.fire', state: 'active' });
      }
    }
    if (e.type === 'alarm-cleared' && e.alarm === 'fire') this.record({ id: ulid(), at, type: 'alarm.fire', state: 'cleared' });
  }

  /** Stores an event durably (then the sync client publishes it when the hub is reachable). */
  private record(ev: SyncEvent): void {
    try {
      if (this.sync) this.sync.record(ev);
      else this.outbox?.enqueue(ev);
    } catch (e) {
      this.log.error({ type: ev.type, err: (e as Error).message }, 'event could not be stored');
    }
  }

  /** SIGTERM path: stop the camera, relay to its safe state, flush what the hub can take, close files. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watchdog?.cancel();
    this.fpsTimer?.cancel();
    this.updateTimer?.cancel();
    this.systemd?.stop();
    this.loop?.stop();
    this.otherWays?.stop();
    await this.camera?.stop();
    this.lock.stop();
    if (this.sync) {
      const deadline = this.clock.monotonic() + 3000;
      while (this.sync.connected() && (this.outbox?.depth() ?? 0) > 0 && this.clock.monotonic() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await this.sync.stop();
    }
    await this.health?.stop();
    // A wipe still erasing finishes first (it yields to the loop); closing under it would leave the
    // rest to the next start.
    await this.wiping;
    this.adaptation?.stop();
    this.matcher?.close();
    this.store?.close();
    this.syncDb?.close();
    await this.pipeline?.close();
    this.removeGuards?.();
  }
}

/** The frame loop's view of the config; `tracker` is kept from start-up (the tracker is built with it). */
function loopConfigOf(config: Config, tracker: LoopConfig['tracker'] = { minIou: 0.3, maxGapMs: config.evidence.trackGapMs }): LoopConfig {
  return {
    door: config.door,
    thresholds: { match: config.decision.match, margin: config.decision.margin, minFrames: config.evidence.minFrames, minQuality: 0.5, liveness: config.decision.liveness },
    maxFrames: config.evidence.maxFrames,
    budgetMs: config.evidence.budgetMs,
    tracker,
    searchK: 4,
    blink: { minEyeOpen: config.pipeline.quality.minEyeOpen, aspectDrop: config.pipeline.quality.blinkAspectDrop },
  };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

function personFacts(store: RosterStore, id: string): PersonFacts | null {
  const p = store.getPerson(id);
  return p ? { personId: p.personId, status: p.status, authorisations: p.authorisations, tags: p.tags } : null;
}

/** `doorway run --config FILE` */
export async function runFromConfigFile(file: string): Promise<Terminal> {
  const t = await Terminal.start({ config: loadConfig(file), configFile: resolve(file) });
  t.installSignalHandlers();
  return t;
}
