/**
 * A running terminal: the door first, then everything that can fail without taking the door with it.
 *
 * start() arms the lock controller (exit button, fire release) before it opens anything else; then the
 * sync file (events), the roster, the face models, the hub link, the camera and the frame loop. A part
 * that cannot be opened puts the terminal in degraded mode (runtime/terminal/degraded.ts) instead of
 * ending the process: no face decisions without a roster or models, no hub link without its files,
 * events in memory without a sync file; the door stays locked and the exit button, the fire release
 * and (with a hub link) remote unlock keep working. /healthz and the heartbeat say which faults.
 *
 * The jobs of a running terminal are one file each beside this one: event recording (events.ts, the
 * outbox's one owner), degraded mode, hub commands, wipe, config reload, watchdog, camera monitor,
 * feedback (buzzer, LED), the update agent's reports (updates.ts) and the other ways in (passes,
 * cards and PINs: other-ways-in.ts, started once the roster is open; their grants go through the same
 * lock controller, recorder and feedback as a face's). The parts come in as interfaces
 * (parts.ts), so a test can run all of this on a fake clock with fake parts; runtime/main.ts hands it
 * the real ones. Template adaptation (a part) sits between the frame loop and the matcher: the loop
 * searches through it and hands it each decided passage.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { FrameSource } from '../../drivers/camera';
import type { GpioOutput } from '../../drivers/gpio';
import type { LockController, LockEvent } from '../../drivers/lock';
import type { AccessEvent } from '../access/controller';
import type { Config } from '../config';
import type { PersonFacts } from '../decision/policy';
import { HealthServer, TerminalMetrics, type HealthReport } from '../health';
import { DoorLoop, type LoopConfig, type LoopEvent } from '../loop/door-loop';
import type { Command, TerminalFaultCode } from '../protocol/schemas';
import type { RosterPosition } from '../roster/acceptance';
import type { PassEvent } from '../pass/scanner';
import type { Passage } from '../roster/adaptation';
import { SyncClient, type CommandMeta } from '../sync/client';
import { TemplateUplink } from '../sync/template-uplink';
import { RosterSinkError, type RosterSink } from '../sync/roster-sink';
import type { SystemdNotifier } from '../systemd';
import { CameraMonitor } from './camera-monitor';
import { HubCommands } from './commands';
import { DegradedMode, errorTag, rosterFaultOf } from './degraded';
import type { EventStore } from './event-store';
import { EventRecorder, lockEventRecords, loopEventRecords } from './events';
import { Feedback } from './feedback';
import { NO_ROSTER, OtherWaysIn } from './other-ways-in';
import type { FaceAnalyser, TerminalAdaptation, TerminalMatcher, TerminalParts, TerminalRoster } from './parts';
import { ConfigReload, type ReloadResult } from './reload';
import { UpdateReports } from './updates';
import { Watchdog, EXIT_LOOP_STALLED } from './watchdog';
import { RosterWipe } from './wipe';

/** What a terminal tells the world (the demo prints these; the outbox carries the events to the hub). */
export type TerminalNotice =
  | { kind: 'loop'; event: LoopEvent }
  | { kind: 'lock'; event: LockEvent }
  | { kind: 'camera'; event: 'stall' | 'recovered' | 'error'; detail: string }
  | { kind: 'status'; message: string }
  | { kind: 'pass'; event: PassEvent }
  | { kind: 'access'; event: AccessEvent };

export interface TerminalDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  /** The door's lock controller (built on the relay and input lines): armed first. */
  lock: LockController;
  /** Optional indicator lines for the resident's feedback. */
  buzzer?: GpioOutput;
  led?: GpioOutput;
  camera: FrameSource;
  parts: TerminalParts;
  systemd: SystemdNotifier;
  softwareVersion: string;
  /** The config file `config` was read from: `reload-config` (and SIGHUP) re-read it. */
  configFile?: string | null;
  onNotice?: (n: TerminalNotice) => void;
  /** Ends the process (exit statuses 70 and 75). */
  exit: (code: number) => void;
}

/** Roster changes while no roster is open: none is asked for, any that comes is refused. */
class UnavailableRosterSink implements RosterSink {
  version(): number {
    return 0;
  }
  position(): RosterPosition {
    return { epoch: null, version: 0, highWater: 0 };
  }
  held(): boolean {
    return true;
  }
  applyBatch(): void {
    throw new RosterSinkError('no roster is open on this terminal');
  }
  replaceAll(): void {
    throw new RosterSinkError('no roster is open on this terminal');
  }
}

