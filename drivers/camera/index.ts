import type { CameraError } from './ffmpeg';

export {
  CameraError,
  CameraAuthError,
  CameraCodecError,
  CameraConnectionError,
  CameraNotFoundError,
  CameraStallError,
  CameraStreamError,
  FfmpegMissingError,
  classifyFfmpegExit,
  maskUrl,
} from './ffmpeg';

/**
 * One decoded picture, packed RGB (3 bytes per pixel, rows top to bottom, no padding). The camera
 * sources fill a small fixed pool of buffers (frame-pool.ts): `data` stays this frame's pixels while the
 * source still holds it as its latest or someone holds it through `hold()`; read it synchronously, or hold.
 */
export interface Frame {
  width: number;
  height: number;
  format: 'rgb24';
  data: Buffer;
  /** Clock.now() (epoch ms) when the frame's last byte was read from the decoder. */
  capturedAt: number;
  /** 1, 2, 3, ... per source instance, across restarts (a gap means frames were not decoded). */
  seq: number;
}

/** A frame whose pixels are kept unchanged until `release()` (once; a second call does nothing). */
export interface FrameHold {
  frame: Frame;
  release(): void;
}

export interface FrameSourceEvents {
  /**
   * Every decoded frame, synchronously as it completes. Keep handlers short; heavy work reads latest().
   * The frame's buffer is reused once the source lets it go: keep pixels past the handler with hold().
   */
  frame: (frame: Frame) => void;
  /** A typed failure (connection, auth, not found, codec, ffmpeg missing, stream ended). */
  error: (error: CameraError) => void;
  /** No frame for the stall timeout; the source kills ffmpeg and restarts it with backoff. */
  stall: (info: { sinceLastFrameMs: number }) => void;
  /** Frames flow again after errors or stalls. */
  recovered: (info: { downMs: number; attempts: number }) => void;
  /** A restart has been scheduled. */
  restarting: (info: { attempt: number; delayMs: number }) => void;
  /** A non-looping file source delivered its last frame. */
  end: (info: { frames: number }) => void;
}

export interface FrameSource {
  start(): void;
  /** Stops and waits until the ffmpeg child has gone. */
  stop(): Promise<void>;
  /**
   * The newest frame, or null before the first. Only one frame is ever kept. Its pixels are only sure
   * until control returns to the event loop (a newer frame frees its buffer for reuse): work that awaits
   * holds the frame instead.
   */
  latest(): Frame | null;
  /** The newest frame, held: its buffer is not refilled until `release()`. Null before the first frame. */
  hold(): FrameHold | null;
  on<K extends keyof FrameSourceEvents>(event: K, listener: FrameSourceEvents[K]): () => void;
}

export { RtspSource, rtspSourceConfigSchema, type RtspSourceConfig } from './rtsp';
export { FileSource, fileSourceConfigSchema, type FileSourceConfig } from './file';
export { FakeFrameSource, solidFrame } from './fake';
export { FramePool, DEFAULT_FRAME_BUFFERS, type PooledBuffer } from './frame-pool';
export { PreviewRelay, previewConfigSchema, type PreviewConfig } from './preview';
