/**
 * The face pipeline: raw frame -> per face: box, score, landmarks (68 and 5), quality verdict, passive
 * liveness score, L2-normalised embedding and the embedding model's id. Detection runs first and the
 * rest is skipped when there is no face.
 */
import { z } from 'zod';
import { fivePoints, type Point } from './align';
import { Embedder } from './embedder';
import { EyeModel, type EyeState } from './eye';
import { DEFAULT_DETECTOR_OPTIONS, FaceDetector } from './detector';
import { assertFrame, type RawFrame } from './image';
import { LandmarkModel } from './landmarks';
import { LivenessModel, type LivenessScore } from './liveness';
import { defaultModelDir, entry, loadManifest, type Manifest, type ModelRole } from './manifest';
import type { Box } from './nms';
import { PoseModel, type HeadPose } from './pose';
import { DEFAULT_QUALITY, judge, measure, QualityThresholdsSchema, type QualityVerdict } from './quality';
import { DEFAULT_SESSION_OPTIONS, loadModel, type LoadedModel } from './session';

export const PipelineOptionsSchema = z.strictObject({
  modelDir: z.string().optional(),
  /** The model manifest to load the models by (default: the one beside this code; a bundle's for its models). */
  manifestPath: z.string().optional(),
  intraOpThreads: z.number().int().min(1).max(64).default(DEFAULT_SESSION_OPTIONS.intraOpThreads),
  interOpThreads: z.number().int().min(1).max(64).default(DEFAULT_SESSION_OPTIONS.interOpThreads),
  detectionThreshold: z.number().min(0).max(1).default(DEFAULT_DETECTOR_OPTIONS.scoreThreshold),
  nmsIou: z.number().min(0).max(1).default(DEFAULT_DETECTOR_OPTIONS.iouThreshold),
  maxFaces: z.number().int().min(1).default(DEFAULT_DETECTOR_OPTIONS.maxFaces),
  quality: QualityThresholdsSchema.default(DEFAULT_QUALITY),
  /** Class index of fr_liveness that means "live" (calibrated; see README). */
  livenessLiveClass: z.number().int().min(0).max(2).default(0),
});
export type PipelineOptions = z.input<typeof PipelineOptionsSchema>;

export interface ProcessOptions {
  /** Process only the largest face (a door serves the person in front of it). */
  largestOnly?: boolean;
  /** Skip stages a caller does not need on this frame (all run by default). */
  pose?: boolean;
  eyes?: boolean;
  liveness?: boolean;
  embedding?: boolean;
}

export interface FaceResult {
  box: Box;
  score: number;
  landmarks68: Float32Array;
  landmarks5: Point[];
  quality: QualityVerdict;
  liveness: LivenessScore | null;
  embedding: Float32Array | null;
  model: string;
}

export interface StageTimes {
  detect: number;
  landmarks: number;
  pose: number;
  eyes: number;
  liveness: number;
  embed: number;
}

export class FacePipeline {
  /** Per-stage times of the last process() call, in ms. */
  readonly lastTimes: StageTimes = { detect: 0, landmarks: 0, pose: 0, eyes: 0, liveness: 0, embed: 0 };

  private constructor(
    readonly manifest: Manifest,
    private readonly detector: FaceDetector,
    private readonly landmarker: LandmarkModel,
    private readonly embedder: Embedder,
    private readonly liveness: LivenessModel,
    private readonly eyes: EyeModel,
    private readonly poser: PoseModel,
    private readonly opts: z.infer<typeof PipelineOptionsSchema>,
    private readonly sessions: LoadedModel[],
  ) {}

  static async load(options: PipelineOptions = {}): Promise<FacePipeline> {
    const opts = PipelineOptionsSchema.parse(options);
    const manifest = loadManifest(opts.manifestPath);
    const dir = opts.modelDir ?? defaultModelDir();
    const sessionOpts = { intraOpThreads: opts.intraOpThreads, interOpThreads: opts.interOpThreads };
    const load = (role: ModelRole): Promise<LoadedModel> => loadModel(dir, entry(manifest, role), sessionOpts);
    // sequential: a corrupted file stops start-up before the others are loaded
    const detect = await load('detect');
    const landmarks = await load('landmarks');
    const embed = await load('embed');
    const live = await load('liveness');
    const eye = await load('eye');
    const pose = await load('pose');
    return new FacePipeline(
      manifest,
      new FaceDetector(detect, { scoreThreshold: opts.detectionThreshold, iouThreshold: opts.nmsIou, maxFaces: opts.maxFaces }),
      new LandmarkModel(landmarks),
      new Embedder(embed),
      new LivenessModel(live, opts.livenessLiveClass),
      new EyeModel(eye),
      new PoseModel(pose),
      opts,
      [detect, landmarks, embed, live, eye, pose],
    );
  }

  /** Id of the embedding model; templates made by another model must not be compared. */
  get modelId(): string {
    return this.embedder.modelId;
  }

  async process(frame: RawFrame, po: ProcessOptions = {}): Promise<FaceResult[]> {
    assertFrame(frame);
    const t = this.lastTimes;
    t.landmarks = t.pose = t.eyes = t.liveness = t.embed = 0;
    let t0 = performance.now();
    let dets = await this.detector.detect(frame);
    t.detect = performance.now() - t0;
    if (dets.length === 0) return [];
    if (po.largestOnly) {
      const area = (b: Box): number => (b[2] - b[0]) * (b[3] - b[1]);
      dets = [dets.reduce((a, b) => (area(b.box) > area(a.box) ? b : a))];
    }
    const results: FaceResult[] = [];
    for (const d of dets) {
      t0 = performance.now();
      const lm = await this.landmarker.landmarks(frame, d.box);
      const five = fivePoints(lm);
      t.landmarks += performance.now() - t0;

      t0 = performance.now();
      const pose: HeadPose | null = po.pose === false ? null : await this.poser.pose(frame, d.box);
      t.pose += performance.now() - t0;

      t0 = performance.now();
      const eyes: EyeState | null = po.eyes === false ? null : await this.eyes.state(frame, lm);
      t.eyes += performance.now() - t0;

      const quality = judge(measure(frame, d.box, five), pose, eyes, this.opts.quality);

      t0 = performance.now();
      const liveness = po.liveness === false ? null : await this.liveness.score(frame, d.box);
      t.liveness += performance.now() - t0;

      t0 = performance.now();
      const embedding = po.embedding === false ? null : await this.embedder.embed(frame, five);
      t.embed += performance.now() - t0;

      results.push({ box: d.box, score: d.score, landmarks68: lm, landmarks5: five, quality, liveness, embedding, model: this.modelId });
    }
    return results;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) await s.session.release();
  }
}