export class Terminal {
  readonly metrics = new TerminalMetrics();
  readonly lock: LockController;
  readonly clock: Clock;
  readonly log: Logger;
  healthPort = 0;
  private current: Config;
  private readonly recorder: EventRecorder;
  private readonly degraded: DegradedMode;
  private readonly feedback: Feedback;
  private readonly wiper: RosterWipe;
  private readonly reloader: ConfigReload;
  private readonly commands: HubCommands;
  private readonly watchdog: Watchdog;
  private readonly cameraMonitor: CameraMonitor;
  private events: EventStore | null = null;
  private roster: TerminalRoster | null = null;
  private faces: FaceAnalyser | null = null;
  private matcher: TerminalMatcher | null = null;
  private adaptation: TerminalAdaptation | null = null;
  private updates: UpdateReports | null = null;
  private sync: SyncClient | null = null;
  private loop: DoorLoop | null = null;
  private otherWays: OtherWaysIn | null = null;
  /** The frame loop reads this object at every step: door, thresholds and evidence are swapped in it. */
  private loopConfig: LoopConfig | null = null;
  private health: HealthServer | null = null;
  /** Face matching switched off in memory (a wipe that could not be completed): every face is unknown. */
  private faceOff = false;
  private stopping = false;
  private lastLinkUp: number;
  private readonly notify: (n: TerminalNotice) => void;

  constructor(private readonly deps: TerminalDeps) {
    const { clock, log } = deps;
    this.clock = clock;
    this.log = log;
    this.lock = deps.lock;
    this.current = deps.config;
    this.lastLinkUp = clock.now();
    this.notify = deps.onNotice ?? (() => {});
    const status = (message: string): void => this.notify({ kind: 'status', message });
    this.recorder = new EventRecorder({
      clock,
      log,
      capacity: deps.config.events.outboxCapacity,
      memoryCapacity: deps.config.events.memoryCapacity,
      onStoreState: (ok) => (ok ? this.degraded.clear('event-store-unavailable') : this.degraded.raise('event-store-unavailable')),
    });
    this.degraded = new DegradedMode({ clock, log, recorder: this.recorder, onChange: () => this.sync?.healthChanged() });
    this.feedback = new Feedback({ buzzer: deps.buzzer, led: deps.led, clock, log, config: deps.config.feedback });
    this.wiper = new RosterWipe({
      clock,
      log,
      recorder: this.recorder,
      roster: () => this.roster,
      matcherSize: () => this.matcher?.size ?? 0,
      sync: () => this.sync,
      faceOff: () => (this.faceOff = true),
      stopping: () => this.stopping,
      notify: status,
    });
    this.reloader = new ConfigReload({
      clock,
      log,
      recorder: this.recorder,
      configFile: deps.configFile ?? null,
      current: () => this.current,
      apply: (next) => {
        this.current = next;
        if (this.loopConfig) Object.assign(this.loopConfig, loopConfigOf(next, this.loopConfig.tracker));
      },
      restart: async (code) => {
        await this.stop();
        this.deps.exit(code);
      },
      stopping: () => this.stopping,
      onRejected: () => this.metrics.errors.inc({ code: 'config' }),
      notify: status,
    });
    this.commands = new HubCommands({
      clock,
      log,
      recorder: this.recorder,
      config: () => this.current,
      lock: this.lock,
      wipe: () => void this.wipe(),
      resync: () => this.wiper.resync(),
      resetAdaptation: (personId) => (personId === undefined ? this.adaptation?.resetAll() : this.adaptation?.reset(personId)) ?? 0,
      reload: () => {
        this.reloadConfig().catch((e: unknown) => log.error({ ...errorTag(e) }, 'config reload failed'));
      },
      onReleased: () => this.feedback.granted(),
      installUpdate: (version, url) => {
        if (this.updates) this.updates.install(version, url);
        else log.warn({ version }, 'update offered before the update link started; ignored');
      },
      notify: status,
    });
    this.watchdog = new Watchdog({
      clock,
      log,
      health: () => this.current.health,
      loop: () => this.loop,
      systemd: deps.systemd,
      onStall: () => {
        this.lock.stop();
        this.deps.exit(EXIT_LOOP_STALLED);
      },
    });
    this.cameraMonitor = new CameraMonitor({
      camera: deps.camera,
      clock,
      recorder: this.recorder,
      fpsWindowMs: deps.config.health.fpsWindowMs,
      notify: (event, detail) => this.notify({ kind: 'camera', event, detail }),
    });
  }

