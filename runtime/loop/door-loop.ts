/**
 * The terminal's frame loop: latest frame -> face pipeline -> track -> evidence -> one decision per
 * track -> lock. Never more than one pipeline run in flight; frames that arrive meanwhile are skipped
 * (only the latest is ever read). Any error on the decision path leaves the door locked and becomes an
 * event.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { TerminalError } from '../../core/errors';
import { BlinkGate, DEFAULT_BLINK_GATE, type BlinkGateOptions } from '../../models/eye';
import type { FaceResult, ProcessOptions } from '../../models/pipeline';
import { withEyesClosed } from '../../models/quality';
import type { RawFrame } from '../../models/image';
import type { Passage } from '../roster/adaptation';
import { candidatePersonIds, decide, type Decision, type Door, type FrameMatch, type PersonFacts, type Thresholds } from '../decision/policy';
import { FaceTracker, type Track } from './tracker';

/** A frame as the loop needs it: pixels plus when it was captured and its sequence number. */
export interface LoopFrame extends RawFrame {
  capturedAt: number;
  seq: number;
}

export interface FrameProvider {
  /** The newest frame, for its capture time (the stall check). */
  latest(): LoopFrame | null;
  /**
   * The newest frame, held: its pixels stay as they are until `release()` (the camera refills a small
   * pool of buffers, drivers/camera/frame-pool.ts). The loop holds the frame it works on and hands it
   * back when the frame has been processed, or at once when it is not new.
   */
  hold(): { frame: LoopFrame; release(): void } | null;
}

export interface FaceAnalyzer {
  process(frame: RawFrame, opts: ProcessOptions): Promise<FaceResult[]>;
}

/** 1:N search over the roster: best matches, at least the top two persons. */
export interface Identifier {
  search(embedding: Float32Array, k: number): readonly { personId: string; score: number }[];
}

export interface PersonDirectory {
  facts(personId: string): PersonFacts | null;
}

export type LivenessVerdict = 'live' | 'not-live' | 'pending';

export interface LivenessOutcome {
  verdict: LivenessVerdict;
  /** 0..1, higher = more likely live. */
  score: number;
  reasons: readonly string[];
}

/** Liveness evidence gathered over one track; one instance per track. */
export interface LivenessJudge {
  observe(obs: { t: number; frame: RawFrame; face: FaceResult }): LivenessOutcome;
}

export interface DoorActuator {
  grant(source: 'face'): string;
}

export interface LoopConfig {
  door: Door;
  thresholds: Thresholds;
  /** Frames of evidence gathered at most per track before the final decision. */
  maxFrames: number;
  /** Time from a track's first frame within which it must be decided; then the evidence so far decides. */
  budgetMs: number;
  tracker: { minIou: number; maxGapMs: number };
  /** Candidates per search (the decision needs the runner-up person for the margin). */
  searchK: number;
  /**
   * Run the passive liveness model on every frame. Off by default: the shipped liveness fusion gives it
   * no weight (README, Liveness), so it would cost about 4 ms a frame for nothing.
   */
  passiveLiveness?: boolean;
  /**
   * Eyes-closed frames of a track (a blink) are not usable: fr_eye reads both eyes closed and the
   * landmarks' eye aspect ratio fell below the same face's open-eye baseline (models/eye.ts). Default
   * DEFAULT_BLINK_GATE; the terminal passes its pipeline.quality settings.
   */
  blink?: BlinkGateOptions;
}

export type LoopEvent =
  | {
      type: 'decision';
      at: number;
      trackId: number;
      decision: Decision;
      /** From the capture of the track's first frame to the decision (and relay command). */
      latencyMs: number;
      frames: number;
      liveness: LivenessOutcome;
      /** What the lock did with a grant; null for a deny. */
      lock: string | null;
    }
  | { type: 'error'; at: number; code: string; message: string };

export interface DoorLoopDeps {
  clock: Clock;
  logger: Logger;
  frames: FrameProvider;
  pipeline: FaceAnalyzer;
  identifier: Identifier;
  persons: PersonDirectory;
  livenessFor: () => LivenessJudge;
  lock: DoorActuator;
  emit: (e: LoopEvent) => void;
  /**
   * Each decided passage with its usable frames' embeddings, after the lock was driven (template
   * adaptation, runtime/roster/local-adaptation.ts). An error here is logged and changes nothing.
   */
  passages?: (p: Passage) => void;
  config: LoopConfig;
}

