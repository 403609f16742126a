import type { Clock } from '../../core/clock';
import type { CameraError } from './ffmpeg';
import { Emitter } from './ffmpeg';
import type { Frame, FrameHold, FrameSource, FrameSourceEvents } from './index';

/** A frame of one colour, handy for tests that only need "a frame". */
export function solidFrame(width: number, height: number, rgb: [number, number, number], capturedAt = 0, seq = 1): Frame {
  const data = Buffer.allocUnsafe(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = rgb[0];
    data[i + 1] = rgb[1];
    data[i + 2] = rgb[2];
  }
  return { width, height, format: 'rgb24', data, capturedAt, seq };
}

/**
 * Scriptable in-memory FrameSource: `push()` delivers a frame now (capturedAt from the clock, seq
 * numbered), `fail()`, `stall()`, `recover()` and `end()` emit the matching events. Each frame has its
 * own buffer (nothing is reused); `held` counts the holds not yet released, so a test can see that a
 * reader hands back every frame it held.
 */
export class FakeFrameSource implements FrameSource {
  private readonly events = new Emitter<FrameSourceEvents>();
  private last: Frame | null = null;
  private seq = 0;
  running = false;
  /** Holds taken with hold() and not yet released. */
  held = 0;

  constructor(private readonly clock: Clock) {}

  start(): void {
    this.running = true;
  }

  stop(): Promise<void> {
    this.running = false;
    return Promise.resolve();
  }

  latest(): Frame | null {
    return this.last;
  }

  hold(): FrameHold | null {
    if (!this.last) return null;
    this.held += 1;
    let holding = true;
    return {
      frame: this.last,
      release: () => {
        if (!holding) return;
        holding = false;
        this.held -= 1;
      },
    };
  }

  on<K extends keyof FrameSourceEvents>(event: K, listener: FrameSourceEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Delivers a frame (given data or a grey one) as if just decoded. Ignored while not running. */
  push(frame?: Partial<Pick<Frame, 'width' | 'height' | 'data'>>): Frame | null {
    if (!this.running) return null;
    const width = frame?.width ?? 640;
    const height = frame?.height ?? 480;
    const data = frame?.data ?? solidFrame(width, height, [128, 128, 128]).data;
    const f: Frame = { width, height, format: 'rgb24', data, capturedAt: this.clock.now(), seq: ++this.seq };
    this.last = f;
    this.events.emit('frame', f);
    return f;
  }

  fail(error: CameraError): void {
    this.events.emit('error', error);
  }

  stall(sinceLastFrameMs: number): void {
    this.events.emit('stall', { sinceLastFrameMs });
  }

  recover(downMs: number, attempts = 1): void {
    this.events.emit('recovered', { downMs, attempts });
  }

  end(): void {
    this.events.emit('end', { frames: this.seq });
  }
}