  /** The config in force (replaced by a reload that applies live). */
  get config(): Config {
    return this.current;
  }

  async start(): Promise<void> {
    const { parts } = this.deps;
    const config = this.current;
    // 1. The door, before anything that can fail: exit button and fire release work whatever follows.
    this.feedback.start();
    this.lock.onEvent((e) => this.onLockEvent(e));
    this.lock.start();

    // 2. The sync file: the outbox of events (a corrupt file is set aside; none: events in memory).
    try {
      this.events = parts.openEventStore();
      this.recorder.useStore(this.events.db);
      if (this.events.setAside) this.degraded.raise('event-store-replaced');
    } catch (e) {
      this.log.error({ ...errorTag(e) }, 'sync file cannot be opened; events are kept in memory');
      this.recorder.useStore(null);
    }

    // 3. The roster (decrypted in memory only) and the face models: face decisions need both.
    try {
      this.roster = parts.openRoster();
    } catch (e) {
      this.degraded.raise(rosterFaultOf(e), e);
      this.notify({ kind: 'status', message: `roster unavailable (${rosterFaultOf(e)}): no face decisions` });
    }
    if (this.roster) {
      try {
        this.faces = await parts.loadFaces();
      } catch (e) {
        // No face decisions without models: the door stays locked, exit/fire still work, the hub is told.
        this.degraded.raise('models-unavailable', e);
        this.notify({ kind: 'status', message: `face models failed to load: ${(e as Error).message}` });
      }
      try {
        this.matcher = parts.matcherFor(this.roster, this.faces?.modelId ?? 'unavailable');
      } catch (e) {
        this.degraded.raise('roster-unavailable', e);
      }
      if (this.matcher) {
        // Template adaptation follows the roster once the matcher does; without it, enrolled templates only.
        try {
          this.adaptation = parts.adaptationFor(this.roster, this.matcher);
          this.adaptation.start();
        } catch (e) {
          this.adaptation = null;
          this.log.error({ ...errorTag(e) }, 'template adaptation unavailable; matching with enrolled templates only');
        }
      }
      this.wiper.start();
      const quarantined = this.roster.quarantined().length;
      if (quarantined > 0) this.recorder.record({ type: 'roster.integrity', rejectedRows: quarantined, code: 'roster-integrity' }, this.clock.now());
    }

    // 4. The hub link (optional: the door decides without it).
    if (config.hub && this.events) this.startSync(this.events);

    // The update agent's reports go to the outbox (a report stays a file until the outbox takes it).
    let updateLink = null;
    try {
      updateLink = parts.updateLink();
    } catch (e) {
      this.log.error({ ...errorTag(e) }, 'update reports cannot be read');
    }
    this.updates = new UpdateReports({ clock: this.clock, log: this.log, link: updateLink, store: (e) => this.recorder.recordMade(e), pollMs: config.update.reportPollMs });
    this.updates.start();

    // 5. Camera and the frame loop.
    this.cameraMonitor.start();
    const { faces, matcher, roster, adaptation } = this;
    if (faces && matcher && roster && !this.degraded.facesOff()) {
      const identifier = adaptation ?? matcher;
      this.loopConfig = loopConfigOf(config);
      this.loop = new DoorLoop({
        clock: this.clock,
        logger: this.log,
        frames: { latest: () => this.deps.camera.latest(), hold: () => this.deps.camera.hold() },
        pipeline: faces,
        identifier: { search: (e, k) => (this.faceOff ? [] : identifier.search(e, k)) },
        ...(adaptation ? { passages: (p: Passage) => adaptation.learn(p) } : {}),
        persons: { facts: (id) => (this.faceOff ? null : personFacts(roster, id)) },
        // Read at each new face track, so a reloaded liveness policy applies from the next passage.
        livenessFor: () => parts.livenessFor(this.current.liveness),
        // A door whose policy does not accept faces still recognises them (alert sightings) but opens for none.
        lock: { grant: (source) => (this.current.access.accept.includes('face') ? this.lock.grant(source) : 'method-not-accepted') },
        emit: (e) => this.onLoopEvent(e),
        config: this.loopConfig,
      });
    }
    this.deps.camera.start();
    this.loop?.start();

    // 5b. Passes, cards and PINs (other-ways-in.ts): judged against the roster; without one, each is
    // refused as no-roster (a deny tone and a record), never let in.
    const ways = new OtherWaysIn({
      config: () => this.current,
      clock: this.clock,
      log: this.log,
      parts,
      roster: roster ?? NO_ROSTER,
      eventsDb: this.events?.db ?? null,
      frames: { latest: () => this.deps.camera.latest() },
      persons: { facts: (id) => (this.faceOff || !roster ? null : personFacts(roster, id)) },
      lock: this.lock,
      recorder: this.recorder,
      feedback: this.feedback,
      fault: (code, e) => this.degraded.raise(code, e),
      notify: (e) => this.notify(e.type === 'pass' ? { kind: 'pass', event: e } : { kind: 'access', event: e }),
    });
    this.otherWays = ways;
    await ways.start();

    // 6. Health, metrics, stall watchdog, systemd.
    this.health = new HealthServer(config.health, () => this.checks(), this.metrics, () => this.refreshGauges());
    this.healthPort = await this.health.start();
    this.watchdog.start();
    const faults = this.degraded.codes();
    this.notify({ kind: 'status', message: `terminal ${config.terminalId} running at door ${config.door.doorId}${faults.length ? ` (degraded: ${faults.join(', ')})` : ''}` });
  }