interface TrackState {
  track: Track;
  firstCapturedAt: number;
  frames: FrameMatch[];
  /** Embeddings of the usable frames (quality passed), for template adaptation. */
  usable: Float32Array[];
  liveness: LivenessJudge;
  eyes: BlinkGate;
  lastLiveness: LivenessOutcome;
  decided: boolean;
}

/** Reasons that are final as soon as the identity is sure: more frames cannot change them. */
const FINAL_DENIALS = new Set(['revoked', 'not-authorised-here', 'expired', 'outside-hours', 'not-live']);

export class DoorLoop {
  private readonly tracker: FaceTracker;
  private readonly states = new Map<number, TrackState>();
  private lastSeq = -1;
  private inFlight = false;
  private running = false;
  private readonly log: Logger;
  /** Monotonic time the last step finished (for the stall watchdog). */
  lastProgress: number;
  framesProcessed = 0;
  lastDecisionLatencyMs: number | null = null;

  constructor(private readonly deps: DoorLoopDeps) {
    this.tracker = new FaceTracker(deps.config.tracker);
    this.log = deps.logger.child({ module: 'loop' });
    this.lastProgress = deps.clock.monotonic();
  }

  /**
   * Processes the latest frame if it is new. Returns false when there was nothing to do (no new frame,
   * or a run still in flight). Safe to call from a timer: it never runs two pipelines at once.
   */
  async step(): Promise<boolean> {
    if (this.inFlight) return false;
    const held = this.deps.frames.hold();
    if (!held || held.frame.seq === this.lastSeq) {
      held?.release();
      this.endStaleTracks();
      this.lastProgress = this.deps.clock.monotonic();
      return false;
    }
    const frame = held.frame;
    this.inFlight = true;
    this.lastSeq = frame.seq;
    try {
      await this.processFrame(frame);
    } catch (e) {
      // fail closed: nothing was granted on this frame; say why
      const code = e instanceof TerminalError ? e.code : 'internal';
      this.log.error({ code, err: e instanceof Error ? e.message : String(e) }, 'decision path failed; door stays locked');
      this.deps.emit({ type: 'error', at: this.deps.clock.now(), code, message: e instanceof Error ? e.message : String(e) });
    } finally {
      held.release();
      this.inFlight = false;
      this.framesProcessed++;
      this.lastProgress = this.deps.clock.monotonic();
    }
    return true;
  }

