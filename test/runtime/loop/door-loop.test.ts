import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeFrameSource } from '../../../drivers/camera';
import type { FaceResult, ProcessOptions } from '../../../models/pipeline';
import type { Box } from '../../../models/nms';
import type { PersonFacts } from '../../../runtime/decision/policy';
import { DoorLoop, type DoorLoopDeps, type LivenessOutcome, type LoopConfig, type LoopEvent } from '../../../runtime/loop/door-loop';

const DOOR = { doorId: 'gate-1', buildingId: 'b-7', timeZone: 'Asia/Shanghai' };

const config: LoopConfig = {
  door: DOOR,
  thresholds: { match: 0.55, margin: 0.08, minFrames: 3, minQuality: 0.5, liveness: 0.5 },
  maxFrames: 8,
  budgetMs: 1000,
  tracker: { minIou: 0.3, maxGapMs: 500 },
  searchK: 4,
};

function face(box: Box, embeddingTag: number, qualityOk = true): FaceResult {
  const e = new Float32Array(512);
  e[0] = embeddingTag;
  return {
    box,
    score: 0.99,
    landmarks68: new Float32Array(136),
    landmarks5: [],
    quality: { ok: qualityOk, reasons: qualityOk ? [] : ['blurry'], interEyePx: 60, facePx: 200, sharpness: 300, brightness: 120, clippedFraction: 0, pose: null, eyes: null },
    liveness: null,
    embedding: embeddingTag < 0 ? null : e,
    model: 'm',
  };
}

const resident: PersonFacts = { personId: 'p-ana', status: 'active', authorisations: [{ doorIds: ['gate-1'], buildingIds: [] }], tags: [] };

class Harness {
  clock = new FakeClock(Date.UTC(2026, 5, 1, 4, 0, 0)); // 12:00 in Shanghai
  /** The camera: the loop holds the frame it works on (hold counts what it has not handed back). */
  camera = new FakeFrameSource(this.clock);
  /** What the fake pipeline returns for the next frames. */
  faces: FaceResult[] = [];
  calls: ProcessOptions[] = [];
  inFlight = 0;
  maxInFlight = 0;
  release: (() => void) | null = null;
  holdPipeline = false;
  pipelineError: Error | null = null;
  scores = new Map<number, { personId: string; score: number }[]>();
  persons = new Map<string, PersonFacts>([['p-ana', resident]]);
  liveness: LivenessOutcome = { verdict: 'live', score: 0.9, reasons: [] };
  grants = 0;
  events: LoopEvent[] = [];
  loop: DoorLoop;

  constructor(cfg: LoopConfig = config, passages?: DoorLoopDeps['passages']) {
    this.camera.start();
    this.loop = new DoorLoop({
      ...(passages ? { passages } : {}),
      clock: this.clock,
      logger: silentLogger(),
      frames: this.camera,
      pipeline: {
        process: async (_f, opts) => {
          this.calls.push(opts);
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          if (this.holdPipeline) await new Promise<void>((r) => (this.release = r));
          this.inFlight--;
          if (this.pipelineError) throw this.pipelineError;
          return this.faces.map((f) => (opts.embedding === false ? { ...f, embedding: null } : f));
        },
      },
      identifier: { search: (e) => this.scores.get(e[0] as number) ?? [] },
      persons: { facts: (id) => this.persons.get(id) ?? null },
      livenessFor: () => ({ observe: () => this.liveness }),
      lock: {
        grant: () => {
          this.grants++;
          return 'unlocked';
        },
      },
      emit: (e) => this.events.push(e),
      config: cfg,
    });
  }

  /** A new camera frame 40 ms after the previous one, then one loop step. */
  async next(): Promise<boolean> {
    this.clock.advance(40);
    this.camera.push({ width: 4, height: 4, data: Buffer.alloc(48) });
    return this.loop.step();
  }

  decisions(): Extract<LoopEvent, { type: 'decision' }>[] {
    return this.events.filter((e): e is Extract<LoopEvent, { type: 'decision' }> => e.type === 'decision');
  }
}

const BOX: Box = [100, 100, 200, 220];