  private startSync(events: EventStore): void {
    const config = this.current;
    let link;
    try {
      link = this.deps.parts.hubLink(events, this.roster);
    } catch (e) {
      this.degraded.raise('hub-credentials', e);
      return;
    }
    const outbox = this.recorder.outbox;
    if (!link || !outbox) return;
    const sync = new SyncClient({
      terminalId: config.terminalId,
      transport: link.transport,
      clock: this.clock,
      log: this.log,
      db: events.db,
      outbox,
      ...(link.stagingKey ? { stagingKey: link.stagingKey } : {}),
      ...(events.commandsIssuedAfter !== null ? { commandsIssuedAfter: events.commandsIssuedAfter } : {}),
      hubPublicKey: link.hubPublicKey,
      ...(link.rosterKey ? { rosterKey: link.rosterKey } : {}),
      // Renewed certificates from the hub replace the bundle's certFile (runtime/sync/certificate.ts).
      ...(link.certificates ? { certificates: link.certificates } : {}),
      roster: { sink: link.rosterSink ?? new UnavailableRosterSink(), batchSchema: link.batchSchema, itemSchema: link.itemSchema },
      health: () => ({
        cameraFps: this.cameraMonitor.fps,
        lastDecisionLatencyMs: this.loop?.lastDecisionLatencyMs ?? null,
        faults: this.degraded.codes(),
        ...(this.updates?.heartbeat() ?? {}),
      }),
      versions: { software: this.deps.softwareVersion, model: this.faces?.modelId ?? 'unavailable' },
      timing: { heartbeatMs: config.hub?.heartbeatMs ?? 30_000 },
    });
    sync.on('connected', () => this.notify({ kind: 'status', message: 'hub connected' }));
    sync.on('disconnected', () => {
      this.lastLinkUp = this.clock.now();
      this.notify({ kind: 'status', message: 'hub disconnected' });
    });
    sync.on('roster-applied', (r) => this.notify({ kind: 'status', message: `roster ${r.kind} applied: version ${r.version}` }));
    sync.on('command', (c, meta) => this.handleCommand(c, meta));
    // Templates learnt at this door go to the hub sealed to its key (template-uplink.ts).
    if (link.hubSealKey && this.adaptation) {
      const uplink = new TemplateUplink({ terminalId: config.terminalId, hubSealKey: link.hubSealKey, publish: (m) => sync.publishTemplate(m), log: this.log });
      this.adaptation.onLearnt((t) => uplink.send(t));
      sync.on('connected', () => uplink.flush());
    }
    try {
      sync.start();
    } catch (e) {
      // The connection could not even be set up (an unusable URL): no hub link, the rest runs.
      this.degraded.raise('hub-url', e);
      void sync.stop().catch(() => undefined);
      return;
    }
    this.sync = sync;
  }

  /** Carries out a verified hub command (the sync client has checked signature, expiry and nonce). */
  handleCommand(c: Command, meta: CommandMeta): void {
    this.commands.handle(c, meta);
  }

  /** The hub's `wipe` (see wipe.ts). */
  wipe(): Promise<void> {
    return this.wiper.wipe();
  }

  /** `reload-config` and SIGHUP (see reload.ts). */
  reloadConfig(): Promise<ReloadResult> {
    return this.reloader.reload();
  }

