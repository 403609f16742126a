/**
 * The camera as the hub and the metrics see it: frames per second over windows of
 * `health.fpsWindowMs`, and stalls and recoveries recorded as events.
 */
import type { Clock, TimerHandle } from '../../core/clock';
import type { FrameSource } from '../../drivers/camera';
import type { Recorder } from './events';

export interface CameraMonitorDeps {
  camera: FrameSource;
  clock: Clock;
  recorder: Recorder;
  fpsWindowMs: number;
  notify: (event: 'stall' | 'recovered' | 'error', detail: string) => void;
}

export class CameraMonitor {
  private framesInWindow = 0;
  private fpsNow = 0;
  private timer: TimerHandle | null = null;
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: CameraMonitorDeps) {}

  /** Frames decoded per second over the last full window. */
  get fps(): number {
    return this.fpsNow;
  }

  start(): void {
    const { camera, clock, recorder } = this.deps;
    this.unsubscribe.push(
      camera.on('frame', () => this.framesInWindow++),
      camera.on('stall', (i) => {
        this.deps.notify('stall', `${i.sinceLastFrameMs} ms without a frame`);
        recorder.record({ type: 'camera.stall', silentMs: Math.round(i.sinceLastFrameMs) }, clock.now());
      }),
      camera.on('recovered', (i) => {
        this.deps.notify('recovered', `after ${i.downMs} ms`);
        recorder.record({ type: 'camera.recovery', stalledMs: Math.round(i.downMs) }, clock.now());
      }),
      camera.on('error', (e) => this.deps.notify('error', e.message)),
    );
    this.timer = clock.setInterval(() => {
      this.fpsNow = (this.framesInWindow * 1000) / this.deps.fpsWindowMs;
      this.framesInWindow = 0;
    }, this.deps.fpsWindowMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