describe('door loop', () => {
  it('grants an authorised resident after the required frames and unlocks once per passage', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }, { personId: 'p-bo', score: 0.2 }]);
    await h.next();
    await h.next();
    expect(h.grants).toBe(0); // two frames: not yet
    await h.next();
    expect(h.grants).toBe(1);
    const [d] = h.decisions();
    expect(d?.decision).toMatchObject({ kind: 'grant', personId: 'p-ana' });
    expect(d?.latencyMs).toBe(80); // first frame captured at +40, third at +120
    expect(d?.lock).toBe('unlocked');
    for (let i = 0; i < 5; i++) await h.next();
    expect(h.grants).toBe(1);
    expect(h.decisions()).toHaveLength(1);
  });

  it('grants a resident whose open eyes fr_eye reads as closed in every frame (narrow eyes, glasses)', async () => {
    const h = new Harness();
    const f = face(BOX, 1);
    h.faces = [{ ...f, quality: { ...f.quality, eyes: { leftOpen: 0.03, rightOpen: 0.08, aspect: 0.17 } } }];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }]);
    for (let i = 0; i < 3; i++) await h.next();
    expect(h.decisions()[0]?.decision).toMatchObject({ kind: 'grant', personId: 'p-ana' });
  });

  it('does not count the frames of a blink: eyes read open, then closed with the lids down', async () => {
    const h = new Harness();
    const f = face(BOX, 1);
    const withEyes = (leftOpen: number, aspect: number): FaceResult => ({ ...f, quality: { ...f.quality, eyes: { leftOpen, rightOpen: leftOpen, aspect } } });
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }]);
    h.faces = [withEyes(0.99, 0.34)];
    await h.next();
    h.faces = [withEyes(0.01, 0.19)];
    await h.next();
    await h.next();
    await h.next();
    expect(h.grants).toBe(0); // one usable frame of the three needed
    h.faces = [withEyes(0.99, 0.33)];
    await h.next();
    expect(h.grants).toBe(0);
    await h.next();
    expect(h.decisions()[0]?.decision).toMatchObject({ kind: 'grant', personId: 'p-ana' });
  });

  it('hands each decided passage to the passage hook once, with the embeddings of its usable frames only', async () => {
    const passages: Array<{ kind: string; frames: number; liveness: string }> = [];
    let throwing = false; // later on, a hook that throws: the decision stands
    const h = new Harness(config, (p) => {
      if (throwing) throw new Error('hook failed');
      passages.push({ kind: p.decision.kind, frames: p.frames.length, liveness: p.liveness });
    });
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }]);
    h.faces = [face(BOX, 1, false)];
    await h.next();
    h.faces = [face(BOX, 1)];
    for (let i = 0; i < 5; i++) await h.next();
    expect(h.grants).toBe(1);
    expect(passages).toEqual([{ kind: 'grant', frames: 3, liveness: 'live' }]);
    throwing = true;
    h.faces = [];
    for (let i = 0; i < 20; i++) await h.next(); // the face leaves: the track ends
    h.faces = [face(BOX, 1)];
    for (let i = 0; i < 3; i++) await h.next();
    expect(h.grants).toBe(2);
    expect(h.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('does not run the passive liveness model unless the config asks for it', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    await h.next();
    expect(h.calls[0]).toMatchObject({ largestOnly: true, liveness: false });
    const h2 = new Harness({ ...config, passiveLiveness: true });
    h2.faces = [face(BOX, 1)];
    await h2.next();
    expect(h2.calls[0]).toMatchObject({ liveness: true });
  });

  it('follows a decided face with detection only', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }]);
    for (let i = 0; i < 4; i++) await h.next();
    expect(h.calls[3]).toMatchObject({ embedding: false, liveness: false });
  });

  it('denies an unknown face once, when the evidence budget runs out, and never unlocks', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 2)];
    h.scores.set(2, [{ personId: 'p-ana', score: 0.3 }]);
    for (let i = 0; i < 7; i++) await h.next();
    expect(h.decisions()).toHaveLength(0); // 7 frames < maxFrames 8, 280 ms < budget
    await h.next();
    expect(h.decisions().map((d) => d.decision)).toEqual([expect.objectContaining({ kind: 'deny', reason: 'unknown' })]);
    expect(h.grants).toBe(0);
  });

  it('decides a revoked person at once without waiting for the budget', async () => {
    const h = new Harness();
    h.persons.set('p-ana', { ...resident, status: 'revoked' });
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.9 }]);
    for (let i = 0; i < 3; i++) await h.next();
    expect(h.decisions().map((d) => d.decision.kind === 'deny' && d.decision.reason)).toEqual(['revoked']);
    expect(h.grants).toBe(0);
  });

  it('waits for liveness evidence and denies as not-live when it never comes', async () => {
    const h = new Harness();
    h.liveness = { verdict: 'pending', score: 0.4, reasons: ['no-motion-yet'] };
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.9 }]);
    // more than maxFrames (8) frames: still waiting, liveness has not spoken and the budget is not used
    for (let i = 0; i < 25; i++) await h.next(); // frames at +40 .. +1000 ms: the last is at 960 ms of the track
    expect(h.grants).toBe(0);
    expect(h.decisions()).toHaveLength(0);
    await h.next(); // 1000 ms after the first frame: the budget is used up
    expect(h.decisions().map((d) => d.decision.kind === 'deny' && d.decision.reason)).toEqual(['not-live']);
    expect(h.grants).toBe(0);
  });

  it('denies a face that liveness calls a photo even when it matches a resident', async () => {
    const h = new Harness();
    h.liveness = { verdict: 'not-live', score: 0.05, reasons: ['planar-motion'] };
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.95 }]);
    for (let i = 0; i < 3; i++) await h.next();
    expect(h.decisions().map((d) => d.decision.kind === 'deny' && d.decision.reason)).toEqual(['not-live']);
    expect(h.grants).toBe(0);
  });

  it('keeps the door locked and reports an error when the pipeline fails', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.9 }]);
    h.pipelineError = new Error('onnx session crashed');
    for (let i = 0; i < 5; i++) await h.next();
    expect(h.grants).toBe(0);
    expect(h.events.filter((e) => e.type === 'error')).toHaveLength(5);
    expect(h.events[0]).toMatchObject({ type: 'error', code: 'internal', message: 'onnx session crashed' });
    expect(h.camera.held).toBe(0); // a failed run hands its frame back too
  });

  it('holds the frame it works on until the pipeline run ends, and hands back a frame it does not process', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    h.holdPipeline = true;
    const first = h.next();
    expect(h.camera.held).toBe(1); // the frame in the pipeline: its camera buffer must not be refilled
    await h.next(); // a newer frame while the run is in flight: not taken
    expect(h.camera.held).toBe(1);
    h.release?.();
    await first;
    expect(h.camera.held).toBe(0);
    h.holdPipeline = false;
    await h.loop.step(); // the newer frame
    await h.loop.step(); // nothing new: held for the comparison and handed back at once
    expect(h.camera.held).toBe(0);
  });

  it('never runs two pipelines at once and never processes the same frame twice', async () => {
    const h = new Harness();
    h.faces = [];
    h.holdPipeline = true;
    const first = h.next();
    expect(await h.next()).toBe(false); // a newer frame arrived, but a run is in flight
    h.release?.();
    await first;
    h.holdPipeline = false;
    expect(await h.loop.step()).toBe(true); // the newer frame, once
    expect(await h.loop.step()).toBe(false); // nothing new
    expect(h.calls).toHaveLength(2);
    expect(h.maxInFlight).toBe(1);
  });

  it('reports a stall when a pipeline run never returns while frames keep coming, and not before', async () => {
    const h = new Harness();
    const limits = { frameFreshMs: 3000, stallExitMs: 15_000 };
    h.faces = [face(BOX, 1)];
    h.holdPipeline = true;
    // no step has finished since the loop was made (t = 0); the first run, at 40 ms, never returns
    void h.next();
    for (let i = 0; i < 373; i++) await h.next(); // frames keep arriving every 40 ms: now t = 14,960
    expect(h.loop.stalled(limits)).toBe(false);
    await h.next(); // t = 15,000: exactly the limit, not past it
    expect(h.loop.stalled(limits)).toBe(false);
    h.clock.advance(1);
    expect(h.loop.stalled(limits)).toBe(true);
  });

  it('does not call a silent camera a stalled loop', async () => {
    const h = new Harness();
    h.faces = [];
    await h.next();
    h.clock.advance(60_000); // no frame for a minute: the camera's watchdog handles that, not this one
    await h.loop.step();
    expect(h.loop.stalled({ frameFreshMs: 3000, stallExitMs: 15_000 })).toBe(false);
  });

  it('decides again for the next person after the first one left', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.8 }]);
    for (let i = 0; i < 3; i++) await h.next();
    h.faces = [];
    for (let i = 0; i < 15; i++) await h.next(); // 600 ms without a face: the track ends
    h.faces = [face(BOX, 1)];
    for (let i = 0; i < 3; i++) await h.next();
    expect(h.grants).toBe(2);
  });

  it('does not count poor-quality frames as evidence', async () => {
    const h = new Harness();
    h.faces = [face(BOX, 1, false)];
    h.scores.set(1, [{ personId: 'p-ana', score: 0.9 }]);
    for (let i = 0; i < 8; i++) await h.next();
    expect(h.grants).toBe(0);
    expect(h.decisions().map((d) => d.decision.kind === 'deny' && d.decision.reason)).toEqual(['poor-quality']);
  });
});