  /** Runs step() continuously: immediately after a frame, else every `idleMs`. */
  start(idleMs = 5): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      if (!this.running) return;
      this.step().then(
        (worked) => {
          if (this.running) this.deps.clock.setTimeout(tick, worked ? 0 : idleMs);
        },
        (e: unknown) => {
          this.log.error({ err: String(e) }, 'loop step threw');
          if (this.running) this.deps.clock.setTimeout(tick, idleMs);
        },
      );
    };
    tick();
  }

  stop(): void {
    this.running = false;
  }

  /** A face in view is still being decided (a passage is in progress). */
  get passageInProgress(): boolean {
    for (const s of this.states.values()) if (!s.decided) return true;
    return false;
  }

  /**
   * True when frames keep arriving (the newest is at most `frameFreshMs` old) but no step has finished
   * for longer than `stallExitMs`: a pipeline run that never returns. The terminal then exits so that its
   * supervisor restarts it. A silent camera is not a stall of the loop (the camera has its own watchdog).
   */
  stalled(opts: { frameFreshMs: number; stallExitMs: number }): boolean {
    const frame = this.deps.frames.latest();
    const framesFlow = !!frame && this.deps.clock.now() - frame.capturedAt <= opts.frameFreshMs;
    return framesFlow && this.deps.clock.monotonic() - this.lastProgress > opts.stallExitMs;
  }

  private async processFrame(frame: LoopFrame): Promise<void> {
    const c = this.deps.config;
    // When every face in view has been decided, only detection is needed to follow the tracks.
    const allDecided = this.states.size > 0 && [...this.states.values()].every((s) => s.decided);
    const faces = await this.deps.pipeline.process(frame, allDecided
      ? { largestOnly: true, pose: false, eyes: false, liveness: false, embedding: false }
      : { largestOnly: true, liveness: c.passiveLiveness ?? false });
    const { assigned, ended } = this.tracker.update(faces.map((f) => f.box), frame.capturedAt);
    for (const t of ended) this.finishTrack(t.id, 'track-ended');

    assigned.forEach((track, i) => {
      const face = faces[i] as FaceResult;
      let st = this.states.get(track.id);
      if (!st) {
        st = {
          track,
          firstCapturedAt: frame.capturedAt,
          frames: [],
          usable: [],
          liveness: this.deps.livenessFor(),
          eyes: new BlinkGate(c.blink ?? DEFAULT_BLINK_GATE),
          lastLiveness: { verdict: 'pending', score: 0, reasons: [] },
          decided: false,
        };
        this.states.set(track.id, st);
      }
      if (st.decided || !face.embedding) return;
      st.lastLiveness = st.liveness.observe({ t: frame.capturedAt, frame, face });
      const hits = this.deps.identifier.search(face.embedding, c.searchK);
      const best = new Map<string, number>();
      for (const h of hits) best.set(h.personId, Math.max(best.get(h.personId) ?? -1, h.score));
      const quality = withEyesClosed(face.quality, st.eyes.observe(face.quality.eyes));
      if (quality.ok && this.deps.passages) st.usable.push(face.embedding);
      st.frames.push({ quality: quality.ok ? 1 : 0, matches: [...best].map(([personId, score]) => ({ personId, score })) });
      this.consider(st, frame.capturedAt);
    });
  }

  /** Decides now if the evidence is conclusive, or if the budget or frame count is used up. */
  private consider(st: TrackState, capturedAt: number): void {
    const c = this.deps.config;
    const decision = this.evaluate(st);
    const livenessPending = st.lastLiveness.verdict === 'pending';
    // Enough frames only ends the wait once liveness has spoken; the time budget ends it regardless.
    const exhausted = (st.frames.length >= c.maxFrames && !livenessPending) || capturedAt - st.firstCapturedAt >= c.budgetMs;
    if (decision.kind === 'grant' && !livenessPending) return this.commit(st, decision);
    if (decision.kind === 'deny' && FINAL_DENIALS.has(decision.reason) && !(decision.reason === 'not-live' && livenessPending)) {
      return this.commit(st, decision);
    }
    if (exhausted) this.commit(st, decision);
  }

  private evaluate(st: TrackState): Decision {
    const c = this.deps.config;
    const persons = new Map<string, PersonFacts>();
    for (const id of candidatePersonIds(st.frames)) {
      const f = this.deps.persons.facts(id);
      if (f) persons.set(id, f);
    }
    // a pending liveness verdict counts as not yet live
    const liveScore = st.lastLiveness.verdict === 'live' ? Math.max(st.lastLiveness.score, c.thresholds.liveness) : st.lastLiveness.verdict === 'not-live' ? 0 : Math.min(st.lastLiveness.score, c.thresholds.liveness - 1e-9);
    return decide({ now: this.deps.clock.now(), door: c.door, frames: st.frames, liveness: { score: liveScore }, persons, thresholds: c.thresholds });
  }

  private commit(st: TrackState, decision: Decision): void {
    st.decided = true;
    let lock: string | null = null;
    if (decision.kind === 'grant') lock = this.deps.lock.grant('face');
    const at = this.deps.clock.now();
    const latencyMs = Math.max(0, at - st.firstCapturedAt);
    this.lastDecisionLatencyMs = latencyMs;
    this.deps.emit({ type: 'decision', at, trackId: st.track.id, decision, latencyMs, frames: st.frames.length, liveness: st.lastLiveness, lock });
    if (this.deps.passages) {
      try {
        this.deps.passages({ at, credential: 'face', decision, liveness: st.lastLiveness.verdict, frames: st.usable });
      } catch (e) {
        this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: e instanceof Error ? e.message : String(e) }, 'passage hook failed; the decision stands');
      }
    }
  }

  /** A track that ended undecided with enough frames gets its final decision from what was gathered. */
  private finishTrack(id: number, _why: string): void {
    const st = this.states.get(id);
    this.states.delete(id);
    if (!st || st.decided) return;
    if (st.frames.length >= this.deps.config.thresholds.minFrames) this.commit(st, this.evaluate(st));
  }

  private endStaleTracks(): void {
    for (const t of this.tracker.expire(this.deps.clock.now())) this.finishTrack(t.id, 'track-ended');
  }
}