  /** Resolves when every card or PIN decision asked for so far has been made (tests). */
  otherWaysIdle(): Promise<void> {
    return this.otherWays?.idle() ?? Promise.resolve();
  }

  /** Degraded-mode faults raised now. */
  faults(): TerminalFaultCode[] {
    return this.degraded.codes();
  }

  checks(): HealthReport {
    const frame = this.deps.camera.latest();
    const lock = this.lock.getState();
    const lockState = lock.state;
    return {
      loopRunning: !!this.loop && this.clock.monotonic() - this.loop.lastProgress < this.current.health.stallExitMs,
      cameraFresh: !!frame && this.clock.now() - frame.capturedAt <= this.current.health.frameFreshMs,
      modelsLoaded: this.faces !== null,
      rosterLoaded: this.roster !== null && this.matcher !== null,
      lockOk: lockState !== 'stopped' && lockState !== 'relay-fault',
      hubConnected: this.current.hub ? (this.sync?.connected() ?? false) : null,
      faults: this.degraded.codes(),
      door: { lock: lockState, doorOpen: lock.doorOpen, passage: this.loop?.passageInProgress ?? false },
      reenrolment: this.matcher?.needsReenrolment().length ?? 0,
    };
  }

  private refreshGauges(): void {
    this.metrics.outboxDepth.set(this.recorder.depth());
    this.metrics.rosterVersion.set(this.roster?.version() ?? 0);
    this.metrics.cameraFps.set(this.cameraMonitor.fps);
    if (this.sync?.connected()) this.lastLinkUp = this.clock.now();
    this.metrics.syncLag.set(this.sync ? (this.clock.now() - this.lastLinkUp) / 1000 : 0);
  }

  private onLoopEvent(e: LoopEvent): void {
    this.notify({ kind: 'loop', event: e });
    if (e.type === 'error') {
      this.metrics.errors.inc({ code: e.code });
    } else {
      const d = e.decision;
      this.metrics.frames.inc(e.frames);
      this.metrics.decisions.inc({ outcome: d.kind, reason: d.kind === 'grant' ? 'authorised' : d.reason });
      this.metrics.latency.observe(e.latencyMs / 1000);
      if (d.kind === 'grant' && e.lock === 'unlocked') this.feedback.granted();
      else if (d.kind === 'deny' || e.lock === 'method-not-accepted') this.feedback.denied();
    }
    for (const b of loopEventRecords(e, this.current.door.doorId, this.current.lock.unlockPulseMs)) this.recorder.record(b, e.at);
  }

  private onLockEvent(e: LockEvent): void {
    this.notify({ kind: 'lock', event: e });
    this.metrics.lockEvents.inc({ type: e.type });
    this.feedback.onLock(e);
    if (e.type === 'alarm' && e.alarm === 'relay-fault') this.degraded.raise('relay-fault', e, { record: false });
    if (e.type === 'alarm-cleared' && e.alarm === 'relay-fault') this.degraded.clear('relay-fault', { record: false });
    for (const b of lockEventRecords(e, this.current.lock)) this.recorder.record(b, e.at);
  }

  /** SIGTERM path: stop the camera, relay to its safe state, flush what the hub can take, close files. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watchdog.stop();
    this.cameraMonitor.stop();
    this.updates?.stop();
    this.loop?.stop();
    this.otherWays?.stop();
    await this.deps.camera.stop();
    this.lock.stop();
    this.feedback.stop();
    if (this.sync) {
      // Real time, not the clock: this waits for the network while nothing else runs.
      const flushMs = this.current.hub?.stopFlushMs ?? 0;
      for (let waited = 0; waited < flushMs && this.sync.connected() && this.recorder.depth() > 0; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await this.sync.stop();
    }
    await this.health?.stop();
    // A wipe still erasing finishes first (it yields to the loop); closing under it would leave the
    // rest to the next start.
    await this.wiper.idle();
    this.adaptation?.stop();
    this.matcher?.close();
    this.roster?.close();
    this.events?.db.close();
    await this.faces?.close();
  }
}

/** The frame loop's view of the config; `tracker` is kept from start-up (the tracker is built with it). */
export function loopConfigOf(config: Config, tracker: LoopConfig['tracker'] = { minIou: 0.3, maxGapMs: config.evidence.trackGapMs }): LoopConfig {
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

function personFacts(roster: TerminalRoster, id: string): PersonFacts | null {
  const p = roster.getPerson(id);
  return p ? { personId: p.personId, status: p.status, authorisations: p.authorisations, tags: p.tags } : null;
}
